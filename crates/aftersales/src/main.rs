//! The `aftersales` binary: serve | migrate | demo | user | backup. Each subcommand parses its
//! arguments, opens the store and calls one function of the store or web crate.

mod bench;
mod bench_kpis;
mod bench_load;
mod config;
mod import;

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use aftersales_domain::clock::{Clock, SystemClock};
use aftersales_domain::i18n::Language;
use aftersales_store::user::NewUser;
use aftersales_store::{demo, Engine, Store};
use aftersales_web::{AppState, WebConfig};
use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};

use crate::config::{FileConfig, Settings};

#[derive(Parser)]
#[command(
    name = "aftersales",
    version,
    about = "Aftersales service operations for electric-vehicle brands"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone, Default)]
pub struct GlobalArgs {
    /// Configuration file (TOML). Settings from flags and environment variables win over it.
    #[arg(long, global = true, env = "AFTERSALES_CONFIG")]
    pub config: Option<PathBuf>,
    /// sqlite://FILE or postgres://USER@HOST/DB
    #[arg(long, global = true, env = "AFTERSALES_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Log format: text or json.
    #[arg(long, global = true, env = "AFTERSALES_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Log filter, e.g. info or aftersales_web=debug,info.
    #[arg(long, global = true, env = "AFTERSALES_LOG")]
    pub log_level: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web UI and the API.
    Serve(ServeArgs),
    /// Apply the embedded database migrations that have not run yet.
    Migrate,
    /// Create (or reset) a demo database with realistic organisations and users, and serve it.
    Demo(DemoArgs),
    /// Manage staff users from the command line.
    #[command(subcommand)]
    User(UserCommand),
    /// Take a consistent online backup (SQLite), or print how to take one (PostgreSQL).
    Backup(BackupArgs),
    /// Register brands (the first step of a new installation).
    #[command(subcommand)]
    Brand(BrandCommand),
    /// Register markets: country, currency, time zone, languages, VAT regime.
    #[command(subcommand)]
    Market(MarketCommand),
    /// Create and list organisations (brand HQ, market entity, importer, service point, care centre).
    #[command(subcommand)]
    Org(OrgCommand),
    /// Import customers or vehicles from a CSV file (valid rows land, invalid rows are reported).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Legal exports for the authorities.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Time the claim analysis and audit on a large generated warranty history (empties the
    /// databases it is given) and write the table into docs/BENCHMARKS.md.
    BenchAnalysis(bench::BenchArgs),
    /// Time the KPI dashboards, drill-downs and a pilot's evaluation on a large generated
    /// workshop history (empties the databases it is given) and write the table into
    /// docs/BENCHMARKS.md.
    BenchKpis(bench_kpis::BenchKpisArgs),
    /// Load the demo into fresh databases, serve it, and measure requests per second, latency
    /// and memory under load with `wrk` and a write client; write the tables into
    /// docs/BENCHMARKS.md.
    BenchLoad(bench_load::BenchLoadArgs),
    /// The load test's ceiling: an axum "hello" on the same runtime (used by bench-load).
    #[command(hide = true)]
    BenchHello {
        #[arg(long)]
        listen: String,
    },
}

#[derive(Subcommand)]
enum ExportCommand {
    /// SAF-T (PT) 1.04_01 of the documents a Portuguese legal entity issued in a period (one fiscal year).
    SaftPt {
        /// The organisation whose legal entity invoices (id or exact name), e.g. "Volvo Cars Portugal";
        /// may be left out when the installation has one Portuguese legal entity.
        #[arg(long)]
        org: Option<String>,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        to: String,
        /// Where to write the file (default: saft-pt-FROM-TO.xml in the current folder).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Columns: kind,name,org_number,nif,email,phone,language,preferred_channel,street,postal_code,city,country,latitude,longitude
    Customers(ImportArgs),
    /// Columns: vin,registration,delivery_date,warranty_version,owner_email,owner_phone
    Vehicles(ImportArgs),
}

#[derive(Args)]
struct ImportArgs {
    /// The CSV file (UTF-8, comma-separated, with a header row).
    file: PathBuf,
    /// The organisation whose CRM receives the records (id or exact name), normally the market entity.
    #[arg(long)]
    org: String,
    /// Check every row and report, but write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also write every rejected row's errors to this CSV file.
    #[arg(long)]
    errors: Option<PathBuf>,
}

#[derive(Subcommand)]
enum BrandCommand {
    /// Add a brand, e.g. `aftersales brand add TESLA --name Tesla`.
    Add {
        /// Short code, 2-20 letters, digits or -.
        code: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum MarketCommand {
    /// Add a market, e.g. `aftersales market add NO --name Norway --currency NOK --time-zone Europe/Oslo --languages nb,en --vat-regime NO-MVA`.
    Add {
        /// ISO 3166-1 alpha-2 country code.
        code: String,
        #[arg(long)]
        name: String,
        /// ISO 4217 currency code.
        #[arg(long)]
        currency: String,
        /// IANA time zone.
        #[arg(long)]
        time_zone: String,
        /// Languages served, comma-separated, from nb, en, pt.
        #[arg(long)]
        languages: String,
        /// VAT regime, e.g. NO-MVA or PT-IVA.
        #[arg(long)]
        vat_regime: String,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Add an organisation: a brand-hq needs --brand; every other kind needs --parent.
    Add {
        /// The organisation's name.
        name: String,
        /// brand-hq, market-entity, importer, service-point or customer-care-centre.
        #[arg(long)]
        kind: String,
        /// Brand code, for a brand-hq.
        #[arg(long)]
        brand: Option<String>,
        /// Parent organisation, by id or exact name.
        #[arg(long)]
        parent: Option<String>,
        /// Market code; inherited from the parent when left out.
        #[arg(long)]
        market: Option<String>,
        #[arg(long)]
        city: Option<String>,
    },
    /// List all organisations.
    List,
}

#[derive(Args, Clone, Default)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 0.0.0.0:8080.
    #[arg(long, env = "AFTERSALES_LISTEN")]
    pub listen: Option<String>,
    /// The URL users reach the product at; https:// makes cookies Secure.
    #[arg(long, env = "AFTERSALES_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Apply pending migrations before serving.
    #[arg(long, env = "AFTERSALES_MIGRATE_ON_START")]
    pub migrate: bool,
}

#[derive(Args)]
struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Allow wiping a PostgreSQL database to load the demo (SQLite demo files are always reset).
    #[arg(long)]
    reset_postgres: bool,
    /// Load the demo data and exit instead of serving.
    #[arg(long)]
    no_serve: bool,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user with one role in one organisation. The password is read from standard input.
    Add {
        /// Login name: 3-64 characters a-z, 0-9, . _ - (stored in lower case).
        username: String,
        /// Full name, as colleagues see it.
        #[arg(long)]
        name: String,
        /// Organisation id or exact name.
        #[arg(long)]
        org: String,
        /// service-advisor, service-manager, technician, valet-driver, market-cs-manager,
        /// importer-staff, hq-analyst or administrator.
        #[arg(long)]
        role: String,
        /// E-mail address.
        #[arg(long)]
        email: Option<String>,
        /// nb, en or pt.
        #[arg(long, default_value = "en")]
        language: String,
    },
    /// Set a user's password (read from standard input) and end their sessions.
    Passwd { username: String },
    /// Disable an account: the user can no longer sign in; their sessions end.
    Disable { username: String },
    /// Enable a disabled account.
    Enable { username: String },
    /// Grant a role in an organisation.
    Grant {
        username: String,
        #[arg(long)]
        org: String,
        #[arg(long)]
        role: String,
    },
    /// List users and their roles.
    List,
}

#[derive(Args)]
struct BackupArgs {
    /// The file to write (must not exist).
    #[arg(long)]
    to: PathBuf,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let file = match FileConfig::load(cli.global.config.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    let serve_args = match &cli.command {
        Command::Serve(a) => a.clone(),
        Command::Demo(d) => d.serve.clone(),
        _ => ServeArgs::default(),
    };
    let demo = matches!(cli.command, Command::Demo(_));
    let settings = Settings::resolve(&cli.global, &serve_args, &file, demo);
    init_logging(&settings);
    match run(cli.command, settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(s: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&s.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if s.log_format == "json" {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init();
    } else {
        builder.init();
    }
}

async fn run(command: Command, s: Settings) -> anyhow::Result<()> {
    let clock = SystemClock;
    // Only `migrate`, `demo` and `serve` (which checks itself) may bring a new SQLite file into
    // being; anything else against a missing file is a mistyped path, not a wish for an empty db.
    if !matches!(
        command,
        Command::Serve(_)
            | Command::Migrate
            | Command::Demo(_)
            | Command::BenchAnalysis(_)
            | Command::BenchKpis(_)
            | Command::BenchLoad(_)
            | Command::BenchHello { .. }
    ) {
        if let Some(path) = aftersales_store::sqlite_path(&s.database_url) {
            if !std::path::Path::new(&path).exists() {
                bail!("{path} does not exist; create it with `aftersales migrate`, or try `aftersales demo`");
            }
        }
    }
    match command {
        Command::Brand(BrandCommand::Add { code, name }) => {
            let store = Store::connect(&s.database_url)
                .await
                .context("connecting to the database")?;
            store.cli().add_brand(&code, &name).await?;
            println!("Added the brand {}.", code.to_ascii_uppercase());
            Ok(())
        }
        Command::Market(MarketCommand::Add {
            code,
            name,
            currency,
            time_zone,
            languages,
            vat_regime,
        }) => {
            let store = Store::connect(&s.database_url)
                .await
                .context("connecting to the database")?;
            let m = aftersales_store::cli::NewMarket {
                code: &code,
                name: &name,
                currency: &currency,
                time_zone: &time_zone,
                languages: &languages,
                vat_regime: &vat_regime,
            };
            store.cli().add_market(&m).await?;
            println!("Added the market {}.", code.to_ascii_uppercase());
            Ok(())
        }
        Command::Org(OrgCommand::Add {
            name,
            kind,
            brand,
            parent,
            market,
            city,
        }) => {
            let store = Store::connect(&s.database_url)
                .await
                .context("connecting to the database")?;
            let spec = aftersales_store::cli::OrgSpec {
                name: &name,
                kind: &kind,
                brand: brand.as_deref(),
                parent: parent.as_deref(),
                market: market.as_deref(),
                city: city.as_deref(),
            };
            let id = store.cli().add_organisation(&spec, clock.now()).await?;
            println!("Added {name} ({kind}), id {id}.");
            Ok(())
        }
        Command::Import(cmd) => {
            let store = Store::connect(&s.database_url)
                .await
                .context("connecting to the database")?;
            let (kind, args) = match &cmd {
                ImportCommand::Customers(a) => ("customers", a),
                ImportCommand::Vehicles(a) => ("vehicles", a),
            };
            let report = import::run(&store, kind, args, clock.now()).await?;
            import::print(&report, args.errors.as_deref())?;
            if report.rejected_rows() > 0 {
                bail!(
                    "{} of {} rows were rejected (see above); the other rows {}",
                    report.rejected_rows(),
                    report.rows,
                    if report.dry_run {
                        "would be imported"
                    } else {
                        "were imported"
                    }
                );
            }
            Ok(())
        }
        Command::Org(OrgCommand::List) => {
            let store = Store::connect(&s.database_url)
                .await
                .context("connecting to the database")?;
            println!("{:<36}  {:<20}  name", "id", "kind");
            for (id, kind, name) in store.cli().organisations().await? {
                println!("{id:<36}  {kind:<20}  {name}");
            }
            Ok(())
        }
        Command::Serve(_) => {
            if let Some(path) = aftersales_store::sqlite_path(&s.database_url) {
                if !s.migrate_on_start && !std::path::Path::new(&path).exists() {
                    bail!("{path} does not exist; create it with `aftersales migrate` (or serve with --migrate), or try `aftersales demo`");
                }
            }
            let store = Store::connect(&s.database_url)
                .await
                .context("connecting to the database")?;
            if s.migrate_on_start {
                store.migrate().await.context("applying migrations")?;
            }
            let pending = store.pending_migrations().await?;
            if !pending.is_empty() {
                bail!("the database needs migrations ({}); run `aftersales migrate` or serve with --migrate", pending.join(", "));
            }
            serve(store, &s, None).await
        }
        Command::Export(ExportCommand::SaftPt { org, from, to, out }) => {
            let store = Store::connect(&s.database_url)
                .await
                .context("connecting to the database")?;
            let from_d = aftersales_store::billing::parse_date("from", &from)
                .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?;
            let to_d = aftersales_store::billing::parse_date("to", &to)
                .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?;
            let (entity, bytes) = store
                .cli()
                .saft_pt(
                    org.as_deref(),
                    &aftersales_store::billing::SaftRequest {
                        from: from_d,
                        to: to_d,
                        created: clock.now().date(),
                        producer_nif: s.producer_nif.clone(),
                        product_version: env!("CARGO_PKG_VERSION").into(),
                    },
                )
                .await?;
            let path = out.unwrap_or_else(|| PathBuf::from(format!("saft-pt-{from_d}-{to_d}.xml")));
            std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            println!(
                "SAF-T (PT) of {entity}, {from_d} to {to_d}: {} ({} bytes)",
                path.display(),
                bytes.len()
            );
            Ok(())
        }
        Command::BenchAnalysis(args) => bench::run(args).await,
        Command::BenchKpis(args) => bench_kpis::run(args).await,
        Command::BenchLoad(args) => bench_load::run(args).await,
        Command::BenchHello { listen } => bench_load::hello(&listen).await,
        Command::Migrate => {
            let store = Store::connect(&s.database_url)
                .await
                .context("connecting to the database")?;
            let pending = store.pending_migrations().await?;
            store.migrate().await.context("applying migrations")?;
            if pending.is_empty() {
                println!("The database is up to date.");
            } else {
                for m in pending {
                    println!("applied {m}");
                }
            }
            Ok(())
        }
        Command::Demo(args) => {
            let store = match Engine::from_url(&s.database_url)? {
                Engine::Sqlite => {
                    if let Some(path) = aftersales_store::sqlite_path(&s.database_url) {
                        for suffix in ["", "-wal", "-shm"] {
                            let f = format!("{path}{suffix}");
                            if std::path::Path::new(&f).exists() {
                                std::fs::remove_file(&f)
                                    .with_context(|| format!("removing the old demo file {f}"))?;
                            }
                        }
                    }
                    Store::connect(&s.database_url).await?
                }
                Engine::Postgres => {
                    if !args.reset_postgres {
                        bail!("the demo empties the database; for PostgreSQL confirm with --reset-postgres");
                    }
                    let store = Store::connect(&s.database_url).await?;
                    store.cli().wipe_postgres().await?;
                    store
                }
            };
            store.migrate().await?;
            let logins = demo::seed(&store, clock.now()).await?;
            demo::seed_today(&store, clock.now()).await?;
            demo::seed_history(&store, clock.now()).await?;
            demo::seed_kpis(&store, clock.now()).await?;
            let mut out = String::from("\nDemo logins (password for all: ");
            out.push_str(demo::DEMO_PASSWORD);
            out.push_str(")\n\n");
            out.push_str(&format!(
                "  {:<8} {:<24} {:<20} {}\n",
                "username", "name", "role", "organisation"
            ));
            for l in &logins {
                out.push_str(&format!(
                    "  {:<8} {:<24} {:<20} {}\n",
                    l.username, l.display_name, l.role, l.organisation
                ));
            }
            out.push_str("\nPortuguese documents are signed with a throw-away demo key kept beside the database:\nthey show the flow, but are not valid in Portugal. Configure [billing] pt_key_file for real ones.\n");
            if args.no_serve {
                println!(
                    "{out}\nDemo database ready: {}",
                    config::redact(&s.database_url)
                );
                return Ok(());
            }
            serve(store, &s, Some(out)).await
        }
        Command::User(cmd) => {
            let store = Store::connect(&s.database_url)
                .await
                .context("connecting to the database")?;
            let cli = store.cli();
            let now = clock.now();
            match cmd {
                UserCommand::Add {
                    username,
                    name,
                    org,
                    role,
                    email,
                    language,
                } => {
                    let lang = Language::parse("language", &language)
                        .map_err(|e| anyhow::anyhow!(e.message))?;
                    let (org_id, org_name) = cli.find_organisation(&org).await?;
                    let password = read_password(&format!("Password for {username}: "))?;
                    let new = NewUser::parse(
                        &username,
                        &name,
                        email.as_deref(),
                        lang.code(),
                        &password,
                        &[(org_id, role.clone())],
                    )?;
                    cli.add_user(&new, now).await?;
                    println!("Created {} ({role} at {org_name}).", new.username.as_str());
                }
                UserCommand::Passwd { username } => {
                    let password = read_password(&format!("New password for {username}: "))?;
                    cli.set_password(&username, &password, now).await?;
                    println!("Password changed; {username}'s sessions were ended.");
                }
                UserCommand::Disable { username } => {
                    cli.set_disabled(&username, true, now).await?;
                    println!("{username} is disabled.");
                }
                UserCommand::Enable { username } => {
                    cli.set_disabled(&username, false, now).await?;
                    println!("{username} is enabled.");
                }
                UserCommand::Grant {
                    username,
                    org,
                    role,
                } => {
                    cli.grant(&username, &org, &role, now).await?;
                    println!("Granted {role} at {org} to {username}.");
                }
                UserCommand::List => {
                    println!("{:<16} {:<28} {:<9} roles", "username", "name", "status");
                    for u in cli.list_users().await? {
                        let roles: Vec<String> =
                            u.roles.iter().map(|(o, r)| format!("{r}@{o}")).collect();
                        println!(
                            "{:<16} {:<28} {:<9} {}",
                            u.username,
                            u.display_name,
                            if u.disabled { "disabled" } else { "active" },
                            roles.join(", ")
                        );
                    }
                }
            }
            Ok(())
        }
        Command::Backup(args) => match Engine::from_url(&s.database_url)? {
            Engine::Sqlite => {
                let url = s.database_url.clone();
                let to = args.to.clone();
                tokio::task::spawn_blocking(move || {
                    aftersales_store::backup::sqlite_backup(&url, &to)
                })
                .await??;
                println!("Backup written to {}", args.to.display());
                Ok(())
            }
            Engine::Postgres => {
                print!(
                    "{}",
                    aftersales_store::backup::postgres_instructions(&s.database_url, &args.to)
                );
                Ok(())
            }
        },
    }
}

/// Reads a password: prompted without echo on a terminal, else one line of standard input.
fn read_password(prompt: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(prompt)?;
        let again = rpassword::prompt_password("Repeat it: ")?;
        if first != again {
            bail!("the two passwords differ");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

/// The key that signs Portuguese documents: the configured one; for the demo, a throw-away key kept beside the
/// demo database (documents signed with it are not valid in Portugal).
fn pt_signer(s: &Settings, demo: bool) -> anyhow::Result<Option<documents::pt::PtSigner>> {
    let path = match (&s.pt_key_file, demo) {
        (Some(p), _) => p.clone(),
        (None, true) => {
            let base = aftersales_store::sqlite_path(&s.database_url)
                .unwrap_or_else(|| "aftersales-demo".into());
            let p = PathBuf::from(format!("{base}.pt-demo-key.pem"));
            if !p.exists() {
                let pem =
                    documents::pt::PtSigner::generate_pem().map_err(|e| anyhow::anyhow!("{e}"))?;
                std::fs::write(&p, pem).with_context(|| format!("writing {}", p.display()))?;
            }
            p
        }
        (None, false) => return Ok(None),
    };
    let pem = std::fs::read(&path)
        .with_context(|| format!("reading the PT signing key {}", path.display()))?;
    let signer = documents::pt::PtSigner::from_pem(&pem, s.pt_key_version)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Some(signer))
}

async fn serve(store: Store, s: &Settings, banner: Option<String>) -> anyhow::Result<()> {
    let web = WebConfig {
        public_url: s.public_url(),
        trust_forwarded_for: s.trust_forwarded_for,
        login: s.login_policy(),
        producer_nif: s.producer_nif.clone(),
        tile_url: s.logistics.tile_url.clone(),
        tile_attribution: s.logistics.tile_attribution.clone(),
    };
    let mut store = store.with_public_url(&s.public_url());
    match pt_signer(s, banner.is_some())? {
        Some(signer) => store = store.with_pt_signer(signer),
        None => tracing::info!("no PT signing key configured ([billing] pt_key_file): Portuguese documents cannot be issued"),
    }
    if let Some(r) = &s.routing {
        let table = aftersales_store::logistics::OsrmTable::new(
            &r.table_url,
            std::time::Duration::from_millis(r.timeout_ms.unwrap_or(3000)),
        )
        .map_err(|e| anyhow::anyhow!("[routing]: {e}"))?;
        store = store.with_routing(Arc::new(table));
        tracing::info!(url = %r.table_url, "logistics driving times from the routing service");
    }
    let state = AppState::new(store.clone(), Arc::new(SystemClock), web)?;
    let app = aftersales_web::app(state);
    // SLA timers keep running when nobody looks: breaches are recorded and at-risk cases
    // escalated once a minute.
    let sweeper = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tick.tick().await;
                if let Err(e) = store.cli().sweep_sla(SystemClock.now()).await {
                    tracing::warn!(error = %e, "SLA sweep failed");
                }
            }
        })
    };
    // Customer messages leave through the outbox: every few seconds the due ones are sent,
    // failures retried with backoff. A channel without configuration keeps its messages waiting.
    let transports = aftersales_notify::Transports {
        mail: s
            .smtp
            .as_ref()
            .map(aftersales_notify::Mailer::new)
            .transpose()?,
        sms: s
            .sms
            .as_ref()
            .map(aftersales_notify::SmsGateway::new)
            .transpose()?,
    };
    if transports.mail.is_none() {
        tracing::warn!("no [smtp] configured: e-mails to customers wait in the outbox");
    }
    if transports.sms.is_none() {
        tracing::warn!("no [sms] configured: SMS to customers wait in the outbox");
    }
    let courier = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                tick.tick().await;
                if let Err(e) =
                    aftersales_notify::deliver_due(&store, &transports, &SystemClock).await
                {
                    tracing::warn!(error = %e, "outbox delivery failed");
                }
            }
        })
    };
    // Service reminders and campaigns: once an hour (and at start) customers whose vehicle comes
    // due are told, each due date once; campaigns whose day has come go out. Corrective actions
    // of dealer standards still open after their day are escalated (once) in the same run, and
    // people whose required training runs out within 30 days are told (with their manager), and
    // KPI digests go out to those who asked for them once their week or month is over.
    let i18n = std::sync::Arc::new(aftersales_web::i18n::I18n::load()?);
    let reminder_run = {
        let store = store.clone();
        let i18n = i18n.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                tick.tick().await;
                match store.cli().send_reminders(SystemClock.now()).await {
                    Ok(r) => tracing::info!(
                        reminders = r.reminders,
                        campaigns = r.campaigns,
                        "reminder run"
                    ),
                    Err(e) => tracing::warn!(error = %e, "reminder run failed"),
                }
                match store
                    .cli()
                    .escalate_overdue_actions(SystemClock.now())
                    .await
                {
                    Ok(n) => tracing::info!(escalated = n, "overdue corrective actions"),
                    Err(e) => tracing::warn!(error = %e, "overdue action run failed"),
                }
                match store
                    .cli()
                    .remind_expiring_trainings(SystemClock.now())
                    .await
                {
                    Ok(n) => tracing::info!(reminded = n, "expiring trainings"),
                    Err(e) => tracing::warn!(error = %e, "training reminder run failed"),
                }
                // The KPI roll-ups: the days that became final, and whatever changed.
                if let Err(e) = store.kpis().refresh(SystemClock.now()).await {
                    tracing::warn!(error = %e, "KPI roll-up refresh failed");
                }
                // KPI digests whose week or month is over: each subscriber's own dashboard.
                let base = store.public_url().to_string();
                match store
                    .cli()
                    .send_kpi_digests(SystemClock.now(), |due, dashboard| {
                        aftersales_web::kpi_digest::compose(&i18n, due, dashboard, &base)
                    })
                    .await
                {
                    Ok(n) => tracing::info!(sent = n, "KPI digests"),
                    Err(e) => tracing::warn!(error = %e, "KPI digest run failed"),
                }
            }
        })
    };
    // Customer mail: every configured mailbox is polled; each mail becomes a case or joins the
    // case it answers. A poll that fails (server away, wrong password) is logged and tried again.
    let mut pollers = Vec::new();
    for cfg in &s.imap {
        let mailbox = aftersales_notify::imap::Mailbox::new(cfg)?;
        let store = store.clone();
        pollers.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(mailbox.interval());
            loop {
                tick.tick().await;
                match mailbox.poll(&store, &SystemClock).await {
                    Ok(r) if r.refused > 0 => {
                        tracing::warn!(mailbox = mailbox.address(), ?r, "mail polled; some refused")
                    }
                    Ok(r) => tracing::debug!(mailbox = mailbox.address(), ?r, "mail polled"),
                    Err(e) => tracing::warn!(error = %e, "mail poll failed"),
                }
            }
        }));
    }
    let listener = tokio::net::TcpListener::bind(&s.listen)
        .await
        .with_context(|| format!("listening on {}", s.listen))?;
    let addr = listener.local_addr()?;
    if let Some(b) = banner {
        println!("{b}");
    }
    println!(
        "Aftersales is running at {}  (database: {}, listening on {addr})",
        s.public_url_for(addr),
        store.engine().name()
    );
    println!(
        "API explorer: {}/api/docs    Stop with Ctrl+C.",
        s.public_url_for(addr)
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await?;
    sweeper.abort();
    courier.abort();
    reminder_run.abort();
    for p in pollers {
        p.abort();
    }
    store.close().await;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
