//! Warranty (capability warranty, issue 17): a brand's terms as versioned data, a vehicle's
//! coverage on a day decided by `domain::warranty`, battery state-of-health readings; claims
//! through the network in `claims.rs`.

use aftersales_domain::org::Permission;
use aftersales_domain::validation::{FieldError, Rule};
use aftersales_domain::warranty::{
    self as rules, BatterySource, CoverageKind, CoverageTerm, Standing, TermsVersion,
};
use aftersales_domain::ValidationErrors;
use time::{Date, OffsetDateTime};

use crate::crm::parse_date;
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{from_micros, micros, new_id};
pub use aftersales_api_types::warranty::{
    Audit, AuditItem, AuditProposal, AuditResultInput, AuditRule, AuditRuleInput, AuditRules,
    AuditSummary, BatteryReading, BatteryReadingInput, CampaignDoneInput, CampaignPoint,
    CampaignVehicle, Capacity, Claim, ClaimAuditFinding, ClaimEvent, ClaimExport, ClaimInput,
    ClaimLine, ClaimOffer, ClaimStepInput, ClaimSummary, Coverage, FlagCount, FlaggedClaim,
    GoodwillApply, GoodwillBudget, GoodwillDecision, GoodwillEvent, GoodwillInput, GoodwillRequest,
    LineDecisionInput, LineDecisionRecord, OfferLine, OpenCampaign, PartCoverage, PointRiskRow,
    RecallCampaign, RecallCampaignInput, Reconciliation, RecoveryInput, RiskOverview, Statutory,
    VehicleCoverage, WarrantyTerms,
};
pub use analysis::{ClaimCost, CostPerUnit, EarlyWarning, MisQuery, PeerFunnel, PeerMeasure};
pub use audit::DEFAULT_MONTHS as AUDIT_MONTHS;
pub use claims::ClaimFilter;
pub use history::{HistoryCounts, HistoryTarget};

mod analysis;
mod audit;
mod campaigns;
mod claims;
mod facts;
pub(crate) mod goodwill;
pub(crate) mod history;

/// A terms version given for a vehicle must be one of its brand's (`warranty_version`).
pub(crate) fn check_version(code: &str, versions: &[TermsVersion]) -> Result<(), FieldError> {
    if versions.is_empty() || versions.iter().any(|v| v.code == code) {
        return Ok(());
    }
    let known: Vec<&str> = versions.iter().map(|v| v.code.as_str()).collect();
    Err(FieldError::new(
        "warranty_version",
        Rule::Unknown,
        format!(
            "warranty_version names no terms version of the vehicle's brand: one of {}",
            known.join(", ")
        ),
    )
    .hint("wr-err-version"))
}

/// A part line of a repair order that was handed back.
struct Fitted {
    ro_id: String,
    ro_number: String,
    code: Option<String>,
    description: String,
    /// When the car was handed back (µs).
    at: i64,
    km: Option<i64>,
}

/// A coverage's standing as the API gives it.
fn coverage_of(c: rules::CoverageStanding) -> Coverage {
    let (standing, days_left, km_left) = match c.standing {
        Standing::Covered { days_left, km_left } => ("covered", Some(days_left), km_left),
        Standing::Expired { .. } => ("expired", None, None),
        Standing::OverKm { .. } => ("over-km", None, None),
    };
    Coverage {
        kind: c.kind,
        last_day: c.last_day.to_string(),
        km_limit: c.km_limit,
        standing: standing.into(),
        days_left,
        km_left,
        capacity: c.capacity.map(|k| Capacity {
            soh_pct: k.soh_pct,
            threshold_pct: k.threshold_pct,
            below: k.below,
        }),
    }
}

crate::capability!(
    /// Warranty coverage and battery readings: `store.warranty().coverage(..)`.
    Warranty, warranty
);

type TermsRow = (String, String, Option<String>, Option<String>, String);

fn version_of(row: TermsRow) -> Result<TermsVersion, StoreError> {
    let (code, models, from, before, coverages) = row;
    let bad = |what: &str, e: String| {
        StoreError::Internal(format!("warranty_terms {code}: {what} does not read: {e}"))
    };
    let date = |d: Option<String>| -> Result<Option<Date>, StoreError> {
        d.map(|d| parse_date("delivered", &d).map_err(|e| bad("a date", e.message)))
            .transpose()
    };
    Ok(TermsVersion {
        models: serde_json::from_str(&models).map_err(|e| bad("models", e.to_string()))?,
        coverages: serde_json::from_str::<Vec<CoverageTerm>>(&coverages)
            .map_err(|e| bad("coverages", e.to_string()))?,
        delivered_from: date(from)?,
        delivered_before: date(before)?,
        code,
    })
}

impl Warranty<'_> {
    /// Writes a brand's published terms (the versions it starts with) where they are missing.
    pub async fn seed_published_terms(
        self,
        brand_id: &str,
        brand_code: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        for v in rules::published_terms(brand_code) {
            let json = |e: serde_json::Error| StoreError::Internal(e.to_string());
            sqlx::query(
                "INSERT INTO warranty_terms (id, brand_id, market_id, code, models, delivered_from, delivered_before, coverages, created_at) \
                 VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8) ON CONFLICT (brand_id, code) DO NOTHING",
            )
            .bind(new_id())
            .bind(brand_id)
            .bind(&v.code)
            .bind(serde_json::to_string(&v.models).map_err(json)?)
            .bind(v.delivered_from.map(|d| d.to_string()))
            .bind(v.delivered_before.map(|d| d.to_string()))
            .bind(serde_json::to_string(&v.coverages).map_err(json)?)
            .bind(micros(now))
            .execute(&self.store.pool)
            .await?;
        }
        Ok(())
    }

    /// The terms versions that can apply to a vehicle of `brand` owned in `market`: the market's
    /// own where it has any, else the brand's.
    async fn versions(
        self,
        brand: &str,
        market: Option<&str>,
    ) -> Result<Vec<TermsVersion>, StoreError> {
        type Row = (
            Option<String>,
            String,
            String,
            Option<String>,
            Option<String>,
            String,
        );
        let rows: Vec<Row> = sqlx::query_as(
                "SELECT market_id, code, models, delivered_from, delivered_before, coverages FROM warranty_terms \
                 WHERE brand_id = $1 ORDER BY code",
            )
            .bind(brand)
            .fetch_all(&self.store.pool)
            .await?;
        let own = market.is_some_and(|m| rows.iter().any(|r| r.0.as_deref() == Some(m)));
        rows.into_iter()
            .filter(|r| {
                if own {
                    r.0.as_deref() == market
                } else {
                    r.0.is_none()
                }
            })
            .map(|(_, code, models, from, before, cov)| {
                version_of((code, models, from, before, cov))
            })
            .collect()
    }

    /// The terms versions a car of `brand` owned at `org` can have (its market's, else the
    /// brand's).
    pub(crate) async fn terms_at(
        self,
        brand: &str,
        org: &str,
    ) -> Result<Vec<TermsVersion>, StoreError> {
        let market: Option<String> =
            sqlx::query_scalar("SELECT market_id FROM organisations WHERE id = $1")
                .bind(org)
                .fetch_optional(&self.store.pool)
                .await?
                .flatten();
        self.versions(brand, market.as_deref()).await
    }

    /// The terms version a car of `brand` owned at `org` gets at delivery on `day`.
    pub(crate) async fn terms_code_for(
        self,
        brand: &str,
        org: &str,
        model: Option<&str>,
        day: Date,
    ) -> Result<Option<String>, StoreError> {
        let versions = self.terms_at(brand, org).await?;
        Ok(rules::terms_for(&versions, model, day).map(|t| t.code.clone()))
    }

    /// A vehicle's warranty on `on` at `odometer_km` (else its latest recorded reading): each
    /// coverage of its terms version with what is left or why it does not apply, the battery's
    /// latest state of health against its threshold, and the market's statutory period beside it.
    pub async fn coverage(
        self,
        scope: &Scope,
        vehicle_id: &str,
        on: Date,
        odometer_km: Option<i64>,
    ) -> Result<VehicleCoverage, StoreError> {
        let v = self.store.crm().get_vehicle(scope, vehicle_id).await?;
        type Facts = (Option<String>, Option<String>, Option<String>);
        let (brand, market_id, market_code): Facts = sqlx::query_as(
            "SELECT v.brand_id, m.id, m.code FROM vehicles v JOIN organisations o ON o.id = v.organisation_id \
             LEFT JOIN markets m ON m.id = o.market_id WHERE v.id = $1",
        )
        .bind(vehicle_id)
        .fetch_one(&self.store.pool)
        .await?;
        let km = match odometer_km {
            Some(k) => Some(k),
            None => v.odometer.first().map(|r| r.km),
        };
        let soh: Option<i64> = sqlx::query_scalar(
            "SELECT soh_pct FROM battery_readings WHERE vehicle_id = $1 ORDER BY read_on DESC, created_at DESC",
        )
        .bind(vehicle_id)
        .fetch_optional(&self.store.pool)
        .await?;
        let delivered = v
            .delivery_date
            .as_deref()
            .and_then(|d| parse_date("delivery_date", d).ok());
        let mut out = VehicleCoverage {
            vehicle_id: v.id.clone(),
            on: on.to_string(),
            odometer_km: km,
            terms: None,
            undecided: None,
            coverages: Vec::new(),
            parts: Vec::new(),
            statutory: None,
        };
        let Some(delivered) = delivered else {
            out.undecided = Some("no-delivery-date".into());
            return Ok(out);
        };
        out.statutory = market_code
            .as_deref()
            .and_then(rules::statutory_months)
            .map(|months| {
                let last = rules::last_day(delivered, months);
                Statutory {
                    months,
                    last_day: last.to_string(),
                    applies: on <= last,
                }
            });
        let versions = match &brand {
            Some(b) => self.versions(b, market_id.as_deref()).await?,
            None => Vec::new(),
        };
        // The version fixed on the vehicle at delivery, else the one its model and date pick.
        let terms = v
            .warranty_version
            .as_deref()
            .and_then(|code| versions.iter().find(|t| t.code == code))
            .or_else(|| rules::terms_for(&versions, v.model.as_deref(), delivered));
        let Some(terms) = terms else {
            out.undecided = Some("no-terms".into());
            return Ok(out);
        };
        out.terms = Some(terms.code.clone());
        out.coverages = rules::coverage(terms, delivered, on, km.unwrap_or(0), soh)
            .into_iter()
            .map(coverage_of)
            .collect();
        if terms
            .coverages
            .iter()
            .any(|c| c.kind == CoverageKind::Parts)
        {
            let zone = self.store.org().zone_of(&v.organisation_id).await?;
            for f in self.fitted_parts(vehicle_id).await? {
                let part = rules::FittedPart {
                    fitted_on: zone.local(from_micros(f.at)).date(),
                    fitted_km: f.km,
                };
                if let Some(c) = rules::part_coverage(terms, &part, on, km.unwrap_or(0)) {
                    out.parts.push(PartCoverage {
                        part_number: f.code,
                        description: f.description,
                        repair_order_id: f.ro_id,
                        repair_order_number: f.ro_number,
                        fitted_on: part.fitted_on.to_string(),
                        fitted_km: f.km,
                        coverage: coverage_of(c),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The parts the network fitted on a vehicle: part lines of its repair orders that were
    /// handed back (the first `ready` or `delivered` moment counts as the fitting), with the
    /// odometer's latest reading up to then; newest first.
    async fn fitted_parts(self, vehicle_id: &str) -> Result<Vec<Fitted>, StoreError> {
        type Row = (String, String, Option<String>, String, i64, Option<i64>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT r.id, r.number, l.code, l.description, e.at, \
             (SELECT o.km FROM odometer_readings o WHERE o.vehicle_id = r.vehicle_id AND o.at <= e.at ORDER BY o.at DESC LIMIT 1) \
             FROM repair_orders r \
             JOIN (SELECT repair_order_id, MIN(at) AS at FROM ro_events WHERE status IN ('ready', 'delivered') GROUP BY repair_order_id) e \
               ON e.repair_order_id = r.id \
             JOIN ro_lines l ON l.repair_order_id = r.id \
             WHERE r.vehicle_id = $1 AND r.status <> 'cancelled' AND l.kind = 'part' AND l.quantity_centi > 0 \
             ORDER BY e.at DESC, l.created_at",
        )
        .bind(vehicle_id)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(ro_id, ro_number, code, description, at, km)| Fitted {
                ro_id,
                ro_number,
                code,
                description,
                at,
                km,
            })
            .collect())
    }

    /// The part numbers fitted on a vehicle (by other repair orders than `besides`) whose
    /// parts warranty still runs on `on` at `odometer_km`: what a parts-warranty claim may name
    /// as its causal part.
    pub(crate) async fn parts_under_warranty(
        self,
        scope: &Scope,
        vehicle_id: &str,
        on: Date,
        odometer_km: Option<i64>,
        besides: &str,
    ) -> Result<Vec<String>, StoreError> {
        let c = self.coverage(scope, vehicle_id, on, odometer_km).await?;
        Ok(c.parts
            .into_iter()
            .filter(|p| p.coverage.standing == "covered" && p.repair_order_id != besides)
            .filter_map(|p| p.part_number)
            .collect())
    }

    /// A vehicle's battery readings, newest first.
    pub async fn battery_readings(
        self,
        scope: &Scope,
        vehicle_id: &str,
    ) -> Result<Vec<BatteryReading>, StoreError> {
        self.store.crm().get_vehicle(scope, vehicle_id).await?;
        let rows: Vec<(String, String, i64, i64, String, i64)> = sqlx::query_as(
            "SELECT id, read_on, odometer_km, soh_pct, source, created_at FROM battery_readings \
             WHERE vehicle_id = $1 ORDER BY read_on DESC, created_at DESC",
        )
        .bind(vehicle_id)
        .fetch_all(&self.store.pool)
        .await?;
        rows.into_iter()
            .map(|(id, read_on, km, soh, source, at)| {
                crate::decode("battery_readings", "source", &source, BatterySource::parse)?;
                Ok(BatteryReading {
                    id,
                    vehicle_id: vehicle_id.to_string(),
                    read_on,
                    odometer_km: km,
                    soh_pct: soh,
                    source,
                    created_at: from_micros(at),
                })
            })
            .collect()
    }

    /// Records a battery's state of health (1–100 %) read on a day (not in the future) at a km.
    pub async fn record_battery(
        self,
        scope: &Scope,
        vehicle_id: &str,
        input: &BatteryReadingInput,
        now: OffsetDateTime,
    ) -> Result<BatteryReading, StoreError> {
        let v = self.store.crm().get_vehicle(scope, vehicle_id).await?;
        scope.require_record(&v.organisation_id, Permission::CrmWrite)?;
        let mut errs = ValidationErrors::default();
        let day = errs.take(parse_date("read_on", &input.read_on));
        if day.is_some_and(|d| d > now.date()) {
            errs.push(FieldError::new(
                "read_on",
                Rule::NotAllowed,
                "a reading cannot lie in the future",
            ));
        }
        if !(0..=2_000_000).contains(&input.odometer_km) {
            errs.push(FieldError::new(
                "odometer_km",
                Rule::NotAllowed,
                "odometer_km must lie between 0 and 2000000",
            ));
        }
        errs.take(rules::soh("soh_pct", input.soh_pct));
        let source = errs.take(BatterySource::parse("source", &input.source));
        errs.into_result()?;
        let (Some(day), Some(source)) = (day, source) else {
            return Err(StoreError::Internal("checked above".into()));
        };
        let id = new_id();
        sqlx::query(
            "INSERT INTO battery_readings (id, vehicle_id, read_on, odometer_km, soh_pct, source, recorded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(vehicle_id)
        .bind(day.to_string())
        .bind(input.odometer_km)
        .bind(input.soh_pct)
        .bind(source.as_str())
        .bind(scope.user_id())
        .bind(micros(now))
        .execute(&self.store.pool)
        .await?;
        Ok(BatteryReading {
            id,
            vehicle_id: vehicle_id.to_string(),
            read_on: day.to_string(),
            odometer_km: input.odometer_km,
            soh_pct: input.soh_pct,
            source: source.as_str().into(),
            created_at: now,
        })
    }

    /// The terms versions in force for the organisation's brand there: the market's own where
    /// it has any, else the brand's.
    pub async fn terms(self, scope: &Scope, org: &str) -> Result<Vec<WarrantyTerms>, StoreError> {
        scope.require(org, Permission::OrgRead)?;
        let (brand, market): (Option<String>, Option<String>) =
            sqlx::query_as("SELECT brand_id, market_id FROM organisations WHERE id = $1")
                .bind(org)
                .fetch_one(&self.store.pool)
                .await?;
        let Some(brand) = brand else {
            return Ok(Vec::new());
        };
        let market_code: Option<String> = match &market {
            Some(m) => {
                sqlx::query_scalar("SELECT code FROM markets WHERE id = $1")
                    .bind(m)
                    .fetch_optional(&self.store.pool)
                    .await?
            }
            None => None,
        };
        let versions = self.versions(&brand, market.as_deref()).await?;
        let own: bool = market.is_some() && {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM warranty_terms WHERE brand_id = $1 AND market_id = $2",
            )
            .bind(&brand)
            .bind(&market)
            .fetch_one(&self.store.pool)
            .await?;
            n > 0
        };
        Ok(versions
            .into_iter()
            .map(|v| WarrantyTerms {
                code: v.code,
                market: if own { market_code.clone() } else { None },
                models: v.models,
                delivered_from: v.delivered_from.map(|d| d.to_string()),
                delivered_before: v.delivered_before.map(|d| d.to_string()),
                coverages: v.coverages,
            })
            .collect())
    }

    /// Keeps a new terms version for the organisation's brand: a brand headquarters' for the
    /// brand, a market entity's for its market (then that market's vehicles use the market's
    /// versions). A warranty administrator there decides; versions are never changed.
    pub async fn add_terms(
        self,
        scope: &Scope,
        org: &str,
        input: &WarrantyTerms,
        now: OffsetDateTime,
    ) -> Result<WarrantyTerms, StoreError> {
        scope.require(org, Permission::WarrantyDecide)?;
        let (kind, brand, market): (String, Option<String>, Option<String>) =
            sqlx::query_as("SELECT kind, brand_id, market_id FROM organisations WHERE id = $1")
                .bind(org)
                .fetch_one(&self.store.pool)
                .await?;
        let mut errs = ValidationErrors::default();
        let market = match kind.as_str() {
            "brand-hq" => None,
            "market-entity" => market,
            _ => {
                errs.push(FieldError::new(
                    "organisation_id",
                    Rule::NotAllowed,
                    "warranty terms are kept by a brand's headquarters or a market entity",
                ));
                None
            }
        };
        let from = input
            .delivered_from
            .as_deref()
            .and_then(|d| errs.take(parse_date("delivered_from", d)));
        let before = input
            .delivered_before
            .as_deref()
            .and_then(|d| errs.take(parse_date("delivered_before", d)));
        let version = TermsVersion {
            code: input.code.trim().to_string(),
            models: input
                .models
                .iter()
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty())
                .collect(),
            delivered_from: from,
            delivered_before: before,
            coverages: input.coverages.clone(),
        };
        if let Err(e) = rules::check_terms(&version) {
            errs.0.extend(e.0);
        }
        errs.into_result()?;
        let Some(brand) = brand else {
            return Err(StoreError::NotFound);
        };
        let json = |e: serde_json::Error| StoreError::Internal(e.to_string());
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "INSERT INTO warranty_terms (id, brand_id, market_id, code, models, delivered_from, delivered_before, coverages, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (brand_id, code) DO NOTHING",
        )
        .bind(new_id())
        .bind(&brand)
        .bind(&market)
        .bind(&version.code)
        .bind(serde_json::to_string(&version.models).map_err(json)?)
        .bind(version.delivered_from.map(|d| d.to_string()))
        .bind(version.delivered_before.map(|d| d.to_string()))
        .bind(serde_json::to_string(&version.coverages).map_err(json)?)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ValidationErrors::single(
                "code",
                Rule::Unique,
                "the brand has a terms version with this code: versions are never changed",
            )
            .into());
        }
        tx.commit().await?;
        Ok(WarrantyTerms {
            code: version.code,
            market: None,
            models: version.models,
            delivered_from: version.delivered_from.map(|d| d.to_string()),
            delivered_before: version.delivered_before.map(|d| d.to_string()),
            coverages: version.coverages,
        })
    }
}
