//! Billing over HTTP: the API's answers and errors, the invoice mailed to the customer with its PDF through a
//! real SMTP server, the customer's link and the status page, EHF and SAF-T downloads.

use aftersales_domain::clock::Clock;
use aftersales_notify::testing::SmtpSink;
use aftersales_notify::{deliver_due, Mailer, Transports};
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use time::Duration;

use crate::support::{Auth, TestApp};

fn shared() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// Runs an official validator (python3 with `module`); under CI=true a missing tool fails.
fn validate(module: &str, args: &[std::path::PathBuf]) {
    let ok = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !aftersales_store::testing::in_ci(),
            "CI=true needs python3 with {module}"
        );
        aftersales_store::testing::say(&format!(
            "skipped: validation with {module} (not installed)"
        ));
        return;
    }
    let out = std::process::Command::new("python3")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn temp_file(name: &str, body: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("{}-{name}", std::process::id()));
    std::fs::write(&p, body).unwrap();
    p
}

async fn customer(app: &TestApp, token: &str, name: &str) -> String {
    let hits = app
        .api(
            Method::GET,
            &format!("/api/v1/search?q={}", name.replace(' ', "%20")),
            Auth::Bearer(token),
            None,
            &[],
        )
        .await
        .json();
    hits.as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "customer")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn invoice_is_mailed_with_its_pdf_and_shown_to_the_customer() {
    let Some(smtp) = SmtpSink::start().await else {
        return;
    };
    let app = TestApp::new().await;
    let transports = Transports {
        mail: Some(Mailer::new(&smtp.config()).unwrap()),
        sms: None,
    };
    let token = app.token_for("ingrid").await;
    let auth = Auth::Bearer(&token);
    let trd = app.org_id("Tesla Service Centre Trondheim").await;
    let kari = customer(&app, &token, "Kari Nordmann").await;
    let ro = app
        .api(
            Method::POST,
            "/api/v1/repair-orders",
            auth,
            Some(json!({"organisation_id": trd, "customer_id": kari, "complaint": "Wipers smear"})),
            &[],
        )
        .await
        .json();
    let ro_id = ro["id"].as_str().unwrap();
    let job = ro["jobs"][0]["id"].as_str().unwrap();
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/repair-orders/{ro_id}/jobs/{job}/lines"),
            auth,
            Some(
                json!({"kind": "sublet", "description": "Wiper blades, pair", "unit_price": "399"}),
            ),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let drafts = app
        .api(
            Method::POST,
            &format!("/api/v1/repair-orders/{ro_id}/invoice"),
            auth,
            None,
            &[],
        )
        .await;
    assert_eq!(drafts.status, StatusCode::CREATED, "{}", drafts.body);
    let id = drafts.json()[0]["id"].as_str().unwrap().to_string();
    // A draft has no PDF, and issuing needs the version.
    let r = app
        .api(
            Method::GET,
            &format!("/api/v1/billing-documents/{id}/pdf"),
            auth,
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/billing-documents/{id}/issue"),
            auth,
            Some(json!({})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED, "{}", r.body);
    // Bad input names the field and the rule, and loses nothing.
    let d = app
        .api(
            Method::GET,
            &format!("/api/v1/billing-documents/{id}"),
            auth,
            None,
            &[],
        )
        .await;
    let etag = d.header("etag").unwrap().to_string();
    let bad = app
        .api(Method::PUT, &format!("/api/v1/billing-documents/{id}"), auth,
            Some(json!({"lines": [{"description": "", "quantity": "x", "unit_price": "1", "tax_code": "luxury"}]})),
            &[("if-match", etag.as_str())])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let fields: Vec<String> = bad.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["field"].as_str().unwrap(),
                e["rule"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        fields,
        vec![
            "lines.0.description required",
            "lines.0.quantity format",
            "lines.0.tax_code one-of"
        ],
        "{}",
        bad.body
    );
    let same = app
        .api(
            Method::GET,
            &format!("/api/v1/billing-documents/{id}"),
            auth,
            None,
            &[],
        )
        .await;
    assert_eq!(same.json()["gross"]["amount"], "498.75");

    let issued = app
        .api(
            Method::POST,
            &format!("/api/v1/billing-documents/{id}/issue"),
            auth,
            Some(json!({})),
            &[("if-match", etag.as_str())],
        )
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    let doc: Value = issued.json();
    assert_eq!(doc["number"], "F-1");
    let public = doc["public_path"].as_str().unwrap().to_string();

    // The PDF, for staff and behind the customer's link.
    let pdf = app
        .api(
            Method::GET,
            &format!("/api/v1/billing-documents/{id}/pdf"),
            auth,
            None,
            &[],
        )
        .await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.body.starts_with("%PDF-"));
    let page = app.get(&public, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("F-1") && page.body.contains("498,75\u{a0}kr"),
        "{}",
        page.body
    );
    let p = app.get(&format!("{public}/pdf"), None).await;
    assert_eq!(p.header("content-type"), Some("application/pdf"));
    // The repair order's status page lists it.
    let status_page = ro["status_page"].as_str().unwrap();
    let sp = app.get(status_page, None).await;
    assert!(sp.body.contains(&public), "{}", sp.body);

    // The customer gets the mail with the PDF attached.
    let later = app.clock.now() + Duration::minutes(5);
    let round = deliver_due(
        &app.store,
        &transports,
        &aftersales_domain::clock::FixedClock::new(later),
    )
    .await
    .unwrap();
    assert_eq!(round.dead, 0, "{round:?}");
    let mail = smtp
        .received()
        .into_iter()
        .find(|m| m.subject.starts_with("Faktura F-1"))
        .expect("the invoice mail");
    assert_eq!(mail.rcpt_tos, vec!["kari.1@example.no".to_string()]);
    assert!(mail.text.contains(&public), "{}", mail.text);
    assert_eq!(mail.attachments.len(), 1);
    assert_eq!(mail.attachments[0].filename, "F-1.pdf");
    assert_eq!(mail.attachments[0].content_type, "application/pdf");
    assert!(mail.attachments[0].head.starts_with("%PDF-"));
    assert!(
        mail.attachments[0].size > 10_000,
        "{}",
        mail.attachments[0].size
    );

    // A consumer's invoice has no EHF: the reason comes back as a problem.
    let e = app
        .api(
            Method::GET,
            &format!("/api/v1/billing-documents/{id}/ehf"),
            auth,
            None,
            &[],
        )
        .await;
    assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e.body.contains("organisation number"), "{}", e.body);
    // A company's invoice has one.
    let fleet = customer(&app, &token, "Fjord Taxi AS").await;
    let d = app
        .api(Method::POST, "/api/v1/billing-documents", auth,
            Some(json!({"organisation_id": trd, "customer_id": fleet, "buyer_reference": "PO 4471 / Fleet",
                "lines": [{"kind": "labour", "description": "Tyre change", "quantity": "1.5", "unit_price": "1450"}]})), &[])
        .await;
    assert_eq!(d.status, StatusCode::CREATED, "{}", d.body);
    assert_eq!(d.json()["buyer_reference"], "PO 4471 / Fleet");
    let fid = d.json()["id"].as_str().unwrap().to_string();
    let etag = d.header("etag").unwrap().to_string();
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/billing-documents/{fid}/issue"),
            auth,
            Some(json!({})),
            &[("if-match", etag.as_str())],
        )
        .await;
    assert_eq!(r.json()["number"], "F-2");
    let x = app
        .api(
            Method::GET,
            &format!("/api/v1/billing-documents/{fid}/ehf"),
            auth,
            None,
            &[],
        )
        .await;
    assert_eq!(x.status, StatusCode::OK);
    assert!(
        x.body
            .contains("<cbc:EndpointID schemeID=\"0192\">974760673</cbc:EndpointID>"),
        "{}",
        x.body
    );
    // The buyer's reference is the one asked for on the draft, not the document's own number.
    assert!(
        x.body
            .contains("<cbc:BuyerReference>PO 4471 / Fleet</cbc:BuyerReference>"),
        "{}",
        x.body
    );
    let f = temp_file("web-ehf.xml", &x.body);
    for sch in ["CEN-EN16931-UBL.sch", "PEPPOL-EN16931-UBL.sch"] {
        validate(
            "saxonche",
            &[
                shared().join("validation/schematron.py"),
                shared().join("validation/peppol/sch").join(sch),
                f.clone(),
            ],
        );
    }
    // Credit with a reason, over the API.
    let cn = app
        .api(
            Method::POST,
            &format!("/api/v1/billing-documents/{fid}/credit-note"),
            auth,
            Some(json!({"reason": "Charged twice"})),
            &[],
        )
        .await;
    assert_eq!(cn.status, StatusCode::CREATED, "{}", cn.body);
    assert_eq!(cn.json()["number"], "K-1");
    // Open items: Kari's invoice is still open.
    let open = app
        .api(
            Method::GET,
            "/api/v1/billing-documents?open=true",
            auth,
            None,
            &[],
        )
        .await
        .json();
    let numbers: Vec<&str> = open["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, vec!["F-1"]);
}

#[tokio::test]
async fn saft_pt_downloads_for_the_importer() {
    let app = TestApp::new().await;
    let joao = app.token_for("joao").await;
    let lisboa = app.org_id("Polestar Service Point Lisboa").await;
    let beatriz = customer(&app, &joao, "Beatriz Quaresma").await;
    let d = app
        .api(Method::POST, "/api/v1/billing-documents", Auth::Bearer(&joao),
            Some(json!({"organisation_id": lisboa, "customer_id": beatriz, "doc_type": "FR",
                "lines": [{"kind": "part", "description": "Escovas", "quantity": "2", "unit_price": "19.99"}]})), &[])
        .await;
    let etag = d.header("etag").unwrap().to_string();
    let id = d.json()["id"].as_str().unwrap().to_string();
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/billing-documents/{id}/issue"),
            Auth::Bearer(&joao),
            Some(json!({"payment_method": "mb"})),
            &[("if-match", etag.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["payment_status"], "paid");
    let entity = r.json()["legal_entity"]["id"].as_str().unwrap().to_string();
    let rui = app.token_for("rui").await;
    let bad = app
        .api(
            Method::GET,
            &format!("/api/v1/legal-entities/{entity}/saft-pt?from=2026-11-01"),
            Auth::Bearer(&rui),
            None,
            &[],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("\"to\""), "{}", bad.body);
    let x = app
        .api(
            Method::GET,
            &format!("/api/v1/legal-entities/{entity}/saft-pt?from=2026-11-01&to=2026-11-30"),
            Auth::Bearer(&rui),
            None,
            &[],
        )
        .await;
    assert_eq!(x.status, StatusCode::OK, "{}", x.body);
    assert!(x.body.contains("<InvoiceNo>FR A/1</InvoiceNo>"));
    // The body is Windows-1252 on the wire; validate the bytes as received.
    let f = std::env::temp_dir().join(format!("{}-web-saft.xml", std::process::id()));
    std::fs::write(&f, &x.bytes).unwrap();
    validate(
        "xmlschema",
        &[
            std::path::PathBuf::from("-c"),
            std::path::PathBuf::from(
                "import sys, xmlschema; xmlschema.XMLSchema11(sys.argv[1]).validate(sys.argv[2])",
            ),
            shared().join("validation/saft-pt/SAFTPT1.04_01.xsd"),
            f,
        ],
    );
    assert!(x
        .header("content-disposition")
        .unwrap()
        .contains("saft-pt-2026-11-01-2026-11-30.xml"));
    // The advisor of one workshop may not export the whole company.
    let r = app
        .api(
            Method::GET,
            &format!("/api/v1/legal-entities/{entity}/saft-pt?from=2026-11-01&to=2026-11-30"),
            Auth::Bearer(&joao),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_draft_editor_names_bad_lines_and_keeps_the_draft() {
    let app = TestApp::new().await;
    let joao_token = app.token_for("joao").await;
    let joao = app.login("joao").await;
    let lisboa = app.org_id("Polestar Service Point Lisboa").await;
    let beatriz = customer(&app, &joao_token, "Beatriz Quaresma").await;
    let d = app
        .api(Method::POST, "/api/v1/billing-documents", Auth::Bearer(&joao_token),
            Some(json!({"organisation_id": lisboa, "customer_id": beatriz,
                "lines": [{"kind": "part", "description": "Escovas", "quantity": "2", "unit_price": "19.99"}]})), &[])
        .await;
    let id = d.json()["id"].as_str().unwrap().to_string();
    let version = d.json()["version"].as_i64().unwrap().to_string();
    let page = app
        .get(&format!("/billing/documents/{id}"), Some(&joao))
        .await;
    assert!(page.body.contains("id=\"lines-form\"") && page.body.contains("id=\"type-form\""));
    // An exempt line without its AT code: refused, named, nothing lost.
    let path = format!("/billing/documents/{id}/lines");
    let form = |ex: &'static str| {
        vec![
            ("version", version.clone()),
            ("kind", "part".to_string()),
            ("code", String::new()),
            ("description", "Escovas".to_string()),
            ("quantity", "2".to_string()),
            ("unit_price", "19.99".to_string()),
            ("tax_code", "standard".to_string()),
            ("exemption_code", String::new()),
            ("kind", "other".to_string()),
            ("code", String::new()),
            ("description", "Formação".to_string()),
            ("quantity", "1".to_string()),
            ("unit_price", "50".to_string()),
            ("tax_code", "exempt".to_string()),
            ("exemption_code", ex.to_string()),
        ]
    };
    let f = form("");
    let pairs: Vec<(&str, &str)> = f.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let r = app.post_form(&path, &joao, &pairs).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("M01…M99"), "{}", r.body);
    let same = app
        .api(
            Method::GET,
            &format!("/api/v1/billing-documents/{id}"),
            Auth::Bearer(&joao_token),
            None,
            &[],
        )
        .await;
    assert_eq!(same.json()["lines"].as_array().unwrap().len(), 1);
    let f = form("M07");
    let pairs: Vec<(&str, &str)> = f.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let r = app.post_form(&path, &joao, &pairs).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let now = app
        .api(
            Method::GET,
            &format!("/api/v1/billing-documents/{id}"),
            Auth::Bearer(&joao_token),
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(now["lines"].as_array().unwrap().len(), 2);
    assert_eq!(now["lines"][1]["exemption_code"], "M07");
    assert_eq!(
        now["lines"][1]["exemption_reason"],
        "Isento artigo 9.º do CIVA"
    );
    // 39.98 + 23 % = 49.18 (VAT 9.20), plus 50.00 exempt.
    assert_eq!(now["gross"]["amount"], "99.18");
    // The type becomes FR, which asks for the payment method at issue.
    let v = now["version"].as_i64().unwrap().to_string();
    let r = app
        .post_form(
            &format!("/billing/documents/{id}/type"),
            &joao,
            &[("version", v.as_str()), ("doc_type", "FR")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = app
        .get(&format!("/billing/documents/{id}"), Some(&joao))
        .await;
    assert!(page.body.contains("id=\"payment_method\""), "{}", page.body);
}

#[tokio::test]
async fn a_free_standing_invoice_starts_on_the_customers_page() {
    let app = TestApp::new().await;
    let token = app.token_for("ingrid").await;
    let ingrid = app.login("ingrid").await;
    let trd = app.org_id("Tesla Service Centre Trondheim").await;
    let fleet = customer(&app, &token, "Fjord Taxi AS").await;
    let page = app.get(&format!("/customers/{fleet}"), Some(&ingrid)).await;
    assert!(page.body.contains("id=\"new-invoice\""), "{}", page.body);
    let bad = app
        .post_form(
            "/billing/documents",
            &ingrid,
            &[
                ("organisation_id", trd.as_str()),
                ("customer_id", fleet.as_str()),
                ("description", ""),
                ("quantity", "1"),
                ("unit_price", "x"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body
            .contains("Oppgi enhetsprisen som et tall med høyst to desimaler"),
        "{}",
        bad.body
    );
    // Back on the customer's page, the form as it was typed (issue 15, item 4).
    assert!(
        bad.body.contains("<h1>Fjord Taxi AS</h1>")
            && bad.body.contains(
                "id=\"inv-price\" name=\"unit_price\" inputmode=\"decimal\" size=\"8\" value=\"x\""
            ),
        "{}",
        bad.body
    );
    let ok = app
        .post_form(
            "/billing/documents",
            &ingrid,
            &[
                ("organisation_id", trd.as_str()),
                ("customer_id", fleet.as_str()),
                ("description", "Winter tyre storage"),
                ("quantity", "1"),
                ("unit_price", "990"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let at = ok.header("location").unwrap().to_string();
    assert!(at.starts_with("/billing/documents/"));
    let draft = app.get(&at, Some(&ingrid)).await;
    assert!(
        draft.body.contains("Winter tyre storage")
            && draft.body.contains("1\u{202f}237,50\u{a0}kr"),
        "{}",
        draft.body
    );
    // The customer's page lists it.
    let page = app.get(&format!("/customers/{fleet}"), Some(&ingrid)).await;
    assert!(page.body.contains(&at), "{}", page.body);
}

#[tokio::test]
async fn a_partial_credit_is_edited_before_it_is_issued() {
    let app = TestApp::new().await;
    let token = app.token_for("ingrid").await;
    let ingrid = app.login("ingrid").await;
    let trd = app.org_id("Tesla Service Centre Trondheim").await;
    let fleet = customer(&app, &token, "Fjord Taxi AS").await;
    let d = app
        .api(Method::POST, "/api/v1/billing-documents", Auth::Bearer(&token),
            Some(json!({"organisation_id": trd, "customer_id": fleet,
                "lines": [{"kind": "part", "description": "Winter tyre", "quantity": "4", "unit_price": "2500"}]})), &[])
        .await;
    let id = d.json()["id"].as_str().unwrap().to_string();
    let etag = d.header("etag").unwrap().to_string();
    app.api(
        Method::POST,
        &format!("/api/v1/billing-documents/{id}/issue"),
        Auth::Bearer(&token),
        Some(json!({})),
        &[("if-match", etag.as_str())],
    )
    .await;
    let r = app
        .post_form(
            &format!("/billing/documents/{id}/credit"),
            &ingrid,
            &[("reason", "One tyre returned"), ("partial", "on")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let draft_path = r.header("location").unwrap().to_string();
    assert_ne!(draft_path, format!("/billing/documents/{id}"));
    let page = app.get(&draft_path, Some(&ingrid)).await;
    assert!(
        page.body.contains("id=\"lines-form\"") && page.body.contains("id=\"issue-form\""),
        "{}",
        page.body
    );
    // One tyre of four: edit the credit note's line, then issue it.
    let cn_id = draft_path
        .trim_start_matches("/billing/documents/")
        .to_string();
    let cn = app
        .api(
            Method::GET,
            &format!("/api/v1/billing-documents/{cn_id}"),
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(cn["status"], "draft");
    let v = cn["version"].as_i64().unwrap().to_string();
    let r = app
        .post_form(
            &format!("/billing/documents/{cn_id}/lines"),
            &ingrid,
            &[
                ("version", v.as_str()),
                ("kind", "part"),
                ("code", ""),
                ("description", "Winter tyre"),
                ("quantity", "1"),
                ("unit_price", "2500"),
                ("tax_code", "standard"),
                ("exemption_code", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let v = (cn["version"].as_i64().unwrap() + 1).to_string();
    // The first click shows the totals and issues nothing; the confirmation issues.
    let r = app
        .post_form(
            &format!("/billing/documents/{cn_id}/issue"),
            &ingrid,
            &[("version", v.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("id=\"issue-confirm\""), "{}", r.body);
    assert!(r.body.contains("id=\"confirm-gross\""), "{}", r.body);
    let r = app
        .post_form(
            &format!("/billing/documents/{cn_id}/issue"),
            &ingrid,
            &[("version", v.as_str()), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let inv = app
        .api(
            Method::GET,
            &format!("/api/v1/billing-documents/{id}"),
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(inv["credited_total"]["amount"], "3125.00");
    assert_eq!(inv["open"]["amount"], "9375.00");
    assert_eq!(inv["credit_notes"][0]["label"], "K-1");
}
