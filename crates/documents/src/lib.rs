//! Legal billing documents, pure computation over a [`model::Document`]: the Portuguese signature, ATCUD and
//! QR string (`pt`), EHF / Peppol BIS Billing 3.0 UBL (`ehf`), SAF-T (PT) 1.04_01 (`saft`).
//! The only dependency with I/O is OpenSSL's RSA for the signature (docs/decisions/0003-billing.md).

pub mod agreement;
pub mod ehf;
pub mod model;
pub mod pdf;
pub mod pt;
pub mod saft;

mod xml;

pub use model::{Credited, Document, Line, Party, PtSeal, Seller, Unit};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocumentError {
    /// The document lacks something the format requires; the message names it.
    #[error("{0}")]
    Missing(String),
    #[error("signing key: {0}")]
    Key(String),
}

/// `12345` → `"123.45"`.
pub fn amount(minor: i64) -> String {
    aftersales_domain::money::format_centi(minor)
}
