use proptest::prelude::*;

use super::*;

fn metric(name: &str, alias: u64, value: MetricValue, dt: DataType) -> Metric {
    Metric {
        name: Some(name.into()),
        alias: Some(alias),
        timestamp: Some(1_700_000_000_123),
        datatype: Some(dt as u32),
        value: Some(value),
        ..Default::default()
    }
}

#[test]
fn the_wire_bytes_are_the_specifications() {
    // Hand-assembled from sparkplug_b.proto: timestamp=1 (field 1), one metric (field 2:
    // name "a", alias 2, datatype Double, double_value 1.5 as field 13, fixed64), seq=0.
    let p = Payload {
        timestamp: Some(1),
        seq: Some(0),
        metrics: vec![Metric {
            name: Some("a".into()),
            alias: Some(2),
            datatype: Some(DataType::Double as u32),
            value: Some(MetricValue::DoubleValue(1.5)),
            ..Default::default()
        }],
        ..Default::default()
    };
    let want = [
        0x08, 0x01, 0x12, 0x10, 0x0a, 0x01, b'a', 0x10, 0x02, 0x20, 0x0a, 0x69, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x18,
        0x00,
    ];
    assert_eq!(encode(&p), want);
    assert_eq!(decode(&want).expect("decodes"), p);
}

#[test]
fn every_value_kind_and_properties_round_trip() {
    let mut props = PropertySet::default();
    props.push("Quality", DataType::Int32, PropertyValueKind::IntValue(192));
    props.push("engUnit", DataType::String, PropertyValueKind::StringValue("m³/h".into()));
    let mut nested = PropertySet::default();
    nested.push("x", DataType::Boolean, PropertyValueKind::BooleanValue(true));
    props.push("nested", DataType::PropertySet, PropertyValueKind::PropertysetValue(nested.clone()));
    props.push(
        "list",
        DataType::PropertySetList,
        PropertyValueKind::PropertysetsValue(PropertySetList { propertyset: vec![nested] }),
    );
    let mut m = metric("flow", 7, MetricValue::DoubleValue(12.25), DataType::Double);
    m.properties = Some(props);
    m.is_historical = Some(true);
    m.metadata = Some(MetaData { description: Some("d".into()), ..Default::default() });
    let p = Payload {
        timestamp: Some(5),
        seq: Some(255),
        uuid: Some("u".into()),
        body: Some(vec![1, 2, 3]),
        metrics: vec![
            m,
            metric("i", 1, MetricValue::IntValue(u32::MAX), DataType::Int32),
            metric("l", 2, MetricValue::LongValue(u64::MAX), DataType::UInt64),
            metric("f", 3, MetricValue::FloatValue(-1.5), DataType::Float),
            metric("b", 4, MetricValue::BooleanValue(true), DataType::Boolean),
            metric("s", 5, MetricValue::StringValue("ok".into()), DataType::String),
            metric("y", 6, MetricValue::BytesValue(vec![0, 255]), DataType::Bytes),
            Metric { alias: Some(9), is_null: Some(true), ..Default::default() },
        ],
    };
    let back = decode(&encode(&p)).expect("round trip");
    assert_eq!(back, p);
    let q = back.metrics[0].properties.as_ref().and_then(|ps| ps.get("Quality")).and_then(|v| v.value.clone());
    assert_eq!(q, Some(PropertyValueKind::IntValue(192)));
}

#[test]
fn numbers_read_by_their_declared_type() {
    let m = |v, dt| metric("x", 0, v, dt).as_f64();
    assert_eq!(m(MetricValue::IntValue(0xffff_ffff), DataType::Int32), Some(-1.0));
    assert_eq!(m(MetricValue::IntValue(0xff), DataType::Int8), Some(-1.0));
    assert_eq!(m(MetricValue::IntValue(0xfffe), DataType::Int16), Some(-2.0));
    assert_eq!(m(MetricValue::IntValue(0xffff_ffff), DataType::UInt32), Some(4_294_967_295.0));
    assert_eq!(m(MetricValue::LongValue(u64::MAX), DataType::Int64), Some(-1.0));
    assert_eq!(m(MetricValue::BooleanValue(true), DataType::Boolean), Some(1.0));
    assert_eq!(m(MetricValue::StringValue("1".into()), DataType::String), None);
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    assert!(decode(&[0x12, 0x05, 0x0a]).is_err(), "truncated metric");
    assert!(decode(&[0xff; 12]).is_err(), "bad varint");
    assert!(decode(&[0x0f]).is_err(), "wire type 7");
    // unknown fields (a DataSet value, field 17) are skipped
    let mut bytes = encode(&Payload { seq: Some(1), ..Default::default() });
    bytes.extend([0x12, 0x03, 0x8a, 0x01, 0x00]);
    assert_eq!(decode(&bytes).expect("skips field 17").metrics[0].value, None);
}

proptest! {
    #[test]
    fn any_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn any_metric_round_trips(
        name in "[a-zA-Z0-9_./ ]{0,20}",
        alias in any::<u64>(),
        ts in any::<u64>(),
        v in any::<f64>().prop_filter("NaN is not equal to itself", |v| !v.is_nan()),
        seq in 0u64..256,
        hist in any::<bool>(),
    ) {
        let mut m = metric(&name, alias, MetricValue::DoubleValue(v), DataType::Double);
        m.timestamp = Some(ts);
        m.is_historical = Some(hist);
        let p = Payload { timestamp: Some(ts), seq: Some(seq), metrics: vec![m], ..Default::default() };
        prop_assert_eq!(decode(&encode(&p)).expect("round trip"), p);
    }
}
