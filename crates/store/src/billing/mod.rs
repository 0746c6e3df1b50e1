//! Billing (capability billing): the legal entity that invoices for an organisation subtree, its number
//! series, invoices and credit notes (drafts from repair orders or free-standing, issued atomically with a
//! gapless number, KID or PT signature chain and the customer's message), payments and open items, and the
//! legal exports (EHF, SAF-T (PT)). Rules in `domain::billing`, formats in `documents` (docs/decisions/0003).

use aftersales_domain::billing::{
    atcud, breakdown, document_number, parse_series_code, parse_validation_code, rate_bp, DocKind,
    Exemption, Kid, KidScheme, Market, PtDocType, TaxCode, TaxRegion, TaxedLine, Totals,
};
use aftersales_domain::calendar::Zone;
use aftersales_domain::crm::{Nif, OrgNumber};
use aftersales_domain::money::{format_centi, line_total, parse_centi, Money};
use aftersales_domain::notify::Event;
use aftersales_domain::org::Permission;
use aftersales_domain::validation::{text, FieldError, Rule};
use aftersales_domain::workshop::PayType;
use aftersales_domain::ValidationErrors;
use documents::{Credited, Document, Party, PtSeal, Seller, Unit};
use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime};

use crate::crm::opt;
use crate::error::StoreError;
use crate::notify::{enqueue, Addressee, Notice};
use crate::scope::Scope;
use crate::{micros, new_id};

mod drafts;
mod entities;
mod exports;
mod issue;
mod payments;
mod public;
mod read;

crate::capability!(
    /// Invoicing for Norway and Portugal: `store.billing().issue(..)`.
    Billing, billing
);

const DATE: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]");
const ENTRY: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

pub fn format_date(d: Date) -> String {
    d.format(DATE).unwrap_or_default()
}

fn parse_stored_date(s: &Option<String>) -> Option<Date> {
    s.as_deref().and_then(|v| Date::parse(v, DATE).ok())
}

/// Parses `YYYY-MM-DD` input.
pub fn parse_date(field: &str, s: &str) -> Result<Date, FieldError> {
    Date::parse(s.trim(), DATE).map_err(|_| {
        FieldError::new(
            field,
            Rule::Format,
            format!("{field} must be a date like 2026-11-21"),
        )
    })
}

// ---- Types ---------------------------------------------------------------------------------------

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

pub use aftersales_domain::billing::PAYMENT_METHODS;

/// SAF-T (PT) PaymentMechanism of a method.
pub fn saft_mechanism(method: &str) -> &'static str {
    match method {
        "bank-transfer" => "TB",
        "card" => "CC",
        "cash" => "NU",
        "mb" => "MB",
        _ => "OU",
    }
}

// ---- Rows ----------------------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
struct EntityRow {
    id: String,
    organisation_id: String,
    market: String,
    region: String,
    name: String,
    org_number: Option<String>,
    nif: Option<String>,
    vat_registered: i64,
    foretaksregisteret: i64,
    street: Option<String>,
    postal_code: Option<String>,
    city: Option<String>,
    country: String,
    email: Option<String>,
    bank_account: Option<String>,
    bic: Option<String>,
    currency: String,
    payment_days: i64,
    kid_scheme: String,
    certificate: String,
    warranty_customer_id: Option<String>,
    goodwill_customer_id: Option<String>,
    version: i64,
}

const ENTITY_COLS: &str = "id, organisation_id, market, region, name, org_number, nif, vat_registered, foretaksregisteret, street, postal_code, city, country, email, bank_account, bic, currency, payment_days, kid_scheme, certificate, warranty_customer_id, goodwill_customer_id, version";

impl EntityRow {
    fn view(self) -> Result<LegalEntity, StoreError> {
        Ok(LegalEntity {
            market: crate::decode("legal_entities", "market", &self.market, Market::parse)?,
            region: crate::decode("legal_entities", "region", &self.region, TaxRegion::parse)?,
            kid_scheme: crate::decode(
                "legal_entities",
                "kid_scheme",
                &self.kid_scheme,
                KidScheme::parse,
            )?,
            vat_registered: self.vat_registered != 0,
            foretaksregisteret: self.foretaksregisteret != 0,
            id: self.id,
            organisation_id: self.organisation_id,
            name: self.name,
            org_number: self.org_number,
            nif: self.nif,
            street: self.street,
            postal_code: self.postal_code,
            city: self.city,
            country: self.country,
            email: self.email,
            bank_account: self.bank_account,
            bic: self.bic,
            currency: self.currency,
            payment_days: self.payment_days,
            certificate: self.certificate,
            warranty_customer_id: self.warranty_customer_id,
            goodwill_customer_id: self.goodwill_customer_id,
            version: self.version,
        })
    }
}

impl LegalEntity {
    fn seller(&self) -> Seller {
        Seller {
            party: Party {
                name: self.name.clone(),
                street: self.street.clone(),
                postal_code: self.postal_code.clone(),
                city: self.city.clone(),
                country: self.country.clone(),
                org_number: self.org_number.clone(),
                nif: self.nif.clone(),
                email: self.email.clone(),
            },
            vat_registered: self.vat_registered,
            foretaksregisteret: self.foretaksregisteret,
            bank_account: self.bank_account.clone(),
            bic: self.bic.clone(),
            certificate: (self.market == Market::Portugal).then(|| self.certificate.clone()),
        }
    }
}

#[derive(sqlx::FromRow, Clone)]
pub(crate) struct DocRow {
    id: String,
    legal_entity_id: String,
    organisation_id: String,
    kind: String,
    doc_type: String,
    status: String,
    sequence: Option<i64>,
    number: Option<String>,
    customer_id: String,
    repair_order_id: Option<String>,
    pay_type: Option<String>,
    credited_document_id: Option<String>,
    reason: Option<String>,
    note: Option<String>,
    buyer_reference: Option<String>,
    language: String,
    currency: String,
    region: String,
    seller_json: Option<String>,
    buyer_json: Option<String>,
    issue_date: Option<String>,
    due_date: Option<String>,
    delivery_date: Option<String>,
    system_entry: Option<String>,
    gross_minor: i64,
    kid: Option<String>,
    hash: Option<String>,
    hash_control: Option<String>,
    atcud: Option<String>,
    public_token: String,
    sent_at: Option<i64>,
    issued_by_name: Option<String>,
    version: i64,
}

const DOC_COLS: &str = "d.id, d.legal_entity_id, d.organisation_id, d.kind, d.doc_type, d.status, d.sequence, d.number, d.customer_id, d.repair_order_id, d.pay_type, d.credited_document_id, d.reason, d.note, d.buyer_reference, d.language, d.currency, d.region, d.seller_json, d.buyer_json, d.issue_date, d.due_date, d.delivery_date, d.system_entry, d.gross_minor, d.kid, d.hash, d.hash_control, d.atcud, d.public_token, d.sent_at, u.username AS issued_by_name, d.version";

#[derive(sqlx::FromRow, Clone)]
pub(crate) struct LineRow {
    id: String,
    position: i64,
    ro_line_id: Option<String>,
    kind: String,
    code: Option<String>,
    description: String,
    quantity_centi: i64,
    unit: String,
    unit_price_minor: i64,
    net_minor: i64,
    tax_code: String,
    rate_bp: i64,
    exemption_code: Option<String>,
    exemption_reason: Option<String>,
}

impl LineRow {
    fn code(&self) -> Result<TaxCode, StoreError> {
        crate::decode("billing_lines", "tax_code", &self.tax_code, TaxCode::parse)
    }

    fn exemption(&self) -> Option<Exemption> {
        self.exemption_reason.as_ref().map(|r| Exemption {
            code: self.exemption_code.clone().unwrap_or_default(),
            reason: r.clone(),
        })
    }

    fn taxed(&self) -> Result<TaxedLine, StoreError> {
        Ok(TaxedLine {
            net_minor: self.net_minor,
            code: self.code()?,
            rate_bp: u32::try_from(self.rate_bp).unwrap_or(0),
            exemption: self.exemption(),
        })
    }
}

/// A line ready to be written.
pub(crate) struct NewLine {
    ro_line_id: Option<String>,
    kind: String,
    code: Option<String>,
    description: String,
    quantity_centi: i64,
    unit: Unit,
    unit_price_minor: i64,
    tax_code: TaxCode,
    rate_bp: u32,
    exemption: Option<Exemption>,
}

fn unit_of(kind: &str) -> Unit {
    if kind == "labour" {
        Unit::Hour
    } else {
        Unit::Piece
    }
}

fn unit_str(u: Unit) -> &'static str {
    match u {
        Unit::Hour => "hour",
        Unit::Piece => "piece",
    }
}

fn parse_lines(
    lines: &[LineInput],
    entity: &LegalEntity,
) -> Result<Vec<NewLine>, ValidationErrors> {
    let mut errs = ValidationErrors::default();
    if lines.is_empty() {
        errs.push(FieldError::new(
            "lines",
            Rule::Required,
            "a document has at least one line",
        ));
    }
    if lines.len() > 500 {
        errs.push(FieldError::new(
            "lines",
            Rule::TooLong,
            "a document has at most 500 lines",
        ));
    }
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let f = |name: &str| format!("lines.{i}.{name}");
        let kind = opt(&l.kind).unwrap_or("other").to_string();
        if !["labour", "part", "sublet", "other"].contains(&kind.as_str()) {
            errs.push(FieldError::new(
                f("kind"),
                Rule::OneOf,
                "kind must be one of labour, part, sublet, other",
            ));
        }
        let description = errs.take(text(&f("description"), &l.description, 1, 200));
        let code = opt(&l.code).map(|c| c.chars().take(60).collect::<String>());
        let quantity = errs.take(parse_centi(
            &f("quantity"),
            &l.quantity,
            -1_000_000,
            1_000_000,
        ));
        if quantity == Some(0) {
            errs.push(FieldError::new(
                f("quantity"),
                Rule::NotAllowed,
                "quantity must not be zero",
            ));
        }
        let price = errs.take(parse_centi(
            &f("unit_price"),
            &l.unit_price,
            -100_000_000_000,
            100_000_000_000,
        ));
        // The sign of a line is its quantity's (a return, a discount); a price is never negative,
        // so −3 × −1 000 cannot become a positive charge.
        let price = match price {
            Some(p) if p < 0 => {
                errs.push(FieldError::new(
                    f("unit_price"),
                    Rule::NotAllowed,
                    format!(
                        "{} must not be negative: a return or a discount is a negative quantity",
                        f("unit_price")
                    ),
                ));
                None
            }
            p => p,
        };
        let tax_code = match opt(&l.tax_code) {
            None => Some(TaxCode::Standard),
            Some(c) => errs.take(TaxCode::parse(&f("tax_code"), c)),
        };
        let exemption = tax_code.and_then(|t| {
            errs.take(Exemption::parse(
                &format!("lines.{i}"),
                entity.market,
                t,
                opt(&l.exemption_code).unwrap_or(""),
                opt(&l.exemption_reason).unwrap_or(""),
            ))
        });
        if let (Some(description), Some(q), Some(p), Some(t)) =
            (description, quantity, price, tax_code)
        {
            if t.category() == "S" && !entity.vat_registered {
                errs.push(FieldError::new(
                    f("tax_code"),
                    Rule::NotAllowed,
                    "the legal entity is not registered for VAT: lines carry no VAT (outside-scope)",
                ));
            }
            out.push(NewLine {
                ro_line_id: None,
                unit: unit_of(&kind),
                kind: kind.clone(),
                code,
                description,
                quantity_centi: q,
                unit_price_minor: p,
                tax_code: t,
                rate_bp: rate_bp(entity.region, t),
                exemption: exemption.flatten(),
            });
        }
    }
    errs.into_result()?;
    Ok(out)
}

fn parse_doc_type(
    field: &str,
    market: Market,
    kind: DocKind,
    s: Option<&str>,
) -> Result<String, FieldError> {
    match market {
        Market::Norway => Ok(kind.as_str().to_string()),
        Market::Portugal => {
            let t = match (kind, s) {
                (DocKind::CreditNote, _) => PtDocType::Nc,
                (DocKind::Invoice, None) => PtDocType::Ft,
                (DocKind::Invoice, Some(v)) => PtDocType::parse(field, v)?,
            };
            if kind == DocKind::Invoice && t == PtDocType::Nc {
                return Err(FieldError::new(
                    field,
                    Rule::NotAllowed,
                    "a credit note (NC) is made by crediting an issued invoice",
                ));
            }
            Ok(t.as_str().to_string())
        }
    }
}

// ---- Legal entities and series --------------------------------------------------------------------

// ---- Documents -----------------------------------------------------------------------------------

pub(crate) struct Buyer {
    party: Party,
    consumer: bool,
    language: String,
}

fn summary_of(d: &BillingDocument) -> DocSummary {
    DocSummary {
        id: d.id.clone(),
        kind: d.kind,
        doc_type: d.doc_type.clone(),
        status: d.status.clone(),
        number: d.number.clone(),
        customer: d.customer.clone(),
        repair_order: d.repair_order.clone(),
        pay_type: d.pay_type.clone(),
        issue_date: d.issue_date.clone(),
        due_date: d.due_date.clone(),
        gross: d.gross.clone(),
        open: d.open.clone(),
        payment_status: d.payment_status,
    }
}

/// What the SAF-T (PT) export needs from the caller.
#[derive(Debug, Clone)]
pub struct SaftRequest {
    pub from: Date,
    pub to: Date,
    pub created: Date,
    pub producer_nif: String,
    pub product_version: String,
}

// ---- PDF and the customer's own view ---------------------------------------------------------------

/// What a customer sees of a document through its link, without logging in.
#[derive(Debug, Clone, Serialize)]
pub struct PublicDocument {
    pub kind: DocKind,
    pub title_number: String,
    pub seller: String,
    pub issue_date: String,
    pub due_date: Option<String>,
    pub gross: Money,
    pub open: Money,
    pub payment_status: PaymentStatus,
    pub kid: Option<String>,
    pub bank_account: Option<String>,
    pub language: String,
    pub token: String,
}
