//! `mimic sim --rtu` checked by an independent Modbus RTU master, `mbpoll`, over a socat
//! pty pair: the demo pump skids answer as units 1..=N on one line with the documented
//! register map, accept a setpoint write, and a unit id nobody has stays silent.

mod support;

use support::binary::sim_rtu;
use support::mbpoll::{mbpoll, read_u16, refused};
use support::pty::pty_pair;

#[test]
fn mbpoll_reads_and_writes_the_demo_plant_over_rtu() {
    let pair = pty_pair();
    let _sim = sim_rtu(&pair.a, 2);
    for unit in [1u8, 2] {
        let ir = read_u16(&pair.b, unit, "3", 0, 8);
        let [flow, _discharge, _suction, _temp, level, _valve, speed, status] = ir[..] else { unreachable!() };
        assert!((400..=1000).contains(&flow), "unit {unit} flow ir:0 = {flow}; ir={ir:?}");
        assert!(level <= 1000, "unit {unit} level ir:4 = {level}; ir={ir:?}");
        assert_eq!(speed, 750, "unit {unit} speed ir:6 follows the 75 % setpoint; ir={ir:?}");
        assert_eq!(status & 1, 1, "unit {unit} running; ir={ir:?}");
    }
    let w = mbpoll(&pair.b, 2, &["-t", "4", "-r", "0"], &["800"]);
    assert!(w.ok() && w.stdout.contains("Written 1 references"), "write hr:0=800 on unit 2: {w}");
    assert_eq!(read_u16(&pair.b, 2, "4", 0, 1), vec![800]);
    assert_eq!(read_u16(&pair.b, 1, "4", 0, 1), vec![750], "unit 1 untouched");

    let r = refused(&pair.b, 3, &["-t", "3", "-r", "0", "-c", "1"], &[], "unit 3 (not on the line)");
    assert!(r.stderr.contains("timed out"), "a missing unit is silent (no exception): {r}");
}
