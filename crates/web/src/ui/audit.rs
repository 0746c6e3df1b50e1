//! The security audit log page (administrators), filterable by kind, paged by cursor.

use aftersales_store::audit::{AuditEvent, AuditKind};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

use super::{render, store_error, Chrome, SignedIn};
use crate::i18n::Tr;
use crate::AppState;

#[derive(serde::Deserialize)]
pub struct AuditQuery {
    kind: Option<String>,
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    events: Vec<AuditEvent>,
    kinds: Vec<&'static str>,
    kind: String,
    next: Option<String>,
    zone: aftersales_domain::calendar::Zone,
}

impl AuditPage<'_> {
    fn when(&self, at: &time::OffsetDateTime) -> String {
        super::local_time(self.zone, *at)
    }
}

pub async fn list(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<AuditQuery>,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let kind = q.kind.as_deref().and_then(AuditKind::parse);
    let page = match state
        .store
        .audit()
        .list_audit_events(&s.caller.scope, kind, q.cursor.as_deref(), 50)
        .await
    {
        Ok(p) => p,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let kind_code = kind.map(|k| k.as_str().to_string()).unwrap_or_default();
    let zone = super::or_page!(state, &s.ctx, super::reader_zone(&state, &s).await);
    let next = page
        .next_cursor
        .map(|c| format!("/audit?kind={kind_code}&cursor={c}"));
    render(&AuditPage {
        zone,
        chrome: Chrome::new(&t, &s.ctx),
        events: page.items,
        kinds: AuditKind::ALL.map(|k| k.as_str()).to_vec(),
        kind: kind_code,
        next,
        t,
    })
}
