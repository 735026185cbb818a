//! OPC UA values in and out: variants to engineering numbers, status codes to quality,
//! source timestamps to Unix milliseconds, and numbers back to a variant of the node's
//! own data type for writes.
//!
//! Everything here is pure and has no I/O; the driver and `mimic browse` build on it.

use std::fmt;

use opcua::types::{DataValue, DateTime, Identifier, NodeId, StatusCode, Variant};

use crate::quality::{Quality, Reading, Reason};

/// The scalar data types mimic can carry as a number (and write back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NumType {
    Boolean,
    SByte,
    Byte,
    Int16,
    UInt16,
    Int32,
    UInt32,
    Int64,
    UInt64,
    Float,
    Double,
}

impl NumType {
    /// From a built-in data type id (namespace 0, `i=1` Boolean … `i=11` Double).
    pub fn from_builtin_id(id: u32) -> Option<NumType> {
        Some(match id {
            1 => NumType::Boolean,
            2 => NumType::SByte,
            3 => NumType::Byte,
            4 => NumType::Int16,
            5 => NumType::UInt16,
            6 => NumType::Int32,
            7 => NumType::UInt32,
            8 => NumType::Int64,
            9 => NumType::UInt64,
            10 => NumType::Float,
            11 => NumType::Double,
            // Well-known subtypes whose values travel as their base type.
            290 => NumType::Double, // Duration
            29 => NumType::Int32,   // Enumeration
            _ => return None,
        })
    }

    /// From a `DataType` attribute value.
    pub fn from_data_type(id: &NodeId) -> Option<NumType> {
        match (&id.identifier, id.namespace) {
            (Identifier::Numeric(n), 0) => NumType::from_builtin_id(*n),
            _ => None,
        }
    }

    /// The type of a scalar value as it arrived.
    pub fn of_variant(v: &Variant) -> Option<NumType> {
        Some(match v {
            Variant::Boolean(_) => NumType::Boolean,
            Variant::SByte(_) => NumType::SByte,
            Variant::Byte(_) => NumType::Byte,
            Variant::Int16(_) => NumType::Int16,
            Variant::UInt16(_) => NumType::UInt16,
            Variant::Int32(_) => NumType::Int32,
            Variant::UInt32(_) => NumType::UInt32,
            Variant::Int64(_) => NumType::Int64,
            Variant::UInt64(_) => NumType::UInt64,
            Variant::Float(_) => NumType::Float,
            Variant::Double(_) => NumType::Double,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            NumType::Boolean => "Boolean",
            NumType::SByte => "SByte",
            NumType::Byte => "Byte",
            NumType::Int16 => "Int16",
            NumType::UInt16 => "UInt16",
            NumType::Int32 => "Int32",
            NumType::UInt32 => "UInt32",
            NumType::Int64 => "Int64",
            NumType::UInt64 => "UInt64",
            NumType::Float => "Float",
            NumType::Double => "Double",
        }
    }

    /// Smallest difference between two values of this type (0 for floating point).
    pub fn step(self) -> f64 {
        match self {
            NumType::Float | NumType::Double => 0.0,
            _ => 1.0,
        }
    }

    /// Encode an engineering value as a variant of exactly this type. Integers must be
    /// whole and in range; booleans are 0 or 1; a Float must fit an `f32`.
    pub fn encode(self, v: f64) -> Result<Variant, EncodeError> {
        if !v.is_finite() {
            return Err(EncodeError::NotFinite(v));
        }
        let whole = |lo: f64, hi: f64| -> Result<f64, EncodeError> {
            if v.fract() != 0.0 {
                Err(EncodeError::NotWhole { v, ty: self })
            } else if v < lo || v > hi {
                Err(EncodeError::OutOfRange { v, ty: self, lo, hi })
            } else {
                Ok(v)
            }
        };
        Ok(match self {
            NumType::Boolean => match v {
                0.0 => Variant::Boolean(false),
                1.0 => Variant::Boolean(true),
                _ => return Err(EncodeError::NotBoolean(v)),
            },
            NumType::SByte => Variant::SByte(whole(-128.0, 127.0)? as i8),
            NumType::Byte => Variant::Byte(whole(0.0, 255.0)? as u8),
            NumType::Int16 => Variant::Int16(whole(-32768.0, 32767.0)? as i16),
            NumType::UInt16 => Variant::UInt16(whole(0.0, 65535.0)? as u16),
            NumType::Int32 => Variant::Int32(whole(-2147483648.0, 2147483647.0)? as i32),
            NumType::UInt32 => Variant::UInt32(whole(0.0, 4294967295.0)? as u32),
            // Only values an f64 holds exactly are accepted.
            NumType::Int64 => Variant::Int64(whole(-9007199254740992.0, 9007199254740992.0)? as i64),
            NumType::UInt64 => Variant::UInt64(whole(0.0, 9007199254740992.0)? as u64),
            NumType::Float => {
                if v.abs() > f64::from(f32::MAX) {
                    return Err(EncodeError::TooBigForFloat(v));
                }
                Variant::Float(v as f32)
            }
            NumType::Double => Variant::Double(v),
        })
    }
}

/// An engineering value the node's data type cannot hold.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
pub enum EncodeError {
    #[error("{0} is not a finite number")]
    NotFinite(f64),
    #[error("{v} is not a whole number, and the node holds {ty}")]
    NotWhole { v: f64, ty: NumType },
    #[error("{v} is outside the range of {ty} ({lo}..={hi})")]
    OutOfRange { v: f64, ty: NumType, lo: f64, hi: f64 },
    #[error("{0} is not a Boolean (write 0 or 1)")]
    NotBoolean(f64),
    #[error("{0} does not fit a Float")]
    TooBigForFloat(f64),
}

impl fmt::Display for NumType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scalar numeric (or Boolean) variant as an `f64`; `None` for anything else
/// (strings, arrays, structures, empty).
pub fn variant_to_f64(v: &Variant) -> Option<f64> {
    Some(match v {
        Variant::Boolean(b) => f64::from(u8::from(*b)),
        Variant::SByte(n) => f64::from(*n),
        Variant::Byte(n) => f64::from(*n),
        Variant::Int16(n) => f64::from(*n),
        Variant::UInt16(n) => f64::from(*n),
        Variant::Int32(n) => f64::from(*n),
        Variant::UInt32(n) => f64::from(*n),
        Variant::Int64(n) => *n as f64,
        Variant::UInt64(n) => *n as f64,
        Variant::Float(x) => f64::from(*x),
        Variant::Double(x) => *x,
        _ => return None,
    })
}

/// Ticks (100 ns) between 1601-01-01 (the OPC UA epoch) and 1970-01-01.
const UNIX_EPOCH_TICKS: i64 = 116_444_736_000_000_000;

/// An OPC UA timestamp as Unix milliseconds; `None` for the null timestamp.
pub fn timestamp_ms(t: &DateTime) -> Option<i64> {
    let ticks = t.checked_ticks();
    (ticks > 0 && ticks < i64::MAX).then(|| (ticks - UNIX_EPOCH_TICKS).div_euclid(10_000))
}

/// What a status code means for a value's quality.
///
/// | status                                                              | quality                  |
/// |---------------------------------------------------------------------|--------------------------|
/// | Good…                                                               | Good                     |
/// | Uncertain…                                                          | Uncertain (device flag)  |
/// | BadWaitingForInitialData                                            | Bad (not yet read)       |
/// | BadTimeout, BadRequestTimeout                                       | Bad (timeout)            |
/// | BadCommunicationError, BadNotConnected, BadNoCommunication, BadServerNotConnected, BadConnectionClosed, BadSecureChannelClosed, BadSessionClosed | Bad (comm failure) |
/// | BadNodeIdUnknown, BadNodeIdInvalid, BadAttributeIdInvalid, BadNotReadable, BadUserAccessDenied | Bad (device exception 2: no such readable address, as Modbus says it) |
/// | BadTypeMismatch, BadDataEncodingInvalid, BadDecodingError           | Bad (decode error)       |
/// | any other Bad…: the server says the value itself is bad (e.g. BadSensorFailure, BadOutOfService) | Bad (device flag) |
pub fn status_quality(s: StatusCode) -> Quality {
    if s.is_good() {
        return Quality::Good;
    }
    if s.is_uncertain() {
        return Quality::Uncertain(Reason::DeviceFlag);
    }
    let base = s.bits() & 0xFFFF_0000;
    let is = |c: StatusCode| c.bits() == base;
    let reason = if is(StatusCode::BadWaitingForInitialData) {
        Reason::NotYetRead
    } else if is(StatusCode::BadTimeout) || is(StatusCode::BadRequestTimeout) {
        Reason::Timeout
    } else if [
        StatusCode::BadCommunicationError,
        StatusCode::BadNotConnected,
        StatusCode::BadNoCommunication,
        StatusCode::BadServerNotConnected,
        StatusCode::BadConnectionClosed,
        StatusCode::BadSecureChannelClosed,
        StatusCode::BadSessionClosed,
    ]
    .into_iter()
    .any(is)
    {
        Reason::CommFailure
    } else if [
        StatusCode::BadNodeIdUnknown,
        StatusCode::BadNodeIdInvalid,
        StatusCode::BadAttributeIdInvalid,
        StatusCode::BadNotReadable,
        StatusCode::BadUserAccessDenied,
    ]
    .into_iter()
    .any(is)
    {
        Reason::DeviceException(2)
    } else if [StatusCode::BadTypeMismatch, StatusCode::BadDataEncodingInvalid, StatusCode::BadDecodingError]
        .into_iter()
        .any(is)
    {
        Reason::DecodeError
    } else {
        Reason::DeviceFlag
    };
    Quality::Bad(reason)
}

/// One value as delivered by the server, judged: the number (when usable), its
/// quality and the source timestamp.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Judged {
    pub value: Option<f64>,
    pub quality: Quality,
    pub source_ms: Option<i64>,
}

impl Judged {
    /// The reading of `point` this value makes, received at `recv_ms`.
    pub fn reading(&self, point: usize, recv_ms: i64) -> Reading {
        Reading { point, value: self.value, quality: self.quality, source_ms: self.source_ms, recv_ms }
    }
}

/// Judge a data value: status to quality, variant to number, source timestamp kept
/// (falling back to the server timestamp when the source gave none). A Good or
/// Uncertain status on a value that is not a number is a decode error; a Bad status
/// never carries a value.
pub fn judge(dv: &DataValue) -> Judged {
    let status = dv.status.unwrap_or(StatusCode::Good);
    let source_ms = dv.source_timestamp.as_ref().and_then(timestamp_ms).or_else(|| {
        // A server that stamps only its own time still says when the value was current.
        dv.server_timestamp.as_ref().and_then(timestamp_ms)
    });
    let quality = status_quality(status);
    if quality.is_bad() {
        return Judged { value: None, quality, source_ms };
    }
    match dv.value.as_ref().and_then(variant_to_f64) {
        Some(v) if v.is_finite() => Judged { value: Some(v), quality, source_ms },
        _ => Judged { value: None, quality: Quality::Bad(Reason::DecodeError), source_ms },
    }
}

/// `BadNotWritable (0x803B0000)`
pub fn status_text(s: StatusCode) -> String {
    format!("{} (0x{:08X})", s.sub_code().name(), s.bits())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_quality() {
        assert_eq!(status_quality(StatusCode::Good), Quality::Good);
        assert_eq!(status_quality(StatusCode::UncertainLastUsableValue), Quality::Uncertain(Reason::DeviceFlag));
        assert_eq!(status_quality(StatusCode::BadSensorFailure), Quality::Bad(Reason::DeviceFlag));
        assert_eq!(status_quality(StatusCode::BadNodeIdUnknown), Quality::Bad(Reason::DeviceException(2)));
        assert_eq!(status_quality(StatusCode::BadWaitingForInitialData), Quality::Bad(Reason::NotYetRead));
        assert_eq!(status_quality(StatusCode::BadTimeout), Quality::Bad(Reason::Timeout));
        assert_eq!(status_quality(StatusCode::BadNotConnected), Quality::Bad(Reason::CommFailure));
        assert_eq!(status_quality(StatusCode::BadTypeMismatch), Quality::Bad(Reason::DecodeError));
    }

    #[test]
    fn encode_keeps_the_node_type() {
        assert_eq!(NumType::Double.encode(1.5), Ok(Variant::Double(1.5)));
        assert_eq!(NumType::Float.encode(2.5), Ok(Variant::Float(2.5)));
        assert_eq!(NumType::Int32.encode(-7.0), Ok(Variant::Int32(-7)));
        assert_eq!(NumType::UInt16.encode(65535.0), Ok(Variant::UInt16(65535)));
        assert_eq!(NumType::Boolean.encode(1.0), Ok(Variant::Boolean(true)));
        assert!(NumType::Int32.encode(1.5).is_err());
        assert!(NumType::UInt16.encode(-1.0).is_err());
        assert!(NumType::Byte.encode(256.0).is_err());
        assert!(NumType::Boolean.encode(2.0).is_err());
        assert!(NumType::Double.encode(f64::NAN).is_err());
        assert!(NumType::Float.encode(1e300).is_err());
        for t in [NumType::Int16, NumType::UInt32, NumType::Int64, NumType::Double, NumType::Boolean] {
            let v = t.encode(1.0).unwrap_or(Variant::Empty);
            assert_eq!(NumType::of_variant(&v), Some(t));
            assert_eq!(variant_to_f64(&v), Some(1.0));
        }
    }

    #[test]
    fn timestamps_and_judging() {
        let t = DateTime::ymd_hms(2024, 1, 1, 0, 0, 10);
        assert_eq!(timestamp_ms(&t), Some(1_704_067_210_000));
        assert_eq!(timestamp_ms(&DateTime::null()), None);
        let dv = DataValue {
            value: Some(Variant::Float(2.25)),
            status: Some(StatusCode::Good),
            source_timestamp: Some(t),
            ..Default::default()
        };
        assert_eq!(
            judge(&dv),
            Judged { value: Some(2.25), quality: Quality::Good, source_ms: Some(1_704_067_210_000) }
        );
        let text = DataValue { value: Some(Variant::from("P-101")), ..Default::default() };
        assert_eq!(judge(&text).quality, Quality::Bad(Reason::DecodeError));
        let bad = DataValue {
            value: Some(Variant::Double(0.0)),
            status: Some(StatusCode::BadSensorFailure),
            ..Default::default()
        };
        assert_eq!(judge(&bad), Judged { value: None, quality: Quality::Bad(Reason::DeviceFlag), source_ms: None });
    }
}
