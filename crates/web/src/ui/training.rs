//! Competence and training as people work them: the gap analysis (compliance per service point,
//! high-voltage apart; each person's missing, expired and expiring requirements within 30/60/90
//! days), the reader's own records, sessions with places (plan, register, attendance), recording
//! a training with its certificate, the catalogue of courses and profiles, e-learning mappings.

use aftersales_domain::org::{Permission, Role};
use aftersales_domain::training::{Compliance, TrainingStanding};
use aftersales_store::training::{
    AttendanceInput, CompetenceProfile, CompetenceProfileInput, GapReport, PersonGap,
    TrainingCourse, TrainingCourseInput, TrainingRecord, TrainingRecordInput, TrainingSession,
    TrainingSessionInput, XapiMapping, XapiMappingInput, XapiStatement,
};
use aftersales_store::StoreError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{
    field, form_pairs, form_with_named_files, or_page, render, Chrome, FormErrors, Sent, SignedIn,
};
use crate::i18n::Tr;
use crate::AppState;

#[derive(Template)]
#[template(path = "training.html")]
struct TrainingPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    report: GapReport,
    mine: Vec<TrainingRecord>,
    sessions: Vec<TrainingSession>,
    courses: Vec<TrainingCourse>,
    profiles: Vec<CompetenceProfile>,
    mappings: Vec<XapiMapping>,
    statements: Vec<XapiStatement>,
    /// Where the reader manages training (sessions, records): organisation id and name.
    manage: Vec<(String, String)>,
    /// Where the reader keeps a catalogue (brand, market, importer).
    catalogue_owners: Vec<(String, String)>,
    roles: &'static [Role],
    zone: aftersales_domain::calendar::Zone,
    errors: FormErrors,
    sent: Sent,
}

impl TrainingPage<'_> {
    fn pct(&self, c: &Compliance) -> String {
        match c.per_mille() {
            Some(p) => format!("{},{} %", p / 10, p % 10).replace(
                ',',
                if self.t.lang == aftersales_domain::i18n::Language::En {
                    "."
                } else {
                    ","
                },
            ),
            None => "–".into(),
        }
    }
    fn role(&self, r: &Role) -> String {
        self.t.t(&format!("role-{}", r.as_str()))
    }
    /// The requirements a person does not hold, or holds only for a while: one line each.
    fn issues(&self, p: &PersonGap) -> Vec<(String, &'static str)> {
        p.requirements
            .iter()
            .filter_map(|r| {
                let (text, class) = match r.standing {
                    TrainingStanding::Held { .. } => return None,
                    TrainingStanding::Missing => (
                        self.t.with("tr-missing", &[("course", &r.course.label)]),
                        "bad",
                    ),
                    TrainingStanding::Expired { expired_on } => (
                        self.t.with(
                            "tr-expired",
                            &[
                                ("course", &r.course.label),
                                ("date", &self.t.date(&expired_on.to_string())),
                            ],
                        ),
                        "bad",
                    ),
                    TrainingStanding::Expiring {
                        expires_on,
                        days_left,
                    } => (
                        self.t.with(
                            "tr-expiring",
                            &[
                                ("course", &r.course.label),
                                ("date", &self.t.date(&expires_on.to_string())),
                                ("days", &days_left.to_string()),
                            ],
                        ),
                        "warn",
                    ),
                };
                Some((
                    if r.high_voltage {
                        format!("{text} ⚡")
                    } else {
                        text
                    },
                    class,
                ))
            })
            .collect()
    }
    fn course_name(&self, c: &TrainingCourse) -> String {
        c.name
            .get(self.t.lang.code())
            .or_else(|| c.name.get("en"))
            .cloned()
            .unwrap_or_default()
    }
    /// A course referred to by id, by its name in the reader's language (its code otherwise).
    fn course_of(&self, r: &aftersales_store::Ref) -> String {
        self.courses
            .iter()
            .find(|c| c.id == r.id)
            .map(|c| self.course_name(c))
            .unwrap_or_else(|| r.label.clone())
    }
    fn profile_name(&self, p: &CompetenceProfile) -> String {
        p.name
            .get(self.t.lang.code())
            .or_else(|| p.name.get("en"))
            .cloned()
            .unwrap_or_default()
    }
    fn validity(&self, c: &TrainingCourse) -> String {
        match c.validity_months {
            Some(m) => self.t.with("tr-months", &[("n", &m.to_string())]),
            None => self.t.t("tr-for-good"),
        }
    }
    fn when(&self, s: &TrainingSession) -> String {
        super::local_time(self.zone, s.starts_at)
    }
    fn taken(&self, s: &TrainingSession) -> String {
        format!("{} / {}", s.attendees.len(), s.places)
    }
    fn attendance(&self, a: &aftersales_store::training::Attendee) -> String {
        self.t.t(&format!("tr-attendance-{}", a.status.as_str()))
    }
    fn result(&self, r: &TrainingRecord) -> String {
        self.t.t(if r.passed { "tr-passed" } else { "tr-failed" })
    }
    fn source(&self, r: &TrainingRecord) -> String {
        self.t.t(&format!("tr-source-{}", r.source.as_str()))
    }
    fn at(&self, s: &XapiStatement) -> String {
        super::local_time(self.zone, s.at)
    }
    fn window_link(&self, days: &i64) -> String {
        format!("/training?days={days}")
    }
    fn is_window(&self, days: &i64) -> bool {
        self.report.window_days == *days
    }
    fn may_manage(&self) -> bool {
        !self.manage.is_empty()
    }
}

async fn page(
    state: &AppState,
    s: &SignedIn,
    days: i64,
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let tr = state.store.training();
    let scope = &s.caller.scope;
    let zone = or_page!(state, &s.ctx, super::reader_zone(state, s).await);
    let today = zone.local(state.now()).date();
    let report = or_page!(state, &s.ctx, tr.gaps(scope, today, days, s.ctx.lang).await);
    let mine = or_page!(state, &s.ctx, tr.records_of(scope, scope.user_id()).await);
    let sessions = or_page!(state, &s.ctx, tr.sessions(scope, state.now()).await);
    let courses = or_page!(state, &s.ctx, tr.courses(scope).await);
    let profiles = or_page!(state, &s.ctx, tr.profiles(scope).await);
    let mappings = or_page!(state, &s.ctx, tr.mappings(scope).await);
    let statements = or_page!(state, &s.ctx, tr.statements(scope, 20).await);
    let manage = or_page!(
        state,
        &s.ctx,
        super::orgs_named(state, s, Permission::TrainingManage).await
    );
    let mut catalogue_owners = Vec::new();
    for (id, name) in &manage {
        let o = or_page!(
            state,
            &s.ctx,
            state.store.org().get_organisation(scope, id).await
        );
        if matches!(o.kind.as_str(), "brand-hq" | "market-entity" | "importer") {
            catalogue_owners.push((id.clone(), name.clone()));
        }
    }
    (
        status,
        render(&TrainingPage {
            chrome: Chrome::new(&t, &s.ctx),
            report,
            mine,
            sessions,
            courses,
            profiles,
            mappings,
            statements,
            manage,
            catalogue_owners,
            roles: &Role::ALL,
            zone,
            errors,
            sent,
            t,
        }),
    )
        .into_response()
}

pub async fn show(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    let days = match field(&q, "days") {
        "60" => 60,
        "90" => 90,
        _ => 30,
    };
    page(&state, &s, days, Default::default(), StatusCode::OK).await
}

/// After a form: back to the page, or the page again with the form as typed and its errors.
async fn after(
    state: &AppState,
    s: &SignedIn,
    r: Result<(), StoreError>,
    form: &str,
    p: Vec<(String, String)>,
) -> Response {
    super::after_form(state, s, r, "/training", |errors| {
        page(
            state,
            s,
            30,
            (errors, Sent::new(form, p.clone())),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    })
    .await
}

pub async fn record(
    State(state): State<AppState>,
    s: SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (p, files) = form_with_named_files(&headers, &body);
    let input = TrainingRecordInput {
        user_id: field(&p, "user_id").to_string(),
        course_id: field(&p, "course_id").to_string(),
        completed_on: field(&p, "completed_on").to_string(),
        passed: field(&p, "passed") != "0",
        certificate_name: None,
        certificate_base64: None,
    };
    let cert = files
        .iter()
        .find(|(n, _, _)| n == "certificate")
        .map(|(_, name, b)| (name.as_str(), b.as_slice()));
    let r = state
        .store
        .training()
        .record(&s.caller.scope, &input, cert, state.now())
        .await
        .map(|_| ());
    after(&state, &s, r, "record", p).await
}

/// A day and a time of day as a form sends them (`2026-12-14`, `09:00`).
fn local_time_of(day: &str, time: &str) -> Option<time::PrimitiveDateTime> {
    let d = time::Date::parse(
        day.trim(),
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    let t = time::Time::parse(
        time.trim(),
        &time::macros::format_description!("[hour]:[minute]"),
    )
    .ok()?;
    Some(d.with_time(t))
}

pub async fn add_session(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    // The form gives the day and time in the reader's zone.
    let zone = or_page!(state, &s.ctx, super::reader_zone(&state, &s).await);
    let starts = local_time_of(field(&p, "day"), field(&p, "time"))
        .and_then(|local| {
            zone.instant(local)
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let input = TrainingSessionInput {
        course_id: field(&p, "course_id").to_string(),
        organisation_id: field(&p, "organisation_id").to_string(),
        starts_at: starts,
        location: field(&p, "location").to_string(),
        places: field(&p, "places").trim().parse().unwrap_or(0),
    };
    let r = state
        .store
        .training()
        .add_session(&s.caller.scope, &input, state.now())
        .await
        .map(|_| ());
    after(&state, &s, r, "session", p).await
}

pub async fn attendance(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let input = AttendanceInput {
        user_id: field(&p, "user_id").to_string(),
        status: field(&p, "status").to_string(),
    };
    let r = state
        .store
        .training()
        .attendance(&s.caller.scope, &id, &input, state.now())
        .await
        .map(|_| ());
    after(&state, &s, r, &format!("attend:{id}"), p).await
}

pub async fn add_course(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let f = |n: &str| field(&p, n).to_string();
    let input = TrainingCourseInput {
        code: f("code"),
        name_nb: f("name_nb"),
        name_en: f("name_en"),
        name_pt: f("name_pt"),
        provider: f("provider"),
        duration_hours: field(&p, "duration_hours").trim().parse().unwrap_or(0),
        validity_months: Some(field(&p, "validity_months").trim())
            .filter(|v| !v.is_empty())
            .map(|v| v.parse().unwrap_or(0)),
        high_voltage: field(&p, "high_voltage") == "1",
    };
    let r = state
        .store
        .training()
        .add_course(
            &s.caller.scope,
            field(&p, "organisation_id"),
            &input,
            state.now(),
        )
        .await
        .map(|_| ());
    after(&state, &s, r, "course", p).await
}

pub async fn add_profile(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let f = |n: &str| field(&p, n).to_string();
    let input = CompetenceProfileInput {
        code: f("code"),
        name_nb: f("name_nb"),
        name_en: f("name_en"),
        name_pt: f("name_pt"),
        role: f("role"),
        grants: Some(f("grants")).filter(|g| !g.trim().is_empty()),
        course_ids: p
            .iter()
            .filter(|(k, _)| k == "course_ids")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    let r = state
        .store
        .training()
        .add_profile(
            &s.caller.scope,
            field(&p, "organisation_id"),
            &input,
            state.now(),
        )
        .await
        .map(|_| ());
    after(&state, &s, r, "profile", p).await
}

pub async fn add_mapping(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let input = XapiMappingInput {
        activity_id: field(&p, "activity_id").to_string(),
        course_id: field(&p, "course_id").to_string(),
    };
    let r = state
        .store
        .training()
        .add_mapping(
            &s.caller.scope,
            field(&p, "organisation_id"),
            &input,
            state.now(),
        )
        .await
        .map(|_| ());
    after(&state, &s, r, "mapping", p).await
}

/// A training record's certificate, downloaded.
pub async fn certificate(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let (name, kind, bytes) = or_page!(
        state,
        &s.ctx,
        state
            .store
            .training()
            .certificate(&s.caller.scope, &id)
            .await
    );
    crate::download::attachment_response(&name, &kind, bytes)
}
