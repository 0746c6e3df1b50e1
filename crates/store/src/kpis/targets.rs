//! KPI targets (per KPI, organisation and month on: green and amber thresholds in the KPI's
//! unit, money in minor units) and a service point's variable costs per hour.

use std::collections::BTreeMap;

use aftersales_domain::kpi::formulas::HourlyCosts;
use aftersales_domain::kpi::{Kpi, KpiUnit, Target};
use aftersales_domain::money::parse_centi;
use aftersales_domain::org::Permission;
use aftersales_domain::validation::{FieldError, Rule};
use aftersales_domain::ValidationErrors;
use time::Date;

use super::facts::Orgs;
use super::{KpiCosts, KpiCostsInput, KpiTarget, KpiTargetInput, Kpis};
use crate::crm::parse_date;
use crate::db::{placeholders, Write};
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{decode, micros, new_id, Ref};

type TargetRow = (String, String, String, String, String, String, String);

fn number(table: &'static str, column: &'static str, v: &str) -> Result<f64, StoreError> {
    v.parse::<f64>().map_err(|_| StoreError::Corrupt {
        table,
        column,
        value: v.to_string(),
    })
}

fn target_of(row: TargetRow) -> Result<KpiTarget, StoreError> {
    let (id, org, name, kpi, from, green, amber) = row;
    Ok(KpiTarget {
        id,
        organisation: Ref {
            id: org,
            label: name,
        },
        kpi: decode("kpi_targets", "kpi", &kpi, Kpi::parse)?,
        valid_from: decode("kpi_targets", "valid_from", &from, parse_date)?,
        green: number("kpi_targets", "green", &green)?,
        amber: number("kpi_targets", "amber", &amber)?,
    })
}

/// A threshold typed in the KPI's unit: percent, days, hours, a score, or money in the major
/// unit (kept in minor units, like the figures).
fn threshold(k: Kpi, field: &str, s: &str) -> Result<f64, FieldError> {
    let centi = parse_centi(field, s, -10_000_000_000, 10_000_000_000)?;
    Ok(match k.unit() {
        KpiUnit::Money | KpiUnit::MoneyPerHour => centi as f64,
        _ => centi as f64 / 100.0,
    })
}

/// `2026-11` or `2026-11-01`: the first day of that month.
fn month_start(field: &str, s: &str) -> Result<Date, FieldError> {
    let s = s.trim();
    let d = if s.len() == 7 {
        parse_date(field, &format!("{s}-01"))?
    } else {
        parse_date(field, s)?
    };
    Date::from_calendar_date(d.year(), d.month(), 1).map_err(|_| {
        FieldError::new(
            field,
            Rule::Format,
            format!("{field} must be a month like 2026-11"),
        )
    })
}

impl Kpis<'_> {
    /// Targets at the organisations reached and those above them (a market's target applies to
    /// its service points).
    pub(super) async fn targets_of(
        &self,
        orgs: &Orgs,
        reach: &[String],
    ) -> Result<Vec<KpiTarget>, StoreError> {
        let mut ids: Vec<String> = reach.iter().flat_map(|r| orgs.lineage(r)).collect();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT t.id, t.organisation_id, o.name, t.kpi, t.valid_from, t.green, t.amber FROM kpi_targets t \
             JOIN organisations o ON o.id = t.organisation_id WHERE t.organisation_id IN ({}) ORDER BY o.name, t.kpi, t.valid_from",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query_as::<_, TargetRow>(&sql);
        for id in &ids {
            q = q.bind(id);
        }
        q.fetch_all(&self.store.pool)
            .await?
            .into_iter()
            .map(target_of)
            .collect()
    }

    /// The targets that apply within the caller's reach.
    pub async fn targets(self, scope: &Scope) -> Result<Vec<KpiTarget>, StoreError> {
        scope.require_somewhere(Permission::KpiRead)?;
        let orgs = Orgs::load(&self.store.pool).await?;
        self.targets_of(&orgs, &scope.orgs_with(Permission::KpiRead))
            .await
    }

    /// Sets (or replaces) the target of a KPI at an organisation from a month on.
    pub async fn set_target(
        self,
        scope: &Scope,
        input: &KpiTargetInput,
        now: time::OffsetDateTime,
    ) -> Result<KpiTarget, StoreError> {
        let mut errors = ValidationErrors::default();
        let kpi = errors.take(Kpi::parse("kpi", &input.kpi));
        if let Some(k) = kpi {
            if k.computed_at().is_some() {
                errors.push(FieldError::new(
                    "kpi",
                    Rule::NotAllowed,
                    format!(
                        "{} is computed on {}: set its target there",
                        k.as_str(),
                        k.computed_at().unwrap_or_default()
                    ),
                ));
            }
        }
        let from = errors.take(month_start("valid_from", &input.valid_from));
        let (green, amber) = match kpi {
            Some(k) => (
                errors.take(threshold(k, "green", &input.green)),
                errors.take(threshold(k, "amber", &input.amber)),
            ),
            None => (None, None),
        };
        if let (Some(k), Some(g), Some(a)) = (kpi, green, amber) {
            errors.take(Target::new(k, g, a));
        }
        errors.into_result()?;
        let (Some(kpi), Some(from), Some(green), Some(amber)) = (kpi, from, green, amber) else {
            return Err(StoreError::Internal("a checked target lost a value".into()));
        };
        scope.require(&input.organisation_id, Permission::KpiManage)?;
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "DELETE FROM kpi_targets WHERE organisation_id = $1 AND kpi = $2 AND valid_from = $3",
        )
        .bind(&input.organisation_id)
        .bind(kpi.as_str())
        .bind(from.to_string())
        .execute(&mut *tx)
        .await?;
        let id = new_id();
        sqlx::query("INSERT INTO kpi_targets (id, organisation_id, kpi, valid_from, green, amber, set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&id)
            .bind(&input.organisation_id)
            .bind(kpi.as_str())
            .bind(from.to_string())
            .bind(green.to_string())
            .bind(amber.to_string())
            .bind(scope.user_id())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let name = crate::standards::org_ref(&self.store.pool, &input.organisation_id).await?;
        Ok(KpiTarget {
            id,
            organisation: name,
            kpi,
            valid_from: from,
            green,
            amber,
        })
    }

    /// Removes a target set at an organisation the caller manages.
    pub async fn remove_target(self, scope: &Scope, id: &str) -> Result<(), StoreError> {
        let org: Option<String> =
            sqlx::query_scalar("SELECT organisation_id FROM kpi_targets WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.store.pool)
                .await?;
        let org = org.ok_or(StoreError::NotFound)?;
        if !scope.permits(&org, Permission::KpiRead) {
            return Err(StoreError::NotFound);
        }
        scope.require(&org, Permission::KpiManage)?;
        sqlx::query("DELETE FROM kpi_targets WHERE id = $1")
            .bind(id)
            .write(self.store)
            .await?;
        Ok(())
    }

    /// Costs per hour by organisation (a market's apply to its service points without their own).
    pub(super) async fn costs_map(&self) -> Result<BTreeMap<String, HourlyCosts>, StoreError> {
        let rows: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT organisation_id, technician_minor, driver_minor FROM kpi_costs")
                .fetch_all(&self.store.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(o, t, d)| {
                (
                    o,
                    HourlyCosts {
                        technician_minor: t,
                        driver_minor: d,
                    },
                )
            })
            .collect())
    }

    /// An organisation's costs per hour (its own, or inherited; zero when none is set).
    pub async fn costs(self, scope: &Scope, org: &str) -> Result<KpiCosts, StoreError> {
        if !scope.permits(org, Permission::KpiRead) {
            return Err(StoreError::NotFound);
        }
        let orgs = Orgs::load(&self.store.pool).await?;
        let map = self.costs_map().await?;
        let c = orgs
            .lineage(org)
            .iter()
            .find_map(|o| map.get(o).copied())
            .unwrap_or_default();
        Ok(KpiCosts {
            organisation: Ref {
                id: org.to_string(),
                label: orgs.name(org),
            },
            currency: orgs.currency(org),
            technician_minor: c.technician_minor,
            driver_minor: c.driver_minor,
        })
    }

    /// Sets an organisation's costs per hour.
    pub async fn set_costs(
        self,
        scope: &Scope,
        org: &str,
        input: &KpiCostsInput,
        now: time::OffsetDateTime,
    ) -> Result<KpiCosts, StoreError> {
        if !scope.permits(org, Permission::KpiRead) {
            return Err(StoreError::NotFound);
        }
        let mut errors = ValidationErrors::default();
        let t = errors.take(parse_centi(
            "technician_per_hour",
            &input.technician_per_hour,
            0,
            10_000_000,
        ));
        let d = errors.take(parse_centi(
            "driver_per_hour",
            &input.driver_per_hour,
            0,
            10_000_000,
        ));
        errors.into_result()?;
        let (Some(t), Some(d)) = (t, d) else {
            return Err(StoreError::Internal("checked costs lost a value".into()));
        };
        scope.require(org, Permission::KpiManage)?;
        let orgs = Orgs::load(&self.store.pool).await?;
        let mut tx = self.store.begin().await?;
        sqlx::query("DELETE FROM kpi_costs WHERE organisation_id = $1")
            .bind(org)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO kpi_costs (organisation_id, technician_minor, driver_minor, currency, set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(org)
            .bind(t)
            .bind(d)
            .bind(orgs.currency(org))
            .bind(scope.user_id())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.costs(scope, org).await
    }
}
