//! KPIs: the published definitions, a KPI's figure over a period with its breakdown and the items
//! behind it, targets with their red/amber/green rule, the service point's costs per hour.

use serde::{Deserialize, Serialize};
use time::Date;

use aftersales_domain::kpi::{Better, Dimension, Figure, ItemRef, Kpi, KpiUnit, Rag};

use crate::Ref;

/// A published KPI.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KpiDefinition {
    pub code: Kpi,
    pub unit: KpiUnit,
    pub direction: Better,
    /// The published formula, in the reader's language.
    pub name: String,
    pub definition: String,
    /// What it breaks down by.
    pub dimensions: Vec<Dimension>,
    /// Where it is computed when not by `GET /api/v1/kpis/{code}` (warranty analysis, the
    /// network's audits, training).
    pub computed_page: Option<String>,
}

/// A KPI's figure against its target.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KpiValue {
    pub kpi: Kpi,
    pub figure: Figure,
    /// The same KPI over the period just before, as long.
    pub previous: Figure,
    pub target: Option<KpiTarget>,
    pub rag: Option<Rag>,
}

/// One row of a breakdown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BreakdownRow {
    /// The key (an organisation's or a person's id, a model, a pay type, a month); `null`:
    /// not known.
    pub key: Option<String>,
    /// The key as people read it.
    pub label: String,
    pub figure: Figure,
    /// The target of the service point or market in this row, where the breakdown is by one.
    pub rag: Option<Rag>,
}

/// An item a figure is computed from, with its share.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KpiItem {
    pub item: ItemRef,
    /// Where the item is opened in the product.
    pub href: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: time::OffsetDateTime,
    pub service_point: Ref,
    pub numerator: f64,
    pub denominator: f64,
    pub currency: Option<String>,
    /// Turnaround only: hours clocked on the repair order (active work) and the rest of its
    /// keys-to-keys time (waiting for parts, approval, logistics).
    pub active_hours: Option<f64>,
    pub waiting_hours: Option<f64>,
}

/// A KPI over a period: the figure, the breakdown asked for, the items behind it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KpiReport {
    pub kpi: Kpi,
    #[serde(with = "aftersales_domain::iso_date")]
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    #[serde(with = "aftersales_domain::iso_date")]
    #[schema(value_type = String, format = Date)]
    pub to: Date,
    pub value: KpiValue,
    pub by: Dimension,
    pub breakdown: Vec<BreakdownRow>,
    /// The items, newest first, at most `limit`.
    pub items: Vec<KpiItem>,
    /// How many items there are in all.
    pub items_total: usize,
}

/// A target of a KPI at an organisation from a month on.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KpiTarget {
    pub id: String,
    pub organisation: Ref,
    pub kpi: Kpi,
    #[serde(with = "aftersales_domain::iso_date")]
    #[schema(value_type = String, format = Date)]
    pub valid_from: Date,
    pub green: f64,
    pub amber: f64,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KpiTargetInput {
    pub organisation_id: String,
    pub kpi: String,
    /// A month, `2026-11`, or its first day.
    pub valid_from: String,
    /// Green from this value on (in the KPI's unit: percent, days, hours, or money in the
    /// currency's major unit).
    pub green: String,
    pub amber: String,
}

/// A service point's variable costs per hour, for the contribution margin.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KpiCosts {
    pub organisation: Ref,
    pub currency: String,
    /// Technician labour at cost, per hour, minor units.
    pub technician_minor: i64,
    /// Driver time at cost, per hour, minor units.
    pub driver_minor: i64,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KpiCostsInput {
    /// Per hour, in the currency's major unit (`450` or `450,00`).
    pub technician_per_hour: String,
    pub driver_per_hour: String,
}
