//! `aftersales bench-load`: requests per second, latency and memory of the product under load
//! (issue 21). For each engine it loads the demo into a fresh database (`aftersales demo
//! --no-serve`), starts `aftersales serve` as its own process, and measures as Ingrid (Trondheim's
//! service advisor) and her customers reach it:
//! - reads with `wrk` (Debian `wrk`): a customer's status page, a case and a customer through the
//!   API with a bearer token, the inbox page with a session cookie; then a customer read from 1
//!   to 256 connections;
//! - writes with this program's own client (each write needs its own body, and an invoice is a
//!   draft then its issue): a call logged as a case, a repair-order line added, an invoice issued;
//! - the server's resident memory idle, after the load and, with `--soak`, sampled during reads
//!   held at 80 % of the measured capacity.
//!
//! The ceiling is an axum "hello" (`aftersales bench-hello`, the same runtime) measured by the
//! same `wrk` in the same run. Every target is checked to answer 200 before it is loaded, and a
//! run with any failed request says so in the table. The tables go between `<!-- load:begin -->`
//! and `<!-- load:end -->` of the summary file, with the machine, the date and the command.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aftersales_store::auth::LoginPolicy;
use aftersales_store::{demo, Store};
use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Value};
use time::OffsetDateTime;

#[derive(Args, Clone)]
pub struct BenchLoadArgs {
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent connections for the main tables.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Connection counts for the scaling table (a customer read through the API).
    #[arg(long, default_value = "1,8,32,128,256")]
    pub sweep: String,
    /// Folder for the SQLite demo database (a fresh `load.db` in it; default: the system's
    /// temporary folder).
    #[arg(long)]
    pub sqlite_dir: Option<PathBuf>,
    /// Do not measure SQLite.
    #[arg(long)]
    pub no_sqlite: bool,
    /// A PostgreSQL database to load the demo into (EMPTIED first); none: PostgreSQL is not
    /// measured.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Seconds of reads held at 80 % of the measured capacity after the other measurements,
    /// resident memory sampled every 10 s (0: no soak).
    #[arg(long, default_value_t = 0)]
    pub soak: u64,
    /// The summary file to write the tables into.
    #[arg(long)]
    pub summary: Option<PathBuf>,
}

/// One measured load: requests answered per second, latency percentiles, failures.
#[derive(Debug, Clone, Default)]
struct Measure {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    failed: u64,
}

impl Measure {
    fn cell(&self) -> String {
        let failed = if self.failed > 0 {
            format!(", **{} failed**", self.failed)
        } else {
            String::new()
        };
        format!(
            "{} /s, p50 {:.2} ms, p99 {:.2} ms{failed}",
            thousands(self.rps),
            self.p50_ms,
            self.p99_ms
        )
    }
}

fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What one engine's run found.
struct EngineRun {
    engine: &'static str,
    reads: Vec<(&'static str, Measure)>,
    sweep: Vec<(usize, Measure)>,
    writes: Vec<(&'static str, Measure)>,
    rss_idle_kib: u64,
    rss_loaded_kib: u64,
    soak: Option<Soak>,
}

struct Soak {
    target_rps: f64,
    measure: Measure,
    rss_kib: Vec<u64>,
}

/// A child process serving HTTP; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(args: &[&str], database_url: Option<&str>, log: &Path) -> anyhow::Result<Server> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let listen = format!("127.0.0.1:{port}");
        let exe = std::env::current_exe().context("finding this program")?;
        let mut cmd = Command::new(exe);
        cmd.args(args).args(["--listen", &listen]);
        if let Some(url) = database_url {
            cmd.env("AFTERSALES_DATABASE_URL", url);
        }
        let out = std::fs::File::create(log)?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("starting the server")?;
        Ok(Server {
            child,
            base: format!("http://{listen}"),
        })
    }

    async fn ready(&mut self, client: &reqwest::Client, path: &str) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{}{path}", self.base)).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("the server stopped ({status}) before it answered");
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("the server did not answer {path} within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Resident memory in KiB.
    fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id())
    }
}

/// Resident memory of a process in KiB (`VmRSS` of /proc; 0 when it cannot be read).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The hidden `bench-hello` subcommand: the ceiling, an axum "hello" on the same runtime.
pub async fn hello(listen: &str) -> anyhow::Result<()> {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// Runs `wrk` against one URL and reads its summary.
fn wrk(
    url: &str,
    connections: usize,
    seconds: u64,
    headers: &[(String, String)],
) -> anyhow::Result<Measure> {
    let threads = connections.clamp(1, 2);
    let mut cmd = Command::new("wrk");
    cmd.arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("--latency")
        .arg("--timeout")
        .arg("10s");
    for (k, v) in headers {
        cmd.arg("-H").arg(format!("{k}: {v}"));
    }
    let out = cmd
        .arg(url)
        .output()
        .context("running wrk (Debian package `wrk`)")?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        bail!(
            "wrk failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse_wrk(&text).with_context(|| format!("reading wrk's summary:\n{text}"))
}

fn parse_wrk(text: &str) -> anyhow::Result<Measure> {
    let mut m = Measure::default();
    let mut in_dist = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("Latency Distribution") {
            in_dist = true;
            continue;
        }
        if in_dist {
            if let Some((pct, v)) = t.split_once(char::is_whitespace) {
                match pct {
                    "50%" => m.p50_ms = duration_ms(v.trim())?,
                    "99%" => m.p99_ms = duration_ms(v.trim())?,
                    "75%" | "90%" => {}
                    _ => in_dist = false,
                }
            } else {
                in_dist = false;
            }
        }
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            m.rps = v.trim().parse()?;
        }
        if t.contains(" requests in ") {
            m.requests = t
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        }
        if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
            m.failed += v.trim().parse::<u64>()?;
        }
        if let Some(v) = t.strip_prefix("Socket errors:") {
            // connect 0, read 0, write 0, timeout 0
            for part in v.split(',') {
                if let Some(n) = part.split_whitespace().nth(1) {
                    m.failed += n.parse::<u64>().unwrap_or(0);
                }
            }
        }
    }
    if m.rps <= 0.0 {
        bail!("no Requests/sec line");
    }
    Ok(m)
}

fn duration_ms(v: &str) -> anyhow::Result<f64> {
    let split = v
        .find(|c: char| c.is_ascii_alphabetic())
        .context("a duration without a unit")?;
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse()?;
    Ok(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        other => bail!("unknown unit {other}"),
    })
}

/// A write: one request whose latency is measured (after any unmeasured preparation), `Ok`
/// when it answered as it should.
type WriteFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Duration, String>> + Send>>;

/// Runs `connections` workers for `seconds`, each calling `op(worker, n)` in a loop.
async fn drive(
    connections: usize,
    seconds: u64,
    op: Arc<dyn Fn(usize, u64) -> WriteFuture + Send + Sync>,
) -> anyhow::Result<(Measure, Option<String>)> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..connections {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failed = 0_u64;
            let mut first_error = None;
            let mut n = 0_u64;
            while Instant::now() < deadline {
                n += 1;
                match op(w, n).await {
                    Ok(d) => lat.push(d.as_micros() as u64),
                    Err(e) => {
                        failed += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (lat, failed, first_error)
        }));
    }
    let mut all = Vec::new();
    let mut failed = 0;
    let mut first_error = None;
    for t in tasks {
        let (lat, f, e) = t.await?;
        all.extend(lat);
        failed += f;
        if first_error.is_none() {
            first_error = e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1;
        all.get(i).copied().unwrap_or(0) as f64 / 1000.0
    };
    Ok((
        Measure {
            rps: all.len() as f64 / elapsed,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            requests: all.len() as u64 + failed,
            failed,
        },
        first_error,
    ))
}

/// Reads held at `rps` (spread over `connections` workers) for `seconds`, memory sampled.
async fn soak(
    client: &reqwest::Client,
    url: String,
    token: String,
    rps: f64,
    connections: usize,
    seconds: u64,
    server: &Server,
) -> anyhow::Result<Soak> {
    let per_worker = Duration::from_secs_f64(connections as f64 / rps.max(1.0));
    let client = client.clone();
    let op: Arc<dyn Fn(usize, u64) -> WriteFuture + Send + Sync> = Arc::new(move |_, _| {
        let client = client.clone();
        let url = url.clone();
        let token = token.clone();
        Box::pin(async move {
            // Each worker waits out the rest of its slot after an answer; a late answer goes on at once.
            let started = Instant::now();
            let r = client
                .get(&url)
                .bearer_auth(&token)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = r.status();
            r.bytes().await.map_err(|e| e.to_string())?;
            let took = started.elapsed();
            if status != reqwest::StatusCode::OK {
                return Err(format!("status {status}"));
            }
            if let Some(rest) = per_worker.checked_sub(took) {
                tokio::time::sleep(rest).await;
            }
            Ok(took)
        })
    });
    let sampler = {
        let pid = server.child.id();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let end = Instant::now() + Duration::from_secs(seconds);
            while Instant::now() < end {
                tokio::time::sleep(Duration::from_secs(10)).await;
                let kib = rss_kib(pid);
                samples.push(kib);
            }
            samples
        })
    };
    let (measure, _) = drive(connections, seconds, op).await?;
    let rss_kib = sampler.await?;
    Ok(Soak {
        target_rps: rps,
        measure,
        rss_kib,
    })
}

/// Ids the load needs, found as Ingrid finds them.
struct Targets {
    token: String,
    session: String,
    status_token: String,
    customer_id: String,
    case_id: String,
    /// Repair orders with a job that takes lines: (order, job).
    jobs: Vec<(String, String)>,
    org_id: String,
    invoice_customer: String,
}

async fn targets(url: &str, client: &reqwest::Client, base: &str) -> anyhow::Result<Targets> {
    let store = Store::connect(url).await?;
    let now = OffsetDateTime::now_utc();
    let policy = LoginPolicy::default();
    let session = store
        .auth()
        .login(
            "ingrid",
            demo::DEMO_PASSWORD,
            Some("127.0.0.1"),
            now,
            &policy,
        )
        .await
        .map_err(|e| anyhow::anyhow!("logging in as ingrid: {e:?}"))?;
    let caller = store
        .auth()
        .resolve_session(&session.raw_id, now, &policy)
        .await?
        .context("ingrid's new session")?;
    let (_, token) = store
        .auth()
        .create_api_token(&caller, "load test", None, now)
        .await?;
    let trondheim = "Tesla Service Centre Trondheim";
    let (org_id, _) = store.cli().find_organisation(trondheim).await?;
    let status_token = store
        .cli()
        .status_tokens(trondheim, 1)
        .await?
        .into_iter()
        .next()
        .context("the demo has no repair order at Trondheim")?;
    store.close().await;
    let get = |path: String| {
        let client = client.clone();
        let token = token.clone();
        let base = base.to_string();
        async move {
            let r = client
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("GET {path}: {}", r.status());
            }
            Ok::<Value, anyhow::Error>(r.json().await?)
        }
    };
    let first_id = |v: &Value| -> Option<String> {
        v["items"]
            .as_array()?
            .first()?
            .get("id")?
            .as_str()
            .map(String::from)
    };
    let customers = get("/api/v1/customers".into()).await?;
    let customer_id = first_id(&customers).context("Ingrid sees no customer")?;
    let case_id = first_id(&get("/api/v1/cases".into()).await?).context("Ingrid sees no case")?;
    // Repair orders whose first job takes a line (tried once each, up to 32).
    let mut jobs = Vec::new();
    let orders = get("/api/v1/repair-orders?limit=100".into()).await?;
    for ro in orders["items"].as_array().cloned().unwrap_or_default() {
        let Some(id) = ro["id"].as_str() else {
            continue;
        };
        let detail = get(format!("/api/v1/repair-orders/{id}")).await?;
        let Some(job) = detail["jobs"]
            .as_array()
            .and_then(|j| j.first())
            .and_then(|j| j["id"].as_str())
        else {
            continue;
        };
        let r = client
            .post(format!("{base}/api/v1/repair-orders/{id}/jobs/{job}/lines"))
            .bearer_auth(&token)
            .json(&line_body())
            .send()
            .await?;
        if r.status() == reqwest::StatusCode::CREATED {
            jobs.push((id.to_string(), job.to_string()));
        }
        if jobs.len() >= 32 {
            break;
        }
    }
    if jobs.is_empty() {
        bail!("no repair order at Trondheim takes a line");
    }
    // A customer an invoice can be issued to (one draft and issue tried per customer).
    let mut invoice_customer = None;
    for c in customers["items"].as_array().cloned().unwrap_or_default() {
        let Some(cid) = c["id"].as_str() else {
            continue;
        };
        if issue_invoice(client, base, &token, &org_id, cid)
            .await
            .is_ok()
        {
            invoice_customer = Some(cid.to_string());
            break;
        }
    }
    Ok(Targets {
        token,
        session: session.raw_id,
        status_token,
        customer_id,
        case_id,
        jobs,
        org_id,
        invoice_customer: invoice_customer.context("no customer of Ingrid's can be invoiced")?,
    })
}

fn line_body() -> Value {
    json!({"kind": "sublet", "description": "Load test: sublet work", "quantity": "1", "unit_price": "100"})
}

/// A draft (not measured), then its issue (measured).
async fn issue_invoice(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    org_id: &str,
    customer_id: &str,
) -> Result<Duration, String> {
    let r = client
        .post(format!("{base}/api/v1/billing-documents"))
        .bearer_auth(token)
        .json(&json!({
            "organisation_id": org_id,
            "customer_id": customer_id,
            "lines": [{"kind": "labour", "description": "Load test: diagnosis", "quantity": "1", "unit_price": "1000"}],
        }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status() != reqwest::StatusCode::CREATED {
        return Err(format!(
            "draft: {} {}",
            r.status(),
            r.text().await.unwrap_or_default()
        ));
    }
    let etag = r
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let draft: Value = r.json().await.map_err(|e| e.to_string())?;
    let id = draft["id"].as_str().unwrap_or("").to_string();
    let started = Instant::now();
    let r = client
        .post(format!("{base}/api/v1/billing-documents/{id}/issue"))
        .bearer_auth(token)
        .header("If-Match", etag)
        .json(&json!({}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let body = r.bytes().await.map_err(|e| e.to_string())?;
    if status != reqwest::StatusCode::OK {
        return Err(format!(
            "issue: {status} {}",
            String::from_utf8_lossy(&body)
        ));
    }
    Ok(started.elapsed())
}

async fn post_measured(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: Value,
) -> Result<Duration, String> {
    let started = Instant::now();
    let r = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let text = r.bytes().await.map_err(|e| e.to_string())?;
    if status != reqwest::StatusCode::CREATED {
        return Err(format!("{status} {}", String::from_utf8_lossy(&text)));
    }
    Ok(started.elapsed())
}

async fn check_ok(
    client: &reqwest::Client,
    url: &str,
    headers: &[(String, String)],
) -> anyhow::Result<()> {
    let mut req = client.get(url);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let r = req.send().await?;
    if r.status() != reqwest::StatusCode::OK {
        bail!("{url} answered {} instead of 200", r.status());
    }
    Ok(())
}

/// What is read, the URL, the headers sent.
type ReadTarget = (&'static str, String, Vec<(String, String)>);

async fn run_engine(
    a: &BenchLoadArgs,
    engine: &'static str,
    url: &str,
    work: &Path,
    client: &reqwest::Client,
) -> anyhow::Result<EngineRun> {
    let exe = std::env::current_exe()?;
    eprintln!("{engine}: loading the demo");
    let mut demo_cmd = Command::new(&exe);
    demo_cmd
        .args(["demo", "--no-serve"])
        .env("AFTERSALES_DATABASE_URL", url);
    if engine == "PostgreSQL" {
        demo_cmd.arg("--reset-postgres");
    }
    let out = demo_cmd.output().context("loading the demo")?;
    if !out.status.success() {
        bail!(
            "loading the demo failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut server = Server::start(&["serve"], Some(url), &work.join(format!("{engine}.log")))?;
    server.ready(client, "/health").await?;
    let base = server.base.clone();
    let t = targets(url, client, &base).await?;
    let bearer = vec![("Authorization".to_string(), format!("Bearer {}", t.token))];
    let cookie = vec![("Cookie".to_string(), format!("as_session={}", t.session))];
    let reads: Vec<ReadTarget> = vec![
        (
            "the customer's status page `/s/{token}`",
            format!("{base}/s/{}", t.status_token),
            vec![],
        ),
        (
            "`GET /api/v1/cases/{id}` (bearer token)",
            format!("{base}/api/v1/cases/{}", t.case_id),
            bearer.clone(),
        ),
        (
            "`GET /api/v1/customers/{id}` (bearer token)",
            format!("{base}/api/v1/customers/{}", t.customer_id),
            bearer.clone(),
        ),
        (
            "the inbox page `/inbox` (session cookie)",
            format!("{base}/inbox"),
            cookie.clone(),
        ),
    ];
    let rss_idle_kib = server.rss_kib();
    let mut measured_reads = Vec::new();
    for (what, target, headers) in &reads {
        check_ok(client, target, headers).await?;
        eprintln!("{engine}: {what}");
        measured_reads.push((*what, wrk(target, a.connections, a.seconds, headers)?));
    }
    let customer_url = format!("{base}/api/v1/customers/{}", t.customer_id);
    let mut sweep = Vec::new();
    for c in a
        .sweep
        .split(',')
        .filter_map(|c| c.trim().parse::<usize>().ok())
    {
        eprintln!("{engine}: customer read at {c} connections");
        sweep.push((c, wrk(&customer_url, c, a.seconds, &bearer)?));
    }
    // Writes.
    let mut writes = Vec::new();
    {
        let (client2, base2, token, customer) = (
            client.clone(),
            base.clone(),
            t.token.clone(),
            t.customer_id.clone(),
        );
        let op: Arc<dyn Fn(usize, u64) -> WriteFuture + Send + Sync> = Arc::new(move |w, n| {
            let (client, url, token) = (
                client2.clone(),
                format!("{base2}/api/v1/cases"),
                token.clone(),
            );
            let body = json!({
                "customer_id": customer, "channel": "phone", "category": "technical",
                "priority": "normal", "subject": format!("Load test call {w}-{n}"),
                "symptoms": "The car does not charge above 80 % at home.",
            });
            Box::pin(async move { post_measured(&client, url, &token, body).await })
        });
        eprintln!("{engine}: log a call as a case");
        let (m, err) = drive(a.connections, a.seconds, op).await?;
        report_error(engine, "case", &err);
        writes.push(("log a call as a case (`POST /api/v1/cases`)", m));
    }
    {
        let (client2, base2, token, jobs) = (
            client.clone(),
            base.clone(),
            t.token.clone(),
            t.jobs.clone(),
        );
        let op: Arc<dyn Fn(usize, u64) -> WriteFuture + Send + Sync> = Arc::new(move |w, _| {
            let (ro, job) = jobs[w % jobs.len()].clone();
            let (client, url, token) = (
                client2.clone(),
                format!("{base2}/api/v1/repair-orders/{ro}/jobs/{job}/lines"),
                token.clone(),
            );
            Box::pin(async move { post_measured(&client, url, &token, line_body()).await })
        });
        eprintln!("{engine}: add a repair-order line");
        let (m, err) = drive(a.connections, a.seconds, op).await?;
        report_error(engine, "line", &err);
        writes.push(("add a repair-order line (`POST …/jobs/{id}/lines`)", m));
    }
    {
        let (client2, base2, token, org, customer) = (
            client.clone(),
            base.clone(),
            t.token.clone(),
            t.org_id.clone(),
            t.invoice_customer.clone(),
        );
        let op: Arc<dyn Fn(usize, u64) -> WriteFuture + Send + Sync> = Arc::new(move |_, _| {
            let (client, base, token, org, customer) = (
                client2.clone(),
                base2.clone(),
                token.clone(),
                org.clone(),
                customer.clone(),
            );
            Box::pin(async move { issue_invoice(&client, &base, &token, &org, &customer).await })
        });
        eprintln!("{engine}: issue an invoice");
        let (m, err) = drive(a.connections, a.seconds, op).await?;
        report_error(engine, "invoice", &err);
        writes.push((
            "issue an invoice (`POST /api/v1/billing-documents/{id}/issue`; its draft made before, not timed)",
            m,
        ));
    }
    let rss_loaded_kib = server.rss_kib();
    let soak_run = if a.soak > 0 {
        let capacity = sweep
            .iter()
            .find(|(c, _)| *c == a.connections)
            .map(|(_, m)| m.rps)
            .or_else(|| measured_reads.get(2).map(|(_, m)| m.rps))
            .unwrap_or(1000.0);
        eprintln!(
            "{engine}: soak for {} s at {:.0} /s",
            a.soak,
            capacity * 0.8
        );
        Some(
            soak(
                client,
                customer_url.clone(),
                t.token.clone(),
                capacity * 0.8,
                a.connections,
                a.soak,
                &server,
            )
            .await?,
        )
    } else {
        None
    };
    Ok(EngineRun {
        engine,
        reads: measured_reads,
        sweep,
        writes,
        rss_idle_kib,
        rss_loaded_kib,
        soak: soak_run,
    })
}

fn report_error(engine: &str, what: &str, err: &Option<String>) {
    if let Some(e) = err {
        eprintln!("{engine}: {what}: first failure: {e}");
    }
}

pub async fn run(a: BenchLoadArgs) -> anyhow::Result<()> {
    if Command::new("wrk").arg("--version").output().is_err() {
        bail!("wrk is not installed (Debian: apt-get install wrk)");
    }
    let work = match &a.sqlite_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("aftersales-load-{}", std::process::id())),
    };
    std::fs::create_dir_all(&work)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.connections.max(8))
        .timeout(Duration::from_secs(30))
        .build()?;
    let now = OffsetDateTime::now_utc();
    eprintln!("ceiling: axum hello");
    let hello_measure = {
        let mut hello = Server::start(&["bench-hello"], None, &work.join("hello.log"))?;
        hello.ready(&client, "/").await?;
        wrk(&format!("{}/", hello.base), a.connections, a.seconds, &[])?
    };
    let mut runs = Vec::new();
    if !a.no_sqlite {
        let db = work.join("load.db");
        for f in ["load.db", "load.db-wal", "load.db-shm"] {
            let _ = std::fs::remove_file(work.join(f));
        }
        let url = format!("sqlite://{}", db.display());
        runs.push(run_engine(&a, "SQLite", &url, &work, &client).await?);
    }
    if let Some(pg) = &a.postgres {
        runs.push(run_engine(&a, "PostgreSQL", pg, &work, &client).await?);
    }
    if runs.is_empty() {
        bail!("nothing to measure: give --postgres URL, or leave out --no-sqlite");
    }
    let out = table(&a, now, &hello_measure, &runs);
    println!("{out}");
    if let Some(path) = &a.summary {
        crate::bench::write_summary(
            path,
            "load",
            "Load: requests per second, latency, memory",
            &out,
        )?;
    }
    Ok(())
}

/// A markdown table with one column per engine: `rows` are a label and one cell per engine.
fn engine_table(
    out: &mut String,
    head: &str,
    right: bool,
    runs: &[EngineRun],
    rows: Vec<(String, Vec<String>)>,
) {
    out.push_str(&format!("| {head} |"));
    for r in runs {
        out.push_str(&format!(" {} |", r.engine));
    }
    out.push_str(if right { "\n|---:|" } else { "\n|---|" });
    for _ in runs {
        out.push_str("---|");
    }
    out.push('\n');
    for (label, cells) in rows {
        out.push_str(&format!("| {label} |"));
        for c in cells {
            out.push_str(&format!(" {c} |"));
        }
        out.push('\n');
    }
}

/// Rows of measures: each row's label from the first engine, the cells from every engine.
fn measure_rows<L: std::fmt::Display>(
    runs: &[EngineRun],
    of: impl Fn(&EngineRun) -> Vec<(L, &Measure)>,
) -> Vec<(String, Vec<String>)> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    of(first)
        .iter()
        .enumerate()
        .map(|(i, (label, _))| {
            let cells = runs
                .iter()
                .map(|r| of(r).get(i).map(|(_, m)| m.cell()).unwrap_or_default())
                .collect();
            (label.to_string(), cells)
        })
        .collect()
}

fn table(a: &BenchLoadArgs, now: OffsetDateTime, hello: &Measure, runs: &[EngineRun]) -> String {
    let mut out = format!(
        "Machine: {}. Date: {}. Commit: {}. Command: `aftersales bench-load --seconds {} --connections {} --sweep {}{}{}{}` ({} build; the server, `wrk` and the write client on the same machine).\n\n",
        crate::bench::machine(),
        now.date(),
        crate::bench::commit(),
        a.seconds,
        a.connections,
        a.sweep,
        if a.no_sqlite { " --no-sqlite" } else { "" },
        if a.postgres.is_some() { " --postgres URL" } else { "" },
        if a.soak > 0 { format!(" --soak {}", a.soak) } else { String::new() },
        if cfg!(debug_assertions) { "debug" } else { "release" },
    );
    out.push_str(&format!(
        "Reads by `wrk` ({} connections, {} s each) as Ingrid (Trondheim's service advisor) and her customers see the demo; ceiling: an axum \"hello\" on the same runtime, measured in the same run: **{}**.\n\n",
        a.connections,
        a.seconds,
        hello.cell()
    ));
    let reads = measure_rows(runs, |r| r.reads.iter().map(|(w, m)| (*w, m)).collect());
    engine_table(&mut out, "request", false, runs, reads);
    out.push_str("\nA customer read (`GET /api/v1/customers/{id}`) from 1 to 256 connections:\n\n");
    let sweep = measure_rows(runs, |r| r.sweep.iter().map(|(c, m)| (*c, m)).collect());
    engine_table(&mut out, "connections", true, runs, sweep);
    out.push_str(&format!(
        "\nWrites by this program's client ({} concurrent, {} s each; SQLite with `synchronous = {}` in WAL mode):\n\n",
        a.connections,
        a.seconds,
        aftersales_store::SQLITE_SYNCHRONOUS
    ));
    let writes = measure_rows(runs, |r| r.writes.iter().map(|(w, m)| (*w, m)).collect());
    engine_table(&mut out, "request", false, runs, writes);
    out.push_str("\nResident memory of the server (MiB):\n\n");
    let mib = |kib: u64| format!("{:.1}", kib as f64 / 1024.0);
    let memory = vec![
        (
            "idle, after start and login".to_string(),
            runs.iter().map(|r| mib(r.rss_idle_kib)).collect(),
        ),
        (
            "after the reads and writes above".to_string(),
            runs.iter().map(|r| mib(r.rss_loaded_kib)).collect(),
        ),
    ];
    engine_table(&mut out, "when", false, runs, memory);
    for r in runs {
        if let Some(s) = &r.soak {
            let min = s.rss_kib.iter().min().copied().unwrap_or(0) as f64 / 1024.0;
            let max = s.rss_kib.iter().max().copied().unwrap_or(0) as f64 / 1024.0;
            out.push_str(&format!(
                "\n{} soak: {} s of customer reads held at {} /s (80 % of the capacity measured at {} connections): {}; resident memory sampled every 10 s between {min:.1} and {max:.1} MiB ({} samples).\n",
                r.engine,
                a.soak,
                thousands(s.target_rps),
                a.connections,
                s.measure.cell(),
                s.rss_kib.len()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_summaries() {
        let text = "Running 10s test @ http://127.0.0.1:8080/\n  2 threads and 32 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency   227.56us  100.00us   5.00ms   90.00%\n    Req/Sec    70.62k     2.00k   75.00k    70.00%\n  Latency Distribution\n     50%  200.00us\n     75%  250.00us\n     90%  300.00us\n     99%    1.02ms\n  1412345 requests in 10.00s, 170.02MB read\n  Socket errors: connect 0, read 2, write 0, timeout 1\n  Non-2xx or 3xx responses: 12\nRequests/sec: 141234.50\nTransfer/sec:     17.00MB\n";
        let m = parse_wrk(text).unwrap();
        assert_eq!(m.rps, 141234.50);
        assert_eq!(m.p50_ms, 0.2);
        assert_eq!(m.p99_ms, 1.02);
        assert_eq!(m.requests, 1412345);
        assert_eq!(m.failed, 15);
        assert_eq!(thousands(141234.5), "141,235");
        assert!(parse_wrk("nothing").is_err());
        assert_eq!(duration_ms("1.50s").unwrap(), 1500.0);
    }
}
