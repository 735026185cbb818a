//! A daemon started in-process on a test site: `start`, `wait_for` a published snapshot,
//! acts sent to its core as a terminal would, and what its historian stored.

use std::path::Path;
use std::time::Duration;

use mimic::config::Site;
use mimic::daemon::{CoreCmd, Daemon, DaemonOptions};
use mimic::historian::Sample;
use mimic::ipc::{Act, LiveSnapshot};

/// How long [`wait_for`] waits for a snapshot (a bound against hangs, not a timing claim).
pub const WAIT: Duration = Duration::from_secs(30);

/// Parses `toml` as `dir/site.toml` (panics with the errors) and starts a daemon on it
/// with `dir` as its data directory, no socket, snapshots always built.
pub async fn start(toml: &str, dir: &Path) -> Daemon {
    start_with(toml, &dir.join("site.toml"), dir, false).await
}

/// Like [`start`] with the site's path, the data directory and the socket chosen.
pub async fn start_with(toml: &str, site_path: &Path, data: &Path, socket: bool) -> Daemon {
    let site = Site::parse(site_path, toml).unwrap_or_else(|e| panic!("test site invalid:\n{e}"));
    Daemon::start(site, DaemonOptions { data_dir: data.to_path_buf(), socket, lazy_snapshots: false })
        .await
        .expect("daemon starts")
}

/// Waits (bounded by [`WAIT`]) until `ok` holds for the published snapshot; panics with
/// the last snapshot's devices, tags, requests and asset lives.
pub async fn wait_for(d: &Daemon, what: &str, ok: impl Fn(&LiveSnapshot) -> bool) -> LiveSnapshot {
    let mut rx = d.snapshots.clone();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let snap = rx.borrow_and_update().clone();
        if ok(&snap) {
            return (*snap).clone();
        }
        if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
            panic!(
                "timed out waiting for {what}; last snapshot: devices {:#?}\ntags {:#?}\nrequests {:#?}\nlife {:#?}",
                snap.devices, snap.tags, snap.requests, snap.life
            );
        }
    }
}

/// Sends `act` as OS account `user` straight to the core, as a terminal would; its reply,
/// a refusal as the text a terminal is sent.
pub async fn act(d: &Daemon, user: &str, act: Act) -> Result<String, String> {
    let (reply, rx) = tokio::sync::oneshot::channel();
    d.commands.send(CoreCmd { user: user.to_string(), act: Some(act), reply }).await.expect("core task alive");
    let reply = tokio::time::timeout(Duration::from_secs(10), rx).await.expect("core answers in time");
    reply.expect("core replied").map_err(|refusal| refusal.to_string())
}

/// The OS account this test runs as: what the daemon identifies "our" acts by.
pub fn me() -> String {
    // SAFETY: getuid has no preconditions.
    mimic::ipc::user_name(unsafe { libc::getuid() }).expect("the test's OS account has a name")
}

/// Every sample of `tag` the daemon's historian holds (none while the tag is unknown).
pub fn stored(d: &Daemon, tag: &str) -> Vec<Sample> {
    let h = d.historian.read().expect("historian");
    match h.lookup(tag).expect("lookup") {
        None => Vec::new(),
        Some(id) => h.query(id, 0, i64::MAX).expect("query"),
    }
}

/// Waits (bounded, 60 s, polling every `every`) until the historian holds at least
/// `at_least` samples of `tag`; returns them.
pub async fn stored_at_least(d: &Daemon, tag: &str, at_least: usize, every: Duration) -> Vec<Sample> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let got = stored(d, tag);
        if got.len() >= at_least {
            return got;
        }
        assert!(tokio::time::Instant::now() < deadline, "only {} stored samples of {tag}: {got:?}", got.len());
        tokio::time::sleep(every).await;
    }
}
