//! Intake from a mailbox: the server polls each configured IMAP mailbox, turns every unseen mail
//! into an `InboundEmail` and hands it to the store, which threads it into its case or opens one
//! (the same rules as mail from a gateway through the API). A mail is flagged `\Seen` only after
//! the store took it, or refused it for good; a crash in between fetches it again, and the
//! store's once-only rule (by Message-ID) drops the repeat. Mails stay in the mailbox.

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aftersales_domain::clock::Clock;
use aftersales_store::cases::intake::InboundEmail;
use aftersales_store::{Store, StoreError};
use async_imap::Client;
use futures_util::TryStreamExt;
use mail_parser::MessageParser;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

/// One inbox's mailbox: `[[imap]]` in the configuration file, one table per inbox address.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    /// The inbox address this mailbox receives, as registered in the organisation's inbox
    /// settings: it decides the inbox, whatever alias a mail was sent to.
    pub address: String,
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    /// `tls` (implicit TLS, port 993), `starttls` (port 143) or `none` (plain text, only for a
    /// server on the same host).
    #[serde(default = "default_tls")]
    pub tls: String,
    pub username: String,
    pub password: String,
    #[serde(default = "default_folder")]
    pub folder: String,
    /// A PEM file of the certificate authority to trust instead of the system's (a private CA).
    pub ca_file: Option<PathBuf>,
    /// Seconds between two polls.
    #[serde(default = "default_poll_seconds")]
    pub poll_seconds: u64,
}

fn default_port() -> u16 {
    993
}
fn default_tls() -> String {
    "tls".into()
}
fn default_folder() -> String {
    "INBOX".into()
}
fn default_poll_seconds() -> u64 {
    60
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// New cases opened.
    pub created: usize,
    /// Mails added to the case they answer.
    pub threaded: usize,
    /// Mails taken before (same Message-ID).
    pub duplicate: usize,
    /// Mails the store refused for good (no sender address, no text): left in the mailbox, seen.
    pub refused: usize,
    /// Automatic replies (out of office, delivery reports: `Auto-Submitted`): left in the
    /// mailbox, seen, no case.
    pub automatic: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The server could not be reached, refused the login or answered out of turn: the next poll
    /// tries again, nothing was lost.
    #[error("imap {address}: {message}")]
    Imap { address: String, message: String },
    /// The database failed: the mail stays unseen and is fetched again.
    #[error("imap {address}: {source}")]
    Store { address: String, source: StoreError },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    Tls,
    StartTls,
    Plain,
}

/// A configured mailbox, ready to poll.
pub struct Mailbox {
    cfg: ImapConfig,
    security: Security,
    tls: tokio_rustls::TlsConnector,
}

impl Mailbox {
    /// Checks the configuration once, at start-up: the TLS mode and the trusted authorities.
    pub fn new(cfg: &ImapConfig) -> Result<Mailbox, crate::ConfigError> {
        let err = |m: String| crate::ConfigError::Imap(format!("{}: {m}", cfg.address));
        let security = match cfg.tls.as_str() {
            "tls" => Security::Tls,
            "starttls" => Security::StartTls,
            "none" => Security::Plain,
            other => {
                return Err(err(format!(
                    "tls {other:?} must be one of tls, starttls, none"
                )))
            }
        };
        if cfg.address.trim().is_empty() || !cfg.address.contains('@') {
            return Err(err("address must be the inbox's mail address".into()));
        }
        let mut roots = rustls::RootCertStore::empty();
        match &cfg.ca_file {
            Some(path) => {
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                    .and_then(|it| it.collect::<Result<_, _>>())
                    .map_err(|e| err(format!("ca_file {}: {e}", path.display())))?;
                if certs.is_empty() {
                    return Err(err(format!(
                        "ca_file {} holds no certificate",
                        path.display()
                    )));
                }
                for c in certs {
                    roots
                        .add(c)
                        .map_err(|e| err(format!("ca_file {}: {e}", path.display())))?;
                }
            }
            None => {
                let native = rustls_native_certs::load_native_certs();
                for c in native.certs {
                    // A broken certificate in the system store is skipped, as browsers do.
                    let _ = roots.add(c);
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| err(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Mailbox {
            cfg: cfg.clone(),
            security,
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }

    pub fn address(&self) -> &str {
        &self.cfg.address
    }

    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.cfg.poll_seconds.max(5))
    }

    fn imap_error(&self, message: impl std::fmt::Display) -> PollError {
        PollError::Imap {
            address: self.cfg.address.clone(),
            message: message.to_string(),
        }
    }

    /// Connects, takes in every unseen mail of the folder, and logs out; a server that stops
    /// answering ends the poll after five minutes (the next poll tries again).
    pub async fn poll(&self, store: &Store, clock: &dyn Clock) -> Result<PollReport, PollError> {
        // The mailbox's own address must be an inbox's: else every mail would be refused.
        if let Err(source) = store.cli().inbox_of_address(&self.cfg.address).await {
            return Err(PollError::Store {
                address: self.cfg.address.clone(),
                source,
            });
        }
        tokio::time::timeout(Duration::from_secs(300), self.poll_once(store, clock))
            .await
            .map_err(|_| self.imap_error("no answer within 5 minutes"))?
    }

    async fn poll_once(&self, store: &Store, clock: &dyn Clock) -> Result<PollReport, PollError> {
        let limit = Duration::from_secs(30);
        let tcp = tokio::time::timeout(
            limit,
            TcpStream::connect((self.cfg.host.as_str(), self.cfg.port)),
        )
        .await
        .map_err(|_| self.imap_error("no connection within 30 s"))?
        .map_err(|e| self.imap_error(format!("connect: {e}")))?;
        let name = ServerName::try_from(self.cfg.host.clone())
            .map_err(|e| self.imap_error(format!("host: {e}")))?;
        match self.security {
            Security::Plain => {
                let mut client = Client::new(tcp);
                self.greeting(&mut client).await?;
                self.session(client, store, clock).await
            }
            Security::Tls => {
                let tls = self
                    .tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| self.imap_error(format!("TLS: {e}")))?;
                let mut client = Client::new(tls);
                self.greeting(&mut client).await?;
                self.session(client, store, clock).await
            }
            Security::StartTls => {
                let mut client = Client::new(tcp);
                self.greeting(&mut client).await?;
                client
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(|e| self.imap_error(format!("STARTTLS: {e}")))?;
                let tls = self
                    .tls
                    .connect(name, client.into_inner())
                    .await
                    .map_err(|e| self.imap_error(format!("TLS: {e}")))?;
                // No greeting after STARTTLS (RFC 3501 6.2.1).
                self.session(Client::new(tls), store, clock).await
            }
        }
    }

    async fn greeting<T>(&self, client: &mut Client<T>) -> Result<(), PollError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
    {
        match client.read_response().await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(self.imap_error("the server closed before its greeting")),
            Err(e) => Err(self.imap_error(format!("greeting: {e}"))),
        }
    }

    async fn session<T>(
        &self,
        client: Client<T>,
        store: &Store,
        clock: &dyn Clock,
    ) -> Result<PollReport, PollError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
    {
        let mut s = client
            .login(&self.cfg.username, &self.cfg.password)
            .await
            .map_err(|(e, _)| self.imap_error(format!("login as {}: {e}", self.cfg.username)))?;
        let folder = s
            .select(&self.cfg.folder)
            .await
            .map_err(|e| self.imap_error(format!("select {}: {e}", self.cfg.folder)))?;
        let validity = folder.uid_validity.unwrap_or(0);
        let mut uids: Vec<u32> = s
            .uid_search("UNSEEN")
            .await
            .map_err(|e| self.imap_error(format!("search: {e}")))?
            .into_iter()
            .collect();
        uids.sort_unstable();
        let mut report = PollReport::default();
        for uid in uids {
            let fetched: Vec<_> = s
                .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                .await
                .map_err(|e| self.imap_error(format!("fetch {uid}: {e}")))?
                .try_collect()
                .await
                .map_err(|e| self.imap_error(format!("fetch {uid}: {e}")))?;
            let Some(raw) = fetched.iter().find_map(|f| f.body()) else {
                // Expunged by another client since the search: nothing to take.
                continue;
            };
            let taken = match inbound(raw, &self.cfg.address, &self.cfg.host, validity, uid) {
                Inbound::Automatic => {
                    report.automatic += 1;
                    Ok(None)
                }
                Inbound::Mail(mail) => store
                    .cli()
                    .receive_mailbox_email(&mail, clock.now())
                    .await
                    .map(Some),
            };
            match taken {
                Ok(None) => {}
                Ok(Some(r)) => match r.outcome.as_str() {
                    "created" => report.created += 1,
                    "threaded" => report.threaded += 1,
                    _ => report.duplicate += 1,
                },
                Err(StoreError::Invalid(e)) => {
                    tracing::warn!(mailbox = %self.cfg.address, uid, error = %e,
                        "a mail could not be taken into the inbox; it stays in the mailbox, marked seen");
                    report.refused += 1;
                }
                Err(source) => {
                    return Err(PollError::Store {
                        address: self.cfg.address.clone(),
                        source,
                    })
                }
            }
            let _: Vec<_> = s
                .uid_store(uid.to_string(), "+FLAGS (\\Seen)")
                .await
                .map_err(|e| self.imap_error(format!("flag {uid}: {e}")))?
                .try_collect()
                .await
                .map_err(|e| self.imap_error(format!("flag {uid}: {e}")))?;
        }
        if let Err(e) = s.logout().await {
            tracing::debug!(mailbox = %self.cfg.address, error = %e, "logout");
        }
        Ok(report)
    }
}

/// What a fetched mail is to the inbox.
#[derive(Debug, Clone)]
pub enum Inbound {
    Mail(InboundEmail),
    /// An automatic reply (`Auto-Submitted` other than `no`): no case is opened for it.
    Automatic,
}

/// The longest text and Message-ID the store takes; longer ones are cut or replaced.
const MAX_TEXT: usize = 100_000;
const MAX_ID: usize = 500;

/// A raw mail (RFC 5322, any MIME structure and charset) as the store takes it in. The mailbox's
/// address is the recipient; a mail without a usable Message-ID gets one from the mailbox, its
/// UID validity and UID, so it too is taken once; a very long text (a long quoted thread) is cut.
pub fn inbound(raw: &[u8], mailbox: &str, host: &str, validity: u32, uid: u32) -> Inbound {
    let parsed = MessageParser::default().parse(raw);
    let Some(m) = parsed else {
        return Inbound::Mail(InboundEmail {
            from: String::new(),
            to: mailbox.to_string(),
            subject: String::new(),
            text: String::new(),
            message_id: format!("imap-{validity}-{uid}-{mailbox}-{host}"),
            in_reply_to: None,
        });
    };
    let automatic = m
        .header("Auto-Submitted")
        .and_then(|h| h.as_text())
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"));
    if automatic {
        return Inbound::Automatic;
    }
    let from = m
        .from()
        .or_else(|| m.sender())
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_string();
    let subject = m.subject().unwrap_or_default().trim().to_string();
    let mut text = m
        .body_text(0)
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    if text.is_empty() {
        // A mail that says it all in the subject line still reaches the inbox.
        text.clone_from(&subject);
    }
    if text.chars().count() > MAX_TEXT {
        text = text.chars().take(MAX_TEXT).collect();
    }
    let message_id = m
        .message_id()
        .filter(|id| id.len() >= 3 && id.len() <= MAX_ID)
        .map(str::to_string)
        .unwrap_or_else(|| format!("imap-{validity}-{uid}-{mailbox}-{host}"));
    let in_reply_to = m
        .in_reply_to()
        .as_text_list()
        .and_then(|l| l.first().map(|s| s.to_string()));
    Inbound::Mail(InboundEmail {
        from,
        to: mailbox.to_string(),
        subject,
        text,
        message_id,
        in_reply_to,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    #[test]
    fn a_mime_mail_in_latin1_becomes_an_inbound_email() {
        let raw = b"From: =?ISO-8859-1?Q?Jo=E3o_Sousa?= <joao@example.pt>\r\n\
To: alias@polestar.example\r\n\
Subject: =?ISO-8859-1?Q?Ru=EDdo_na_suspens=E3o?=\r\n\
Message-ID: <abc.1@example.pt>\r\n\
In-Reply-To: <0193-out@aftersales.test>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"b\"\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain; charset=ISO-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
O carro faz um ru=EDdo.\r\n\
--b\r\n\
Content-Type: text/html; charset=ISO-8859-1\r\n\
\r\n\
<p>O carro faz um ru&iacute;do.</p>\r\n\
--b--\r\n";
        let super::Inbound::Mail(m) =
            super::inbound(raw, "lisboa@polestar.example", "imap.example", 7, 42)
        else {
            panic!("a customer's mail")
        };
        assert_eq!(m.from, "joao@example.pt");
        assert_eq!(m.to, "lisboa@polestar.example");
        assert_eq!(m.subject, "Ruído na suspensão");
        assert_eq!(m.text, "O carro faz um ruído.");
        assert_eq!(m.message_id, "abc.1@example.pt");
        assert_eq!(m.in_reply_to.as_deref(), Some("0193-out@aftersales.test"));
    }

    #[test]
    fn a_mail_without_id_or_text_gets_both_from_the_mailbox_and_subject() {
        let raw = b"From: kari@example.no\r\nSubject: Ring meg\r\n\r\n";
        let super::Inbound::Mail(m) =
            super::inbound(raw, "trd@tesla.example", "imap.example", 7, 42)
        else {
            panic!("a customer's mail")
        };
        assert_eq!(m.text, "Ring meg");
        assert_eq!(m.message_id, "imap-7-42-trd@tesla.example-imap.example");
        assert_eq!(m.in_reply_to, None);
    }

    #[test]
    fn an_out_of_office_reply_opens_no_case() {
        let raw = "From: kari@example.no\r\nAuto-Submitted: auto-replied\r\nSubject: Fravær\r\n\r\nJeg er på ferie.\r\n";
        assert!(matches!(
            super::inbound(raw.as_bytes(), "trd@tesla.example", "imap.example", 7, 43),
            super::Inbound::Automatic
        ));
    }
}
