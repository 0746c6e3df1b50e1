//! KPIs as managers read them (`/kpis`): each published KPI over a period against its target
//! (red, amber, green) and the period before, side by side per service point (a market manager)
//! or per market (headquarters), its definition beside it; a KPI's page breaks it down (market,
//! service point, advisor, technician, model, pay type, month) as a bar chart with its table and
//! lists the repair orders, cases, claims or invoices behind it. Filters live in the URL; every
//! view downloads as CSV or XLSX stating its filters and definitions. Targets and costs per hour
//! are kept at the bottom of the dashboard.

use aftersales_domain::kpi::{Dimension, Figure, Kpi, KpiItemKind, KpiUnit, Rag};
use aftersales_domain::money::Money;
use aftersales_domain::org::{Permission, Role};
use aftersales_domain::workshop::PayType;
use aftersales_store::kpis::{
    Dashboard, KpiCosts, KpiCostsInput, KpiReport, KpiTarget, KpiTargetInput, KpiValue,
};
use aftersales_store::{Ref, StoreError};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::charts::{bar_chart, Bar};
use super::{field, form_pairs, or_page, render, Chrome, FormErrors, Sent, SignedIn};
use crate::i18n::Tr;
use crate::kpi_query::{self, Filters, PRESETS};
use crate::AppState;

/// Lines of a CSV end so (RFC 4180).
const CRLF: &str = "\r\n";

/// How many items a KPI's page lists.
const ITEMS_SHOWN: usize = 200;

/// Figures in the reader's words.
struct Fmt<'a, 't> {
    t: &'a Tr<'t>,
}

impl Fmt<'_, '_> {
    fn number(&self, k: Kpi, v: f64, currency: Option<&str>) -> String {
        let t = self.t;
        match k.unit() {
            KpiUnit::Percent => format!("{} %", t.dec(v, 1)),
            KpiUnit::Days => format!("{} {}", t.dec(v, 1), t.t("kpi-unit-days")),
            KpiUnit::Hours => format!("{} {}", t.dec(v, 1), t.t("kpi-unit-hours")),
            KpiUnit::Money => t.money(&Money::new(v.round() as i64, currency.unwrap_or("EUR"))),
            KpiUnit::MoneyPerHour => format!(
                "{} {}",
                t.money(&Money::new(v.round() as i64, currency.unwrap_or("EUR"))),
                t.t("kpi-per-hour")
            ),
            KpiUnit::Score => {
                let r = t.dec(v, 0);
                if v > 0.5 {
                    format!("+{r}")
                } else {
                    r
                }
            }
        }
    }

    fn figure(&self, k: Kpi, f: &Figure) -> String {
        match f.value {
            Some(v) => self.number(k, v, f.currency.as_deref()),
            None => "–".into(),
        }
    }
}

/// A value of a KPI in the reader's words (for the pilots' pages).
pub fn value_text(t: &Tr<'_>, k: Kpi, v: f64, currency: Option<&str>) -> String {
    Fmt { t }.number(k, v, currency)
}

/// A figure in the reader's words (for the digest e-mail too).
pub fn figure_text(t: &Tr<'_>, k: Kpi, f: &Figure) -> String {
    Fmt { t }.figure(k, f)
}

/// A status in the reader's words; empty without a target.
pub fn rag_text(t: &Tr<'_>, r: &Option<Rag>) -> String {
    rag_name(t, r)
}

fn rag_class(r: &Option<Rag>) -> &'static str {
    match r {
        Some(Rag::Green) => "green",
        Some(Rag::Amber) => "amber",
        Some(Rag::Red) => "red",
        None => "",
    }
}

/// The reader's day and the default period of their dashboard: this week for a service manager
/// (their week's work), last month for those who compare (a market, the brand).
async fn today_and_default(
    state: &AppState,
    s: &SignedIn,
) -> Result<(time::Date, &'static str), StoreError> {
    let zone = super::reader_zone(state, s).await?;
    let today = zone.local(state.now()).date();
    let roles = s.caller.scope.all_roles();
    let only_point = roles.contains(&Role::ServiceManager)
        && !roles.iter().any(|r| {
            matches!(
                r,
                Role::MarketCsManager
                    | Role::ImporterStaff
                    | Role::HqAnalyst
                    | Role::WarrantyAdministrator
            )
        });
    Ok((
        today,
        if only_point {
            "this-week"
        } else {
            "last-month"
        },
    ))
}

/// What the filter form offers.
struct FilterChoices {
    organisations: Vec<Ref>,
    models: Vec<String>,
}

async fn choices(state: &AppState, s: &SignedIn) -> Result<FilterChoices, StoreError> {
    let k = state.store.kpis();
    Ok(FilterChoices {
        organisations: k.organisations(&s.caller.scope).await?,
        models: k.models(&s.caller.scope).await?,
    })
}

#[derive(Template)]
#[template(path = "kpis.html")]
struct DashboardPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    filters: Filters,
    choices: FilterChoices,
    dashboard: Dashboard,
    targets: Vec<KpiTarget>,
    /// Where the reader sets targets and costs.
    manage: Vec<(String, String)>,
    costs: Vec<KpiCosts>,
    /// The digests the reader receives (`weekly`, `monthly`).
    subscriptions: Vec<String>,
    errors: FormErrors,
    sent: Sent,
}

/// Methods shared by the KPI pages' templates.
trait KpiView {
    fn tr(&self) -> &Tr<'_>;
    fn filters_of(&self) -> &Filters;

    fn kpi_name(&self, k: &Kpi) -> String {
        self.tr().t(&format!("kpi-name-{}", k.as_str()))
    }
    fn kpi_def(&self, k: &Kpi) -> String {
        self.tr().t(&format!("kpi-def-{}", k.as_str()))
    }
    fn preset_name(&self, p: &&str) -> String {
        self.tr().t(&format!("kpi-period-{p}"))
    }
    fn is_preset(&self, p: &&str) -> bool {
        self.filters_of().period == *p
    }
    fn named_period(&self) -> String {
        let p = &self.filters_of().period;
        if PRESETS.contains(&p.as_str()) {
            String::new()
        } else {
            p.clone()
        }
    }
    fn range(&self) -> String {
        let p = self.filters_of().query.period;
        self.tr().with(
            "kpi-range",
            &[
                ("from", &self.tr().date(&p.from.to_string())),
                ("to", &self.tr().date(&p.to.to_string())),
            ],
        )
    }
    fn is_org(&self, id: &str) -> bool {
        self.filters_of().query.organisation.as_deref() == Some(id)
    }
    fn is_model(&self, m: &str) -> bool {
        self.filters_of().query.model.as_deref() == Some(m)
    }
    fn pay_types(&self) -> &'static [PayType] {
        PayType::ALL
    }
    fn pay_name(&self, p: &PayType) -> String {
        self.tr().t(&format!("pay-{}", p.as_str()))
    }
    fn is_pay(&self, p: &PayType) -> bool {
        self.filters_of().query.pay_type == Some(*p)
    }
    fn qs(&self) -> String {
        self.filters_of().query_string()
    }
    fn fmt(&self, k: &Kpi, f: &Figure) -> String {
        Fmt { t: self.tr() }.figure(*k, f)
    }
    fn rag_name(&self, r: &Option<Rag>) -> String {
        match r {
            Some(r) => self.tr().t(&format!("kpi-rag-{}", r.as_str())),
            None => String::new(),
        }
    }
    fn rag(&self, r: &Option<Rag>) -> &'static str {
        rag_class(r)
    }
    fn target_text(&self, v: &KpiValue) -> String {
        match &v.target {
            Some(t) => {
                let f = Fmt { t: self.tr() };
                let cur = v.figure.currency.as_deref();
                self.tr().with(
                    "kpi-target-rule",
                    &[
                        ("green", &f.number(v.kpi, t.green, cur)),
                        ("amber", &f.number(v.kpi, t.amber, cur)),
                    ],
                )
            }
            None => "–".into(),
        }
    }
}

impl KpiView for DashboardPage<'_> {
    fn tr(&self) -> &Tr<'_> {
        &self.t
    }
    fn filters_of(&self) -> &Filters {
        &self.filters
    }
}

impl DashboardPage<'_> {
    fn presets(&self) -> &'static [&'static str] {
        &PRESETS[..6]
    }
    fn elsewhere(&self) -> Vec<(Kpi, &'static str)> {
        Kpi::ALL
            .iter()
            .filter_map(|k| k.computed_at().map(|p| (*k, p)))
            .collect()
    }
    fn all_kpis(&self) -> Vec<Kpi> {
        Kpi::computed().collect()
    }
    fn column_name(&self) -> String {
        match self.dashboard.by {
            Some(d) => self.t.t(&format!("kpi-dim-{}", d.as_str())),
            None => String::new(),
        }
    }
    fn cell<'b>(&self, values: &'b [KpiValue], i: &usize) -> Option<&'b KpiValue> {
        values.get(*i)
    }
    fn threshold(&self, t: &KpiTarget) -> (String, String) {
        let show = |v: f64| match t.kpi.unit() {
            KpiUnit::Money | KpiUnit::MoneyPerHour => self.t.dec(v / 100.0, 2),
            _ => self.t.dec(v, 1),
        };
        (show(t.green), show(t.amber))
    }
    fn month(&self, t: &KpiTarget) -> String {
        self.t.month(&format!(
            "{}-{:02}",
            t.valid_from.year(),
            u8::from(t.valid_from.month())
        ))
    }
    fn costs_input(&self, minor: &i64) -> String {
        format!("{:.2}", *minor as f64 / 100.0)
    }
    fn value_of(&self, name: &str) -> String {
        self.sent.get("target", name).to_string()
    }
    fn may_manage(&self) -> bool {
        !self.manage.is_empty()
    }
    fn kpi_selected(&self, k: &Kpi) -> bool {
        self.sent.chose("target", "kpi", k.as_str())
    }
    fn frequencies(&self) -> &'static [&'static str] {
        &aftersales_store::kpis::FREQUENCIES
    }
    fn subscribed(&self, f: &&str) -> bool {
        self.subscriptions.iter().any(|s| s == f)
    }
    fn frequency_name(&self, f: &&str) -> String {
        self.t.t(&format!("kpi-digest-{f}"))
    }
    fn unit_hint(&self, k: &Kpi) -> String {
        self.t.t(&format!("kpi-unit-of-{}", k.unit().as_str()))
    }
}

async fn dashboard_page(
    state: &AppState,
    s: &SignedIn,
    pairs: &[(String, String)],
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let scope = &s.caller.scope;
    let (today, default) = or_page!(state, &s.ctx, today_and_default(state, s).await);
    let filters = match kpi_query::parse(pairs, today, default) {
        Ok(f) => f,
        Err(e) => {
            return super::store_error(state, &s.ctx, StoreError::Invalid(e));
        }
    };
    let choices = or_page!(state, &s.ctx, choices(state, s).await);
    let k = state.store.kpis();
    let columns = or_page!(state, &s.ctx, columns_for(state, s, &filters).await);
    let dashboard = or_page!(
        state,
        &s.ctx,
        k.dashboard(scope, &filters.query, columns, state.now())
            .await
    );
    let targets = or_page!(state, &s.ctx, k.targets(scope).await);
    let manage = or_page!(
        state,
        &s.ctx,
        super::orgs_named(state, s, Permission::KpiManage).await
    );
    let mut costs = Vec::new();
    for (id, _) in &manage {
        costs.push(or_page!(state, &s.ctx, k.costs(scope, id).await));
    }
    let subscriptions = or_page!(state, &s.ctx, k.subscriptions(scope).await);
    (
        status,
        render(&DashboardPage {
            chrome: Chrome::new(&t, &s.ctx),
            filters,
            choices,
            dashboard,
            targets,
            manage,
            costs,
            subscriptions,
            errors,
            sent,
            t,
        }),
    )
        .into_response()
}

async fn columns_for(
    state: &AppState,
    s: &SignedIn,
    f: &Filters,
) -> Result<Option<Dimension>, StoreError> {
    state.store.kpis().columns(&s.caller.scope, &f.query).await
}

pub async fn show(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let pairs = form_pairs(q.unwrap_or_default().as_bytes());
    dashboard_page(&state, &s, &pairs, Default::default(), StatusCode::OK).await
}

#[derive(Template)]
#[template(path = "kpi.html")]
struct KpiPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    filters: Filters,
    choices: FilterChoices,
    report: KpiReport,
    chart: String,
}

impl KpiView for KpiPage<'_> {
    fn tr(&self) -> &Tr<'_> {
        &self.t
    }
    fn filters_of(&self) -> &Filters {
        &self.filters
    }
}

impl KpiPage<'_> {
    fn presets(&self) -> &'static [&'static str] {
        &PRESETS[..6]
    }
    fn dims(&self) -> &'static [Dimension] {
        self.report.kpi.dimensions()
    }
    fn dim_name(&self, d: &Dimension) -> String {
        self.t.t(&format!("kpi-dim-{}", d.as_str()))
    }
    fn is_by(&self, d: &Dimension) -> bool {
        self.report.by == *d
    }
    fn key_label(&self, key: &Option<String>, label: &str) -> String {
        label_of(&self.t, self.report.by, key, label)
    }
    fn shown(&self) -> String {
        self.t.with(
            "kpi-items-shown",
            &[
                ("shown", &self.report.items.len().to_string()),
                ("total", &self.report.items_total.to_string()),
            ],
        )
    }
    fn kind(&self, k: &KpiItemKind) -> String {
        self.t.t(&format!("kpi-item-{}", k.as_str()))
    }
    fn when(&self, at: &time::OffsetDateTime) -> String {
        self.t.date(&at.date().to_string())
    }
    fn share(&self, i: &aftersales_store::kpis::KpiItem) -> String {
        let base = item_share(
            &self.t,
            self.report.kpi,
            i.numerator,
            i.denominator,
            i.currency.as_deref(),
        );
        match (i.active_hours, i.waiting_hours) {
            (Some(a), Some(w)) => self.t.with(
                "kpi-active-waiting",
                &[
                    ("value", &base),
                    ("active", &self.t.dec(a, 1)),
                    ("waiting", &self.t.dec(w, 1)),
                ],
            ),
            _ => base,
        }
    }
}

/// A breakdown key as people read it.
fn label_of(t: &Tr<'_>, by: Dimension, key: &Option<String>, label: &str) -> String {
    match (key, by) {
        (None, _) => t.t("kpi-unknown"),
        (Some(p), Dimension::PayType) => t.t(&format!("pay-{p}")),
        (Some(m), Dimension::Month) => t.month(m),
        _ if label.is_empty() => key.clone().unwrap_or_default(),
        _ => label.to_string(),
    }
}

/// What one item adds, in the KPI's terms ("1 of 1", "2.5 h of 3.0 h", an amount).
fn item_share(t: &Tr<'_>, k: Kpi, num: f64, den: f64, currency: Option<&str>) -> String {
    let f = Fmt { t };
    match k {
        Kpi::FirstTimeFix
        | Kpi::RemoteResolution
        | Kpi::ResponseSla
        | Kpi::ResolutionSla
        | Kpi::Csat
        | Kpi::LogisticsOnTime => t.t(if num > 0.0 { "kpi-yes" } else { "kpi-no" }),
        Kpi::Comeback => t.t(if num > 0.0 { "kpi-came-back" } else { "kpi-no" }),
        Kpi::Nps => t.t(match num {
            n if n > 0.0 => "kpi-promoter",
            n if n < 0.0 => "kpi-detractor",
            _ => "kpi-passive",
        }),
        Kpi::Turnaround => f.number(k, num, None),
        Kpi::HoursPerRo => f.number(k, num, None),
        Kpi::LabourRate => format!(
            "{} / {} {}",
            t.money(&Money::new(num.round() as i64, currency.unwrap_or("EUR"))),
            t.dec(den, 2),
            t.t("kpi-unit-hours")
        ),
        Kpi::Efficiency | Kpi::Productivity => format!(
            "{} / {} {}",
            t.dec(num, 2),
            t.dec(den, 2),
            t.t("kpi-unit-hours")
        ),
        Kpi::ServiceRevenue | Kpi::ContributionMargin => {
            t.money(&Money::new(num.round() as i64, currency.unwrap_or("EUR")))
        }
        Kpi::MarginPercent => format!(
            "{} / {}",
            t.money(&Money::new(num.round() as i64, currency.unwrap_or("EUR"))),
            t.money(&Money::new(den.round() as i64, currency.unwrap_or("EUR")))
        ),
        _ => t.dec(num, 2),
    }
}

fn chart_of(t: &Tr<'_>, r: &KpiReport) -> String {
    let f = Fmt { t };
    let bars: Vec<Bar> = r
        .breakdown
        .iter()
        .filter_map(|row| {
            Some(Bar {
                label: label_of(t, r.by, &row.key, &row.label),
                value: row.figure.value?,
                class: match row.rag {
                    Some(x) => rag_class(&Some(x)),
                    None => "bar",
                },
            })
        })
        .collect();
    if bars.is_empty() {
        return String::new();
    }
    let mark = r.value.target.as_ref().map(|t| t.green);
    let currency = r.value.figure.currency.clone();
    let fmt = move |v: f64| f.number(r.kpi, v, currency.as_deref());
    bar_chart(
        &format!(
            "{} · {}",
            t.t(&format!("kpi-name-{}", r.kpi.as_str())),
            t.t(&format!("kpi-dim-{}", r.by.as_str()))
        ),
        &bars,
        mark,
        &fmt,
    )
}

async fn report_of(
    state: &AppState,
    s: &SignedIn,
    code: &str,
    pairs: &[(String, String)],
    limit: usize,
) -> Result<(Filters, KpiReport), StoreError> {
    let k = Kpi::parse("code", code).map_err(|_| StoreError::NotFound)?;
    if k.computed_at().is_some() {
        return Err(StoreError::NotFound);
    }
    let (today, default) = today_and_default(state, s).await?;
    let filters = kpi_query::parse(pairs, today, default).map_err(StoreError::Invalid)?;
    let by = filters.by.unwrap_or(Dimension::ServicePoint);
    let report = state
        .store
        .kpis()
        .report(&s.caller.scope, k, &filters.query, by, limit, state.now())
        .await?;
    Ok((filters, report))
}

/// `/kpis/{code}`: a KPI's page; `/kpis/export.csv` and `/kpis/export.xlsx`: the dashboard.
pub async fn kpi(
    State(state): State<AppState>,
    s: SignedIn,
    Path(code): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    match code.as_str() {
        "export.csv" => return export_dashboard(state, s, "csv", q).await,
        "export.xlsx" => return export_dashboard(state, s, "xlsx", q).await,
        _ => {}
    }
    let pairs = form_pairs(q.unwrap_or_default().as_bytes());
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let (filters, report) = or_page!(
        state,
        &s.ctx,
        report_of(&state, &s, &code, &pairs, ITEMS_SHOWN).await
    );
    let choices = or_page!(state, &s.ctx, choices(&state, &s).await);
    let chart = chart_of(&t, &report);
    render(&KpiPage {
        chrome: Chrome::new(&t, &s.ctx),
        filters,
        choices,
        report,
        chart,
        t,
    })
}

/// The rows stating what a download covers: period, organisation, model, pay type.
fn filter_rows(t: &Tr<'_>, f: &Filters, orgs: &[Ref]) -> Vec<(String, String)> {
    let p = f.query.period;
    vec![
        (t.t("kpi-period"), format!("{} – {}", p.from, p.to)),
        (
            t.t("kpi-organisation"),
            f.query
                .organisation
                .as_ref()
                .map(|o| {
                    orgs.iter()
                        .find(|r| &r.id == o)
                        .map(|r| r.label.clone())
                        .unwrap_or_else(|| o.clone())
                })
                .unwrap_or_else(|| t.t("kpi-all")),
        ),
        (
            t.t("kpi-model"),
            f.query.model.clone().unwrap_or_else(|| t.t("kpi-all")),
        ),
        (
            t.t("kpi-pay-type"),
            f.query
                .pay_type
                .map(|p| t.t(&format!("pay-{}", p.as_str())))
                .unwrap_or_else(|| t.t("kpi-all")),
        ),
    ]
}

/// A table as rows of text, for CSV or a worksheet.
type Table = Vec<Vec<crate::xlsx::Cell>>;

fn download(
    name: &str,
    format: &str,
    t: &Tr<'_>,
    filters: Vec<(String, String)>,
    tables: Vec<(String, Table)>,
) -> Response {
    use crate::xlsx::{workbook, Cell, Sheet, CONTENT_TYPE};
    let mut about: Table = vec![vec![
        Cell::from(t.t("kpi-filters")),
        Cell::from(String::new()),
    ]];
    about.extend(
        filters
            .into_iter()
            .map(|(k, v)| vec![Cell::from(k), Cell::from(v)]),
    );
    match format {
        "xlsx" => {
            let mut sheets: Vec<Sheet> = tables
                .into_iter()
                .map(|(n, rows)| Sheet { name: n, rows })
                .collect();
            sheets.push(Sheet {
                name: t.t("kpi-filters"),
                rows: about,
            });
            match workbook(&sheets) {
                Ok(bytes) => (
                    [
                        (header::CONTENT_TYPE, CONTENT_TYPE.to_string()),
                        (
                            header::CONTENT_DISPOSITION,
                            format!("attachment; filename=\"{name}.xlsx\""),
                        ),
                    ],
                    bytes,
                )
                    .into_response(),
                Err(e) => {
                    tracing::error!(error = %e, "writing a KPI workbook failed");
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
            }
        }
        _ => {
            // One CSV: the filters first, a blank line, then each table.
            let mut out = String::new();
            let line = |cells: &[Cell]| {
                cells
                    .iter()
                    .map(|c| csv_field(&c.text()))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            for row in &about {
                out.push_str(&line(row));
                out.push_str(CRLF);
            }
            for (_, rows) in &tables {
                out.push_str(CRLF);
                for row in rows {
                    out.push_str(&line(row));
                    out.push_str(CRLF);
                }
            }
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}.csv\""),
                    ),
                ],
                out,
            )
                .into_response()
        }
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `/kpis/export.csv|xlsx?…`: the dashboard as a table (a row per KPI: value, the period before,
/// target, status, items, definition; each column of the side-by-side view after it).
async fn export_dashboard(
    state: AppState,
    s: SignedIn,
    format: &str,
    q: Option<String>,
) -> Response {
    use crate::xlsx::Cell;
    let pairs = form_pairs(q.unwrap_or_default().as_bytes());
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let (today, default) = or_page!(state, &s.ctx, today_and_default(&state, &s).await);
    let filters = match kpi_query::parse(&pairs, today, default) {
        Ok(f) => f,
        Err(e) => return super::store_error(&state, &s.ctx, StoreError::Invalid(e)),
    };
    let columns = or_page!(state, &s.ctx, columns_for(&state, &s, &filters).await);
    let d = or_page!(
        state,
        &s.ctx,
        state
            .store
            .kpis()
            .dashboard(&s.caller.scope, &filters.query, columns, state.now())
            .await
    );
    let orgs = or_page!(
        state,
        &s.ctx,
        state.store.kpis().organisations(&s.caller.scope).await
    );
    let f = Fmt { t: &t };
    let num = |k: Kpi, fig: &Figure| -> Cell {
        match (fig.value, k.unit()) {
            (Some(v), KpiUnit::Money | KpiUnit::MoneyPerHour) => Cell::from(v / 100.0),
            (v, _) => Cell::from(v),
        }
    };
    let mut head = vec![
        Cell::from(t.t("kpi-kpi")),
        Cell::from(t.t("kpi-code")),
        Cell::from(t.t("kpi-value")),
        Cell::from(t.t("kpi-unit")),
        Cell::from(t.t("kpi-previous")),
        Cell::from(t.t("kpi-green-from")),
        Cell::from(t.t("kpi-amber-from")),
        Cell::from(t.t("kpi-status")),
        Cell::from(t.t("kpi-items")),
    ];
    for (c, _) in &d.columns {
        head.push(Cell::from(c.label.clone()));
    }
    head.push(Cell::from(t.t("kpi-definition")));
    let mut rows = vec![head];
    for (i, v) in d.values.iter().enumerate() {
        let k = v.kpi;
        let threshold = |x: f64| match k.unit() {
            KpiUnit::Money | KpiUnit::MoneyPerHour => Cell::from(x / 100.0),
            _ => Cell::from(x),
        };
        let mut row = vec![
            Cell::from(t.t(&format!("kpi-name-{}", k.as_str()))),
            Cell::from(k.as_str()),
            num(k, &v.figure),
            Cell::from(match k.unit() {
                KpiUnit::Money | KpiUnit::MoneyPerHour => {
                    v.figure.currency.clone().unwrap_or_default()
                }
                u => t.t(&format!("kpi-unit-of-{}", u.as_str())),
            }),
            num(k, &v.previous),
            v.target
                .as_ref()
                .map_or(Cell::Empty, |x| threshold(x.green)),
            v.target
                .as_ref()
                .map_or(Cell::Empty, |x| threshold(x.amber)),
            Cell::from(rag_name(&t, &v.rag)),
            Cell::from(i64::try_from(v.figure.items).unwrap_or(i64::MAX)),
        ];
        for (_, vs) in &d.columns {
            row.push(match vs.get(i) {
                Some(cv) => Cell::from(f.figure(k, &cv.figure)),
                None => Cell::Empty,
            });
        }
        row.push(Cell::from(t.t(&format!("kpi-def-{}", k.as_str()))));
        rows.push(row);
    }
    download(
        "kpis",
        format,
        &t,
        filter_rows(&t, &filters, &orgs),
        vec![(t.t("kpi-title"), rows)],
    )
}

fn rag_name(t: &Tr<'_>, r: &Option<Rag>) -> String {
    match r {
        Some(r) => t.t(&format!("kpi-rag-{}", r.as_str())),
        None => String::new(),
    }
}

/// `/kpis/{code}/export.csv|xlsx?…`: the breakdown and every item behind the figure.
pub async fn export_kpi(
    State(state): State<AppState>,
    s: SignedIn,
    Path((code, format)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    use crate::xlsx::Cell;
    let format = match format.as_str() {
        "export.csv" => "csv",
        "export.xlsx" => "xlsx",
        _ => return super::store_error(&state, &s.ctx, StoreError::NotFound),
    };
    let pairs = form_pairs(q.unwrap_or_default().as_bytes());
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let (filters, r) = or_page!(
        state,
        &s.ctx,
        report_of(&state, &s, &code, &pairs, usize::MAX).await
    );
    let orgs = or_page!(
        state,
        &s.ctx,
        state.store.kpis().organisations(&s.caller.scope).await
    );
    let f = Fmt { t: &t };
    let k = r.kpi;
    let mut breakdown = vec![vec![
        Cell::from(t.t(&format!("kpi-dim-{}", r.by.as_str()))),
        Cell::from(t.t("kpi-value")),
        Cell::from(t.t("kpi-numerator")),
        Cell::from(t.t("kpi-denominator")),
        Cell::from(t.t("kpi-items")),
        Cell::from(t.t("kpi-status")),
    ]];
    for row in &r.breakdown {
        breakdown.push(vec![
            // A month stays `2026-10` in a file, so a spreadsheet sorts it.
            Cell::from(match (r.by, &row.key) {
                (Dimension::Month, Some(m)) => m.clone(),
                _ => label_of(&t, r.by, &row.key, &row.label),
            }),
            Cell::from(f.figure(k, &row.figure)),
            Cell::from(row.figure.numerator),
            Cell::from(row.figure.denominator),
            Cell::from(i64::try_from(row.figure.items).unwrap_or(i64::MAX)),
            Cell::from(rag_name(&t, &row.rag)),
        ]);
    }
    breakdown.push(vec![
        Cell::from(t.t("kpi-all")),
        Cell::from(f.figure(k, &r.value.figure)),
        Cell::from(r.value.figure.numerator),
        Cell::from(r.value.figure.denominator),
        Cell::from(i64::try_from(r.value.figure.items).unwrap_or(i64::MAX)),
        Cell::from(rag_name(&t, &r.value.rag)),
    ]);
    let mut items = vec![vec![
        Cell::from(t.t("kpi-item")),
        Cell::from(t.t("kpi-kind")),
        Cell::from(t.t("kpi-date")),
        Cell::from(t.t("kpi-dim-service-point")),
        Cell::from(t.t("kpi-share")),
        Cell::from(t.t("kpi-numerator")),
        Cell::from(t.t("kpi-denominator")),
    ]];
    if k == Kpi::Turnaround {
        items[0].push(Cell::from(t.t("kpi-active-hours")));
        items[0].push(Cell::from(t.t("kpi-waiting-hours")));
    }
    for i in &r.items {
        items.push(vec![
            Cell::from(i.item.label.clone()),
            Cell::from(t.t(&format!("kpi-item-{}", i.item.kind.as_str()))),
            Cell::from(i.at.date().to_string()),
            Cell::from(i.service_point.label.clone()),
            Cell::from(item_share(
                &t,
                k,
                i.numerator,
                i.denominator,
                i.currency.as_deref(),
            )),
            Cell::from(i.numerator),
            Cell::from(i.denominator),
        ]);
        if k == Kpi::Turnaround {
            if let Some(row) = items.last_mut() {
                row.push(Cell::from(i.active_hours));
                row.push(Cell::from(i.waiting_hours));
            }
        }
    }
    let mut about = filter_rows(&t, &filters, &orgs);
    about.push((
        t.t(&format!("kpi-name-{}", k.as_str())),
        t.t(&format!("kpi-def-{}", k.as_str())),
    ));
    download(
        k.as_str(),
        format,
        &t,
        about,
        vec![(t.t("kpi-breakdown"), breakdown), (t.t("kpi-items"), items)],
    )
}

/// After a form on the dashboard: back to it, or the dashboard again with the form's errors.
async fn after(
    state: &AppState,
    s: &SignedIn,
    r: Result<(), StoreError>,
    form: &str,
    p: Vec<(String, String)>,
) -> Response {
    super::after_form(state, s, r, "/kpis", |errors| {
        dashboard_page(
            state,
            s,
            &[],
            (errors, Sent::new(form, p.clone())),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    })
    .await
}

pub async fn set_target(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let input = KpiTargetInput {
        organisation_id: field(&p, "organisation_id").to_string(),
        kpi: field(&p, "kpi").to_string(),
        valid_from: field(&p, "valid_from").to_string(),
        green: field(&p, "green").to_string(),
        amber: field(&p, "amber").to_string(),
    };
    let r = state
        .store
        .kpis()
        .set_target(&s.caller.scope, &input, state.now())
        .await
        .map(|_| ());
    after(&state, &s, r, "target", p).await
}

pub async fn remove_target(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let r = state.store.kpis().remove_target(&s.caller.scope, &id).await;
    after(&state, &s, r, "target", Vec::new()).await
}

pub async fn set_costs(
    State(state): State<AppState>,
    s: SignedIn,
    Path(org): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let input = KpiCostsInput {
        technician_per_hour: field(&p, "technician_per_hour").to_string(),
        driver_per_hour: field(&p, "driver_per_hour").to_string(),
    };
    let r = state
        .store
        .kpis()
        .set_costs(&s.caller.scope, &org, &input, state.now())
        .await
        .map(|_| ());
    after(&state, &s, r, &format!("costs:{org}"), p).await
}

pub async fn digests(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let r = state
        .store
        .kpis()
        .subscribe(
            &s.caller.scope,
            field(&p, "frequency"),
            field(&p, "on") == "1",
            state.now(),
        )
        .await;
    after(&state, &s, r, "digest", p).await
}
