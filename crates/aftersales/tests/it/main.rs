//! The binary as an operator uses it: real processes, a real SQLite file, a real HTTP port.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod billing;

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_aftersales");

pub(crate) struct Dir(pub(crate) std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn temp_dir(name: &str) -> Dir {
    let d = std::env::temp_dir().join(format!("aftersales-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Dir(d)
}

fn run(dir: &Dir, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(&dir.0)
        .env(
            "AFTERSALES_DATABASE_URL",
            format!("sqlite://{}/aftersales.db", dir.0.display()),
        )
        .env_remove("AFTERSALES_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

pub(crate) fn ok(dir: &Dir, args: &[&str], stdin: Option<&str>) -> String {
    let out = run(dir, args, stdin);
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn fails(dir: &Dir, args: &[&str], stdin: Option<&str>) -> String {
    let out = run(dir, args, stdin);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn http_get(port: u16, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn a_new_installation_is_bootstrapped_from_the_command_line() {
    let dir = temp_dir("boot");
    // Serving a database that does not exist is refused, and leaves no file behind.
    let err = fails(&dir, &["serve"], None);
    assert!(
        err.contains("does not exist") && err.contains("aftersales migrate"),
        "{err}"
    );
    assert!(!dir.0.join("aftersales.db").exists());
    // So is any other command, a dry-run import included.
    for args in [
        &["org", "list"][..],
        &["brand", "add", "POLESTAR", "--name", "Polestar"][..],
        &[
            "import",
            "customers",
            "--org",
            "X",
            "--dry-run",
            "nothing.csv",
        ][..],
    ] {
        let err = fails(&dir, args, None);
        assert!(err.contains("does not exist"), "{args:?}: {err}");
        assert!(!dir.0.join("aftersales.db").exists(), "{args:?}");
    }

    assert!(ok(&dir, &["migrate"], None).contains("applied"));
    assert!(ok(&dir, &["migrate"], None).contains("up to date"));
    ok(
        &dir,
        &["brand", "add", "POLESTAR", "--name", "Polestar"],
        None,
    );
    ok(
        &dir,
        &[
            "market",
            "add",
            "PT",
            "--name",
            "Portugal",
            "--currency",
            "EUR",
            "--time-zone",
            "Europe/Lisbon",
            "--languages",
            "pt,en",
            "--vat-regime",
            "PT-IVA",
        ],
        None,
    );
    ok(
        &dir,
        &[
            "org",
            "add",
            "Polestar HQ",
            "--kind",
            "brand-hq",
            "--brand",
            "POLESTAR",
        ],
        None,
    );
    ok(
        &dir,
        &[
            "org",
            "add",
            "Polestar Portugal",
            "--kind",
            "market-entity",
            "--parent",
            "Polestar HQ",
            "--market",
            "PT",
        ],
        None,
    );
    ok(
        &dir,
        &[
            "org",
            "add",
            "Service Point Faro",
            "--kind",
            "service-point",
            "--parent",
            "Polestar Portugal",
            "--city",
            "Faro",
        ],
        None,
    );
    let err = fails(
        &dir,
        &["org", "add", "Orphan Point", "--kind", "service-point"],
        None,
    );
    assert!(err.contains("parent (required)"), "{err}");
    let err = fails(
        &dir,
        &[
            "market",
            "add",
            "PRT",
            "--name",
            "x",
            "--currency",
            "euro",
            "--time-zone",
            "Lisbon",
            "--languages",
            "pt",
            "--vat-regime",
            "x",
        ],
        None,
    );
    assert!(
        err.contains("code (format)")
            && err.contains("currency (format)")
            && err.contains("time_zone (format)"),
        "{err}"
    );

    let out = ok(
        &dir,
        &[
            "user",
            "add",
            "ines",
            "--name",
            "Inês Rocha",
            "--org",
            "Polestar Portugal",
            "--role",
            "administrator",
            "--language",
            "pt",
        ],
        Some("uma palavra-passe longa\n"),
    );
    assert!(out.contains("Created ines"), "{out}");
    let err = fails(
        &dir,
        &[
            "user",
            "add",
            "tiago",
            "--name",
            "Tiago",
            "--org",
            "Service Point Faro",
            "--role",
            "importer-staff",
        ],
        Some("uma palavra-passe longa\n"),
    );
    assert!(
        err.contains("role (not-allowed)"),
        "an importer's role does not fit a service point: {err}"
    );
    let err = fails(
        &dir,
        &[
            "user",
            "add",
            "rita",
            "--name",
            "Rita",
            "--org",
            "Service Point Faro",
            "--role",
            "technician",
        ],
        Some("short\n"),
    );
    assert!(err.contains("password (too-short)"), "{err}");
    let list = ok(&dir, &["user", "list"], None);
    assert!(
        list.contains("ines")
            && list.contains("administrator@Polestar Portugal")
            && !list.contains("tiago"),
        "{list}"
    );

    // The new administrator can sign in to the served product.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
        ])
        .env(
            "AFTERSALES_DATABASE_URL",
            format!("sqlite://{}/aftersales.db", dir.0.display()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(up, "the server did not start");
    let health = http_get(port, "/health");
    assert!(
        health.starts_with("HTTP/1.1 200") && health.contains("\"database\":\"ok\""),
        "{health}"
    );
    let login = http_get(port, "/login");
    assert!(login.contains("<h1>Sign in</h1>"));
    server.kill().unwrap();
    let out = server.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&out.stderr);
    let line = logs
        .lines()
        .find(|l| l.contains("\"/health\""))
        .unwrap_or_else(|| panic!("no request log: {logs}"));
    let json: serde_json::Value = serde_json::from_str(line).unwrap();
    assert!(
        json["request_id"].as_str().is_some_and(|id| id.len() >= 32)
            || json["span"]["request_id"].is_string(),
        "{line}"
    );
}

#[test]
fn demo_backup_and_account_administration() {
    let dir = temp_dir("demo");
    let out = ok(&dir, &["demo", "--no-serve"], None);
    assert!(
        out.contains("Demo logins (password for all: aftersales-demo)"),
        "{out}"
    );
    for who in [
        "ingrid", "kari", "ole", "mats", "ana", "rui", "joao", "emily", "johan", "admin",
    ] {
        assert!(out.contains(who), "{who} missing from the demo logins");
    }
    // A second run resets the demo rather than failing on existing data.
    ok(&dir, &["demo", "--no-serve"], None);
    ok(&dir, &["user", "disable", "lars"], None);
    assert!(ok(&dir, &["user", "list"], None)
        .lines()
        .any(|l| l.starts_with("lars") && l.contains("disabled")));
    ok(&dir, &["user", "enable", "lars"], None);
    ok(
        &dir,
        &["user", "passwd", "lars"],
        Some("a fresh long password\n"),
    );
    ok(
        &dir,
        &[
            "user",
            "grant",
            "ole",
            "--org",
            "Polestar Service Point Braga",
            "--role",
            "technician",
        ],
        None,
    );
    let err = fails(&dir, &["user", "disable", "nobody"], None);
    assert!(err.contains("username (unknown)"), "{err}");

    let backup = dir.0.join("backup.db");
    let out = ok(&dir, &["backup", "--to", backup.to_str().unwrap()], None);
    assert!(out.contains("Backup written"), "{out}");
    assert!(std::fs::metadata(&backup).unwrap().len() > 10_000);
    let err = fails(&dir, &["backup", "--to", backup.to_str().unwrap()], None);
    assert!(err.contains("exists already"), "{err}");
    let restored = Command::new(BIN)
        .args([
            "user",
            "list",
            "--database-url",
            &format!("sqlite://{}", backup.display()),
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&restored.stdout).contains("ingrid"));

    let pg = Command::new(BIN)
        .args([
            "backup",
            "--to",
            "x.dump",
            "--database-url",
            "postgres://app:secret@db.example/aftersales",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&pg.stdout);
    assert!(
        text.contains("pg_dump --format=custom") && !text.contains("secret"),
        "{text}"
    );
}

#[test]
fn every_command_has_help() {
    let dir = temp_dir("help");
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["demo", "--help"],
        vec!["user", "--help"],
        vec!["user", "add", "--help"],
        vec!["user", "passwd", "--help"],
        vec!["user", "disable", "--help"],
        vec!["backup", "--help"],
        vec!["brand", "add", "--help"],
        vec!["market", "add", "--help"],
        vec!["org", "add", "--help"],
        vec!["export", "saft-pt", "--help"],
    ] {
        let out = ok(&dir, &args, None);
        assert!(out.contains("Usage:"), "{args:?}: {out}");
    }
    let err = fails(&dir, &["teleport"], None);
    assert!(err.contains("unrecognized subcommand"), "{err}");
}

fn count(dir: &Dir, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.0.join("aftersales.db")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn csv_import_of_100000_customers_reports_bad_rows_and_lands_the_rest() {
    let dir = temp_dir("import");
    ok(&dir, &["demo", "--no-serve"], None);
    let before = count(&dir, "SELECT COUNT(*) FROM customers");
    let mut csv = String::from("kind,name,org_number,nif,email,phone,language,preferred_channel,street,postal_code,city,country,latitude,longitude\n");
    let mut expected_bad = Vec::new();
    for i in 0..100_000u32 {
        let row = i as usize + 2;
        let (mut phone, mut email, mut lat) = (
            format!("{}", 40_000_000 + i),
            format!("c{i}@example.no"),
            "63.43".to_string(),
        );
        match i % 10_000 {
            7 => {
                phone = "12".into();
                expected_bad.push((row, "phone", "format"));
            }
            13 => {
                email = "broken@".into();
                expected_bad.push((row, "email", "format"));
            }
            21 => {
                phone = format!("{}", 40_000_000 + i - 1);
                expected_bad.push((row, "phone", "unique"));
            }
            33 => {
                lat = "north".into();
                expected_bad.push((row, "latitude", "type"));
            }
            _ => {}
        }
        csv.push_str(&format!("person,Kunde {i},,,{email},{phone},nb,sms,Fjordgata {},7010,Trondheim,NO,{lat},10.39\n", i % 300));
    }
    std::fs::write(dir.0.join("customers.csv"), csv).unwrap();
    let errors = dir.0.join("errors.csv");
    let args = [
        "import",
        "customers",
        "customers.csv",
        "--org",
        "Tesla Norway AS",
        "--errors",
        errors.to_str().unwrap(),
    ];

    // A dry run checks everything and writes nothing.
    let out = run(&dir, &[&args[..], &["--dry-run"]].concat(), None);
    assert!(
        !out.status.success(),
        "rejected rows make the exit status non-zero"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "100000 rows read, 99960 would be imported (dry run, nothing written), 40 rejected."
        ),
        "{text}"
    );
    assert_eq!(count(&dir, "SELECT COUNT(*) FROM customers"), before);

    let out = run(&dir, &args, None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("100000 rows read, 99960 imported, 40 rejected."),
        "{text}"
    );
    assert_eq!(
        count(&dir, "SELECT COUNT(*) FROM customers"),
        before + 99_960
    );
    assert_eq!(
        count(
            &dir,
            "SELECT COUNT(*) FROM crm_search WHERE entity_kind = 'customer'"
        ),
        before + 99_960
    );
    let report = std::fs::read_to_string(&errors).unwrap();
    let mut got: Vec<(usize, String, String)> = report
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.splitn(4, ',');
            (
                f.next().unwrap().parse().unwrap(),
                f.next().unwrap().to_string(),
                f.next().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(usize, String, String)> = expected_bad
        .iter()
        .map(|(r, f, k)| (*r, f.to_string(), k.to_string()))
        .collect();
    want.sort();
    assert_eq!(
        got, want,
        "the error report names each bad row, field and rule"
    );

    // Importing the same file again lands nothing twice: every row is now a duplicate or invalid.
    let out = run(&dir, &args, None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("100000 rows read, 0 imported, 100000 rejected."),
        "{text}"
    );
    assert_eq!(
        count(&dir, "SELECT COUNT(*) FROM customers"),
        before + 99_960
    );
}

#[test]
fn csv_import_of_vehicles_links_owners() {
    let dir = temp_dir("import-vehicles");
    ok(&dir, &["demo", "--no-serve"], None);
    std::fs::write(
        dir.0.join("customers.csv"),
        "kind,name,email,phone,language,preferred_channel,country\nperson,Ana Lima,ana.lima@example.pt,912000999,pt,sms,PT\n",
    )
    .unwrap();
    ok(
        &dir,
        &[
            "import",
            "customers",
            "customers.csv",
            "--org",
            "Polestar Portugal",
        ],
        None,
    );
    std::fs::write(
        dir.0.join("vehicles.csv"),
        "vin,registration,delivery_date,warranty_version,owner_email,owner_phone\n\
         LPSED3KA9NL123456,AA-00-AA,2022-05-02,polestar-eu-2020,ana.lima@example.pt,\n\
         LPSED3KA1NL075645,,2022-01-10,,,912 000 999\n\
         LPSED3KA2NL075645,,,,,\n\
         LPSED3KA9NL123456,,,,,\n\
         7SYEJ3YB5SG028826,,31/12/2025,,nobody@example.pt,\n\
         XP7YGCEL9RB123456,,2024-01-01,polestar-eu-1999,,\n",
    )
    .unwrap();
    let owned_before = count(&dir, "SELECT COUNT(*) FROM vehicle_ownerships");
    let polestar2_before = count(
        &dir,
        "SELECT COUNT(*) FROM vehicles WHERE model = 'Polestar 2' AND model_year = 2022",
    );
    let out = run(
        &dir,
        &[
            "import",
            "vehicles",
            "vehicles.csv",
            "--org",
            "Polestar Portugal",
        ],
        None,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("6 rows read, 2 imported, 4 rejected."),
        "{text}"
    );
    assert!(text.contains("vin                  check-digit"), "{text}");
    assert!(text.contains("vin                  unique"), "{text}");
    assert!(
        text.contains("delivery_date        format")
            && text.contains("owner_email          unknown")
            && text.contains("warranty_version     unknown"),
        "{text}"
    );
    // Without a terms version the model and delivery day pick it, as for a car added by hand.
    assert_eq!(
        count(
            &dir,
            "SELECT COUNT(*) FROM vehicles WHERE vin = 'LPSED3KA1NL075645' AND warranty_version = 'polestar-eu-2020'"
        ),
        1
    );
    assert_eq!(
        count(&dir, "SELECT COUNT(*) FROM vehicle_ownerships"),
        owned_before + 2
    );
    assert_eq!(
        count(
            &dir,
            "SELECT COUNT(*) FROM vehicles WHERE model = 'Polestar 2' AND model_year = 2022"
        ),
        polestar2_before + 2
    );
}
