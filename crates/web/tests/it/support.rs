//! `TestApp`: a seeded database, the whole router, and helpers that speak HTTP to it like a
//! browser (cookies, CSRF tokens) or an API client (bearer tokens, JSON).

use std::sync::Arc;

use aftersales_domain::clock::{Clock, FixedClock};
use aftersales_store::testing::{self, TestDb};
use aftersales_store::{demo, Store};
use aftersales_web::{AppState, WebConfig};
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use time::macros::datetime;
use tower::ServiceExt;

pub struct TestApp {
    pub router: Router,
    pub store: Store,
    pub clock: Arc<FixedClock>,
    _db: TestDb,
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// The body as received (binary downloads, other encodings).
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    }
}

/// A signed-in browser: its session cookie and the CSRF token its pages carry.
#[derive(Clone, Debug)]
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

pub fn cookie_value(set_cookies: &[String], name: &str) -> Option<String> {
    set_cookies.iter().find_map(|c| {
        c.strip_prefix(&format!("{name}="))
            .map(|v| v.split(';').next().unwrap_or("").to_string())
    })
}

pub fn csrf_in(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf_token\" value=\"")? + "name=\"csrf_token\" value=\"".len();
    Some(html[i..].split('"').next()?.to_string())
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::on(testing::sqlite().await.unwrap(), WebConfig::default()).await
    }

    pub async fn with_config(config: WebConfig) -> TestApp {
        Self::on(testing::sqlite().await.unwrap(), config).await
    }

    pub async fn on(db: TestDb, config: WebConfig) -> TestApp {
        let clock = Arc::new(FixedClock::new(datetime!(2026-11-21 09:00 UTC)));
        demo::seed(&db.store, datetime!(2026-11-21 08:00 UTC))
            .await
            .unwrap();
        // Portuguese documents are signed with the tax authority's published sample key.
        let pem = std::fs::read(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/reference/pt-at-sample-private-key.pem"),
        )
        .unwrap();
        let store = db
            .store
            .clone()
            .with_pt_signer(documents::pt::PtSigner::from_pem(&pem, 1).unwrap());
        let state = AppState::new(store.clone(), clock.clone(), config).unwrap();
        TestApp {
            router: aftersales_web::app(state),
            store,
            clock,
            _db: db,
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes: bytes.to_vec(),
        }
    }

    pub async fn get(&self, path: &str, who: Option<&Browser>) -> Resp {
        let mut b = Request::builder().uri(path);
        if let Some(w) = who {
            b = b.header(header::COOKIE, &w.cookie);
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    /// Posts a form as a signed-in browser, adding its CSRF token.
    pub async fn post_form(&self, path: &str, who: &Browser, fields: &[(&str, &str)]) -> Resp {
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", who.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw_form(path, Some(&who.cookie), &all).await
    }

    /// A form with files, as a browser sends it (`multipart/form-data`): files are (field, name, bytes).
    pub async fn post_multipart(
        &self,
        path: &str,
        who: &Browser,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Resp {
        let boundary = "----aftersales-test-7MA4YWxkTrZu0gW";
        let mut body: Vec<u8> = Vec::new();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", who.csrf.as_str())];
        all.extend_from_slice(fields);
        for (k, v) in all {
            body.extend(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        for (k, name, data) in files {
            body.extend(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(data);
            body.extend(b"\r\n");
        }
        body.extend(format!("--{boundary}--\r\n").as_bytes());
        let b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header(header::COOKIE, &who.cookie);
        self.send(b.body(Body::from(body)).unwrap()).await
    }

    pub async fn post_raw_form(
        &self,
        path: &str,
        cookie: Option<&str>,
        fields: &[(&str, &str)],
    ) -> Resp {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::from(body)).unwrap()).await
    }

    /// Signs in through the login form, as a person would.
    pub async fn login(&self, username: &str) -> Browser {
        self.try_login(username, demo::DEMO_PASSWORD)
            .await
            .unwrap_or_else(|r| panic!("login of {username} failed: {r:?}"))
    }

    pub async fn try_login(&self, username: &str, password: &str) -> Result<Browser, Resp> {
        let page = self.get("/login", None).await;
        let pre = cookie_value(&page.cookies(), "as_csrf").unwrap();
        let token = csrf_in(&page.body).unwrap();
        assert_eq!(pre, token);
        let cookie = format!("as_csrf={pre}");
        let res = self
            .post_raw_form(
                "/login",
                Some(&cookie),
                &[
                    ("csrf_token", &token),
                    ("username", username),
                    ("password", password),
                    ("next", "/"),
                ],
            )
            .await;
        if res.status != StatusCode::SEE_OTHER {
            return Err(res);
        }
        let session = cookie_value(&res.cookies(), "as_session").unwrap();
        let cookie = format!("as_session={session}");
        let home = self
            .get(
                "/",
                Some(&Browser {
                    cookie: cookie.clone(),
                    csrf: String::new(),
                }),
            )
            .await;
        assert_eq!(home.status, StatusCode::OK, "{}", home.body);
        let csrf = csrf_in(&home.body).unwrap();
        Ok(Browser { cookie, csrf })
    }

    /// An API request. `auth` is a bearer token, or a browser (cookie + X-CSRF-Token).
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<serde_json::Value>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        match auth {
            Auth::None => {}
            Auth::Bearer(t) => b = b.header(header::AUTHORIZATION, format!("Bearer {t}")),
            Auth::Browser(w) => {
                b = b
                    .header(header::COOKIE, &w.cookie)
                    .header("x-csrf-token", &w.csrf)
            }
            Auth::CookieOnly(w) => b = b.header(header::COOKIE, &w.cookie),
        }
        for (k, v) in extra {
            b = b.header(*k, *v);
        }
        let body = match body {
            Some(j) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(j.to_string())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).unwrap()).await
    }

    /// Creates an API token for a user through the API and returns its secret.
    pub async fn token_for(&self, username: &str) -> String {
        let b = self.login(username).await;
        let r = self
            .api(
                Method::POST,
                "/api/v1/me/api-tokens",
                Auth::Browser(&b),
                Some(serde_json::json!({"name": "test"})),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.json()["secret"].as_str().unwrap().to_string()
    }

    /// Looks a fixture up as the operator would (tests may; handlers may not).
    /// The scope a demo user's session carries, for reading the store as they would.
    pub async fn scope_of(&self, username: &str) -> aftersales_store::Scope {
        let policy = aftersales_store::auth::LoginPolicy::default();
        let s = self
            .store
            .auth()
            .login(
                username,
                demo::DEMO_PASSWORD,
                Some("10.0.0.9"),
                self.clock.now(),
                &policy,
            )
            .await
            .unwrap();
        self.store
            .auth()
            .resolve_session(&s.raw_id, self.clock.now(), &policy)
            .await
            .unwrap()
            .unwrap()
            .scope
    }

    #[allow(clippy::disallowed_methods)]
    pub async fn org_id(&self, name: &str) -> String {
        self.store.cli().find_organisation(name).await.unwrap().0
    }

    /// A customer's id, found by name through the API's search as `token`'s holder sees it.
    pub async fn customer_id(&self, token: &str, name: &str) -> String {
        let q: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
        let hits = self
            .api(
                Method::GET,
                &format!("/api/v1/search?q={q}"),
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
}

#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    Browser(&'a Browser),
    CookieOnly(&'a Browser),
}

/// Opens a workbook with a spreadsheet library (Python openpyxl): its sheet names joined by `|`,
/// the first sheet's A1 and its number of rows, a line each. `None` (said as skipped) where the
/// library is missing outside CI; under CI a missing library fails.
pub fn read_workbook(bytes: &[u8]) -> Option<String> {
    let path = std::env::temp_dir().join(format!(
        "workbook-{}-{}.xlsx",
        std::process::id(),
        uuid_like()
    ));
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, openpyxl; wb = openpyxl.load_workbook(sys.argv[1]); \
             print('|'.join(wb.sheetnames)); ws = wb.worksheets[0]; print(ws.cell(1, 1).value); \
             print(sum(1 for _ in ws.iter_rows()))",
        ])
        .arg(&path)
        .output();
    let _ = std::fs::remove_file(&path);
    match out {
        Ok(o) if o.status.success() => Some(String::from_utf8_lossy(&o.stdout).to_string()),
        Ok(o)
            if String::from_utf8_lossy(&o.stderr).contains("No module named")
                && !aftersales_store::testing::in_ci() =>
        {
            aftersales_store::testing::say(
                "skipped: openpyxl is not installed (pip install openpyxl)",
            );
            None
        }
        Ok(o) => panic!(
            "the workbook did not open: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) if !aftersales_store::testing::in_ci() => {
            aftersales_store::testing::say(&format!("skipped: python3 not runnable: {e}"));
            None
        }
        Err(e) => panic!("python3 is needed under CI: {e}"),
    }
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
