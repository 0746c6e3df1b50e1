//! API types of crm: the shapes the store reads and writes and the HTTP API documents.

use aftersales_domain::crm::CheckDigit;
use aftersales_domain::i18n::Language;
use aftersales_domain::validation::FieldError;
use aftersales_domain::validation::Rule;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

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
#[schema(as = ContactChannel)]
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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// `note`, `call`, `email`, `message`, `customer-created`, `vehicle-added`, `consent`, `odometer`, `ownership`, …
    pub kind: String,
    /// What a person wrote as the entry's summary; empty for system entries, whose facts are in
    /// `params` and are rendered in the reader's language.
    pub summary: String,
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub params: std::collections::BTreeMap<String, String>,
    pub body: Option<String>,
    pub customer_id: Option<String>,
    pub vehicle_id: Option<String>,
    pub actor: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineInput {
    /// `note`, `call`, `email` or `message`.
    pub kind: String,
    pub summary: String,
    pub body: Option<String>,
    pub vehicle_id: Option<String>,
}

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

/// One manufacturer code of the VIN table (the first three characters of a VIN) and the models
/// its descriptor section names.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WmiEntry {
    pub wmi: String,
    pub brand_code: String,
    pub manufacturer: String,
    /// Whether VINs of this manufacturer must carry a valid check digit (position 9).
    pub check_digit_required: bool,
    pub models: Vec<WmiModel>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WmiModel {
    /// The start of the vehicle descriptor section (positions 4–8), e.g. `Y` or `ED`.
    pub vds_prefix: String,
    pub model: String,
}

/// A manufacturer code and its models, set by an administrator of the brand's headquarters.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WmiInput {
    pub brand_code: String,
    pub manufacturer: String,
    pub check_digit_required: bool,
    /// Replaces the models of the code.
    pub models: Vec<WmiModel>,
}
