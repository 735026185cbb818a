//! A private tmux server for terminal tests: sessions of a given size, keys, screen
//! captures, waits on the screen, and the check that a program gave the terminal back.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::binary;
use super::peers::require_tool;
use super::poll;
use super::process::{Run, run};

/// A private tmux server, killed on drop.
pub struct Tmux {
    bin: PathBuf,
    server: String,
}

impl Tmux {
    pub fn new() -> Tmux {
        static N: AtomicU32 = AtomicU32::new(0);
        let server = format!("mimic-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
        Tmux { bin: require_tool("tmux"), server }
    }

    pub fn cmd(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["-L", &self.server, "-f", "/dev/null"]).args(args);
        // the tests' environment must not leak a surrounding tmux into the private server
        cmd.env_remove("TMUX");
        run(cmd, Duration::from_secs(10))
    }

    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.cmd(args);
        assert!(r.ok(), "tmux {args:?} failed: {r}");
        r
    }

    /// Starts a 100×30 session running `command` (a shell command line).
    pub fn start(&self, session: &str, command: &str) {
        self.start_sized(session, 100, 30, command);
    }

    /// Starts a `cols`×`rows` session running `command` (a shell command line).
    pub fn start_sized(&self, session: &str, cols: u16, rows: u16, command: &str) {
        let (cols, rows) = (cols.to_string(), rows.to_string());
        self.ok(&["new-session", "-d", "-s", session, "-x", &cols, "-y", &rows, command]);
        // Keep the pane after the program exits, to inspect how it left the terminal.
        self.ok(&["set-option", "-w", "-t", session, "remain-on-exit", "on"]);
    }

    pub fn capture(&self, session: &str) -> String {
        self.ok(&["capture-pane", "-p", "-t", session]).stdout
    }

    /// The pane with its SGR escape sequences.
    pub fn capture_escapes(&self, session: &str) -> String {
        self.ok(&["capture-pane", "-p", "-e", "-t", session]).stdout
    }

    pub fn keys(&self, session: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", session];
        args.extend_from_slice(keys);
        self.ok(&args);
    }

    /// `send-keys -l`: the text literally, not as key names.
    pub fn type_text(&self, session: &str, text: &str) {
        self.ok(&["send-keys", "-t", session, "-l", text]);
    }

    pub fn format(&self, session: &str, fmt: &str) -> String {
        self.ok(&["display-message", "-p", "-t", session, fmt]).stdout.trim().to_string()
    }

    /// Polls the screen until `pred` holds; panics with the last screen after `limit`.
    pub fn wait_screen(&self, session: &str, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
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
    pub fn assert_quit_clean(&self, session: &str) {
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
pub fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A shell command line running mimic with `args`, then printing its exit status and
/// the terminal modes (`stty -a`) and waiting for Enter before exiting with its status.
pub fn wrapped(env: &str, args: &[&str]) -> String {
    let mut line = format!("env MIMIC_LOG=off {env} {}", sq(binary::path().to_str().expect("utf-8 binary path")));
    for a in args {
        line.push(' ');
        line.push_str(&sq(a));
    }
    format!("{line}; rc=$?; printf '\\nEXIT=%s\\n' \"$rc\"; stty -a; echo MODES-END; read -r _; exit \"$rc\"")
}
