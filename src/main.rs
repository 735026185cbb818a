//! The `mimic` binary: one program, several faces (daemon, terminal, demo, tools).
//! Errors become `anyhow` reports only here, at the edge.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let started = std::time::Instant::now();
    // glibc gives each thread that allocates its own arena (up to 8 per core); a daemon
    // whose tokio workers and writer thread pass batches between them then holds many
    // half-empty arenas. One is plenty here: the daemon allocates little per sample, and
    // its writer trims the heap (measured at 10k tags: 8 arenas 177 MiB RSS, 2 arenas 85,
    // then 42 after the historian's journal and lazy snapshots, 1 arena: see BENCHMARKS).
    // Blocks of 1 MiB and more are mapped and unmapped on their own: glibc's default
    // threshold rises to the largest block freed (the store's pages of a second's journal
    // row, several MB at 100k tags), after which such blocks come from the heap and leave
    // holes that its trim cannot give back: the RSS crept up by 0.4 MiB a minute at 100k
    // tags while the heap in use stayed flat (heaptrack; a 20-minute run at 100k tags:
    // threshold fixed at 1 MiB flat at 130 MiB, at 4 MiB 114 -> 149 MiB: see BENCHMARKS).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
    let cli = mimic::cli::Cli::parse();
    match mimic::cli::run(cli, started) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mimic: {}", report(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once: a message that already quotes
/// its cause (`{path}: {source}`) is not followed by the cause again.
fn report(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("asset P-101: {source}")]
    struct Fit {
        source: std::io::Error,
    }

    #[test]
    fn a_cause_already_quoted_is_not_said_twice() {
        let inner = std::io::Error::other("at least 265 are needed");
        let e = anyhow::Error::new(Fit { source: inner }).context("training");
        assert_eq!(super::report(&e), "training: asset P-101: at least 265 are needed");
        let plain = anyhow::anyhow!("bad").context("reading site.toml");
        assert_eq!(super::report(&plain), "reading site.toml: bad");
    }
}
