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
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    let cli = mimic::cli::Cli::parse();
    match mimic::cli::run(cli, started) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mimic: {e:#}");
            ExitCode::FAILURE
        }
    }
}
