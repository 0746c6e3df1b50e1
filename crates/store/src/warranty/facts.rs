//! The facts the claim analysis and the audit read (issue 18): per counted claim what the
//! analyses group by and sum and what the red-flag rules judge (`claim_facts`), per vehicle its
//! delivery and latest known odometer (`vehicle_facts`). Triggers mark a vehicle in `fact_dirty` in
//! the same transaction as any change that touches its facts (see migration 27); [`Warranty::
//! refresh_facts`] recomputes the marked vehicles, a batch at a time, and every analysis and audit
//! read calls it first, so a figure never lags behind what was written. A marker is removed only
//! if its version is still the one read before the facts were computed: a change meanwhile keeps
//! the vehicle marked for the next read.

use std::collections::HashMap;

use aftersales_domain::analysis::audit::{self as rules, AuditClaim, AuditLine};
use aftersales_domain::analysis::history::months_between;
use aftersales_domain::warranty::claims::ClaimStatus;
use aftersales_domain::warranty::goodwill::ComponentGroup;
use aftersales_domain::warranty::{self as terms, CoverageKind, Standing, TermsVersion};
use time::Date;

use super::Warranty;
use crate::crm::parse_date;
use crate::db::placeholders;
use crate::error::StoreError;

/// Vehicles recomputed per batch.
const BATCH: usize = 400;
/// Rows per insert statement (binds stay below both engines' limits).
const ROWS_PER_INSERT: usize = 200;

/// The claims that count as failures and enter the audit: submitted and not rejected.
fn counted(status: &str) -> bool {
    status != "draft" && status != "rejected"
}

/// The delivery quarter of a day: `2024-Q1`.
pub(super) fn quarter_of(d: Date) -> String {
    format!("{}-Q{}", d.year(), (u8::from(d.month()) - 1) / 3 + 1)
}

/// Days left, on `day` at `km`, of the coverage that pays for `component`: the battery and drive
/// unit coverage for high-voltage and drivetrain faults, else the basic (or whole-vehicle) one.
fn days_left(
    t: &TermsVersion,
    delivered: Date,
    day: Date,
    km: i64,
    component: Option<ComponentGroup>,
) -> Option<i64> {
    let standings = terms::coverage(t, delivered, day, km, None);
    let wanted: &[CoverageKind] = match component {
        Some(ComponentGroup::HighVoltage | ComponentGroup::Drivetrain) => {
            &[CoverageKind::BatteryDriveUnit]
        }
        _ => &[CoverageKind::Basic, CoverageKind::Vehicle],
    };
    standings
        .iter()
        .find(|s| wanted.contains(&s.kind))
        .and_then(|s| match s.standing {
            Standing::Covered { days_left, .. } => Some(days_left),
            _ => None,
        })
}

struct VehicleRow {
    owner: String,
    brand: Option<String>,
    model: Option<String>,
    delivered: Option<Date>,
    version: Option<String>,
}

struct ClaimRow {
    id: String,
    number: String,
    point: String,
    vehicle: String,
    vin: String,
    component: Option<ComponentGroup>,
    opened: Date,
    delivered: Option<Date>,
    km: i64,
    status: String,
    charged_back: i64,
    currency: String,
    repair_order: String,
    customer: Option<String>,
    address: Option<String>,
}

#[derive(Default)]
struct LineSums {
    parts: i64,
    labour: i64,
    sublet: i64,
    recovered: i64,
    cost: i64,
    claimed: i64,
    labour_centi: i64,
    approved: i64,
    lines: Vec<AuditLine>,
}

/// How a figure reads `claim_facts` on SQLite, whose planner would otherwise take an index range
/// with a lookup into the table per row for predicates that most rows meet: in one pass over the
/// table, or through the index that holds every column the figure reads. PostgreSQL plans these
/// well itself.
#[derive(Debug, Clone, Copy)]
pub(super) enum Read {
    /// One pass over the table.
    Table,
    /// The index by opening day (`claim_facts_opened`).
    ByOpened,
    /// The index by address (`claim_facts_address`).
    ByAddress,
}

/// A value bound into `claim_facts`.
enum Val {
    T(Option<String>),
    N(Option<i64>),
}

const FACT_COLUMNS: &str = "claim_id, vehicle_id, owner_id, point_id, model, component, number, vin, status, currency, \
     repair_order_id, cohort, delivered_on, opened_on, opened_month, address, customer_id, \
     mis, days_in_service, first_of_component, first_of_repair, first_of_repair_component, odometer_km, \
     parts_minor, labour_minor, sublet_minor, recovered_minor, charged_back_minor, cost_minor, claimed_minor, labour_centi, paid_minor, \
     repeat_gap, coverage_days_left, over_flat_bp, repairable_max_minor, duplicate_in_claim, duplicate_gap, analysed, no_trouble";

impl Warranty<'_> {
    /// `claim_facts` as `alias`, read as [`Read`] says.
    pub(super) fn facts_as(self, alias: &str, how: Read) -> String {
        let hint = match (self.store.engine(), how) {
            (crate::Engine::Sqlite, Read::Table) => " NOT INDEXED",
            (crate::Engine::Sqlite, Read::ByOpened) => " INDEXED BY claim_facts_opened",
            (crate::Engine::Sqlite, Read::ByAddress) => " INDEXED BY claim_facts_address",
            (crate::Engine::Postgres, _) => "",
        };
        format!("claim_facts {alias}{hint}")
    }

    /// Brings the facts of every marked vehicle up to date; returns how many vehicles it
    /// recomputed.
    pub async fn refresh_facts(self) -> Result<usize, StoreError> {
        let mut terms_cache: HashMap<(String, String), Vec<TermsVersion>> = HashMap::new();
        let mut done = 0;
        loop {
            let marked: Vec<(String, i64)> = sqlx::query_as(&format!(
                "SELECT vehicle_id, version FROM fact_dirty LIMIT {BATCH}"
            ))
            .fetch_all(&self.store.pool)
            .await?;
            if marked.is_empty() {
                return Ok(done);
            }
            let ids: Vec<&str> = marked.iter().map(|m| m.0.as_str()).collect();
            self.recompute(&ids, &marked, &mut terms_cache).await?;
            done += marked.len();
        }
    }

    async fn recompute(
        self,
        ids: &[&str],
        marked: &[(String, i64)],
        terms_cache: &mut HashMap<(String, String), Vec<TermsVersion>>,
    ) -> Result<(), StoreError> {
        let n = ids.len();
        let list = placeholders(1, n);
        let sql = format!(
            "SELECT id, organisation_id, brand_id, model, delivery_date, warranty_version FROM vehicles WHERE id IN ({list})"
        );
        let mut q = sqlx::query_as::<
            _,
            (
                String,
                String,
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
            ),
        >(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        let vehicles: HashMap<String, VehicleRow> = q
            .fetch_all(&self.store.pool)
            .await?
            .into_iter()
            .map(|(id, owner, brand, model, delivered, version)| {
                let delivered = delivered.and_then(|d| parse_date("delivery_date", &d).ok());
                (
                    id,
                    VehicleRow {
                        owner,
                        brand,
                        model,
                        delivered,
                        version,
                    },
                )
            })
            .collect();
        type Raw = (
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            String,
            Option<String>,
            i64,
            String,
            i64,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let sql = format!(
            "SELECT c.id, c.number, c.organisation_id, c.vehicle_id, c.vin, c.component_group, c.opened_on, c.delivered_on, \
             c.odometer_km, c.status, c.charged_back_minor, c.currency, c.repair_order_id, ro.customer_id, cu.street, cu.postal_code \
             FROM warranty_claims c JOIN repair_orders ro ON ro.id = c.repair_order_id \
             LEFT JOIN customers cu ON cu.id = ro.customer_id WHERE c.vehicle_id IN ({list}) ORDER BY c.opened_on, c.id"
        );
        let mut q = sqlx::query_as::<_, Raw>(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        let mut claims: Vec<ClaimRow> = Vec::new();
        for (
            id,
            number,
            point,
            vehicle,
            vin,
            component,
            opened,
            delivered,
            km,
            status,
            charged_back,
            currency,
            repair_order,
            customer,
            street,
            postal,
        ) in q.fetch_all(&self.store.pool).await?
        {
            let Ok(opened) = parse_date("opened_on", &opened) else {
                continue;
            };
            claims.push(ClaimRow {
                id,
                number,
                point,
                vehicle,
                vin,
                component: component.and_then(|c| ComponentGroup::parse("component", &c).ok()),
                opened,
                delivered: delivered.and_then(|d| parse_date("delivered_on", &d).ok()),
                km,
                status,
                charged_back,
                currency,
                repair_order,
                customer,
                address: street
                    .as_deref()
                    .and_then(|s| rules::normalise_address(s, postal.as_deref())),
            });
        }
        let sql = format!(
            "SELECT l.claim_id, l.kind, l.code, l.quantity_centi, l.claimed_minor, l.approved_minor, l.recovery_minor, \
             l.flat_rate_centi, l.analysis FROM warranty_claim_lines l JOIN warranty_claims c ON c.id = l.claim_id \
             WHERE c.vehicle_id IN ({list}) ORDER BY l.claim_id, l.position"
        );
        type LineRaw = (
            String,
            String,
            Option<String>,
            i64,
            i64,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<String>,
        );
        let mut q = sqlx::query_as::<_, LineRaw>(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        let mut sums: HashMap<String, LineSums> = HashMap::new();
        for (claim, kind, code, qty, claimed, approved, recovery, frt, analysis) in
            q.fetch_all(&self.store.pool).await?
        {
            let s = sums.entry(claim).or_default();
            let amount = approved.unwrap_or(claimed);
            match kind.as_str() {
                "labour" => {
                    s.labour += amount;
                    s.labour_centi += qty;
                }
                "sublet" => s.sublet += amount,
                _ => s.parts += amount,
            }
            s.cost += amount;
            s.claimed += claimed;
            s.recovered += recovery.unwrap_or(0);
            s.approved += approved.unwrap_or(0);
            s.lines.push(AuditLine {
                code,
                kind,
                quantity_centi: qty,
                claimed_minor: claimed,
                flat_rate_centi: frt,
                analysis,
            });
        }
        let sql = format!(
            "SELECT vehicle_id, km, at FROM odometer_readings WHERE vehicle_id IN ({list})"
        );
        let mut q = sqlx::query_as::<_, (String, i64, i64)>(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        // The latest known km per vehicle (the highest reading, claims included), with its day.
        let mut latest: HashMap<String, (i64, Date)> = HashMap::new();
        let mut note = |vehicle: &str, km: i64, day: Date| {
            let e = latest.entry(vehicle.to_string()).or_insert((km, day));
            if km > e.0 {
                *e = (km, day);
            }
        };
        for (vehicle, km, at) in q.fetch_all(&self.store.pool).await? {
            note(&vehicle, km, crate::from_micros(at).date());
        }
        for c in &claims {
            note(&c.vehicle, c.km, c.opened);
        }
        // The terms each vehicle's claims are judged under.
        for v in vehicles.values() {
            if let Some(b) = &v.brand {
                let key = (b.clone(), v.owner.clone());
                if let std::collections::hash_map::Entry::Vacant(e) = terms_cache.entry(key) {
                    e.insert(self.terms_at(b, &v.owner).await?);
                }
            }
        }

        // Per vehicle: its counted claims in day order, judged together.
        let mut by_vehicle: HashMap<&str, Vec<&ClaimRow>> = HashMap::new();
        for c in claims.iter().filter(|c| counted(&c.status)) {
            by_vehicle.entry(c.vehicle.as_str()).or_default().push(c);
        }
        let empty = LineSums::default();
        let mut rows: Vec<Vec<Val>> = Vec::new();
        for (vehicle_id, list) in &by_vehicle {
            let Some(v) = vehicles.get(*vehicle_id) else {
                continue;
            };
            let versions = v
                .brand
                .as_ref()
                .and_then(|b| terms_cache.get(&(b.clone(), v.owner.clone())));
            let audit: Vec<AuditClaim> = list
                .iter()
                .map(|c| {
                    let s = sums.get(&c.id).unwrap_or(&empty);
                    let coverage_days_left = match (c.delivered, versions) {
                        (Some(d), Some(vs)) => v
                            .version
                            .as_deref()
                            .and_then(|code| vs.iter().find(|t| t.code == code))
                            .or_else(|| terms::terms_for(vs, v.model.as_deref(), d))
                            .and_then(|t| days_left(t, d, c.opened, c.km, c.component)),
                        _ => None,
                    };
                    AuditClaim {
                        point: c.point.clone(),
                        vin: c.vin.clone(),
                        customer: c.customer.clone(),
                        address: c.address.clone(),
                        component: c.component,
                        opened: c.opened,
                        coverage_days_left,
                        lines: s.lines.clone(),
                        in_period: true,
                    }
                })
                .collect();
            let inputs = rules::inputs(&audit);
            for (k, c) in list.iter().enumerate() {
                let s = sums.get(&c.id).unwrap_or(&empty);
                let input = inputs[k];
                let in_service = v.delivered.filter(|d| c.opened >= *d);
                // The first counted claim (day, then id) of its component on the vehicle, in service.
                let first_of_component = in_service.is_some()
                    && c.component.is_some()
                    && !list[..k].iter().any(|p| {
                        p.component == c.component && v.delivered.is_some_and(|d| p.opened >= d)
                    });
                let first_of_repair = !list
                    .iter()
                    .any(|p| p.repair_order == c.repair_order && p.id < c.id);
                let first_of_repair_component = !list.iter().any(|p| {
                    p.repair_order == c.repair_order && p.component == c.component && p.id < c.id
                });
                let pays = ClaimStatus::parse("status", &c.status).is_ok_and(ClaimStatus::pays);
                let t = |x: &str| Val::T(Some(x.to_string()));
                let b = |x: bool| Val::N(Some(i64::from(x)));
                let n = |x: i64| Val::N(Some(x));
                let opened = c.opened.to_string();
                rows.push(vec![
                    t(&c.id),
                    t(&c.vehicle),
                    t(&v.owner),
                    t(&c.point),
                    Val::T(v.model.clone()),
                    Val::T(c.component.map(|g| g.as_str().to_string())),
                    t(&c.number),
                    t(&c.vin),
                    t(&c.status),
                    t(&c.currency),
                    t(&c.repair_order),
                    Val::T(v.delivered.map(quarter_of)),
                    Val::T(v.delivered.map(|d| d.to_string())),
                    t(&opened),
                    t(&opened[..7]),
                    Val::T(c.address.clone()),
                    Val::T(c.customer.clone()),
                    Val::N(in_service.map(|d| months_between(d, c.opened) + 1)),
                    Val::N(in_service.map(|d| (c.opened - d).whole_days())),
                    b(first_of_component),
                    b(first_of_repair),
                    b(first_of_repair_component),
                    n(c.km),
                    n(s.parts),
                    n(s.labour),
                    n(s.sublet),
                    n(s.recovered),
                    n(c.charged_back),
                    n(s.cost),
                    n(s.claimed),
                    n(s.labour_centi),
                    n(if pays { s.approved - c.charged_back } else { 0 }),
                    Val::N(input.repeat_gap),
                    Val::N(input.coverage_days_left),
                    Val::N(input.over_flat_bp),
                    Val::N(input.repairable_max_minor),
                    b(input.duplicate_in_claim),
                    Val::N(input.duplicate_gap),
                    b(input.analysed),
                    b(input.no_trouble),
                ]);
            }
        }

        let mut tx = self.store.begin().await?;
        // One refresh writes at a time (SQLite has one writer anyway): two readers that found the
        // same marks would otherwise insert the same rows.
        if self.store.engine() == crate::Engine::Postgres {
            // (Counted, so the Any driver never sees the function's `void`.)
            sqlx::query("SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock(1807)) x")
                .execute(&mut *tx)
                .await?;
        }
        for table in ["claim_facts", "vehicle_facts"] {
            let sql = format!("DELETE FROM {table} WHERE vehicle_id IN ({list})");
            let mut q = sqlx::query(&sql);
            for id in ids {
                q = q.bind(*id);
            }
            q.execute(&mut *tx).await?;
        }
        // Vehicles.
        let vrows: Vec<(&String, &VehicleRow)> = vehicles.iter().collect();
        for chunk in vrows.chunks(ROWS_PER_INSERT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("({})", placeholders(i * 8 + 1, 8)))
                .collect();
            let sql = format!(
                "INSERT INTO vehicle_facts (vehicle_id, owner_id, model, delivered_on, delivered_day, latest_km, latest_on, metres_per_day) \
                 VALUES {}",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for (id, v) in chunk {
                let seen = latest.get(id.as_str());
                let rate = match (v.delivered, seen) {
                    (Some(d), Some((km, at))) if (*at - d).whole_days() >= 30 => {
                        Some(km * 1000 / (*at - d).whole_days())
                    }
                    _ => None,
                };
                q = q
                    .bind(id.as_str())
                    .bind(v.owner.as_str())
                    .bind(v.model.clone())
                    .bind(v.delivered.map(|d| d.to_string()))
                    .bind(v.delivered.map(|d| i64::from(d.to_julian_day())))
                    .bind(seen.map(|s| s.0))
                    .bind(seen.map(|s| s.1.to_string()))
                    .bind(rate);
            }
            q.execute(&mut *tx).await?;
        }
        let width = FACT_COLUMNS.split(',').count();
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("({})", placeholders(i * width + 1, width)))
                .collect();
            let sql = format!(
                "INSERT INTO claim_facts ({FACT_COLUMNS}) VALUES {}",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for row in chunk {
                for v in row {
                    q = match v {
                        Val::T(x) => q.bind(x.clone()),
                        Val::N(x) => q.bind(*x),
                    };
                }
            }
            q.execute(&mut *tx).await?;
        }
        // The markers read before the facts were computed; a change since has raised the version.
        for chunk in marked.chunks(ROWS_PER_INSERT) {
            let cond: Vec<String> = (0..chunk.len())
                .map(|i| format!("(vehicle_id = ${} AND version = ${})", 2 * i + 1, 2 * i + 2))
                .collect();
            let sql = format!("DELETE FROM fact_dirty WHERE {}", cond.join(" OR "));
            let mut q = sqlx::query(&sql);
            for (id, version) in chunk {
                q = q.bind(id.as_str()).bind(*version);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

impl Warranty<'_> {
    /// What the claim-local rules judged of each claim a service point opened after `from` up to
    /// `on` (claim id and inputs, by day): the facts behind its flags.
    pub async fn claim_inputs(
        self,
        scope: &crate::scope::Scope,
        point: &str,
        from: Date,
        on: Date,
    ) -> Result<Vec<(String, rules::ClaimInputs)>, StoreError> {
        if !scope.permits(point, aftersales_domain::org::Permission::WarrantyAudit) {
            return Err(StoreError::NotFound);
        }
        self.refresh_facts().await?;
        type Raw = (
            String,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            i64,
            Option<i64>,
            i64,
            i64,
        );
        let rows: Vec<Raw> = sqlx::query_as(
            "SELECT claim_id, repeat_gap, coverage_days_left, over_flat_bp, repairable_max_minor, duplicate_in_claim, \
             duplicate_gap, analysed, no_trouble FROM claim_facts WHERE point_id = $1 AND opened_on > $2 AND opened_on <= $3 \
             ORDER BY opened_on, claim_id",
        )
        .bind(point)
        .bind(from.to_string())
        .bind(on.to_string())
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, repeat, left, over, repairable, dup, dup_gap, analysed, ntf)| {
                    (
                        id,
                        rules::ClaimInputs {
                            repeat_gap: repeat,
                            coverage_days_left: left,
                            over_flat_bp: over,
                            repairable_max_minor: repairable,
                            duplicate_in_claim: dup != 0,
                            duplicate_gap: dup_gap,
                            analysed: analysed != 0,
                            no_trouble: ntf != 0,
                        },
                    )
                },
            )
            .collect())
    }
}
