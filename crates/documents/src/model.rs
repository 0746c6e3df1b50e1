//! A billing document as the legal formats see it: built by the store from an issued (or draft) document,
//! read by the EHF, SAF-T, QR and PDF writers. Amounts are in minor units; dates are the market's local dates.

use aftersales_domain::billing::{
    DocKind, Exemption, PtDocType, TaxCode, TaxRegion, TaxSubtotal, Totals,
};
use time::{Date, PrimitiveDateTime};

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Party {
    pub name: String,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Norwegian organisation number (9 digits), the Peppol endpoint of a Norwegian business.
    pub org_number: Option<String>,
    /// Portuguese NIF (9 digits).
    pub nif: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Seller {
    pub party: Party,
    /// Registered for VAT: the organisation number is printed with "MVA" (NO).
    pub vat_registered: bool,
    /// An AS/ASA or branch: "Foretaksregisteret" is printed (NO).
    pub foretaksregisteret: bool,
    /// IBAN or Norwegian account number the buyer pays to.
    pub bank_account: Option<String>,
    pub bic: Option<String>,
    /// Portugal: AT's certificate number of the software, as it was when the document was issued.
    #[serde(default)]
    pub certificate: Option<String>,
}

/// Unit of a line: hours of labour or pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Hour,
    Piece,
}

impl Unit {
    /// UN/ECE Recommendation 20 code (UBL `unitCode`).
    pub fn uncefact(self) -> &'static str {
        match self {
            Unit::Hour => "HUR",
            Unit::Piece => "H87",
        }
    }

    /// SAF-T (PT) `UnitOfMeasure`.
    pub fn saft(self) -> &'static str {
        match self {
            Unit::Hour => "H",
            Unit::Piece => "UN",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub code: Option<String>,
    pub description: String,
    /// Hundredths (1.50 hours = 150).
    pub quantity_centi: i64,
    pub unit: Unit,
    pub unit_price_minor: i64,
    /// Quantity × price, rounded once (domain::money::line_total).
    pub net_minor: i64,
    pub tax_code: TaxCode,
    pub rate_bp: u32,
    pub exemption: Option<Exemption>,
    /// A service (labour, sublet) rather than goods (parts): SAF-T ProductType S or P.
    pub service: bool,
}

/// The invoice a credit note corrects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credited {
    pub number: String,
    pub issue_date: Date,
}

/// What a Portuguese certified document carries besides its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtSeal {
    pub doc_type: PtDocType,
    pub series: String,
    pub sequence: i64,
    /// `<validation code>-<sequence>`.
    pub atcud: String,
    /// Base64 RSA-SHA1 signature (172 characters).
    pub hash: String,
    /// SAF-T HashControl: the key version.
    pub hash_control: String,
    pub system_entry: PrimitiveDateTime,
    /// The software certificate number AT gave ("0000" until certified).
    pub certificate: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub kind: DocKind,
    pub number: String,
    pub issue_date: Date,
    pub due_date: Option<Date>,
    /// When the work was delivered (the repair order's completion), if it differs from the issue date.
    pub delivery_date: Option<Date>,
    pub currency: String,
    pub region: TaxRegion,
    pub seller: Seller,
    pub buyer: Party,
    /// Our key of the buyer (SAF-T CustomerID, at most 30 characters).
    pub customer_id: String,
    /// Who issued it (SAF-T SourceID, at most 30 characters).
    pub issued_by: String,
    /// The buyer is a private person (PT: NIF 999999990 when none is given; NO: no EHF).
    pub buyer_is_consumer: bool,
    /// The buyer's reference or our repair order number (Peppol BT-10).
    pub buyer_reference: String,
    pub lines: Vec<Line>,
    pub subtotals: Vec<TaxSubtotal>,
    pub totals: Totals,
    /// KID (NO) for the payment.
    pub payment_reference: Option<String>,
    pub credited: Option<Credited>,
    /// Why a credit note was issued.
    pub reason: Option<String>,
    pub note: Option<String>,
    pub pt: Option<PtSeal>,
    /// Payments taken with the document (an invoice-receipt): SAF-T mechanism code, amount, date.
    pub settled: Vec<(String, i64, Date)>,
}
