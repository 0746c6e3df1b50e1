//! The planner's benchmark program: runs our solver and the reference solvers (PyVRP, VROOM, OR-Tools, vrp-cli) on
//! the Solomon, Gehring & Homberger and Li & Lim sets, one process per run pinned to one core, checks every
//! solution with the planner's independent checker, and writes a CSV and markdown tables.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use planner::io::{read_bks, read_li_lim, read_solomon, Bks, Instance};
use planner::{check, check_sequences, solve, Config};

mod logistics;

#[derive(Parser)]
#[command(about = "Benchmarks for the logistics planner")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Solve one instance with our planner and print one JSON line (the same shape the reference adapter prints).
    Solve {
        #[arg(long)]
        format: String,
        file: PathBuf,
        #[arg(long, default_value_t = 1.0)]
        time: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Run sets × budgets × solvers and write docs/bench/*.csv|md and the summary in docs/BENCHMARKS.md.
    Run {
        /// Folder with the instances and bks.csv.
        #[arg(long, default_value = "../shared/benchmarks/vrp")]
        data: PathBuf,
        #[arg(long, value_delimiter = ',', default_value = "solomon,li_lim_100")]
        sets: Vec<String>,
        #[arg(long, value_delimiter = ',', default_value = "1,10")]
        budgets: Vec<f64>,
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "aftersales,pyvrp,vroom,ortools,vrp-cli"
        )]
        solvers: Vec<String>,
        /// Only instances whose name starts with one of these (all when empty).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Parallel runs, each pinned to its own core.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// The first core to pin runs to (run k uses core first_core + k).
        #[arg(long, default_value_t = 0)]
        first_core: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "docs/bench")]
        out: PathBuf,
        /// The markdown file whose marked section receives the summary.
        #[arg(long, default_value = "docs/BENCHMARKS.md")]
        summary: PathBuf,
        /// Where crates/planner-bench/reference/install.sh put the reference solvers.
        #[arg(
            long,
            env = "VRP_REF_DIR",
            default_value = "/var/tmp/aftersales-vrp-ref"
        )]
        reference_dir: PathBuf,
        /// A label for the machine in the tables (default: the CPU model).
        #[arg(long)]
        machine: Option<String>,
    },
    /// Service-centre days (20, 100, 300 jobs): our planner, a greedy dispatcher, PyVRP and VROOM on the same days and
    /// budgets, and the re-plan latency after one change; writes the marked section of docs/BENCHMARKS.md.
    Logistics {
        #[arg(long, value_delimiter = ',', default_value = "1,10")]
        budgets: Vec<f64>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "docs/BENCHMARKS.md")]
        summary: PathBuf,
        #[arg(
            long,
            env = "VRP_REF_DIR",
            default_value = "/var/tmp/aftersales-vrp-ref"
        )]
        reference_dir: PathBuf,
        #[arg(long)]
        machine: Option<String>,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Solve {
            format,
            file,
            time,
            seed,
        } => {
            let line = solve_one(&format, &file, time, seed);
            println!("{line}");
            Ok(())
        }
        Cmd::Run {
            data,
            sets,
            budgets,
            solvers,
            only,
            jobs,
            first_core,
            seed,
            out,
            summary,
            reference_dir,
            machine,
        } => run(RunArgs {
            data,
            sets,
            budgets,
            solvers,
            only,
            jobs,
            first_core,
            seed,
            out,
            summary,
            reference_dir,
            machine,
        }),
        Cmd::Logistics {
            budgets,
            seed,
            summary,
            reference_dir,
            machine,
        } => logistics::run(&logistics::Args {
            budgets,
            seed,
            reference_dir,
            summary,
            machine: machine.unwrap_or_else(machine_label),
            date: today(),
            commit: Command::new("git")
                .args(["describe", "--always", "--dirty"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_else(|| "unknown".into()),
        }),
    }
}

fn load(format: &str, path: &Path) -> Result<Instance> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("instance");
    Ok(match format {
        "solomon" => read_solomon(name, &text)?,
        "lilim" => read_li_lim(name, &text)?,
        other => bail!("format {other}: must be solomon or lilim"),
    })
}

fn solve_one(format: &str, file: &Path, time: f64, seed: u64) -> String {
    let result = (|| -> Result<serde_json::Value> {
        let inst = load(format, file)?;
        let started = Instant::now();
        let limit = Duration::try_from_secs_f64(time)
            .map_err(|_| anyhow::anyhow!("--time: a number of seconds above zero"))?;
        let plan = solve(
            &inst.problem,
            tuned(Config {
                time_limit: Some(limit),
                seed,
                ..Config::default()
            }),
        );
        let wall = started.elapsed().as_secs_f64();
        if let Err(errors) = check(&inst.problem, &plan) {
            bail!("our own plan fails the checker: {}", errors.join("; "));
        }
        let routes: Vec<Vec<usize>> = plan
            .routes
            .iter()
            .map(|r| r.visits.iter().map(|v| inst.node_of_stop[v.stop]).collect())
            .collect();
        Ok(serde_json::json!({
            "solver": "aftersales",
            "version": env!("CARGO_PKG_VERSION"),
            "routes": routes,
            "time_to_first": plan.stats.time_to_first,
            "time_to_best": plan.stats.time_to_best,
            "iterations": plan.stats.iterations,
            "wall": wall,
            "error": null,
        }))
    })();
    match result {
        Ok(v) => v.to_string(),
        Err(e) => {
            serde_json::json!({"solver": "aftersales", "routes": [], "error": format!("{e:#}")})
                .to_string()
        }
    }
}

/// Tuning experiments: PLANNER_FLEET_SHARE, PLANNER_T0, PLANNER_TF and PLANNER_ITERATIONS (instead of the time
/// limit, for repeatable comparisons) override the defaults.
fn tuned(mut c: Config) -> Config {
    let var = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok());
    if let Some(x) = var("PLANNER_FLEET_SHARE") {
        c.fleet_share = x;
    }
    if let Some(x) = var("PLANNER_FLEET_PATIENCE") {
        c.fleet_patience = x;
    }
    if let Some(x) = var("PLANNER_T0") {
        c.temperature.0 = x;
    }
    if let Some(x) = var("PLANNER_TF") {
        c.temperature.1 = x;
    }
    if let Some(x) = var("PLANNER_LOCAL_SEARCH") {
        c.local_search = x > 0.0;
    }
    if let Some(x) = var("PLANNER_ITERATIONS") {
        c.iteration_limit = Some(x as u64);
        c.time_limit = None;
    }
    c
}

struct RunArgs {
    data: PathBuf,
    sets: Vec<String>,
    budgets: Vec<f64>,
    solvers: Vec<String>,
    only: Vec<String>,
    jobs: usize,
    first_core: usize,
    seed: u64,
    out: PathBuf,
    summary: PathBuf,
    reference_dir: PathBuf,
    machine: Option<String>,
}

#[derive(Clone)]
struct Job {
    set: String,
    format: &'static str,
    instance: String,
    path: PathBuf,
    budget: f64,
    solver: String,
}

const CSV_HEAD: &str = "set,instance,budget_s,solver,version,vehicles,distance,bks_vehicles,bks_distance,gap_pct,time_to_first_s,time_to_best_s,wall_s,error\n";

fn csv_row(j: &Job, o: &Outcome, b: Option<&Bks>) -> String {
    let gap = match (o.distance, b) {
        (Some(d), Some(b)) => Some((d / b.distance - 1.0) * 100.0),
        _ => None,
    };
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
        j.set,
        j.instance,
        j.budget,
        j.solver,
        o.version.replace(',', ";"),
        o.vehicles.map_or(String::new(), |v| v.to_string()),
        o.distance.map_or(String::new(), |d| format!("{d:.4}")),
        b.map_or(String::new(), |b| b.vehicles.to_string()),
        b.map_or(String::new(), |b| format!("{:.2}", b.distance)),
        gap.map_or(String::new(), |g| format!("{g:.3}")),
        o.time_to_first.map_or(String::new(), |t| format!("{t:.3}")),
        o.time_to_best.map_or(String::new(), |t| format!("{t:.3}")),
        o.wall.map_or(String::new(), |t| format!("{t:.3}")),
        o.error.as_deref().unwrap_or("").replace([',', '\n'], ";"),
    )
}

/// The order sets appear in on the benchmarks page.
fn set_rank(set: &str) -> usize {
    ["solomon", "li_lim_100", "homberger_200", "li_lim_200"]
        .iter()
        .position(|s| *s == set)
        .unwrap_or(9)
}

/// One finished run: its place in the queue, what ran, and how it went.
type Ran = (usize, Job, Outcome);

#[derive(Clone, Debug, Default)]
struct Outcome {
    vehicles: Option<usize>,
    distance: Option<f64>,
    time_to_first: Option<f64>,
    time_to_best: Option<f64>,
    wall: Option<f64>,
    error: Option<String>,
    version: String,
}

fn set_format(set: &str) -> Result<&'static str> {
    Ok(match set {
        "solomon" | "homberger_200" => "solomon",
        "li_lim_100" | "li_lim_200" => "lilim",
        other => bail!("set {other}: one of solomon, homberger_200, li_lim_100, li_lim_200"),
    })
}

fn instance_name(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string()
}

fn run(a: RunArgs) -> Result<()> {
    if let Some(b) = a
        .budgets
        .iter()
        .find(|b| !(b.is_finite() && **b > 0.0 && **b <= 3600.0))
    {
        bail!("--budgets: {b} is not a number of seconds between 0 and 3600");
    }
    let bks_text = std::fs::read_to_string(a.data.join("bks.csv")).context("reading bks.csv")?;
    let bks: Vec<Bks> = read_bks(&bks_text)?
        .into_iter()
        .filter(|b| b.objective == "hierarchical")
        .collect();
    let mut jobs = Vec::new();
    for set in &a.sets {
        let format = set_format(set)?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(a.data.join(set))
            .with_context(|| format!("listing {set}"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        files.sort_by_key(|p| natural_key(&instance_name(p)));
        for path in files {
            let instance = instance_name(&path);
            let lower = instance.to_lowercase();
            if !a.only.is_empty() && !a.only.iter().any(|o| lower.starts_with(&o.to_lowercase())) {
                continue;
            }
            for &budget in &a.budgets {
                for solver in &a.solvers {
                    jobs.push(Job {
                        set: set.clone(),
                        format,
                        instance: instance.clone(),
                        path: path.clone(),
                        budget,
                        solver: solver.clone(),
                    });
                }
            }
        }
    }
    let total = jobs.len();
    eprintln!("{total} runs on {} core(s)", a.jobs.max(1));
    let queue = Arc::new(Mutex::new(
        jobs.into_iter().enumerate().rev().collect::<Vec<_>>(),
    ));
    let results: Arc<Mutex<Vec<Ran>>> = Arc::new(Mutex::new(Vec::new()));
    let exe = std::env::current_exe()?;
    let adapter = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("reference")
        .join("reference.py");
    let python = a.reference_dir.join("venv").join("bin").join("python");
    let started = Instant::now();
    let mut workers = Vec::new();
    for core in a.first_core..a.first_core + a.jobs.max(1) {
        let queue = Arc::clone(&queue);
        let results = Arc::clone(&results);
        let (exe, adapter, python, ref_dir) = (
            exe.clone(),
            adapter.clone(),
            python.clone(),
            a.reference_dir.clone(),
        );
        let seed = a.seed;
        workers.push(std::thread::spawn(move || loop {
            let next = queue.lock().ok().and_then(|mut q| q.pop());
            let Some((i, job)) = next else { break };
            let outcome = run_job(&job, core, seed, &exe, &adapter, &python, &ref_dir);
            let done = {
                let Ok(mut r) = results.lock() else { break };
                r.push((i, job.clone(), outcome.clone()));
                r.len()
            };
            eprintln!(
                "[{done}/{total} {:.0}s] {} {} {}s {}: {}",
                started.elapsed().as_secs_f64(),
                job.set,
                job.instance,
                job.budget,
                job.solver,
                match (&outcome.error, outcome.vehicles, outcome.distance) {
                    (Some(e), _, _) => format!("error: {e}"),
                    (None, Some(v), Some(d)) => format!("{v} vehicles, {d:.2}"),
                    _ => "no result".to_string(),
                }
            );
        }));
    }
    for w in workers {
        let _ = w.join();
    }
    let mut results = Arc::try_unwrap(results)
        .map_err(|_| anyhow::anyhow!("workers still hold the results"))?
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a worker panicked"))?;
    results.sort_by_key(|(i, _, _)| *i);
    write_reports(&a, &bks, &results, started.elapsed())
}

/// c1_2_10 after c1_2_9: compare digit runs as numbers.
fn natural_key(s: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut num = String::new();
    for ch in s.to_lowercase().chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
        } else {
            if !num.is_empty() {
                out.push((std::mem::take(&mut text), num.parse().unwrap_or(0)));
                num.clear();
            }
            text.push(ch);
        }
    }
    out.push((text, num.parse().unwrap_or(0)));
    out
}

fn run_job(
    job: &Job,
    core: usize,
    seed: u64,
    exe: &Path,
    adapter: &Path,
    python: &Path,
    ref_dir: &Path,
) -> Outcome {
    let mut cmd = Command::new("taskset");
    cmd.arg("-c").arg(core.to_string());
    let budget = format!("{}", job.budget);
    if job.solver == "aftersales" {
        cmd.arg(exe)
            .args(["solve", "--format", job.format])
            .arg(&job.path);
        cmd.args(["--time", &budget, "--seed", &seed.to_string()]);
    } else {
        cmd.arg(python)
            .arg(adapter)
            .args([job.solver.as_str(), job.format])
            .arg(&job.path);
        cmd.args([budget.as_str(), &seed.to_string()]);
        cmd.env("VRP_REF_DIR", ref_dir);
    }
    cmd.env("RAYON_NUM_THREADS", "1")
        .env("OMP_NUM_THREADS", "1");
    let limit =
        Duration::try_from_secs_f64(job.budget * 3.0 + 60.0).unwrap_or(Duration::from_secs(60));
    let raw = match run_with_limit(cmd, limit) {
        Ok(s) => s,
        Err(e) => {
            return Outcome {
                error: Some(e.to_string()),
                ..Outcome::default()
            }
        }
    };
    let Some(line) = raw.lines().rev().find(|l| l.trim_start().starts_with('{')) else {
        return Outcome {
            error: Some("no JSON line on stdout".into()),
            ..Outcome::default()
        };
    };
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(v) => judge(job, &v),
        Err(e) => Outcome {
            error: Some(format!("bad JSON: {e}")),
            ..Outcome::default()
        },
    }
}

/// Kills the run and whatever it started (the Python adapter starts vrp-cli): each run is its own process group.
fn kill_group(child: &mut std::process::Child) {
    let _ = Command::new("kill")
        .arg("-KILL")
        .arg("--")
        .arg(format!("-{}", child.id()))
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

fn run_with_limit(mut cmd: Command, limit: Duration) -> Result<String> {
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the solver")?;
    let mut stdout = child.stdout.take().context("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let started = Instant::now();
    loop {
        let done = child.try_wait();
        if !matches!(done, Ok(None)) {
            if done.is_err() {
                kill_group(&mut child);
            }
            break;
        }
        if started.elapsed() > limit {
            kill_group(&mut child);
            bail!("killed after {:.0} s", limit.as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("reading the solver's output failed"))
}

/// Maps the reported routes back onto our model and checks them independently.
fn judge(job: &Job, v: &serde_json::Value) -> Outcome {
    let mut o = Outcome {
        time_to_first: v["time_to_first"].as_f64(),
        time_to_best: v["time_to_best"].as_f64(),
        wall: v["wall"].as_f64(),
        version: v["version"].as_str().unwrap_or_default().to_string(),
        ..Outcome::default()
    };
    if let Some(e) = v["error"].as_str() {
        o.error = Some(e.to_string());
        return o;
    }
    let inst = match load(job.format, &job.path) {
        Ok(i) => i,
        Err(e) => {
            o.error = Some(e.to_string());
            return o;
        }
    };
    let mut routes = Vec::new();
    for (k, r) in v["routes"].as_array().into_iter().flatten().enumerate() {
        let mut seq = Vec::new();
        for node in r.as_array().into_iter().flatten() {
            match node
                .as_u64()
                .and_then(|n| inst.stop_of_node.get(n as usize).copied().flatten())
            {
                Some(s) => seq.push(s),
                None => {
                    o.error = Some(format!("route {k} names node {node}, not a customer"));
                    return o;
                }
            }
        }
        routes.push((k, seq));
    }
    if routes.len() > inst.problem.vehicles().len() {
        o.error = Some(format!(
            "{} routes for a fleet of {}",
            routes.len(),
            inst.problem.vehicles().len()
        ));
        return o;
    }
    match check_sequences(&inst.problem, &routes) {
        Ok(s) if s.unassigned > 0.0 => {
            o.error = Some(format!("{} customers not served", s.unassigned))
        }
        Ok(s) => {
            o.vehicles = Some(s.vehicles);
            o.distance = Some(s.distance);
        }
        Err(e) => {
            o.error = Some(format!(
                "infeasible: {}",
                e.into_iter().take(3).collect::<Vec<_>>().join("; ")
            ))
        }
    }
    o
}

fn machine_label() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{cpu}, {cores} cores")
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    // No "-0.00" for a distance that equals the best-known one up to rounding.
    v.map_or("–".to_string(), |x| {
        format!("{:.digits$}", if x.abs() < 0.005 { 0.0 } else { x })
    })
}

fn write_reports(
    a: &RunArgs,
    bks: &[Bks],
    results: &[(usize, Job, Outcome)],
    took: Duration,
) -> Result<()> {
    std::fs::create_dir_all(&a.out)?;
    let machine = a.machine.clone().unwrap_or_else(machine_label);
    let date = today();
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    // The code that produced the numbers: the commit, marked dirty when the tree had changes.
    let commit = Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let bks_of = |inst: &str| bks.iter().find(|b| b.instance.eq_ignore_ascii_case(inst));

    // Per set and budget: a table per instance, a CSV, and a summary row per solver.
    let mut groups: BTreeMap<(String, String), Vec<&Ran>> = BTreeMap::new();
    for r in results {
        groups
            .entry((r.1.set.clone(), format!("{:016.6}", r.1.budget)))
            .or_default()
            .push(r);
    }
    for ((set, _), rows) in &groups {
        let budget = rows[0].1.budget;
        let instances: Vec<String> = {
            let mut v: Vec<String> = rows.iter().map(|r| r.1.instance.clone()).collect();
            v.dedup();
            v
        };
        let solvers: Vec<String> = {
            let mut v: Vec<String> = Vec::new();
            for r in rows {
                if !v.contains(&r.1.solver) {
                    v.push(r.1.solver.clone());
                }
            }
            v
        };
        let get = |inst: &str, solver: &str| {
            rows.iter()
                .find(|r| r.1.instance == inst && r.1.solver == solver)
                .map(|r| &r.2)
        };
        let mut csv = String::from(CSV_HEAD);
        for r in rows {
            csv.push_str(&csv_row(&r.1, &r.2, bks_of(&r.1.instance)));
        }
        std::fs::write(a.out.join(format!("vrp-results-{set}-{budget}s.csv")), csv)?;
        let mut summary = String::new();
        let bks_cnv: usize = instances
            .iter()
            .filter_map(|i| bks_of(i))
            .map(|b| b.vehicles)
            .sum();
        let bks_ctd: f64 = instances
            .iter()
            .filter_map(|i| bks_of(i))
            .map(|b| b.distance)
            .sum();
        let _ = writeln!(summary, "### {set}, {budget} s per instance ({} instances; BKS CNV {bks_cnv}, CTD {bks_ctd:.2})\n", instances.len());
        let _ = writeln!(summary, "| solver | solved | CNV | CNV vs BKS | CTD | at BKS vehicles (n) | mean gap % (n) | time to first | time to best |");
        let _ = writeln!(summary, "|---|---|---|---|---|---|---|---|---|");
        for s in &solvers {
            let mut solved = 0;
            let (mut cnv, mut ctd) = (0usize, 0.0);
            let mut gaps = Vec::new();
            let (mut first, mut nfirst, mut best, mut nbest) = (0.0, 0, 0.0, 0);
            for i in &instances {
                let Some(o) = get(i, s) else { continue };
                if let (Some(v), Some(d)) = (o.vehicles, o.distance) {
                    solved += 1;
                    cnv += v;
                    ctd += d;
                    if let Some(b) = bks_of(i) {
                        if v == b.vehicles {
                            gaps.push((d / b.distance - 1.0) * 100.0);
                        }
                    }
                    if let Some(t) = o.time_to_first {
                        first += t;
                        nfirst += 1;
                    }
                    if let Some(t) = o.time_to_best {
                        best += t;
                        nbest += 1;
                    }
                }
            }
            let all = solved == instances.len();
            let mean_gap = (!gaps.is_empty()).then(|| gaps.iter().sum::<f64>() / gaps.len() as f64);
            let _ = writeln!(
                summary,
                "| {s} | {solved}/{} | {} | {} | {} | {} | {} | {} | {} |",
                instances.len(),
                if all {
                    cnv.to_string()
                } else {
                    format!("({cnv})")
                },
                if all && bks_cnv > 0 {
                    format!("{:+.2} %", (cnv as f64 / bks_cnv as f64 - 1.0) * 100.0)
                } else {
                    "–".into()
                },
                if all {
                    format!("{ctd:.2}")
                } else {
                    format!("({ctd:.2})")
                },
                gaps.len(),
                mean_gap.map_or("–".into(), |g| format!(
                    "{} ({})",
                    fmt_opt(Some(g), 2),
                    gaps.len()
                )),
                if nfirst > 0 {
                    format!("{:.2}", first / nfirst as f64)
                } else {
                    "–".into()
                },
                if nbest > 0 {
                    format!("{:.2}", best / nbest as f64)
                } else {
                    "–".into()
                },
            );
        }
        let _ = writeln!(
            summary,
            "\nMachine: {machine}. Date: {date}. Commit {commit}. Seed {}. {} run(s) in parallel, one core each; this invocation took {:.0} min. \
             Per instance: [docs/bench/vrp-{set}-{budget}s.md](bench/vrp-{set}-{budget}s.md).\n\nCommand: `{command}`\n",
            a.seed,
            a.jobs.max(1),
            took.as_secs_f64() / 60.0
        );
        std::fs::write(
            a.out.join(format!("vrp-summary-{set}-{budget}s.md")),
            &summary,
        )?;
        // Per-instance table in its own file.
        let mut md = String::new();
        let _ = writeln!(md, "# {set}, {budget} s per instance\n\nMachine: {machine}. Date: {date}. Command: `{command}`\n");
        let mut head = String::from("| instance | BKS |");
        let mut rule = String::from("|---|---|");
        for s in &solvers {
            let _ = write!(head, " {s} |");
            rule.push_str("---|");
        }
        let _ = writeln!(md, "Cells: vehicles / distance (gap to BKS %); ✗ = no feasible complete solution.\n\n{head}\n{rule}");
        for i in &instances {
            let b = bks_of(i);
            let _ = write!(
                md,
                "| {i} | {} |",
                b.map_or("–".into(), |b| format!(
                    "{} / {:.2}",
                    b.vehicles, b.distance
                ))
            );
            for s in &solvers {
                let cell = match get(i, s) {
                    Some(Outcome {
                        vehicles: Some(v),
                        distance: Some(d),
                        ..
                    }) => {
                        let gap = b.map(|b| (d / b.distance - 1.0) * 100.0);
                        format!("{v} / {d:.2} ({})", fmt_opt(gap, 2))
                    }
                    Some(o) => format!(
                        "✗ {}",
                        o.error
                            .as_deref()
                            .unwrap_or("")
                            .chars()
                            .take(40)
                            .collect::<String>()
                    ),
                    None => "–".into(),
                };
                let _ = write!(md, " {cell} |");
            }
            let _ = writeln!(md);
        }
        std::fs::write(a.out.join(format!("vrp-{set}-{budget}s.md")), md)?;
    }
    // The page shows every set and budget measured so far, each with its own machine, date and command.
    let mut parts: Vec<(usize, f64, PathBuf)> = std::fs::read_dir(&a.out)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let rest = name
                .strip_prefix("vrp-summary-")?
                .strip_suffix("s.md")?
                .to_string();
            let (set, budget) = rest.rsplit_once('-')?;
            Some((set_rank(set), budget.parse().ok()?, p))
        })
        .collect();
    parts.sort_by(|x, y| x.0.cmp(&y.0).then(x.1.total_cmp(&y.1)));
    let mut summary = String::new();
    for (_, _, path) in parts {
        summary.push_str(&std::fs::read_to_string(path)?);
        summary.push('\n');
    }
    // Splice the summary into the marked section of the benchmarks page.
    let begin = "<!-- vrp:begin -->";
    let end = "<!-- vrp:end -->";
    let page = std::fs::read_to_string(&a.summary).unwrap_or_default();
    let new = match (page.find(begin), page.find(end)) {
        (Some(b), Some(e)) if b < e => format!("{}{begin}\n{summary}{}", &page[..b], &page[e..]),
        _ => format!("{page}\n{begin}\n{summary}{end}\n"),
    };
    std::fs::write(&a.summary, new)?;
    eprintln!("wrote {} and {}", a.out.display(), a.summary.display());
    Ok(())
}

/// Today's date from the system clock (the benchmark program is the one place that may read it), as YYYY-MM-DD.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{}-{m:02}-{d:02}", if m <= 2 { y + 1 } else { y })
}
