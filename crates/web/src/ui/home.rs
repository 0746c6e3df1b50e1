//! The home page: what each of the caller's roles works with, and a panel per kind of role
//! (administration, the service network, the team at the service point).

use aftersales_domain::calendar::Zone;
use aftersales_domain::cases::Timer;
use aftersales_domain::org::{OrgKind, Role};
use aftersales_domain::workshop::RoStatus;
use aftersales_store::audit::AuditEvent;
use aftersales_store::cases::{Case, InboxFilter};
use aftersales_store::org::Organisation;
use aftersales_store::user::User;
use aftersales_store::StoreError;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use time::{Duration, OffsetDateTime};

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

/// One thing to do, on the home page: where it is, what it is, and whether it is late.
pub struct WorkItem {
    pub href: String,
    pub title: String,
    pub detail: String,
    pub urgent: bool,
}

/// A panel of the reader's work (their cases, tasks, today's cars, …), with a link to the full list.
pub struct WorkPanel {
    pub id: &'static str,
    pub heading: String,
    pub empty: String,
    pub items: Vec<WorkItem>,
    /// All there is, of which `items` shows the first few.
    pub total: usize,
    pub more: Option<(&'static str, String)>,
}

/// How many items a panel shows; the link leads to the rest.
const PANEL_ITEMS: usize = 8;

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
    work: Vec<WorkPanel>,
    zone: Zone,
}

impl HomePage<'_> {
    fn when(&self, at: &OffsetDateTime) -> String {
        super::local_time(self.zone, *at)
    }
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
    let zone = match me.memberships.first() {
        Some(m) => super::or_page!(
            state,
            &s.ctx,
            state.store.org().zone_of(&m.organisation_id).await
        ),
        None => Zone::OSLO,
    };
    let work = super::or_page!(state, &s.ctx, work(&state, &s, &t, &roles, zone).await);
    render(&HomePage {
        chrome: Chrome::new(&t, &s.ctx),
        t,
        me,
        sections,
        admin,
        network,
        team,
        work,
        zone,
    })
}

/// The clock time alone (`09:00`), for items of one day.
fn local(zone: Zone, at: OffsetDateTime) -> String {
    let l = zone.local(at);
    format!("{:02}:{:02}", l.hour(), l.minute())
}

fn late(c: &Case) -> bool {
    [&c.first_response, &c.resolution]
        .iter()
        .any(|x| matches!(x.state, Timer::AtRisk | Timer::Breached))
}

fn case_item(t: &Tr<'_>, c: &Case) -> WorkItem {
    let customer = c.customer.as_ref().map(|r| r.label.clone());
    WorkItem {
        href: format!("/cases/{}", c.id),
        title: format!("{} · {}", c.number, t.written(&c.subject)),
        detail: [
            customer,
            Some(t.t(&format!("status-{}", c.status.as_str()))),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · "),
        urgent: late(c),
    }
}

fn panel(
    t: &Tr<'_>,
    id: &'static str,
    items: Vec<WorkItem>,
    more: Option<(&'static str, &str)>,
) -> WorkPanel {
    WorkPanel {
        id,
        heading: t.t(&format!("home-{id}")),
        empty: t.t(&format!("home-{id}-empty")),
        total: items.len(),
        items: items.into_iter().take(PANEL_ITEMS).collect(),
        more: more.map(|(href, key)| (href, t.t(key))),
    }
}

/// The reader's work, by what their roles do: an advisor's open cases, tasks due, today's
/// appointments and cars ready for delivery; a manager's escalations and breaches; a technician's
/// jobs.
async fn work(
    state: &AppState,
    s: &SignedIn,
    t: &Tr<'_>,
    roles: &std::collections::BTreeSet<Role>,
    zone: Zone,
) -> Result<Vec<WorkPanel>, StoreError> {
    let scope = &s.caller.scope;
    let now = state.now();
    let has = |wanted: &[Role]| roles.iter().any(|r| wanted.contains(r));
    let mut out = Vec::new();
    let case_roles = [
        Role::ServiceAdvisor,
        Role::ServiceManager,
        Role::MarketCsManager,
        Role::ImporterStaff,
    ];
    if has(&case_roles) {
        let mine = state
            .store
            .cases()
            .inbox(scope, InboxFilter::Mine, now)
            .await?;
        out.push(panel(
            t,
            "my-cases",
            mine.iter().map(|c| case_item(t, c)).collect(),
            Some(("/inbox?view=mine", "home-all-my-cases")),
        ));
        let mut tasks = state.store.cases().my_tasks(scope).await?;
        tasks.retain(|k| k.done_at.is_none());
        tasks.sort_by_key(|k| k.due_at);
        out.push(panel(
            t,
            "tasks",
            tasks
                .iter()
                .map(|k| {
                    let day = zone.local(k.due_at).date();
                    WorkItem {
                        href: format!("/cases/{}", k.case_id),
                        title: t.written(&k.title),
                        detail: format!(
                            "{} · {} {}",
                            k.case_number,
                            t.date(&day.to_string()),
                            local(zone, k.due_at)
                        ),
                        urgent: k.due_at <= now,
                    }
                })
                .collect(),
            Some(("/tasks", "home-all-tasks")),
        ));
    }
    if has(&[Role::ServiceAdvisor, Role::ServiceManager]) {
        let today = zone.local(now).date();
        let day = (
            zone.instant(today.midnight()),
            zone.instant((today + Duration::days(1)).midnight()),
        );
        let ro_item = |r: &aftersales_store::workshop::RoSummary, when: Option<OffsetDateTime>| {
            let status = t.t(&format!("ro-status-{}", r.status.as_str()));
            WorkItem {
                href: format!("/workshop/repair-orders/{}", r.id),
                title: match when {
                    Some(at) => format!("{} · {}", local(zone, at), r.customer),
                    None => r.customer.clone(),
                },
                detail: [Some(r.number.clone()), r.vehicle.clone(), Some(status)]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · "),
                urgent: false,
            }
        };
        let mut today_ros = state
            .store
            .workshop()
            .repair_orders(scope, None, Some(day), None, 200)
            .await?
            .items;
        today_ros.retain(|r| r.status != RoStatus::Cancelled);
        today_ros.sort_by_key(|r| r.starts_at);
        out.push(panel(
            t,
            "today",
            today_ros.iter().map(|r| ro_item(r, r.starts_at)).collect(),
            Some(("/workshop", "home-board")),
        ));
        let ready = state
            .store
            .workshop()
            .repair_orders(scope, Some(RoStatus::Ready), None, None, 200)
            .await?
            .items;
        out.push(panel(
            t,
            "ready",
            ready.iter().map(|r| ro_item(r, None)).collect(),
            Some(("/workshop", "home-board")),
        ));
    }
    if has(&[Role::ServiceManager, Role::MarketCsManager]) {
        let mut cases = state
            .store
            .cases()
            .inbox(scope, InboxFilter::Escalated, now)
            .await?;
        for c in state
            .store
            .cases()
            .inbox(scope, InboxFilter::All, now)
            .await?
        {
            let breached = [&c.first_response, &c.resolution]
                .iter()
                .any(|x| x.state == Timer::Breached);
            if breached && !cases.iter().any(|e| e.id == c.id) {
                cases.push(c);
            }
        }
        out.push(panel(
            t,
            "escalations",
            cases.iter().map(|c| case_item(t, c)).collect(),
            Some(("/inbox?view=escalated", "home-all-escalations")),
        ));
    }
    if has(&[Role::Technician]) {
        let jobs = state.store.workshop().my_jobs(scope).await?;
        out.push(panel(
            t,
            "my-jobs",
            jobs.iter()
                .map(|(r, j)| WorkItem {
                    href: format!("/workshop/repair-orders/{}", r.id),
                    title: j.title.clone(),
                    detail: [Some(r.number.clone()), r.vehicle.clone()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" · "),
                    urgent: false,
                })
                .collect(),
            None,
        ));
    }
    if has(&[Role::ValetDriver]) {
        // Today's stops still to do on the driver's run sheet, in order.
        let today = zone.local(now).date();
        let runs = state.store.logistics().my_runs(scope, today).await?;
        let stops = runs
            .iter()
            .flat_map(|r| r.entries.iter())
            .filter(|e| !matches!(e.job.status.as_str(), "done" | "cancelled"))
            .map(|e| {
                let l = zone.local(e.at_customer);
                WorkItem {
                    href: "/logistics/run".into(),
                    title: format!(
                        "{:02}:{:02} {}",
                        l.hour(),
                        l.minute(),
                        t.t(&format!("lg-kind-{}", e.job.kind.as_str()))
                    ),
                    detail: [e.job.customer.label.clone(), e.job.address.clone()].join(" · "),
                    urgent: e.at_customer < now,
                }
            })
            .collect();
        out.push(panel(
            t,
            "my-stops",
            stops,
            Some(("/logistics/run", "home-all-stops")),
        ));
    }
    // Warranty: the claims whose next step is the reader's, the goodwill they may decide.
    let warranty_roles = [
        Role::ServiceAdvisor,
        Role::ServiceManager,
        Role::MarketCsManager,
        Role::ImporterStaff,
        Role::WarrantyAdministrator,
    ];
    if has(&warranty_roles) {
        let filter = aftersales_store::warranty::ClaimFilter {
            mine: true,
            ..Default::default()
        };
        let claims = state.store.warranty().claims(scope, &filter, now).await?;
        out.push(panel(
            t,
            "claims",
            claims
                .iter()
                .map(|c| WorkItem {
                    href: format!("/warranty/claims/{}", c.id),
                    title: format!("{} · {}", c.number, c.organisation.label),
                    detail: [
                        t.t(&format!("wc-status-{}", c.status.as_str())),
                        c.step_due
                            .map(|d| super::local_time(zone, d))
                            .unwrap_or_default(),
                    ]
                    .join(" · "),
                    urgent: c.overdue,
                })
                .collect(),
            Some(("/warranty", "home-all-claims")),
        ));
        let goodwill = state
            .store
            .warranty()
            .goodwill_requests(scope, true, None, None)
            .await?;
        if !goodwill.is_empty()
            || has(&[
                Role::ImporterStaff,
                Role::MarketCsManager,
                Role::WarrantyAdministrator,
            ])
        {
            out.push(panel(
                t,
                "goodwill",
                goodwill
                    .iter()
                    .map(|g| WorkItem {
                        href: format!("/warranty/goodwill/{}", g.id),
                        title: format!("{} · {}", g.number, g.organisation.label),
                        detail: format!(
                            "{} · {}",
                            t.money(&g.goodwill),
                            g.job_title
                                .clone()
                                .or_else(|| g.case.as_ref().map(|c| c.label.clone()))
                                .unwrap_or_default()
                        ),
                        urgent: false,
                    })
                    .collect(),
                Some(("/warranty/goodwill", "home-all-goodwill")),
            ));
        }
    }
    if scope
        .all_roles()
        .iter()
        .any(|r| r.grants(aftersales_domain::org::Permission::StandardsRead))
    {
        out.push(panel(
            t,
            "standards",
            standards_work(state, s, t).await?,
            Some(("/network", "home-all-standards")),
        ));
    }
    // One's own trainings: what is missing or runs out within 30 days.
    let today = zone.local(now).date();
    let gaps = state
        .store
        .training()
        .gaps(scope, today, 30, t.lang)
        .await?;
    if let Some(me) = gaps.people.iter().find(|p| p.person.id == scope.user_id()) {
        use aftersales_domain::training::TrainingStanding as S;
        out.push(panel(
            t,
            "training",
            me.requirements
                .iter()
                .filter_map(|r| {
                    let (detail, urgent) = match r.standing {
                        S::Held { .. } => return None,
                        S::Missing => (t.t("home-training-missing"), true),
                        S::Expired { expired_on } => (
                            t.with(
                                "home-training-expired",
                                &[("date", &t.date(&expired_on.to_string()))],
                            ),
                            true,
                        ),
                        S::Expiring { expires_on, .. } => (
                            t.with(
                                "home-training-expiring",
                                &[("date", &t.date(&expires_on.to_string()))],
                            ),
                            false,
                        ),
                    };
                    Some(WorkItem {
                        href: "/training".to_string(),
                        title: r.course.label.clone(),
                        detail,
                        urgent,
                    })
                })
                .collect(),
            Some(("/training", "home-all-training")),
        ));
    }
    Ok(out)
}

/// Dealer standards waiting for the reader: audits they run, self-assessments to fill, actions
/// they own that are open, actions waiting for their verification.
async fn standards_work(
    state: &AppState,
    s: &SignedIn,
    t: &Tr<'_>,
) -> Result<Vec<WorkItem>, StoreError> {
    use aftersales_domain::org::Permission;
    use aftersales_domain::standards::{ActionStatus, AuditStatus};
    let scope = &s.caller.scope;
    let now = state.now();
    let st = state.store.standards();
    let mut out = Vec::new();
    for a in st.audits(scope, Some(AuditStatus::Planned)).await? {
        let point = &a.service_point;
        let title = if a.auditor.id == scope.user_id() {
            t.with("home-standards-audit", &[("point", &point.label)])
        } else if !a.self_submitted && scope.permits(&point.id, Permission::StandardsSelfAssess) {
            t.with("home-standards-self", &[("point", &point.label)])
        } else {
            continue;
        };
        out.push(WorkItem {
            href: format!("/network/audits/{}", a.id),
            title,
            detail: t.date(&a.planned_on),
            urgent: false,
        });
    }
    for x in st.actions(scope, None, true, now).await? {
        let mine = x.owner.id == scope.user_id() && x.status == ActionStatus::Open;
        let verify = x.status == ActionStatus::Submitted
            && scope.permits(&x.service_point.id, Permission::StandardsAudit);
        if !(mine || verify) {
            continue;
        }
        out.push(WorkItem {
            href: format!("/network/actions/{}", x.id),
            title: x.title.clone(),
            detail: if verify {
                t.with(
                    "home-standards-verify",
                    &[("point", &x.service_point.label)],
                )
            } else {
                format!("{} · {}", x.service_point.label, t.date(&x.due_on))
            },
            urgent: x.overdue,
        });
    }
    Ok(out)
}
