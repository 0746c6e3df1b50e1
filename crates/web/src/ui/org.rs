//! Organisation pages (capability org): the tree the caller can see, one organisation with its
//! people and children, and creating an organisation below one the caller administers.

use aftersales_domain::org::{OrgKind, Permission};
use aftersales_store::org::{NewOrganisation, Organisation};
use aftersales_store::user::User;
use aftersales_store::StoreError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{field, form_pairs, render, see_other, store_error, Chrome, FormErrors, SignedIn};
use crate::i18n::Tr;
use crate::AppState;

pub struct TreeRow {
    pub org: Organisation,
    pub depth: usize,
    pub kind: String,
}

#[derive(Default)]
pub struct OrgForm {
    pub parent_id: String,
    pub kind: String,
    pub name: String,
    pub market_code: String,
    pub city: String,
}

#[derive(Template)]
#[template(path = "organisations.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    rows: Vec<TreeRow>,
    parents: Vec<Organisation>,
    kinds: Vec<(&'static str, String)>,
    markets: Vec<aftersales_store::org::Market>,
    form: OrgForm,
    errors: FormErrors,
}

/// Orders organisations depth-first under their parents; roots are those whose parent is out of reach.
pub fn tree(t: &Tr<'_>, orgs: Vec<Organisation>) -> Vec<TreeRow> {
    let ids: Vec<String> = orgs.iter().map(|o| o.id.clone()).collect();
    let mut out = Vec::new();
    fn walk(
        t: &Tr<'_>,
        all: &[Organisation],
        parent: Option<&str>,
        ids: &[String],
        depth: usize,
        out: &mut Vec<TreeRow>,
    ) {
        let mut children: Vec<&Organisation> = all
            .iter()
            .filter(|o| match parent {
                None => o.parent_id.as_ref().is_none_or(|p| !ids.contains(p)),
                Some(p) => o.parent_id.as_deref() == Some(p),
            })
            .collect();
        children.sort_by(|a, b| a.name.cmp(&b.name));
        for c in children {
            out.push(TreeRow {
                org: c.clone(),
                depth,
                kind: t.t(&format!("kind-{}", c.kind.as_str())),
            });
            walk(t, all, Some(&c.id), ids, depth + 1, out);
        }
    }
    walk(t, &orgs, None, &ids, 0, &mut out);
    out
}

async fn list_page(
    state: &AppState,
    s: &SignedIn,
    form: OrgForm,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let orgs = match state.store.org().all_organisations(&s.caller.scope).await {
        Ok(o) => o,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let parents: Vec<Organisation> = orgs
        .iter()
        .filter(|o| {
            s.caller.scope.permits(&o.id, Permission::OrgManage)
                && o.kind != OrgKind::ServicePoint
                && o.kind != OrgKind::CustomerCareCentre
        })
        .cloned()
        .collect();
    let kinds = [
        OrgKind::MarketEntity,
        OrgKind::Importer,
        OrgKind::ServicePoint,
        OrgKind::CustomerCareCentre,
    ]
    .into_iter()
    .map(|k| (k.as_str(), t.t(&format!("kind-{}", k.as_str()))))
    .collect();
    let markets = super::or_page!(
        state,
        &s.ctx,
        state.store.org().list_markets(&s.caller.scope).await
    );
    let page = ListPage {
        chrome: Chrome::new(&t, &s.ctx),
        rows: tree(&t, orgs),
        parents,
        kinds,
        markets,
        form,
        errors,
        t,
    };
    (status, render(&page)).into_response()
}

pub async fn list(State(state): State<AppState>, s: SignedIn) -> Response {
    list_page(
        &state,
        &s,
        OrgForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn create(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let form = OrgForm {
        parent_id: field(&p, "parent_id").to_string(),
        kind: field(&p, "kind").to_string(),
        name: field(&p, "name").to_string(),
        market_code: field(&p, "market_code").to_string(),
        city: field(&p, "city").to_string(),
    };
    let new = match NewOrganisation::parse(
        &form.parent_id,
        &form.kind,
        &form.name,
        Some(&form.market_code),
        Some(&form.city),
    ) {
        Ok(n) => n,
        Err(e) => {
            return list_page(
                &state,
                &s,
                form,
                FormErrors(e.0),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let r = state
        .store
        .org()
        .create_organisation(&s.caller.scope, &new, state.now())
        .await;
    super::answer(
        &state,
        &s,
        r,
        |org| see_other(&format!("/organisations/{}", org.id)),
        |errors| list_page(&state, &s, form, errors, StatusCode::UNPROCESSABLE_ENTITY),
    )
    .await
}

#[derive(Template)]
#[template(path = "organisation.html")]
struct DetailPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    org: Organisation,
    kind: String,
    parent: Option<Organisation>,
    children: Vec<TreeRow>,
    people: Vec<(User, Vec<String>)>,
    /// The caller administers this organisation's inbox.
    manages_inbox: bool,
}

pub async fn detail(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let scope = &s.caller.scope;
    let org = match state.store.org().get_organisation(scope, &id).await {
        Ok(o) => o,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let parent = match &org.parent_id {
        // A parent outside the caller's reach is simply not shown.
        Some(p) => match state.store.org().get_organisation(scope, p).await {
            Ok(o) => Some(o),
            Err(StoreError::NotFound) => None,
            Err(e) => return store_error(&state, &s.ctx, e),
        },
        None => None,
    };
    let all = super::or_page!(
        state,
        &s.ctx,
        state.store.org().all_organisations(scope).await
    );
    let children = tree(
        &t,
        all.into_iter()
            .filter(|o| o.parent_id.as_deref() == Some(org.id.as_str()))
            .collect(),
    );
    let people = super::or_page!(
        state,
        &s.ctx,
        state.store.users().list_members(scope, &org.id).await
    )
    .into_iter()
    .map(|u| {
        let roles: Vec<String> = u
            .memberships
            .iter()
            .filter(|m| m.organisation_id == org.id)
            .map(|m| t.t(&format!("role-{}", m.role.as_str())))
            .collect();
        (u, roles)
    })
    .collect();
    let kind = t.t(&format!("kind-{}", org.kind.as_str()));
    let manages_inbox = super::inbox_settings::manages(&s, &org.id);
    render(&DetailPage {
        manages_inbox,
        chrome: Chrome::new(&t, &s.ctx),
        t,
        org,
        kind,
        parent,
        children,
        people,
    })
}
