//! The store's file system fills up: `mimic run` keeps its data directory on a small
//! tmpfs (mounted by the test, which runs as root here and in CI), a filler file takes
//! the last free byte, and the daemon must keep polling, raise a system alarm that a
//! terminal shows (`mimic tui` in tmux, Alarms screen), keep the samples it cannot commit
//! in memory, and store them all once the space is back (the alarm clearing itself) — with the audit chain verifying and the store
//! opening afterwards. The tmpfs is unmounted by a guard, also when the test fails.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mimic::ipc::{LiveAlarmState, TagQuality};
use support::binary::{Served, Sim, assert_audit_verifies, mimic, path, write_demo_site_polling};
use support::live::{Snapshots, dev, served_timestamps};
use support::p;
use support::peers::require_tool;
use support::process::run;
use support::tmux::Tmux;

const LIMIT: Duration = Duration::from_secs(30);
const TAG: &str = "P101.flow";
const STORE_ALARM_ID: u64 = u64::MAX;

/// A tmpfs mounted at `dir`, unmounted on drop.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).expect("mount point");
        let mut cmd = Command::new(require_tool("mount"));
        cmd.args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs", p(dir)]);
        let r = run(cmd, LIMIT);
        assert!(r.ok(), "cannot mount a tmpfs (this test needs root, as in CI): {r}");
        Tmpfs { dir: dir.to_path_buf() }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Fills the file system of `path` up to the last byte; returns the filler's size.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).expect("create filler");
    let chunk = vec![0xA5u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(k) => n += k as u64,
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "filling: {e}");
                break;
            }
        }
    }
    // Small writes take what the big ones left.
    while let Ok(k) = f.write(&chunk[..512]) {
        if k == 0 {
            break;
        }
        n += k as u64;
    }
    n
}

#[test]
fn a_full_disk_raises_an_alarm_and_storing_resumes_without_loss() {
    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let fs = Tmpfs::mount(&tmp.path().join("fs"), "8m");
    let data = fs.dir.join("data");
    let site = write_demo_site_polling(tmp.path(), &sim.endpoint(), &data, "200ms");
    let mut daemon = Served::start(&site, &data);
    let sock = daemon.sock.clone();
    let mut snaps = Snapshots::attach(&sock);
    let before = snaps.until(LIMIT, "first commits", |s| s.store.samples > 0 && s.store.error.is_none());

    // The disk fills up.
    let filler = fs.dir.join("filler");
    let filled = fill(&filler);
    eprintln!("filler: {filled} bytes");
    let full = snaps.until(LIMIT, "the store error and its system alarm", |s| {
        s.store.error.is_some() && s.alarms.iter().any(|a| a.id == STORE_ALARM_ID)
    });
    let alarm = full.alarms.iter().find(|a| a.id == STORE_ALARM_ID).expect("system alarm");
    assert!(alarm.message.contains("historian cannot store"), "alarm text: {alarm:?}");
    assert_eq!(alarm.state, LiveAlarmState::UnackActive);
    assert!(full.alarm_summary.unacked >= 1, "counted as unacknowledged: {:?}", full.alarm_summary);
    let stored_when_full = full.store.samples;
    eprintln!("store error: {:?}", full.store.error);
    let full_ms = full.now_ms;

    // Polling goes on while nothing can be stored.
    let polls_when_full = dev(&full, "skid-plc").polls;
    let later = snaps.until(LIMIT, "polling during the outage", |s| {
        dev(s, "skid-plc").polls >= polls_when_full + 10 && s.now_ms - full_ms >= 2000
    });
    // redb still fits some commits into free pages of its file, so commits may succeed
    // now and then; the alarm is held meanwhile instead of chattering.
    assert!(later.alarms.iter().any(|a| a.id == STORE_ALARM_ID), "the alarm stays on while the disk is full");
    assert!(
        later.tags.iter().any(|t| t.name == TAG && t.quality == TagQuality::Good),
        "live values stay fresh during the outage"
    );

    // A terminal shows the alarm: counted on its status line, listed on the Alarms screen.
    let tmux = Tmux::new();
    tmux.start_sized("t", 160, 40, &format!("MIMIC_LOG=off {} tui --data {}", p(&path()), p(&data)));
    tmux.wait_screen("t", "the status line counting the system alarm", LIMIT, |sc| {
        sc.lines().next().is_some_and(|l| l.contains("1 UNACK HIGH"))
    });
    tmux.keys("t", &["4"]);
    tmux.wait_screen("t", "the system alarm on the Alarms screen", LIMIT, |sc| sc.contains("historian cannot store"));

    // Space returns: storing resumes by itself, the alarm clears, the backlog is stored.
    std::fs::remove_file(&filler).expect("remove filler");
    let resumed = snaps.until(LIMIT, "storing again and the alarm cleared", |s| {
        s.store.error.is_none() && s.store.samples > stored_when_full && s.alarms.iter().all(|a| a.id != STORE_ALARM_ID)
    });
    let ts = served_timestamps(&sock, TAG).expect("history over the socket");
    let during = ts.iter().filter(|&&t| t > full_ms && t < resumed.now_ms - 1000).count();
    assert!(during >= 5, "samples taken during the outage were kept and stored ({during})");
    assert!(before.store.samples > 0);

    daemon.stop_cleanly();
    assert_audit_verifies(&data);
    let h = mimic(&["history", TAG, "--data", p(&data), "--since", "1h", "--format", "csv"]);
    assert!(h.ok(), "the store opens after the outage: {h}");
    assert!(h.stdout.lines().count() > ts.len(), "everything served is in the store: {h}");
}
