//! The money facts: invoiced revenue with its lines at cost, claimed amounts, and the hours
//! the contribution margin charges.

use super::*;

/// Issued invoices and credit notes (not those to the brand: the claims stand for them) and
/// warranty claims past draft, with their costs.
pub(super) async fn load_money(
    pool: &sqlx::AnyPool,
    orgs_tree: &Orgs,
    base: &[B],
    in_orgs: &str,
    (pf, pt): (usize, usize),
    window: Period,
    f: &mut Facts,
) -> Result<(), StoreError> {
    let doc_where = format!(
        "d.status = 'issued' AND d.organisation_id IN ({in_orgs}) AND d.issued_at >= ${pf} AND d.issued_at < ${pt} \
         AND (d.pay_type IS NULL OR d.pay_type <> 'warranty')"
    );
    let sql = format!(
        "SELECT d.id, d.number, d.organisation_id, d.kind, d.pay_type, d.currency, d.issued_at, d.repair_order_id, v.model, r.created_by \
         FROM billing_documents d LEFT JOIN repair_orders r ON r.id = d.repair_order_id LEFT JOIN vehicles v ON v.id = r.vehicle_id \
         WHERE {doc_where} ORDER BY d.issued_at, d.id"
    );
    type DocRow = (
        String,
        Option<String>,
        String,
        String,
        Option<String>,
        String,
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let docs: Vec<DocRow> = bind_all_as(sqlx::query_as(&sql), base)
        .fetch_all(pool)
        .await?;
    let sql = format!(
        "SELECT bl.document_id, bl.kind, bl.net_minor, bl.quantity_centi, rl.unit_cost_minor, rl.job_id \
         FROM billing_lines bl LEFT JOIN ro_lines rl ON rl.id = bl.ro_line_id \
         WHERE bl.document_id IN (SELECT d.id FROM billing_documents d WHERE {doc_where})"
    );
    type BillLine = (String, String, i64, i64, Option<i64>, Option<String>);
    let lines: Vec<BillLine> = bind_all_as(sqlx::query_as(&sql), base)
        .fetch_all(pool)
        .await?;
    let sql = format!(
        "SELECT c.job_id, CAST(SUM(c.stopped_at - c.started_at) AS BIGINT) FROM ro_clockings c WHERE c.stopped_at IS NOT NULL AND c.repair_order_id IN \
         (SELECT d.repair_order_id FROM billing_documents d WHERE {doc_where}) GROUP BY c.job_id"
    );
    let clocked: HashMap<String, i64> = bind_all_as(sqlx::query_as::<_, (String, i64)>(&sql), base)
        .fetch_all(pool)
        .await?
        .into_iter()
        .collect();
    let sql = format!(
        "SELECT t.repair_order_id, CAST(SUM(t.done_at - t.on_the_way_at) AS BIGINT) FROM transport_jobs t \
         WHERE t.done_at IS NOT NULL AND t.on_the_way_at IS NOT NULL AND t.repair_order_id IN \
         (SELECT d.repair_order_id FROM billing_documents d WHERE {doc_where}) GROUP BY t.repair_order_id"
    );
    let mut driven: HashMap<String, i64> =
        bind_all_as(sqlx::query_as::<_, (String, i64)>(&sql), base)
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
    let mut by_doc: HashMap<&str, Vec<&BillLine>> = HashMap::new();
    for l in &lines {
        by_doc.entry(l.0.as_str()).or_default().push(l);
    }
    let mut jobs_used: std::collections::HashSet<String> = Default::default();
    for (id, number, org, kind, pay_type, currency, issued, ro, model, advisor) in &docs {
        let sign = if kind == "credit-note" { -1 } else { 1 };
        let mut m = MoneyFact {
            item: ItemRef {
                kind: KpiItemKind::Invoice,
                id: id.clone(),
                label: number.clone().unwrap_or_default(),
            },
            dims: Dims {
                model: model.clone(),
                advisor: advisor.clone(),
                pay_type: pay_type.as_deref().map(pay).transpose()?,
                ..orgs_tree.dims(org)
            },
            at: from_micros(*issued),
            currency: currency.clone(),
            revenue_minor: 0,
            parts_cost_minor: 0,
            sublet_cost_minor: 0,
            labour_seconds: 0,
            driver_seconds: 0,
        };
        for (_, kind, net, q, cost, job) in by_doc.get(id.as_str()).into_iter().flatten() {
            if !matches!(kind.as_str(), "labour" | "part" | "sublet") {
                continue;
            }
            m.revenue_minor += sign * net;
            let at_cost = cost.unwrap_or(0) * q / 100;
            match kind.as_str() {
                "part" => m.parts_cost_minor += sign * at_cost,
                "sublet" => m.sublet_cost_minor += sign * at_cost,
                _ => {}
            }
            if sign > 0 && kind == "labour" {
                match job.as_ref().and_then(|j| clocked.get(j).map(|c| (j, *c))) {
                    Some((j, c)) => {
                        if jobs_used.insert(j.clone()) {
                            m.labour_seconds += c / 1_000_000;
                        }
                    }
                    // Nothing clocked: the hours billed.
                    None => m.labour_seconds += q * 36,
                }
            }
        }
        if sign > 0 {
            if let Some(ro) = ro {
                m.driver_seconds = driven.remove(ro).unwrap_or(0) / 1_000_000;
            }
        }
        f.money.push(m);
    }

    // Claims: what was claimed from the brand, opened in the window.
    let mut binds: Vec<B> = base[..base.len() - 3].to_vec();
    let n = binds.len();
    binds.push(B::S(window.from.to_string()));
    binds.push(B::S(window.to.to_string()));
    let claim_where = format!(
        "c.status <> 'draft' AND c.organisation_id IN ({in_orgs}) AND c.opened_on >= ${} AND c.opened_on <= ${}",
        n + 1,
        n + 2
    );
    let sql = format!(
        "SELECT c.id, c.number, c.organisation_id, c.currency, c.opened_on, c.job_id, v.model, r.created_by, c.technician_id \
         FROM warranty_claims c JOIN repair_orders r ON r.id = c.repair_order_id LEFT JOIN vehicles v ON v.id = c.vehicle_id WHERE {claim_where}"
    );
    type ClaimRow = (
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let claims: Vec<ClaimRow> = bind_all_as(sqlx::query_as(&sql), &binds)
        .fetch_all(pool)
        .await?;
    if claims.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT cl.claim_id, cl.kind, cl.claimed_minor, cl.quantity_centi, rl.unit_cost_minor FROM warranty_claim_lines cl \
         JOIN ro_lines rl ON rl.id = cl.ro_line_id WHERE cl.claim_id IN (SELECT c.id FROM warranty_claims c WHERE {claim_where})"
    );
    let lines: Vec<ClaimLine> = bind_all_as(sqlx::query_as(&sql), &binds)
        .fetch_all(pool)
        .await?;
    let sql = format!(
        "SELECT k.job_id, CAST(SUM(k.stopped_at - k.started_at) AS BIGINT) FROM ro_clockings k WHERE k.stopped_at IS NOT NULL AND k.job_id IN \
         (SELECT c.job_id FROM warranty_claims c WHERE {claim_where}) GROUP BY k.job_id"
    );
    let clocked: HashMap<String, i64> =
        bind_all_as(sqlx::query_as::<_, (String, i64)>(&sql), &binds)
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
    let mut by_claim: HashMap<&str, Vec<&ClaimLine>> = HashMap::new();
    for l in &lines {
        by_claim.entry(l.0.as_str()).or_default().push(l);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    for (id, number, org, currency, opened, job, model, advisor, technician) in claims {
        let day = Date::parse(&opened, &fmt).map_err(|_| StoreError::Corrupt {
            table: "warranty_claims",
            column: "opened_on",
            value: opened.clone(),
        })?;
        let mut m = MoneyFact {
            item: ItemRef {
                kind: KpiItemKind::Claim,
                id: id.clone(),
                label: number,
            },
            dims: Dims {
                model,
                advisor,
                technician,
                pay_type: Some(PayType::Warranty),
                ..orgs_tree.dims(&org)
            },
            at: day
                .with_hms(12, 0, 0)
                .map_or(day.midnight(), |t| t)
                .assume_utc(),
            currency,
            revenue_minor: 0,
            parts_cost_minor: 0,
            sublet_cost_minor: 0,
            labour_seconds: clocked.get(&job).copied().unwrap_or(0) / 1_000_000,
            driver_seconds: 0,
        };
        let clocked_any = m.labour_seconds > 0;
        for (_, kind, claimed, q, cost) in by_claim.get(id.as_str()).into_iter().flatten() {
            m.revenue_minor += claimed;
            match kind.as_str() {
                "part" => m.parts_cost_minor += cost * q / 100,
                "sublet" => m.sublet_cost_minor += cost * q / 100,
                // Nothing clocked: the hours claimed.
                "labour" if !clocked_any => m.labour_seconds += q * 36,
                _ => {}
            }
        }
        f.money.push(m);
    }
    Ok(())
}
