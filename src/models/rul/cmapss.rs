//! The C-MAPSS turbofan files and the standard evaluation protocol around them.
//!
//! A file holds one row per engine cycle: unit, cycle, three operational settings and 21
//! sensors, space-separated (26 columns, usually a trailing space). Training files run every
//! engine to failure; test files stop each engine some cycles before failure and come with a
//! RUL file holding the true remaining cycles of each test engine, one integer per line.
//!
//! The protocol used throughout the literature (and here): keep sensors
//! 2, 3, 4, 7, 8, 9, 11, 12, 13, 14, 15, 17, 20, 21; cap the RUL target at 125 cycles
//! (piecewise-linear degradation); score only the last cycle of each test engine, by RMSE and
//! by the PHM08 score, which punishes late predictions harder than early ones.

use std::path::Path;

use super::RulError;

/// Columns after unit and cycle: 3 operational settings then 21 sensors.
pub const CHANNELS: usize = 24;
/// The sensors (1-based, as in the data set's documentation) that carry degradation.
pub const SENSORS: [usize; 14] = [2, 3, 4, 7, 8, 9, 11, 12, 13, 14, 15, 17, 20, 21];
/// The RUL target is capped here: early in life an engine's remaining life is not observable.
pub const RUL_CAP: f64 = 125.0;

/// One engine's trajectory: `rows[i]` is cycle `i + 1`, holding [`CHANNELS`] values.
#[derive(Clone, Debug, PartialEq)]
pub struct Engine {
    pub unit: u32,
    pub rows: Vec<[f64; CHANNELS]>,
}

impl Engine {
    pub fn cycles(&self) -> usize {
        self.rows.len()
    }

    /// The values of one sensor (1-based number) over the trajectory.
    pub fn sensor(&self, number: usize) -> impl Iterator<Item = f64> + '_ {
        self.rows.iter().map(move |r| r[2 + number])
    }

    /// The selected sensors ([`SENSORS`]) of every cycle.
    pub fn selected(&self) -> Vec<Vec<f64>> {
        self.rows.iter().map(|r| SENSORS.iter().map(|&s| r[2 + s]).collect()).collect()
    }

    /// The first `cycles` cycles of this engine (a test-style truncated trajectory).
    pub fn truncated(&self, cycles: usize) -> Engine {
        Engine { unit: self.unit, rows: self.rows[..cycles.min(self.rows.len())].to_vec() }
    }
}

/// The capped RUL label of cycle index `i` (0-based) of an engine run to failure after `len`
/// cycles: the last cycle has RUL 0.
pub fn capped_rul(i: usize, len: usize) -> f64 {
    ((len - 1 - i) as f64).min(RUL_CAP)
}

/// Reads a C-MAPSS file (train or test format).
pub fn load(path: &Path) -> Result<Vec<Engine>, RulError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| RulError::Io { path: path.display().to_string(), source: e })?;
    parse(&path.display().to_string(), &text)
}

/// Parses C-MAPSS text; `name` only labels errors (`name:line: message`).
pub fn parse(name: &str, text: &str) -> Result<Vec<Engine>, RulError> {
    let bad = |line: usize, message: String| RulError::Parse { file: name.to_string(), line, message };
    let mut engines: Vec<Engine> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != CHANNELS + 2 {
            return Err(bad(n, format!("expected {} columns, found {}", CHANNELS + 2, fields.len())));
        }
        let unit: u32 =
            fields[0].parse().map_err(|_| bad(n, format!("unit `{}` is not a whole number", clip(fields[0]))))?;
        let cycle: usize =
            fields[1].parse().map_err(|_| bad(n, format!("cycle `{}` is not a whole number", clip(fields[1]))))?;
        let mut row = [0.0; CHANNELS];
        for (c, (slot, f)) in row.iter_mut().zip(&fields[2..]).enumerate() {
            let v: f64 = f.parse().map_err(|_| bad(n, format!("column {} `{}` is not a number", c + 3, clip(f))))?;
            if !v.is_finite() {
                return Err(bad(n, format!("column {} is not finite", c + 3)));
            }
            *slot = v;
        }
        match engines.last_mut() {
            Some(e) if e.unit == unit => {
                if cycle != e.rows.len() + 1 {
                    return Err(bad(n, format!("unit {unit}: cycle {cycle} follows cycle {}", e.rows.len())));
                }
                e.rows.push(row);
            }
            _ => {
                if engines.iter().any(|e| e.unit == unit) {
                    return Err(bad(n, format!("unit {unit} appears again after other units")));
                }
                if cycle != 1 {
                    return Err(bad(n, format!("unit {unit} starts at cycle {cycle}, not 1")));
                }
                engines.push(Engine { unit, rows: vec![row] });
            }
        }
    }
    if engines.is_empty() {
        return Err(RulError::Empty(name.to_string()));
    }
    Ok(engines)
}

/// Reads a RUL file: one whole number per line, in unit order.
pub fn load_rul(path: &Path) -> Result<Vec<f64>, RulError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| RulError::Io { path: path.display().to_string(), source: e })?;
    parse_rul(&path.display().to_string(), &text)
}

pub fn parse_rul(name: &str, text: &str) -> Result<Vec<f64>, RulError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let v: u32 = t.parse().map_err(|_| RulError::Parse {
            file: name.to_string(),
            line: i + 1,
            message: format!("`{}` is not a whole number of cycles", clip(t)),
        })?;
        out.push(f64::from(v));
    }
    if out.is_empty() {
        return Err(RulError::Empty(name.to_string()));
    }
    Ok(out)
}

/// At most 40 characters of untrusted text, with control characters escaped.
fn clip(s: &str) -> String {
    s.chars().take(40).flat_map(char::escape_debug).collect()
}

/// Root mean squared error of `pred` against `truth`.
pub fn rmse(pred: &[f64], truth: &[f64]) -> f64 {
    let n = pred.len().max(1) as f64;
    (pred.iter().zip(truth).map(|(p, t)| (p - t) * (p - t)).sum::<f64>() / n).sqrt()
}

/// The PHM08 score: Σ exp(-d/13) - 1 for early predictions (d < 0), exp(d/10) - 1 for late
/// ones, with d = predicted - true. Lower is better; 0 is perfect.
pub fn phm08_score(pred: &[f64], truth: &[f64]) -> f64 {
    pred.iter()
        .zip(truth)
        .map(|(p, t)| p - t)
        .map(|d| if d < 0.0 { (-d / 13.0).exp_m1() } else { (d / 10.0).exp_m1() })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(unit: u32, cycle: usize) -> String {
        let mut s = format!("{unit} {cycle}");
        for c in 0..CHANNELS {
            s.push_str(&format!(" {}.5", c));
        }
        s.push(' ');
        s
    }

    #[test]
    fn parses_units_in_order_with_trailing_spaces() {
        let text = [row(1, 1), row(1, 2), row(2, 1)].join("\n") + "\n";
        let e = parse("t.txt", &text).expect("parses");
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].cycles(), 2);
        assert_eq!(e[1].unit, 2);
        assert_eq!(e[0].rows[0][0], 0.5);
        assert_eq!(e[0].sensor(21).next(), Some(23.5));
    }

    #[test]
    fn bad_rows_name_file_and_line() {
        let text = [row(1, 1), "1 2 3".to_string()].join("\n");
        let err = parse("t.txt", &text).expect_err("short row").to_string();
        assert!(err.starts_with("t.txt:2:"), "{err}");
        let text = [row(1, 1), row(1, 3)].join("\n");
        let err = parse("t.txt", &text).expect_err("gap").to_string();
        assert!(err.contains("t.txt:2:") && err.contains("cycle 3"), "{err}");
        let text = row(1, 1).replace(" 4.5", " x\u{1b}");
        let err = parse("t.txt", &text).expect_err("not a number").to_string();
        assert!(err.contains("t.txt:1:") && !err.contains('\u{1b}'), "{err}");
        assert!(parse_rul("r.txt", "12\n7.5\n").expect_err("fraction").to_string().starts_with("r.txt:2:"));
    }

    #[test]
    fn score_punishes_late_more_than_early() {
        assert_eq!(phm08_score(&[10.0], &[10.0]), 0.0);
        let late = phm08_score(&[20.0], &[10.0]);
        let early = phm08_score(&[0.0], &[10.0]);
        assert!((late - (1f64).exp_m1()).abs() < 1e-12 && late > early);
        assert!((rmse(&[1.0, 3.0], &[0.0, 0.0]) - 5f64.sqrt()).abs() < 1e-12);
        assert_eq!(capped_rul(0, 300), RUL_CAP);
        assert_eq!(capped_rul(299, 300), 0.0);
    }
}
