//! Records build information for `mimic --version`: the git commit (`unknown` outside a
//! git checkout, e.g. a source tarball or a vendored offline build), the build date (UTC;
//! `SOURCE_DATE_EPOCH` if set, for reproducible builds), the rustc version, the target
//! triple and the cargo profile. Needs nothing but `git` (optional) and `rustc`.

use std::path::PathBuf;
use std::process::Command;

#[path = "views/src/civil.rs"]
mod civil;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=views/src/civil.rs");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    // Rebuild the information when HEAD moves (a commit, a checkout).
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        let dir = PathBuf::from(dir);
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
            let common = git(&["rev-parse", "--git-common-dir"]).map_or(dir.clone(), PathBuf::from);
            // A packed ref has no file of its own: watch packed-refs then (a missing path
            // would make cargo rerun this script on every build).
            let loose = common.join(head_ref);
            let watched = if loose.exists() { loose } else { common.join("packed-refs") };
            if watched.exists() {
                println!("cargo:rerun-if-changed={}", watched.display());
            }
        }
    }
    let epoch =
        std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.trim().parse::<i64>().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
        });
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "rustc unknown".into());
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=MIMIC_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=MIMIC_BUILD_DATE={}", utc(epoch));
    println!("cargo:rustc-env=MIMIC_RUSTC={rustc_version}");
    println!("cargo:rustc-env=MIMIC_TARGET={}", env("TARGET"));
    println!("cargo:rustc-env=MIMIC_PROFILE={}", env("PROFILE"));
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time.
fn utc(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}
