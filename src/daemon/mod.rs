//! The daemon: the async shell around the pure core.
//!
//! It alone owns the devices and the store. It receives (device tasks over one bounded
//! channel, terminals over a Unix socket ([`socket`]), the Sparkplug edge node, the models
//! worker ([`insight`]) and the advisor ([`advise`])), converts each input to a
//! [`crate::core::Msg`], calls [`crate::core::update`] and carries out the effects: samples
//! go to the historian writer thread (durable batches at least once a second), audit
//! entries commit in one transaction, and only then do writes reach the device queues. A
//! fresh immutable snapshot is published for terminals at most four times a second. The
//! shell decides nothing: what it does beyond I/O (checking a re-entered secret against
//! the users file, reading a model file) it hands back to the core as a message.

pub mod advise;
pub mod clock;
pub mod control;
mod core_task;
mod devices;
pub mod insight;
mod life;
mod snapshot;
pub mod socket;
mod writer;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use mimic_drivers::DeviceEvent;
use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::Site;
use crate::core::{self, State};
use crate::historian::{Historian, HistorianError, HistorianOptions, TagId};
use crate::ipc::LiveSnapshot;

pub use writer::StoreStatus;

/// An act from a terminal, for the core task, with the identified user.
pub struct CoreCmd {
    /// The OS account of the terminal (from the socket's peer credentials).
    pub user: String,
    /// `None`: the terminal just attached (audited).
    pub act: Option<crate::ipc::Act>,
    /// The reply, or why not (its text is what the terminal is sent).
    pub reply: tokio::sync::oneshot::Sender<Result<String, core::Refusal>>,
}

/// Store file name inside the data directory.
pub const STORE_NAME: &str = "store.redb";
/// redb's page cache in the daemon. Each second's commit touches a few hundred pages (one
/// block per tag, compaction of full ones); pages beyond the cache are read back from
/// the OS's file cache, which is not the daemon's memory. 32 MiB (the historian's
/// default, for query tools) made up a third of the daemon's RSS at 10k tags.
pub const STORE_CACHE_BYTES: usize = 4 << 20;
/// Commits between two flushes of the open samples (half a minute at one commit a second).
/// Every tag holds up to this many samples in memory, at about 2 B each: a minute's
/// (the historian's default) made the daemon's RSS swing by 20-25 MiB at 100,000 tags
/// with each flush; half a minute halves that for a little more of the historian's work.
pub const FLUSH_APPENDS: usize = 30;
/// Minimum time between two published snapshots.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(250);

/// Why the daemon did not start. A cause quoted in a message is not also its `source`
/// (`why`, not `source`): an error chain then says it once.
#[derive(Debug, Error)]
pub enum DaemonError {
    #[error("cannot create data directory {path}: {why}")]
    DataDir { path: PathBuf, why: std::io::Error },
    #[error("cannot open the store {path}: {why}")]
    Store { path: PathBuf, why: HistorianError },
    #[error("audit log: {0}")]
    Key(crate::audit::AuditError),
    #[error("audit log: {0}")]
    Audit(control::AuditRefused),
    #[error("cannot start the {what}: {why}")]
    Thread { what: &'static str, why: std::io::Error },
    /// `why` is not a `source`: its text is in this message already.
    #[error("socket {path}: {why}")]
    Socket { path: PathBuf, why: socket::BindError },
}

/// A running daemon. Dropping it stops the tasks; call [`Daemon::shutdown`] to flush
/// the open batch first.
pub struct Daemon {
    pub site: Arc<Site>,
    pub snapshots: watch::Receiver<Arc<LiveSnapshot>>,
    pub historian: Arc<RwLock<Historian>>,
    /// Historian id of each site tag, by tag index.
    pub tag_ids: Arc<Vec<TagId>>,
    pub store_status: Arc<Mutex<StoreStatus>>,
    pub socket_path: Option<PathBuf>,
    /// One ordered write queue per device (by device index). Only the approval path
    /// may send on these.
    pub write_queues: Vec<mpsc::Sender<mimic_drivers::WriteRequest>>,
    /// Acts for the core (what terminals send, with their user).
    pub commands: mpsc::Sender<CoreCmd>,
    tasks: Vec<JoinHandle<()>>,
    writer: Option<writer::Writer>,
    /// The models worker (remaining life, diagnosis); it ends when the core task does.
    models_thread: Option<std::thread::JoinHandle<()>>,
    /// The advisor of the `[[loop]]`s; it ends when the core task does.
    advise_thread: Option<std::thread::JoinHandle<()>>,
}

pub struct DaemonOptions {
    pub data_dir: PathBuf,
    /// Serve terminals on `data_dir/mimic.sock`.
    pub socket: bool,
    /// Build snapshots only while a terminal is subscribed on the socket (`mimic run`: a
    /// headless edge box does not build 4 tag tables a second for nobody). Off, they
    /// are always built, for callers that read [`Daemon::snapshots`] in-process.
    pub lazy_snapshots: bool,
}

impl Daemon {
    /// Open the store, start every device and the core. Must run inside a tokio runtime.
    pub async fn start(site: Site, opts: DaemonOptions) -> Result<Daemon, DaemonError> {
        let site = Arc::new(site);
        std::fs::create_dir_all(&opts.data_dir)
            .map_err(|why| DaemonError::DataDir { path: opts.data_dir.clone(), why })?;
        let store_path = opts.data_dir.join(STORE_NAME);
        let (historian, tag_ids, lives) = open_store(&site, &store_path)?;

        let store_status = Arc::new(Mutex::new(StoreStatus::default()));
        let writer =
            writer::Writer::start(historian.clone(), store_path.clone(), tag_ids.clone(), store_status.clone());

        let (dev_tx, dev_rx) = mpsc::channel::<DeviceEvent>(1024);
        let mut tasks = Vec::new();
        let mut state = State::new(site.clone());
        state.life = crate::core::asset_life::LiveLife::from_lives(lives, state.life.policy);
        for asset in &site.assets {
            if let Some(Err(e)) = load_anomaly_model(&mut state, &opts.data_dir, &asset.name) {
                tracing::warn!("anomaly model of {} not loaded: {e}", asset.name);
            }
        }
        let (device_tasks, write_queues) = devices::start(&site, &state.device_points, &dev_tx);
        tasks.extend(device_tasks);
        drop(dev_tx);

        let (cmd_tx, cmd_rx) = mpsc::channel::<CoreCmd>(64);
        // Lazy: the whole tag table waits for a subscriber (at 100k tags it is 24 MB).
        let first =
            snapshot::build_with(&state, &StoreStatus::default(), mimic_drivers::now_ms(), !opts.lazy_snapshots);
        let (snap_tx, snapshots) = watch::channel(Arc::new(first));
        let control = open_control(&site, &opts.data_dir, &historian)?;
        let mqtt = crate::north::sparkplug::link(&site, &historian, &tag_ids, opts.data_dir.clone());
        let (mqtt_core, mqtt_task) = mqtt.map_or((None, None), |(core, task)| (Some(core), Some(task)));
        let ua = crate::north::opcua::link(&site, &historian, &tag_ids);
        let (ua_core, ua_task) = ua.map_or((None, None), |(core, task)| (Some(core), Some(task)));
        let (models_thread, jobs_tx, news_rx) = start_models(&site, &opts.data_dir, &historian, &tag_ids)?;
        let (advise_thread, advice_rx, advise_stop) = start_advisor(&site, &historian, &tag_ids, &snapshots)?;
        let watchers = Arc::new(socket::Watchers::default());
        let channels = core_task::Channels {
            lazy_snapshots: opts.lazy_snapshots,
            watchers: watchers.clone(),
            advice: advice_rx,
            _advise_stop: advise_stop,
            models: jobs_tx,
            model_news: news_rx,
            dev_rx,
            cmd_rx,
            store: writer.sender(),
            snap_tx,
            store_status: store_status.clone(),
            write_queues: write_queues.clone(),
            mqtt: mqtt_core,
            opcua: ua_core,
        };
        tasks.push(tokio::spawn(core_task::run(state, control, channels)));
        if let Some(cx) = mqtt_task {
            tasks.push(tokio::spawn(crate::north::sparkplug::run(cx)));
        }
        if let Some(cx) = ua_task {
            tasks.push(tokio::spawn(crate::north::opcua::run(cx)));
        }

        let mut socket_path = None;
        if opts.socket {
            let path = opts.data_dir.join(crate::ipc::SOCKET_NAME);
            let listener = socket::bind(&path).map_err(|why| DaemonError::Socket { path: path.clone(), why })?;
            let ctx = socket::Ctx {
                watchers: watchers.clone(),
                site: site.clone(),
                snapshots: snapshots.clone(),
                historian: historian.clone(),
                tag_ids: tag_ids.clone(),
                commands: cmd_tx.clone(),
                users_path: crate::users::users_path(&opts.data_dir),
            };
            tasks.push(tokio::spawn(socket::serve(listener, ctx)));
            socket_path = Some(path);
        }

        Ok(Daemon {
            site,
            snapshots,
            historian,
            tag_ids,
            store_status,
            socket_path,
            write_queues,
            commands: cmd_tx,
            tasks,
            writer: Some(writer),
            models_thread: Some(models_thread),
            advise_thread,
        })
    }

    /// Stop polling, commit the open batch, remove the socket.
    pub async fn shutdown(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        if let Some(m) = self.models_thread.take() {
            let _ = tokio::task::spawn_blocking(move || m.join()).await;
        }
        if let Some(a) = self.advise_thread.take() {
            let _ = tokio::task::spawn_blocking(move || a.join()).await;
        }
        if let Some(w) = self.writer.take() {
            let _ = tokio::task::spawn_blocking(move || w.finish()).await;
        }
        if let Some(p) = &self.socket_path {
            let _ = std::fs::remove_file(p);
        }
    }
}

type OpenStore = (Arc<RwLock<Historian>>, Arc<Vec<TagId>>, Vec<crate::lifecycle::Life>);

/// Open the store and find each site tag's historian id; the assets' stored lives.
fn open_store(site: &Site, store_path: &std::path::Path) -> Result<OpenStore, DaemonError> {
    let store_err = |why| DaemonError::Store { path: store_path.to_path_buf(), why };
    let mut hist = Historian::open(store_path, store_options(site)).map_err(store_err)?;
    let tag_ids: Vec<TagId> = {
        let names: Vec<&str> = site.tags.iter().map(|t| t.name.as_str()).collect();
        hist.tag_ids(&names).map_err(store_err)?
    };
    let lives = life::startup(hist.database(), site);
    Ok((Arc::new(RwLock::new(hist)), Arc::new(tag_ids), lives))
}

/// The historian's options for this site. The open samples are flushed into blocks
/// every [`FLUSH_APPENDS`] commits whatever the tag count: a flush writes a block for
/// every tag, and with the default bound on open samples a 100,000-tag site flushed at
/// every second commit (the historian thread took 15-20 % of a core and fell behind on a
/// loaded machine).
fn store_options(site: &Site) -> HistorianOptions {
    let d = HistorianOptions::default();
    HistorianOptions {
        retention: site.retention,
        cache_bytes: STORE_CACHE_BYTES,
        flush_appends: FLUSH_APPENDS,
        flush_samples: d.flush_samples.max(site.tags.len().saturating_mul(FLUSH_APPENDS)),
        ..d
    }
}

/// The audit log's key and the users file; the site's loading is the first entry.
fn open_control(
    site: &Site,
    data_dir: &std::path::Path,
    historian: &Arc<RwLock<Historian>>,
) -> Result<control::Control, DaemonError> {
    let key =
        crate::audit::SiteKey::load_or_create(&data_dir.join(crate::audit::KEY_NAME)).map_err(DaemonError::Key)?;
    let mut control = control::Control::new(historian.clone(), Arc::new(key), crate::users::users_path(data_dir));
    let load = control::Note::system(
        crate::audit::Action::ConfigLoad,
        Some(site.path.display().to_string()),
        format!("{} devices, {} tags, {} alarms", site.devices.len(), site.tags.len(), site.alarms.len()),
    );
    control.audit(&[load]).map_err(DaemonError::Audit)?;
    Ok(control)
}

type ModelsWorker = (
    std::thread::JoinHandle<()>,
    std::sync::mpsc::Sender<core::DiagnoseRequest>,
    mpsc::UnboundedReceiver<insight::News>,
);

/// The models worker (remaining life, diagnosis) on its own thread.
fn start_models(
    site: &Arc<Site>,
    data_dir: &std::path::Path,
    historian: &Arc<RwLock<Historian>>,
    tag_ids: &Arc<Vec<TagId>>,
) -> Result<ModelsWorker, DaemonError> {
    let (jobs_tx, jobs_rx) = std::sync::mpsc::channel();
    let (news_tx, news_rx) = mpsc::unbounded_channel();
    let worker = insight::Worker {
        site: site.clone(),
        data_dir: data_dir.to_path_buf(),
        historian: historian.clone(),
        tag_ids: tag_ids.clone(),
        jobs: jobs_rx,
        news: news_tx,
    };
    let models_thread = std::thread::Builder::new()
        .name("mimic-models".into())
        .spawn(move || worker.run())
        .map_err(|why| DaemonError::Thread { what: "models worker", why })?;
    Ok((models_thread, jobs_tx, news_rx))
}

type AdvisorThread =
    (Option<std::thread::JoinHandle<()>>, mpsc::UnboundedReceiver<advise::Advice>, std::sync::mpsc::Sender<()>);

/// The advisor of the `[[loop]]`s on its own thread, when the site has loops; it stops
/// when the returned sender is dropped.
fn start_advisor(
    site: &Arc<Site>,
    historian: &Arc<RwLock<Historian>>,
    tag_ids: &Arc<Vec<TagId>>,
    snapshots: &watch::Receiver<Arc<LiveSnapshot>>,
) -> Result<AdvisorThread, DaemonError> {
    let (advice_tx, advice_rx) = mpsc::unbounded_channel();
    let (advise_stop, advise_stop_rx) = std::sync::mpsc::channel();
    let advisor = advise::Advisor {
        site: site.clone(),
        historian: historian.clone(),
        tag_ids: tag_ids.clone(),
        snapshots: snapshots.clone(),
        news: advice_tx,
        stop: advise_stop_rx,
    };
    let advise_thread = if site.loops.is_empty() {
        None
    } else {
        Some(
            std::thread::Builder::new()
                .name("mimic-advise".into())
                .spawn(move || advisor.run())
                .map_err(|why| DaemonError::Thread { what: "advisor", why })?,
        )
    };
    Ok((advise_thread, advice_rx, advise_stop))
}

impl Drop for Daemon {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Why a stored anomaly model was not loaded: its file, or a signal the site lacks.
#[derive(Debug, Error)]
pub enum AnomalyLoadError {
    #[error(transparent)]
    File(#[from] crate::models::anomaly::asset::AssetModelError),
    #[error(transparent)]
    Signal(#[from] core::UnknownSignal),
}

/// Load (or reload) the stored anomaly model of `asset` into the core; `None` when the
/// asset has none.
pub fn load_anomaly_model(
    state: &mut State,
    data_dir: &std::path::Path,
    asset: &str,
) -> Option<Result<(), AnomalyLoadError>> {
    use crate::models::anomaly::asset::{AssetModel, model_path};
    let path = model_path(data_dir, asset);
    if !path.exists() {
        return None;
    }
    let bound =
        AssetModel::load(&path).map_err(AnomalyLoadError::from).and_then(|m| Ok(core::LiveAnomaly::bind(state, m)?));
    Some(bound.map(|live| {
        tracing::info!("anomaly model of {asset} loaded ({} signals)", live.tags.len());
        state.anomaly.retain(|m| m.asset != asset);
        state.anomaly.push(live);
    }))
}

#[cfg(test)]
mod error_tests {
    use super::*;

    /// A start error quotes its cause and does not hand it on as a `source` too: the
    /// anyhow chain (`{:#}`) says it once (it said "…: denied: denied" before).
    #[test]
    fn a_start_error_says_its_cause_once() {
        let dir = DaemonError::DataDir { path: "/d".into(), why: std::io::Error::other("permission denied") };
        assert_eq!(format!("{:#}", anyhow::Error::new(dir)), "cannot create data directory /d: permission denied");
        let store = DaemonError::Store { path: "/d/store.redb".into(), why: HistorianError::TagIdsExhausted };
        assert_eq!(format!("{:#}", anyhow::Error::new(store)), "cannot open the store /d/store.redb: no tag id left");
    }
}
