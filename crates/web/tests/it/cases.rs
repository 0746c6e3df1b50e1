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
        .contains("opprettet"));

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
    let tasks = app.get("/tasks", Some(&kari)).await.body;
    assert!(tasks.contains("Ring kunden etter diagnose"));
    // Due at 10:00 Oslo time, shown as such (issue 15, item 12): not "09:00 UTC".
    assert!(tasks.contains("2026-11-23 10:00"), "{tasks}");
    assert!(!tasks.contains("UTC"), "{tasks}");
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

#[tokio::test]
async fn the_public_form_and_the_mail_gateway_open_cases() {
    use axum::http::Method;
    use serde_json::json;

    use crate::support::{cookie_value, csrf_in, Auth};

    let app = TestApp::new().await;
    let page = app.get("/contact?lang=pt", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Contactar o centro de assistência")
            && page.body.contains("Polestar Service Point Porto")
    );
    let token = csrf_in(&page.body).unwrap();
    let cookie = format!(
        "as_csrf={}; as_lang=pt",
        cookie_value(&page.cookies(), "as_csrf").unwrap()
    );
    let porto = page
        .body
        .split("<option value=\"")
        .find(|p| p.contains("Polestar Service Point Porto"))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let started = (app.clock.now_unix() - 60).to_string();
    let fields = |extra: &[(&'static str, String)]| {
        let mut f: Vec<(&str, String)> = vec![
            ("csrf_token", token.clone()),
            ("started", started.clone()),
            ("service_point", porto.clone()),
            ("name", "Carolina Sá".into()),
            ("email", "carolina.5@example.pt".into()),
            ("subject", "Pedido de marcação".into()),
            (
                "message",
                "Gostaria de marcar a revisão anual do meu Polestar 2.".into(),
            ),
        ];
        f.extend_from_slice(extra);
        f
    };
    let post = |f: Vec<(&'static str, String)>| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_raw_form("/contact", Some(&cookie), &pairs).await
        }
    };
    // A filled honeypot or a form sent within a second of loading is taken for a robot.
    let r = post(fields(&[("website", "http://spam.example".into())])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Não foi possível receber"));
    let mut quick = fields(&[]);
    quick[1].1 = app.clock.now_unix().to_string();
    assert_eq!(post(quick).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A person's inquiry opens a case at the chosen service point.
    let r = post(fields(&[])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("O número do seu caso é CASE-"));
    let marta = app.login("marta").await;
    let inbox = app.get("/inbox", Some(&marta)).await;
    assert!(inbox.body.contains("Pedido de marcação") && inbox.body.contains("Carolina Sá"));

    // The mail gateway, with an API token of an account of the Lisboa workshop.
    let joao = app.token_for("joao").await;
    let mail = json!({"from": "rui.6@example.pt", "to": "lisboa@polestar-service.example", "subject": "Travões",
        "text": "Os travões continuam a chiar.", "message_id": "<abc@mail.example>"});
    let r = app
        .api(
            Method::POST,
            "/api/v1/inbound-email",
            Auth::Bearer(&joao),
            Some(mail.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["outcome"], "created");
    let r = app
        .api(
            Method::POST,
            "/api/v1/inbound-email",
            Auth::Bearer(&joao),
            Some(mail),
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.json()["outcome"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
}

#[tokio::test]
async fn triage_suggests_a_remote_fix_and_records_it() {
    use axum::http::Method;
    use serde_json::json;

    use crate::support::Auth;

    let app = TestApp::new().await;
    let ingrid = app.login("ingrid").await;
    let r = app
        .post_form(
            "/cases",
            &ingrid,
            &[
                ("contact", "415 22 333"),
                ("subject", "Skjermen fryser"),
                ("symptoms", "Skjermen blir svart under kjøring"),
                ("category", "technical"),
                ("priority", "normal"),
                ("channel", "phone"),
            ],
        )
        .await;
    let case_url = location(&r);
    let page = app.get(&case_url, Some(&ingrid)).await;
    assert!(page.body.contains("Triage: kan det løses på avstand?"));
    assert!(
        page.body.contains("Omstart av berøringsskjermen")
            && page.body.contains("ingen resultater ennå")
    );
    let article = page
        .body
        .split("name=\"article_id\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let case_id = case_url.trim_start_matches("/cases/").to_string();
    let r = app
        .post_form(
            &format!("/cases/{case_id}/triage"),
            &ingrid,
            &[("kind", "remote-fix"), ("article_id", &article)],
        )
        .await;
    assert_eq!(location(&r), case_url);
    let page = app.get(&case_url, Some(&ingrid)).await;
    assert!(page.body.contains("Fjernløsning") && page.body.contains("Restart the touchscreen"));

    // Through the API: suggestions in the user's language, the KPI with its definition.
    let token = app.token_for("ingrid").await;
    let s = app
        .api(
            Method::GET,
            &format!("/api/v1/cases/{case_id}/triage-suggestions"),
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(s[0]["article"]["title"], "Omstart av berøringsskjermen");
    let r = app
        .api(
            Method::GET,
            "/api/v1/kpis/remote-resolution-rate?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json()["denominator"].as_i64().unwrap() >= 1);
    let r = app
        .api(
            Method::GET,
            "/api/v1/kpis/remote-resolution-rate?from=yesterday&to=2026-12-01T00:00:00Z",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.json()["errors"][0]["field"], "from");
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/cases/{case_id}/triage"),
            Auth::Bearer(&token),
            Some(json!({"kind": "teleport"})),
            &[],
        )
        .await;
    assert_eq!(r.json()["errors"][0]["rule"], "one-of");
}

#[tokio::test]
async fn a_handed_on_case_is_read_only_for_the_intake_party() {
    let app = TestApp::new().await;
    // Tesla Norway's procedure sends delivery questions to the customer-care centre.
    let ingrid = app.login("ingrid").await;
    let r = app
        .post_form(
            "/cases",
            &ingrid,
            &[
                ("contact", "+47 993 11 222"),
                ("subject", "Når kommer bilen?"),
                ("category", "delivery"),
                ("priority", "normal"),
                ("channel", "phone"),
            ],
        )
        .await;
    let case_url = location(&r);
    let page = app.get(&case_url, Some(&ingrid)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Du kan lese denne saken"),
        "the intake party is told why it cannot act: {}",
        page.body
    );
    for action in [
        "/take\"",
        "/escalate\"",
        "/messages\"",
        "/tasks\"",
        "/handoff\"",
    ] {
        assert!(!page.body.contains(action), "{action} offered read-only");
    }
    // Customer care can act on it; once Sofie owns it she is not offered to take it again.
    let sofie = app.login("sofie").await;
    let page = app.get(&case_url, Some(&sofie)).await;
    assert!(page.body.contains("/take\"") && page.body.contains("/messages\""));
    let case_id = case_url.trim_start_matches("/cases/");
    let r = app
        .post_form(&format!("/cases/{case_id}/take"), &sofie, &[])
        .await;
    assert_eq!(location(&r), case_url);
    let page = app.get(&case_url, Some(&sofie)).await;
    assert!(!page.body.contains("/take\"") && page.body.contains("/messages\""));

    // A caller reading out the case number finds it from the inbox, typed loosely.
    let number = page
        .body
        .split("CASE-")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect::<String>();
    let r = app
        .get(
            &format!("/inbox?number=case-{}", number.replace('-', "-+")),
            Some(&ingrid),
        )
        .await;
    assert_eq!(location(&r), case_url);
    // Out of reach it is as unknown as a number that does not exist.
    let ana = app.login("ana").await;
    let r = app
        .get(&format!("/inbox?number=CASE-{number}"), Some(&ana))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("id=\"err-number\"") && r.body.contains(&number));
}
