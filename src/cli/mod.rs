//! Command-line faces of mimic: raw arguments (clap) → validated options → action.
//!
//! `run` is the daemon, `tui` a terminal attached to it, `demo` both plus the simulated
//! plant in one process, `check` validates a site file, `history` prints stored samples,
//! `sim` serves the demo plant alone, `audit` verifies and exports the audit trail,
//! `user` manages the users file, `train` fits a model on stored history, `eval` scores one on a
//! public benchmark, `browse` walks an OPC UA server's address space, `probe` scans a Modbus
//! device's tables (read only) and proposes tags.

mod alarms;
mod audit;
mod browse;
pub mod demo_history;
pub mod demo_models;
mod eval;
mod eval_diagnosis;
mod history;
mod log_filter;
mod maintenance;
mod prescribe;
mod probe;
mod record;
mod report;
mod rul;
mod rul_store;
mod shift;
mod shift_devices;
pub mod sim;
mod store;
mod train;

pub use history::format_ts;
mod user;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use clap::{Parser, Subcommand};

use crate::config::Site;
use crate::daemon::{Daemon, DaemonOptions};

#[derive(Debug, Parser)]
#[command(name = "mimic", version = crate::build_info::LONG_VERSION, about = "Digital twin and operator terminal of an industrial site")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the twin of a site as a long-lived daemon (owns the devices and the store).
    Run {
        /// The site file.
        site: PathBuf,
        /// Store directory (default: the site file's data_dir).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Attach a terminal to a running daemon.
    Tui {
        /// Data directory of the daemon (its socket is DATA/mimic.sock).
        #[arg(long, default_value = "mimic-data")]
        data: PathBuf,
        /// Socket path, overriding --data.
        #[arg(long)]
        socket: Option<PathBuf>,
    },
    /// Run the built-in demo plant, the twin and a terminal in one process.
    Demo {
        /// Run without a terminal and print a summary at the end.
        #[arg(long)]
        headless: bool,
        /// With --headless: how long to run, e.g. 10s.
        #[arg(long = "for", value_parser = parse_duration_arg, default_value = "10s")]
        duration: Duration,
        /// Store directory.
        #[arg(long, default_value = "mimic-data")]
        data: PathBuf,
        #[command(flatten)]
        plant: DemoPlantArgs,
    },
    /// Validate site files; print every problem as file:line:col: field: message.
    Check {
        #[arg(required = true)]
        sites: Vec<PathBuf>,
    },
    /// Print stored samples of a tag with their quality.
    History {
        tag: String,
        /// Start: a duration ago (1h, 30m, 7d) or a timestamp (2026-11-26T08:00:00Z).
        #[arg(long, default_value = "1h")]
        since: String,
        /// End (default: now), same forms as --since.
        #[arg(long)]
        until: Option<String>,
        #[arg(long, value_enum, default_value_t = history::Format::Table)]
        format: history::Format,
        /// Store directory (default: the site file's data_dir, else ./mimic-data).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Site file whose data_dir to use.
        #[arg(long)]
        site: Option<PathBuf>,
    },
    /// Past alarms: `alarms history --since 7d [--tag T] [--priority P] [--state S] …`.
    Alarms {
        #[command(subcommand)]
        command: alarms::AlarmsCommand,
    },
    /// Reports: `report alarms` (ISA-18.2 / EEMUA 191 figures beside their targets), `report shift`.
    Report {
        #[command(subcommand)]
        command: report::ReportCommand,
    },
    /// The tamper-evident audit trail: verify, export entries, export signed checkpoints.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Ask for a setpoint change (it waits for approval in the terminal's Recommendations screen).
    Write {
        tag: String,
        value: f64,
        /// Data directory of the running daemon.
        #[arg(long, default_value = "mimic-data")]
        data: PathBuf,
    },
    /// Serve the demo plant alone as a Modbus TCP server (several ports for many skids;
    /// --emit-site writes the matching site file).
    Sim(sim::SimArgs),
    /// Manage users: add, passwd, disable, enable, unlock, list.
    User(user::UserArgs),
    /// Fit a model on stored history (e.g. `train anomaly SITE --asset P-101 --from … --to …`).
    Train {
        #[command(subcommand)]
        command: train::TrainCommand,
    },
    /// Evaluate a model on a public benchmark or the demo plant (`eval skab DIR`, `eval diagnosis`).
    Eval {
        #[command(subcommand)]
        command: eval::EvalCommand,
    },
    /// Predict a KPI's response to a setpoint value, from a model identified on stored history.
    Whatif(prescribe::WhatIfArgs),
    /// Replay a proposed alarm limit or setpoint over stored history: what would have happened.
    Shadow(prescribe::ShadowArgs),
    /// Recommend a setpoint change that brings a KPI back inside its band (optionally as a write request).
    Recommend(prescribe::RecommendArgs),
    /// Print an OPC UA server's address space; --emit-tags writes [[tag]] entries for a site file.
    Browse(browse::BrowseArgs),
    /// Discover a device's map, read only: `probe modbus tcp://host:port --unit N` (or rtu://PORT)
    /// prints the ranges found and proposes [[device]] and [[tag]] entries.
    Probe {
        #[command(subcommand)]
        command: probe::ProbeCommand,
    },
    /// Asset life: record a maintenance event (`add`), print commissioning, events, model
    /// versions and learnt prediction errors (`list`).
    Maintenance {
        #[command(subcommand)]
        command: maintenance::MaintenanceCommand,
    },
}

/// How the demo plant lives: its bearing wear and its fault schedule (see `mimic_drivers::sim::demo`).
#[derive(Debug, clap::Args)]
pub struct DemoPlantArgs {
    /// Faults on a schedule: `none` or NAME@START+LENGTH,… with NAME cavitation, sticking_valve
    /// or sensor_drift (default: cavitation@2m+60s,sticking_valve@4m+100s,sensor_drift@7m+60s).
    #[arg(long, value_parser = parse_schedule_arg)]
    pub faults: Option<FaultSchedule>,
    /// The fault schedule repeats every this long (0: once).
    #[arg(long, default_value = "12m", value_parser = parse_secs_arg)]
    pub repeat: f64,
    /// Running time from a new pump bearing to its failure (the demo's accelerated clock).
    #[arg(long, default_value = "40m", value_parser = parse_secs_arg)]
    pub wear_life: f64,
    /// Seed of the plant's noise and of the models' training data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Runs to failure the demo's remaining-life model is trained on.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u16).range(3..))]
    pub rul_units: u16,
    /// Boosted trees per member of that model.
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u16).range(1..))]
    pub rul_trees: u16,
}

impl DemoPlantArgs {
    pub fn plan(&self) -> mimic_drivers::sim::DemoPlan {
        let default = mimic_drivers::sim::DemoPlan::default();
        mimic_drivers::sim::DemoPlan {
            seed: self.seed,
            life_s: self.wear_life,
            faults: self.faults.clone().map_or(default.faults, |f| f.0),
            repeat_s: self.repeat,
        }
    }
}

/// A parsed `--faults` value.
#[derive(Clone, Debug)]
pub struct FaultSchedule(pub Vec<mimic_drivers::sim::demo::Scheduled>);

fn parse_schedule_arg(s: &str) -> Result<FaultSchedule, mimic_drivers::sim::demo::ScheduleError> {
    mimic_drivers::sim::demo::parse_schedule(s).map(FaultSchedule)
}

/// A `--for`/`--at` argument that is not a duration.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a duration (e.g. 90s, 12m, 1h)")]
pub struct SecsError(String);

fn parse_secs_arg(s: &str) -> Result<f64, SecsError> {
    mimic_drivers::sim::demo::parse_secs(s).ok_or_else(|| SecsError(s.to_string()))
}

pub(crate) fn parse_duration_arg(s: &str) -> Result<Duration, crate::time::TimeError> {
    crate::config::parse_duration(s)
}

pub fn run(cli: Cli, started: Instant) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check { sites } => Ok(check(&sites)),
        Command::Audit { command } => audit::run(command),
        Command::Alarms { command } => alarms::run(command).map(|()| ExitCode::SUCCESS),
        Command::Report { command } => report::run(command).map(|()| ExitCode::SUCCESS),
        Command::Train { command } => {
            train::run(command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Whatif(a) => prescribe::whatif(a).map(|()| ExitCode::SUCCESS),
        Command::Shadow(a) => prescribe::shadow(a).map(|()| ExitCode::SUCCESS),
        Command::Recommend(a) => prescribe::recommend_cmd(a).map(|()| ExitCode::SUCCESS),
        Command::Eval { command } => {
            eval::run(command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User(args) => {
            user::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Maintenance { command } => maintenance::run(command).map(|()| ExitCode::SUCCESS),
        Command::Browse(args) => {
            browse::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Probe { command } => {
            probe::run(command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::History { tag, since, until, format, data, site } => {
            let dir = match (data, site) {
                (Some(d), _) => d,
                (None, Some(s)) => load_site(&s)?.data_dir,
                (None, None) => PathBuf::from("mimic-data"),
            };
            history::run(&dir, &tag, &since, until.as_deref(), format)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Write { tag, value, data } => {
            let reply = history::act(&data, crate::ipc::Act::RequestWrite { tag, value })?;
            println!("{reply}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Sim(args) => sim::run(args),
        Command::Run { site, data } => {
            init_logging();
            let site = load_site(&site)?;
            let data_dir = data.unwrap_or_else(|| site.data_dir.clone());
            runtime()?.block_on(async move {
                let daemon =
                    Daemon::start(site, DaemonOptions { data_dir, socket: true, lazy_snapshots: true }).await?;
                tracing::info!("mimic running: {} devices, {} tags", daemon.site.devices.len(), daemon.site.tags.len());
                if let Some(p) = &daemon.socket_path {
                    eprintln!("mimic: serving terminals on {}", p.display());
                }
                let status = daemon.store_status.clone();
                let first = tokio::spawn(async move {
                    // Start-up, exec to the first durable sample (the acquisition bench reads it).
                    loop {
                        if status.lock().map(|s| s.first_commit_ms.is_some()).unwrap_or(true) {
                            eprintln!("mimic: first sample stored {} ms after start", started.elapsed().as_millis());
                            return;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    }
                });
                wait_for_stop().await;
                first.abort();
                daemon.shutdown().await;
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::Tui { data, socket } => {
            let path = socket.unwrap_or_else(|| data.join(crate::ipc::SOCKET_NAME));
            runtime()?.block_on(crate::tui::attach(path))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { headless, duration, data, plant } => {
            if headless {
                init_logging();
            }
            runtime()?.block_on(demo(headless, duration, data, &plant, started))
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Logs go to stderr: coloured only on a terminal (a file or journald gets plain text),
/// one JSON object a line when `MIMIC_LOG_FORMAT=json`. `MIMIC_LOG` filters (default `info`).
fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("MIMIC_LOG").unwrap_or_else(|_| "info".into());
    let json = std::env::var("MIMIC_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let fmt = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let quiet = log_filter::QuietNoSecurity;
    let _ = if json {
        fmt.json().finish().with(quiet).try_init()
    } else {
        fmt.with_ansi(std::io::stderr().is_terminal()).finish().with(quiet).try_init()
    };
}

async fn wait_for_stop() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = async { match term.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {},
        _ = async { match hup.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {},
    }
}

pub fn load_site(path: &Path) -> anyhow::Result<Site> {
    // The count goes first so that every diagnostic keeps its own `file:line:col:` line
    // (main prefixes the first line of an error with `mimic: `).
    Site::load(path).map_err(|e| anyhow!("{} problem(s) in {}; nothing was started:\n{e}", e.0.len(), path.display()))
}

fn check(sites: &[PathBuf]) -> ExitCode {
    let mut bad = false;
    for s in sites {
        match Site::load(s) {
            Ok(site) => println!(
                "{}: ok ({} devices, {} tags, {} assets)",
                s.display(),
                site.devices.len(),
                site.tags.len(),
                site.assets.len()
            ),
            Err(errs) => {
                bad = true;
                for e in &errs.0 {
                    println!("{e}");
                }
            }
        }
    }
    if bad { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// The demo site, pointed at a simulator on `addr`.
pub fn demo_site(addr: std::net::SocketAddr, data_dir: &Path) -> anyhow::Result<Site> {
    let text = include_str!("../../profiles/demo-site.toml").replace("127.0.0.1:5020", &addr.to_string());
    let mut site =
        Site::parse(Path::new("profiles/demo-site.toml"), &text).map_err(|e| anyhow!("built-in demo site: {e}"))?;
    site.data_dir = data_dir.to_path_buf();
    Ok(site)
}

async fn demo(
    headless: bool,
    duration: Duration,
    data: PathBuf,
    plant: &DemoPlantArgs,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    let plan = plant.plan();
    // The models first: the anomaly model before the daemon loads models, the remaining-life
    // model in the background (the daemon picks it up when its file appears).
    let anomaly = tokio::task::block_in_place(|| {
        demo_models::write_faults(&data)?;
        demo_models::train_anomaly(&data, plan.seed)
    })?;
    let life_start = mimic_drivers::now_ms();
    let sim =
        mimic_drivers::sim::serve_demo("127.0.0.1:0".parse()?, &plan).await.context("cannot start the demo plant")?;
    let (rul_done, rul_trained) = tokio::sync::oneshot::channel();
    let rul_training = {
        let (data, plan) = (data.clone(), plan.clone());
        let (units, trees) = (usize::from(plant.rul_units), usize::from(plant.rul_trees));
        std::thread::Builder::new()
            .name("mimic-demo-rul".into())
            .spawn(move || {
                let r = demo_models::train_rul(&data, &plan, life_start, units, trees);
                let _ = rul_done.send(r.is_ok());
                r
            })
            .context("cannot start the demo's model training")?
    };
    let site = demo_site(sim.local_addr(), &data)?;
    let history =
        tokio::task::block_in_place(|| demo_history::import(&data, &site, plan.seed, mimic_drivers::now_ms()))?;
    demo_user(&data)?;
    let daemon =
        Daemon::start(site, DaemonOptions { data_dir: data.clone(), socket: !headless, lazy_snapshots: false }).await?;
    let me = crate::account::user_name(crate::account::uid()).unwrap_or_default();
    tokio::spawn(demo_models::record_versions(daemon.commands.clone(), me, rul_trained));
    if headless {
        let (snap, status_final, seen) = run_headless(daemon, duration).await;
        println!(
            "demo ran {:.1}s against the simulated pump skid at {}",
            started.elapsed().as_secs_f64(),
            sim.local_addr()
        );
        println!("store: {}", data.join(crate::daemon::STORE_NAME).display());
        println!(
            "samples stored: {} in {} commits ({} bytes on disk)",
            status_final.samples, status_final.commits, status_final.bytes
        );
        if let Some(first) = status_final.first_commit_ms {
            let start_wall = mimic_drivers::now_ms() - i64::try_from(started.elapsed().as_millis()).unwrap_or(0);
            println!("start-up to first stored sample: {} ms", first - start_wall);
        }
        print_plant(&snap);
        println!("{history}");
        println!("{anomaly}");
        match rul_training.is_finished().then(|| rul_training.join()) {
            Some(Ok(Ok(line))) => println!("{line}"),
            Some(Ok(Err(e))) => println!("remaining-life model: not trained: {e:#}"),
            Some(Err(_)) => println!("remaining-life model: training failed"),
            None => println!("remaining-life model: still training"),
        }
        demo_models::print_summary(&snap, &seen, life_start);
        demo_history::print_loops(&snap);
        return Ok(ExitCode::SUCCESS);
    }
    let socket = daemon.socket_path.clone().ok_or_else(|| anyhow!("demo daemon has no socket"))?;
    let result = crate::tui::attach(socket).await;
    daemon.shutdown().await;
    drop(sim);
    result?;
    Ok(ExitCode::SUCCESS)
}

/// Run the demo's daemon without a terminal until `duration` has passed or a stop signal,
/// then shut it down: its last snapshot, the store's figures and the model events seen.
async fn run_headless(
    daemon: Daemon,
    duration: Duration,
) -> (std::sync::Arc<crate::ipc::LiveSnapshot>, crate::daemon::StoreStatus, demo_models::Seen) {
    let mut seen = demo_models::Seen::default();
    let mut snaps = daemon.snapshots.clone();
    let deadline = tokio::time::Instant::now() + duration;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            _ = wait_for_stop() => break,
            changed = snaps.changed() => match changed {
                Ok(()) => seen.watch(&snaps.borrow_and_update()),
                Err(_) => break,
            },
        }
    }
    let snap = daemon.snapshots.borrow().clone();
    let status = daemon.store_status.lock().map(|s| s.clone()).unwrap_or_default();
    daemon.shutdown().await;
    (snap, status, seen)
}

/// The headless demo's lines on the plant: each device's polling, this process's memory
/// and the tags not Good.
fn print_plant(snap: &crate::ipc::LiveSnapshot) {
    for d in &snap.devices {
        println!(
            "device {}: {} polls, {} errors, {} timeouts, {} exceptions, last latency {}",
            d.name,
            d.polls,
            d.errors,
            d.timeouts,
            d.exceptions,
            d.latency_ms.map_or("-".into(), |l| format!("{l:.2} ms"))
        );
    }
    if let Some(rss) = rss_kib() {
        println!("rss: {} KiB", rss);
    }
    let bad = snap.tags.iter().filter(|t| t.quality != crate::ipc::TagQuality::Good).count();
    println!("tags: {} ({} not Good)", snap.tags.len(), bad);
}

/// Resident set size of this process, from /proc.
pub fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The demo's own user: the account running it becomes an engineer with the secret
/// `demo-secret`, so that approvals can be tried at once. Only when no users file exists.
pub const DEMO_SECRET: &str = "demo-secret";

fn demo_user(data: &Path) -> anyhow::Result<()> {
    let path = crate::users::users_path(data);
    if path.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(data).with_context(|| format!("cannot create {}", data.display()))?;
    let uid = crate::account::uid();
    let account = crate::account::user_name(uid).ok_or_else(|| anyhow!("no account name for uid {uid}"))?;
    crate::users::Users::modify(&path, true, |u| {
        u.add(&account, &format!("Demo engineer ({account})"), crate::users::Role::Engineer, None, DEMO_SECRET)
            .map(|_| ())
    })
    .with_context(|| format!("cannot create the demo users file {}", path.display()))?;
    Ok(())
}
