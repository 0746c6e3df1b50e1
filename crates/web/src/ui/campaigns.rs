//! Recalls and service campaigns as people work them: the list with completion, a new campaign
//! (VINs from CSV or by rule) for those who run them, a campaign's page with completion per
//! service point, its VINs and the form to record one done (workshop or over the air).

use aftersales_domain::org::Permission;
use aftersales_domain::warranty::campaigns::{CampaignKind, Remedy};
use aftersales_store::warranty::{
    CampaignDoneInput, CampaignVehicle, RecallCampaign, RecallCampaignInput,
};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{
    field, form_pairs, render, see_other, store_error, Chrome, FormErrors, Sent, SignedIn,
};
use crate::i18n::Tr;
use crate::AppState;

fn title(t: &Tr<'_>, names: &aftersales_domain::i18n::LocalNames) -> String {
    names
        .get(t.lang.code())
        .or_else(|| names.get("en"))
        .cloned()
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "campaigns.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    campaigns: Vec<RecallCampaign>,
    /// Where the reader may run campaigns: (organisation id, name).
    owners: Vec<(String, String)>,
    kinds: &'static [CampaignKind],
    remedies: &'static [Remedy],
    errors: FormErrors,
    sent: Sent,
}

impl ListPage<'_> {
    fn title(&self, c: &RecallCampaign) -> String {
        title(&self.t, &c.title)
    }
    fn kind(&self, k: &CampaignKind) -> String {
        self.t.t(&format!("cp-kind-{}", k.as_str()))
    }
    fn remedy(&self, r: &Remedy) -> String {
        self.t.t(&format!("cp-remedy-{}", r.as_str()))
    }
}

async fn list_page(
    state: &AppState,
    s: &SignedIn,
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let campaigns = match state.store.warranty().campaigns(&s.caller.scope).await {
        Ok(c) => c,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let mut owners = match super::orgs_named(state, s, Permission::WarrantyReview).await {
        Ok(o) => o,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    // Only a brand's headquarters or a market entity runs campaigns.
    let mut keep = Vec::new();
    for (id, name) in owners.drain(..) {
        if let Ok(o) = state
            .store
            .org()
            .get_organisation(&s.caller.scope, &id)
            .await
        {
            if matches!(o.kind.as_str(), "brand-hq" | "market-entity") {
                keep.push((id, name));
            }
        }
    }
    (
        status,
        render(&ListPage {
            chrome: Chrome::new(&t, &s.ctx),
            campaigns,
            owners: keep,
            kinds: CampaignKind::ALL,
            remedies: Remedy::ALL,
            errors,
            sent,
            t,
        }),
    )
        .into_response()
}

pub async fn list(State(state): State<AppState>, s: SignedIn) -> Response {
    list_page(&state, &s, Default::default(), StatusCode::OK).await
}

pub async fn create(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let f = |n: &str| field(&p, n).to_string();
    let o = |n: &str| Some(field(&p, n).trim().to_string()).filter(|v| !v.is_empty());
    let num = |n: &str| o(n).map(|v| v.parse::<i64>().unwrap_or(-1));
    let input = RecallCampaignInput {
        organisation_id: f("organisation_id"),
        code: f("code"),
        kind: f("kind"),
        title_nb: f("title_nb"),
        title_en: f("title_en"),
        title_pt: f("title_pt"),
        remedy: f("remedy"),
        operation: o("operation"),
        part: o("part"),
        done_version: o("done_version"),
        vins_csv: o("vins_csv"),
        model: o("model"),
        year_from: num("year_from").and_then(|v| i32::try_from(v).ok()),
        year_to: num("year_to").and_then(|v| i32::try_from(v).ok()),
        serial_from: num("serial_from").and_then(|v| u32::try_from(v).ok()),
        serial_to: num("serial_to").and_then(|v| u32::try_from(v).ok()),
    };
    let r = state
        .store
        .warranty()
        .create_campaign(&s.caller.scope, &input, state.now())
        .await;
    super::answer(
        &state,
        &s,
        r,
        |c| see_other(&format!("/warranty/campaigns/{}", c.id)),
        |errors| {
            list_page(
                &state,
                &s,
                (errors, Sent::new("campaign", p.clone())),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "campaign.html")]
struct CampaignPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    c: RecallCampaign,
    vehicles: Vec<CampaignVehicle>,
    /// The reader's service points, where they record workshop remedies.
    points: Vec<(String, String)>,
    zone: aftersales_domain::calendar::Zone,
    errors: FormErrors,
    sent: Sent,
    done: bool,
    /// Customers told by the last press of "notify", when it was pressed.
    told: Option<String>,
    /// The reader runs this campaign: may tell the owners.
    may_notify: bool,
}

impl CampaignPage<'_> {
    fn title(&self) -> String {
        title(&self.t, &self.c.title)
    }
    fn kind(&self) -> String {
        self.t.t(&format!("cp-kind-{}", self.c.kind.as_str()))
    }
    fn remedy(&self) -> String {
        self.t.t(&format!("cp-remedy-{}", self.c.remedy.as_str()))
    }
    fn how(&self, v: &CampaignVehicle) -> String {
        v.done_how
            .map(|h| self.t.t(&format!("cp-remedy-{}", h.as_str())))
            .unwrap_or_default()
    }
    fn when(&self, at: &time::OffsetDateTime) -> String {
        super::local_time(self.zone, *at)
    }
    fn completion(&self) -> String {
        self.t.with(
            "cp-completion-text",
            &[
                ("done", &self.c.done.to_string()),
                ("affected", &self.c.affected.to_string()),
                ("pct", &self.c.completion_pct.to_string()),
            ],
        )
    }
}

async fn campaign_page(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
    (done, told): (bool, Option<String>),
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let w = state.store.warranty();
    let c = match w.campaign(&s.caller.scope, id).await {
        Ok(c) => c,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let vehicles = match w.campaign_vehicles(&s.caller.scope, id).await {
        Ok(v) => v,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let mut points = Vec::new();
    for (org, name) in match super::orgs_named(state, s, Permission::WorkshopWrite).await {
        Ok(o) => o,
        Err(e) => return store_error(state, &s.ctx, e),
    } {
        if let Ok(o) = state
            .store
            .org()
            .get_organisation(&s.caller.scope, &org)
            .await
        {
            if o.kind.as_str() == "service-point" {
                points.push((org, name));
            }
        }
    }
    let zone = match super::reader_zone(state, s).await {
        Ok(z) => z,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let may_notify = s
        .caller
        .scope
        .permits(&c.organisation.id, Permission::WarrantyReview);
    (
        status,
        render(&CampaignPage {
            told,
            may_notify,
            chrome: Chrome::new(&t, &s.ctx),
            c,
            vehicles,
            points,
            zone,
            errors,
            sent,
            done,
            t,
        }),
    )
        .into_response()
}

pub async fn show(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    let done = field(&q, "done") == "1";
    let told = Some(field(&q, "told").to_string())
        .filter(|t| t.bytes().all(|b| b.is_ascii_digit()) && !t.is_empty());
    campaign_page(
        &state,
        &s,
        &id,
        Default::default(),
        StatusCode::OK,
        (done, told),
    )
    .await
}

pub async fn record_done(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let o = |n: &str| Some(field(&p, n).trim().to_string()).filter(|v| !v.is_empty());
    let input = CampaignDoneInput {
        vin: field(&p, "vin").to_string(),
        how: field(&p, "how").to_string(),
        organisation_id: o("organisation_id"),
        software_version: o("software_version"),
    };
    let r = state
        .store
        .warranty()
        .campaign_done(&s.caller.scope, &id, &input, state.now())
        .await
        .map(|_| ());
    let back = format!("/warranty/campaigns/{id}?done=1");
    super::after_form(&state, &s, r, &back, |errors| {
        campaign_page(
            &state,
            &s,
            &id,
            (errors, Sent::new("done", p.clone())),
            StatusCode::UNPROCESSABLE_ENTITY,
            (false, None),
        )
    })
    .await
}

/// Tells the owners of the open VINs (a button for those who run the campaign).
pub async fn notify(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    match state
        .store
        .warranty()
        .notify_campaign(&s.caller.scope, &id, state.now())
        .await
    {
        Ok(n) => see_other(&format!("/warranty/campaigns/{id}?told={n}")),
        Err(e) => store_error(&state, &s.ctx, e),
    }
}
