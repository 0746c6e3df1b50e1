//! Real-browser tests: Debian's headless Chromium driven through chromedriver (WebDriver) against
//! the product served on a loopback port. Skipped (with a message) where Chromium is missing,
//! failing instead under CI=true.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aftersales_store::demo;
use aftersales_store::testing::{in_ci, say};
use fantoccini::{Client, ClientBuilder, Locator};

use crate::support::TestApp;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_tool(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Serves the app and opens a headless Chromium session, or says why it cannot.
async fn browser(app: &TestApp) -> Option<(Client, Driver, String)> {
    let chromium = find_tool(&["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
    let driver = find_tool(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
    let (Some(chromium), Some(driver)) = (chromium, driver) else {
        if in_ci() {
            panic!("CI=true but chromium/chromedriver are not installed (apt-get install chromium chromium-driver)");
        }
        say("skipped: real-browser test (apt-get install chromium chromium-driver to run it)");
        return None;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let guard = Driver(child);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile =
        std::env::temp_dir().join(format!("aftersales-chromium-{}-{port}", std::process::id()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--lang=en-GB", "--window-size=1280,900", format!("--user-data-dir={}", profile.display())],
            "prefs": {"intl.accept_languages": "en-GB,en"}
        }),
    );
    let client = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|e| panic!("chromedriver session failed: {e}"));
    Some((client, guard, format!("http://{addr}")))
}

/// The page's heading; retried while a navigation replaces the page under our feet.
async fn h1(c: &Client) -> String {
    for _ in 0..50 {
        if let Ok(el) = c.wait().for_element(Locator::Css("h1")).await {
            if let Ok(text) = el.text().await {
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no h1 on the page");
}

/// Waits until the element at `xpath` reads `expected` (the page may reload meanwhile).
async fn wait_for_text(c: &Client, xpath: &str, expected: &str) {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(el) = c.find(Locator::XPath(xpath)).await {
            if let Ok(text) = el.text().await {
                if text == expected {
                    return;
                }
                last = text;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{xpath} reads {last:?}, not {expected:?}");
}

/// Waits until the browser is on a page whose path starts with `prefix` (and is not `not`).
async fn wait_for_path(c: &Client, prefix: &str, not: &str) {
    for _ in 0..100 {
        if let Ok(url) = c.current_url().await {
            if url.path().starts_with(prefix) && url.path() != not {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never reached {prefix}");
}

async fn sign_in(c: &Client, base: &str, user: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    c.find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(demo::DEMO_PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_url(url_of(base, "/")).await.unwrap();
}

fn url_of(base: &str, path: &str) -> url::Url {
    url::Url::parse(&format!("{base}{path}")).unwrap()
}

fn shot_dir() -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisor_signs_in_switches_language_and_sees_her_home() {
    let app = TestApp::new().await;
    let Some((c, _driver, base)) = browser(&app).await else {
        return;
    };
    c.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(
        h1(&c).await,
        "Sign in",
        "anonymous visitors land on the login page"
    );
    // A wrong password shows the error next to the form.
    c.find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys("ingrid")
        .await
        .unwrap();
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys("wrong password")
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let alert = c
        .wait()
        .for_element(Locator::Css("#login-error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(alert, "Unknown username or wrong password.");

    sign_in(&c, &base, "ingrid").await;
    assert_eq!(
        h1(&c).await,
        "Hei, Ingrid Solberg",
        "Ingrid's own language is Norwegian"
    );
    let section = c
        .find(Locator::Css("section.role-service-advisor h2"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(section, "Servicerådgiver · Tesla Service Centre Trondheim");

    c.find(Locator::Css("nav.lang a[hreflang=en]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_url(url_of(&base, "/?lang=en")).await.unwrap();
    assert_eq!(h1(&c).await, "Hello, Ingrid Solberg");
    let nav = c
        .find(Locator::Css("nav.main-nav"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        nav.contains("Organisations") && nav.contains("Inbox"),
        "{nav}"
    );

    c.find(Locator::Css("nav.lang a[hreflang=pt]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_url(url_of(&base, "/?lang=pt")).await.unwrap();
    assert_eq!(h1(&c).await, "Olá, Ingrid Solberg");
    // The choice sticks while she moves on.
    c.find(Locator::LinkText("Organizações"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/organisations", "").await;
    assert_eq!(h1(&c).await, "Organizações");
    let rows = c
        .find_all(Locator::Css("table.tree tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "an advisor sees only her service centre");
    std::fs::write(
        shot_dir().join("advisor-organisations-pt.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();

    // Keyboard users reach the content first.
    c.goto(&format!("{base}/")).await.unwrap();
    let first = c
        .execute(
            "document.body.querySelector('a').focus(); return document.activeElement.className;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(first, "skip");

    c.find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_url(url_of(&base, "/login")).await.unwrap();
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_and_technician_homes_fit_a_phone() {
    let app = TestApp::new().await;
    let Some((c, _driver, base)) = browser(&app).await else {
        return;
    };
    c.set_window_size(390, 844).await.unwrap();
    for (user, text) in [("mats", "Logistikk"), ("pedro", "Oficina")] {
        sign_in(&c, &base, user).await;
        let home = c
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(home.contains(text), "{user}: {home}");
        let fits: bool = c
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
                vec![],
            )
            .await
            .unwrap()
            .as_bool()
            .unwrap();
        assert!(fits, "{user}'s home scrolls sideways on a phone");
        std::fs::write(
            shot_dir().join(format!("phone-{user}.png")),
            c.screenshot().await.unwrap(),
        )
        .unwrap();
        c.find(Locator::Css("form[action='/logout'] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.wait().for_url(url_of(&base, "/login")).await.unwrap();
    }
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_call_is_logged_and_escalated_in_the_browser() {
    let app = TestApp::new().await;
    let Some((c, _driver, base)) = browser(&app).await else {
        return;
    };
    sign_in(&c, &base, "ingrid").await;
    c.find(Locator::LinkText("Innboks"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/inbox", "").await;
    assert_eq!(h1(&c).await, "Innboks");
    c.find(Locator::LinkText("Registrer en samtale"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("#contact"))
        .await
        .unwrap()
        .send_keys("934 56 789")
        .await
        .unwrap();
    c.find(Locator::Css("#subject"))
        .await
        .unwrap()
        .send_keys("Bremsene hviner")
        .await
        .unwrap();
    c.find(Locator::Css("#symptoms"))
        .await
        .unwrap()
        .send_keys("Bremsene hviner og drar skjevt")
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/cases'] button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/cases/", "/cases/new").await;
    let title = h1(&c).await;
    assert!(
        title.starts_with("CASE-") && title.ends_with("Bremsene hviner"),
        "{title}"
    );
    let alert = c
        .find(Locator::Css(".alert.escalated"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(alert, "Eskalert: sikkerhetsrisiko");
    let customer = c
        .find(Locator::Css("dl.facts a[href^='/customers/']"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        customer, "Ola Hansen",
        "the caller is recognised by the phone number"
    );
    c.find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_url(url_of(&base, "/login")).await.unwrap();

    sign_in(&c, &base, "kari").await;
    c.goto(&format!("{base}/inbox?view=escalated"))
        .await
        .unwrap();
    let row = c
        .find(Locator::XPath(
            "//table[contains(@class,'inbox')]//tr[contains(., 'Bremsene hviner')]",
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        row.contains("Bremsene hviner") && row.contains("sikkerhetsrisiko"),
        "{row}"
    );
    std::fs::write(
        shot_dir().join("escalation-queue-nb.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.find(Locator::XPath("//table[contains(@class,'inbox')]//tr[contains(., 'Bremsene hviner')]//a[starts-with(@href, '/cases/')]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/cases/", "/cases/new").await;
    c.find(Locator::Css("form[action$='/take'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(
        &c,
        "//dt[.='Ansvarlig']/following-sibling::dd[1]",
        "Kari Nilsen",
    )
    .await;
    c.close().await.unwrap();
}

/// The whole advisor flow of the CRM and cases issue, as a person clicks it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisor_finds_the_car_triages_and_follows_up() {
    let app = TestApp::new().await;
    let Some((c, _driver, base)) = browser(&app).await else {
        return;
    };
    sign_in(&c, &base, "ingrid").await;
    c.goto(&format!("{base}/customers")).await.unwrap();
    // Results while typing: the last six of the VIN the caller reads out.
    c.find(Locator::Css("#crm-search"))
        .await
        .unwrap()
        .send_keys("107919")
        .await
        .unwrap();
    let hit = c
        .wait()
        .for_element(Locator::Css("#crm-results a[href^='/vehicles/']"))
        .await
        .unwrap();
    assert!(hit.text().await.unwrap().contains("Model 3"));
    hit.click().await.unwrap();
    wait_for_path(&c, "/vehicles/", "").await;
    c.find(Locator::Css("p.crumbs a[href^='/customers/']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/customers/", "/customers").await;
    assert_eq!(h1(&c).await, "Kari Nordmann");
    let customer_url = c.current_url().await.unwrap();
    c.find(Locator::LinkText("Registrer en samtale"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/cases/new", "").await;
    c.find(Locator::Css("#subject"))
        .await
        .unwrap()
        .send_keys("Skjermen fryser")
        .await
        .unwrap();
    c.find(Locator::Css("#symptoms"))
        .await
        .unwrap()
        .send_keys("Berøringsskjermen blir svart")
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/cases'] button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/cases/", "/cases/new").await;
    // Triage: the remote fix is suggested; the advisor applies it.
    let suggestion = c
        .wait()
        .for_element(Locator::Css("ol.suggestions li strong"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(suggestion, "Omstart av berøringsskjermen");
    let case_url = c.current_url().await.unwrap();
    c.find(Locator::Css("ol.suggestions form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(
        &c,
        "(//ol[contains(@class,'timeline')]//span[@class='badge'])[last()]",
        "Triage",
    )
    .await;
    // A follow-up for the default date and time.
    c.find(Locator::Css("#title"))
        .await
        .unwrap()
        .send_keys("Ring Kari etter omstart")
        .await
        .unwrap();
    c.find(Locator::Css("form[action$='/tasks'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(
        &c,
        "(//ol[contains(@class,'timeline')]//span[@class='badge'])[last()]",
        "Oppfølging",
    )
    .await;
    assert_eq!(c.current_url().await.unwrap(), case_url);
    // All of it on the customer's timeline.
    c.goto(customer_url.as_str()).await.unwrap();
    let timeline = c
        .find(Locator::Css("ol.timeline"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "Skjermen fryser",
        "Fjernløsning",
        "Restart the touchscreen",
        "oppfølging: Ring Kari etter omstart",
    ] {
        assert!(
            timeline.contains(needle),
            "{needle} missing from the timeline: {timeline}"
        );
    }
    std::fs::write(
        shot_dir().join("customer-timeline-nb.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.close().await.unwrap();
}

/// Clicks a submit button and waits until the answer page has replaced the current one.
async fn click_and_wait(c: &Client, css: &str) {
    let old = c.find(Locator::Css("h1")).await.unwrap();
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for _ in 0..100 {
        if old.text().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    h1(c).await;
}

/// Types into a field (or gives a file input its file's path).
async fn type_in(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// Ticks every checkbox the selector finds.
async fn tick_all(c: &Client, css: &str) {
    for check in c.find_all(Locator::Css(css)).await.unwrap() {
        check.click().await.unwrap();
    }
}

async fn choose(c: &Client, css: &str, value: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

async fn move_to(c: &Client, status: &str) {
    choose(c, "#status", status).await;
    click_and_wait(c, "#status-form button").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisor_books_from_a_case_and_the_customer_approves_on_her_phone() {
    let app = TestApp::new().await;
    let Some((c, _driver, base)) = browser(&app).await else {
        return;
    };
    let token = app.token_for("ingrid").await;
    let hits = app
        .api(
            axum::http::Method::GET,
            "/api/v1/search?q=Kari%20Nordmann",
            crate::support::Auth::Bearer(&token),
            None,
            &[],
        )
        .await
        .json();
    let kari = hits
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "customer")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let case = app
        .api(axum::http::Method::POST, "/api/v1/cases", crate::support::Auth::Bearer(&token),
            Some(serde_json::json!({"customer_id": kari, "channel": "phone", "category": "technical", "priority": "normal",
            "subject": "Coolant warning on the screen"})), &[])
        .await
        .json();
    let case_id = case["id"].as_str().unwrap().to_string();
    let users = app
        .api(
            axum::http::Method::GET,
            "/api/v1/users?limit=200",
            crate::support::Auth::Bearer(&app.token_for("admin").await),
            None,
            &[],
        )
        .await
        .json();
    let id_of = |name: &str| {
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };

    sign_in(&c, &base, "ingrid").await;
    c.goto(&format!("{base}/cases/{case_id}")).await.unwrap();
    c.find(Locator::Css("#book-appointment"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/workshop/book", "").await;
    c.find(Locator::Css("input[name=op][value=DIAG]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.execute(
        "document.getElementById('date').value = '2026-11-23';",
        vec![],
    )
    .await
    .unwrap();
    click_and_wait(&c, "#find-slots").await;
    click_and_wait(&c, "button.slot[title='Sindre Moe'], button.slot").await;
    wait_for_path(&c, "/workshop/repair-orders/", "").await;
    let ro_url = c.current_url().await.unwrap();
    move_to(&c, "checked-in").await;
    move_to(&c, "diagnosing").await;
    // Work found: added as a job, priced from the catalogue.
    c.find(Locator::Css("#job-title"))
        .await
        .unwrap()
        .send_keys("Coolant pump")
        .await
        .unwrap();
    c.find(Locator::Css("#job-complaint"))
        .await
        .unwrap()
        .send_keys("Found during diagnosis: the coolant pump is noisy")
        .await
        .unwrap();
    click_and_wait(&c, "#add-job button[type=submit]").await;
    c.find(Locator::Css("#job-2 .add-line input[name=code]"))
        .await
        .unwrap()
        .send_keys("HV-COOLANT-PUMP")
        .await
        .unwrap();
    click_and_wait(&c, "#job-2 .add-line button").await;
    // An expired certificate: refused with the reason. A valid one: assigned.
    choose(&c, "#job-2 .assign select", &id_of("sindre")).await;
    click_and_wait(&c, "#job-2 .assign button").await;
    let refusal = c
        .find(Locator::Css("#refusal"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        refusal.contains("Sindre Moe") && refusal.contains("hv-work"),
        "{refusal}"
    );
    choose(&c, "#job-2 .assign select", &id_of("ole")).await;
    click_and_wait(&c, "#job-2 .assign button").await;
    assert!(c.find(Locator::Css("#refusal")).await.is_err());
    assert!(c
        .find(Locator::Css("#job-2"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("Ole Berg"));
    move_to(&c, "waiting-approval").await;
    let status_page = c
        .find(Locator::Css("#status-page-link"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();

    // The customer, on her phone, without an account: sees the estimate and approves.
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{base}{status_page}")).await.unwrap();
    assert!(h1(&c).await.contains("RO-2026-"));
    let lang = c
        .find(Locator::Css("html"))
        .await
        .unwrap()
        .attr("lang")
        .await
        .unwrap();
    assert_eq!(lang.as_deref(), Some("nb"), "Kari reads Norwegian");
    let fits: bool = c
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(fits, "the status page fits a phone");
    click_and_wait(&c, "#job-2 button.approve").await;
    // The amount with VAT, and a confirmation before anything is decided.
    click_and_wait(&c, "#confirm-decision").await;
    assert!(c.find(Locator::Css("p.ok[role=status]")).await.is_ok());
    assert!(
        c.find(Locator::Css("#job-2 button.approve")).await.is_err(),
        "decided once"
    );
    std::fs::write(
        shot_dir().join("status-page-phone.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();

    // Back at the desk: the repair goes on to ready.
    c.set_window_size(1280, 900).await.unwrap();
    c.goto(ro_url.as_str()).await.unwrap();
    for s in ["in-repair", "quality-check", "ready"] {
        move_to(&c, s).await;
    }
    c.goto(&format!("{base}{status_page}")).await.unwrap();
    let approval = c
        .find(Locator::Css("#job-2 .badge"))
        .await
        .unwrap()
        .attr("class")
        .await
        .unwrap()
        .unwrap();
    assert!(approval.contains("approval-approved"), "{approval}");

    // Delivered: the messages go out through the outbox to a real SMTP server and the SMS
    // endpoint, in Kari's language; she answers the survey from the link in her mail.
    c.goto(ro_url.as_str()).await.unwrap();
    move_to(&c, "delivered").await;
    if let Some(smtp) = aftersales_notify::testing::SmtpSink::start().await {
        let sms = aftersales_notify::testing::SmsReceiver::start().await;
        let transports = aftersales_notify::Transports {
            mail: Some(aftersales_notify::Mailer::new(&smtp.config()).unwrap()),
            sms: Some(aftersales_notify::SmsGateway::new(&sms.config()).unwrap()),
        };
        use aftersales_domain::clock::Clock;
        let later = app.clock.now() + time::Duration::hours(2);
        aftersales_notify::deliver_due(
            &app.store,
            &transports,
            &aftersales_domain::clock::FixedClock::new(later),
        )
        .await
        .unwrap();
        let mails = smtp.received();
        let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
        for want in [
            "Timen din er bestilt",
            "Vi trenger din godkjenning",
            "Bilen din er klar",
            "Hvordan var besøket?",
        ] {
            assert!(
                subjects.iter().any(|s| s.starts_with(want)),
                "{want} in {subjects:?}"
            );
        }
        assert!(sms.received().iter().any(|r| r.body["text"]
            .as_str()
            .unwrap()
            .contains("klar til henting")));
        let survey = mails
            .iter()
            .find(|m| m.subject.starts_with("Hvordan var besøket?"))
            .unwrap();
        let link = survey
            .text
            .split_whitespace()
            .find(|w| w.contains("/survey/"))
            .unwrap();
        let path = &link[link.find("/survey/").unwrap()..];
        c.set_window_size(390, 844).await.unwrap();
        c.goto(&format!("{base}{path}")).await.unwrap();
        c.find(Locator::Css("input[name=csat][value='5']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.find(Locator::Css("input[name=nps][value='9']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.find(Locator::Css("#comment"))
            .await
            .unwrap()
            .send_keys("Rask og hyggelig")
            .await
            .unwrap();
        click_and_wait(&c, "form[action^='/survey/'] button[type=submit]").await;
        assert!(c.find(Locator::Css("#survey-thanks")).await.is_ok());
        assert!(
            app.store
                .public()
                .survey(path.trim_start_matches("/survey/"))
                .await
                .unwrap()
                .answered
        );
    }
    let _ = c.close().await;
}

/// The advisor invoices a repair order in two clicks, views the PDF and credits the invoice with a reason:
/// in Trondheim (Norwegian invoice with KID) and in Lisboa (signed FT with ATCUD and QR).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisor_issues_views_and_credits_an_invoice_in_norway_and_portugal() {
    let app = TestApp::new().await;
    let Some((c, _driver, base)) = browser(&app).await else {
        return;
    };
    for (user, org, customer, invoice_no, credit_no) in [
        (
            "ingrid",
            "Tesla Service Centre Trondheim",
            "Kari Nordmann",
            "F-1",
            "K-1",
        ),
        (
            "joao",
            "Polestar Service Point Lisboa",
            "Beatriz Quaresma",
            "FT A/1",
            "NC A/1",
        ),
    ] {
        let token = app.token_for(user).await;
        let auth = crate::support::Auth::Bearer(&token);
        let hits = app
            .api(
                axum::http::Method::GET,
                &format!("/api/v1/search?q={}", customer.replace(' ', "%20")),
                auth,
                None,
                &[],
            )
            .await
            .json();
        let cust = hits
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["kind"] == "customer")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let org_id = app.org_id(org).await;
        let ro = app
            .api(
                axum::http::Method::POST,
                "/api/v1/repair-orders",
                auth,
                Some(serde_json::json!({"organisation_id": org_id, "customer_id": cust, "complaint": "Wipers smear"})),
                &[],
            )
            .await
            .json();
        let ro_id = ro["id"].as_str().unwrap().to_string();
        let job = ro["jobs"][0]["id"].as_str().unwrap().to_string();
        let r = app
            .api(
                axum::http::Method::POST,
                &format!("/api/v1/repair-orders/{ro_id}/jobs/{job}/lines"),
                auth,
                Some(serde_json::json!({"kind": "sublet", "description": "Wiper blades, pair", "quantity": "1", "unit_price": "399"})),
                &[],
            )
            .await;
        assert_eq!(r.status, axum::http::StatusCode::CREATED, "{}", r.body);

        sign_in(&c, &base, user).await;
        c.goto(&format!("{base}/workshop/repair-orders/{ro_id}"))
            .await
            .unwrap();
        // Click one: a draft per payer, the customer's opens.
        click_and_wait(&c, "#invoice-ro").await;
        wait_for_path(&c, "/billing/documents/", "").await;
        // Click two: the totals for a last look (issuing cannot be undone); the confirmation issues.
        click_and_wait(&c, "#issue").await;
        click_and_wait(&c, "#issue-confirm").await;
        wait_for_text(&c, "//*[@id='doc-number']", invoice_no).await;
        if user == "ingrid" {
            let kid = c
                .find(Locator::Css("#kid"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(kid.starts_with("10000001"), "{kid}");
        } else {
            let atcud = c
                .find(Locator::Css("#atcud"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert_eq!(atcud, "JFJ6H7KT-1");
            let line = c
                .find(Locator::Css("#certificate-line"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(
                line.contains("-Processado por programa certificado"),
                "{line}"
            );
        }
        // The PDF behind the link is a PDF.
        let href = c
            .find(Locator::Css("#pdf-link"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        let got = c
            .execute_async(
                "const [url, done] = arguments; fetch(url).then(r => r.arrayBuffer().then(b => done(r.headers.get('content-type') + ' ' + String.fromCharCode(...new Uint8Array(b.slice(0, 5))) + ' ' + b.byteLength)));",
                vec![serde_json::json!(href)],
            )
            .await
            .unwrap();
        let got = got.as_str().unwrap().to_string();
        assert!(got.starts_with("application/pdf %PDF-"), "{got}");
        c.screenshot()
            .await
            .map(|png| std::fs::write(shot_dir().join(format!("invoice-{user}.png")), png))
            .unwrap()
            .unwrap();
        // Credit it with a reason: the credit note is issued and opens.
        c.find(Locator::Css("#reason"))
            .await
            .unwrap()
            .send_keys("Wrong wiper size fitted")
            .await
            .unwrap();
        click_and_wait(&c, "#credit").await;
        wait_for_text(&c, "//*[@id='doc-number']", credit_no).await;
        // Back on the repair order, both documents are listed.
        c.goto(&format!("{base}/workshop/repair-orders/{ro_id}"))
            .await
            .unwrap();
        let billing = c
            .find(Locator::Css("#ro-billing"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            billing.contains(invoice_no) && billing.contains(credit_no),
            "{billing}"
        );
        c.find(Locator::Css("form[action='/logout'] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.wait().for_url(url_of(&base, "/login")).await.unwrap();
    }
    c.close().await.unwrap();
}

/// Issue 15, item 6: the technician's repair-order page fits a phone, their job and the clock come
/// first, and clocking on says what was done and when.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn technician_clocks_on_from_the_top_of_the_order_on_a_phone() {
    let app = TestApp::new().await;
    let Some((c, _driver, base)) = browser(&app).await else {
        return;
    };
    let token = app.token_for("ingrid").await;
    let kari = app.customer_id(&token, "Kari Nordmann").await;
    let trd = app.org_id("Tesla Service Centre Trondheim").await;
    let booked = app
        .api(
            axum::http::Method::POST,
            "/api/v1/appointments",
            crate::support::Auth::Bearer(&token),
            Some(
                serde_json::json!({"organisation_id": trd, "customer_id": kari, "kind": "workshop",
                "operations": ["DIAG"], "starts_at": "2026-11-23T09:00:00+01:00",
                "complaint": "Knocking from the front left over bumps, mostly on cold mornings"}),
            ),
            &[],
        )
        .await;
    assert_eq!(
        booked.status,
        axum::http::StatusCode::CREATED,
        "{}",
        booked.body
    );
    let ro_id = booked.json()["repair_order_id"]
        .as_str()
        .unwrap()
        .to_string();
    let ro = app
        .api(
            axum::http::Method::GET,
            &format!("/api/v1/repair-orders/{ro_id}"),
            crate::support::Auth::Bearer(&token),
            None,
            &[],
        )
        .await
        .json();
    // The car is in: the technician can clock.
    let checked_in = app
        .api(
            axum::http::Method::POST,
            &format!("/api/v1/repair-orders/{ro_id}/status"),
            crate::support::Auth::Bearer(&token),
            Some(serde_json::json!({"status": "checked-in"})),
            &[("if-match", &ro["version"].to_string())],
        )
        .await;
    assert_eq!(
        checked_in.status,
        axum::http::StatusCode::OK,
        "{}",
        checked_in.body
    );
    let tech = match ro["jobs"][0]["technician"]["label"].as_str().unwrap() {
        "Ole Berg" => "ole",
        "Sindre Moe" => "sindre",
        other => panic!("unexpected technician {other}"),
    };
    c.set_window_size(390, 844).await.unwrap();
    sign_in(&c, &base, tech).await;
    c.goto(&format!("{base}/workshop/repair-orders/{ro_id}"))
        .await
        .unwrap();
    let fits: bool = c
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(fits, "the repair order scrolls sideways on a phone");
    let first_screen: bool = c
        .execute(
            "return document.querySelector('#my-work button.clock').getBoundingClientRect().bottom <= window.innerHeight;",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(first_screen, "the clock is on the first screen");
    click_and_wait(&c, "#my-work button.clock-on").await;
    let done = c
        .find(Locator::Css("#clock-done"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(done.starts_with("Stemplet inn på 1."), "{done}");
    assert!(c
        .find(Locator::Css("#my-work button.clock-off"))
        .await
        .is_ok());
    std::fs::write(
        shot_dir().join("phone-technician-order.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::disallowed_methods)]
async fn advisor_books_a_pickup_with_a_loaner_plans_and_the_driver_works_the_run_sheet() {
    use aftersales_domain::clock::Clock;
    let app = TestApp::new().await;
    let (org, ro) = crate::logistics::trondheim_order(&app).await;
    let day = crate::logistics::DAY;
    let (_, other) = crate::logistics::trondheim_order(&app).await;
    // A job nobody can plan: its address has no coordinates.
    app.store
        .logistics()
        .add_job(
            &app.scope_of("ingrid").await,
            &aftersales_store::logistics::TransportJobInput {
                repair_order_id: other,
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
    let Some((c, _driver, base)) = browser(&app).await else {
        return;
    };
    sign_in(&c, &base, "ingrid").await;
    c.goto(&format!("{base}/workshop/repair-orders/{ro}"))
        .await
        .unwrap();
    click_and_wait(&c, "#add-pickup").await;
    c.find(Locator::Css("input[name=window]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let loaner = c
        .find(Locator::Css("#nl option:nth-child(2)"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    choose(&c, "#nl", &loaner).await;
    click_and_wait(&c, "#add-job").await;
    c.find(Locator::Css("#transport-done")).await.unwrap();

    // On the board: plan, see the job on a driver's timeline and the other one's reason.
    c.goto(&format!("{base}/logistics?org={org}&day={day}"))
        .await
        .unwrap();
    click_and_wait(&c, "#replan").await;
    c.find(Locator::Css(".tl-job")).await.unwrap();
    let reason = c
        .find(Locator::Css("#unplanned .reason .why"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(reason, "Adressen har ingen koordinater.");

    // Lock the pickup to Mats at 13:00 and plan again.
    let scope = app.scope_of("ingrid").await;
    let job = app
        .store
        .logistics()
        .jobs_of_repair_order(&scope, &ro)
        .await
        .unwrap()[0]
        .id
        .clone();
    let mats = app
        .store
        .logistics()
        .drivers(&scope, &org)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.label == "Mats Lie")
        .unwrap();
    c.find(Locator::Css(&format!("#job-{job} summary")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    choose(&c, &format!("#ld-{job}"), &mats.id).await;
    c.execute(
        &format!("document.getElementById('la-{job}').value = '13:00';"),
        vec![],
    )
    .await
    .unwrap();
    click_and_wait(
        &c,
        &format!("#job-{job} form[action$='/lock'] button[type=submit]"),
    )
    .await;
    click_and_wait(&c, "#replan").await;
    let board = c
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(board.contains("🔒 Mats Lie, 13:00"), "{board}");
    // The timeline is laid out by the positions the page gives each bar (the content security
    // policy lets style attributes through): its hours spread over the track.
    let spread = c
        .execute(
            "var h = document.querySelectorAll('#timeline .tl-hour'); \
             return h[h.length - 1].getBoundingClientRect().left - h[0].getBoundingClientRect().left;",
            vec![],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(spread > 300.0, "the hours pile up: {spread}");
    // So is the workshop's board: each repair order in its bay's lane, not stacked in one column.
    c.goto(&format!("{base}/workshop?org={org}&view=bay"))
        .await
        .unwrap();
    let columns = c
        .execute(
            "var l = document.getElementById('lanes'); \
             return l ? getComputedStyle(l).gridTemplateColumns.split(' ').length : 0;",
            vec![],
        )
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    assert!(
        columns > 10,
        "the workshop board's grid has {columns} columns"
    );
    c.goto(&format!("{base}/logistics?org={org}&day=2026-11-21"))
        .await
        .unwrap();
    std::fs::write(
        shot_dir().join("logistics-board.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_url(url_of(&base, "/login")).await.unwrap();

    // Mats works it on his phone: on the way, arrived, the hand-over checklist and readings.
    c.set_window_size(390, 844).await.unwrap();
    sign_in(&c, &base, "mats").await;
    c.goto(&format!("{base}/logistics")).await.unwrap();
    wait_for_path(&c, "/logistics/run", "/logistics").await;
    click_and_wait(&c, &format!("#press-{job}")).await;
    click_and_wait(&c, &format!("#press-{job}")).await;
    tick_all(&c, &format!("#handover-{job} input[type=checkbox]")).await;
    type_in(&c, &format!("#odo-{job}"), "41250").await;
    type_in(&c, &format!("#charge-{job}"), "64").await;
    // A photo of the customer's car from the phone's camera (a file here), the loaner's readings.
    let photo = std::env::temp_dir().join(format!("handover-{}.jpg", std::process::id()));
    std::fs::write(
        &photo,
        [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0],
    )
    .unwrap();
    type_in(&c, &format!("#photos-c-{job}"), &photo.to_string_lossy()).await;
    type_in(&c, &format!("#lodo-{job}"), "8120").await;
    // Pressing done before the customer signed names what is missing; nothing typed is lost.
    click_and_wait(&c, &format!("#done-{job}")).await;
    let said = c
        .find(Locator::Css(&format!("#sig-error-{job}")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(said.contains("Kunden har ikke signert"), "{said}");
    let kept = c
        .find(Locator::Css(&format!("#lodo-{job}")))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("8120"));
    tick_all(&c, &format!("#handover-{job} input[type=checkbox]")).await;
    type_in(&c, &format!("#photos-c-{job}"), &photo.to_string_lossy()).await;
    // A large picture of the loaner (a bitmap of 1.3 MB): the phone redraws it as a JPEG before sending.
    let big = std::env::temp_dir().join(format!("loaner-{}.bmp", std::process::id()));
    std::fs::write(&big, bitmap(700, 600)).unwrap();
    type_in(&c, &format!("#photos-l-{job}"), &big.to_string_lossy()).await;
    // The customer reads the terms in their language and signs with a finger on the pad.
    let terms = c
        .find(Locator::Css(&format!("#terms-{job}")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(terms.contains("AutoPASS"), "{terms}");
    let pad = c.find(Locator::Css(&format!("#pad-{job}"))).await.unwrap();
    c.execute(
        "arguments[0].scrollIntoView({block: 'center'});",
        vec![serde_json::to_value(&pad).unwrap()],
    )
    .await
    .unwrap();
    {
        use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
        let mut stroke = MouseActions::new("finger".into())
            .then(PointerAction::MoveToElement {
                element: pad.clone(),
                duration: None,
                x: -120,
                y: 0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            });
        for (x, y) in [(30, -15), (30, 20), (30, -25), (30, 15), (30, 10)] {
            stroke = stroke.then(PointerAction::MoveBy {
                duration: Some(std::time::Duration::from_millis(40)),
                x,
                y,
            });
        }
        stroke = stroke.then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
        c.perform_actions(stroke).await.unwrap();
    }
    let signed: bool = c
        .execute(
            &format!("return document.getElementById('sig-{job}').value.length > 100;"),
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(signed, "the pad filled the signature");
    std::fs::write(
        shot_dir().join("phone-handover.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    click_and_wait(&c, &format!("#done-{job}")).await;
    let class = c
        .find(Locator::Css(&format!("#stop-{job}")))
        .await
        .unwrap()
        .attr("class")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(class.contains("stop-done"), "{class}");
    let kept = app
        .store
        .logistics()
        .handovers_of_repair_order(&app.scope_of("ingrid").await, &ro)
        .await
        .unwrap();
    let mut types = Vec::new();
    for h in &kept.handovers {
        for p in &h.photos {
            let (kind, bytes) = app
                .store
                .logistics()
                .handover_photo(&app.scope_of("ingrid").await, p)
                .await
                .unwrap();
            types.push((h.car.as_str(), kind, bytes.len() < 1024 * 1024));
        }
    }
    assert_eq!(
        types,
        [
            ("customer", "image/jpeg".to_string(), true),
            ("loaner", "image/jpeg".to_string(), true)
        ],
        "the bitmap went as a smaller JPEG"
    );
    assert_eq!(kept.agreements.len(), 1);
    let fits: bool = c
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(fits, "the run sheet scrolls sideways on a phone");
    std::fs::write(
        shot_dir().join("phone-run-sheet.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.close().await.unwrap();
}

/// Opens a claim the way its reader finds it: from the warranty list.
async fn open_from_warranty_list(c: &Client, base: &str, claim: &str) {
    c.goto(&format!("{base}/warranty")).await.unwrap();
    c.find(Locator::Css(&format!("#claims a[href='{claim}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(c, claim, "").await;
}

async fn sign_out(c: &Client, base: &str) {
    c.find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_url(url_of(base, "/login")).await.unwrap();
}

/// A warranty claim across three parties in a real browser: João answers the importer's question
/// and resubmits the claim it sent back; Rui (the importer) finds it waiting for him, pays the
/// pump less with a reason and approves; Helena (Polestar) approves what he recommended, and the
/// claim stands partly approved with each step in its history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warranty_claim_crosses_service_point_importer_and_brand() {
    let app = TestApp::new().await;
    let Some((c, _driver, base)) = browser(&app).await else {
        return;
    };
    sign_in(&c, &base, "joao").await;
    c.find(Locator::Css("nav.main-nav a[href='/warranty']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_url(url_of(&base, "/warranty")).await.unwrap();
    // Waiting for him: the claim the importer sent back.
    c.find(Locator::Css("#claims tbody a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/warranty/claims/", "").await;
    let claim = c.current_url().await.unwrap().path().to_string();
    wait_for_text(&c, "//*[@id='claim-status']", "Devolvida para informação").await;
    type_in(
        &c,
        "#note",
        "Fotografia da etiqueta e relatório de diagnóstico juntos.",
    )
    .await;
    click_and_wait(&c, "#do-submit").await;
    wait_for_text(&c, "//*[@id='claim-status']", "No importador").await;
    sign_out(&c, &base).await;

    sign_in(&c, &base, "rui").await;
    open_from_warranty_list(&c, &base, &claim).await;
    // The pump (the second line) paid at 500 € with a reason.
    let amount = c.find(Locator::Css("#approved-2")).await.unwrap();
    amount.clear().await.unwrap();
    amount.send_keys("500,00").await.unwrap();
    choose(&c, "#reason-2", "price-above-list").await;
    click_and_wait(&c, "#do-approve").await;
    wait_for_text(&c, "//*[@id='claim-status']", "Na marca").await;
    sign_out(&c, &base).await;

    sign_in(&c, &base, "helena").await;
    open_from_warranty_list(&c, &base, &claim).await;
    let start = c
        .find(Locator::Css("#approved-2"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        start.as_deref(),
        Some("500.00"),
        "the importer's amount is where Polestar starts"
    );
    click_and_wait(&c, "#do-approve").await;
    wait_for_text(&c, "//*[@id='claim-status']", "Partly approved").await;
    let history = c
        .find(Locator::Css("#history"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for step in [
        "Importer: sent back for information",
        "Service point: submitted → With the importer",
        "Importer: approved in part → With the brand",
        "Brand: approved in part → Partly approved",
    ] {
        assert!(history.contains(step), "{step}: {history}");
    }
    std::fs::write(
        shot_dir().join("warranty-claim.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.close().await.unwrap();
}

/// An uncompressed 24-bit bitmap with a gradient: a large picture as a phone's file picker gives it.
fn bitmap(w: u32, h: u32) -> Vec<u8> {
    let row = (w * 3 + 3) & !3;
    let size = 54 + row * h;
    let mut b = Vec::with_capacity(size as usize);
    b.extend(b"BM");
    b.extend(size.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend(54u32.to_le_bytes());
    b.extend(40u32.to_le_bytes());
    b.extend(w.to_le_bytes());
    b.extend(h.to_le_bytes());
    b.extend(1u16.to_le_bytes());
    b.extend(24u16.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend((row * h).to_le_bytes());
    b.extend(2835u32.to_le_bytes());
    b.extend(2835u32.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    for y in 0..h {
        for x in 0..w {
            b.extend([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8]);
        }
        b.extend(std::iter::repeat_n(0u8, (row - w * 3) as usize));
    }
    b
}

/// Dealer standards in a real browser: Ana plans an audit of Lisboa; João fills the self-assessment
/// with a photo as evidence and submits it; Ana answers the official sheet beside it, completes the
/// audit (a finding on the hand-over area), and raises the finding as a corrective action for João.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_of_lisboa_from_plan_to_corrective_action() {
    let app = TestApp::new().await;
    let Some((c, _driver, base)) = browser(&app).await else {
        return;
    };
    sign_in(&c, &base, "ana").await;
    c.goto(&format!("{base}/network")).await.unwrap();
    assert_eq!(h1(&c).await, "Normas da rede");
    c.find(Locator::Css("#plan-audit summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let lisboa = app.org_id("Polestar Service Point Lisboa").await;
    choose(&c, "#service_point_id", &lisboa).await;
    let ana_id = app.scope_of("ana").await.user_id().to_string();
    choose(&c, "#auditor_id", &ana_id).await;
    c.execute(
        "document.getElementById('planned_on').value = '2026-12-01';",
        vec![],
    )
    .await
    .unwrap();
    click_and_wait(&c, "#plan-submit").await;
    assert_eq!(h1(&c).await, "Auditoria: Polestar Service Point Lisboa");
    let audit = c.current_url().await.unwrap().path().to_string();
    sign_out(&c, &base).await;

    // João's self-assessment: every requirement answered, a photo of the high-voltage bay.
    sign_in(&c, &base, "joao").await;
    c.goto(&format!("{base}{audit}")).await.unwrap();
    assert!(c.find(Locator::Css("#sheet")).await.is_ok());
    let fill = "document.querySelectorAll('#sheet select').forEach(s => s.value = 'met'); \
                document.querySelectorAll('#sheet input[inputmode=decimal]').forEach(i => i.value = '96');";
    c.execute(fill, vec![]).await.unwrap();
    let photo = std::env::temp_dir().join(format!("hv-bay-{}.png", std::process::id()));
    std::fs::write(&photo, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").unwrap();
    type_in(&c, "#req-FAC-02 input[type=file]", &photo.to_string_lossy()).await;
    click_and_wait(&c, "#sheet-finish").await;
    let state = c
        .find(Locator::Css("#self-state"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(state.starts_with("submetida por João Silva"), "{state}");
    let evidence = c
        .find(Locator::Css("#req-FAC-02"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(evidence.contains("hv-bay-"), "{evidence}");
    sign_out(&c, &base).await;

    // Ana's audit beside it: the hand-over area not met; the audit completed and scored.
    sign_in(&c, &base, "ana").await;
    c.goto(&format!("{base}{audit}")).await.unwrap();
    c.execute(fill, vec![]).await.unwrap();
    c.execute(
        "document.querySelector('#req-BRD-02 select').value = 'not-met'; \
         document.querySelector('#req-BRD-02 input[name^=comment_]').value = 'Sem sinalética';",
        vec![],
    )
    .await
    .unwrap();
    click_and_wait(&c, "#sheet-finish").await;
    let status = c
        .find(Locator::Css("#audit-status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(status.starts_with("Concluída"), "{status}");
    let verdict = c
        .find(Locator::Css("#verdict"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(verdict, "Aprovado");
    let row = c
        .find(Locator::Css("#req-BRD-02"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        row.contains("Cumprido") && row.contains("Não cumprido"),
        "{row}"
    );
    // The finding becomes a corrective action with João as its owner.
    c.find(Locator::Css("#raise-action summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    type_in(&c, "#title", "Sinalizar a zona de entrega").await;
    let joao_id = app.scope_of("joao").await.user_id().to_string();
    choose(&c, "#owner_id", &joao_id).await;
    c.execute(
        "document.getElementById('due_on').value = '2026-12-31';",
        vec![],
    )
    .await
    .unwrap();
    click_and_wait(&c, "#raise-submit").await;
    let actions = c
        .find(Locator::Css("#audit-actions"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(actions.contains("Sinalizar a zona de entrega"), "{actions}");
    assert!(actions.contains("João Silva"), "{actions}");
    std::fs::write(
        shot_dir().join("standards-audit-pt.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    let _ = std::fs::remove_file(&photo);
}
