//! The Sparkplug B payload decoder on arbitrary bytes (what a broker may deliver as an
//! NCMD, DCMD or STATE): it must never panic, and a payload it accepts must encode again
//! and decode to the same payload.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[cfg(not(feature = "site"))]
fuzz_target!(|_data: &[u8]| {});

#[cfg(feature = "site")]
fuzz_target!(|data: &[u8]| {
    use mimic::mqtt::payload::decode;
    use prost::Message;
    if let Ok(p) = decode(data) {
        let again = decode(&p.encode_to_vec()).expect("a decoded payload encodes to a decodable one");
        assert_eq!(format!("{again:?}"), format!("{p:?}"), "round trip changed the payload");
    }
});
