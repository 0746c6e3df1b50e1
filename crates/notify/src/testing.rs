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
