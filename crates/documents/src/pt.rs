//! Portuguese certified-software rules (Portaria 363/2010, Despacho 8632/2014, Portaria 195/2020): the signed
//! message and its RSA-SHA1 signature chained per document type and series, the four printed characters and
//! the certificate line, and the QR code string (AT specification v1.1, fields A…S).

use aftersales_domain::billing::TaxCode;
use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::{Signer, Verifier};
use time::macros::format_description;
use time::{Date, PrimitiveDateTime};

use crate::{amount, Document, DocumentError};

/// The producer's private key and its version (SAF-T HashControl).
pub struct PtSigner {
    key: PKey<Private>,
    pub key_version: u32,
}

impl std::fmt::Debug for PtSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PtSigner(version {})", self.key_version)
    }
}

impl PtSigner {
    /// A PEM private key (PKCS#1 or PKCS#8).
    pub fn from_pem(pem: &[u8], key_version: u32) -> Result<PtSigner, DocumentError> {
        let key = PKey::private_key_from_pem(pem).map_err(|e| DocumentError::Key(e.to_string()))?;
        if key.rsa().is_err() {
            return Err(DocumentError::Key("the key is not an RSA key".into()));
        }
        Ok(PtSigner { key, key_version })
    }

    /// A fresh 1024-bit key, as AT asks for, in PEM: for demo installations, never for real documents.
    pub fn generate_pem() -> Result<Vec<u8>, DocumentError> {
        let rsa = Rsa::generate(1024).map_err(|e| DocumentError::Key(e.to_string()))?;
        rsa.private_key_to_pem()
            .map_err(|e| DocumentError::Key(e.to_string()))
    }

    /// Base64 of RSA PKCS#1 v1.5 with SHA-1 over the UTF-8 message.
    pub fn sign(&self, message: &str) -> Result<String, DocumentError> {
        let mut signer = Signer::new(MessageDigest::sha1(), &self.key)
            .map_err(|e| DocumentError::Key(e.to_string()))?;
        signer
            .update(message.as_bytes())
            .map_err(|e| DocumentError::Key(e.to_string()))?;
        let sig = signer
            .sign_to_vec()
            .map_err(|e| DocumentError::Key(e.to_string()))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(sig))
    }

    /// Whether `hash` is this key's signature of `message` (to check a stored chain).
    pub fn verify(&self, message: &str, hash: &str) -> bool {
        let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(hash) else {
            return false;
        };
        let Ok(mut v) = Verifier::new(MessageDigest::sha1(), &self.key) else {
            return false;
        };
        v.update(message.as_bytes()).is_ok() && v.verify(&sig).unwrap_or(false)
    }
}

/// `InvoiceDate;SystemEntryDate;InvoiceNo;GrossTotal;PreviousHash`.
pub fn signing_message(
    invoice_date: Date,
    system_entry: PrimitiveDateTime,
    invoice_no: &str,
    gross_minor: i64,
    previous_hash: &str,
) -> String {
    let d = invoice_date
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default();
    let t = system_entry
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    format!(
        "{d};{t};{invoice_no};{};{previous_hash}",
        amount(gross_minor.abs())
    )
}

/// Characters 1, 11, 21 and 31 of the signature, as printed on the document.
pub fn printed(hash: &str) -> String {
    [0, 10, 20, 30]
        .iter()
        .filter_map(|&i| hash.chars().nth(i))
        .collect()
}

/// The line printed on a certified document: `vo6e-Processado por programa certificado n.º 9999/AT`.
pub fn certificate_line(hash: &str, certificate: &str) -> String {
    format!(
        "{}-Processado por programa certificado n.º {certificate}/AT",
        printed(hash)
    )
}

/// The QR code's text (AT specification v1.1): `key:value` pairs joined by `*`, amounts with "." and two
/// decimals. One fiscal region per document (group I); non-taxable (outside the scope) goes to L.
pub fn qr_string(doc: &Document) -> Result<String, DocumentError> {
    let pt = doc.pt.as_ref().ok_or_else(|| {
        DocumentError::Missing("the document is not a Portuguese certified document".into())
    })?;
    let seller_nif = doc
        .seller
        .party
        .nif
        .as_deref()
        .ok_or_else(|| DocumentError::Missing("the seller's NIF".into()))?;
    let buyer_nif = match &doc.buyer.nif {
        Some(n) if !n.is_empty() => n.clone(),
        _ => "999999990".to_string(),
    };
    let country = if doc.buyer.country.is_empty() {
        "Desconhecido".to_string()
    } else {
        doc.buyer.country.clone()
    };
    let date = doc
        .issue_date
        .format(format_description!("[year][month][day]"))
        .unwrap_or_default();
    let mut f: Vec<(String, String)> = vec![
        ("A".into(), seller_nif.to_string()),
        ("B".into(), buyer_nif),
        ("C".into(), country),
        ("D".into(), pt.doc_type.as_str().to_string()),
        ("E".into(), "N".into()),
        ("F".into(), date),
        ("G".into(), doc.number.clone()),
        ("H".into(), pt.atcud.clone()),
    ];
    let sum = |codes: &[TaxCode]| -> (i64, i64, bool) {
        let mut base = 0;
        let mut tax = 0;
        let mut any = false;
        for g in doc.subtotals.iter().filter(|g| codes.contains(&g.code)) {
            base += g.taxable_minor;
            tax += g.tax_minor;
            any = true;
        }
        (base, tax, any)
    };
    let (exempt, _, has_exempt) = sum(&[TaxCode::Zero, TaxCode::Exempt]);
    let (red, red_tax, has_red) = sum(&[TaxCode::Reduced]);
    let (int, int_tax, has_int) = sum(&[TaxCode::Intermediate]);
    let (nor, nor_tax, has_nor) = sum(&[TaxCode::Standard]);
    let (out, _, has_out) = sum(&[TaxCode::OutsideScope]);
    if has_exempt || has_red || has_int || has_nor {
        f.push(("I1".into(), doc.region.as_str().to_string()));
        if has_exempt {
            f.push(("I2".into(), amount(exempt)));
        }
        if has_red {
            f.push(("I3".into(), amount(red)));
            f.push(("I4".into(), amount(red_tax)));
        }
        if has_int {
            f.push(("I5".into(), amount(int)));
            f.push(("I6".into(), amount(int_tax)));
        }
        if has_nor {
            f.push(("I7".into(), amount(nor)));
            f.push(("I8".into(), amount(nor_tax)));
        }
    } else {
        f.push(("I1".into(), "0".into()));
    }
    if has_out {
        f.push(("L".into(), amount(out)));
    }
    f.push(("N".into(), amount(doc.totals.tax_minor)));
    f.push(("O".into(), amount(doc.totals.gross_minor)));
    f.push(("Q".into(), printed(&pt.hash)));
    f.push(("R".into(), pt.certificate.clone()));
    Ok(f.iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join("*"))
}
