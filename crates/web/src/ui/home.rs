//! The home page: what each of the caller's roles works with, and a panel per kind of role
//! (administration, the service network, the team at the service point).

use aftersales_domain::org::{OrgKind, Role};
use aftersales_store::audit::AuditEvent;
use aftersales_store::org::Organisation;
use aftersales_store::user::User;
use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{is_admin, render, store_error, Chrome, SignedIn};
use crate::i18n::Tr;
use crate::AppState;

pub struct CapCard {
    pub label: String,
    pub href: Option<&'static str>,
}

pub struct RoleSection {
    pub role: String,
    pub role_code: &'static str,
    pub organisation: String,
    pub organisation_id: String,
    pub caps: Vec<CapCard>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    me: User,
    sections: Vec<RoleSection>,
    admin: Option<(usize, usize, Vec<AuditEvent>)>,
    network: Vec<Organisation>,
    team: Vec<User>,
}

pub async fn home(State(state): State<AppState>, s: SignedIn) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let scope = &s.caller.scope;
    let me = match state.store.users().me(scope).await {
        Ok(me) => me,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let sections = me
        .memberships
        .iter()
        .map(|m| RoleSection {
            role: t.t(&format!("role-{}", m.role.as_str())),
            role_code: m.role.as_str(),
            organisation: m.organisation_name.clone(),
            organisation_id: m.organisation_id.clone(),
            caps: m
                .role
                .capabilities()
                .iter()
                .map(|c| CapCard {
                    label: t.t(&format!("cap-{}", c.as_str())),
                    href: c.path(),
                })
                .collect(),
        })
        .collect();
    let roles = scope.all_roles();
    let orgs = match state.store.org().all_organisations(scope).await {
        Ok(o) => o,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let admin = if is_admin(&s.caller) {
        let users = super::or_page!(state, &s.ctx, state.store.users().count_users(scope).await);
        let users = usize::try_from(users).unwrap_or(0);
        let events = super::or_page!(
            state,
            &s.ctx,
            state
                .store
                .audit()
                .list_audit_events(scope, None, None, 5)
                .await
        )
        .items;
        Some((users, orgs.len(), events))
    } else {
        None
    };
    let network = if roles.iter().any(|r| {
        matches!(
            r,
            Role::MarketCsManager | Role::ImporterStaff | Role::HqAnalyst
        )
    }) {
        orgs.iter()
            .filter(|o| matches!(o.kind, OrgKind::ServicePoint | OrgKind::CustomerCareCentre))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let team = if roles.iter().any(|r| {
        matches!(
            r,
            Role::ServiceAdvisor | Role::ServiceManager | Role::Technician | Role::ValetDriver
        )
    }) {
        let mut team: Vec<User> = Vec::new();
        for m in &me.memberships {
            for u in super::or_page!(
                state,
                &s.ctx,
                state
                    .store
                    .users()
                    .list_members(scope, &m.organisation_id)
                    .await
            ) {
                if u.id != me.id && !team.iter().any(|t| t.id == u.id) {
                    team.push(u);
                }
            }
        }
        team
    } else {
        Vec::new()
    };
    render(&HomePage {
        chrome: Chrome::new(&t, &s.ctx),
        t,
        me,
        sections,
        admin,
        network,
        team,
    })
}
