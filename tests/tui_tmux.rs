//! The operator terminal end to end, in a real terminal emulator: `tmux`.
//!
//! Each test runs its own tmux server (`tmux -L <unique>`, no user config), drives the
//! terminal with `send-keys` and reads the screen with `capture-pane`. The server is
//! killed by a guard, also when a test fails.

mod common;
mod mimic_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mimic_support::{Daemon, Run, Sim, mimic, mimic_cmd, poll, run, write_demo_site};

const SCREEN_WAIT: Duration = Duration::from_secs(20);

/// A private tmux server, killed on drop.
struct Tmux {
    bin: PathBuf,
    server: String,
}

impl Tmux {
    fn new() -> Tmux {
        static N: AtomicU32 = AtomicU32::new(0);
        let server = format!("mimic-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
        Tmux { bin: common::require_tool("tmux"), server }
    }

    fn cmd(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["-L", &self.server, "-f", "/dev/null"]).args(args);
        // the tests' environment must not leak a surrounding tmux into the private server
        cmd.env_remove("TMUX");
        run(cmd, Duration::from_secs(10))
    }

    fn ok(&self, args: &[&str]) -> Run {
        let r = self.cmd(args);
        assert!(r.ok(), "tmux {args:?} failed: {r}");
        r
    }

    /// Starts a 100×30 session running `command` (a shell command line).
    fn start(&self, session: &str, command: &str) {
        self.ok(&["new-session", "-d", "-s", session, "-x", "100", "-y", "30", command]);
        // Keep the pane after the program exits, to inspect how it left the terminal.
        self.ok(&["set-option", "-w", "-t", session, "remain-on-exit", "on"]);
    }

    fn capture(&self, session: &str) -> String {
        self.ok(&["capture-pane", "-p", "-t", session]).stdout
    }

    /// The pane with its SGR escape sequences.
    fn capture_escapes(&self, session: &str) -> String {
        self.ok(&["capture-pane", "-p", "-e", "-t", session]).stdout
    }

    fn keys(&self, session: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", session];
        args.extend_from_slice(keys);
        self.ok(&args);
    }

    /// `send-keys -l`: the text literally, not as key names.
    fn type_text(&self, session: &str, text: &str) {
        self.ok(&["send-keys", "-t", session, "-l", text]);
    }

    fn format(&self, session: &str, fmt: &str) -> String {
        self.ok(&["display-message", "-p", "-t", session, fmt]).stdout.trim().to_string()
    }

    /// Polls the screen until `pred` holds; panics with the last screen after `limit`.
    fn wait_screen(&self, session: &str, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        let found = poll(limit, || {
            if self.format(session, "#{pane_dead}") == "1" {
                let screen = self.capture(session);
                let status = self.format(session, "#{pane_dead_status}");
                panic!("the terminal exited (status {status}) while waiting for {what}; screen:\n{screen}");
            }
            last = self.capture(session);
            pred(&last).then(|| last.clone())
        });
        found.unwrap_or_else(|| panic!("no {what} within {limit:?}; screen:\n{last}"))
    }

    /// After the program quits: the wrapper of [`wrapped`] prints the exit status and the
    /// terminal modes, then waits for Enter. Checks the status and that the terminal was
    /// given back (main screen, cursor shown, cooked mode with echo, no leftover UI), then
    /// lets the wrapper exit and checks the pane and the session are gone.
    fn assert_quit_clean(&self, session: &str) {
        let screen =
            self.wait_screen(session, "the program to exit", Duration::from_secs(5), |sc| sc.contains("MODES-END"));
        assert!(screen.contains("EXIT=0"), "exit status:\n{screen}");
        let tokens: Vec<&str> = screen.split(|c: char| c.is_whitespace() || c == ';').collect();
        for mode in ["icanon", "echo", "isig"] {
            assert!(tokens.contains(&mode), "terminal mode {mode} not restored (raw mode left on):\n{screen}");
        }
        assert_eq!(self.format(session, "#{alternate_on}"), "0", "still on the alternate screen:\n{screen}");
        assert_eq!(self.format(session, "#{cursor_flag}"), "1", "cursor left hidden:\n{screen}");
        assert!(!screen.contains("P101.flow") && !screen.contains("GOOD"), "UI left on the main screen:\n{screen}");
        // tmux marks the pane dead on EOF and fills in the status when it reaps the child.
        // The program's own exit status (EXIT=0 above) and the restored modes are what
        // matter; the wrapper's final `read` is only there to keep the pane for
        // inspection, so the session is killed rather than waited on (under tmux 3.3 its
        // `read` sometimes never sees the key).
        self.keys(session, &["Enter"]);
        if let Some(status) = poll(Duration::from_secs(3), || {
            let f = self.format(session, "#{pane_dead}:#{pane_dead_status}");
            f.strip_prefix("1:").filter(|st| !st.is_empty()).map(str::to_string)
        }) {
            assert_eq!(status, "0", "exit status of the pane");
        }
        self.ok(&["kill-session", "-t", session]);
        let gone = poll(Duration::from_secs(5), || (!self.cmd(&["has-session", "-t", session]).ok()).then_some(()));
        assert!(gone.is_some(), "session {session} still exists");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["-L", &self.server, "kill-server"]).env_remove("TMUX");
        let _ = cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).status();
        // kill-server leaves its socket file behind
        let dir = std::env::var_os("TMUX_TMPDIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        let _ = std::fs::remove_file(dir.join(format!("tmux-{uid}")).join(&self.server));
    }
}

/// Shell-quotes `s` in single quotes.
fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A shell command line running mimic with `args`, then printing its exit status and
/// the terminal modes (`stty -a`) and waiting for Enter before exiting with its status.
fn wrapped(env: &str, args: &[&str]) -> String {
    let mut line = format!("env MIMIC_LOG=off {env} {}", sq(mimic().to_str().expect("utf-8 binary path")));
    for a in args {
        line.push(' ');
        line.push_str(&sq(a));
    }
    format!("{line}; rc=$?; printf '\\nEXIT=%s\\n' \"$rc\"; stty -a; echo MODES-END; read -r _; exit \"$rc\"")
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Rows of the screen that look like tag rows (start with a tag name of the demo site).
fn tag_rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .filter(|l| {
            let t = l.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
            ["P101.", "T100.", "FV101."].iter().any(|p| t.starts_with(p))
        })
        .collect()
}

/// True when an SGR sequence in `s` sets a foreground or background colour.
fn has_colour(s: &str) -> bool {
    s.split("\x1b[").skip(1).any(|seq| {
        let Some(end) = seq.find('m') else { return false };
        let params = &seq[..end];
        if !params.chars().all(|c| c.is_ascii_digit() || c == ';') {
            return false;
        }
        params.split(';').filter_map(|p| p.parse::<u32>().ok()).any(|n| {
            (30..=38).contains(&n) || (40..=48).contains(&n) || (90..=97).contains(&n) || (100..=107).contains(&n)
        })
    })
}

fn demo_session(no_color: bool) {
    let tmux = Tmux::new();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let s = "demo";
    let env = if no_color { "NO_COLOR=1" } else { "" };
    tmux.start(s, &wrapped(env, &["demo", "--data", p(&data)]));

    let screen = tmux.wait_screen(s, "the tag table with GOOD values", SCREEN_WAIT, |sc| {
        sc.contains("P101.flow") && sc.contains("GOOD") && sc.contains("LINK OK")
    });
    assert!(screen.contains("[2 Tags]"), "the Tags tab is active first:\n{screen}");
    let coloured = has_colour(&tmux.capture_escapes(s));
    if no_color {
        assert!(!coloured, "NO_COLOR=1 but the screen has colours:\n{}", tmux.capture_escapes(s));
    } else {
        assert!(coloured, "the default theme shows colours:\n{}", tmux.capture_escapes(s));
    }

    tmux.keys(s, &["6"]);
    tmux.wait_screen(s, "the Devices screen with skid-plc UP", SCREEN_WAIT, |sc| {
        sc.contains("[6 Devices]") && sc.contains("skid-plc") && sc.contains("UP")
    });

    tmux.keys(s, &["2"]);
    tmux.wait_screen(s, "the Tags screen", SCREEN_WAIT, |sc| sc.contains("[2 Tags]"));
    tmux.keys(s, &["/"]);
    tmux.type_text(s, "flow");
    tmux.keys(s, &["Enter"]);
    let filtered = tmux.wait_screen(s, "only flow tags", SCREEN_WAIT, |sc| {
        let rows = tag_rows(sc);
        sc.contains("[2 Tags]") && !rows.is_empty() && rows.iter().all(|r| r.to_lowercase().contains("flow"))
    });
    let rows = tag_rows(&filtered);
    assert!(rows.iter().any(|r| r.contains("P101.flow")), "P101.flow listed:\n{filtered}");
    for other in ["P101.speed", "T100.level", "P101.vibration", "FV101.position"] {
        assert!(!filtered.contains(other), "{other} should be filtered out:\n{filtered}");
    }

    tmux.keys(s, &["?"]);
    tmux.wait_screen(s, "the help popup", SCREEN_WAIT, |sc| sc.contains("Help: Tags") && sc.contains("any key closes"));
    tmux.keys(s, &["x"]);
    tmux.wait_screen(s, "the help popup to close", SCREEN_WAIT, |sc| !sc.contains("any key closes"));

    // The filtered list is sorted by name: P101.flow first, then T100.inflow_sp.
    tmux.keys(s, &["Enter"]);
    tmux.wait_screen(s, "the Trend of P101.flow", SCREEN_WAIT, |sc| {
        sc.contains("[3 Trend]") && (sc.contains(" P101.flow [m3/h]") || sc.contains("trend of P101.flow"))
    });
    tmux.wait_screen(s, "the Trend of P101.flow with data", SCREEN_WAIT, |sc| sc.contains(" P101.flow [m3/h]"));

    tmux.keys(s, &["q"]);
    tmux.assert_quit_clean(s);
    assert!(!data.join("mimic.sock").exists(), "the demo removed its socket on quit");
}

#[test]
fn demo_terminal_in_tmux() {
    demo_session(false);
}

#[test]
fn demo_terminal_in_tmux_no_color() {
    demo_session(true);
}

#[test]
fn two_terminals_attached_to_one_daemon() {
    let tmux = Tmux::new();
    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let site = write_demo_site(tmp.path(), &sim.endpoint(), &data);
    let mut cmd = mimic_cmd();
    cmd.args(["run", p(&site), "--data", p(&data)]);
    let mut daemon = Daemon::spawn(cmd);
    let sock = data.join("mimic.sock");
    let up = poll(Duration::from_secs(20), || {
        daemon.assert_running("mimic run");
        sock.exists().then_some(())
    });
    assert!(up.is_some(), "no socket at {} within 20 s", sock.display());

    let sessions = ["tui-a", "tui-b"];
    for s in sessions {
        tmux.start(s, &wrapped("", &["tui", "--data", p(&data)]));
    }
    for s in sessions {
        let first = tmux.wait_screen(s, "live tag values", SCREEN_WAIT, |sc| {
            sc.contains("LINK OK") && tag_rows(sc).iter().any(|r| r.contains("P101.flow") && r.contains("GOOD"))
        });
        // Live: the header clock moves with every snapshot from the daemon.
        let header = first.lines().next().unwrap_or("").to_string();
        tmux.wait_screen(s, "a newer snapshot", SCREEN_WAIT, |sc| {
            sc.lines().next().is_some_and(|h| h != header && h.contains("LINK OK"))
        });
    }
    daemon.assert_running("mimic run");
    for s in sessions {
        tmux.keys(s, &["q"]);
    }
    for s in sessions {
        tmux.assert_quit_clean(s);
    }
    // The daemon outlives its terminals.
    daemon.assert_running("mimic run after the terminals quit");
    let stopped = daemon.signal_and_wait(libc::SIGTERM, Duration::from_secs(15));
    assert_eq!(stopped.code, Some(0), "daemon exit after SIGTERM: {stopped}");
}

/// An idle terminal locks itself, hides the plant, and unlocks only with its user's own
/// secret; a wrong secret is refused on the lock screen.
#[test]
fn an_idle_terminal_locks_and_unlocks_with_the_users_secret() {
    let tmux = Tmux::new();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let me = mimic::ipc::user_name(unsafe { libc::getuid() }).expect("OS account name");
    let users = mimic::users::users_path(&data);
    mimic::users::Users::modify(&users, true, |u| {
        u.add("lena", "Lena Lock", mimic::users::Role::Operator, Some(&me), "lena-secret-1")?;
        Ok(())
    })
    .expect("users file");
    let mut cmd = mimic_cmd();
    cmd.args(["user", "policy", "--idle-lock", "3s", "--data", p(&data)]);
    let out = run(cmd, Duration::from_secs(30));
    assert!(out.ok() && out.stdout.contains("idle lock 3s"), "mimic user policy: {out}");

    let s = "lock";
    tmux.start(s, &wrapped("", &["demo", "--data", p(&data)]));
    tmux.wait_screen(s, "the tag table", SCREEN_WAIT, |sc| sc.contains("P101.flow") && sc.contains("GOOD"));
    let locked = tmux.wait_screen(s, "the lock screen", SCREEN_WAIT, |sc| sc.contains("Locked"));
    assert!(!locked.contains("P101.") && !locked.contains("GOOD"), "values hidden:\n{locked}");
    assert!(locked.contains("Terminal of") && locked.contains("locked after 3s idle"), "{locked}");
    // keys other than Enter and q do nothing
    tmux.keys(s, &["2", "Tab"]);
    tmux.keys(s, &["Enter"]);
    tmux.wait_screen(s, "the unlock prompt", SCREEN_WAIT, |sc| sc.contains("Unlock terminal"));
    tmux.type_text(s, "not-my-secret");
    tmux.keys(s, &["Enter"]);
    let refused = tmux.wait_screen(s, "the refusal", SCREEN_WAIT, |sc| sc.contains("Not unlocked"));
    assert!(refused.contains("Locked") && !refused.contains("P101."), "{refused}");
    tmux.keys(s, &["Enter"]);
    tmux.wait_screen(s, "the unlock prompt again", SCREEN_WAIT, |sc| sc.contains("Unlock terminal"));
    tmux.type_text(s, "lena-secret-1");
    tmux.keys(s, &["Enter"]);
    let back =
        tmux.wait_screen(s, "the plant again", SCREEN_WAIT, |sc| sc.contains("P101.flow") && sc.contains("GOOD"));
    assert!(back.contains("[2 Tags]"), "back where the user left it:\n{back}");
    tmux.keys(s, &["q"]);
    tmux.assert_quit_clean(s);
    // the failed attempt and the unlock are in the audit log
    let mut cmd = mimic_cmd();
    cmd.args(["audit", "export", "--data", p(&data)]);
    let audit = run(cmd, Duration::from_secs(30));
    assert!(audit.ok(), "{audit}");
    assert!(audit.stdout.contains("unlocked terminal"), "unlock audited:\n{}", audit.stdout);
    assert!(audit.stdout.contains("login_failed"), "wrong secret audited:\n{}", audit.stdout);
}

/// The what-if in the demo's terminal: `w` on the pump speed setpoint (a `[[loop]]`'s), a
/// value typed, the twin's prediction of the flow shown; Enter then asks for the write,
/// which waits for approval on the Recommendations screen.
#[test]
fn a_what_if_in_the_terminal_predicts_the_flow_then_asks_for_the_write() {
    let tmux = Tmux::new();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let s = "whatif";
    tmux.start(s, &wrapped("", &["demo", "--data", p(&data), "--faults", "none", "--rul-units", "3"]));
    tmux.wait_screen(s, "the tag table", SCREEN_WAIT, |sc| sc.contains("P101.flow") && sc.contains("GOOD"));
    tmux.keys(s, &["/"]);
    tmux.type_text(s, "speed_sp");
    tmux.keys(s, &["Enter"]);
    tmux.wait_screen(s, "only the speed setpoint", SCREEN_WAIT, |sc| {
        let rows = tag_rows(sc);
        rows.len() == 1 && rows[0].contains("P101.speed_sp")
    });
    tmux.keys(s, &["w"]);
    let form =
        tmux.wait_screen(s, "the what-if form", SCREEN_WAIT, |sc| sc.contains("What-if") && sc.contains("Value:"));
    assert!(form.contains("P101.speed_sp → P101.flow (band 62..78)"), "{form}");
    tmux.type_text(s, "80");
    tmux.keys(s, &["Enter"]);
    let answer = tmux.wait_screen(s, "the prediction", SCREEN_WAIT, |sc| sc.contains("at steady state"));
    assert!(
        answer.contains("What-if: P-101 discharge flow") && answer.contains("P101.speed_sp 75.0 → 80.0 %"),
        "{answer}"
    );
    let line = answer.lines().find(|l| l.contains("P101.flow now")).unwrap_or_else(|| panic!("{answer}"));
    // flow ∝ speed: about 69.7 → 74.4 m3/h
    let ss: f64 = line
        .split(" → ")
        .nth(1)
        .and_then(|x| x.split(' ').next())
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!((ss - 74.4).abs() < 1.5, "{line}");
    assert!(answer.contains("inside its band") && answer.contains("time constant"), "{answer}");
    tmux.keys(s, &["Enter"]);
    tmux.wait_screen(s, "the request", SCREEN_WAIT, |sc| sc.contains("waits for approval"));
    tmux.keys(s, &["5"]);
    let recs = tmux.wait_screen(s, "the pending request", SCREEN_WAIT, |sc| {
        sc.contains("[5 Recommendations]") && sc.contains("P101.speed_sp") && sc.contains("pending")
    });
    assert!(recs.contains("manual entry"), "{recs}");
    tmux.keys(s, &["q"]);
    tmux.assert_quit_clean(s);
}
