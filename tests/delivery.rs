//! What is delivered: `mimic --version` names the version and how the binary was built,
//! and the systemd unit runs the daemon as the dedicated user with the hardening options.

mod support;

use support::binary::mimic;
use support::repo_root;

#[test]
fn version_reports_build_information() {
    let r = mimic(&["--version"]);
    assert!(r.ok(), "mimic --version: {r}");
    let line = r.stdout.trim();
    assert!(line.starts_with(&format!("mimic {} (commit ", env!("CARGO_PKG_VERSION"))), "{line}");
    let commit = line.split("(commit ").nth(1).and_then(|s| s.split(',').next()).unwrap_or_default();
    assert!(
        commit == "unknown" || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "a 12-digit commit or `unknown`: {line}"
    );
    let built = line.split(", built ").nth(1).and_then(|s| s.split(',').next()).unwrap_or_default();
    assert!(built.len() == 20 && built.ends_with('Z') && built.as_bytes()[10] == b'T', "UTC build date: {line}");
    assert!(line.contains(", rustc 1."), "rustc version: {line}");
    assert!(line.contains("-linux-"), "target triple: {line}");
    assert!(line.ends_with(", debug)") || line.ends_with(", release)") || line.ends_with(", dist)"), "profile: {line}");
}

#[test]
fn the_systemd_unit_runs_as_the_mimic_user_hardened() {
    let unit = std::fs::read_to_string(repo_root().join("dist").join("mimic.service")).expect("dist/mimic.service");
    let has = |line: &str| unit.lines().any(|l| l.trim() == line);
    for line in [
        "User=mimic",
        "Group=mimic",
        "ExecStart=/usr/bin/mimic run /etc/mimic/site.toml --data /var/lib/mimic",
        "KillSignal=SIGTERM",
        "StateDirectory=mimic",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "MemoryDenyWriteExecute=yes",
        "SystemCallFilter=@system-service",
    ] {
        assert!(has(line), "dist/mimic.service lacks `{line}`");
    }
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).expect("Cargo.toml");
    assert!(manifest.contains("[package.metadata.deb]"), "cargo-deb metadata");
    assert!(manifest.contains("\"dist/mimic.service\""), "the package installs the unit");
}
