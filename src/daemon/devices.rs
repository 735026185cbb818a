//! The device tasks: one per device (one per serial line for the Modbus RTU units sharing
//! it), each with its poll groups and its ordered write queue. Drivers live in the
//! `mimic-drivers` crate; this is where the site's devices meet them.

use mimic_drivers::device::run_device;
use mimic_drivers::modbus::{ModbusTcp, ModbusTcpConfig};
use mimic_drivers::{DeviceEvent, PollGroup, WriteRequest};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::{Address, Protocol, Site};

/// Start every device of the site, sending readings on `dev_tx`; their tasks, and one
/// write queue per device (by device index).
pub fn start(
    site: &Site,
    device_points: &[Vec<usize>],
    dev_tx: &mpsc::Sender<DeviceEvent>,
) -> (Vec<JoinHandle<()>>, Vec<mpsc::Sender<WriteRequest>>) {
    let mut tasks = Vec::new();
    let mut write_queues = Vec::new();
    // One task per serial line, shared by the Modbus RTU units on it (by port).
    let mut lines: std::collections::HashMap<String, mimic_drivers::rtu::LineHandle> = Default::default();
    for (di, dev) in site.devices.iter().enumerate() {
        let tag_ix = &device_points[di];
        let mut groups: Vec<PollGroup> = Vec::new();
        for (pi, &ti) in tag_ix.iter().enumerate() {
            let period = site.tags[ti].poll;
            match groups.iter_mut().find(|g| g.period == period) {
                Some(g) => g.points.push(pi),
                None => groups.push(PollGroup { period, points: vec![pi] }),
            }
        }
        match &dev.protocol {
            Protocol::ModbusTcp { endpoint, unit, timeout, max_gap, max_in_flight } => {
                let points = modbus_points(site, tag_ix);
                let cfg = ModbusTcpConfig {
                    endpoint: endpoint.clone(),
                    unit: *unit,
                    timeout: *timeout,
                    max_gap: *max_gap,
                    max_in_flight: *max_in_flight,
                };
                let driver = ModbusTcp::new(cfg, points);
                let (write_tx, write_rx) = mpsc::channel(64);
                write_queues.push(write_tx);
                tasks.push(tokio::spawn(run_device(di, driver, groups, dev_tx.clone(), write_rx)));
            }
            Protocol::ModbusRtu { line, unit, timeout, max_gap } => {
                let handle = lines
                    .entry(line.serial.port.clone())
                    .or_insert_with(|| mimic_drivers::rtu::LineHandle::spawn(line.clone()))
                    .clone();
                let points = modbus_points(site, tag_ix);
                let cfg = mimic_drivers::rtu::ModbusRtuConfig {
                    port: line.serial.port.clone(),
                    unit: *unit,
                    timeout: *timeout,
                    max_gap: *max_gap,
                };
                let driver = mimic_drivers::rtu::ModbusRtu::new(cfg, handle, points);
                let (write_tx, write_rx) = mpsc::channel(64);
                write_queues.push(write_tx);
                tasks.push(tokio::spawn(run_device(di, driver, groups, dev_tx.clone(), write_rx)));
            }
            Protocol::Ascii { serial, profile, timeout } => {
                let cfg = mimic_drivers::ascii::AsciiConfig {
                    serial: serial.clone(),
                    profile: profile.clone(),
                    timeout: *timeout,
                };
                let driver = mimic_drivers::ascii::AsciiDriver::new(cfg, ascii_points(site, tag_ix));
                let (write_tx, write_rx) = mpsc::channel(64);
                write_queues.push(write_tx);
                tasks.push(tokio::spawn(run_device(di, driver, groups, dev_tx.clone(), write_rx)));
            }
            Protocol::OpcUa(cfg) => {
                let points = tag_ix
                    .iter()
                    .filter_map(|&ti| match &site.tags[ti].address {
                        Address::OpcUa(p) => Some((**p).clone()),
                        _ => None,
                    })
                    .collect();
                let driver = mimic_drivers::opcua::OpcUa::new(cfg.clone(), points);
                let (write_tx, write_rx) = mpsc::channel(64);
                write_queues.push(write_tx);
                tasks.push(tokio::spawn(run_device(di, driver, groups, dev_tx.clone(), write_rx)));
            }
        }
    }
    (tasks, write_queues)
}

/// The Modbus addresses of a device's points, in point order (the loader only gives a
/// Modbus device Modbus addresses; anything else would be a loader bug, read as ir:0).
fn modbus_points(site: &Site, tag_ix: &[usize]) -> Vec<mimic_drivers::modbus::ModbusPoint> {
    tag_ix
        .iter()
        .map(|&ti| match &site.tags[ti].address {
            Address::Modbus(p) => p.clone(),
            Address::Ascii(_) | Address::OpcUa(_) => mimic_drivers::modbus::ModbusPoint {
                table: mimic_drivers::modbus::Table::InputRegister,
                address: 0,
                dtype: mimic_drivers::modbus::DataType::U16,
                order: Default::default(),
                bit: None,
                scale: 1.0,
                offset: 0.0,
            },
        })
        .collect()
}

/// The instrument fields of an ASCII device's points (see [`modbus_points`]).
fn ascii_points(site: &Site, tag_ix: &[usize]) -> Vec<mimic_drivers::ascii::AsciiPoint> {
    tag_ix
        .iter()
        .map(|&ti| match &site.tags[ti].address {
            Address::Ascii(p) => (**p).clone(),
            Address::Modbus(_) | Address::OpcUa(_) => {
                mimic_drivers::ascii::AsciiPoint { line: usize::MAX, field: String::new(), scale: 1.0, offset: 0.0 }
            }
        })
        .collect()
}
