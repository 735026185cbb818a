//! The terminals' Unix socket: owner/group-only permissions, identity from the peer's
//! credentials, newline-delimited JSON requests ([`crate::ipc`]); replies as JSON lines, or
//! binary frames once a terminal has a view ([`window`]). Each connection is its
//! own task: a slow or malformed client never affects another.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use crate::config::Site;
use crate::historian::{Historian, TagId};
mod records;
mod window;

use crate::ipc::{self, Frame, HistSample, LiveSnapshot, Reply, Request, TagQuality, TagSort, TrendColumn, ViewSpec};
use window::{Table, Viewer, Wants};

pub struct Ctx {
    pub site: Arc<Site>,
    pub snapshots: watch::Receiver<Arc<LiveSnapshot>>,
    pub historian: Arc<RwLock<Historian>>,
    pub tag_ids: Arc<Vec<TagId>>,
    pub commands: tokio::sync::mpsc::Sender<super::CoreCmd>,
    /// The users file, whose policy says when an idle terminal locks itself.
    pub users_path: std::path::PathBuf,
    /// Subscribed terminals, and the core's "publish now".
    pub watchers: Arc<Watchers>,
}

/// Terminals watching the plant: with lazy snapshots (`mimic run`) the core builds
/// snapshots only while some terminal watches; a new one asks for a fresh snapshot.
/// Subscribers get whole snapshots; viewers what their view shows, from the shared
/// tag table kept here ([`window`]).
#[derive(Debug, Default)]
pub struct Watchers {
    terminals: std::sync::atomic::AtomicUsize,
    pub refresh: tokio::sync::Notify,
    /// The tag table of the views (built when the first viewer comes).
    table: RwLock<Option<Table>>,
    /// Each viewer's rows on screen and sort, by connection number.
    wants: Mutex<HashMap<u64, (Vec<u32>, TagSort)>>,
    next: std::sync::atomic::AtomicU64,
}

impl Watchers {
    /// Somebody watches: snapshots are worth building.
    pub fn any(&self) -> bool {
        self.subscribers() || self.wants.lock().is_ok_and(|w| !w.is_empty())
    }

    /// Somebody wants whole snapshots, every tag included.
    pub fn subscribers(&self) -> bool {
        self.terminals.load(std::sync::atomic::Ordering::Relaxed) > 0
    }

    /// Brings the views' tag table up to date with the core's state (the core calls it
    /// before publishing a snapshot); nothing while no terminal has a view.
    pub fn refresh_views(&self, state: &crate::core::State) {
        let wants = {
            let Ok(w) = self.wants.lock() else { return };
            if w.is_empty() {
                return;
            }
            Wants {
                rows: w.values().flat_map(|(rows, _)| rows.iter().copied()).collect(),
                sorts: w.values().map(|(_, s)| *s).collect(),
            }
        };
        let Ok(mut t) = self.table.write() else { return };
        match t.as_mut() {
            Some(t) if t.len() == state.tags.len() => t.refresh(state, &wants),
            _ => *t = Some(Table::new(state)),
        }
        if let Some(t) = t.as_mut() {
            wants.sorts.iter().for_each(|s| t.ensure(*s));
        }
    }
}

/// One subscribed terminal, counted while it lives.
struct Watching(Arc<Watchers>);

impl Watching {
    fn new(w: &Arc<Watchers>) -> Watching {
        w.terminals.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        w.refresh.notify_one();
        Watching(w.clone())
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.terminals.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// One terminal with a view, registered with the watchers while it lives.
struct Viewing {
    id: u64,
    watchers: Arc<Watchers>,
    viewer: Viewer,
    /// A view taken but not yet applied (the filter is computed on the next update).
    pending: bool,
}

impl Viewing {
    fn new(w: &Arc<Watchers>) -> Viewing {
        let id = w.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut wants) = w.wants.lock() {
            wants.insert(id, (Vec::new(), TagSort::Name));
        }
        w.refresh.notify_one();
        Viewing { id, watchers: w.clone(), viewer: Viewer::default(), pending: true }
    }

    /// Takes a new view (its sort's index is built now if nobody used it).
    fn set(&mut self, spec: ViewSpec) {
        if let Ok(mut wants) = self.watchers.wants.lock() {
            wants.insert(self.id, (Vec::new(), spec.sort));
        }
        if let Ok(mut t) = self.watchers.table.write()
            && let Some(t) = t.as_mut()
        {
            t.ensure(spec.sort);
        }
        // applied with the next update (there may be no table before the first publish)
        self.viewer.spec = spec;
        self.pending = true;
    }

    /// What changed for this view, from the table and the latest snapshot.
    fn update(&mut self, snap: &LiveSnapshot) -> Option<ipc::ViewUpdate> {
        let Ok(guard) = self.watchers.table.read() else { return None };
        let t = guard.as_ref()?;
        if self.pending {
            let spec = self.viewer.spec.clone();
            self.viewer.set(spec, t);
            self.pending = false;
        }
        if !t.has(self.viewer.spec.sort) {
            return None;
        }
        let up = self.viewer.update(t, snap);
        drop(guard);
        if let Ok(mut wants) = self.watchers.wants.lock() {
            wants.insert(self.id, (self.viewer.rows().collect(), self.viewer.spec.sort));
        }
        up
    }
}

impl Drop for Viewing {
    fn drop(&mut self) {
        if let Ok(mut wants) = self.watchers.wants.lock() {
            wants.remove(&self.id);
        }
    }
}

/// Why the terminal socket could not be bound.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("another mimic daemon is already serving this data directory")]
    InUse,
    #[error("cannot remove stale socket: {0}")]
    Stale(std::io::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Bind the socket, replacing a stale file left by a crashed daemon but never stealing
/// the socket of a live one.
pub fn bind(path: &Path) -> Result<UnixListener, BindError> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(BindError::InUse);
        }
        std::fs::remove_file(path).map_err(BindError::Stale)?;
    }
    // Create the socket owner/group-only from the start: no window with looser modes.
    // SAFETY: umask only swaps the process's file-creation mask; restored just below.
    let old = unsafe { libc::umask(0o117) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let listener = bound?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    Ok(listener)
}

pub async fn serve(listener: UnixListener, ctx: Ctx) {
    let ctx = Arc::new(ctx);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    if let Err(e) = client(stream, ctx).await {
                        tracing::debug!("terminal connection ended: {e}");
                    }
                });
            }
            Err(e) => {
                tracing::warn!("socket accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

async fn send(w: &mut (impl AsyncWriteExt + Unpin), reply: &Reply) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(reply).map_err(std::io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line).await?;
    w.flush().await
}

/// A reply as a JSON line, or, once the terminal has a view, as a binary frame.
async fn answer(w: &mut (impl AsyncWriteExt + Unpin), binary: bool, reply: &Reply) -> std::io::Result<()> {
    if !binary {
        return send(w, reply).await;
    }
    let json = serde_json::to_string(reply).map_err(std::io::Error::other)?;
    send_frame(w, &Frame::Reply(json)).await
}

async fn send_frame(w: &mut (impl AsyncWriteExt + Unpin), frame: &Frame) -> std::io::Result<()> {
    let bytes = ipc::encode_frame(frame).map_err(std::io::Error::other)?;
    w.write_all(&bytes).await?;
    w.flush().await
}

/// Greet a terminal that attached: the site, its account and the idle-lock policy; then
/// audit the attach and learn the mimic identity and role behind the account.
async fn greet(w: &mut (impl AsyncWriteExt + Unpin), ctx: &Ctx, user: &str) -> std::io::Result<()> {
    // the users file's policy; without a readable one, the default
    let path = ctx.users_path.clone();
    let idle_lock = tokio::task::spawn_blocking(move || crate::users::Users::load_or_new(&path).map(|u| u.idle_lock))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(crate::users::DEFAULT_IDLE_LOCK);
    send(
        w,
        &Reply::Hello {
            site: ctx.site.name.clone(),
            user: user.to_string(),
            version: env!("CARGO_PKG_VERSION").into(),
            idle_lock_s: idle_lock.as_secs(),
            proto: ipc::PROTO,
        },
    )
    .await?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let _ = ctx.commands.send(super::CoreCmd { user: user.to_string(), act: None, reply: tx }).await;
    if let Ok(Ok(identity)) = rx.await {
        tracing::info!("terminal attached: {user} as {identity}");
    }
    Ok(())
}

/// An act of a terminal's user, decided by the core: its reply.
async fn act(ctx: &Ctx, user: &str, act: ipc::Act) -> Reply {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let cmd = super::CoreCmd { user: user.to_string(), act: Some(act), reply: tx };
    if ctx.commands.send(cmd).await.is_err() {
        return Reply::Error { message: "the core has stopped".into() };
    }
    match rx.await {
        Ok(Ok(message)) => Reply::Done { message },
        Ok(Err(refusal)) => Reply::Error { message: refusal.to_string() },
        Err(_) => Reply::Error { message: "the core dropped the request".into() },
    }
}

async fn client(stream: UnixStream, ctx: Arc<Ctx>) -> std::io::Result<()> {
    let uid = stream.peer_cred()?.uid();
    let user = ipc::user_name(uid).unwrap_or_else(|| format!("uid {uid}"));
    tracing::info!("terminal attached: {user}");
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r);
    greet(&mut w, &ctx, &user).await?;
    // Snapshots only once subscribed (counted, for lazy snapshots).
    let mut snaps: Option<watch::Receiver<Arc<LiveSnapshot>>> = None;
    let mut watching: Option<Watching> = None;
    // A terminal with a view; from its first view on, replies are binary frames.
    let mut viewing: Option<Viewing> = None;
    let mut buf = Vec::new();
    loop {
        tokio::select! {
            n = read_line(&mut lines, &mut buf) => {
                if n? == 0 {
                    return Ok(());
                }
                let reply = match ipc::parse_request(&buf) {
                    Err(e) => Reply::Error { message: e.to_string() },
                    Ok(Request::Subscribe {}) => {
                        // The snapshot now may be old (lazy snapshots): the count asks the
                        // core for a fresh one, which this receiver, taken first, will see.
                        let mut rx = ctx.snapshots.clone();
                        rx.borrow_and_update();
                        snaps = Some(rx);
                        watching.get_or_insert_with(|| Watching::new(&ctx.watchers));
                        continue;
                    }
                    Ok(Request::View { view, .. }) => {
                        let v = viewing.get_or_insert_with(|| Viewing::new(&ctx.watchers));
                        v.set(view);
                        if snaps.is_none() {
                            let mut rx = ctx.snapshots.clone();
                            rx.borrow_and_update();
                            snaps = Some(rx);
                        }
                        // answered at once from the latest snapshot: a key costs no frame wait
                        let snap = ctx.snapshots.borrow().clone();
                        if let Some(up) = v.update(&snap) {
                            send_frame(&mut w, &Frame::Update(Box::new(up))).await?;
                        }
                        continue;
                    }
                    Ok(Request::Act { act: a }) => act(&ctx, &user, a).await,
                    Ok(req) => {
                        let ctx = ctx.clone();
                        tokio::task::spawn_blocking(move || query(&ctx, req)).await.unwrap_or_else(|e| Reply::Error { message: e.to_string() })
                    }
                };
                answer(&mut w, viewing.is_some(), &reply).await?;
            }
            Some(changed) = next_snapshot(&mut snaps) => {
                let Some(snap) = changed else {
                    return Ok(());
                };
                match viewing.as_mut() {
                    Some(v) => {
                        if let Some(up) = v.update(&snap) {
                            send_frame(&mut w, &Frame::Update(Box::new(up))).await?;
                        }
                    }
                    None => send(&mut w, &Reply::Snapshot(Box::new((*snap).clone()))).await?,
                }
            }
        }
    }
}

/// The next snapshot for a subscribed terminal (`Some(None)`: the core stopped); never
/// ready before the terminal subscribes.
async fn next_snapshot(rx: &mut Option<watch::Receiver<Arc<LiveSnapshot>>>) -> Option<Option<Arc<LiveSnapshot>>> {
    match rx {
        Some(rx) => Some(match rx.changed().await {
            Ok(()) => Some(rx.borrow_and_update().clone()),
            Err(_) => None,
        }),
        None => std::future::pending().await,
    }
}

/// Read one line into `buf` (without the newline), refusing to buffer more than
/// `MAX_LINE` bytes: the rest of an overlong line is discarded.
async fn read_line(r: &mut BufReader<tokio::net::unix::OwnedReadHalf>, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    buf.clear();
    let mut total = 0;
    loop {
        let chunk = r.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(total);
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = (ipc::MAX_LINE + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        r.consume(take);
        total += take;
        if done {
            if buf.last() == Some(&b'\n') {
                buf.pop();
            }
            return Ok(total);
        }
    }
}

fn query(ctx: &Ctx, req: Request) -> Reply {
    let (tag, from_ms, to_ms) = match &req {
        Request::History { tag, from_ms, to_ms } | Request::Trend { tag, from_ms, to_ms, .. } => {
            (tag.clone(), *from_ms, *to_ms)
        }
        Request::Life { asset } => return super::life::reply(&ctx.historian, &ctx.site, asset.as_deref()),
        Request::DeviceSummary { from_ms, to_ms } => return records::device_summary(ctx, *from_ms, *to_ms),
        Request::AlarmHistory { .. }
        | Request::AlarmReport { .. }
        | Request::AlarmsActive { .. }
        | Request::AuditVerify {}
        | Request::AuditEntries { .. }
        | Request::AuditHashes { .. }
        | Request::AuditCheckpoints {} => return records::reply(ctx, req),
        Request::WhatIf { tag, value } => {
            let Ok(h) = ctx.historian.read() else {
                return Reply::Error { message: "store unavailable".into() };
            };
            let now = mimic_drivers::now_ms();
            return match super::advise::what_if_on(&h, &ctx.site, &ctx.tag_ids, tag, *value, now) {
                Ok(w) => Reply::WhatIf(Box::new(w)),
                Err(e) => Reply::Error { message: e.to_string() },
            };
        }
        Request::Subscribe {} | Request::View { .. } | Request::Act { .. } => {
            return Reply::Error { message: "unexpected".into() };
        }
    };
    let Some(ti) = ctx.site.tag_index(&tag) else {
        return Reply::Error { message: format!("unknown tag `{tag}`") };
    };
    let id = ctx.tag_ids[ti];
    let Ok(h) = ctx.historian.read() else {
        return Reply::Error { message: "store unavailable".into() };
    };
    match req {
        Request::History { .. } => match h.query(id, from_ms, to_ms) {
            Ok(samples) => Reply::History { tag, samples: samples.iter().map(hist_sample).collect() },
            Err(e) => Reply::Error { message: e.to_string() },
        },
        Request::Trend { columns, .. } => {
            let n = columns.clamp(1, 4000);
            match h.downsample(id, from_ms, to_ms, n) {
                Ok(cols) => Reply::Trend {
                    tag,
                    asset: ctx.site.tags[ti]
                        .asset
                        .and_then(|a| ctx.site.assets.get(a))
                        .map(|a| a.name.clone())
                        .unwrap_or_default(),
                    units: ctx.site.tags[ti].units.to_string(),
                    from_ms,
                    to_ms,
                    columns: full_width(&cols, from_ms, to_ms, n),
                },
                Err(e) => Reply::Error { message: e.to_string() },
            }
        }
        Request::Subscribe {}
        | Request::View { .. }
        | Request::Act { .. }
        | Request::Life { .. }
        | Request::WhatIf { .. }
        | Request::AlarmHistory { .. }
        | Request::AlarmReport { .. }
        | Request::AlarmsActive { .. }
        | Request::DeviceSummary { .. }
        | Request::AuditVerify {}
        | Request::AuditEntries { .. }
        | Request::AuditHashes { .. }
        | Request::AuditCheckpoints {} => Reply::Error { message: "unexpected".into() },
    }
}

/// Exactly `n` evenly spaced columns over `[from, to)`: the historian omits empty
/// ones; the terminal needs them in place (count 0) so time runs evenly across.
pub fn full_width(cols: &[crate::historian::Column], from: i64, to: i64, n: usize) -> Vec<TrendColumn> {
    let span = i128::from(to - from).max(1);
    let edge = |k: usize| from + i64::try_from(span * k as i128 / n as i128).unwrap_or(0);
    let mut out: Vec<TrendColumn> = (0..n)
        .map(|k| TrendColumn { start_ms: edge(k), end_ms: edge(k + 1), min: 0.0, max: 0.0, last: 0.0, count: 0 })
        .collect();
    for c in cols {
        let k = usize::try_from(i128::from(c.start_ms - from) * n as i128 / span).unwrap_or(0).min(n - 1);
        // JSON has no NaN: a column without Good samples travels as zeros with count 0.
        if c.count > 0 && c.min.is_finite() && c.max.is_finite() {
            let last = if c.last.is_finite() { c.last } else { c.max };
            out[k] =
                TrendColumn { start_ms: c.start_ms, end_ms: c.end_ms, min: c.min, max: c.max, last, count: c.count };
        }
    }
    out
}

pub fn hist_sample(s: &crate::historian::Sample) -> HistSample {
    let (quality, reason) = mimic_drivers::Quality::from_code(s.quality)
        .map_or_else(|| (TagQuality::Bad, Some(format!("code {}", s.quality))), TagQuality::with_reason);
    HistSample { ts_ms: s.ts_ms, value: (!s.value.is_nan()).then_some(s.value), quality, reason }
}
