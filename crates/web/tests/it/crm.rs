//! The CRM in the UI and the API: an advisor registers a caller, their car, logs the call,
//! records consent, finds them again by phone and plate, and handles a GDPR request.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{Auth, TestApp};

fn location(r: &crate::support::Resp) -> String {
    r.header("location")
        .unwrap_or_else(|| panic!("no redirect: {} {}", r.status, r.body))
        .to_string()
}

#[tokio::test]
async fn advisor_registers_a_caller_and_their_car() {
    let app = TestApp::new().await;
    let ingrid = app.login("ingrid").await;
    let page = app.get("/customers", Some(&ingrid)).await;
    assert!(
        page.body.contains("Finn en kunde eller et kjøretøy")
            && page.body.contains("href=\"/customers/new\"")
    );
    let form = app.get("/customers/new", Some(&ingrid)).await;
    assert_eq!(form.status, StatusCode::OK);
    // A typo in the phone and a wrong org number: kept as typed, each field marked.
    let bad = [
        ("kind", "company"),
        ("name", "Trøndelag Taxi AS"),
        ("phone", "call me"),
        ("org_number", "988077918"),
        ("language", "nb"),
        ("preferred_channel", "sms"),
        ("country", "NO"),
        ("latitude", "63,43"),
        ("longitude", "north"),
    ];
    let r = app.post_form("/customers", &ingrid, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("value=\"Trøndelag Taxi AS\"")
            && r.body.contains("id=\"err-phone\"")
            && r.body.contains("id=\"err-org_number\"")
            && r.body.contains("id=\"err-longitude\"")
    );
    assert!(r.body.contains("Kontrollsifferet stemmer ikke"));
    let good = [
        ("kind", "company"),
        ("name", "Trøndelag Taxi AS"),
        ("phone", "73 50 73 50"),
        ("org_number", "988 077 917"),
        ("email", "drift@trondelagtaxi.example"),
        ("language", "nb"),
        ("preferred_channel", "sms"),
        ("street", "Fjordgata 1"),
        ("postal_code", "7010"),
        ("city", "Trondheim"),
        ("country", "NO"),
        ("latitude", "63,4337"),
        ("longitude", "10.3984"),
    ];
    let r = app.post_form("/customers", &ingrid, &good).await;
    let customer_page = location(&r);
    let id = customer_page.trim_start_matches("/customers/").to_string();
    let page = app.get(&customer_page, Some(&ingrid)).await;
    assert!(page.body.contains("+4773507350") && page.body.contains("988077917"));

    // Add the car: a Tesla VIN with a wrong check digit is refused, the right one decoded.
    let r = app
        .post_form(
            &format!("/customers/{id}/vehicles"),
            &ingrid,
            &[("vin", "XP7YGCEL1RB123456"), ("registration", "EV 11223")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The form comes back open with what was typed and the message at the field (issue 15, item 4).
    assert!(
        r.body.contains("value=\"XP7YGCEL1RB123456\"") && r.body.contains("value=\"EV 11223\""),
        "{}",
        r.body
    );
    assert!(r.body.contains("<details open>"), "{}", r.body);
    assert!(r.body.contains("id=\"err-vin\""), "{}", r.body);
    assert!(
        !r.body.contains("vin:"),
        "no field names for people: {}",
        r.body
    );
    let r = app
        .post_form(
            &format!("/customers/{id}/vehicles"),
            &ingrid,
            &[
                ("vin", "XP7YGCEL9RB123456"),
                ("registration", "EV 11223"),
                ("delivery_date", "2024-03-01"),
            ],
        )
        .await;
    assert_eq!(location(&r), format!("/customers/{id}?done=vehicle"));
    let page = app.get(&location(&r), Some(&ingrid)).await;
    assert!(
        page.body.contains("Kjøretøyet er lagt til.")
            && page.body.contains("Model Y")
            && page.body.contains("(2024)")
    );
    let vehicle = page
        .body
        .split("href=\"/vehicles/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();

    // Log the call, record the consent.
    let r = app
        .post_form(
            &format!("/customers/{id}/timeline"),
            &ingrid,
            &[
                ("kind", "call"),
                ("vehicle_id", &vehicle),
                ("summary", "Squeak from the front suspension"),
                ("body", "Happens below 20 km/h"),
            ],
        )
        .await;
    assert_eq!(location(&r), format!("/customers/{id}?done=logged"));
    let r = app
        .post_form(
            &format!("/customers/{id}/consents"),
            &ingrid,
            &[
                ("purpose", "marketing"),
                ("channel", "email"),
                ("granted", "true"),
                ("source", "phone call"),
                ("wording", "Ja takk til nyhetsbrev fra Tesla på e-post."),
            ],
        )
        .await;
    assert_eq!(location(&r), format!("/customers/{id}?done=consent"));
    let page = app.get(&format!("/customers/{id}"), Some(&ingrid)).await;
    assert!(
        page.body.contains("Squeak from the front suspension")
            && page.body.contains("Happens below 20 km/h")
    );
    assert!(page.body.contains("Ja takk til nyhetsbrev"));

    // Found again by what a caller says on the phone: number, plate, the end of the VIN, a name.
    for q in ["73507350", "EV 112", "123456", "trondelag"] {
        let r = app
            .get(
                &format!("/customers?q={}", q.replace(' ', "+")),
                Some(&ingrid),
            )
            .await;
        assert!(
            r.body.contains(&id) || r.body.contains(&vehicle),
            "{q} found nothing"
        );
    }
    let api = app
        .api(
            Method::GET,
            "/api/v1/search?q=tr%C3%B8ndelag+taxi",
            Auth::CookieOnly(&ingrid),
            None,
            &[],
        )
        .await;
    assert_eq!(api.json()[0]["id"], id);

    // The odometer: a lower reading needs a reason.
    let r = app
        .post_form(
            &format!("/vehicles/{vehicle}/odometer"),
            &ingrid,
            &[("km", "45 000"), ("source", "check-in")],
        )
        .await;
    assert_eq!(location(&r), format!("/vehicles/{vehicle}?done=odometer"));
    let r = app
        .post_form(
            &format!("/vehicles/{vehicle}/odometer"),
            &ingrid,
            &[("km", "4500"), ("source", "check-in")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .body
        .contains("Kilometerstanden er lavere enn forrige avlesning"));
    let page = app
        .get(&format!("/vehicles/{vehicle}"), Some(&ingrid))
        .await;
    assert!(page.body.contains("45000 km") && page.body.contains("Trøndelag Taxi AS"));

    // GDPR: export, then erase only when confirmed.
    let r = app
        .get(&format!("/customers/{id}/export"), Some(&ingrid))
        .await;
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains("attachment"));
    let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(doc["customer"]["org_number"], "988077917");
    let r = app
        .post_form(&format!("/customers/{id}/erase"), &ingrid, &[])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post_form(
            &format!("/customers/{id}/erase"),
            &ingrid,
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(location(&r), format!("/customers/{id}?done=erased"));
    let page = app.get(&format!("/customers/{id}"), Some(&ingrid)).await;
    assert!(!page.body.contains("Trøndelag Taxi") && !page.body.contains("Happens below 20 km/h"));
    assert!(page.body.contains("Denne kunden er slettet etter ønske"));
    // What was blanked says so in the reader's language; no English was stored.
    assert!(
        page.body.contains("(fjernet ved sletting)"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("removed on erasure") && !page.body.contains("Erased customer"));
    assert!(
        !page.body.contains("action=\"/customers/{id}/timeline\""),
        "no more writing on an erased customer"
    );
    let page = app
        .get(&format!("/vehicles/{vehicle}"), Some(&ingrid))
        .await;
    assert!(
        page.body.contains("45000 km"),
        "the vehicle keeps its history"
    );
}

#[tokio::test]
async fn the_crm_api_names_fields_and_rules() {
    let app = TestApp::new().await;
    let token = app.token_for("joao").await;
    let r = app
        .api(Method::POST, "/api/v1/customers", Auth::Bearer(&token), Some(json!({"kind": "person", "name": "Rita Nunes", "nif": "501964842",
            "phone": "21 000", "language": "pt", "preferred_channel": "email", "country": "PT", "postal_code": "1000"})), &[])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<(String, String)> = r.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().into(),
                e["rule"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        vec![
            ("nif".to_string(), "check-digit".to_string()),
            ("phone".into(), "format".into()),
            ("preferred_channel".into(), "not-allowed".into()),
            ("postal_code".into(), "format".into()),
        ]
    );
    let r = app
        .api(Method::POST, "/api/v1/customers", Auth::Bearer(&token), Some(json!({"kind": "person", "name": "Rita Nunes", "nif": "501964843",
            "phone": "912 345 000", "language": "pt", "preferred_channel": "sms", "country": "PT", "postal_code": "1000-001"})), &[])
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let etag = r.header("etag").unwrap().to_string();
    let r = app
        .api(
            Method::GET,
            "/api/v1/vin-decoder/7SYEJ3YB5SG028826",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(
        (
            r.json()["model"].as_str(),
            r.json()["model_year"].as_i64(),
            r.json()["brand"].as_str()
        ),
        (Some("Polestar 3"), Some(2025), Some("Polestar"))
    );
    let r = app
        .api(
            Method::GET,
            "/api/v1/vin-decoder/7SYEJ3YB1SG028826",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.json()["errors"][0]["rule"], "check-digit");
    let r = app
        .api(Method::PUT, &format!("/api/v1/customers/{id}"), Auth::Bearer(&token), Some(json!({"kind": "person", "name": "Rita M. Nunes",
            "phone": "912 345 000", "language": "pt", "preferred_channel": "sms", "country": "PT"})), &[("if-match", &etag)])
        .await;
    assert_eq!(
        (r.status, r.json()["name"].as_str()),
        (StatusCode::OK, Some("Rita M. Nunes"))
    );
    let r = app
        .api(Method::PUT, &format!("/api/v1/customers/{id}"), Auth::Bearer(&token), Some(json!({"kind": "person", "name": "Stale",
            "phone": "912 345 000", "language": "pt", "preferred_channel": "sms", "country": "PT"})), &[("if-match", &etag)])
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/customers/{id}/erasure"),
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert!(r.json()["name"].as_str().unwrap().starts_with("— "));
}

/// Issue 15, item 10: the VIN table has a screen. Everyone with customer files reads it; the
/// administrator of Tesla's headquarters adds a code (a bad one comes back as typed), and a VIN of
/// that code is then decoded with its model. A market administrator cannot change it.
#[tokio::test]
async fn the_vin_table_has_a_screen() {
    let app = TestApp::new().await;
    let ingrid = app.login("ingrid").await;
    assert!(app
        .get("/customers", Some(&ingrid))
        .await
        .body
        .contains("id=\"vin-table-link\""));
    let table = app.get("/vin-table", Some(&ingrid)).await;
    assert_eq!(table.status, StatusCode::OK);
    assert!(table.body.contains("<code>XP7</code>") && table.body.contains("VIN-tabell"));
    assert!(
        !table.body.contains("id=\"wmi-form\""),
        "advisors read it only"
    );
    let admin = app.login("admin").await;
    let page = app.get("/vin-table", Some(&admin)).await.body;
    assert!(page.contains("id=\"wmi-form\""), "{page}");
    let bad = app
        .post_form(
            "/vin-table",
            &admin,
            &[
                ("wmi", "IO1"),
                ("brand_code", "TESLA"),
                ("manufacturer", "Tesla Giga Texas"),
                ("check_digit_required", "yes"),
                ("models", "Y = Model Y"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(
        bad.body.contains("value=\"Tesla Giga Texas\"") && bad.body.contains("Y = Model Y"),
        "{}",
        bad.body
    );
    let ok = app
        .post_form(
            "/vin-table",
            &admin,
            &[
                ("wmi", "7g3"),
                ("brand_code", "TESLA"),
                ("manufacturer", "Tesla Giga Texas"),
                ("check_digit_required", "yes"),
                ("models", "Y = Model Y\nC = Cybercab"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let page = app.get(&location(&ok), Some(&admin)).await.body;
    assert!(
        page.contains("<code>7G3</code>") && page.contains("Cybercab"),
        "{page}"
    );
    let token = app.token_for("ingrid").await;
    let decoded = app
        .api(
            axum::http::Method::GET,
            "/api/v1/vin-decoder/7G3CC1E29SF000001",
            crate::support::Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(
        decoded.json()["manufacturer"],
        "Tesla Giga Texas",
        "{}",
        decoded.body
    );
    // A market's administrator keeps no brand's codes.
    let nora = app.login("nora").await;
    let refused = app
        .post_form(
            "/vin-table",
            &nora,
            &[
                ("wmi", "7G4"),
                ("brand_code", "TESLA"),
                ("manufacturer", "Somewhere"),
                ("models", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
}
