//! The ASCII instrument line parser (`parse_line`: a profile's line patterns applied to one
//! framed line) on arbitrary bytes, with the real profiles of profiles/instruments/ loaded
//! by the real loader. The first byte picks the profile, the rest is the line. It must
//! never panic; a line it accepts is printable, matched by the line type it names and by
//! none before it, with fields taken from the line and the flag its values call for; a
//! line it refuses gives a one-line, control-free error of bounded length (it is logged
//! and shown on the Devices screen); field numbers are finite or absent.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[cfg(not(feature = "site"))]
fuzz_target!(|_data: &[u8]| {});

#[cfg(feature = "site")]
mod target {
    use std::path::Path;
    use std::sync::LazyLock;

    use mimic_drivers::ascii::profile::parse_number;
    use mimic_drivers::ascii::{FlagQuality, LineError, Profile, parse_line};

    const PROFILES: [(&str, &str); 3] = [
        ("weigh-scale.toml", include_str!("../../../profiles/instruments/weigh-scale.toml")),
        ("gas-analyser.toml", include_str!("../../../profiles/instruments/gas-analyser.toml")),
        ("flowmeter.toml", include_str!("../../../profiles/instruments/flowmeter.toml")),
    ];

    static LOADED: LazyLock<Vec<Profile>> = LazyLock::new(|| {
        PROFILES
            .iter()
            .map(|(name, text)| {
                mimic::config::parse_profile(Path::new(name), text)
                    .unwrap_or_else(|e| panic!("profile {name} does not load: {e:?}"))
            })
            .collect()
    });

    pub fn check(data: &[u8]) {
        let Some((&sel, line)) = data.split_first() else { return };
        let profile = &LOADED[usize::from(sel) % LOADED.len()];
        match parse_line(profile, line) {
            Ok(p) => {
                assert!(!line.is_empty(), "an empty line was accepted");
                assert!(line.iter().all(|&b| (0x20..=0x7e).contains(&b) || b == b'\t'), "a non-printable line");
                let text = std::str::from_utf8(line).expect("printable ASCII is UTF-8");
                let t = profile.lines.get(p.line).expect("line type index in range");
                assert!(t.pattern.is_match(text), "line type {} does not match its own line", t.name);
                for earlier in &profile.lines[..p.line] {
                    assert!(!earlier.pattern.is_match(text), "an earlier line type {} matches too", earlier.name);
                }
                for (name, value) in &p.fields {
                    assert!(t.fields().any(|f| f == name), "field {name} is not in line type {}", t.name);
                    assert!(text.contains(value.as_str()), "field {name} = {value:?} is not from the line");
                    if let Some(v) = parse_number(value) {
                        assert!(v.is_finite(), "field {name} parsed to {v}");
                    }
                }
                let worst = t
                    .flags
                    .iter()
                    .filter(|f| p.field(&f.field).is_some_and(|v| f.values.iter().any(|x| x == v.trim())))
                    .map(|f| f.quality)
                    .max();
                assert_eq!(p.flag, worst, "flag of {text:?}");
                if p.flag == Some(FlagQuality::Bad) {
                    assert!(t.flags.iter().any(|f| f.quality == FlagQuality::Bad));
                }
            }
            Err(e) => {
                if line.is_empty() {
                    assert_eq!(e, LineError::Empty);
                }
                let msg = e.to_string();
                assert!(!msg.chars().any(char::is_control), "control character in an error: {msg:?}");
                assert!(msg.len() <= 400, "error of {} bytes for a {}-byte line", msg.len(), line.len());
            }
        }
    }
}

#[cfg(feature = "site")]
fuzz_target!(|data: &[u8]| target::check(data));
