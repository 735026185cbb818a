//! Bounded runs of a command and child processes that are killed and reaped on drop.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::poll;

/// The result of a bounded command run.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

fn drain(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs `cmd` to completion with no stdin; kills it and panics after `limit`.
pub fn run(cmd: Command, limit: Duration) -> Run {
    run_with_stdin(cmd, "", limit)
}

/// Runs `cmd` to completion with `input` as its stdin; kills it and panics after `limit`.
pub fn run_with_stdin(mut cmd: Command, input: &str, limit: Duration) -> Run {
    cmd.stdin(if input.is_empty() { Stdio::null() } else { Stdio::piped() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let desc = format!("{cmd:?}");
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot spawn {desc}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        // a command that exits before reading is judged by its output, not by the pipe
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = drain(child.stdout.take().expect("piped stdout"));
    let err = drain(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                let (o, e) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
                panic!("{desc} did not finish within {limit:?}\n--- stdout ---\n{o}\n--- stderr ---\n{e}");
            }
            Err(e) => panic!("waiting for {desc}: {e}"),
        }
    };
    Run { code: status.code(), stdout: out.join().unwrap_or_default(), stderr: err.join().unwrap_or_default() }
}

/// A child process that is killed and reaped on drop (for daemons the test wants to
/// signal and wait for itself). Its output is collected for failure messages.
pub struct Process {
    pub child: Child,
    out: Option<thread::JoinHandle<String>>,
    err: Option<thread::JoinHandle<String>>,
}

impl Process {
    pub fn spawn(mut cmd: Command) -> Process {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let desc = format!("{cmd:?}");
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot spawn {desc}: {e}"));
        let out = drain(child.stdout.take().expect("piped stdout"));
        let err = drain(child.stderr.take().expect("piped stderr"));
        Process { child, out: Some(out), err: Some(err) }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits i32")
    }

    /// Panics (with the output so far) if the process has exited.
    pub fn assert_running(&mut self, what: &str) {
        if let Ok(Some(status)) = self.child.try_wait() {
            let (o, e) = self.collect();
            panic!("{what} exited early ({status})\n--- stdout ---\n{o}\n--- stderr ---\n{e}");
        }
    }

    /// Sends `sig` and waits up to `limit` for the exit; returns the exit code and output.
    pub fn signal_and_wait(&mut self, sig: i32, limit: Duration) -> Run {
        // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill({}, {sig}) failed: {}", self.pid(), std::io::Error::last_os_error());
        let status = poll(limit, || self.child.try_wait().ok().flatten());
        let Some(status) = status else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let (o, e) = self.collect();
            panic!(
                "process did not exit within {limit:?} after signal {sig}\n--- stdout ---\n{o}\n--- stderr ---\n{e}"
            );
        };
        let (stdout, stderr) = self.collect();
        Run { code: status.code(), stdout, stderr }
    }

    fn collect(&mut self) -> (String, String) {
        let o = self.out.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        let e = self.err.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        (o, e)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
