//! The hand-written Sparkplug B prost messages (`src/north/sparkplug/payload.rs`) encode
//! exactly what `sparkplug_b.proto` beside them says. The .proto is compiled here (protox,
//! pure Rust: no protoc), a payload that sets every field of every message is encoded
//! with the hand-written structs and decoded by the schema: every field of the schema must
//! come back under its name with its value and type, nothing may be left unknown, and the
//! schema's encoding of it must be the same bytes. The `DataType` codes are compared too.
//!
//! Why a test and not generated code: generating at build time (prost-build + protox)
//! would put a protobuf compiler in every build of the daemon; this proof costs only the
//! test build.

use std::collections::BTreeSet;
use std::path::Path;

use mimic::north::sparkplug::payload::{
    DataType, MetaData, Metric, MetricValue, Payload, PropertySet, PropertySetList, PropertyValue, PropertyValueKind,
};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, ReflectMessage, Value};

const PACKAGE: &str = "org.eclipse.tahu.protobuf";
const BIG: u64 = (1 << 40) + 7; // above u32: a uint32 in its place would not hold it

fn pool() -> DescriptorPool {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/north/sparkplug");
    let fds = protox::compile(["sparkplug_b.proto"], [&dir]).expect("sparkplug_b.proto compiles");
    DescriptorPool::from_file_descriptor_set(fds).expect("a valid descriptor set")
}

fn props() -> PropertySet {
    let kinds = vec![
        PropertyValueKind::IntValue(u32::MAX),
        PropertyValueKind::LongValue(BIG),
        PropertyValueKind::FloatValue(1.5),
        PropertyValueKind::DoubleValue(2.25),
        PropertyValueKind::BooleanValue(true),
        PropertyValueKind::StringValue("s".into()),
        PropertyValueKind::PropertysetValue(PropertySet { keys: vec!["inner".into()], values: vec![] }),
        PropertyValueKind::PropertysetsValue(PropertySetList {
            propertyset: vec![PropertySet { keys: vec!["a".into()], values: vec![] }],
        }),
    ];
    PropertySet {
        keys: (0..kinds.len()).map(|i| format!("k{i}")).collect(),
        values: kinds
            .into_iter()
            .map(|v| PropertyValue { r#type: Some(7), is_null: Some(false), value: Some(v) })
            .collect(),
    }
}

fn full_payload() -> Payload {
    let values = vec![
        MetricValue::IntValue(u32::MAX),
        MetricValue::LongValue(BIG),
        MetricValue::FloatValue(1.5),
        MetricValue::DoubleValue(2.25),
        MetricValue::BooleanValue(true),
        MetricValue::StringValue("text".into()),
        MetricValue::BytesValue(vec![0, 1, 255]),
    ];
    let metrics = values
        .into_iter()
        .enumerate()
        .map(|(i, v)| Metric {
            name: Some(format!("m{i}")),
            alias: Some(BIG + i as u64),
            timestamp: Some(BIG),
            datatype: Some(10),
            is_historical: Some(true),
            is_transient: Some(true),
            is_null: Some(false),
            metadata: Some(MetaData {
                is_multi_part: Some(true),
                content_type: Some("c".into()),
                size: Some(BIG),
                seq: Some(BIG),
                file_name: Some("f".into()),
                file_type: Some("t".into()),
                md5: Some("m".into()),
                description: Some("d".into()),
            }),
            properties: Some(props()),
            value: Some(v),
        })
        .collect();
    Payload { timestamp: Some(BIG), metrics, seq: Some(3), uuid: Some("u".into()), body: Some(vec![9, 8]) }
}

/// Every field set anywhere in `m` (by full name); fails on an unknown field.
fn seen(m: &DynamicMessage, out: &mut BTreeSet<String>) {
    assert_eq!(m.unknown_fields().count(), 0, "{} has fields the schema does not know", m.descriptor().full_name());
    for (f, v) in m.fields() {
        out.insert(f.full_name().to_string());
        let mut visit = |v: &Value| {
            if let Value::Message(inner) = v {
                seen(inner, out);
            }
        };
        match v {
            Value::List(items) => items.iter().for_each(&mut visit),
            v => visit(v),
        }
    }
}

#[test]
fn the_hand_written_messages_encode_what_the_proto_says() {
    let pool = pool();
    let payload = pool.get_message_by_name(&format!("{PACKAGE}.Payload")).expect("Payload in the schema");
    let ours = full_payload();
    let bytes = ours.encode_to_vec();
    let dynamic = DynamicMessage::decode(payload.clone(), bytes.as_slice()).expect("the schema reads our bytes");

    // every field of every message of the schema came back, and nothing unknown
    let mut got = BTreeSet::new();
    seen(&dynamic, &mut got);
    let all: BTreeSet<String> =
        pool.all_messages().flat_map(|m| m.fields().map(|f| f.full_name().to_string()).collect::<Vec<_>>()).collect();
    assert_eq!(got, all, "fields of the schema the hand-written messages do not set (or set elsewhere)");

    // values under their names, with the schema's types
    assert_eq!(dynamic.get_field_by_name("timestamp").as_deref(), Some(&Value::U64(BIG)));
    assert_eq!(dynamic.get_field_by_name("uuid").as_deref(), Some(&Value::String("u".into())));
    let Some(Value::List(metrics)) = dynamic.get_field_by_name("metrics").as_deref().cloned() else {
        panic!("metrics is a repeated message")
    };
    let m1 = metrics[1].as_message().expect("a metric");
    assert_eq!(m1.get_field_by_name("alias").as_deref(), Some(&Value::U64(BIG + 1)));
    assert_eq!(m1.get_field_by_name("long_value").as_deref(), Some(&Value::U64(BIG)));
    let m2 = metrics[2].as_message().expect("a metric");
    assert_eq!(m2.get_field_by_name("float_value").as_deref(), Some(&Value::F32(1.5)));
    let m0 = metrics[0].as_message().expect("a metric");
    assert_eq!(m0.get_field_by_name("int_value").as_deref(), Some(&Value::U32(u32::MAX)));
    assert_eq!(m0.get_field_by_name("datatype").as_deref(), Some(&Value::U32(10)));

    // and the schema writes the same bytes, which read back as the same message
    let theirs = dynamic.encode_to_vec();
    assert_eq!(theirs, bytes);
    assert_eq!(Payload::decode(theirs.as_slice()).expect("ours reads the schema's bytes"), ours);
}

#[test]
fn the_data_type_codes_are_the_protos() {
    let pool = pool();
    let e = pool.get_enum_by_name(&format!("{PACKAGE}.DataType")).expect("DataType in the schema");
    let mut n = 0;
    for v in e.values() {
        let ours = DataType::try_from(v.number()).unwrap_or_else(|_| panic!("no DataType {}", v.number()));
        assert_eq!(format!("{ours:?}").to_lowercase(), v.name().to_lowercase(), "code {}", v.number());
        n += 1;
    }
    assert_eq!(n, 35);
    assert!(DataType::try_from(35).is_err(), "no code beyond the schema's");
}
