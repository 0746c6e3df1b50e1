//! The inbox in the UI: an advisor logs a call in a few keystrokes, the safety words escalate it,
//! the service manager finds it in the queue, answers, and the timers say where things stand.

use axum::http::StatusCode;

use crate::support::TestApp;

fn location(r: &crate::support::Resp) -> String {
    r.header("location")
        .unwrap_or_else(|| panic!("no redirect: {} {}", r.status, r.body))
        .to_string()
}

#[tokio::test]
async fn a_call_about_smoke_goes_straight_to_the_manager() {
    let app = TestApp::new().await;
    let ingrid = app.login("ingrid").await;
    let form = app.get("/cases/new", Some(&ingrid)).await;
    assert!(
        form.body.contains("Registrer en samtale") && form.body.contains("<label for=\"contact\">")
    );
    // Missing subject: the form comes back with what was typed.
    let r = app
        .post_form(
            "/cases",
            &ingrid,
            &[
                ("contact", "912 34 567"),
                ("subject", ""),
                ("category", "technical"),
                ("priority", "normal"),
                ("channel", "phone"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("value=\"912 34 567\"") && r.body.contains("id=\"err-subject\""));
    let r = app
        .post_form(
            "/cases",
            &ingrid,
            &[
                ("contact", "912 34 567"),
                ("subject", "Lukt under lading"),
                ("symptoms", "Det kommer røyk fra ladeporten"),
                ("category", "technical"),
                ("priority", "high"),
                ("channel", "phone"),
            ],
        )
        .await;
    let case_url = location(&r);
    let page = app.get(&case_url, Some(&ingrid)).await;
    assert!(
        page.body.contains("Kari Nordmann"),
        "the caller is recognised by her phone number"
    );
    assert!(page.body.contains("Eskalert: sikkerhetsrisiko"));
    assert!(page.body.contains("i rute"), "the timers run");
    // The customer's page shows the case on the timeline.
    let customer = page
        .body
        .split("href=\"/customers/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(app
        .get(&format!("/customers/{customer}"), Some(&ingrid))
        .await
        .body
        .contains("opened: Lukt under lading"));

    // The service manager's queue.
    let kari = app.login("kari").await;
    let queue = app.get("/inbox?view=escalated", Some(&kari)).await;
    assert!(queue.body.contains("Lukt under lading") && queue.body.contains("sikkerhetsrisiko"));
    let case_id = case_url.trim_start_matches("/cases/");
    let r = app
        .post_form(&format!("/cases/{case_id}/take"), &kari, &[])
        .await;
    assert_eq!(location(&r), case_url);
    let r = app
        .post_form(
            &format!("/cases/{case_id}/messages"),
            &kari,
            &[
                ("body", "Ikke bruk bilen. Vi sender bergingsbil i dag."),
                ("to_customer", "true"),
            ],
        )
        .await;
    assert_eq!(location(&r), case_url);
    let page = app.get(&case_url, Some(&kari)).await;
    assert!(page.body.contains("Til kunden") && page.body.contains("Ikke bruk bilen"));
    assert!(page.body.contains("nådd"), "the first response is met");
    assert!(app
        .get("/inbox?view=mine", Some(&kari))
        .await
        .body
        .contains("Lukt under lading"));
    // A follow-up for tomorrow, then resolved.
    let r = app
        .post_form(
            &format!("/cases/{case_id}/tasks"),
            &kari,
            &[
                ("title", "Ring kunden etter diagnose"),
                ("due_date", "2026-11-23"),
                ("due_time", "10:00"),
            ],
        )
        .await;
    assert_eq!(location(&r), case_url);
    assert!(app
        .get("/tasks", Some(&kari))
        .await
        .body
        .contains("Ring kunden etter diagnose"));
    let version = app
        .get(&case_url, Some(&kari))
        .await
        .body
        .split("name=\"version\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let r = app
        .post_form(
            &format!("/cases/{case_id}/status"),
            &kari,
            &[("status", "resolved"), ("version", &version)],
        )
        .await;
    assert_eq!(location(&r), case_url);
    assert!(!app
        .get("/inbox", Some(&kari))
        .await
        .body
        .contains("Lukt under lading"));
    // A stale form is refused.
    let r = app
        .post_form(
            &format!("/cases/{case_id}/status"),
            &kari,
            &[("status", "open"), ("version", &version)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}
