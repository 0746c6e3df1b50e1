//! The JSON API: authentication, CSRF, problem+json errors, versions, OpenAPI, health, metrics.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{Auth, TestApp};

fn assert_problem(r: &crate::support::Resp, status: StatusCode, slug: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{}",
        r.body
    );
    let p = r.json();
    assert_eq!(p["type"], format!("urn:aftersales:problem:{slug}"), "{p}");
    assert_eq!(p["status"], status.as_u16());
    assert!(p["title"].is_string());
}

fn field_rules(r: &crate::support::Resp) -> Vec<(String, String)> {
    r.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn unauthenticated_calls_get_401_problems() {
    let app = TestApp::new().await;
    for path in [
        "/api/v1/me",
        "/api/v1/organisations",
        "/api/v1/users",
        "/api/v1/audit-events",
    ] {
        let r = app.api(Method::GET, path, Auth::None, None, &[]).await;
        assert_problem(&r, StatusCode::UNAUTHORIZED, "unauthorized");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    }
    let r = app
        .api(
            Method::GET,
            "/api/v1/me",
            Auth::Bearer("ast_not-a-token"),
            None,
            &[],
        )
        .await;
    assert_problem(&r, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn api_tokens_authenticate_machine_clients() {
    let app = TestApp::new().await;
    let token = app.token_for("kari").await;
    let r = app
        .api(Method::GET, "/api/v1/me", Auth::Bearer(&token), None, &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let me = r.json();
    assert_eq!(me["username"], "kari");
    assert_eq!(me["memberships"][0]["role"], "service-manager");
    assert!(me["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "inbox"));
    // A bearer client needs no CSRF token for changes.
    let etag = r.header("etag").unwrap().to_string();
    let r = app
        .api(
            Method::PATCH,
            "/api/v1/me",
            Auth::Bearer(&token),
            Some(json!({"language": "en"})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["language"], "en");
    // Revoked tokens stop working at once.
    let list = app
        .api(
            Method::GET,
            "/api/v1/me/api-tokens",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await
        .json();
    let id = list[0]["id"].as_str().unwrap().to_string();
    assert!(list[0].get("secret").is_none(), "secrets are never listed");
    let r = app
        .api(
            Method::DELETE,
            &format!("/api/v1/me/api-tokens/{id}"),
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .api(Method::GET, "/api/v1/me", Auth::Bearer(&token), None, &[])
        .await;
    assert_problem(&r, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn cookie_callers_need_the_csrf_header_for_changes() {
    let app = TestApp::new().await;
    let b = app.login("ingrid").await;
    // Reading with the cookie alone is fine.
    let r = app
        .api(Method::GET, "/api/v1/me", Auth::CookieOnly(&b), None, &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let etag = r.header("etag").unwrap().to_string();
    // Changing without the header is refused.
    let r = app
        .api(
            Method::PATCH,
            "/api/v1/me",
            Auth::CookieOnly(&b),
            Some(json!({"display_name": "X Y"})),
            &[("if-match", &etag)],
        )
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN, "csrf");
    let r = app
        .api(
            Method::PATCH,
            "/api/v1/me",
            Auth::CookieOnly(&b),
            Some(json!({"display_name": "X Y"})),
            &[("if-match", &etag), ("x-csrf-token", "forged")],
        )
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN, "csrf");
    let r = app
        .api(
            Method::PATCH,
            "/api/v1/me",
            Auth::Browser(&b),
            Some(json!({"display_name": "Ingrid S."})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn bad_input_names_the_field_and_the_rule() {
    let app = TestApp::new().await;
    let token = app.token_for("nora").await;
    let trondheim = app.org_id("Tesla Service Centre Trondheim").await;
    let post = |body: serde_json::Value| {
        let token = token.clone();
        let app = &app;
        async move {
            app.api(
                Method::POST,
                "/api/v1/users",
                Auth::Bearer(&token),
                Some(body),
                &[],
            )
            .await
        }
    };
    // Not JSON at all.
    let r = app
        .send(
            axum::http::Request::post("/api/v1/users")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(field_rules(&r), vec![("body".into(), "format".into())]);
    // Wrong media type.
    let r = app
        .send(
            axum::http::Request::post("/api/v1/users")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "text/plain")
                .body(axum::body::Body::from("hi"))
                .unwrap(),
        )
        .await;
    assert_problem(
        &r,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );
    // A missing field.
    let r = post(
        json!({"username": "hilde", "display_name": "Hilde", "language": "nb", "memberships": []}),
    )
    .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(
        field_rules(&r),
        vec![("password".into(), "required".into())]
    );
    // An unknown field.
    let r = post(json!({"username": "hilde", "display_name": "Hilde", "language": "nb", "password": "long enough pass", "memberships": [], "shoe_size": 42})).await;
    assert_eq!(
        field_rules(&r),
        vec![("shoe_size".into(), "unknown".into())]
    );
    // A wrong type, deep in the body.
    let r = post(json!({"username": "hilde", "display_name": "Hilde", "language": "nb", "password": "long enough pass", "memberships": [{"organisation_id": 7, "role": "technician"}]})).await;
    assert_eq!(
        field_rules(&r),
        vec![("memberships[0].organisation_id".into(), "type".into())]
    );
    // Domain rules, all at once.
    let r = post(json!({"username": "h", "display_name": "", "email": "hilde@", "language": "sv", "password": "short", "memberships": [{"organisation_id": trondheim, "role": "boss"}]})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(
        field_rules(&r),
        vec![
            ("username".into(), "too-short".into()),
            ("display_name".into(), "required".into()),
            ("email".into(), "format".into()),
            ("language".into(), "one-of".into()),
            ("password".into(), "too-short".into()),
            ("memberships.0.role".into(), "one-of".into()),
        ]
    );
    // Nothing was saved by the failures; a good request then succeeds.
    let r = post(json!({"username": "hilde", "display_name": "Hilde Vik", "language": "nb", "password": "long enough pass", "memberships": [{"organisation_id": trondheim, "role": "technician"}]})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.header("etag"), Some("\"2\""));
    let r = post(json!({"username": "hilde", "display_name": "Hilde Vik", "language": "nb", "password": "long enough pass", "memberships": [{"organisation_id": trondheim, "role": "technician"}]})).await;
    assert_eq!(field_rules(&r), vec![("username".into(), "unique".into())]);
    // Query parameters too.
    let r = app
        .api(
            Method::GET,
            "/api/v1/users?limit=lots",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(field_rules(&r)[0].0, "limit");
    let r = app
        .api(
            Method::GET,
            "/api/v1/audit-events?kind=party",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(field_rules(&r), vec![("kind".into(), "one-of".into())]);
}

#[tokio::test]
async fn updates_need_the_current_version() {
    let app = TestApp::new().await;
    let token = app.token_for("nora").await;
    let org = app.org_id("Tesla Service Centre Trondheim").await;
    let path = format!("/api/v1/organisations/{org}");
    let r = app
        .api(Method::GET, &path, Auth::Bearer(&token), None, &[])
        .await;
    let etag = r.header("etag").unwrap().to_string();
    let r = app
        .api(
            Method::PATCH,
            &path,
            Auth::Bearer(&token),
            Some(json!({"name": "Tesla Trondheim"})),
            &[],
        )
        .await;
    assert_problem(&r, StatusCode::PRECONDITION_REQUIRED, "if-match-required");
    let r = app
        .api(
            Method::PATCH,
            &path,
            Auth::Bearer(&token),
            Some(json!({"name": "Tesla Trondheim"})),
            &[("if-match", "nonsense")],
        )
        .await;
    assert_eq!(field_rules(&r), vec![("If-Match".into(), "format".into())]);
    let r = app
        .api(
            Method::PATCH,
            &path,
            Auth::Bearer(&token),
            Some(json!({"name": "Tesla Trondheim"})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["name"], "Tesla Trondheim");
    // The second writer with the old version loses, visibly.
    let r = app
        .api(
            Method::PATCH,
            &path,
            Auth::Bearer(&token),
            Some(json!({"name": "Tesla TRD"})),
            &[("if-match", &etag)],
        )
        .await;
    assert_problem(&r, StatusCode::PRECONDITION_FAILED, "stale-version");
    let r = app
        .api(Method::GET, &path, Auth::Bearer(&token), None, &[])
        .await;
    assert_eq!(r.json()["name"], "Tesla Trondheim");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = TestApp::new().await;
    let token = app.token_for("ingrid").await;
    let r = app
        .api(
            Method::GET,
            "/api/v1/spaceships",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_problem(&r, StatusCode::NOT_FOUND, "not-found");
    let r = app
        .api(Method::PUT, "/api/v1/me", Auth::Bearer(&token), None, &[])
        .await;
    assert_problem(&r, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed");
    let r = app
        .api(
            Method::GET,
            "/api/v1/organisations/00000000-0000-0000-0000-000000000000",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_problem(&r, StatusCode::NOT_FOUND, "not-found");
    let r = app
        .api(
            Method::GET,
            "/api/v1/audit-events",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn admins_manage_roles_through_the_api_and_it_is_audited() {
    let app = TestApp::new().await;
    let token = app.token_for("nora").await;
    let care = app.org_id("Tesla Customer Care Nordics").await;
    let users = app
        .api(
            Method::GET,
            "/api/v1/users?limit=200",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await
        .json();
    let ole = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "ole")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .api(
            Method::POST,
            &format!("/api/v1/users/{ole}/roles"),
            Auth::Bearer(&token),
            Some(json!({"organisation_id": care, "role": "service-advisor"})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["memberships"].as_array().unwrap().len(), 2);
    let r = app
        .api(
            Method::DELETE,
            &format!("/api/v1/users/{ole}/roles/{care}/service-advisor"),
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let events = app
        .api(
            Method::GET,
            "/api/v1/audit-events?kind=role-granted",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await
        .json();
    assert!(events["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["subject_username"] == "ole" && e["actor_username"] == "nora"));
    let events = app
        .api(
            Method::GET,
            "/api/v1/audit-events?kind=role-revoked",
            Auth::Bearer(&token),
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(events["items"].as_array().unwrap().len(), 1);
    // There is no route that edits or deletes audit events.
    let id = events["items"][0]["id"].as_str().unwrap();
    for m in [Method::DELETE, Method::PATCH, Method::PUT] {
        let r = app
            .api(
                m,
                &format!("/api/v1/audit-events/{id}"),
                Auth::Bearer(&token),
                None,
                &[],
            )
            .await;
        assert!(matches!(r.status.as_u16(), 404 | 405), "{}", r.status);
    }
}

#[tokio::test]
async fn openapi_document_is_valid_3_1_and_covers_every_route() {
    let app = TestApp::new().await;
    let r = app.get("/api/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc,
        serde_json::to_value(aftersales_web::api::openapi()).unwrap(),
        "served document = generated document"
    );
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/me",
        "/api/v1/organisations",
        "/api/v1/organisations/{id}",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/audit-events",
        "/api/v1/me/api-tokens",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    // Every $ref resolves, every operation documents its responses.
    let text = doc.to_string();
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "dangling $ref to {name}"
        );
    }
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} has no responses"
            );
            assert!(
                op["operationId"].is_string(),
                "{method} {path} has no operationId"
            );
        }
    }
    // The official validator, where Python has it (CI installs it).
    let dir = std::env::temp_dir().join(format!("openapi-{}.json", std::process::id()));
    std::fs::write(&dir, &r.body).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys, json; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')"])
        .arg(&dir)
        .output();
    match out {
        Ok(o) if o.status.success() => assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "valid"),
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("No module named") && !aftersales_store::testing::in_ci() => {
            aftersales_store::testing::say("skipped: openapi-spec-validator is not installed (pip install openapi-spec-validator)")
        }
        Ok(o) => panic!("OpenAPI validation failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) if !aftersales_store::testing::in_ci() => aftersales_store::testing::say(&format!("skipped: python3 not runnable: {e}")),
        Err(e) => panic!("python3 is needed under CI: {e}"),
    }
    let _ = std::fs::remove_file(&dir);
    // The explorer is served from the binary.
    let r = app.get("/api/docs/", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("swagger-ui"),
        "{}",
        &r.body[..r.body.len().min(300)]
    );
    let r = app.get("/api/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.len() > 100_000);
}

#[tokio::test]
async fn health_metrics_and_request_ids() {
    let app = TestApp::new().await;
    let r = app.get("/health", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["database"], "ok");
    assert_eq!(r.json()["engine"], "sqlite");
    assert!(r.header("x-request-id").is_some_and(|v| v.len() >= 32));
    let token = app.token_for("ingrid").await;
    app.api(Method::GET, "/api/v1/me", Auth::Bearer(&token), None, &[])
        .await;
    let r = app.get("/metrics", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    assert!(
        r.body
            .contains("http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"200\"} 1"),
        "{}",
        r.body
    );
    assert!(r.body.contains(
        "http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/me\",le=\"+Inf\"} 1"
    ));
    // Ids in paths never become labels.
    assert!(!r.body.contains("/api/v1/organisations/0"));
}

#[tokio::test]
async fn health_reports_an_unavailable_database() {
    let app = TestApp::new().await;
    app.store.close().await;
    let r = app.get("/health", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["database"], "unavailable");
}

#[tokio::test]
async fn idempotency_keys_make_retries_safe() {
    let app = TestApp::new().await;
    let token = app.token_for("nora").await;
    let trondheim = app.org_id("Tesla Service Centre Trondheim").await;
    let body = json!({"username": "hilde", "display_name": "Hilde Vik", "language": "nb", "password": "long enough pass",
        "memberships": [{"organisation_id": trondheim, "role": "technician"}]});
    let first = app
        .api(
            Method::POST,
            "/api/v1/users",
            Auth::Bearer(&token),
            Some(body.clone()),
            &[("idempotency-key", "create-hilde-1")],
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let again = app
        .api(
            Method::POST,
            "/api/v1/users",
            Auth::Bearer(&token),
            Some(body.clone()),
            &[("idempotency-key", "create-hilde-1")],
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::CREATED,
        "a retry gets the first answer, not a unique-username error"
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["id"], first.json()["id"]);
    // The same key with another body or on another resource is refused; a bad key is named.
    let mut other_body = body.clone();
    other_body["username"] = json!("hilde3");
    let r = app
        .api(
            Method::POST,
            "/api/v1/users",
            Auth::Bearer(&token),
            Some(other_body),
            &[("idempotency-key", "create-hilde-1")],
        )
        .await;
    assert_eq!(
        field_rules(&r),
        vec![("Idempotency-Key".into(), "not-allowed".into())]
    );
    let norway = app.org_id("Tesla Norway AS").await;
    let org = json!({"parent_id": norway, "kind": "service-point", "name": "Tesla Bergen"});
    let r = app
        .api(
            Method::POST,
            "/api/v1/organisations",
            Auth::Bearer(&token),
            Some(org.clone()),
            &[("idempotency-key", "create-hilde-1")],
        )
        .await;
    assert_eq!(
        field_rules(&r),
        vec![("Idempotency-Key".into(), "not-allowed".into())]
    );
    let r = app
        .api(
            Method::POST,
            "/api/v1/organisations",
            Auth::Bearer(&token),
            Some(org.clone()),
            &[("idempotency-key", "has space")],
        )
        .await;
    assert_eq!(
        field_rules(&r),
        vec![("Idempotency-Key".into(), "format".into())]
    );
    // Token creation is never replayed: its answer holds a secret that must not be stored.
    let t1 = app
        .api(
            Method::POST,
            "/api/v1/me/api-tokens",
            Auth::Bearer(&token),
            Some(json!({"name": "x"})),
            &[("idempotency-key", "tok")],
        )
        .await;
    let t2 = app
        .api(
            Method::POST,
            "/api/v1/me/api-tokens",
            Auth::Bearer(&token),
            Some(json!({"name": "x"})),
            &[("idempotency-key", "tok")],
        )
        .await;
    assert_ne!(t1.json()["id"], t2.json()["id"]);
    // A failed request does not burn its key.
    let bad = json!({"username": "h", "display_name": "H", "language": "nb", "password": "long enough pass", "memberships": []});
    let r = app
        .api(
            Method::POST,
            "/api/v1/users",
            Auth::Bearer(&token),
            Some(bad),
            &[("idempotency-key", "k2")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut good = body.clone();
    good["username"] = json!("hilde2");
    let r = app
        .api(
            Method::POST,
            "/api/v1/users",
            Auth::Bearer(&token),
            Some(good),
            &[("idempotency-key", "k2")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Keys are per caller: another administrator's identical key is independent.
    let other = app.token_for("admin").await;
    let r = app
        .api(
            Method::POST,
            "/api/v1/organisations",
            Auth::Bearer(&other),
            Some(org),
            &[("idempotency-key", "create-hilde-1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}
