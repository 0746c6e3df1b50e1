//! Warranty claims through the network: made at a service point from a repair-order job's
//! warranty (or goodwill) lines, reviewed by the importer where one stands between the service
//! point and the brand (none does in a brand's own market), decided by the brand's headquarters. The rules (which step leads where, what a claim
//! must state, line decisions, deadlines, recovery) are `domain::warranty::claims`; this file reads
//! the facts, checks the caller's party and writes each step with its event in one transaction.
//! A claim is seen by the organisations in its line (the service point and those above it) and
//! by nobody else.
//! Here: the rows, a claim as read, the lists and the offer from a job; create.rs makes a claim,
//! steps.rs moves it and records recovery.

mod create;
mod steps;

use std::collections::BTreeMap;

use aftersales_domain::money::{format_centi, line_total, parse_centi, Money};
use aftersales_domain::org::{OrgKind, Permission};
use aftersales_domain::validation::{FieldError, Rule};
use aftersales_domain::warranty::claims::{
    self as rules, ClaimAction, ClaimFacts, ClaimStatus, ClaimType, LineDecision, OfferedLine,
    PartAnalysis, Party, ReasonCode,
};
use aftersales_domain::warranty::goodwill::ComponentGroup;
use aftersales_domain::workshop::{LineKind, PayType};
use aftersales_domain::ValidationErrors;
use time::OffsetDateTime;

use super::{
    Claim, ClaimEvent, ClaimInput, ClaimLine, ClaimOffer, ClaimStepInput, ClaimSummary,
    LineDecisionRecord, OfferLine, Reconciliation, RecoveryInput, Warranty,
};
use crate::db::placeholders;
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{decode, from_micros, micros, new_id, Ref};

/// Which claims a list shows.
#[derive(Debug, Clone, Default)]
pub struct ClaimFilter {
    pub status: Option<ClaimStatus>,
    /// Only those waiting for a step of the caller's (not merely open to their appeal).
    pub mine: bool,
    pub repair_order_id: Option<String>,
    /// Of one component group (the analysis drills down to these).
    pub component: Option<ComponentGroup>,
    /// Opened (the car came in) in this month, `YYYY-MM`.
    pub opened_month: Option<String>,
}

/// The claim row as stored.
#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    number: String,
    organisation_id: String,
    reviewer_org_id: Option<String>,
    brand_org_id: String,
    repair_order_id: String,
    job_id: String,
    vehicle_id: Option<String>,
    vin: String,
    claim_type: String,
    campaign: Option<String>,
    odometer_km: i64,
    delivered_on: Option<String>,
    opened_on: String,
    closed_on: Option<String>,
    complaint: String,
    cause: Option<String>,
    correction: Option<String>,
    dtcs: String,
    causal_part: Option<String>,
    component_group: Option<String>,
    technician_id: Option<String>,
    preauth: Option<String>,
    currency: String,
    status: String,
    appealed: i64,
    step_due: Option<i64>,
    charged_back_minor: i64,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

const COLUMNS: &str = "id, number, organisation_id, reviewer_org_id, brand_org_id, repair_order_id, job_id, vehicle_id, vin, \
    claim_type, campaign, odometer_km, delivered_on, opened_on, closed_on, complaint, cause, correction, dtcs, causal_part, \
    component_group, technician_id, preauth, currency, status, appealed, step_due, charged_back_minor, created_at, updated_at, version";

#[derive(sqlx::FromRow)]
struct LineRow {
    id: String,
    ro_line_id: String,
    position: i64,
    kind: String,
    code: Option<String>,
    description: String,
    quantity_centi: i64,
    unit_price_minor: i64,
    claimed_minor: i64,
    flat_rate_centi: Option<i64>,
    over_reason: Option<String>,
    importer_minor: Option<i64>,
    importer_reason: Option<String>,
    approved_minor: Option<i64>,
    approved_reason: Option<String>,
    part_returned: Option<i64>,
    analysis: Option<String>,
    recovery_pct: Option<i64>,
    recovery_minor: Option<i64>,
}

const LINE_COLUMNS: &str = "id, ro_line_id, position, kind, code, description, quantity_centi, unit_price_minor, claimed_minor, \
    flat_rate_centi, over_reason, importer_minor, importer_reason, approved_minor, approved_reason, part_returned, analysis, \
    recovery_pct, recovery_minor";

/// A line decision as an event keeps it (JSON in `warranty_claim_events.decisions`).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredDecision {
    line_id: String,
    approved_minor: i64,
    reason: Option<ReasonCode>,
}

fn reason_of(table: &'static str, r: Option<String>) -> Result<Option<ReasonCode>, StoreError> {
    r.map(|r| decode(table, "reason", &r, ReasonCode::parse))
        .transpose()
}

fn text(field: &str, v: Option<&str>, max: usize, errs: &mut ValidationErrors) -> Option<String> {
    let v = v.map(str::trim).filter(|v| !v.is_empty())?;
    if v.chars().count() > max {
        errs.push(FieldError::new(
            field,
            Rule::TooLong,
            format!("{field} must be at most {max} characters"),
        ));
        return None;
    }
    Some(v.to_string())
}

/// Diagnostic trouble codes as the car's diagnosis shows them: letters, digits and dashes.
fn dtcs(input: &[String], errs: &mut ValidationErrors) -> Vec<String> {
    let mut out = Vec::new();
    for (i, d) in input.iter().enumerate() {
        let d = d.trim().to_string();
        if d.is_empty() {
            continue;
        }
        if d.len() > 24
            || !d
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            errs.push(FieldError::new(
                format!("dtcs.{i}"),
                Rule::Format,
                "a diagnostic code is letters, digits, dashes and underscores, at most 24",
            ));
        } else if !out.contains(&d) {
            out.push(d);
        }
    }
    if out.len() > 20 {
        errs.push(FieldError::new(
            "dtcs",
            Rule::TooLong,
            "at most 20 diagnostic codes",
        ));
    }
    out
}

impl Warranty<'_> {
    /// The importer between a service point and its brand's headquarters, if any, and the
    /// headquarters itself.
    pub(super) async fn parties_of(
        self,
        org: &str,
    ) -> Result<(Option<String>, String), StoreError> {
        let lineage = self.store.org().lineage(org).await?;
        let sql = format!(
            "SELECT id, kind FROM organisations WHERE id IN ({})",
            placeholders(1, lineage.len())
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for o in &lineage {
            q = q.bind(o);
        }
        let kinds: BTreeMap<String, String> =
            q.fetch_all(&self.store.pool).await?.into_iter().collect();
        let kind_of = |o: &String| kinds.get(o).map(String::as_str);
        let first = |k: OrgKind| {
            lineage
                .iter()
                .skip(1)
                .find(|o| kind_of(o) == Some(k.as_str()))
                .cloned()
        };
        // A brand's own market entity does not review: the brand does (Tesla Norway's claims
        // go to Tesla's headquarters); an importer between them does.
        let reviewer = first(OrgKind::Importer);
        let brand = first(OrgKind::BrandHq).ok_or_else(|| {
            StoreError::Invalid(ValidationErrors::single(
                "organisation_id",
                Rule::NotAllowed,
                "the service point belongs to no brand headquarters that could decide a claim",
            ))
        })?;
        Ok((reviewer, brand))
    }

    async fn row(self, id: &str) -> Result<Option<Row>, StoreError> {
        Ok(sqlx::query_as::<_, Row>(&format!(
            "SELECT {COLUMNS} FROM warranty_claims WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await?)
    }

    /// The steps the caller may take on a claim as it stands.
    fn actions_for(scope: &Scope, r: &Row, status: ClaimStatus) -> Vec<ClaimAction> {
        use ClaimAction as A;
        match status {
            ClaimStatus::Draft | ClaimStatus::Returned
                if scope.permits(&r.organisation_id, Permission::WarrantyClaim) =>
            {
                vec![A::Submit]
            }
            ClaimStatus::Rejected | ClaimStatus::PartlyApproved
                if r.appealed == 0
                    && scope.permits(&r.organisation_id, Permission::WarrantyClaim) =>
            {
                vec![A::Appeal]
            }
            ClaimStatus::ImporterReview
                if r.reviewer_org_id
                    .as_deref()
                    .is_some_and(|o| scope.permits(o, Permission::WarrantyReview)) =>
            {
                vec![A::Approve, A::Reject, A::Return]
            }
            ClaimStatus::BrandReview
                if scope.permits(&r.brand_org_id, Permission::WarrantyDecide) =>
            {
                vec![A::Approve, A::Reject, A::Return]
            }
            _ => Vec::new(),
        }
    }

    fn may_record_recovery(scope: &Scope, r: &Row, status: ClaimStatus) -> bool {
        status.pays()
            && (scope.permits(&r.brand_org_id, Permission::WarrantyDecide)
                || r.reviewer_org_id
                    .as_deref()
                    .is_some_and(|o| scope.permits(o, Permission::WarrantyReview)))
    }

    pub(super) async fn names(
        self,
        ids: &[&str],
        table: &str,
        col: &str,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let sql = format!(
            "SELECT id, {col} FROM {table} WHERE id IN ({})",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        Ok(q.fetch_all(&self.store.pool).await?.into_iter().collect())
    }

    /// One claim as the caller sees it, with its lines, history, reconciliation and the steps
    /// the caller may take.
    pub async fn claim(
        self,
        scope: &Scope,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        let Some(r) = self.row(id).await? else {
            return Err(StoreError::NotFound);
        };
        if !scope.permits(&r.organisation_id, Permission::WarrantyRead) {
            return Err(StoreError::NotFound);
        }
        let status = decode("warranty_claims", "status", &r.status, ClaimStatus::parse)?;
        let claim_type = decode(
            "warranty_claims",
            "claim_type",
            &r.claim_type,
            ClaimType::parse,
        )?;
        let line_rows = sqlx::query_as::<_, LineRow>(&format!(
            "SELECT {LINE_COLUMNS} FROM warranty_claim_lines WHERE claim_id = $1 ORDER BY position"
        ))
        .bind(id)
        .fetch_all(&self.store.pool)
        .await?;
        let cur = r.currency.as_str();
        let m = |minor: i64| Money::new(minor, cur);
        let mut lines = Vec::with_capacity(line_rows.len());
        for l in line_rows {
            lines.push(ClaimLine {
                kind: decode("warranty_claim_lines", "kind", &l.kind, LineKind::parse)?,
                quantity: format_centi(l.quantity_centi),
                unit_price: m(l.unit_price_minor),
                claimed: m(l.claimed_minor),
                flat_rate_hours: l.flat_rate_centi.map(format_centi),
                importer: l.importer_minor.map(m),
                importer_reason: reason_of("warranty_claim_lines", l.importer_reason)?,
                approved: l.approved_minor.map(m),
                approved_reason: reason_of("warranty_claim_lines", l.approved_reason)?,
                part_returned: l.part_returned.map(|v| v != 0),
                analysis: l
                    .analysis
                    .map(|a| decode("warranty_claim_lines", "analysis", &a, PartAnalysis::parse))
                    .transpose()?,
                recovery_pct: l.recovery_pct,
                recovery: l.recovery_minor.map(m),
                id: l.id,
                ro_line_id: l.ro_line_id,
                position: l.position,
                code: l.code,
                description: l.description,
                over_reason: l.over_reason,
            });
        }
        type EventRow = (
            i64,
            Option<String>,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let event_rows: Vec<EventRow> = sqlx::query_as(
            "SELECT e.at, u.display_name, e.party, e.action, e.status_after, e.reason, e.decisions, e.note \
             FROM warranty_claim_events e LEFT JOIN users u ON u.id = e.actor_id WHERE e.claim_id = $1 ORDER BY e.at, e.id",
        )
        .bind(id)
        .fetch_all(&self.store.pool)
        .await?;
        let mut events = Vec::with_capacity(event_rows.len());
        for (at, actor, party, action, after, reason, decisions, note) in event_rows {
            let t = "warranty_claim_events";
            events.push(ClaimEvent {
                at: from_micros(at),
                actor,
                party: decode(t, "party", &party, Party::parse)?,
                action: decode(t, "action", &action, ClaimAction::parse)?,
                status_after: decode(t, "status_after", &after, ClaimStatus::parse)?,
                reason: reason_of(t, reason)?,
                decisions: match decisions {
                    Some(d) => serde_json::from_str::<Vec<StoredDecision>>(&d)
                        .map_err(|e| {
                            StoreError::Internal(format!("{t}.decisions does not read: {e}"))
                        })?
                        .into_iter()
                        .map(|d| LineDecisionRecord {
                            line_id: d.line_id,
                            approved: Money::new(d.approved_minor, cur),
                            reason: d.reason,
                        })
                        .collect(),
                    None => Vec::new(),
                },
                note,
            });
        }
        let claimed: i64 = lines.iter().filter_map(|l| l.claimed.minor()).sum();
        let approved = status.pays().then(|| {
            lines
                .iter()
                .filter_map(|l| l.approved.as_ref().and_then(Money::minor))
                .sum::<i64>()
        });
        let recovered: i64 = lines
            .iter()
            .filter_map(|l| l.recovery.as_ref().and_then(Money::minor))
            .sum();
        let audits = self.audit_findings(id, cur).await?;
        let reconciliation = match approved.map(|a| a - r.charged_back_minor) {
            Some(a) => {
                let invoiced = self.invoiced(&lines).await?;
                Some(Reconciliation {
                    approved: m(a),
                    invoiced: m(invoiced),
                    difference: m(invoiced - a),
                })
            }
            None => None,
        };
        let mut org_ids = vec![r.organisation_id.as_str(), r.brand_org_id.as_str()];
        if let Some(o) = r.reviewer_org_id.as_deref() {
            org_ids.push(o);
        }
        let orgs = self.names(&org_ids, "organisations", "name").await?;
        let org_ref = |id: &str| Ref {
            id: id.to_string(),
            label: orgs.get(id).cloned().unwrap_or_default(),
        };
        let ro_number: String =
            sqlx::query_scalar("SELECT number FROM repair_orders WHERE id = $1")
                .bind(&r.repair_order_id)
                .fetch_one(&self.store.pool)
                .await?;
        let technician = match r.technician_id.as_deref() {
            Some(t) => {
                let n = self.names(&[t], "users", "display_name").await?;
                Some(Ref {
                    id: t.to_string(),
                    label: n.get(t).cloned().unwrap_or_default(),
                })
            }
            None => None,
        };
        let step_due = r.step_due.map(from_micros);
        Ok(Claim {
            actions: Self::actions_for(scope, &r, status),
            may_record_recovery: Self::may_record_recovery(scope, &r, status),
            organisation: org_ref(&r.organisation_id),
            reviewer: r.reviewer_org_id.as_deref().map(org_ref),
            brand: org_ref(&r.brand_org_id),
            repair_order: Ref {
                id: r.repair_order_id.clone(),
                label: ro_number,
            },
            dtcs: serde_json::from_str(&r.dtcs).map_err(|e| {
                StoreError::Internal(format!("warranty_claims.dtcs does not read: {e}"))
            })?,
            holder: status.holder(),
            overdue: step_due.is_some_and(|d| d < now),
            step_due,
            claimed: m(claimed),
            approved: approved.map(m),
            recovered: m(recovered),
            charged_back: m(r.charged_back_minor),
            audits,
            reconciliation,
            lines,
            events,
            technician,
            status,
            claim_type,
            appealed: r.appealed != 0,
            created_at: from_micros(r.created_at),
            updated_at: from_micros(r.updated_at),
            id: r.id,
            number: r.number,
            vehicle_id: r.vehicle_id,
            vin: r.vin,
            campaign: r.campaign,
            odometer_km: r.odometer_km,
            delivered_on: r.delivered_on,
            opened_on: r.opened_on,
            closed_on: r.closed_on,
            complaint: r.complaint,
            cause: r.cause,
            correction: r.correction,
            causal_part: r.causal_part,
            component_group: r
                .component_group
                .as_deref()
                .map(|c| {
                    decode(
                        "warranty_claims",
                        "component_group",
                        c,
                        ComponentGroup::parse,
                    )
                })
                .transpose()?,
            preauth: r.preauth,
            currency: r.currency,
            version: r.version,
        })
    }

    /// What the repair order invoiced for the claim's lines: issued invoices less credit notes, net.
    async fn invoiced(self, lines: &[ClaimLine]) -> Result<i64, StoreError> {
        if lines.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "SELECT d.kind, bl.net_minor FROM billing_lines bl JOIN billing_documents d ON d.id = bl.document_id \
             WHERE d.status = 'issued' AND bl.ro_line_id IN ({})",
            placeholders(1, lines.len())
        );
        let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
        for l in lines {
            q = q.bind(&l.ro_line_id);
        }
        Ok(q.fetch_all(&self.store.pool)
            .await?
            .into_iter()
            .map(|(kind, net)| if kind == "invoice" { net } else { -net })
            .sum())
    }

    /// The claims the caller may see, the nearest deadline first, at most 200.
    pub async fn claims(
        self,
        scope: &Scope,
        filter: &ClaimFilter,
        now: OffsetDateTime,
    ) -> Result<Vec<ClaimSummary>, StoreError> {
        scope.require_somewhere(Permission::WarrantyRead)?;
        let orgs = scope.orgs_with(Permission::WarrantyRead);
        let mut sql = format!(
            "SELECT {COLUMNS} FROM warranty_claims WHERE organisation_id IN ({})",
            placeholders(1, orgs.len())
        );
        let mut n = orgs.len();
        if filter.status.is_some() {
            n += 1;
            sql.push_str(&format!(" AND status = ${n}"));
        }
        if filter.repair_order_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND repair_order_id = ${n}"));
        }
        if filter.component.is_some() {
            n += 1;
            sql.push_str(&format!(" AND component_group = ${n}"));
        }
        if filter.opened_month.is_some() {
            n += 1;
            sql.push_str(&format!(" AND SUBSTR(opened_on, 1, 7) = ${n}"));
        }
        sql.push_str(" ORDER BY CASE WHEN step_due IS NULL THEN 1 ELSE 0 END, step_due, updated_at DESC LIMIT 500");
        let mut q = sqlx::query_as::<_, Row>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        if let Some(s) = filter.status {
            q = q.bind(s.as_str());
        }
        if let Some(ro) = &filter.repair_order_id {
            q = q.bind(ro);
        }
        if let Some(c) = filter.component {
            q = q.bind(c.as_str());
        }
        if let Some(m) = &filter.opened_month {
            q = q.bind(m);
        }
        let rows = q.fetch_all(&self.store.pool).await?;
        let mut keep = Vec::new();
        for r in rows {
            let status = decode("warranty_claims", "status", &r.status, ClaimStatus::parse)?;
            // Waiting for the caller: a step that is theirs to take (an appeal they may still
            // lodge on a decided claim does not keep it waiting).
            if filter.mine
                && !Self::actions_for(scope, &r, status)
                    .iter()
                    .any(|a| *a != ClaimAction::Appeal)
            {
                continue;
            }
            keep.push((r, status));
            if keep.len() == 200 {
                break;
            }
        }
        let ids: Vec<&str> = keep.iter().map(|(r, _)| r.id.as_str()).collect();
        type Sums = (String, i64, Option<i64>);
        let sums: BTreeMap<String, (i64, Option<i64>)> = if ids.is_empty() {
            BTreeMap::new()
        } else {
            let sql = format!(
                "SELECT claim_id, CAST(SUM(claimed_minor) AS BIGINT), CAST(SUM(approved_minor) AS BIGINT) FROM warranty_claim_lines WHERE claim_id IN ({}) GROUP BY claim_id",
                placeholders(1, ids.len())
            );
            let mut q = sqlx::query_as::<_, Sums>(&sql);
            for id in &ids {
                q = q.bind(*id);
            }
            q.fetch_all(&self.store.pool)
                .await?
                .into_iter()
                .map(|(id, c, a)| (id, (c, a)))
                .collect()
        };
        let org_ids: Vec<&str> = keep
            .iter()
            .map(|(r, _)| r.organisation_id.as_str())
            .collect();
        let orgs = self.names(&org_ids, "organisations", "name").await?;
        let ro_ids: Vec<&str> = keep
            .iter()
            .map(|(r, _)| r.repair_order_id.as_str())
            .collect();
        let ros = self.names(&ro_ids, "repair_orders", "number").await?;
        let mut out = Vec::with_capacity(keep.len());
        for (r, status) in keep {
            let (claimed, approved) = sums.get(&r.id).copied().unwrap_or((0, None));
            let step_due = r.step_due.map(from_micros);
            out.push(ClaimSummary {
                organisation: Ref {
                    label: orgs.get(&r.organisation_id).cloned().unwrap_or_default(),
                    id: r.organisation_id.clone(),
                },
                repair_order: Ref {
                    label: ros.get(&r.repair_order_id).cloned().unwrap_or_default(),
                    id: r.repair_order_id.clone(),
                },
                claim_type: decode(
                    "warranty_claims",
                    "claim_type",
                    &r.claim_type,
                    ClaimType::parse,
                )?,
                holder: status.holder(),
                claimed: Money::new(claimed, &r.currency),
                approved: if status.pays() {
                    approved.map(|a| Money::new(a, &r.currency))
                } else {
                    None
                },
                overdue: step_due.is_some_and(|d| d < now),
                step_due,
                status,
                updated_at: from_micros(r.updated_at),
                id: r.id,
                number: r.number,
                job_id: r.job_id,
                vin: r.vin,
            });
        }
        Ok(out)
    }

    /// What a claim from one job would carry: the three Cs, the latest km, its warranty and
    /// goodwill lines (labour above the flat rate marked), and the claim already made from it.
    pub async fn claim_offer(self, scope: &Scope, job_id: &str) -> Result<ClaimOffer, StoreError> {
        type JobRow = (
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
        );
        let job: Option<JobRow> = sqlx::query_as(
            "SELECT j.repair_order_id, r.organisation_id, j.title, j.complaint, j.cause, j.correction, r.vehicle_id, r.number \
             FROM ro_jobs j JOIN repair_orders r ON r.id = j.repair_order_id WHERE j.id = $1",
        )
        .bind(job_id)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some((ro_id, org, title, complaint, cause, correction, vehicle_id, ro_number)) = job
        else {
            return Err(StoreError::NotFound);
        };
        if !scope.permits(&org, Permission::CrmRead) {
            return Err(StoreError::NotFound);
        }
        scope.require(&org, Permission::WarrantyClaim)?;
        let (vin, odometer_km) = match vehicle_id.as_deref() {
            Some(v) => {
                let v = self.store.crm().get_vehicle(scope, v).await?;
                (Some(v.vin.clone()), v.odometer.first().map(|r| r.km))
            }
            None => (None, None),
        };
        let currency = self.store.workshop().currency_of(&org).await?;
        type LineSrc = (
            String,
            String,
            Option<String>,
            String,
            i64,
            i64,
            Option<i64>,
            String,
        );
        let rows: Vec<LineSrc> = sqlx::query_as(
            "SELECT l.id, l.kind, l.code, l.description, l.quantity_centi, l.unit_price_minor, o.hours_centi, l.pay_type \
             FROM ro_lines l LEFT JOIN labour_operations o ON o.id = l.labour_operation_id \
             WHERE l.job_id = $1 AND l.pay_type IN ('warranty', 'goodwill') ORDER BY l.created_at, l.id",
        )
        .bind(job_id)
        .fetch_all(&self.store.pool)
        .await?;
        let mut warranty_lines = Vec::new();
        let mut goodwill_lines = Vec::new();
        for (id, kind, code, description, qty, price, frt, pay) in rows {
            let kind = decode("ro_lines", "kind", &kind, LineKind::parse)?;
            let frt = if kind == LineKind::Labour { frt } else { None };
            let line = OfferLine {
                ro_line_id: id,
                kind,
                code,
                description,
                quantity: format_centi(qty),
                amount: Money::new(line_total(price, qty), &currency),
                flat_rate_hours: frt.map(format_centi),
                over_flat_rate: frt.is_some_and(|f| qty > f),
            };
            if pay == "goodwill" {
                goodwill_lines.push(line);
            } else {
                warranty_lines.push(line);
            }
        }
        let existing: Option<(String, String)> =
            sqlx::query_as("SELECT id, number FROM warranty_claims WHERE job_id = $1")
                .bind(job_id)
                .fetch_optional(&self.store.pool)
                .await?;
        let brand_code: Option<String> = sqlx::query_scalar(
            "SELECT b.code FROM organisations o JOIN brands b ON b.id = o.brand_id WHERE o.id = $1",
        )
        .bind(&org)
        .fetch_optional(&self.store.pool)
        .await?;
        Ok(ClaimOffer {
            job_id: job_id.to_string(),
            job_title: title,
            repair_order: Ref {
                id: ro_id,
                label: ro_number,
            },
            vin,
            complaint,
            cause,
            correction,
            odometer_km,
            warranty_lines,
            goodwill_lines,
            existing: existing.map(|(id, label)| Ref { id, label }),
            preauth_above: brand_code
                .as_deref()
                .and_then(|b| rules::preauth_limit(&b.to_lowercase(), &currency))
                .map(|m| Money::new(m, &currency)),
        })
    }
}
