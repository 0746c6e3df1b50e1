//! Logistics screens as their users work them: the advisor adds a pickup with a loaner from the
//! windows the plan can still serve, plans the day and locks a job on the board; the driver works
//! the run sheet; bad input is named in the reader's language; Lisboa reads it all in Portuguese.

use aftersales_domain::clock::{Clock, FixedClock};
use aftersales_notify::testing::{SmsReceiver, SmtpSink};
use aftersales_notify::{deliver_due, Mailer, SmsGateway, Transports};
use aftersales_store::logistics::TransportJobInput;
use aftersales_store::workshop::RepairOrderInput;
use axum::http::StatusCode;
use base64::Engine;
use time::Duration;

use crate::support::TestApp;

pub const DAY: &str = "2026-11-21";

/// A repair order at Trondheim for a demo customer who lives on the map.
#[allow(clippy::disallowed_methods)]
pub async fn trondheim_order(app: &TestApp) -> (String, String) {
    let scope = app.scope_of("ingrid").await;
    let org = app.org_id("Tesla Service Centre Trondheim").await;
    let token = app.token_for("ingrid").await;
    let customer = app.customer_id(&token, "Kari Nordmann").await;
    let ro = app
        .store
        .workshop()
        .create_repair_order(
            &scope,
            &RepairOrderInput {
                organisation_id: org.clone(),
                customer_id: customer,
                complaint: "Service med henting".into(),
                ..Default::default()
            },
            app.clock.now(),
        )
        .await
        .unwrap();
    (org, ro.id)
}

/// The first window the form offers.
pub fn first_window(html: &str) -> String {
    let i = html
        .find("name=\"window\" value=\"")
        .expect("a window is offered")
        + "name=\"window\" value=\"".len();
    html[i..].split('"').next().unwrap().replace("&#43;", "+")
}

#[tokio::test]
async fn advisor_adds_a_pickup_plans_locks_and_the_driver_works_it() {
    let app = TestApp::new().await;
    let (org, ro) = trondheim_order(&app).await;
    let ingrid = app.login("ingrid").await;

    // The windows the saved plan can still serve; earlier ones are gone (it is 10:00).
    let form = app
        .get(
            &format!("/logistics/new?repair_order_id={ro}&kind=pickup&day={DAY}"),
            Some(&ingrid),
        )
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(
        form.body.contains("Henting eller levering"),
        "{}",
        form.body
    );
    assert!(
        !form.body.contains(">07:00–09:00<"),
        "a window already over is offered"
    );
    let window = first_window(&form.body);
    let select = &form.body[form.body.find("id=\"nl\"").unwrap()..];
    let loaner: String = select
        .split("<option value=\"")
        .nth(2)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let order = app
        .get(&format!("/workshop/repair-orders/{ro}"), Some(&ingrid))
        .await;
    assert!(order.body.contains("id=\"add-pickup\""), "{}", order.body);
    assert!(!loaner.is_empty(), "a loaner is offered");

    // No window chosen: said in Norwegian, and nothing is saved.
    let r = app
        .post_form(
            "/logistics/jobs",
            &ingrid,
            &[("repair_order_id", &ro), ("kind", "pickup"), ("day", DAY)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Velg et tidsvindu."), "{}", r.body);
    let r = app
        .post_form(
            "/logistics/jobs",
            &ingrid,
            &[
                ("repair_order_id", &ro),
                ("kind", "pickup"),
                ("day", DAY),
                ("window", &window),
                ("loaner_id", &loaner),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = app
        .get(
            &format!("/workshop/repair-orders/{ro}?done=transport"),
            Some(&ingrid),
        )
        .await;
    assert!(page.body.contains("id=\"transport-done\""));
    assert!(
        page.body.contains("Henting: 21. november 2026"),
        "{}",
        page.body
    );

    // The board says the plan is behind; planning places the job on a driver's run.
    let board = app
        .get(&format!("/logistics?org={org}&day={DAY}"), Some(&ingrid))
        .await;
    assert!(board.body.contains("id=\"stale\""), "{}", board.body);
    let r = app
        .post_form("/logistics/replan", &ingrid, &[("org", &org), ("day", DAY)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let board = app
        .get(
            &format!("/logistics?org={org}&day={DAY}&done=replanned"),
            Some(&ingrid),
        )
        .await;
    assert!(board.body.contains("Dagen er planlagt på nytt."));
    assert!(!board.body.contains("id=\"stale\""));
    assert!(
        board.body.contains("class=\"tl-job tl-pickup"),
        "{}",
        board.body
    );
    let jobs = app
        .store
        .logistics()
        .jobs_of_repair_order(&app.scope_of("ingrid").await, &ro)
        .await
        .unwrap();
    let job = &jobs[0].id;

    // Locked to Mats at 13:00 and planned again: it is on his run at 13:00.
    let drivers = app
        .store
        .logistics()
        .drivers(&app.scope_of("ingrid").await, &org)
        .await
        .unwrap();
    let mats = drivers.iter().find(|d| d.label == "Mats Lie").unwrap();
    let bad = app
        .post_form(
            &format!("/logistics/jobs/{job}/lock"),
            &ingrid,
            &[
                ("org", &org),
                ("day", DAY),
                ("driver_id", "nobody"),
                ("at", "13:00"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("role=\"alert\""));
    let r = app
        .post_form(
            &format!("/logistics/jobs/{job}/lock"),
            &ingrid,
            &[
                ("org", &org),
                ("day", DAY),
                ("driver_id", &mats.id),
                ("at", "13:00"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    app.post_form("/logistics/replan", &ingrid, &[("org", &org), ("day", DAY)])
        .await;
    let board = app
        .get(&format!("/logistics?org={org}&day={DAY}"), Some(&ingrid))
        .await;
    assert!(board.body.contains("🔒 Mats Lie, 13:00"), "{}", board.body);

    // Mats sees it on his run sheet and works it: on the way, arrived, hand-over with readings.
    let m = app.login("mats").await;
    let home = app.get("/", Some(&m)).await;
    assert!(home.body.contains("Mine stopp i dag"), "{}", home.body);
    assert!(home.body.contains("13:00 Henting"), "{}", home.body);
    let r = app.get("/logistics", Some(&m)).await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "a driver's logistics is the run sheet"
    );
    let sheet = app.get("/logistics/run", Some(&m)).await;
    assert!(
        sheet.body.contains(&format!("id=\"stop-{job}\"")),
        "{}",
        sheet.body
    );
    assert!(sheet.body.contains("geo:"), "the address opens navigation");
    assert!(
        sheet.body.contains("Lånebil EL"),
        "the loaner to take along"
    );
    for status in ["on-the-way", "arrived"] {
        let r = app
            .post_form(
                &format!("/logistics/jobs/{job}/status"),
                &m,
                &[("status", status), ("day", DAY)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let r = app
        .post_form(
            &format!("/logistics/jobs/{job}/status"),
            &m,
            &[("status", "done"), ("day", DAY), ("odometer_km", "tolv")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("Kilometerstanden er et helt antall kilometer."),
        "{}",
        r.body
    );
    assert!(r.body.contains("value=\"tolv\""), "what was typed stays");
    // The hand-over form shows the loaner terms in the customer's language and asks for the signature.
    let sheet = app.get("/logistics/run", Some(&m)).await;
    assert!(sheet.body.contains("AutoPASS"), "{}", sheet.body);
    assert!(sheet.body.contains("enctype=\"multipart/form-data\""));
    let fields = [
        ("status", "done"),
        ("day", DAY),
        ("odometer_km", "41250"),
        ("charge_pct", "64"),
        ("note", "Riper på høyre skjerm fra før"),
        ("loaner_odometer_km", "8 120"),
        ("loaner_charge_pct", "90"),
        ("loaner_range_km", "310"),
        ("signer_name", "Astrid Berg"),
    ];
    let jpeg: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0];
    let r = app
        .post_multipart(
            &format!("/logistics/jobs/{job}/status"),
            &m,
            &fields,
            &[("photos_customer", "front.jpg", jpeg)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("Kunden har ikke signert ennå"),
        "the missing signature is named: {}",
        r.body
    );
    assert!(r.body.contains("value=\"8 120\""), "what was typed stays");
    let signature = base64::engine::general_purpose::STANDARD.encode(include_bytes!(
        "../../../documents/tests/fixtures/signature.png"
    ));
    let mut signed = fields.to_vec();
    signed.push(("signature_png", &signature));
    let r = app
        .post_multipart(
            &format!("/logistics/jobs/{job}/status"),
            &m,
            &signed,
            &[
                ("photos_customer", "front.jpg", jpeg),
                ("photos_loaner", "loaner.jpg", jpeg),
                ("photos_loaner", "", b""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let sheet = app.get("/logistics/run", Some(&m)).await;
    assert!(sheet.body.contains("stop-done"), "{}", sheet.body);

    // The repair order keeps the hand-over: both cars with readings and photos, the signed agreement as PDF.
    let ro_page = app
        .get(&format!("/workshop/repair-orders/{ro}"), Some(&ingrid))
        .await;
    assert!(
        ro_page.body.contains("Kundens bil hentet"),
        "{}",
        ro_page.body
    );
    assert!(
        ro_page.body.contains("Lånebil utlevert"),
        "{}",
        ro_page.body
    );
    assert!(ro_page.body.contains("8120 km"), "{}", ro_page.body);
    assert!(ro_page.body.contains("90 % · 310 km"), "{}", ro_page.body);
    let photo = ro_page
        .body
        .split("src=\"/logistics/photos/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a photo on the page")
        .to_string();
    let img = app
        .get(&format!("/logistics/photos/{photo}"), Some(&ingrid))
        .await;
    assert_eq!(img.status, StatusCode::OK);
    let agreement = ro_page
        .body
        .split("href=\"/logistics/agreements/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("the agreement on the page")
        .to_string();
    let pdf = app
        .get(
            &format!("/logistics/agreements/{agreement}/pdf"),
            Some(&ingrid),
        )
        .await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert!(pdf.body.starts_with("%PDF-"));
    // Lisboa's advisor sees neither.
    let joao = app.login("joao").await;
    for path in [
        format!("/logistics/photos/{photo}"),
        format!("/logistics/agreements/{agreement}/pdf"),
    ] {
        assert_eq!(
            app.get(&path, Some(&joao)).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }

    // The customer heard it all in Norwegian: the pickup window by mail and SMS, the driver on
    // the way with an arrival window by SMS; sent through a real SMTP server.
    if let Some(smtp) = SmtpSink::start().await {
        let sms = SmsReceiver::start().await;
        let transports = Transports {
            mail: Some(Mailer::new(&smtp.config()).unwrap()),
            sms: Some(SmsGateway::new(&sms.config()).unwrap()),
        };
        let round = deliver_due(
            &app.store,
            &transports,
            &FixedClock::new(app.clock.now() + Duration::hours(1)),
        )
        .await
        .unwrap();
        assert_eq!(round.dead, 0, "{round:?}");
        let mails = smtp.received();
        let subjects: Vec<String> = mails.iter().map(|m| m.subject.clone()).collect();
        assert!(
            subjects.iter().any(|s| s.starts_with("Vi henter")),
            "{subjects:?}"
        );
        // The signed loaner agreement reached the customer with its PDF.
        let agreement = mails
            .iter()
            .find(|m| m.subject.starts_with("Låneavtalen din for EL"))
            .unwrap_or_else(|| panic!("no agreement mail: {subjects:?}"));
        assert!(
            agreement
                .attachments
                .iter()
                .any(|a| a.filename.ends_with(".pdf") && a.head.starts_with("%PDF-")),
            "{:?}",
            agreement
                .attachments
                .iter()
                .map(|a| &a.filename)
                .collect::<Vec<_>>()
        );
        let texts: Vec<String> = sms
            .received()
            .iter()
            .map(|r| r.body["text"].as_str().unwrap_or_default().to_string())
            .collect();
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("Sjåføren vår er på vei og er hos deg lørdag")),
            "{texts:?}"
        );
    }
}

#[tokio::test]
#[allow(clippy::disallowed_methods)]
async fn unplanned_jobs_say_why_and_lisboa_reads_portuguese() {
    let app = TestApp::new().await;
    let (org, ro) = trondheim_order(&app).await;
    let scope = app.scope_of("ingrid").await;
    // An address with no coordinates is kept and flagged, never guessed.
    app.store
        .logistics()
        .add_job(
            &scope,
            &TransportJobInput {
                repair_order_id: ro.clone(),
                kind: "pickup".into(),
                window_from: "2026-11-21T12:00:00+01:00".into(),
                window_to: "2026-11-21T14:00:00+01:00".into(),
                address: Some("Hyttefeltet 3, Oppdal".into()),
                ..Default::default()
            },
            app.clock.now(),
        )
        .await
        .unwrap();
    let ingrid = app.login("ingrid").await;
    app.post_form("/logistics/replan", &ingrid, &[("org", &org), ("day", DAY)])
        .await;
    let board = app
        .get(&format!("/logistics?org={org}&day={DAY}"), Some(&ingrid))
        .await;
    assert!(
        board.body.contains("Adressen har ingen koordinater."),
        "{}",
        board.body
    );
    assert!(board.body.contains("id=\"unmapped\""));
    // The advisor puts it on the map; the next plan takes it.
    let nowhere = app
        .store
        .logistics()
        .jobs_of_repair_order(&scope, &ro)
        .await
        .unwrap()[0]
        .id
        .clone();
    let bad = app
        .post_form(
            &format!("/logistics/jobs/{nowhere}/place"),
            &ingrid,
            &[
                ("org", &org),
                ("day", DAY),
                ("latitude", "nord"),
                ("longitude", "10.4"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("Breddegrad er et antall grader"),
        "{}",
        bad.body
    );
    let r = app
        .post_form(
            &format!("/logistics/jobs/{nowhere}/place"),
            &ingrid,
            &[
                ("org", &org),
                ("day", DAY),
                ("latitude", "63.4102"),
                ("longitude", "10.4521"),
                ("address", "Hyttefeltet 3, Trondheim"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    app.post_form("/logistics/replan", &ingrid, &[("org", &org), ("day", DAY)])
        .await;
    let board = app
        .get(&format!("/logistics?org={org}&day={DAY}"), Some(&ingrid))
        .await;
    assert!(
        !board.body.contains("Adressen har ingen koordinater."),
        "{}",
        board.body
    );
    assert!(board.body.contains("Hyttefeltet 3, Trondheim"));
    // The customer asks for another window: a backwards one is refused in Norwegian, a good one moves the job.
    let bad = app
        .post_form(
            &format!("/logistics/jobs/{nowhere}/window"),
            &ingrid,
            &[
                ("org", &org),
                ("day", DAY),
                ("from", "15:00"),
                ("to", "14:00"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("Det tidsvinduet kan ikke gis"),
        "{}",
        bad.body
    );
    let r = app
        .post_form(
            &format!("/logistics/jobs/{nowhere}/window"),
            &ingrid,
            &[
                ("org", &org),
                ("day", DAY),
                ("from", "14:00"),
                ("to", "15:30"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let moved = app.store.logistics().job(&scope, &nowhere).await.unwrap();
    assert_eq!(
        (moved.window_from, moved.window_to),
        (
            time::macros::datetime!(2026-11-21 13:00 UTC),
            time::macros::datetime!(2026-11-21 14:30 UTC)
        )
    );
    let board = app
        .get(&format!("/logistics?org={org}&day={DAY}"), Some(&ingrid))
        .await;
    assert!(
        board.body.contains("id=\"stale\""),
        "the moved job waits for a re-plan"
    );

    // The set-up refuses a depot off the globe in the reader's words.
    let kari = app.login("kari").await;
    let r = app
        .post_form(
            "/logistics/setup",
            &kari,
            &[
                ("org", &org),
                ("form", "settings"),
                ("latitude", "163.4"),
                ("longitude", "10.4"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("Breddegrad er et antall grader"),
        "{}",
        r.body
    );
    assert!(r.body.contains("value=\"163.4\""));
    let r = app
        .post_form(
            "/logistics/setup",
            &kari,
            &[
                ("org", &org),
                ("form", "loaner"),
                ("plate", "EL 99999"),
                ("model", "Model 3"),
                ("range_km", "310"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // An advisor sees the set-up but may not change it.
    let r = app
        .post_form(
            "/logistics/setup",
            &ingrid,
            &[
                ("org", &org),
                ("form", "loaner"),
                ("plate", "EL 88888"),
                ("model", "Model 3"),
                ("range_km", "310"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let joao = app.login("joao").await;
    for path in ["/logistics", "/logistics/setup"] {
        let page = app.get(path, Some(&joao)).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        for english in [
            "Pickup",
            "Delivery",
            "Driver",
            "Loaner",
            "Timeline",
            "Plan again",
        ] {
            assert!(!page.body.contains(english), "{path} shows {english}");
        }
    }
    let board = app.get("/logistics", Some(&joao)).await;
    assert!(board.body.contains("Quadro de despacho"));
    assert!(board.body.contains("Tiago Martins"), "Lisboa's drivers");
    assert!(
        !board.body.contains("Mats Lie"),
        "no Trondheim driver in Lisboa"
    );

    // A Lisboa customer hears of the pickup in Portuguese, and sees it on the status page.
    let token = app.token_for("joao").await;
    let customer = app.customer_id(&token, "Miguel Costa").await;
    let lisboa = app.org_id("Polestar Service Point Lisboa").await;
    let js = app.scope_of("joao").await;
    let order = app
        .store
        .workshop()
        .create_repair_order(
            &js,
            &RepairOrderInput {
                organisation_id: lisboa,
                customer_id: customer,
                complaint: "Revisão com recolha".into(),
                ..Default::default()
            },
            app.clock.now(),
        )
        .await
        .unwrap();
    let job = app
        .store
        .logistics()
        .add_job(
            &js,
            &TransportJobInput {
                repair_order_id: order.id.clone(),
                kind: "pickup".into(),
                window_from: "2026-11-21T14:00:00Z".into(),
                window_to: "2026-11-21T16:00:00Z".into(),
                ..Default::default()
            },
            app.clock.now(),
        )
        .await
        .unwrap();
    assert!(job.latitude.is_some(), "the customer's coordinates");
    let status = app.get(&order.status_page, None).await;
    assert!(
        status.body.contains("class=\"transport\""),
        "{}",
        status.body
    );
    assert!(status.body.contains("Recolha "), "{}", status.body);
    assert!(
        status.body.contains("14:00–16:00: Planeado"),
        "{}",
        status.body
    );
    if let Some(smtp) = SmtpSink::start().await {
        let transports = Transports {
            mail: Some(Mailer::new(&smtp.config()).unwrap()),
            sms: None,
        };
        deliver_due(
            &app.store,
            &transports,
            &FixedClock::new(app.clock.now() + Duration::hours(1)),
        )
        .await
        .unwrap();
        let mails = smtp.received();
        assert!(
            mails
                .iter()
                .any(|m| m.subject.starts_with("Recolhemos o") && m.text.contains("sábado")),
            "{:?}",
            mails
                .iter()
                .map(|m| (&m.subject, &m.text))
                .collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn booking_with_pickup_goes_on_to_the_windows_of_the_appointment_day() {
    let app = TestApp::new().await;
    let ingrid = app.login("ingrid").await;
    let token = app.token_for("ingrid").await;
    let kari = app.customer_id(&token, "Kari Nordmann").await;
    let trd = app.org_id("Tesla Service Centre Trondheim").await;
    let form = app
        .get(
            &format!("/workshop/book?org={trd}&customer={kari}"),
            Some(&ingrid),
        )
        .await;
    assert!(form.body.contains("name=\"transport\""), "{}", form.body);
    let booked = app
        .post_form(
            "/workshop/book",
            &ingrid,
            &[
                ("org", &trd),
                ("customer", &kari),
                ("kind", "workshop"),
                ("op", "DIAG"),
                ("date", "2026-11-23"),
                ("transport", "on"),
                ("starts_at", "2026-11-23T10:00:00+01:00"),
            ],
        )
        .await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);
    let next = booked.header("location").unwrap().to_string();
    assert!(
        next.starts_with("/logistics/new?repair_order_id=") && next.ends_with("&kind=pickup"),
        "{next}"
    );
    let windows = app.get(&next, Some(&ingrid)).await;
    assert_eq!(windows.status, StatusCode::OK);
    assert!(
        windows.body.contains("value=\"2026-11-23\""),
        "the appointment's day: {}",
        windows.body
    );
    assert!(windows.body.contains("name=\"window\""), "{}", windows.body);
}

#[tokio::test]
#[allow(clippy::disallowed_methods)]
async fn the_map_draws_on_coordinates_and_over_tiles_only_when_configured() {
    let plain = TestApp::new().await;
    let tiled = TestApp::with_config(aftersales_web::WebConfig {
        tile_url: Some("https://tiles.example.org/{z}/{x}/{y}.png".into()),
        tile_attribution: Some("© Kartverket".into()),
        ..aftersales_web::WebConfig::default()
    })
    .await;
    // A routing service is configured but nothing answers there: the day is planned with the built-in model and
    // the board says so.
    let mut db = aftersales_store::testing::sqlite().await.unwrap();
    db.store = db.store.clone().with_routing(std::sync::Arc::new(
        aftersales_store::logistics::OsrmTable::new(
            "http://127.0.0.1:9/",
            std::time::Duration::from_millis(300),
        )
        .unwrap(),
    ));
    let unrouted = TestApp::on(db, aftersales_web::WebConfig::default()).await;
    for (app, tiles) in [(&plain, false), (&tiled, true), (&unrouted, false)] {
        let (org, ro) = trondheim_order(app).await;
        app.store
            .logistics()
            .add_job(
                &app.scope_of("ingrid").await,
                &TransportJobInput {
                    repair_order_id: ro,
                    kind: "pickup".into(),
                    window_from: "2026-11-21T12:00:00+01:00".into(),
                    window_to: "2026-11-21T14:00:00+01:00".into(),
                    ..Default::default()
                },
                app.clock.now(),
            )
            .await
            .unwrap();
        let ingrid = app.login("ingrid").await;
        app.post_form("/logistics/replan", &ingrid, &[("org", &org), ("day", DAY)])
            .await;
        let board = app
            .get(&format!("/logistics?org={org}&day={DAY}"), Some(&ingrid))
            .await;
        assert!(board.body.contains("<polyline"), "a route on coordinates");
        assert_eq!(
            board.body.contains("id=\"travel-fallback\""),
            std::ptr::eq(app, &unrouted),
            "{}",
            board.body
        );
        let csp = board.header("content-security-policy").unwrap().to_string();
        assert_eq!(
            board
                .body
                .contains("<image href=\"https://tiles.example.org/"),
            tiles
        );
        assert_eq!(board.body.contains("© Kartverket"), tiles);
        assert_eq!(
            csp.contains("img-src 'self' data: https://tiles.example.org;"),
            tiles,
            "{csp}"
        );
    }
}
