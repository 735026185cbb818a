//! Stress fixtures: a huge site (1,000 tags, alarms, audit rows) for the 160x48 render
//! bench and scrolling, and hostile device text (escape sequences, overlong values).

use mimic_views::*;

use super::*;

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
            garbled: u64::MAX,
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
            ..Default::default()
        })
        .collect();
    s.store = StoreRow { samples: u64::MAX, bytes: u64::MAX, last_commit_ms: Some(NOW - 400_000_000), error: None };
    for (i, a) in s.assets.iter_mut().enumerate() {
        a.alarms_by_priority = [i % 3, i % 5, i % 7, usize::MAX / 4 * (i % 2)];
        a.health =
            if i % 4 == 0 { None } else { Some(f64::from(i as u32 % 11) / 10.0 + if i % 9 == 0 { 5.0 } else { 0.0 }) };
        a.rul_days = match i % 5 {
            0 => None,
            1 => Some(f64::NAN),
            2 => Some(1.0e12),
            3 => Some(-3.0),
            _ => Some(f64::from(i as u32) * 1.7),
        };
    }
    s.alarms = huge_alarms(1000);
    s.alarm_summary = AlarmSummary {
        flood: true,
        activations_10min: u32::MAX,
        per_position: (0..40).map(|i| (format!("position-with-a-long-name-{i:02}"), 1000 + i)).collect(),
        time_in_flood_ms: i64::MAX,
        unacked: usize::MAX,
        active: 1000,
        shelved: 123_456_789,
        by_priority: [usize::MAX, 250, 250, 250],
        floods: (0..40)
            .map(|i| FloodRow {
                position: format!("position-with-a-long-name-{i:02}"),
                since_ms: i64::MAX - i,
                held_back: usize::MAX,
            })
            .collect(),
        held_back: usize::MAX,
    };
    s.recommendations = (0..300u64)
        .map(|i| RecommendationRow {
            id: i,
            asset: format!("Asset with a really long name {}", i % 17),
            title: "A recommendation title that is much longer than any column ".repeat(3),
            tag: format!("Area{:02}.Unit{:02}.Very.Long.Hierarchical.Tag.Name.That.Never.Ends.{i:04}", i % 13, i % 7),
            current: if i % 3 == 0 { None } else { Some(-1.0e300) },
            proposed: if i % 2 == 0 { f64::NAN } else { 123_456_789.123 },
            units: "kg/m³·s".into(),
            predicted_effect: "effect ".repeat(200),
            confidence: match i % 4 {
                0 => f64::NAN,
                1 => 7.0,
                2 => -1.0,
                _ => 0.999,
            },
            created_ms: NOW - (i as i64) * 1_000_000_000,
            expires_ms: if i % 2 == 0 { Some(i64::MAX) } else { Some(i64::MIN) },
            status: [
                "pending",
                "approved",
                "rejected",
                "expired",
                "written",
                "confirmed",
                "mismatch",
                "a-status-nobody-knows",
            ][(i % 8) as usize]
                .into(),
            needs_second_approver: i % 2 == 0,
            approvals: (0..(i % 30))
                .map(|j| format!("Signer number {j} with a very long full name, {NOW}, approved"))
                .collect(),
            revertable: i % 4 == 0,
            previous: if i % 10 == 0 { None } else { Some(f64::INFINITY) },
        })
        .collect();
    s.audit = huge_audit(1000);
    s
}

/// `n` alarms with long texts, every state, priority and flag combination.
pub fn huge_alarms(n: u64) -> Vec<AlarmRow> {
    use AlarmStateView::*;
    (0..n)
        .map(|i| {
            let state = [UnackActive, AckActive, UnackRtn, Normal][(i % 4) as usize];
            let priority = Priority::ALL[(i / 4 % 4) as usize];
            let mut a = alarm(
                i,
                &format!("Area{:02}.Unit{:02}.Very.Long.Hierarchical.Tag.Name.That.Never.Ends.{i:04}", i % 13, i % 7),
                &format!("Asset with a really long name {}", i % 17),
                ["HIHI", "HI", "LO", "LOLO", "ROC", "BAD", "MODEL anomaly"][(i % 7) as usize],
                priority,
                state,
                &"An alarm message that goes on and on ".repeat(5),
                [Some(1.0e300), Some(f64::NAN), None, Some(-123_456_789.123), Some(f64::NEG_INFINITY)]
                    [(i % 5) as usize],
                if i % 3 == 0 { None } else { Some(-1.0e12) },
                "kg/m³·s",
                (i as i64) * 7_919,
            );
            a.place.area = "An area with a long name".into();
            a.first_out = i % 11 == 0;
            a.chattering = i % 3 == 0;
            a.stale = i % 5 == 0;
            a.out_of_service = i % 13 == 0;
            if i % 7 == 0 {
                a.shelved_until_ms = Some(NOW + 86_400_000);
                a.shelve_reason = Some("reason ".repeat(50));
            }
            if i % 2 == 1 {
                a.acked_by = Some("An operator with a very long full name".into());
            }
            if i % 17 == 0 {
                a.active_since_ms = None;
            }
            a
        })
        .collect()
}

/// `n` audit rows, oldest first, with long texts.
pub fn huge_audit(n: u64) -> Vec<AuditRow> {
    (0..n)
        .map(|i| AuditRow {
            seq: 1_000_000_000 + i,
            ts_ms: NOW - ((n - i) as i64) * 61_000,
            user: format!("user-with-a-long-name-{}", i % 9),
            action: ["login", "ack", "shelve", "approve", "write", "config-change"][(i % 6) as usize].into(),
            target: format!(
                "Area{:02}.Unit{:02}.Very.Long.Hierarchical.Tag.Name.That.Never.Ends.{i:04}",
                i % 13,
                i % 7
            ),
            meaning: if i % 4 == 0 { "approved (second signature)".into() } else { String::new() },
            detail: "detail ".repeat(40),
        })
        .collect()
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
    for a in &mut s.alarms {
        a.place.tag = format!("{EVIL}{}", a.place.tag);
        a.place.asset = format!("資産{EVIL}");
        a.place.area = format!("区域{EVIL}");
        a.kind = format!("HI{EVIL}");
        a.message = format!("msg\x1b[31mred{EVIL}🔥");
        a.units = format!("°C{EVIL}");
        a.acked_by = Some(format!("root{EVIL}"));
        a.shelve_reason = Some(format!("why{EVIL}"));
    }
    s.alarm_summary.flood = true;
    s.alarm_summary.per_position = vec![(format!("pos{EVIL}"), 3), ("温度計🔥".into(), 4)];
    s.alarm_summary.floods = vec![FloodRow { position: format!("pos{EVIL}"), since_ms: 0, held_back: 1 }];
    for r in &mut s.recommendations {
        r.asset = format!("資産{EVIL}");
        r.title = format!("title{EVIL}🔥");
        r.tag = format!("{EVIL}{}", r.tag);
        r.units = format!("°C{EVIL}");
        r.predicted_effect = format!("effect\x1b]0;x\x07{EVIL}");
        r.status = if r.status == "pending" { r.status.clone() } else { format!("{}{EVIL}", r.status) };
        r.approvals = vec![format!("Mallory{EVIL} 接続")];
    }
    for l in &mut s.life {
        l.asset = format!("{EVIL}{}", l.asset);
        for e in &mut l.events {
            e.part = format!("{EVIL}軸受🔥{}", e.part);
        }
    }
    // the trend's tag belongs to this asset (see the tags above)
    let mut own = s.life[0].clone();
    own.asset = format!("資産{EVIL}🚰");
    s.life.push(own);
    for a in &mut s.audit {
        a.user = format!("root{EVIL}");
        a.action = format!("ack{EVIL}");
        a.target = format!("{EVIL}温度計");
        a.meaning = format!("m{EVIL}");
        a.detail = format!("detail\x1b[2J{EVIL}\u{202E}evil");
    }
    s
}

pub fn trend_huge() -> TrendData {
    let from = NOW - 86_400_000 * 30;
    TrendData {
        asset: String::new(),
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
        extra: Vec::new(),
    }
}

pub fn trend_hostile() -> TrendData {
    let mut t = trend_normal();
    t.tag = format!("{EVIL}温度計🔥");
    t.units = format!("°C{EVIL}");
    t
}
