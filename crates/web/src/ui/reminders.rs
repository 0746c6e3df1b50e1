//! Service reminders as the advisor works them: who is due (overdue, due soon, later within the
//! chosen days), with the item in the reader's language, when the customer was reminded and
//! whether a time is booked; maintenance done elsewhere recorded on the spot; seasonal campaigns
//! listed, and planned by those who manage customer messages.

use aftersales_domain::org::Permission;
use aftersales_domain::reminders::{ItemKind, Standing};
use aftersales_store::reminders::{Campaign, CampaignInput, DueItem, MaintenanceInput};
use aftersales_store::StoreError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{field, form_pairs, render, store_error, Chrome, FormErrors, Sent, SignedIn};
use crate::i18n::Tr;
use crate::AppState;

/// The windows the list offers, in days.
const WINDOWS: [u32; 3] = [30, 60, 90];

#[derive(Template)]
#[template(path = "reminders.html")]
struct RemindersPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    days: u32,
    windows: [u32; 3],
    due: Vec<DueItem>,
    campaigns: Vec<Campaign>,
    /// Where the reader may plan campaigns: (organisation id, name); empty hides the form.
    owners: Vec<(String, String)>,
    languages: [aftersales_domain::i18n::Language; 3],
    today: String,
    zone: aftersales_domain::calendar::Zone,
    errors: FormErrors,
    sent: Sent,
    done: String,
    /// The reader sets up the workshop somewhere: the schedules are theirs to keep.
    can_schedule: bool,
}

impl RemindersPage<'_> {
    fn item(&self, d: &DueItem) -> String {
        d.name.get(self.t.lang).to_string()
    }
    fn standing(&self, d: &DueItem) -> String {
        self.t.t(match d.standing {
            Standing::Overdue => "rem-overdue",
            Standing::DueSoon => "rem-due-soon",
            Standing::Later => "rem-later",
        })
    }
    fn standing_class(&self, d: &DueItem) -> &'static str {
        match d.standing {
            Standing::Overdue => "badge warn",
            Standing::DueSoon => "badge",
            Standing::Later => "badge quiet",
        }
    }
    fn kind(&self, d: &DueItem) -> String {
        self.t.t(match d.kind {
            ItemKind::Service => "rem-kind-service",
            ItemKind::Inspection => "rem-kind-inspection",
        })
    }
    fn when(&self, at: &time::OffsetDateTime) -> String {
        super::local_time(self.zone, *at)
    }
    fn title(&self, c: &Campaign) -> String {
        c.title.get(self.t.lang).to_string()
    }
    fn message(&self, c: &Campaign) -> String {
        c.message.get(self.t.lang).to_string()
    }
    fn may_withdraw(&self, c: &Campaign) -> bool {
        c.status == "planned" && self.owners.iter().any(|(id, _)| *id == c.organisation.id)
    }
    fn status(&self, c: &Campaign) -> String {
        self.t.t(&format!("rem-campaign-{}", c.status))
    }
}

async fn page(
    state: &AppState,
    s: &SignedIn,
    days: u32,
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
    done: String,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let now = state.now();
    let store = state.store.reminders();
    let due = match store.due(&s.caller.scope, days, now).await {
        Ok(d) => d,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let campaigns = match store.campaigns(&s.caller.scope).await {
        Ok(c) => c,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let owners = match super::orgs_named(state, s, Permission::NotifyManage).await {
        Ok(o) => o,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let zone = match super::reader_zone(state, s).await {
        Ok(z) => z,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    (
        status,
        render(&RemindersPage {
            chrome: Chrome::new(&t, &s.ctx),
            days,
            windows: WINDOWS,
            due,
            campaigns,
            owners,
            languages: aftersales_domain::i18n::Language::ALL,
            today: aftersales_store::billing::format_date(zone.local(now).date()),
            zone,
            errors,
            sent,
            done,
            can_schedule: !s
                .caller
                .scope
                .orgs_with(Permission::WorkshopManage)
                .is_empty(),
            t,
        }),
    )
        .into_response()
}

fn days_of(q: &[(String, String)]) -> u32 {
    field(q, "days")
        .parse::<u32>()
        .ok()
        .filter(|d| WINDOWS.contains(d))
        .unwrap_or(WINDOWS[0])
}

pub async fn list(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    let done = field(&q, "done").to_string();
    page(
        &state,
        &s,
        days_of(&q),
        Default::default(),
        StatusCode::OK,
        done,
    )
    .await
}

/// Maintenance done elsewhere, recorded from a row of the list.
pub async fn record_done(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let km = field(&p, "km").trim();
    let km_value = if km.is_empty() {
        None
    } else {
        match km.replace([' ', '.'], "").parse::<u32>() {
            Ok(v) => Some(v),
            Err(_) => Some(u32::MAX),
        }
    };
    let input = MaintenanceInput {
        schedule_id: field(&p, "schedule_id").to_string(),
        done_on: field(&p, "done_on").to_string(),
        km: km_value,
    };
    let days = days_of(&p);
    let r = state
        .store
        .reminders()
        .record_maintenance(
            &s.caller.scope,
            field(&p, "vehicle_id"),
            &input,
            state.now(),
        )
        .await
        .map(|_| ());
    let back = format!("/reminders?days={days}&done=recorded");
    super::after_form(&state, &s, r, &back, |errors| {
        page(
            &state,
            &s,
            days,
            (
                errors,
                Sent::new(
                    format!(
                        "done-{}-{}",
                        field(&p, "vehicle_id"),
                        field(&p, "schedule_id")
                    ),
                    p.clone(),
                ),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            String::new(),
        )
    })
    .await
}

pub async fn create_campaign(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let f = |name: &str| field(&p, name).to_string();
    let input = CampaignInput {
        organisation_id: f("organisation_id"),
        title_nb: f("title_nb"),
        title_en: f("title_en"),
        title_pt: f("title_pt"),
        message_nb: f("message_nb"),
        message_en: f("message_en"),
        message_pt: f("message_pt"),
        models: f("models"),
        send_on: f("send_on"),
    };
    let r = state
        .store
        .reminders()
        .create_campaign(&s.caller.scope, &input, state.now())
        .await
        .map(|_| ());
    super::after_form(&state, &s, r, "/reminders?done=campaign", |errors| {
        page(
            &state,
            &s,
            WINDOWS[0],
            (errors, Sent::new("campaign", p.clone())),
            StatusCode::UNPROCESSABLE_ENTITY,
            String::new(),
        )
    })
    .await
}

/// Withdraws a planned campaign (a button on its row).
pub async fn withdraw_campaign(
    State(state): State<AppState>,
    s: SignedIn,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let r = state
        .store
        .reminders()
        .withdraw_campaign(&s.caller.scope, &id)
        .await;
    super::after_form(&state, &s, r, "/reminders?done=withdrawn", |errors| {
        page(
            &state,
            &s,
            WINDOWS[0],
            (errors, Sent::default()),
            StatusCode::UNPROCESSABLE_ENTITY,
            String::new(),
        )
    })
    .await
}

#[derive(Template)]
#[template(path = "service_schedules.html")]
struct SchedulesPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    /// Per organisation the reader sets up the workshop at: (id, name, items that apply there).
    orgs: Vec<(
        String,
        String,
        Vec<aftersales_store::reminders::ScheduleItem>,
    )>,
    kinds: &'static [ItemKind],
    languages: [aftersales_domain::i18n::Language; 3],
    errors: FormErrors,
    sent: Sent,
    done: bool,
}

impl SchedulesPage<'_> {
    fn name(&self, s: &aftersales_store::reminders::ScheduleItem) -> String {
        s.name.get(self.t.lang).to_string()
    }
    fn later(&self, s: &aftersales_store::reminders::ScheduleItem) -> Option<String> {
        let (from, every) = (
            s.interval.later_from_months?,
            s.interval.later_every_months?,
        );
        Some(self.t.with(
            "rem-schedule-later",
            &[("from", &from.to_string()), ("months", &every.to_string())],
        ))
    }
    fn kind(&self, k: &ItemKind) -> String {
        self.t.t(match k {
            ItemKind::Service => "rem-kind-service",
            ItemKind::Inspection => "rem-kind-inspection",
        })
    }
}

async fn schedules_page(
    state: &AppState,
    s: &SignedIn,
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
    done: bool,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let named = match super::orgs_named(state, s, Permission::WorkshopManage).await {
        Ok(o) => o,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    if named.is_empty() {
        return store_error(
            state,
            &s.ctx,
            StoreError::Forbidden(Permission::WorkshopManage.describe().into()),
        );
    }
    let mut orgs = Vec::new();
    for (id, name) in named {
        let items = match state
            .store
            .reminders()
            .schedules(&s.caller.scope, &id)
            .await
        {
            Ok(i) => i,
            Err(e) => return store_error(state, &s.ctx, e),
        };
        orgs.push((id, name, items));
    }
    (
        status,
        render(&SchedulesPage {
            chrome: Chrome::new(&t, &s.ctx),
            orgs,
            kinds: ItemKind::ALL,
            languages: aftersales_domain::i18n::Language::ALL,
            errors,
            sent,
            done,
            t,
        }),
    )
        .into_response()
}

pub async fn schedules(
    State(state): State<AppState>,
    s: SignedIn,
    RawQuery(q): RawQuery,
) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    let done = field(&q, "done") == "schedule";
    schedules_page(&state, &s, Default::default(), StatusCode::OK, done).await
}

/// A whole number typed into a form, or a field error naming it; empty is none.
fn number(
    p: &[(String, String)],
    name: &str,
    errs: &mut aftersales_domain::ValidationErrors,
) -> Option<u32> {
    let v = field(p, name).trim().replace(' ', "");
    if v.is_empty() {
        return None;
    }
    match v.parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => {
            errs.push(aftersales_domain::FieldError::new(
                name,
                aftersales_domain::Rule::Format,
                format!("{name} must be a whole number"),
            ));
            None
        }
    }
}

/// Writes a schedule item (new, or changed under the same code) at an organisation.
pub async fn set_schedule(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let mut errs = aftersales_domain::ValidationErrors::default();
    let first = number(&p, "first_months", &mut errs);
    let every = number(&p, "every_months", &mut errs);
    let input = aftersales_store::reminders::ScheduleInput {
        kind: field(&p, "kind").to_string(),
        model: Some(field(&p, "model").to_string()),
        name: aftersales_store::reminders::Texts {
            nb: field(&p, "name_nb").to_string(),
            en: field(&p, "name_en").to_string(),
            pt: field(&p, "name_pt").to_string(),
        },
        first_months: first.or(every).unwrap_or(0),
        every_months: every.unwrap_or(0),
        every_km: number(&p, "every_km", &mut errs),
        later_from_months: number(&p, "later_from_months", &mut errs),
        later_every_months: number(&p, "later_every_months", &mut errs),
        operation_code: Some(field(&p, "operation_code").to_string()),
        remind_days: number(&p, "remind_days", &mut errs),
    };
    let r = match errs.into_result() {
        Err(e) => Err(e.into()),
        Ok(()) => state
            .store
            .reminders()
            .set_schedule(
                &s.caller.scope,
                field(&p, "organisation_id"),
                field(&p, "code"),
                &input,
                state.now(),
            )
            .await
            .map(|_| ()),
    };
    super::after_form(
        &state,
        &s,
        r,
        "/reminders/schedules?done=schedule",
        |errors| {
            schedules_page(
                &state,
                &s,
                (errors, Sent::new("schedule", p.clone())),
                StatusCode::UNPROCESSABLE_ENTITY,
                false,
            )
        },
    )
    .await
}
