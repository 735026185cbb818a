//! Test fixtures: empty, normal (pump skid), huge and hostile snapshots.
#![allow(dead_code)]

use mimic_views::*;

mod stress;
#[allow(unused_imports)] // not every test file uses the stress fixtures
pub use stress::*;

pub const NOW: i64 = 1_700_000_000_000; // 22:13:20 UTC

pub fn empty() -> Snapshot {
    Snapshot { site: String::new(), now_ms: NOW, connected: true, user: String::new(), ..Default::default() }
}

#[allow(clippy::too_many_arguments)]
fn tag(
    name: &str,
    asset: &str,
    desc: &str,
    value: Option<f64>,
    decimals: u8,
    units: &str,
    quality: QualityView,
    age_ms: i64,
) -> TagRow {
    let v = value.unwrap_or(0.0);
    TagRow {
        name: name.into(),
        asset: asset.into(),
        description: desc.into(),
        value,
        decimals,
        units: units.into(),
        quality,
        ts_ms: Some(NOW - age_ms),
        stale: false,
        writable: false,
        low: None,
        high: None,
        recent: (0..24).map(|i| v + (f64::from(i) * 0.7).sin() * (v.abs() * 0.05 + 0.1)).collect(),
    }
}

/// A small pump skid: 12 tags, 2 devices, plc-2 down with Bad tags, one stale tag.
pub fn normal() -> Snapshot {
    use QualityView::*;
    let comm = || Bad("comm failure".into());
    let mut tags = vec![
        tag("P101.Run", "Pump P-101", "Pump running feedback", Some(1.0), 0, "", Good, 420),
        tag("P101.Speed", "Pump P-101", "Pump speed", Some(1475.3), 1, "rpm", Good, 420),
        tag("P101.Current", "Pump P-101", "Motor current", Some(38.42), 2, "A", Good, 420),
        tag("P101.SpeedSP", "Pump P-101", "Speed setpoint", Some(1480.0), 0, "rpm", Good, 420),
        tag("PT101.Suction", "Pump P-101", "Suction pressure", Some(1.23), 2, "bar", Good, 420),
        tag("PT102.Discharge", "Pump P-101", "Discharge pressure", Some(7.91), 2, "bar", Good, 420),
        tag("FT101.Flow", "Pump P-101", "Discharge flow", Some(42.7), 1, "m³/h", Uncertain("out of range".into()), 420),
        tag("TT101.Bearing", "Pump P-101", "Bearing temperature", Some(61.5), 1, "°C", Good, 95_000),
        tag("LT201.Level", "Tank T-201", "Tank level", Some(3.42), 2, "m", comm(), 185_000),
        tag("LT201.HiHi", "Tank T-201", "High-high level switch", None, 0, "", comm(), 185_000),
        tag("XV201.Pos", "Tank T-201", "Inlet valve position", Some(100.0), 0, "%", Bad("timeout".into()), 185_000),
        tag("VT101.Vib", "Pump P-101", "Vibration velocity", Some(2.8), 2, "mm/s", Good, 850),
    ];
    tags[1].low = Some(0.0);
    tags[1].high = Some(1500.0);
    tags[3].writable = true;
    tags[5].high = Some(7.5); // above high limit
    tags[5].low = Some(0.5);
    tags[6].low = Some(0.0);
    tags[6].high = Some(40.0);
    tags[7].stale = true;
    tags[8].ts_ms = Some(NOW - 185_000);
    tags[10].writable = true;
    let devices = vec![
        DeviceRow {
            name: "plc-1".into(),
            protocol: "modbus-tcp".into(),
            endpoint: "10.20.1.11:502".into(),
            connected: true,
            last_poll_ms: Some(NOW - 420),
            latency_ms: Some(4.2),
            polls: 128_455,
            errors: 3,
            timeouts: 2,
            exceptions: 1,
            garbled: 0,
            reconnects: 0,
            last_error: Some("exception 2 (illegal data address) reading HR 40120".into()),
            tags: 9,
            bad_tags: 0,
        },
        DeviceRow {
            name: "plc-2".into(),
            protocol: "modbus-tcp".into(),
            endpoint: "10.20.1.12:502".into(),
            connected: false,
            last_poll_ms: Some(NOW - 185_000),
            latency_ms: None,
            polls: 64_002,
            errors: 57,
            timeouts: 41,
            exceptions: 0,
            garbled: 17,
            reconnects: 12,
            last_error: Some(
                "connect to 10.20.1.12:502 failed: connection refused (os error 111); retrying in 5s".into(),
            ),
            tags: 3,
            bad_tags: 3,
        },
    ];
    // Under Water; what is not set is the default (no tags, no health, no remaining life).
    let asset = |area: &str, name: &str, description: &str| AssetRow {
        path: ["Water", area, name].map(String::from).to_vec(),
        description: description.into(),
        ..AssetRow::default()
    };
    let mut p101 = asset("Pump skid", "Pump P-101", "Transfer pump");
    (p101.tags, p101.running, p101.alarms_by_priority) = (9, Some(true), [0, 1, 2, 0]);
    (p101.health, p101.rul_days) = (Some(0.62), Some(41.5));
    let mut t201 = asset("Pump skid", "Tank T-201", "Buffer tank");
    (t201.tags, t201.bad_tags, t201.alarms_by_priority) = (3, 3, [0, 0, 0, 1]);
    let mut p301 = asset("Dosing", "Pump P-301", "Dosing pump");
    (p301.running, p301.alarms_by_priority, p301.health, p301.rul_days) =
        (Some(false), [1, 0, 0, 0], Some(0.08), Some(3.2));
    let assets = vec![p101, t201, p301];
    Snapshot {
        site: "Riverside WTP".into(),
        now_ms: NOW,
        connected: true,
        user: "operator1".into(),
        tags,
        devices,
        assets,
        store: StoreRow { samples: 4_718_223, bytes: 187_345_920, last_commit_ms: Some(NOW - 1_200), error: None },
        alarms: alarms_normal(),
        alarm_summary: AlarmSummary {
            flood: false,
            activations_10min: 7,
            per_position: vec![("console-1".into(), 5), ("console-2".into(), 2)],
            time_in_flood_ms: 0,
            unacked: 4,
            active: 6,
            shelved: 1,
            by_priority: [1, 1, 2, 1],
            ..Default::default()
        },
        recommendations: recommendations_normal(),
        audit: audit_normal(),
        life: life_normal(),
        loops: Vec::new(),
        ..Default::default()
    }
}

/// P-101 had its bearing replaced 20 minutes ago (inside the trend window) and is
/// re-learning its baseline; T-201 was only commissioned.
pub fn life_normal() -> Vec<LifeRow> {
    let day = 86_400_000;
    let ev = |ts_ms: i64, kind: &str, part: &str, note: &str| LifeEventRow {
        ts_ms,
        kind: kind.into(),
        part: part.into(),
        note: note.into(),
        by: "eve".into(),
    };
    vec![
        LifeRow {
            asset: "Pump P-101".into(),
            commissioned_ms: Some(NOW - 2_777 * day),
            rebase_at_ms: Some(NOW - 1_200_000),
            baseline: "baseline learning 12/60".into(),
            events: vec![
                ev(NOW - 2_777 * day, "commissioned", "", "from the site file"),
                ev(NOW - 40 * day, "inspection", "", "seal ok"),
                ev(NOW - 2_400_000, "sensor-recalibrated", "PT102", ""),
                ev(NOW - 1_200_000, "part-replaced", "bearing", "drive end bearing worn"),
            ],
        },
        LifeRow {
            asset: "Tank T-201".into(),
            commissioned_ms: Some(NOW - 300 * day),
            rebase_at_ms: Some(NOW - 300 * day),
            baseline: String::new(),
            events: vec![ev(NOW - 300 * day, "commissioned", "", "")],
        },
    ]
}

#[allow(clippy::too_many_arguments)]
pub fn alarm(
    id: u64,
    tag: &str,
    asset: &str,
    kind: &str,
    priority: Priority,
    state: AlarmStateView,
    message: &str,
    value: Option<f64>,
    limit: Option<f64>,
    units: &str,
    age_ms: i64,
) -> AlarmRow {
    AlarmRow {
        id,
        place: AlarmPlace { tag: tag.into(), asset: asset.into(), area: "Water".into() },
        kind: kind.into(),
        priority,
        state,
        message: message.into(),
        value,
        limit,
        units: units.into(),
        active_since_ms: Some(NOW - age_ms),
        ..Default::default()
    }
}

/// Unacked critical/high/medium, one acked, one returned, one shelved, one out of service.
pub fn alarms_normal() -> Vec<AlarmRow> {
    use AlarmStateView::*;
    use Priority::*;
    let mut v = vec![
        alarm(
            1,
            "LT201.HiHi",
            "Tank T-201",
            "BAD",
            Critical,
            UnackActive,
            "Level switch comm failure",
            None,
            None,
            "",
            185_000,
        ),
        alarm(
            2,
            "PT102.Discharge",
            "Pump P-101",
            "HI",
            High,
            UnackActive,
            "Discharge pressure high",
            Some(7.91),
            Some(7.5),
            "bar",
            62_000,
        ),
        alarm(
            3,
            "FT101.Flow",
            "Pump P-101",
            "HI",
            Medium,
            AckActive,
            "Discharge flow high",
            Some(42.7),
            Some(40.0),
            "m³/h",
            600_000,
        ),
        alarm(
            4,
            "TT101.Bearing",
            "Pump P-101",
            "ROC",
            High,
            UnackRtn,
            "Bearing temperature rising fast",
            Some(61.5),
            Some(2.0),
            "°C",
            900_000,
        ),
        alarm(
            5,
            "VT101.Vib",
            "Pump P-101",
            "MODEL anomaly",
            Medium,
            AckActive,
            "Vibration pattern unlike training data",
            Some(2.8),
            None,
            "mm/s",
            1_500_000,
        ),
        alarm(
            6,
            "P301.Run",
            "Pump P-301",
            "LO",
            Low,
            UnackActive,
            "Dosing pump stopped",
            Some(0.0),
            Some(1.0),
            "",
            30_000,
        ),
        alarm(
            7,
            "LT201.Level",
            "Tank T-201",
            "LOLO",
            High,
            AckActive,
            "Tank level low-low",
            Some(0.2),
            Some(0.5),
            "m",
            3_000_000,
        ),
        alarm(
            8,
            "XV201.Pos",
            "Tank T-201",
            "BAD",
            Medium,
            Normal,
            "Valve position comm failure",
            None,
            None,
            "%",
            7_200_000,
        ),
    ];
    v[0].first_out = true;
    v[2].acked_by = Some("Jane Operator".into());
    v[3].chattering = true;
    v[4].acked_by = Some("Jane Operator".into());
    v[4].stale = true;
    v[6].shelved_until_ms = Some(NOW + 3_000_000);
    v[6].shelve_reason = Some("level transmitter being recalibrated".into());
    v[6].acked_by = Some("Sam Shift".into());
    v[7].out_of_service = true;
    v
}

/// [`normal`] in an alarm flood at position `Water` for 4 minutes: two low alarms held
/// back (not annunciated), for the banner and the Flood view.
pub fn flood() -> Snapshot {
    let mut s = normal();
    for (id, tag, msg) in [(21, "CL301.Dose", "Chlorine dose low"), (22, "PT301.Suction", "Suction pressure low")] {
        let (low, state) = (Priority::Low, AlarmStateView::Normal);
        let mut a = alarm(id, tag, "Pump P-301", "LO", low, state, msg, Some(0.4), Some(0.5), "bar", 120_000);
        a.flood_held = true;
        s.alarms.push(a);
    }
    let sum = &mut s.alarm_summary;
    (sum.flood, sum.activations_10min, sum.time_in_flood_ms, sum.held_back) = (true, 14, 240_000, 2);
    sum.per_position = vec![("Water".into(), 14)];
    sum.floods = vec![FloodRow { position: "Water".into(), since_ms: NOW - 240_000, held_back: 2 }];
    s
}

pub fn recommendations_normal() -> Vec<RecommendationRow> {
    vec![
        RecommendationRow {
            id: 11,
            asset: "Pump P-101".into(),
            title: "Lower pump speed to cut energy".into(),
            tag: "P101.SpeedSP".into(),
            current: Some(1480.0),
            proposed: 1420.0,
            units: "rpm".into(),
            predicted_effect:
                "Energy -6 % at unchanged flow; discharge pressure 7.6 bar, below the 7.5 bar alarm after 10 min".into(),
            confidence: 0.82,
            created_ms: NOW - 240_000,
            expires_ms: Some(NOW + 1_560_000),
            status: "pending".into(),
            needs_second_approver: true,
            approvals: vec![],
            revertable: false,
            previous: None,
        },
        RecommendationRow {
            id: 10,
            asset: "Tank T-201".into(),
            title: "Raise tank low-level setpoint".into(),
            tag: "LT201.LoSP".into(),
            current: Some(0.5),
            proposed: 0.8,
            units: "m".into(),
            predicted_effect: "Fewer LOLO alarms at night".into(),
            confidence: 0.64,
            created_ms: NOW - 7_200_000,
            expires_ms: None,
            status: "confirmed".into(),
            needs_second_approver: true,
            approvals: vec![
                "Jane Operator, 2023-11-14 20:15:02 UTC, approved".into(),
                "Sam Engineer, 2023-11-14 20:17:40 UTC, approved (second)".into(),
            ],
            revertable: false,
            previous: None,
        },
        RecommendationRow {
            id: 12,
            asset: "Pump P-101".into(),
            title: "manual entry by sam".into(),
            tag: "P101.ValveSP".into(),
            current: Some(62.0),
            proposed: 62.0,
            units: "%".into(),
            predicted_effect: String::new(),
            confidence: 1.0,
            created_ms: NOW - 120_000,
            expires_ms: None,
            status: "effect off: P101.Flow is 38.1, predicted 45 ± 2".into(),
            needs_second_approver: false,
            approvals: vec!["Sam Engineer at 2023-11-14 21:00:00 UTC — approved setpoint change".into()],
            revertable: true,
            previous: Some(55.0),
        },
        RecommendationRow {
            id: 9,
            asset: "Pump P-301".into(),
            title: "Dosing rate up".into(),
            tag: "P301.RateSP".into(),
            current: None,
            proposed: 12.5,
            units: "l/h".into(),
            predicted_effect: "Chlorine residual back in band".into(),
            confidence: 0.41,
            created_ms: NOW - 90_000_000,
            expires_ms: Some(NOW - 80_000_000),
            status: "expired".into(),
            needs_second_approver: false,
            approvals: vec![],
            revertable: false,
            previous: None,
        },
    ]
}

pub fn audit_normal() -> Vec<AuditRow> {
    let e = |seq: u64, age: i64, user: &str, action: &str, target: &str, meaning: &str, detail: &str| AuditRow {
        seq,
        ts_ms: NOW - age,
        user: user.into(),
        action: action.into(),
        target: target.into(),
        meaning: meaning.into(),
        detail: detail.into(),
    };
    vec![
        e(101, 7_300_000, "jane", "login", "console-1", "", "password + TOTP"),
        e(102, 7_250_000, "jane", "approve", "rec 10", "approved", "LT201.LoSP 0.5 -> 0.8 m"),
        e(103, 7_100_000, "sam", "approve", "rec 10", "approved (second)", "LT201.LoSP 0.5 -> 0.8 m"),
        e(104, 7_000_000, "daemon", "write", "LT201.LoSP", "", "wrote 0.8 m, read back 0.8 m"),
        e(105, 600_000, "jane", "ack", "alarm 3 FT101.Flow HI", "", ""),
        e(
            106,
            300_000,
            "sam",
            "shelve",
            "alarm 7 LT201.Level LOLO",
            "",
            "60 min: level transmitter being recalibrated",
        ),
        e(107, 120_000, "sam", "oos", "alarm 8 XV201.Pos BAD", "", "valve replaced, work order 4711"),
    ]
}

pub fn trend_normal() -> TrendData {
    let from = NOW - 3_600_000;
    TrendData {
        asset: String::new(),
        tag: "PT102.Discharge".into(),
        units: "bar".into(),
        from_ms: from,
        to_ms: NOW,
        columns: (0..120)
            .map(|i| {
                let base = 7.0 + (f64::from(i) / 12.0).sin() * 0.8;
                let spike = if i == 77 { 4.0 } else { 0.0 };
                TrendColumn {
                    start_ms: from + i64::from(i) * 30_000,
                    end_ms: from + i64::from(i + 1) * 30_000,
                    min: base - 0.1,
                    max: base + 0.1 + spike,
                    last: base,
                    count: if (50..56).contains(&i) { 0 } else { 30 },
                }
            })
            .collect(),
        extra: Vec::new(),
    }
}

/// `trend_normal` plus one extra series per entry of `extras` (tag, units);
/// the second extra has a one-column spike and a gap.
pub fn trend_multi(extras: &[(&str, &str)]) -> TrendData {
    let mut t = trend_normal();
    t.extra = extras
        .iter()
        .enumerate()
        .map(|(k, (tag, units))| {
            let mut columns = t.columns.clone();
            for (i, c) in columns.iter_mut().enumerate() {
                let v = 3.0 + 2.0 * k as f64 + (i as f64 / (8.0 + 4.0 * k as f64)).cos() * 0.6;
                (c.min, c.max, c.last, c.count) = (v - 0.05, v + 0.05, v, 30);
            }
            if k == 1 {
                columns[30].max = 12.5;
                for c in &mut columns[90..96] {
                    c.count = 0;
                }
            }
            TrendSeries { tag: (*tag).into(), units: (*units).into(), columns }
        })
        .collect();
    t
}
