//! Test fixtures: empty, normal (pump skid), huge and hostile snapshots.
#![allow(dead_code)]

use mimic_views::*;

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
            reconnects: 12,
            last_error: Some(
                "connect to 10.20.1.12:502 failed: connection refused (os error 111); retrying in 5s".into(),
            ),
            tags: 3,
            bad_tags: 3,
        },
    ];
    let assets = vec![
        AssetRow {
            path: vec!["Water".into(), "Pump skid".into(), "Pump P-101".into()],
            description: "Transfer pump".into(),
            tags: 9,
            bad_tags: 0,
            running: Some(true),
        },
        AssetRow {
            path: vec!["Water".into(), "Pump skid".into(), "Tank T-201".into()],
            description: "Buffer tank".into(),
            tags: 3,
            bad_tags: 3,
            running: None,
        },
        AssetRow {
            path: vec!["Water".into(), "Dosing".into(), "Pump P-301".into()],
            description: "Dosing pump".into(),
            tags: 0,
            bad_tags: 0,
            running: Some(false),
        },
    ];
    Snapshot {
        site: "Riverside WTP".into(),
        now_ms: NOW,
        connected: true,
        user: "operator1".into(),
        tags,
        devices,
        assets,
        store: StoreRow { samples: 4_718_223, bytes: 187_345_920, last_commit_ms: Some(NOW - 1_200), error: None },
    }
}

/// 1,000 tags with very long names and huge/negative/NaN values.
pub fn huge() -> Snapshot {
    let mut s = normal();
    s.tags = (0..1000)
        .map(|i| {
            let value = match i % 7 {
                0 => Some(1.0e300),
                1 => Some(-123_456_789.123),
                2 => Some(f64::NAN),
                3 => Some(f64::NEG_INFINITY),
                4 => None,
                5 => Some(-0.000_001_23),
                _ => Some(f64::from(i) * 1.5),
            };
            let quality = match i % 5 {
                0 => QualityView::Bad("decode error".into()),
                1 => QualityView::Uncertain("a very long uncertain reason text that does not fit".into()),
                _ => QualityView::Good,
            };
            let mut t = tag(
                &format!("Area{:02}.Unit{:02}.Very.Long.Hierarchical.Tag.Name.That.Never.Ends.{i:04}", i % 13, i % 7),
                &format!("Asset with a really long name {}", i % 17),
                &"A description that goes on and on ".repeat(4),
                value,
                (i % 12) as u8,
                "kg/m³·s",
                quality,
                i64::from(i) * 7_919,
            );
            t.stale = i % 11 == 0;
            t.low = Some(-1.0e12);
            t.high = Some(1.0e12);
            t.writable = i % 3 == 0;
            t.recent =
                (0..30).map(|j| if j % 9 == 4 { f64::NAN } else { f64::from((i * 31 + j * 17) % 101) }).collect();
            t
        })
        .collect();
    s.devices = (0..60u32)
        .map(|i| DeviceRow {
            name: format!("device-with-an-extremely-long-name-{i:03}"),
            protocol: "modbus-tcp".into(),
            endpoint: format!("10.{}.{}.{}:50200", i, i * 3 % 255, i * 7 % 255),
            connected: i % 4 != 0,
            last_poll_ms: if i % 9 == 0 { None } else { Some(NOW - i64::from(i) * 60_013) },
            latency_ms: Some(f64::from(i) * 37.3),
            polls: u64::from(i) * 9_876_543,
            errors: u64::from(i) * 12_345,
            timeouts: u64::MAX,
            exceptions: 99_999,
            reconnects: 123_456,
            last_error: Some("error ".repeat(60)),
            tags: 1000,
            bad_tags: i as usize * 10,
        })
        .collect();
    s.assets = (0..200)
        .map(|i| AssetRow {
            path: vec![
                format!("Area {:02} with a long name", i / 40),
                format!("Unit {:02}", i / 8),
                format!("Asset {i:03} with an extremely long descriptive name"),
            ],
            description: "d".repeat(100),
            tags: 5,
            bad_tags: i % 3,
            running: if i % 2 == 0 { Some(true) } else { None },
        })
        .collect();
    s.store = StoreRow { samples: u64::MAX, bytes: u64::MAX, last_commit_ms: Some(NOW - 400_000_000), error: None };
    s
}

const EVIL: &str = "\x1b[2J\x1b]0;title\x07\r\u{9b}31m\tX";

/// Control characters, emoji and wide CJK in every text field; link down.
pub fn hostile() -> Snapshot {
    let mut s = normal();
    s.site = format!("Site{EVIL}");
    s.user = format!("root{EVIL}");
    s.connected = false;
    for (i, t) in s.tags.iter_mut().enumerate() {
        match i % 4 {
            0 => t.name = format!("{EVIL}{}", t.name),
            1 => t.name = format!("温度計🔥{}", t.name),
            2 => t.name = format!("{}\r\nINJECT", t.name),
            _ => t.name = format!("ポンプ\u{9b}2J{}", t.name),
        }
        t.units = format!("°C{EVIL}");
        t.asset = format!("資産{EVIL}🚰");
        t.description = format!("desc\x1b[31mred\x1b[0m{EVIL}");
        if let QualityView::Bad(r) = &mut t.quality {
            *r = format!("{r}{EVIL}");
        }
    }
    for d in &mut s.devices {
        d.name = format!("{}{EVIL}", d.name);
        d.protocol = format!("mb\x1b[5m{EVIL}");
        d.endpoint = format!("🔌{}\x1b[K", d.endpoint);
        d.last_error =
            Some(format!("refused{EVIL} 接続が拒否されました 🚫 \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\"));
    }
    for a in &mut s.assets {
        a.path[2] = format!("{EVIL}{}", a.path[2]);
        a.path[0] = format!("区域{EVIL}");
    }
    s.store.error = Some(format!("disk full{EVIL}"));
    s
}

pub fn trend_normal() -> TrendData {
    let from = NOW - 3_600_000;
    TrendData {
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
    }
}

pub fn trend_huge() -> TrendData {
    let from = NOW - 86_400_000 * 30;
    TrendData {
        tag: "Area01.Unit01.Very.Long.Hierarchical.Tag.Name.That.Never.Ends.0001".into(),
        units: "kg/m³·s".into(),
        from_ms: from,
        to_ms: NOW,
        columns: (0..5000)
            .map(|i| {
                let v = match i % 1000 {
                    500 => f64::NAN,
                    _ => (f64::from(i) * 1.0e297).min(1.0e300) * if i % 2 == 0 { 1.0 } else { -1.0 },
                };
                TrendColumn {
                    start_ms: from + i64::from(i) * 518_400,
                    end_ms: from + i64::from(i + 1) * 518_400,
                    min: v,
                    max: v,
                    last: v,
                    count: 1,
                }
            })
            .collect(),
    }
}

pub fn trend_hostile() -> TrendData {
    let mut t = trend_normal();
    t.tag = format!("{EVIL}温度計🔥");
    t.units = format!("°C{EVIL}");
    t
}
