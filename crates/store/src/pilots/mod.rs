//! Pilots (capability pilots, issue 20): a programme run at chosen service points from a start
//! date, the KPIs it should move, its control group (chosen by hand or proposed by matching the
//! points on those KPIs before the start). The evaluation (evaluation.rs) is computed from the
//! KPIs each time it is read. A pilot belongs to the organisation it is run from (a market
//! entity or an importer) and is seen by those who read the KPIs there.

use std::collections::HashMap;

use aftersales_domain::kpi::Kpi;
use aftersales_domain::org::Permission;
use aftersales_domain::pilot::{ControlMethod, NewPilot, PilotRole};
use aftersales_domain::validation::{FieldError, Rule};
use aftersales_domain::ValidationErrors;
use time::OffsetDateTime;

use crate::crm::parse_date;
use crate::error::StoreError;
use crate::kpis::Orgs;
use crate::scope::Scope;
use crate::{decode, from_micros, micros, new_id, Ref};

pub use aftersales_api_types::pilots::{
    ControlCandidate, ControlProposalInput, DidResult, Pilot, PilotEvaluation, PilotInput,
    PilotKpiResult, PointSeries, SyntheticResult,
};

mod evaluation;

crate::capability!(
    /// Pilots: `store.pilots().evaluate(..)`.
    Pilots, pilots
);

type PilotRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    String,
    Option<String>,
    Option<String>,
    i64,
);

const SELECT: &str =
    "SELECT p.id, p.organisation_id, o.name, p.name, p.programme, p.start_date, p.end_date, \
     p.months_before, p.control_method, p.created_by, u.display_name, p.created_at FROM pilots p \
     JOIN organisations o ON o.id = p.organisation_id LEFT JOIN users u ON u.id = p.created_by";

/// Checks that `owner` is where the caller may run pilots and that every point is a service
/// point below it; the points' names.
fn check_points(
    orgs: &Orgs,
    owner: &str,
    field: &'static str,
    ids: &[String],
    errors: &mut ValidationErrors,
) -> Vec<Ref> {
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        match orgs.by_id.get(id) {
            Some(o) if o.kind == "service-point" && orgs.is_under(id, owner) => out.push(Ref {
                id: id.clone(),
                label: o.name.clone(),
            }),
            _ => errors.push(FieldError::new(
                format!("{field}.{i}"),
                Rule::Unknown,
                format!(
                    "{field}.{i} must be a service point of the organisation running the pilot"
                ),
            )),
        }
    }
    out
}

impl Pilots<'_> {
    /// The organisation a pilot is run from: one where the caller may manage the KPIs.
    fn owner(scope: &Scope, organisation_id: &str) -> Result<(), StoreError> {
        if !scope.permits(organisation_id, Permission::KpiRead) {
            return Err(StoreError::Invalid(ValidationErrors::single(
                "organisation_id",
                Rule::Unknown,
                "organisation_id must be an organisation whose KPIs you read",
            )));
        }
        scope.require(organisation_id, Permission::KpiManage)
    }

    /// Sets up a pilot.
    pub async fn create(
        self,
        scope: &Scope,
        input: &PilotInput,
        now: OffsetDateTime,
    ) -> Result<Pilot, StoreError> {
        let parsed = NewPilot::parse(
            &input.name,
            &input.programme,
            &input.start_date,
            input.end_date.as_deref(),
            input.months_before,
            &input.kpis,
            &input.pilot_points,
            &input.control_points,
            input.control_method.as_deref(),
        );
        Self::owner(scope, &input.organisation_id)?;
        let orgs = Orgs::load(&self.store.pool).await?;
        let mut errors = match &parsed {
            Ok(_) => ValidationErrors::default(),
            Err(e) => e.clone(),
        };
        let pilot_refs = check_points(
            &orgs,
            &input.organisation_id,
            "pilot_points",
            &input.pilot_points,
            &mut errors,
        );
        let control_refs = check_points(
            &orgs,
            &input.organisation_id,
            "control_points",
            &input.control_points,
            &mut errors,
        );
        errors.into_result()?;
        let p = parsed?;
        let id = new_id();
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "INSERT INTO pilots (id, organisation_id, name, programme, start_date, end_date, months_before, control_method, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&id)
        .bind(&input.organisation_id)
        .bind(&p.name)
        .bind(&p.programme)
        .bind(p.start.to_string())
        .bind(p.end.map(|d| d.to_string()))
        .bind(p.months_before)
        .bind(p.control_method.as_str())
        .bind(scope.user_id())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        for (i, k) in p.kpis.iter().enumerate() {
            sqlx::query("INSERT INTO pilot_kpis (pilot_id, kpi, position) VALUES ($1, $2, $3)")
                .bind(&id)
                .bind(k.as_str())
                .bind(i as i64)
                .execute(&mut *tx)
                .await?;
        }
        for (role, refs) in [
            (PilotRole::Pilot, &pilot_refs),
            (PilotRole::Control, &control_refs),
        ] {
            for r in refs.iter() {
                sqlx::query("INSERT INTO pilot_points (pilot_id, organisation_id, role) VALUES ($1, $2, $3)")
                    .bind(&id)
                    .bind(&r.id)
                    .bind(role.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        self.get(scope, &id).await
    }

    /// The pilots run from organisations whose KPIs the caller reads, newest start first.
    pub async fn list(self, scope: &Scope) -> Result<Vec<Pilot>, StoreError> {
        let reach = scope.orgs_with(Permission::KpiRead);
        if reach.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{SELECT} WHERE p.organisation_id IN ({}) ORDER BY p.start_date DESC, p.name",
            crate::db::placeholders(1, reach.len())
        );
        let mut q = sqlx::query_as::<_, PilotRow>(&sql);
        for o in &reach {
            q = q.bind(o);
        }
        let rows = q.fetch_all(&self.store.pool).await?;
        self.complete_all(rows).await
    }

    /// One pilot, when the caller reads the KPIs where it is run.
    pub async fn get(self, scope: &Scope, id: &str) -> Result<Pilot, StoreError> {
        let row: Option<PilotRow> = sqlx::query_as(&format!("{SELECT} WHERE p.id = $1"))
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await?;
        let row = row.ok_or(StoreError::NotFound)?;
        if !scope.permits(&row.1, Permission::KpiRead) {
            return Err(StoreError::NotFound);
        }
        self.complete(row).await
    }

    /// Ends a pilot on a day (its evaluation then reads the months up to that one).
    pub async fn end(
        self,
        scope: &Scope,
        id: &str,
        end_date: &str,
        now: OffsetDateTime,
    ) -> Result<Pilot, StoreError> {
        let p = self.get(scope, id).await?;
        let end = parse_date("end_date", end_date).map_err(|e| StoreError::Invalid(e.into()))?;
        if end < p.start_date {
            return Err(StoreError::Invalid(ValidationErrors::single(
                "end_date",
                Rule::NotAllowed,
                "end_date must not be before start_date",
            )));
        }
        scope.require(&p.organisation.id, Permission::KpiManage)?;
        sqlx::query("UPDATE pilots SET end_date = $1, ended_by = $2, ended_at = $3 WHERE id = $4")
            .bind(end.to_string())
            .bind(scope.user_id())
            .bind(micros(now))
            .bind(id)
            .execute(&self.store.pool)
            .await?;
        self.get(scope, id).await
    }

    async fn complete(&self, row: PilotRow) -> Result<Pilot, StoreError> {
        let mut all = self.complete_all(vec![row]).await?;
        all.pop().ok_or(StoreError::NotFound)
    }

    /// The pilots of `rows` with their KPIs and service points (two queries for all of them).
    async fn complete_all(&self, rows: Vec<PilotRow>) -> Result<Vec<Pilot>, StoreError> {
        let ids: Vec<&String> = rows.iter().map(|r| &r.0).collect();
        let mut kpis: HashMap<String, Vec<String>> = HashMap::new();
        let mut points: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
        for chunk in ids.chunks(500) {
            let ins = crate::db::placeholders(1, chunk.len());
            let sql = format!(
                "SELECT pilot_id, kpi FROM pilot_kpis WHERE pilot_id IN ({ins}) ORDER BY pilot_id, position"
            );
            let mut q = sqlx::query_as::<_, (String, String)>(&sql);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for (id, k) in q.fetch_all(&self.store.pool).await? {
                kpis.entry(id).or_default().push(k);
            }
            let sql = format!(
                "SELECT pp.pilot_id, pp.organisation_id, o.name, pp.role FROM pilot_points pp \
                 JOIN organisations o ON o.id = pp.organisation_id WHERE pp.pilot_id IN ({ins}) \
                 ORDER BY pp.pilot_id, o.name"
            );
            let mut q = sqlx::query_as::<_, (String, String, String, String)>(&sql);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for (id, org, name, role) in q.fetch_all(&self.store.pool).await? {
                points.entry(id).or_default().push((org, name, role));
            }
        }
        rows.into_iter()
            .map(|r| {
                let k = kpis.remove(&r.0).unwrap_or_default();
                let p = points.remove(&r.0).unwrap_or_default();
                Self::assemble(r, k, p)
            })
            .collect()
    }

    /// A pilot from its row, its KPIs in order and its service points by name.
    fn assemble(
        row: PilotRow,
        kpis: Vec<String>,
        points: Vec<(String, String, String)>,
    ) -> Result<Pilot, StoreError> {
        let (
            id,
            org,
            org_name,
            name,
            programme,
            start,
            end,
            months_before,
            method,
            by,
            by_name,
            at,
        ) = row;
        let mut pilot_points = Vec::new();
        let mut control_points = Vec::new();
        for (pid, pname, role) in points {
            let r = Ref {
                id: pid,
                label: pname,
            };
            match decode("pilot_points", "role", &role, PilotRole::parse)? {
                PilotRole::Pilot => pilot_points.push(r),
                PilotRole::Control => control_points.push(r),
            }
        }
        Ok(Pilot {
            organisation: Ref {
                id: org,
                label: org_name,
            },
            name,
            programme,
            start_date: decode("pilots", "start_date", &start, parse_date)?,
            end_date: match end {
                Some(e) => Some(decode("pilots", "end_date", &e, parse_date)?),
                None => None,
            },
            months_before,
            kpis: kpis
                .iter()
                .map(|k| decode("pilot_kpis", "kpi", k, Kpi::parse))
                .collect::<Result<_, _>>()?,
            pilot_points,
            control_points,
            control_method: decode("pilots", "control_method", &method, ControlMethod::parse)?,
            created_by: by.map(|id| Ref {
                id,
                label: by_name.unwrap_or_default(),
            }),
            created_at: from_micros(at),
            id,
        })
    }

    /// The organisations the caller may run pilots from (with their service points), nearest the
    /// top first: (the organisation, its service points).
    pub async fn owners(self, scope: &Scope) -> Result<Vec<(Ref, Vec<Ref>)>, StoreError> {
        let orgs = Orgs::load(&self.store.pool).await?;
        let manage = scope.orgs_with(Permission::KpiManage);
        let mut out: Vec<(usize, Ref, Vec<Ref>)> = manage
            .iter()
            .filter_map(|m| orgs.by_id.get(m))
            .filter(|o| matches!(o.kind.as_str(), "market-entity" | "importer" | "brand-hq"))
            .map(|o| {
                let mut points: Vec<Ref> = orgs
                    .by_id
                    .values()
                    .filter(|p| p.kind == "service-point" && orgs.is_under(&p.id, &o.id))
                    .map(|p| Ref {
                        id: p.id.clone(),
                        label: p.name.clone(),
                    })
                    .collect();
                points.sort_by(|a, b| a.label.cmp(&b.label));
                (
                    orgs.lineage(&o.id).len(),
                    Ref {
                        id: o.id.clone(),
                        label: o.name.clone(),
                    },
                    points,
                )
            })
            .filter(|(_, _, points)| !points.is_empty())
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.label.cmp(&b.1.label)));
        Ok(out.into_iter().map(|(_, o, p)| (o, p)).collect())
    }
}
