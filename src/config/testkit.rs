//! Sites for unit tests across the crate: one head (site `t`, one PLC over Modbus/TCP named
//! `plc`) under the tags each test needs, so the fixture is written once.

use std::path::Path;

use super::Site;

/// Site `t` with one device, `plc`, over Modbus/TCP; the tags and any other tables follow.
pub const PLC: &str = r#"[site]
name = "t"
[[device]]
name = "plc"
protocol = "modbus-tcp"
endpoint = "127.0.0.1:502"
"#;

/// The setpoints the approval rules are tried on: `speed_sp` (scaled, a step and an
/// interval limit), `critical_sp` (critical: two signatures) and `flow`, read-only.
pub const SETPOINTS: &str = r#"[[tag]]
name = "speed_sp"
device = "plc"
address = "hr:0"
scale = 0.1
low = 0.0
high = 100.0
writable = true
max_step = 10.0
min_interval = "10s"
[[tag]]
name = "critical_sp"
device = "plc"
address = "hr:1"
low = 0.0
high = 50.0
writable = true
critical = true
[[tag]]
name = "flow"
device = "plc"
address = "ir:0"
low = 0.0
high = 200.0
"#;

/// A writable setpoint `sp` on `hr:0`, limits 0..100 (more keys of it may follow).
pub const SP: &str = r#"[[tag]]
name = "sp"
device = "plc"
address = "hr:0"
low = 0.0
high = 100.0
writable = true
"#;

/// Pump `P-1` (commissioned 2019-04-01): a writable `speed` (0..100, settles in 10 s)
/// on `hr:0` and its `flow` on `hr:1`.
pub const PUMP: &str = r#"[[asset]]
area = "a"
unit = "u"
name = "P-1"
commissioned = 2019-04-01
[[tag]]
name = "speed"
device = "plc"
asset = "P-1"
address = "hr:0"
low = 0.0
high = 100.0
writable = true
settle = "10s"
[[tag]]
name = "flow"
device = "plc"
asset = "P-1"
address = "hr:1"
"#;

/// The text of a test site: [`PLC`] then `tables`.
pub fn text(tables: &str) -> String {
    format!("{PLC}{tables}")
}

/// A valid test site: [`PLC`] then `tables`, parsed as `t.toml`.
pub fn site(tables: &str) -> Site {
    Site::parse(Path::new("t.toml"), &text(tables)).unwrap_or_else(|e| panic!("test site: {e}"))
}

/// Asserts that there are as many errors as `want` and each starts with its `want`.
pub fn assert_errors_start_with(errors: &[String], want: &[&str]) {
    assert_eq!(errors.len(), want.len(), "{errors:?}");
    for (got, want) in errors.iter().zip(want) {
        assert!(got.starts_with(want), "{got:?} should start with {want:?}");
    }
}

/// Every error `text` parsed as the site file `path` gives, as printed (empty when it loads).
pub fn parse_errors(path: &str, text: &str) -> Vec<String> {
    match Site::parse(Path::new(path), text) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}
