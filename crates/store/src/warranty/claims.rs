//! Warranty claims through the network: made at a service point from a repair-order job's
//! warranty (or goodwill) lines, reviewed by the importer where one stands between the service
//! point and the brand (none does in a brand's own market), decided by the brand's headquarters. The rules (which step leads where, what a claim
//! must state, line decisions, deadlines, recovery) are `domain::warranty::claims`; this file reads
//! the facts, checks the caller's party and writes each step with its event in one transaction.
//! A claim is seen by the organisations in its line (the service point and those above it) and
//! by nobody else.

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

    /// Makes a claim (a draft) from one job of a repair order: the job's lines with pay type
    /// warranty (goodwill for a goodwill claim), the three Cs, the vehicle's VIN and delivery day,
    /// the repair order's days, after `domain::warranty::claims::check_claim`.
    pub async fn create_claim(
        self,
        scope: &Scope,
        input: &ClaimInput,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        type JobRow = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            i64,
        );
        let job: Option<JobRow> = sqlx::query_as(
            "SELECT j.repair_order_id, r.organisation_id, j.complaint, j.cause, j.correction, j.technician_id, r.vehicle_id, \
             j.approval, r.created_at FROM ro_jobs j JOIN repair_orders r ON r.id = j.repair_order_id WHERE j.id = $1",
        )
        .bind(&input.job_id)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some((
            ro_id,
            org,
            complaint,
            cause,
            correction,
            technician,
            vehicle_id,
            approval,
            ro_created,
        )) = job
        else {
            return Err(StoreError::NotFound);
        };
        if !scope.permits(&org, Permission::WarrantyRead)
            && !scope.permits(&org, Permission::CrmRead)
        {
            return Err(StoreError::NotFound);
        }
        scope.require(&org, Permission::WarrantyClaim)?;
        let mut errs = ValidationErrors::default();
        let claim_type = errs.take(ClaimType::parse("claim_type", &input.claim_type));
        let campaign = text("campaign", input.campaign.as_deref(), 40, &mut errs);
        let causal_part = text("causal_part", input.causal_part.as_deref(), 40, &mut errs);
        let component = input
            .component_group
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .and_then(|c| errs.take(ComponentGroup::parse("component_group", c)));
        let preauth = text("preauth", input.preauth.as_deref(), 40, &mut errs);
        let codes = dtcs(&input.dtcs, &mut errs);
        if approval == "declined" {
            errs.push(
                FieldError::new(
                    "job_id",
                    Rule::NotAllowed,
                    "the customer declined this job; there is nothing to claim",
                )
                .hint("wc-err-declined"),
            );
        }
        let Some(vehicle_id) = vehicle_id else {
            return Err(ValidationErrors::single(
                "job_id",
                Rule::NotAllowed,
                "the repair order has no vehicle to claim for",
            )
            .into());
        };
        let taken: Option<String> =
            sqlx::query_scalar("SELECT number FROM warranty_claims WHERE job_id = $1")
                .bind(&input.job_id)
                .fetch_optional(&self.store.pool)
                .await?;
        if let Some(n) = taken {
            errs.push(
                FieldError::new(
                    "job_id",
                    Rule::Unique,
                    format!("this job is already claimed as {n}"),
                )
                .hint("wc-err-claimed"),
            );
        }
        let v = self.store.crm().get_vehicle(scope, &vehicle_id).await?;
        let odometer_km = input
            .odometer_km
            .or_else(|| v.odometer.first().map(|r| r.km));
        let pay = match claim_type {
            Some(ClaimType::Goodwill) => PayType::Goodwill,
            _ => PayType::Warranty,
        };
        type LineSrc = (
            String,
            String,
            Option<String>,
            String,
            i64,
            i64,
            Option<i64>,
        );
        let src: Vec<LineSrc> = sqlx::query_as(
            "SELECT l.id, l.kind, l.code, l.description, l.quantity_centi, l.unit_price_minor, o.hours_centi \
             FROM ro_lines l LEFT JOIN labour_operations o ON o.id = l.labour_operation_id \
             WHERE l.job_id = $1 AND l.pay_type = $2 ORDER BY l.created_at, l.id",
        )
        .bind(&input.job_id)
        .bind(pay.as_str())
        .fetch_all(&self.store.pool)
        .await?;
        let mut offered = Vec::with_capacity(src.len());
        for (id, kind, code, _, qty, price, frt) in &src {
            let kind = decode("ro_lines", "kind", kind, LineKind::parse)?;
            let reason = input.over_reasons.get(id).map(|r| r.trim().to_string());
            if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
                errs.push(FieldError::new(
                    "over_reason",
                    Rule::TooLong,
                    "over_reason must be at most 500 characters",
                ));
            }
            offered.push(OfferedLine {
                kind,
                code: code.clone(),
                quantity_centi: *qty,
                amount_minor: line_total(*price, *qty),
                flat_rate_centi: if kind == LineKind::Labour { *frt } else { None },
                over_reason: reason.filter(|r| !r.is_empty()),
            });
        }
        if let Some(unknown) = input
            .over_reasons
            .keys()
            .find(|k| !src.iter().any(|l| &l.0 == *k))
        {
            errs.push(FieldError::new(
                "over_reasons",
                Rule::Unknown,
                format!("{unknown} is not a line of this job's claim"),
            ));
        }
        let currency = self.store.workshop().currency_of(&org).await?;
        let brand_code: Option<String> = sqlx::query_scalar(
            "SELECT b.code FROM organisations o JOIN brands b ON b.id = o.brand_id WHERE o.id = $1",
        )
        .bind(&org)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some(claim_type) = claim_type else {
            return Err(errs.into_result().err().unwrap_or_default().into());
        };
        let parts_under_warranty = if claim_type == ClaimType::PartsWarranty {
            let zone = self.store.org().zone_of(&org).await?;
            let came_in = zone.local(from_micros(ro_created)).date();
            self.store
                .warranty()
                .parts_under_warranty(scope, &vehicle_id, came_in, odometer_km, &ro_id)
                .await?
        } else {
            Vec::new()
        };
        let facts = ClaimFacts {
            claim_type,
            campaign: campaign.clone(),
            odometer_km,
            complaint: complaint.clone(),
            causal_part: causal_part.clone(),
            preauth: preauth.clone(),
            parts_under_warranty,
        };
        let limit = brand_code
            .as_deref()
            .and_then(|b| rules::preauth_limit(&b.to_lowercase(), &currency));
        if let Err(e) = rules::check_claim(&facts, &offered, limit) {
            errs.0.extend(e.0);
        }
        errs.into_result()?;
        let odometer_km = odometer_km.unwrap_or_default();
        let (reviewer, brand) = self.parties_of(&org).await?;
        let zone = self.store.org().zone_of(&org).await?;
        type Day = Option<(String, i64)>;
        let checked_in: Day = sqlx::query_as(
            "SELECT status, at FROM ro_events WHERE repair_order_id = $1 AND status = 'checked-in' ORDER BY at LIMIT 1",
        )
        .bind(&ro_id)
        .fetch_optional(&self.store.pool)
        .await?;
        let ready: Day = sqlx::query_as(
            "SELECT status, at FROM ro_events WHERE repair_order_id = $1 AND status IN ('ready', 'delivered') ORDER BY at LIMIT 1",
        )
        .bind(&ro_id)
        .fetch_optional(&self.store.pool)
        .await?;
        let day = |us: i64| zone.local(from_micros(us)).date().to_string();
        let opened_on = day(checked_in.map(|c| c.1).unwrap_or(ro_created));
        let closed_on = ready.map(|r| day(r.1));
        let (ro_number, position): (String, i64) = sqlx::query_as(
            "SELECT r.number, j.position FROM ro_jobs j JOIN repair_orders r ON r.id = j.repair_order_id WHERE j.id = $1",
        )
        .bind(&input.job_id)
        .fetch_one(&self.store.pool)
        .await?;
        let id = new_id();
        let number = format!("WC-{ro_number}-{position}");
        let mut tx = self.store.begin().await?;
        let at = micros(now);
        let inserted = sqlx::query(
            "INSERT INTO warranty_claims (id, number, organisation_id, reviewer_org_id, brand_org_id, repair_order_id, job_id, \
             vehicle_id, vin, claim_type, campaign, odometer_km, delivered_on, opened_on, closed_on, complaint, cause, correction, \
             dtcs, causal_part, technician_id, preauth, currency, status, appealed, step_since, step_due, created_by, created_at, \
             updated_at, version, component_group) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
             $20, $21, $22, $23, 'draft', 0, $24, NULL, $25, $24, $24, 1, $26) ON CONFLICT (job_id) DO NOTHING",
        )
        .bind(&id)
        .bind(&number)
        .bind(&org)
        .bind(&reviewer)
        .bind(&brand)
        .bind(&ro_id)
        .bind(&input.job_id)
        .bind(&vehicle_id)
        .bind(&v.vin)
        .bind(claim_type.as_str())
        .bind(&campaign)
        .bind(odometer_km)
        .bind(&v.delivery_date)
        .bind(&opened_on)
        .bind(&closed_on)
        .bind(&complaint)
        .bind(&cause)
        .bind(&correction)
        .bind(serde_json::to_string(&codes).map_err(|e| StoreError::Internal(e.to_string()))?)
        .bind(&causal_part)
        .bind(&technician)
        .bind(&preauth)
        .bind(&currency)
        .bind(at)
        .bind(scope.user_id())
        .bind(component.map(ComponentGroup::as_str))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(ValidationErrors::single(
                "job_id",
                Rule::Unique,
                "this job has been claimed meanwhile",
            )
            .into());
        }
        for (i, ((ro_line, _, code, description, qty, price, _), o)) in
            src.iter().zip(&offered).enumerate()
        {
            sqlx::query(
                "INSERT INTO warranty_claim_lines (id, claim_id, ro_line_id, position, kind, code, description, quantity_centi, \
                 unit_price_minor, claimed_minor, flat_rate_centi, over_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(new_id())
            .bind(&id)
            .bind(ro_line)
            .bind(i64::try_from(i).unwrap_or(i64::MAX))
            .bind(o.kind.as_str())
            .bind(code)
            .bind(description)
            .bind(qty)
            .bind(price)
            .bind(o.amount_minor)
            .bind(o.flat_rate_centi)
            .bind(&o.over_reason)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.claim(scope, &id, now).await
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

    /// Takes a step on a claim as the party whose move it is: submit (or resubmit), approve
    /// (line by line: a line paid less needs a reason code, and makes it a partial approval),
    /// reject with a reason code, send back for information, appeal once. Written with its event
    /// in one transaction, against the version the caller read.
    pub async fn step(
        self,
        scope: &Scope,
        id: &str,
        version: i64,
        input: &ClaimStepInput,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        let Some(r) = self.row(id).await? else {
            return Err(StoreError::NotFound);
        };
        if !scope.permits(&r.organisation_id, Permission::WarrantyRead) {
            return Err(StoreError::NotFound);
        }
        let status = decode("warranty_claims", "status", &r.status, ClaimStatus::parse)?;
        let mut errs = ValidationErrors::default();
        let action = ClaimAction::parse("action", &input.action).map_err(ValidationErrors::from)?;
        let reason = input
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .and_then(|s| errs.take(ReasonCode::parse("reason", s)));
        let note = text("note", input.note.as_deref(), 2000, &mut errs);
        // Whose move it is: the action must be one the caller may take now.
        let allowed = Self::actions_for(scope, &r, status);
        let wanted = if action == ClaimAction::ApprovePartly {
            ClaimAction::Approve
        } else {
            action
        };
        if !allowed.contains(&wanted) {
            let party_perm = match status.holder() {
                Party::ServicePoint => (r.organisation_id.as_str(), Permission::WarrantyClaim),
                Party::Importer => (
                    r.reviewer_org_id.as_deref().unwrap_or(&r.organisation_id),
                    Permission::WarrantyReview,
                ),
                Party::Brand => (r.brand_org_id.as_str(), Permission::WarrantyDecide),
            };
            if !scope.permits(party_perm.0, party_perm.1) {
                return Err(StoreError::Forbidden(format!(
                    "your roles do not allow {}",
                    party_perm.1.describe()
                )));
            }
        }
        match action {
            ClaimAction::Reject if reason.is_none() => errs.push(
                FieldError::new("reason", Rule::Required, "a rejection needs a reason code")
                    .hint("wc-err-reject-reason"),
            ),
            ClaimAction::Return | ClaimAction::Appeal if note.is_none() => errs.push(
                FieldError::new(
                    "note",
                    Rule::Required,
                    "say what the other party should know",
                )
                .hint("wc-err-note"),
            ),
            _ => {}
        }
        let line_rows: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, claimed_minor, importer_minor FROM warranty_claim_lines WHERE claim_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.store.pool)
        .await?;
        let mut decisions = Vec::new();
        let mut reduced = false;
        if wanted == ClaimAction::Approve {
            let mut given: Vec<Option<LineDecision>> = vec![None; line_rows.len()];
            // Which input entry speaks for each claim line: errors name the caller's `lines.N`.
            let mut from_input: Vec<Option<usize>> = vec![None; line_rows.len()];
            for (i, d) in input.lines.iter().enumerate() {
                let Some(pos) = line_rows.iter().position(|l| l.0 == d.line_id) else {
                    errs.push(FieldError::new(
                        format!("lines.{i}.line_id"),
                        Rule::Unknown,
                        "not a line of this claim",
                    ));
                    continue;
                };
                let amount = errs.take(parse_centi(
                    &format!("lines.{i}.approved"),
                    &d.approved,
                    0,
                    i64::MAX / 4,
                ));
                let reason = d
                    .reason
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .and_then(|s| errs.take(ReasonCode::parse(&format!("lines.{i}.reason"), s)));
                from_input[pos] = Some(i);
                if let Some(approved_minor) = amount {
                    given[pos] = Some(LineDecision {
                        approved_minor,
                        reason,
                    });
                }
            }
            let claimed: Vec<i64> = line_rows.iter().map(|l| l.1).collect();
            match rules::check_decisions(&claimed, &given) {
                Ok((d, red)) => {
                    decisions = d;
                    reduced = red;
                }
                Err(e) => errs.0.extend(e.0.into_iter().map(|mut f| {
                    let pos = f
                        .field
                        .strip_prefix("lines.")
                        .and_then(|rest| rest.split('.').next())
                        .and_then(|n| n.parse::<usize>().ok());
                    if let Some(Some(i)) = pos.and_then(|p| from_input.get(p).copied()) {
                        if let Some((_, tail)) =
                            f.field.split_once('.').and_then(|(_, r)| r.split_once('.'))
                        {
                            f.field = format!("lines.{i}.{tail}");
                        }
                    }
                    f
                })),
            }
        }
        let next = errs.take(rules::next_status(
            status,
            action,
            r.reviewer_org_id.is_some(),
            r.appealed != 0,
            reduced,
        ));
        errs.into_result()?;
        let Some(next) = next else {
            return Err(StoreError::Internal("checked above".into()));
        };
        let recorded = if wanted == ClaimAction::Approve && reduced {
            ClaimAction::ApprovePartly
        } else {
            wanted
        };
        let party = status.holder();
        let at = micros(now);
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "UPDATE warranty_claims SET status = $1, appealed = CASE WHEN $2 = 'appeal' THEN 1 ELSE appealed END, step_since = $3, \
             step_due = $4, updated_at = $3, version = version + 1 WHERE id = $5 AND version = $6 AND status = $7",
        )
        .bind(next.as_str())
        .bind(action.as_str())
        .bind(at)
        .bind(rules::step_due(next, now).map(micros))
        .bind(id)
        .bind(version)
        .bind(status.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict { current: r.version });
        }
        let mut records = Vec::new();
        if wanted == ClaimAction::Approve {
            let col = if party == Party::Importer {
                "importer"
            } else {
                "approved"
            };
            for ((line_id, _, _), d) in line_rows.iter().zip(&decisions) {
                sqlx::query(&format!(
                    "UPDATE warranty_claim_lines SET {col}_minor = $1, {col}_reason = $2 WHERE id = $3"
                ))
                .bind(d.approved_minor)
                .bind(d.reason.map(ReasonCode::as_str))
                .bind(line_id)
                .execute(&mut *tx)
                .await?;
                records.push(StoredDecision {
                    line_id: line_id.clone(),
                    approved_minor: d.approved_minor,
                    reason: d.reason,
                });
            }
        }
        if next == ClaimStatus::Rejected {
            // A rejection pays nothing: the brand's amounts go, the importer's recommendation stays.
            sqlx::query("UPDATE warranty_claim_lines SET approved_minor = NULL, approved_reason = NULL WHERE claim_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO warranty_claim_events (id, claim_id, at, actor_id, party, action, status_after, reason, decisions, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(new_id())
        .bind(id)
        .bind(at)
        .bind(scope.user_id())
        .bind(party.as_str())
        .bind(recorded.as_str())
        .bind(next.as_str())
        .bind(reason.map(ReasonCode::as_str))
        .bind(if records.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&records).map_err(|e| StoreError::Internal(e.to_string()))?)
        })
        .bind(&note)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.claim(scope, id, now).await
    }

    /// Records a line's supplier recovery (the part returned, what its analysis found, the share
    /// the supplier pays back) on an approved claim, as its importer or brand.
    pub async fn record_recovery(
        self,
        scope: &Scope,
        claim_id: &str,
        line_id: &str,
        input: &RecoveryInput,
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        let Some(r) = self.row(claim_id).await? else {
            return Err(StoreError::NotFound);
        };
        if !scope.permits(&r.organisation_id, Permission::WarrantyRead) {
            return Err(StoreError::NotFound);
        }
        let status = decode("warranty_claims", "status", &r.status, ClaimStatus::parse)?;
        if !Self::may_record_recovery(scope, &r, status) {
            if status.pays() {
                return Err(StoreError::Forbidden(format!(
                    "your roles do not allow {}",
                    Permission::WarrantyReview.describe()
                )));
            }
            return Err(ValidationErrors::single(
                "claim_id",
                Rule::NotAllowed,
                "supplier recovery is recorded once the claim is approved",
            )
            .into());
        }
        let line: Option<(String, Option<i64>)> = sqlx::query_as(
            "SELECT kind, approved_minor FROM warranty_claim_lines WHERE id = $1 AND claim_id = $2",
        )
        .bind(line_id)
        .bind(claim_id)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some((kind, approved)) = line else {
            return Err(StoreError::NotFound);
        };
        let kind = decode("warranty_claim_lines", "kind", &kind, LineKind::parse)?;
        let mut errs = ValidationErrors::default();
        let analysis = input
            .analysis
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .and_then(|s| errs.take(PartAnalysis::parse("analysis", s)));
        errs.into_result()?;
        rules::check_recovery(kind, input.part_returned, analysis, input.recovery_pct)?;
        let amount = rules::recovery_amount(approved.unwrap_or(0), input.recovery_pct);
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "UPDATE warranty_claim_lines SET part_returned = $1, analysis = $2, recovery_pct = $3, recovery_minor = $4 WHERE id = $5",
        )
        .bind(input.part_returned.map(i64::from))
        .bind(analysis.map(PartAnalysis::as_str))
        .bind(input.recovery_pct)
        .bind(amount)
        .bind(line_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE warranty_claims SET updated_at = $1 WHERE id = $2")
            .bind(micros(now))
            .bind(claim_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.claim(scope, claim_id, now).await
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
