//! `mimic user …` end to end: the real binary against a temporary data directory.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::binary::{LIMIT, assert_audit_verifies, cmd, mimic_ok};
use support::p;
use support::process::{Run, run_with_stdin};

/// `mimic user ARGS... --data DATA` with `stdin` as its input.
fn mimic(data: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut c = cmd();
    c.arg("user").args(args).arg("--data").arg(data);
    run_with_stdin(c, stdin.unwrap_or(""), LIMIT)
}

fn ok(out: &Run) -> String {
    assert!(out.ok(), "failed: {out}");
    out.stdout.clone()
}

fn err(out: &Run) -> String {
    assert!(!out.ok(), "unexpected success: {out}");
    out.stderr.clone()
}

fn add(data: &Path, name: &str, role: &str, extra: &[&str], secret: &str) -> Run {
    let mut args = vec!["add", name, "--full-name", "Test Person", "--role", role, "--secret-stdin"];
    args.extend_from_slice(extra);
    mimic(data, &args, Some(&format!("{secret}\n")))
}

fn hash_of(text: &str, user: &str) -> String {
    let at = text.find(&format!("name = \"{user}\"")).expect("user in file");
    let rest = &text[at..];
    let line = rest.lines().find(|l| l.starts_with("secret_hash")).expect("hash line");
    line.to_string()
}

#[test]
fn user_commands_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = data.join("users.toml");

    ok(&add(&data, "alice", "admin", &[], "alice secret 1"));
    ok(&add(&data, "bob", "operator", &["--os-account", "bjones"], "bob-secret-2"));

    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "users file mode");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("$argon2id$"), "{text}");
    assert!(!text.contains("alice secret 1") && !text.contains("bob-secret-2"));

    let list = ok(&mimic(&data, &["list"], None));
    assert!(list.contains("alice") && list.contains("admin"), "{list}");
    assert!(list.contains("bob") && list.contains("bjones") && list.contains("operator"), "{list}");
    assert!(list.contains("Test Person"), "{list}");
    assert!(!list.contains("argon2") && !list.contains('$'), "list shows a hash: {list}");

    // Duplicates: same name, or an OS account already mapped.
    let e = err(&add(&data, "alice", "viewer", &["--os-account", "other"], "another secret"));
    assert!(e.contains("already exists"), "{e}");
    let e = err(&add(&data, "carol", "viewer", &["--os-account", "bjones"], "another secret"));
    assert!(e.contains("already maps"), "{e}");
    // Short secrets are refused.
    let e = err(&add(&data, "carol", "viewer", &[], "short"));
    assert!(e.contains("too short"), "{e}");
    assert!(!std::fs::read_to_string(&file).unwrap().contains("carol"));

    // passwd changes the hash (and only bob's).
    let before = std::fs::read_to_string(&file).unwrap();
    ok(&mimic(&data, &["passwd", "bob", "--secret-stdin"], Some("a brand new secret\n")));
    let after = std::fs::read_to_string(&file).unwrap();
    assert_ne!(hash_of(&before, "bob"), hash_of(&after, "bob"));
    assert_eq!(hash_of(&before, "alice"), hash_of(&after, "alice"));
    assert!(!after.contains("a brand new secret"));

    // disable marks disabled; list shows it; unlock and enable work.
    ok(&mimic(&data, &["disable", "bob"], None));
    assert!(std::fs::read_to_string(&file).unwrap().contains("disabled = true"));
    let list = ok(&mimic(&data, &["list"], None));
    let bob_line = list.lines().find(|l| l.starts_with("bob")).unwrap();
    assert!(bob_line.contains("disabled"), "{list}");
    ok(&mimic(&data, &["unlock", "bob"], None));
    ok(&mimic(&data, &["enable", "bob"], None));
    assert!(!std::fs::read_to_string(&file).unwrap().contains("disabled = true"));

    // Unknown users fail with a clear message, before any secret is asked.
    for args in [&["disable", "ghost"][..], &["unlock", "ghost"], &["passwd", "ghost", "--secret-stdin"]] {
        let e = err(&mimic(&data, args, Some("whatever secret\n")));
        assert!(e.contains("no user `ghost`"), "{args:?}: {e}");
    }
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);

    // Every change is in the audit log, attributed to the OS account that made it, and
    // never with a secret or hash; the chain verifies.
    let audit = mimic_ok(&["audit", "export", "--since", "1h", "--data", p(&data)]);
    let lines: Vec<&str> = audit.lines().collect();
    let has = |action: &str, what: &str| lines.iter().any(|l| l.contains(action) && l.contains(what));
    assert!(has("user_add", "user alice added: Test Person (admin)"), "{audit}");
    assert!(has("user_add", "user bob added"), "{audit}");
    assert!(has("user_change", "user bob: secret changed"), "{audit}");
    assert!(has("user_disable", "user bob disabled"), "{audit}");
    assert!(has("user_change", "user bob enabled"), "{audit}");
    assert!(!has("user_add", "carol"), "refused commands change nothing: {audit}");
    assert!(!audit.contains("argon2") && !audit.contains("a brand new secret"), "{audit}");
    assert_audit_verifies(&data);
}

#[test]
fn commands_on_a_missing_users_file_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let e = err(&mimic(dir.path(), &["list"], None));
    assert!(e.contains("no users file"), "{e}");
    let e = err(&add(dir.path(), "x", "boss", &[], "long enough secret"));
    assert!(e.contains("unknown role"), "{e}");
}
