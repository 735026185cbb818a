//! The checks every write passes twice: when it is requested and again at the moment it
//! would be sent. Pure; the live plant state arrives as [`Live`].

use thiserror::Error;

use crate::config::Site;

/// What the core knows of the plant right now, by tag / device index.
#[derive(Clone, Copy, Debug)]
pub struct Live<'a> {
    pub values: &'a [Option<f64>],
    /// The tag's present quality is Good.
    pub good: &'a [bool],
    /// The device is connected and answering.
    pub device_ok: &'a [bool],
    /// The audit log can be written (fail closed).
    pub audit_ok: bool,
}

#[derive(Clone, Debug, PartialEq, Error)]
pub enum CheckError {
    #[error("tag is not writable")]
    NotWritable,
    #[error("value is not a finite number")]
    NotFinite,
    #[error("{value} is outside the engineering limits {low}..={high}")]
    OutOfLimits { value: f64, low: f64, high: f64 },
    #[error("a change of {step} is larger than the maximum step {max}")]
    StepTooLarge { step: f64, max: f64 },
    #[error("the last write was {ago_ms} ms ago; the minimum interval is {min_ms} ms")]
    TooSoon { ago_ms: i64, min_ms: i64 },
    #[error("the device is not healthy (disconnected or the tag's value is not Good)")]
    DeviceUnhealthy,
    #[error("the audit log cannot be written: control writes are refused")]
    AuditUnavailable,
    #[error("unknown tag")]
    UnknownTag,
}

pub fn check_write(
    site: &Site,
    live: &Live<'_>,
    tag: usize,
    value: f64,
    last_write_ms: Option<i64>,
    now_ms: i64,
) -> Result<(), CheckError> {
    let t = site.tags.get(tag).ok_or(CheckError::UnknownTag)?;
    if !live.audit_ok {
        return Err(CheckError::AuditUnavailable);
    }
    if !t.writable {
        return Err(CheckError::NotWritable);
    }
    if !value.is_finite() {
        return Err(CheckError::NotFinite);
    }
    let (low, high) = match (t.low, t.high) {
        (Some(l), Some(h)) => (l, h),
        // bools are writable without limits: 0 or 1 only
        _ => (0.0, 1.0),
    };
    if value < low || value > high {
        return Err(CheckError::OutOfLimits { value, low, high });
    }
    let current = live.values.get(tag).copied().flatten();
    let good = live.good.get(tag).copied().unwrap_or(false);
    if !live.device_ok.get(t.device).copied().unwrap_or(false) || !good {
        return Err(CheckError::DeviceUnhealthy);
    }
    if let (Some(max), Some(cur)) = (t.write.max_step, current) {
        let step = (value - cur).abs();
        if step > max + 1e-9 * max.abs() {
            return Err(CheckError::StepTooLarge { step, max });
        }
    }
    if let Some(last) = last_write_ms {
        let min_ms = i64::try_from(t.write.min_interval.as_millis()).unwrap_or(i64::MAX);
        let ago_ms = now_ms.saturating_sub(last);
        if ago_ms < min_ms {
            return Err(CheckError::TooSoon { ago_ms, min_ms });
        }
    }
    Ok(())
}
