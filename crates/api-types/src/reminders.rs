//! Service reminders: schedules (a brand's service items, a market's inspections), what is due
//! per vehicle, maintenance done elsewhere, seasonal campaigns.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::Ref;
use aftersales_domain::i18n::Language;
use aftersales_domain::reminders::{Interval, ItemKind, Standing};

/// A text in each language of the product.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Texts {
    pub nb: String,
    pub en: String,
    pub pt: String,
}

impl Texts {
    pub fn get(&self, lang: Language) -> &str {
        match lang {
            Language::Nb => &self.nb,
            Language::En => &self.en,
            Language::Pt => &self.pt,
        }
    }
}

/// One item of a maintenance schedule, kept as data at a brand's headquarters (service items)
/// or a market (legal inspections); it applies to the vehicles below that organisation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScheduleItem {
    pub id: String,
    pub organisation: Ref,
    /// Short, unique at the organisation: `annual-service`, `eu-kontroll`.
    pub code: String,
    pub kind: ItemKind,
    /// Only this model (as decoded from the VIN); none: every model.
    pub model: Option<String>,
    pub name: Texts,
    pub interval: Interval,
    /// The labour operation that does it: a delivered repair order with it counts as done.
    pub operation_code: Option<String>,
    /// Days before it is due that the customer is reminded.
    pub remind_days: u32,
}

/// A schedule item as written (`PUT /organisations/{id}/service-schedules/{code}`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// `service` or `inspection`.
    pub kind: String,
    pub model: Option<String>,
    pub name: Texts,
    pub first_months: u32,
    pub every_months: u32,
    pub every_km: Option<u32>,
    pub later_from_months: Option<u32>,
    pub later_every_months: Option<u32>,
    pub operation_code: Option<String>,
    /// 1–120; 30 when left out.
    pub remind_days: Option<u32>,
}

/// A vehicle's next due item, as the advisor's list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DueItem {
    pub vehicle_id: String,
    pub vin: String,
    pub registration: Option<String>,
    pub model: Option<String>,
    /// The current owner.
    pub customer: Option<Ref>,
    pub schedule_id: String,
    pub code: String,
    pub kind: ItemKind,
    pub name: Texts,
    #[schema(value_type = String, format = Date)]
    #[serde(with = "aftersales_domain::iso_date")]
    pub due_on: Date,
    /// The odometer reading it is due at (service items with a distance).
    pub due_km: Option<u32>,
    /// Whether the distance, at the vehicle's usage so far, comes before the date.
    pub by_km: bool,
    pub standing: Standing,
    /// When it was last done (a delivered repair order with the item's operation, or recorded).
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(with = "aftersales_domain::iso_date::option")]
    pub last_done_on: Option<Date>,
    /// When the customer was reminded of this due date.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reminded_at: Option<OffsetDateTime>,
    /// The vehicle's next booked appointment, if any: nobody needs to chase a booked customer.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_appointment: Option<OffsetDateTime>,
    /// Where the vehicle was last in the workshop.
    pub service_point: Option<Ref>,
}

/// Maintenance done outside a repair order of ours (an inspection at a test station, a service
/// elsewhere): `POST /vehicles/{id}/maintenance`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceInput {
    pub schedule_id: String,
    /// `YYYY-MM-DD`, not in the future.
    pub done_on: String,
    pub km: Option<u32>,
}

/// A seasonal campaign: one message to every owner of the brand's vehicles in the market (of
/// the given models) who agreed to offers, sent on a day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Campaign {
    pub id: String,
    pub organisation: Ref,
    pub title: Texts,
    pub message: Texts,
    /// Only these models; empty: every model.
    pub models: Vec<String>,
    #[schema(value_type = String, format = Date)]
    #[serde(with = "aftersales_domain::iso_date")]
    pub send_on: Date,
    /// `planned` or `sent`.
    pub status: String,
    /// Messages written when it was sent (one per customer and channel, sent or recorded as not sent with the reason).
    pub messages: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    pub organisation_id: String,
    pub title_nb: String,
    pub title_en: String,
    pub title_pt: String,
    pub message_nb: String,
    pub message_en: String,
    pub message_pt: String,
    /// Comma-separated models; empty: every model.
    #[serde(default)]
    pub models: String,
    /// `YYYY-MM-DD`, today or later.
    pub send_on: String,
}
