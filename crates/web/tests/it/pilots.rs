//! Pilots through the pages and the API, on the demo's history: Ana opens the Portuguese
//! pickup-and-delivery pilot (Lisboa and Porto against Braga, Coimbra and Faro) and reads its
//! estimate with the interval and the verdict in Portuguese; Johan (Polestar HQ) sees it, Emily
//! (Tesla HQ) never; a control group is proposed by matching; a form refused names the fields in
//! her words and saves nothing; the API answers the evaluation.

use axum::http::{Method, StatusCode};

use crate::support::{Auth, TestApp};

#[tokio::test]
async fn the_demo_pilot_is_evaluated_and_new_ones_are_set_up() {
    let app = TestApp::new().await;
    use aftersales_domain::clock::Clock;
    aftersales_store::demo::seed_kpis(&app.store, app.clock.now())
        .await
        .unwrap();
    let ana = app.login("ana").await;
    let page = app.get("/pilots?lang=pt", Some(&ana)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page
        .body
        .contains("<a href=\"/pilots\" aria-current=\"page\">Pilotos</a>"));
    assert!(page.body.contains("Recolha e entrega incluídas"));
    let id = page
        .body
        .split("href=\"/pilots/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the demo pilot")
        .to_string();

    // The pilot's page: design, timeline, per KPI the chart, the estimate with its interval.
    let p = app.get(&format!("/pilots/{id}?lang=pt"), Some(&ana)).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    for needle in [
        "id=\"design\"",
        "id=\"timeline\"",
        "Polestar Service Point Coimbra",
        "Estimativa",
        "intervalo de 95 %",
        "teste placebo p = ",
        "<svg class=\"chart\"",
        "proposto por emparelhamento",
    ] {
        assert!(p.body.contains(needle), "{needle}");
    }
    // The API: the same evaluation; CSAT rose at the pilot points against the control group.
    let r = app
        .api(
            Method::GET,
            &format!("/api/v1/pilots/{id}"),
            Auth::Browser(&ana),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let e = r.json();
    assert_eq!(e["months_before"], 6);
    let csat = e["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["kpi"] == "csat")
        .unwrap();
    let did = &csat["did"];
    assert!(did["effect"].as_f64().unwrap() > 0.0, "{did}");
    assert!(did["lower"].as_f64().unwrap() < did["effect"].as_f64().unwrap());
    assert_eq!(did["placebo_assignments"], 10);
    assert_eq!(csat["series"].as_array().unwrap().len(), 5);
    assert_eq!(csat["verdict"], "improved", "{csat}");
    let p = app.get(&format!("/pilots/{id}?lang=pt"), Some(&ana)).await;
    assert!(
        p.body.contains("Satisfação do cliente (CSAT) melhorou") || p.body.contains("melhorou")
    );

    // Polestar's headquarters sees it; Tesla's never.
    let johan = app.login("johan").await;
    assert!(app
        .get("/pilots", Some(&johan))
        .await
        .body
        .contains("Recolha e entrega incluídas"));
    let emily = app.login("emily").await;
    let list = app.get("/pilots", Some(&emily)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains("Recolha"));
    assert_eq!(
        app.get(&format!("/pilots/{id}"), Some(&emily)).await.status,
        StatusCode::NOT_FOUND
    );

    // A control group proposed by matching, then a form refused in her words, nothing saved.
    let market = app.org_id("Polestar Portugal").await;
    let lisboa = app.org_id("Polestar Service Point Lisboa").await;
    let braga = app.org_id("Polestar Service Point Braga").await;
    let proposal = app
        .get(
            &format!(
                "/pilots?lang=pt&propose=1&organisation_id={market}&start_date=2026-09-01&months_before=6&kpis=csat&kpis=nps&pilot_points={lisboa}"
            ),
            Some(&ana),
        )
        .await;
    assert_eq!(proposal.status, StatusCode::OK, "{}", proposal.body);
    assert!(proposal.body.contains("id=\"proposal-note\""));
    assert!(proposal.body.contains(&format!(
        "name=\"control_points\" value=\"{braga}\" aria-label=\"No grupo de controlo: Polestar Service Point Braga\" checked"
    )));
    assert!(proposal
        .body
        .contains("name=\"control_method\" value=\"matched\""));
    let count = || async {
        app.api(
            Method::GET,
            "/api/v1/pilots",
            Auth::Browser(&ana),
            None,
            &[],
        )
        .await
        .json()
        .as_array()
        .unwrap()
        .len()
    };
    let before = count().await;
    let bad = app
        .post_form(
            "/pilots?lang=pt",
            &ana,
            &[
                ("organisation_id", &market),
                ("name", "Triagem nova"),
                ("programme", "Novo guião de triagem"),
                ("start_date", "setembro"),
                ("kpis", "remote-resolution"),
                ("pilot_points", &lisboa),
                ("control_method", "chosen"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("Data de início"), "{}", bad.body);
    assert!(bad.body.contains("Grupo de controlo"));
    assert!(bad.body.contains("value=\"Triagem nova\""));
    assert_eq!(count().await, before);
    let ok = app
        .post_form(
            "/pilots",
            &ana,
            &[
                ("organisation_id", &market),
                ("name", "Triagem nova"),
                ("programme", "Novo guião de triagem"),
                ("start_date", "2026-09-01"),
                ("kpis", "remote-resolution"),
                ("pilot_points", &lisboa),
                ("control_points", &braga),
                ("control_method", "chosen"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let to = ok.headers["location"].to_str().unwrap().to_string();
    let page = app.get(&format!("{to}?lang=pt"), Some(&ana)).await;
    assert_eq!(page.status, StatusCode::OK);
    // One control point and two months after the start: too thin, said so.
    assert!(page.body.contains("Ainda há poucos dados"), "{}", page.body);
}
