//! `aftersales bench-analysis`: how fast the claim analysis and the audit answer on a large
//! warranty history (issue 18). For each database given it creates the demo's organisations,
//! writes a planned history into Polestar Portugal (by default 100,000 vehicles over 5 years,
//! about 300,000 claims), then times every figure the analysis and audit screens compute, as
//! Ana (the Portuguese market manager) sees them, and each screen in full. The median of the
//! runs is reported; the table goes between `<!-- analysis:begin -->` and `<!-- analysis:end -->`
//! of the summary file, with the machine, the date and the command.

use std::path::PathBuf;
use std::time::Instant;

use aftersales_domain::analysis::history::HistorySpec;
use aftersales_domain::warranty::goodwill::ComponentGroup;
use aftersales_store::auth::{Caller, LoginPolicy};
use aftersales_store::warranty::{AuditProposal, MisQuery};
use aftersales_store::{demo, Engine, Store};
use anyhow::{bail, Context};
use clap::Args;
use time::OffsetDateTime;

#[derive(Args, Clone)]
pub struct BenchArgs {
    /// Vehicles in the history.
    #[arg(long, default_value_t = 100_000)]
    pub vehicles: usize,
    /// Years of deliveries.
    #[arg(long, default_value_t = 5)]
    pub years: u32,
    /// Claim rate (1.0: about three claims per car over five years).
    #[arg(long, default_value_t = 1.3)]
    pub rate: f64,
    /// Timed runs per figure (the median is reported).
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
    /// Reuse a history an earlier run wrote into the same databases (nothing is emptied or
    /// written when one is there); for measuring again after a change.
    #[arg(long)]
    pub keep: bool,
}

struct Row {
    what: &'static str,
    ms: Vec<f64>,
}

async fn time<T, F, Fut>(runs: usize, mut f: F) -> anyhow::Result<(f64, T)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut all = Vec::new();
    let mut last = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let v = f().await?;
        all.push(t.elapsed().as_secs_f64() * 1000.0);
        last = Some(v);
    }
    all.sort_by(f64::total_cmp);
    let median = all[all.len() / 2];
    match last {
        Some(v) => Ok((median, v)),
        None => bail!("no run"),
    }
}

pub(crate) async fn caller(
    store: &Store,
    username: &str,
    now: OffsetDateTime,
) -> anyhow::Result<Caller> {
    let s = store
        .auth()
        .login(
            username,
            demo::DEMO_PASSWORD,
            None,
            now,
            &LoginPolicy::default(),
        )
        .await?;
    store
        .auth()
        .resolve_session(&s.raw_id, now, &LoginPolicy::default())
        .await?
        .context("the session did not resolve")
}

/// Measures one engine: (engine, history size, seconds to write it (none: reused), rows).
async fn measure(
    url: &str,
    a: &BenchArgs,
    now: OffsetDateTime,
) -> anyhow::Result<(String, (i64, i64, i64), Option<f64>, Vec<Row>)> {
    let store = Store::connect(url).await?;
    let kept = if a.keep {
        store.migrate().await?;
        store.cli().history_size().await?.1 > 0
    } else {
        false
    };
    let engine = match store.engine() {
        Engine::Sqlite => "SQLite",
        Engine::Postgres => {
            if !kept {
                store.cli().wipe_postgres().await?;
            }
            "PostgreSQL"
        }
    };
    if !kept {
        // (After the wipe: a kept history was migrated above.)
        store.migrate().await?;
        demo::seed(&store, now).await?;
    }
    let (portugal, _) = demo::history_targets(&store).await?;
    let spec = HistorySpec {
        vehicles: a.vehicles,
        end: now.date(),
        years: a.years,
        service_points: 3,
        rising: Some(ComponentGroup::Electrical),
        costly_point: Some(2),
        rate: a.rate,
        seed: 2026,
    };
    let t = Instant::now();
    if kept {
        eprintln!("{engine}: reusing the history already written");
    } else {
        eprintln!("{engine}: writing {} vehicles…", a.vehicles);
        store
            .warranty()
            .write_history(&spec, &portugal, now)
            .await?;
    }
    let written = (!kept).then(|| t.elapsed().as_secs_f64());
    store.cli().analyze().await?;
    let size = store.cli().history_size().await?;
    eprintln!("{engine}: {size:?}; timing…");
    let ana = caller(&store, "ana", now).await?;
    let scope = &ana.scope;
    let w = store.warranty();
    let today = now.date();
    let runs = a.runs;
    let mut rows = Vec::new();
    let mut push = |what, ms: f64| rows.push(Row { what, ms: vec![ms] });

    let (ms, _) = time(runs, || async {
        Ok(w.mis_matrix(scope, today, &MisQuery::default(), 48).await?)
    })
    .await?;
    push("claims per 1,000 by months in service (all components)", ms);
    let (ms, _) = time(runs, || async {
        Ok(w.mis_matrix(
            scope,
            today,
            &MisQuery {
                component: Some(ComponentGroup::Electrical),
                ..MisQuery::default()
            },
            48,
        )
        .await?)
    })
    .await?;
    push("claims per 1,000, one component", ms);
    let (ms, _) = time(runs, || async { Ok(w.cost_per_unit(scope, today).await?) }).await?;
    push("cost per unit", ms);
    let (ms, _) = time(runs, || async {
        Ok(
            w.weibull_by_months(scope, today, ComponentGroup::HighVoltage, 0.95)
                .await?,
        )
    })
    .await?;
    push("Weibull fit by months (battery)", ms);
    let (ms, _) = time(runs, || async {
        Ok(
            w.weibull_by_km(scope, today, ComponentGroup::HighVoltage, 0.95)
                .await?,
        )
    })
    .await?;
    push("Weibull fit by km (battery)", ms);
    let (ms, _) = time(runs, || async {
        Ok(w.early_warnings(scope, today, 24).await?)
    })
    .await?;
    push("early warning, all 6 components", ms);
    let (ms, _) = time(runs, || async {
        Ok(w.peer_funnels(scope, today, 12).await?)
    })
    .await?;
    push(
        "funnels of service points (labour and cost per claim, claims per vehicle serviced)",
        ms,
    );
    let (ms, risk) = time(runs, || async { Ok(w.risk(scope, today, 12).await?) }).await?;
    push("risk ranking (red flags and the funnels)", ms);
    let braga = risk
        .points
        .first()
        .map(|p| p.service_point.id.clone())
        .context("no service point ranked")?;
    let (ms, _) = time(runs, || async {
        Ok(w.flagged_claims(scope, today, 12, &braga, None, Some(200))
            .await?)
    })
    .await?;
    push(
        "claims a service point's flags hit (the newest 200, as its page shows)",
        ms,
    );
    let (ms, audit) = time(1, || async {
        Ok(w.propose_audit(
            scope,
            &AuditProposal {
                service_point_id: braga.clone(),
                months: None,
                confidence_pct: None,
                min_bad_rate_pct: None,
            },
            now,
        )
        .await?)
    })
    .await?;
    push("audit sample proposed (once)", ms);
    let (ms, _) = time(runs, || async { Ok(w.audit(scope, &audit.id).await?) }).await?;
    push("an audit with its sample", ms);
    // The screens as a whole: what their handlers ask for, in turn.
    let (ms, _) = time(runs, || async {
        w.mis_matrix(scope, today, &MisQuery::default(), 48).await?;
        w.breakdowns(scope).await?;
        w.service_points_analysed(scope).await?;
        w.cost_per_unit(scope, today).await?;
        let _ = w
            .weibull_by_months(scope, today, ComponentGroup::HighVoltage, 0.95)
            .await?;
        let _ = w
            .weibull_by_km(scope, today, ComponentGroup::HighVoltage, 0.95)
            .await?;
        w.early_warnings(scope, today, 24).await?;
        w.peer_funnels(scope, today, 12).await?;
        Ok(())
    })
    .await?;
    push("screen: /warranty/analysis (all of the above it shows)", ms);
    let (ms, _) = time(runs, || async {
        w.risk(scope, today, 12).await?;
        w.audits(scope).await?;
        Ok(())
    })
    .await?;
    push("screen: /warranty/audit", ms);
    Ok((engine.to_string(), size, written, rows))
}

pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {cores} cores")
}

pub(crate) fn commit() -> String {
    std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

pub async fn run(a: BenchArgs) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let mut results = Vec::new();
    if let Some(path) = a.sqlite.as_ref().filter(|_| !a.keep) {
        for suffix in ["", "-wal", "-shm"] {
            let f = format!("{}{suffix}", path.display());
            if std::path::Path::new(&f).exists() {
                std::fs::remove_file(&f).with_context(|| format!("removing {f}"))?;
            }
        }
    }
    if let Some(path) = &a.sqlite {
        results.push(measure(&format!("sqlite://{}", path.display()), &a, now).await?);
    }
    if let Some(url) = &a.postgres {
        results.push(measure(url, &a, now).await?);
    }
    if results.is_empty() {
        bail!("give --sqlite FILE and/or --postgres URL");
    }
    let mut out = format!(
        "Machine: {}. Date: {}. Commit: {}. Command: `aftersales bench-analysis --vehicles {} --years {} --rate {} --runs {}{}{}{}`\n\n",
        machine(),
        now.date(),
        commit(),
        a.vehicles,
        a.years,
        a.rate,
        a.runs,
        if a.sqlite.is_some() { " --sqlite FILE" } else { "" },
        if a.postgres.is_some() { " --postgres URL" } else { "" },
        if a.keep { " --keep" } else { "" },
    );
    out.push_str(
        "History written by `domain::analysis::history` (seed 2026) into Polestar Portugal: ",
    );
    for (engine, (vehicles, claims, lines), secs, _) in &results {
        let how = match secs {
            Some(s) => format!("written in {s:.0} s"),
            None => "written by an earlier run".into(),
        };
        out.push_str(&format!(
            "{engine} {vehicles} vehicles, {claims} claims, {lines} claim lines ({how}); "
        ));
    }
    out.push_str("every figure computed as Ana (market manager) sees it, median of the runs in milliseconds. Goal: every screen under 1,000 ms.\n\n| figure |");
    for (engine, ..) in &results {
        out.push_str(&format!(" {engine} (ms) |"));
    }
    out.push_str("\n|---|");
    for _ in &results {
        out.push_str("---:|");
    }
    out.push('\n');
    if let Some((_, _, _, first)) = results.first() {
        for (i, r) in first.iter().enumerate() {
            out.push_str(&format!("| {} |", r.what));
            for (_, _, _, rows) in &results {
                let ms = rows
                    .get(i)
                    .and_then(|r| r.ms.first())
                    .copied()
                    .unwrap_or(f64::NAN);
                out.push_str(&format!(" {ms:.0} |"));
            }
            out.push('\n');
        }
    }
    println!("{out}");
    if let Some(path) = &a.summary {
        write_summary(path, "analysis", "Claim analysis and audit", &out)?;
    }
    Ok(())
}

/// Puts `out` between `<!-- {marker}:begin -->` and `<!-- {marker}:end -->` of the summary file
/// (a new section headed `heading` at its end when the markers are not there yet).
pub(crate) fn write_summary(
    path: &std::path::Path,
    marker: &str,
    heading: &str,
    out: &str,
) -> anyhow::Result<()> {
    let doc = std::fs::read_to_string(path).unwrap_or_default();
    let (begin, end) = (
        format!("<!-- {marker}:begin -->"),
        format!("<!-- {marker}:end -->"),
    );
    let block = format!("{begin}\n{out}\n{end}");
    let next = match (doc.find(&begin), doc.find(&end)) {
        (Some(b), Some(e)) if e > b => format!("{}{block}{}", &doc[..b], &doc[e + end.len()..]),
        _ => format!("{doc}\n## {heading}\n\n{block}\n"),
    };
    std::fs::write(path, next).with_context(|| format!("writing {}", path.display()))
}
