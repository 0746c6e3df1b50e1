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
use crate::db::Store;
use crate::error::StoreError;
use crate::notify::{enqueue, Notice};
use crate::scope::Scope;
use crate::workshop::{token, RoContext};
use crate::{micros, new_id};

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
    pub lines: Vec<LineInput>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct DraftUpdate {
    pub doc_type: Option<String>,
    pub note: Option<String>,
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

pub const PAYMENT_METHODS: &[&str] = &["bank-transfer", "card", "cash", "mb", "other"];

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
    fn view(self) -> LegalEntity {
        LegalEntity {
            market: Market::parse("market", &self.market).unwrap_or(Market::Norway),
            region: TaxRegion::parse("region", &self.region).unwrap_or(TaxRegion::Norway),
            kid_scheme: KidScheme::parse("kid_scheme", &self.kid_scheme)
                .unwrap_or(KidScheme::Mod10),
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
        }
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
struct DocRow {
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

const DOC_COLS: &str = "d.id, d.legal_entity_id, d.organisation_id, d.kind, d.doc_type, d.status, d.sequence, d.number, d.customer_id, d.repair_order_id, d.pay_type, d.credited_document_id, d.reason, d.note, d.language, d.currency, d.region, d.seller_json, d.buyer_json, d.issue_date, d.due_date, d.delivery_date, d.system_entry, d.gross_minor, d.kid, d.hash, d.hash_control, d.atcud, d.public_token, d.sent_at, u.username AS issued_by_name, d.version";

#[derive(sqlx::FromRow, Clone)]
struct LineRow {
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
    fn code(&self) -> TaxCode {
        TaxCode::parse("tax_code", &self.tax_code).unwrap_or(TaxCode::Standard)
    }

    fn exemption(&self) -> Option<Exemption> {
        self.exemption_reason.as_ref().map(|r| Exemption {
            code: self.exemption_code.clone().unwrap_or_default(),
            reason: r.clone(),
        })
    }

    fn taxed(&self) -> TaxedLine {
        TaxedLine {
            net_minor: self.net_minor,
            code: self.code(),
            rate_bp: u32::try_from(self.rate_bp).unwrap_or(0),
            exemption: self.exemption(),
        }
    }
}

/// A line ready to be written.
struct NewLine {
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

impl Store {
    /// The legal entity invoicing for `org`: its own, or the nearest one above it.
    pub(crate) async fn entity_for(&self, org: &str) -> Result<Option<LegalEntity>, StoreError> {
        let mut cur = org.to_string();
        for _ in 0..8 {
            let row: Option<EntityRow> = sqlx::query_as(&format!(
                "SELECT {ENTITY_COLS} FROM legal_entities WHERE organisation_id = $1"
            ))
            .bind(&cur)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(r) = row {
                return Ok(Some(r.view()));
            }
            let parent: Option<Option<String>> =
                sqlx::query_scalar("SELECT parent_id FROM organisations WHERE id = $1")
                    .bind(&cur)
                    .fetch_optional(&self.pool)
                    .await?;
            match parent.flatten() {
                Some(p) => cur = p,
                None => break,
            }
        }
        Ok(None)
    }

    async fn entity_by_id(&self, id: &str) -> Result<LegalEntity, StoreError> {
        let row: Option<EntityRow> = sqlx::query_as(&format!(
            "SELECT {ENTITY_COLS} FROM legal_entities WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(EntityRow::view).ok_or(StoreError::NotFound)
    }

    /// The legal entity that invoices for `org` (own or inherited), if any.
    pub async fn legal_entity(
        &self,
        scope: &Scope,
        org: &str,
    ) -> Result<Option<LegalEntity>, StoreError> {
        scope.require(org, Permission::BillingRead)?;
        self.entity_for(org).await
    }

    /// Creates or changes the legal entity attached to `org` (it then invoices for `org`'s subtree).
    pub async fn set_legal_entity(
        &self,
        scope: &Scope,
        org: &str,
        input: &LegalEntityInput,
        expected_version: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<LegalEntity, StoreError> {
        scope.require(org, Permission::BillingManage)?;
        let mut errs = ValidationErrors::default();
        let region = errs.take(TaxRegion::parse("region", &input.region));
        let name = errs.take(text("name", &input.name, 1, 100));
        let org_number =
            opt(&input.org_number).and_then(|v| errs.take(OrgNumber::parse("org_number", v)));
        let nif = opt(&input.nif).and_then(|v| errs.take(Nif::parse("nif", v)));
        let kid_scheme = match opt(&input.kid_scheme) {
            None => Some(KidScheme::Mod10),
            Some(v) => errs.take(KidScheme::parse("kid_scheme", v)),
        };
        let payment_days = input.payment_days.unwrap_or(14);
        if !(0..=120).contains(&payment_days) {
            errs.push(FieldError::new(
                "payment_days",
                Rule::NotAllowed,
                "payment_days must be 0 to 120",
            ));
        }
        let certificate = opt(&input.certificate).unwrap_or("0000").to_string();
        if certificate.len() > 10 || !certificate.chars().all(|c| c.is_ascii_digit()) {
            errs.push(FieldError::new(
                "certificate",
                Rule::Format,
                "certificate is AT's software certificate number, digits only",
            ));
        }
        let market = region.map(TaxRegion::market);
        match market {
            // A given but invalid number is reported once, by its own check.
            Some(Market::Norway) if opt(&input.org_number).is_none() => errs.push(FieldError::new(
                "org_number",
                Rule::Required,
                "a Norwegian legal entity needs its organisation number",
            )),
            Some(Market::Portugal) if opt(&input.nif).is_none() => errs.push(FieldError::new(
                "nif",
                Rule::Required,
                "a Portuguese legal entity needs its NIF",
            )),
            _ => {}
        }
        let bank = opt(&input.bank_account).map(|b| b.replace([' ', '.'], ""));
        if let Some(b) = &bank {
            if b.len() < 8 || b.len() > 34 || !b.chars().all(|c| c.is_ascii_alphanumeric()) {
                errs.push(FieldError::new(
                    "bank_account",
                    Rule::Format,
                    "bank_account is an IBAN or an account number: 8 to 34 letters and digits",
                ));
            }
        }
        for (field, id) in [
            ("warranty_customer_id", opt(&input.warranty_customer_id)),
            ("goodwill_customer_id", opt(&input.goodwill_customer_id)),
        ] {
            if let Some(id) = id {
                let owner: Option<String> =
                    sqlx::query_scalar("SELECT organisation_id FROM customers WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                if !owner.is_some_and(|o| scope.permits_record(&o, Permission::CrmRead)) {
                    errs.push(FieldError::new(
                        field,
                        Rule::Unknown,
                        format!("{field} is not a customer you can see"),
                    ));
                }
            }
        }
        errs.into_result()?;
        let (Some(region), Some(name), Some(kid_scheme), Some(market)) =
            (region, name, kid_scheme, market)
        else {
            return Err(StoreError::Internal("validated input incomplete".into()));
        };
        let (currency, country) = match market {
            Market::Norway => ("NOK", "NO"),
            Market::Portugal => ("EUR", "PT"),
        };
        let existing: Option<(String, i64)> =
            sqlx::query_as("SELECT id, version FROM legal_entities WHERE organisation_id = $1")
                .bind(org)
                .fetch_optional(&self.pool)
                .await?;
        let vals = (
            opt(&input.street).map(str::to_string),
            opt(&input.postal_code).map(str::to_string),
            opt(&input.city).map(str::to_string),
            opt(&input.email).map(str::to_string),
            opt(&input.bic).map(str::to_string),
        );
        // A new entity is created with what identifies it, then everything is written by the one UPDATE below.
        let (id, version) = match existing {
            Some((id, version)) => {
                if let Some(v) = expected_version {
                    if v != version {
                        return Err(StoreError::Conflict { current: version });
                    }
                }
                let issued: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM billing_documents WHERE legal_entity_id = $1 AND status = 'issued'",
                )
                .bind(&id)
                .fetch_one(&self.pool)
                .await?;
                let current = self.entity_by_id(&id).await?;
                if issued > 0 && current.region != region {
                    return Err(ValidationErrors::single(
                        "region",
                        Rule::NotAllowed,
                        "the region cannot change once documents are issued",
                    )
                    .into());
                }
                (id, version)
            }
            None => {
                let id = new_id();
                let r = sqlx::query(
                    "INSERT INTO legal_entities (id, organisation_id, market, region, name, country, currency, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&id)
                .bind(org)
                .bind(market.as_str())
                .bind(region.as_str())
                .bind(&name)
                .bind(country)
                .bind(currency)
                .bind(micros(now))
                .execute(&self.pool)
                .await;
                match r {
                    Ok(_) => (id, 1),
                    Err(e) if StoreError::is_unique_violation(&e) => {
                        return Err(StoreError::Conflict { current: 1 })
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let done = sqlx::query(
            "UPDATE legal_entities SET market = $1, region = $2, name = $3, org_number = $4, nif = $5, vat_registered = $6, \
             foretaksregisteret = $7, street = $8, postal_code = $9, city = $10, country = $11, email = $12, bank_account = $13, \
             bic = $14, currency = $15, payment_days = $16, kid_scheme = $17, certificate = $18, warranty_customer_id = $19, \
             goodwill_customer_id = $20, version = version + 1 WHERE id = $21 AND version = $22",
        )
        .bind(market.as_str())
        .bind(region.as_str())
        .bind(&name)
        .bind(org_number.as_ref().map(|o| o.as_str().to_string()))
        .bind(nif.as_ref().map(|n| n.as_str().to_string()))
        .bind(i64::from(input.vat_registered.unwrap_or(true)))
        .bind(i64::from(input.foretaksregisteret.unwrap_or(false)))
        .bind(vals.0)
        .bind(vals.1)
        .bind(vals.2)
        .bind(country)
        .bind(vals.3)
        .bind(bank)
        .bind(vals.4)
        .bind(currency)
        .bind(payment_days)
        .bind(kid_scheme.as_str())
        .bind(&certificate)
        .bind(opt(&input.warranty_customer_id).map(str::to_string))
        .bind(opt(&input.goodwill_customer_id).map(str::to_string))
        .bind(&id)
        .bind(version)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict { current: version });
        }
        self.entity_by_id(&id).await
    }

    /// A legal entity by its id, if the caller may see its documents.
    pub async fn legal_entity_by_id(
        &self,
        scope: &Scope,
        entity_id: &str,
    ) -> Result<LegalEntity, StoreError> {
        let e = self.entity_by_id(entity_id).await?;
        if !scope.permits(&e.organisation_id, Permission::BillingRead) {
            return Err(StoreError::NotFound);
        }
        Ok(e)
    }

    pub async fn series(&self, scope: &Scope, entity_id: &str) -> Result<Vec<Series>, StoreError> {
        let e = self.entity_by_id(entity_id).await?;
        scope.require(&e.organisation_id, Permission::BillingRead)?;
        type Row = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            i64,
            Option<String>,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, doc_type, code, validation_code, kid_prefix, next_number, last_date, active FROM billing_series \
             WHERE legal_entity_id = $1 ORDER BY doc_type, created_at",
        )
        .bind(entity_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, doc_type, code, vc, kp, next, last, active)| Series {
                id,
                doc_type,
                code,
                validation_code: vc,
                kid_prefix: kp,
                next_number: next,
                last_date: last,
                active: active != 0,
            })
            .collect())
    }

    /// Registers a number series; it becomes the active one of its document type.
    pub async fn add_series(
        &self,
        scope: &Scope,
        entity_id: &str,
        input: &SeriesInput,
        now: OffsetDateTime,
    ) -> Result<Series, StoreError> {
        let e = self.entity_by_id(entity_id).await?;
        scope.require(&e.organisation_id, Permission::BillingManage)?;
        let mut errs = ValidationErrors::default();
        let doc_type = match e.market {
            Market::Norway => errs
                .take(DocKind::parse("doc_type", &input.doc_type).map(|k| k.as_str().to_string())),
            Market::Portugal => errs.take(
                PtDocType::parse("doc_type", &input.doc_type).map(|k| k.as_str().to_string()),
            ),
        };
        let code = errs.take(parse_series_code("code", &input.code));
        let validation_code = match (e.market, opt(&input.validation_code)) {
            (Market::Portugal, None) => {
                errs.push(FieldError::new(
                    "validation_code",
                    Rule::Required,
                    "register the series with AT first: its validation code goes on every document (ATCUD)",
                ));
                None
            }
            (Market::Portugal, Some(v)) => errs.take(parse_validation_code("validation_code", v)),
            (Market::Norway, _) => None,
        };
        let kid_prefix = opt(&input.kid_prefix).map(str::to_string);
        if let Some(p) = &kid_prefix {
            if p.len() > 6 || !p.chars().all(|c| c.is_ascii_digit()) {
                errs.push(FieldError::new(
                    "kid_prefix",
                    Rule::Format,
                    "kid_prefix is up to 6 digits put before the number in the KID",
                ));
            }
        }
        // Norway: numbers are `<series>-<n>` for every type, so a code serves one type only; a KID is the prefix
        // and the number, so each invoice series has its own prefix (or KIDs would repeat).
        if e.market == Market::Norway {
            let others: Vec<(String, String, Option<String>)> = sqlx::query_as(
                "SELECT doc_type, code, kid_prefix FROM billing_series WHERE legal_entity_id = $1",
            )
            .bind(entity_id)
            .fetch_all(&self.pool)
            .await?;
            if let (Some(t), Some(c)) = (&doc_type, &code) {
                if others.iter().any(|(ot, oc, _)| oc == c && ot != t) {
                    errs.push(FieldError::new(
                        "code",
                        Rule::Unique,
                        "another document type uses this series code: numbers would repeat",
                    ));
                }
                if t == DocKind::Invoice.as_str() {
                    match &kid_prefix {
                        None => errs.push(FieldError::new(
                            "kid_prefix",
                            Rule::Required,
                            "an invoice series needs its own KID prefix, so KIDs never repeat across series",
                        )),
                        Some(p) if others.iter().any(|(_, _, op)| op.as_deref() == Some(p.as_str())) => {
                            errs.push(FieldError::new(
                                "kid_prefix",
                                Rule::Unique,
                                "another series uses this KID prefix",
                            ))
                        }
                        _ => {}
                    }
                }
            }
        }
        errs.into_result()?;
        let (Some(doc_type), Some(code)) = (doc_type, code) else {
            return Err(StoreError::Internal("validated input incomplete".into()));
        };
        let id = new_id();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE billing_series SET active = 0 WHERE legal_entity_id = $1 AND doc_type = $2",
        )
        .bind(entity_id)
        .bind(&doc_type)
        .execute(&mut *tx)
        .await?;
        let r = sqlx::query(
            "INSERT INTO billing_series (id, legal_entity_id, doc_type, code, validation_code, kid_prefix, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(entity_id)
        .bind(&doc_type)
        .bind(&code)
        .bind(&validation_code)
        .bind(&kid_prefix)
        .bind(micros(now))
        .execute(&mut *tx)
        .await;
        if let Err(e) = r {
            if StoreError::is_unique_violation(&e) {
                return Err(ValidationErrors::single(
                    "code",
                    Rule::Unique,
                    "this series already exists for this document type",
                )
                .into());
            }
            return Err(e.into());
        }
        tx.commit().await?;
        Ok(Series {
            id,
            doc_type,
            code,
            validation_code,
            kid_prefix,
            next_number: 1,
            last_date: None,
            active: true,
        })
    }
}

// ---- Documents -----------------------------------------------------------------------------------

struct Buyer {
    party: Party,
    consumer: bool,
    language: String,
}

impl Store {
    async fn buyer(&self, customer_id: &str) -> Result<Buyer, StoreError> {
        type Row = (
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            Option<String>,
            String,
            Option<i64>,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT kind, name, org_number, nif, street, postal_code, city, country, email, language, erased_at FROM customers WHERE id = $1",
        )
        .bind(customer_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some((kind, name, org, nif, street, postal, city, country, email, language, erased)) =
            row
        else {
            return Err(StoreError::NotFound);
        };
        if erased.is_some() {
            return Err(ValidationErrors::single(
                "customer_id",
                Rule::NotAllowed,
                "the customer was erased; invoice a customer on record",
            )
            .into());
        }
        Ok(Buyer {
            consumer: kind == "person",
            language,
            party: Party {
                name,
                street,
                postal_code: postal,
                city,
                country,
                org_number: org,
                nif,
                email,
            },
        })
    }

    async fn doc_row(&self, id: &str) -> Result<DocRow, StoreError> {
        let row: Option<DocRow> = sqlx::query_as(&format!(
            "SELECT {DOC_COLS} FROM billing_documents d LEFT JOIN users u ON u.id = d.issued_by WHERE d.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.ok_or(StoreError::NotFound)
    }

    async fn readable_doc(&self, scope: &Scope, id: &str) -> Result<DocRow, StoreError> {
        let row = self.doc_row(id).await?;
        if !scope.permits(&row.organisation_id, Permission::BillingRead) {
            return Err(StoreError::NotFound);
        }
        Ok(row)
    }

    async fn lines_of(&self, doc_id: &str) -> Result<Vec<LineRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, position, ro_line_id, kind, code, description, quantity_centi, unit, unit_price_minor, net_minor, tax_code, rate_bp, \
             exemption_code, exemption_reason FROM billing_lines WHERE document_id = $1 ORDER BY position",
        )
        .bind(doc_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn write_lines(
        conn: &mut sqlx::AnyConnection,
        doc_id: &str,
        lines: &[NewLine],
    ) -> Result<Totals, StoreError> {
        sqlx::query("DELETE FROM billing_lines WHERE document_id = $1")
            .bind(doc_id)
            .execute(&mut *conn)
            .await?;
        let mut taxed = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let net = line_total(l.unit_price_minor, l.quantity_centi);
            taxed.push(TaxedLine {
                net_minor: net,
                code: l.tax_code,
                rate_bp: l.rate_bp,
                exemption: l.exemption.clone(),
            });
            sqlx::query(
                "INSERT INTO billing_lines (id, document_id, position, ro_line_id, kind, code, description, quantity_centi, unit, \
                 unit_price_minor, net_minor, tax_code, rate_bp, exemption_code, exemption_reason) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(new_id())
            .bind(doc_id)
            .bind(i64::try_from(i).unwrap_or(0) + 1)
            .bind(&l.ro_line_id)
            .bind(&l.kind)
            .bind(&l.code)
            .bind(&l.description)
            .bind(l.quantity_centi)
            .bind(unit_str(l.unit))
            .bind(l.unit_price_minor)
            .bind(net)
            .bind(l.tax_code.as_str())
            .bind(i64::from(l.rate_bp))
            .bind(l.exemption.as_ref().map(|e| e.code.clone()).filter(|c| !c.is_empty()))
            .bind(l.exemption.as_ref().map(|e| e.reason.clone()))
            .execute(&mut *conn)
            .await?;
        }
        let (_, totals) = breakdown(&taxed);
        sqlx::query("UPDATE billing_documents SET net_minor = $1, tax_minor = $2, gross_minor = $3 WHERE id = $4")
            .bind(totals.net_minor)
            .bind(totals.tax_minor)
            .bind(totals.gross_minor)
            .bind(doc_id)
            .execute(&mut *conn)
            .await?;
        Ok(totals)
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_draft(
        conn: &mut sqlx::AnyConnection,
        entity: &LegalEntity,
        org: &str,
        kind: DocKind,
        doc_type: &str,
        customer_id: &str,
        language: &str,
        repair_order_id: Option<&str>,
        pay_type: Option<&str>,
        credited: Option<&str>,
        reason: Option<&str>,
        note: Option<&str>,
        user: &str,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO billing_documents (id, legal_entity_id, organisation_id, kind, doc_type, status, customer_id, repair_order_id, \
             pay_type, credited_document_id, reason, note, language, currency, region, public_token, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(&id)
        .bind(&entity.id)
        .bind(org)
        .bind(kind.as_str())
        .bind(doc_type)
        .bind(customer_id)
        .bind(repair_order_id)
        .bind(pay_type)
        .bind(credited)
        .bind(reason)
        .bind(note)
        .bind(language)
        .bind(&entity.currency)
        .bind(entity.region.as_str())
        .bind(token())
        .bind(user)
        .bind(micros(now))
        .execute(&mut *conn)
        .await?;
        Ok(id)
    }

    fn no_entity() -> StoreError {
        ValidationErrors::single(
            "organisation_id",
            Rule::NotAllowed,
            "no legal entity invoices for this organisation yet: a manager sets it up under Billing › Settings",
        )
        .into()
    }

    /// A free-standing draft (not from a repair order).
    pub async fn create_draft(
        &self,
        scope: &Scope,
        input: &DraftInput,
        now: OffsetDateTime,
    ) -> Result<BillingDocument, StoreError> {
        scope.require(&input.organisation_id, Permission::BillingWrite)?;
        let entity = self
            .entity_for(&input.organisation_id)
            .await?
            .ok_or_else(Self::no_entity)?;
        let owner: Option<String> =
            sqlx::query_scalar("SELECT organisation_id FROM customers WHERE id = $1")
                .bind(&input.customer_id)
                .fetch_optional(&self.pool)
                .await?;
        if !owner.is_some_and(|o| scope.permits_record(&o, Permission::CrmRead)) {
            return Err(ValidationErrors::single(
                "customer_id",
                Rule::Unknown,
                "customer_id is not a customer you can see",
            )
            .into());
        }
        let buyer = self.buyer(&input.customer_id).await?;
        let doc_type = parse_doc_type(
            "doc_type",
            entity.market,
            DocKind::Invoice,
            opt(&input.doc_type),
        )
        .map_err(ValidationErrors::from)?;
        let lines = parse_lines(&input.lines, &entity)?;
        let note = opt(&input.note).map(|n| n.chars().take(500).collect::<String>());
        let mut tx = self.pool.begin().await?;
        let id = Self::insert_draft(
            &mut tx,
            &entity,
            &input.organisation_id,
            DocKind::Invoice,
            &doc_type,
            &input.customer_id,
            &buyer.language,
            None,
            None,
            None,
            None,
            note.as_deref(),
            scope.user_id(),
            now,
        )
        .await?;
        Self::write_lines(&mut tx, &id, &lines).await?;
        tx.commit().await?;
        self.document(scope, &id, now).await
    }

    /// Replaces a draft's lines, type and note.
    pub async fn update_draft(
        &self,
        scope: &Scope,
        id: &str,
        input: &DraftUpdate,
        expected_version: i64,
        now: OffsetDateTime,
    ) -> Result<BillingDocument, StoreError> {
        let row = self.readable_doc(scope, id).await?;
        scope.require(&row.organisation_id, Permission::BillingWrite)?;
        if row.status != "draft" {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                "an issued document cannot be changed; credit it",
            )
            .into());
        }
        let entity = self.entity_by_id(&row.legal_entity_id).await?;
        let kind = DocKind::parse("kind", &row.kind).unwrap_or(DocKind::Invoice);
        let doc_type = parse_doc_type("doc_type", entity.market, kind, opt(&input.doc_type))
            .map_err(ValidationErrors::from)?;
        let mut lines = parse_lines(&input.lines, &entity)?;
        // Lines that came from the repair order keep their link when their position is kept.
        let old = self.lines_of(id).await?;
        for (new, old) in lines.iter_mut().zip(old.iter()) {
            // A changed line (a partial credit, a corrected price) is no longer the repair order's line.
            if new.description == old.description
                && new.quantity_centi == old.quantity_centi
                && new.unit_price_minor == old.unit_price_minor
            {
                new.ro_line_id = old.ro_line_id.clone();
            }
        }
        let note = opt(&input.note).map(|n| n.chars().take(500).collect::<String>());
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE billing_documents SET doc_type = $1, note = $2, version = version + 1 WHERE id = $3 AND version = $4 AND status = 'draft'",
        )
        .bind(&doc_type)
        .bind(&note)
        .bind(id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                current: row.version,
            });
        }
        Self::write_lines(&mut tx, id, &lines).await?;
        tx.commit().await?;
        self.document(scope, id, now).await
    }

    /// Changes a draft's document type (Portugal: FT, FS, FR).
    pub async fn set_draft_type(
        &self,
        scope: &Scope,
        id: &str,
        doc_type: &str,
        expected_version: i64,
        now: OffsetDateTime,
    ) -> Result<BillingDocument, StoreError> {
        let row = self.readable_doc(scope, id).await?;
        scope.require(&row.organisation_id, Permission::BillingWrite)?;
        let entity = self.entity_by_id(&row.legal_entity_id).await?;
        let kind = DocKind::parse("kind", &row.kind).unwrap_or(DocKind::Invoice);
        let doc_type = parse_doc_type("doc_type", entity.market, kind, Some(doc_type))
            .map_err(ValidationErrors::from)?;
        let done = sqlx::query(
            "UPDATE billing_documents SET doc_type = $1, version = version + 1 WHERE id = $2 AND status = 'draft' AND version = $3",
        )
        .bind(&doc_type)
        .bind(id)
        .bind(expected_version)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                current: row.version,
            });
        }
        self.document(scope, id, now).await
    }

    /// Deletes a draft (issued documents are kept for ever).
    pub async fn delete_draft(&self, scope: &Scope, id: &str) -> Result<(), StoreError> {
        let row = self.readable_doc(scope, id).await?;
        scope.require(&row.organisation_id, Permission::BillingWrite)?;
        if row.status != "draft" {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                "an issued document cannot be deleted; credit it",
            )
            .into());
        }
        let mut tx = self.pool.begin().await?;
        // The first statement claims the draft: an issuer working on it at the same time either finished
        // first (nothing matches here) or finds it gone.
        let claimed = sqlx::query(
            "UPDATE billing_documents SET version = version + 1 WHERE id = $1 AND status = 'draft'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                "the document was issued meanwhile; it cannot be deleted, only credited",
            )
            .into());
        }
        sqlx::query("DELETE FROM billing_lines WHERE document_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM billing_documents WHERE id = $1 AND status = 'draft'")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Drafts for a repair order: one per payer (the customer's share, the warranty claim, the goodwill share)
    /// with the lines not yet invoiced. Internal lines are not invoiced. An existing draft of the same payer is
    /// refreshed rather than duplicated.
    pub async fn invoice_repair_order(
        &self,
        scope: &Scope,
        ro_id: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<DocSummary>, StoreError> {
        type Ro = (String, String, String);
        let ro: Option<Ro> = sqlx::query_as(
            "SELECT organisation_id, customer_id, number FROM repair_orders WHERE id = $1",
        )
        .bind(ro_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some((org, customer_id, _number)) = ro else {
            return Err(StoreError::NotFound);
        };
        if !scope.permits(&org, Permission::CrmRead) {
            return Err(StoreError::NotFound);
        }
        scope.require(&org, Permission::BillingWrite)?;
        let entity = self.entity_for(&org).await?.ok_or_else(Self::no_entity)?;
        type RoLine = (String, String, Option<String>, String, i64, i64, String);
        let ro_lines: Vec<RoLine> = sqlx::query_as(
            "SELECT l.id, l.kind, l.code, l.description, l.quantity_centi, l.unit_price_minor, l.pay_type FROM ro_lines l \
             JOIN ro_jobs j ON j.id = l.job_id WHERE l.repair_order_id = $1 AND j.approval <> 'declined' ORDER BY j.position, l.created_at, l.id",
        )
        .bind(ro_id)
        .fetch_all(&self.pool)
        .await?;
        // A line is invoiced while it is on more issued invoices than issued credit notes.
        let billed: Vec<(String, String)> = sqlx::query_as(
            "SELECT bl.ro_line_id, d.kind FROM billing_lines bl JOIN billing_documents d ON d.id = bl.document_id \
             WHERE d.repair_order_id = $1 AND d.status = 'issued' AND bl.ro_line_id IS NOT NULL",
        )
        .bind(ro_id)
        .fetch_all(&self.pool)
        .await?;
        let on_invoice = |line: &str| {
            billed
                .iter()
                .filter(|(l, _)| l == line)
                .map(|(_, k)| if k == "invoice" { 1 } else { -1 })
                .sum::<i64>()
                > 0
        };
        let mut errs = ValidationErrors::default();
        let mut plans: Vec<(PayType, String, Vec<NewLine>)> = Vec::new();
        for pay in [PayType::Customer, PayType::Warranty, PayType::Goodwill] {
            let lines: Vec<NewLine> = ro_lines
                .iter()
                .filter(|l| l.6 == pay.as_str() && !on_invoice(&l.0))
                .map(|l| NewLine {
                    ro_line_id: Some(l.0.clone()),
                    unit: unit_of(&l.1),
                    kind: l.1.clone(),
                    code: l.2.clone(),
                    description: l.3.chars().take(200).collect(),
                    quantity_centi: l.4,
                    unit_price_minor: l.5,
                    // Not registered for VAT: Norway charges none (outside the scope); Portugal's small
                    // businesses are exempt under art. 53 CIVA (M10).
                    tax_code: match (entity.vat_registered, entity.market) {
                        (true, _) => TaxCode::Standard,
                        (false, Market::Norway) => TaxCode::OutsideScope,
                        (false, Market::Portugal) => TaxCode::Exempt,
                    },
                    rate_bp: if entity.vat_registered {
                        rate_bp(entity.region, TaxCode::Standard)
                    } else {
                        0
                    },
                    exemption: match (entity.vat_registered, entity.market) {
                        (true, _) => None,
                        (false, Market::Norway) => {
                            Exemption::parse("l", Market::Norway, TaxCode::OutsideScope, "", "")
                                .ok()
                                .flatten()
                        }
                        (false, Market::Portugal) => {
                            Exemption::parse("l", Market::Portugal, TaxCode::Exempt, "M10", "")
                                .ok()
                                .flatten()
                        }
                    },
                })
                .collect();
            if lines.is_empty() {
                continue;
            }
            let payer = match pay {
                PayType::Customer => Some(customer_id.clone()),
                PayType::Warranty => entity.warranty_customer_id.clone(),
                PayType::Goodwill => entity.goodwill_customer_id.clone(),
                PayType::Internal => None,
            };
            match payer {
                Some(p) => plans.push((pay, p, lines)),
                None => errs.push(FieldError::new(
                    format!("{}_customer_id", pay.as_str()),
                    Rule::Required,
                    format!(
                        "the repair order has {} lines but no {} payer is set in the billing settings",
                        pay.as_str(),
                        pay.as_str()
                    ),
                )),
            }
        }
        errs.into_result()?;
        if plans.is_empty() {
            return Err(ValidationErrors::single(
                "repair_order_id",
                Rule::NotAllowed,
                "nothing to invoice: every chargeable line is on an issued invoice already",
            )
            .into());
        }
        let mut ids = Vec::new();
        let mut tx = self.pool.begin().await?;
        // The first statement writes: two advisors invoicing the same order at once queue here, and the second
        // finds (and refreshes) the first one's drafts instead of making more.
        sqlx::query("UPDATE repair_orders SET updated_at = updated_at WHERE id = $1")
            .bind(ro_id)
            .execute(&mut *tx)
            .await?;
        for (pay, payer, lines) in plans {
            let buyer = self.buyer(&payer).await?;
            let existing: Option<String> = sqlx::query_scalar(
                "SELECT id FROM billing_documents WHERE repair_order_id = $1 AND pay_type = $2 AND status = 'draft' AND kind = 'invoice'",
            )
            .bind(ro_id)
            .bind(pay.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let id = match existing {
                Some(id) => {
                    let done = sqlx::query("UPDATE billing_documents SET customer_id = $1, version = version + 1 WHERE id = $2 AND status = 'draft'")
                        .bind(&payer)
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::Conflict { current: 0 });
                    }
                    id
                }
                None => {
                    let doc_type =
                        parse_doc_type("doc_type", entity.market, DocKind::Invoice, None)
                            .map_err(ValidationErrors::from)?;
                    Self::insert_draft(
                        &mut tx,
                        &entity,
                        &org,
                        DocKind::Invoice,
                        &doc_type,
                        &payer,
                        &buyer.language,
                        Some(ro_id),
                        Some(pay.as_str()),
                        None,
                        None,
                        None,
                        scope.user_id(),
                        now,
                    )
                    .await?
                }
            };
            Self::write_lines(&mut tx, &id, &lines).await?;
            ids.push(id);
        }
        tx.commit().await?;
        let mut out = Vec::new();
        for id in ids {
            let d = self.document(scope, &id, now).await?;
            out.push(summary_of(&d));
        }
        Ok(out)
    }

    /// A draft credit note for an issued invoice, with all its lines (edit them for a partial credit).
    pub async fn credit_draft(
        &self,
        scope: &Scope,
        invoice_id: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<BillingDocument, StoreError> {
        let row = self.readable_doc(scope, invoice_id).await?;
        scope.require(&row.organisation_id, Permission::BillingWrite)?;
        let reason = text("reason", reason, 3, 200).map_err(ValidationErrors::from)?;
        if row.status != "issued" || row.kind != "invoice" {
            return Err(ValidationErrors::single(
                "id",
                Rule::NotAllowed,
                "only an issued invoice can be credited",
            )
            .into());
        }
        let credited: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(gross_minor), 0) AS BIGINT) FROM billing_documents WHERE credited_document_id = $1 AND status = 'issued'",
        )
        .bind(invoice_id)
        .fetch_one(&self.pool)
        .await?;
        if credited >= row.gross_minor {
            return Err(ValidationErrors::single(
                "id",
                Rule::NotAllowed,
                "this invoice is credited in full already",
            )
            .into());
        }
        let entity = self.entity_by_id(&row.legal_entity_id).await?;
        let lines: Vec<NewLine> = self
            .lines_of(invoice_id)
            .await?
            .into_iter()
            .map(|l| NewLine {
                tax_code: l.code(),
                exemption: l.exemption(),
                rate_bp: u32::try_from(l.rate_bp).unwrap_or(0),
                ro_line_id: l.ro_line_id,
                unit: unit_of(&l.kind),
                kind: l.kind,
                code: l.code,
                description: l.description,
                quantity_centi: l.quantity_centi,
                unit_price_minor: l.unit_price_minor,
            })
            .collect();
        let doc_type = parse_doc_type("doc_type", entity.market, DocKind::CreditNote, None)
            .map_err(ValidationErrors::from)?;
        let mut tx = self.pool.begin().await?;
        let id = Self::insert_draft(
            &mut tx,
            &entity,
            &row.organisation_id,
            DocKind::CreditNote,
            &doc_type,
            &row.customer_id,
            &row.language,
            row.repair_order_id.as_deref(),
            row.pay_type.as_deref(),
            Some(invoice_id),
            Some(&reason),
            None,
            scope.user_id(),
            now,
        )
        .await?;
        Self::write_lines(&mut tx, &id, &lines).await?;
        tx.commit().await?;
        self.document(scope, &id, now).await
    }

    /// Issues a draft: the one atomic step. Number (gapless, per series), dates, seller and buyer as they are
    /// now, totals, KID (NO) or signature chain and ATCUD (PT), the series' new state, a payment for an
    /// invoice-receipt, and the customer's message commit together or not at all.
    pub async fn issue(
        &self,
        scope: &Scope,
        id: &str,
        expected_version: i64,
        payment_method: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<BillingDocument, StoreError> {
        let row = self.readable_doc(scope, id).await?;
        scope.require(&row.organisation_id, Permission::BillingWrite)?;
        if row.status != "draft" {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                "the document is issued already",
            )
            .into());
        }
        if row.version != expected_version {
            return Err(StoreError::Conflict {
                current: row.version,
            });
        }
        let entity = self.entity_by_id(&row.legal_entity_id).await?;
        let kind = DocKind::parse("kind", &row.kind).unwrap_or(DocKind::Invoice);
        let lines = self.lines_of(id).await?;
        if lines.is_empty() {
            return Err(ValidationErrors::single(
                "lines",
                Rule::Required,
                "a document has at least one line",
            )
            .into());
        }
        let taxed: Vec<TaxedLine> = lines.iter().map(LineRow::taxed).collect();
        let (_, totals) = breakdown(&taxed);
        if totals.gross_minor < 0 {
            return Err(ValidationErrors::single(
                "lines",
                Rule::NotAllowed,
                "the total is negative: issue a credit note instead",
            )
            .into());
        }
        // What credit notes already took from the invoice is checked under the series lock, in the transaction.
        let buyer = self.buyer(&row.customer_id).await?;
        let pt_type = match entity.market {
            Market::Portugal => {
                Some(PtDocType::parse("doc_type", &row.doc_type).map_err(ValidationErrors::from)?)
            }
            Market::Norway => None,
        };
        let has_services = lines.iter().any(|l| l.kind != "part");
        let fs_limit = PtDocType::fs_limit_minor(!buyer.consumer, has_services);
        if pt_type == Some(PtDocType::Fs) && totals.gross_minor > fs_limit {
            return Err(ValidationErrors::single(
                "doc_type",
                Rule::NotAllowed,
                format!(
                    "a simplified invoice (FS) may not exceed {} EUR for this buyer: issue an FT",
                    format_centi(fs_limit)
                ),
            )
            .into());
        }
        let payment_method = match (
            pt_type,
            payment_method.map(str::trim).filter(|m| !m.is_empty()),
        ) {
            (Some(PtDocType::Fr), None) => {
                return Err(ValidationErrors::single(
                    "payment_method",
                    Rule::Required,
                    "an invoice-receipt (FR) is paid at issue: give the payment method",
                )
                .into())
            }
            (_, Some(m)) if !PAYMENT_METHODS.contains(&m) => {
                return Err(ValidationErrors::single(
                    "payment_method",
                    Rule::OneOf,
                    format!(
                        "payment_method must be one of {}",
                        PAYMENT_METHODS.join(", ")
                    ),
                )
                .into())
            }
            (Some(PtDocType::Fr), Some(m)) => Some(m.to_string()),
            _ => None,
        };
        let signer = match entity.market {
            Market::Portugal => Some(self.pt_signer.clone().ok_or_else(|| {
                StoreError::from(ValidationErrors::single(
                    "signing_key",
                    Rule::Required,
                    "Portuguese documents are signed: configure the producer's private key (billing.pt_key_file)",
                ))
            })?),
            Market::Norway => None,
        };
        if entity.market == Market::Norway
            && kind == DocKind::Invoice
            && entity.bank_account.is_none()
        {
            return Err(ValidationErrors::single(
                "bank_account",
                Rule::Required,
                "a Norwegian invoice states the account to pay to: set it in the billing settings",
            )
            .into());
        }
        let series: Option<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT id, code, validation_code, kid_prefix FROM billing_series WHERE legal_entity_id = $1 AND doc_type = $2 AND active = 1",
        )
        .bind(&entity.id)
        .bind(&row.doc_type)
        .fetch_optional(&self.pool)
        .await?;
        let Some((series_id, series_code, validation_code, kid_prefix)) = series else {
            return Err(ValidationErrors::single(
                "series",
                Rule::Required,
                format!(
                    "no active number series for {}: register one under Billing › Settings",
                    row.doc_type
                ),
            )
            .into());
        };
        let tz: Option<String> = sqlx::query_scalar(
            "SELECT m.time_zone FROM organisations o JOIN markets m ON m.id = o.market_id WHERE o.id = $1",
        )
        .bind(&row.organisation_id)
        .fetch_optional(&self.pool)
        .await?;
        let zone = tz
            .and_then(|t| Zone::parse("tz", &t).ok())
            .unwrap_or(match entity.market {
                Market::Norway => Zone::KNOWN[0],
                Market::Portugal => Zone::parse("tz", "Europe/Lisbon").unwrap_or(Zone::KNOWN[0]),
            });
        let local = zone.local(now);
        let issue_date = local.date();
        let system_entry = PrimitiveDateTime::new(
            issue_date,
            time::Time::from_hms(local.hour(), local.minute(), local.second())
                .unwrap_or(time::Time::MIDNIGHT),
        );
        let due_date = match (kind, pt_type) {
            (DocKind::Invoice, None | Some(PtDocType::Ft)) => {
                Some(issue_date + Duration::days(entity.payment_days))
            }
            _ => None,
        };
        let delivery_date: Option<String> = match &row.repair_order_id {
            Some(ro) => {
                let at: Option<i64> = sqlx::query_scalar(
                    "SELECT MAX(at) FROM ro_events WHERE repair_order_id = $1 AND status IN ('ready', 'delivered')",
                )
                .bind(ro)
                .fetch_one(&self.pool)
                .await?;
                at.map(|a| format_date(zone.local(crate::from_micros(a)).date()))
                    .filter(|d| *d != format_date(issue_date))
            }
            None => None,
        };
        let seller_json = serde_json::to_string(&entity.seller())
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        let buyer_json =
            serde_json::to_string(&buyer.party).map_err(|e| StoreError::Internal(e.to_string()))?;

        let mut tx = self.pool.begin().await?;
        // The first statement writes: it takes the series row's lock (PostgreSQL) or the write lock
        // (SQLite), so issuers of one series queue here and each reads the hash its predecessor left.
        let claimed: Option<(i64, String, Option<String>)> = sqlx::query_as(
            "UPDATE billing_series SET next_number = next_number + 1 WHERE id = $1 AND active = 1 \
             RETURNING next_number - 1, last_hash, last_date",
        )
        .bind(&series_id)
        .fetch_optional(&mut *tx)
        .await?;
        // Credit notes of one invoice are issued one after the other (the series lock above): what is credited
        // already is read again here, so two concurrent credit notes cannot exceed the invoice together.
        if let Some(inv) = &row.credited_document_id {
            let gross: i64 =
                sqlx::query_scalar("SELECT gross_minor FROM billing_documents WHERE id = $1")
                    .bind(inv)
                    .fetch_one(&mut *tx)
                    .await?;
            let already: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(gross_minor), 0) AS BIGINT) FROM billing_documents WHERE credited_document_id = $1 AND status = 'issued'",
            )
            .bind(inv)
            .fetch_one(&mut *tx)
            .await?;
            if already + totals.gross_minor > gross {
                return Err(ValidationErrors::single(
                    "lines",
                    Rule::NotAllowed,
                    format!(
                        "credit notes would exceed the invoice: {} of {} is credited already",
                        format_centi(already),
                        format_centi(gross)
                    ),
                )
                .into());
            }
        }
        // A repair-order line is invoiced once (until credited): read under the series lock, so two drafts with
        // the same line cannot both be issued.
        if kind == DocKind::Invoice && row.repair_order_id.is_some() {
            let twice: Vec<String> = sqlx::query_scalar(
                "SELECT bl.description FROM billing_lines bl WHERE bl.document_id = $1 AND bl.ro_line_id IS NOT NULL AND \
                 (SELECT COUNT(*) FROM billing_lines x JOIN billing_documents d ON d.id = x.document_id \
                   WHERE x.ro_line_id = bl.ro_line_id AND d.status = 'issued' AND d.kind = 'invoice') > \
                 (SELECT COUNT(*) FROM billing_lines x JOIN billing_documents d ON d.id = x.document_id \
                   WHERE x.ro_line_id = bl.ro_line_id AND d.status = 'issued' AND d.kind = 'credit-note')",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            if !twice.is_empty() {
                return Err(ValidationErrors::single(
                    "lines",
                    Rule::NotAllowed,
                    format!(
                        "already invoiced: {}; invoice the repair order again to refresh the draft",
                        twice.join(", ")
                    ),
                )
                .into());
            }
        }
        let Some((seq, previous_hash, last_date)) = claimed else {
            return Err(ValidationErrors::single(
                "series",
                Rule::NotAllowed,
                "the series was closed meanwhile; issue again",
            )
            .into());
        };
        if let Some(last) = parse_stored_date(&last_date) {
            if last > issue_date {
                return Err(ValidationErrors::single(
                    "issue_date",
                    Rule::NotAllowed,
                    format!(
                        "series {series_code} has a document dated {} already: no earlier date may follow",
                        format_date(last)
                    ),
                )
                .into());
            }
        }
        let number = document_number(entity.market, &row.doc_type, &series_code, seq);
        let kid = match (entity.market, kind) {
            (Market::Norway, DocKind::Invoice) => {
                let body = format!("{}{seq:07}", kid_prefix.clone().unwrap_or_default());
                Some(
                    Kid::for_reference("kid", entity.kid_scheme, &body)
                        .map_err(ValidationErrors::from)?
                        .as_str()
                        .to_string(),
                )
            }
            _ => None,
        };
        let (hash, hash_control, atcud_value) = match (&signer, &validation_code) {
            (Some(s), Some(vc)) => {
                let msg = documents::pt::signing_message(
                    issue_date,
                    system_entry,
                    &number,
                    totals.gross_minor,
                    &previous_hash,
                );
                let h = s
                    .sign(&msg)
                    .map_err(|e| StoreError::Internal(e.to_string()))?;
                (
                    Some(h),
                    Some(s.key_version.to_string()),
                    Some(atcud(vc, seq)),
                )
            }
            (Some(_), None) => {
                return Err(ValidationErrors::single(
                    "series",
                    Rule::Required,
                    "the series has no AT validation code",
                )
                .into())
            }
            _ => (None, None, None),
        };
        let done = sqlx::query(
            "UPDATE billing_documents SET status = 'issued', series_id = $1, sequence = $2, number = $3, seller_json = $4, buyer_json = $5, \
             issue_date = $6, due_date = $7, delivery_date = $8, system_entry = $9, net_minor = $10, tax_minor = $11, gross_minor = $12, \
             kid = $13, hash = $14, hash_control = $15, atcud = $16, issued_by = $17, issued_at = $18, version = version + 1 \
             WHERE id = $19 AND status = 'draft' AND version = $20",
        )
        .bind(&series_id)
        .bind(seq)
        .bind(&number)
        .bind(&seller_json)
        .bind(&buyer_json)
        .bind(format_date(issue_date))
        .bind(due_date.map(format_date))
        .bind(&delivery_date)
        .bind(system_entry.format(ENTRY).unwrap_or_default())
        .bind(totals.net_minor)
        .bind(totals.tax_minor)
        .bind(totals.gross_minor)
        .bind(&kid)
        .bind(&hash)
        .bind(&hash_control)
        .bind(&atcud_value)
        .bind(scope.user_id())
        .bind(micros(now))
        .bind(id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict {
                current: row.version + 1,
            });
        }
        sqlx::query("UPDATE billing_series SET last_hash = $1, last_date = $2 WHERE id = $3")
            .bind(hash.clone().unwrap_or_default())
            .bind(format_date(issue_date))
            .bind(&series_id)
            .execute(&mut *tx)
            .await?;
        if let Some(m) = payment_method {
            sqlx::query(
                "INSERT INTO billing_payments (id, document_id, amount_minor, method, paid_on, reference, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)",
            )
            .bind(new_id())
            .bind(id)
            .bind(totals.gross_minor)
            .bind(&m)
            .bind(format_date(issue_date))
            .bind(scope.user_id())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        }
        let org_name: String = sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
            .bind(&row.organisation_id)
            .fetch_one(&mut *tx)
            .await?;
        let ctx = RoContext {
            number: number.clone(),
            org_id: row.organisation_id.clone(),
            org_name,
            customer_id: row.customer_id.clone(),
            vehicle: String::new(),
            token: String::new(),
            eta: None,
        };
        enqueue(
            &mut tx,
            self.public_url(),
            &Notice {
                event: if kind == DocKind::CreditNote {
                    Event::CreditNoteIssued
                } else {
                    Event::InvoiceIssued
                },
                ro: row.repair_order_id.as_deref(),
                case_id: None,
                dedupe: format!("document:{id}"),
                extra: vec![],
                place: None,
                message: Some(format!("/d/{}", row.public_token)),
                calendar: None,
                delay: Duration::ZERO,
            },
            &ctx,
            now,
        )
        .await?;
        tx.commit().await?;
        self.document(scope, id, now).await
    }

    /// Records a payment against an issued invoice.
    pub async fn record_payment(
        &self,
        scope: &Scope,
        id: &str,
        input: &PaymentInput,
        now: OffsetDateTime,
    ) -> Result<BillingDocument, StoreError> {
        let row = self.readable_doc(scope, id).await?;
        scope.require(&row.organisation_id, Permission::BillingWrite)?;
        let mut errs = ValidationErrors::default();
        let amount = errs.take(parse_centi("amount", &input.amount, 1, 100_000_000_000));
        let method = input.method.trim();
        if !PAYMENT_METHODS.contains(&method) {
            errs.push(FieldError::new(
                "method",
                Rule::OneOf,
                format!("method must be one of {}", PAYMENT_METHODS.join(", ")),
            ));
        }
        let paid_on = errs.take(parse_date("paid_on", &input.paid_on));
        let reference = opt(&input.reference).map(|r| r.chars().take(100).collect::<String>());
        if row.status != "issued" || row.kind != "invoice" {
            errs.push(FieldError::new(
                "id",
                Rule::NotAllowed,
                "payments are recorded against issued invoices",
            ));
        }
        errs.into_result()?;
        let (Some(amount), Some(paid_on)) = (amount, paid_on) else {
            return Err(StoreError::Internal("validated input incomplete".into()));
        };
        // The first statement writes: it locks the invoice (PostgreSQL row lock, SQLite write lock), so two
        // payments recorded at once cannot both fit into what was open.
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE billing_documents SET version = version + 1 WHERE id = $1 AND status = 'issued'")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let gross: i64 =
            sqlx::query_scalar("SELECT gross_minor FROM billing_documents WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        let paid: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM billing_payments WHERE document_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let credited: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(gross_minor), 0) AS BIGINT) FROM billing_documents WHERE credited_document_id = $1 AND status = 'issued'",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let open = gross - paid - credited;
        if amount > open {
            return Err(ValidationErrors::single(
                "amount",
                Rule::NotAllowed,
                format!(
                    "amount is more than what is open ({})",
                    format_centi(open.max(0))
                ),
            )
            .into());
        }
        sqlx::query(
            "INSERT INTO billing_payments (id, document_id, amount_minor, method, paid_on, reference, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(new_id())
        .bind(id)
        .bind(amount)
        .bind(method)
        .bind(format_date(paid_on))
        .bind(&reference)
        .bind(scope.user_id())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.document(scope, id, now).await
    }

    /// One document with its lines, VAT groups, payments and what is open.
    pub async fn document(
        &self,
        scope: &Scope,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<BillingDocument, StoreError> {
        let row = self.readable_doc(scope, id).await?;
        self.assemble_doc(row, now, true).await
    }

    /// The document view; `legal` adds what needs its legal model (the QR text, the certificate line), which
    /// lists and the customer's page do not show.
    async fn assemble_doc(
        &self,
        row: DocRow,
        now: OffsetDateTime,
        legal: bool,
    ) -> Result<BillingDocument, StoreError> {
        let entity = self.entity_by_id(&row.legal_entity_id).await?;
        let lines = self.lines_of(&row.id).await?;
        let taxed: Vec<TaxedLine> = lines.iter().map(LineRow::taxed).collect();
        let (groups, totals) = breakdown(&taxed);
        let cur = row.currency.clone();
        let customer_name: String = match &row.buyer_json {
            Some(j) => serde_json::from_str::<Party>(j)
                .map(|p| p.name)
                .unwrap_or_default(),
            None => sqlx::query_scalar("SELECT name FROM customers WHERE id = $1")
                .bind(&row.customer_id)
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or_default(),
        };
        let ro: Option<DocRef> = match &row.repair_order_id {
            Some(r) => {
                sqlx::query_scalar::<_, String>("SELECT number FROM repair_orders WHERE id = $1")
                    .bind(r)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|n| DocRef {
                        id: r.clone(),
                        label: n,
                    })
            }
            None => None,
        };
        let credited: Option<DocRef> = match &row.credited_document_id {
            Some(c) => sqlx::query_scalar::<_, Option<String>>(
                "SELECT number FROM billing_documents WHERE id = $1",
            )
            .bind(c)
            .fetch_optional(&self.pool)
            .await?
            .map(|n| DocRef {
                id: c.clone(),
                label: n.unwrap_or_default(),
            }),
            None => None,
        };
        let credit_rows: Vec<(String, Option<String>, String, i64)> = sqlx::query_as(
            "SELECT id, number, status, gross_minor FROM billing_documents WHERE credited_document_id = $1 ORDER BY created_at",
        )
        .bind(&row.id)
        .fetch_all(&self.pool)
        .await?;
        let credited_total: i64 = credit_rows
            .iter()
            .filter(|c| c.2 == "issued")
            .map(|c| c.3)
            .sum();
        let payments: Vec<(String, i64, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, amount_minor, method, paid_on, reference FROM billing_payments WHERE document_id = $1 ORDER BY paid_on, created_at",
        )
        .bind(&row.id)
        .fetch_all(&self.pool)
        .await?;
        let paid: i64 = payments.iter().map(|p| p.1).sum();
        let issued = row.status == "issued";
        let invoice = row.kind == "invoice";
        let open = if issued && invoice {
            row.gross_minor - paid - credited_total
        } else {
            0
        };
        let due = parse_stored_date(&row.due_date);
        let today = self.zone_of(&row.organisation_id).await.local(now).date();
        let payment_status = if !(issued && invoice) {
            PaymentStatus::None
        } else if open <= 0 {
            PaymentStatus::Paid
        } else if due.is_some_and(|d| d < today) {
            PaymentStatus::Overdue
        } else if paid > 0 {
            PaymentStatus::PartlyPaid
        } else {
            PaymentStatus::Open
        };
        let model = if issued && legal {
            Some(self.model_of(&row, &entity, &lines).await?)
        } else {
            None
        };
        let qr = model
            .as_ref()
            .filter(|m| m.pt.is_some())
            .and_then(|m| documents::pt::qr_string(m).ok());
        let certificate_line = model.as_ref().and_then(|m| {
            m.pt.as_ref()
                .map(|p| documents::pt::certificate_line(&p.hash, &p.certificate))
        });
        Ok(BillingDocument {
            kind: DocKind::parse("kind", &row.kind).unwrap_or(DocKind::Invoice),
            doc_type: row.doc_type.clone(),
            status: row.status.clone(),
            number: row.number.clone(),
            market: entity.market,
            organisation_id: row.organisation_id.clone(),
            legal_entity: DocRef {
                id: entity.id.clone(),
                label: entity.name.clone(),
            },
            customer: DocRef {
                id: row.customer_id.clone(),
                label: customer_name,
            },
            repair_order: ro,
            pay_type: row.pay_type.clone(),
            credited,
            credit_notes: credit_rows
                .iter()
                .map(|(id, n, s, _)| DocRef {
                    id: id.clone(),
                    label: n.clone().unwrap_or_else(|| format!("({s})")),
                })
                .collect(),
            reason: row.reason.clone(),
            note: row.note.clone(),
            language: row.language.clone(),
            currency: cur.clone(),
            region: TaxRegion::parse("region", &row.region).unwrap_or(entity.region),
            issue_date: row.issue_date.clone(),
            due_date: row.due_date.clone(),
            delivery_date: row.delivery_date.clone(),
            lines: lines
                .iter()
                .map(|l| DocLine {
                    id: l.id.clone(),
                    position: l.position,
                    kind: l.kind.clone(),
                    code: l.code.clone(),
                    description: l.description.clone(),
                    quantity: format_centi(l.quantity_centi),
                    unit: l.unit.clone(),
                    unit_price: Money::new(l.unit_price_minor, &cur),
                    net: Money::new(l.net_minor, &cur),
                    tax_code: l.code(),
                    rate: aftersales_domain::billing::format_rate(
                        u32::try_from(l.rate_bp).unwrap_or(0),
                    ),
                    exemption_code: l.exemption_code.clone(),
                    exemption_reason: l.exemption_reason.clone(),
                })
                .collect(),
            tax_groups: groups
                .iter()
                .map(|g| TaxGroup {
                    tax_code: g.code,
                    rate: aftersales_domain::billing::format_rate(g.rate_bp),
                    exemption_reason: g.exemption.as_ref().map(|e| e.reason.clone()),
                    taxable: Money::new(g.taxable_minor, &cur),
                    tax: Money::new(g.tax_minor, &cur),
                })
                .collect(),
            net: Money::new(totals.net_minor, &cur),
            tax: Money::new(totals.tax_minor, &cur),
            gross: Money::new(totals.gross_minor, &cur),
            kid: row.kid.clone(),
            atcud: row.atcud.clone(),
            certificate_line,
            qr,
            payments: payments
                .into_iter()
                .map(|(id, a, m, d, r)| Payment {
                    id,
                    amount: Money::new(a, &cur),
                    method: m,
                    paid_on: d,
                    reference: r,
                })
                .collect(),
            paid: Money::new(paid, &cur),
            credited_total: Money::new(credited_total, &cur),
            open: Money::new(open, &cur),
            payment_status,
            public_path: format!("/d/{}", row.public_token),
            sent_at: row.sent_at.map(|s| {
                crate::from_micros(s)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            }),
            version: row.version,
            id: row.id,
        })
    }

    /// The legal model of an issued document, from what was fixed at issue.
    async fn model_of(
        &self,
        row: &DocRow,
        entity: &LegalEntity,
        lines: &[LineRow],
    ) -> Result<Document, StoreError> {
        let seller: Seller = row
            .seller_json
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_else(|| entity.seller());
        let buyer: Party = match row
            .buyer_json
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
        {
            Some(b) => b,
            None => self.buyer(&row.customer_id).await?.party,
        };
        let consumer: Option<String> =
            sqlx::query_scalar("SELECT kind FROM customers WHERE id = $1")
                .bind(&row.customer_id)
                .fetch_optional(&self.pool)
                .await?;
        let taxed: Vec<TaxedLine> = lines.iter().map(LineRow::taxed).collect();
        let (subtotals, totals) = breakdown(&taxed);
        let credited = match &row.credited_document_id {
            Some(c) => {
                let r: Option<(Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT number, issue_date FROM billing_documents WHERE id = $1",
                )
                .bind(c)
                .fetch_optional(&self.pool)
                .await?;
                r.and_then(|(n, d)| {
                    Some(Credited {
                        number: n?,
                        issue_date: parse_stored_date(&d)?,
                    })
                })
            }
            None => None,
        };
        let ro_number: Option<String> = match &row.repair_order_id {
            Some(r) => {
                sqlx::query_scalar("SELECT number FROM repair_orders WHERE id = $1")
                    .bind(r)
                    .fetch_optional(&self.pool)
                    .await?
            }
            None => None,
        };
        let issue_date = parse_stored_date(&row.issue_date).unwrap_or(Date::MIN);
        let payments: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT method, amount_minor, paid_on FROM billing_payments WHERE document_id = $1 ORDER BY paid_on, created_at",
        )
        .bind(&row.id)
        .fetch_all(&self.pool)
        .await?;
        let settled = payments
            .into_iter()
            .filter_map(|(m, a, d)| {
                Some((
                    saft_mechanism(&m).to_string(),
                    a,
                    parse_stored_date(&Some(d))?,
                ))
            })
            .collect();
        let pt = match (entity.market, &row.hash) {
            (Market::Portugal, Some(hash)) => Some(PtSeal {
                doc_type: PtDocType::parse("doc_type", &row.doc_type).unwrap_or(PtDocType::Ft),
                series: String::new(),
                sequence: row.sequence.unwrap_or(0),
                atcud: row.atcud.clone().unwrap_or_default(),
                hash: hash.clone(),
                hash_control: row.hash_control.clone().unwrap_or_else(|| "1".into()),
                system_entry: row
                    .system_entry
                    .as_deref()
                    .and_then(|s| PrimitiveDateTime::parse(s, ENTRY).ok())
                    .unwrap_or(PrimitiveDateTime::MIN),
                certificate: seller
                    .certificate
                    .clone()
                    .unwrap_or_else(|| entity.certificate.clone()),
            }),
            _ => None,
        };
        Ok(Document {
            kind: DocKind::parse("kind", &row.kind).unwrap_or(DocKind::Invoice),
            number: row.number.clone().unwrap_or_default(),
            issue_date,
            due_date: parse_stored_date(&row.due_date),
            delivery_date: parse_stored_date(&row.delivery_date),
            currency: row.currency.clone(),
            region: TaxRegion::parse("region", &row.region).unwrap_or(entity.region),
            seller,
            buyer,
            customer_id: row.customer_id.replace('-', "").chars().take(30).collect(),
            issued_by: row.issued_by_name.clone().unwrap_or_default(),
            buyer_is_consumer: consumer.as_deref() != Some("company"),
            buyer_reference: ro_number.unwrap_or_else(|| row.number.clone().unwrap_or_default()),
            lines: lines
                .iter()
                .map(|l| documents::Line {
                    code: l.code.clone(),
                    description: l.description.clone(),
                    quantity_centi: l.quantity_centi,
                    unit: if l.unit == "hour" {
                        Unit::Hour
                    } else {
                        Unit::Piece
                    },
                    unit_price_minor: l.unit_price_minor,
                    net_minor: l.net_minor,
                    tax_code: l.code(),
                    rate_bp: u32::try_from(l.rate_bp).unwrap_or(0),
                    exemption: l.exemption(),
                    service: l.kind != "part",
                })
                .collect(),
            subtotals,
            totals,
            payment_reference: row.kid.clone(),
            credited,
            reason: row.reason.clone(),
            note: row.note.clone(),
            pt,
            settled,
        })
    }

    /// The legal model of an issued document (for EHF, PDF).
    pub async fn document_model(&self, scope: &Scope, id: &str) -> Result<Document, StoreError> {
        let row = self.readable_doc(scope, id).await?;
        if row.status != "issued" {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                "a draft has no legal form yet: issue it first",
            )
            .into());
        }
        let entity = self.entity_by_id(&row.legal_entity_id).await?;
        let lines = self.lines_of(&row.id).await?;
        self.model_of(&row, &entity, &lines).await
    }

    /// The EHF (Peppol BIS Billing 3.0) XML of an issued Norwegian document.
    pub async fn ehf(&self, scope: &Scope, id: &str) -> Result<String, StoreError> {
        let model = self.document_model(scope, id).await?;
        if model.region != TaxRegion::Norway {
            return Err(ValidationErrors::single(
                "id",
                Rule::NotAllowed,
                "EHF is for Norwegian documents",
            )
            .into());
        }
        documents::ehf::write(&model)
            .map_err(|e| ValidationErrors::single("id", Rule::NotAllowed, e.to_string()).into())
    }

    /// Documents of the organisations in reach, newest first; filtered by customer, repair order, status.
    pub async fn documents(
        &self,
        scope: &Scope,
        customer_id: Option<&str>,
        repair_order_id: Option<&str>,
        only_open: bool,
        now: OffsetDateTime,
    ) -> Result<Vec<DocSummary>, StoreError> {
        let orgs = scope.orgs_with(Permission::BillingRead);
        if orgs.is_empty() {
            return Ok(vec![]);
        }
        let mut sql = format!(
            "SELECT {DOC_COLS} FROM billing_documents d LEFT JOIN users u ON u.id = d.issued_by WHERE d.organisation_id IN ({})",
            crate::db::placeholders(1, orgs.len())
        );
        let mut n = orgs.len();
        if customer_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND d.customer_id = ${n}"));
        }
        if repair_order_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND d.repair_order_id = ${n}"));
        }
        if only_open {
            sql.push_str(
                " AND d.status = 'issued' AND d.kind = 'invoice' AND d.gross_minor \
                 - COALESCE((SELECT SUM(p.amount_minor) FROM billing_payments p WHERE p.document_id = d.id), 0) \
                 - COALESCE((SELECT SUM(c.gross_minor) FROM billing_documents c WHERE c.credited_document_id = d.id AND c.status = 'issued'), 0) > 0",
            );
        }
        sql.push_str(" ORDER BY d.created_at DESC LIMIT 200");
        let mut q = sqlx::query_as::<_, DocRow>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        if let Some(c) = customer_id {
            q = q.bind(c);
        }
        if let Some(r) = repair_order_id {
            q = q.bind(r);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut out = Vec::new();
        for r in rows {
            let d = self.assemble_doc(r, now, false).await?;
            if only_open && matches!(d.payment_status, PaymentStatus::Paid) {
                continue;
            }
            out.push(summary_of(&d));
        }
        Ok(out)
    }
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

impl Store {
    /// SAF-T (PT) of the documents a Portuguese legal entity issued in a period, ordered by type, series and number.
    pub async fn saft_pt(
        &self,
        scope: &Scope,
        entity_id: &str,
        req: &SaftRequest,
    ) -> Result<Vec<u8>, StoreError> {
        let entity = self.entity_by_id(entity_id).await?;
        scope.require(&entity.organisation_id, Permission::BillingRead)?;
        self.saft_of(&entity, req).await
    }

    pub(crate) async fn saft_of(
        &self,
        entity: &LegalEntity,
        req: &SaftRequest,
    ) -> Result<Vec<u8>, StoreError> {
        if entity.market != Market::Portugal {
            return Err(ValidationErrors::single(
                "legal_entity_id",
                Rule::NotAllowed,
                "SAF-T (PT) is for Portuguese legal entities",
            )
            .into());
        }
        if req.to < req.from {
            return Err(
                ValidationErrors::single("to", Rule::NotAllowed, "to is before from").into(),
            );
        }
        if req.from.year() != req.to.year() {
            return Err(ValidationErrors::single(
                "to",
                Rule::NotAllowed,
                "a SAF-T file covers one fiscal year: from and to must be in the same year",
            )
            .into());
        }
        let rows: Vec<DocRow> = sqlx::query_as(&format!(
            "SELECT {DOC_COLS} FROM billing_documents d LEFT JOIN users u ON u.id = d.issued_by \
             WHERE d.legal_entity_id = $1 AND d.status = 'issued' AND d.issue_date >= $2 AND d.issue_date <= $3 \
             ORDER BY d.doc_type, d.series_id, d.sequence"
        ))
        .bind(&entity.id)
        .bind(format_date(req.from))
        .bind(format_date(req.to))
        .fetch_all(&self.pool)
        .await?;
        let mut docs = Vec::new();
        for r in &rows {
            let lines = self.lines_of(&r.id).await?;
            docs.push(self.model_of(r, entity, &lines).await?);
        }
        let header = documents::saft::Header {
            seller: entity.seller(),
            start: req.from,
            end: req.to,
            created: req.created,
            producer_nif: req.producer_nif.clone(),
            certificate: match entity.certificate.trim_start_matches('0') {
                "" => "0".to_string(),
                c => c.to_string(),
            },
            product_version: req.product_version.clone(),
        };
        documents::saft::write(&header, &docs).map_err(|e| {
            ValidationErrors::single("legal_entity_id", Rule::NotAllowed, e.to_string()).into()
        })
    }
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

impl Store {
    /// The PDF of an issued document, in its customer's language: (file name, bytes). Rendering is CPU-bound
    /// and runs on a blocking thread.
    pub(crate) async fn pdf_of(&self, doc_id: &str) -> Result<(String, Vec<u8>), StoreError> {
        let row = self.doc_row(doc_id).await?;
        if row.status != "issued" {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                "a draft has no PDF yet: issue it first",
            )
            .into());
        }
        let entity = self.entity_by_id(&row.legal_entity_id).await?;
        let lines = self.lines_of(&row.id).await?;
        let model = self.model_of(&row, &entity, &lines).await?;
        let paid: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM billing_payments WHERE document_id = $1",
        )
        .bind(&row.id)
        .fetch_one(&self.pool)
        .await?;
        let lang = aftersales_domain::i18n::Language::from_tag(&row.language)
            .unwrap_or(aftersales_domain::i18n::Language::En);
        let name = format!(
            "{}.pdf",
            model
                .number
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                })
                .collect::<String>()
        );
        let bytes =
            tokio::task::spawn_blocking(move || documents::pdf::render(&model, lang, Some(paid)))
                .await
                .map_err(|e| StoreError::Internal(e.to_string()))?
                .map_err(|e| StoreError::Internal(e.to_string()))?;
        Ok((name, bytes))
    }

    /// The PDF of a document the caller may read.
    pub async fn document_pdf(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<(String, Vec<u8>), StoreError> {
        let row = self.readable_doc(scope, id).await?;
        self.pdf_of(&row.id).await
    }

    async fn doc_by_token(&self, token: &str) -> Result<DocRow, StoreError> {
        if token.len() < 20 || token.len() > 64 {
            return Err(StoreError::NotFound);
        }
        let row: Option<DocRow> = sqlx::query_as(&format!(
            "SELECT {DOC_COLS} FROM billing_documents d LEFT JOIN users u ON u.id = d.issued_by WHERE d.public_token = $1 AND d.status = 'issued'"
        ))
        .bind(token)
        .fetch_optional(&self.pool)
        .await?;
        row.ok_or(StoreError::NotFound)
    }

    /// A document through the customer's link (the unguessable token is the only key).
    pub async fn public_document(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<PublicDocument, StoreError> {
        let row = self.doc_by_token(token).await?;
        let entity = self.entity_by_id(&row.legal_entity_id).await?;
        let d = self.assemble_doc(row.clone(), now, false).await?;
        Ok(PublicDocument {
            kind: d.kind,
            title_number: d.number.clone().unwrap_or_default(),
            seller: entity.name.clone(),
            issue_date: d.issue_date.clone().unwrap_or_default(),
            due_date: d.due_date.clone(),
            gross: d.gross.clone(),
            open: d.open.clone(),
            payment_status: d.payment_status,
            kid: d.kid.clone(),
            bank_account: entity.bank_account.clone(),
            language: row.language.clone(),
            token: row.public_token,
        })
    }

    pub async fn public_document_pdf(&self, token: &str) -> Result<(String, Vec<u8>), StoreError> {
        let row = self.doc_by_token(token).await?;
        self.pdf_of(&row.id).await
    }

    /// Issued documents of a repair order, for its status page: (number, path, gross).
    pub(crate) async fn ro_documents(
        &self,
        ro_id: &str,
    ) -> Result<Vec<(String, String, Money)>, StoreError> {
        let rows: Vec<(Option<String>, String, i64, String)> = sqlx::query_as(
            "SELECT number, public_token, gross_minor, currency FROM billing_documents \
             WHERE repair_order_id = $1 AND status = 'issued' AND pay_type = 'customer' ORDER BY issued_at",
        )
        .bind(ro_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(n, t, g, c)| (n.unwrap_or_default(), format!("/d/{t}"), Money::new(g, &c)))
            .collect())
    }
}
