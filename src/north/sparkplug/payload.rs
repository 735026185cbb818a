//! The Sparkplug B payload (Eclipse Sparkplug 3.0, `sparkplug_b.proto`, proto2), written
//! by hand as prost messages; `sparkplug_b.proto` beside this file is the same schema as
//! text, and `tests/sparkplug_proto.rs` compiles it (protox) and proves that these
//! messages encode exactly what it says (kept by hand: generating them at build time
//! would put a protobuf compiler in every build).
//!
//! Covered: `Payload`, `Metric` with every scalar value kind, `MetaData`,
//! `PropertySet`/`PropertyValue`/`PropertySetList`, and the `DataType` codes. Not
//! covered: `DataSet` and `Template` values (fields 17 and 18) and extensions: prost
//! skips them as unknown fields, so such a metric decodes with `value: None`.
//!
//! [`decode`] is pure and total: any byte string gives a payload or an error, never a
//! panic (prost bounds nesting), which makes it a fuzz target.

use prost::Message;

/// Sparkplug B `DataType` codes (specification §6.4.16).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DataType {
    Unknown = 0,
    Int8 = 1,
    Int16 = 2,
    Int32 = 3,
    Int64 = 4,
    UInt8 = 5,
    UInt16 = 6,
    UInt32 = 7,
    UInt64 = 8,
    Float = 9,
    Double = 10,
    Boolean = 11,
    String = 12,
    DateTime = 13,
    Text = 14,
    Uuid = 15,
    DataSet = 16,
    Bytes = 17,
    File = 18,
    Template = 19,
    PropertySet = 20,
    PropertySetList = 21,
    Int8Array = 22,
    Int16Array = 23,
    Int32Array = 24,
    Int64Array = 25,
    UInt8Array = 26,
    UInt16Array = 27,
    UInt32Array = 28,
    UInt64Array = 29,
    FloatArray = 30,
    DoubleArray = 31,
    BooleanArray = 32,
    StringArray = 33,
    DateTimeArray = 34,
}

#[derive(Clone, PartialEq, Message)]
pub struct Payload {
    /// Milliseconds since the Unix epoch (UTC).
    #[prost(uint64, optional, tag = "1")]
    pub timestamp: Option<u64>,
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
    /// 0..=255, wrapping; absent in NDEATH, STATE and commands.
    #[prost(uint64, optional, tag = "3")]
    pub seq: Option<u64>,
    #[prost(string, optional, tag = "4")]
    pub uuid: Option<String>,
    #[prost(bytes = "vec", optional, tag = "5")]
    pub body: Option<Vec<u8>>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Metric {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(uint64, optional, tag = "2")]
    pub alias: Option<u64>,
    #[prost(uint64, optional, tag = "3")]
    pub timestamp: Option<u64>,
    /// A [`DataType`] code.
    #[prost(uint32, optional, tag = "4")]
    pub datatype: Option<u32>,
    #[prost(bool, optional, tag = "5")]
    pub is_historical: Option<bool>,
    #[prost(bool, optional, tag = "6")]
    pub is_transient: Option<bool>,
    #[prost(bool, optional, tag = "7")]
    pub is_null: Option<bool>,
    #[prost(message, optional, tag = "8")]
    pub metadata: Option<MetaData>,
    #[prost(message, optional, tag = "9")]
    pub properties: Option<PropertySet>,
    #[prost(oneof = "MetricValue", tags = "10, 11, 12, 13, 14, 15, 16")]
    pub value: Option<MetricValue>,
}

/// The value of a [`Metric`]. Int8/16/32 and UInt8/16/32 travel in `IntValue` (signed
/// ones as two's complement), 64-bit integers and DateTime in `LongValue`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum MetricValue {
    #[prost(uint32, tag = "10")]
    IntValue(u32),
    #[prost(uint64, tag = "11")]
    LongValue(u64),
    #[prost(float, tag = "12")]
    FloatValue(f32),
    #[prost(double, tag = "13")]
    DoubleValue(f64),
    #[prost(bool, tag = "14")]
    BooleanValue(bool),
    #[prost(string, tag = "15")]
    StringValue(String),
    #[prost(bytes = "vec", tag = "16")]
    BytesValue(Vec<u8>),
}

#[derive(Clone, PartialEq, Message)]
pub struct MetaData {
    #[prost(bool, optional, tag = "1")]
    pub is_multi_part: Option<bool>,
    #[prost(string, optional, tag = "2")]
    pub content_type: Option<String>,
    #[prost(uint64, optional, tag = "3")]
    pub size: Option<u64>,
    #[prost(uint64, optional, tag = "4")]
    pub seq: Option<u64>,
    #[prost(string, optional, tag = "5")]
    pub file_name: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub file_type: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub md5: Option<String>,
    #[prost(string, optional, tag = "8")]
    pub description: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct PropertySet {
    #[prost(string, repeated, tag = "1")]
    pub keys: Vec<String>,
    #[prost(message, repeated, tag = "2")]
    pub values: Vec<PropertyValue>,
}

#[derive(Clone, PartialEq, Message)]
pub struct PropertySetList {
    #[prost(message, repeated, tag = "1")]
    pub propertyset: Vec<PropertySet>,
}

#[derive(Clone, PartialEq, Message)]
pub struct PropertyValue {
    /// A [`DataType`] code.
    #[prost(uint32, optional, tag = "1")]
    pub r#type: Option<u32>,
    #[prost(bool, optional, tag = "2")]
    pub is_null: Option<bool>,
    #[prost(oneof = "PropertyValueKind", tags = "3, 4, 5, 6, 7, 8, 9, 10")]
    pub value: Option<PropertyValueKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum PropertyValueKind {
    #[prost(uint32, tag = "3")]
    IntValue(u32),
    #[prost(uint64, tag = "4")]
    LongValue(u64),
    #[prost(float, tag = "5")]
    FloatValue(f32),
    #[prost(double, tag = "6")]
    DoubleValue(f64),
    #[prost(bool, tag = "7")]
    BooleanValue(bool),
    #[prost(string, tag = "8")]
    StringValue(String),
    #[prost(message, tag = "9")]
    PropertysetValue(PropertySet),
    #[prost(message, tag = "10")]
    PropertysetsValue(PropertySetList),
}

/// A payload that is not Sparkplug B protobuf.
#[derive(Debug, thiserror::Error)]
#[error("not a Sparkplug B payload: {0}")]
pub struct DecodeError(#[from] prost::DecodeError);

/// Decode a Sparkplug B payload. Pure; never panics.
pub fn decode(buf: &[u8]) -> Result<Payload, DecodeError> {
    Ok(Payload::decode(buf)?)
}

/// Encode a payload.
pub fn encode(p: &Payload) -> Vec<u8> {
    p.encode_to_vec()
}

impl PropertySet {
    /// Add one property.
    pub fn push(&mut self, key: &str, r#type: DataType, value: PropertyValueKind) {
        self.keys.push(key.into());
        self.values.push(PropertyValue { r#type: Some(r#type as u32), is_null: None, value: Some(value) });
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&PropertyValue> {
        self.keys.iter().position(|k| k == key).and_then(|i| self.values.get(i))
    }
}

impl Metric {
    /// The value as a number, as mimic writes it: booleans are 0/1, integers by their
    /// declared type (two's complement for the signed ones, when the type is known).
    pub fn as_f64(&self) -> Option<f64> {
        let dt = self.datatype.and_then(|d| DataType::try_from(d as i32).ok());
        match self.value.as_ref()? {
            MetricValue::IntValue(v) => Some(match dt {
                Some(DataType::Int8) => f64::from(*v as u8 as i8),
                Some(DataType::Int16) => f64::from(*v as u16 as i16),
                Some(DataType::Int32) => f64::from(*v as i32),
                _ => f64::from(*v),
            }),
            MetricValue::LongValue(v) => Some(if dt == Some(DataType::Int64) { *v as i64 as f64 } else { *v as f64 }),
            MetricValue::FloatValue(v) => Some(f64::from(*v)),
            MetricValue::DoubleValue(v) => Some(*v),
            MetricValue::BooleanValue(b) => Some(if *b { 1.0 } else { 0.0 }),
            MetricValue::StringValue(_) | MetricValue::BytesValue(_) => None,
        }
    }
}

#[cfg(test)]
#[path = "payload_tests.rs"]
mod tests;
