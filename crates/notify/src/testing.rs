//! Real counterparts for delivery tests: an SMTP server (Python's aiosmtpd, run from
//! `tools/smtp_sink.py`) that records every message it accepts, and an HTTP endpoint standing in
//! for the SMS provider that records every request. When Python or aiosmtpd is missing the SMTP
//! sink is `None` ("skipped"), and a failure under `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use tokio::io::{AsyncBufReadExt, BufReader};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// One message as the SMTP server received and decoded it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub attachments: Vec<ReceivedAttachment>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct ReceivedAttachment {
    pub filename: String,
    pub content_type: String,
    pub content: String,
    /// Decoded size in bytes and the first bytes (as Latin-1), for binary parts such as PDFs.
    #[serde(default)]
    pub size: usize,
    #[serde(default)]
    pub head: String,
}

pub struct SmtpSink {
    pub port: u16,
    out: PathBuf,
    child: tokio::process::Child,
    _dir: PathBuf,
}

impl SmtpSink {
    /// Starts the server on a free port; `None` (with "skipped: …" printed) when it cannot run here.
    pub async fn start() -> Option<SmtpSink> {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/smtp_sink.py");
        let ok = std::process::Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            if in_ci() {
                panic!("CI=true but python3 with aiosmtpd is missing (python3 -m pip install aiosmtpd)");
            }
            eprintln!("skipped: SMTP delivery test (python3 -m pip install aiosmtpd to run it)");
            return None;
        }
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let dir = std::env::temp_dir().join(format!("smtp-sink-{}", uuid_like()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("mail.jsonl");
        let mut child = tokio::process::Command::new("python3")
            .arg(&script)
            .arg(port.to_string())
            .arg(&out)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start smtp_sink.py");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
            .await
            .expect("smtp sink did not start in 20 s")
            .unwrap();
        assert_eq!(ready.as_deref(), Some("ready"));
        Some(SmtpSink {
            port,
            out,
            child,
            _dir: dir,
        })
    }

    pub fn config(&self) -> crate::SmtpConfig {
        crate::SmtpConfig {
            host: "127.0.0.1".into(),
            port: self.port,
            tls: "none".into(),
            username: None,
            password: None,
            from: "Aftersales Test <service@aftersales.test>".into(),
        }
    }

    /// Every message received so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// One request the SMS endpoint received.
#[derive(Debug, Clone)]
pub struct ReceivedSms {
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
    pub body: serde_json::Value,
}

#[derive(Clone, Default)]
struct SmsState {
    got: Arc<Mutex<Vec<ReceivedSms>>>,
    /// Statuses to answer with, first to last; 202 once used up.
    script: Arc<Mutex<Vec<u16>>>,
}

/// A local HTTP server standing in for the SMS provider, recording what it receives.
pub struct SmsReceiver {
    pub url: String,
    state: SmsState,
    task: tokio::task::JoinHandle<()>,
}

impl SmsReceiver {
    pub async fn start() -> SmsReceiver {
        let state = SmsState::default();
        async fn receive(
            State(s): State<SmsState>,
            headers: HeaderMap,
            Json(body): Json<serde_json::Value>,
        ) -> StatusCode {
            let h = |n: &str| {
                headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            s.got.lock().unwrap().push(ReceivedSms {
                authorization: h("authorization"),
                idempotency_key: h("idempotency-key"),
                body,
            });
            let mut script = s.script.lock().unwrap();
            let code = if script.is_empty() {
                202
            } else {
                script.remove(0)
            };
            StatusCode::from_u16(code).unwrap()
        }
        let app = Router::new()
            .route("/messages", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/messages", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        SmsReceiver { url, state, task }
    }

    pub fn config(&self) -> crate::SmsConfig {
        crate::SmsConfig {
            endpoint: self.url.clone(),
            token: Some("test-token".into()),
            sender: "Aftersales".into(),
        }
    }

    /// The next answers, e.g. `[500, 202]` to fail once.
    pub fn answer_with(&self, codes: &[u16]) {
        *self.state.script.lock().unwrap() = codes.to_vec();
    }

    pub fn received(&self) -> Vec<ReceivedSms> {
        self.state.got.lock().unwrap().clone()
    }
}

impl Drop for SmsReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A real IMAP server for the intake tests: Debian's dovecot, started by the test in its own
/// directory with a self-signed certificate (made by `openssl`), one plain port (which offers
/// STARTTLS) and one implicit-TLS port, and one mailbox per user given. `None` ("skipped: …")
/// when dovecot or openssl is missing, and a failure under `CI=true`.
pub struct ImapServer {
    pub plain_port: u16,
    pub tls_port: u16,
    /// The self-signed certificate (PEM): the trusted authority of the client under test.
    pub ca_file: PathBuf,
    dir: PathBuf,
    child: std::process::Child,
}

fn find_tool(name: &str) -> Option<PathBuf> {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let p = PathBuf::from(dir).join(name);
        if p.exists() {
            return Some(p);
        }
    }
    None
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn id_of(flag: &str) -> String {
    let out = std::process::Command::new("id").arg(flag).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl ImapServer {
    /// Starts dovecot with a mailbox for each `(user, password)`.
    pub async fn start(users: &[(&str, &str)]) -> Option<ImapServer> {
        let (Some(dovecot), Some(openssl)) = (find_tool("dovecot"), find_tool("openssl")) else {
            if in_ci() {
                panic!("CI=true but dovecot or openssl is missing (apt-get install dovecot-imapd openssl)");
            }
            eprintln!(
                "skipped: IMAP intake test (apt-get install dovecot-imapd openssl to run it)"
            );
            return None;
        };
        let dir = std::env::temp_dir().join(format!("imap-{}", uuid_like()));
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        // A certificate authority of the test's own and a server certificate it signed (webpki,
        // rightly, refuses a self-signed CA certificate as the server's own).
        let (ca, cert, key) = (
            dir.join("ca.pem"),
            dir.join("cert.pem"),
            dir.join("key.pem"),
        );
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let d = dir.display().to_string();
        let steps: [Vec<String>; 3] = [
            format!("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=Aftersales-Test-CA -keyout {d}/ca.key -out {}", ca.display()),
            format!("req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost -keyout {} -out {d}/server.csr", key.display()),
            format!("x509 -req -in {d}/server.csr -CA {} -CAkey {d}/ca.key -CAcreateserial -days 2 -extfile {d}/ext.cnf -out {}", ca.display(), cert.display()),
        ]
        .map(|s| s.split(' ').map(str::to_string).collect());
        for args in steps {
            let made = std::process::Command::new(&openssl)
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(made.success(), "openssl {args:?} failed");
        }
        let passwd: String = users
            .iter()
            .map(|(u, p)| format!("{u}:{{PLAIN}}{p}\n"))
            .collect();
        std::fs::write(dir.join("users"), passwd).unwrap();
        // As root, mail belongs to the package's unprivileged `dovecot` user (dovecot refuses
        // uid 0); as anyone else, dovecot runs entirely as that user.
        let root = id_of("-u") == "0";
        let (uid, gid) = if root {
            ("dovecot".to_string(), "dovecot".to_string())
        } else {
            (id_of("-un"), id_of("-gn"))
        };
        if root {
            let _ = std::process::Command::new("chmod")
                .args(["0777"])
                .arg(dir.join("mail"))
                .status();
        }
        let (plain_port, tls_port) = (free_port(), free_port());
        let own_users = if root {
            String::new()
        } else {
            format!("default_internal_user = {uid}\ndefault_login_user = {uid}\n")
        };
        let conf = format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\n{own_users}\
             ssl = yes\nssl_cert = <{}\nssl_key = <{}\n\
             disable_plaintext_auth = no\nauth_mechanisms = plain login\n\
             mail_location = maildir:{d}/mail/%u\nfirst_valid_uid = 1\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={d}/mail/%u\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    port = {plain_port}\n  }}\n  \
             inet_listener imaps {{\n    port = {tls_port}\n    ssl = yes\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\n",
            cert.display(),
            key.display(),
        );
        std::fs::write(dir.join("dovecot.conf"), conf).unwrap();
        let child = std::process::Command::new(dovecot)
            .arg("-F")
            .arg("-c")
            .arg(dir.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dovecot");
        let server = ImapServer {
            plain_port,
            tls_port,
            ca_file: ca,
            dir,
            child,
        };
        for _ in 0..100 {
            let up = tokio::net::TcpStream::connect(("127.0.0.1", plain_port))
                .await
                .is_ok()
                && tokio::net::TcpStream::connect(("127.0.0.1", tls_port))
                    .await
                    .is_ok();
            if up {
                return Some(server);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "dovecot did not listen within 10 s: {}",
            std::fs::read_to_string(server.dir.join("dovecot.log")).unwrap_or_default()
        );
    }

    /// A mailbox's configuration as the product reads it, for `tls` = `tls`, `starttls` or `none`.
    pub fn config(
        &self,
        address: &str,
        user: &str,
        password: &str,
        tls: &str,
    ) -> crate::imap::ImapConfig {
        crate::imap::ImapConfig {
            address: address.into(),
            host: if tls == "none" {
                "127.0.0.1"
            } else {
                "localhost"
            }
            .into(),
            port: if tls == "tls" {
                self.tls_port
            } else {
                self.plain_port
            },
            tls: tls.into(),
            username: user.into(),
            password: password.into(),
            folder: "INBOX".into(),
            ca_file: Some(self.ca_file.clone()),
            poll_seconds: 60,
        }
    }

    /// Puts a mail into a user's INBOX (IMAP APPEND, as a mail delivery agent would file it).
    pub async fn deliver(&self, user: &str, password: &str, raw: &str) {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.plain_port))
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap().unwrap();
        let mut s = client
            .login(user, password)
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        s.append("INBOX", None, None, raw.replace('\n', "\r\n").as_bytes())
            .await
            .unwrap();
        s.logout().await.unwrap();
    }

    /// The UIDs of the mails in a user's INBOX not yet flagged `\Seen`.
    pub async fn unseen(&self, user: &str, password: &str) -> Vec<u32> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.plain_port))
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap().unwrap();
        let mut s = client
            .login(user, password)
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        s.select("INBOX").await.unwrap();
        let mut uids: Vec<u32> = s.uid_search("UNSEEN").await.unwrap().into_iter().collect();
        uids.sort_unstable();
        s.logout().await.unwrap();
        uids
    }
}

impl Drop for ImapServer {
    fn drop(&mut self) {
        // SIGTERM lets dovecot's master stop its children and free the ports.
        let _ = std::process::Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
