//! ASCII line instruments against a pyserial peer on a socat pty pair, through the daemon
//! and the shipped profiles: a polled weigh scale and a streaming gas analyser, both of
//! which also send damaged lines (truncated, run together, control bytes, over-long).
//! Good lines give Good values, flags give Uncertain / Bad (device flag), each damaged
//! line gives a Bad (decode error) reading and is counted, and the next good line
//! recovers. Every sample is checked in the historian, where each poll's quality is kept.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use mimic::config::Site;
use mimic::daemon::Daemon;
use mimic_drivers::{Quality, Reason};
use support::daemon::{start, stored_at_least, wait_for};
use support::peers::Peer;
use support::pty::{PtyPair, serial_peer};

fn instrument(kind: &str) -> (PtyPair, Peer) {
    serial_peer("ascii_instrument.py", &["--kind", kind])
}

fn profile(name: &str) -> PathBuf {
    support::repo_root().join("profiles").join("instruments").join(name)
}

/// Every stored sample of `tag`: (value, quality).
async fn samples(d: &Daemon, tag: &str, at_least: usize) -> Vec<(f64, Quality)> {
    let got = stored_at_least(d, tag, at_least, Duration::from_millis(200)).await;
    got.iter().map(|s| (s.value, Quality::from_code(s.quality).expect("known quality code"))).collect()
}

fn device(name: &str, port: &Path, profile: &Path, poll: &str) -> String {
    format!(
        "[[device]]\nname = \"{name}\"\nprotocol = \"ascii\"\nport = \"{}\"\nbaud = 9600\nprofile = \"{}\"\n\
         timeout = \"1s\"\npoll = \"{poll}\"\n\n",
        port.display(),
        profile.display()
    )
}

/// The script positions of the peer (see tests/peers/ascii_instrument.py) are judged
/// right: good values, flags and damaged lines, and recovery after each damaged one.
fn check(samples: &[(f64, Quality)], good: &[f64], uncertain: f64, min_bad: usize) {
    let mut decode = 0;
    let mut flagged_bad = 0;
    let mut recovered = false;
    for (k, (v, q)) in samples.iter().enumerate() {
        match q {
            Quality::Good => assert!(good.contains(v), "Good sample {v} was never sent as a good line"),
            Quality::Uncertain(Reason::DeviceFlag) => assert_eq!(*v, uncertain),
            Quality::Bad(Reason::DecodeError) => {
                decode += 1;
                recovered |= samples[k + 1..].iter().any(|(_, q)| q.is_good());
            }
            Quality::Bad(Reason::DeviceFlag) => flagged_bad += 1,
            other => panic!("unexpected quality {other} in {samples:?}"),
        }
    }
    assert!(decode >= min_bad, "{decode} decode errors in {samples:?}");
    assert!(flagged_bad >= 1, "no flagged Bad sample in {samples:?}");
    assert!(samples.iter().any(|(_, q)| matches!(q, Quality::Uncertain(_))), "no Uncertain sample");
    assert!(recovered, "never recovered after a damaged line: {samples:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polled_scale_with_damaged_lines() {
    let (pair, _peer) = instrument("scale");
    let mut toml = "[site]\nname = \"scale\"\n\n".to_string();
    toml += &device("scale", &pair.b, &profile("weigh-scale.toml"), "100ms");
    toml += "[[tag]]\nname = \"weight\"\ndevice = \"scale\"\naddress = \"weight\"\nunits = \"kg\"\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let d = start(&toml, dir.path()).await;
    // two rounds of the peer's 10-line script
    let snap = wait_for(&d, "20 polls", |s| s.devices[0].polls >= 20).await;
    let got = samples(&d, "weight", 20).await;
    check(&got, &[12.34, 12.35, 12.38, -0.5], 12.40, 4);
    assert!(snap.devices[0].errors >= 4, "damaged lines counted: {:?}", snap.devices[0]);
    assert_eq!(snap.devices[0].timeouts, 0, "every poll was answered");
    assert!(snap.devices[0].connected);
    for dev in &snap.devices {
        let e = dev.last_error.as_deref().unwrap_or("");
        assert!(e.chars().all(|c| !c.is_control()), "{e:?}");
    }
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_gas_analyser_with_damaged_lines() {
    let (pair, _peer) = instrument("gas");
    let mut toml = "[site]\nname = \"gas\"\n\n".to_string();
    // polled faster than it streams (every 100 ms): each poll judges the newest line
    toml += &device("gas", &pair.b, &profile("gas-analyser.toml"), "50ms");
    toml += "[[tag]]\nname = \"co2\"\ndevice = \"gas\"\naddress = \"co2\"\n\n\
             [[tag]]\nname = \"o2\"\ndevice = \"gas\"\naddress = \"gas.o2\"\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let d = start(&toml, dir.path()).await;
    let snap = wait_for(&d, "two rounds of the script", |s| s.devices[0].polls >= 40).await;
    let got = samples(&d, "co2", 30).await;
    check(&got, &[412.5, 413.0], 414.0, 3);
    let o2 = samples(&d, "o2", 30).await;
    assert!(o2.iter().any(|(v, q)| q.is_good() && *v == 20.91), "{o2:?}");
    assert!(snap.devices[0].errors >= 3, "{:?}", snap.devices[0]);
    d.shutdown().await;
}

#[test]
fn profile_and_field_errors_name_their_file_and_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prof = dir.path().join("bad.toml");
    std::fs::write(
        &prof,
        "[instrument]\nname = \"x\"\nterminator = \"CRLF\"\nmode = \"poll\"\n\n\
         [[line]]\nname = \"w\"\npattern = '(?P<v>[0-9]+'\n\n\
         [[line]]\nname = \"s\"\npattern = '(?P<v>[0-9]+)'\n\n\
         [[line.flag]]\nfield = \"nope\"\nvalues = [\"U\"]\nquality = \"maybe\"\n\n\
         [[poll]]\nsend = \"Q\\r\\n\"\nline = \"q\"\n",
    )
    .expect("write profile");
    let site = format!(
        "[site]\nname = \"t\"\n\n[[device]]\nname = \"i\"\nprotocol = \"ascii\"\nport = \"/dev/ttyS9\"\nprofile = \"{}\"\n",
        prof.display()
    );
    let errs = Site::parse(&dir.path().join("site.toml"), &site).expect_err("invalid");
    let got: Vec<String> = errs
        .0
        .iter()
        .map(|e| {
            format!("{}:{}:{} {}", e.file.file_name().and_then(|f| f.to_str()).unwrap_or("?"), e.line, e.col, e.path)
        })
        .collect();
    for want in [
        "site.toml:8:11 device[0].profile",
        "bad.toml:8:11 line[0].pattern",
        "bad.toml:15:9 line[1].flag[0].field",
        "bad.toml:17:11 line[1].flag[0].quality",
        "bad.toml:21:8 poll[0].line",
    ] {
        assert!(got.iter().any(|g| g == want), "missing {want} in:\n{}", got.join("\n"));
    }

    // a good profile, a field it does not have, and a writable instrument tag
    let site = format!(
        "[site]\nname = \"t\"\n\n[[device]]\nname = \"i\"\nprotocol = \"ascii\"\nport = \"/dev/ttyS9\"\nprofile = \"{}\"\n\n\
         [[tag]]\nname = \"a\"\ndevice = \"i\"\naddress = \"mass\"\n\n\
         [[tag]]\nname = \"b\"\ndevice = \"i\"\naddress = \"weight\"\nwritable = true\nlow = 0.0\nhigh = 1.0\ntype = \"f32\"\n",
        profile("weigh-scale.toml").display()
    );
    let errs = Site::parse(&dir.path().join("site.toml"), &site).expect_err("invalid");
    let got: Vec<String> = errs.0.iter().map(|e| format!("{}:{} {}: {}", e.line, e.col, e.path, e.message)).collect();
    assert_eq!(
        got,
        [
            "13:11 tag[0].address: no field `mass` in the profile (fields: weight.stability, weight.mode, \
             weight.weight, weight.unit)",
            "19:12 tag[1].writable: an ASCII instrument is read-only",
            "22:8 tag[1].type: does not apply to an ascii instrument's field",
        ],
        "\n{}",
        got.join("\n")
    );
}
