use mimic_drivers::{Quality, Reason};

use super::*;
use crate::config::testkit;
use crate::north::sparkplug::payload::{decode, encode};

const TABLES: &str = r#"[[device]]
name = "rtu"
protocol = "modbus-tcp"
endpoint = "127.0.0.1:503"
[[tag]]
name = "flow"
device = "plc"
address = "hr:0"
units = "m3/h"
low = 0.0
high = 100.0
[[tag]]
name = "run"
device = "plc"
address = "coil:0"
[[tag]]
name = "level"
device = "rtu"
address = "hr:0"
[mqtt]
broker = "127.0.0.1:1883"
group_id = "g"
edge_node_id = "n"
"#;

fn site() -> Site {
    testkit::site(TABLES)
}

fn topics() -> Topics {
    Topics::new(site().mqtt.as_ref().expect("mqtt section"))
}

#[test]
fn topics_follow_the_namespace_and_commands_are_recognised() {
    let t = topics();
    assert_eq!(t.nbirth(), "spBv1.0/g/NBIRTH/n");
    assert_eq!(t.ddata("plc"), "spBv1.0/g/DDATA/n/plc");
    assert_eq!(t.dcmd_filter(), "spBv1.0/g/DCMD/n/+");
    assert_eq!(Topics::state("scada"), "spBv1.0/STATE/scada");
    assert_eq!(t.parse("spBv1.0/g/NCMD/n"), Some(Inbound::Ncmd));
    assert_eq!(t.parse("spBv1.0/g/DCMD/n/plc"), Some(Inbound::Dcmd { device: "plc" }));
    assert_eq!(t.parse("spBv1.0/STATE/scada"), Some(Inbound::State { host: "scada" }));
    for other in ["spBv1.0/g/NCMD/other", "spBv1.0/h/NCMD/n", "spBv1.0/g/DCMD/n/plc/x", "spAv1.0/g/NCMD/n", ""] {
        assert_eq!(t.parse(other), None, "{other}");
    }
}

#[test]
fn births_carry_every_metric_alias_and_bd_seq_and_seq_wraps() {
    let s = site();
    let mut n = EdgeNode::new();
    let nb = decode(&encode(&n.nbirth(7, 1000))).expect("decodes");
    assert_eq!(nb.seq, Some(0));
    assert_eq!(nb.metrics[0].name.as_deref(), Some(BD_SEQ));
    assert_eq!(nb.metrics[0].value, Some(MetricValue::LongValue(7)));
    assert!(nb.metrics.iter().any(|m| m.name.as_deref() == Some(REBIRTH)));
    let last = vec![
        Some(Sample { tag: 0, ts_ms: 900, value: 12.5, quality: Quality::Good }),
        Some(Sample { tag: 1, ts_ms: 900, value: 1.0, quality: Quality::Good }),
        None,
    ];
    let db = n.dbirth(&s, 0, &last, 1000);
    assert_eq!(db.seq, Some(1));
    let names: Vec<_> = db.metrics.iter().map(|m| m.name.clone().unwrap_or_default()).collect();
    assert_eq!(names, ["flow", "run"]);
    assert_eq!(db.metrics[0].alias, Some(ALIAS_BASE));
    assert_eq!(db.metrics[0].datatype, Some(DataType::Double as u32));
    assert_eq!(db.metrics[1].datatype, Some(DataType::Boolean as u32));
    assert_eq!(db.metrics[1].value, Some(MetricValue::BooleanValue(true)));
    let props = db.metrics[0].properties.as_ref().expect("properties");
    assert_eq!(props.get("engUnit").and_then(|v| v.value.clone()), Some(PropertyValueKind::StringValue("m3/h".into())));
    let rtu = n.dbirth(&s, 1, &last, 1000);
    assert_eq!(rtu.metrics[0].is_null, Some(true), "never read: null");
    assert_eq!(rtu.metrics[0].alias, Some(ALIAS_BASE + 2));
    for i in 3..300u64 {
        assert_eq!(n.ddata(&s, &[], false, 0).seq, Some(i % 256));
    }
    assert_eq!(n.nbirth(8, 0).seq, Some(0), "a rebirth restarts seq");
    assert_eq!(death(8, 5).seq, None, "NDEATH has no seq");
}

#[test]
fn data_is_by_alias_with_quality_and_null_for_bad() {
    let s = site();
    let mut n = EdgeNode::new();
    let samples = [
        Sample { tag: 0, ts_ms: 5, value: 3.0, quality: Quality::Uncertain(Reason::OutOfRange) },
        Sample { tag: 0, ts_ms: 6, value: f64::NAN, quality: Quality::Bad(Reason::Timeout) },
    ];
    let p = n.ddata(&s, &samples, true, 10);
    assert_eq!(p.metrics[0].name, None);
    assert_eq!(p.metrics[0].alias, Some(ALIAS_BASE));
    assert_eq!(p.metrics[0].is_historical, Some(true));
    assert_eq!(p.metrics[0].value, Some(MetricValue::DoubleValue(3.0)));
    let q = |m: &Metric| m.properties.as_ref().and_then(|p| p.get("Quality")).and_then(|v| v.value.clone());
    assert_eq!(q(&p.metrics[0]), Some(PropertyValueKind::IntValue(QUALITY_UNCERTAIN)));
    assert_eq!(p.metrics[1].is_null, Some(true));
    assert_eq!(p.metrics[1].value, None);
    assert_eq!(q(&p.metrics[1]), Some(PropertyValueKind::IntValue(QUALITY_BAD)));
}

#[test]
fn commands_are_read_strictly() {
    let s = site();
    let m = |name: Option<&str>, alias: Option<u64>, v: MetricValue| Metric {
        name: name.map(Into::into),
        alias,
        value: Some(v),
        ..Default::default()
    };
    let rebirth =
        Payload { metrics: vec![m(Some(REBIRTH), None, MetricValue::BooleanValue(true))], ..Default::default() };
    assert!(wants_rebirth(&rebirth));
    let no = Payload { metrics: vec![m(Some(REBIRTH), None, MetricValue::BooleanValue(false))], ..Default::default() };
    assert!(!wants_rebirth(&no));
    let p = Payload {
        metrics: vec![
            m(Some("flow"), None, MetricValue::DoubleValue(42.0)),
            m(None, Some(ALIAS_BASE + 1), MetricValue::BooleanValue(true)),
            m(Some("level"), None, MetricValue::DoubleValue(1.0)),
            m(Some("flow"), None, MetricValue::DoubleValue(f64::NAN)),
            m(None, Some(ALIAS_BASE + 99), MetricValue::DoubleValue(1.0)),
        ],
        ..Default::default()
    };
    let w = dcmd_writes(&s, "plc", &p);
    assert_eq!(w[0], Ok(DcmdWrite { tag: 0, value: 42.0, metric: "flow".into() }));
    assert_eq!(w[1], Ok(DcmdWrite { tag: 1, value: 1.0, metric: "run".into() }));
    assert!(w[2].is_err(), "level belongs to another device");
    assert!(w[3].is_err(), "NaN");
    assert!(w[4].is_err(), "unknown alias");
    assert!(dcmd_writes(&s, "nope", &p)[0].is_err());
    assert_eq!(parse_state(br#"{"online":true,"timestamp":17}"#), Some((true, 17)));
    assert_eq!(parse_state(b"ONLINE"), None, "Sparkplug 2 text STATE is not understood");
}
