//! Competence and training through the pages and the API: Ana's gap analysis in Portuguese
//! (Pedro's high-voltage training running out, João missing a course), an xAPI completion posted
//! with an API token granting João's record, a training recorded by hand with bad input refused
//! in her words, Bruno seeing only himself, and a high-voltage job refused once Bruno's training
//! has run out, the profile and the training named in the reader's language.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{Auth, TestApp};

#[tokio::test]
async fn gaps_xapi_and_enforcement() {
    let app = TestApp::new().await;
    let ana = app.login("ana").await;
    let page = app.get("/training?lang=pt", Some(&ana)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .body
        .contains("<a href=\"/training\" aria-current=\"page\">Formação</a>"));
    assert!(page.body.contains("data-person=\"Pedro Santos\""));
    assert!(page
        .body
        .contains("Técnico de alta tensão (nível 2): expira a"));
    let row = |body: &str, who: &str| -> String {
        let at = body.find(&format!("data-person=\"{who}\"")).unwrap();
        body[at..at + body[at..].find("</tr>").unwrap()].to_string()
    };
    assert!(row(&page.body, "João Silva").contains("Formação de produto Polestar 3: em falta"));
    assert!(page.body.contains("Conformidade da formação"));

    // An e-learning platform reports João's completion with Ana's API token.
    let token = app.token_for("ana").await;
    let r = app
        .api(
            Method::POST,
            "/api/v1/xapi/statements",
            Auth::Bearer(&token),
            Some(json!({
                "actor": {"mbox": "mailto:joao.silva@volvocars.example"},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                "object": {"id": "https://academy.polestar.example/courses/ps3-product"},
                "result": {"success": true},
                "timestamp": "2026-11-20T15:00:00Z"
            })),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json()[0]["record_id"].is_string());
    let r = app
        .api(
            Method::POST,
            "/api/v1/xapi/statements",
            Auth::Bearer(&token),
            Some(json!([{"actor": {"mbox": "mailto:x@example.com"}, "verb": {"id": "x:y"}}])),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("0.object.id"), "{}", r.body);
    let page = app.get("/training?lang=pt", Some(&ana)).await;
    assert!(row(&page.body, "João Silva").contains("tudo em dia"));
    assert!(page.body.contains("e-learning (xAPI)") || page.body.contains("Últimas declarações"));

    // A training recorded by hand: a day ahead and a text file are refused in Ana's words.
    let courses = app
        .api(
            Method::GET,
            "/api/v1/training-courses",
            Auth::Bearer(&token),
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
    let joao = app
        .api(
            Method::GET,
            "/api/v1/me",
            Auth::Bearer(&app.token_for("joao").await),
            None,
            &[],
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post_multipart(
            "/training/records",
            &ana,
            &[
                ("user_id", &joao),
                ("course_id", &hv1),
                ("completed_on", "2027-02-01"),
                ("passed", "1"),
            ],
            &[("certificate", "nota.txt", b"not a certificate")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Concluída"), "{}", r.body);
    assert!(
        r.body.contains("A evidência tem de ser uma fotografia") || r.body.contains("Certificado")
    );

    // Through the API: a passed high-voltage training needs its certificate (base64).
    let r = app
        .api(
            Method::POST,
            "/api/v1/training-records",
            Auth::Bearer(&token),
            Some(json!({"user_id": joao, "course_id": hv1, "completed_on": "2026-11-02", "passed": true})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("\"certificate\""), "{}", r.body);
    let r = app
        .api(
            Method::POST,
            "/api/v1/training-records",
            Auth::Bearer(&token),
            Some(json!({"user_id": joao, "course_id": hv1, "completed_on": "2026-11-02", "passed": true,
                "certificate_name": "hv1.pdf", "certificate_base64": "JVBERi0xLjQgY2VydA=="})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["expires_on"], "2029-11-01");
    assert_eq!(r.json()["certificate"], "hv1.pdf");

    // Bruno sees his own standing only.
    let bruno = app.login("bruno").await;
    let mine = app.get("/training?lang=pt", Some(&bruno)).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(mine.body.contains("data-person=\"Bruno Ferreira\""));
    assert!(!mine.body.contains("Pedro Santos"));
    assert!(!mine.body.contains("id=\"record-form\""));

    // A high-voltage job at Lisboa: Bruno today, and refused once his level-2 has run out.
    let joao_token = app.token_for("joao").await;
    let lisboa = app.org_id("Polestar Service Point Lisboa").await;
    let customers = app
        .api(
            Method::GET,
            "/api/v1/customers?limit=200",
            Auth::Bearer(&joao_token),
            None,
            &[],
        )
        .await
        .json();
    let mut picked = None;
    for c in customers["items"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let cars = app
            .api(
                Method::GET,
                &format!("/api/v1/customers/{id}/vehicles"),
                Auth::Bearer(&joao_token),
                None,
                &[],
            )
            .await
            .json();
        if let Some(v) = cars.as_array().and_then(|a| a.first()) {
            picked = Some((id.to_string(), v["id"].as_str().unwrap().to_string()));
            break;
        }
    }
    let (customer, car) = picked.unwrap();
    let ro = app
        .api(
            Method::POST,
            "/api/v1/repair-orders",
            Auth::Bearer(&joao_token),
            Some(
                json!({"organisation_id": lisboa, "customer_id": customer, "vehicle_id": car,
                "complaint": "Aviso de bateria"}),
            ),
            &[],
        )
        .await;
    assert_eq!(ro.status, StatusCode::CREATED, "{}", ro.body);
    let ro = ro.json();
    let ro_id = ro["id"].as_str().unwrap().to_string();
    let job = ro["jobs"][0]["id"].as_str().unwrap().to_string();
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/repair-orders/{ro_id}/jobs/{job}/lines"),
            Auth::Bearer(&joao_token),
            Some(json!({"kind": "labour", "code": "PS-HV-DIAG"})),
            &[],
        )
        .await;
    assert_eq!(r.status.as_u16() / 100, 2, "{}", r.body);
    let bruno_id = app
        .api(
            Method::GET,
            "/api/v1/me",
            Auth::Bearer(&app.token_for("bruno").await),
            None,
            &[],
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.clock.advance(time::Duration::days(600));
    let joao_b = app.login("joao").await;
    let r = app
        .post_form(
            &format!("/workshop/repair-orders/{ro_id}/jobs/{job}/assign?lang=pt"),
            &joao_b,
            &[("technician_id", &bruno_id)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body
            .contains("A formação «Técnico de alta tensão (nível 2)» de Bruno Ferreira expirou")
            && r.body.contains("Técnico de alta tensão (hv-work)"),
        "{}",
        r.body
    );
}
