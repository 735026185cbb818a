//! A second asset for the diagnosis evaluation, of another kind than the pump skid: an oil
//! cooler (exchanger E201, counter-flow, oil on the hot side, cooling water on the cold
//! side from pump P202 through the hand-set valve FV202, supplied by a cooling tower).
//! First-principles and small: effectiveness–NTU for the heat duty, first-order thermal
//! lags of the two outlets, a first-order valve and flow. No fault signatures are written
//! for it: the evaluation scores the ranking from the data alone.
//!
//! The root signal of each fault, from the physics below:
//! * fouling: `E201.hot_out_temp` (UA falls; the duty falls; both outlets move at once
//!   through the same lag, the oil outlet by ΔQ/C_hot, the water outlet by ΔQ/C_cold, and
//!   the cooler is sized with C_cold > C_hot, so the oil outlet moves most);
//! * bypass leak: `E201.hot_out_temp` (hot oil mixes into the outlet downstream of the
//!   bundle at once; the bundle's own duty changes only through its lag);
//! * pump wear: `E201.cold_flow` (the pump's head falls, the water flow with it through a
//!   2 s lag; the temperatures follow through the exchanger's lag);
//! * tower fan failure: `E201.cold_in_temp` (the basin warms with its own lag; the outlets
//!   follow through the exchanger's).

use mimic_drivers::sim::plant::Noise;

use super::cusum::{Residual, SignalSpec};

/// Oil: 850 kg/m³ × 2.1 kJ/(kg·K), in kW/K per m³/h.
const C_OIL: f64 = 850.0 * 2.1 / 3600.0;
/// Water: 1000 kg/m³ × 4.186 kJ/(kg·K), in kW/K per m³/h.
const C_WATER: f64 = 1000.0 * 4.186 / 3600.0;
/// Cooling water flow with the pump healthy and the valve wide open, m³/h.
const COLD_FLOW_MAX: f64 = 60.0;
/// Thermal time constant of each outlet (metal and fluid hold-up), s.
const TAU_OUTLET_S: f64 = 20.0;
const TAU_VALVE_S: f64 = 2.0;
const TAU_FLOW_S: f64 = 2.0;
/// The tower basin's time constant, s.
const TAU_BASIN_S: f64 = 120.0;
/// Time constant of the slow wander of the two inlet temperatures (AR(1)), s.
const TAU_WANDER_S: f64 = 120.0;

/// Faults the evaluation injects into the cooler.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExchangerFault {
    /// UA falls by this fraction of its clean value per second.
    Fouling(f64),
    /// This fraction of the oil bypasses the bundle through a leaking bypass valve.
    BypassLeak(f64),
    /// The pump's flow capacity falls by this fraction per second.
    PumpWear(f64),
    /// A tower fan stops: the basin settles this many K warmer.
    FanFailure(f64),
}

/// State of the cooler. Units: %, m³/h, °C, kW/K, s.
#[derive(Clone, Debug)]
pub struct Exchanger {
    /// Cooling valve command (hand-set).
    pub valve_sp: f64,
    pub valve: f64,
    pub hot_flow: f64,
    /// Oil inlet temperature without its wander.
    pub hot_in_base: f64,
    /// Basin equilibrium temperature (healthy tower).
    pub basin_base: f64,
    pub basin: f64,
    pub cold_flow: f64,
    /// Oil outlet of the bundle (before the bypass joins).
    pub bundle_out: f64,
    pub cold_out: f64,
    pub ua_clean: f64,
    pub ua: f64,
    /// Pump flow capacity, fraction of new.
    pub pump: f64,
    pub bypass: f64,
    pub faults: Vec<ExchangerFault>,
    /// Stationary σ of the inlet temperatures' slow wander, K (0: steady inlets).
    pub wander_k: f64,
    wander_hot: f64,
    wander_cold: f64,
    pub t: f64,
    noise: Noise,
}

/// Counter-flow effectiveness for `ntu` and capacity ratio `cr` (0..=1).
pub fn effectiveness(ntu: f64, cr: f64) -> f64 {
    if (1.0 - cr).abs() < 1e-6 {
        ntu / (1.0 + ntu)
    } else {
        let e = (-ntu * (1.0 - cr)).exp();
        (1.0 - e) / (1.0 - cr * e)
    }
}

impl Exchanger {
    /// A clean cooler at the operating point given, settled.
    pub fn new(seed: u64, hot_flow: f64, hot_in: f64, basin: f64, valve: f64, ntu_clean: f64) -> Exchanger {
        let mut x = Exchanger {
            valve_sp: valve,
            valve,
            hot_flow,
            hot_in_base: hot_in,
            basin_base: basin,
            basin,
            cold_flow: COLD_FLOW_MAX * valve / 100.0,
            bundle_out: hot_in,
            cold_out: basin,
            ua_clean: ntu_clean * hot_flow * C_OIL,
            ua: ntu_clean * hot_flow * C_OIL,
            pump: 1.0,
            bypass: 0.0,
            faults: Vec::new(),
            wander_k: 0.0,
            wander_hot: 0.0,
            wander_cold: 0.0,
            t: 0.0,
            noise: Noise::new(seed),
        };
        let (h, c) = x.steady_outlets();
        x.bundle_out = h;
        x.cold_out = c;
        x
    }

    pub fn hot_in(&self) -> f64 {
        self.hot_in_base + self.wander_hot
    }

    pub fn cold_in(&self) -> f64 {
        self.basin + self.wander_cold
    }

    /// The oil outlet as measured downstream: the bundle's outlet mixed with the bypass.
    pub fn hot_out(&self) -> f64 {
        (1.0 - self.bypass) * self.bundle_out + self.bypass * self.hot_in()
    }

    /// The outlets the bundle settles to at the present flows, temperatures and UA.
    pub fn steady_outlets(&self) -> (f64, f64) {
        let ch = (1.0 - self.bypass) * self.hot_flow * C_OIL;
        let cc = self.cold_flow.max(0.0) * C_WATER;
        let (th, tc) = (self.hot_in(), self.cold_in());
        let (cmin, cmax) = (ch.min(cc), ch.max(cc));
        if cmin <= 1e-9 {
            return (if ch <= 1e-9 { tc } else { th }, if cc <= 1e-9 { th } else { tc });
        }
        let q = effectiveness(self.ua / cmin, cmin / cmax) * cmin * (th - tc);
        (th - q / ch, tc + q / cc)
    }

    /// Advance by `dt` seconds.
    pub fn step(&mut self, dt: f64) {
        let mut basin_eq = self.basin_base;
        for f in &self.faults {
            match *f {
                ExchangerFault::Fouling(r) => self.ua = (self.ua - r * self.ua_clean * dt).max(0.2 * self.ua_clean),
                ExchangerFault::BypassLeak(b) => self.bypass = b,
                ExchangerFault::PumpWear(r) => self.pump = (self.pump - r * dt).max(0.3),
                ExchangerFault::FanFailure(rise) => basin_eq += rise,
            }
        }
        let lag = |x: &mut f64, target: f64, tau: f64| *x += (target - *x) * (dt / tau).min(1.0);
        lag(&mut self.basin, basin_eq, TAU_BASIN_S);
        let a = (-dt / TAU_WANDER_S).exp();
        let s = self.wander_k * (1.0 - a * a).sqrt();
        self.wander_hot = a * self.wander_hot + s * self.noise.normal();
        self.wander_cold = a * self.wander_cold + s * self.noise.normal();
        lag(&mut self.valve, self.valve_sp, TAU_VALVE_S);
        lag(&mut self.cold_flow, COLD_FLOW_MAX * self.pump * self.valve / 100.0, TAU_FLOW_S);
        let (h, c) = self.steady_outlets();
        lag(&mut self.bundle_out, h, TAU_OUTLET_S);
        lag(&mut self.cold_out, c, TAU_OUTLET_S);
        self.t += dt;
    }

    /// One sample as the store would see it, in [`exchanger_specs`] order: transmitter
    /// noise (0.05 K, 0.15 m³/h, 0.05 %), then the register's resolution.
    pub fn row(&mut self) -> Vec<f64> {
        let true_values = [
            (self.valve_sp, 0.0),
            (self.hot_flow, 0.15),
            (self.hot_in(), 0.05),
            (self.hot_out(), 0.05),
            (self.cold_in(), 0.05),
            (self.cold_out, 0.05),
            (self.cold_flow, 0.15),
            (self.valve, 0.05),
        ];
        true_values.iter().map(|&(v, sd)| ((v + sd * self.noise.normal()) / 0.1).round() * 0.1).collect()
    }
}

/// Column layout of the cooler's monitored rows.
pub fn exchanger_specs() -> Vec<SignalSpec> {
    let s = |name: &str, residual: Residual| SignalSpec { name: name.into(), resolution: 0.1, residual };
    vec![
        s("FV202.position_sp", Residual::Input),
        s("E201.hot_flow", Residual::Level),
        s("E201.hot_in_temp", Residual::Level),
        s("E201.hot_out_temp", Residual::Level),
        s("E201.cold_in_temp", Residual::Level),
        s("E201.cold_out_temp", Residual::Level),
        s("E201.cold_flow", Residual::Level),
        s("FV202.position", Residual::Tracking { command: 0, tau_s: TAU_VALVE_S }),
    ]
}
