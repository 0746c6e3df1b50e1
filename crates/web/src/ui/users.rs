//! People pages (capability org): the staff the caller can see, creating users and granting or
//! revoking roles (administrators), disabling accounts.

use aftersales_domain::org::{Permission, Role};
use aftersales_domain::user::NewPassword;
use aftersales_domain::validation::{FieldError, Rule};
use aftersales_store::org::Organisation;
use aftersales_store::user::{NewUser, User, UserPatch};
use aftersales_store::StoreError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{
    error_for, field, form_pairs, is_admin, render, see_other, store_error, Chrome, FormErrors,
    SignedIn,
};
use crate::i18n::Tr;
use crate::AppState;

pub struct UserRow {
    pub user: User,
    pub roles: Vec<String>,
}

#[derive(Template)]
#[template(path = "users.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    rows: Vec<UserRow>,
    can_create: bool,
}

fn role_labels(t: &Tr<'_>, u: &User) -> Vec<String> {
    u.memberships
        .iter()
        .map(|m| {
            format!(
                "{} · {}",
                t.t(&format!("role-{}", m.role.as_str())),
                m.organisation_name
            )
        })
        .collect()
}

pub async fn list(State(state): State<AppState>, s: SignedIn) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        match state
            .store
            .users()
            .list_users(&s.caller.scope, cursor.as_deref(), 200)
            .await
        {
            Ok(page) => {
                rows.extend(page.items.into_iter().map(|u| UserRow {
                    roles: role_labels(&t, &u),
                    user: u,
                }));
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            Err(e) => return store_error(&state, &s.ctx, e),
        }
    }
    render(&ListPage {
        chrome: Chrome::new(&t, &s.ctx),
        can_create: is_admin(&s.caller),
        rows,
        t,
    })
}

#[derive(Default)]
pub struct UserForm {
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub language: String,
    pub organisation_id: String,
    pub role: String,
}

#[derive(Template)]
#[template(path = "user_new.html")]
struct NewPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    form: UserForm,
    errors: FormErrors,
    orgs: Vec<Organisation>,
    roles: Vec<(&'static str, String)>,
}

fn role_options(t: &Tr<'_>) -> Vec<(&'static str, String)> {
    Role::ALL
        .into_iter()
        .map(|r| (r.as_str(), t.t(&format!("role-{}", r.as_str()))))
        .collect()
}

async fn managed_orgs(state: &AppState, s: &SignedIn) -> Result<Vec<Organisation>, StoreError> {
    let mut orgs = state.store.org().all_organisations(&s.caller.scope).await?;
    orgs.retain(|o| s.caller.scope.permits(&o.id, Permission::UserManage));
    orgs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(orgs)
}

async fn new_page(
    state: &AppState,
    s: &SignedIn,
    form: UserForm,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let orgs = match managed_orgs(state, s).await {
        Ok(o) if !o.is_empty() => o,
        Ok(_) => return error_for(state, &s.ctx, StatusCode::FORBIDDEN, "error-forbidden"),
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let page = NewPage {
        chrome: Chrome::new(&t, &s.ctx),
        form,
        errors,
        orgs,
        roles: role_options(&t),
        t,
    };
    (status, render(&page)).into_response()
}

pub async fn new_form(State(state): State<AppState>, s: SignedIn) -> Response {
    let form = UserForm {
        language: s.ctx.lang.code().to_string(),
        ..Default::default()
    };
    new_page(&state, &s, form, FormErrors::default(), StatusCode::OK).await
}

pub async fn create(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let form = UserForm {
        username: field(&p, "username").to_string(),
        display_name: field(&p, "display_name").to_string(),
        email: field(&p, "email").to_string(),
        language: field(&p, "language").to_string(),
        organisation_id: field(&p, "organisation_id").to_string(),
        role: field(&p, "role").to_string(),
    };
    let ms = vec![(form.organisation_id.clone(), form.role.clone())];
    let parsed = NewUser::parse(
        &form.username,
        &form.display_name,
        Some(&form.email),
        &form.language,
        field(&p, "password"),
        &ms,
    );
    let new = match parsed {
        Ok(n) => n,
        Err(e) => {
            return new_page(
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
        .users()
        .create_user(&s.caller.scope, new, state.now())
        .await;
    super::answer(
        &state,
        &s,
        r,
        |u| see_other(&format!("/users/{}", u.id)),
        |errors| new_page(&state, &s, form, errors, StatusCode::UNPROCESSABLE_ENTITY),
    )
    .await
}

pub struct MembershipRow {
    pub organisation_id: String,
    pub organisation_name: String,
    pub role_code: &'static str,
    pub role: String,
    pub can_revoke: bool,
}

#[derive(Template)]
#[template(path = "user.html")]
struct DetailPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    user: User,
    memberships: Vec<MembershipRow>,
    can_manage: bool,
    /// The caller administers every organisation of this account: may edit it and set a password.
    can_manage_account: bool,
    orgs: Vec<Organisation>,
    roles: Vec<(&'static str, String)>,
    errors: FormErrors,
    done: Option<String>,
    languages: Vec<(&'static str, &'static str)>,
}

/// What a successful change shows on the page it returns to (`?done=…`).
const DONE: &[(&str, &str)] = &[
    ("granted", "done-role-granted"),
    ("revoked", "done-role-revoked"),
    ("status", "done-status"),
    ("details", "done-details"),
    ("password", "done-password"),
];

async fn detail_page(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    detail_page_done(state, s, id, errors, status, None).await
}

async fn detail_page_done(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    errors: FormErrors,
    status: StatusCode,
    done: Option<&str>,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let user = match state.store.users().get_user(&s.caller.scope, id).await {
        Ok(u) => u,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let scope = &s.caller.scope;
    let memberships: Vec<MembershipRow> = user
        .memberships
        .iter()
        .map(|m| MembershipRow {
            organisation_id: m.organisation_id.clone(),
            organisation_name: m.organisation_name.clone(),
            role_code: m.role.as_str(),
            role: t.t(&format!("role-{}", m.role.as_str())),
            can_revoke: scope.permits(&m.organisation_id, Permission::UserManage),
        })
        .collect();
    let can_manage = memberships.iter().any(|m| m.can_revoke);
    let can_manage_account = can_manage
        && user.id != s.caller.user_id
        && super::or_page!(
            state,
            &s.ctx,
            state.store.users().manages_account(scope, &user.id).await
        );
    let orgs = if can_manage {
        super::or_page!(state, &s.ctx, managed_orgs(state, s).await)
    } else {
        Vec::new()
    };
    let page = DetailPage {
        chrome: Chrome::new(&t, &s.ctx),
        user,
        memberships,
        can_manage,
        can_manage_account,
        orgs,
        roles: role_options(&t),
        errors,
        done: done
            .and_then(|d| DONE.iter().find(|(k, _)| *k == d))
            .map(|(_, key)| t.t(key)),
        languages: aftersales_domain::i18n::Language::ALL
            .map(|l| (l.code(), l.native_name()))
            .to_vec(),
        t,
    };
    (status, render(&page)).into_response()
}

pub async fn detail(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let done = q.as_deref().and_then(|q| q.strip_prefix("done="));
    detail_page_done(&state, &s, &id, FormErrors::default(), StatusCode::OK, done).await
}

/// An administrator corrects a colleague's name, e-mail or language.
pub async fn set_details(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let patch = match UserPatch::parse(
        Some(field(&p, "display_name")),
        Some(Some(field(&p, "email"))),
        Some(field(&p, "language")),
        None,
    ) {
        Ok(p) => p,
        Err(e) => {
            return detail_page(
                &state,
                &s,
                &id,
                FormErrors(e.0),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let Ok(version) = field(&p, "version").parse::<i64>() else {
        let e = FieldError::new("version", Rule::Format, "version must be a number");
        return detail_page(
            &state,
            &s,
            &id,
            FormErrors(vec![e]),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    if id == s.caller.user_id {
        return see_other("/profile");
    }
    let r = state
        .store
        .users()
        .update_user(&s.caller.scope, &id, patch, version, state.now())
        .await;
    super::answer(
        &state,
        &s,
        r,
        |_| see_other(&format!("/users/{id}?done=details")),
        |errors| detail_page(&state, &s, &id, errors, StatusCode::UNPROCESSABLE_ENTITY),
    )
    .await
}

/// An administrator sets a new password for a colleague.
pub async fn set_password(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let new = match NewPassword::parse("new_password", field(&p, "new_password")) {
        Ok(n) => n,
        Err(e) => {
            return detail_page(
                &state,
                &s,
                &id,
                FormErrors(vec![e]),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let r = state
        .store
        .users()
        .set_password_by_admin(&s.caller.scope, &id, &new, state.now())
        .await;
    super::answer(
        &state,
        &s,
        r,
        |()| see_other(&format!("/users/{id}?done=password")),
        |errors| detail_page(&state, &s, &id, errors, StatusCode::UNPROCESSABLE_ENTITY),
    )
    .await
}

pub async fn grant(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    change_role(&state, &s, &id, &body, true).await
}

pub async fn revoke(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    change_role(&state, &s, &id, &body, false).await
}

/// Grants or revokes the role named in the form, then shows the user page again.
async fn change_role(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    body: &[u8],
    grant: bool,
) -> Response {
    let p = form_pairs(body);
    let role = match Role::parse("role", field(&p, "role")) {
        Ok(r) => r,
        Err(e) => {
            return detail_page(
                state,
                s,
                id,
                FormErrors(vec![e]),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let (scope, org, now) = (&s.caller.scope, field(&p, "organisation_id"), state.now());
    let result = if grant {
        state
            .store
            .users()
            .grant_role(scope, id, org, role, now)
            .await
    } else {
        state
            .store
            .users()
            .revoke_role(scope, id, org, role, now)
            .await
    };
    match result {
        Ok(_) => see_other(&format!(
            "/users/{id}?done={}",
            if grant { "granted" } else { "revoked" }
        )),
        Err(StoreError::Invalid(e)) => {
            detail_page(
                state,
                s,
                id,
                FormErrors(e.0),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => store_error(state, &s.ctx, e),
    }
}

pub async fn set_status(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let disabled = match field(&p, "disabled") {
        "true" => true,
        "false" => false,
        _ => {
            let e = FieldError::new("disabled", Rule::OneOf, "disabled must be true or false");
            return detail_page(
                &state,
                &s,
                &id,
                FormErrors(vec![e]),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let Ok(version) = field(&p, "version").parse::<i64>() else {
        let e = FieldError::new("version", Rule::Format, "version must be a number");
        return detail_page(
            &state,
            &s,
            &id,
            FormErrors(vec![e]),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let patch = UserPatch {
        disabled: Some(disabled),
        ..Default::default()
    };
    let r = state
        .store
        .users()
        .update_user(&s.caller.scope, &id, patch, version, state.now())
        .await;
    super::answer(
        &state,
        &s,
        r,
        |_| see_other(&format!("/users/{id}?done=status")),
        |errors| detail_page(&state, &s, &id, errors, StatusCode::UNPROCESSABLE_ENTITY),
    )
    .await
}
