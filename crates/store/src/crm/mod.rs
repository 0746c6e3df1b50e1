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
use time::{Date, OffsetDateTime};

use crate::db::{placeholders, Engine};
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{from_micros, micros, new_id, Page};

mod consents;
mod customers;
pub mod import;
mod search;
mod timeline;
mod vehicles;
mod wmi;

pub use aftersales_api_types::crm::{
    Channel, Consent, ConsentInput, Contact, Customer, CustomerInput, CustomerKind,
    OdometerReading, Owner, Purpose, SearchHit, TimelineEntry, TimelineInput, Vehicle,
    VehicleInput, VinDecode, WmiEntry, WmiInput, WmiModel,
};
pub(crate) use customers::insert_customer;
pub use search::normalise_terms;
pub(crate) use search::{index, phone_terms, runs};
pub(crate) use vehicles::{insert_vehicle, VehicleRecord};

crate::capability!(
    /// Customers, vehicles and their history: `store.crm().get_customer(..)`.
    Crm, crm
);

// ---------------------------------------------------------------- vocabulary

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
    fn into_customer(self, contacts: Vec<Contact>) -> Result<Customer, StoreError> {
        Ok(Customer {
            kind: crate::decode("customers", "kind", &self.kind, CustomerKind::parse)?,
            language: crate::decode("customers", "language", &self.language, Language::parse)?,
            preferred_channel: crate::decode(
                "customers",
                "preferred_channel",
                &self.preferred_channel,
                Channel::parse,
            )?,
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
        })
    }
}

// ---------------------------------------------------------------- consents

// ---------------------------------------------------------------- vehicles

#[derive(sqlx::FromRow)]
pub(crate) struct VehicleRow {
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

/// Kinds of entry a person may write by hand.
pub const MANUAL_KINDS: &[&str] = &["note", "call", "email", "message"];

pub(crate) struct NewEntry<'a> {
    pub organisation_id: &'a str,
    pub customer_id: Option<&'a str>,
    pub vehicle_id: Option<&'a str>,
    pub kind: &'a str,
    /// What a person wrote; empty for a system entry, whose facts are `params`.
    pub summary: String,
    pub params: Vec<(&'static str, String)>,
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
        "INSERT INTO timeline_events (id, organisation_id, customer_id, vehicle_id, at, kind, summary, body, actor_user_id, params) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
    .bind(crate::params_json(
        &e.params
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    ))
    .execute(conn)
    .await?;
    Ok(id)
}

// ---------------------------------------------------------------- search

// ---------------------------------------------------------------- store

// ---------------------------------------------------------------- vehicles, timeline, search, GDPR
