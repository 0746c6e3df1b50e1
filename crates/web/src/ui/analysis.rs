//! Claim analysis as the market manager reads it (`/warranty/analysis`): claims per 1,000
//! vehicles by months in service (a row per delivery quarter, the pooled curve drawn), cost per
//! unit with recovery and goodwill by who bears it, a Weibull fit of a component's first failure
//! with its bounds, and the early warning: each component's monthly claim rate on a Laney u′
//! chart, the components whose rate rose in the last three months listed with a link to their
//! claims. Every figure says how it is computed; every chart has its numbers in a table beside
//! it; the tables download as CSV.

use aftersales_domain::analysis::funnel::Position;
use aftersales_domain::analysis::mis::MisMatrix;
use aftersales_domain::analysis::weibull::{WeibullError, WeibullFit};
use aftersales_domain::money::Money;
use aftersales_domain::warranty::goodwill::ComponentGroup;
use aftersales_store::warranty::{CostPerUnit, EarlyWarning, MisQuery, PeerFunnel, PeerMeasure};
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::charts::{line_chart, Frame, Series};
use super::{field, form_pairs, render, store_error, Chrome, SignedIn};
use crate::i18n::Tr;
use crate::AppState;

/// The months in service the table shows the cumulative rate at.
const MIS_COLUMNS: [u32; 7] = [3, 6, 12, 18, 24, 36, 48];
/// Months charted for the early warning; a signal in the last three counts as an alert.
const WARNING_MONTHS: u32 = 24;
const RECENT: usize = 3;

/// Months of claims the service points are compared over.
const PEER_MONTHS: u32 = 12;

/// One service point on a funnel, as the table shows it.
pub struct PeerRow {
    pub name: String,
    pub claims: String,
    pub value: String,
    pub limits: String,
    /// `above`, `below` or empty (inside the 99.8 % limits).
    pub outside: &'static str,
}

/// A funnel as the page shows it: its chart and rows.
pub struct PeerView {
    pub key: &'static str,
    /// What each point's size counts (claims, or vehicles serviced).
    pub size_label: String,
    pub chart: String,
    pub rows: Vec<PeerRow>,
    pub target: String,
}

/// A Weibull fit as the page shows it, by months in service or by km.
pub struct FitView {
    /// `fit` or `fit-km`: element ids and the keys of its labels.
    pub id: &'static str,
    /// The axis' label key.
    pub axis: &'static str,
    pub error: Option<String>,
    pub unstable: bool,
    /// β, η (each with bounds), failures, suspensions.
    pub facts: Option<(String, String, String, String)>,
    pub chart: String,
    /// (at, F, lower, upper).
    pub rows: Vec<(String, String, String, String)>,
}

/// The figures of a fit in the reader's words.
fn fit_view(
    t: &Tr<'_>,
    fit: &Result<WeibullFit, WeibullError>,
    chart: String,
    km: bool,
) -> FitView {
    let error = fit.as_ref().err().map(|e| match e {
        WeibullError::TooFewFailures { failures } => {
            t.t1("an-fit-too-few", "count", &failures.to_string())
        }
        _ => t.t("an-fit-none"),
    });
    let at: &[f64] = if km {
        &[10_000.0, 20_000.0, 40_000.0, 80_000.0, 120_000.0, 160_000.0]
    } else {
        &[12.0, 24.0, 36.0, 48.0, 60.0, 96.0]
    };
    let p = |v: f64| format!("{} %", t.dec(v * 100.0, 2));
    let (facts, rows, unstable) = match fit {
        Ok(f) => (
            Some((
                format!(
                    "{} ({}–{})",
                    t.dec(f.beta, 2),
                    t.dec(f.beta_ci.lower, 2),
                    t.dec(f.beta_ci.upper, 2)
                ),
                format!(
                    "{} ({}–{})",
                    t.dec(f.eta, 0),
                    t.dec(f.eta_ci.lower, 0),
                    t.dec(f.eta_ci.upper, 0)
                ),
                t.int(i64::try_from(f.failures).unwrap_or(i64::MAX)),
                t.int(i64::try_from(f.suspensions).unwrap_or(i64::MAX)),
            )),
            at.iter()
                .filter_map(|x| {
                    let e = f.unreliability_bounds(*x)?;
                    Some((t.dec(*x, 0), p(e.value), p(e.lower), p(e.upper)))
                })
                .collect(),
            f.unstable,
        ),
        Err(_) => (None, Vec::new(), false),
    };
    FitView {
        id: if km { "fit-km" } else { "fit" },
        axis: if km { "an-km-x" } else { "an-mis-x" },
        error,
        unstable,
        facts,
        chart: if fit.is_ok() { chart } else { String::new() },
        rows,
    }
}

/// A component whose claim rate rose lately: the months that signalled.
pub struct Alert {
    pub component: ComponentGroup,
    pub months: Vec<String>,
}

#[derive(Template)]
#[template(path = "warranty_analysis.html")]
struct Page<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    component: ComponentGroup,
    mis_component: Option<ComponentGroup>,
    /// Whether the reader may audit service points (the link to the audit shows).
    may_audit: bool,
    mis_model: Option<String>,
    mis_market: Option<String>,
    mis_point: Option<String>,
    points: Vec<(String, String)>,
    repairs: bool,
    /// The breakdown as a query string (for the downloads).
    mis_qs: String,
    models: Vec<String>,
    markets: Vec<(String, String)>,
    groups: &'static [ComponentGroup],
    mis: MisMatrix<String>,
    mis_chart: String,
    cpu: CostPerUnit,
    fits: Vec<FitView>,
    warning: Option<EarlyWarning>,
    warning_chart: String,
    alerts: Vec<Alert>,
    peers: Vec<PeerView>,
}

impl Page<'_> {
    fn group(&self, g: &ComponentGroup) -> String {
        self.t.t(&format!("gw-group-{}", g.as_str()))
    }
    fn n64(&self, v: &i64) -> String {
        self.t.int(*v)
    }
    fn nu(&self, v: &u64) -> String {
        self.t.int(i64::try_from(*v).unwrap_or(i64::MAX))
    }
    fn mis_columns(&self) -> &'static [u32] {
        &MIS_COLUMNS
    }
    fn cum(&self, cells: &[aftersales_domain::analysis::mis::MisCell], month: &u32) -> String {
        cells
            .get((*month as usize).wrapping_sub(1))
            .and_then(|c| c.cumulative_per_1000)
            .map_or_else(|| "–".to_string(), |v| self.t.dec(v, 1))
    }
    fn money(&self, minor: &i64) -> String {
        let currency = self.cpu.currency.as_deref().unwrap_or("EUR");
        self.t.money(&Money::new(*minor, currency))
    }
    fn per_unit(&self) -> String {
        self.cpu
            .per_unit()
            .map_or_else(|| "–".into(), |v| self.money(&(v.round() as i64)))
    }
    fn goodwill_per_unit(&self) -> String {
        let brand = self.cpu.goodwill[0];
        if self.cpu.vehicles > 0 {
            self.money(&(brand / self.cpu.vehicles))
        } else {
            "–".into()
        }
    }
    fn share(&self, v: Option<f64>) -> String {
        v.map_or_else(|| "–".into(), |v| format!("{} %", self.t.dec(v * 100.0, 1)))
    }
    fn revenue(&self) -> String {
        self.money(&(self.cpu.invoiced + self.cpu.claimed))
    }
    fn total_cost(&self) -> String {
        self.money(&(self.cpu.cost.parts + self.cpu.cost.labour + self.cpu.cost.sublet))
    }
    fn d(&self, v: f64, places: usize) -> String {
        self.t.dec(v, places)
    }
    fn month_of(&self, i: &usize) -> String {
        self.warning
            .as_ref()
            .and_then(|w| w.months.get(*i))
            .map(|d| d.to_string()[..7].to_string())
            .unwrap_or_default()
    }
}

/// The breakdown of claims per 1,000 the reader asked for (`mis`, `model`, `market`, `count`),
/// and the same as a query string for the downloads.
fn mis_query(q: &[(String, String)]) -> (MisQuery, String) {
    let opt = |n: &str| Some(field(q, n).trim().to_string()).filter(|v| !v.is_empty());
    let query = MisQuery {
        component: component_of(q, "mis"),
        model: opt("model"),
        market: opt("market"),
        service_point: opt("service_point"),
        repairs: field(q, "count") == "repairs",
    };
    let mut qs: Vec<(&str, String)> = Vec::new();
    if let Some(c) = query.component {
        qs.push(("mis", c.as_str().to_string()));
    }
    if let Some(m) = &query.model {
        qs.push(("model", m.clone()));
    }
    if let Some(m) = &query.market {
        qs.push(("market", m.clone()));
    }
    if let Some(p) = &query.service_point {
        qs.push(("service_point", p.clone()));
    }
    if query.repairs {
        qs.push(("count", "repairs".into()));
    }
    let s = serde_urlencoded::to_string(&qs).unwrap_or_default();
    (query, s)
}

/// Parses the component parameter; high-voltage when missing or unknown.
fn component_of(q: &[(String, String)], name: &str) -> Option<ComponentGroup> {
    ComponentGroup::parse(name, field(q, name)).ok()
}

/// `/warranty/analysis?component=…&mis=…`
pub async fn page(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    let component = component_of(&q, "component").unwrap_or(ComponentGroup::HighVoltage);
    let (mis_query, mis_qs) = mis_query(&q);
    let mis_component = mis_query.component;
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let today = state.now().date();
    let w = state.store.warranty();
    let scope = &s.caller.scope;
    let mis = match w.mis_matrix(scope, today, &mis_query, 48).await {
        Ok(m) => m,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let (models, markets) = match w.breakdowns(scope).await {
        Ok(b) => b,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let points = match w.service_points_analysed(scope).await {
        Ok(p) => p,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let cpu = match w.cost_per_unit(scope, today).await {
        Ok(c) => c,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let fit = match w.weibull_by_months(scope, today, component, 0.95).await {
        Ok(f) => f,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let mut alerts = Vec::new();
    let mut warning = None;
    let charts = match w.early_warnings(scope, today, WARNING_MONTHS).await {
        Ok(c) => c,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    for (g, chart) in &charts {
        let Ok(chart) = chart.clone() else {
            continue;
        };
        let recent: Vec<String> = chart
            .chart
            .signalled()
            .into_iter()
            .filter(|i| *i + RECENT >= chart.months.len())
            .filter_map(|i| chart.months.get(i).map(|d| d.to_string()[..7].to_string()))
            .collect();
        if !recent.is_empty() {
            alerts.push(Alert {
                component: *g,
                months: recent,
            });
        }
        if *g == component {
            warning = Some(chart);
        }
    }
    let fmt_int = |v: f64| t.dec(v, 0);
    let fmt_1 = |v: f64| t.dec(v, if v.abs() < 10.0 { 1 } else { 0 });
    let mis_chart = line_chart(
        &Frame {
            title: &t.t("an-mis-chart"),
            x_label: &t.t("an-mis-x"),
            y_label: &t.t("an-mis-y"),
            fmt: &fmt_1,
            x_fmt: None,
        },
        &[Series {
            points: mis
                .total
                .iter()
                .map(|c| (f64::from(c.month), c.cumulative_per_1000))
                .collect(),
            class: "series-a",
            dashed: false,
            dots: false,
            join: true,
        }],
    );
    let fit_chart = draw_fit(
        &t,
        &fit,
        (0..=48).map(|m| f64::from(m) * 2.0).collect(),
        "an-mis-x",
        1.0,
    );
    let fit_km = match w.weibull_by_km(scope, today, component, 0.95).await {
        Ok(f) => f,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let fit_km_chart = draw_fit(
        &t,
        &fit_km,
        (0..=40).map(|k| f64::from(k) * 5_000.0).collect(),
        "an-km-x",
        1000.0,
    );
    let warning_chart = match &warning {
        Some(wc) => {
            let pts =
                |pick: &dyn Fn(&aftersales_domain::analysis::control::ControlPoint) -> f64| {
                    wc.chart
                        .points
                        .iter()
                        .enumerate()
                        .map(|(i, p)| (i as f64 + 1.0, Some(pick(p))))
                        .collect::<Vec<_>>()
                };
            line_chart(
                &Frame {
                    title: &t.t("an-warning-chart"),
                    x_label: &t.t("an-warning-x"),
                    y_label: &t.t("an-warning-y"),
                    fmt: &fmt_int,
                    x_fmt: None,
                },
                &[
                    Series {
                        points: pts(&|p| p.rate),
                        class: "series-a",
                        dashed: false,
                        dots: true,
                        join: true,
                    },
                    Series {
                        points: pts(&|p| p.upper),
                        class: "limit",
                        dashed: true,
                        dots: false,
                        join: true,
                    },
                    Series {
                        points: pts(&|_| wc.chart.centre),
                        class: "centre",
                        dashed: false,
                        dots: false,
                        join: true,
                    },
                ],
            )
        }
        None => String::new(),
    };
    let mut peers = Vec::new();
    match w.peer_funnels(scope, today, PEER_MONTHS).await {
        Ok(all) => {
            for (_, f) in all {
                if let Ok(f) = f {
                    peers.push(peer_view(&t, &f, cpu.currency.as_deref().unwrap_or("EUR")));
                }
            }
        }
        Err(e) => return store_error(&state, &s.ctx, e),
    }
    render(&Page {
        peers,
        chrome: Chrome::new(&t, &s.ctx),
        component,
        mis_component,
        may_audit: !scope
            .orgs_with(aftersales_domain::org::Permission::WarrantyAudit)
            .is_empty(),
        mis_model: mis_query.model.clone(),
        mis_market: mis_query.market.clone(),
        mis_point: mis_query.service_point.clone(),
        points,
        repairs: mis_query.repairs,
        mis_qs,
        models,
        markets,
        groups: ComponentGroup::ALL,
        mis,
        mis_chart,
        cpu,
        fits: vec![
            fit_view(&t, &fit, fit_chart, false),
            fit_view(&t, &fit_km, fit_km_chart, true),
        ],
        warning,
        warning_chart,
        alerts,
        t,
    })
}

/// A measure's key in the texts, and what its values are divided by to show them.
fn peer_key(m: PeerMeasure) -> (&'static str, f64) {
    match m {
        PeerMeasure::LabourPerClaim => ("labour", 100.0),
        PeerMeasure::CostPerClaim => ("cost", 100.0),
        PeerMeasure::ClaimsPerVehicle => ("vehicle", 1.0),
    }
}

/// A funnel's chart (units by claims, the limit curves) and table in the reader's words.
fn peer_view(t: &Tr<'_>, f: &PeerFunnel, currency: &str) -> PeerView {
    let (key, scale) = peer_key(f.measure);
    let show = |v: f64| match f.measure {
        PeerMeasure::LabourPerClaim => format!("{} h", t.dec(v / scale, 2)),
        PeerMeasure::CostPerClaim => t.money(&Money::new(v.round() as i64, currency)),
        PeerMeasure::ClaimsPerVehicle => t.dec(v, 2),
    };
    let sizes: Vec<f64> = f.funnel.points.iter().map(|p| p.size).collect();
    let hi = sizes.iter().copied().fold(1.0_f64, f64::max) * 1.15;
    let lo = (sizes.iter().copied().fold(f64::MAX, f64::min) * 0.5).max(1.0);
    let xs: Vec<f64> = (0..=40)
        .map(|i| lo + (hi - lo) * f64::from(i) / 40.0)
        .collect();
    let curve = |conf: f64, upper: bool| -> Vec<(f64, Option<f64>)> {
        xs.iter()
            .map(|n| {
                let l = f.funnel.limits_at(f.sd / n.sqrt(), conf);
                (*n, l.map(|l| if upper { l.upper } else { l.lower } / scale))
            })
            .collect()
    };
    let fmt = |v: f64| t.dec(v, if v.abs() < 10.0 { 1 } else { 0 });
    let title = t.t(&format!("an-peer-{key}"));
    let x_label = t.t(if f.measure == PeerMeasure::ClaimsPerVehicle {
        "an-vehicles-serviced"
    } else {
        "an-claims"
    });
    let y_label = t.t(&format!("an-peer-{key}-y"));
    let mut series = Vec::new();
    for (conf, class) in [(0.95, "bound"), (0.998, "limit")] {
        for upper in [true, false] {
            series.push(Series {
                points: curve(conf, upper),
                class,
                dashed: true,
                dots: false,
                join: true,
            });
        }
    }
    series.push(Series {
        points: xs
            .iter()
            .map(|n| (*n, Some(f.funnel.target / scale)))
            .collect(),
        class: "centre",
        dashed: false,
        dots: false,
        join: true,
    });
    series.push(Series {
        points: f
            .funnel
            .points
            .iter()
            .map(|p| (p.size, Some(p.value / scale)))
            .collect(),
        class: "series-a",
        dashed: false,
        dots: true,
        join: false,
    });
    let chart = line_chart(
        &Frame {
            title: &title,
            x_label: &x_label,
            y_label: &y_label,
            fmt: &fmt,
            x_fmt: None,
        },
        &series,
    );
    let rows = f
        .funnel
        .points
        .iter()
        .zip(&f.points)
        .map(|(p, (_, name))| PeerRow {
            name: name.clone(),
            claims: t.dec(p.size, 0),
            value: show(p.value),
            limits: format!(
                "{} – {}",
                show(p.limits_998.lower),
                show(p.limits_998.upper)
            ),
            outside: match p.position_998 {
                Position::Above => "above",
                Position::Below => "below",
                Position::Inside => "",
            },
        })
        .collect();
    PeerView {
        key,
        size_label: x_label,
        chart,
        rows,
        target: show(f.funnel.target),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `/warranty/analysis/mis.csv?mis=…`: the claims-per-1,000 matrix, a row per delivery quarter
/// and month in service (vehicles at risk, claims, per 1,000, cumulative per 1,000).
pub async fn mis_csv(
    State(state): State<AppState>,
    s: SignedIn,
    RawQuery(q): RawQuery,
) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    let (query, _) = mis_query(&q);
    let mis = match state
        .store
        .warranty()
        .mis_matrix(&s.caller.scope, state.now().date(), &query, 48)
        .await
    {
        Ok(m) => m,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let mut out = String::from(
        "cohort,month_in_service,vehicles_at_risk,claims,per_1000,cumulative_per_1000\n",
    );
    let rows = mis
        .rows
        .iter()
        .map(|r| (r.cohort.as_str(), &r.cells))
        .chain(std::iter::once(("total", &mis.total)));
    for (cohort, cells) in rows {
        for c in cells.iter().filter(|c| c.vehicles_at_risk > 0) {
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                csv_field(cohort),
                c.month,
                c.vehicles_at_risk,
                c.claims,
                c.per_1000.map(|v| format!("{v:.3}")).unwrap_or_default(),
                c.cumulative_per_1000
                    .map(|v| format!("{v:.3}"))
                    .unwrap_or_default()
            ));
        }
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"claims-per-1000.csv\"",
            ),
        ],
        out,
    )
        .into_response()
}

/// `/warranty/analysis/export.xlsx?component=…&mis=…`: the figures of the page as a workbook, a
/// sheet per table (claims per 1,000, cost per unit, the Weibull fit of every component by
/// months and by km, the early-warning chart of the component, the peer funnels), headed in the
/// reader's language, numbers as numbers.
pub async fn xlsx(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    use crate::xlsx::{workbook, Cell, Sheet, CONTENT_TYPE};
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    let component = component_of(&q, "component").unwrap_or(ComponentGroup::HighVoltage);
    let (mis_query, _) = mis_query(&q);
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let today = state.now().date();
    let w = state.store.warranty();
    let scope = &s.caller.scope;
    let group = |g: ComponentGroup| t.t(&format!("gw-group-{}", g.as_str()));
    let mut sheets = Vec::new();

    let mis = match w.mis_matrix(scope, today, &mis_query, 48).await {
        Ok(m) => m,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let mut rows = vec![vec![
        Cell::from(t.t("an-cohort")),
        Cell::from(t.t("an-mis-x")),
        Cell::from(t.t("an-at-risk")),
        Cell::from(t.t("an-claims")),
        Cell::from(t.t("an-per-1000")),
        Cell::from(t.t("an-cumulative")),
    ]];
    let all = mis
        .rows
        .iter()
        .map(|r| (r.cohort.clone(), &r.cells))
        .chain(std::iter::once((t.t("an-total"), &mis.total)));
    for (cohort, cells) in all {
        for c in cells.iter().filter(|c| c.vehicles_at_risk > 0) {
            rows.push(vec![
                Cell::from(cohort.clone()),
                Cell::from(i64::from(c.month)),
                Cell::from(i64::try_from(c.vehicles_at_risk).unwrap_or(i64::MAX)),
                Cell::from(i64::try_from(c.claims).unwrap_or(i64::MAX)),
                Cell::from(c.per_1000),
                Cell::from(c.cumulative_per_1000),
            ]);
        }
    }
    sheets.push(Sheet {
        name: t.t("an-mis"),
        rows,
    });

    let cpu = match w.cost_per_unit(scope, today).await {
        Ok(c) => c,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let major = |minor: i64| Cell::from(minor as f64 / 100.0);
    sheets.push(Sheet {
        name: t.t("an-cpu"),
        rows: vec![
            vec![
                Cell::from(t.t("an-figure")),
                Cell::from(cpu.currency.clone().unwrap_or_default()),
            ],
            vec![Cell::from(t.t("an-vehicles")), Cell::from(cpu.vehicles)],
            vec![Cell::from(t.t("an-claims")), Cell::from(cpu.claims)],
            vec![Cell::from(t.t("gw-parts")), major(cpu.cost.parts)],
            vec![Cell::from(t.t("gw-labour")), major(cpu.cost.labour)],
            vec![Cell::from(t.t("an-sublet")), major(cpu.cost.sublet)],
            vec![
                Cell::from(t.t("an-charged-back")),
                major(cpu.cost.charged_back),
            ],
            vec![
                Cell::from(t.t("an-per-unit")),
                Cell::from(cpu.per_unit().map(|v| v / 100.0)),
            ],
            vec![Cell::from(t.t("an-recovered")), major(cpu.cost.recovered)],
            vec![
                Cell::from(t.t("an-revenue")),
                major(cpu.invoiced + cpu.claimed),
            ],
            vec![
                Cell::from(t.t("an-revenue-share")),
                Cell::from(cpu.revenue_share()),
            ],
            vec![Cell::from(t.t("an-goodwill-brand")), major(cpu.goodwill[0])],
            vec![
                Cell::from(t.t("an-goodwill-importer")),
                major(cpu.goodwill[1]),
            ],
            vec![
                Cell::from(t.t("an-goodwill-dealer")),
                major(cpu.goodwill[2]),
            ],
            vec![
                Cell::from(t.t("an-goodwill-customer")),
                major(cpu.goodwill[3]),
            ],
        ],
    });

    let mut rows = vec![vec![
        Cell::from(t.t("gw-group")),
        Cell::from(t.t("an-axis")),
        Cell::from(t.t("an-beta")),
        Cell::from(t.t("an-lower")),
        Cell::from(t.t("an-upper")),
        Cell::from(t.t("an-eta-plain")),
        Cell::from(t.t("an-lower")),
        Cell::from(t.t("an-upper")),
        Cell::from(t.t("an-failures")),
        Cell::from(t.t("an-suspensions")),
        Cell::from(t.t("an-log-likelihood")),
    ]];
    for g in ComponentGroup::ALL {
        for (axis, fit) in [
            (
                "an-mis-x",
                w.weibull_by_months(scope, today, *g, 0.95).await,
            ),
            ("an-km-x", w.weibull_by_km(scope, today, *g, 0.95).await),
        ] {
            let fit = match fit {
                Ok(f) => f,
                Err(e) => return store_error(&state, &s.ctx, e),
            };
            let mut row = vec![Cell::from(group(*g)), Cell::from(t.t(axis))];
            match fit {
                Ok(f) => row.extend([
                    Cell::from(f.beta),
                    Cell::from(f.beta_ci.lower),
                    Cell::from(f.beta_ci.upper),
                    Cell::from(f.eta),
                    Cell::from(f.eta_ci.lower),
                    Cell::from(f.eta_ci.upper),
                    Cell::from(i64::try_from(f.failures).unwrap_or(i64::MAX)),
                    Cell::from(i64::try_from(f.suspensions).unwrap_or(i64::MAX)),
                    Cell::from(f.log_likelihood),
                ]),
                Err(_) => row.push(Cell::from(t.t("an-fit-none"))),
            }
            rows.push(row);
        }
    }
    sheets.push(Sheet {
        name: t.t("an-weibull-sheet"),
        rows,
    });

    match w
        .early_warning(scope, today, component, WARNING_MONTHS)
        .await
    {
        Ok(Ok(wc)) => {
            let mut rows = vec![vec![
                Cell::from(t.t("an-month")),
                Cell::from(t.t("an-claims")),
                Cell::from(t.t("an-at-risk")),
                Cell::from(t.t("an-warning-y")),
                Cell::from(t.t("an-upper-limit")),
                Cell::from(t.t("an-signal")),
            ]];
            for (m, p) in wc.months.iter().zip(&wc.chart.points) {
                rows.push(vec![
                    Cell::from(m.to_string()[..7].to_string()),
                    Cell::from(i64::try_from(p.count).unwrap_or(i64::MAX)),
                    Cell::from((p.exposure * 1000.0).round()),
                    Cell::from(p.rate),
                    Cell::from(p.upper),
                    Cell::from(if p.signals() {
                        t.t("an-signal-yes")
                    } else {
                        String::new()
                    }),
                ]);
            }
            sheets.push(Sheet {
                name: group(component),
                rows,
            });
        }
        Ok(Err(_)) => {}
        Err(e) => return store_error(&state, &s.ctx, e),
    }

    let mut rows = vec![vec![
        Cell::from(t.t("an-measure")),
        Cell::from(t.t("wc-service-point")),
        Cell::from(t.t("an-peer-size")),
        Cell::from(t.t("an-value")),
        Cell::from(t.t("an-lower")),
        Cell::from(t.t("an-upper")),
        Cell::from(t.t("an-signal")),
    ]];
    let funnels = match w.peer_funnels(scope, today, PEER_MONTHS).await {
        Ok(f) => f,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    for (measure, f) in funnels {
        let Ok(f) = f else { continue };
        let (key, scale) = peer_key(measure);
        for (p, (_, name)) in f.funnel.points.iter().zip(&f.points) {
            rows.push(vec![
                Cell::from(t.t(&format!("an-peer-{key}-y"))),
                Cell::from(name.clone()),
                Cell::from(p.size),
                Cell::from(p.value / scale),
                Cell::from(p.limits_998.lower / scale),
                Cell::from(p.limits_998.upper / scale),
                Cell::from(match p.position_998 {
                    Position::Above => t.t("an-peer-above"),
                    Position::Below => t.t("an-peer-below"),
                    Position::Inside => String::new(),
                }),
            ]);
        }
    }
    sheets.push(Sheet {
        name: t.t("an-peers"),
        rows,
    });

    match workbook(&sheets) {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, CONTENT_TYPE),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"claim-analysis.xlsx\"",
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => store_error(
            &state,
            &s.ctx,
            aftersales_store::StoreError::Internal(format!("workbook: {e}")),
        ),
    }
}

/// A Weibull fit's unreliability F(t) with its bounds, at `xs` (drawn divided by `x_scale`).
fn draw_fit(
    t: &Tr<'_>,
    fit: &Result<WeibullFit, WeibullError>,
    xs: Vec<f64>,
    x_label: &str,
    x_scale: f64,
) -> String {
    let Ok(f) = fit else {
        return String::new();
    };
    let fmt_1 = |v: f64| t.dec(v, if v.abs() < 10.0 { 1 } else { 0 });
    let pct = |v: Option<f64>| v.map(|v| v * 100.0);
    let line = |pick: &dyn Fn(f64) -> Option<f64>| -> Vec<(f64, Option<f64>)> {
        xs.iter().map(|a| (*a / x_scale, pct(pick(*a)))).collect()
    };
    let series = |points, class, dashed| Series {
        points,
        class,
        dashed,
        dots: false,
        join: true,
    };
    let x_label = if x_scale > 1.0 {
        t.t("an-km-x-thousands")
    } else {
        t.t(x_label)
    };
    line_chart(
        &Frame {
            title: &t.t("an-fit-chart"),
            x_label: &x_label,
            y_label: &t.t("an-fit-y"),
            fmt: &fmt_1,
            x_fmt: None,
        },
        &[
            series(line(&|a| f.unreliability(a)), "series-a", false),
            series(
                line(&|a| f.unreliability_bounds(a).map(|e| e.lower)),
                "bound",
                true,
            ),
            series(
                line(&|a| f.unreliability_bounds(a).map(|e| e.upper)),
                "bound",
                true,
            ),
        ],
    )
}
