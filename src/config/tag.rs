//! The checks and fields every tag has, whatever its protocol: poll and staleness,
//! deadband, engineering limits, display decimals and the write rules (step, interval,
//! tolerance, settle). The protocol's own checks ([`super::modbus`], [`super::opcua`])
//! run first and end here.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_spanned::Spanned;

use super::ctx::Ctx;
use super::raw::RawTag;
use super::{Address, Tag, WriteRules, parse_duration};

/// One `[[tag]]` being checked: its index and fields, and what its device and asset gave
/// it (`device` is `usize::MAX` when the device is unknown, reported already); `shared`
/// holds what the tags built so far share.
pub(super) struct TagIn<'a> {
    pub(super) i: usize,
    pub(super) t: &'a RawTag,
    pub(super) device: usize,
    pub(super) asset: Option<usize>,
    pub(super) device_poll: Duration,
    pub(super) shared: &'a mut Shared,
}

/// The write rules as a hashable key (the bits of the numbers).
type RulesKey = (Option<u64>, Duration, bool, u64, Duration);

/// What the site's tags share instead of holding a copy each: units, descriptions and
/// write rules. The instances of a template all have the same, and most tags have the
/// default write rules; at 100,000 tags a copy each was about 150 bytes a tag.
#[derive(Default)]
pub(super) struct Shared {
    text: HashSet<Arc<str>>,
    rules: HashMap<RulesKey, Arc<WriteRules>>,
}

impl Shared {
    /// `s`, as the one shared copy of that text.
    fn text(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.text.get(s) {
            return Arc::clone(a);
        }
        let a: Arc<str> = Arc::from(s);
        self.text.insert(Arc::clone(&a));
        a
    }

    /// `r`, as the one shared copy of those rules.
    fn rules(&mut self, r: WriteRules) -> Arc<WriteRules> {
        let key = (r.max_step.map(f64::to_bits), r.min_interval, r.critical, r.tolerance.to_bits(), r.settle);
        Arc::clone(self.rules.entry(key).or_insert_with(|| Arc::new(r)))
    }
}

/// The checks and fields every tag has, whatever its protocol; `before` is the error
/// count when the tag's checks began (the tag is built only if none were added).
pub(super) fn finish(cx: &mut Ctx<'_>, tag: TagIn<'_>, raw_step: f64, address: Address, before: usize) -> Option<Tag> {
    let TagIn { i, t, device, asset, device_poll, shared } = tag;
    let p = |f: &str| format!("tag[{i}].{f}");
    let poll = t.poll.as_ref().and_then(|v| cx.duration(v, p("poll"))).unwrap_or(device_poll);
    let stale_after = t.stale_after.as_ref().and_then(|v| cx.duration(v, p("stale_after"))).unwrap_or(poll * 3);
    let min_interval = match &t.min_interval {
        None => Duration::ZERO,
        Some(v) => parse_duration(v.get_ref()).unwrap_or_else(|m| {
            cx.err(v.span(), p("min_interval"), m.to_string());
            Duration::ZERO
        }),
    };
    let settle = t.settle.as_ref().and_then(|v| cx.duration(v, p("settle"))).unwrap_or(Duration::from_secs(60));
    let positive = |cx: &mut Ctx<'_>, v: &Option<Spanned<f64>>, f: &str| match v {
        Some(x) if !(x.get_ref().is_finite() && *x.get_ref() > 0.0) => {
            cx.err(x.span(), p(f), "must be a finite number > 0");
            None
        }
        Some(x) => Some(*x.get_ref()),
        None => None,
    };
    let max_step = positive(cx, &t.max_step, "max_step");
    let tolerance = match &t.tolerance {
        Some(x) if !(x.get_ref().is_finite() && *x.get_ref() >= 0.0) => {
            cx.err(x.span(), p("tolerance"), "must be a finite number ≥ 0");
            raw_step
        }
        Some(x) => *x.get_ref(),
        None => raw_step,
    };
    if !t.writable.as_ref().is_some_and(|w| *w.get_ref()) {
        let fields = set_fields!(t; max_step, min_interval, tolerance);
        cx.refuse(&format!("tag[{i}]"), fields, "applies only to a writable tag");
    }
    let deadband = match &t.deadband {
        None => 0.0,
        Some(d) if *d.get_ref() >= 0.0 && d.get_ref().is_finite() => *d.get_ref(),
        Some(d) => {
            cx.err(d.span(), p("deadband"), "must be a finite number ≥ 0");
            0.0
        }
    };
    for (f, v) in [("low", &t.low), ("high", &t.high)] {
        if let Some(v) = v
            && !v.get_ref().is_finite()
        {
            cx.err(v.span(), p(f), "must be a finite number");
        }
    }
    if let (Some(lo), Some(hi)) = (&t.low, &t.high)
        && lo.get_ref() > hi.get_ref()
    {
        cx.err(lo.span(), p("low"), format!("low ({}) is above high ({})", lo.get_ref(), hi.get_ref()));
    }
    let writable = t.writable.as_ref().is_some_and(|w| *w.get_ref());
    let decimals = match &t.decimals {
        None => 2,
        Some(d) => u8::try_from(*d.get_ref()).ok().filter(|&n| n <= 9).unwrap_or_else(|| {
            cx.err(d.span(), p("decimals"), format!("{} is outside 0..=9", d.get_ref()));
            2
        }),
    };
    if t.units.chars().any(char::is_control) {
        cx.err(t.name.span(), p("units"), "must not contain control characters");
    }

    (cx.errors.len() == before).then(|| Tag {
        name: t.name.get_ref().clone(),
        device,
        asset,
        address,
        units: shared.text(&t.units),
        description: shared.text(&t.description),
        poll,
        deadband,
        low: t.low.as_ref().map(|v| *v.get_ref()),
        high: t.high.as_ref().map(|v| *v.get_ref()),
        writable,
        decimals,
        stale_after,
        write: shared.rules(WriteRules { max_step, min_interval, critical: t.critical, tolerance, settle }),
    })
}
