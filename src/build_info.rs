//! What this binary is: version and build information recorded by `build.rs`, shown by
//! `mimic --version` and in the terminal's hello.

/// Package version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Git commit the binary was built from (`unknown` outside a git checkout).
pub const GIT_COMMIT: &str = env!("MIMIC_GIT_COMMIT");
/// UTC build date (`SOURCE_DATE_EPOCH` when set).
pub const BUILD_DATE: &str = env!("MIMIC_BUILD_DATE");
/// `rustc --version` of the compiler.
pub const RUSTC: &str = env!("MIMIC_RUSTC");
/// Target triple.
pub const TARGET: &str = env!("MIMIC_TARGET");
/// Cargo profile (`debug` or `release`).
pub const PROFILE: &str = env!("MIMIC_PROFILE");

/// The `--version` line after the program name.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("MIMIC_GIT_COMMIT"),
    ", built ",
    env!("MIMIC_BUILD_DATE"),
    ", ",
    env!("MIMIC_RUSTC"),
    ", ",
    env!("MIMIC_TARGET"),
    ", ",
    env!("MIMIC_PROFILE"),
    ")"
);
