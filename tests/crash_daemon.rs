//! Crash safety of the whole daemon: `mimic run` polls `mimic sim` and is killed with
//! SIGKILL at a random moment, again and again (50 times by default; set
//! `MIMIC_CRASH_CYCLES` for a longer soak, `MIMIC_CRASH_SEED` to replay a run). After
//! every kill the store must open, the audit chain must verify, every sample the daemon
//! had served over its socket (so committed) must still be stored, and every start-up
//! that got as far as serving terminals must have left its `config_load` audit entry.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use support::binary::{Served, Sim, assert_audit_verifies, mimic, run_cmd, write_demo_site_polling};
use support::live::served_timestamps;
use support::p;
use support::process::Process;

const TAG: &str = "P101.flow";

/// xorshift64*: reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn stored_timestamps(data: &Path) -> BTreeSet<i64> {
    let r = mimic(&["history", TAG, "--data", p(data), "--since", "30d", "--format", "csv"]);
    assert!(r.ok(), "the store does not open after a SIGKILL: {r}");
    r.stdout.lines().skip(1).filter_map(|l| l.split(',').next()?.parse().ok()).collect()
}

fn config_loads(data: &Path) -> usize {
    let r = mimic(&["audit", "export", "--since", "30d", "--data", p(data)]);
    assert!(r.ok(), "audit export: {r}");
    r.stdout.lines().filter(|l| l.contains("\"config_load\"")).count()
}

#[test]
fn sigkill_at_random_moments_loses_nothing_committed() {
    let cycles: usize = std::env::var("MIMIC_CRASH_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let seed: u64 = std::env::var("MIMIC_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    eprintln!("crash test: {cycles} cycles, MIMIC_CRASH_SEED={seed}");
    let mut rng = Rng(seed | 1);

    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // Poll fast so that batches are committed all the time.
    let site = write_demo_site_polling(tmp.path(), &sim.endpoint(), &data, "100ms");
    let sock = data.join("mimic.sock");

    let started = Instant::now();
    let mut committed: BTreeSet<i64> = BTreeSet::new();
    let mut served_starts = 0usize;
    for cycle in 0..cycles {
        let mut daemon = Process::spawn(run_cmd(&site, &data, |_| {}));
        // Some kills land during start-up (store open, key creation, first audit entry),
        // the rest while samples are being committed.
        let window = if cycle % 5 == 0 { 150 } else { 1500 };
        let kill_at = Instant::now() + Duration::from_millis(rng.below(window));
        let mut served = false;
        while Instant::now() < kill_at {
            if let Some(ts) = served_timestamps(&sock, TAG) {
                served = true;
                committed.extend(ts);
            }
            std::thread::sleep(Duration::from_millis(rng.below(40)));
        }
        daemon.assert_running("mimic run");
        daemon.child.kill().expect("SIGKILL the daemon");
        let status = daemon.child.wait().expect("reap the daemon");
        assert!(!status.success(), "cycle {cycle}: the daemon was killed, not stopped: {status}");
        served_starts += usize::from(served);

        // Killed before the store file was even created: nothing can have been committed.
        if !data.join("store.redb").exists() {
            assert!(committed.is_empty() && served_starts == 0, "cycle {cycle}: the store file is gone");
            continue;
        }
        // The store opens and the audit chain verifies after every kill.
        let v = mimic(&["audit", "verify", "--data", p(&data)]);
        assert!(v.ok(), "cycle {cycle} (seed {seed}): audit chain does not verify after SIGKILL: {v}");
        let stored = stored_timestamps(&data);
        let lost: Vec<&i64> = committed.difference(&stored).take(5).collect();
        assert!(
            lost.is_empty(),
            "cycle {cycle} (seed {seed}): samples served as committed are gone after SIGKILL, e.g. {lost:?}"
        );
        let loads = config_loads(&data);
        assert!(
            loads >= served_starts,
            "cycle {cycle} (seed {seed}): {served_starts} start-ups served terminals but only {loads} config_load entries"
        );
    }
    eprintln!(
        "crash test: {cycles} kills ({served_starts} while serving), {} committed samples checked, {:.1} s",
        committed.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(served_starts * 4 >= cycles, "too few kills landed while the daemon was serving");
    assert!(!committed.is_empty(), "the daemon never served a committed sample");

    // A last clean run: the daemon starts normally on the crashed store and stops cleanly.
    let mut daemon = Served::start(&site, &data);
    let up = support::poll(Duration::from_secs(20), || {
        daemon.assert_running("mimic run");
        served_timestamps(&sock, TAG).filter(|ts| ts.len() > committed.len())
    });
    assert!(up.is_some(), "the daemon does not resume storing after the crashes");
    daemon.stop_cleanly();
    assert_audit_verifies(&data);
}
