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
use serde::Serialize;
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
pub use read::DocFilter;

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

pub use aftersales_api_types::billing::{
    BillingDocument, DocLine, DocRef, DocSummary, DraftInput, DraftUpdate, LegalEntity,
    LegalEntityInput, LineInput, Payment, PaymentInput, PaymentStatus, Series, SeriesInput,
    TaxGroup,
};
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

/// The seller as the documents print it, from the legal entity.
fn seller_of(this: &LegalEntity) -> Seller {
    Seller {
        party: Party {
            name: this.name.clone(),
            street: this.street.clone(),
            postal_code: this.postal_code.clone(),
            city: this.city.clone(),
            country: this.country.clone(),
            org_number: this.org_number.clone(),
            nif: this.nif.clone(),
            email: this.email.clone(),
        },
        vat_registered: this.vat_registered,
        foretaksregisteret: this.foretaksregisteret,
        bank_account: this.bank_account.clone(),
        bic: this.bic.clone(),
        certificate: (this.market == Market::Portugal).then(|| this.certificate.clone()),
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
