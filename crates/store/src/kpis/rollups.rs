//! KPI roll-ups (migration 32): per KPI, organisation and day, and per month, the sums the
//! formulas add (numerator, denominator, items; for the margin also the technician and driver
//! time its hourly costs are charged on, so a change of costs needs no recomputation).
//!
//! Every write to a table the KPIs read leaves a change marker (organisation, day) in its own
//! transaction (the migration's triggers). Before a figure is read, `refresh` recomputes, from
//! the facts and with the same formulas as the exact path, the days each marker can have
//! changed, market by market (a return or a visit counts anywhere in the market), and clears
//! the marker unless it changed meanwhile. The KPIs that wait 30 days (first-time fix,
//! comebacks, remote resolution) hold a day only once it is final; the days that became final
//! since the last run are marked at the first run of a new day. Views without a model or
//! pay-type filter read the roll-ups; the items behind a figure are always read from the facts.

use std::collections::BTreeMap;

use aftersales_domain::kpi::formulas::HourlyCosts;
use aftersales_domain::kpi::{self, Kpi, Period};
use time::{Date, Duration, Month, OffsetDateTime, UtcOffset};

use super::facts::{self, Facts, Orgs};
use crate::db::{placeholders, Engine};
use crate::decode;
use crate::error::StoreError;

const EPOCH: Date = time::macros::date!(1970 - 01 - 01);
const DAY_MICROS: i64 = 86_400_000_000;
/// How far past today days are kept (a pickup's window may lie a few days ahead).
const AHEAD: i64 = 7;
/// The longest stretch of days recomputed from one read of the facts.
const CHUNK_DAYS: i64 = 92;

/// Days since 1970-01-01 (UTC), as the roll-ups and the markers count them.
pub(crate) fn day_of(d: Date) -> i64 {
    (d - EPOCH).whole_days()
}

fn date_of(day: i64) -> Date {
    EPOCH + Duration::days(day)
}

pub(crate) fn utc_day(at: OffsetDateTime) -> i64 {
    day_of(at.to_offset(UtcOffset::UTC).date())
}

/// Months since year 0 (`year × 12 + month − 1`).
pub(crate) fn month_of(d: Date) -> i64 {
    i64::from(d.year()) * 12 + i64::from(u8::from(d.month())) - 1
}

fn month_start(m: i64) -> Date {
    let year = i32::try_from(m.div_euclid(12)).unwrap_or(1970);
    let month = u8::try_from(m.rem_euclid(12) + 1)
        .ok()
        .and_then(|n| Month::try_from(n).ok())
        .unwrap_or(Month::January);
    Date::from_calendar_date(year, month, 1).unwrap_or(EPOCH)
}

fn month_end(m: i64) -> Date {
    month_start(m + 1) - Duration::days(1)
}

/// A month as the breakdown by month names it (`2026-11`).
pub(crate) fn month_label(m: i64) -> String {
    format!("{}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)
}

/// The KPIs kept as roll-ups: every KPI computed on the KPI pages but productivity (attendance
/// comes from the technicians' shifts up to today and is read as it stands).
pub(crate) fn rolled(k: Kpi) -> bool {
    k.computed_at().is_none() && k != Kpi::Productivity
}

/// The KPIs whose day is final only 30 days later.
pub(crate) fn waits(k: Kpi) -> bool {
    matches!(k, Kpi::FirstTimeFix | Kpi::Comeback | Kpi::RemoteResolution)
}

/// What a roll-up row adds up.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Sums {
    pub num: f64,
    pub den: f64,
    pub items: i64,
    pub labour_seconds: i64,
    pub driver_seconds: i64,
}

/// A KPI's sums at one organisation in one currency (and one month, when asked by month).
#[derive(Debug, Clone)]
pub(crate) struct Rolled {
    pub kpi: Kpi,
    pub org: String,
    pub month: Option<i64>,
    pub currency: Option<String>,
    pub sums: Sums,
}

impl Rolled {
    /// The numerator with the hourly costs of the organisation charged (the margin's).
    pub fn num(&self, costs: HourlyCosts) -> f64 {
        match self.kpi {
            Kpi::ContributionMargin | Kpi::MarginPercent => {
                self.sums.num
                    - self.sums.labour_seconds as f64 * costs.technician_minor as f64 / 3600.0
                    - self.sums.driver_seconds as f64 * costs.driver_minor as f64 / 3600.0
            }
            _ => self.sums.num,
        }
    }
}

/// `(kpi, organisation, day, currency)`.
type DayKey = (Kpi, String, i64, String);

/// Adds the day rows of `k` over `period` from facts read for a window holding it.
fn add_day_rows(
    out: &mut BTreeMap<DayKey, Sums>,
    k: Kpi,
    f: &Facts,
    period: Period,
    now: OffsetDateTime,
) {
    if matches!(k, Kpi::ContributionMargin | Kpi::MarginPercent) {
        // Without the hourly costs: they are charged on the time kept beside, when read.
        for m in f.money.iter().filter(|m| period.contains(m.at)) {
            let key = (
                k,
                m.dims.service_point.clone(),
                utc_day(m.at),
                m.currency.clone(),
            );
            let s = out.entry(key).or_default();
            s.num += (m.revenue_minor - m.parts_cost_minor - m.sublet_cost_minor) as f64;
            if k == Kpi::MarginPercent {
                s.den += m.revenue_minor as f64;
            }
            s.items += 1;
            s.labour_seconds += m.labour_seconds;
            s.driver_seconds += m.driver_seconds;
        }
        return;
    }
    for c in facts::contributions(k, f, period, now, &|_| HourlyCosts::default()) {
        let key = (
            k,
            c.dims.service_point,
            utc_day(c.at),
            c.currency.unwrap_or_default(),
        );
        let s = out.entry(key).or_default();
        s.num += c.num;
        s.den += c.den;
        s.items += 1;
    }
}

/// Takes the recomputation lock: one at a time (a row lock in PostgreSQL, the write lock in
/// SQLite), so a slower run never writes older figures over a newer one's.
async fn lock(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(), StoreError> {
    sqlx::query("UPDATE kpi_rollup_state SET runs = runs + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

const MARK: &str = "INSERT INTO kpi_changes (organisation_id, day, families, seq) {select} \
     ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, \
     seq = kpi_changes.seq + 1";

/// A marker: organisation, day, families, seq.
type Marker = (String, i64, i64, i64);

/// Brings the roll-ups up to date with every change marked and with the days that became final
/// since the last run (see the module).
pub(crate) async fn refresh(pool: &sqlx::AnyPool, now: OffsetDateTime) -> Result<(), StoreError> {
    let today = utc_day(now);
    let (through, pending): (Option<i64>, i64) = sqlx::query_as(
        "SELECT through_day, (SELECT COUNT(*) FROM kpi_changes) FROM kpi_rollup_state WHERE id = 1",
    )
    .fetch_one(pool)
    .await?;
    if pending == 0 && through.is_some_and(|t| t >= today) {
        return Ok(());
    }
    if through.is_none_or(|t| t < today) {
        let mut tx = pool.begin().await?;
        lock(&mut tx).await?;
        let t0: Option<i64> =
            sqlx::query_scalar("SELECT through_day FROM kpi_rollup_state WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
        if let Some(t0) = t0.filter(|t0| *t0 < today) {
            // Days up to today − 31 are final now (first-time fix and comebacks: the 30 days
            // after them are over); those from t0 − 30 on were not at the last run.
            let sql = MARK.replace(
                "{select}",
                "SELECT id, $1, 4, 1 FROM organisations WHERE kind = 'service-point'",
            );
            sqlx::query(&sql).bind(t0 - 30).execute(&mut *tx).await?;
            // Technical cases resolved on those days now count for remote resolution, on the
            // day they were opened.
            let sql = MARK.replace(
                "{select}",
                "SELECT DISTINCT organisation_id, created_at / 86400000000, 4, 1 FROM cases \
                 WHERE category = 'technical' AND resolved_at >= $1 AND resolved_at < $2",
            );
            sqlx::query(&sql)
                .bind((t0 - 30) * DAY_MICROS)
                .bind((today - 30) * DAY_MICROS)
                .execute(&mut *tx)
                .await?;
        }
        if t0.is_none_or(|t0| t0 < today) {
            sqlx::query("UPDATE kpi_rollup_state SET through_day = $1 WHERE id = 1")
                .bind(today)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    let through: i64 = sqlx::query_scalar::<_, Option<i64>>(
        "SELECT through_day FROM kpi_rollup_state WHERE id = 1",
    )
    .fetch_one(pool)
    .await?
    .unwrap_or(today)
    .max(today);
    // The formulas' own clock: a day up to `through − 31` is final.
    let now = now.max(date_of(through).midnight().assume_utc());
    let markers: Vec<Marker> =
        sqlx::query_as("SELECT organisation_id, day, families, seq FROM kpi_changes")
            .fetch_all(pool)
            .await?;
    if markers.is_empty() {
        return Ok(());
    }
    let orgs = Orgs::load(pool).await?;
    let group_of = |org: &str| -> String {
        match orgs.by_id.get(org).and_then(|o| o.market.as_ref()) {
            Some((m, _)) => format!("m:{m}"),
            None => format!("o:{org}"),
        }
    };
    let mut groups: BTreeMap<String, Vec<Marker>> = BTreeMap::new();
    for m in markers {
        groups.entry(group_of(&m.0)).or_default().push(m);
    }
    for (group, marks) in groups {
        let members: Vec<String> = match group.strip_prefix("m:") {
            Some(market) => orgs
                .by_id
                .values()
                .filter(|o| o.market.as_ref().is_some_and(|x| x.0 == market))
                .map(|o| o.id.clone())
                .collect(),
            None => vec![group.trim_start_matches("o:").to_string()],
        };
        let a_from = marks.iter().filter(|m| m.2 & 1 != 0).map(|m| m.1).min();
        let b_from = marks
            .iter()
            .filter_map(|m| {
                if m.2 & 2 != 0 {
                    Some(m.1 - 30)
                } else if m.2 & 4 != 0 {
                    Some(m.1)
                } else {
                    None
                }
            })
            .min();
        let a = a_from.map(|f| (f, through + AHEAD));
        let b = b_from
            .filter(|f| *f <= through - 31)
            .map(|f| (f, through - 31));
        // The day KPIs of an item depend on that item alone: only the organisations marked are
        // recomputed for them; the waiting ones look for returns across the market.
        let mut marked: Vec<String> = marks
            .iter()
            .filter(|m| m.2 & 1 != 0)
            .map(|m| m.0.clone())
            .collect();
        marked.sort();
        marked.dedup();
        recompute(pool, &orgs, (&marked, a), (&members, b), now).await?;
        for chunk in marks.chunks(100) {
            let cond = (0..chunk.len())
                .map(|i| {
                    format!(
                        "(organisation_id = ${} AND day = ${} AND seq = ${})",
                        3 * i + 1,
                        3 * i + 2,
                        3 * i + 3
                    )
                })
                .collect::<Vec<_>>()
                .join(" OR ");
            let sql = format!("DELETE FROM kpi_changes WHERE {cond}");
            let mut q = sqlx::query(&sql);
            for m in chunk {
                q = q.bind(m.0.clone()).bind(m.1).bind(m.3);
            }
            q.execute(pool).await?;
        }
    }
    Ok(())
}

/// The part of `range` inside `[from, to]`.
fn within(range: Option<(i64, i64)>, from: i64, to: i64) -> Option<(i64, i64)> {
    range
        .map(|(a, b)| (a.max(from), b.min(to)))
        .filter(|(a, b)| a <= b)
}

/// Recomputes the day rows of the day KPIs over `a` (at its organisations) and of the waiting
/// ones over `b` (at its, a superset), inclusive day ranges, chunk by chunk, and the month rows
/// they fall in.
async fn recompute(
    pool: &sqlx::AnyPool,
    orgs: &Orgs,
    (marked, a): (&[String], Option<(i64, i64)>),
    (all, b): (&[String], Option<(i64, i64)>),
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let lo = [a, b].iter().flatten().map(|r| r.0).min();
    let hi = [a, b].iter().flatten().map(|r| r.1).max();
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok(());
    };
    let day_kpis: Vec<Kpi> = Kpi::ALL
        .iter()
        .copied()
        .filter(|k| rolled(*k) && !waits(*k))
        .collect();
    let wait_kpis: Vec<Kpi> = Kpi::ALL.iter().copied().filter(|k| waits(*k)).collect();
    let mut start = lo;
    while start <= hi {
        let end = (start + CHUNK_DAYS - 1).min(hi);
        let pa = within(a, start, end);
        let pb = within(b, start, end);
        start = end + 1;
        let mut kpis: Vec<Kpi> = Vec::new();
        if pa.is_some() {
            kpis.extend(&day_kpis);
        }
        if pb.is_some() {
            kpis.extend(&wait_kpis);
        }
        let (Some(from), Some(to)) = (
            [pa, pb].iter().flatten().map(|r| r.0).min(),
            [pa, pb].iter().flatten().map(|r| r.1).max(),
        ) else {
            continue;
        };
        // Facts read for the whole market when the waiting KPIs are recomputed in this chunk
        // (the day KPIs of every point in it are then recomputed too, from the same facts).
        let members = if pb.is_some() { all } else { marked };
        let mut tx = pool.begin().await?;
        lock(&mut tx).await?;
        let window = Period {
            from: date_of(from),
            to: date_of(to),
        };
        let f = facts::load(pool, orgs, members, window, facts::Needs::of(&kpis)).await?;
        let mut rows: BTreeMap<DayKey, Sums> = BTreeMap::new();
        for (range, ks) in [(pa, &day_kpis), (pb, &wait_kpis)] {
            let Some((x, y)) = range else { continue };
            let period = Period {
                from: date_of(x),
                to: date_of(y),
            };
            for k in ks.iter() {
                add_day_rows(&mut rows, *k, &f, period, now);
            }
            let n = members.len();
            let sql = format!(
                "DELETE FROM kpi_daily WHERE organisation_id IN ({}) AND kpi IN ({}) AND day >= ${} AND day <= ${}",
                placeholders(1, n),
                placeholders(n + 1, ks.len()),
                n + ks.len() + 1,
                n + ks.len() + 2
            );
            let mut q = sqlx::query(&sql);
            for m in members {
                q = q.bind(m.clone());
            }
            for k in ks.iter() {
                q = q.bind(k.as_str());
            }
            q.bind(x).bind(y).execute(&mut *tx).await?;
        }
        // Rows for organisations outside the group cannot arise (facts are read by
        // organisation), but a contribution is only kept for the days recomputed.
        let rows: Vec<(DayKey, Sums)> = rows.into_iter().collect();
        for chunk in rows.chunks(80) {
            let values = (0..chunk.len())
                .map(|i| format!("({})", placeholders(10 * i + 1, 10)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO kpi_daily (kpi, organisation_id, day, month, currency, num, den, items, \
                 labour_seconds, driver_seconds) VALUES {values}"
            );
            let mut q = sqlx::query(&sql);
            for ((k, org, day, currency), s) in chunk {
                q = q
                    .bind(k.as_str())
                    .bind(org.clone())
                    .bind(*day)
                    .bind(month_of(date_of(*day)))
                    .bind(currency.clone())
                    .bind(s.num)
                    .bind(s.den)
                    .bind(s.items)
                    .bind(s.labour_seconds)
                    .bind(s.driver_seconds);
            }
            q.execute(&mut *tx).await?;
        }
        // The months these days fall in, added up again from their days.
        let (m0, m1) = (month_of(date_of(from)), month_of(date_of(to)));
        let n = members.len();
        let ins = placeholders(1, n);
        let kin = placeholders(n + 1, kpis.len());
        let (p0, p1) = (n + kpis.len() + 1, n + kpis.len() + 2);
        for sql in [
            format!(
                "DELETE FROM kpi_monthly WHERE organisation_id IN ({ins}) AND kpi IN ({kin}) AND month >= ${p0} AND month <= ${p1}"
            ),
            format!(
                "INSERT INTO kpi_monthly (kpi, organisation_id, month, currency, num, den, items, labour_seconds, driver_seconds) \
                 SELECT kpi, organisation_id, month, currency, SUM(num), SUM(den), CAST(SUM(items) AS BIGINT), \
                 CAST(SUM(labour_seconds) AS BIGINT), CAST(SUM(driver_seconds) AS BIGINT) FROM kpi_daily \
                 WHERE organisation_id IN ({ins}) AND kpi IN ({kin}) AND month >= ${p0} AND month <= ${p1} \
                 GROUP BY kpi, organisation_id, month, currency"
            ),
        ] {
            let mut q = sqlx::query(&sql);
            for m in members {
                q = q.bind(m.clone());
            }
            for k in &kpis {
                q = q.bind(k.as_str());
            }
            q.bind(m0).bind(m1).execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// A row as read: kpi, organisation, month, currency, num, den, items, labour, driver.
type Row = (String, String, i64, String, f64, f64, i64, i64, i64);

/// First and last month, or first and last day, both included.
type Span = (i64, i64);

/// How `from..=to` is read: the whole months inside it (first, last) from the month rows, and
/// the days at either end (day ranges, as [`day_of`] counts them) from the day rows.
fn spans(from: Date, to: Date) -> (Option<Span>, Vec<Span>) {
    let m_first = month_of(from) + i64::from(from.day() != 1);
    let m_last = month_of(to) - i64::from(to != month_end(month_of(to)));
    let mut days = Vec::new();
    let months = if m_first <= m_last {
        days.push((day_of(from), day_of(month_start(m_first)) - 1));
        days.push((day_of(month_end(m_last)) + 1, day_of(to)));
        Some((m_first, m_last))
    } else {
        days.push((day_of(from), day_of(to)));
        None
    };
    days.retain(|(a, b)| a <= b);
    (months, days)
}

/// The sums of `kpis` at `orgs` over `period`, per KPI, organisation and currency (and month,
/// with `by_month`): whole months from the month rows, the days at either end from the day rows.
/// The KPIs that wait 30 days stop at the last final day before `today`.
pub(crate) async fn read(
    pool: &sqlx::AnyPool,
    orgs: &[String],
    kpis: &[Kpi],
    period: Period,
    today: Date,
    by_month: bool,
) -> Result<Vec<Rolled>, StoreError> {
    let mut out = Vec::new();
    if orgs.is_empty() {
        return Ok(out);
    }
    let families: [(Vec<Kpi>, Date); 2] = [
        (
            kpis.iter()
                .copied()
                .filter(|k| rolled(*k) && !waits(*k))
                .collect(),
            period.to,
        ),
        (
            kpis.iter().copied().filter(|k| waits(*k)).collect(),
            period
                .to
                .min(today - Duration::days(kpi::formulas::RETURN_DAYS + 1)),
        ),
    ];
    for (ks, cap) in families {
        if ks.is_empty() || cap < period.from {
            continue;
        }
        let (months, days) = spans(period.from, cap);
        if let Some(months) = months {
            out.extend(query(pool, orgs, &ks, "kpi_monthly", "month", &[months], by_month).await?);
        }
        if !days.is_empty() {
            out.extend(query(pool, orgs, &ks, "kpi_daily", "day", &days, by_month).await?);
        }
    }
    Ok(out)
}

async fn query(
    pool: &sqlx::AnyPool,
    orgs: &[String],
    kpis: &[Kpi],
    table: &'static str,
    column: &str,
    ranges: &[(i64, i64)],
    by_month: bool,
) -> Result<Vec<Rolled>, StoreError> {
    let n = orgs.len();
    let k = kpis.len();
    let ranges_sql = ranges
        .iter()
        .enumerate()
        .map(|(i, _)| {
            format!(
                "({column} >= ${} AND {column} <= ${})",
                n + k + 2 * i + 1,
                n + k + 2 * i + 2
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ");
    let (month, group) = if by_month {
        ("month", ", month")
    } else {
        ("CAST(0 AS BIGINT)", "")
    };
    let sql = format!(
        "SELECT kpi, organisation_id, {month}, currency, SUM(num), SUM(den), CAST(SUM(items) AS BIGINT), \
         CAST(SUM(labour_seconds) AS BIGINT), CAST(SUM(driver_seconds) AS BIGINT) FROM {table} \
         WHERE organisation_id IN ({}) AND kpi IN ({}) AND ({ranges_sql}) \
         GROUP BY kpi, organisation_id, currency{group}",
        placeholders(1, n),
        placeholders(n + 1, k),
    );
    let mut q = sqlx::query_as::<_, Row>(&sql);
    for o in orgs {
        q = q.bind(o.clone());
    }
    for kp in kpis {
        q = q.bind(kp.as_str());
    }
    for (a, b) in ranges {
        q = q.bind(*a).bind(*b);
    }
    let rows = q.fetch_all(pool).await?;
    rows.into_iter()
        .map(
            |(kpi, org, month, currency, num, den, items, labour_seconds, driver_seconds)| {
                Ok(Rolled {
                    kpi: decode(table, "kpi", &kpi, Kpi::parse)?,
                    org,
                    month: by_month.then_some(month),
                    currency: (!currency.is_empty()).then_some(currency),
                    sums: Sums {
                        num,
                        den,
                        items,
                        labour_seconds,
                        driver_seconds,
                    },
                })
            },
        )
        .collect()
}

/// The time each technician clocked at each of `orgs` on the days `from..=to` (days as
/// [`day_of`] counts them), in microseconds, from the clocked-time roll-ups the triggers keep
/// (migration 34): whole months from the month rows, the days at either end from the day rows.
pub(crate) async fn clocked(
    pool: &sqlx::AnyPool,
    orgs: &[String],
    from: Date,
    to: Date,
) -> Result<BTreeMap<(String, String), i64>, StoreError> {
    let mut out: BTreeMap<(String, String), i64> = BTreeMap::new();
    if orgs.is_empty() || to < from {
        return Ok(out);
    }
    let (months, days) = spans(from, to);
    let parts = months
        .map(|(a, b)| ("kpi_clocked_monthly", "month", a, b))
        .into_iter()
        .chain(
            days.into_iter()
                .map(|(a, b)| ("kpi_clocked_daily", "day", a, b)),
        );
    let n = orgs.len();
    for (table, column, a, b) in parts {
        let sql = format!(
            "SELECT technician_id, organisation_id, CAST(SUM(micros) AS BIGINT) FROM {table} \
             WHERE organisation_id IN ({}) AND {column} >= ${} AND {column} <= ${} \
             GROUP BY technician_id, organisation_id",
            placeholders(1, n),
            n + 1,
            n + 2
        );
        let mut q = sqlx::query_as::<_, (String, String, i64)>(&sql);
        for o in orgs {
            q = q.bind(o.clone());
        }
        for (user, org, micros) in q.bind(a).bind(b).fetch_all(pool).await? {
            *out.entry((user, org)).or_insert(0) += micros;
        }
    }
    Ok(out)
}

/// Pauses the change markers' triggers for the rest of `tx` (migration 34): a bulk writer that
/// knows the days it writes marks them itself with [`resume_marks`] before it commits. No other
/// transaction sees the pause (a row of this transaction; a setting of this transaction).
pub(crate) async fn pause_marks(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    engine: Engine,
) -> Result<(), StoreError> {
    let sql = match engine {
        Engine::Sqlite => "INSERT INTO kpi_marks_paused (id) VALUES (1)",
        Engine::Postgres => "SET LOCAL aftersales.kpi_marks = 'paused'",
    };
    sqlx::query(sql).execute(&mut **tx).await?;
    Ok(())
}

/// Ends [`pause_marks`] and marks `days` (service point, day as [`day_of`] counts it) as the
/// triggers would have: every family, from 30 days before each.
pub(crate) async fn resume_marks(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    engine: Engine,
    days: &std::collections::BTreeSet<(String, i64)>,
) -> Result<(), StoreError> {
    let sql = match engine {
        Engine::Sqlite => "DELETE FROM kpi_marks_paused",
        Engine::Postgres => "SET LOCAL aftersales.kpi_marks = 'on'",
    };
    sqlx::query(sql).execute(&mut **tx).await?;
    let days: Vec<&(String, i64)> = days.iter().collect();
    for chunk in days.chunks(500) {
        let values = (0..chunk.len())
            .map(|i| format!("(${}, ${}, 3, 1)", 2 * i + 1, 2 * i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO kpi_changes (organisation_id, day, families, seq) VALUES {values} \
             ON CONFLICT (organisation_id, day) DO UPDATE SET families = kpi_changes.families | excluded.families, \
             seq = kpi_changes.seq + 1"
        );
        let mut q = sqlx::query(&sql);
        for (org, day) in chunk {
            q = q.bind(org.as_str()).bind(*day);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}
