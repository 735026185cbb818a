use redb::{Database, ReadableDatabase, ReadableTableMetadata};

use super::*;

fn db() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::create(dir.path().join("store.redb")).expect("create db");
    (dir, db)
}

fn site_key() -> SiteKey {
    SiteKey::from_secret(&[7; 32])
}

/// A fresh store and the site key.
fn chain() -> (tempfile::TempDir, Database, SiteKey) {
    let (dir, db) = db();
    (dir, db, site_key())
}

/// A chain of `n` entries ([`add`] 1..=n).
fn chain_of(n: i64) -> (tempfile::TempDir, Database, SiteKey) {
    let (dir, db, key) = chain();
    for i in 1..=n {
        add(&db, &key, i);
    }
    (dir, db, key)
}

/// The chain verified with `key`, which must find it whole.
fn verified(db: &Database, key: &SiteKey) -> VerifyReport {
    let rep = verify(db, &key.verifying_key()).expect("verify");
    assert!(rep.is_ok(), "{rep:?}");
    rep
}

fn sample_entry() -> Entry {
    let mut e = Entry {
        seq: 5,
        ts_ms: 1_764_140_400_000,
        note: Note {
            user: "ana".into(),
            full_name: Some("Ana Operator".into()),
            action: Action::Approval,
            meaning: Some("approved setpoint change".into()),
            target: Some("P101.speed_sp".into()),
            detail: r#"{"from":40.0,"to":42.5}"#.into(),
        },
        prev_hash: [9; 32],
        hash: [0; 32],
    };
    e.hash = e.compute_hash();
    e
}

fn add(db: &Database, key: &SiteKey, i: i64) -> Entry {
    let note = Note {
        full_name: Some("Ana".into()),
        ..Note::by("ana", Action::AlarmAck, Some("TI-101.hi"), &format!("ack {i}"))
    };
    append_commit(db, key, &note, 1000 + i).expect("append")
}

#[test]
fn canonical_round_trips() {
    let e = sample_entry();
    assert_eq!(Entry::from_stored(&e.to_stored()).expect("decodes"), e);
    let mut other = e.clone();
    other.note.action = Action::Other("recipe_download".into());
    other.note.full_name = None;
    other.note.meaning = None;
    other.note.target = None;
    assert_eq!(Entry::from_stored(&other.to_stored()).expect("decodes"), other);
}

#[test]
fn every_field_changes_the_hash() {
    let base = sample_entry();
    let h = base.compute_hash();
    type Change = fn(&mut Entry);
    let variants: [(&str, Change); 11] = [
        ("seq", |e| e.seq += 1),
        ("ts_ms", |e| e.ts_ms += 1),
        ("user", |e| e.note.user.push('x')),
        ("full_name", |e| e.note.full_name = None),
        ("full_name text", |e| e.note.full_name = Some("Ana Operatoe".into())),
        ("action", |e| e.note.action = Action::Rejection),
        ("action other", |e| e.note.action = Action::Other("approval".into())),
        ("meaning", |e| e.note.meaning = None),
        ("target", |e| e.note.target = Some("P101.speed".into())),
        ("detail", |e| e.note.detail.push(' ')),
        ("prev_hash", |e| e.prev_hash[31] ^= 1),
    ];
    for (name, change) in variants {
        let mut e = base.clone();
        change(&mut e);
        assert_ne!(e.compute_hash(), h, "changing {name} must change the hash");
    }
    // The hash itself is not hashed.
    let mut e = base.clone();
    e.hash = [1; 32];
    assert_eq!(e.compute_hash(), h);
}

#[test]
fn encoding_is_unambiguous_across_field_boundaries() {
    // Moving text from one field to the next must not give the same bytes.
    let mut a = sample_entry();
    a.note.user = "ab".into();
    a.note.full_name = Some("c".into());
    let mut b = a.clone();
    b.note.user = "a".into();
    b.note.full_name = Some("bc".into());
    assert_ne!(a.canonical(), b.canonical());
    let mut c = a.clone();
    c.note.meaning = None;
    c.note.target = Some(String::new());
    let mut d = a.clone();
    d.note.meaning = Some(String::new());
    d.note.target = None;
    assert_ne!(c.canonical(), d.canonical());
}

#[test]
fn every_action_round_trips_with_distinct_codes() {
    let all = [
        Action::Attach,
        Action::Detach,
        Action::Approval,
        Action::Rejection,
        Action::WriteRequested,
        Action::WriteOutcome,
        Action::AlarmAck,
        Action::AlarmShelve,
        Action::AlarmUnshelve,
        Action::AlarmOutOfService,
        Action::ConfigLoad,
        Action::UserAdd,
        Action::UserChange,
        Action::UserDisable,
        Action::LoginFailed,
        Action::Lockout,
        Action::ModelRetrain,
        Action::MaintenanceEvent,
        Action::ClockStep,
        Action::Other("x".into()),
    ];
    // Codes are the stored format: existing ones never move.
    assert_eq!(Action::MaintenanceEvent.code(), 18);
    assert_eq!(Action::ClockStep.code(), 19);
    let mut codes = std::collections::HashSet::new();
    let mut names = std::collections::HashSet::new();
    for a in all {
        assert!(codes.insert(a.code()), "duplicate code for {a}");
        assert!(names.insert(a.name()), "duplicate name {a}");
        let mut e = sample_entry();
        e.note.action = a.clone();
        assert_eq!(Entry::from_stored(&e.to_stored()).expect("decodes").note.action, a);
    }
}

#[test]
fn garbage_does_not_decode() {
    let good = sample_entry().to_stored();
    for cut in 0..good.len() {
        assert!(Entry::from_stored(&good[..cut]).is_err(), "prefix of {cut} bytes decoded");
    }
    let mut long = good.clone();
    long.push(0);
    assert!(Entry::from_stored(&long).is_err());
    let mut version = good.clone();
    version[0] = 2;
    assert!(Entry::from_stored(&version).is_err());
}

#[test]
fn hex_round_trips() {
    let b: [u8; 4] = [0, 0xab, 0x10, 0xff];
    assert_eq!(to_hex(&b), "00ab10ff");
    assert_eq!(from_hex::<4>("00AB10ff\n"), Some(b));
    assert_eq!(from_hex::<4>("00ab10f"), None);
    assert_eq!(from_hex::<4>("00ab10fg"), None);
}

#[test]
fn chain_appends_and_verifies() {
    let (_d, db, key) = chain();
    assert_eq!(verify(&db, &key.verifying_key()).expect("verify"), VerifyReport::default());
    let mut prev = GENESIS_HASH;
    for i in 1..=10 {
        let e = add(&db, &key, i);
        assert_eq!(e.seq, i as u64);
        assert_eq!(e.prev_hash, prev);
        assert_eq!(e.hash, e.compute_hash());
        prev = e.hash;
    }
    let rep = verified(&db, &key);
    assert_eq!(rep.entries, 10);
    assert_eq!(rep.head, Some((10, prev)));
    let all = entries_since(&db, 0).expect("read");
    assert_eq!(all.len(), 10);
    assert_eq!(entries_since(&db, 1005).expect("read").len(), 6);
}

#[test]
fn checkpoints_are_signed_every_n_entries_and_on_demand() {
    let (_d, db, key) = chain();
    assert_eq!(checkpoint_commit(&db, &key, 1).expect("checkpoint"), None);
    for i in 1..=(CHECKPOINT_EVERY as i64 + 3) {
        add(&db, &key, i);
    }
    let rep = verified(&db, &key);
    assert_eq!(rep.checkpoints, 1);
    let cp = checkpoint_commit(&db, &key, 99_999).expect("checkpoint").expect("non-empty chain");
    assert_eq!(cp.seq, CHECKPOINT_EVERY + 3);
    assert!(cp.signature_ok(&key.verifying_key()));
    let rep = verified(&db, &key);
    assert_eq!(rep.checkpoints, 2);
}

#[test]
fn wrong_key_fails_checkpoint_signature() {
    let (_d, db, key) = chain_of(3);
    checkpoint_commit(&db, &key, 5).expect("checkpoint");
    let other = SiteKey::from_secret(&[8; 32]);
    let rep = verify(&db, &other.verifying_key()).expect("verify");
    assert_eq!(rep.first_bad, Some(Problem { seq: 3, reason: Reason::BadCheckpointSignature }));
    // A checkpoint whose signed fields were altered fails too.
    let mut cp = checkpoint_commit(&db, &key, 6).expect("checkpoint").expect("some");
    cp.ts_ms += 1;
    assert!(!cp.signature_ok(&key.verifying_key()));
}

#[test]
fn checkpoint_must_match_its_entry() {
    let (_d, db, key) = chain_of(4);
    // A validly signed checkpoint naming a hash the entry does not have.
    let forged = Checkpoint::sign(&key, 2, [3; 32], 10);
    let txn = db.begin_write().expect("txn");
    txn.open_table(CHECKPOINTS).expect("table").insert(2, forged.to_stored().as_slice()).expect("insert");
    txn.commit().expect("commit");
    let rep = verify(&db, &key.verifying_key()).expect("verify");
    assert_eq!(rep.first_bad, Some(Problem { seq: 2, reason: Reason::CheckpointMismatch }));
}

#[test]
fn aborted_transaction_leaves_no_entry_and_chain_continues() {
    let (_d, db, key) = chain();
    let first = add(&db, &key, 1);
    {
        let txn = db.begin_write().expect("txn");
        let e = append(&txn, &key, &Note::by("bob", Action::WriteRequested, Some("P101.sp"), "42"), 2).expect("append");
        assert_eq!(e.seq, 2);
        txn.abort().expect("abort");
    }
    {
        // Dropped without commit: the same.
        let txn = db.begin_write().expect("txn");
        append(&txn, &key, &Note::by("bob", Action::WriteRequested, Some("P101.sp"), "43"), 3).expect("append");
    }
    assert_eq!(entries_since(&db, i64::MIN).expect("read"), vec![first.clone()]);
    let next = add(&db, &key, 4);
    assert_eq!(next.seq, 2);
    assert_eq!(next.prev_hash, first.hash);
    let rep = verified(&db, &key);
    assert_eq!(rep.entries, 2);
}

#[test]
fn action_and_entry_commit_together() {
    let (_d, db, key) = chain();
    const ACTS: redb::TableDefinition<u64, &str> = redb::TableDefinition::new("test.actions");
    let txn = db.begin_write().expect("txn");
    let e = append(&txn, &key, &Note::by("ana", Action::ConfigLoad, None, "site.toml"), 1).expect("append");
    txn.open_table(ACTS).expect("table").insert(e.seq, "loaded").expect("insert");
    txn.commit().expect("commit");
    let r = db.begin_read().expect("read");
    assert_eq!(
        r.open_table(ACTS).expect("table").get(1).expect("get").map(|v| v.value().to_string()).as_deref(),
        Some("loaded")
    );
    assert_eq!(r.open_table(AUDIT).expect("table").len().expect("len"), 1);
}

#[test]
fn append_refuses_a_corrupt_head() {
    let (_d, db, key) = chain();
    add(&db, &key, 1);
    let txn = db.begin_write().expect("txn");
    txn.open_table(AUDIT).expect("table").insert(1, &b"\x01garbage"[..]).expect("insert");
    txn.commit().expect("commit");
    match append_commit(&db, &key, &Note::by("ana", Action::Attach, None, ""), 2) {
        Err(AuditError::Corrupt { seq: 1, .. }) => {}
        other => panic!("expected a corrupt-entry error naming entry 1, got {other:?}"),
    }
    let rep = verify(&db, &key.verifying_key()).expect("verify");
    assert!(matches!(rep.first_bad, Some(Problem { seq: 1, reason: Reason::Unreadable(_) })), "{rep:?}");
}

#[test]
fn export_jsonl_writes_one_object_per_line() {
    let (_d, db, _key) = chain_of(3);
    let mut out = Vec::new();
    assert_eq!(export_jsonl(&db, 1002, &mut out).expect("export"), 2);
    let text = String::from_utf8(out).expect("utf8");
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["seq"], 2);
    assert_eq!(lines[0]["action"], "alarm_ack");
    assert_eq!(lines[0]["hash"].as_str().map(str::len), Some(64));
    assert_eq!(lines[1]["prev_hash"], lines[0]["hash"]);
}

#[test]
fn exported_checkpoints_detect_a_cut_tail() {
    let (dir, db) = db();
    let key = site_key();
    for i in 1..=10 {
        add(&db, &key, i);
    }
    checkpoint_commit(&db, &key, 50).expect("checkpoint");
    let file = dir.path().join("cps.jsonl");
    assert_eq!(export_checkpoints(&db, &file).expect("export"), 1);
    assert_eq!(read_exported(&file).expect("read").len(), 1);
    let ok = verify_against_export(&db, &key.verifying_key(), &file).expect("check");
    assert_eq!(ok, ExportReport { checkpoints: 1, first_bad: None });
    let txn = db.begin_write().expect("txn");
    {
        let mut t = txn.open_table(AUDIT).expect("table");
        for s in 8..=10 {
            t.remove(s).expect("remove");
        }
        txn.open_table(CHECKPOINTS).expect("table").remove(10).expect("remove");
    }
    txn.commit().expect("commit");
    assert!(verify(&db, &key.verifying_key()).expect("verify").is_ok(), "the chain alone cannot tell");
    let rep = verify_against_export(&db, &key.verifying_key(), &file).expect("check");
    assert_eq!(rep.first_bad, Some(Problem { seq: 8, reason: Reason::Truncated { last: 7, checkpoint: 10 } }));
    let other = SiteKey::from_secret(&[1; 32]);
    let rep = verify_against_export(&db, &other.verifying_key(), &file).expect("check");
    assert_eq!(rep.first_bad, Some(Problem { seq: 10, reason: Reason::BadCheckpointSignature }));
}

#[test]
fn stored_checkpoint_beyond_the_chain_is_a_truncation() {
    let (_d, db, key) = chain_of(5);
    checkpoint_commit(&db, &key, 9).expect("checkpoint");
    let txn = db.begin_write().expect("txn");
    txn.open_table(AUDIT).expect("table").remove(5).expect("remove");
    txn.commit().expect("commit");
    let rep = verify(&db, &key.verifying_key()).expect("verify");
    assert_eq!(rep.first_bad, Some(Problem { seq: 5, reason: Reason::Truncated { last: 4, checkpoint: 5 } }));
}

#[test]
fn site_key_is_created_private_and_reloaded() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(KEY_NAME);
    let k1 = SiteKey::load_or_create(&path).expect("create");
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let k2 = SiteKey::load_or_create(&path).expect("load");
    assert_eq!(k1.verifying_key(), k2.verifying_key());
    let public = load_public(&dir.path().join(PUB_NAME)).expect("pub");
    assert_eq!(public, k1.verifying_key());
    // Two fresh keys differ (OS randomness, not a constant).
    let other = SiteKey::load_or_create(&dir.path().join("b").join(KEY_NAME));
    assert!(other.is_err(), "missing directory is an error");
    std::fs::create_dir(dir.path().join("b")).expect("mkdir");
    let k3 = SiteKey::load_or_create(&dir.path().join("b").join(KEY_NAME)).expect("create");
    assert_ne!(k1.verifying_key(), k3.verifying_key());
    // Refused: readable by others; a site.pub of another key.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert!(matches!(SiteKey::load_or_create(&path), Err(AuditError::Key { .. })));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::fs::write(dir.path().join(PUB_NAME), format!("{}\n", k3.public_hex())).expect("write");
    assert!(matches!(SiteKey::load_or_create(&path), Err(AuditError::Key { .. })));
}

#[test]
fn key_creation_survives_a_leftover_of_a_crash() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(KEY_NAME);
    // A crash during an earlier creation left a partial, world-readable temporary file.
    let tmp = dir.path().join("site.key.tmp");
    std::fs::write(&tmp, "0123").expect("write leftover");
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let k1 = SiteKey::load_or_create(&path).expect("create over the leftover");
    assert!(!tmp.exists(), "the temporary file is removed");
    assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
    // A crash between the key and its public half: site.pub is recreated, the key kept.
    std::fs::remove_file(dir.path().join(PUB_NAME)).expect("rm pub");
    let k2 = SiteKey::load_or_create(&path).expect("load");
    assert_eq!(k1.verifying_key(), k2.verifying_key());
    assert_eq!(load_public(&dir.path().join(PUB_NAME)).expect("pub"), k1.verifying_key());
}
