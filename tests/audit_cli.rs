//! `mimic audit` against stores built with the library and then tampered with by writing
//! the redb tables directly: every kind of tampering must be named by `verify`.

mod support;

use std::path::{Path, PathBuf};

use mimic::audit::{self, AUDIT, Action, CHECKPOINTS, KEY_NAME, PUB_NAME, SiteKey};
use mimic::daemon::STORE_NAME;
use mimic::time::now_ms;
use redb::{Database, ReadableTable};
use support::binary::mimic;

const ENTRIES: u64 = 50;

type Blobs<'t> = redb::Table<'t, u64, &'static [u8]>;

fn verify(dir: &Path, checkpoints: Option<&Path>) -> (i32, String) {
    let d = dir.to_string_lossy();
    let mut args = vec!["audit", "verify", "--data", &d];
    let cp;
    if let Some(c) = checkpoints {
        cp = c.to_string_lossy().into_owned();
        args.extend(["--checkpoints", cp.as_str()]);
    }
    let o = mimic(&args);
    (o.code.unwrap_or(-1), format!("{}{}", o.stdout, o.stderr))
}

/// `verify` of the store in `dir` fails and says `needle`.
fn assert_verify_fails_saying(dir: &Path, needle: &str) {
    let (code, out) = verify(dir, None);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains(needle), "{out}");
}

/// A data directory with a site key, 50 entries (timestamps one minute apart up to now)
/// and a checkpoint at entry 25.
fn build(root: &Path) -> PathBuf {
    let dir = root.join("pristine");
    std::fs::create_dir(&dir).expect("mkdir");
    let key = SiteKey::load_or_create(&dir.join(KEY_NAME)).expect("site key");
    let db = Database::create(dir.join(STORE_NAME)).expect("store");
    let now = now_ms();
    let actions = [Action::Attach, Action::AlarmAck, Action::WriteRequested, Action::Approval, Action::WriteOutcome];
    for i in 1..=ENTRIES {
        let action = actions[(i as usize) % actions.len()].clone();
        let meaning = (action == Action::Approval).then_some("approved setpoint change");
        let note = audit::Note {
            user: "ana".into(),
            full_name: Some("Ana Operator".into()),
            action,
            meaning: meaning.map(str::to_string),
            target: Some("P101.speed_sp".into()),
            detail: format!(r#"{{"step":{i}}}"#),
        };
        audit::append_commit(&db, &key, &note, now - (ENTRIES - i) as i64 * 60_000).expect("append");
        if i == 25 {
            audit::checkpoint_commit(&db, &key, now).expect("checkpoint");
        }
    }
    dir
}

/// A copy of the data directory `src` under `root/name`.
fn copy(src: &Path, root: &Path, name: &str) -> PathBuf {
    let dst = root.join(name);
    std::fs::create_dir(&dst).expect("mkdir");
    for f in [STORE_NAME, KEY_NAME, PUB_NAME] {
        std::fs::copy(src.join(f), dst.join(f)).expect("copy");
    }
    dst
}

/// Runs `f` on the audit and checkpoint tables of the store in `dir`, in one commit.
fn tamper(dir: &Path, f: impl FnOnce(&mut Blobs<'_>, &mut Blobs<'_>)) {
    let db = Database::open(dir.join(STORE_NAME)).expect("open");
    let txn = db.begin_write().expect("txn");
    {
        let mut entries = txn.open_table(AUDIT).expect("entries");
        let mut cps = txn.open_table(CHECKPOINTS).expect("checkpoints");
        f(&mut entries, &mut cps);
    }
    txn.commit().expect("commit");
}

fn stored(t: &Blobs<'_>, seq: u64) -> Vec<u8> {
    t.get(seq).expect("get").expect("entry present").value().to_vec()
}

#[test]
fn untouched_store_verifies_and_every_tampering_is_named() {
    let root = tempfile::tempdir().expect("tempdir");
    let pristine = build(root.path());

    let (code, out) = verify(&pristine, None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit chain OK: 50 entries, 1 checkpoints"), "{out}");

    // (a) one byte of entry 17's stored bytes changed (inside its detail text).
    let a = copy(&pristine, root.path(), "a");
    tamper(&a, |t, _| {
        let mut b = stored(t, 17);
        let pos = b.windows(6).position(|w| w == b"\"step\"").expect("detail in bytes") + 1;
        b[pos] ^= 0x01;
        t.insert(17, b.as_slice()).expect("insert");
    });
    let (code, out) = verify(&a, None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("audit chain BROKEN at entry 17: changed: hash does not match contents"), "{out}");

    // (b) entry 30 deleted.
    let b = copy(&pristine, root.path(), "b");
    tamper(&b, |t, _| {
        t.remove(30).expect("remove");
    });
    let (code, out) = verify(&b, None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("audit chain BROKEN at entry 30: missing"), "{out}");

    // (c) entries 10 and 11 swapped.
    let c = copy(&pristine, root.path(), "c");
    tamper(&c, |t, _| {
        let (e10, e11) = (stored(t, 10), stored(t, 11));
        t.insert(10, e11.as_slice()).expect("insert");
        t.insert(11, e10.as_slice()).expect("insert");
    });
    let (code, out) = verify(&c, None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("audit chain BROKEN at entry 10: out of order"), "{out}");

    // (d) checkpoints exported (a fresh one signed at entry 50), then the last 5 entries
    // and the checkpoint after them deleted.
    let d = copy(&pristine, root.path(), "d");
    let exported = root.path().join("checkpoints.jsonl");
    let o = mimic(&["audit", "checkpoint", "--data", &d.to_string_lossy(), "--out", &exported.to_string_lossy()]);
    let (out, err) = (&o.stdout, &o.stderr);
    assert!(o.ok(), "{out}{err}");
    assert!(out.contains("2 checkpoints written"), "{out}{err}");
    let (code, out) = verify(&d, Some(&exported));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("exported checkpoints OK: 2"), "{out}");
    tamper(&d, |t, cps| {
        for s in 46..=ENTRIES {
            t.remove(s).expect("remove");
        }
        cps.remove(ENTRIES).expect("remove").expect("checkpoint at 50 was there");
    });
    // The chain alone is consistent; only the exported checkpoint reveals the cut.
    let (code, out) = verify(&d, None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit chain OK: 45 entries, 1 checkpoints"), "{out}");
    let (code, out) = verify(&d, Some(&exported));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("audit chain BROKEN at entry 46: missing"), "{out}");
    assert!(out.contains("names entry 50"), "{out}");

    // The untouched original holds the same entries: the export vouches for it too.
    let (code, out) = verify(&pristine, Some(&exported));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn checkpoint_signed_by_another_key_is_named() {
    let root = tempfile::tempdir().expect("tempdir");
    let pristine = build(root.path());
    let e = copy(&pristine, root.path(), "e");
    let other = SiteKey::from_secret(&[42; 32]);
    std::fs::write(e.join(PUB_NAME), format!("{}\n", other.public_hex())).expect("write pub");
    let (code, out) = verify(&e, None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("audit chain BROKEN at entry 25: bad checkpoint signature"), "{out}");
}

#[test]
fn export_prints_json_lines_since() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = build(root.path());
    let o = mimic(&["audit", "export", "--since", "24h", "--data", &dir.to_string_lossy()]);
    let (out, err) = (&o.stdout, &o.stderr);
    assert!(o.ok(), "{err}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(lines.len(), ENTRIES as usize);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["seq"], i as u64 + 1);
        assert_eq!(l["user"], "ana");
        assert_eq!(l["hash"].as_str().map(str::len), Some(64));
    }
    assert_eq!(lines[2]["action"], "approval");
    assert_eq!(lines[2]["meaning"], "approved setpoint change");
    // Entries are one minute apart, the last one now: 10m back gives the last 10 or 11.
    let o = mimic(&["audit", "export", "--since", "10m", "--data", &dir.to_string_lossy()]);
    let n = o.stdout.lines().count();
    assert!((10..=11).contains(&n), "{n} lines");
}

#[test]
fn verify_says_when_the_store_is_in_use() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = build(root.path());
    let _held = Database::open(dir.join(STORE_NAME)).expect("open");
    assert_verify_fails_saying(&dir, "in use by another process");
}

#[test]
fn verify_without_a_store_says_so() {
    let root = tempfile::tempdir().expect("tempdir");
    assert_verify_fails_saying(root.path(), "no store at");
}
