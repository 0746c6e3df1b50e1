//! Warranty coverage as the Lisbon market manager reads it: a Polestar's page says in Portuguese
//! which coverages run and which ended, with the statutory period beside them; a battery reading
//! is recorded (a bad one named, nothing lost); the API answers the same.

use axum::http::{Method, StatusCode};

use crate::support::{Auth, TestApp};

#[tokio::test]
#[allow(clippy::disallowed_methods)]
async fn ana_reads_a_polestars_coverage_and_records_its_battery_health() {
    let app = TestApp::new().await;
    let scope = app.scope_of("ana").await;
    let customers = app
        .store
        .crm()
        .list_customers(&scope, None, 200)
        .await
        .unwrap();
    let mut vehicle = None;
    for c in &customers.items {
        for v in app.store.crm().vehicles_of(&scope, &c.id).await.unwrap() {
            if v.brand.as_deref() == Some("Polestar") && v.delivery_date.is_some() {
                vehicle.get_or_insert(v);
            }
        }
    }
    let v = vehicle.expect("a demo Polestar");
    let ana = app.login("ana").await;
    let page = app
        .get(&format!("/vehicles/{}?lang=pt", v.id), Some(&ana))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    for needle in [
        "Cobertura da garantia",
        "Garantia da viatura",
        "Bateria e unidade motriz",
        "polestar-eu-2020",
        "prazo legal de garantia do consumidor (3 anos)",
    ] {
        assert!(page.body.contains(needle), "{needle}: {}", page.body);
    }

    // A state of health above 100 % is named in Portuguese; the good one is kept and judged.
    let bad = app
        .post_form(
            &format!("/vehicles/{}/battery", v.id),
            &ana,
            &[
                ("soh_pct", "140"),
                ("read_on", "2026-11-20"),
                ("odometer_km", "48000"),
                ("source", "capacity-test"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body
            .contains("A saúde da bateria é um número inteiro de 1 a 100."),
        "{}",
        bad.body
    );
    let ok = app
        .post_form(
            &format!("/vehicles/{}/battery", v.id),
            &ana,
            &[
                ("soh_pct", "68"),
                ("read_on", "2026-11-20"),
                ("odometer_km", "48 000"),
                ("source", "capacity-test"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let page = app.get(&format!("/vehicles/{}", v.id), Some(&ana)).await;
    assert!(
        page.body
            .contains("saúde da bateria 68 %, abaixo de 70 %: reclamação de capacidade coberta")
            || page.body.contains("battery health 68 %"),
        "{}",
        page.body
    );

    // The API: the same coverage on a day and km asked for, in its field names. Ten years on at
    // 170 000 km only the corrosion warranty still runs; the battery's ended (on km, or on time).
    let delivered = v.delivery_date.clone().unwrap();
    let year: i32 = delivered[..4].parse().unwrap();
    let ten_years = format!("{}{}", year + 10, &delivered[4..]);
    let token = app.token_for("ana").await;
    let r = app
        .api(
            Method::GET,
            &format!(
                "/api/v1/vehicles/{}/coverage?on={}&odometer_km=170000",
                v.id, ten_years
            ),
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let standings: Vec<String> = r.json()["coverages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}={}",
                c["kind"].as_str().unwrap(),
                c["standing"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(standings[0], "vehicle=expired");
    assert!(
        ["battery-drive-unit=over-km", "battery-drive-unit=expired"]
            .contains(&standings[1].as_str()),
        "{standings:?}"
    );
    assert_eq!(standings[2], "corrosion=covered");
    let r = app
        .api(
            Method::GET,
            &format!("/api/v1/vehicles/{}/coverage?on=someday", v.id),
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("\"field\":\"on\""), "{}", r.body);
}

/// A 2015 Model S has outlived every coverage: the repair order says so beside the car, and a job
/// booked as warranty is flagged for the advisor at once.
#[tokio::test]
async fn a_warranty_job_on_a_car_without_coverage_is_flagged_on_the_repair_order() {
    let app = TestApp::new().await;
    let token = app.token_for("ingrid").await;
    let org = app.org_id("Tesla Service Centre Trondheim").await;
    let customer = app.customer_id(&token, "Kari Nordmann").await;
    let v = app
        .api(
            Method::POST,
            "/api/v1/vehicles",
            Auth::Bearer(&token),
            Some(
                serde_json::json!({"vin": "5YJSA1H12FFP71790", "registration": "EL 20150",
                "delivery_date": "2015-06-01", "owner_customer_id": customer}),
            ),
            &[],
        )
        .await;
    assert_eq!(v.status, StatusCode::CREATED, "{}", v.body);
    let vehicle = v.json()["id"].as_str().unwrap().to_string();
    // The terms version is fixed on the car at delivery, by its model and delivery date.
    assert_eq!(
        v.json()["warranty_version"],
        "tesla-eu-sx-2012",
        "{}",
        v.body
    );
    let c = app
        .api(
            Method::GET,
            &format!("/api/v1/vehicles/{vehicle}/coverage"),
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(c["terms"], "tesla-eu-sx-2012", "{c}");
    let ro = app
        .api(
            Method::POST,
            "/api/v1/repair-orders",
            Auth::Bearer(&token),
            Some(
                serde_json::json!({"organisation_id": org, "customer_id": customer,
                "vehicle_id": vehicle, "complaint": "Battery warning"}),
            ),
            &[],
        )
        .await;
    assert_eq!(ro.status, StatusCode::CREATED, "{}", ro.body);
    let ro_id = ro.json()["id"].as_str().unwrap().to_string();
    let job = app
        .api(
            Method::POST,
            &format!("/api/v1/repair-orders/{ro_id}/jobs"),
            Auth::Bearer(&token),
            Some(
                serde_json::json!({"title": "Battery", "complaint": "Battery warning",
                "pay_type": "warranty"}),
            ),
            &[],
        )
        .await;
    assert_eq!(job.status, StatusCode::CREATED, "{}", job.body);
    let ingrid = app.login("ingrid").await;
    let page = app
        .get(&format!("/workshop/repair-orders/{ro_id}"), Some(&ingrid))
        .await;
    assert!(page.body.contains("id=\"ro-coverage\""), "{}", page.body);
    assert!(
        page.body.contains("id=\"uncovered-"),
        "the warranty job is flagged: {}",
        page.body
    );
    assert!(page.body.contains("Ingen garantidekning løper i dag."));
}

/// A repair order João opens in Lisboa for Miguel Costa's car with `complaint`: the order and
/// its first job.
#[allow(clippy::disallowed_methods)]
async fn miguels_order(
    app: &TestApp,
    complaint: &str,
) -> (aftersales_store::workshop::RepairOrder, String) {
    let joao_scope = app.scope_of("joao").await;
    let lisboa = app.org_id("Polestar Service Point Lisboa").await;
    let customers = app
        .store
        .crm()
        .list_customers(&joao_scope, None, 200)
        .await
        .unwrap();
    let miguel = customers
        .items
        .iter()
        .find(|c| c.name == "Miguel Costa")
        .unwrap();
    let car = app
        .store
        .crm()
        .vehicles_of(&joao_scope, &miguel.id)
        .await
        .unwrap()[0]
        .id
        .clone();
    let ro = app
        .store
        .workshop()
        .create_repair_order(
            &joao_scope,
            &aftersales_store::workshop::RepairOrderInput {
                organisation_id: lisboa,
                customer_id: miguel.id.clone(),
                vehicle_id: Some(car),
                complaint: complaint.into(),
                ..Default::default()
            },
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    let job = ro.jobs[0].id.clone();
    (ro, job)
}

/// The first href on a page that starts with `prefix`.
/// The version a page's form sends back (`name="version"`).
fn form_version(body: &str) -> String {
    let at = body.find("name=\"version\" value=\"").unwrap() + 22;
    body[at..at + body[at..].find('"').unwrap()].to_string()
}

fn link(body: &str, prefix: &str) -> String {
    let at = body
        .find(prefix)
        .unwrap_or_else(|| panic!("no link {prefix}: {body}"));
    let rest = &body[at..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// A claim in pages across the three parties, each in their language: João makes one from a
/// warranty job (the flat-rate reason asked for in Portuguese), the importer's Rui pays a line
/// less and must say why, Polestar's Helena approves what he recommended; Porto sees none of it;
/// the export answers in the documented JSON.
#[tokio::test]
#[allow(clippy::disallowed_methods)]
async fn a_claim_passes_service_point_importer_and_brand_in_pages() {
    let app = TestApp::new().await;
    let joao_scope = app.scope_of("joao").await;
    let now = time::OffsetDateTime::now_utc();
    let (ro, job) = miguels_order(&app, "Aviso de isolamento da bateria").await;
    app.store
        .workshop()
        .update_job(
            &joao_scope,
            &ro.id,
            &job,
            &aftersales_store::workshop::JobUpdate {
                pay_type: Some("warranty".into()),
                cause: Some("Humidade no conector da bateria".into()),
                correction: Some("Conector seco e selado".into()),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
    let ro = app
        .store
        .workshop()
        .add_line(
            &joao_scope,
            &ro.id,
            &job,
            &aftersales_store::workshop::LineInput {
                kind: "labour".into(),
                code: Some("PS-HV-DIAG".into()),
                quantity: Some("2.25".into()),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
    let line = ro.jobs[0].lines[0].id.clone();

    // João: the repair order offers the claim; the form asks for the reason in Portuguese and
    // keeps what he typed.
    let joao = app.login("joao").await;
    let page = app
        .get(&format!("/workshop/repair-orders/{}", ro.id), Some(&joao))
        .await;
    assert!(
        page.body.contains("Criar reclamação de garantia"),
        "{}",
        page.body
    );
    let new = link(&page.body, "/warranty/claims/new?job=");
    let form = app.get(&new, Some(&joao)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body
            .contains("Porquê mais horas do que o tempo padrão"),
        "{}",
        form.body
    );
    assert!(
        form.body.contains("2,25"),
        "hours as the reader writes them"
    );
    let bad = app
        .post_form(
            "/warranty/claims",
            &joao,
            &[
                ("job_id", &job),
                ("claim_type", "warranty"),
                ("odometer_km", "41 200"),
                ("dtcs", "P0AA6"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body
            .contains("Mais horas do que o tempo padrão: explique porquê nessa linha."),
        "{}",
        bad.body
    );
    assert!(bad.body.contains("value=\"P0AA6\""), "what was typed stays");
    let reason_field = format!("over_reason_{line}");
    let made = app
        .post_form(
            "/warranty/claims",
            &joao,
            &[
                ("job_id", &job),
                ("claim_type", "warranty"),
                ("odometer_km", "41 200"),
                ("dtcs", "P0AA6"),
                (&reason_field, "Isolamento medido em três pontos"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let claim_path = made
        .header("location")
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let page = app.get(&claim_path, Some(&joao)).await;
    assert!(page.body.contains("Rascunho"), "{}", page.body);
    assert!(
        page.body.contains("41\u{202f}200"),
        "km as the reader groups them"
    );
    let sent = app
        .post_form(
            &format!("{claim_path}/steps"),
            &joao,
            &[("action", "submit"), ("version", &form_version(&page.body))],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);

    // Porto's manager does not see it.
    let marta = app.login("marta").await;
    assert_eq!(
        app.get(&claim_path, Some(&marta)).await.status,
        StatusCode::NOT_FOUND
    );

    // Rui: it waits for him; paying the diagnosis at its flat rate needs a reason.
    let rui = app.login("rui").await;
    let list = app.get("/warranty", Some(&rui)).await;
    assert!(list.body.contains(claim_path.as_str()), "{}", list.body);
    let page = app.get(&claim_path, Some(&rui)).await;
    assert!(page.body.contains("No importador"), "{}", page.body);
    let claim_line = {
        let at = page.body.find("name=\"approved_").unwrap() + 15;
        page.body[at..at + page.body[at..].find('"').unwrap()].to_string()
    };
    let amount = format!("approved_{claim_line}");
    let reason = format!("reason_{claim_line}");
    let v = form_version(&page.body);
    let bad = app
        .post_form(
            &format!("{claim_path}/steps"),
            &rui,
            &[("action", "approve"), ("version", &v), (&amount, "127,50")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body
            .contains("Uma linha paga abaixo do reclamado precisa de um motivo."),
        "{}",
        bad.body
    );
    assert!(
        bad.body.contains("value=\"127,50\""),
        "the amount typed stays"
    );
    let ok = app
        .post_form(
            &format!("{claim_path}/steps"),
            &rui,
            &[
                ("action", "approve"),
                ("version", &v),
                (&amount, "127,50"),
                (&reason, "over-flat-rate"),
                ("note", "Pago ao tempo padrão."),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);

    // Helena (Polestar, English) approves what the importer recommended: a partial approval.
    let helena = app.login("helena").await;
    let page = app.get(&claim_path, Some(&helena)).await;
    assert!(page.body.contains("With the brand"), "{}", page.body);
    assert!(
        page.body.contains("value=\"127.50\""),
        "the importer's amount is the start"
    );
    let ok = app
        .post_form(
            &format!("{claim_path}/steps"),
            &helena,
            &[
                ("action", "approve"),
                ("version", &form_version(&page.body)),
                (&amount, "127.50"),
                (&reason, "over-flat-rate"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let page = app.get(&claim_path, Some(&helena)).await;
    assert!(page.body.contains("Partly approved"), "{}", page.body);
    assert!(
        page.body
            .contains("Importer: approved in part → With the brand"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Pago ao tempo padrão."),
        "the note as written"
    );

    // The export, through the API, in its documented names.
    let token = app.token_for("rui").await;
    let id = claim_path.rsplit('/').next().unwrap();
    let r = app
        .api(
            Method::GET,
            &format!("/api/v1/warranty-claims/{id}/export"),
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let j = r.json();
    assert_eq!(j["ClaimTypeString"], "warranty");
    assert_eq!(j["Labor"][0]["LaborOperationID"], "PS-HV-DIAG");
    assert_eq!(j["Labor"][0]["ApprovedAmount"], "127.50");
    assert_eq!(j["Labor"][0]["DebitReasonCode"], "over-flat-rate");
    assert_eq!(j["DiagnosticTroubleCodes"][0], "P0AA6");
    let file = app.get(&format!("{claim_path}/export"), Some(&rui)).await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(file
        .header("content-disposition")
        .is_some_and(|d| d.contains("attachment")));
}

/// Goodwill in pages: João asks for it on a €3,000 electrical repair at 70 000 km; the policy
/// proposes 80 % of parts and all labour, which is above the importer's authority, so Rui's
/// approval passes it up and Ana (the market manager) approves; the customer's share is then on
/// the repair order and on the customer's invoice, goodwill's on the goodwill payer's.
#[tokio::test]
#[allow(clippy::disallowed_methods)]
async fn goodwill_climbs_to_the_next_level_and_the_customers_share_is_invoiced() {
    let app = TestApp::new().await;
    let joao_scope = app.scope_of("joao").await;
    let now = time::OffsetDateTime::now_utc();
    let (ro, job) = miguels_order(&app, "Módulo de carregamento de 12 V avariado").await;
    for line in [
        aftersales_store::workshop::LineInput {
            kind: "sublet".into(),
            description: Some("Módulo DC-DC (peça)".into()),
            unit_price: Some("3000".into()),
            ..Default::default()
        },
        aftersales_store::workshop::LineInput {
            kind: "labour".into(),
            code: Some("PS-DIAG".into()),
            ..Default::default()
        },
    ] {
        app.store
            .workshop()
            .add_line(&joao_scope, &ro.id, &job, &line, now)
            .await
            .unwrap();
    }
    let joao = app.login("joao").await;
    let page = app
        .get(&format!("/workshop/repair-orders/{}", ro.id), Some(&joao))
        .await;
    let new = link(&page.body, "/warranty/goodwill/new?job=");
    let form = app.get(&new, Some(&joao)).await;
    assert!(form.body.contains("Pedir goodwill"), "{}", form.body);
    let bad = app
        .post_form(
            "/warranty/goodwill",
            &joao,
            &[
                ("job_id", &job),
                ("component_group", "electrical"),
                ("odometer_km", "setenta mil"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body
            .contains("Indique a quilometragem em quilómetros inteiros."),
        "{}",
        bad.body
    );
    let made = app
        .post_form(
            "/warranty/goodwill",
            &joao,
            &[
                ("job_id", &job),
                ("component_group", "electrical"),
                ("odometer_km", "70 000"),
                ("network_history", "yes"),
                ("first_owner", "yes"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let path = made
        .header("location")
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let page = app.get(&path, Some(&joao)).await;
    assert!(
        page.body.contains("peças 80 %, mão de obra 100 %"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Tem de ser decidido por: Gestor"),
        "{}",
        page.body
    );
    // Rui approves: above his €2,000 it goes up with his word.
    let rui = app.login("rui").await;
    let page = app.get(&path, Some(&rui)).await;
    let r = app
        .post_form(
            &format!("{path}/decision"),
            &rui,
            &[
                ("action", "approve"),
                ("version", &form_version(&page.body)),
                ("parts_pct", "80"),
                ("labour_pct", "100"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.header("location").unwrap().ends_with("done=recommend"));
    // Ana decides at the next level.
    let ana = app.login("ana").await;
    let list = app.get("/warranty/goodwill", Some(&ana)).await;
    assert!(list.body.contains(path.as_str()), "{}", list.body);
    let page = app.get(&path, Some(&ana)).await;
    let r = app
        .post_form(
            &format!("{path}/decision"),
            &ana,
            &[
                ("action", "approve"),
                ("version", &form_version(&page.body)),
                ("parts_pct", "80"),
                ("labour_pct", "100"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = app.get(&path, Some(&ana)).await;
    assert!(page.body.contains("Aprovado"), "{}", page.body);
    assert!(
        page.body.contains("recomendou (acima da sua alçada)"),
        "{}",
        page.body
    );
    // The customer's share (20 % of the part) on the customer's invoice; goodwill's on its payer's.
    let drafts = app
        .store
        .billing()
        .invoice_repair_order(&joao_scope, &ro.id, now)
        .await
        .unwrap();
    let mut nets = Vec::new();
    for pay in ["customer", "goodwill"] {
        let d = drafts
            .iter()
            .find(|d| d.pay_type.as_deref() == Some(pay))
            .unwrap();
        let doc = app
            .store
            .billing()
            .document(&joao_scope, &d.id, now)
            .await
            .unwrap();
        nets.push(doc.net.amount);
    }
    assert_eq!(nets, ["600.00", "2442.50"]);
}

/// Campaigns in pages: Ana (Portuguese) sees the recall over 30 VINs with its completion; João
/// records one done in Lisboa (a VIN that is not open is named), a demo customer's car page lists
/// the recall while open; Helena (Polestar HQ) sees completion per service point.
#[tokio::test]
async fn a_recall_shows_its_completion_and_is_worked_in_lisboa() {
    let app = TestApp::new().await;
    let ana = app.login("ana").await;
    let list = app.get("/warranty/campaigns", Some(&ana)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("PS-R-2611"), "{}", list.body);
    assert!(list.body.contains("Chamada de segurança"), "{}", list.body);
    assert!(list.body.contains("33 %"), "{}", list.body);
    let path = link(&list.body, "/warranty/campaigns/");
    let page = app.get(&path, Some(&ana)).await;
    assert!(
        page.body.contains("10 de 30 VIN feitos (33 %)"),
        "{}",
        page.body
    );
    // An open VIN of a demo customer's car: its page shows the recall.
    let token = app.token_for("joao").await;
    let id = path.rsplit('/').next().unwrap();
    let vins = app
        .api(
            Method::GET,
            &format!("/api/v1/recall-campaigns/{id}/vehicles"),
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await
        .json();
    let open = vins
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["vehicle_id"].is_string() && v["done_at"].is_null())
        .unwrap()
        .clone();
    let joao = app.login("joao").await;
    let car = app
        .get(
            &format!("/vehicles/{}", open["vehicle_id"].as_str().unwrap()),
            Some(&joao),
        )
        .await;
    assert!(
        car.body.contains("Chamadas e campanhas em aberto"),
        "{}",
        car.body
    );
    // Booking the owner's next visit offers to do it too.
    let owner = link(&car.body, "/customers/");
    let customer = owner.rsplit('/').next().unwrap();
    let book = app
        .get(&format!("/workshop/book?customer={customer}"), Some(&joao))
        .await;
    assert_eq!(book.status, StatusCode::OK);
    assert!(
        book.body.contains("Fazer também") && book.body.contains("PS-R-2611"),
        "{}",
        book.body
    );
    let lisboa = app.org_id("Polestar Service Point Lisboa").await;
    let bad = app
        .post_form(
            &format!("{path}/done"),
            &joao,
            &[
                ("vin", "LPSED3KA9NL999999"),
                ("how", "workshop"),
                ("organisation_id", &lisboa),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body
            .contains("Esse VIN não está em aberto nesta campanha"),
        "{}",
        bad.body
    );
    let ok = app
        .post_form(
            &format!("{path}/done"),
            &joao,
            &[
                ("vin", open["vin"].as_str().unwrap()),
                ("how", "workshop"),
                ("organisation_id", &lisboa),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let helena = app.login("helena").await;
    let page = app.get(&path, Some(&helena)).await;
    assert!(
        page.body.contains("11 of 30 VINs done (36 %)"),
        "{}",
        page.body
    );
    for point in [
        "Polestar Service Point Lisboa",
        "Polestar Service Point Porto",
        "Polestar Service Point Braga",
    ] {
        assert!(page.body.contains(point), "{point}");
    }
}

/// Goodwill from a case in pages: João asks on Miguel's case before the car is booked (a bad
/// estimate named in Portuguese), Rui approves it, the car is booked from the case, and João
/// applies the goodwill to the order's job from the request's page.
#[tokio::test]
#[allow(clippy::disallowed_methods)]
async fn goodwill_asked_on_a_case_is_applied_to_its_repair_order_in_pages() {
    let app = TestApp::new().await;
    let joao_scope = app.scope_of("joao").await;
    let now = time::OffsetDateTime::now_utc();
    let (first, _) = miguels_order(&app, "Revisão anual").await;
    let vehicle = first.vehicle.as_ref().map(|v| v.id.clone());
    let case = app
        .store
        .cases()
        .create_case(
            &joao_scope,
            &aftersales_store::cases::CaseInput {
                customer_id: Some(first.customer.id.clone()),
                vehicle_id: vehicle.clone(),
                channel: "phone".into(),
                category: "warranty".into(),
                priority: "normal".into(),
                subject: "Módulo de 12 V falha ao arrancar".into(),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
    let joao = app.login("joao").await;
    let page = app.get(&format!("/cases/{}", case.id), Some(&joao)).await;
    let new = link(&page.body, "/warranty/goodwill/new?case=");
    let form = app.get(&new, Some(&joao)).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("Peças estimadas (EUR)"), "{}", form.body);
    let ask = |parts: &'static str| {
        [
            ("case_id", case.id.as_str()),
            ("parts_amount", parts),
            ("labour_amount", "100"),
            ("component_group", "electrical"),
            ("odometer_km", "70 000"),
            ("network_history", "yes"),
            ("first_owner", "yes"),
        ]
    };
    let r = app
        .post_form("/warranty/goodwill", &joao, &ask("muito"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("Um valor é um número com no máximo duas casas decimais"),
        "{}",
        r.body
    );
    let good = ask("300");
    let made = app.post_form("/warranty/goodwill", &joao, &good).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let path = made
        .header("location")
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let page = app.get(&path, Some(&joao)).await;
    assert!(
        page.body.contains("Ainda não: pedido no caso"),
        "{}",
        page.body
    );
    let rui = app.login("rui").await;
    let page = app.get(&path, Some(&rui)).await;
    let r = app
        .post_form(
            &format!("{path}/decision"),
            &rui,
            &[
                ("action", "approve"),
                ("version", &form_version(&page.body)),
            ],
        )
        .await;
    assert!(
        r.header("location").unwrap().ends_with("done=approve"),
        "{}",
        r.body
    );
    // Booked from the case: the order shows the approved goodwill waiting for a job.
    let lisboa = app.org_id("Polestar Service Point Lisboa").await;
    let ro = app
        .store
        .workshop()
        .create_repair_order(
            &joao_scope,
            &aftersales_store::workshop::RepairOrderInput {
                organisation_id: lisboa,
                customer_id: first.customer.id.clone(),
                vehicle_id: vehicle,
                case_id: Some(case.id.clone()),
                complaint: "Módulo de 12 V falha ao arrancar".into(),
            },
            now,
        )
        .await
        .unwrap();
    let job = ro.jobs[0].id.clone();
    app.store
        .workshop()
        .add_line(
            &joao_scope,
            &ro.id,
            &job,
            &aftersales_store::workshop::LineInput {
                kind: "labour".into(),
                code: Some("PS-DIAG".into()),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
    let ro_page = app
        .get(&format!("/workshop/repair-orders/{}", ro.id), Some(&joao))
        .await;
    assert!(
        ro_page.body.contains("id=\"ro-case-goodwill\""),
        "{}",
        ro_page.body
    );
    let page = app.get(&path, Some(&joao)).await;
    assert!(
        page.body.contains("id=\"gw-apply-button\""),
        "{}",
        page.body
    );
    let r = app
        .post_form(
            &format!("{path}/job"),
            &joao,
            &[("job_id", &job), ("version", &form_version(&page.body))],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = app.get(r.header("location").unwrap(), Some(&joao)).await;
    assert!(
        page.body
            .contains("Aplicado: a parte do cliente está na ordem de reparação."),
        "{}",
        page.body
    );
    let case_page = app.get(&format!("/cases/{}", case.id), Some(&joao)).await;
    assert!(
        case_page.body.contains("id=\"case-goodwill\""),
        "{}",
        case_page.body
    );
}

/// The claim analysis in pages over the demo's history: Ana (Polestar Portugal, in Portuguese)
/// sees the early warning on electrical claims with a link to the claims behind a month, the
/// claims-per-1,000 table, cost per unit and a Weibull fit with its chart, and downloads the
/// matrix as CSV; Tesla's analyst reads Norway's figures in English; a service manager may not.
#[tokio::test]
#[allow(clippy::disallowed_methods)]
async fn the_claim_analysis_shows_the_rising_component_and_drills_down() {
    let app = TestApp::new().await;
    aftersales_store::demo::seed_history(&app.store, time::macros::datetime!(2026-11-21 08:00 UTC))
        .await
        .unwrap();
    let ana = app.login("ana").await;
    let page = app.get("/warranty/analysis", Some(&ana)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for text in [
        "Alertas precoces",
        "Reclamações por 1000 viaturas por meses em serviço",
        "Custo por viatura",
        "Tendência de avarias: Sistema de alta tensão",
        "Forma β (limites a 95 %)",
        "<svg class=\"chart\"",
        "id=\"peer-vehicle\"",
        "Reclamações por viatura assistida",
        "Custo de garantia ÷ faturação de serviço",
        "id=\"mis-point\"",
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    let rate = &page.body[page.body.find("id=\"peer-vehicle\"").unwrap()..];
    assert!(
        rate[..rate.find("</thead>").unwrap()].contains("Viaturas assistidas"),
        "{rate}"
    );
    // Claims per 1,000 of one service point, chosen from the list.
    let point = page.body[page.body.find("id=\"mis-point\"").unwrap()..]
        .split("<option value=\"")
        .nth(2)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let one = app
        .get(
            &format!("/warranty/analysis?service_point={point}"),
            Some(&ana),
        )
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(
        one.body
            .contains(&format!("<option value=\"{point}\" selected>")),
        "{}",
        one.body
    );
    let peers = &page.body[page.body.find("id=\"peer-labour\"").unwrap()..];
    let braga = &peers[peers.find("Polestar Service Point Braga").unwrap()..];
    assert!(
        braga[..braga.find("</tr>").unwrap()].contains("acima dos pares"),
        "{braga}"
    );
    let alerts = &page.body
        [page.body.find("id=\"an-alerts\"").unwrap()..page.body.find("id=\"mis\"").unwrap()];
    assert!(alerts.contains("Elétrico"), "{alerts}");
    let drill = link(
        alerts,
        "/warranty?view=all&amp;component=electrical&amp;month=",
    )
    .replace("&amp;", "&");
    let list = app.get(&drill, Some(&ana)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("id=\"narrowed\""), "{}", list.body);
    assert!(list.body.contains("id=\"claim-WC-RO-PT-"), "{}", list.body);
    let csv = app.get("/warranty/analysis/mis.csv", Some(&ana)).await;
    assert!(csv.body.starts_with(
        "cohort,month_in_service,vehicles_at_risk,claims,per_1000,cumulative_per_1000\n"
    ));
    assert!(csv.body.contains("\ntotal,12,"), "{}", csv.body);
    let emily = app.login("emily").await;
    let page = app.get("/warranty/analysis", Some(&emily)).await;
    assert!(
        page.body.contains("Cost per vehicle") && page.body.contains("NOK "),
        "{}",
        page.body
    );
    let marta = app.login("marta").await;
    assert_eq!(
        app.get("/warranty/analysis", Some(&marta)).await.status,
        StatusCode::FORBIDDEN
    );
}

/// Ana audits the Portuguese network: Braga leads the risk ranking with its red flags linked to
/// the claims behind them, she proposes an audit, charges back part of the first claim (a wrong
/// amount named first, nothing lost), and the claim shows it; the workbook opens in a
/// spreadsheet reader; the API answers the same and refuses bad input by field.
#[tokio::test]
async fn ana_audits_braga_and_a_chargeback_changes_the_claim() {
    let app = TestApp::new().await;
    aftersales_store::demo::seed_history(&app.store, time::macros::datetime!(2026-11-21 08:00 UTC))
        .await
        .unwrap();
    let ana = app.login("ana").await;
    let page = app.get("/warranty/audit", Some(&ana)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for text in [
        "Auditoria dos pontos de serviço",
        "Pontos de serviço por risco",
        "Regras de alerta",
        "Mão de obra acima do tempo padrão",
    ] {
        assert!(page.body.contains(text), "{text}");
    }
    let table = &page.body[page.body.find("id=\"risk-table\"").unwrap()..];
    let first = &table[table.find("<tbody>").unwrap()..];
    let first = &first[..first.find("</tr>").unwrap()];
    assert!(first.contains("Polestar Service Point Braga"), "{first}");
    assert!(first.contains("mão de obra por reclamação"), "{first}");
    let drill = first
        .split("href=\"")
        .filter_map(|h| h.split('"').next())
        .find(|h| h.starts_with("/warranty/audit/points/") && h.contains("?flag=over-flat-rate"))
        .unwrap_or_else(|| panic!("no link to the claims over the flat rate: {first}"))
        .to_string();
    let list = app.get(&drill.replace("&amp;", "&"), Some(&ana)).await;
    assert_eq!(list.status, StatusCode::OK);
    // A threshold that is no number is named as such, and the rule keeps its value.
    let typo = app
        .post_form(
            "/warranty/audit/rules/repeat-repair",
            &ana,
            &[("threshold", "noventa"), ("weight", "3"), ("enabled", "on")],
        )
        .await;
    assert_eq!(
        typo.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        typo.body
    );
    assert!(
        typo.body.contains("Introduza um número inteiro."),
        "{}",
        typo.body
    );
    let rules = app
        .api(
            Method::GET,
            "/api/v1/warranty/audit-rules",
            Auth::Browser(&ana),
            None,
            &[],
        )
        .await
        .json();
    let repeat = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["flag"] == "repeat-repair")
        .unwrap()
        .clone();
    assert_eq!(repeat["threshold"], 90, "{repeat}");
    assert!(list.body.contains("/warranty/claims/"), "{}", list.body);
    let point_id = first
        .split("name=\"service_point_id\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let made = app
        .post_form(
            "/warranty/audits",
            &ana,
            &[("service_point_id", point_id.as_str())],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let at = made.headers["location"].to_str().unwrap().to_string();
    let audit = app.get(&at, Some(&ana)).await;
    assert!(audit.body.contains("são precisas 59"), "{}", audit.body);
    let sample = &audit.body[audit.body.find("id=\"sample-table\"").unwrap()..];
    let claim_id = sample
        .split("id=\"c-")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let post = format!("{at}/claims/{claim_id}");
    let wrong = app
        .post_form(
            &post,
            &ana,
            &[
                ("result", "charged-back"),
                ("amount", "abc"),
                ("reason", ""),
                ("note", "Horas a mais"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.body.contains("Indique o valor a estornar"),
        "{}",
        wrong.body
    );
    assert!(wrong.body.contains("Escolha o motivo do estorno"));
    assert!(
        wrong.body.contains("value=\"Horas a mais\""),
        "the note is kept"
    );
    let ok = app
        .post_form(
            &post,
            &ana,
            &[
                ("result", "charged-back"),
                ("amount", "50,00"),
                ("reason", "labour-over-flat-rate"),
                ("note", "Horas a mais"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let claim = app
        .get(&format!("/warranty/claims/{claim_id}"), Some(&ana))
        .await;
    let audits = &claim.body[claim.body.find("id=\"claim-audits\"").unwrap()..];
    assert!(audits.contains("Estornada"), "{audits}");
    assert!(audits.contains("50,00"), "{audits}");
    assert!(
        audits.contains("Mão de obra acima do tempo padrão"),
        "{audits}"
    );

    // The workbook: every sheet readable by a spreadsheet library.
    let x = app.get("/warranty/analysis/export.xlsx", Some(&ana)).await;
    assert_eq!(x.status, StatusCode::OK);
    assert_eq!(
        x.headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    if let Some(text) = crate::support::read_workbook(&x.bytes) {
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("Custo por viatura"), "{text}");
        assert!(lines[0].contains("Ajustes de Weibull"), "{text}");
        assert_eq!(lines[1], "Entregues", "{text}");
        assert!(lines[2].parse::<usize>().unwrap() > 100, "{text}");
    }

    // The API.
    let token = app.token_for("ana").await;
    let r = app
        .api(
            Method::GET,
            "/api/v1/warranty/risk",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        v["points"][0]["service_point"]["label"],
        "Polestar Service Point Braga"
    );
    let r = app
        .api(
            Method::GET,
            "/api/v1/warranty/analysis/weibull?component=high-voltage&by=km",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert!(v["fit"]["beta"].as_f64().unwrap() > 0.0, "{v}");
    let r = app
        .api(
            Method::GET,
            "/api/v1/warranty/analysis/weibull?component=wheels",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("\"component\""), "{}", r.body);
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/warranty/audits/{}/claims/{claim_id}", at.rsplit('/').next().unwrap()),
            Auth::Bearer(&token),
            Some(serde_json::json!({"result": "charged-back", "amount": "999999", "reason": "other"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("\"amount\""), "{}", r.body);
    for path in [
        "/api/v1/warranty/analysis/claims-per-1000?component=electrical",
        "/api/v1/warranty/analysis/cost-per-unit",
        "/api/v1/warranty/analysis/early-warning?component=electrical",
        "/api/v1/warranty/analysis/peers?measure=labour-per-claim",
        "/api/v1/warranty/audit-rules",
        "/api/v1/warranty/audits",
    ] {
        let r = app
            .api(Method::GET, path, Auth::Bearer(&token), None, &[])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    }
    let marta = app.login("marta").await;
    assert_eq!(
        app.get("/warranty/audit", Some(&marta)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&at, Some(&marta)).await.status,
        StatusCode::NOT_FOUND
    );
}
