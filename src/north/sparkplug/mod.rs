//! mimic as a Sparkplug B edge node over MQTT (Eclipse Sparkplug 3.0), when the site
//! file has an `[mqtt]` section.
//!
//! What is published comes from what the historian stores: the core's sample stream
//! (deadband, quality changes and heartbeat already applied) is teed to this task, and
//! DDATA reports by exception: a sample whose value and quality equal the last ones
//! reported for its metric is not sent (the host can infer it), every other one is. Per MQTT
//! session: CONNECT with the NDEATH (carrying this session's bdSeq) as the will, then
//! NBIRTH and one DBIRTH per device ([`node`] has the mapping), then the replay of
//! everything not yet delivered (`is_historical = true`, in time order), then live
//! DDATA. `Node Control/Rebirth` in an NCMD births again. With a `primary_host_id`,
//! births wait for that host's STATE `online`; its `offline` makes the node publish
//! NDEATH, disconnect and wait again.
//!
//! A DCMD never writes: each metric becomes a write request (source Sparkplug, user
//! `sparkplug`) sent to the core, where it waits on the approvals list like a terminal's
//! request.
//!
//! Store and forward: DDATA is QoS 0 as the specification requires, so delivery is
//! proven by the broker's PINGRESP (the broker answers a ping only after reading
//! everything sent before it). The cursor (per tag, the newest sample time known to be
//! delivered) advances to what had been sent one ping earlier, is saved in the data
//! directory ([`cursor`]), and on every new session the node replays from it: stored
//! samples from the historian, plus the samples received since that the writer may not
//! have committed yet (kept in memory). Delivery is at least once: up to two keep-alive
//! periods may be sent twice (the second time flagged historical).

pub mod cursor;
pub mod node;
pub mod payload;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use mimic_drivers::Quality;
use rumqttc::{AsyncClient, ClientError, ConnectReturnCode, Event, LastWill, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

use crate::config::{MqttConfig, Site};
use crate::core::Sample;
use crate::historian::{Historian, TagId};
use node::{EdgeNode, Inbound, Topics};

/// Samples kept in memory while they are not known to be delivered (oldest dropped
/// beyond; the historian still has them).
pub const TAIL_MAX: usize = 1_000_000;
/// Wait between connection attempts.
pub const RECONNECT: Duration = Duration::from_secs(1);
/// Largest MQTT packet sent or accepted.
pub const MAX_PACKET: usize = 1 << 20;

/// A write a DCMD asks for, for the core's approval path.
#[derive(Clone, Debug, PartialEq)]
pub struct Dcmd {
    pub write: node::DcmdWrite,
    /// Who sent it, as far as the node knows (the primary host id, or "plant").
    pub from: String,
}

/// The core task's end of the link.
pub struct CoreLink {
    /// The stored samples, teed (never blocks the core: a full queue drops and logs).
    pub samples: mpsc::Sender<Vec<Sample>>,
    pub writes: mpsc::Receiver<Dcmd>,
}

/// Everything the edge node task needs.
pub struct Ctx {
    pub cfg: MqttConfig,
    pub site: Arc<Site>,
    pub historian: Arc<RwLock<Historian>>,
    pub tag_ids: Arc<Vec<TagId>>,
    pub data_dir: PathBuf,
    pub samples: mpsc::Receiver<Vec<Sample>>,
    pub writes: mpsc::Sender<Dcmd>,
}

/// The two ends, when the site has an `[mqtt]` section.
pub fn link(
    site: &Arc<Site>,
    historian: &Arc<RwLock<Historian>>,
    tag_ids: &Arc<Vec<TagId>>,
    data_dir: PathBuf,
) -> Option<(CoreLink, Ctx)> {
    let cfg = site.mqtt.clone()?;
    let (samples_tx, samples) = mpsc::channel(65_536);
    let (writes, writes_rx) = mpsc::channel(256);
    let ctx = Ctx {
        cfg,
        site: site.clone(),
        historian: historian.clone(),
        tag_ids: tag_ids.clone(),
        data_dir,
        samples,
        writes,
    };
    Some((CoreLink { samples: samples_tx, writes: writes_rx }, ctx))
}

enum End {
    Lost(String),
    HostOffline,
    Stopped,
}

struct Edge {
    cx: Ctx,
    topics: Topics,
    node: EdgeNode,
    saved_path: PathBuf,
    next_bd_seq: u8,
    /// Per tag: newest sample time sent in this session (or replayed).
    cursor: Vec<i64>,
    /// Per tag: newest sample time known delivered.
    confirmed: Vec<i64>,
    /// `cursor` as it was at the previous PINGRESP.
    pending_confirm: Vec<i64>,
    tail: VecDeque<Sample>,
    last: Vec<Option<Sample>>,
    /// Per tag: the value and quality the host last got (report by exception).
    published: Vec<Option<(f64, Quality)>>,
    state_ts: u64,
}

/// Same value (NaN equals NaN) and quality: nothing to report.
fn unchanged(prev: Option<(f64, Quality)>, s: &Sample) -> bool {
    prev.is_some_and(|(v, q)| q == s.quality && (v == s.value || (v.is_nan() && s.value.is_nan())))
}

/// Run the edge node until the daemon stops.
pub async fn run(cx: Ctx) {
    let saved_path = cursor::path(&cx.data_dir);
    let saved = cursor::load(&saved_path);
    let start = mimic_drivers::now_ms();
    let confirmed: Vec<i64> =
        cx.site.tags.iter().map(|t| saved.cursor.get(&t.name).copied().unwrap_or(start)).collect();
    let n = cx.site.tags.len();
    let mut edge = Edge {
        topics: Topics::new(&cx.cfg),
        node: EdgeNode::new(),
        saved_path,
        next_bd_seq: saved.next_bd_seq,
        cursor: confirmed.clone(),
        pending_confirm: confirmed.clone(),
        confirmed,
        tail: VecDeque::new(),
        last: vec![None; n],
        published: vec![None; n],
        state_ts: 0,
        cx,
    };
    loop {
        let bd_seq = edge.next_bd_seq;
        let end = edge.session(bd_seq).await;
        edge.cursor.clone_from(&edge.confirmed);
        edge.pending_confirm.clone_from(&edge.confirmed);
        edge.save();
        match end {
            End::Stopped => return,
            End::HostOffline => tracing::info!("sparkplug: primary host offline; node dead until it returns"),
            End::Lost(e) => tracing::warn!("sparkplug: broker connection lost: {e}"),
        }
        if !edge.idle(RECONNECT).await {
            return;
        }
    }
}

/// Aborts the event loop driver when the session ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);
impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Edge {
    fn save(&self) {
        let saved = cursor::Saved {
            next_bd_seq: self.next_bd_seq,
            cursor: self.cx.site.tags.iter().zip(&self.confirmed).map(|(t, &c)| (t.name.clone(), c)).collect(),
        };
        if let Err(e) = cursor::save(&self.saved_path, &saved) {
            tracing::warn!("sparkplug state {}: {e}", self.saved_path.display());
        }
    }

    fn take(&mut self, batch: &[Sample]) {
        for s in batch {
            if let Some(l) = self.last.get_mut(s.tag) {
                *l = Some(*s);
                self.tail.push_back(*s);
            }
        }
        let excess = self.tail.len().saturating_sub(TAIL_MAX);
        self.tail.drain(..excess);
    }

    /// Wait, still collecting samples. False when the daemon is stopping.
    async fn idle(&mut self, d: Duration) -> bool {
        let until = tokio::time::Instant::now() + d;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return true,
                b = self.cx.samples.recv() => match b {
                    Some(b) => self.take(&b),
                    None => return false,
                },
            }
        }
    }

    fn options(&self, bd_seq: u8) -> MqttOptions {
        let c = &self.cx.cfg;
        let mut o = MqttOptions::new(c.client_id.clone(), c.host.clone(), c.port);
        o.set_keep_alive(c.keepalive).set_clean_session(true).set_max_packet_size(MAX_PACKET, MAX_PACKET);
        let will = payload::encode(&node::death(bd_seq, mimic_drivers::now_ms()));
        o.set_last_will(LastWill::new(self.topics.ndeath(), will, QoS::AtLeastOnce, false));
        if let Some((u, p)) = &c.credentials {
            o.set_credentials(u.clone(), p.clone());
        }
        o
    }

    async fn session(&mut self, bd_seq: u8) -> End {
        let (client, mut el) = AsyncClient::new(self.options(bd_seq), 1024);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _driver = AbortOnDrop(tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(p)) => {
                        if tx.send(Ok(p)).is_err() {
                            return;
                        }
                    }
                    Ok(Event::Outgoing(_)) => {}
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                }
            }
        }));
        let mut born = false;
        loop {
            tokio::select! {
                ev = rx.recv() => {
                    let result = match ev {
                        None => Err(End::Lost("event loop ended".into())),
                        Some(Err(e)) => Err(End::Lost(e)),
                        Some(Ok(p)) => self.incoming(&client, p, bd_seq, &mut born).await,
                    };
                    if let Err(end) = result {
                        if matches!(end, End::HostOffline) {
                            // let the DISCONNECT go out, so the broker drops the will
                            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                                while let Some(Ok(_)) = rx.recv().await {}
                            })
                            .await;
                        }
                        return end;
                    }
                }
                b = self.cx.samples.recv() => {
                    let Some(b) = b else { return End::Stopped };
                    self.take(&b);
                    if born && let Err(e) = self.publish_live(&client, &b).await {
                        return End::Lost(e.to_string());
                    }
                }
            }
        }
    }

    async fn incoming(&mut self, client: &AsyncClient, p: Packet, bd_seq: u8, born: &mut bool) -> Result<(), End> {
        let lost = |e: ClientError| End::Lost(e.to_string());
        match p {
            Packet::ConnAck(ack) => {
                if ack.code != ConnectReturnCode::Success {
                    return Err(End::Lost(format!("broker refused the connection: {:?}", ack.code)));
                }
                tracing::info!("sparkplug: connected to {}:{} (bdSeq {bd_seq})", self.cx.cfg.host, self.cx.cfg.port);
                // a CONNECT carrying this bdSeq went out: the next one gets the next number
                self.next_bd_seq = bd_seq.wrapping_add(1);
                self.save();
                client.subscribe(self.topics.ncmd(), QoS::AtLeastOnce).await.map_err(lost)?;
                client.subscribe(self.topics.dcmd_filter(), QoS::AtLeastOnce).await.map_err(lost)?;
                match &self.cx.cfg.primary_host_id {
                    Some(host) => client.subscribe(Topics::state(host), QoS::AtLeastOnce).await.map_err(lost)?,
                    None => {
                        self.birth(client, bd_seq).await.map_err(lost)?;
                        *born = true;
                    }
                }
            }
            Packet::PingResp => self.confirm(),
            Packet::Publish(p) => match self.topics.parse(&p.topic) {
                Some(Inbound::Ncmd) => match payload::decode(&p.payload) {
                    Ok(cmd) if *born && node::wants_rebirth(&cmd) => {
                        tracing::info!("sparkplug: rebirth requested");
                        self.birth(client, bd_seq).await.map_err(lost)?;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("sparkplug: NCMD ignored: {e}"),
                },
                Some(Inbound::Dcmd { device }) => self.dcmd(device, &p.payload),
                Some(Inbound::State { host }) if Some(host) == self.cx.cfg.primary_host_id.as_deref() => {
                    let Some((online, ts)) = node::parse_state(&p.payload) else {
                        tracing::warn!("sparkplug: STATE of {host:?} is not Sparkplug 3.0 JSON; ignored");
                        return Ok(());
                    };
                    if ts < self.state_ts {
                        return Ok(());
                    }
                    self.state_ts = ts;
                    if online && !*born {
                        tracing::info!("sparkplug: primary host {host:?} online");
                        self.birth(client, bd_seq).await.map_err(lost)?;
                        *born = true;
                    } else if !online && *born {
                        let death = payload::encode(&node::death(bd_seq, mimic_drivers::now_ms()));
                        client.publish(self.topics.ndeath(), QoS::AtLeastOnce, false, death).await.map_err(lost)?;
                        client.disconnect().await.map_err(lost)?;
                        return Err(End::HostOffline);
                    }
                }
                _ => {}
            },
            _ => {}
        }
        Ok(())
    }

    fn dcmd(&mut self, device: &str, bytes: &[u8]) {
        let cmd = match payload::decode(bytes) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("sparkplug: DCMD for {device:?} ignored: {e}");
                return;
            }
        };
        let from = self.cx.cfg.primary_host_id.clone().unwrap_or_else(|| "plant".into());
        for w in node::dcmd_writes(&self.cx.site, device, &cmd) {
            match w {
                Ok(write) => {
                    tracing::info!("sparkplug: DCMD {:?} = {} becomes a write request", write.metric, write.value);
                    if self.cx.writes.try_send(Dcmd { write, from: from.clone() }).is_err() {
                        tracing::warn!("sparkplug: DCMD dropped: the core is busy");
                    }
                }
                Err(e) => tracing::warn!("sparkplug: DCMD metric ignored: {e}"),
            }
        }
    }

    /// The broker has read everything sent before the previous PINGRESP.
    fn confirm(&mut self) {
        let snapshot = self.cursor.clone();
        self.confirmed = std::mem::replace(&mut self.pending_confirm, snapshot);
        let confirmed = &self.confirmed;
        self.tail.retain(|s| confirmed.get(s.tag).is_some_and(|&c| s.ts_ms > c));
        self.save();
    }

    async fn send(&self, client: &AsyncClient, topic: String, p: &payload::Payload) -> Result<(), ClientError> {
        client.publish(topic, QoS::AtMostOnce, false, payload::encode(p)).await
    }

    /// NBIRTH, every DBIRTH, then the replay of what was not delivered.
    async fn birth(&mut self, client: &AsyncClient, bd_seq: u8) -> Result<(), ClientError> {
        let now = mimic_drivers::now_ms();
        let nb = self.node.nbirth(bd_seq, now);
        self.send(client, self.topics.nbirth(), &nb).await?;
        for (di, d) in self.cx.site.devices.iter().enumerate() {
            let db = self.node.dbirth(&self.cx.site, di, &self.last, now);
            self.send(client, self.topics.dbirth(&d.name), &db).await?;
        }
        self.replay(client).await
    }

    async fn replay(&mut self, client: &AsyncClient) -> Result<(), ClientError> {
        let mut per_tag = self.stored_since_cursor();
        for s in &self.tail {
            let Some(list) = per_tag.get_mut(s.tag) else { continue };
            let after = list.last().map_or(self.cursor[s.tag], |l: &Sample| l.ts_ms.max(self.cursor[s.tag]));
            if s.ts_ms > after {
                list.push(*s);
            }
        }
        // by exception within the replay too; the cursor still passes the skipped ones
        for (tag, list) in per_tag.iter_mut().enumerate() {
            if let Some(newest) = list.last() {
                self.cursor[tag] = self.cursor[tag].max(newest.ts_ms);
            }
            let mut prev = None;
            let born_with = self.last[tag];
            list.retain(|s| {
                // the DBIRTH just carried the newest sample
                let keep = !unchanged(prev, s) && born_with.is_none_or(|b| b.ts_ms != s.ts_ms);
                prev = Some((s.value, s.quality));
                keep
            });
        }
        let mut all: Vec<Sample> = per_tag.into_iter().flatten().collect();
        all.sort_by_key(|s| s.ts_ms);
        if !all.is_empty() {
            tracing::info!("sparkplug: replaying {} samples", all.len());
        }
        let site = self.cx.site.clone();
        let mut start = 0;
        while start < all.len() {
            let dev = site.tags[all[start].tag].device;
            let mut end = start + 1;
            while end < all.len() && end - start < node::REPLAY_CHUNK && site.tags[all[end].tag].device == dev {
                end += 1;
            }
            let chunk = &all[start..end];
            let p = self.node.ddata(&site, chunk, true, mimic_drivers::now_ms());
            self.send(client, self.topics.ddata(&site.devices[dev].name), &p).await?;
            for s in chunk {
                self.cursor[s.tag] = self.cursor[s.tag].max(s.ts_ms);
            }
            start = end;
        }
        self.published = self.last.iter().map(|l| l.map(|s| (s.value, s.quality))).collect();
        Ok(())
    }

    /// Per tag, the historian's samples newer than the cursor.
    fn stored_since_cursor(&self) -> Vec<Vec<Sample>> {
        let n = self.cx.site.tags.len();
        tokio::task::block_in_place(|| {
            let Ok(h) = self.cx.historian.read() else { return vec![Vec::new(); n] };
            (0..n)
                .map(|tag| {
                    let Some(&id) = self.cx.tag_ids.get(tag) else { return Vec::new() };
                    match h.query(id, self.cursor[tag].saturating_add(1), i64::MAX) {
                        Ok(v) => v
                            .into_iter()
                            .map(|s| Sample {
                                tag,
                                ts_ms: s.ts_ms,
                                value: s.value,
                                quality: Quality::from_code(s.quality)
                                    .unwrap_or(Quality::Bad(mimic_drivers::Reason::DecodeError)),
                            })
                            .collect(),
                        Err(e) => {
                            tracing::warn!("sparkplug: replay cannot read the store: {e}");
                            Vec::new()
                        }
                    }
                })
                .collect()
        })
    }

    async fn publish_live(&mut self, client: &AsyncClient, batch: &[Sample]) -> Result<(), ClientError> {
        let mut by_device: BTreeMap<usize, Vec<Sample>> = BTreeMap::new();
        for s in batch {
            if self.cursor.get(s.tag).is_none_or(|&c| s.ts_ms <= c) {
                continue;
            }
            self.cursor[s.tag] = s.ts_ms;
            if unchanged(self.published[s.tag], s) {
                continue;
            }
            self.published[s.tag] = Some((s.value, s.quality));
            by_device.entry(self.cx.site.tags[s.tag].device).or_default().push(*s);
        }
        let site = self.cx.site.clone();
        for (dev, samples) in by_device {
            let p = self.node.ddata(&site, &samples, false, mimic_drivers::now_ms());
            self.send(client, self.topics.ddata(&site.devices[dev].name), &p).await?;
        }
        Ok(())
    }
}
