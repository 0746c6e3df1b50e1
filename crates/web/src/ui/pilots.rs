//! Pilots as a market manager runs them (`/pilots`): the pilots run from their organisations,
//! a form to set one up (the programme, its service points from a start date, the KPIs it should
//! move, the control group chosen by hand or proposed by matching), and a pilot's page to show
//! HQ: the design, the timeline, per KPI a chart of the pilot and control points month by month
//! with its table, the estimate with its interval, the placebo test and the verdict in words.

use aftersales_domain::kpi::{Kpi, KpiUnit};
use aftersales_domain::pilot::Verdict;
use aftersales_store::pilots::{
    ControlCandidate, ControlProposalInput, Pilot, PilotEvaluation, PilotInput, PilotKpiResult,
};
use aftersales_store::{Ref, StoreError};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::charts::{line_chart, Frame, Series};
use super::{field, form_pairs, or_page, render, Chrome, FormErrors, SignedIn};
use crate::i18n::Tr;
use crate::AppState;

/// Every value of a repeated field (`kpis`, `pilot_points`).
fn all(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, v)| k == name && !v.trim().is_empty())
        .map(|(_, v)| v.clone())
        .collect()
}

/// A KPI's value in the reader's words.
fn value(t: &Tr<'_>, k: Kpi, v: f64, currency: Option<&str>) -> String {
    super::kpis::value_text(t, k, v, currency)
}

/// An effect (a difference) in the reader's words: percentage points for a rate.
fn effect(t: &Tr<'_>, k: Kpi, v: f64, currency: Option<&str>) -> String {
    let text = match k.unit() {
        KpiUnit::Percent => format!("{} {}", t.dec(v, 1), t.t("pilot-pp")),
        _ => value(t, k, v, currency),
    };
    // A score carries its sign already; a rise is signed like a fall.
    if v > 0.0 && !text.starts_with('+') {
        format!("+{text}")
    } else {
        text
    }
}

/// A candidate point of the form: the point, ticked as pilot or control, its distance.
pub struct PointChoice {
    pub point: Ref,
    pub pilot: bool,
    pub control: bool,
    pub distance: String,
}

#[derive(Template)]
#[template(path = "pilots.html")]
struct PilotsPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    pilots: Vec<Pilot>,
    /// The organisations the reader may run pilots from.
    owners: Vec<Ref>,
    owner: String,
    name: String,
    programme: String,
    start_date: String,
    end_date: String,
    months_before: String,
    kpis: Vec<(String, String, bool)>,
    points: Vec<PointChoice>,
    method: String,
    proposed: bool,
    errors: FormErrors,
}

impl PilotsPage<'_> {
    fn points_of(&self, p: &Pilot, role: &str) -> String {
        let list = if role == "pilot" {
            &p.pilot_points
        } else {
            &p.control_points
        };
        list.iter()
            .map(|r| r.label.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
    fn kpi_names(&self, p: &Pilot) -> String {
        p.kpis
            .iter()
            .map(|k| self.t.t(&format!("kpi-name-{}", k.as_str())))
            .collect::<Vec<_>>()
            .join(", ")
    }
    fn date(&self, d: &time::Date) -> String {
        self.t.date(&d.to_string())
    }
}

async fn list_page(
    state: &AppState,
    s: &SignedIn,
    pairs: &[(String, String)],
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let p = state.store.pilots();
    let pilots = or_page!(state, &s.ctx, p.list(&s.caller.scope).await);
    let owners = or_page!(state, &s.ctx, p.owners(&s.caller.scope).await);
    let owner_id = field(pairs, "organisation_id");
    let chosen = owners
        .iter()
        .find(|(o, _)| o.id == owner_id)
        .or_else(|| owners.first());
    let owner = chosen.map(|(o, _)| o.id.clone()).unwrap_or_default();
    let ticked_kpis = all(pairs, "kpis");
    let pilot_points = all(pairs, "pilot_points");
    let mut control_points = all(pairs, "control_points");
    let mut method = field(pairs, "control_method").to_string();
    // "Propose a control group": the nearest points, ticked, the method noted.
    let mut proposal: Vec<ControlCandidate> = Vec::new();
    let proposed = field(pairs, "propose") == "1";
    let mut errors = errors;
    if proposed && !owner.is_empty() {
        let input = ControlProposalInput {
            organisation_id: owner.clone(),
            start_date: field(pairs, "start_date").to_string(),
            months_before: field(pairs, "months_before").trim().parse().ok(),
            kpis: ticked_kpis.clone(),
            pilot_points: pilot_points.clone(),
        };
        match p
            .propose_controls(&s.caller.scope, &input, state.now())
            .await
        {
            Ok(c) => {
                control_points = c
                    .iter()
                    .take(3.max(pilot_points.len()))
                    .map(|c| c.service_point.id.clone())
                    .collect();
                method = "matched".into();
                proposal = c;
            }
            Err(StoreError::Invalid(v)) => errors = FormErrors(v.0),
            Err(e) => return super::store_error(state, &s.ctx, e),
        }
    }
    let points = chosen
        .map(|(_, pts)| {
            pts.iter()
                .map(|r| PointChoice {
                    pilot: pilot_points.contains(&r.id),
                    control: control_points.contains(&r.id),
                    distance: proposal
                        .iter()
                        .find(|c| c.service_point.id == r.id)
                        .map(|c| t.dec(c.distance, 2))
                        .unwrap_or_default(),
                    point: r.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let kpis = Kpi::computed()
        .map(|k| {
            (
                k.as_str().to_string(),
                t.t(&format!("kpi-name-{}", k.as_str())),
                ticked_kpis.iter().any(|c| c == k.as_str()),
            )
        })
        .collect();
    let months_before = match field(pairs, "months_before") {
        "" => "6".to_string(),
        m => m.to_string(),
    };
    (
        status,
        render(&PilotsPage {
            chrome: Chrome::new(&t, &s.ctx),
            pilots,
            owners: owners.into_iter().map(|(o, _)| o).collect(),
            owner,
            name: field(pairs, "name").to_string(),
            programme: field(pairs, "programme").to_string(),
            start_date: field(pairs, "start_date").to_string(),
            end_date: field(pairs, "end_date").to_string(),
            months_before,
            kpis,
            points,
            method: if method.is_empty() {
                "chosen".into()
            } else {
                method
            },
            proposed,
            errors,
            t,
        }),
    )
        .into_response()
}

/// `/pilots`: the list and the form (`?propose=1` with the form's fields proposes controls).
pub async fn show(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let pairs = form_pairs(q.unwrap_or_default().as_bytes());
    list_page(&state, &s, &pairs, FormErrors::default(), StatusCode::OK).await
}

/// Sets up a pilot; its page next, or the form again with what was typed and the errors.
pub async fn create(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let months = field(&p, "months_before").trim();
    let input = PilotInput {
        organisation_id: field(&p, "organisation_id").to_string(),
        name: field(&p, "name").to_string(),
        programme: field(&p, "programme").to_string(),
        start_date: field(&p, "start_date").to_string(),
        end_date: Some(field(&p, "end_date").to_string()),
        months_before: if months.is_empty() {
            None
        } else {
            // Not a whole number: out of range, so the form says which field.
            Some(months.parse().unwrap_or(-1))
        },
        kpis: all(&p, "kpis"),
        pilot_points: all(&p, "pilot_points"),
        control_points: all(&p, "control_points"),
        control_method: Some(field(&p, "control_method").to_string()),
    };
    match state
        .store
        .pilots()
        .create(&s.caller.scope, &input, state.now())
        .await
    {
        Ok(pilot) => super::see_other(&format!("/pilots/{}", pilot.id)),
        Err(StoreError::Invalid(v)) => {
            list_page(
                &state,
                &s,
                &p,
                FormErrors(v.0),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => super::store_error(&state, &s.ctx, e),
    }
}

/// One KPI of a pilot, ready to show.
pub struct KpiBlock {
    pub code: String,
    pub name: String,
    pub definition: String,
    pub chart: String,
    /// (month, pilot mean, control mean, synthetic twin, after the start)
    pub rows: Vec<(String, String, String, String, bool)>,
    pub synthetic: bool,
    /// Each point's values per month: (point, role, values).
    pub points: Vec<(String, String, Vec<String>)>,
    pub means: Vec<(String, String)>,
    pub estimate: String,
    pub interval: String,
    pub placebo: String,
    pub weights: String,
    pub verdict: String,
    pub verdict_class: &'static str,
    pub thin: String,
    /// Why the last months are not read (their 30 days still running), when so.
    pub unsettled: String,
}

#[derive(Template)]
#[template(path = "pilot.html")]
struct PilotPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    e: PilotEvaluation,
    timeline: Vec<(String, String)>,
    blocks: Vec<KpiBlock>,
    may_end: bool,
    errors: FormErrors,
}

impl PilotPage<'_> {
    fn method(&self) -> String {
        self.t.t(&format!(
            "pilot-method-{}",
            self.e.pilot.control_method.as_str()
        ))
    }
    fn labels(&self, v: &[Ref]) -> String {
        v.iter()
            .map(|r| r.label.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn cell(t: &Tr<'_>, k: Kpi, v: Option<f64>, currency: Option<&str>) -> String {
    v.map(|v| value(t, k, v, currency))
        .unwrap_or_else(|| "–".into())
}

fn block(t: &Tr<'_>, e: &PilotEvaluation, r: &PilotKpiResult) -> KpiBlock {
    let k = r.kpi;
    let cur = r.currency.as_deref();
    let first = e.months_before as f64;
    let xs = |values: &[Option<f64>]| -> Vec<(f64, Option<f64>)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64 - first, *v))
            .collect()
    };
    let mut series = vec![
        Series {
            points: xs(&r.pilot_mean),
            class: "series-a",
            dashed: false,
            dots: true,
            join: true,
        },
        Series {
            points: xs(&r.control_mean),
            class: "series-b",
            dashed: true,
            dots: true,
            join: true,
        },
    ];
    if let Some(s) = &r.synthetic {
        series.push(Series {
            points: xs(&s.synthetic),
            class: "bound",
            dashed: true,
            dots: false,
            join: true,
        });
    }
    let name = t.t(&format!("kpi-name-{}", k.as_str()));
    let title = t.with("pilot-chart-title", &[("kpi", &name)]);
    let y_fmt = |v: f64| value(t, k, v, cur);
    let x_fmt = |v: f64| format!("{v:+.0}");
    let chart = line_chart(
        &Frame {
            title: &title,
            x_label: &t.t("pilot-months-from-start"),
            y_label: &name,
            fmt: &y_fmt,
            x_fmt: Some(&x_fmt),
        },
        &series,
    );
    let rows = e
        .months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            (
                t.month(m),
                cell(t, k, r.pilot_mean[i], cur),
                cell(t, k, r.control_mean[i], cur),
                r.synthetic
                    .as_ref()
                    .map(|s| cell(t, k, s.synthetic.get(i).copied().flatten(), cur))
                    .unwrap_or_default(),
                i >= e.months_before,
            )
        })
        .collect();
    let points = r
        .series
        .iter()
        .map(|s| {
            (
                s.service_point.label.clone(),
                t.t(&format!("pilot-role-{}", s.role.as_str())),
                s.values.iter().map(|v| cell(t, k, *v, cur)).collect(),
            )
        })
        .collect();
    let (mut estimate, mut interval, mut placebo, mut means) =
        (String::new(), String::new(), String::new(), Vec::new());
    if let Some(d) = &r.did {
        estimate = effect(t, k, d.effect, cur);
        interval = t.with(
            "pilot-interval",
            &[
                ("lower", &effect(t, k, d.lower, cur)),
                ("upper", &effect(t, k, d.upper, cur)),
            ],
        );
        if let (Some(p), Some(n)) = (d.placebo_p, d.placebo_assignments) {
            placebo = t.with(
                "pilot-placebo",
                &[("p", &t.dec(p, 2)), ("n", &t.int(n as i64))],
            );
        }
        means = vec![
            (t.t("pilot-pilot-before"), value(t, k, d.pilot_before, cur)),
            (t.t("pilot-pilot-after"), value(t, k, d.pilot_after, cur)),
            (
                t.t("pilot-control-before"),
                value(t, k, d.control_before, cur),
            ),
            (
                t.t("pilot-control-after"),
                value(t, k, d.control_after, cur),
            ),
        ];
    }
    let mut weights = String::new();
    if let Some(s) = &r.synthetic {
        weights = t.with(
            "pilot-synthetic",
            &[
                ("gap", &effect(t, k, s.effect, cur)),
                (
                    "weights",
                    &s.weights
                        .iter()
                        .filter(|(_, w)| *w > 0.005)
                        .map(|(p, w)| format!("{} {} %", p.label, t.dec(w * 100.0, 0)))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                ("p", &t.dec(s.placebo_p, 2)),
                ("n", &t.int(s.placebo_points as i64)),
            ],
        );
    }
    let verdict = t.with(
        &format!("pilot-verdict-{}", r.verdict.as_str()),
        &[("kpi", &name)],
    );
    KpiBlock {
        code: k.as_str().to_string(),
        definition: t.t(&format!("kpi-def-{}", k.as_str())),
        name,
        chart,
        rows,
        synthetic: r.synthetic.is_some(),
        points,
        means,
        estimate,
        interval,
        placebo,
        weights,
        verdict,
        verdict_class: match r.verdict {
            Verdict::Improved => "green",
            Verdict::Worsened => "red",
            Verdict::NoClearEffect => "amber",
            Verdict::TooThin => "",
        },
        thin: r
            .thin
            .map(|x| t.t(&format!("pilot-thin-{}", x.as_str())))
            .unwrap_or_default(),
        unsettled: if r.months_counted < e.months.len() {
            t.n("pilot-unsettled", e.months.len() - r.months_counted)
        } else {
            String::new()
        },
    }
}

async fn pilot_page(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let e = or_page!(
        state,
        &s.ctx,
        state
            .store
            .pilots()
            .evaluate(&s.caller.scope, id, state.now())
            .await
    );
    let p = &e.pilot;
    let mut timeline = vec![(
        t.date(&p.created_at.date().to_string()),
        t.with(
            "pilot-tl-created",
            &[(
                "who",
                p.created_by
                    .as_ref()
                    .map(|r| r.label.as_str())
                    .unwrap_or("–"),
            )],
        ),
    )];
    if let Some(first) = e.months.first() {
        timeline.push((
            first.clone(),
            t.t1("pilot-tl-before", "n", &e.months_before.to_string()),
        ));
    }
    timeline.push((t.date(&p.start_date.to_string()), t.t("pilot-tl-start")));
    if let Some(m) = &e.left_out {
        timeline.push((m.clone(), t.t("pilot-tl-left-out")));
    }
    if let Some(end) = p.end_date {
        timeline.push((t.date(&end.to_string()), t.t("pilot-tl-end")));
    }
    let after = e.months.len().saturating_sub(e.months_before);
    timeline.push((
        e.months.last().cloned().unwrap_or_default(),
        t.t1("pilot-tl-after", "n", &after.to_string()),
    ));
    let blocks = e.results.iter().map(|r| block(&t, &e, r)).collect();
    let may_end = p.end_date.is_none()
        && s.caller.scope.permits(
            &p.organisation.id,
            aftersales_domain::org::Permission::KpiManage,
        );
    (
        status,
        render(&PilotPage {
            chrome: Chrome::new(&t, &s.ctx),
            timeline,
            blocks,
            may_end,
            errors,
            e,
            t,
        }),
    )
        .into_response()
}

/// `/pilots/{id}`: the pilot's page.
pub async fn pilot(State(state): State<AppState>, s: SignedIn, Path(id): Path<String>) -> Response {
    pilot_page(&state, &s, &id, FormErrors::default(), StatusCode::OK).await
}

/// Ends a pilot on a day.
pub async fn end(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    match state
        .store
        .pilots()
        .end(&s.caller.scope, &id, field(&p, "end_date"), state.now())
        .await
    {
        Ok(_) => super::see_other(&format!("/pilots/{id}")),
        Err(StoreError::Invalid(v)) => {
            pilot_page(
                &state,
                &s,
                &id,
                FormErrors(v.0),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => super::store_error(&state, &s.ctx, e),
    }
}
