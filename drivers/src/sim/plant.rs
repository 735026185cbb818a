//! Physics of the demo pump skid: a supply tank feeding a centrifugal pump that pushes
//! through a control valve.
//!
//! - The pump speed ramps to its setpoint; the valve moves to its setpoint with a lag.
//! - Flow lags the operating point given by speed and valve opening (first order, 3 s).
//! - Discharge pressure follows the pump curve (speed² minus flow² losses); suction
//!   pressure follows tank level; a low level starves the pump (cavitation: flow falls,
//!   pressure and vibration get rough).
//! - Motor current follows the hydraulic power; motor temperature follows current
//!   with a slow thermal lag.
//! - Bearing vibration grows with speed and with wear, which accumulates with running
//!   time, so that anomaly and remaining-life models have something real to find.
//! - Faults can be injected: cavitation, a sticking valve, bearing wear and a sensor drift.

/// Register map (all 0-based protocol addresses, unit 1 by default).
pub mod map {
    /// Holding: pump speed setpoint, % × 10 (0..=1000), writable.
    pub const HR_SPEED_SP: u16 = 0;
    /// Holding: valve opening setpoint, % × 10 (0..=1000), writable.
    pub const HR_VALVE_SP: u16 = 1;
    /// Holding: supply inflow setpoint, m³/h × 10 (0..=1200), writable.
    pub const HR_INFLOW_SP: u16 = 2;
    /// Input: flow, m³/h × 10, u16.
    pub const IR_FLOW: u16 = 0;
    /// Input: discharge pressure, bar × 100, u16.
    pub const IR_DISCHARGE: u16 = 1;
    /// Input: suction pressure, bar × 100, i16.
    pub const IR_SUCTION: u16 = 2;
    /// Input: motor temperature, °C × 10, i16.
    pub const IR_MOTOR_TEMP: u16 = 3;
    /// Input: tank level, % × 10, u16.
    pub const IR_LEVEL: u16 = 4;
    /// Input: valve position, % × 10, u16.
    pub const IR_VALVE_POS: u16 = 5;
    /// Input: pump speed, % × 10, u16.
    pub const IR_SPEED: u16 = 6;
    /// Input: status word: bit 0 running, bit 1 cavitation warning, bit 2 high level.
    pub const IR_STATUS: u16 = 7;
    /// Input: bearing vibration, mm/s RMS, f32 ABCD (2 registers).
    pub const IR_VIBRATION: u16 = 8;
    /// Input: motor current, A, f32 CDAB (2 registers).
    pub const IR_CURRENT: u16 = 10;
    /// Input: running time, s, u32 ABCD (2 registers).
    pub const IR_RUN_SECONDS: u16 = 12;
    /// Input: total pumped volume, m³, f64 ABCD (4 registers).
    pub const IR_TOTAL: u16 = 14;
    /// Coil: pump run command, writable.
    pub const COIL_RUN: u16 = 0;
    /// Discrete input: pump running.
    pub const DI_RUNNING: u16 = 0;
    /// Discrete input: tank low-level switch.
    pub const DI_LOW_LEVEL: u16 = 1;
    /// Input: a bank of 96 auxiliary instrument channels (bearing and winding
    /// temperatures, °C × 10, u16), for sites with many tags per device.
    pub const IR_BANK: u16 = 32;
    pub const BANK_LEN: usize = 96;
    pub const HOLDING_LEN: usize = 16;
    pub const INPUT_LEN: usize = IR_BANK as usize + BANK_LEN;
    pub const BITS_LEN: usize = 8;
}

/// Faults the test harness (and the demo) can inject.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    /// Suction starved: the pump cavitates as if the level were very low.
    Cavitation,
    /// The valve stops following its setpoint.
    StickingValve,
    /// Bearing wear grows this many times faster than normal.
    BearingWear(f64),
    /// The flow transmitter drifts by this many m³/h per hour.
    SensorDrift(f64),
}

/// Deterministic noise source (xorshift64*), so runs are reproducible per seed.
#[derive(Clone, Debug)]
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Noise(seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Approximately standard normal (Irwin–Hall with 12 terms).
    pub fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
}

/// State of the skid. Units: %, m³/h, bar, °C, A, mm/s, s.
#[derive(Clone, Debug)]
pub struct PumpSkid {
    pub run_cmd: bool,
    pub speed_sp: f64,
    pub valve_sp: f64,
    pub inflow: f64,
    pub speed: f64,
    pub valve: f64,
    pub flow: f64,
    pub discharge: f64,
    pub suction: f64,
    pub level: f64,
    pub motor_temp: f64,
    pub current: f64,
    pub vibration: f64,
    /// Accumulated bearing wear (adds mm/s of vibration).
    pub wear: f64,
    pub run_seconds: f64,
    pub total: f64,
    pub drift: f64,
    pub faults: Vec<Fault>,
    /// Seconds of simulated time.
    pub t: f64,
    /// Multiplies normal wear; the demo runs accelerated so wear shows within minutes.
    pub wear_rate: f64,
    noise: Noise,
}

const Q_MAX: f64 = 120.0; // m³/h at full speed, valve wide open
const TANK_M3: f64 = 40.0; // m³ per 100 % of level
const AMBIENT: f64 = 25.0;

impl PumpSkid {
    pub fn new(seed: u64) -> Self {
        let mut s = PumpSkid {
            run_cmd: true,
            speed_sp: 75.0,
            valve_sp: 60.0,
            inflow: 55.0,
            speed: 75.0,
            valve: 60.0,
            flow: 0.0,
            discharge: 0.0,
            suction: 0.0,
            level: 55.0,
            motor_temp: 55.0,
            current: 0.0,
            vibration: 0.0,
            wear: 0.0,
            run_seconds: 0.0,
            total: 0.0,
            drift: 0.0,
            faults: Vec::new(),
            t: 0.0,
            wear_rate: 1.0,
            noise: Noise::new(seed),
        };
        s.flow = s.flow_target();
        s.step(0.0);
        s
    }

    fn has(&self, f: fn(&Fault) -> bool) -> bool {
        self.faults.iter().any(f)
    }

    /// Flow the pump would settle at for the present speed, valve and suction.
    fn flow_target(&self) -> f64 {
        if !self.run_cmd {
            return 0.0;
        }
        let n = self.speed / 100.0;
        let v = (self.valve / 100.0).clamp(0.0, 1.0);
        let starving = self.starvation();
        Q_MAX * n * v.sqrt() * (1.0 - 0.6 * starving)
    }

    /// 0 when the suction is healthy, up to 1 when the pump is starved.
    fn starvation(&self) -> f64 {
        let forced = if self.has(|f| matches!(f, Fault::Cavitation)) { 0.7 } else { 0.0 };
        let low = ((12.0 - self.level) / 12.0).clamp(0.0, 1.0);
        low.max(forced)
    }

    /// Advance the physics by `dt` seconds.
    pub fn step(&mut self, dt: f64) {
        self.t += dt;
        let target_speed = if self.run_cmd { self.speed_sp.clamp(0.0, 100.0) } else { 0.0 };
        let ramp = 10.0 * dt;
        self.speed += (target_speed - self.speed).clamp(-ramp, ramp);
        if !self.has(|f| matches!(f, Fault::StickingValve)) {
            let a = if dt > 0.0 { 1.0 - (-dt / 2.0).exp() } else { 0.0 };
            self.valve += (self.valve_sp.clamp(0.0, 100.0) - self.valve) * a;
        }
        let a_flow = if dt > 0.0 { 1.0 - (-dt / 3.0).exp() } else { 0.0 };
        self.flow += (self.flow_target() - self.flow) * a_flow;
        self.flow = self.flow.max(0.0);

        // Tank mass balance; spills over at 100 %.
        self.level += (self.inflow - self.flow) / 3600.0 * dt / TANK_M3 * 100.0;
        self.level = self.level.clamp(0.0, 100.0);

        let n = self.speed / 100.0;
        let starving = self.starvation();
        let rough = starving * 0.4 * self.noise.normal();
        self.suction = 0.15 + 0.6 * self.level / 100.0 - 0.00001 * self.flow * self.flow - 0.3 * starving;
        self.discharge =
            (self.suction + 7.0 * n * n - 0.00025 * self.flow * self.flow + rough + 0.02 * self.noise.normal())
                .max(0.0);
        let hydraulic = self.flow * (self.discharge - self.suction).max(0.0);
        self.current =
            if self.run_cmd && self.speed > 1.0 { 10.0 + 0.07 * hydraulic + 0.1 * self.noise.normal() } else { 0.0 };
        let t_target = AMBIENT + 30.0 * (self.current / 24.0).powi(2);
        let a_temp = if dt > 0.0 { 1.0 - (-dt / 300.0).exp() } else { 0.0 };
        self.motor_temp += (t_target - self.motor_temp) * a_temp;

        let wear_mult =
            self.faults.iter().find_map(|f| if let Fault::BearingWear(m) = f { Some(*m) } else { None }).unwrap_or(1.0);
        if self.speed > 1.0 {
            self.run_seconds += dt;
            // about 0.05 mm/s per running day at rate 1
            self.wear += dt * n * 0.05 / 86_400.0 * self.wear_rate * wear_mult;
        }
        self.vibration =
            (0.6 + 1.6 * n * n + self.wear + 3.0 * starving * self.noise.uniform() + 0.05 * self.noise.normal())
                .max(0.0);
        self.total += self.flow / 3600.0 * dt;
        if let Some(rate) = self.faults.iter().find_map(|f| if let Fault::SensorDrift(r) = f { Some(*r) } else { None })
        {
            self.drift += rate * dt / 3600.0;
        }
    }

    /// The flow transmitter's reading (true flow plus noise and any drift).
    pub fn measured_flow(&mut self) -> f64 {
        (self.flow + self.drift + 0.15 * self.noise.normal()).max(0.0)
    }

    pub fn cavitating(&self) -> bool {
        self.starvation() > 0.2
    }

    pub fn running(&self) -> bool {
        self.run_cmd && self.speed > 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settle(p: &mut PumpSkid, seconds: usize) {
        for _ in 0..seconds * 10 {
            p.step(0.1);
        }
    }

    #[test]
    fn flow_lags_its_setpoint_and_pressure_follows() {
        let mut p = PumpSkid::new(1);
        settle(&mut p, 60);
        let (q0, p0) = (p.flow, p.discharge);
        p.speed_sp = 95.0;
        p.step(0.1);
        assert!(p.flow - q0 < 1.0, "flow must lag a setpoint change");
        settle(&mut p, 30);
        assert!(p.flow > q0 + 10.0, "flow rises with speed: {q0} -> {}", p.flow);
        assert!(p.discharge > p0, "pressure follows speed");
    }

    #[test]
    fn motor_heats_slowly_with_load() {
        let mut p = PumpSkid::new(2);
        settle(&mut p, 10);
        let t0 = p.motor_temp;
        p.speed_sp = 100.0;
        p.valve_sp = 100.0;
        settle(&mut p, 600);
        assert!(p.motor_temp > t0 + 2.0, "{t0} -> {}", p.motor_temp);
    }

    #[test]
    fn wear_raises_vibration_and_faults_show() {
        let mut p = PumpSkid::new(3);
        settle(&mut p, 30);
        let v0 = p.vibration;
        p.faults.push(Fault::BearingWear(20_000.0));
        settle(&mut p, 120);
        assert!(p.vibration > v0 + 0.5, "{v0} -> {}", p.vibration);

        let mut c = PumpSkid::new(4);
        settle(&mut c, 30);
        let q = c.flow;
        c.faults.push(Fault::Cavitation);
        settle(&mut c, 30);
        assert!(c.cavitating() && c.flow < q * 0.8);

        let mut s = PumpSkid::new(5);
        s.faults.push(Fault::StickingValve);
        let v = s.valve;
        s.valve_sp = 10.0;
        settle(&mut s, 20);
        assert_eq!(s.valve, v);
    }

    #[test]
    fn stopping_the_pump_stops_the_flow() {
        let mut p = PumpSkid::new(6);
        p.run_cmd = false;
        settle(&mut p, 60);
        assert!(p.flow < 1.0 && !p.running());
    }
}
