//! The site-file loader on arbitrary text: it must never panic, and every diagnostic it
//! prints must be one line free of control characters (`mimic check` prints them to a
//! terminal, so a file must not be able to smuggle escape sequences through them).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[cfg(not(feature = "site"))]
fuzz_target!(|_data: &[u8]| {});

#[cfg(feature = "site")]
fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match mimic::config::Site::parse(std::path::Path::new("fuzz.toml"), text) {
        Ok(site) => {
            // A valid site's tag and device references are in range.
            for t in &site.tags {
                assert!(t.device < site.devices.len(), "tag {} names device {}", t.name, t.device);
                assert!(t.asset.is_none_or(|a| a < site.assets.len()), "tag {} asset out of range", t.name);
            }
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "an error without a diagnostic");
            for e in &errors.0 {
                let line = e.to_string();
                assert!(!line.chars().any(|c| c.is_control()), "control character in a diagnostic: {line:?}");
            }
        }
    }
});
