//! Delivery of the outbox (capability notify): e-mail over SMTP and SMS through a provider's
//! HTTP API. Workers claim due messages from the store, send them, and record the outcome;
//! failures are retried with backoff and end as dead letters an administrator can retry.
//! Idempotency: an e-mail's Message-ID and an SMS's `Idempotency-Key` are the outbox id, so a
//! provider that saw a message before can drop the repeat.

pub mod imap;

use std::time::Duration;

use aftersales_domain::clock::Clock;
use aftersales_domain::notify::MessageChannel;
use aftersales_store::notify::OutboxJob;
use aftersales_store::{Store, StoreError};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

/// How to reach the SMTP server.
#[derive(Debug, Clone, Deserialize)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// `none` (plain, for a relay on the same host), `starttls` or `tls`.
    #[serde(default = "default_tls")]
    pub tls: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, e.g. `Tesla Service <service@example.com>`.
    pub from: String,
}

fn default_smtp_port() -> u16 {
    587
}
fn default_tls() -> String {
    "starttls".into()
}

/// The SMS provider's HTTP API: a JSON POST of `{"to", "from", "text", "reference"}` with a
/// bearer token, answered 2xx when accepted. Most providers take this shape or a thin mapping.
#[derive(Debug, Clone, Deserialize)]
pub struct SmsConfig {
    pub endpoint: String,
    pub token: Option<String>,
    /// Sender name or number shown on the phone.
    pub sender: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth retrying: network trouble, the provider busy or down.
    #[error("{0}")]
    Transient(String),
    /// The message itself was refused (bad address, rejected content): retrying will not help.
    #[error("{0}")]
    Permanent(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("smtp: {0}")]
    Smtp(String),
    #[error("sms: {0}")]
    Sms(String),
    #[error("imap {0}")]
    Imap(String),
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(c: &SmtpConfig) -> Result<Mailer, ConfigError> {
        let from: Mailbox = c
            .from
            .parse()
            .map_err(|e| ConfigError::Smtp(format!("from {:?}: {e}", c.from)))?;
        let builder = match c.tls.as_str() {
            "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host),
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.host)
                .map_err(|e| ConfigError::Smtp(e.to_string()))?,
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&c.host)
                .map_err(|e| ConfigError::Smtp(e.to_string()))?,
            other => {
                return Err(ConfigError::Smtp(format!(
                    "tls must be none, starttls or tls, not {other}"
                )))
            }
        };
        let mut builder = builder.port(c.port).timeout(Some(Duration::from_secs(20)));
        if let (Some(u), Some(p)) = (&c.username, &c.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    pub async fn send(&self, job: &OutboxJob) -> Result<(), SendError> {
        let to: Mailbox = job
            .recipient
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient {:?}: {e}", job.recipient)))?;
        let domain = self.from.email.domain().to_string();
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(job.body.clone());
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(job.subject.clone())
            .message_id(Some(format!("<{}@{domain}>", job.id)));
        let message = match (&job.attachment_name, &job.attachment) {
            (Some(name), Some(content)) => {
                let ct = if name.ends_with(".pdf") {
                    ContentType::parse("application/pdf")
                } else {
                    ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
                }
                .map_err(|e| SendError::Permanent(e.to_string()))?;
                builder.multipart(
                    MultiPart::mixed()
                        .singlepart(text)
                        .singlepart(Attachment::new(name.clone()).body(content.clone(), ct)),
                )
            }
            _ => builder.singlepart(text),
        }
        .map_err(|e| SendError::Permanent(format!("building the message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}

pub struct SmsGateway {
    client: reqwest::Client,
    config: SmsConfig,
}

impl SmsGateway {
    pub fn new(c: &SmsConfig) -> Result<SmsGateway, ConfigError> {
        if !(c.endpoint.starts_with("http://") || c.endpoint.starts_with("https://")) {
            return Err(ConfigError::Sms(format!(
                "endpoint {:?} must be an http(s) URL",
                c.endpoint
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| ConfigError::Sms(e.to_string()))?;
        Ok(SmsGateway {
            client,
            config: c.clone(),
        })
    }

    pub async fn send(&self, job: &OutboxJob) -> Result<(), SendError> {
        let mut req = self
            .client
            .post(&self.config.endpoint)
            .header("Idempotency-Key", &job.id)
            .json(&serde_json::json!({
                "to": job.recipient,
                "from": self.config.sender,
                "text": job.body,
                "reference": job.id,
            }));
        if let Some(t) = &self.config.token {
            req = req.bearer_auth(t);
        }
        let res = req
            .send()
            .await
            .map_err(|e| SendError::Transient(format!("sms provider unreachable: {e}")))?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        let body: String = res
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect();
        let msg = format!("sms provider answered {status}: {body}");
        if status.as_u16() == 429 || status.is_server_error() || status.as_u16() == 408 {
            Err(SendError::Transient(msg))
        } else {
            Err(SendError::Permanent(msg))
        }
    }
}

/// The channels this installation can deliver; a channel without a transport keeps its
/// messages waiting (they are not failed for lack of configuration).
#[derive(Default)]
pub struct Transports {
    pub mail: Option<Mailer>,
    pub sms: Option<SmsGateway>,
}

impl Transports {
    pub fn channels(&self) -> Vec<MessageChannel> {
        let mut v = Vec::new();
        if self.mail.is_some() {
            v.push(MessageChannel::Email);
        }
        if self.sms.is_some() {
            v.push(MessageChannel::Sms);
        }
        v
    }
}

/// What one delivery round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub retried: usize,
    pub dead: usize,
}

/// Delivers every due message once: the worker loop calls this every few seconds; tests call it
/// with a controlled clock. Messages are claimed ten at a time, each claim leased from the
/// clock's time then, so a slow round never outlives its leases.
pub async fn deliver_due(
    store: &Store,
    t: &Transports,
    clock: &dyn Clock,
) -> Result<Round, StoreError> {
    let mut round = Round::default();
    loop {
        let jobs = store
            .cli()
            .claim_outbox(&t.channels(), clock.now(), 10)
            .await?;
        if jobs.is_empty() {
            return Ok(round);
        }
        for job in jobs {
            let outcome = match (job.channel, &t.mail, &t.sms) {
                (MessageChannel::Email, Some(m), _) => m.send(&job).await,
                (MessageChannel::Sms, _, Some(s)) => s.send(&job).await,
                _ => Err(SendError::Transient("no transport configured".into())),
            };
            match outcome {
                Ok(()) => {
                    store.cli().outbox_sent(&job.id, clock.now()).await?;
                    round.sent += 1;
                }
                Err(e) => {
                    let permanent = matches!(e, SendError::Permanent(_));
                    tracing::warn!(outbox = %job.id, channel = job.channel.as_str(), error = %e, "delivery failed");
                    if store
                        .cli()
                        .outbox_failed(&job.id, &e.to_string(), permanent, clock.now())
                        .await?
                    {
                        round.dead += 1;
                    } else {
                        round.retried += 1;
                    }
                }
            }
        }
    }
}

#[cfg(feature = "test-support")]
pub mod testing;
