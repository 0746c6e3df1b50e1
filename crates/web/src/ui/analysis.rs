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
use aftersales_store::warranty::{CostPerUnit, EarlyWarning, PeerFunnel, PeerMeasure};
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
    pub chart: String,
    pub rows: Vec<PeerRow>,
    pub target: String,
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
    groups: &'static [ComponentGroup],
    mis: MisMatrix<String>,
    mis_chart: String,
    cpu: CostPerUnit,
    fit: Result<WeibullFit, WeibullError>,
    fit_chart: String,
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
    fn nz(&self, v: &usize) -> String {
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
    fn total_cost(&self) -> String {
        self.money(&(self.cpu.cost.parts + self.cpu.cost.labour + self.cpu.cost.sublet))
    }
    fn d(&self, v: f64, places: usize) -> String {
        self.t.dec(v, places)
    }
    fn fit_error(&self) -> Option<String> {
        self.fit.as_ref().err().map(|e| match e {
            WeibullError::TooFewFailures { failures } => {
                self.t.t1("an-fit-too-few", "count", &failures.to_string())
            }
            _ => self.t.t("an-fit-none"),
        })
    }
    /// F(t) with bounds at a few ages, as percentages.
    fn fit_rows(&self) -> Vec<(u32, String, String, String)> {
        let Ok(fit) = &self.fit else {
            return Vec::new();
        };
        [12_u32, 24, 36, 48, 60, 96]
            .into_iter()
            .filter_map(|m| {
                let e = fit.unreliability_bounds(f64::from(m))?;
                let p = |v: f64| format!("{} %", self.t.dec(v * 100.0, 2));
                Some((m, p(e.value), p(e.lower), p(e.upper)))
            })
            .collect()
    }
    fn month_of(&self, i: &usize) -> String {
        self.warning
            .as_ref()
            .and_then(|w| w.months.get(*i))
            .map(|d| d.to_string()[..7].to_string())
            .unwrap_or_default()
    }
}

/// Parses the component parameter; high-voltage when missing or unknown.
fn component_of(q: &[(String, String)], name: &str) -> Option<ComponentGroup> {
    ComponentGroup::parse(name, field(q, name)).ok()
}

/// `/warranty/analysis?component=…&mis=…`
pub async fn page(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    let component = component_of(&q, "component").unwrap_or(ComponentGroup::HighVoltage);
    let mis_component = component_of(&q, "mis");
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let today = state.now().date();
    let w = state.store.warranty();
    let scope = &s.caller.scope;
    let mis = match w.mis_matrix(scope, today, mis_component, 48).await {
        Ok(m) => m,
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
    for g in ComponentGroup::ALL {
        let chart = match w.early_warning(scope, today, *g, WARNING_MONTHS).await {
            Ok(Ok(c)) => c,
            Ok(Err(_)) => continue,
            Err(e) => return store_error(&state, &s.ctx, e),
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
    let fit_chart = match &fit {
        Ok(f) => {
            let ages: Vec<f64> = (0..=48).map(|m| f64::from(m) * 2.0).collect();
            let pct = |v: Option<f64>| v.map(|v| v * 100.0);
            let line = |pick: &dyn Fn(f64) -> Option<f64>| -> Vec<(f64, Option<f64>)> {
                ages.iter().map(|a| (*a, pct(pick(*a)))).collect()
            };
            line_chart(
                &Frame {
                    title: &t.t("an-fit-chart"),
                    x_label: &t.t("an-mis-x"),
                    y_label: &t.t("an-fit-y"),
                    fmt: &fmt_1,
                },
                &[
                    Series {
                        points: line(&|a| f.unreliability(a)),
                        class: "series-a",
                        dashed: false,
                        dots: false,
                        join: true,
                    },
                    Series {
                        points: line(&|a| f.unreliability_bounds(a).map(|e| e.lower)),
                        class: "bound",
                        dashed: true,
                        dots: false,
                        join: true,
                    },
                    Series {
                        points: line(&|a| f.unreliability_bounds(a).map(|e| e.upper)),
                        class: "bound",
                        dashed: true,
                        dots: false,
                        join: true,
                    },
                ],
            )
        }
        Err(_) => String::new(),
    };
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
    for measure in [PeerMeasure::LabourPerClaim, PeerMeasure::CostPerClaim] {
        match w.peer_funnel(scope, today, measure, PEER_MONTHS).await {
            Ok(Ok(f)) => peers.push(peer_view(&t, &f, cpu.currency.as_deref().unwrap_or("EUR"))),
            Ok(Err(_)) => {}
            Err(e) => return store_error(&state, &s.ctx, e),
        }
    }
    render(&Page {
        peers,
        chrome: Chrome::new(&t, &s.ctx),
        component,
        mis_component,
        groups: ComponentGroup::ALL,
        mis,
        mis_chart,
        cpu,
        fit,
        fit_chart,
        warning,
        warning_chart,
        alerts,
        t,
    })
}

/// A funnel's chart (units by claims, the limit curves) and table in the reader's words.
fn peer_view(t: &Tr<'_>, f: &PeerFunnel, currency: &str) -> PeerView {
    let (key, scale) = match f.measure {
        PeerMeasure::LabourPerClaim => ("labour", 100.0),
        PeerMeasure::CostPerClaim => ("cost", 100.0),
    };
    let show = |v: f64| match f.measure {
        PeerMeasure::LabourPerClaim => format!("{} h", t.dec(v / scale, 2)),
        PeerMeasure::CostPerClaim => t.money(&Money::new(v.round() as i64, currency)),
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
    let x_label = t.t("an-claims");
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
    let component = component_of(&q, "mis");
    let mis = match state
        .store
        .warranty()
        .mis_matrix(&s.caller.scope, state.now().date(), component, 48)
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
