//! `mimic maintenance add|list`: an asset's life from the command line.
//!
//! `add` tells a running daemon over its socket (attributed by the socket's peer
//! credentials, role-checked, audited and stored in one transaction, then re-basing the
//! asset live); with no daemon, it writes the event and its audit entry to the store in one
//! transaction, attributed to the OS account running the command. `list` prints each
//! asset's commissioning, events, model versions and the prediction errors of approved
//! changes with the gain the next recommendation will use.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;

use crate::historian::{Historian, HistorianOptions};
use crate::ipc::{Act, Reply, Request};
use crate::lifecycle::{self, Report};
use crate::models::prescribe::learn;

#[derive(Debug, clap::Args)]
pub struct Where {
    /// Store directory (default: the site file's data_dir, else ./mimic-data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Site file (its data_dir, and the asset's tags).
    #[arg(long)]
    pub site: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum MaintenanceCommand {
    /// Record a maintenance event on an asset (needs the engineer role).
    Add {
        #[arg(long)]
        asset: String,
        /// part-replaced, sensor-recalibrated, inspection or other.
        #[arg(long)]
        kind: String,
        /// The part replaced or the tag recalibrated.
        #[arg(long, default_value = "")]
        part: String,
        #[arg(long, default_value = "")]
        note: String,
        /// When it was done, if not now: a duration ago (2h) or a timestamp.
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        place: Where,
    },
    /// Print the life of the assets (or one): commissioning, events, model versions,
    /// and the errors of approved model recommendations.
    List {
        #[arg(long)]
        asset: Option<String>,
        #[command(flatten)]
        place: Where,
    },
}

fn resolve(w: &Where) -> anyhow::Result<(PathBuf, Option<crate::config::Site>)> {
    let (site, dir) = super::store::site_and_dir(w.data.as_deref(), w.site.as_deref())?;
    Ok((dir, site))
}

pub fn run(cmd: MaintenanceCommand) -> anyhow::Result<()> {
    match cmd {
        MaintenanceCommand::Add { asset, kind, part, note, at, place } => {
            let (dir, site) = resolve(&place)?;
            if let Some(s) = &site
                && s.assets.iter().all(|a| a.name != asset)
            {
                bail!("no asset `{}` in {}", asset.escape_debug(), s.path.display());
            }
            let now = mimic_drivers::now_ms();
            let at_ms = at.as_deref().map(|a| super::history::parse_time(a, now)).transpose()?;
            println!("{}", add(&dir, &asset, &kind, &part, &note, at_ms)?);
            Ok(())
        }
        MaintenanceCommand::List { asset, place } => {
            let (dir, site) = resolve(&place)?;
            let tags = match (&site, &asset) {
                (Some(s), Some(a)) => {
                    let ai = s.assets.iter().position(|x| &x.name == a).ok_or_else(|| anyhow!("no asset `{a}`"))?;
                    s.tags.iter().filter(|t| t.asset == Some(ai)).map(|t| t.name.clone()).collect()
                }
                _ => Vec::new(),
            };
            let r = report(&dir, asset.as_deref(), &tags)?;
            print!("{}", render(&r, mimic_drivers::now_ms()));
            Ok(())
        }
    }
}

/// Record one event: through the daemon when one serves `dir`, else in the store.
pub fn add(dir: &Path, asset: &str, kind: &str, part: &str, note: &str, at_ms: Option<i64>) -> anyhow::Result<String> {
    let act =
        Act::RecordMaintenance { asset: asset.into(), kind: kind.into(), part: part.into(), note: note.into(), at_ms };
    if dir.join(crate::ipc::SOCKET_NAME).exists() && UnixStream::connect(dir.join(crate::ipc::SOCKET_NAME)).is_ok() {
        return super::history::act(dir, act).context("the running daemon did not record it");
    }
    let store = dir.join(crate::daemon::STORE_NAME);
    let h = Historian::open(&store, HistorianOptions::default())
        .with_context(|| format!("opening the store {}", store.display()))?;
    let me = crate::account::me();
    let users = crate::users::Users::load_or_new(&crate::users::users_path(dir)).unwrap_or_default();
    let (name, role) = match users.by_os_account(&me).filter(|u| u.active()) {
        Some(u) => (u.name.clone(), u.role),
        None => (me.clone(), crate::users::Role::Viewer),
    };
    if !crate::users::authorize(role, crate::users::Command::RecordMaintenance) {
        bail!("{name} ({role}) may not record maintenance: it needs the engineer role");
    }
    let now = mimic_drivers::now_ms();
    let ts = at_ms.unwrap_or(now);
    if ts > now + 60_000 {
        bail!("a maintenance event cannot be recorded in the future");
    }
    let event = lifecycle::maintenance_event(asset, kind, part, note, &name, ts)?;
    let key = crate::audit::SiteKey::load_or_create(&dir.join(crate::audit::KEY_NAME))
        .map_err(|e| anyhow!("site key: {e}"))?;
    let txn = h.database().begin_write()?;
    let line = event.line();
    let note = crate::audit::Note::by(&name, crate::audit::Action::MaintenanceEvent, Some(asset), &line);
    crate::audit::append(&txn, &key, &note, now).context("audit log")?;
    lifecycle::record_event(&txn, &event)?;
    txn.commit()?;
    Ok(format!("{} recorded on {asset} (no daemon running: written to the store, audited)", event.kind.name()))
}

/// The stored life, from the daemon when one serves `dir`, else from the store.
pub fn report(dir: &Path, asset: Option<&str>, asset_tags: &[String]) -> anyhow::Result<Report> {
    let sock = dir.join(crate::ipc::SOCKET_NAME);
    if let Ok(stream) = UnixStream::connect(&sock) {
        let req = Request::Life { asset: asset.map(str::to_string) };
        return super::history::exchange(stream, &req, |reply| match reply {
            Reply::Life(r) => Some(*r),
            _ => None,
        })
        .with_context(|| format!("asking the daemon at {}", sock.display()));
    }
    let store = dir.join(crate::daemon::STORE_NAME);
    if !store.exists() {
        bail!("no store at {} (use --data DIR or --site FILE)", store.display());
    }
    let h =
        Historian::open(&store, HistorianOptions::default()).with_context(|| format!("opening {}", store.display()))?;
    Ok(lifecycle::report(h.database(), asset, asset_tags)?)
}

fn age(ms: i64) -> String {
    let days = ms as f64 / 86_400_000.0;
    if days >= 365.25 { format!("{:.1} years", days / 365.25) } else { format!("{days:.0} days") }
}

/// The report as text.
pub fn render(r: &Report, now_ms: i64) -> String {
    let mut out = String::new();
    if r.lives.is_empty() && r.errors.is_empty() {
        out.push_str("no asset life recorded yet\n");
    }
    for l in &r.lives {
        out.push_str(&format!("asset {}\n", l.asset));
        match l.commissioned_ms() {
            Some(c) => out.push_str(&format!(
                "  commissioned {} ({} in service)\n",
                crate::time::format_ts(c),
                age(now_ms.saturating_sub(c))
            )),
            None => out.push_str("  commissioning date not recorded\n"),
        }
        if let Some(at) = l.rebase_at() {
            out.push_str(&format!("  present life since {}\n", crate::time::format_ts(at)));
        }
        for e in l.events.iter().filter(|e| e.kind != lifecycle::EventKind::Commissioned) {
            out.push_str(&format!("  event {}\n", e.line()));
        }
        for m in &l.models {
            out.push_str(&format!(
                "  model {} v{} trained {} by {}: {} ({})\n",
                m.kind,
                m.version,
                crate::time::format_ts(m.trained_ms),
                m.by,
                m.accuracy_text(),
                m.note
            ));
        }
    }
    let mut pairs: Vec<(&str, &str)> =
        r.errors.iter().map(|e| (e.manipulated.as_str(), e.controlled.as_str())).collect();
    pairs.dedup();
    for (m, c) in pairs {
        let errs: Vec<&lifecycle::PredictionError> =
            r.errors.iter().filter(|e| e.manipulated == m && e.controlled == c).collect();
        out.push_str(&format!("prediction errors {m} -> {c}\n"));
        for e in &errs {
            let gains = e.gains().map_or(String::new(), |(p, o)| format!("; gain used {p:.4}, observed {o:.4}"));
            out.push_str(&format!(
                "  request {} at {}: {m} {:.3} -> {:.3}, {c} predicted {:.3}, observed {:.3} (error {:+.3}){gains}\n",
                e.request,
                crate::time::format_ts(e.ts_ms),
                e.u_from,
                e.u_to,
                e.y_predicted,
                e.y_observed,
                e.error()
            ));
        }
        if let Some((used, _)) = errs.last().and_then(|e| e.gains()) {
            let owned: Vec<lifecycle::PredictionError> = errs.iter().map(|e| (*e).clone()).collect();
            let c = learn::correct_gain(used, &owned);
            out.push_str(&format!(
                "  learnt: a model gain of {:.4} is corrected to {:.4} (x{:.3}) from {} approved change(s)\n",
                c.model_gain,
                c.gain,
                c.factor(),
                c.used
            ));
        }
    }
    out
}
