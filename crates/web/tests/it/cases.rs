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

/// Issue 15, item 10: the inbox's settings have a screen. The administrator sets opening hours
/// (a wrong day comes back as typed, with the message), an SLA target, a mail address and the web
/// form; an advisor cannot open it.
#[tokio::test]
async fn the_inbox_settings_have_a_screen() {
    let app = TestApp::new().await;
    let nora = app.login("nora").await;
    let trd = app.org_id("Tesla Service Centre Trondheim").await;
    let org_page = app.get(&format!("/organisations/{trd}"), Some(&nora)).await;
    assert!(
        org_page.body.contains("id=\"inbox-settings\""),
        "{}",
        org_page.body
    );
    let path = format!("/organisations/{trd}/inbox-settings");
    let page = app.get(&path, Some(&nora)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Åpningstider") && page.body.contains("mandag"));

    // Opening hours: Saturday closing before opening is refused, all days come back as typed.
    let mut hours: Vec<(String, String)> = Vec::new();
    for d in 0..5 {
        hours.push((format!("opens.{d}"), "07:30".into()));
        hours.push((format!("closes.{d}"), "17:00".into()));
    }
    hours.push(("opens.5".into(), "12:00".into()));
    hours.push(("closes.5".into(), "10:00".into()));
    let pairs: Vec<(&str, &str)> = hours
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let bad = app.post_form(&format!("{path}/hours"), &nora, &pairs).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(
        bad.body
            .contains("Stengetiden må komme etter åpningstiden."),
        "{}",
        bad.body
    );
    assert!(
        bad.body
            .contains("id=\"opens-0\" aria-label=\"mandag Åpner\" value=\"07:30\""),
        "{}",
        bad.body
    );
    assert!(
        bad.body
            .contains("id=\"opens-5\" aria-label=\"lørdag Åpner\" value=\"12:00\""),
        "{}",
        bad.body
    );
    hours.truncate(10);
    hours.push(("opens.5".into(), "10:00".into()));
    hours.push(("closes.5".into(), "14:00".into()));
    let pairs: Vec<(&str, &str)> = hours
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let ok = app.post_form(&format!("{path}/hours"), &nora, &pairs).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let cal = app
        .store
        .cases()
        .calendar_for(&trd, time::macros::datetime!(2026-11-21 09:00 UTC))
        .await
        .unwrap();
    assert_eq!(
        cal.open_on(time::macros::date!(2026 - 11 - 28)).len(),
        1,
        "Saturdays are open now"
    );
    assert!(cal.open_on(time::macros::date!(2026 - 11 - 29)).is_empty());

    // One SLA target changed: it becomes the service point's own, the others stay inherited.
    let page = app.get(&path, Some(&nora)).await.body;
    let mut sla: Vec<(String, String)> = Vec::new();
    for part in page.split("name=\"").skip(1) {
        let name = part.split('"').next().unwrap();
        if name.starts_with("fr.") || name.starts_with("res.") {
            let value = part
                .split("value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            sla.push((name.to_string(), value.to_string()));
        }
    }
    assert_eq!(sla.len(), 2 * 6 * 4, "every category and priority");
    for (k, v) in sla.iter_mut() {
        if k == "fr.technical.urgent" {
            *v = "15".into();
        }
    }
    let pairs: Vec<(&str, &str)> = sla.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let ok = app.post_form(&format!("{path}/sla"), &nora, &pairs).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let token = app.token_for("nora").await;
    let settings = app
        .api(
            axum::http::Method::GET,
            &format!("/api/v1/organisations/{trd}/inbox-settings"),
            crate::support::Auth::Bearer(&token),
            None,
            &[],
        )
        .await
        .json();
    let own: Vec<_> = settings["sla"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["own"] == true)
        .collect();
    assert_eq!(own.len(), 1, "{settings}");
    assert_eq!(own[0]["first_response_minutes"], 15);
    assert_eq!(settings["opening_hours"].as_array().unwrap().len(), 6);

    // The demo's address is listed; a bad one or one taken is refused at the field, a good one is listed.
    assert!(app
        .get(&path, Some(&nora))
        .await
        .body
        .contains("service.trondheim@tesla.example"));
    let taken = app
        .post_form(
            &format!("{path}/addresses"),
            &nora,
            &[("address", "Service.Trondheim@tesla.example")],
        )
        .await;
    assert!(
        taken
            .body
            .contains("Den adressen går allerede til en innboks."),
        "{}",
        taken.body
    );
    let bad = app
        .post_form(
            &format!("{path}/addresses"),
            &nora,
            &[("address", "not-an-address")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("id=\"err-address\"") && bad.body.contains("value=\"not-an-address\""),
        "{}",
        bad.body
    );
    let ok = app
        .post_form(
            &format!("{path}/addresses"),
            &nora,
            &[("address", "verksted.trondheim@tesla.example")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let page = app.get(&location(&ok), Some(&nora)).await.body;
    assert!(
        page.contains("verksted.trondheim@tesla.example") && page.contains("Adressen er lagt til.")
    );

    // The web form, switched.
    let before = settings["web_intake"].as_bool().unwrap();
    let ok = app
        .post_form(
            &format!("{path}/web-intake"),
            &nora,
            &[("on", if before { "no" } else { "yes" })],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let now = app
        .api(
            axum::http::Method::GET,
            &format!("/api/v1/organisations/{trd}/inbox-settings"),
            crate::support::Auth::Bearer(&token),
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(now["web_intake"].as_bool(), Some(!before));

    // A working procedure: invoice questions go to another Tesla party; half-given targets come
    // back with the message, kept as typed.
    let page = app.get(&path, Some(&nora)).await.body;
    let target = page
        .split("id=\"rt-target\" name=\"target_organisation_id\"><option value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let half = app
        .post_form(
            &format!("{path}/routing"),
            &nora,
            &[
                ("category", "invoice"),
                ("target_organisation_id", &target),
                ("first_response_minutes", "30"),
                ("resolution_minutes", ""),
            ],
        )
        .await;
    assert_eq!(
        half.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        half.body
    );
    assert!(
        half.body.contains(
            "id=\"rt-fr\" name=\"first_response_minutes\" inputmode=\"numeric\" value=\"30\""
        ),
        "{}",
        half.body
    );
    assert!(
        half.body.contains("<option value=\"invoice\" selected>"),
        "{}",
        half.body
    );
    let ok = app
        .post_form(
            &format!("{path}/routing"),
            &nora,
            &[
                ("category", "invoice"),
                ("target_organisation_id", &target),
                ("first_response_minutes", ""),
                ("resolution_minutes", ""),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let page = app.get(&location(&ok), Some(&nora)).await.body;
    assert!(
        page.contains("Arbeidsrutinen er lagret.") && page.contains("<td>Faktura</td>"),
        "{page}"
    );
    // And ended again: the row's button removes it; a second removal finds nothing.
    assert!(page.contains("id=\"remove-routing-invoice\""));
    let ended = app
        .post_form(
            &format!("{path}/routing/remove"),
            &nora,
            &[("category", "invoice")],
        )
        .await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER, "{}", ended.body);
    let page = app.get(&location(&ended), Some(&nora)).await.body;
    assert!(page.contains("Arbeidsrutinen er avsluttet"), "{page}");
    assert!(!page.contains("id=\"remove-routing-invoice\""), "{page}");
    let again = app
        .post_form(
            &format!("{path}/routing/remove"),
            &nora,
            &[("category", "invoice")],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    // An advisor works in the inbox but does not set it up.
    let ingrid = app.login("ingrid").await;
    assert_eq!(
        app.get(&path, Some(&ingrid)).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(!app
        .get(&format!("/organisations/{trd}"), Some(&ingrid))
        .await
        .body
        .contains("id=\"inbox-settings\""));
}

/// Issue 15, item 10: the knowledge base has a screen: everyone in the inbox reads the articles
/// in their language with what each fix achieved; a service manager writes one in all three
/// languages (a missing translation comes back with everything typed).
#[tokio::test]
async fn the_knowledge_base_has_a_screen() {
    let app = TestApp::new().await;
    let kari = app.login("kari").await;
    let inbox = app.get("/inbox", Some(&kari)).await.body;
    assert!(inbox.contains("id=\"knowledge-link\""));
    let page = app.get("/knowledge", Some(&kari)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Kunnskapsbase") && page.body.contains("id=\"new-article\""));
    let mut form = vec![
        (
            "organisation_id",
            app.org_id("Tesla Service Centre Trondheim").await,
        ),
        ("category", "technical".to_string()),
        ("fix_kind", "setting".to_string()),
        ("keywords", "wipers, vindusviskere, escovas".to_string()),
        ("title_nb", "Vindusviskerne står i servicemodus".to_string()),
        ("title_en", "The wipers are in service mode".to_string()),
        ("title_pt", String::new()),
        (
            "steps_nb",
            "Trykk Kontroller › Service › Viskerservicemodus av.".to_string(),
        ),
        (
            "steps_en",
            "Tap Controls › Service › Wiper service mode off.".to_string(),
        ),
        (
            "steps_pt",
            "Toque em Controlos › Assistência › Modo de serviço das escovas desligado.".to_string(),
        ),
    ];
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bad = app.post_form("/knowledge", &kari, &pairs).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(
        bad.body
            .contains("<details class=\"card\" open id=\"new-article\">"),
        "{}",
        bad.body
    );
    assert!(bad
        .body
        .contains("value=\"Vindusviskerne står i servicemodus\""));
    assert!(bad
        .body
        .contains("Trykk Kontroller › Service › Viskerservicemodus av."));
    assert!(bad.body.contains("<option value=\"setting\" selected>"));
    form[6].1 = "As escovas estão em modo de serviço".to_string();
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let ok = app.post_form("/knowledge", &kari, &pairs).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let list = app.get(&location(&ok), Some(&kari)).await.body;
    assert!(
        list.contains("Artikkelen er publisert.")
            && list.contains("Vindusviskerne står i servicemodus")
    );
    // The advisor reads it, in Portuguese too, and has no form.
    let ingrid = app.login("ingrid").await;
    let read = app.get("/knowledge?lang=pt", Some(&ingrid)).await.body;
    assert!(
        read.contains("As escovas estão em modo de serviço"),
        "{read}"
    );
    assert!(!read.contains("id=\"new-article\""));
}
