//! Settings of the HTTP layer, filled by the binary from the config file and environment.

use aftersales_store::auth::LoginPolicy;

#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The address users reach the product at; `https://…` makes cookies `Secure`.
    pub public_url: String,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted reverse proxy).
    pub trust_forwarded_for: bool,
    pub login: LoginPolicy,
    /// NIF of the software producer, written into SAF-T (PT) files (ProductCompanyTaxID).
    pub producer_nif: String,
    /// Map tiles under the dispatch map (`https://tiles.example/{z}/{x}/{y}.png`) and their attribution;
    /// without them the map draws on coordinates only (works offline).
    pub tile_url: Option<String>,
    pub tile_attribution: Option<String>,
}

impl WebConfig {
    /// The scheme and host the tiles come from, for the content security policy.
    pub fn tile_origin(&self) -> Option<String> {
        let url = self.tile_url.as_deref()?;
        let (scheme, rest) = url.split_once("://")?;
        let host = rest.split('/').next()?;
        let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':');
        (matches!(scheme, "https" | "http") && !host.is_empty() && host.chars().all(safe))
            .then(|| format!("{scheme}://{host}"))
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            trust_forwarded_for: false,
            login: LoginPolicy::default(),
            producer_nif: "999999990".into(),
            tile_url: None,
            tile_attribution: None,
        }
    }
}

impl WebConfig {
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}
