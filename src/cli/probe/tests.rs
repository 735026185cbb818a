use super::*;
use mimic_drivers::probe::{Found, Skipped};

fn report() -> ProbeReport {
    let hr = TableReport {
        table: Table::HoldingRegister,
        unsupported: false,
        // 12.5f32 = 0x4148_0000; then "AB" "CD" "EF" "G\0"; then a control-laden pair
        found: vec![
            Found { start: 0, values: vec![800, 0x4148, 0x0000, 7] },
            Found { start: 20, values: vec![0x4142, 0x4344, 0x4546, 0x4700, 0x1b5b] },
        ],
        skipped: vec![Skipped { start: 40, count: 16, why: Why::NoAnswer }],
        scanned: 100,
    };
    let ir =
        TableReport { table: Table::InputRegister, unsupported: true, found: vec![], skipped: vec![], scanned: 16 };
    let co = TableReport {
        table: Table::Coil,
        unsupported: false,
        found: vec![Found { start: 3, values: vec![1, 0] }],
        skipped: vec![],
        scanned: 64,
    };
    let mut r = ProbeReport { tables: vec![hr, ir, co], requests: 12, answered: 10, ..Default::default() };
    r.exceptions.insert(2, 5);
    r
}

fn site(fragment: &str) -> Result<crate::config::Site, crate::config::ConfigErrors> {
    let text = format!("[site]\nname = \"probe test\"\n\n{fragment}");
    crate::config::Site::parse(std::path::Path::new("probe.toml"), &text)
}

/// A proposal for `target`: unit 3, device `plc1`, tags `PLC1.…`, ABCD, a 1 s timeout.
fn proposal(target: &Target) -> Proposal<'_> {
    Proposal {
        command: "probe",
        target,
        unit: 3,
        timeout: Duration::from_secs(1),
        device: "plc1",
        tag_prefix: "PLC1.",
        order: ByteOrder::Abcd,
        pipelined: None,
        template: None,
    }
}

#[test]
fn the_proposal_is_a_valid_site_fragment_with_hints() {
    let target = Target::Tcp { endpoint: "10.0.0.5:502".into() };
    let p = Proposal {
        command: "probe modbus tcp://10.0.0.5:502 --unit 3\n[[device]]",
        timeout: Duration::from_millis(500),
        device: "plc \"A\"",
        tag_prefix: "PLC.",
        pipelined: Some(8),
        ..proposal(&target)
    };
    let text = fragment(&report(), &p);
    let site = site(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(site.tags.len(), 4 + 5 + 2);
    assert!(text.contains("max_in_flight = 8 "), "a device that answered the burst: {text}");
    let text = fragment(&report(), &Proposal { pipelined: Some(1), ..p });
    assert!(text.contains("# max_in_flight: keep 1, it answered 1 of a burst of 8"), "{text}");
    assert!(!text.contains("\nmax_in_flight"), "{text}");
    assert!(text.contains("name = \"PLC.hr_00001\""), "{text}");
    assert!(text.contains("# hr:1..=2 as f32 (ABCD) = 12.5: likely a float"), "{text}");
    assert!(text.contains("# hr:20..=23 reads as text \"ABCDEFG\""), "{text}");
    assert!(text.contains("# ir: not supported"), "{text}");
    assert!(text.contains("address = \"coil:4\"\n# read 0"), "{text}");
    assert!(text.contains("timeout = \"500ms\""), "{text}");
    assert!(!text.contains('\x1b'));
}

#[test]
fn the_proposal_as_a_template_gives_the_same_tags() {
    let target = Target::Tcp { endpoint: "10.0.0.5:502".into() };
    let p = proposal(&target);
    let plain = site(&fragment(&report(), &p)).expect("plain proposal");
    let text = fragment(&report(), &Proposal { template: Some("vfd"), ..p });
    let templated = site(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(templated.tags, plain.tags);
    assert!(text.contains("[[template]]\nname = \"vfd\"\n"), "{text}");
    assert!(text.contains("[[template.tag]]\nname = \"hr_00001\"\naddress = \"hr:1\"\n"), "{text}");
    assert!(text.contains("prefix = \"PLC1.\"\ndevice = \"plc1\""), "{text}");
    assert!(!text.contains("[[tag]]"), "{text}");
}

#[test]
fn rtu_proposals_carry_the_line_settings() {
    let serial =
        SerialSettings { port: "/dev/ttyUSB0".into(), baud: 9600, data_bits: 8, parity: Parity::Odd, stop_bits: 2 };
    let target = Target::Rtu { serial };
    let p = Proposal { unit: 7, device: "vfd", tag_prefix: "", order: ByteOrder::Cdab, ..proposal(&target) };
    let text = fragment(&report(), &p);
    let site = site(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(site.devices.len(), 1);
    assert!(text.contains("parity = \"O\"\nstop_bits = 2\nunit = 7"), "{text}");
}

#[test]
fn summary_lists_ranges_skips_and_exceptions() {
    let s = summary(&report(), Duration::from_millis(1500));
    assert!(s.contains("  hr   0..=3, 20..=24 (9 registers)"), "{s}");
    assert!(s.contains("unknown 40..=55: no answer"), "{s}");
    assert!(s.contains("  ir   not supported (illegal function)"), "{s}");
    assert!(s.contains("  coil 3..=4 (2 bits)"), "{s}");
    assert!(s.contains("exceptions: 2 illegal data address × 5"), "{s}");
}

#[test]
fn targets_parse_strictly() {
    let args = |t: &str| ModbusProbeArgs {
        target: t.into(),
        unit: 1,
        tables: vec!["hr".into()],
        start: 0,
        count: 10,
        block: 16,
        bit_block: 64,
        pause: Duration::ZERO,
        timeout: Duration::from_secs(1),
        retries: 1,
        max_timeouts: 3,
        baud: None,
        parity: None,
        data_bits: None,
        stop_bits: None,
        name: "p".into(),
        tag_prefix: String::new(),
        order: "ABCD".into(),
        out: None,
        as_template: None,
    };
    assert_eq!(parse_target(&args("tcp://h:502")).unwrap(), Target::Tcp { endpoint: "h:502".into() });
    assert_eq!(parse_target(&args("10.0.0.1:5020")).unwrap(), Target::Tcp { endpoint: "10.0.0.1:5020".into() });
    assert!(parse_target(&args("tcp://h")).is_err());
    assert!(parse_target(&args("rtu://")).is_err());
    match parse_target(&args("rtu:///dev/ttyS0")).unwrap() {
        Target::Rtu { serial } => assert_eq!(serial.to_string(), "/dev/ttyS0 19200 8E1"),
        t => panic!("{t:?}"),
    }
    let mut a = args("tcp://h:502");
    a.baud = Some(9600);
    assert!(parse_target(&a).is_err(), "serial settings on a TCP target");
    assert_eq!(
        parse_tables(&["co".into(), "hr".into(), "coil".into()]).unwrap(),
        [Table::Coil, Table::HoldingRegister]
    );
    assert!(parse_tables(&["xx".into()]).is_err());
}
