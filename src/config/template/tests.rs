use std::path::Path;

use crate::config::{Address, Site};

const HEAD: &str = "[site]\nname = \"t\"\n\n[[asset]]\narea = \"a\"\nunit = \"u\"\nname = \"P-1\"\n\n\
[[device]]\nname = \"plc\"\nprotocol = \"modbus-tcp\"\nendpoint = \"127.0.0.1:502\"\n\n";

/// A pump template of three tags, an alarm and a loop.
const PUMP: &str = "[[template]]\nname = \"pump\"\n\
[[template.tag]]\nname = \"speed_sp\"\naddress = \"hr:0\"\nscale = 0.1\nlow = 0\nhigh = 100\nwritable = true\n\
[[template.tag]]\nname = \"flow\"\naddress = \"ir:0\"\nscale = 0.1\nlow = 0\nhigh = 120\n\
[[template.tag]]\nname = \"vib\"\naddress = \"ir:8\"\ntype = \"f32\"\n\
[[template.alarm]]\ntag = \"flow\"\nkind = \"hi\"\nlimit = 100\npriority = \"high\"\n\
[[template.loop]]\nmanipulated = \"speed_sp\"\nkpi = \"flow\"\nlow = 40\nhigh = 60\n\n";

fn parse(body: &str) -> Result<Site, String> {
    Site::parse(Path::new("/s/t.toml"), &format!("{HEAD}{body}")).map_err(|e| e.to_string())
}

fn instance(prefix: &str, offset: i64) -> String {
    format!(
        "[[instance]]\ntemplate = \"pump\"\nprefix = \"{prefix}\"\ndevice = \"plc\"\nasset = \"P-1\"\noffset = {offset}\n\n"
    )
}

#[test]
fn instances_expand_into_tags_alarms_and_loops() {
    let body = format!("{PUMP}{}{}", instance("P1.", 0), instance("P2.", 100));
    let s = parse(&body).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = s.tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["P1.speed_sp", "P1.flow", "P1.vib", "P2.speed_sp", "P2.flow", "P2.vib"]);
    let addr = |i: usize| match &s.tags[i].address {
        Address::Modbus(p) => (p.table.short(), p.address),
        a => panic!("{a:?}"),
    };
    assert_eq!([addr(0), addr(2), addr(3), addr(5)], [("hr", 0), ("ir", 8), ("hr", 100), ("ir", 108)]);
    assert!(s.tags.iter().all(|t| t.device == 0 && t.asset == Some(0)));
    assert_eq!(s.tags[4].high, Some(120.0));
    assert_eq!(s.alarms.len(), 2);
    assert_eq!((s.alarms[1].tag_name(), s.alarms[1].place.area.as_deref()), ("P2.flow", Some("a")));
    assert_eq!(s.loops.len(), 2);
    assert_eq!((s.loops[1].manipulated, s.loops[1].kpi), (3, 4));
}

#[test]
fn plain_tags_and_instances_mix_and_share_one_name_space() {
    let plain = "[[tag]]\nname = \"P1.flow\"\ndevice = \"plc\"\naddress = \"hr:500\"\n\n";
    let e = parse(&format!("{plain}{PUMP}{}", instance("P1.", 0))).expect_err("duplicate");
    // the plain tag's name is on line 15, the template's `flow` on line 29, the instance on line 50
    assert_eq!(
        e,
        "/s/t.toml:29:8: template[0].tag[1].name: duplicate tag name `P1.flow` (first defined on line 15) \
         (in instance[0] `P1.` on line 50)"
    );
}

#[test]
fn a_template_error_is_reported_once_at_the_template_naming_the_instances() {
    let bad = PUMP.replace("low = 0\nhigh = 120", "low = 130\nhigh = 120");
    let body = format!("{bad}{}{}{}", instance("A.", 0), instance("B.", 200), instance("C.", 400));
    let e = parse(&body).expect_err("low above high");
    assert_eq!(
        e,
        "/s/t.toml:27:7: template[0].tag[1].low: low (130) is above high (120) \
         (in instance[0] `A.` on line 45 and 2 other instances)"
    );
}

#[test]
fn instance_errors_point_at_the_instance() {
    let body = format!(
        "{PUMP}[[instance]]\ntemplate = \"pmp\"\nprefix = \"X.\"\ndevice = \"plc\"\n\n\
         [[instance]]\ntemplate = \"pump\"\nprefix = \"Y.\"\ndevice = \"nope\"\nasset = \"P-9\"\noffset = -1\n"
    );
    let e = parse(&body).expect_err("bad instances");
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(
        lines,
        [
            "/s/t.toml:45:12: instance[0].template: unknown template `pmp` (known: pump)",
            "/s/t.toml:52:10: instance[1].device: unknown device `nope`",
            "/s/t.toml:53:9: instance[1].asset: unknown asset `P-9`",
            "/s/t.toml:54:10: instance[1].offset: -1 is outside 0..=65535",
        ]
    );
}

#[test]
fn offsets_that_overlap_or_overflow_name_template_field_and_instance() {
    // offset 8 lands P2's flow (ir:8) on P1's vib (ir:8..=9)
    let e = parse(&format!("{PUMP}{}{}", instance("P1.", 0), instance("P2.", 8))).expect_err("overlap");
    assert_eq!(
        e,
        "/s/t.toml:25:11: template[0].tag[1].address: ir:8..=8 overlaps tag `P1.vib` (ir:8..=9) \
         (in instance[1] `P2.` on line 52)"
    );
    let e = parse(&format!("{PUMP}{}", instance("P1.", 65530))).expect_err("past the end");
    assert!(
        e.contains("/s/t.toml:33:11: template[0].tag[2].address: f32 at ir:65538")
            || e.contains("template[0].tag[2].address: address 65538 is outside 0..=65535 (in instance[0]"),
        "{e}"
    );
}

#[test]
fn templates_are_strict() {
    let e = parse("[[template]]\nname = \"x\"\n[[template.tag]]\nname = \"a\"\naddress = \"hr:0\"\ndevice = \"plc\"\n")
        .expect_err("device in a template tag");
    assert!(e.contains("template[0].tag[0]") && e.contains("unknown field `device`"), "{e}");
    let e = parse("[[instance]]\ntemplate = \"x\"\nprefix = \"a\"\ndevice = \"plc\"\nunit = 3\n").expect_err("unit");
    assert!(e.contains("instance[0]") && e.contains("unknown field `unit`"), "{e}");
    let e = parse("[[template]]\nname = \"x\"\n[[template]]\nname = \"x\"\n").expect_err("duplicate");
    assert_eq!(e, "/s/t.toml:17:8: template[1].name: duplicate template name `x` (first defined on line 15)");
}

#[test]
fn the_example_profile_checks() {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/templates-site.toml"));
    let s = Site::load(path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.tags.len(), s.alarms.len(), s.loops.len(), s.devices.len()), (27, 12, 3, 3));
    assert_eq!(s.loops[2].name, "SK3.flow control");
    assert_eq!(s.tags[9].name, "SK2.speed_sp");
}
