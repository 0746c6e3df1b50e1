//! CRM (capability crm): customers (persons and companies) with contacts, consents per purpose and
//! channel, vehicles by VIN with ownership history and odometer readings, one timeline, search.
//! Customers and vehicles are shared records owned by an organisation (normally the market
//! entity); everyone whose reach lies at or below the owner may see them (`Scope::permits_record`).

use aftersales_domain::crm::{CheckDigit, Nif, OrgNumber, Phone, Vin};
use aftersales_domain::i18n::Language;
use aftersales_domain::org::{OrgKind, Permission};
use aftersales_domain::user::Email;
use aftersales_domain::validation::{text, text_block, FieldError, Rule};
use aftersales_domain::ValidationErrors;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::db::{placeholders, Engine, Store};
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{from_micros, micros, new_id, Page};

// ---------------------------------------------------------------- vocabulary

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CustomerKind {
    Person,
    Company,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    Email,
    Sms,
    Phone,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// Booking confirmations, status updates, invoices, recalls: no promotion.
    Service,
    Marketing,
}

macro_rules! codes {
    ($t:ty, $($v:ident => $s:literal),+ $(,)?) => {
        impl $t {
            pub const ALL: &'static [$t] = &[$(<$t>::$v),+];
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $s),+ }
            }
            pub fn parse(field: &str, s: &str) -> Result<$t, FieldError> {
                match s.trim() {
                    $($s => Ok(<$t>::$v),)+
                    _ => Err(FieldError::new(field, Rule::OneOf, format!("{field} must be one of {}", [$($s),+].join(", ")))),
                }
            }
        }
    };
}
codes!(CustomerKind, Person => "person", Company => "company");
codes!(Channel, Email => "email", Sms => "sms", Phone => "phone");
codes!(Purpose, Service => "service", Marketing => "marketing");

/// The calling code for national phone numbers of a country.
pub(crate) fn calling_code(country: &str) -> Option<&'static str> {
    match country {
        "NO" => Some("47"),
        "PT" => Some("351"),
        "SE" => Some("46"),
        "DK" => Some("45"),
        "ES" => Some("34"),
        _ => None,
    }
}

// ---------------------------------------------------------------- customers

/// A customer as typed in a form, sent to the API or read from a CSV row.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// `person` or `company`.
    pub kind: String,
    pub name: String,
    /// Norwegian organisation number (companies), MOD11-checked.
    pub org_number: Option<String>,
    /// Portuguese tax number, check digit verified.
    pub nif: Option<String>,
    pub email: Option<String>,
    /// National numbers get the country's calling code.
    pub phone: Option<String>,
    /// `nb`, `en` or `pt`.
    pub language: String,
    /// `email`, `sms` or `phone`.
    pub preferred_channel: String,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `NO`, `PT`.
    pub country: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// A customer parsed at the edge: every field valid, contact details normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCustomer {
    pub kind: CustomerKind,
    pub name: String,
    pub org_number: Option<OrgNumber>,
    pub nif: Option<Nif>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub language: Language,
    pub preferred_channel: Channel,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: String,
    pub position: Option<(f64, f64)>,
}

pub(crate) fn opt(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl NewCustomer {
    pub fn parse(i: &CustomerInput) -> Result<NewCustomer, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let kind = errs.take(CustomerKind::parse("kind", &i.kind));
        let name = errs.take(text("name", &i.name, 1, 200));
        let country = i.country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
            errs.push(FieldError::new(
                "country",
                Rule::Format,
                "country must be an ISO 3166-1 alpha-2 code like NO or PT",
            ));
        }
        let org_number =
            opt(&i.org_number).and_then(|v| errs.take(OrgNumber::parse("org_number", v)));
        let nif = opt(&i.nif).and_then(|v| errs.take(Nif::parse("nif", v)));
        let email = opt(&i.email).and_then(|v| errs.take(Email::parse("email", v)));
        let phone = opt(&i.phone).and_then(|v| {
            let cc = calling_code(&country).unwrap_or("");
            if cc.is_empty() && !v.starts_with('+') && !v.starts_with("00") {
                errs.push(FieldError::new(
                    "phone",
                    Rule::Format,
                    "phone needs its country code, like +46 70 123 45 67",
                ));
                return None;
            }
            errs.take(Phone::parse("phone", v, cc))
        });
        if opt(&i.email).is_none() && opt(&i.phone).is_none() {
            errs.push(FieldError::new(
                "phone",
                Rule::Required,
                "give a phone number or an e-mail address",
            ));
        }
        let language = errs.take(Language::parse("language", i.language.trim()));
        let preferred_channel =
            errs.take(Channel::parse("preferred_channel", &i.preferred_channel));
        match preferred_channel {
            Some(Channel::Email) if opt(&i.email).is_none() => errs.push(FieldError::new(
                "preferred_channel",
                Rule::NotAllowed,
                "e-mail is preferred but no e-mail address is given",
            )),
            Some(Channel::Sms | Channel::Phone) if opt(&i.phone).is_none() => {
                errs.push(FieldError::new(
                    "preferred_channel",
                    Rule::NotAllowed,
                    "sms or phone is preferred but no phone number is given",
                ))
            }
            _ => {}
        }
        let street = opt(&i.street).and_then(|v| errs.take(text("street", v, 1, 200)));
        let city = opt(&i.city).and_then(|v| errs.take(text("city", v, 1, 100)));
        let postal_code = opt(&i.postal_code).and_then(|v| {
            let ok = match country.as_str() {
                "NO" => v.len() == 4 && v.chars().all(|c| c.is_ascii_digit()),
                "PT" => {
                    v.len() == 8
                        && v.chars().enumerate().all(|(n, c)| {
                            if n == 4 {
                                c == '-'
                            } else {
                                c.is_ascii_digit()
                            }
                        })
                }
                _ => (2..=12).contains(&v.len()),
            };
            if ok {
                Some(v.to_string())
            } else {
                errs.push(FieldError::new(
                    "postal_code",
                    Rule::Format,
                    format!(
                        "postal_code is not a postal code of {country} (NO: 7010, PT: 1000-001)"
                    ),
                ));
                None
            }
        });
        let position = match (i.latitude, i.longitude) {
            (None, None) => None,
            (Some(lat), Some(lon)) => {
                let lat_ok = lat.is_finite() && (-90.0..=90.0).contains(&lat);
                let lon_ok = lon.is_finite() && (-180.0..=180.0).contains(&lon);
                if !lat_ok {
                    errs.push(FieldError::new(
                        "latitude",
                        Rule::Format,
                        "latitude must lie between -90 and 90",
                    ));
                }
                if !lon_ok {
                    errs.push(FieldError::new(
                        "longitude",
                        Rule::Format,
                        "longitude must lie between -180 and 180",
                    ));
                }
                (lat_ok && lon_ok).then_some((lat, lon))
            }
            (Some(_), None) => {
                errs.push(FieldError::new(
                    "longitude",
                    Rule::Required,
                    "give both latitude and longitude, or neither",
                ));
                None
            }
            (None, Some(_)) => {
                errs.push(FieldError::new(
                    "latitude",
                    Rule::Required,
                    "give both latitude and longitude, or neither",
                ));
                None
            }
        };
        match (kind, name, language, preferred_channel) {
            (Some(kind), Some(name), Some(language), Some(preferred_channel))
                if errs.is_empty() =>
            {
                Ok(NewCustomer {
                    kind,
                    name,
                    org_number,
                    nif,
                    email,
                    phone,
                    language,
                    preferred_channel,
                    street,
                    postal_code,
                    city,
                    country,
                    position,
                })
            }
            _ => Err(errs),
        }
    }

    fn search_terms(&self) -> String {
        let mut t = vec![self.name.clone()];
        if let Some(e) = &self.email {
            t.push(e.as_str().to_string());
        }
        if let Some(p) = &self.phone {
            t.extend(phone_terms(p.as_str()));
        }
        t.extend(self.org_number.as_ref().map(|o| o.as_str().to_string()));
        t.extend(self.nif.as_ref().map(|o| o.as_str().to_string()));
        t.extend(self.city.clone());
        normalise_terms(&t.join(" "))
    }
}

fn to_e6(deg: f64) -> i64 {
    (deg * 1_000_000.0).round() as i64
}

fn from_e6(e6: i64) -> f64 {
    e6 as f64 / 1_000_000.0
}

/// Runs of letters and of digits: `AA00AA` → `AA`, `00`, `AA`.
fn runs(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if !cur.is_empty()
            && cur
                .chars()
                .last()
                .is_some_and(|l| l.is_ascii_digit() != c.is_ascii_digit())
        {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `+4791234567` is found by `4791234567`, `91234567` and their prefixes.
fn phone_terms(e164: &str) -> Vec<String> {
    let digits = e164.trim_start_matches('+').to_string();
    let national = ["47", "351", "46", "45", "34"]
        .iter()
        .find_map(|cc| digits.strip_prefix(cc).map(str::to_string));
    std::iter::once(digits).chain(national).collect()
}

/// Lower case, diacritics folded, split on anything but letters and digits: the same on both engines.
pub fn normalise_terms(s: &str) -> String {
    let folded: String = s
        .chars()
        .flat_map(|c| c.to_lowercase())
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            'æ' => 'e',
            c => c,
        })
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: String,
    pub name: String,
    pub role: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Customer {
    pub id: String,
    /// The organisation that owns the record (normally the market entity).
    pub organisation_id: String,
    pub kind: CustomerKind,
    pub name: String,
    pub org_number: Option<String>,
    pub nif: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub language: Language,
    pub preferred_channel: Channel,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Set when the person was erased (pseudonymised) on request.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub erased_at: Option<OffsetDateTime>,
    pub contacts: Vec<Contact>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub version: i64,
}

#[derive(sqlx::FromRow)]
struct CustomerRow {
    id: String,
    organisation_id: String,
    kind: String,
    name: String,
    org_number: Option<String>,
    nif: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    language: String,
    preferred_channel: String,
    street: Option<String>,
    postal_code: Option<String>,
    city: Option<String>,
    country: String,
    latitude_e6: Option<i64>,
    longitude_e6: Option<i64>,
    erased_at: Option<i64>,
    created_at: i64,
    version: i64,
}

const CUSTOMER_COLUMNS: &str =
    "id, organisation_id, kind, name, org_number, nif, email, phone, language, preferred_channel, \
    street, postal_code, city, country, latitude_e6, longitude_e6, erased_at, created_at, version";

impl CustomerRow {
    fn into_customer(self, contacts: Vec<Contact>) -> Customer {
        Customer {
            kind: CustomerKind::parse("kind", &self.kind).unwrap_or(CustomerKind::Person),
            language: Language::parse("language", &self.language).unwrap_or(Language::En),
            preferred_channel: Channel::parse("preferred_channel", &self.preferred_channel)
                .unwrap_or(Channel::Email),
            id: self.id,
            organisation_id: self.organisation_id,
            name: self.name,
            org_number: self.org_number,
            nif: self.nif,
            email: self.email,
            phone: self.phone,
            street: self.street,
            postal_code: self.postal_code,
            city: self.city,
            country: self.country,
            latitude: self.latitude_e6.map(from_e6),
            longitude: self.longitude_e6.map(from_e6),
            erased_at: self.erased_at.map(from_micros),
            contacts,
            created_at: from_micros(self.created_at),
            version: self.version,
        }
    }
}

// ---------------------------------------------------------------- consents

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Consent {
    pub id: String,
    pub purpose: Purpose,
    pub channel: Channel,
    /// Given (`true`) or withdrawn / refused (`false`).
    pub granted: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// Where it was given: `phone call`, `web form`, `workshop counter`, …
    pub source: String,
    /// The wording the customer was shown or told.
    pub wording: String,
    pub recorded_by: Option<String>,
}

/// A consent as recorded by an advisor or a form.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    pub purpose: String,
    pub channel: String,
    pub granted: bool,
    pub source: String,
    pub wording: String,
}

// ---------------------------------------------------------------- vehicles

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Owner {
    pub customer_id: String,
    pub name: String,
    #[schema(value_type = String, format = Date)]
    pub from_date: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub to_date: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OdometerReading {
    pub id: String,
    pub km: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub source: String,
    /// Why a reading is lower than the one before (instrument cluster replaced, typing error, …).
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Vehicle {
    pub id: String,
    pub organisation_id: String,
    pub vin: String,
    /// `valid`, or `mismatch` for a manufacturer that does not use the check digit (a warning).
    pub check_digit: CheckDigit,
    pub brand: Option<String>,
    pub model: Option<String>,
    pub model_year: Option<i64>,
    pub plant: Option<String>,
    pub registration: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub delivery_date: Option<String>,
    /// The warranty terms in force at delivery, e.g. `tesla-eu-2024`.
    pub warranty_version: Option<String>,
    /// Current owner first, then earlier ones.
    pub owners: Vec<Owner>,
    pub odometer: Vec<OdometerReading>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub version: i64,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VehicleInput {
    pub vin: String,
    pub registration: Option<String>,
    /// `YYYY-MM-DD`
    pub delivery_date: Option<String>,
    pub warranty_version: Option<String>,
    /// The customer who owns it now.
    pub owner_customer_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct VehicleRow {
    id: String,
    organisation_id: String,
    vin: String,
    brand: Option<String>,
    model: Option<String>,
    model_year: Option<i64>,
    plant: Option<String>,
    check_digit: String,
    registration: Option<String>,
    delivery_date: Option<String>,
    warranty_version: Option<String>,
    created_at: i64,
    version: i64,
}

const VEHICLE_SELECT: &str = "SELECT v.id, v.organisation_id, v.vin, b.name AS brand, v.model, v.model_year, v.plant, v.check_digit, \
    v.registration, v.delivery_date, v.warranty_version, v.created_at, v.version FROM vehicles v LEFT JOIN brands b ON b.id = v.brand_id";

/// What the WMI table says about a VIN.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct VinDecode {
    pub wmi: String,
    pub manufacturer: Option<String>,
    pub brand: Option<String>,
    pub model: Option<String>,
    pub model_year: Option<i32>,
    pub plant: Option<String>,
    pub check_digit: Option<CheckDigit>,
}

pub(crate) fn parse_date(field: &str, s: &str) -> Result<Date, FieldError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &fmt).map_err(|_| {
        FieldError::new(
            field,
            Rule::Format,
            format!("{field} must be a date like 2024-05-31"),
        )
    })
}

pub(crate) fn registration(field: &str, s: &str) -> Result<String, FieldError> {
    let v: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase();
    if (2..=10).contains(&v.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-'))
    {
        Ok(v)
    } else {
        Err(FieldError::new(
            field,
            Rule::Format,
            format!("{field} must be a registration plate like EL 12345 or AA-00-AA"),
        ))
    }
}

// ---------------------------------------------------------------- timeline

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// `note`, `call`, `email`, `message`, `customer-created`, `vehicle-added`, `consent`, `odometer`, `ownership`, …
    pub kind: String,
    pub summary: String,
    pub body: Option<String>,
    pub customer_id: Option<String>,
    pub vehicle_id: Option<String>,
    pub actor: Option<String>,
}

/// Kinds of entry a person may write by hand.
pub const MANUAL_KINDS: &[&str] = &["note", "call", "email", "message"];

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineInput {
    /// `note`, `call`, `email` or `message`.
    pub kind: String,
    pub summary: String,
    pub body: Option<String>,
    pub vehicle_id: Option<String>,
}

pub(crate) struct NewEntry<'a> {
    pub organisation_id: &'a str,
    pub customer_id: Option<&'a str>,
    pub vehicle_id: Option<&'a str>,
    pub kind: &'a str,
    pub summary: String,
    pub body: Option<String>,
    pub actor: Option<&'a str>,
}

pub(crate) async fn add_entry(
    conn: &mut sqlx::AnyConnection,
    e: NewEntry<'_>,
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO timeline_events (id, organisation_id, customer_id, vehicle_id, at, kind, summary, body, actor_user_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(e.organisation_id)
    .bind(e.customer_id.map(str::to_string))
    .bind(e.vehicle_id.map(str::to_string))
    .bind(micros(now))
    .bind(e.kind)
    .bind(e.summary)
    .bind(e.body)
    .bind(e.actor.map(str::to_string))
    .execute(conn)
    .await?;
    Ok(id)
}

// ---------------------------------------------------------------- search

/// One search hit: a customer or a vehicle.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    /// `customer` or `vehicle`.
    pub kind: String,
    pub id: String,
    /// What to show: the customer's name, or the VIN with plate and model.
    pub label: String,
    /// A second line: phone and e-mail, or the owner's name.
    pub detail: String,
}

async fn index(
    conn: &mut sqlx::AnyConnection,
    engine: Engine,
    kind: &str,
    id: &str,
    org: &str,
    terms: &str,
) -> Result<(), StoreError> {
    match engine {
        // FTS5 rows are found through crm_search_keys: a DELETE by an UNINDEXED column would scan.
        Engine::Sqlite => {
            let old: Option<i64> = sqlx::query_scalar(
                "SELECT fts_rowid FROM crm_search_keys WHERE entity_kind = $1 AND entity_id = $2",
            )
            .bind(kind)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(rowid) = old {
                sqlx::query("DELETE FROM crm_search WHERE rowid = $1")
                    .bind(rowid)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query(
                    "DELETE FROM crm_search_keys WHERE entity_kind = $1 AND entity_id = $2",
                )
                .bind(kind)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            }
            if terms.is_empty() {
                return Ok(());
            }
            sqlx::query("INSERT INTO crm_search (entity_kind, entity_id, organisation_id, terms) VALUES ($1, $2, $3, $4)")
                .bind(kind)
                .bind(id)
                .bind(org)
                .bind(terms)
                .execute(&mut *conn)
                .await?;
            let rowid: i64 = sqlx::query_scalar("SELECT last_insert_rowid()")
                .fetch_one(&mut *conn)
                .await?;
            sqlx::query("INSERT INTO crm_search_keys (entity_kind, entity_id, fts_rowid) VALUES ($1, $2, $3)")
                .bind(kind)
                .bind(id)
                .bind(rowid)
                .execute(&mut *conn)
                .await?;
        }
        Engine::Postgres => {
            sqlx::query("DELETE FROM crm_search WHERE entity_kind = $1 AND entity_id = $2")
                .bind(kind)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            if terms.is_empty() {
                return Ok(());
            }
            sqlx::query("INSERT INTO crm_search (entity_kind, entity_id, organisation_id, terms) VALUES ($1, $2, $3, $4)")
                .bind(kind)
                .bind(id)
                .bind(org)
                .bind(terms)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// The engine's own full-text query for "every word, as a prefix": FTS5 `"a"* AND "b"*`, or
/// PostgreSQL `a:* & b:*`. Words are normalised to letters and digits, so nothing can inject syntax.
fn match_expression(engine: Engine, q: &str) -> Option<String> {
    // Digits typed in groups ("912 34 567", "0047 91234567") are one number.
    let mut words: Vec<String> = Vec::new();
    for w in normalise_terms(q).split(' ').filter(|w| !w.is_empty()) {
        let numeric = w.chars().all(|c| c.is_ascii_digit());
        match words.last_mut() {
            Some(last) if numeric && last.chars().all(|c| c.is_ascii_digit()) => last.push_str(w),
            _ => words.push(w.to_string()),
        }
    }
    let words: Vec<String> = words
        .into_iter()
        .map(|w| {
            w.strip_prefix("00")
                .filter(|r| r.len() > 6 && w.chars().all(|c| c.is_ascii_digit()))
                .map(str::to_string)
                .unwrap_or(w)
        })
        .take(8)
        .collect();
    if words.is_empty() {
        return None;
    }
    Some(match engine {
        Engine::Sqlite => words
            .iter()
            .map(|w| format!("\"{w}\"*"))
            .collect::<Vec<_>>()
            .join(" AND "),
        Engine::Postgres => words
            .iter()
            .map(|w| format!("{w}:*"))
            .collect::<Vec<_>>()
            .join(" & "),
    })
}

// ---------------------------------------------------------------- store

impl Store {
    /// What the WMI table knows about a VIN, after checking its structure.
    pub async fn decode_vin(&self, input: &str, latest_year: i32) -> Result<VinDecode, StoreError> {
        let (vin, check) = self.parse_vin("vin", input).await?;
        self.decode_parsed(&vin, Some(check), latest_year).await
    }

    async fn wmi_enforces(&self, wmi: &str) -> Result<bool, StoreError> {
        let flag: Option<i64> =
            sqlx::query_scalar("SELECT check_digit_required FROM vin_wmis WHERE wmi = $1")
                .bind(wmi)
                .fetch_optional(&self.pool)
                .await?;
        // An unknown manufacturer may not use the check digit: a mismatch is then only a warning.
        Ok(flag.is_some_and(|f| f != 0))
    }

    pub(crate) async fn parse_vin(
        &self,
        field: &str,
        input: &str,
    ) -> Result<(Vin, CheckDigit), StoreError> {
        let normalised: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let wmi: String = normalised.chars().take(3).collect();
        let enforce = self.wmi_enforces(&wmi).await?;
        Vin::parse(field, input, |_| enforce).map_err(|e| ValidationErrors::from(e).into())
    }

    pub(crate) async fn decode_parsed(
        &self,
        vin: &Vin,
        check: Option<CheckDigit>,
        latest_year: i32,
    ) -> Result<VinDecode, StoreError> {
        let wmi: Option<(String, Option<String>, String)> = sqlx::query_as(
            "SELECT w.manufacturer, b.name, w.brand_code FROM vin_wmis w LEFT JOIN brands b ON b.code = w.brand_code WHERE w.wmi = $1",
        )
        .bind(vin.wmi())
        .fetch_optional(&self.pool)
        .await?;
        let mut out = VinDecode {
            wmi: vin.wmi().to_string(),
            model_year: vin.model_year(latest_year),
            check_digit: check,
            ..Default::default()
        };
        if let Some((manufacturer, brand, brand_code)) = wmi {
            let models: Vec<(String, String)> =
                sqlx::query_as("SELECT vds_prefix, model FROM vin_models WHERE wmi = $1")
                    .bind(vin.wmi())
                    .fetch_all(&self.pool)
                    .await?;
            let vds = &vin.as_str()[3..8];
            out.model = models
                .into_iter()
                .filter(|(p, _)| vds.starts_with(p.as_str()))
                .max_by_key(|(p, _)| p.len())
                .map(|(_, m)| m);
            out.plant = sqlx::query_scalar(
                "SELECT plant FROM vin_plants WHERE brand_code = $1 AND code = $2",
            )
            .bind(&brand_code)
            .bind(vin.plant_code().to_string())
            .fetch_optional(&self.pool)
            .await?;
            out.manufacturer = Some(manufacturer);
            out.brand = brand;
        }
        Ok(out)
    }

    /// Where the caller's new customers and vehicles are kept: the market entity above (or at)
    /// their first membership that may write CRM records, else that organisation itself.
    pub async fn crm_home(&self, scope: &Scope) -> Result<String, StoreError> {
        let ms: Vec<(String, String)> = sqlx::query_as("SELECT organisation_id, role FROM memberships WHERE user_id = $1 ORDER BY granted_at, organisation_id")
            .bind(scope.user_id())
            .fetch_all(&self.pool)
            .await?;
        let start = ms
            .into_iter()
            .find(|(_, r)| {
                aftersales_domain::org::Role::parse("role", r)
                    .is_ok_and(|r| r.grants(Permission::CrmWrite))
            })
            .map(|(o, _)| o)
            .ok_or_else(|| {
                StoreError::Forbidden(format!(
                    "your roles do not allow {}",
                    Permission::CrmWrite.describe()
                ))
            })?;
        let market: Option<String> = sqlx::query_scalar(
            "WITH RECURSIVE up(id, parent_id, kind, depth) AS ( \
                SELECT id, parent_id, kind, 0 FROM organisations WHERE id = $1 \
                UNION ALL \
                SELECT p.id, p.parent_id, p.kind, up.depth + 1 FROM organisations p JOIN up ON p.id = up.parent_id \
             ) SELECT id FROM up WHERE kind = $2 ORDER BY depth LIMIT 1",
        )
        .bind(&start)
        .bind(OrgKind::MarketEntity.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(market.unwrap_or(start))
    }

    async fn owner_for_new(
        &self,
        scope: &Scope,
        owner: Option<&str>,
    ) -> Result<String, StoreError> {
        let owner = match owner.map(str::trim).filter(|o| !o.is_empty()) {
            Some(o) => o.to_string(),
            None => self.crm_home(scope).await?,
        };
        if !scope.permits_record(&owner, Permission::CrmRead) {
            return Err(ValidationErrors::single(
                "organisation_id",
                Rule::Unknown,
                "organisation_id names no organisation you can see",
            )
            .into());
        }
        scope.require_record(&owner, Permission::CrmWrite)?;
        Ok(owner)
    }

    async fn contacts_of(&self, customer_id: &str) -> Result<Vec<Contact>, StoreError> {
        type Row = (
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> =
            sqlx::query_as("SELECT id, name, role, email, phone FROM customer_contacts WHERE customer_id = $1 ORDER BY name")
                .bind(customer_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, role, email, phone)| Contact {
                id,
                name,
                role,
                email,
                phone,
            })
            .collect())
    }

    pub async fn create_customer(
        &self,
        scope: &Scope,
        owner: Option<&str>,
        new: &NewCustomer,
        now: OffsetDateTime,
    ) -> Result<Customer, StoreError> {
        let owner = self.owner_for_new(scope, owner).await?;
        let mut tx = self.pool.begin().await?;
        let id = insert_customer(&mut tx, self.engine(), &owner, new, now).await?;
        add_entry(
            &mut tx,
            NewEntry {
                organisation_id: &owner,
                customer_id: Some(&id),
                vehicle_id: None,
                kind: "customer-created",
                summary: format!(
                    "{} registered",
                    if new.kind == CustomerKind::Company {
                        "Company"
                    } else {
                        "Customer"
                    }
                ),
                body: None,
                actor: Some(scope.user_id()),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.get_customer(scope, &id).await
    }

    pub async fn get_customer(&self, scope: &Scope, id: &str) -> Result<Customer, StoreError> {
        let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1");
        let row = sqlx::query_as::<_, CustomerRow>(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        if !scope.permits_record(&row.organisation_id, Permission::CrmRead) {
            return Err(StoreError::NotFound);
        }
        let contacts = self.contacts_of(&row.id).await?;
        Ok(row.into_customer(contacts))
    }

    /// Customers the caller may see, by name.
    pub async fn list_customers(
        &self,
        scope: &Scope,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<Page<Customer>, StoreError> {
        let owners = scope.record_owners_with(Permission::CrmRead);
        let n = owners.len();
        let after: Option<(String, String)> = match cursor {
            Some(c) => {
                sqlx::query_as("SELECT name, id FROM customers WHERE id = $1")
                    .bind(c)
                    .fetch_optional(&self.pool)
                    .await?
            }
            None => None,
        };
        let (after_name, after_id) = after.unwrap_or_default();
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE organisation_id IN ({}) \
             AND (name > ${a} OR (name = ${a} AND id > ${b})) ORDER BY name, id LIMIT ${l}",
            placeholders(1, n),
            a = n + 1,
            b = n + 2,
            l = n + 3
        );
        let mut q = sqlx::query_as::<_, CustomerRow>(&sql);
        for o in &owners {
            q = q.bind(o);
        }
        let rows = q
            .bind(after_name)
            .bind(after_id)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let mut items: Vec<Customer> = rows
            .into_iter()
            .map(|r| r.into_customer(Vec::new()))
            .collect();
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|c| c.id.clone())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    pub async fn update_customer(
        &self,
        scope: &Scope,
        id: &str,
        new: &NewCustomer,
        expected_version: i64,
        now: OffsetDateTime,
    ) -> Result<Customer, StoreError> {
        let current = self.get_customer(scope, id).await?;
        scope.require_record(&current.organisation_id, Permission::CrmWrite)?;
        if current.erased_at.is_some() {
            return Err(ValidationErrors::single(
                "id",
                Rule::NotAllowed,
                "this customer was erased on request and cannot be changed",
            )
            .into());
        }
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE customers SET kind = $1, name = $2, org_number = $3, nif = $4, email = $5, phone = $6, language = $7, \
             preferred_channel = $8, street = $9, postal_code = $10, city = $11, country = $12, latitude_e6 = $13, longitude_e6 = $14, \
             version = version + 1 WHERE id = $15 AND version = $16",
        )
        .bind(new.kind.as_str())
        .bind(&new.name)
        .bind(new.org_number.as_ref().map(|o| o.as_str().to_string()))
        .bind(new.nif.as_ref().map(|o| o.as_str().to_string()))
        .bind(new.email.as_ref().map(|o| o.as_str().to_string()))
        .bind(new.phone.as_ref().map(|o| o.as_str().to_string()))
        .bind(new.language.code())
        .bind(new.preferred_channel.as_str())
        .bind(new.street.clone())
        .bind(new.postal_code.clone())
        .bind(new.city.clone())
        .bind(&new.country)
        .bind(new.position.map(|p| to_e6(p.0)))
        .bind(new.position.map(|p| to_e6(p.1)))
        .bind(id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                current: current.version,
            });
        }
        index(
            &mut tx,
            self.engine(),
            "customer",
            id,
            &current.organisation_id,
            &new.search_terms(),
        )
        .await?;
        add_entry(
            &mut tx,
            NewEntry {
                organisation_id: &current.organisation_id,
                customer_id: Some(id),
                vehicle_id: None,
                kind: "customer-updated",
                summary: "Customer details changed".into(),
                body: None,
                actor: Some(scope.user_id()),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.get_customer(scope, id).await
    }

    pub async fn add_contact(
        &self,
        scope: &Scope,
        customer_id: &str,
        name: &str,
        role: Option<&str>,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Customer, StoreError> {
        let c = self.get_customer(scope, customer_id).await?;
        scope.require_record(&c.organisation_id, Permission::CrmWrite)?;
        let mut errs = ValidationErrors::default();
        let name = errs.take(text("name", name, 1, 200));
        let role = role
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .and_then(|r| errs.take(text("role", r, 1, 100)));
        let email = email
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .and_then(|r| errs.take(Email::parse("email", r)));
        let phone = phone
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .and_then(|r| {
                errs.take(Phone::parse(
                    "phone",
                    r,
                    calling_code(&c.country).unwrap_or(""),
                ))
            });
        errs.clone().into_result()?;
        sqlx::query("INSERT INTO customer_contacts (id, customer_id, name, role, email, phone) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(new_id())
            .bind(customer_id)
            .bind(name.unwrap_or_default())
            .bind(role)
            .bind(email.map(|e| e.as_str().to_string()))
            .bind(phone.map(|p| p.as_str().to_string()))
            .execute(&self.pool)
            .await?;
        self.get_customer(scope, customer_id).await
    }

    // ------------------------------------------------------------ consents

    pub async fn record_consent(
        &self,
        scope: &Scope,
        customer_id: &str,
        input: &ConsentInput,
        now: OffsetDateTime,
    ) -> Result<Consent, StoreError> {
        let c = self.get_customer(scope, customer_id).await?;
        scope.require_record(&c.organisation_id, Permission::CrmWrite)?;
        let mut errs = ValidationErrors::default();
        let purpose = errs.take(Purpose::parse("purpose", &input.purpose));
        let channel = errs.take(Channel::parse("channel", &input.channel));
        let source = errs.take(text("source", &input.source, 2, 200));
        let wording = errs.take(text_block("wording", &input.wording, 5, 2000));
        errs.clone().into_result()?;
        let (Some(purpose), Some(channel), Some(source), Some(wording)) =
            (purpose, channel, source, wording)
        else {
            return Err(errs.into());
        };
        let id = new_id();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO consents (id, customer_id, purpose, channel, granted, at, source, wording, recorded_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(customer_id)
        .bind(purpose.as_str())
        .bind(channel.as_str())
        .bind(i64::from(input.granted))
        .bind(micros(now))
        .bind(&source)
        .bind(&wording)
        .bind(scope.user_id())
        .execute(&mut *tx)
        .await?;
        add_entry(
            &mut tx,
            NewEntry {
                organisation_id: &c.organisation_id,
                customer_id: Some(customer_id),
                vehicle_id: None,
                kind: "consent",
                summary: format!(
                    "{} consent for {} by {}: {}",
                    purpose.as_str(),
                    channel.as_str(),
                    source,
                    if input.granted { "given" } else { "withdrawn" }
                ),
                body: None,
                actor: Some(scope.user_id()),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Consent {
            id,
            purpose,
            channel,
            granted: input.granted,
            at: now,
            source,
            wording,
            recorded_by: Some(scope.user_id().to_string()),
        })
    }

    /// The whole consent history of a customer, newest first: proof of what was given, when and how.
    pub async fn consents(
        &self,
        scope: &Scope,
        customer_id: &str,
    ) -> Result<Vec<Consent>, StoreError> {
        self.get_customer(scope, customer_id).await?;
        self.consent_rows(customer_id).await
    }

    async fn consent_rows(&self, customer_id: &str) -> Result<Vec<Consent>, StoreError> {
        type Row = (
            String,
            String,
            String,
            i64,
            i64,
            String,
            String,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, purpose, channel, granted, at, source, wording, recorded_by FROM consents WHERE customer_id = $1 ORDER BY at DESC, id DESC",
        )
        .bind(customer_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, p, c, g, at, source, wording, by)| {
                Some(Consent {
                    id,
                    purpose: Purpose::parse("purpose", &p).ok()?,
                    channel: Channel::parse("channel", &c).ok()?,
                    granted: g != 0,
                    at: from_micros(at),
                    source,
                    wording,
                    recorded_by: by,
                })
            })
            .collect())
    }

    /// Whether a message of `purpose` may go to the customer through `channel`. Service messages
    /// need no consent unless the customer refused that channel; marketing needs a consent given
    /// for that channel and not withdrawn since. Erased customers get nothing.
    pub async fn may_contact(
        &self,
        scope: &Scope,
        customer_id: &str,
        purpose: Purpose,
        channel: Channel,
    ) -> Result<bool, StoreError> {
        let c = self.get_customer(scope, customer_id).await?;
        if c.erased_at.is_some() {
            return Ok(false);
        }
        let has_address = match channel {
            Channel::Email => c.email.is_some(),
            Channel::Sms | Channel::Phone => c.phone.is_some(),
        };
        let latest = self
            .consent_rows(customer_id)
            .await?
            .into_iter()
            .find(|x| x.purpose == purpose && x.channel == channel)
            .map(|x| x.granted);
        Ok(has_address
            && match purpose {
                Purpose::Service => latest != Some(false),
                Purpose::Marketing => latest == Some(true),
            })
    }
}

pub(crate) async fn insert_customer(
    conn: &mut sqlx::AnyConnection,
    engine: Engine,
    owner: &str,
    new: &NewCustomer,
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO customers (id, organisation_id, kind, name, org_number, nif, email, phone, language, preferred_channel, \
         street, postal_code, city, country, latitude_e6, longitude_e6, erased_at, created_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, NULL, $17, 1)",
    )
    .bind(&id)
    .bind(owner)
    .bind(new.kind.as_str())
    .bind(&new.name)
    .bind(new.org_number.as_ref().map(|o| o.as_str().to_string()))
    .bind(new.nif.as_ref().map(|o| o.as_str().to_string()))
    .bind(new.email.as_ref().map(|o| o.as_str().to_string()))
    .bind(new.phone.as_ref().map(|o| o.as_str().to_string()))
    .bind(new.language.code())
    .bind(new.preferred_channel.as_str())
    .bind(new.street.clone())
    .bind(new.postal_code.clone())
    .bind(new.city.clone())
    .bind(&new.country)
    .bind(new.position.map(|p| to_e6(p.0)))
    .bind(new.position.map(|p| to_e6(p.1)))
    .bind(micros(now))
    .execute(&mut *conn)
    .await?;
    index(conn, engine, "customer", &id, owner, &new.search_terms()).await?;
    Ok(id)
}

// ---------------------------------------------------------------- vehicles, timeline, search, GDPR

impl Store {
    fn vehicle_terms(
        vin: &str,
        registration: Option<&str>,
        model: Option<&str>,
        owner: Option<&str>,
    ) -> String {
        let mut t = vec![vin.to_string(), vin[11..].to_string()];
        if let Some(r) = registration {
            // "EL12345" is also found as typed from the plate, "EL 123".
            t.push(r.to_string());
            t.extend(runs(r));
        }
        t.extend(model.map(str::to_string));
        t.extend(owner.map(str::to_string));
        normalise_terms(&t.join(" "))
    }

    async fn vehicle_from_row(&self, row: VehicleRow) -> Result<Vehicle, StoreError> {
        type OwnerRow = (String, String, String, Option<String>);
        let owners: Vec<OwnerRow> = sqlx::query_as(
            "SELECT o.customer_id, c.name, o.from_date, o.to_date FROM vehicle_ownerships o JOIN customers c ON c.id = o.customer_id \
             WHERE o.vehicle_id = $1 ORDER BY o.from_date DESC, o.id DESC",
        )
        .bind(&row.id)
        .fetch_all(&self.pool)
        .await?;
        type OdoRow = (String, i64, i64, String, Option<String>);
        let odo: Vec<OdoRow> = sqlx::query_as(
            "SELECT id, km, at, source, reason FROM odometer_readings WHERE vehicle_id = $1 ORDER BY at DESC, id DESC",
        )
        .bind(&row.id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Vehicle {
            check_digit: if row.check_digit == "valid" {
                CheckDigit::Valid
            } else {
                CheckDigit::Mismatch
            },
            id: row.id,
            organisation_id: row.organisation_id,
            vin: row.vin,
            brand: row.brand,
            model: row.model,
            model_year: row.model_year,
            plant: row.plant,
            registration: row.registration,
            delivery_date: row.delivery_date,
            warranty_version: row.warranty_version,
            owners: owners
                .into_iter()
                .map(|(customer_id, name, from_date, to_date)| Owner {
                    customer_id,
                    name,
                    from_date,
                    to_date,
                })
                .collect(),
            odometer: odo
                .into_iter()
                .map(|(id, km, at, source, reason)| OdometerReading {
                    id,
                    km,
                    at: from_micros(at),
                    source,
                    reason,
                })
                .collect(),
            created_at: from_micros(row.created_at),
            version: row.version,
        })
    }

    /// Registers a vehicle by VIN (validated and decoded), optionally with its current owner.
    pub async fn create_vehicle(
        &self,
        scope: &Scope,
        owner_org: Option<&str>,
        input: &VehicleInput,
        now: OffsetDateTime,
    ) -> Result<Vehicle, StoreError> {
        let mut errs = ValidationErrors::default();
        let vin = match self.parse_vin("vin", &input.vin).await {
            Ok(v) => Some(v),
            Err(StoreError::Invalid(e)) => {
                errs.0.extend(e.0);
                None
            }
            Err(e) => return Err(e),
        };
        let registration =
            opt(&input.registration).and_then(|r| errs.take(registration("registration", r)));
        let delivery =
            opt(&input.delivery_date).and_then(|d| errs.take(parse_date("delivery_date", d)));
        let warranty = opt(&input.warranty_version)
            .and_then(|w| errs.take(text("warranty_version", w, 1, 60)));
        let owner_customer = match opt(&input.owner_customer_id) {
            Some(id) => match self.get_customer(scope, id).await {
                Ok(c) => Some(c),
                Err(StoreError::NotFound) => {
                    errs.push(FieldError::new(
                        "owner_customer_id",
                        Rule::Unknown,
                        "owner_customer_id names no customer you can see",
                    ));
                    None
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        errs.clone().into_result()?;
        let Some((vin, check)) = vin else {
            return Err(errs.into());
        };
        let owner = self.owner_for_new(scope, owner_org).await?;
        let decoded = self
            .decode_parsed(&vin, Some(check), now.year() + 1)
            .await?;
        let brand_id: Option<String> = sqlx::query_scalar(
            "SELECT b.id FROM vin_wmis w JOIN brands b ON b.code = w.brand_code WHERE w.wmi = $1",
        )
        .bind(vin.wmi())
        .fetch_optional(&self.pool)
        .await?;
        let mut tx = self.pool.begin().await?;
        let record = VehicleRecord {
            owner_org: &owner,
            vin: &vin,
            check,
            decoded: &decoded,
            brand_id,
            registration,
            delivery,
            warranty,
            owner_customer: owner_customer
                .as_ref()
                .map(|c| (c.id.as_str(), c.name.as_str())),
            actor: Some(scope.user_id()),
        };
        let id = insert_vehicle(&mut tx, self.engine(), &record, now).await?;
        tx.commit().await?;
        self.get_vehicle(scope, &id).await
    }

    pub async fn get_vehicle(&self, scope: &Scope, id: &str) -> Result<Vehicle, StoreError> {
        let sql = format!("{VEHICLE_SELECT} WHERE v.id = $1");
        let row = sqlx::query_as::<_, VehicleRow>(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        if !scope.permits_record(&row.organisation_id, Permission::CrmRead) {
            return Err(StoreError::NotFound);
        }
        self.vehicle_from_row(row).await
    }

    /// Vehicles a customer owns now or owned before, current ones first.
    pub async fn vehicles_of(
        &self,
        scope: &Scope,
        customer_id: &str,
    ) -> Result<Vec<Vehicle>, StoreError> {
        self.get_customer(scope, customer_id).await?;
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT vehicle_id FROM vehicle_ownerships WHERE customer_id = $1 GROUP BY vehicle_id ORDER BY MIN(CASE WHEN to_date IS NULL THEN 0 ELSE 1 END), MAX(from_date) DESC",
        )
        .bind(customer_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for (id,) in ids {
            match self.get_vehicle(scope, &id).await {
                Ok(v) => out.push(v),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Hands the vehicle to a new owner from `date`; the previous ownership ends the day before.
    pub async fn transfer_vehicle(
        &self,
        scope: &Scope,
        vehicle_id: &str,
        customer_id: &str,
        date: &str,
        now: OffsetDateTime,
    ) -> Result<Vehicle, StoreError> {
        let v = self.get_vehicle(scope, vehicle_id).await?;
        scope.require_record(&v.organisation_id, Permission::CrmWrite)?;
        let date = parse_date("from_date", date).map_err(ValidationErrors::from)?;
        let customer = self
            .get_customer(scope, customer_id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ValidationErrors::single(
                    "customer_id",
                    Rule::Unknown,
                    "customer_id names no customer you can see",
                )
                .into(),
                e => e,
            })?;
        if let Some(current) = v.owners.iter().find(|o| o.to_date.is_none()) {
            if current.customer_id == customer.id {
                return Err(ValidationErrors::single(
                    "customer_id",
                    Rule::NotAllowed,
                    "this customer owns the vehicle already",
                )
                .into());
            }
            if date.to_string() <= current.from_date {
                return Err(ValidationErrors::single(
                    "from_date",
                    Rule::NotAllowed,
                    format!(
                        "from_date must be after the current owner's start, {}",
                        current.from_date
                    ),
                )
                .into());
            }
        }
        let end = date.previous_day().unwrap_or(date).to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE vehicle_ownerships SET to_date = $1 WHERE vehicle_id = $2 AND to_date IS NULL",
        )
        .bind(&end)
        .bind(vehicle_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO vehicle_ownerships (id, vehicle_id, customer_id, from_date, to_date) VALUES ($1, $2, $3, $4, NULL)")
            .bind(new_id())
            .bind(vehicle_id)
            .bind(&customer.id)
            .bind(date.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE vehicles SET version = version + 1 WHERE id = $1")
            .bind(vehicle_id)
            .execute(&mut *tx)
            .await?;
        let terms = Self::vehicle_terms(
            &v.vin,
            v.registration.as_deref(),
            v.model.as_deref(),
            Some(&customer.name),
        );
        index(
            &mut tx,
            self.engine(),
            "vehicle",
            vehicle_id,
            &v.organisation_id,
            &terms,
        )
        .await?;
        add_entry(
            &mut tx,
            NewEntry {
                organisation_id: &v.organisation_id,
                customer_id: Some(&customer.id),
                vehicle_id: Some(vehicle_id),
                kind: "ownership",
                summary: format!("New owner of {} from {}", v.vin, date),
                body: None,
                actor: Some(scope.user_id()),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.get_vehicle(scope, vehicle_id).await
    }

    /// Records an odometer reading. A reading below the latest one is refused unless a reason
    /// (instrument cluster replaced, a typing error corrected, …) is recorded with it.
    pub async fn record_odometer(
        &self,
        scope: &Scope,
        vehicle_id: &str,
        km: i64,
        source: &str,
        reason: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Vehicle, StoreError> {
        let v = self.get_vehicle(scope, vehicle_id).await?;
        scope.require_record(&v.organisation_id, Permission::CrmWrite)?;
        let mut errs = ValidationErrors::default();
        if !(0..=2_000_000).contains(&km) {
            errs.push(FieldError::new(
                "km",
                Rule::Format,
                "km must lie between 0 and 2 000 000",
            ));
        }
        let source = errs.take(text("source", source, 2, 100));
        let reason = reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .and_then(|r| errs.take(text_block("reason", r, 5, 500)));
        if let Some(last) = v.odometer.first() {
            if km < last.km && reason.is_none() && errs.is_empty() {
                errs.push(FieldError::new(
                    "reason",
                    Rule::Required,
                    format!("{km} km is below the last reading ({} km): record why, or correct the number", last.km),
                ));
            }
        }
        errs.clone().into_result()?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO odometer_readings (id, vehicle_id, at, km, source, reason, recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(new_id())
            .bind(vehicle_id)
            .bind(micros(now))
            .bind(km)
            .bind(source.unwrap_or_default())
            .bind(reason.clone())
            .bind(scope.user_id())
            .execute(&mut *tx)
            .await?;
        add_entry(
            &mut tx,
            NewEntry {
                organisation_id: &v.organisation_id,
                customer_id: v
                    .owners
                    .iter()
                    .find(|o| o.to_date.is_none())
                    .map(|o| o.customer_id.as_str()),
                vehicle_id: Some(vehicle_id),
                kind: "odometer",
                summary: format!("Odometer {km} km"),
                body: reason,
                actor: Some(scope.user_id()),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.get_vehicle(scope, vehicle_id).await
    }

    // ------------------------------------------------------------ timeline

    /// Logs a call, e-mail, message or note on a customer (and optionally one of their vehicles).
    pub async fn add_timeline_entry(
        &self,
        scope: &Scope,
        customer_id: &str,
        input: &TimelineInput,
        now: OffsetDateTime,
    ) -> Result<TimelineEntry, StoreError> {
        let c = self.get_customer(scope, customer_id).await?;
        scope.require_record(&c.organisation_id, Permission::CrmWrite)?;
        let mut errs = ValidationErrors::default();
        if !MANUAL_KINDS.contains(&input.kind.as_str()) {
            errs.push(FieldError::new(
                "kind",
                Rule::OneOf,
                format!("kind must be one of {}", MANUAL_KINDS.join(", ")),
            ));
        }
        let summary = errs.take(text("summary", &input.summary, 2, 200));
        let body = opt(&input.body).and_then(|b| errs.take(text_block("body", b, 1, 10_000)));
        if let Some(vid) = opt(&input.vehicle_id) {
            match self.get_vehicle(scope, vid).await {
                Ok(_) => {}
                Err(StoreError::NotFound) => errs.push(FieldError::new(
                    "vehicle_id",
                    Rule::Unknown,
                    "vehicle_id names no vehicle you can see",
                )),
                Err(e) => return Err(e),
            }
        }
        errs.clone().into_result()?;
        let mut conn = self.pool.acquire().await?;
        let id = add_entry(
            &mut conn,
            NewEntry {
                organisation_id: &c.organisation_id,
                customer_id: Some(customer_id),
                vehicle_id: opt(&input.vehicle_id),
                kind: &input.kind,
                summary: summary.clone().unwrap_or_default(),
                body: body.clone(),
                actor: Some(scope.user_id()),
            },
            now,
        )
        .await?;
        Ok(TimelineEntry {
            id,
            at: now,
            kind: input.kind.clone(),
            summary: summary.unwrap_or_default(),
            body,
            customer_id: Some(customer_id.to_string()),
            vehicle_id: opt(&input.vehicle_id).map(str::to_string),
            actor: None,
        })
    }

    async fn timeline_where(
        &self,
        column: &str,
        id: &str,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        type Row = (
            String,
            i64,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let sql = format!(
            "SELECT t.id, t.at, t.kind, t.summary, t.body, t.customer_id, t.vehicle_id, u.display_name FROM timeline_events t \
             LEFT JOIN users u ON u.id = t.actor_user_id WHERE t.{column} = $1 ORDER BY t.at DESC, t.id DESC LIMIT 5000"
        );
        let rows: Vec<Row> = sqlx::query_as(&sql).bind(id).fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, at, kind, summary, body, customer_id, vehicle_id, actor)| TimelineEntry {
                    id,
                    at: from_micros(at),
                    kind,
                    summary,
                    body,
                    customer_id,
                    vehicle_id,
                    actor,
                },
            )
            .collect())
    }

    /// Everything that happened with a customer, newest first.
    pub async fn customer_timeline(
        &self,
        scope: &Scope,
        customer_id: &str,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        self.get_customer(scope, customer_id).await?;
        self.timeline_where("customer_id", customer_id).await
    }

    /// Everything that happened with a vehicle, across its owners, newest first.
    pub async fn vehicle_timeline(
        &self,
        scope: &Scope,
        vehicle_id: &str,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        self.get_vehicle(scope, vehicle_id).await?;
        self.timeline_where("vehicle_id", vehicle_id).await
    }

    // ------------------------------------------------------------ search

    /// Customers and vehicles matching every word of `q` as a prefix: names, phone numbers (with or
    /// without country code), e-mail, VIN (whole or last six), plate, organisation number, NIF.
    pub async fn search_crm(
        &self,
        scope: &Scope,
        q: &str,
        limit: i64,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let Some(expr) = match_expression(self.engine(), q) else {
            return Ok(Vec::new());
        };
        let owners = scope.record_owners_with(Permission::CrmRead);
        let n = owners.len();
        let matcher = match self.engine() {
            Engine::Sqlite => "crm_search MATCH $1".to_string(),
            Engine::Postgres => "tsv @@ to_tsquery('simple', $1)".to_string(),
        };
        let sql = format!(
            "SELECT entity_kind, entity_id FROM crm_search WHERE {matcher} AND organisation_id IN ({}) LIMIT ${}",
            placeholders(2, n),
            n + 2
        );
        let mut query = sqlx::query_as::<_, (String, String)>(&sql).bind(&expr);
        for o in &owners {
            query = query.bind(o);
        }
        let rows = query.bind(limit.clamp(1, 50)).fetch_all(&self.pool).await?;
        let mut hits = Vec::new();
        for (kind, id) in rows {
            if kind == "customer" {
                if let Ok(c) = self.get_customer(scope, &id).await {
                    let detail = [c.phone.clone(), c.email.clone(), c.city.clone()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" · ");
                    hits.push(SearchHit {
                        kind,
                        id,
                        label: c.name,
                        detail,
                    });
                }
            } else if let Ok(v) = self.get_vehicle(scope, &id).await {
                let label = [v.registration.clone(), v.model.clone(), Some(v.vin.clone())]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · ");
                let detail = v
                    .owners
                    .iter()
                    .find(|o| o.to_date.is_none())
                    .map(|o| o.name.clone())
                    .unwrap_or_default();
                hits.push(SearchHit {
                    kind,
                    id,
                    label,
                    detail,
                });
            }
        }
        hits.sort_by(|a, b| a.kind.cmp(&b.kind).then(a.label.cmp(&b.label)));
        Ok(hits)
    }

    // ------------------------------------------------------------ GDPR

    /// Everything stored about a customer, machine-readable (GDPR art. 15 and 20).
    pub async fn export_customer(
        &self,
        scope: &Scope,
        customer_id: &str,
        now: OffsetDateTime,
    ) -> Result<serde_json::Value, StoreError> {
        let customer = self.get_customer(scope, customer_id).await?;
        let consents = self.consent_rows(customer_id).await?;
        let vehicles = self.vehicles_of(scope, customer_id).await?;
        let timeline = self.timeline_where("customer_id", customer_id).await?;
        // Their cases, with every message, note and follow-up, as far as the caller may read them.
        let mut cases = Vec::new();
        for case in self.cases_of_customer(scope, customer_id, now).await? {
            let events = self.case_events(scope, &case.id).await?;
            let tasks = self.case_tasks(scope, &case.id).await?;
            cases.push(serde_json::json!({"case": case, "events": events, "tasks": tasks}));
        }
        Ok(serde_json::json!({
            "exported_at": now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "customer": customer,
            "consents": consents,
            "vehicles": vehicles,
            "timeline": timeline,
            "cases": cases,
        }))
    }

    /// Erasure on request (GDPR art. 17) that keeps what the law requires: the person's name,
    /// contact details, address, tax numbers, contacts and free-text notes are removed; the
    /// record stays as a pseudonym so vehicles keep their history and documents their payer
    /// reference (invoices keep their own copy of buyer data until the retention period ends).
    pub async fn erase_customer(
        &self,
        scope: &Scope,
        customer_id: &str,
        now: OffsetDateTime,
    ) -> Result<Customer, StoreError> {
        let c = self.get_customer(scope, customer_id).await?;
        scope.require_record(&c.organisation_id, Permission::CrmWrite)?;
        if c.erased_at.is_some() {
            return Ok(c);
        }
        let pseudonym = format!("Erased customer {}", &c.id[c.id.len().saturating_sub(6)..]);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE customers SET name = $1, org_number = NULL, nif = NULL, email = NULL, phone = NULL, street = NULL, \
             postal_code = NULL, city = NULL, latitude_e6 = NULL, longitude_e6 = NULL, erased_at = $2, version = version + 1 WHERE id = $3",
        )
        .bind(&pseudonym)
        .bind(micros(now))
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM customer_contacts WHERE customer_id = $1")
            .bind(customer_id)
            .execute(&mut *tx)
            .await?;
        // Messages to the person: nothing more goes out, and what was written to them is blanked.
        sqlx::query(
            "UPDATE outbox SET recipient = NULL, subject = '', body = '', attachment = NULL,              status = CASE WHEN status = 'pending' THEN 'skipped' ELSE status END,              last_error = CASE WHEN status = 'pending' THEN 'the customer was erased' ELSE last_error END              WHERE customer_id = $1",
        )
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE timeline_events SET body = NULL WHERE customer_id = $1")
            .bind(customer_id)
            .execute(&mut *tx)
            .await?;
        // What people wrote by hand may name the person; what the system wrote does not.
        let manual = placeholders(2, MANUAL_KINDS.len());
        let sql = format!("UPDATE timeline_events SET summary = '(removed on erasure)' WHERE customer_id = $1 AND kind IN ({manual})");
        let mut q = sqlx::query(&sql).bind(customer_id);
        for k in MANUAL_KINDS {
            q = q.bind(*k);
        }
        q.execute(&mut *tx).await?;
        // Cases keep their numbers, dates and timers (needed for SLA and KPI history), not the
        // person's words or contact details.
        for sql in [
            "UPDATE cases SET subject = '(removed on erasure)', symptoms = NULL, contact = NULL WHERE customer_id = $1",
            "UPDATE case_events SET body = NULL WHERE case_id IN (SELECT id FROM cases WHERE customer_id = $1)",
            "UPDATE case_tasks SET title = '(removed on erasure)' WHERE case_id IN (SELECT id FROM cases WHERE customer_id = $1)",
            "UPDATE case_handoffs SET note = NULL WHERE case_id IN (SELECT id FROM cases WHERE customer_id = $1)",
            "DELETE FROM public_submissions WHERE case_id IN (SELECT id FROM cases WHERE customer_id = $1)",
            "UPDATE timeline_events SET summary = kind WHERE customer_id = $1 AND kind IN ('case', 'triage', 'consent', 'ownership')",
            "UPDATE consents SET source = '(removed on erasure)', wording = '(removed on erasure)' WHERE customer_id = $1",
        ] {
            sqlx::query(sql).bind(customer_id).execute(&mut *tx).await?;
        }
        index(
            &mut tx,
            self.engine(),
            "customer",
            customer_id,
            &c.organisation_id,
            "",
        )
        .await?;
        add_entry(
            &mut tx,
            NewEntry {
                organisation_id: &c.organisation_id,
                customer_id: Some(customer_id),
                vehicle_id: None,
                kind: "erased",
                summary:
                    "Personal data erased on request (GDPR art. 17); legally required records kept"
                        .into(),
                body: None,
                actor: Some(scope.user_id()),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        // Vehicles the person owned no longer find them by name.
        for v in self.vehicles_of(scope, customer_id).await? {
            let current = v
                .owners
                .iter()
                .find(|o| o.to_date.is_none())
                .map(|o| o.name.clone());
            let mut conn = self.pool.acquire().await?;
            index(
                &mut conn,
                self.engine(),
                "vehicle",
                &v.id,
                &v.organisation_id,
                &Self::vehicle_terms(
                    &v.vin,
                    v.registration.as_deref(),
                    v.model.as_deref(),
                    current.as_deref(),
                ),
            )
            .await?;
        }
        self.get_customer(scope, customer_id).await
    }
}

/// A validated vehicle, ready to be written.
pub(crate) struct VehicleRecord<'a> {
    pub owner_org: &'a str,
    pub vin: &'a Vin,
    pub check: CheckDigit,
    pub decoded: &'a VinDecode,
    pub brand_id: Option<String>,
    pub registration: Option<String>,
    pub delivery: Option<Date>,
    pub warranty: Option<String>,
    /// (customer id, name) of the current owner.
    pub owner_customer: Option<(&'a str, &'a str)>,
    pub actor: Option<&'a str>,
}

/// Writes a vehicle, its first ownership, its search row and its timeline entry.
pub(crate) async fn insert_vehicle(
    conn: &mut sqlx::AnyConnection,
    engine: Engine,
    r: &VehicleRecord<'_>,
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    let id = new_id();
    let inserted = sqlx::query(
        "INSERT INTO vehicles (id, organisation_id, vin, brand_id, model, model_year, plant, check_digit, registration, delivery_date, \
         warranty_version, created_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1)",
    )
    .bind(&id)
    .bind(r.owner_org)
    .bind(r.vin.as_str())
    .bind(r.brand_id.clone())
    .bind(r.decoded.model.clone())
    .bind(r.decoded.model_year.map(i64::from))
    .bind(r.decoded.plant.clone())
    .bind(if r.check == CheckDigit::Valid { "valid" } else { "mismatch" })
    .bind(r.registration.clone())
    .bind(r.delivery.map(|d| d.to_string()))
    .bind(r.warranty.clone())
    .bind(micros(now))
    .execute(&mut *conn)
    .await;
    if let Err(e) = inserted {
        return Err(if StoreError::is_unique_violation(&e) {
            ValidationErrors::single(
                "vin",
                Rule::Unique,
                "a vehicle with this VIN is registered already",
            )
            .into()
        } else {
            e.into()
        });
    }
    if let Some((customer_id, _)) = r.owner_customer {
        let from = r
            .delivery
            .map(|d| d.to_string())
            .unwrap_or_else(|| now.date().to_string());
        sqlx::query("INSERT INTO vehicle_ownerships (id, vehicle_id, customer_id, from_date, to_date) VALUES ($1, $2, $3, $4, NULL)")
            .bind(new_id())
            .bind(&id)
            .bind(customer_id)
            .bind(from)
            .execute(&mut *conn)
            .await?;
    }
    let terms = Store::vehicle_terms(
        r.vin.as_str(),
        r.registration.as_deref(),
        r.decoded.model.as_deref(),
        r.owner_customer.map(|c| c.1),
    );
    index(conn, engine, "vehicle", &id, r.owner_org, &terms).await?;
    let summary = format!(
        "Vehicle {} registered{}",
        [r.decoded.model.clone(), Some(r.vin.as_str().to_string())]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
        if r.check == CheckDigit::Mismatch {
            " (check digit mismatch, accepted for this manufacturer)"
        } else {
            ""
        }
    );
    add_entry(
        conn,
        NewEntry {
            organisation_id: r.owner_org,
            customer_id: r.owner_customer.map(|c| c.0),
            vehicle_id: Some(&id),
            kind: "vehicle-added",
            summary,
            body: None,
            actor: r.actor,
        },
        now,
    )
    .await?;
    Ok(id)
}
