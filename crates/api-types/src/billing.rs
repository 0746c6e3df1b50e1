//! API types of billing: the shapes the store reads and writes and the HTTP API documents.

use aftersales_domain::billing::DocKind;
use aftersales_domain::billing::KidScheme;
use aftersales_domain::billing::Market;
use aftersales_domain::billing::TaxCode;
use aftersales_domain::billing::TaxRegion;
use aftersales_domain::money::Money;
use serde::{Deserialize, Serialize};

/// Who invoices for an organisation and everything below it, under which market's law.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LegalEntity {
    pub id: String,
    pub organisation_id: String,
    pub market: Market,
    pub region: TaxRegion,
    pub name: String,
    pub org_number: Option<String>,
    pub nif: Option<String>,
    pub vat_registered: bool,
    pub foretaksregisteret: bool,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: String,
    pub email: Option<String>,
    pub bank_account: Option<String>,
    pub bic: Option<String>,
    pub currency: String,
    pub payment_days: i64,
    pub kid_scheme: KidScheme,
    pub certificate: String,
    pub warranty_customer_id: Option<String>,
    pub goodwill_customer_id: Option<String>,
    pub version: i64,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct LegalEntityInput {
    pub region: String,
    pub name: String,
    pub org_number: Option<String>,
    pub nif: Option<String>,
    #[serde(default)]
    pub vat_registered: Option<bool>,
    #[serde(default)]
    pub foretaksregisteret: Option<bool>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub email: Option<String>,
    pub bank_account: Option<String>,
    pub bic: Option<String>,
    pub payment_days: Option<i64>,
    pub kid_scheme: Option<String>,
    pub certificate: Option<String>,
    pub warranty_customer_id: Option<String>,
    pub goodwill_customer_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Series {
    pub id: String,
    /// `invoice` / `credit-note` in Norway; FT, FS, FR, NC in Portugal.
    pub doc_type: String,
    pub code: String,
    pub validation_code: Option<String>,
    pub kid_prefix: Option<String>,
    pub next_number: i64,
    pub last_date: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SeriesInput {
    pub doc_type: String,
    pub code: String,
    pub validation_code: Option<String>,
    pub kid_prefix: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocLine {
    pub id: String,
    pub position: i64,
    pub kind: String,
    pub code: Option<String>,
    pub description: String,
    /// Hundredths as a decimal string.
    pub quantity: String,
    pub unit: String,
    pub unit_price: Money,
    pub net: Money,
    pub tax_code: TaxCode,
    /// Percent as a decimal string.
    pub rate: String,
    pub exemption_code: Option<String>,
    pub exemption_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaxGroup {
    pub tax_code: TaxCode,
    pub rate: String,
    pub exemption_reason: Option<String>,
    pub taxable: Money,
    pub tax: Money,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Payment {
    pub id: String,
    pub amount: Money,
    pub method: String,
    pub paid_on: String,
    pub reference: Option<String>,
}

/// Open, partly paid, paid or overdue; drafts and credit notes are `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PaymentStatus {
    None,
    Open,
    PartlyPaid,
    Paid,
    Overdue,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::None => "none",
            PaymentStatus::Open => "open",
            PaymentStatus::PartlyPaid => "partly-paid",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Overdue => "overdue",
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocRef {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BillingDocument {
    pub id: String,
    pub kind: DocKind,
    pub doc_type: String,
    /// `draft` or `issued`.
    pub status: String,
    pub number: Option<String>,
    pub market: Market,
    pub organisation_id: String,
    pub legal_entity: DocRef,
    pub customer: DocRef,
    pub repair_order: Option<DocRef>,
    pub pay_type: Option<String>,
    pub credited: Option<DocRef>,
    pub credit_notes: Vec<DocRef>,
    pub reason: Option<String>,
    pub note: Option<String>,
    /// The buyer's own reference ("Deres ref."); an invoice from a repair order starts with its
    /// number. The EHF BuyerReference is this, else the order number, else the customer number.
    pub buyer_reference: Option<String>,
    pub language: String,
    pub currency: String,
    pub region: TaxRegion,
    pub issue_date: Option<String>,
    pub due_date: Option<String>,
    pub delivery_date: Option<String>,
    pub lines: Vec<DocLine>,
    pub tax_groups: Vec<TaxGroup>,
    pub net: Money,
    pub tax: Money,
    pub gross: Money,
    pub kid: Option<String>,
    pub atcud: Option<String>,
    /// `vo6e-Processado por programa certificado n.º 9999/AT` on Portuguese documents.
    pub certificate_line: Option<String>,
    pub qr: Option<String>,
    pub payments: Vec<Payment>,
    pub paid: Money,
    /// What issued credit notes took off this invoice.
    pub credited_total: Money,
    pub open: Money,
    pub payment_status: PaymentStatus,
    /// The customer's own link to the document (no login).
    pub public_path: String,
    pub sent_at: Option<String>,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocSummary {
    pub id: String,
    pub kind: DocKind,
    pub doc_type: String,
    pub status: String,
    pub number: Option<String>,
    pub customer: DocRef,
    pub repair_order: Option<DocRef>,
    pub pay_type: Option<String>,
    pub issue_date: Option<String>,
    pub due_date: Option<String>,
    pub gross: Money,
    pub open: Money,
    pub payment_status: PaymentStatus,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = BillingLineInput)]
pub struct LineInput {
    /// `labour`, `part`, `sublet` or `other`.
    pub kind: Option<String>,
    pub code: Option<String>,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    /// standard, intermediate, reduced, zero, exempt, outside-scope (standard when empty).
    pub tax_code: Option<String>,
    pub exemption_code: Option<String>,
    pub exemption_reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct DraftInput {
    pub organisation_id: String,
    pub customer_id: String,
    /// Portugal: FT (default), FS, FR. Norway: ignored (invoice).
    pub doc_type: Option<String>,
    pub note: Option<String>,
    /// The buyer's own reference ("Deres ref.", EHF BuyerReference), up to 100 characters.
    #[serde(default)]
    pub buyer_reference: Option<String>,
    pub lines: Vec<LineInput>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct DraftUpdate {
    pub doc_type: Option<String>,
    pub note: Option<String>,
    /// The buyer's own reference ("Deres ref.", EHF BuyerReference), up to 100 characters.
    #[serde(default)]
    pub buyer_reference: Option<String>,
    pub lines: Vec<LineInput>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PaymentInput {
    pub amount: String,
    /// bank-transfer, card, cash, mb (Multibanco), other.
    pub method: String,
    pub paid_on: String,
    pub reference: Option<String>,
}
