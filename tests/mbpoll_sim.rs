//! `mimic sim` read and written by an independent Modbus client, `mbpoll`.
//!
//! The simulated pump skid must look physically plausible through the documented
//! register map (profiles/demo-site.toml, drivers/src/sim/plant.rs `map`), accept
//! in-range setpoint writes, and answer the documented Modbus exceptions.

mod support;

use std::time::Duration;

use support::binary::Sim;
use support::mbpoll::{mbpoll, parse, read_u16, refused};
use support::poll;

#[test]
fn sim_serves_plausible_demo_plant() {
    let sim = Sim::start(&[]);
    let ir = read_u16(sim.port, 1, "3", 0, 8);
    let [flow, discharge, _suction, motor_temp, level, valve, speed, status] = ir[..] else { unreachable!() };
    assert!((400..=1000).contains(&flow), "flow ir:0 = {flow} (×0.1 m³/h) not in 40..100 m³/h; ir={ir:?}");
    assert!(level <= 1000, "level ir:4 = {level} (×0.1 %) not in 0..100 %; ir={ir:?}");
    assert_eq!(speed, 750, "speed ir:6 should equal the 75.0 % setpoint; ir={ir:?}");
    assert!(discharge > 0 && discharge <= 1000, "discharge pressure ir:1 = {discharge} (×0.01 bar); ir={ir:?}");
    // motor temperature is an i16 ×0.1 °C; the motor runs warm, well under 150 °C
    let temp = i16::from_ne_bytes(motor_temp.to_ne_bytes());
    assert!((0..=1500).contains(&temp), "motor temp ir:3 = {temp} (×0.1 °C); ir={ir:?}");
    assert!(valve <= 1000, "valve position ir:5 = {valve}; ir={ir:?}");
    assert_eq!(status & 1, 1, "status ir:7 bit 0 (running) should be set; ir={ir:?}");

    let hr = read_u16(sim.port, 1, "4", 0, 3);
    assert_eq!(hr, vec![750, 600, 550], "default setpoints hr:0..2");

    // f32 ABCD vibration at ir:8 (two registers); mbpoll shows one value at ref 8
    let r = mbpoll(sim.port, 1, &["-t", "3:float", "-B", "-r", "8", "-c", "1"], &[]);
    assert!(r.ok(), "mbpoll float read failed: {r}");
    let vals = parse(&r.stdout);
    assert_eq!(vals.len(), 1, "one float expected: {r}");
    assert_eq!(vals[0].0, 8, "float reference: {r}");
    let vib: f64 = vals[0].1.parse().unwrap_or_else(|e| panic!("bad float {:?}: {e}", vals[0].1));
    assert!((0.5..=5.0).contains(&vib), "vibration ir:8 = {vib} mm/s not in 0.5..5");
}

#[test]
fn setpoint_write_is_followed_by_the_pump() {
    let sim = Sim::start(&[]);
    let w = mbpoll(sim.port, 1, &["-t", "4", "-r", "0"], &["800"]);
    assert!(w.ok(), "write hr:0=800 failed: {w}");
    assert!(w.stdout.contains("Written 1 references"), "write confirmation: {w}");
    assert_eq!(read_u16(sim.port, 1, "4", 0, 1), vec![800], "hr:0 read back");

    // The speed ramps at 10 %/s: 75 → 80 % takes ~0.5 s of simulated time.
    let mut last = Vec::new();
    let reached = poll(Duration::from_secs(15), || {
        last = read_u16(sim.port, 1, "3", 6, 1);
        (last[0] == 800).then_some(())
    });
    assert!(reached.is_some(), "speed ir:6 did not reach 800 within 15 s (last {last:?})");
}

#[test]
fn out_of_range_write_is_illegal_data_value() {
    let sim = Sim::start(&[]);
    let w = refused(sim.port, 1, &["-t", "4", "-r", "0"], &["5000"], "writing 5000 to hr:0");
    assert!(w.stderr.contains("Illegal data value"), "expected `Illegal data value`: {w}");
    // the setpoint is unchanged
    assert_eq!(read_u16(sim.port, 1, "4", 0, 1), vec![750]);
}

#[test]
fn read_outside_the_map_is_illegal_data_address() {
    let sim = Sim::start(&[]);
    let r = refused(sim.port, 1, &["-t", "3", "-r", "500", "-c", "1"], &[], "reading ir:500");
    assert!(r.stderr.contains("Illegal data address"), "expected `Illegal data address`: {r}");
}

#[test]
fn unknown_unit_is_an_exception_and_units_flag_adds_units() {
    let sim = Sim::start(&[]);
    let r = refused(sim.port, 9, &["-t", "3", "-r", "0", "-c", "1"], &[], "unit 9 on a 1-unit sim");
    assert!(r.stderr.contains("failed"), "expected an mbpoll error line: {r}");
    // an exception answer, not a hang-up or a timeout
    assert!(
        !r.stderr.contains("timed out")
            && !r.stderr.contains("reset by peer")
            && !r.stderr.contains("Connection failed"),
        "expected a Modbus exception for unit 9, got a transport error: {r}"
    );
    refused(sim.port, 3, &["-t", "3", "-r", "0", "-c", "1"], &[], "unit 3 on a 1-unit sim");
    drop(sim);

    let sim3 = Sim::start(&["--units", "3"]);
    for unit in 1..=3 {
        let speed = read_u16(sim3.port, unit, "3", 6, 1);
        assert_eq!(speed, vec![750], "unit {unit} speed");
    }
    refused(sim3.port, 4, &["-t", "3", "-r", "0", "-c", "1"], &[], "unit 4 on a 3-unit sim");
}
