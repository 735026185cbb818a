//! Daemon snapshot (wire data) → the views' plain data: only what the wire keeps in its
//! own form (the compact tag row, the asset with its model figures, an alarm's diagnosis
//! from its asset's); the other rows are the screens' types already.

use mimic_views::{AlarmRow, AlarmStateView, AssetRow, DiagnosisView, QualityView, RulView, Snapshot, TagRow};

use crate::ipc::{self, LiveSnapshot, TagQuality};

pub fn snapshot(live: &LiveSnapshot, user: &str, connected: bool) -> Snapshot {
    Snapshot {
        site: live.site.clone(),
        now_ms: live.now_ms,
        connected,
        user: user.to_string(),
        tags: live.tags.iter().map(tag).collect(),
        tag_page: None,
        tag_counts: None,
        devices: live.devices.clone(),
        assets: live.assets.iter().map(|a| asset(a, live)).collect(),
        store: live.store.clone(),
        alarms: live.alarms.iter().map(|a| alarm(a, live)).collect(),
        alarm_summary: live.alarm_summary.clone(),
        recommendations: live.requests.clone(),
        audit: live.audit.clone(),
        life: live.life.clone(),
        loops: live.loops.clone(),
    }
}

fn asset(a: &ipc::LiveAsset, live: &LiveSnapshot) -> AssetRow {
    AssetRow {
        path: vec![a.area.clone(), a.unit.clone(), a.name.clone()],
        description: a.description.clone(),
        tags: a.tags,
        bad_tags: a.bad_tags,
        running: a.running,
        alarms_by_priority: alarms_of(live, &a.name),
        // the views' health is 0..=1 with 0.8 the alarm line; the model's ratio is 1 there
        health: a.anomaly.map(|r| (0.8 * r).clamp(0.0, 1.0)),
        rul: a.rul.as_ref().map(|r| RulView {
            seconds: r.rul_s,
            low: r.low_s,
            high: r.high_s,
            capped: r.capped,
            level: r.level,
        }),
        ..Default::default()
    }
}

/// One tag row.
fn tag(t: &ipc::LiveTag) -> TagRow {
    let reason = || t.reason.clone().unwrap_or_default();
    TagRow {
        name: t.name.clone(),
        asset: t.asset.clone(),
        description: t.description.clone(),
        value: t.value,
        decimals: t.decimals,
        units: t.units.clone(),
        quality: match t.quality {
            TagQuality::Good => QualityView::Good,
            TagQuality::Uncertain => QualityView::Uncertain(reason()),
            TagQuality::Bad => QualityView::Bad(reason()),
        },
        ts_ms: t.recv_ms,
        stale: t.stale,
        writable: t.writable,
        low: t.low,
        high: t.high,
        recent: t.recent.iter().map(|&v| f64::from(v)).collect(),
    }
}

/// Takes in a view update: the small data it carries goes into `board` (what the
/// terminal holds of the plant, without tags) and, converted, into `snap`; the tag rows
/// it carries replace theirs in the window.
pub fn apply(board: &mut LiveSnapshot, snap: &mut Snapshot, up: ipc::ViewUpdate, user: &str) {
    let mut small = snap.tag_page.is_none();
    if let Some((alarms, summary)) = up.alarms {
        (board.alarms, board.alarm_summary, small) = (alarms, summary, true);
    }
    macro_rules! take {
        ($($part:ident),*) => {$(
            if let Some(v) = up.$part {
                board.$part = v;
                small = true;
            }
        )*};
    }
    take!(requests, audit, life, loops, devices, assets, store);
    board.now_ms = up.now_ms;
    board.version = up.version;
    if small {
        board.site = std::mem::take(&mut snap.site);
        let rows = std::mem::take(&mut snap.tags);
        *snap = snapshot(board, user, true);
        snap.tags = rows;
    }
    snap.now_ms = up.now_ms;
    snap.connected = true;
    let len = usize::try_from(up.len).unwrap_or(0);
    snap.tags.resize(len, TagRow::default());
    for (k, t) in &up.rows {
        if let Some(slot) = snap.tags.get_mut(*k as usize) {
            *slot = tag(t);
        }
    }
    snap.tag_page = Some(up.page);
    snap.tag_counts = Some(up.counts);
}

/// Annunciated alarms of one asset by priority.
fn alarms_of(live: &LiveSnapshot, asset: &str) -> [usize; 4] {
    let mut n = [0; 4];
    for a in live.alarms.iter().filter(|a| a.place.asset == asset && a.state != AlarmStateView::Normal) {
        n[a.priority.index()] += 1;
    }
    n
}

/// The diagnosis of the alarm's asset, when it was made for this activation (or later).
fn diagnosis_of(a: &ipc::LiveAlarm, live: &LiveSnapshot) -> Option<DiagnosisView> {
    if a.state == AlarmStateView::Normal {
        return None;
    }
    let d = live.assets.iter().find(|x| x.name == a.place.asset)?.diagnosis.as_ref()?;
    if a.active_since_ms.is_some_and(|s| d.at_ms < s - 60_000) {
        return None;
    }
    // the fault's remedies and forbidden moves follow its cause
    let advice = d.advice.iter().flat_map(|a| a.lines());
    let cause = d.cause.clone().map(|c| std::iter::once(c).chain(advice).collect::<Vec<_>>().join("; "));
    Some(DiagnosisView {
        cause,
        moved: d
            .ranked
            .iter()
            .filter_map(|s| s.onset_ms.map(|t| (s.signal.clone(), (t - d.at_ms) as f64 / 1000.0)))
            .collect(),
        contributions: d.contributions.clone(),
        note: d.error.clone(),
    })
}

/// The alarm, with its asset's diagnosis when one was made for this activation.
fn alarm(a: &ipc::LiveAlarm, live: &LiveSnapshot) -> AlarmRow {
    AlarmRow { diagnosis: diagnosis_of(a, live), ..a.clone() }
}
