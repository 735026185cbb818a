//! The OPC UA [`Driver`]: a subscription feeds a per-point mailbox, `read` empties it.
//!
//! Each point has a slot holding the notifications that arrived since the last read
//! (oldest first, bounded) and the latest judged value. `read` hands on every pending
//! notification with its own source timestamp; a point with nothing new repeats its
//! latest value (the live subscription vouches that it still holds), so staleness keeps
//! meaning "no word from the server". Points without a monitored item, or without any
//! value yet, are read with one Read service call. When the connection is gone, `read`
//! still delivers what arrived before the drop, then marks the points Bad and asks the
//! device task to reconnect; `connect` then builds a fresh session and subscription.

use std::collections::VecDeque;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opcua::client::{Client, DataChangeCallback, MonitoredItem};
use opcua::types::{
    AttributeId, DataChangeFilter, DataChangeTrigger, DataValue, DeadbandType, ExtensionObject,
    MonitoredItemCreateRequest, MonitoringMode, MonitoringParameters, NodeId, NumericRange, QualifiedName, ReadValueId,
    StatusCode, TimestampsToReturn, Variant, WriteValue,
};

use super::link::{Link, make_client};
use super::value::{Judged, NumType, judge, status_text, variant_to_f64};
use super::{OpcUaConfig, OpcUaPoint};
use crate::device::{Driver, DriverError, ReadSummary};
use crate::quality::{Quality, Reading, Reason};
use crate::write::{ReadBackError, WriteOutcome, judge_read_back};

/// Notifications kept per point between two reads; older ones are dropped first.
pub const MAILBOX: usize = 1000;
/// Publishing intervals without a notification before the server sends a keep-alive.
const KEEP_ALIVE: i64 = 10;

#[derive(Default)]
struct Slot {
    pending: VecDeque<Reading>,
    latest: Option<Judged>,
    dropped: u64,
}

type Slots = Arc<Mutex<Vec<Slot>>>;

struct Conn {
    link: Link,
    /// The node's data type, for writes (from its DataType attribute or current value).
    types: Vec<Option<NumType>>,
    /// Points with a working monitored item.
    monitored: Vec<bool>,
    /// With a subscription: the longest silence of publish responses that is still fine
    /// (the server sends keep-alives); after that the session is rebuilt.
    watchdog_ms: Option<i64>,
}

impl Conn {
    /// Why this connection is no longer usable, if it is not.
    fn trouble(&self) -> Option<String> {
        if !self.link.is_alive() {
            return Some("connection to the server lost".into());
        }
        let silent = self.link.since_publish_ms();
        match self.watchdog_ms {
            Some(w) if silent > w => Some(format!("no publish response for {} ms: subscription lost", silent)),
            _ => None,
        }
    }
}

pub struct OpcUa {
    cfg: OpcUaConfig,
    points: Vec<OpcUaPoint>,
    nodes: Vec<Option<NodeId>>,
    client: Option<Client>,
    conn: Option<Conn>,
    slots: Slots,
}

fn value_id(node: &NodeId, attr: AttributeId) -> ReadValueId {
    ReadValueId {
        node_id: node.clone(),
        attribute_id: attr as u32,
        index_range: NumericRange::None,
        data_encoding: QualifiedName::null(),
    }
}

fn link_error(e: &opcua::types::Error, timeout: Duration) -> DriverError {
    let base = e.status().bits() & 0xFFFF_0000;
    if base == StatusCode::BadTimeout.bits() || base == StatusCode::BadRequestTimeout.bits() {
        DriverError::Timeout(timeout)
    } else {
        DriverError::Link(status_text(e.status()))
    }
}

impl OpcUa {
    pub fn new(cfg: OpcUaConfig, points: Vec<OpcUaPoint>) -> Self {
        let nodes = points.iter().map(|p| NodeId::from_str(p.node.trim()).ok()).collect();
        let slots = Arc::new(Mutex::new((0..points.len()).map(|_| Slot::default()).collect()));
        OpcUa { cfg, points, nodes, client: None, conn: None, slots }
    }

    pub fn points(&self) -> &[OpcUaPoint] {
        &self.points
    }

    /// Points currently served by the subscription (for tests and the Devices screen).
    pub fn monitored_count(&self) -> usize {
        self.conn.as_ref().map_or(0, |c| c.monitored.iter().filter(|&&m| m).count())
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        // A poisoned lock only means a callback panicked mid-update; the data is still usable.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Read `which` points' values with one Read call.
    async fn read_values(&self, which: &[usize]) -> Result<Vec<DataValue>, DriverError> {
        let Some(conn) = &self.conn else { return Err(DriverError::Link("not connected".into())) };
        let ids: Vec<ReadValueId> = which
            .iter()
            .map(|&i| value_id(self.nodes[i].as_ref().unwrap_or(&NodeId::null()), AttributeId::Value))
            .collect();
        let t = self.cfg.timeout;
        match tokio::time::timeout(t, conn.link.session.read(&ids, TimestampsToReturn::Both, 0.0)).await {
            Err(_) => Err(DriverError::Timeout(t)),
            Ok(Err(e)) => Err(link_error(&e, t)),
            Ok(Ok(v)) if v.len() == ids.len() => Ok(v),
            Ok(Ok(v)) => Err(DriverError::Link(format!("Read answered {} values for {} nodes", v.len(), ids.len()))),
        }
    }

    /// After `connect`'s session is up: learn data types and current values, subscribe.
    async fn set_up(&mut self, link: Link) -> Result<Conn, DriverError> {
        let n = self.points.len();
        let t = self.cfg.timeout;
        let mut ids = Vec::with_capacity(n * 2);
        for node in &self.nodes {
            let node = node.clone().unwrap_or_else(NodeId::null);
            ids.push(value_id(&node, AttributeId::Value));
            ids.push(value_id(&node, AttributeId::DataType));
        }
        let values = if n == 0 {
            Vec::new()
        } else {
            match tokio::time::timeout(t, link.session.read(&ids, TimestampsToReturn::Both, 0.0)).await {
                Err(_) => return Err(DriverError::Timeout(t)),
                Ok(Err(e)) => return Err(link_error(&e, t)),
                Ok(Ok(v)) => v,
            }
        };
        let mut types = vec![None; n];
        {
            let mut slots = self.slots();
            for (i, ty) in types.iter_mut().enumerate() {
                let (Some(val), Some(dt)) = (values.get(2 * i), values.get(2 * i + 1)) else { continue };
                *ty = match &dt.value {
                    Some(Variant::NodeId(id)) => NumType::from_data_type(id),
                    _ => None,
                }
                .or_else(|| val.value.as_ref().and_then(NumType::of_variant));
                if let Some(slot) = slots.get_mut(i) {
                    slot.latest = Some(judge(val));
                }
            }
        }
        let monitored = self.subscribe(&link).await;
        let publishing = i64::try_from(self.cfg.publishing.as_millis()).unwrap_or(i64::MAX / 64);
        let watchdog_ms = monitored.iter().any(|&m| m).then(|| (publishing * KEEP_ALIVE * 3).max(10_000));
        Ok(Conn { link, types, monitored, watchdog_ms })
    }

    /// Create the subscription and one monitored item per point. Returns which points are
    /// monitored; failures leave points to the Read fallback.
    async fn subscribe(&self, link: &Link) -> Vec<bool> {
        let n = self.points.len();
        let mut monitored = vec![false; n];
        if n == 0 {
            return monitored;
        }
        let slots = self.slots.clone();
        let callback = DataChangeCallback::new(move |dv: DataValue, item: &MonitoredItem| {
            let Some(i) = (item.client_handle() as usize).checked_sub(1) else { return };
            let judged = judge(&dv);
            let reading = judged.reading(i, crate::now_ms());
            let mut slots = slots.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(slot) = slots.get_mut(i) {
                if slot.pending.len() >= MAILBOX {
                    slot.pending.pop_front();
                    slot.dropped += 1;
                }
                slot.pending.push_back(reading);
                slot.latest = Some(judged);
            }
        });
        let publishing = self.cfg.publishing.max(Duration::from_millis(50));
        let keep_alive = KEEP_ALIVE as u32;
        let session = &link.session;
        let t = self.cfg.timeout;
        let sub = tokio::time::timeout(
            t,
            session.create_subscription(publishing, keep_alive * 3, keep_alive, 0, 0, true, callback),
        )
        .await;
        let sub_id = match sub {
            Ok(Ok(id)) => id,
            Ok(Err(e)) => {
                tracing::warn!(
                    "{}: no subscription ({}); reading by polling",
                    self.cfg.endpoint,
                    status_text(e.status())
                );
                return monitored;
            }
            Err(_) => {
                tracing::warn!("{}: no subscription (timeout); reading by polling", self.cfg.endpoint);
                return monitored;
            }
        };
        let mut which = Vec::new();
        let mut items = Vec::new();
        for (i, p) in self.points.iter().enumerate() {
            let Some(node) = &self.nodes[i] else { continue };
            which.push(i);
            items.push(monitored_item(i, p, node, publishing));
        }
        match tokio::time::timeout(t, session.create_monitored_items(sub_id, TimestampsToReturn::Both, items)).await {
            Ok(Ok(results)) => {
                for (&i, r) in which.iter().zip(results.iter()) {
                    if r.result.status_code.is_good() {
                        monitored[i] = true;
                    } else {
                        tracing::warn!(
                            "{}: {} not monitored ({}); read by polling",
                            self.cfg.endpoint,
                            self.points[i].node,
                            status_text(r.result.status_code)
                        );
                    }
                }
            }
            Ok(Err(e)) => {
                tracing::warn!("{}: monitored items refused ({})", self.cfg.endpoint, status_text(e.status()))
            }
            Err(_) => tracing::warn!("{}: monitored items: timeout", self.cfg.endpoint),
        }
        monitored
    }

    /// Drop the connection and mark `points` Bad after delivering what had arrived.
    fn drain_then_fail(&mut self, points: &[usize], reason: Reason, out: &mut Vec<Reading>) {
        self.conn = None;
        let recv = crate::now_ms();
        let mut slots = self.slots();
        for &p in points {
            if let Some(slot) = slots.get_mut(p) {
                out.extend(slot.pending.drain(..));
                slot.latest = None;
            }
            out.push(Reading::bad(p, reason, recv));
        }
    }

    /// One point's value now (for write read-back).
    async fn read_point(&self, point: usize) -> Result<f64, ReadBackError> {
        let dv = self.read_values(&[point]).await?;
        let j = dv.first().map(judge).ok_or(ReadBackError::NoValue)?;
        match j.value {
            Some(v) if !j.quality.is_bad() => Ok(v),
            _ => Err(ReadBackError::Quality(j.quality)),
        }
    }

    async fn recover_read_back(&mut self, point: usize) -> Option<f64> {
        if let Some(c) = self.conn.take() {
            c.link.close(self.cfg.timeout).await;
        }
        self.connect().await.ok()?;
        self.read_point(point).await.ok()
    }
}

impl Driver for OpcUa {
    type Plan = Vec<usize>;

    fn endpoint(&self) -> String {
        self.cfg.endpoint.clone()
    }

    fn protocol(&self) -> &'static str {
        "opcua"
    }

    fn plan(&self, points: &[usize]) -> Self::Plan {
        points.iter().copied().filter(|&p| p < self.points.len()).collect()
    }

    fn is_connected(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.trouble().is_none())
    }

    async fn connect(&mut self) -> Result<(), DriverError> {
        if let Some(c) = self.conn.take() {
            c.link.close(self.cfg.timeout).await;
        }
        if self.client.is_none() {
            self.client = Some(make_client(&self.cfg)?);
        }
        let Some(client) = self.client.as_ref() else { return Err(DriverError::Link("no client".into())) };
        let link = Link::open(client, &self.cfg).await?;
        for slot in self.slots().iter_mut() {
            slot.latest = None;
        }
        let conn = self.set_up(link).await?;
        tracing::info!(
            "{}: session up, {} of {} points subscribed",
            self.cfg.endpoint,
            conn.monitored.iter().filter(|&&m| m).count(),
            self.points.len()
        );
        self.conn = Some(conn);
        Ok(())
    }

    async fn read(&mut self, plan: &Self::Plan, out: &mut Vec<Reading>) -> Result<ReadSummary, DriverError> {
        let mut summary = ReadSummary::default();
        let trouble = match &self.conn {
            None => Some("not connected".to_string()),
            Some(c) => c.trouble(),
        };
        if let Some(message) = trouble {
            self.drain_then_fail(plan, Reason::CommFailure, out);
            return Err(DriverError::Link(message));
        }
        let recv = crate::now_ms();
        let monitored = self.conn.as_ref().map(|c| c.monitored.clone()).unwrap_or_default();
        let mut poll = Vec::new();
        {
            let mut slots = self.slots();
            for &p in plan {
                let Some(slot) = slots.get_mut(p) else { continue };
                let subscribed = monitored.get(p).copied().unwrap_or(false);
                if subscribed && !slot.pending.is_empty() {
                    out.extend(slot.pending.drain(..));
                } else if let (true, Some(j)) = (subscribed, slot.latest) {
                    out.push(j.reading(p, recv));
                } else {
                    poll.push(p);
                }
                if slot.dropped > 0 {
                    tracing::warn!(
                        "{}: {} notifications of point {p} dropped (mailbox full)",
                        self.cfg.endpoint,
                        slot.dropped
                    );
                    slot.dropped = 0;
                }
            }
        }
        for &p in &poll {
            if self.nodes[p].is_none() {
                summary.decode_errors += 1;
                out.push(Reading::bad(p, Reason::DecodeError, recv));
            }
        }
        poll.retain(|&p| self.nodes[p].is_some());
        if !poll.is_empty() {
            summary.requests += 1;
            match self.read_values(&poll).await {
                Ok(values) => {
                    let recv = crate::now_ms();
                    let mut slots = self.slots();
                    for (&p, dv) in poll.iter().zip(values.iter()) {
                        let j = judge(dv);
                        if monitored.get(p).copied().unwrap_or(false)
                            && let Some(slot) = slots.get_mut(p)
                        {
                            slot.latest = Some(j);
                        }
                        out.push(j.reading(p, recv));
                    }
                }
                Err(e) => {
                    let reason = e.reason();
                    self.drain_then_fail(&poll, reason, out);
                    return Err(e);
                }
            }
        }
        summary.decode_errors +=
            out.iter().filter(|r| plan.contains(&r.point) && r.quality == Quality::Bad(Reason::DecodeError)).count()
                as u64;
        Ok(summary)
    }

    async fn write(&mut self, point: usize, value: f64, tolerance: f64) -> WriteOutcome {
        let Some(node) = self.nodes.get(point).cloned().flatten() else {
            return WriteOutcome::Invalid { message: format!("no point {point} or bad node id") };
        };
        let Some(conn) = self.conn.as_ref().filter(|c| c.link.is_alive()) else {
            return WriteOutcome::Invalid { message: "not connected: nothing sent".into() };
        };
        let Some(ty) = conn.types.get(point).copied().flatten() else {
            return WriteOutcome::Invalid {
                message: format!("the data type of {} is not a number mimic can write", self.points[point].node),
            };
        };
        let variant = match ty.encode(value) {
            Ok(v) => v,
            Err(e) => return WriteOutcome::Invalid { message: e.to_string() },
        };
        // What the node will hold: a Float rounds to f32, which must not count as a mismatch.
        let held = variant_to_f64(&variant).unwrap_or(value);
        let tolerance = tolerance.max((held - value).abs());
        let wv = WriteValue {
            node_id: node,
            attribute_id: AttributeId::Value as u32,
            index_range: NumericRange::None,
            value: DataValue::value_only(variant),
        };
        let t = self.cfg.timeout;
        let sent = tokio::time::timeout(t, conn.link.session.write(&[wv])).await;
        match sent {
            Err(_) => WriteOutcome::Timeout { read_back: self.recover_read_back(point).await },
            Ok(Err(e)) => match link_error(&e, t) {
                DriverError::Timeout(_) => WriteOutcome::Timeout { read_back: self.recover_read_back(point).await },
                e => WriteOutcome::Unknown { message: e.to_string(), read_back: self.recover_read_back(point).await },
            },
            Ok(Ok(statuses)) => match statuses.first() {
                Some(s) if s.is_good() => match self.read_point(point).await {
                    Ok(rb) => judge_read_back(value, rb, tolerance),
                    Err(message) => WriteOutcome::Unknown {
                        message: format!("written, read-back failed: {message}"),
                        read_back: self.recover_read_back(point).await,
                    },
                },
                Some(s) => WriteOutcome::RejectedStatus { status: status_text(*s) },
                None => WriteOutcome::Unknown {
                    message: "the server answered the write without a result".into(),
                    read_back: self.read_point(point).await.ok(),
                },
            },
        }
    }
}

/// The monitored item of point `i` (client handle `i + 1`): sampled at the point's
/// interval, with its absolute deadband, queued enough for a few late publish responses.
fn monitored_item(i: usize, p: &OpcUaPoint, node: &NodeId, publishing: Duration) -> MonitoredItemCreateRequest {
    let sampling_ms = p.sampling.as_secs_f64() * 1000.0;
    let per_publish = (publishing.as_secs_f64() * 1000.0 / sampling_ms.max(1.0)).ceil();
    let filter = if p.deadband > 0.0 {
        ExtensionObject::from_message(DataChangeFilter {
            trigger: DataChangeTrigger::StatusValue,
            deadband_type: DeadbandType::Absolute as u32,
            deadband_value: p.deadband,
        })
    } else {
        ExtensionObject::null()
    };
    MonitoredItemCreateRequest {
        item_to_monitor: value_id(node, AttributeId::Value),
        monitoring_mode: MonitoringMode::Reporting,
        requested_parameters: MonitoringParameters {
            client_handle: u32::try_from(i + 1).unwrap_or(u32::MAX),
            sampling_interval: sampling_ms,
            filter,
            // Room for a few late publish responses, so no sample is dropped.
            queue_size: ((per_publish as u32).saturating_mul(4)).clamp(10, 1000),
            discard_oldest: true,
        },
    }
}
