//! The demo plant's register image: one [`PumpSkid`] per unit id, scanned every 100 ms
//! into registers like a PLC would, and the service answering requests on it (served
//! over TCP by [`super::tcp`], over a serial line by [`super::rtu`]).
//!
//! Reads outside the map answer exception 2 (illegal data address); writes of a
//! setpoint outside its range answer exception 3 (illegal data value), as a careful PLC
//! program would; unknown unit ids answer exception 11 (gateway target failed).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

use super::plant::{Fault, PumpSkid, map};
use crate::modbus::{ByteOrder, DataType, encode};

const SCAN: Duration = Duration::from_millis(100);

/// One unit: its plant and the register image of its last scan.
pub(super) struct Unit {
    plant: PumpSkid,
    /// The demo's wear and fault schedule, when serving `mimic demo`.
    demo: Option<super::demo::DemoRun>,
    pub(super) holding: [u16; map::HOLDING_LEN],
    pub(super) input: [u16; map::INPUT_LEN],
    pub(super) coils: [bool; map::BITS_LEN],
    pub(super) discrete: [bool; map::BITS_LEN],
    scans: u64,
}

fn put(regs: &mut [u16], at: u16, value: f64, dtype: DataType, order: ByteOrder) {
    if let Ok(words) = encode(value, dtype, order) {
        let at = usize::from(at);
        if let Some(dst) = regs.get_mut(at..at + words.len()) {
            dst.copy_from_slice(&words);
        }
    }
}

impl Unit {
    fn new(seed: u64, wear_rate: f64, demo: Option<&super::demo::DemoPlan>) -> Self {
        let (plant, demo) = match demo {
            Some(plan) => {
                let plant = super::demo::settled(seed);
                let run = super::demo::DemoRun::new(plan.clone(), &plant);
                (plant, Some(run))
            }
            None => {
                let mut plant = PumpSkid::new(seed);
                plant.wear_rate = wear_rate;
                (plant, None)
            }
        };
        let mut u = Unit {
            plant,
            demo,
            holding: [0; map::HOLDING_LEN],
            input: [0; map::INPUT_LEN],
            coils: [false; map::BITS_LEN],
            discrete: [false; map::BITS_LEN],
            scans: 0,
        };
        u.scan();
        u
    }

    /// Copy the plant's state into the register image (the PLC's scan).
    fn scan(&mut self) {
        let p = &mut self.plant;
        let flow = p.measured_flow();
        let h = &mut self.holding;
        put(h, map::HR_SPEED_SP, (p.speed_sp * 10.0).round(), DataType::U16, ByteOrder::Abcd);
        put(h, map::HR_VALVE_SP, (p.valve_sp * 10.0).round(), DataType::U16, ByteOrder::Abcd);
        put(h, map::HR_INFLOW_SP, (p.inflow * 10.0).round(), DataType::U16, ByteOrder::Abcd);
        let i = &mut self.input;
        put(i, map::IR_FLOW, (flow * 10.0).round(), DataType::U16, ByteOrder::Abcd);
        put(i, map::IR_DISCHARGE, (p.discharge * 100.0).round(), DataType::U16, ByteOrder::Abcd);
        put(i, map::IR_SUCTION, (p.suction * 100.0).round(), DataType::I16, ByteOrder::Abcd);
        put(i, map::IR_MOTOR_TEMP, (p.motor_temp * 10.0).round(), DataType::I16, ByteOrder::Abcd);
        put(i, map::IR_LEVEL, (p.level * 10.0).round(), DataType::U16, ByteOrder::Abcd);
        put(i, map::IR_VALVE_POS, (p.valve * 10.0).round(), DataType::U16, ByteOrder::Abcd);
        put(i, map::IR_SPEED, (p.speed * 10.0).round(), DataType::U16, ByteOrder::Abcd);
        let status = u16::from(p.running()) | (u16::from(p.cavitating()) << 1) | (u16::from(p.level > 95.0) << 2);
        put(i, map::IR_STATUS, f64::from(status), DataType::U16, ByteOrder::Abcd);
        put(i, map::IR_VIBRATION, p.vibration, DataType::F32, ByteOrder::Abcd);
        put(i, map::IR_CURRENT, p.current, DataType::F32, ByteOrder::Cdab);
        put(i, map::IR_RUN_SECONDS, p.run_seconds.floor(), DataType::U32, ByteOrder::Abcd);
        put(i, map::IR_TOTAL, p.total, DataType::F64, ByteOrder::Abcd);
        self.coils[usize::from(map::COIL_RUN)] = p.run_cmd;
        self.discrete[usize::from(map::DI_RUNNING)] = p.running();
        self.discrete[usize::from(map::DI_LOW_LEVEL)] = p.level < 10.0;
        // the auxiliary bank: temperatures that follow the motor's, each with its own
        // offset and a slow ripple, so every channel moves now and then
        self.scans = self.scans.wrapping_add(1);
        let base = p.motor_temp;
        for (k, reg) in self.input[usize::from(map::IR_BANK)..].iter_mut().enumerate() {
            let ripple = ((self.scans / 10 + k as u64 * 7) % 21) as f64 / 10.0 - 1.0;
            *reg = ((base - 5.0 + (k % 12) as f64 * 1.5 + ripple) * 10.0).round().clamp(0.0, 65535.0) as u16;
        }
    }

    pub(super) fn write_holding(&mut self, addr: u16, word: u16) -> Result<(), ExceptionCode> {
        let v = f64::from(word) / 10.0;
        match addr {
            map::HR_SPEED_SP if word <= 1000 => self.plant.speed_sp = v,
            map::HR_VALVE_SP if word <= 1000 => self.plant.valve_sp = v,
            map::HR_INFLOW_SP if word <= 1200 => self.plant.inflow = v,
            map::HR_SPEED_SP | map::HR_VALVE_SP | map::HR_INFLOW_SP => {
                return Err(ExceptionCode::IllegalDataValue);
            }
            _ => return Err(ExceptionCode::IllegalDataAddress),
        }
        self.holding[usize::from(addr)] = word;
        Ok(())
    }

    pub(super) fn write_coil(&mut self, addr: u16, on: bool) -> Result<(), ExceptionCode> {
        if addr != map::COIL_RUN {
            return Err(ExceptionCode::IllegalDataAddress);
        }
        self.plant.run_cmd = on;
        self.coils[usize::from(addr)] = on;
        Ok(())
    }
}

fn slice<T: Copy>(table: &[T], addr: u16, count: u16) -> Result<Vec<T>, ExceptionCode> {
    let (a, n) = (usize::from(addr), usize::from(count));
    if n == 0 {
        return Err(ExceptionCode::IllegalDataValue);
    }
    table.get(a..a + n).map(<[T]>::to_vec).ok_or(ExceptionCode::IllegalDataAddress)
}

/// A write-multiple request: `write` of each value at `addr` and the addresses after it;
/// the count written.
fn write_each<T: Copy>(
    addr: u16,
    values: &[T],
    mut write: impl FnMut(u16, T) -> Result<(), ExceptionCode>,
) -> Result<u16, ExceptionCode> {
    for (k, v) in values.iter().enumerate() {
        let at = u16::try_from(usize::from(addr) + k).map_err(|_| ExceptionCode::IllegalDataAddress)?;
        write(at, *v)?;
    }
    u16::try_from(values.len()).map_err(|_| ExceptionCode::IllegalDataValue)
}

pub(super) struct Shared {
    pub(super) units: Vec<Unit>,
}

/// Handle to a running simulator; dropping it stops the server and the physics.
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    tasks: Vec<JoinHandle<()>>,
}

impl SimHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Inject a fault into the plant behind `unit` (1-based).
    pub fn inject(&self, unit: u8, fault: Fault) {
        if let Some(u) = self.lock().units.get_mut(usize::from(unit).wrapping_sub(1)) {
            u.plant.faults.push(fault);
        }
    }

    /// Remove every injected fault from `unit`.
    pub fn clear_faults(&self, unit: u8) {
        if let Some(u) = self.lock().units.get_mut(usize::from(unit).wrapping_sub(1)) {
            u.plant.faults.clear();
        }
    }

    /// A copy of the plant state behind `unit`.
    pub fn plant(&self, unit: u8) -> Option<PumpSkid> {
        self.lock().units.get(usize::from(unit).wrapping_sub(1)).map(|u| u.plant.clone())
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

#[derive(Clone)]
pub(super) struct SimService {
    pub(super) shared: Arc<Mutex<Shared>>,
}

impl SimService {
    pub(super) fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers a request decoded by tokio-modbus (the RTU server).
    pub(super) fn handle(&self, req: SlaveRequest<'static>) -> Result<Response, ExceptionCode> {
        let mut g = self.lock();
        // Unit 0 (broadcast) and 255 (TCP "not used") address unit 1.
        let idx = match req.slave {
            0 | 255 => 0,
            n => usize::from(n) - 1,
        };
        let unit = g.units.get_mut(idx).ok_or(ExceptionCode::GatewayTargetDevice)?;
        match req.request {
            Request::ReadHoldingRegisters(a, n) => slice(&unit.holding, a, n).map(Response::ReadHoldingRegisters),
            Request::ReadInputRegisters(a, n) => slice(&unit.input, a, n).map(Response::ReadInputRegisters),
            Request::ReadCoils(a, n) => slice(&unit.coils, a, n).map(Response::ReadCoils),
            Request::ReadDiscreteInputs(a, n) => slice(&unit.discrete, a, n).map(Response::ReadDiscreteInputs),
            Request::WriteSingleRegister(a, w) => {
                unit.write_holding(a, w).map(|()| Response::WriteSingleRegister(a, w))
            }
            Request::WriteMultipleRegisters(a, words) => {
                write_each(a, &words, |at, w| unit.write_holding(at, w)).map(|n| Response::WriteMultipleRegisters(a, n))
            }
            Request::WriteSingleCoil(a, on) => unit.write_coil(a, on).map(|()| Response::WriteSingleCoil(a, on)),
            Request::WriteMultipleCoils(a, bits) => {
                write_each(a, &bits, |at, on| unit.write_coil(at, on)).map(|n| Response::WriteMultipleCoils(a, n))
            }
            _ => Err(ExceptionCode::IllegalFunction),
        }
    }
}

/// The plants and the task stepping them (shared by the TCP and RTU servers).
pub(super) fn start_plant(
    units: u8,
    seed: u64,
    wear_rate: f64,
    demo: Option<&super::demo::DemoPlan>,
) -> (Arc<Mutex<Shared>>, JoinHandle<()>) {
    let shared = Arc::new(Mutex::new(Shared {
        units: (0..units.max(1)).map(|u| Unit::new(seed.wrapping_add(u64::from(u)), wear_rate, demo)).collect(),
    }));
    let physics = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SCAN);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let mut g = shared.lock().unwrap_or_else(|e| e.into_inner());
                for u in &mut g.units {
                    if let Some(d) = &mut u.demo {
                        d.apply(&mut u.plant);
                    }
                    u.plant.step(SCAN.as_secs_f64());
                    u.scan();
                }
            }
        })
    };
    (shared, physics)
}

impl SimHandle {
    pub(super) fn with_socket(addr: SocketAddr, shared: Arc<Mutex<Shared>>, tasks: Vec<JoinHandle<()>>) -> SimHandle {
        SimHandle { addr, shared, tasks }
    }

    /// A handle over plants served without a socket (the RTU server); `local_addr` is
    /// then `0.0.0.0:0`.
    pub(super) fn without_socket(shared: Arc<Mutex<Shared>>, tasks: Vec<JoinHandle<()>>) -> SimHandle {
        SimHandle { addr: SocketAddr::from(([0, 0, 0, 0], 0)), shared, tasks }
    }

    /// Number of units served.
    pub fn units(&self) -> usize {
        self.lock().units.len()
    }
}
