use std::os::unix::fs::PermissionsExt;

use super::*;

const S: &str = "correct horse";

fn users_with(list: &[(&str, Role)]) -> Users {
    let mut u = Users::new();
    for (name, role) in list {
        u.add(name, &format!("{name} Full"), *role, None, S).expect("add");
    }
    u
}

fn sig(user: &str) -> Signature {
    Signature { user: user.into(), full_name: format!("{user} Full"), ts_ms: 1, meaning: "approve".into() }
}

#[test]
fn every_role_times_every_command() {
    // Columns: the commands in the order of `Command::ALL` (named in the header below, and
    // checked: a reordered or new command fails here first); rows: the roles.
    let cols = Command::ALL;
    let header = "ViewValues ViewHistory AckAlarm ShelveAlarm SetOutOfService RequestWrite Approve \
                  ApproveCritical Reject Revert RecordMaintenance RetrainModel ManageUsers ReloadConfig";
    let names: Vec<String> = cols.iter().map(|c| format!("{c:?}")).collect();
    assert_eq!(names.join(" "), header.split_whitespace().collect::<Vec<_>>().join(" "), "the matrix's columns");
    let x = true;
    let o = false;
    #[rustfmt::skip]
    let rows: [(Role, [bool; 14]); 4] = [
        //                 VV VH Ack Shv OOS Req App AppC Rej Rev Mnt Rtr Usr Cfg
        (Role::Viewer,   [x, x, o,  o,  o,  o,  o,  o,   o,  o,  o,  o,  o,  o]),
        (Role::Operator, [x, x, x,  x,  o,  x,  x,  o,   x,  x,  o,  o,  o,  o]),
        (Role::Engineer, [x, x, x,  x,  x,  x,  x,  x,   x,  x,  x,  x,  o,  o]),
        (Role::Admin,    [x, x, x,  x,  x,  x,  x,  x,   x,  x,  x,  x,  x,  x]),
    ];
    let mut checked = 0;
    for (role, expected) in rows {
        for (cmd, want) in cols.iter().zip(expected) {
            assert_eq!(authorize(role, *cmd), want, "{role} × {cmd:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, Role::ALL.len() * Command::ALL.len());
}

#[test]
fn roles_are_ordered_and_parse() {
    assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Engineer && Role::Engineer < Role::Admin);
    for r in Role::ALL {
        assert_eq!(r.as_str().parse::<Role>(), Ok(r));
    }
    assert_eq!("Engineer".parse::<Role>(), Ok(Role::Engineer));
    assert!("boss".parse::<Role>().unwrap_err().to_string().contains("unknown role"));
}

#[test]
fn critical_tag_needs_two_different_users() {
    let u = users_with(&[("eve", Role::Engineer), ("ed", Role::Engineer), ("ada", Role::Admin)]);
    let (eve, ed, ada) = (u.get("eve").unwrap(), u.get("ed").unwrap(), u.get("ada").unwrap());
    let rule = ApprovalRule { approvers: None, critical: true };
    assert_eq!(rule.required_signatures(), 2);
    assert_eq!(may_approve(eve, &rule, &[]), Ok(()));
    assert!(!rule.is_satisfied(&[sig("eve")]));
    // The same user twice is refused, and two signatures of one user never satisfy.
    assert_eq!(may_approve(eve, &rule, &[sig("eve")]), Err(AuthError::AlreadySigned("eve".into())));
    assert!(!rule.is_satisfied(&[sig("eve"), sig("eve")]));
    // A second, different user may sign, and then the approval is complete.
    assert_eq!(may_approve(ed, &rule, &[sig("eve")]), Ok(()));
    assert!(rule.is_satisfied(&[sig("eve"), sig("ed")]));
    assert_eq!(may_approve(ada, &rule, &[sig("eve"), sig("ed")]), Err(AuthError::AlreadyApproved));
}

#[test]
fn critical_tag_refuses_operators_and_viewers() {
    let u = users_with(&[("op", Role::Operator), ("vi", Role::Viewer), ("en", Role::Engineer)]);
    let rule = ApprovalRule { approvers: None, critical: true };
    assert_eq!(
        may_approve(u.get("op").unwrap(), &rule, &[sig("en")]),
        Err(AuthError::NotPermitted { role: Role::Operator, command: Command::ApproveCritical })
    );
    assert!(matches!(may_approve(u.get("vi").unwrap(), &rule, &[]), Err(AuthError::NotPermitted { .. })));
}

#[test]
fn ordinary_tag_one_signature_viewers_never() {
    let u = users_with(&[("op", Role::Operator), ("vi", Role::Viewer), ("op2", Role::Operator)]);
    let rule = ApprovalRule::default();
    assert_eq!(rule.required_signatures(), 1);
    assert_eq!(may_approve(u.get("op").unwrap(), &rule, &[]), Ok(()));
    assert_eq!(
        may_approve(u.get("vi").unwrap(), &rule, &[]),
        Err(AuthError::NotPermitted { role: Role::Viewer, command: Command::Approve })
    );
    assert!(rule.is_satisfied(&[sig("op")]));
    assert_eq!(may_approve(u.get("op2").unwrap(), &rule, &[sig("op")]), Err(AuthError::AlreadyApproved));
    // Viewers are refused even when a rule names them.
    let named = ApprovalRule { approvers: Some(vec![Approver::User("vi".into())]), critical: false };
    assert!(matches!(may_approve(u.get("vi").unwrap(), &named, &[]), Err(AuthError::NotPermitted { .. })));
}

#[test]
fn approver_lists_by_role_and_by_name() {
    let u = users_with(&[("op", Role::Operator), ("en", Role::Engineer), ("ad", Role::Admin), ("op2", Role::Operator)]);
    let by_role = ApprovalRule { approvers: Some(vec![Approver::Role(Role::Engineer)]), critical: false };
    assert_eq!(may_approve(u.get("op").unwrap(), &by_role, &[]), Err(AuthError::NotAnApprover("op".into())));
    assert_eq!(may_approve(u.get("en").unwrap(), &by_role, &[]), Ok(()));
    assert_eq!(may_approve(u.get("ad").unwrap(), &by_role, &[]), Ok(()), "roles above count");
    let by_name = ApprovalRule { approvers: Some(vec![Approver::User("op2".into())]), critical: false };
    assert_eq!(may_approve(u.get("op2").unwrap(), &by_name, &[]), Ok(()));
    assert_eq!(may_approve(u.get("op").unwrap(), &by_name, &[]), Err(AuthError::NotAnApprover("op".into())));
    let nobody = ApprovalRule { approvers: Some(vec![]), critical: false };
    assert!(may_approve(u.get("ad").unwrap(), &nobody, &[]).is_err());
}

#[test]
fn disabled_or_locked_users_cannot_approve() {
    let mut u = users_with(&[("en", Role::Engineer), ("ad", Role::Admin)]);
    let rule = ApprovalRule { approvers: None, critical: true };
    u.disable("en").unwrap();
    assert_eq!(may_approve(u.get("en").unwrap(), &rule, &[]), Err(AuthError::Disabled("en".into())));
    u.enable("en").unwrap();
    assert_eq!(may_approve(u.get("en").unwrap(), &rule, &[]), Ok(()));
    for _ in 0..3 {
        let _ = u.sign("ad", "wrong secret", "approve", 5);
    }
    assert_eq!(may_approve(u.get("ad").unwrap(), &rule, &[sig("en")]), Err(AuthError::Locked("ad".into())));
}

#[test]
fn sign_records_who_when_and_meaning() {
    let mut u = users_with(&[("op", Role::Operator)]);
    let s = u.sign("op", S, "  approve P101.speed 1450 -> 1500 rpm ", 1_700_000_000_123).unwrap();
    assert_eq!(
        s,
        Signature {
            user: "op".into(),
            full_name: "op Full".into(),
            ts_ms: 1_700_000_000_123,
            meaning: "approve P101.speed 1450 -> 1500 rpm".into()
        }
    );
    assert_eq!(u.sign("op", S, "   ", 1), Err(AuthError::NoMeaning));
    assert_eq!(u.sign("nobody", S, "x", 1), Err(AuthError::UnknownUser("nobody".into())));
    u.disable("op").unwrap();
    assert_eq!(u.sign("op", S, "x", 1), Err(AuthError::Disabled("op".into())));
}

#[test]
fn wrong_secrets_lock_after_max_attempts_and_success_resets() {
    let mut u = users_with(&[("op", Role::Operator)]);
    assert_eq!(u.sign("op", "bad-one!", "m", 1), Err(AuthError::WrongSecret { user: "op".into(), attempts_left: 2 }));
    assert_eq!(u.get("op").unwrap().failed_attempts, 1);
    // A success resets the count: two more failures do not lock.
    assert!(u.sign("op", S, "m", 2).is_ok());
    assert_eq!(u.get("op").unwrap().failed_attempts, 0);
    assert_eq!(u.sign("op", "bad-one!", "m", 3), Err(AuthError::WrongSecret { user: "op".into(), attempts_left: 2 }));
    assert_eq!(u.sign("op", "bad-two!", "m", 4), Err(AuthError::WrongSecret { user: "op".into(), attempts_left: 1 }));
    assert_eq!(u.sign("op", "bad-three", "m", 5), Err(AuthError::LockedOut { user: "op".into(), attempts: 3 }));
    assert!(u.get("op").unwrap().locked);
    // Locked: even the right secret fails, and the counter no longer moves.
    assert_eq!(u.sign("op", S, "m", 6), Err(AuthError::Locked("op".into())));
    assert_eq!(u.get("op").unwrap().failed_attempts, 3);
    u.unlock("op").unwrap();
    assert!(!u.get("op").unwrap().locked);
    assert_eq!(u.get("op").unwrap().failed_attempts, 0);
    assert!(u.sign("op", S, "m", 7).is_ok());
}

#[test]
fn max_attempts_is_configurable() {
    let mut u = users_with(&[("op", Role::Operator)]);
    u.max_attempts = 1;
    assert_eq!(u.sign("op", "bad-one!", "m", 1), Err(AuthError::LockedOut { user: "op".into(), attempts: 1 }));
}

#[test]
fn add_validates_and_refuses_duplicates() {
    let mut u = users_with(&[("alice", Role::Operator)]);
    assert!(matches!(u.add("alice", "A", Role::Viewer, Some("other"), S), Err(UsersError::Duplicate(_))));
    assert!(matches!(u.add("bob", "B", Role::Viewer, Some("alice"), S), Err(UsersError::DuplicateOsAccount { .. })));
    assert!(matches!(u.add("bob", "B", Role::Viewer, None, "short"), Err(UsersError::SecretTooShort)));
    assert!(matches!(u.add("bob", "  ", Role::Viewer, None, S), Err(UsersError::BadFullName(_))));
    assert!(matches!(u.add("b ob", "B", Role::Viewer, None, S), Err(UsersError::BadName { .. })));
    assert!(matches!(u.add("-bob", "B", Role::Viewer, None, S), Err(UsersError::BadName { .. })));
    assert!(matches!(u.set_secret("alice", "1234567"), Err(UsersError::SecretTooShort)));
    assert!(matches!(u.disable("nobody"), Err(UsersError::UnknownUser(_))));
    let b = u.add("bob", " Bob Builder ", Role::Engineer, Some("bbuilder"), "12345678").unwrap();
    assert_eq!((b.os_account.as_str(), b.full_name.as_str()), ("bbuilder", "Bob Builder"));
    assert_eq!(u.by_os_account("bbuilder").map(|x| x.name.as_str()), Some("bob"));
    assert_eq!(u.by_os_account("alice").map(|x| x.name.as_str()), Some("alice"));
    assert!(u.by_os_account("bob").is_none());
}

#[test]
fn set_secret_changes_the_hash_and_the_secret() {
    let mut u = users_with(&[("op", Role::Operator)]);
    let before = u.get("op").unwrap().secret_hash.clone();
    u.set_secret("op", "new secret 1").unwrap();
    assert_ne!(u.get("op").unwrap().secret_hash, before);
    assert!(matches!(u.sign("op", S, "m", 1), Err(AuthError::WrongSecret { .. })));
    assert!(u.sign("op", "new secret 1", "m", 1).is_ok());
}

#[test]
fn debug_and_errors_never_show_the_hash() {
    let u = users_with(&[("op", Role::Operator)]);
    let user = u.get("op").unwrap();
    let dbg = format!("{user:?} {u:?}");
    assert!(!dbg.contains("$argon2id$"), "{dbg}");
    assert!(!dbg.contains(S));
}

#[test]
fn save_load_round_trip_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = users_path(dir.path());
    let mut u = users_with(&[("alice", Role::Admin), ("bob", Role::Viewer)]);
    u.idle_lock = Duration::from_secs(300);
    u.max_attempts = 5;
    u.disable("bob").unwrap();
    u.save(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("$argon2id$") && !text.contains(S), "{text}");
    assert!(text.contains("idle_lock = \"5m\""), "{text}");
    let back = Users::load(&path).unwrap();
    assert_eq!(back, u);
    // No temp file left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from(USERS_FILE)]);
}

#[test]
fn defaults_missing_file_and_loose_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = users_path(dir.path());
    assert!(matches!(Users::load(&path), Err(UsersError::Missing { .. })));
    let empty = Users::load_or_new(&path).unwrap();
    assert_eq!((empty.idle_lock, empty.max_attempts), (Duration::from_secs(900), 3));
    users_with(&[("a", Role::Viewer)]).save(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = Users::load(&path).unwrap_err();
    assert!(matches!(e, UsersError::Permissions { mode: 0o644, .. }), "{e}");
    assert!(e.to_string().contains("0600"));
}

#[test]
fn modify_creates_then_updates_under_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = users_path(dir.path());
    assert!(matches!(Users::modify(&path, false, |_| Ok(())), Err(UsersError::Missing { .. })));
    Users::modify(&path, true, |u| u.add("op", "Op", Role::Operator, None, S).map(|_| ())).unwrap();
    Users::modify(&path, false, |u| u.disable("op")).unwrap();
    assert!(Users::load(&path).unwrap().get("op").unwrap().disabled);
    // A failing change writes nothing.
    let before = std::fs::read_to_string(&path).unwrap();
    assert!(Users::modify(&path, false, |u| u.unlock("ghost")).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
}

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ";

#[test]
fn parse_minimal_file_with_defaults() {
    let text = format!(
        "version = 1\n[[user]]\nname = \"op\"\nfull_name = \"Op Erator\"\nrole = \"operator\"\nsecret_hash = \"{HASH}\"\n"
    );
    let u = Users::parse(Path::new("users.toml"), &text).unwrap();
    let op = u.get("op").unwrap();
    assert_eq!(
        (op.os_account.as_str(), op.role, op.disabled, op.locked, op.failed_attempts),
        ("op", Role::Operator, false, false, 0)
    );
    assert_eq!(u.idle_lock, DEFAULT_IDLE_LOCK);
}

#[test]
fn parse_reports_every_problem_with_position_and_no_hash() {
    let bad_alg = "$argon2i$v=19$m=16,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo";
    let text = format!(
        "version = 1\nidle_lock = \"0s\"\nmax_attempts = 0\n\
         [[user]]\nname = \"op\"\nfull_name = \"A\"\nrole = \"operator\"\nsecret_hash = \"{HASH}\"\n\
         [[user]]\nname = \"op\"\nos_account = \"x y\"\nfull_name = \"\"\nrole = \"viewer\"\nsecret_hash = \"{bad_alg}\"\n"
    );
    let e = Users::parse(Path::new("users.toml"), &text).unwrap_err().to_string();
    for want in [
        "users.toml:2:13: idle_lock: must be greater than zero",
        "users.toml:3:16: max_attempts: must be at least 1",
        "users.toml:10:8: user[1].name: duplicate user `op`",
        "users.toml:11:14: user[1].os_account: only letters",
        "users.toml:12:13: user[1].full_name: must not be empty",
        "users.toml:14:15: user[1].secret_hash: algorithm `argon2i`",
    ] {
        assert!(e.contains(want), "missing `{want}` in:\n{e}");
    }
    assert!(!e.contains("$argon2"), "{e}");
}

#[test]
fn parse_refuses_unknown_fields_roles_and_versions() {
    let base = format!("[[user]]\nname = \"op\"\nfull_name = \"A\"\nrole = \"operator\"\nsecret_hash = \"{HASH}\"\n");
    let e = Users::parse(Path::new("u.toml"), &format!("version = 2\n{base}")).unwrap_err().to_string();
    assert!(e.contains("u.toml:1:11: version: unsupported version 2"), "{e}");
    let e = Users::parse(Path::new("u.toml"), &format!("version = 1\n{base}is_root = true\n")).unwrap_err().to_string();
    assert!(e.contains("u.toml:7:1") && e.contains("is_root"), "{e}");
    let e = Users::parse(Path::new("u.toml"), &format!("version = 1\n{}", base.replace("operator", "boss")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("u.toml:5:8: user[0].role") && e.contains("boss"), "{e}");
    let e = Users::parse(Path::new("u.toml"), "version = 1\n[[user]]\nname = \"x\"\n").unwrap_err().to_string();
    assert!(e.contains("missing field"), "{e}");
}

#[test]
fn sign_inside_modify_persists_the_attempt_counter() {
    let dir = tempfile::tempdir().unwrap();
    let path = users_path(dir.path());
    users_with(&[("op", Role::Operator)]).save(&path).unwrap();
    let r = Users::modify(&path, false, |u| Ok(u.sign("op", "wrong one", "m", 1))).unwrap();
    assert!(matches!(r, Err(AuthError::WrongSecret { attempts_left: 2, .. })));
    assert_eq!(Users::load(&path).unwrap().get("op").unwrap().failed_attempts, 1);
    let r = Users::modify(&path, false, |u| Ok(u.sign("op", S, "m", 2))).unwrap();
    assert_eq!(r.map(|s| s.ts_ms), Ok(2));
    assert_eq!(Users::load(&path).unwrap().get("op").unwrap().failed_attempts, 0);
}
