//! Data isolation, proven by walking every route: every API operation of the OpenAPI document and
//! every UI route, called by users of foreign organisations against another organisation's data.
//! Addressed resources answer 403/404, lists hold nothing foreign, and nothing changes.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{Auth, Browser, TestApp};

#[tokio::test]
async fn nothing_leaks_across_organisations_sqlite() {
    let app = TestApp::on(
        aftersales_store::testing::sqlite().await.unwrap(),
        Default::default(),
    )
    .await;
    walk(&app).await;
}

#[tokio::test]
async fn nothing_leaks_across_organisations_postgres() {
    if let Some(db) = aftersales_store::testing::postgres().await {
        let app = TestApp::on(db, Default::default()).await;
        walk(&app).await;
    }
}

struct Victim {
    org: String,
    importer: String,
    user: String,
    token_id: String,
    token: String,
    customer: String,
    vehicle: String,
    case: String,
    task: String,
    ro: String,
    job: String,
    line: String,
    outbox: String,
    bay: String,
    part: String,
    doc: String,
    entity: String,
    transport: String,
    photo: String,
    agreement: String,
    claim: String,
    claim_line: String,
    goodwill: String,
    campaign: String,
    audit: String,
    standards_audit: String,
    evidence: String,
    action: String,
    catalogue: String,
    record: String,
    session: String,
    kpi_target: String,
    pilot: String,
}

const VICTIM_NAME: &str = "Beatriz Quaresma";
const VICTIM_VIN: &str = "LPSED3KA9NL123456";

/// Routes of shared market records (the CRM): a workshop of the same market legitimately sees
/// them, so only users of the other brand walk them as intruders.
fn is_market_shared(template: &str) -> bool {
    [
        "/customers",
        "/vehicles",
        "/search",
        "/vin-decoder",
        // Who is due and the market's campaigns: the market's shared CRM, by design.
        "/reminders",
        "/campaigns",
        // A market's recalls are seen by all its service points, by design.
        "/recall-campaigns",
        "/warranty/campaigns",
        // The brand's standards catalogue and the market's additions hold for every service point.
        "/standard-catalogues",
        "/network/catalogue",
    ]
        .iter()
        .any(|p| template.contains(p))
        // Opening a case for a customer of one's own market is legitimate too.
        || template == "/api/v1/cases"
        || template == "/cases"
}

async fn ids(app: &TestApp, admin: &str) -> (Vec<Value>, Vec<Value>) {
    let orgs = app
        .api(
            Method::GET,
            "/api/v1/organisations?limit=200",
            Auth::Bearer(admin),
            None,
            &[],
        )
        .await
        .json();
    let users = app
        .api(
            Method::GET,
            "/api/v1/users?limit=200",
            Auth::Bearer(admin),
            None,
            &[],
        )
        .await
        .json();
    (
        orgs["items"].as_array().unwrap().clone(),
        users["items"].as_array().unwrap().clone(),
    )
}

/// Everything that identifies data the intruder must not see.
async fn markers(
    app: &TestApp,
    admin_token: &str,
    intruder_token: &str,
    victim: &Victim,
) -> Vec<String> {
    let (all_orgs, all_users) = ids(app, admin_token).await;
    let (my_orgs, my_users) = ids(app, intruder_token).await;
    let mine = |list: &[Value], id: &Value| list.iter().any(|x| x["id"] == *id);
    // Organisations above the intruder's own own the market's shared records (customers,
    // vehicles): their ids appear there legitimately, so they are not foreign.
    let parent_of = |id: &Value| {
        all_orgs
            .iter()
            .find(|o| o["id"] == *id)
            .map(|o| o["parent_id"].clone())
            .unwrap_or(Value::Null)
    };
    let mut above: Vec<Value> = Vec::new();
    for o in &my_orgs {
        let mut p = parent_of(&o["id"]);
        while !p.is_null() {
            above.push(p.clone());
            p = parent_of(&p);
        }
    }
    let my_orgs_own = my_orgs.clone();
    let my_orgs: Vec<Value> = my_orgs
        .iter()
        .cloned()
        .chain(above.into_iter().map(|id| json!({"id": id})))
        .collect();
    let mut out = vec![
        victim.token_id.clone(),
        victim.token[..10].to_string(),
        victim.customer.clone(),
        victim.vehicle.clone(),
        VICTIM_NAME.to_string(),
        VICTIM_VIN.to_string(),
    ];
    for o in all_orgs.iter().filter(|o| !mine(&my_orgs, &o["id"])) {
        out.push(o["id"].as_str().unwrap().to_string());
        out.push(o["name"].as_str().unwrap().to_string());
    }
    // People who work only at organisations above the intruder's (the market's manager, the
    // importer's staff who audit it) are known to it by name: not foreign either.
    let above_only = |u: &Value| {
        let ms = u["memberships"].as_array().cloned().unwrap_or_default();
        !ms.is_empty()
            && ms.iter().all(|m| {
                mine(&my_orgs, &m["organisation_id"])
                    && !my_orgs_own.iter().any(|o| o["id"] == m["organisation_id"])
            })
    };
    for u in all_users
        .iter()
        .filter(|u| !mine(&my_users, &u["id"]) && !above_only(u))
    {
        for k in ["id", "display_name", "email"] {
            if let Some(s) = u[k].as_str() {
                out.push(s.to_string());
            }
        }
        out.push(format!("\"{}\"", u["username"].as_str().unwrap()));
        out.push(format!(">{}<", u["username"].as_str().unwrap()));
    }
    out
}

fn assert_clean(ctx: &str, body: &str, markers: &[String]) {
    for m in markers {
        assert!(
            !body.contains(m.as_str()),
            "{ctx}: the body holds foreign data {m:?}:\n{}",
            &body[..body.len().min(2000)]
        );
    }
}

/// The customer's own pages: reached by an unguessable token, without an account.
fn is_public_by_token(template: &str) -> bool {
    template.starts_with("/s/") || template.starts_with("/survey/") || template.starts_with("/d/")
}

fn fill(template: &str, v: &Victim) -> String {
    // A KPI of the victim's service point: its figures, breakdown and items, and its downloads.
    if template.starts_with("/kpis/{code}") || template == "/api/v1/kpis/{code}" {
        let p = template
            .replace("{code}", "csat")
            .replace("{file}", "export.xlsx");
        return format!("{p}?organisation_id={}&period=2026-11", v.org);
    }
    let claims = template.contains("/warranty-claims/") || template.contains("/warranty/claims/");
    let template = if claims {
        template.replace("{line_id}", &v.claim_line)
    } else {
        template.to_string()
    };
    let mut p = template
        .replace("{organisation_id}", &v.org)
        .replace("{role}", "service-advisor")
        .replace("{vin}", VICTIM_VIN)
        .replace("{category}", "technical")
        .replace("{priority}", "normal")
        .replace("{job_id}", &v.job)
        .replace("{line_id}", &v.line)
        .replace("{user_id}", &v.user)
        .replace("{event}", "ro-ready")
        .replace("{channel}", "email")
        .replace("{language}", "pt")
        // The victim brand's manufacturer code: only Polestar's headquarters keeps it.
        .replace("{wmi}", "LPS")
        .replace("{code}", "service")
        .replace("{day}", "2026-11-23")
        .replace("{period}", "2026-Q4")
        // A guessed status-page or survey token: the only key to those pages.
        .replace("{token}", "guessed-token-0000000000000000")
        .replace("{rule}", "repeat-repair")
        .replace("{claim_id}", &v.claim)
        .replace("{service_point_id}", &v.org)
        .replace("{party}", "self");
    let id = if claims {
        &v.claim
    } else if p.contains("/warranty/audits/") {
        &v.audit
    } else if p.contains("/training-records/") || p.contains("/training/records/") {
        &v.record
    } else if p.contains("/training-sessions/") || p.contains("/training/sessions/") {
        &v.session
    } else if p.contains("/standard-audits/") || p.contains("/network/audits/") {
        &v.standards_audit
    } else if p.contains("/standard-evidence/") || p.contains("/network/evidence/") {
        &v.evidence
    } else if p.contains("/corrective-actions/") || p.contains("/network/actions/") {
        &v.action
    } else if p.contains("/standard-catalogues/") || p.contains("/network/catalogue/") {
        &v.catalogue
    } else if p.contains("/kpi-targets/") || p.contains("/kpis/targets/") {
        &v.kpi_target
    } else if p.contains("/pilots/") {
        &v.pilot
    } else if p.contains("/goodwill-requests/") || p.contains("/warranty/goodwill/") {
        &v.goodwill
    } else if p.contains("/recall-campaigns/") || p.contains("/warranty/campaigns/") {
        &v.campaign
    } else if p.contains("/transport-jobs/") || p.contains("/logistics/jobs/") {
        &v.transport
    } else if p.contains("/handover-photos/") || p.contains("/logistics/photos/") {
        &v.photo
    } else if p.contains("/loaner-agreements/") || p.contains("/logistics/agreements/") {
        &v.agreement
    } else if p.contains("/billing-documents/") || p.contains("/billing/documents/") {
        &v.doc
    } else if p.contains("/legal-entities/") || p.contains("/billing/entities/") {
        &v.entity
    } else if p.contains("/cases/") {
        &v.case
    } else if p.contains("/api-tokens/") || p.contains("/profile/tokens/") {
        &v.token_id
    } else if p.contains("/tasks/") {
        &v.task
    } else if p.contains("/repair-orders/") {
        &v.ro
    } else if p.contains("/outbox/") {
        &v.outbox
    } else if p.contains("/parts/") {
        &v.part
    } else if p.contains("/bays/") {
        &v.bay
    } else if p.contains("/technicians/") {
        &v.user
    } else if p.contains("/customers/") {
        &v.customer
    } else if p.contains("/vehicles/") {
        &v.vehicle
    } else if p.contains("/users/") {
        &v.user
    } else {
        &v.org
    };
    p = p.replace("{id}", id);
    assert!(
        !p.contains('{'),
        "the walk does not know how to fill {template}"
    );
    p
}

fn api_body(method: &str, template: &str, v: &Victim) -> Option<Value> {
    match (method, template) {
        ("post", "/api/v1/organisations") => Some(
            json!({"parent_id": v.importer, "kind": "service-point", "name": "Intruder Point"}),
        ),
        ("patch", "/api/v1/organisations/{id}") => Some(json!({"name": "Hacked"})),
        ("post", "/api/v1/users") => Some(
            json!({"username": "intruder", "display_name": "In Truder", "language": "en",
            "password": "intruder password", "memberships": [{"organisation_id": v.org, "role": "administrator"}]}),
        ),
        ("patch", "/api/v1/users/{id}") => Some(json!({"disabled": true})),
        ("post", "/api/v1/users/{id}/roles") => {
            Some(json!({"organisation_id": v.org, "role": "administrator"}))
        }
        ("patch", "/api/v1/me") => Some(json!({"language": "en"})),
        ("post", "/api/v1/pilots") => {
            Some(json!({"organisation_id": v.importer, "name": "Intruder",
            "programme": "Intruder", "start_date": "2026-08-01", "kpis": ["csat"],
            "pilot_points": [v.org], "control_points": [v.importer]}))
        }
        ("post", "/api/v1/pilots/control-proposals") => Some(json!({"organisation_id": v.importer,
            "start_date": "2026-08-01", "kpis": ["csat"], "pilot_points": [v.org]})),
        ("post", "/api/v1/pilots/{id}/end") => Some(json!({"end_date": "2026-10-31"})),
        ("post", "/api/v1/kpi-targets") => Some(json!({"organisation_id": v.org, "kpi": "csat",
            "valid_from": "2026-11", "green": "1", "amber": "0"})),
        ("put", "/api/v1/organisations/{id}/kpi-costs") => {
            Some(json!({"technician_per_hour": "1", "driver_per_hour": "1"}))
        }
        ("put", "/api/v1/organisations/{id}/service-schedules/{code}") => Some(json!({
            "kind": "service", "name": {"nb": "Inntrenger", "en": "Intruder", "pt": "Intruso"},
            "first_months": 12, "every_months": 12})),
        ("post", "/api/v1/vehicles/{id}/maintenance") => {
            Some(json!({"schedule_id": "none", "done_on": "2026-11-01"}))
        }
        ("post", "/api/v1/campaigns") => Some(json!({"organisation_id": v.org,
            "title_nb": "Inntrenger", "title_en": "Intruder", "title_pt": "Intruso",
            "message_nb": "Inntrengerens melding", "message_en": "The intruder's message",
            "message_pt": "A mensagem do intruso", "send_on": "2026-11-30"})),
        ("post", "/api/v1/me/password") => {
            Some(json!({"current_password": "nope", "new_password": "another long password"}))
        }
        ("post", "/api/v1/me/api-tokens") => Some(json!({"name": "intruder"})),
        ("post", "/api/v1/customers") | ("put", "/api/v1/customers/{id}") => {
            Some(json!({"kind": "person", "name": "Intruder Person",
            "phone": "+47 900 00 000", "language": "en", "preferred_channel": "sms", "country": "NO"}))
        }
        ("post", "/api/v1/customers/{id}/contacts") => Some(json!({"name": "Intruder Contact"})),
        ("post", "/api/v1/customers/{id}/consents") => Some(
            json!({"purpose": "marketing", "channel": "email", "granted": true,
            "source": "intruder", "wording": "I consent to everything"}),
        ),
        ("post", "/api/v1/customers/{id}/timeline") => {
            Some(json!({"kind": "note", "summary": "Intruder was here"}))
        }
        ("post", "/api/v1/vehicles") => Some(json!({"vin": "5YJSA1H12FFP71790"})),
        ("post", "/api/v1/vehicles/{id}/odometer-readings") => {
            Some(json!({"km": 1, "source": "intruder", "reason": "resetting the clock"}))
        }
        ("post", "/api/v1/vehicles/{id}/ownership") => {
            Some(json!({"customer_id": v.customer, "from_date": "2030-01-01"}))
        }
        ("post", "/api/v1/cases/{id}/triage") => Some(json!({"kind": "workshop"})),
        ("post", "/api/v1/cases/{id}/handoff") => Some(json!({"to_organisation_id": v.org})),
        ("put", "/api/v1/organisations/{id}/routing-rules/{category}") => {
            Some(json!({"target_organisation_id": v.org}))
        }
        ("post", "/api/v1/organisations/{id}/knowledge-articles") => {
            Some(json!({"category": "technical", "keywords": "intruder",
            "fix_kind": "guidance", "title_nb": "Intruder", "title_en": "Intruder", "title_pt": "Intruder",
            "steps_nb": "Intruder", "steps_en": "Intruder", "steps_pt": "Intruder"}))
        }
        ("post", "/api/v1/inbound-email") => Some(
            json!({"from": "beatriz@example.pt", "to": "lisboa@polestar-service.example",
            "subject": "Intruder mail", "text": "Hello", "message_id": "<intruder@example>"}),
        ),
        ("post", "/api/v1/organisations/{id}/inbound-addresses") => {
            Some(json!({"address": "intruder@example.com"}))
        }
        ("put", "/api/v1/organisations/{id}/web-intake") => Some(json!({"enabled": false})),
        ("post", "/api/v1/cases") => Some(
            json!({"customer_id": v.customer, "channel": "phone", "category": "technical", "priority": "normal", "subject": "Intruder case"}),
        ),
        ("post", "/api/v1/cases/{id}/messages") => {
            Some(json!({"body": "Intruder message", "to_customer": true}))
        }
        ("post", "/api/v1/cases/{id}/status") => Some(json!({"status": "resolved"})),
        ("post", "/api/v1/cases/{id}/escalation") => Some(json!({"note": "Intruder"})),
        ("post", "/api/v1/cases/{id}/tasks") => {
            Some(json!({"title": "Intruder task", "due_at": "2026-11-24T10:00:00Z"}))
        }
        ("put", "/api/v1/organisations/{id}/sla-policies/{category}/{priority}") => {
            Some(json!({"first_response_minutes": 1, "resolution_minutes": 2}))
        }
        ("put", "/api/v1/organisations/{id}/opening-hours") => {
            Some(json!([{"weekday": 6, "opens": "00:00", "closes": "00:01"}]))
        }
        ("put", "/api/v1/service-points/{id}/workshop-settings") => {
            Some(json!({"labour_rate": "1", "self_booking": true}))
        }
        ("post", "/api/v1/bays") => Some(json!({"organisation_id": v.org, "name": "Intruder bay"})),
        ("put", "/api/v1/bays/{id}/active") => Some(json!({"active": false})),
        ("put", "/api/v1/service-points/{id}/technicians/{user_id}") => {
            Some(json!({"mobile": true, "shifts": []}))
        }
        ("post", "/api/v1/service-points/{id}/technicians/{user_id}/certifications") => {
            Some(json!({"code": "hv-work", "issued_on": "2026-01-01"}))
        }
        ("post", "/api/v1/service-points/{id}/technicians/{user_id}/absences") => Some(
            json!({"starts_at": "2026-11-24T08:00:00Z", "ends_at": "2026-11-24T10:00:00Z", "reason": "Intruder"}),
        ),
        ("post", "/api/v1/labour-operations") => Some(
            json!({"organisation_id": v.org, "code": "INTRUDER", "description": "Intruder", "hours": "1"}),
        ),
        ("post", "/api/v1/parts") => Some(
            json!({"organisation_id": v.org, "part_number": "INTRUDER", "description": "Intruder", "price": "1", "cost": "1"}),
        ),
        ("put", "/api/v1/parts/{id}/stock") => {
            Some(json!({"organisation_id": v.org, "quantity": "0"}))
        }
        ("post", "/api/v1/appointments") => Some(
            json!({"organisation_id": v.org, "customer_id": v.customer, "kind": "workshop",
            "operations": ["PS-REVISAO"], "starts_at": "2026-11-24T09:00:00Z"}),
        ),
        ("post", "/api/v1/repair-orders") => Some(
            json!({"organisation_id": v.org, "customer_id": v.customer, "complaint": "Intruder order"}),
        ),
        ("post", "/api/v1/repair-orders/{id}/status") => Some(json!({"status": "diagnosing"})),
        ("post", "/api/v1/repair-orders/{id}/jobs") => {
            Some(json!({"title": "Intruder", "complaint": "Intruder job"}))
        }
        ("patch", "/api/v1/repair-orders/{id}/jobs/{job_id}") => Some(json!({"cause": "Intruder"})),
        ("post", "/api/v1/repair-orders/{id}/jobs/{job_id}/lines") => {
            Some(json!({"kind": "sublet", "description": "Intruder", "unit_price": "1"}))
        }
        ("post", "/api/v1/repair-orders/{id}/jobs/{job_id}/assignment") => {
            Some(json!({"technician_id": v.user}))
        }
        ("post", "/api/v1/repair-orders/{id}/jobs/{job_id}/clock") => Some(json!({"action": "on"})),
        ("post", "/api/v1/repair-orders/{id}/jobs/{job_id}/decision") => {
            Some(json!({"approve": true}))
        }
        ("put", "/api/v1/repair-orders/{id}/eta") => Some(json!({"eta": null})),
        ("put", "/api/v1/vin-wmis/{wmi}") => Some(
            json!({"brand_code": "POLESTAR", "manufacturer": "Intruder", "check_digit_required": false, "models": []}),
        ),
        ("post", "/api/v1/repair-orders/{id}/appointment/move") => {
            Some(json!({"starts_at": "2026-11-24T10:00:00Z"}))
        }
        ("put", "/api/v1/organisations/{id}/notification-rules") => {
            Some(json!({"event": "ro-ready", "channel": "sms", "enabled": false}))
        }
        (
            "put",
            "/api/v1/organisations/{id}/notification-templates/{event}/{channel}/{language}",
        ) => Some(json!({"subject": "Intruder", "body": "Intruder"})),
        ("post", "/api/v1/notification-templates/preview") => Some(
            json!({"channel": "email", "language": "pt", "subject": "Olá {name}", "body": "{link}"}),
        ),
        ("put", "/api/v1/organisations/{id}/legal-entity") => {
            Some(json!({"region": "PT", "name": "Intruder Lda", "nif": "123456789"}))
        }
        ("post", "/api/v1/legal-entities/{id}/series") => {
            Some(json!({"doc_type": "FT", "code": "X", "validation_code": "INTRUDER1"}))
        }
        ("post", "/api/v1/billing-documents") => {
            Some(json!({"organisation_id": v.org, "customer_id": v.customer,
            "lines": [{"description": "Intruder", "quantity": "1", "unit_price": "1"}]}))
        }
        ("put", "/api/v1/billing-documents/{id}") => Some(
            json!({"lines": [{"description": "Intruder", "quantity": "1", "unit_price": "1"}]}),
        ),
        ("post", "/api/v1/billing-documents/{id}/credit-note") => {
            Some(json!({"reason": "Intruder"}))
        }
        ("post", "/api/v1/billing-documents/{id}/payments") => {
            Some(json!({"amount": "1", "method": "cash", "paid_on": "2026-11-21"}))
        }
        ("post", "/api/v1/transport-jobs") => {
            Some(json!({"repair_order_id": v.ro, "kind": "pickup",
            "window_from": "2026-11-23T09:00:00Z", "window_to": "2026-11-23T11:00:00Z"}))
        }
        ("put", "/api/v1/transport-jobs/{id}/lock") => Some(json!({"held": true})),
        ("put", "/api/v1/transport-jobs/{id}/window") => Some(json!({
            "window_from": "2026-11-23T09:00:00Z", "window_to": "2026-11-23T11:00:00Z"})),
        ("put", "/api/v1/transport-jobs/{id}/place") => {
            Some(json!({"latitude": "38.7", "longitude": "-9.1"}))
        }
        ("post", "/api/v1/transport-jobs/{id}/status") => Some(json!({"status": "cancelled"})),
        ("post", "/api/v1/organisations/{id}/warranty-terms") => {
            Some(json!({"code": "intruder", "coverages": []}))
        }
        ("post", "/api/v1/recall-campaigns") => {
            Some(json!({"organisation_id": v.org, "code": "X1",
            "kind": "recall", "title_nb": "x", "title_en": "x", "title_pt": "x", "remedy": "workshop",
            "operation": "PS-DIAG", "vins_csv": VICTIM_VIN}))
        }
        ("post", "/api/v1/recall-campaigns/{id}/done") => {
            Some(json!({"vin": VICTIM_VIN, "how": "workshop", "organisation_id": v.org}))
        }
        ("post", "/api/v1/goodwill-requests") => {
            Some(json!({"job_id": v.job, "component_group": "body", "odometer_km": 1000}))
        }
        ("post", "/api/v1/goodwill-requests/{id}/decision") => Some(json!({"action": "approve"})),
        ("post", "/api/v1/goodwill-requests/{id}/job") => Some(json!({"job_id": v.job})),
        ("patch", "/api/v1/warranty/audit-rules/{rule}") => Some(json!({"weight": 0})),
        ("post", "/api/v1/warranty/audits") => Some(json!({"service_point_id": v.org})),
        ("post", "/api/v1/warranty/audits/{id}/claims/{claim_id}") => {
            Some(json!({"result": "charged-back", "amount": "1.00", "reason": "other"}))
        }
        ("put", "/api/v1/organisations/{id}/goodwill-budgets/{period}") => {
            Some(json!({"amount_minor": 1}))
        }
        ("post", "/api/v1/organisations/{id}/goodwill-policy") => Some(json!({"code": "intruder",
            "needs_network_history": false, "needs_first_owner": false, "bands": []})),
        ("post", "/api/v1/warranty-claims") => {
            Some(json!({"job_id": v.job, "claim_type": "warranty", "odometer_km": 1000}))
        }
        ("post", "/api/v1/warranty-claims/{id}/steps") => {
            Some(json!({"action": "reject", "reason": "other", "note": "Intruder"}))
        }
        ("put", "/api/v1/warranty-claims/{id}/lines/{line_id}/recovery") => {
            Some(json!({"recovery_pct": 100}))
        }
        ("post", "/api/v1/vehicles/{id}/battery-readings") => Some(json!({"read_on": "2026-11-20",
            "odometer_km": 1000, "soh_pct": 50, "source": "customer"})),
        ("put", "/api/v1/organisations/{id}/loaner-terms") => Some(json!({"language": "pt",
            "body": "Intruder terms: the loaner is yours to keep, forever and ever."})),
        ("post", "/api/v1/organisations/{id}/standard-catalogues") => Some(json!({
            "name": {"nb": "Inntrenger", "en": "Intruder", "pt": "Intruso"},
            "requirements": [{"code": "X-1", "category": "tools", "weight": 1,
                "text": {"nb": "Inntrenger", "en": "Intruder", "pt": "Intruso"}}]})),
        ("post", "/api/v1/standard-audits") => Some(json!({"service_point_id": v.org,
            "auditor_id": v.user, "planned_on": "2026-12-01"})),
        ("post", "/api/v1/standard-audits/{id}/plan") => Some(json!({"cancel": true})),
        ("put", "/api/v1/standard-audits/{id}/answers/{party}") => {
            Some(json!({"answers": [], "finish": true}))
        }
        ("post", "/api/v1/standard-audits/{id}/actions") => Some(json!({"requirement_id": "x",
            "title": "Intruder", "owner_id": v.user, "due_on": "2026-12-30"})),
        ("post", "/api/v1/corrective-actions/{id}/submission") => {
            Some(json!({"note": "Intruder was here"}))
        }
        ("post", "/api/v1/corrective-actions/{id}/review") => Some(json!({"verified": true})),
        ("post", "/api/v1/organisations/{id}/training-courses") => Some(json!({"code": "x-1",
            "name_nb": "Inntrenger", "name_en": "Intruder", "name_pt": "Intruso",
            "provider": "Intruder", "duration_hours": 1})),
        ("post", "/api/v1/organisations/{id}/competence-profiles") => Some(json!({"code": "x-1",
            "name_nb": "Inntrenger", "name_en": "Intruder", "name_pt": "Intruso",
            "role": "technician", "course_ids": []})),
        ("post", "/api/v1/training-sessions/{id}/attendees") => {
            Some(json!({"user_id": v.user, "status": "registered"}))
        }
        ("post", "/api/v1/organisations/{id}/xapi-mappings") => {
            Some(json!({"activity_id": "https://intruder.example/a", "course_id": "x"}))
        }
        ("post", "/api/v1/organisations/{id}/loaners") => {
            Some(json!({"plate": "INTRUDER", "model": "Intruder", "range_km": 100}))
        }
        ("post", _) | ("patch", _) | ("put", _) => Some(json!({})),
        _ => None,
    }
}

fn ui_form(path: &str, v: &Victim) -> Vec<(String, String)> {
    let f = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    match path {
        "/kpis/targets" => f(&[
            ("organisation_id", &v.org),
            ("kpi", "csat"),
            ("valid_from", "2026-11"),
            ("green", "1"),
            ("amber", "0"),
        ]),
        "/kpis/costs/{id}" => f(&[("technician_per_hour", "1"), ("driver_per_hour", "1")]),
        "/pilots" => f(&[
            ("organisation_id", &v.importer),
            ("name", "Intruder"),
            ("programme", "Intruder"),
            ("start_date", "2026-08-01"),
            ("kpis", "csat"),
            ("pilot_points", &v.org),
            ("control_points", &v.importer),
        ]),
        "/pilots/{id}/end" => f(&[("end_date", "2026-10-31")]),
        "/organisations" => f(&[
            ("parent_id", &v.importer),
            ("kind", "service-point"),
            ("name", "Intruder Point"),
        ]),
        "/users" => f(&[
            ("username", "intruder2"),
            ("display_name", "In Truder"),
            ("language", "en"),
            ("password", "intruder password"),
            ("organisation_id", &v.org),
            ("role", "administrator"),
        ]),
        "/users/{id}/roles" => f(&[("organisation_id", &v.org), ("role", "administrator")]),
        "/users/{id}/roles/revoke" => {
            f(&[("organisation_id", &v.org), ("role", "service-advisor")])
        }
        "/users/{id}/status" => f(&[("disabled", "true"), ("version", "2")]),
        "/login" => f(&[("username", "intruder"), ("password", "whatever it is")]),
        "/profile/password" => f(&[
            ("current_password", "nope"),
            ("new_password", "another long password"),
        ]),
        "/profile/tokens" => f(&[("token_name", "intruder")]),
        "/customers/{id}/timeline" => f(&[("kind", "note"), ("summary", "Intruder was here")]),
        "/customers/{id}/consents" => f(&[
            ("purpose", "marketing"),
            ("channel", "email"),
            ("granted", "true"),
            ("source", "intruder"),
            ("wording", "I consent to everything"),
        ]),
        "/customers/{id}/erase" => f(&[("confirm", "yes")]),
        "/warranty/claims/{id}/steps" => f(&[
            ("action", "reject"),
            ("reason", "other"),
            ("note", "Intruder"),
            ("version", "1"),
        ]),
        "/warranty/claims/{id}/lines/{line_id}/recovery" => f(&[("recovery_pct", "100")]),
        "/warranty/goodwill" => f(&[
            ("job_id", &v.job),
            ("component_group", "body"),
            ("odometer_km", "1000"),
        ]),
        "/warranty/goodwill/{id}/decision" => f(&[("action", "approve"), ("version", "1")]),
        "/warranty/audit/rules/{rule}" => f(&[("threshold", "30"), ("weight", "0")]),
        "/warranty/audits" => f(&[("service_point_id", &v.org)]),
        "/warranty/audits/{id}/claims/{claim_id}" => f(&[
            ("result", "charged-back"),
            ("amount", "1.00"),
            ("reason", "other"),
        ]),
        "/warranty/goodwill/{id}/job" => f(&[("job_id", &v.job), ("version", "1")]),
        "/warranty/campaigns/{id}/done" => f(&[
            ("vin", VICTIM_VIN),
            ("how", "workshop"),
            ("organisation_id", &v.org),
        ]),
        "/warranty/campaigns" => f(&[
            ("organisation_id", &v.org),
            ("code", "X1"),
            ("kind", "recall"),
            ("remedy", "workshop"),
        ]),
        "/warranty/claims" => f(&[
            ("job_id", &v.job),
            ("claim_type", "warranty"),
            ("odometer_km", "1000"),
        ]),
        "/billing/documents/{id}/credit" => f(&[("reason", "Intruder credit")]),
        "/billing/documents/{id}/payments" => f(&[
            ("amount", "1"),
            ("method", "cash"),
            ("paid_on", "2026-11-21"),
        ]),
        "/billing/organisations/{id}/entity" => f(&[
            ("region", "PT"),
            ("name", "Intruder Lda"),
            ("nif", "123456789"),
        ]),
        "/billing/entities/{id}/series" => f(&[
            ("doc_type", "FT"),
            ("code", "X"),
            ("validation_code", "INTRUDER1"),
        ]),
        "/vehicles/{id}/odometer" => f(&[
            ("km", "1"),
            ("source", "intruder"),
            ("reason", "resetting the clock"),
        ]),
        "/logistics/jobs" => f(&[
            ("repair_order_id", &v.ro),
            ("kind", "pickup"),
            ("window", "2026-11-23T09:00:00Z|2026-11-23T11:00:00Z"),
        ]),
        "/logistics/replan" | "/logistics/setup" => f(&[
            ("org", &v.org),
            ("day", "2026-11-23"),
            ("form", "loaner"),
            ("plate", "INTRUDER"),
            ("model", "Intruder"),
            ("range_km", "100"),
        ]),
        _ => Vec::new(),
    }
}

async fn walk(app: &TestApp) {
    let admin_token = app.token_for("admin").await;
    let joao = app.login("joao").await;
    let r = app
        .api(
            Method::POST,
            "/api/v1/me/api-tokens",
            Auth::Browser(&joao),
            Some(json!({"name": "Lisboa DMS"})),
            &[],
        )
        .await;
    let victim = Victim {
        org: app.org_id("Polestar Service Point Lisboa").await,
        importer: app.org_id("Volvo Cars Portugal").await,
        user: app
            .api(Method::GET, "/api/v1/me", Auth::Browser(&joao), None, &[])
            .await
            .json()["id"]
            .as_str()
            .unwrap()
            .to_string(),
        token_id: r.json()["id"].as_str().unwrap().to_string(),
        token: r.json()["secret"].as_str().unwrap().to_string(),
        customer: String::new(),
        vehicle: String::new(),
        case: String::new(),
        task: String::new(),
        ro: String::new(),
        job: String::new(),
        line: String::new(),
        outbox: String::new(),
        bay: String::new(),
        part: String::new(),
        doc: String::new(),
        entity: String::new(),
        transport: String::new(),
        photo: String::new(),
        agreement: String::new(),
        claim: String::new(),
        claim_line: String::new(),
        goodwill: String::new(),
        campaign: String::new(),
        audit: String::new(),
        standards_audit: String::new(),
        evidence: String::new(),
        action: String::new(),
        catalogue: String::new(),
        record: String::new(),
        session: String::new(),
        kpi_target: String::new(),
        pilot: String::new(),
    };
    let mut victim = victim;
    let c = app
        .api(Method::POST, "/api/v1/customers", Auth::Browser(&joao), Some(json!({"kind": "person", "name": VICTIM_NAME,
            "phone": "912 000 111", "email": "beatriz@example.pt", "nif": "123456789", "language": "pt", "preferred_channel": "email",
            "country": "PT", "city": "Lisboa"})), &[])
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    victim.customer = c.json()["id"].as_str().unwrap().to_string();
    let v = app
        .api(
            Method::POST,
            "/api/v1/vehicles",
            Auth::Browser(&joao),
            Some(json!({"vin": VICTIM_VIN, "registration": "AA-00-AA",
            "owner_customer_id": victim.customer})),
            &[],
        )
        .await;
    assert_eq!(v.status, StatusCode::CREATED, "{}", v.body);
    victim.vehicle = v.json()["id"].as_str().unwrap().to_string();
    let c = app
        .api(
            Method::POST,
            "/api/v1/cases",
            Auth::Browser(&joao),
            Some(json!({"customer_id": victim.customer, "channel": "phone",
            "category": "technical", "priority": "normal", "subject": "Rattle from the boot"})),
            &[],
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    victim.case = c.json()["id"].as_str().unwrap().to_string();
    let t = app
        .api(
            Method::POST,
            &format!("/api/v1/cases/{}/tasks", victim.case),
            Auth::Browser(&joao),
            Some(json!({"title": "Call Beatriz back",
            "due_at": "2026-11-24T10:00:00Z"})),
            &[],
        )
        .await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
    victim.task = t.json()["id"].as_str().unwrap().to_string();
    // A repair order at Lisboa with a line, checked in (so a message to Beatriz is in the outbox).
    let ro = app
        .api(
            Method::POST,
            "/api/v1/repair-orders",
            Auth::Browser(&joao),
            Some(json!({"organisation_id": victim.org, "customer_id": victim.customer,
            "vehicle_id": victim.vehicle, "case_id": victim.case, "complaint": "Rattle from the boot"})),
            &[],
        )
        .await;
    assert_eq!(ro.status, StatusCode::CREATED, "{}", ro.body);
    victim.ro = ro.json()["id"].as_str().unwrap().to_string();
    victim.job = ro.json()["jobs"][0]["id"].as_str().unwrap().to_string();
    // The car is fetched with a loaner: the hand-over's photo and the signed agreement are Lisboa's.
    let loaners = app
        .api(
            Method::GET,
            &format!("/api/v1/organisations/{}/loaners", victim.org),
            Auth::Browser(&joao),
            None,
            &[],
        )
        .await;
    let loaner = loaners.json()[0]["id"].as_str().unwrap().to_string();
    let tj = app
        .api(
            Method::POST,
            "/api/v1/transport-jobs",
            Auth::Browser(&joao),
            Some(
                json!({"repair_order_id": victim.ro, "kind": "pickup", "loaner_id": loaner,
                "window_from": "2026-11-23T09:00:00Z", "window_to": "2026-11-23T11:00:00Z"}),
            ),
            &[],
        )
        .await;
    assert_eq!(tj.status, StatusCode::CREATED, "{}", tj.body);
    victim.transport = tj.json()["id"].as_str().unwrap().to_string();
    {
        use base64::Engine;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        for step in [
            json!({"status": "on-the-way"}),
            json!({"status": "arrived"}),
            json!({"status": "done", "odometer_km": 20000, "loaner_odometer_km": 5000,
                "photos": [{"car": "customer", "data": b64(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0])}],
                "signer_name": VICTIM_NAME,
                "signature_png": b64(include_bytes!("../../../documents/tests/fixtures/signature.png"))}),
        ] {
            let r = app
                .api(
                    Method::POST,
                    &format!("/api/v1/transport-jobs/{}/status", victim.transport),
                    Auth::Browser(&joao),
                    Some(step),
                    &[],
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
    }
    let kept = app
        .api(
            Method::GET,
            &format!("/api/v1/repair-orders/{}/handovers", victim.ro),
            Auth::Browser(&joao),
            None,
            &[],
        )
        .await
        .json();
    victim.photo = kept["handovers"][0]["photos"][0]
        .as_str()
        .unwrap()
        .to_string();
    victim.agreement = kept["agreements"][0]["id"].as_str().unwrap().to_string();
    let line = app
        .api(
            Method::POST,
            &format!("/api/v1/repair-orders/{}/jobs/{}/lines", victim.ro, victim.job),
            Auth::Browser(&joao),
            Some(json!({"kind": "sublet", "description": "Boot lid glass repair", "unit_price": "120"})),
            &[],
        )
        .await;
    assert_eq!(line.status, StatusCode::CREATED, "{}", line.body);
    victim.line = line.json()["jobs"][0]["lines"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let etag = line.header("etag").unwrap().to_string();
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/repair-orders/{}/status", victim.ro),
            Auth::Browser(&joao),
            Some(json!({"status": "checked-in"})),
            &[("if-match", etag.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let msgs = app
        .api(
            Method::GET,
            &format!("/api/v1/repair-orders/{}/messages", victim.ro),
            Auth::Browser(&joao),
            None,
            &[],
        )
        .await;
    victim.outbox = msgs.json()[0]["id"].as_str().unwrap().to_string();
    let bay = app
        .api(
            Method::POST,
            "/api/v1/bays",
            Auth::Bearer(&admin_token),
            Some(json!({"organisation_id": victim.org, "name": "Box 1", "lift": true})),
            &[],
        )
        .await;
    assert_eq!(bay.status, StatusCode::CREATED, "{}", bay.body);
    victim.bay = bay.json()["id"].as_str().unwrap().to_string();
    let parts = app
        .api(
            Method::GET,
            &format!("/api/v1/organisations/{}/parts", victim.org),
            Auth::Bearer(&admin_token),
            None,
            &[],
        )
        .await;
    victim.part = parts.json()[0]["id"].as_str().unwrap().to_string();
    // Beatriz's repair order invoiced and the invoice issued (signed), so the billing routes have a target.
    let drafts = app
        .api(
            Method::POST,
            &format!("/api/v1/repair-orders/{}/invoice", victim.ro),
            Auth::Browser(&joao),
            None,
            &[],
        )
        .await;
    assert_eq!(drafts.status, StatusCode::CREATED, "{}", drafts.body);
    victim.doc = drafts.json()[0]["id"].as_str().unwrap().to_string();
    let d = app
        .api(
            Method::GET,
            &format!("/api/v1/billing-documents/{}", victim.doc),
            Auth::Browser(&joao),
            None,
            &[],
        )
        .await;
    let etag = d.header("etag").unwrap().to_string();
    let issued = app
        .api(
            Method::POST,
            &format!("/api/v1/billing-documents/{}/issue", victim.doc),
            Auth::Browser(&joao),
            Some(json!({})),
            &[("if-match", etag.as_str())],
        )
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    victim.entity = issued.json()["legal_entity"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A Lisboa warranty claim (the demo's, sent back to João): the importer and Polestar see it,
    // Porto and Braga do not.
    let claims = app
        .api(
            Method::GET,
            "/api/v1/warranty-claims",
            Auth::Browser(&joao),
            None,
            &[],
        )
        .await
        .json();
    victim.claim = claims[0]["id"].as_str().unwrap().to_string();
    let claim = app
        .api(
            Method::GET,
            &format!("/api/v1/warranty-claims/{}", victim.claim),
            Auth::Browser(&joao),
            None,
            &[],
        )
        .await
        .json();
    victim.claim_line = claim["lines"][0]["id"].as_str().unwrap().to_string();
    let goodwill = app
        .api(
            Method::GET,
            "/api/v1/goodwill-requests",
            Auth::Browser(&joao),
            None,
            &[],
        )
        .await
        .json();
    victim.goodwill = goodwill[0]["id"].as_str().unwrap().to_string();
    let campaigns = app
        .api(
            Method::GET,
            "/api/v1/recall-campaigns",
            Auth::Browser(&joao),
            None,
            &[],
        )
        .await
        .json();
    victim.campaign = campaigns[0]["id"].as_str().unwrap().to_string();
    // An audit of Lisboa, proposed by Ana (Polestar Portugal's market manager).
    let ana = app.login("ana").await;
    let audit = app
        .api(
            Method::POST,
            "/api/v1/warranty/audits",
            Auth::Browser(&ana),
            Some(json!({"service_point_id": victim.org})),
            &[],
        )
        .await;
    assert_eq!(audit.status, StatusCode::CREATED, "{}", audit.body);
    victim.audit = audit.json()["id"].as_str().unwrap().to_string();
    // Dealer standards of Lisboa (the demo's): the planned audit with João's self-assessment and
    // its evidence, the action waiting for verification, the brand's catalogue.
    let audits = app
        .api(
            Method::GET,
            "/api/v1/standard-audits?status=planned",
            Auth::Browser(&joao),
            None,
            &[],
        )
        .await
        .json();
    victim.standards_audit = audits[0]["id"].as_str().unwrap().to_string();
    let audit = app
        .api(
            Method::GET,
            &format!("/api/v1/standard-audits/{}", victim.standards_audit),
            Auth::Browser(&joao),
            None,
            &[],
        )
        .await
        .json();
    victim.evidence = audit["evidence"][0]["id"].as_str().unwrap().to_string();
    let actions = app
        .api(
            Method::GET,
            "/api/v1/corrective-actions?open=true",
            Auth::Browser(&joao),
            None,
            &[],
        )
        .await
        .json();
    victim.action = actions[0]["id"].as_str().unwrap().to_string();
    let cats = app
        .api(
            Method::GET,
            "/api/v1/standard-catalogues",
            Auth::Browser(&joao),
            None,
            &[],
        )
        .await
        .json();
    victim.catalogue = cats[0]["id"].as_str().unwrap().to_string();
    // João's training record with its certificate (recorded by Ana), and Lisboa's session.
    let courses = app
        .api(
            Method::GET,
            "/api/v1/training-courses",
            Auth::Browser(&ana),
            None,
            &[],
        )
        .await
        .json();
    let hv1 = courses
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "hv-1")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post_multipart(
            "/training/records",
            &ana,
            &[
                ("user_id", &victim.user),
                ("course_id", &hv1),
                ("completed_on", "2026-11-02"),
                ("passed", "1"),
            ],
            &[("certificate", "certificado-joao.pdf", b"%PDF-1.4 joao")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let records = app
        .api(
            Method::GET,
            &format!("/api/v1/users/{}/training-records", victim.user),
            Auth::Browser(&joao),
            None,
            &[],
        )
        .await
        .json();
    victim.record = records
        .as_array()
        .unwrap()
        .iter()
        .find(|r| !r["certificate"].is_null())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sessions = app
        .api(
            Method::GET,
            "/api/v1/training-sessions",
            Auth::Browser(&ana),
            None,
            &[],
        )
        .await
        .json();
    victim.session = sessions[0]["id"].as_str().unwrap().to_string();
    // A KPI target Ana set at Lisboa.
    let r = app
        .api(
            Method::POST,
            "/api/v1/kpi-targets",
            Auth::Browser(&ana),
            Some(
                json!({"organisation_id": victim.org, "kpi": "csat", "valid_from": "2026-11",
                "green": "85", "amber": "78"}),
            ),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    victim.kpi_target = r.json()["id"].as_str().unwrap().to_string();
    // A pilot Ana runs from the importer: Lisboa against Porto and Braga.
    let porto = app.org_id("Polestar Service Point Porto").await;
    let braga_point = app.org_id("Polestar Service Point Braga").await;
    let r = app
        .api(
            Method::POST,
            "/api/v1/pilots",
            Auth::Browser(&ana),
            Some(
                json!({"organisation_id": victim.importer, "name": "Lisboa pickup",
                "programme": "Pickup included", "start_date": "2026-08-01", "kpis": ["csat"],
                "pilot_points": [victim.org], "control_points": [porto, braga_point]}),
            ),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    victim.pilot = r.json()["id"].as_str().unwrap().to_string();
    // Ole works in Trondheim (Tesla) and, on loan, in Braga (Polestar): a shared account.
    let ole = app
        .api(
            Method::GET,
            "/api/v1/users?limit=200",
            Auth::Bearer(&admin_token),
            None,
            &[],
        )
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "ole")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let braga = app.org_id("Polestar Service Point Braga").await;
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/users/{ole}/roles"),
            Auth::Bearer(&admin_token),
            Some(json!({"organisation_id": braga, "role": "technician"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let doc: Value = serde_json::to_value(aftersales_web::api::openapi()).unwrap();
    let mut api_ops = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            api_ops.push((method.clone(), path.clone()));
        }
    }
    assert!(
        api_ops.len() >= 18,
        "the walk must cover every API operation, found {}",
        api_ops.len()
    );

    // Anonymous callers get nothing anywhere.
    for (method, template) in &api_ops {
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = app
            .api(
                m,
                &fill(template, &victim),
                Auth::None,
                api_body(method, template, &victim),
                &[],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "anonymous {method} {template}"
        );
    }
    for (method, template) in aftersales_web::ui::ROUTES {
        let path = fill(template, &victim);
        let r = if *method == "GET" {
            app.get(&path, None).await
        } else {
            app.post_raw_form(&path, None, &[]).await
        };
        if [
            "/login",
            "/contact",
            "/book",
            "/static/app.css",
            "/static/app.js",
        ]
        .contains(template)
        {
            assert!(
                r.status != StatusCode::NOT_FOUND,
                "{method} {template} is routed"
            );
        } else if *method == "GET" && is_public_by_token(template) {
            // The customer's pages need no login; a guessed token finds nothing.
            assert_eq!(r.status, StatusCode::NOT_FOUND, "anonymous GET {template}");
        } else if *method == "GET" {
            assert_eq!(r.status, StatusCode::SEE_OTHER, "anonymous GET {template}");
            assert!(r.header("location").unwrap().starts_with("/login"));
        } else {
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "anonymous POST {template} (no CSRF token, no session)"
            );
        }
    }

    // Intruders: an administrator of another brand, a manager of a sibling workshop, an advisor.
    for intruder in ["nora", "marta", "ingrid", "emily"] {
        let token = app.token_for(intruder).await;
        let marks = markers(app, &admin_token, &token, &victim).await;
        assert!(marks.iter().any(|m| m == "Polestar Service Point Lisboa"));
        for (method, template) in &api_ops {
            if intruder == "marta" && is_market_shared(template) {
                continue;
            }
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut path = fill(template, &victim);
            if template == "/api/v1/search" {
                path = format!("{path}?q=beatriz");
            }
            if template.ends_with("/saft-pt") {
                path = format!("{path}?from=2026-11-01&to=2026-11-30");
            }
            if template.ends_with("/transport-windows") {
                path = format!("{path}?kind=pickup&day=2026-11-23");
            }
            if template == "/api/v1/standard-audits/{id}/evidence" {
                path = format!("{path}?requirement_id=x&party=self&file_name=a.png");
            }
            if template == "/api/v1/corrective-actions/{id}/evidence" {
                path = format!("{path}?file_name=a.png");
            }
            // Every request carries a version, so that guarded changes reach the scope check.
            let extra: &[(&str, &str)] = &[("if-match", "\"2\"")];
            let r = app
                .api(
                    m,
                    &path,
                    Auth::Bearer(&token),
                    api_body(method, template, &victim),
                    extra,
                )
                .await;
            let ctx = format!("{intruder}: {method} {template}");
            assert!(!r.status.is_server_error(), "{ctx}: {}", r.status);
            if template.contains('{')
                && !template.starts_with("/api/v1/me/")
                && !template.contains("/vin-decoder/")
            {
                assert!(
                    matches!(r.status.as_u16(), 403 | 404),
                    "{ctx} answered {}: {}",
                    r.status,
                    r.body
                );
            } else if template.starts_with("/api/v1/me/api-tokens/") {
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{ctx}");
            }
            if template == "/api/v1/routing-rules" {
                // The market's working procedures name sibling parties by design; other brands' never.
                let other_brand = if intruder == "marta" {
                    "Tesla"
                } else {
                    "Polestar"
                };
                assert!(!r.body.contains(other_brand), "{ctx}: {}", r.body);
                continue;
            }
            assert_clean(&ctx, &r.body, &marks);
        }
        let mut b: Browser = app.login(intruder).await;
        for (method, template) in aftersales_web::ui::ROUTES {
            if intruder == "marta" && is_market_shared(template) {
                continue;
            }
            // The public contact and booking forms list the service points of every brand:
            // public by design.
            if *template == "/contact" || *template == "/book" {
                continue;
            }
            let mut path = fill(template, &victim);
            if *template == "/search" {
                path = format!("{path}?q=beatriz");
            }
            if template.ends_with("/saft-pt") {
                path = format!("{path}?from=2026-11-01&to=2026-11-30");
            }
            let ctx = format!("{intruder}: UI {method} {template}");
            let r = if *method == "GET" {
                app.get(&path, Some(&b)).await
            } else {
                let form = ui_form(template, &victim);
                let pairs: Vec<(&str, &str)> =
                    form.iter().map(|(a, c)| (a.as_str(), c.as_str())).collect();
                app.post_form(&path, &b, &pairs).await
            };
            assert!(!r.status.is_server_error(), "{ctx}: {}", r.status);
            if template.contains('{') {
                assert!(
                    matches!(r.status.as_u16(), 403 | 404),
                    "{ctx} answered {}",
                    r.status
                );
            }
            assert_clean(&ctx, &r.body, &marks);
            if let Some(loc) = r.header("location") {
                assert_clean(&ctx, loc, &marks);
            }
            if *template == "/logout" {
                b = app.login(intruder).await;
            }
        }
    }

    // Tesla's administrator sees Ole's Tesla side only, and cannot change the shared account.
    let nora = app.token_for("nora").await;
    let r = app
        .api(
            Method::GET,
            &format!("/api/v1/users/{ole}"),
            Auth::Bearer(&nora),
            None,
            &[],
        )
        .await;
    assert_eq!(r.json()["memberships"].as_array().unwrap().len(), 1);
    assert!(!r.body.contains(&braga));
    let etag = r.header("etag").unwrap().to_string();
    let r = app
        .api(
            Method::PATCH,
            &format!("/api/v1/users/{ole}"),
            Auth::Bearer(&nora),
            Some(json!({"disabled": true})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let events = app
        .api(
            Method::GET,
            "/api/v1/audit-events?limit=200",
            Auth::Bearer(&nora),
            None,
            &[],
        )
        .await;
    assert!(
        !events.body.contains(&braga),
        "the grant in Braga is Polestar's business"
    );

    // Nothing about the victim changed.
    let me = app
        .api(
            Method::GET,
            "/api/v1/me",
            Auth::Bearer(&victim.token),
            None,
            &[],
        )
        .await;
    assert_eq!(me.status, StatusCode::OK, "the victim's token still works");
    let me = me.json();
    assert_eq!(me["display_name"], "João Silva");
    assert_eq!(me["disabled"], false);
    assert_eq!(me["memberships"].as_array().unwrap().len(), 1);
    assert_eq!(me["memberships"][0]["role"], "service-advisor");
    let org = app
        .api(
            Method::GET,
            &format!("/api/v1/organisations/{}", victim.org),
            Auth::Bearer(&admin_token),
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(org["name"], "Polestar Service Point Lisboa");
    let (orgs, users) = ids(app, &admin_token).await;
    assert_eq!(orgs.len(), 10, "no organisation was created");
    assert!(users
        .iter()
        .all(|u| !u["username"].as_str().unwrap().starts_with("intruder")));
    let joao = app.token_for("joao").await;
    let get = |path: String| {
        let joao = joao.clone();
        async move {
            app.api(Method::GET, &path, Auth::Bearer(&joao), None, &[])
                .await
        }
    };
    let c = get(format!("/api/v1/customers/{}", victim.customer))
        .await
        .json();
    assert_eq!(
        (
            c["name"].as_str(),
            c["erased_at"].is_null(),
            c["version"].as_i64()
        ),
        (Some(VICTIM_NAME), true, Some(1))
    );
    assert!(
        !get(format!("/api/v1/customers/{}/timeline", victim.customer))
            .await
            .body
            .contains("Intruder")
    );
    assert_eq!(
        get(format!("/api/v1/customers/{}/consents", victim.customer))
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let v = get(format!("/api/v1/vehicles/{}", victim.vehicle))
        .await
        .json();
    assert_eq!(
        (
            v["odometer"].as_array().unwrap().len(),
            v["owners"].as_array().unwrap().len()
        ),
        (0, 1)
    );
    let case = get(format!("/api/v1/cases/{}", victim.case)).await.json();
    assert_eq!(
        (case["status"].as_str(), case["escalated_at"].is_null()),
        (Some("new"), true)
    );
    assert!(!get(format!("/api/v1/cases/{}/events", victim.case))
        .await
        .body
        .contains("Intruder"));
    let audit = get(format!(
        "/api/v1/standard-audits/{}",
        victim.standards_audit
    ))
    .await
    .json();
    assert_eq!(audit["status"], "planned");
    assert_eq!(
        audit["evidence"].as_array().unwrap().len(),
        1,
        "no evidence was added"
    );
    let action = get(format!("/api/v1/corrective-actions/{}", victim.action))
        .await
        .json();
    assert_eq!(action["status"], "submitted");
    assert_eq!(action["evidence"].as_array().unwrap().len(), 1);
    let recs = get(format!("/api/v1/users/{}/training-records", victim.user))
        .await
        .json();
    assert_eq!(recs.as_array().unwrap().len(), 3, "no record was added");
    let tasks = get("/api/v1/me/tasks".to_string()).await.json();
    assert_eq!(tasks.as_array().unwrap().len(), 1);
    assert!(tasks[0]["done_at"].is_null());
}
