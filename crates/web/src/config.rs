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
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            trust_forwarded_for: false,
            login: LoginPolicy::default(),
            producer_nif: "999999990".into(),
        }
    }
}

impl WebConfig {
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}
