//! Warranty: a vehicle's coverage on a day (which coverages apply, what is left, why one does
//! not), the statutory period beside it, and battery state-of-health readings.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use aftersales_domain::warranty::CoverageKind;

/// One coverage of the vehicle's warranty on the day asked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Coverage {
    pub kind: CoverageKind,
    /// The last day it holds (YYYY-MM-DD).
    #[schema(format = Date)]
    pub last_day: String,
    /// Its km limit; none: unlimited.
    pub km_limit: Option<i64>,
    /// `covered`, `expired` or `over-km`.
    pub standing: String,
    /// Days left, the last day counted (covered only).
    pub days_left: Option<i64>,
    /// Km left (covered, with a limit).
    pub km_left: Option<i64>,
    /// The battery's latest state of health against the coverage's threshold.
    pub capacity: Option<Capacity>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Capacity {
    pub soh_pct: i64,
    pub threshold_pct: i64,
    /// Below the threshold: a capacity claim is a warranty case while the coverage applies.
    pub below: bool,
}

/// A vehicle's warranty on a day at an odometer reading.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VehicleCoverage {
    pub vehicle_id: String,
    #[schema(format = Date)]
    pub on: String,
    /// The reading it was judged at (the one asked for, else the latest recorded).
    pub odometer_km: Option<i64>,
    /// The terms version that applies (fixed on the vehicle, else by model and delivery date).
    pub terms: Option<String>,
    /// Why nothing could be decided: `no-delivery-date`, `no-terms`.
    pub undecided: Option<String>,
    pub coverages: Vec<Coverage>,
    /// The buyer's statutory complaint period in the market, beside the warranty (never part of it).
    pub statutory: Option<Statutory>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Statutory {
    pub months: u32,
    #[schema(format = Date)]
    pub last_day: String,
    pub applies: bool,
}

/// A battery state-of-health reading, as claim evidence.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatteryReading {
    pub id: String,
    pub vehicle_id: String,
    #[schema(format = Date)]
    pub read_on: String,
    pub odometer_km: i64,
    pub soh_pct: i64,
    /// `diagnostic`, `telematics`, `capacity-test`, `customer`.
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatteryReadingInput {
    #[schema(format = Date)]
    pub read_on: String,
    pub odometer_km: i64,
    pub soh_pct: i64,
    /// `diagnostic`, `telematics`, `capacity-test` or `customer`.
    pub source: String,
}
