//! KPIs through the pages and the API, on the demo's history: Kari's dashboard in Norwegian
//! (KPIs in her menu, her targets judged), a drill from a red figure to the repair orders behind
//! it, the downloads stating their filters, Ana's side-by-side view of the Portuguese points and
//! never Trondheim, a target refused in her words with nothing saved, the API's definitions and
//! reports with their errors naming the field.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{Auth, TestApp};

#[tokio::test]
async fn dashboards_drill_down_exports_and_targets() {
    let app = TestApp::new().await;
    use aftersales_domain::clock::Clock;
    aftersales_store::demo::seed_kpis(&app.store, app.clock.now())
        .await
        .unwrap();
    let kari = app.login("kari").await;

    // Kari's dashboard: in her menu, this week by default, last month on request.
    let page = app.get("/kpis?lang=nb", Some(&kari)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page
        .body
        .contains("<a href=\"/kpis\" aria-current=\"page\">Nøkkeltall</a>"));
    assert!(page.body.contains("<option value=\"this-week\" selected>"));
    let page = app.get("/kpis?lang=nb&period=2026-10", Some(&kari)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Løst første gang"));
    assert!(page.body.contains("grønn fra 92,0 %, gul fra 88,0 %"));
    assert!(!page.body.contains("Polestar"));
    // Every computed KPI has its row; those computed elsewhere link there.
    for code in [
        "first-time-fix",
        "csat",
        "nps",
        "technician-productivity",
        "logistics-on-time",
    ] {
        assert!(
            page.body.contains(&format!("data-kpi=\"{code}\"")),
            "{code}"
        );
    }
    assert!(page.body.contains("href=\"/warranty/analysis\""));

    // The figure behind a red or amber cell: its page, broken down, down to the repair orders.
    let r = app
        .get(
            "/kpis/nps?period=2026-10&by=technician&lang=en",
            Some(&kari),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("id=\"breakdown\""));
    assert!(r.body.contains("<svg class=\"chart bars\""));
    let link = r
        .body
        .split("href=\"/workshop/repair-orders/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a repair order behind the figure")
        .to_string();
    let ro = app
        .get(&format!("/workshop/repair-orders/{link}"), Some(&kari))
        .await;
    assert_eq!(ro.status, StatusCode::OK);
    assert!(ro.body.contains("RO-NOK-"));

    // Each repair order behind the turnaround shows its active and waiting time.
    let r = app
        .get("/kpis/turnaround-days?period=2026-10&lang=en", Some(&kari))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("h, waiting "), "{}", r.body);

    // Downloads state their filters and definitions.
    let x = app
        .get("/kpis/export.xlsx?period=2026-10&lang=nb", Some(&kari))
        .await;
    assert_eq!(x.status, StatusCode::OK);
    assert!(x
        .header("content-type")
        .unwrap()
        .starts_with("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"));
    if let Some(text) = crate::support::read_workbook(&x.bytes) {
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Nøkkeltall|Filtre", "{text}");
        assert_eq!(lines[1], "Nøkkeltall", "{text}");
        // The header and a row per computed KPI.
        assert_eq!(lines[2], "17", "{text}");
    }
    let csv = app
        .get(
            "/kpis/csat/export.csv?period=2026-10&by=month&lang=en",
            Some(&kari),
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with("Filters,"));
    assert!(csv.body.contains("Period,2026-10-01 – 2026-10-31"));
    assert!(csv.body.contains("\r\n2026-10,"));
    // On the page the month reads as the reader writes it.
    let page = app
        .get("/kpis/csat?period=2026-10&by=month&lang=pt", Some(&kari))
        .await;
    assert!(page.body.contains("out. 2026"), "{}", page.body);
    assert!(csv.body.contains("Survey answers of 4–5"));
    let bad = app.get("/kpis?period=soon&lang=nb", Some(&kari)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The page says which filter was wrong, in the reader's language.
    assert!(bad.body.contains("Periode: "), "{}", bad.body);
    let bad = app
        .get(
            "/kpis/csat?from=1.10.2026&to=2026-10-31&lang=pt",
            Some(&kari),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("De: escreva uma data como 2026-11-01."),
        "{}",
        bad.body
    );
    assert!(!bad.body.contains("must be"));

    // Ana: the Portuguese points side by side, never Trondheim.
    let ana = app.login("ana").await;
    let page = app.get("/kpis?lang=pt&period=2026-10", Some(&ana)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"side-by-side\""));
    for point in [
        "Polestar Service Point Lisboa",
        "Polestar Service Point Porto",
        "Polestar Service Point Braga",
    ] {
        assert!(page.body.contains(point), "{point}");
    }
    assert!(!page.body.contains("Trondheim"));
    let trondheim = app.org_id("Tesla Service Centre Trondheim").await;
    let r = app
        .get(
            &format!("/kpis/csat?organisation_id={trondheim}&lang=pt"),
            Some(&ana),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A target the wrong way round, refused in her words; nothing saved.
    let lisboa = app.org_id("Polestar Service Point Lisboa").await;
    let before = app.get("/kpis?lang=pt", Some(&ana)).await.body;
    let r = app
        .post_form(
            "/kpis/targets?lang=pt",
            &ana,
            &[
                ("organisation_id", &lisboa),
                ("kpi", "turnaround-days"),
                ("valid_from", "2026-12"),
                ("green", "3"),
                ("amber", "2"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("A alteração não foi guardada"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("amber must"), "{}", r.body);
    let after = app.get("/kpis?lang=pt", Some(&ana)).await.body;
    assert_eq!(
        before.matches("/remove\"").count(),
        after.matches("/remove\"").count()
    );
    let r = app
        .post_form(
            "/kpis/targets",
            &ana,
            &[
                ("organisation_id", &lisboa),
                ("kpi", "turnaround-days"),
                ("valid_from", "2026-12"),
                ("green", "2"),
                ("amber", "3"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The targets table names the month as a reader writes it.
    let page = app.get("/kpis?lang=pt", Some(&ana)).await.body;
    assert!(page.contains("<td>dez. 2026</td>"), "{page}");

    // The API: definitions in the reader's language, a report, errors naming the field.
    let token = app.token_for("ana").await;
    let defs = app
        .api(
            Method::GET,
            "/api/v1/kpis?lang=pt",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(defs.as_array().unwrap().len(), 21);
    assert_eq!(defs[0]["code"], "first-time-fix");
    assert_eq!(defs[0]["name"], "Reparação à primeira");
    let r = app
        .api(
            Method::GET,
            "/api/v1/kpis/csat?period=2026-10&by=service-point&limit=5",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let report = r.json();
    // Lisboa, Porto, Braga and the demo's Coimbra and Faro.
    assert_eq!(report["breakdown"].as_array().unwrap().len(), 5);
    assert_eq!(report["items"].as_array().unwrap().len(), 5);
    assert!(report["items_total"].as_u64().unwrap() > 5);
    assert!(report["value"]["figure"]["value"].as_f64().unwrap() > 0.0);
    for (q, field) in [
        ("/api/v1/kpis/csat?period=soon", "period"),
        ("/api/v1/kpis/csat?by=planet", "by"),
        ("/api/v1/kpis/csat?limit=0", "limit"),
        ("/api/v1/kpis/happiness", "code"),
        ("/api/v1/kpis/claims-per-1000", "code"),
    ] {
        let r = app
            .api(Method::GET, q, Auth::Bearer(&token), None, &[])
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{q}: {}",
            r.body
        );
        assert_eq!(r.json()["errors"][0]["field"], field, "{q}");
    }
    let r = app
        .api(
            Method::POST,
            "/api/v1/kpi-targets",
            Auth::Bearer(&token),
            Some(
                json!({"organisation_id": trondheim, "kpi": "csat", "valid_from": "2026-12",
                "green": "90", "amber": "80"}),
            ),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .api(
            Method::PUT,
            &format!("/api/v1/organisations/{lisboa}/kpi-costs"),
            Auth::Bearer(&token),
            Some(json!({"technician_per_hour": "29,50", "driver_per_hour": "16"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["technician_minor"], 2950);
}

/// Kari asks for her weekly digest; once the week is over the server's run sends her dashboard
/// (Trondheim only) in Norwegian through the outbox to the real SMTP test server, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::disallowed_methods)] // the server's hourly run, as the binary calls it
async fn a_weekly_digest_reaches_the_manager_by_mail() {
    use aftersales_domain::clock::Clock;
    use aftersales_notify::testing::SmtpSink;
    use aftersales_notify::{deliver_due, Mailer, Transports};
    let Some(smtp) = SmtpSink::start().await else {
        return;
    };
    let app = TestApp::new().await;
    let now = app.clock.now();
    aftersales_store::demo::seed_kpis(&app.store, now)
        .await
        .unwrap();
    let kari = app.login("kari").await;
    let r = app
        .post_form(
            "/kpis/digests",
            &kari,
            &[("frequency", "weekly"), ("on", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = app.get("/kpis?lang=nb", Some(&kari)).await;
    assert!(page.body.contains("Ukentlig</strong>: Du får det"));
    let r = app
        .post_form(
            "/kpis/digests",
            &kari,
            &[("frequency", "daily"), ("on", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let i18n = aftersales_web::i18n::I18n::load().unwrap();
    let compose = |due: &aftersales_store::kpis::DueDigest,
                   d: &aftersales_store::kpis::Dashboard| {
        aftersales_web::kpi_digest::compose(&i18n, due, d, "https://aftersales.example")
    };
    // Not during the week she subscribed in; after it, once.
    let cli = app.store.cli();
    assert_eq!(cli.send_kpi_digests(now, compose).await.unwrap(), 0);
    let next_week = now + time::Duration::days(7);
    assert_eq!(cli.send_kpi_digests(next_week, compose).await.unwrap(), 1);
    assert_eq!(cli.send_kpi_digests(next_week, compose).await.unwrap(), 0);
    let transports = Transports {
        mail: Some(Mailer::new(&smtp.config()).unwrap()),
        sms: None,
    };
    deliver_due(
        &app.store,
        &transports,
        &aftersales_domain::clock::FixedClock::new(next_week),
    )
    .await
    .unwrap();
    let mail = smtp
        .received()
        .into_iter()
        .find(|m| m.subject.starts_with("Nøkkeltallene dine for uken"))
        .expect("the digest");
    assert!(mail.text.contains("Hei Kari Nilsen"), "{}", mail.text);
    assert!(mail.text.contains("Løst første gang"), "{}", mail.text);
    assert!(
        mail.text.contains("https://aftersales.example/kpis?from="),
        "{}",
        mail.text
    );
    assert!(!mail.text.contains("Polestar"), "{}", mail.text);
}
