//! Daemon snapshot (wire data) → the views' plain data.

use mimic_views::{AssetRow, DeviceRow, QualityView, Snapshot, StoreRow, TagRow, TrendColumn, TrendData};

use crate::ipc::{self, LiveSnapshot};

pub fn snapshot(live: &LiveSnapshot, user: &str, connected: bool) -> Snapshot {
    Snapshot {
        site: live.site.clone(),
        now_ms: live.now_ms,
        connected,
        user: user.to_string(),
        tags: live
            .tags
            .iter()
            .map(|t| TagRow {
                name: t.name.clone(),
                asset: t.asset.clone(),
                description: t.description.clone(),
                value: t.value,
                decimals: t.decimals,
                units: t.units.clone(),
                quality: match t.quality.as_str() {
                    "Good" => QualityView::Good,
                    "Uncertain" => QualityView::Uncertain(t.reason.clone().unwrap_or_default()),
                    _ => QualityView::Bad(t.reason.clone().unwrap_or_default()),
                },
                ts_ms: t.recv_ms,
                stale: t.stale,
                writable: t.writable,
                low: t.low,
                high: t.high,
                recent: t.recent.clone(),
            })
            .collect(),
        devices: live
            .devices
            .iter()
            .map(|d| DeviceRow {
                name: d.name.clone(),
                protocol: d.protocol.clone(),
                endpoint: d.endpoint.clone(),
                connected: d.connected,
                last_poll_ms: d.last_poll_ms,
                latency_ms: d.latency_ms,
                polls: d.polls,
                errors: d.errors,
                timeouts: d.timeouts,
                exceptions: d.exceptions,
                reconnects: d.reconnects,
                last_error: d.last_error.clone(),
                tags: d.tags,
                bad_tags: d.bad_tags,
            })
            .collect(),
        assets: live
            .assets
            .iter()
            .map(|a| AssetRow {
                path: vec![a.area.clone(), a.unit.clone(), a.name.clone()],
                description: a.description.clone(),
                tags: a.tags,
                bad_tags: a.bad_tags,
                running: a.running,
            })
            .collect(),
        store: StoreRow {
            samples: live.store.samples,
            bytes: live.store.bytes,
            last_commit_ms: live.store.last_commit_ms,
            error: live.store.error.clone(),
        },
    }
}

pub fn trend(tag: String, units: String, from_ms: i64, to_ms: i64, cols: &[ipc::TrendColumn]) -> TrendData {
    TrendData {
        tag,
        units,
        from_ms,
        to_ms,
        columns: cols
            .iter()
            .map(|c| TrendColumn {
                start_ms: c.start_ms,
                end_ms: c.end_ms,
                min: c.min,
                max: c.max,
                last: c.last,
                count: c.count,
            })
            .collect(),
    }
}
