//! Issuing survives a crash: the server is killed (SIGKILL) while many invoices are being issued at once;
//! after a restart every document is either issued completely (number, signature, message) or still a draft,
//! numbers have no gap and no duplicate, and the signature chain is unbroken, also for what is issued after.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use documents::pt::{signing_message, PtSigner};
use time::macros::format_description;

use super::{ok, temp_dir, Dir, BIN};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn key_file() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/pt-at-sample-private-key.pem")
}

async fn start(dir: &Dir, port: u16) -> Server {
    let server = Server(
        Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .current_dir(&dir.0)
            .env(
                "AFTERSALES_DATABASE_URL",
                format!("sqlite://{}/aftersales.db", dir.0.display()),
            )
            .env("AFTERSALES_PT_KEY_FILE", key_file())
            .env_remove("AFTERSALES_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..200 {
        if reqwest::get(format!("http://127.0.0.1:{port}/health"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come up");
}

/// A signed-in API client (session cookie + its CSRF token).
async fn sign_in(base: &str, user: &str) -> (reqwest::Client, String) {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let page = c
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = between(&page, "name=\"csrf_token\" value=\"", "\"");
    let r = c
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", user),
            ("password", "aftersales-demo"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let home = c
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = between(&home, "name=\"csrf-token\" content=\"", "\"");
    (c, csrf)
}

fn between(s: &str, a: &str, b: &str) -> String {
    let i = s.find(a).unwrap_or_else(|| panic!("{a} not in {s}")) + a.len();
    s[i..].split(b).next().unwrap().to_string()
}

fn issued(dir: &Dir) -> Vec<(i64, String, String, String, i64, String, String)> {
    let conn = rusqlite::Connection::open(dir.0.join("aftersales.db")).unwrap();
    let mut st = conn
        .prepare(
            "SELECT sequence, number, issue_date, system_entry, gross_minor, hash, id FROM billing_documents \
             WHERE status = 'issued' AND doc_type = 'FT' ORDER BY sequence",
        )
        .unwrap();
    st.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn count(dir: &Dir, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.0.join("aftersales.db")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Gapless from 1, each signature over its predecessor's, the series pointing at the last one, one message each.
fn assert_consistent(dir: &Dir) -> usize {
    let pem = std::fs::read(key_file()).unwrap();
    let signer = PtSigner::from_pem(&pem, 1).unwrap();
    let docs = issued(dir);
    let mut previous = String::new();
    for (i, (seq, number, date, entry, gross, hash, id)) in docs.iter().enumerate() {
        assert_eq!(*seq, i as i64 + 1, "gapless");
        assert_eq!(number, &format!("FT A/{seq}"));
        let d = time::Date::parse(date, format_description!("[year]-[month]-[day]")).unwrap();
        let e = time::PrimitiveDateTime::parse(
            entry,
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        )
        .unwrap();
        assert!(
            signer.verify(&signing_message(d, e, number, *gross, &previous), hash),
            "{number} does not sign over its predecessor"
        );
        previous = hash.clone();
        assert_eq!(
            count(
                dir,
                &format!("SELECT COUNT(*) FROM outbox WHERE dedupe_key = 'document:{id}:email'")
            ),
            1,
            "{number}: its e-mail was written with it"
        );
    }
    let next = count(
        dir,
        "SELECT next_number FROM billing_series WHERE doc_type = 'FT'",
    );
    assert_eq!(
        next,
        docs.len() as i64 + 1,
        "the series continues after the last issued number"
    );
    let conn = rusqlite::Connection::open(dir.0.join("aftersales.db")).unwrap();
    let last: String = conn
        .query_row(
            "SELECT last_hash FROM billing_series WHERE doc_type = 'FT'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(last, previous);
    assert_eq!(
        count(dir, "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'document:%' AND dedupe_key NOT IN (SELECT 'document:' || id || ':email' FROM billing_documents WHERE status = 'issued') AND dedupe_key NOT IN (SELECT 'document:' || id || ':sms' FROM billing_documents WHERE status = 'issued')"),
        0,
        "no message for a document that was not issued"
    );
    docs.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_no_invoice_and_leaves_no_gap() {
    let dir = temp_dir("billing-crash");
    ok(&dir, &["demo", "--no-serve"], None);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(&dir, port).await;
    let (c, csrf) = sign_in(&base, "joao").await;
    let lisboa = between(
        &c.get(format!("{base}/api/v1/organisations?limit=200"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .split("Polestar Service Point Lisboa")
            .next()
            .unwrap()
            .rsplit("\"id\":\"")
            .next()
            .map(|s| format!("\"id\":\"{s}"))
            .unwrap(),
        "\"id\":\"",
        "\"",
    );
    let hits: serde_json::Value = c
        .get(format!("{base}/api/v1/search?q=Beatriz%20Quaresma"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let beatriz = hits
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "customer")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    const N: usize = 40;
    let mut drafts = Vec::new();
    for i in 0..N {
        let r = c
            .post(format!("{base}/api/v1/billing-documents"))
            .header("x-csrf-token", &csrf)
            .json(&serde_json::json!({"organisation_id": lisboa, "customer_id": beatriz,
                "lines": [{"kind": "part", "description": format!("Peça {i}"), "quantity": "1", "unit_price": format!("{}.50", 10 + i)}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let id = r.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        drafts.push((id, etag));
    }
    // Everyone issues at once; the server is killed while they do.
    let mut tasks = Vec::new();
    for (id, etag) in drafts.clone() {
        let c = c.clone();
        let csrf = csrf.clone();
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            c.post(format!("{base}/api/v1/billing-documents/{id}/issue"))
                .header("x-csrf-token", csrf)
                .header("if-match", etag)
                .json(&serde_json::json!({}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    // Kill as soon as the first few are in (read through the WAL while the server writes).
    for _ in 0..2000 {
        if count(
            &dir,
            "SELECT COUNT(*) FROM billing_documents WHERE status = 'issued' AND doc_type = 'FT'",
        ) >= 3
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    let mut answered = 0;
    for t in tasks {
        if let Ok(Ok(200)) = t.await {
            answered += 1;
        }
    }
    let after_crash = assert_consistent(&dir);
    eprintln!("killed with {after_crash} of {N} issued ({answered} answered)");
    assert!(
        after_crash >= answered,
        "every answered issue is kept ({answered} answered, {after_crash} issued)"
    );
    assert!(after_crash < N, "the kill came before all {N} were issued ({after_crash}); the test proves nothing otherwise");
    assert_eq!(
        count(&dir, "SELECT COUNT(*) FROM billing_documents WHERE doc_type = 'FT' AND status = 'draft' AND number IS NULL AND sequence IS NULL"),
        (N - after_crash) as i64,
        "the rest are untouched drafts"
    );

    // After a restart the rest are issued and the chain goes on without a gap.
    let _server = start(&dir, port).await;
    let (c, csrf) = sign_in(&base, "joao").await;
    for (id, _) in &drafts {
        let d = c
            .get(format!("{base}/api/v1/billing-documents/{id}"))
            .send()
            .await
            .unwrap();
        let etag = d.headers()["etag"].to_str().unwrap().to_string();
        let doc: serde_json::Value = d.json().await.unwrap();
        if doc["status"] == "issued" {
            continue;
        }
        let r = c
            .post(format!("{base}/api/v1/billing-documents/{id}/issue"))
            .header("x-csrf-token", &csrf)
            .header("if-match", etag)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    assert_eq!(assert_consistent(&dir), N);

    // The operator exports the year's SAF-T (PT) from the shell; it passes the AT schema.
    let year = time::OffsetDateTime::now_utc().year();
    let out = ok(
        &dir,
        &[
            "export",
            "saft-pt",
            "--from",
            &format!("{year}-01-01"),
            "--to",
            &format!("{year}-12-31"),
            "--out",
            "saft.xml",
        ],
        None,
    );
    assert!(out.contains("Volvo Cars Portugal, S.A."), "{out}");
    let xml = std::fs::read(dir.0.join("saft.xml")).unwrap();
    assert!(
        String::from_utf8_lossy(&xml).contains(&format!("<NumberOfEntries>{N}</NumberOfEntries>"))
    );
    let has_xmlschema = Command::new("python3")
        .args(["-c", "import xmlschema"])
        .status()
        .is_ok_and(|s| s.success());
    if has_xmlschema {
        let check = Command::new("python3")
            .args([
                "-c",
                "import sys, xmlschema; xmlschema.XMLSchema11(sys.argv[1]).validate(sys.argv[2])",
            ])
            .arg(
                std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../../../shared/validation/saft-pt/SAFTPT1.04_01.xsd"),
            )
            .arg(dir.0.join("saft.xml"))
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
    } else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true needs python3 with xmlschema"
        );
        eprintln!("skipped: SAF-T validation (pip install xmlschema)");
    }
    let bad = super::fails(
        &dir,
        &[
            "export",
            "saft-pt",
            "--org",
            "Nowhere",
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
        ],
        None,
    );
    assert!(bad.contains("Nowhere"), "{bad}");
}
