//! The conformance cases, each a function of a fresh, migrated store.

use aftersales_domain::org::{Permission, Role};
use aftersales_domain::validation::Rule;
use aftersales_store::audit::AuditKind;
use aftersales_store::auth::{Caller, LoginError, LoginPolicy};
use aftersales_store::org::NewOrganisation;
use aftersales_store::user::{NewUser, UserPatch};
use aftersales_store::{demo, testing, Store, StoreError};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-11-21 09:00 UTC);

async fn seeded(store: &Store) {
    demo::seed(store, T0).await.unwrap();
}

async fn caller(store: &Store, username: &str) -> Caller {
    crate::workshop::caller(store, username, T0).await
}

async fn org_id(store: &Store, name: &str) -> String {
    store.cli().find_organisation(name).await.unwrap().0
}

fn rule_of(e: &StoreError) -> Option<(String, Rule)> {
    match e {
        StoreError::Invalid(v) => v.0.first().map(|f| (f.field.clone(), f.rule)),
        _ => None,
    }
}

pub async fn migrations_are_idempotent(store: &Store) {
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert!(store.pending_migrations().await.unwrap().is_empty());
    store.ping().await.unwrap();
}

pub async fn scopes_follow_the_organisation_tree(store: &Store) {
    seeded(store).await;
    let names = |orgs: Vec<aftersales_store::org::Organisation>| {
        let mut n: Vec<String> = orgs.into_iter().map(|o| o.name).collect();
        n.sort();
        n
    };
    let ingrid = caller(store, "ingrid").await;
    assert_eq!(
        names(store.org().all_organisations(&ingrid.scope).await.unwrap()),
        vec!["Tesla Service Centre Trondheim"]
    );
    let ana = caller(store, "ana").await;
    assert_eq!(
        names(store.org().all_organisations(&ana.scope).await.unwrap()),
        vec![
            "Polestar Portugal",
            "Polestar Service Point Braga",
            "Polestar Service Point Lisboa",
            "Polestar Service Point Porto",
            "Volvo Cars Portugal"
        ]
    );
    let marta = caller(store, "marta").await;
    assert_eq!(
        names(store.org().all_organisations(&marta.scope).await.unwrap()),
        vec!["Polestar Service Point Porto"]
    );
    let admin = caller(store, "admin").await;
    assert_eq!(
        store
            .org()
            .all_organisations(&admin.scope)
            .await
            .unwrap()
            .len(),
        10
    );

    // Foreign organisations are not found, not forbidden: their existence does not leak.
    let trondheim = org_id(store, "Tesla Service Centre Trondheim").await;
    assert!(matches!(
        store.org().get_organisation(&marta.scope, &trondheim).await,
        Err(StoreError::NotFound)
    ));
    let ingrid_id = ingrid.user_id.clone();
    assert!(matches!(
        store.users().get_user(&marta.scope, &ingrid_id).await,
        Err(StoreError::NotFound)
    ));
    let marta_users = store
        .users()
        .list_users(&marta.scope, None, 200)
        .await
        .unwrap();
    // Porto's people only: Marta and the workshop's technician.
    assert!(marta_users
        .items
        .iter()
        .all(|u| u.username == "marta" || u.username == "catarina"));
    assert!(marta_users.items.iter().any(|u| u.username == "marta"));
    // Brands follow the scope too.
    let brands = store.org().list_brands(&marta.scope).await.unwrap();
    assert_eq!(
        brands.iter().map(|b| b.code.as_str()).collect::<Vec<_>>(),
        vec!["POLESTAR"]
    );
    // Roles are inherited down the tree.
    let porto = org_id(store, "Polestar Service Point Porto").await;
    assert!(ana
        .scope
        .roles_at(&porto)
        .unwrap()
        .contains(&Role::MarketCsManager));
    assert!(!ana.scope.permits(&porto, Permission::UserManage));
    assert!(admin.scope.permits(&porto, Permission::UserManage));
}

/// Callers are kept in memory between requests (auth's cache); whatever shapes one (the tree, a
/// membership, the account) shows on the very next request, through a session or a token.
pub async fn callers_follow_every_change_at_once(store: &Store) {
    seeded(store).await;
    let policy = LoginPolicy::default();
    let ana = store
        .auth()
        .login("ana", demo::DEMO_PASSWORD, None, T0, &policy)
        .await
        .unwrap();
    let ingrid = store
        .auth()
        .login("ingrid", demo::DEMO_PASSWORD, None, T0, &policy)
        .await
        .unwrap();
    let policy = &policy;
    let resolve = |raw: String| async move {
        store
            .auth()
            .resolve_session(&raw, T0, policy)
            .await
            .unwrap()
    };
    let before = resolve(ana.raw_id.clone()).await.unwrap();
    let again = resolve(ana.raw_id.clone()).await.unwrap();
    assert_eq!(
        before.scope.orgs_with(Permission::OrgRead),
        again.scope.orgs_with(Permission::OrgRead)
    );
    // A new service point under the market is in Ana's reach on her next request.
    let faro = store
        .cli()
        .add_organisation(
            &aftersales_store::cli::OrgSpec {
                name: "Polestar Service Point Setúbal",
                kind: "service-point",
                brand: None,
                parent: Some("Polestar Portugal"),
                market: None,
                city: Some("Setúbal"),
            },
            T0,
        )
        .await
        .unwrap();
    let after = resolve(ana.raw_id.clone()).await.unwrap();
    assert!(!before.scope.permits(&faro, Permission::OrgRead));
    assert!(after.scope.permits(&faro, Permission::OrgRead));
    // A role granted to Ingrid at Porto, through her API token too.
    let ingrid_caller = resolve(ingrid.raw_id.clone()).await.unwrap();
    let (_, token) = store
        .auth()
        .create_api_token(&ingrid_caller, "cache test", None, T0)
        .await
        .unwrap();
    let porto = org_id(store, "Polestar Service Point Porto").await;
    let by_token = store
        .auth()
        .resolve_api_token(&token, T0)
        .await
        .unwrap()
        .unwrap();
    assert!(by_token.scope.roles_at(&porto).is_none());
    store
        .cli()
        .grant(
            "ingrid",
            "Polestar Service Point Porto",
            "service-advisor",
            T0,
        )
        .await
        .unwrap();
    let by_token = store
        .auth()
        .resolve_api_token(&token, T0)
        .await
        .unwrap()
        .unwrap();
    assert!(by_token
        .scope
        .roles_at(&porto)
        .is_some_and(|r| r.contains(&Role::ServiceAdvisor)));
    let by_session = resolve(ingrid.raw_id.clone()).await.unwrap();
    assert!(by_session.scope.roles_at(&porto).is_some());
    // A disabled account stops at once, by session and by token.
    store.cli().set_disabled("ingrid", true, T0).await.unwrap();
    assert!(resolve(ingrid.raw_id.clone()).await.is_none());
    assert!(store
        .auth()
        .resolve_api_token(&token, T0)
        .await
        .unwrap()
        .is_none());
}

pub async fn login_sessions_and_expiry(store: &Store) {
    seeded(store).await;
    let policy = LoginPolicy::default();
    let s = store
        .auth()
        .login("Ingrid", demo::DEMO_PASSWORD, None, T0, &policy)
        .await
        .unwrap();
    let c = store
        .auth()
        .resolve_session(&s.raw_id, T0 + Duration::hours(1), &policy)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.username, "ingrid");
    // Sliding expiry: used after an hour, the session lives 12 h from then, not from sign-in.
    assert!(store
        .auth()
        .resolve_session(&s.raw_id, T0 + Duration::hours(12), &policy)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .auth()
        .resolve_session(&s.raw_id, T0 + Duration::hours(23), &policy)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .auth()
        .resolve_session(&s.raw_id, T0 + Duration::hours(36), &policy)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .auth()
        .resolve_session("not-a-session", T0, &policy)
        .await
        .unwrap()
        .is_none());
    // Logout ends the session.
    let s2 = store
        .auth()
        .login("ingrid", demo::DEMO_PASSWORD, None, T0, &policy)
        .await
        .unwrap();
    let c2 = store
        .auth()
        .resolve_session(&s2.raw_id, T0, &policy)
        .await
        .unwrap()
        .unwrap();
    store
        .auth()
        .logout(&c2, &s2.raw_id, None, T0)
        .await
        .unwrap();
    assert!(store
        .auth()
        .resolve_session(&s2.raw_id, T0, &policy)
        .await
        .unwrap()
        .is_none());
}

pub async fn failed_logins_are_rate_limited_and_audited(store: &Store) {
    seeded(store).await;
    let policy = LoginPolicy::default();
    for _ in 0..5 {
        let e = store
            .auth()
            .login("lars", "wrong password!", Some("10.1.1.1"), T0, &policy)
            .await
            .unwrap_err();
        assert!(matches!(e, LoginError::InvalidCredentials));
    }
    // The sixth attempt is refused even with the right password.
    let e = store
        .auth()
        .login("lars", demo::DEMO_PASSWORD, Some("10.1.1.1"), T0, &policy)
        .await
        .unwrap_err();
    assert!(matches!(e, LoginError::RateLimited { .. }), "{e:?}");
    // After the window the right password works again.
    store
        .auth()
        .login(
            "lars",
            demo::DEMO_PASSWORD,
            Some("10.1.1.1"),
            T0 + Duration::minutes(16),
            &policy,
        )
        .await
        .unwrap();
    // Unknown usernames fail the same way and are audited too.
    let e = store
        .auth()
        .login("nobody", "whatever pass", Some("10.1.1.2"), T0, &policy)
        .await
        .unwrap_err();
    assert!(matches!(e, LoginError::InvalidCredentials));
    let admin = caller(store, "admin").await;
    let failed = store
        .audit()
        .list_audit_events(&admin.scope, Some(AuditKind::LoginFailed), None, 200)
        .await
        .unwrap();
    assert_eq!(
        failed
            .items
            .iter()
            .filter(|e| e.subject_username.as_deref() == Some("lars"))
            .count(),
        5
    );
    // (The attempt on an unknown username is listed too, now: issue 14, item 10.)
    let lars = failed
        .items
        .iter()
        .find(|e| e.subject_username.as_deref() == Some("lars"))
        .unwrap();
    assert_eq!(lars.ip.as_deref(), Some("10.1.1.1"));
    assert!(failed
        .items
        .iter()
        .any(|e| e.subject_username.as_deref() == Some("nobody")));
    let limited = store
        .audit()
        .list_audit_events(&admin.scope, Some(AuditKind::LoginRateLimited), None, 200)
        .await
        .unwrap();
    assert_eq!(limited.items.len(), 1);
}

pub async fn disabled_users_cannot_sign_in(store: &Store) {
    seeded(store).await;
    let policy = LoginPolicy::default();
    let ole = store
        .auth()
        .login("ole", demo::DEMO_PASSWORD, None, T0, &policy)
        .await
        .unwrap();
    store.cli().set_disabled("ole", true, T0).await.unwrap();
    assert!(
        store
            .auth()
            .resolve_session(&ole.raw_id, T0, &policy)
            .await
            .unwrap()
            .is_none(),
        "sessions end"
    );
    let e = store
        .auth()
        .login("ole", demo::DEMO_PASSWORD, None, T0, &policy)
        .await
        .unwrap_err();
    assert!(matches!(e, LoginError::InvalidCredentials));
    store.cli().set_disabled("ole", false, T0).await.unwrap();
    store
        .auth()
        .login("ole", demo::DEMO_PASSWORD, None, T0, &policy)
        .await
        .unwrap();
}

pub async fn api_tokens_resolve_until_revoked_or_expired(store: &Store) {
    seeded(store).await;
    let kari = caller(store, "kari").await;
    let (tok, raw) = store
        .auth()
        .create_api_token(&kari, "DMS sync", Some(T0 + Duration::days(30)), T0)
        .await
        .unwrap();
    assert!(raw.starts_with("ast_") && raw.starts_with(&tok.prefix));
    let c = store
        .auth()
        .resolve_api_token(&raw, T0 + Duration::days(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.username, "kari");
    assert!(
        store
            .auth()
            .resolve_api_token(&raw, T0 + Duration::days(31))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    let listed = store.auth().list_api_tokens(&kari).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].last_used_at.is_some());
    // Another user cannot revoke it.
    let ole = caller(store, "ole").await;
    assert!(matches!(
        store.auth().revoke_api_token(&ole, &tok.id, T0).await,
        Err(StoreError::NotFound)
    ));
    store
        .auth()
        .revoke_api_token(&kari, &tok.id, T0)
        .await
        .unwrap();
    assert!(
        store
            .auth()
            .resolve_api_token(&raw, T0)
            .await
            .unwrap()
            .is_none(),
        "revoked"
    );
    let e = store
        .auth()
        .create_api_token(&kari, "  ", None, T0)
        .await
        .unwrap_err();
    assert_eq!(rule_of(&e), Some(("name".into(), Rule::Required)));
}

fn new_user(username: &str, org: &str, role: &str) -> NewUser {
    NewUser::parse(
        username,
        "Test Person",
        Some("test@example.no"),
        "nb",
        "a long enough password",
        &[(org.to_string(), role.to_string())],
    )
    .unwrap()
}

pub async fn administrators_create_users_only_in_their_reach(store: &Store) {
    seeded(store).await;
    let nora = caller(store, "nora").await;
    let trondheim = org_id(store, "Tesla Service Centre Trondheim").await;
    let porto = org_id(store, "Polestar Service Point Porto").await;
    let u = store
        .users()
        .create_user(
            &nora.scope,
            new_user("hilde", &trondheim, "service-advisor"),
            T0,
        )
        .await
        .unwrap();
    assert_eq!(u.memberships[0].role, Role::ServiceAdvisor);
    store
        .auth()
        .login(
            "hilde",
            "a long enough password",
            None,
            T0,
            &LoginPolicy::default(),
        )
        .await
        .unwrap();
    // Outside her tree: the organisation is unknown to her.
    let e = store
        .users()
        .create_user(&nora.scope, new_user("zeca", &porto, "technician"), T0)
        .await
        .unwrap_err();
    assert_eq!(
        rule_of(&e),
        Some(("memberships.0.organisation_id".into(), Rule::Unknown))
    );
    // Inside her reach but without the administrator role: forbidden.
    let kari = caller(store, "kari").await;
    let e = store
        .users()
        .create_user(&kari.scope, new_user("per", &trondheim, "technician"), T0)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)), "{e:?}");
    // Usernames are unique.
    let e = store
        .users()
        .create_user(
            &nora.scope,
            new_user("ingrid", &trondheim, "technician"),
            T0,
        )
        .await
        .unwrap_err();
    assert_eq!(rule_of(&e), Some(("username".into(), Rule::Unique)));
    // Bad input names the field and the rule.
    let e = NewUser::parse("x", "", Some("nope"), "de", "short", &[]).unwrap_err();
    let got: Vec<(&str, Rule)> = e.0.iter().map(|f| (f.field.as_str(), f.rule)).collect();
    assert_eq!(
        got,
        vec![
            ("username", Rule::TooShort),
            ("display_name", Rule::Required),
            ("email", Rule::Format),
            ("language", Rule::OneOf),
            ("password", Rule::TooShort),
            ("memberships", Rule::Required)
        ]
    );
}

pub async fn roles_granted_and_revoked_are_audited(store: &Store) {
    seeded(store).await;
    let nora = caller(store, "nora").await;
    let ole = caller(store, "ole").await;
    let care = org_id(store, "Tesla Customer Care Nordics").await;
    let u = store
        .users()
        .grant_role(&nora.scope, &ole.user_id, &care, Role::ServiceAdvisor, T0)
        .await
        .unwrap();
    assert_eq!(u.memberships.len(), 2);
    // Ole's scope now includes the care centre.
    let ole = caller(store, "ole").await;
    assert!(ole.scope.permits(&care, Permission::OrgRead));
    let u = store
        .users()
        .revoke_role(&nora.scope, &ole.user_id, &care, Role::ServiceAdvisor, T0)
        .await
        .unwrap();
    assert_eq!(u.memberships.len(), 1);
    let events = store
        .audit()
        .list_audit_events(&nora.scope, None, None, 200)
        .await
        .unwrap();
    let kinds: Vec<&str> = events
        .items
        .iter()
        .filter(|e| e.subject_username.as_deref() == Some("ole"))
        .map(|e| e.kind.as_str())
        .collect();
    assert!(
        kinds.contains(&"role-granted") && kinds.contains(&"role-revoked"),
        "{kinds:?}"
    );
    let granted = events
        .items
        .iter()
        .find(|e| e.kind == "role-granted" && e.subject_username.as_deref() == Some("ole"))
        .unwrap();
    assert_eq!(granted.actor_username.as_deref(), Some("nora"));
    assert_eq!(granted.detail["role"], "service-advisor");
    // Revoking a role not held changes nothing; a technician cannot grant.
    let again = store
        .users()
        .revoke_role(&nora.scope, &ole.user_id, &care, Role::ServiceAdvisor, T0)
        .await
        .unwrap();
    assert_eq!(again.memberships.len(), 1);
    let revoked = store
        .audit()
        .list_audit_events(&nora.scope, Some(AuditKind::RoleRevoked), None, 200)
        .await
        .unwrap();
    assert_eq!(revoked.items.len(), 1, "the no-op is not audited");
    // Roles fit their organisations; nobody revokes their own administrator role.
    let e = store
        .users()
        .grant_role(&nora.scope, &ole.user_id, &care, Role::Technician, T0)
        .await
        .unwrap_err();
    assert_eq!(rule_of(&e), Some(("role".into(), Rule::NotAllowed)));
    let norway = org_id(store, "Tesla Norway AS").await;
    let e = store
        .users()
        .revoke_role(&nora.scope, &nora.user_id, &norway, Role::Administrator, T0)
        .await
        .unwrap_err();
    assert_eq!(rule_of(&e), Some(("role".into(), Rule::NotAllowed)));
    assert!(matches!(
        store
            .users()
            .grant_role(&ole.scope, &ole.user_id, &care, Role::Administrator, T0)
            .await,
        Err(StoreError::Forbidden(_)) | Err(StoreError::Invalid(_))
    ));
}

pub async fn stale_versions_are_refused(store: &Store) {
    seeded(store).await;
    let ingrid = caller(store, "ingrid").await;
    let me = store.users().me(&ingrid.scope).await.unwrap();
    let patch = UserPatch {
        display_name: Some("Ingrid S.".into()),
        ..Default::default()
    };
    let updated = store
        .users()
        .update_user(&ingrid.scope, &me.id, patch.clone(), me.version, T0)
        .await
        .unwrap();
    assert_eq!(updated.version, me.version + 1);
    let e = store
        .users()
        .update_user(&ingrid.scope, &me.id, patch, me.version, T0)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict { current } if current == me.version + 1));
    // One cannot disable oneself; an advisor cannot disable a colleague.
    let lars = caller(store, "lars").await;
    let e = store
        .users()
        .update_user(
            &ingrid.scope,
            &lars.user_id,
            UserPatch {
                disabled: Some(true),
                ..Default::default()
            },
            1,
            T0,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Forbidden(_)));
}

pub async fn audit_log_is_append_only(store: &Store) {
    seeded(store).await;
    caller(store, "ingrid").await;
    assert!(
        testing::execute_raw(store, "UPDATE audit_events SET kind = 'x'")
            .await
            .is_err()
    );
    assert!(testing::execute_raw(store, "DELETE FROM audit_events")
        .await
        .is_err());
    let admin = caller(store, "admin").await;
    let page = store
        .audit()
        .list_audit_events(&admin.scope, Some(AuditKind::Login), None, 200)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
}

pub async fn audit_log_is_scoped(store: &Store) {
    seeded(store).await;
    caller(store, "joao").await;
    caller(store, "ingrid").await;
    let nora = caller(store, "nora").await;
    let events = store
        .audit()
        .list_audit_events(&nora.scope, Some(AuditKind::Login), None, 200)
        .await
        .unwrap();
    let who: Vec<&str> = events
        .items
        .iter()
        .filter_map(|e| e.subject_username.as_deref())
        .collect();
    assert!(who.contains(&"ingrid") && who.contains(&"nora"));
    assert!(
        !who.contains(&"joao"),
        "a Tesla administrator must not see Polestar sign-ins"
    );
    let ingrid = caller(store, "ingrid").await;
    assert!(matches!(
        store
            .audit()
            .list_audit_events(&ingrid.scope, None, None, 10)
            .await,
        Err(StoreError::Forbidden(_))
    ));
}

pub async fn organisations_are_created_under_managed_parents(store: &Store) {
    seeded(store).await;
    let nora = caller(store, "nora").await;
    let norway = org_id(store, "Tesla Norway AS").await;
    let new = NewOrganisation::parse(
        &norway,
        "service-point",
        "Tesla Service Centre Bergen",
        None,
        Some("Bergen"),
    )
    .unwrap();
    let org = store
        .org()
        .create_organisation(&nora.scope, &new, T0)
        .await
        .unwrap();
    assert_eq!(org.market_code.as_deref(), Some("NO"));
    assert_eq!(org.brand.code, "TESLA");
    assert_eq!(org.parent_id.as_deref(), Some(norway.as_str()));
    // The new organisation is in reach from the next request on.
    let nora = caller(store, "nora").await;
    // A service point cannot hold an importer.
    let new = NewOrganisation::parse(&org.id, "importer", "Nope AS", None, None).unwrap();
    let e = store
        .org()
        .create_organisation(&nora.scope, &new, T0)
        .await
        .unwrap_err();
    assert_eq!(rule_of(&e), Some(("kind".into(), Rule::NotAllowed)));
    // A parent outside the caller's reach is unknown.
    let porto = org_id(store, "Polestar Service Point Porto").await;
    let new = NewOrganisation::parse(&porto, "service-point", "X", None, None);
    assert!(new.is_err(), "a one-letter name is too short");
    let new =
        NewOrganisation::parse(&porto, "customer-care-centre", "Care Porto", None, None).unwrap();
    let e = store
        .org()
        .create_organisation(&nora.scope, &new, T0)
        .await
        .unwrap_err();
    assert_eq!(rule_of(&e), Some(("parent_id".into(), Rule::Unknown)));
    // Rename with version.
    let renamed = store
        .org()
        .rename_organisation(&nora.scope, &org.id, "Tesla Bergen", org.version)
        .await
        .unwrap();
    assert_eq!(renamed.name, "Tesla Bergen");
    assert!(matches!(
        store
            .org()
            .rename_organisation(&nora.scope, &org.id, "Again", org.version)
            .await,
        Err(StoreError::Conflict { .. })
    ));
}

pub async fn user_lists_page_by_cursor(store: &Store) {
    seeded(store).await;
    let admin = caller(store, "admin").await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .users()
            .list_users(&admin.scope, cursor.as_deref(), 4)
            .await
            .unwrap();
        assert!(page.items.len() <= 4);
        seen.extend(page.items.into_iter().map(|u| u.username));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "pages are ordered and do not overlap");
    assert_eq!(seen.len(), 26); // the demo users, with a technician in Lisboa and in Porto, drivers in both, a manager in Braga
    let orgs = store
        .org()
        .list_organisations(&admin.scope, None, 3)
        .await
        .unwrap();
    assert_eq!(orgs.items.len(), 3);
    let rest = store
        .org()
        .list_organisations(&admin.scope, orgs.next_cursor.as_deref(), 200)
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 7);
    assert!(rest.next_cursor.is_none());
}

pub async fn cli_operations(store: &Store) {
    seeded(store).await;
    let cli = store.cli();
    let (lisboa, _) = cli
        .find_organisation("polestar service point lisboa")
        .await
        .unwrap();
    let new = NewUser::parse(
        "ines",
        "Inês Rocha",
        None,
        "pt",
        "palavra-passe longa",
        &[(lisboa, "technician".into())],
    )
    .unwrap();
    cli.add_user(&new, T0).await.unwrap();
    cli.set_password("ines", "uma nova palavra-passe", T0)
        .await
        .unwrap();
    store
        .auth()
        .login(
            "ines",
            "uma nova palavra-passe",
            None,
            T0,
            &LoginPolicy::default(),
        )
        .await
        .unwrap();
    cli.grant("ines", "Polestar Service Point Porto", "technician", T0)
        .await
        .unwrap();
    let users = cli.list_users().await.unwrap();
    let ines = users.iter().find(|u| u.username == "ines").unwrap();
    assert_eq!(ines.roles.len(), 2);
    let e = cli.find_organisation("Atlantis").await.unwrap_err();
    assert_eq!(rule_of(&e), Some(("org".into(), Rule::Unknown)));
    let e = cli.set_password("ines", "short", T0).await.unwrap_err();
    assert_eq!(rule_of(&e), Some(("password".into(), Rule::TooShort)));
}

pub async fn sqlite_backup() {
    let db = testing::sqlite().await.unwrap();
    seeded(&db.store).await;
    let src = db.store.url().to_string();
    let dest = std::env::temp_dir().join(format!("aftersales-backup-{}.db", uuid_like()));
    // The product keeps writing while the backup runs.
    let writer = {
        let store = db.store.clone();
        tokio::spawn(async move {
            for i in 0..20 {
                let _ = store
                    .auth()
                    .login(
                        "ingrid",
                        demo::DEMO_PASSWORD,
                        Some(&format!("10.9.0.{i}")),
                        T0,
                        &LoginPolicy::default(),
                    )
                    .await;
            }
        })
    };
    let d = dest.clone();
    tokio::task::spawn_blocking(move || aftersales_store::backup::sqlite_backup(&src, &d))
        .await
        .unwrap()
        .unwrap();
    writer.await.unwrap();
    let copy = Store::connect(&format!("sqlite://{}", dest.display()))
        .await
        .unwrap();
    assert!(copy.pending_migrations().await.unwrap().is_empty());
    let users = copy.cli().list_users().await.unwrap();
    assert_eq!(users.len(), 26);
    // A second backup to the same file is refused rather than overwriting it.
    let src = db.store.url().to_string();
    let d = dest.clone();
    assert!(
        tokio::task::spawn_blocking(move || aftersales_store::backup::sqlite_backup(&src, &d))
            .await
            .unwrap()
            .is_err()
    );
    copy.close().await;
    let _ = std::fs::remove_file(&dest);
}

fn uuid_like() -> String {
    format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// API tokens end when the account is disabled (and stay ended when it is enabled again), and with a
/// password change when the user asks for it.
pub async fn api_tokens_end_with_the_account_or_on_request(store: &Store) {
    seeded(store).await;
    let kari = caller(store, "kari").await;
    let live = |raw: String| async move {
        store
            .auth()
            .resolve_api_token(&raw, T0 + Duration::hours(1))
            .await
            .unwrap()
            .is_some()
    };
    let (_, keep) = store
        .auth()
        .create_api_token(&kari, "DMS", None, T0)
        .await
        .unwrap();
    let new = aftersales_domain::user::NewPassword::parse("p", "another long passphrase").unwrap();
    store
        .auth()
        .change_own_password(&kari, demo::DEMO_PASSWORD, &new, false, T0)
        .await
        .unwrap();
    assert!(live(keep.clone()).await, "kept unless asked");
    store
        .auth()
        .change_own_password(&kari, "another long passphrase", &new, true, T0)
        .await
        .unwrap();
    assert!(!live(keep).await, "revoked on request");
    // Disabled, then enabled again: the token stays revoked.
    let (_, raw) = store
        .auth()
        .create_api_token(&kari, "DMS 2", None, T0)
        .await
        .unwrap();
    let nora = caller(store, "nora").await;
    for disabled in [true, false] {
        let u = store
            .users()
            .get_user(&nora.scope, &kari.user_id)
            .await
            .unwrap();
        store
            .users()
            .update_user(
                &nora.scope,
                &kari.user_id,
                UserPatch {
                    disabled: Some(disabled),
                    ..Default::default()
                },
                u.version,
                T0,
            )
            .await
            .unwrap();
    }
    assert!(!live(raw).await, "a re-enabled account has no old tokens");
}

/// Failed sign-ins slow the guesser (growing waits per account and address) without locking out the
/// real user elsewhere; every attempt, also on unknown usernames, is in the audit log.
pub async fn sign_in_slows_the_guesser_not_the_user(store: &Store) {
    seeded(store).await;
    let policy = LoginPolicy::default();
    let attempt = |password: &'static str, ip: &'static str, at: OffsetDateTime| {
        let policy = policy.clone();
        async move {
            store
                .auth()
                .login("lars", password, Some(ip), at, &policy)
                .await
        }
    };
    for _ in 0..5 {
        assert!(matches!(
            attempt("wrong password!", "10.1.1.1", T0).await,
            Err(LoginError::InvalidCredentials)
        ));
    }
    // Lars himself, at his desk, is not locked out by someone guessing elsewhere.
    attempt(demo::DEMO_PASSWORD, "10.9.9.9", T0).await.unwrap();
    // The guesser waits a minute, then two, and is told how long.
    match attempt("wrong password!", "10.1.1.1", T0).await {
        Err(LoginError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 60),
        other => panic!("expected a wait, got {other:?}"),
    }
    let t1 = T0 + Duration::seconds(61);
    assert!(matches!(
        attempt("wrong password!", "10.1.1.1", t1).await,
        Err(LoginError::InvalidCredentials)
    ));
    match attempt("wrong password!", "10.1.1.1", t1 + Duration::seconds(1)).await {
        Err(LoginError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 119),
        other => panic!("expected a longer wait, got {other:?}"),
    }
    // Unknown usernames are audited, and seen by the administrators at the top.
    let _ = store
        .auth()
        .login(
            "nobody-here",
            "whatever pass",
            Some("10.1.1.2"),
            T0,
            &policy,
        )
        .await;
    let seen = |who: &'static str| async move {
        let c = caller(store, who).await;
        store
            .audit()
            .list_audit_events(&c.scope, Some(AuditKind::LoginFailed), None, 200)
            .await
            .unwrap()
            .items
            .iter()
            .any(|e| e.subject_username.as_deref() == Some("nobody-here"))
    };
    assert!(
        seen("admin").await,
        "the installation's administrator sees it"
    );
    assert!(!seen("nora").await, "a market's administrator does not");
}

/// A request that dies after writing (between claim, effect and answer) is never run again; one
/// that died before writing is. The effect marks its claim in its own transaction.
pub async fn a_claim_that_wrote_is_never_run_twice(store: &Store) {
    use aftersales_store::idempotency::{with_key, Claim, STALE_CLAIM};
    seeded(store).await;
    let nora = caller(store, "nora").await;
    let norway = org_id(store, "Tesla Norway AS").await;
    let claim = |key: &'static str, at: OffsetDateTime| {
        let nora = nora.clone();
        async move {
            store
                .idempotency()
                .claim_idempotency_key(&nora, key, "POST", "/api/v1/organisations", b"{}", at)
                .await
                .unwrap()
        }
    };
    // The request claims, writes, and the server dies before the answer is stored.
    assert_eq!(claim("k-wrote", T0).await, Claim::Claimed);
    let new =
        NewOrganisation::parse(&norway, "service-point", "Tesla Ålesund", None, None).unwrap();
    with_key(
        &nora,
        "k-wrote",
        store.org().create_organisation(&nora.scope, &new, T0),
    )
    .await
    .unwrap();
    // While it could still be running, a retry waits; once stale, it hears the answer was lost.
    assert_eq!(
        claim("k-wrote", T0 + Duration::seconds(5)).await,
        Claim::InProgress
    );
    let later = T0 + STALE_CLAIM + Duration::seconds(10);
    assert_eq!(claim("k-wrote", later).await, Claim::AnswerLost);
    // A failed answer after writing keeps the key: releasing it does not free it.
    assert!(!store
        .idempotency()
        .release_idempotency_key(&nora, "k-wrote")
        .await
        .unwrap());
    assert_eq!(claim("k-wrote", later).await, Claim::AnswerLost);
    // A request that died before writing anything runs again once its claim is stale.
    assert_eq!(claim("k-idle", T0).await, Claim::Claimed);
    assert_eq!(
        claim("k-idle", T0 + Duration::seconds(5)).await,
        Claim::InProgress
    );
    assert_eq!(claim("k-idle", later).await, Claim::Claimed);
    // A write outside the request's scope does not touch its claim.
    let other =
        NewOrganisation::parse(&norway, "service-point", "Tesla Molde", None, None).unwrap();
    store
        .org()
        .create_organisation(&nora.scope, &other, later)
        .await
        .unwrap();
    assert!(store
        .idempotency()
        .release_idempotency_key(&nora, "k-idle")
        .await
        .unwrap());
}
