//! Helpers for the core's unit tests: a state over a test site, and good readings of the
//! site's first device fed through the front door.

use std::sync::Arc;

use mimic_drivers::{DeviceEvent, DeviceStats, Quality, Reading};

use super::{Effect, Msg, State, update};
use crate::config::testkit;

/// A fresh state over the test site [`testkit::site`] built with `tables`.
pub fn state(tables: &str) -> State {
    State::new(Arc::new(testkit::site(tables)))
}

/// Good readings `values` of points 0, 1, … of device 0 (connected), received at `now`.
pub fn read<const N: usize>(state: &mut State, values: [f64; N], now: i64) {
    let readings = (0..N)
        .map(|p| Reading { point: p, value: Some(values[p]), quality: Quality::Good, recv_ms: now, source_ms: None })
        .collect();
    let stats = DeviceStats { connected: true, ..Default::default() };
    update(state, Msg::Device(DeviceEvent { device: 0, readings, stats }));
}

/// [`read`], then a tick at `now`: the tick's effects.
pub fn feed<const N: usize>(state: &mut State, values: [f64; N], now: i64) -> Vec<Effect> {
    read(state, values, now);
    update(state, Msg::Tick { now_ms: now }).effects
}
