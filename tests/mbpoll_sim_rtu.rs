//! `mimic sim --rtu` checked by an independent Modbus RTU master, `mbpoll`, over a socat
//! pty pair: the demo pump skids answer as units 1..=N on one line with the documented
//! register map, accept a setpoint write, and a unit id nobody has stays silent.

mod common;
mod mimic_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::Peer;
use mimic_support::{Run, mimic_cmd, run};

/// `mbpoll -m rtu -b 19200 -P none -a UNIT -1 -q -0 -o 1 ARGS... DEVICE [VALUES...]`
fn mbpoll(dev: &Path, unit: u8, args: &[&str], values: &[&str]) -> Run {
    let mut cmd = Command::new(common::require_tool("mbpoll"));
    cmd.args(["-m", "rtu", "-b", "19200", "-P", "none", "-a", &unit.to_string(), "-1", "-q", "-0", "-o", "1"])
        .args(args)
        .arg(dev)
        .args(values);
    run(cmd, Duration::from_secs(20))
}

fn read_u16(dev: &Path, unit: u8, table: &str, start: u16, count: u16) -> Vec<u16> {
    let r = mbpoll(dev, unit, &["-t", table, "-r", &start.to_string(), "-c", &count.to_string()], &[]);
    assert!(r.ok(), "mbpoll read unit {unit} {table}:{start}+{count} failed: {r}");
    let vals: Vec<u16> = r
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix('[')?.split_once("]:").map(|(_, v)| v.trim().to_string()))
        .map(|v| v.split_whitespace().next().unwrap_or("").parse::<u16>().unwrap_or_else(|e| panic!("{v:?}: {e}\n{r}")))
        .collect();
    assert_eq!(vals.len(), usize::from(count), "{r}");
    vals
}

/// `mimic sim --rtu <pty end a> --units 2`, once it says it is serving.
fn sim(a: &Path) -> Peer {
    let mut cmd = mimic_cmd();
    cmd.arg("sim").arg("--rtu").arg(a).args(["--units", "2"]);
    let (mut peer, lines) = Peer::spawn("mimic sim --rtu", cmd);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(l) if l.contains("serving Modbus RTU on") => return peer,
            Ok(_) => {}
            Err(_) => {
                panic!("mimic sim --rtu did not start: running {}; stderr:\n{}", peer.is_running(), peer.stderr())
            }
        }
    }
}

#[test]
fn mbpoll_reads_and_writes_the_demo_plant_over_rtu() {
    let pair = common::pty::pty_pair();
    let _sim = sim(&pair.a);
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

    let r = mbpoll(&pair.b, 3, &["-t", "3", "-r", "0", "-c", "1"], &[]);
    assert!(!r.ok(), "unit 3 does not exist on the line: {r}");
    assert!(r.stderr.contains("timed out"), "a missing unit is silent (no exception): {r}");
}
