//! The demo's past: before the daemon starts, `mimic demo` stores a hour of the demo
//! plant's operation ending at start-up, so that the twin has setpoint moves to identify its
//! loop models from (and trends to show) from the first minute. The plant is the one the
//! simulator serves (the same seed, settled at the same operating point); its operators
//! move the pump speed setpoint every few minutes and bring it back to the usual 75 % half an
//! hour before the end, so the live plant carries on from where the history ends.
//!
//! Imported only where the store has no samples yet (a re-run on the same data directory
//! keeps what the last run stored): the samples are older than any live one.

use std::path::Path;

use anyhow::Context;
use mimic_drivers::sim::demo::settled;
use mimic_drivers::sim::plant::{Noise, PumpSkid};

use crate::config::Site;
use crate::historian::{Historian, HistorianOptions, Sample};
use crate::models::diagnosis::eval::{skid_row, skid_specs};

/// Seconds of history stored before start-up.
pub const HISTORY_S: i64 = 3600;
/// The speed setpoint is back at its usual value this long before the end: long enough for
/// the motor temperature (time constant 5 min) to settle, so the live plant carries on
/// seamlessly (a diagnosis reads 12 min of history before its alarm).
const SETTLE_S: i64 = 1800;

/// The plant's rows, one a second for `seconds` (in `skid_specs` order), as the store
/// would hold them.
pub fn rows(seed: u64, seconds: i64) -> Vec<Vec<f64>> {
    let mut p: PumpSkid = settled(seed);
    let mut rng = Noise::new(seed ^ 0x5E7_9017);
    let usual = p.speed_sp;
    let mut next_move = 90 + (rng.uniform() * 60.0) as i64;
    let mut out = Vec::with_capacity(usize::try_from(seconds).unwrap_or(0));
    for s in 0..seconds {
        if s == next_move && s < seconds - SETTLE_S {
            p.speed_sp = (65.0 + 20.0 * rng.uniform()).round();
            next_move = s + 120 + (rng.uniform() * 120.0) as i64;
        }
        if s == seconds - SETTLE_S {
            p.speed_sp = usual;
        }
        // the supply follows the pump so the level holds where the live plant's is
        for _ in 0..10 {
            p.inflow = p.flow;
            p.step(0.1);
        }
        out.push(skid_row(&mut p));
    }
    out
}

/// Stores the history ending at `end_ms` in the site's store (at `data`); returns the line
/// to report.
pub fn import(data: &Path, site: &Site, seed: u64, end_ms: i64) -> anyhow::Result<String> {
    let path = data.join(crate::daemon::STORE_NAME);
    std::fs::create_dir_all(data).with_context(|| format!("cannot create {}", data.display()))?;
    let mut h = Historian::open(&path, HistorianOptions { retention: site.retention, ..Default::default() })
        .with_context(|| format!("cannot open the store {}", path.display()))?;
    let specs = skid_specs();
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    let ids = h.tag_ids(&names).context("demo history: tag ids")?;
    let start = end_ms - HISTORY_S * 1000;
    let mut newest = i64::MIN;
    for &id in &ids {
        if let Some(s) = h.query(id, start, end_ms + 1).context("demo history: reading the store")?.last() {
            newest = newest.max(s.ts_ms);
        }
    }
    if newest != i64::MIN {
        return Ok("demo history: the store already holds the last hour; nothing imported".into());
    }
    let rows = rows(seed, HISTORY_S);
    let mut count = 0;
    for (c, &id) in ids.iter().enumerate() {
        let samples: Vec<Sample> = rows
            .iter()
            .enumerate()
            .filter_map(|(k, r)| {
                let value = *r.get(c)?;
                Some(Sample { tag: id, ts_ms: start + i64::try_from(k).ok()? * 1000, value, quality: 0 })
            })
            .collect();
        count += samples.len();
        h.import(id, &samples).context("demo history: importing")?;
    }
    Ok(format!(
        "demo history: {HISTORY_S} s of the plant before start-up stored ({count} samples of {} tags; the pump speed setpoint moved {} times)",
        ids.len(),
        rows.windows(2).filter(|w| w[0].first() != w[1].first()).count()
    ))
}

/// The control loops and the models' recommendations, for `mimic demo --headless`.
pub fn print_loops(snap: &crate::ipc::LiveSnapshot) {
    let num = |v: Option<f64>, d: usize| v.map_or_else(|| "-".to_string(), |v| format!("{v:.d$}"));
    for l in &snap.loops {
        println!(
            "loop {}: {} mean {} (band {}..{}); model from {} samples: gain {}, time constant {} s, dead time {} s, R² {}; {}",
            l.name,
            l.kpi,
            num(l.kpi_mean, 1),
            l.low,
            l.high,
            l.samples,
            num(l.gain, 3),
            num(l.tau_s, 0),
            num(l.dead_s, 0),
            num(l.r2, 2),
            l.status
        );
    }
    for r in snap.requests.iter().filter(|r| r.title.starts_with("model recommendation")) {
        println!(
            "recommendation: request {} {} {} -> {:.1} {} ({}), confidence {:.2}: {}",
            r.id,
            r.tag,
            num(r.current, 1),
            r.proposed,
            r.units,
            r.status,
            r.confidence,
            r.predicted_effect
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_moves_the_speed_and_ends_at_the_usual_operating_point() {
        let r = rows(1, HISTORY_S);
        assert_eq!(r.len(), 3600);
        let moves = r.windows(2).filter(|w| w[0][0] != w[1][0]).count();
        assert!((5..=14).contains(&moves), "{moves} speed moves");
        let live = settled(1);
        let last = &r[r.len() - 1];
        assert_eq!(last[0], (live.speed_sp * 10.0).round() / 10.0);
        assert!((last[3] - live.flow).abs() < 1.5, "flow {} vs the live plant's {}", last[3], live.flow);
        // the last half hour holds the setpoint; the level and the motor temperature are the live plant's
        assert!(r[r.len() - 1800..].iter().all(|x| x[0] == last[0]));
        assert!((last[7] - live.level).abs() < 0.3 && (last[6] - live.motor_temp).abs() < 0.3, "{last:?}");
    }

    #[test]
    fn import_stores_before_start_up_and_only_once() {
        let dir = tempfile::tempdir().expect("tmp");
        let site = crate::cli::demo_site("127.0.0.1:5020".parse().expect("addr"), dir.path()).expect("site");
        let end = 1_700_000_000_000;
        let line = import(dir.path(), &site, 1, end).expect("imports");
        assert!(line.contains("3600 s") && line.contains("12 tags"), "{line}");
        let again = import(dir.path(), &site, 1, end + 60_000).expect("second run");
        assert!(again.contains("nothing imported"), "{again}");
        let mut h =
            Historian::open(&dir.path().join(crate::daemon::STORE_NAME), HistorianOptions::default()).expect("open");
        let id = h.tag_id("P101.flow").expect("flow");
        let s = h.query(id, 0, i64::MAX).expect("query");
        assert_eq!(s.len(), 3600);
        assert!(s.last().is_some_and(|x| x.ts_ms < end) && s[0].ts_ms == end - 3_600_000);
    }
}
