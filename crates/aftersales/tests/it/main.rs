//! The binary as an operator uses it: real processes, a real SQLite file, a real HTTP port.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_aftersales");

struct Dir(std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> Dir {
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

fn ok(dir: &Dir, args: &[&str], stdin: Option<&str>) -> String {
    let out = run(dir, args, stdin);
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(dir: &Dir, args: &[&str], stdin: Option<&str>) -> String {
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
    ] {
        let out = ok(&dir, &args, None);
        assert!(out.contains("Usage:"), "{args:?}: {out}");
    }
    let err = fails(&dir, &["teleport"], None);
    assert!(err.contains("unrecognized subcommand"), "{err}");
}
