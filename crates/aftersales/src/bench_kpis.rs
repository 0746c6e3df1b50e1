//! `aftersales bench-kpis`: how fast the KPI dashboards, a KPI's page (breakdown and items), the
//! drill-down to one service point and a pilot's evaluation answer on a large workshop history
//! (issue 20). For each database given it creates the demo's organisations and `--points`
//! Portuguese service points in all (each with a manager and a technician), writes a planned
//! workshop history of `--days` days (repair orders with their status events, jobs and
//! clockings, cases, surveys, pickups and deliveries; `domain::kpi::history`), then times each
//! view as Ana (the Portuguese market manager) and Johan (Polestar HQ) see it. The median of the
//! runs is reported; the table goes between `<!-- kpis:begin -->` and `<!-- kpis:end -->` of the
//! summary file, with the machine, the date and the command.

use std::path::PathBuf;
use std::time::Instant;

use aftersales_domain::kpi::history::{PointProfile, WorkshopHistorySpec};
use aftersales_domain::kpi::{Dimension, Kpi, Period};
use aftersales_store::kpis::KpiQuery;
use aftersales_store::pilots::PilotInput;
use aftersales_store::{demo, Engine, Store};
use anyhow::{bail, Context};
use clap::Args;
use time::{Duration, OffsetDateTime};

#[derive(Args, Clone)]
pub struct BenchKpisArgs {
    /// Portuguese service points in all (the demo's three and more).
    #[arg(long, default_value_t = 50)]
    pub points: usize,
    /// Days of history.
    #[arg(long, default_value_t = 730)]
    pub days: u32,
    /// Repair orders per service point and working day (on average).
    #[arg(long, default_value_t = 4.0)]
    pub per_day: f64,
    /// Timed runs per view (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// A SQLite file to create (emptied first); none: SQLite is not measured.
    #[arg(long)]
    pub sqlite: Option<PathBuf>,
    /// A PostgreSQL database to use (EMPTIED first); none: PostgreSQL is not measured.
    #[arg(long)]
    pub postgres: Option<String>,
    /// The summary file to write the table into.
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Also time the same figures as plain SQL in DuckDB over the SQLite file's raw rows
    /// (`python3 tools/kpis/duckdb_bench.py`, PyPI `duckdb` and `pandas`).
    #[arg(long)]
    pub duckdb: bool,
    /// Time the views on the history an earlier run wrote into the same databases (nothing is
    /// emptied or written; `--points`, `--days` and `--per-day` are then not used).
    #[arg(long)]
    pub reuse: bool,
}

/// Engine, history size, seconds to write it and to build the roll-ups (none: an earlier run's),
/// the timed views.
type Measured = (String, [i64; 5], Option<(f64, f64)>, Vec<(String, f64)>);

fn profile(i: usize, per_day: f64) -> PointProfile {
    // Points differ a little, deterministically.
    let f = (i % 7) as f64 / 7.0;
    PointProfile {
        per_day: per_day * (0.7 + 0.6 * f),
        comeback: 0.08 + 0.05 * f,
        happy: 0.70 + 0.15 * f,
        answers: 0.45,
        turnaround_days: 2.5 + f,
        pickup: 0.1 + 0.3 * f,
        punctual: 0.88,
        efficiency: 1.0 + 0.1 * f,
        cases_per_day: per_day * 0.8,
        remote_fix: 0.45,
        responsive: 0.85,
    }
}

/// Writes the history into a fresh database (or, with `--reuse`, finds the one an earlier run
/// wrote) and builds the roll-ups: the service points in order, the seconds to write and build.
async fn prepare(
    store: &Store,
    engine: &str,
    a: &BenchKpisArgs,
    now: OffsetDateTime,
) -> anyhow::Result<(Vec<String>, Option<(f64, f64)>)> {
    let (mut portugal, _) = demo::history_targets(store).await?;
    if a.reuse {
        // The bench's own points, after the demo's: "Polestar Service Point Ponto 003", …
        let ana = crate::bench::caller(store, "ana", now).await?;
        let mut extra: Vec<(String, String)> = store
            .kpis()
            .organisations(&ana.scope)
            .await?
            .into_iter()
            .filter(|o| o.label.starts_with("Polestar Service Point Ponto "))
            .map(|o| (o.label, o.id))
            .collect();
        extra.sort();
        portugal
            .service_points
            .extend(extra.into_iter().map(|(_, id)| id));
        if portugal.service_points.len() < 10 {
            bail!("--reuse: no history of an earlier run in this {engine} database");
        }
        store.kpis().refresh(now).await?;
        // Statistics for indexes a newer migration may have added, as after writing.
        store.cli().analyze().await?;
        return Ok((portugal.service_points, None));
    }
    portugal.models = vec![
        ("Polestar 2".into(), "LPSED3KA0RL000000".into(), 2024),
        ("Polestar 4".into(), "LPSED4KA0SL000000".into(), 2025),
    ];
    let extra: Vec<(String, [(String, String); 2])> = (portugal.service_points.len()..a.points)
        .map(|i| {
            (
                format!("Ponto {i:03}"),
                [
                    (format!("gestor{i:03}"), format!("Gestor {i:03}")),
                    (format!("tecnico{i:03}"), format!("Técnico {i:03}")),
                ],
            )
        })
        .collect();
    portugal
        .service_points
        .extend(demo::add_service_points(store, &extra, now).await?);
    let mut staff = Vec::new();
    for sp in &portugal.service_points {
        staff.push(demo::staff_of(store, sp).await?);
    }
    let points: Vec<_> = (0..portugal.service_points.len())
        .map(|i| (profile(i, a.per_day), None))
        .collect();
    eprintln!(
        "{engine}: writing {} days at {} service points…",
        a.days,
        points.len()
    );
    let t = Instant::now();
    store
        .kpis()
        .write_history(
            &WorkshopHistorySpec {
                end: now.date(),
                days: a.days,
                points,
                vehicles_per_point: (a.per_day * f64::from(a.days) / 3.0).ceil() as usize,
                technicians: 1,
                seed: 2_027,
            },
            &portugal,
            &staff,
            now,
        )
        .await?;
    let written = t.elapsed().as_secs_f64();
    store.cli().analyze().await?;
    eprintln!("{engine}: written in {written:.0} s; building the roll-ups…");
    // The history was written with every day marked as changed: the first refresh builds the
    // roll-ups of all of it (what a new installation's first read, or the hourly run, does).
    let t = Instant::now();
    store.kpis().refresh(now).await?;
    let built = t.elapsed().as_secs_f64();
    store.cli().analyze().await?;
    eprintln!("{engine}: roll-ups built in {built:.0} s; timing…");
    Ok((portugal.service_points, Some((written, built))))
}

async fn measure(url: &str, a: &BenchKpisArgs, now: OffsetDateTime) -> anyhow::Result<Measured> {
    let store = Store::connect(url).await?;
    let engine = match store.engine() {
        Engine::Sqlite => "SQLite",
        Engine::Postgres if !a.reuse => {
            store.cli().wipe_postgres().await?;
            "PostgreSQL"
        }
        Engine::Postgres => "PostgreSQL",
    };
    store.migrate().await?;
    if !a.reuse {
        demo::seed(&store, now).await?;
    }
    let (sp, times) = prepare(&store, engine, a, now).await?;
    let size = store.cli().workshop_history_size().await?;
    let ana = crate::bench::caller(&store, "ana", now).await?;
    let johan = crate::bench::caller(&store, "johan", now).await?;
    let today = now.date();
    let last_month = Period::last_month(today);
    let year = Period::last_twelve_months(today);
    let q = |period: Period, organisation: Option<String>| KpiQuery {
        period,
        organisation,
        model: None,
        pay_type: None,
    };
    let k = store.kpis();
    let runs = a.runs;
    let mut rows: Vec<(String, f64)> = Vec::new();
    let t_ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;

    macro_rules! timed {
        ($what:expr, $e:expr) => {{
            let mut all = Vec::new();
            for _ in 0..runs.max(1) {
                let t = Instant::now();
                $e;
                all.push(t_ms(t));
            }
            all.sort_by(f64::total_cmp);
            rows.push(($what.to_string(), all[all.len() / 2]));
        }};
    }
    timed!(
        "dashboard, Ana, last month, service points side by side",
        k.dashboard(
            &ana.scope,
            &q(last_month, None),
            Some(Dimension::ServicePoint),
            now
        )
        .await?
    );
    timed!(
        "the same, from the facts alone (no roll-ups)",
        k.dashboard_from_facts(
            &ana.scope,
            &q(last_month, None),
            Some(Dimension::ServicePoint),
            now
        )
        .await?
    );
    timed!(
        "dashboard, Ana, last 12 months, service points side by side",
        k.dashboard(
            &ana.scope,
            &q(year, None),
            Some(Dimension::ServicePoint),
            now
        )
        .await?
    );
    timed!(
        "dashboard, Johan (HQ), last month, markets side by side",
        k.dashboard(
            &johan.scope,
            &q(last_month, None),
            Some(Dimension::Market),
            now
        )
        .await?
    );
    timed!(
        "CSAT, last month, by service point, the newest 200 items",
        k.report(
            &ana.scope,
            Kpi::Csat,
            &q(last_month, None),
            Dimension::ServicePoint,
            200,
            now
        )
        .await?
    );
    timed!(
        "turnaround, last month, by service point",
        k.report(
            &ana.scope,
            Kpi::Turnaround,
            &q(last_month, None),
            Dimension::ServicePoint,
            200,
            now
        )
        .await?
    );
    timed!(
        "NPS, last month, by service point",
        k.report(
            &ana.scope,
            Kpi::Nps,
            &q(last_month, None),
            Dimension::ServicePoint,
            200,
            now
        )
        .await?
    );
    timed!(
        "CSAT, turnaround and NPS, last month, by service point (the three above)",
        {
            for kpi in [Kpi::Csat, Kpi::Turnaround, Kpi::Nps] {
                k.report(
                    &ana.scope,
                    kpi,
                    &q(last_month, None),
                    Dimension::ServicePoint,
                    200,
                    now,
                )
                .await?;
            }
        }
    );
    timed!(
        "first-time fix, last 12 months, by month",
        k.report(
            &ana.scope,
            Kpi::FirstTimeFix,
            &q(year, None),
            Dimension::Month,
            200,
            now
        )
        .await?
    );
    let braga = sp[2].clone();
    timed!(
        "drill-down: turnaround at one service point, last month, by technician",
        k.report(
            &ana.scope,
            Kpi::Turnaround,
            &q(last_month, Some(braga.clone())),
            Dimension::Technician,
            200,
            now
        )
        .await?
    );
    let start = (today - Duration::days(120))
        .replace_day(1)
        .unwrap_or(today);
    let pilot = store
        .pilots()
        .create(
            &ana.scope,
            &PilotInput {
                organisation_id: demo::history_targets(&store).await?.0.owner_org,
                name: "Bench".into(),
                programme: "Bench".into(),
                start_date: start.to_string(),
                end_date: None,
                months_before: Some(6),
                kpis: vec![
                    "csat".into(),
                    "turnaround-days".into(),
                    "first-time-fix".into(),
                ],
                pilot_points: sp.iter().take(2).cloned().collect(),
                control_points: sp.iter().skip(2).take(8).cloned().collect(),
                control_method: None,
            },
            now,
        )
        .await?;
    timed!(
        "pilot evaluation: 3 KPIs, 2 pilot and 8 control points, 10 months",
        store.pilots().evaluate(&ana.scope, &pilot.id, now).await?
    );
    Ok((engine.to_string(), size, times, rows))
}

/// What the DuckDB script answered.
struct Duck {
    version: String,
    load_s: f64,
    rows: std::collections::BTreeMap<String, f64>,
}

/// Runs `tools/kpis/duckdb_bench.py` on the SQLite file over last month.
fn duckdb(path: &std::path::Path, now: OffsetDateTime, runs: usize) -> anyhow::Result<Duck> {
    let (from, to) = Period::last_month(now.date()).bounds();
    let (year_from, year_to) = Period::last_twelve_months(now.date()).bounds();
    let today = (now.date() - time::macros::date!(1970 - 01 - 01)).whole_days();
    let us = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1_000).to_string();
    eprintln!("DuckDB: loading and timing…");
    let out = std::process::Command::new("python3")
        .arg("tools/kpis/duckdb_bench.py")
        .arg(path)
        .arg(us(from))
        .arg(us(to))
        .arg(runs.to_string())
        .arg(us(year_from))
        .arg(us(year_to))
        .arg(today.to_string())
        .output()
        .context("running python3 tools/kpis/duckdb_bench.py (from the repository root)")?;
    if !out.status.success() {
        bail!(
            "tools/kpis/duckdb_bench.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    Ok(Duck {
        version: v["duckdb"].as_str().unwrap_or("?").to_string(),
        load_s: v["load_s"].as_f64().unwrap_or(f64::NAN),
        rows: v["rows"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, x)| Some((k.clone(), x.as_f64()?)))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

pub async fn run(a: BenchKpisArgs) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    if a.points < 10 {
        bail!("--points must be at least 10 (the pilot compares 2 with 8)");
    }
    let mut results = Vec::new();
    if let Some(path) = &a.sqlite {
        for suffix in ["", "-wal", "-shm"] {
            if a.reuse {
                break;
            }
            let f = format!("{}{suffix}", path.display());
            if std::path::Path::new(&f).exists() {
                std::fs::remove_file(&f).with_context(|| format!("removing {f}"))?;
            }
        }
        results.push(measure(&format!("sqlite://{}", path.display()), &a, now).await?);
    }
    if let Some(url) = &a.postgres {
        results.push(measure(url, &a, now).await?);
    }
    if results.is_empty() {
        bail!("give --sqlite FILE and/or --postgres URL");
    }
    let duck = match (&a.sqlite, a.duckdb) {
        (Some(path), true) => Some(duckdb(path, now, a.runs)?),
        (None, true) => bail!("--duckdb reads the SQLite file: give --sqlite FILE too"),
        _ => None,
    };
    let mut out = format!(
        "Machine: {}. Date: {}. Commit: {}. Command: `aftersales bench-kpis --points {} --days {} --per-day {} --runs {}{}{}{}{}`\n\n",
        crate::bench::machine(),
        now.date(),
        crate::bench::commit(),
        a.points,
        a.days,
        a.per_day,
        a.runs,
        if a.sqlite.is_some() { " --sqlite FILE" } else { "" },
        if a.postgres.is_some() { " --postgres URL" } else { "" },
        if a.duckdb { " --duckdb" } else { "" },
        if a.reuse { " --reuse" } else { "" },
    );
    out.push_str("History written by `domain::kpi::history` (seed 2027) into Polestar Portugal: ");
    for (engine, [ros, events, jobs, cases, surveys], times, _) in &results {
        let how = match times {
            Some((secs, built)) => {
                format!("written in {secs:.0} s, roll-ups of all of it built in {built:.0} s")
            }
            None => "written by an earlier run of this command (`--reuse`)".to_string(),
        };
        out.push_str(&format!(
            "{engine} {ros} repair orders ({events} status events, {jobs} jobs), {cases} cases, {surveys} answered surveys, {how}; "
        ));
    }
    out.push_str("each view computed as the store computes it for the page, median of the runs in milliseconds. Goal: under 1,000 ms.");
    if let Some(d) = &duck {
        out.push_str(&format!(
            " DuckDB {}: the same figures as plain SQL aggregates over the SQLite file's raw rows, loaded into memory first ({:.1} s, not counted), `tools/kpis/duckdb_bench.py`; beside a dashboard, seven of its KPIs by service point (CSAT, NPS, turnaround, both SLAs, first-time fix, logistics on time); \"–\" where no such query stands beside the view.",
            d.version, d.load_s
        ));
    }
    out.push_str("\n\n| view |");
    for (engine, ..) in &results {
        out.push_str(&format!(" {engine} (ms) |"));
    }
    if duck.is_some() {
        out.push_str(" DuckDB (ms) |");
    }
    out.push_str("\n|---|");
    for _ in 0..results.len() + usize::from(duck.is_some()) {
        out.push_str("---:|");
    }
    out.push('\n');
    if let Some((_, _, _, first)) = results.first() {
        for (i, (what, _)) in first.iter().enumerate() {
            out.push_str(&format!("| {what} |"));
            for (_, _, _, rows) in &results {
                let ms = rows.get(i).map(|r| r.1).unwrap_or(f64::NAN);
                out.push_str(&format!(" {ms:.0} |"));
            }
            if let Some(d) = &duck {
                let key = if what.starts_with("dashboard,") && what.contains("last month") {
                    "dashboard"
                } else if what.starts_with("dashboard,") && what.contains("last 12 months") {
                    "dashboard-year"
                } else if what.starts_with("first-time fix, last 12 months") {
                    "ftfr-year"
                } else if what.starts_with("CSAT, turnaround and NPS") {
                    "three"
                } else if what.starts_with("CSAT,") {
                    "csat"
                } else if what.starts_with("turnaround,") {
                    "turnaround"
                } else if what.starts_with("NPS,") {
                    "nps"
                } else {
                    ""
                };
                match d.rows.get(key) {
                    Some(ms) => out.push_str(&format!(" {ms:.0} |")),
                    None => out.push_str(" – |"),
                }
            }
            out.push('\n');
        }
    }
    println!("{out}");
    if let Some(path) = &a.summary {
        crate::bench::write_summary(path, "kpis", "KPIs and pilots", &out)?;
    }
    Ok(())
}
