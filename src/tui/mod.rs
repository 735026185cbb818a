//! `mimic tui`: a terminal attached to a daemon over its Unix socket.
//!
//! The terminal owns nothing of the plant: it tells the daemon what it shows (a view:
//! screen, filter, sort, the rows on screen; see [`crate::ipc::ViewSpec`]), receives
//! what changed of it, turns that into the views' plain data ([`convert`]) and draws
//! it; keys go through the views' pure key handler, and a key that changes the view
//! sends the new view at once. Drawing is rate-limited (at most [`MAX_FPS`] frames a second, and
//! none while nothing changes) and ratatui writes only the cells that changed, through a
//! buffered writer, which keeps SSH links quiet. The terminal is restored on quit, on
//! panic and on SIGTERM/SIGHUP.

mod alarm_log;
mod convert;
mod term;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use mimic_views::{Action, Key, Screen, Snapshot, Theme, TrendData, TrendSeries, UiState};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::ipc::{self, Act, Frame, Reply, Request, ViewSpec, ViewUpdate};

pub const MAX_FPS: u32 = 5;
const MIN_SPAN_MS: i64 = 60_000;
const MAX_SPAN_MS: i64 = 400 * 86_400_000;

enum Event {
    Reply(Reply),
    Update(Box<ViewUpdate>),
    Disconnected,
    Key(Key),
    Resize,
    Stop,
}

struct Trend {
    tag: String,
    span_ms: i64,
    /// End of the window; `None` follows the present.
    end_ms: Option<i64>,
    data: Option<TrendData>,
    /// Latest columns of the further tags drawn on the same axes (which tags: the
    /// views' `UiState::trend_tags`, see [`extras`]).
    extra_data: Vec<TrendSeries>,
}

/// Attach to the daemon serving `socket` and run until the user quits.
pub async fn attach(socket: PathBuf) -> anyhow::Result<()> {
    let (mut s, mut rx) = Session::open(socket).await?;
    let mut idle_check = tokio::time::interval(Duration::from_secs(1));
    let mut trend_refresh = tokio::time::interval(Duration::from_secs(5));
    let mut reconnect = tokio::time::interval(Duration::from_secs(2));

    loop {
        let draw_at = if s.dirty { s.last_draw + s.frame_gap } else { Instant::now() + Duration::from_secs(3600) };
        tokio::select! {
            ev = rx.recv() => {
                let Some(ev) = ev else { break };
                if s.on_event(ev).await == Flow::Quit {
                    break;
                }
                if s.viewing {
                    sync_view(&mut s.writer, &s.ui, &s.snap, &mut s.view, &mut s.view_sent).await;
                }
            }
            _ = idle_check.tick(), if !s.ui.locked && !s.idle_lock.is_zero() => s.lock_if_idle(),
            _ = trend_refresh.tick(), if s.ui.screen == Screen::Trend => {
                if s.trend.as_ref().is_some_and(|t| t.end_ms.is_none()) {
                    request_trend(&mut s.writer, s.trend.as_ref(), &s.ui, s.terminal.size().0).await;
                }
            }
            _ = reconnect.tick(), if s.writer.is_none() => {
                if let Ok(stream) = UnixStream::connect(&s.socket).await {
                    // the daemon's hello brings the view and the trend again
                    s.writer = connect(stream, s.tx.clone());
                }
            }
            _ = tokio::time::sleep_until(draw_at), if s.dirty => s.draw()?,
        }
    }
    drop(s);
    Ok(())
}

/// Whether the terminal goes on after an event.
#[derive(PartialEq, Eq)]
enum Flow {
    Go,
    Quit,
}

/// One attached terminal: its link to the daemon, its screen and what it holds.
struct Session {
    socket: PathBuf,
    tx: mpsc::UnboundedSender<Event>,
    writer: Writer,
    terminal: term::Terminal,
    ui: UiState,
    snap: Snapshot,
    /// What the terminal holds of the plant's small data (no tags), the view last sent,
    /// and when (its answer is drawn at once).
    board: ipc::LiveSnapshot,
    view: Option<ViewSpec>,
    viewing: bool,
    view_sent: Option<Instant>,
    user: String,
    trend: Option<Trend>,
    /// A secret being typed (blind, never echoed): for a signature or to unlock.
    secret_for: Option<term::Prompt>,
    secret: String,
    /// Idle lock: the time of the last key, the site's limit (0: never) and an unlock in flight.
    last_key: Instant,
    idle_lock: Duration,
    unlocking: bool,
    dirty: bool,
    last_draw: Instant,
    frame_gap: Duration,
}

impl Session {
    /// Connects to the daemon (it greets first; the view, or from an older daemon a
    /// subscription, follows its hello) and takes over the terminal.
    async fn open(socket: PathBuf) -> anyhow::Result<(Session, mpsc::UnboundedReceiver<Event>)> {
        let stream = UnixStream::connect(&socket).await.with_context(|| {
            format!(
                "no mimic daemon at {} (start one with `mimic run SITE.toml`, or pass --data DIR)",
                socket.display()
            )
        })?;
        let (tx, rx) = mpsc::unbounded_channel::<Event>();
        let writer = connect(stream, tx.clone());

        let terminal = term::Terminal::enter().context("cannot set up the terminal")?;
        term::spawn_input(tx.clone());
        term::spawn_signals(tx.clone());

        let mut ui = UiState {
            theme: Theme { color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) },
            ..UiState::default()
        };
        let (w, h) = terminal.size();
        ui.resize(w, h);
        let session = Session {
            socket,
            tx,
            writer,
            terminal,
            ui,
            snap: Snapshot { connected: false, ..Snapshot::default() },
            board: ipc::LiveSnapshot::default(),
            view: None,
            viewing: false,
            view_sent: None,
            user: String::new(),
            trend: None,
            secret_for: None,
            secret: String::new(),
            last_key: Instant::now(),
            idle_lock: Duration::ZERO,
            unlocking: false,
            dirty: true,
            last_draw: Instant::now() - Duration::from_secs(1),
            frame_gap: Duration::from_millis(1000 / u64::from(MAX_FPS)),
        };
        Ok((session, rx))
    }

    async fn on_event(&mut self, ev: Event) -> Flow {
        match ev {
            Event::Reply(reply) => self.on_reply(reply).await,
            Event::Update(up) => {
                convert::apply(&mut self.board, &mut self.snap, *up, &self.user);
                self.dirty = true;
                if self.view_sent.take().is_some() {
                    // the answer to a key: draw it now
                    self.last_draw = Instant::now() - self.frame_gap;
                }
            }
            Event::Disconnected => {
                self.snap.connected = false;
                self.writer = None;
                self.dirty = true;
            }
            Event::Resize => {
                let (w, h) = self.terminal.size();
                self.ui.resize(w, h);
                self.dirty = true;
            }
            Event::Stop => return Flow::Quit,
            Event::Key(key) if self.secret_for.is_some() => return self.on_secret_key(key).await,
            Event::Key(key) => return self.on_key(key).await,
        }
        Flow::Go
    }

    async fn on_reply(&mut self, reply: Reply) {
        match reply {
            Reply::Hello { user, site, idle_lock_s, proto, .. } => {
                self.user = user;
                self.snap.site = site;
                self.idle_lock = Duration::from_secs(idle_lock_s);
                self.ui.lock_after_ms = i64::try_from(self.idle_lock.as_millis()).unwrap_or(i64::MAX);
                self.dirty = true;
                self.viewing = proto == ipc::PROTO;
                self.view = None;
                if self.viewing {
                    sync_view(&mut self.writer, &self.ui, &self.snap, &mut self.view, &mut self.view_sent).await;
                } else {
                    let _ = send(&mut self.writer, &Request::Subscribe {}).await;
                }
                // after the view: its replies come as frames
                request_trend(&mut self.writer, self.trend.as_ref(), &self.ui, self.terminal.size().0).await;
            }
            Reply::Snapshot(live) => {
                self.snap = convert::snapshot(&live, &self.user, true);
                self.dirty = true;
            }
            Reply::Trend { tag, asset, units, from_ms, to_ms, columns } => {
                if let Some(t) = self.trend.as_mut() {
                    let data = TrendData { tag: tag.clone(), asset, units, from_ms, to_ms, columns, extra: Vec::new() };
                    if t.tag == tag {
                        t.data = Some(data);
                        self.dirty = true;
                    } else if extras(&self.ui, &t.tag).any(|x| *x == tag) {
                        t.extra_data.retain(|s| s.tag != tag);
                        t.extra_data.push(TrendSeries { tag, units: data.units, columns: data.columns });
                        self.dirty = true;
                    }
                }
            }
            Reply::WhatIf(w) => {
                // shown unless another popup took the screen meanwhile
                if self.ui.modal.is_none() && !self.ui.locked {
                    self.ui.what_if = Some(*w);
                    self.dirty = true;
                }
            }
            Reply::AlarmHistory(p) => {
                self.ui.alarm_log.show_page(alarm_log::page(&p));
                self.dirty = true;
            }
            Reply::AlarmReport(r) => {
                self.ui.alarm_log.show_kpi(alarm_log::kpis(&r));
                self.dirty = true;
            }
            Reply::History { .. }
            | Reply::Life(_)
            | Reply::AuditVerified { .. }
            | Reply::AuditEntries { .. }
            | Reply::AuditHashes { .. }
            | Reply::AuditCheckpoints { .. }
            | Reply::DeviceSummary { .. } => {}
            Reply::Done { message } if self.unlocking => {
                tracing::info!("daemon: {message}");
                (self.unlocking, self.ui.locked, self.ui.lock_note) = (false, false, None);
                self.last_key = Instant::now();
                self.dirty = true;
            }
            Reply::Error { message } if self.unlocking => {
                self.unlocking = false;
                self.ui.lock_note = Some(format!("Not unlocked: {message}"));
                self.dirty = true;
            }
            Reply::Done { message } => {
                tracing::info!("daemon: {message}");
                self.ui.notice = Some(message);
                self.dirty = true;
            }
            Reply::Error { message } => {
                tracing::warn!("daemon: {message}");
                // the History and KPI panes send no acts: a refusal there is of their request
                if self.ui.screen == Screen::Alarms && self.ui.alarm_log.pane != mimic_views::AlarmPane::Live {
                    self.ui.alarm_log.error = Some(message.clone());
                }
                self.ui.notice = Some(format!("Refused: {message}"));
                self.dirty = true;
            }
        }
    }

    /// The secret prompt is modal: every key goes to it.
    async fn on_secret_key(&mut self, key: Key) -> Flow {
        self.dirty = true;
        self.last_key = Instant::now();
        match key {
            Key::Char(c) if self.secret.len() < 256 => self.secret.push(c),
            Key::Backspace => {
                self.secret.pop();
            }
            Key::Esc => {
                self.secret_for = None;
                self.secret.clear();
            }
            Key::CtrlC => return Flow::Quit,
            Key::Enter => match self.secret_for.take() {
                Some(term::Prompt::Approve(id)) => {
                    act(&mut self.writer, Act::Approve { id, secret: std::mem::take(&mut self.secret) }).await;
                }
                Some(term::Prompt::Unlock) => {
                    self.unlocking = true;
                    act(&mut self.writer, Act::Unlock { secret: std::mem::take(&mut self.secret) }).await;
                }
                None => {}
            },
            _ => {}
        }
        Flow::Go
    }

    async fn on_key(&mut self, key: Key) -> Flow {
        self.dirty = true;
        self.last_key = Instant::now();
        // a key is drawn at once (the frame limit is for the plant's changes)
        self.last_draw = Instant::now() - self.frame_gap;
        let width = self.terminal.size().0;
        match mimic_views::handle_key(&mut self.ui, &self.snap, key) {
            Some(Action::Quit) => return Flow::Quit,
            Some(Action::Approve { id }) => self.secret_for = Some(term::Prompt::Approve(id)),
            Some(Action::Unlock) => self.secret_for = Some(term::Prompt::Unlock),
            Some(Action::AlarmHistory { search, after, rows }) => {
                match alarm_log::history_request(&search, after, rows, mimic_drivers::now_ms()) {
                    Ok(req) => {
                        let _ = send(&mut self.writer, &req).await;
                    }
                    Err(e) => self.ui.alarm_log.error = Some(e.to_string()),
                }
            }
            Some(action) => on_action(action, &mut self.writer, &mut self.trend, &self.ui, width).await,
            None => {}
        }
        Flow::Go
    }

    /// Hides the plant after the site's idle limit; a secret being typed is abandoned.
    fn lock_if_idle(&mut self) {
        if self.last_key.elapsed() >= self.idle_lock {
            self.ui.locked = true;
            self.ui.modal = None;
            self.ui.what_if = None;
            self.ui.show_help = false;
            self.secret_for = None;
            self.secret.clear();
            self.dirty = true;
        }
    }

    fn draw(&mut self) -> anyhow::Result<()> {
        let ui = &self.ui;
        let data = self.trend.as_ref().and_then(|t| {
            let mut d = t.data.clone()?;
            d.extra = extras(ui, &t.tag).filter_map(|x| t.extra_data.iter().find(|s| &s.tag == x).cloned()).collect();
            Some(d)
        });
        let prompt = self.secret_for.map(|p| (p, self.secret.chars().count()));
        self.terminal.draw(&self.snap, data.as_ref(), ui, prompt).map_err(|e| anyhow!("drawing failed: {e}"))?;
        self.last_draw = Instant::now();
        self.dirty = false;
        Ok(())
    }
}

/// Carries out what a key asked for: a trend to load or move, an act for the daemon.
async fn on_action(action: Action, writer: &mut Writer, trend: &mut Option<Trend>, ui: &UiState, width: u16) {
    match action {
        Action::OpenTrend { tag } => {
            let keep = trend.as_ref().map_or(3_600_000, |t| t.span_ms);
            *trend = Some(Trend { tag, span_ms: keep, end_ms: None, data: None, extra_data: Vec::new() });
            request_trend(writer, trend.as_ref(), ui, width).await;
        }
        Action::AddToTrend { .. } | Action::ClearTrendExtras => {
            if let Some(t) = trend.as_mut() {
                let keep: Vec<&String> = extras(ui, &t.tag).collect();
                t.extra_data.retain(|s| keep.contains(&&s.tag));
            }
            request_trend(writer, trend.as_ref(), ui, width).await;
        }
        Action::TrendZoom { in_ } => {
            if let Some(t) = trend.as_mut() {
                t.span_ms = if in_ { (t.span_ms / 2).max(MIN_SPAN_MS) } else { (t.span_ms * 2).min(MAX_SPAN_MS) };
            }
            request_trend(writer, trend.as_ref(), ui, width).await;
        }
        Action::TrendPan { steps } => {
            if let Some(t) = trend.as_mut() {
                let now = mimic_drivers::now_ms();
                let end = t.end_ms.unwrap_or(now) + i64::from(steps) * t.span_ms / 10;
                t.end_ms = (end < now).then_some(end);
            }
            request_trend(writer, trend.as_ref(), ui, width).await;
        }
        Action::AckAlarm { id } => act(writer, Act::AckAlarm { id }).await,
        Action::AckAllVisible { ids } => act(writer, Act::AckAlarms { ids }).await,
        Action::ShelveAlarm { id, reason, minutes } => act(writer, Act::ShelveAlarm { id, reason, minutes }).await,
        Action::UnshelveAlarm { id } => act(writer, Act::UnshelveAlarm { id }).await,
        Action::SetOutOfService { id, on, reason } => act(writer, Act::SetOutOfService { id, on, reason }).await,
        Action::Reject { id, reason } => act(writer, Act::Reject { id, reason }).await,
        Action::Revert { id } => act(writer, Act::Revert { id }).await,
        Action::RecordMaintenance { asset, kind, part, note } => {
            let kind = kind.name().to_string();
            act(writer, Act::RecordMaintenance { asset, kind, part, note, at_ms: None }).await
        }
        Action::WhatIf { tag, value } => {
            let _ = send(writer, &Request::WhatIf { tag, value }).await;
        }
        Action::RequestWrite { tag, value } => act(writer, Act::RequestWrite { tag, value }).await,
        Action::AlarmKpis { span_ms } => {
            let _ = send(writer, &alarm_log::kpi_request(span_ms, mimic_drivers::now_ms())).await;
        }
        Action::Quit | Action::AlarmHistory { .. } | Action::Approve { .. } | Action::Unlock => {}
    }
}

type Writer = Option<tokio::net::unix::OwnedWriteHalf>;

/// Reads the daemon's replies: JSON lines up to its hello, then (when it speaks
/// [`ipc::PROTO`]: this terminal sends a view first thing) binary frames.
fn connect(stream: UnixStream, tx: mpsc::UnboundedSender<Event>) -> Writer {
    let (r, w) = stream.into_split();
    tokio::spawn(async move {
        let mut r = BufReader::new(r);
        let mut binary = false;
        loop {
            let ev = if binary { read_frame(&mut r).await } else { read_reply(&mut r).await };
            let ev = match ev {
                Ok(Some(ev)) => ev,
                Ok(None) => Event::Disconnected,
                Err(e) => {
                    tracing::warn!("daemon link failed: {e}");
                    Event::Disconnected
                }
            };
            if let Event::Reply(Reply::Hello { proto, .. }) = &ev {
                binary = *proto == ipc::PROTO;
            }
            let end = matches!(ev, Event::Disconnected);
            if tx.send(ev).is_err() || end {
                return;
            }
        }
    });
    Some(w)
}

type Reader = BufReader<tokio::net::unix::OwnedReadHalf>;

/// One JSON line (`None`: the daemon closed the link; a bad line is skipped).
async fn read_reply(r: &mut Reader) -> anyhow::Result<Option<Event>> {
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        match serde_json::from_str::<Reply>(&line) {
            Ok(reply) => return Ok(Some(Event::Reply(reply))),
            Err(e) => tracing::warn!("bad reply from daemon: {e}"),
        }
    }
}

/// One binary frame (`None`: the daemon closed the link).
async fn read_frame(r: &mut Reader) -> anyhow::Result<Option<Event>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > ipc::MAX_FRAME {
        return Err(anyhow!("frame of {len} bytes, more than {}", ipc::MAX_FRAME));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    Ok(Some(match ipc::decode_frame(&body)? {
        Frame::Update(up) => Event::Update(up),
        Frame::Reply(json) => Event::Reply(serde_json::from_str(&json)?),
    }))
}

/// What the terminal shows now, as a view for the daemon.
fn view_spec(ui: &UiState, snap: &Snapshot) -> ViewSpec {
    // the rows on screen and half a page either side: a line or a page away is at hand
    let (first, rows) = if ui.screen == Screen::Tags {
        let len = mimic_views::tag_list(snap, ui).len;
        let page = ui.page_rows.max(1);
        let start = mimic_views::window_start(len, ui.selected, ui.scroll, page);
        let margin = page / 2 + 4;
        (start.saturating_sub(margin), (page + 2 * margin).min(ipc::MAX_VIEW_ROWS as usize))
    } else {
        (0, 0)
    };
    let alarm = if ui.screen == Screen::Alarms {
        mimic_views::visible_alarms(snap, ui).get(ui.alarm_selected).map(|a| a.id)
    } else {
        None
    };
    ViewSpec {
        screen: ui.screen,
        filter: ui.filter.trim().chars().take(ipc::MAX_FILTER).filter(|c| !c.is_control()).collect(),
        sort: ui.sort,
        desc: ui.sort_desc,
        first: first as u64,
        rows: rows as u32,
        trend_tags: ui.trend_tags.iter().take(4).filter(|t| t.len() <= ipc::MAX_FILTER).cloned().collect(),
        alarm,
    }
}

/// Sends the view when it changed.
async fn sync_view(
    writer: &mut Writer,
    ui: &UiState,
    snap: &Snapshot,
    last: &mut Option<ViewSpec>,
    sent_at: &mut Option<Instant>,
) {
    let spec = view_spec(ui, snap);
    if last.as_ref() == Some(&spec) {
        return;
    }
    if send(writer, &Request::View { proto: ipc::PROTO, view: spec.clone() }).await.is_ok() {
        *last = Some(spec);
        *sent_at = Some(Instant::now());
    }
}

async fn send(writer: &mut Writer, req: &Request) -> anyhow::Result<()> {
    let Some(w) = writer.as_mut() else { return Ok(()) };
    let mut line = serde_json::to_vec(req)?;
    line.push(b'\n');
    if let Err(e) = w.write_all(&line).await {
        *writer = None;
        return Err(e.into());
    }
    Ok(())
}

async fn act(writer: &mut Writer, act: Act) {
    let _ = send(writer, &Request::Act { act }).await;
}

/// The tags drawn with `main` on one trend.
fn extras<'a>(ui: &'a UiState, main: &'a str) -> impl Iterator<Item = &'a String> + 'a {
    ui.trend_tags.iter().filter(move |x| x.as_str() != main)
}

async fn request_trend(writer: &mut Writer, trend: Option<&Trend>, ui: &UiState, width: u16) {
    let Some(t) = trend else { return };
    let to = t.end_ms.unwrap_or_else(mimic_drivers::now_ms);
    let columns = mimic_views::screens::trend::plot_width(width).max(10);
    for tag in std::iter::once(&t.tag).chain(extras(ui, &t.tag)) {
        let _ = send(writer, &Request::Trend { tag: tag.clone(), from_ms: to - t.span_ms, to_ms: to, columns }).await;
    }
}
