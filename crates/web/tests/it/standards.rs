//! Dealer standards through the pages and the API: Ana's network view of Lisboa, Porto and Braga;
//! the audit of Lisboa run beside João's self-assessment (the sheet with evidence, an unfinished
//! sheet refused with nothing lost); findings raised as actions, closed by João with evidence and
//! verified by Ana; the catalogue imported and exported; Kari's Trondheim in Norwegian.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{Auth, TestApp};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR";

/// The official sheet's fields answering every requirement met (figures at their target), but
/// for `except`.
fn sheet(audit: &Value, except: &[(&str, &str)], skip: Option<&str>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in audit["items"].as_array().unwrap() {
        let r = &i["requirement"];
        let code = r["code"].as_str().unwrap();
        if Some(code) == skip {
            continue;
        }
        let id = r["id"].as_str().unwrap();
        let outcome = except
            .iter()
            .find(|(c, _)| *c == code)
            .map_or("met", |(_, o)| *o);
        if r["figure"].is_null() {
            out.push((format!("outcome_{id}"), outcome.to_string()));
        } else {
            let target = r["figure"]["target"].as_f64().unwrap();
            let v = if outcome == "met" {
                target
            } else {
                target - 30.0
            };
            out.push((format!("figure_{id}"), format!("{v}").replace('.', ",")));
        }
    }
    out
}

#[tokio::test]
async fn lisboa_is_audited_beside_its_self_assessment() {
    let app = TestApp::new().await;
    let ana = app.login("ana").await;
    let joao = app.login("joao").await;

    // The network in Portuguese: the three service points side by side, Braga below the minimum.
    let net = app.get("/network?lang=pt", Some(&ana)).await;
    assert_eq!(net.status, StatusCode::OK);
    for p in ["Lisboa", "Porto", "Braga"] {
        assert!(
            net.body
                .contains(&format!("data-point=\"Polestar Service Point {p}\"")),
            "{p}"
        );
    }
    assert!(net.body.contains("Abaixo do mínimo obrigatório"));
    assert!(net.body.contains("em atraso"));
    // The menu leads to it: no "soon" on Network standards any more.
    assert!(net
        .body
        .contains("<a href=\"/network\" aria-current=\"page\">Normas da rede</a>"));

    // Ana's home shows the audit she runs and the action waiting for her verification.
    let home = app.get("/?lang=pt", Some(&ana)).await;
    assert!(home
        .body
        .contains("Auditoria de Polestar Service Point Lisboa"));
    assert!(home.body.contains("aguarda a sua verificação"));
    let pedro = app.login("pedro").await;
    let home = app.get("/?lang=pt", Some(&pedro)).await;
    assert!(home.body.contains("Técnico de alta tensão (nível 2)"));
    assert!(home.body.contains("expira a"));

    // The planned audit: João's self-assessment submitted, Ana's sheet to fill.
    let planned = app
        .api(
            Method::GET,
            "/api/v1/standard-audits?status=planned",
            Auth::Browser(&ana),
            None,
            &[],
        )
        .await
        .json();
    let id = planned[0]["id"].as_str().unwrap().to_string();
    let audit = app
        .api(
            Method::GET,
            &format!("/api/v1/standard-audits/{id}"),
            Auth::Browser(&ana),
            None,
            &[],
        )
        .await
        .json();
    let page = app.get(&format!("/network/audits/{id}"), Some(&joao)).await;
    assert!(page.body.contains("submetida por João Silva"));
    assert!(!page.body.contains("id=\"sheet\""), "João's part is done");
    let page = app.get(&format!("/network/audits/{id}"), Some(&ana)).await;
    assert!(page.body.contains("id=\"sheet\""));
    assert!(page.body.contains("A sua auditoria"));

    // An unfinished sheet with a bad figure and a text file as evidence: refused, nothing saved.
    let fac02 = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["requirement"]["code"] == "FAC-02")
        .unwrap()["requirement"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut fields = sheet(&audit, &[], None);
    let cx = fields
        .iter_mut()
        .find(|(k, _)| k.starts_with("figure_"))
        .unwrap();
    cx.1 = "oitenta".into();
    fields.push(("finish".into(), "1".into()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let r = app
        .post_multipart(
            &format!("/network/audits/{id}/answers/official"),
            &ana,
            &pairs,
            &[(&format!("file_{fac02}"), "nota.txt", b"not a photo")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("Introduza o valor como número"),
        "{}",
        r.body
    );
    assert!(r.body.contains("A evidência tem de ser uma fotografia"));
    assert!(
        r.body.contains("value=\"oitenta\""),
        "what was typed is kept"
    );
    let still = app
        .api(
            Method::GET,
            &format!("/api/v1/standard-audits/{id}"),
            Auth::Browser(&ana),
            None,
            &[],
        )
        .await
        .json();
    assert!(still["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["official"].is_null()));

    // Finishing with one requirement unanswered saves the rest and names what is missing.
    let fields = sheet(
        &audit,
        &[("BRD-02", "not-met"), ("PT-02", "partly")],
        Some("TLS-02"),
    );
    let mut pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    pairs.push(("finish", "1"));
    let r = app
        .post_multipart(
            &format!("/network/audits/{id}/answers/official"),
            &ana,
            &pairs,
            &[(&format!("file_{fac02}"), "posto.png", PNG)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Há requisitos sem resposta"), "{}", r.body);
    // The missing answer, and the audit is completed.
    let tls = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["requirement"]["code"] == "TLS-02")
        .unwrap()["requirement"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post_multipart(
            &format!("/network/audits/{id}/answers/official"),
            &ana,
            &[(&format!("outcome_{tls}"), "met"), ("finish", "1")],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let done = app
        .api(
            Method::GET,
            &format!("/api/v1/standard-audits/{id}"),
            Auth::Browser(&ana),
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(done["status"], "completed");
    assert_eq!(done["passed"], true);
    let official_files: Vec<&Value> = done["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["party"] == "official")
        .collect();
    assert_eq!(official_files.len(), 1);
    assert_eq!(official_files[0]["file_name"], "posto.png");
    let file = app
        .get(
            &format!(
                "/network/evidence/{}",
                official_files[0]["id"].as_str().unwrap()
            ),
            Some(&joao),
        )
        .await;
    assert_eq!(file.header("content-type"), Some("image/png"));
    let page = app.get(&format!("/network/audits/{id}"), Some(&ana)).await;
    assert!(page.body.contains("id=\"scores\""));
    assert!(page.body.contains("id=\"raise-action\""));

    // Two findings become actions; an owner from elsewhere is refused in Ana's words.
    let req = |code: &str| {
        done["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["requirement"]["code"] == code)
            .unwrap()["requirement"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let joao_id = app
        .api(Method::GET, "/api/v1/me", Auth::Browser(&joao), None, &[])
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ana_id = app
        .api(Method::GET, "/api/v1/me", Auth::Browser(&ana), None, &[])
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post_form(
            &format!("/network/audits/{id}/actions"),
            &ana,
            &[
                ("requirement_id", &req("BRD-02")),
                ("title", "Renovar a zona de entrega"),
                ("owner_id", &ana_id),
                ("due_on", "2026-12-20"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("Escolha um responsável que trabalhe"),
        "{}",
        r.body
    );
    for (code, title) in [
        ("BRD-02", "Renovar a zona de entrega"),
        ("PT-02", "Afixar o preço da mão de obra"),
    ] {
        let r = app
            .post_form(
                &format!("/network/audits/{id}/actions"),
                &ana,
                &[
                    ("requirement_id", &req(code)),
                    ("title", title),
                    ("owner_id", &joao_id),
                    ("due_on", "2026-12-20"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let actions = app
        .api(
            Method::GET,
            &format!("/api/v1/corrective-actions?audit_id={id}"),
            Auth::Browser(&joao),
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(actions.as_array().unwrap().len(), 2);
    let action = actions[0]["id"].as_str().unwrap().to_string();

    // João closes one with a photo; Ana sends it back once, then verifies it.
    let r = app
        .post_multipart(
            &format!("/network/actions/{action}/submit"),
            &joao,
            &[("note", "")],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Descreva o que foi feito"));
    let r = app
        .post_multipart(
            &format!("/network/actions/{action}/submit"),
            &joao,
            &[("note", "Feito; fotografia em anexo.")],
            &[("file", "zona.png", PNG)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = app
        .post_form(
            &format!("/network/actions/{action}/review"),
            &ana,
            &[("verified", "0"), ("note", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Diga porque é que a ação é devolvida"));
    let r = app
        .post_form(
            &format!("/network/actions/{action}/review"),
            &ana,
            &[("verified", "1"), ("note", "Visto no local.")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = app
        .get(&format!("/network/actions/{action}"), Some(&joao))
        .await;
    assert!(page.body.contains("Verificada por"));
    assert!(page.body.contains("Ana Ferreira"));

    // Marta (Porto) sees none of it.
    let marta = app.login("marta").await;
    let r = app
        .get(&format!("/network/audits/{id}"), Some(&marta))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get("/network", Some(&marta)).await;
    assert!(!r.body.contains("Polestar Service Point Lisboa"));
}

#[tokio::test]
async fn catalogues_are_imported_and_exported_as_files() {
    let app = TestApp::new().await;
    let ana = app.login("ana").await;
    let page = app.get("/network/catalogue?lang=pt", Some(&ana)).await;
    assert!(page
        .body
        .contains("Norma de ponto de serviço Polestar 2026"));
    assert!(page.body.contains("Livro de Reclamações"));
    let cats = app
        .api(
            Method::GET,
            "/api/v1/standard-catalogues",
            Auth::Browser(&ana),
            None,
            &[],
        )
        .await
        .json();
    let market = cats
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["scope"] == "market")
        .unwrap();
    let id = market["id"].as_str().unwrap();
    let owner = market["organisation"]["id"].as_str().unwrap();
    let file = app
        .get(&format!("/network/catalogue/{id}/file"), Some(&ana))
        .await;
    assert_eq!(file.header("content-type"), Some("application/json"));
    // A wrong file names the place of each problem, in Ana's language on the page.
    let mut wrong: Value = serde_json::from_str(&file.body).unwrap();
    wrong["requirements"][0]["weight"] = json!(11);
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/organisations/{owner}/standard-catalogues"),
            Auth::Browser(&ana),
            Some(wrong.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("requirements.0.weight"), "{}", r.body);
    let r = app
        .post_multipart(
            "/network/catalogue",
            &ana,
            &[("organisation_id", owner)],
            &[("file", "normas.json", b"{not json")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("não foi guardado")
            || r.body.contains("form-not-saved")
            || r.body.contains("alert")
    );
    // The file as downloaded is published as the next version.
    let r = app
        .post_multipart(
            "/network/catalogue",
            &ana,
            &[("organisation_id", owner)],
            &[("file", "normas.json", file.body.as_bytes())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let cats = app
        .api(
            Method::GET,
            "/api/v1/standard-catalogues",
            Auth::Browser(&ana),
            None,
            &[],
        )
        .await
        .json();
    let v = cats
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["scope"] == "market")
        .unwrap()["version"]
        .as_i64()
        .unwrap();
    assert_eq!(v, market["version"].as_i64().unwrap() + 1);
    // João reads the catalogue but may not publish one.
    let joao = app.login("joao").await;
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/organisations/{owner}/standard-catalogues"),
            Auth::Browser(&joao),
            Some(serde_json::from_str(&file.body).unwrap()),
            &[],
        )
        .await;
    assert!(matches!(r.status.as_u16(), 403 | 404), "{}", r.status);
}

#[tokio::test]
async fn trondheim_reads_its_standards_in_norwegian() {
    let app = TestApp::new().await;
    let kari = app.login("kari").await;
    let net = app.get("/network?lang=nb", Some(&kari)).await;
    assert_eq!(net.status, StatusCode::OK);
    assert!(net.body.contains("Tesla Service Centre Trondheim"));
    assert!(net.body.contains("Korrigerende tiltak"));
    assert!(net.body.contains("Sett opp lading for kundenes telefoner"));
    assert!(!net.body.contains("Polestar"));
    let emily = app.login("emily").await;
    let r = app.get("/network/catalogue?lang=en", Some(&emily)).await;
    assert!(r.body.contains("Tesla service centre standard"));
    assert!(!r.body.contains("Polestar"));
}
