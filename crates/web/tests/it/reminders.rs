//! Issue 15, item 18: service reminders. The advisor's list of who is due (from the brand's
//! schedule and the market's inspections, as data), maintenance done elsewhere recorded on the
//! spot, the reminder run telling customers once per due date, and a campaign planned by the
//! market manager going only to customers who agreed to offers.

use aftersales_domain::clock::Clock;
use axum::http::StatusCode;

use crate::support::TestApp;

fn location(r: &crate::support::Resp) -> String {
    r.header("location")
        .unwrap_or_else(|| panic!("no redirect: {} {}", r.status, r.body))
        .to_string()
}

/// The value of the first `name="…" value="…"` after `from` in a page.
fn value_after<'a>(html: &'a str, from: usize, name: &str) -> &'a str {
    let key = format!("name=\"{name}\" value=\"");
    let i = html[from..]
        .find(&key)
        .map(|i| from + i + key.len())
        .unwrap_or(from);
    html[i..].split('"').next().unwrap_or_default()
}

// The reminder run is the server's worker (operator access), called here as the worker would.
#[allow(clippy::disallowed_methods)]
#[tokio::test]
async fn the_advisor_sees_who_is_due_and_customers_are_reminded_once() {
    let app = TestApp::new().await;
    let ingrid = app.login("ingrid").await;
    let home = app.get("/", Some(&ingrid)).await.body;
    assert!(
        home.contains("href=\"/reminders\""),
        "the menu has reminders"
    );
    let page = app.get("/reminders", Some(&ingrid)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(body.contains("Servicepåminnelser") && body.contains("id=\"due\""));
    assert!(body.contains("Årlig service"), "{body}");
    assert!(body.contains("over fristen"), "one car is past its date");
    assert!(body.contains("snart"));
    // The first row: record that it was done elsewhere. A day in the future is refused, named.
    let row = body.find("action=\"/reminders/done\"").unwrap();
    let vehicle = value_after(body, row, "vehicle_id").to_string();
    let schedule = value_after(body, row, "schedule_id").to_string();
    let today = app.clock.now().date();
    let tomorrow = (today + time::Duration::days(1)).to_string();
    let bad = app
        .post_form(
            "/reminders/done",
            &ingrid,
            &[
                ("vehicle_id", &vehicle),
                ("schedule_id", &schedule),
                ("done_on", &tomorrow),
                ("km", "31 000"),
                ("days", "30"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(
        bad.body.contains("Utført"),
        "the field is named: {}",
        bad.body
    );
    assert!(
        bad.body.contains("value=\"31 000\""),
        "what was typed stays"
    );
    // A mileage that is no number is named as such (not as a reading below the last one).
    let bad_km = app
        .post_form(
            "/reminders/done",
            &ingrid,
            &[
                ("vehicle_id", &vehicle),
                ("schedule_id", &schedule),
                ("done_on", &today.to_string()),
                ("km", "abc"),
                ("days", "30"),
            ],
        )
        .await;
    assert_eq!(bad_km.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_km
            .body
            .contains("Oppgi kilometerstanden i hele kilometer")
            && !bad_km.body.contains("lavere enn forrige"),
        "{}",
        bad_km.body
    );
    let yesterday = (today - time::Duration::days(1)).to_string();
    let ok = app
        .post_form(
            "/reminders/done",
            &ingrid,
            &[
                ("vehicle_id", &vehicle),
                ("schedule_id", &schedule),
                ("done_on", &yesterday),
                ("km", "31000"),
                ("days", "30"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let after = app.get(&location(&ok), Some(&ingrid)).await.body;
    assert!(after.contains("Registrert."));
    let due = app
        .store
        .reminders()
        .due_for_vehicle(&app.scope_of("ingrid").await, &vehicle, app.clock.now())
        .await
        .unwrap();
    let item = due
        .iter()
        .find(|d| d.vehicle_id == vehicle && d.schedule_id == schedule)
        .unwrap();
    assert_eq!(item.last_done_on, Some(today - time::Duration::days(1)));
    assert!(item.due_on > today + time::Duration::days(300), "{item:?}");

    // The vehicle's page shows its items, with the reading's source in the reader's language.
    let car = app
        .get(&format!("/vehicles/{vehicle}"), Some(&ingrid))
        .await
        .body;
    assert!(
        car.contains("Service og kontroller") && car.contains("EU-kontroll"),
        "{car}"
    );
    assert!(car.contains("servicebesøk") && !car.contains("service visit"));

    // Lisboa: the advisor reads his list in Portuguese.
    let joao = app.login("joao").await;
    let pt = app.get("/reminders", Some(&joao)).await.body;
    assert!(pt.contains("Lembretes de manutenção"), "{pt}");

    // The market manager plans a campaign; a missing translation comes back as typed.
    let ana = app.login("ana").await;
    let form_page = app.get("/reminders", Some(&ana)).await.body;
    assert!(form_page.contains("id=\"new-campaign\""));
    let polestar_pt = app.org_id("Polestar Portugal").await;
    let today_s = today.to_string();
    let mut form = vec![
        ("organisation_id", polestar_pt.as_str()),
        ("send_on", today_s.as_str()),
        ("models", ""),
        ("title_nb", "Vårsjekk"),
        ("title_en", "Spring check"),
        ("title_pt", "Verificação de primavera"),
        ("message_nb", "Gratis sjekk av klimaanlegget i april."),
        ("message_en", "Free air-conditioning check in April."),
        ("message_pt", ""),
    ];
    let bad = app.post_form("/reminders/campaigns", &ana, &form).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("value=\"Verificação de primavera\""));
    form[8].1 = "Verificação gratuita do ar condicionado em abril.";
    let ok = app.post_form("/reminders/campaigns", &ana, &form).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let listed = app.get(&location(&ok), Some(&ana)).await.body;
    assert!(listed.contains("Verificação de primavera") && listed.contains("planeada"));

    // The reminder run: customers due soon are told once; the campaign goes out today.
    let run = app
        .store
        .cli()
        .send_reminders(app.clock.now())
        .await
        .unwrap();
    assert!(run.reminders > 0, "{run:?}");
    assert_eq!(run.campaigns, 1);
    let again = app
        .store
        .cli()
        .send_reminders(app.clock.now())
        .await
        .unwrap();
    assert_eq!(again.reminders, 0, "each due date once");
    assert_eq!(again.campaigns, 0);
    let reminded = app.get("/reminders", Some(&ingrid)).await.body;
    assert!(
        reminded.contains(&format!("{today} ")),
        "the list shows when the customer was reminded"
    );
    // In the outbox: the reminder in the customer's language; the campaign only where the
    // customer agreed to offers, recorded as not sent with the reason elsewhere.
    let outbox = app
        .store
        .notify()
        .outbox(&app.scope_of("ana").await, None, None, 500)
        .await
        .unwrap()
        .items;
    let campaign: Vec<_> = outbox.iter().filter(|m| m.event == "campaign").collect();
    assert!(campaign.iter().any(
        |m| m.status == "pending" && m.body.contains("Verificação gratuita do ar condicionado")
    ));
    assert!(campaign
        .iter()
        .any(|m| m.status == "skipped" && m.last_error.as_deref() == Some("no-offer-consent")));
    let norway = app
        .store
        .notify()
        .outbox(&app.scope_of("nora").await, None, None, 500)
        .await
        .unwrap()
        .items;
    assert!(
        norway
            .iter()
            .any(|m| m.event == "service-due" && m.subject.contains("Årlig service innen")),
        "{:?}",
        norway
            .iter()
            .map(|m| (&m.event, &m.subject))
            .collect::<Vec<_>>()
    );
    // The outbox says why, in the reader's language.
    let messages = app.get("/messages/outbox?lang=pt", Some(&ana)).await.body;
    assert!(
        messages.contains("o cliente não aceitou ofertas neste canal"),
        "{messages}"
    );
    // A planned campaign can be withdrawn; the one sent cannot (no button, and refused).
    let list = app.get("/reminders", Some(&ana)).await.body;
    let forms: Vec<&str> = list
        .split("action=\"/reminders/campaigns/")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or_default())
        .collect();
    assert_eq!(forms.len(), 1, "only the planned winter campaign: {list}");
    let out = app
        .post_form(&format!("/reminders/campaigns/{}", forms[0]), &ana, &[])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    let after = app.get(&location(&out), Some(&ana)).await.body;
    assert!(after.contains("A campanha foi retirada") && !after.contains("Campanha de inverno"));
    let sent_id = app
        .store
        .reminders()
        .campaigns(&app.scope_of("ana").await)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.status == "sent")
        .unwrap()
        .id;
    let refused = app
        .post_form(
            &format!("/reminders/campaigns/{sent_id}/withdraw"),
            &ana,
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The advisor without the right to plan campaigns has no form.
    assert!(!app
        .get("/reminders", Some(&ingrid))
        .await
        .body
        .contains("id=\"new-campaign\""));
}

/// The schedules are data the market keeps on a screen: the market manager sees what applies,
/// a bad number comes back as typed, and a market item replaces the brand's of the same code.
#[tokio::test]
async fn the_market_keeps_its_service_schedule_on_a_screen() {
    let app = TestApp::new().await;
    let ana = app.login("ana").await;
    assert!(app
        .get("/reminders", Some(&ana))
        .await
        .body
        .contains("id=\"schedules-link\""));
    let page = app.get("/reminders/schedules", Some(&ana)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Planos de manutenção")
            && page.body.contains("Inspeção periódica obrigatória (IPO)")
    );
    assert!(
        page.body.contains("a partir dos 96 meses a cada 12 meses"),
        "{}",
        page.body
    );
    let market = app.org_id("Polestar Portugal").await;
    let mut form = vec![
        ("organisation_id", market.as_str()),
        ("code", "service"),
        ("kind", "service"),
        ("name_nb", "Årlig service"),
        ("name_en", "Annual service"),
        ("name_pt", "Revisão anual"),
        ("first_months", ""),
        ("every_months", "doze"),
        ("every_km", "20 000"),
        ("later_from_months", ""),
        ("later_every_months", ""),
        ("operation_code", "PS-REVISAO"),
        ("model", ""),
        ("remind_days", "30"),
    ];
    let bad = app.post_form("/reminders/schedules", &ana, &form).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("value=\"doze\"") && bad.body.contains("value=\"Revisão anual\""));
    form[7].1 = "12";
    let ok = app.post_form("/reminders/schedules", &ana, &form).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let saved = app.get(&location(&ok), Some(&ana)).await.body;
    assert!(saved.contains("O item do plano foi guardado.") && saved.contains("Revisão anual"));
    // Lisboa's list now counts the market's yearly service, not the brand's two-yearly one.
    let due = app
        .store
        .reminders()
        .due(&app.scope_of("joao").await, 366, app.clock.now())
        .await
        .unwrap();
    let services: Vec<_> = due.iter().filter(|d| d.code == "service").collect();
    assert!(!services.is_empty());
    assert!(
        services.iter().all(|d| d.name.pt == "Revisão anual"),
        "{services:?}"
    );
    // An advisor sees no link and may not open it.
    let joao = app.login("joao").await;
    assert!(!app
        .get("/reminders", Some(&joao))
        .await
        .body
        .contains("id=\"schedules-link\""));
    assert_eq!(
        app.get("/reminders/schedules", Some(&joao)).await.status,
        StatusCode::FORBIDDEN
    );
}
