//! Settings: defaults, then the TOML config file, then environment variables, then flags.

use std::net::SocketAddr;
use std::path::Path;

use aftersales_store::auth::LoginPolicy;
use anyhow::Context;
use serde::Deserialize;

use crate::{GlobalArgs, ServeArgs};

/// The config file; every key is optional. See README "Configuration".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub migrate_on_start: Option<bool>,
    pub trust_forwarded_for: Option<bool>,
    pub log_format: Option<String>,
    pub log_level: Option<String>,
    pub session_ttl_hours: Option<i64>,
    pub login_max_failures_per_user: Option<i64>,
    pub login_max_failures_per_ip: Option<i64>,
    pub login_window_minutes: Option<i64>,
    /// Outgoing e-mail to customers; without it, e-mails wait in the outbox.
    pub smtp: Option<aftersales_notify::SmtpConfig>,
    /// The SMS provider's HTTP API; without it, SMS wait in the outbox.
    pub sms: Option<aftersales_notify::SmsConfig>,
    /// Billing: the Portuguese signing key and the software producer's NIF.
    pub billing: Option<BillingConfig>,
    /// Mailboxes polled for customer mail (`[[imap]]`, one per inbox address).
    #[serde(default)]
    pub imap: Vec<aftersales_notify::imap::ImapConfig>,
    /// A routing service for logistics driving times; without it, the built-in travel model.
    pub routing: Option<RoutingConfig>,
    /// Map tiles under the dispatch map.
    pub logistics: Option<LogisticsConfig>,
}

/// `[logistics]` in the config file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogisticsConfig {
    /// A tile server's address with `{z}`, `{x}`, `{y}`, such as `https://tile.openstreetmap.org/{z}/{x}/{y}.png`.
    pub tile_url: Option<String>,
    /// The attribution the tile provider asks for, shown under the map.
    pub tile_attribution: Option<String>,
}

/// `[routing]` in the config file: a server with an OSRM-compatible table API.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// The service's address, such as `http://osrm.internal:5000`.
    pub table_url: String,
    /// How long one request may take before the day is planned with the built-in model (default 3000).
    pub timeout_ms: Option<u64>,
}

/// `[billing]` in the config file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingConfig {
    /// PEM file with the producer's RSA private key that signs Portuguese documents (never in the repository).
    pub pt_key_file: Option<std::path::PathBuf>,
    /// The key's version (SAF-T HashControl), 1 unless AT was told of a new key.
    pub pt_key_version: Option<u32>,
    /// NIF of the software producer, written into SAF-T (PT) files.
    pub producer_nif: Option<String>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
        match path {
            None => Ok(FileConfig::default()),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("in {}", p.display()))
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub listen: String,
    public_url: Option<String>,
    pub migrate_on_start: bool,
    pub trust_forwarded_for: bool,
    pub log_format: String,
    pub log_level: String,
    pub session_ttl_hours: i64,
    pub max_failures_per_user: i64,
    pub max_failures_per_ip: i64,
    pub window_minutes: i64,
    pub smtp: Option<aftersales_notify::SmtpConfig>,
    pub sms: Option<aftersales_notify::SmsConfig>,
    pub imap: Vec<aftersales_notify::imap::ImapConfig>,
    pub routing: Option<RoutingConfig>,
    pub logistics: LogisticsConfig,
    pub pt_key_file: Option<std::path::PathBuf>,
    pub pt_key_version: u32,
    pub producer_nif: String,
}

impl Settings {
    pub fn resolve(g: &GlobalArgs, s: &ServeArgs, f: &FileConfig, demo: bool) -> Settings {
        let default_db = if demo {
            "sqlite://aftersales-demo.db"
        } else {
            "sqlite://aftersales.db"
        };
        Settings {
            database_url: g
                .database_url
                .clone()
                .or(f.database_url.clone())
                .unwrap_or(default_db.into()),
            listen: s
                .listen
                .clone()
                .or(f.listen.clone())
                .unwrap_or("127.0.0.1:8080".into()),
            public_url: s.public_url.clone().or(f.public_url.clone()),
            migrate_on_start: s.migrate || f.migrate_on_start.unwrap_or(false),
            trust_forwarded_for: f.trust_forwarded_for.unwrap_or(false),
            log_format: g
                .log_format
                .clone()
                .or(f.log_format.clone())
                .unwrap_or("text".into()),
            log_level: g
                .log_level
                .clone()
                .or(std::env::var("RUST_LOG").ok())
                .or(f.log_level.clone())
                .unwrap_or("info,sqlx=warn".into()),
            session_ttl_hours: f.session_ttl_hours.unwrap_or(12).clamp(1, 24 * 30),
            max_failures_per_user: f.login_max_failures_per_user.unwrap_or(5).max(1),
            max_failures_per_ip: f.login_max_failures_per_ip.unwrap_or(30).max(1),
            window_minutes: f.login_window_minutes.unwrap_or(15).max(1),
            smtp: f.smtp.clone(),
            imap: f.imap.clone(),
            sms: f.sms.clone(),
            routing: f.routing.clone(),
            logistics: f.logistics.clone().unwrap_or_default(),
            pt_key_file: std::env::var_os("AFTERSALES_PT_KEY_FILE")
                .map(std::path::PathBuf::from)
                .or(f.billing.as_ref().and_then(|b| b.pt_key_file.clone())),
            pt_key_version: f
                .billing
                .as_ref()
                .and_then(|b| b.pt_key_version)
                .unwrap_or(1),
            producer_nif: f
                .billing
                .as_ref()
                .and_then(|b| b.producer_nif.clone())
                .unwrap_or_else(|| "999999990".into()),
        }
    }

    pub fn login_policy(&self) -> LoginPolicy {
        LoginPolicy {
            max_failures_per_user: self.max_failures_per_user,
            max_failures_per_ip: self.max_failures_per_ip,
            window: time::Duration::minutes(self.window_minutes),
            session_ttl: time::Duration::hours(self.session_ttl_hours),
        }
    }

    pub fn public_url_for(&self, addr: SocketAddr) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{addr}"),
        }
    }

    /// The public URL as the web layer needs it before the port is known.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }
}

/// A database URL fit to print: the password, if any, replaced by `***`.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
