//! Malformed site files: every error the loader reports must carry the exact line,
//! column (1-based, in characters, at the start of the offending value or key), field
//! path and message, and no other error may be reported.
//!
//! Most cases are built with [`with_tag`]: a fixed, valid header of [`HDR`] lines
//! (site + one device `plc`) followed by the case's text, so the case's own line `k`
//! (1-based) is file line `HDR + k`.

mod support;

use std::path::{Path, PathBuf};

use mimic::config::{ConfigError, ConfigErrors, Site};

/// Valid header: site `t` and one device `plc`. Exactly [`HDR`] lines.
const HEADER: &str = "\
[site]
name = \"t\"

[[device]]
name = \"plc\"
protocol = \"modbus-tcp\"
endpoint = \"127.0.0.1:502\"

";
/// Number of lines in [`HEADER`].
const HDR: usize = 8;

fn with_tag(body: &str) -> String {
    format!("{HEADER}{body}")
}

/// [`with_tag`] of one tag `a` on `plc` with `keys` after its name and device: the
/// case's keys start on its line 4 (file line `HDR + 4`).
fn tag_a(keys: &str) -> String {
    with_tag(&format!("[[tag]]\nname = \"a\"\ndevice = \"plc\"\n{keys}"))
}

/// How an expected message is matched.
#[derive(Clone, Copy, Debug)]
enum Msg {
    /// The whole message.
    Is(&'static str),
    /// The message starts with this (for messages that go on to list alternatives
    /// or quote a third-party parser).
    Starts(&'static str),
}

impl Msg {
    fn matches(self, m: &str) -> bool {
        match self {
            Msg::Is(s) => m == s,
            Msg::Starts(s) => m.starts_with(s),
        }
    }
}

use Msg::{Is, Starts};

struct Case {
    name: &'static str,
    text: String,
    /// (line, col, path, message), in the order reported (sorted by line, col).
    want: Vec<(usize, usize, &'static str, Msg)>,
}

fn case(name: &'static str, text: impl Into<String>, want: Vec<(usize, usize, &'static str, Msg)>) -> Case {
    Case { name, text: text.into(), want }
}

fn cases() -> Vec<Case> {
    vec![
        // ---- TOML syntax and shape (serde) ----
        case(
            "toml syntax error: missing value",
            tag_a("address = \n"),
            // line 4 of the body is `address = `; the value is missing at col 11
            vec![(HDR + 4, 11, "(syntax)", Starts("string values must be quoted"))],
        ),
        case(
            "toml syntax error: unterminated string",
            with_tag("[[tag]]\nname = \"a\ndevice = \"plc\"\n"),
            vec![(HDR + 2, 10, "(syntax)", Is("invalid basic string, expected `\"`"))],
        ),
        case(
            "unknown top-level key",
            with_tag("[[tags]]\nname = \"a\"\n"),
            vec![(
                HDR + 1,
                3,
                "tags",
                Is("unknown field `tags`, expected one of `site`, `asset`, `device`, `tag`, `alarm`, `mqtt`, \
                     `opcua_server`, `loop`, `template`, `instance`"),
            )],
        ),
        case(
            "misspelled field in a tag",
            tag_a("address = \"hr:0\"\nlow = 0.0\nhihg = 10.0\n"),
            vec![(HDR + 6, 1, "tag[0].hihg", Starts("unknown field `hihg`, expected one of"))],
        ),
        case(
            "misspelled field in a device",
            "[site]\nname = \"t\"\n\n[[device]]\nname = \"plc\"\nprotocol = \"modbus-tcp\"\nendpiont = \"127.0.0.1:502\"\n",
            vec![(7, 1, "device[0].endpiont", Starts("unknown field `endpiont`, expected one of"))],
        ),
        case(
            "wrong value type: string for low",
            tag_a("address = \"hr:0\"\nlow = \"10\"\n"),
            vec![(HDR + 5, 7, "tag[0].low", Is("invalid type: string \"10\", expected f64"))],
        ),
        case("missing required field: address", tag_a(""), vec![(HDR + 1, 1, "tag[0]", Is("missing field `address`"))]),
        case(
            "missing [site] table",
            "[[device]]\nname = \"plc\"\nprotocol = \"modbus-tcp\"\nendpoint = \"127.0.0.1:502\"\n",
            vec![(1, 1, "(top)", Is("missing field `site`"))],
        ),
        // ---- names and references ----
        case(
            "duplicate tag name",
            with_tag(
                "[[tag]]\nname = \"a\"\ndevice = \"plc\"\naddress = \"hr:0\"\n\n\
                 [[tag]]\nname = \"a\"\ndevice = \"plc\"\naddress = \"hr:1\"\n",
            ),
            vec![(HDR + 7, 8, "tag[1].name", Is("duplicate tag name `a` (first defined on line 10)"))],
        ),
        case(
            "duplicate device name",
            "[site]\nname = \"t\"\n\n\
             [[device]]\nname = \"plc\"\nprotocol = \"modbus-tcp\"\nendpoint = \"10.0.0.1:502\"\n\n\
             [[device]]\nname = \"plc\"\nprotocol = \"modbus-tcp\"\nendpoint = \"10.0.0.2:502\"\n",
            vec![(10, 8, "device[1].name", Is("duplicate device name `plc` (first defined on line 5)"))],
        ),
        case(
            "unknown device reference",
            with_tag("[[tag]]\nname = \"a\"\ndevice = \"plc2\"\naddress = \"hr:0\"\n"),
            vec![(HDR + 3, 10, "tag[0].device", Is("unknown device `plc2` (known: plc)"))],
        ),
        case(
            "unknown asset reference",
            with_tag(
                "[[asset]]\narea = \"a\"\nunit = \"u\"\nname = \"P-101\"\n\n\
                 [[tag]]\nname = \"a\"\ndevice = \"plc\"\nasset = \"P-102\"\naddress = \"hr:0\"\n",
            ),
            vec![(HDR + 9, 9, "tag[0].asset", Is("unknown asset `P-102` (known: P-101)"))],
        ),
        case(
            "empty tag name",
            with_tag("[[tag]]\nname = \" \"\ndevice = \"plc\"\naddress = \"hr:0\"\n"),
            vec![(HDR + 2, 8, "tag[0].name", Is("must not be empty"))],
        ),
        // ---- register spans ----
        case(
            "overlapping register spans: f32 at hr:10, u16 at hr:11",
            with_tag(
                "[[tag]]\nname = \"f\"\ndevice = \"plc\"\naddress = \"hr:10\"\ntype = \"f32\"\n\n\
                 [[tag]]\nname = \"u\"\ndevice = \"plc\"\naddress = \"hr:11\"\n",
            ),
            vec![(HDR + 10, 11, "tag[1].address", Is("hr:11..=11 overlaps tag `f` (hr:10..=11)"))],
        ),
        case(
            "overlap reported on the later address even when written first",
            with_tag(
                "[[tag]]\nname = \"u\"\ndevice = \"plc\"\naddress = \"hr:11\"\n\n\
                 [[tag]]\nname = \"f\"\ndevice = \"plc\"\naddress = \"hr:10\"\ntype = \"f32\"\n",
            ),
            vec![(HDR + 4, 11, "tag[0].address", Is("hr:11..=11 overlaps tag `f` (hr:10..=11)"))],
        ),
        case(
            "overlap: whole-register value and a bit of the same register",
            with_tag(
                "[[tag]]\nname = \"w\"\ndevice = \"plc\"\naddress = \"ir:3\"\n\n\
                 [[tag]]\nname = \"b\"\ndevice = \"plc\"\naddress = \"ir:3\"\ntype = \"bool\"\nbit = 4\n",
            ),
            vec![(HDR + 9, 11, "tag[1].address", Is("ir:3..=3 overlaps tag `w` (ir:3..=3)"))],
        ),
        case(
            "two bools on the same bit of one register",
            with_tag(
                "[[tag]]\nname = \"b1\"\ndevice = \"plc\"\naddress = \"hr:7\"\ntype = \"bool\"\nbit = 2\n\n\
                 [[tag]]\nname = \"b2\"\ndevice = \"plc\"\naddress = \"hr:7\"\ntype = \"bool\"\nbit = 2\n",
            ),
            vec![(HDR + 11, 11, "tag[1].address", Is("bit 2 of hr:7 is already tag `b1`"))],
        ),
        case(
            "two coils at the same address",
            with_tag(
                "[[tag]]\nname = \"c1\"\ndevice = \"plc\"\naddress = \"coil:5\"\n\n\
                 [[tag]]\nname = \"c2\"\ndevice = \"plc\"\naddress = \"coil:5\"\n",
            ),
            vec![(HDR + 9, 11, "tag[1].address", Is("coil:5..=5 overlaps tag `c1` (coil:5..=5)"))],
        ),
        // ---- ranges, durations ----
        case(
            "low above high",
            tag_a("address = \"hr:0\"\nlow = 50.0\nhigh = 20.0\n"),
            vec![(HDR + 5, 7, "tag[0].low", Is("low (50) is above high (20)"))],
        ),
        case(
            "tag poll period 0s",
            tag_a("address = \"hr:0\"\npoll = \"0s\"\n"),
            vec![(HDR + 5, 8, "tag[0].poll", Is("must be greater than zero"))],
        ),
        case(
            "device poll period 0s",
            "[site]\nname = \"t\"\n\n[[device]]\nname = \"plc\"\nprotocol = \"modbus-tcp\"\nendpoint = \"127.0.0.1:502\"\npoll = \"0s\"\n",
            vec![(8, 8, "device[0].poll", Is("must be greater than zero"))],
        ),
        case(
            "unparsable duration",
            tag_a("address = \"hr:0\"\nstale_after = \"fast\"\n"),
            vec![(HDR + 5, 15, "tag[0].stale_after", Starts("`fast` is not a duration ("))],
        ),
        case(
            "unparsable retention",
            "[site]\nname = \"t\"\nretention = \"one year\"\n",
            vec![(3, 13, "site.retention", Starts("`one year` is not a duration ("))],
        ),
        // ---- addresses ----
        case(
            "address without colon",
            tag_a("address = \"hr100\"\n"),
            vec![(
                HDR + 4,
                11,
                "tag[0].address",
                Is("`hr100` is not table:address (tables: hr, ir, coil, di; e.g. \"hr:100\")"),
            )],
        ),
        case(
            "address with unknown table",
            tag_a("address = \"xx:1\"\n"),
            vec![(
                HDR + 4,
                11,
                "tag[0].address",
                Is("`xx:1` is not table:address (tables: hr, ir, coil, di; e.g. \"hr:100\")"),
            )],
        ),
        case(
            "address above 65535",
            tag_a("address = \"hr:65536\"\n"),
            vec![(HDR + 4, 11, "tag[0].address", Is("address 65536 is outside 0..=65535"))],
        ),
        case(
            "f64 at hr:65534 runs past the end",
            tag_a("address = \"hr:65534\"\ntype = \"f64\"\n"),
            vec![(HDR + 4, 11, "tag[0].address", Is("f64 at hr:65534 needs 4 registers and runs past address 65535"))],
        ),
        // ---- types, bits, orders ----
        case(
            "bool in a register without bit",
            tag_a("address = \"hr:3\"\ntype = \"bool\"\n"),
            vec![(HDR + 4, 11, "tag[0].bit", Is("a bool in a register needs `bit` (0..=15)"))],
        ),
        case(
            "bit on a u16",
            tag_a("address = \"hr:3\"\ntype = \"u16\"\nbit = 3\n"),
            vec![(HDR + 6, 7, "tag[0].bit", Is("`bit` applies only to type bool in a register (hr/ir)"))],
        ),
        case(
            "bit on a coil",
            tag_a("address = \"coil:3\"\nbit = 3\n"),
            vec![(HDR + 5, 7, "tag[0].bit", Is("`bit` applies only to type bool in a register (hr/ir)"))],
        ),
        case(
            "bit 16",
            tag_a("address = \"hr:3\"\ntype = \"bool\"\nbit = 16\n"),
            vec![(HDR + 6, 7, "tag[0].bit", Is("bit 16 is outside 0..=15"))],
        ),
        case(
            "order CDAB on a u16",
            tag_a("address = \"hr:3\"\ntype = \"u16\"\norder = \"CDAB\"\n"),
            vec![(HDR + 6, 9, "tag[0].order", Is("order `CDAB` does not apply to u16 (use AB, BA)"))],
        ),
        case(
            "order BA on an f32",
            tag_a("address = \"hr:3\"\ntype = \"f32\"\norder = \"BA\"\n"),
            vec![(HDR + 6, 9, "tag[0].order", Is("order `BA` does not apply to f32 (use ABCD, CDAB, BADC, DCBA)"))],
        ),
        case(
            "unknown order name",
            with_tag(
                "[[tag]]\nname = \"a\"\ndevice = \"plc\"\naddress = \"hr:3\"\ntype = \"f32\"\norder = \"little\"\n",
            ),
            vec![(HDR + 6, 9, "tag[0].order", Is("unknown order `little` (for f32 use ABCD, CDAB, BADC, DCBA)"))],
        ),
        case(
            "type f32 on a coil",
            tag_a("address = \"coil:3\"\ntype = \"f32\"\n"),
            vec![(HDR + 5, 8, "tag[0].type", Is("coil holds single bits: type must be bool"))],
        ),
        case(
            "unknown type on a discrete input: one error, not two",
            tag_a("address = \"di:3\"\ntype = \"float\"\n"),
            vec![(HDR + 5, 8, "tag[0].type", Is("unknown type `float` (u16, i16, u32, i32, f32, f64, bool)"))],
        ),
        case(
            "coil address out of range keeps the table (no bogus `bit` error)",
            tag_a("address = \"coil:70000\"\ntype = \"bool\"\n"),
            vec![(HDR + 4, 11, "tag[0].address", Is("address 70000 is outside 0..=65535"))],
        ),
        case(
            "scale 0",
            tag_a("address = \"hr:0\"\nscale = 0.0\n"),
            vec![(HDR + 5, 9, "tag[0].scale", Is("must be a finite, non-zero number"))],
        ),
        case(
            "scale nan",
            tag_a("address = \"hr:0\"\nscale = nan\n"),
            vec![(HDR + 5, 9, "tag[0].scale", Is("must be a finite, non-zero number"))],
        ),
        case(
            "negative deadband and too many decimals",
            tag_a("address = \"hr:0\"\ndeadband = -1.0\ndecimals = 12\n"),
            vec![
                (HDR + 5, 12, "tag[0].deadband", Is("must be a finite number ≥ 0")),
                (HDR + 6, 12, "tag[0].decimals", Is("12 is outside 0..=9")),
            ],
        ),
        // ---- writes ----
        case(
            "writable on an input register",
            with_tag(
                "[[tag]]\nname = \"a\"\ndevice = \"plc\"\naddress = \"ir:0\"\nlow = 0.0\nhigh = 1.0\nwritable = true\n",
            ),
            vec![(HDR + 7, 12, "tag[0].writable", Is("ir is read-only; only hr and coil can be written"))],
        ),
        case(
            "writable tag without limits",
            tag_a("address = \"hr:0\"\nlow = 0.0\nwritable = true\n"),
            vec![(HDR + 6, 12, "tag[0].writable", Is("a writable tag needs engineering limits `low` and `high`"))],
        ),
        // ---- devices ----
        case(
            "unknown protocol",
            "[site]\nname = \"t\"\n\n[[device]]\nname = \"plc\"\nprotocol = \"profibus\"\nendpoint = \"127.0.0.1:502\"\n",
            vec![(
                6,
                12,
                "device[0].protocol",
                Is("unknown protocol `profibus` (supported: modbus-tcp, modbus-rtu, ascii, opcua)"),
            )],
        ),
        case(
            "endpoint without port",
            "[site]\nname = \"t\"\n\n[[device]]\nname = \"plc\"\nprotocol = \"modbus-tcp\"\nendpoint = \"127.0.0.1\"\n",
            vec![(7, 12, "device[0].endpoint", Is("`127.0.0.1` is not host:port (e.g. \"192.168.1.20:502\")"))],
        ),
        case(
            "unit id 300",
            "[site]\nname = \"t\"\n\n[[device]]\nname = \"plc\"\nprotocol = \"modbus-tcp\"\nendpoint = \"127.0.0.1:502\"\nunit = 300\n",
            vec![(8, 8, "device[0].unit", Is("unit id 300 is outside 0..=255"))],
        ),
        case(
            "max_gap 200",
            "[site]\nname = \"t\"\n\n[[device]]\nname = \"plc\"\nprotocol = \"modbus-tcp\"\nendpoint = \"127.0.0.1:502\"\nmax_gap = 200\n",
            vec![(8, 11, "device[0].max_gap", Is("200 is outside 0..=120"))],
        ),
        case(
            "max_in_flight 0",
            "[site]\nname = \"t\"\n\n[[device]]\nname = \"plc\"\nprotocol = \"modbus-tcp\"\nendpoint = \"127.0.0.1:502\"\nmax_in_flight = 0\n",
            vec![(8, 17, "device[0].max_in_flight", Is("0 is outside 1..=16"))],
        ),
        case(
            "max_in_flight on a serial line",
            "[site]\nname = \"t\"\n\n[[device]]\nname = \"plc\"\nprotocol = \"modbus-rtu\"\nport = \"/dev/ttyUSB0\"\nmax_in_flight = 2\n",
            vec![(
                8,
                17,
                "device[0].max_in_flight",
                Is("a serial line carries one request at a time: modbus-tcp only"),
            )],
        ),
        // ---- several errors in one file: all reported, sorted by line ----
        case(
            "several errors in one file",
            // Written so that validation order (devices, then tags, then overlaps)
            // differs from line order.
            "[site]\n\
             name = \"t\"\n\
             \n\
             [[tag]]\n\
             name = \"a\"\n\
             device = \"plc\"\n\
             address = \"hr:0\"\n\
             low = 5.0\n\
             high = 1.0\n\
             \n\
             [[device]]\n\
             name = \"plc\"\n\
             protocol = \"modbus-tcp\"\n\
             endpoint = \"127.0.0.1\"\n\
             unit = 300\n\
             \n\
             [[tag]]\n\
             name = \"b\"\n\
             device = \"nope\"\n\
             address = \"hr:0\"\n\
             \n\
             [[tag]]\n\
             name = \"a\"\n\
             device = \"plc\"\n\
             address = \"hr:9\"\n\
             type = \"f32\"\n\
             \n\
             [[tag]]\n\
             name = \"c\"\n\
             device = \"plc\"\n\
             address = \"hr:10\"\n",
            vec![
                (8, 7, "tag[0].low", Is("low (5) is above high (1)")),
                (14, 12, "device[0].endpoint", Is("`127.0.0.1` is not host:port (e.g. \"192.168.1.20:502\")")),
                (15, 8, "device[0].unit", Is("unit id 300 is outside 0..=255")),
                (19, 10, "tag[1].device", Is("unknown device `nope` (known: plc)")),
                (23, 8, "tag[2].name", Is("duplicate tag name `a` (first defined on line 5)")),
                (31, 11, "tag[3].address", Is("hr:10..=10 overlaps tag `a` (hr:9..=10)")),
            ],
        ),
        // ---- templates: a template field's error is reported at the template, naming the
        // instance(s) it showed up in; an instance's own at the instance ----
        case(
            "a template field wrong in every instance is reported once",
            with_tag(
                "[[template]]\nname = \"m\"\n[[template.tag]]\nname = \"t\"\naddress = \"hr:0\"\nlow = 5.0\nhigh = 1.0\n\n\
                 [[instance]]\ntemplate = \"m\"\nprefix = \"A.\"\ndevice = \"plc\"\n\n\
                 [[instance]]\ntemplate = \"m\"\nprefix = \"B.\"\ndevice = \"plc\"\noffset = 1\n",
            ),
            vec![(
                HDR + 6,
                7,
                "template[0].tag[0].low",
                Is("low (5) is above high (1) (in instance[0] `A.` on line 18 and 1 other instance)"),
            )],
        ),
        case(
            "unknown field in a template's tag",
            with_tag(
                "[[template]]\nname = \"m\"\n[[template.tag]]\nname = \"t\"\ndevice = \"plc\"\naddress = \"hr:0\"\n",
            ),
            vec![(HDR + 5, 1, "template[0].tag[0].device", Starts("unknown field `device`, expected one of"))],
        ),
        case(
            "an instance of an unknown template on an unknown device",
            with_tag("[[instance]]\ntemplate = \"nope\"\nprefix = \"X.\"\ndevice = \"plc9\"\n"),
            vec![
                (HDR + 2, 12, "instance[0].template", Is("unknown template `nope` (known: none)")),
                (HDR + 4, 10, "instance[0].device", Is("unknown device `plc9`")),
            ],
        ),
        case(
            "instances whose offsets overlap name the template field and the instance",
            with_tag(
                "[[template]]\nname = \"m\"\n[[template.tag]]\nname = \"f\"\naddress = \"hr:0\"\ntype = \"f32\"\n\n\
                 [[instance]]\ntemplate = \"m\"\nprefix = \"A.\"\ndevice = \"plc\"\n\n\
                 [[instance]]\ntemplate = \"m\"\nprefix = \"B.\"\ndevice = \"plc\"\noffset = 1\n",
            ),
            vec![(
                HDR + 5,
                11,
                "template[0].tag[0].address",
                Is("hr:1..=2 overlaps tag `A.f` (hr:0..=1) (in instance[1] `B.` on line 22)"),
            )],
        ),
        case(
            "columns count characters, not bytes (inline table after a non-ASCII name)",
            "tag = [{ name = \"Pümpe\", device = \"x\", address = \"hr:0\" }]\n[site]\nname = \"t\"\n",
            vec![(1, 35, "tag[0].device", Is("unknown device `x` (known: none)"))],
        ),
    ]
}

fn show(errs: &[ConfigError]) -> String {
    errs.iter().map(|e| format!("    {}:{}: {}: {:?}", e.line, e.col, e.path, e.message)).collect::<Vec<_>>().join("\n")
}

#[test]
fn malformed_site_files_report_exact_errors() {
    let file = Path::new("site.toml");
    let mut failures = Vec::new();
    let all = cases();
    assert!(all.len() >= 20);
    for c in &all {
        let errs = match Site::parse(file, &c.text) {
            Ok(_) => {
                failures.push(format!("{}: loaded without errors", c.name));
                continue;
            }
            Err(ConfigErrors(errs)) => errs,
        };
        let matches = errs.len() == c.want.len()
            && errs.iter().zip(&c.want).all(|(e, (line, col, path, msg))| {
                e.file == file && e.line == *line && e.col == *col && e.path == *path && msg.matches(&e.message)
            });
        if !matches {
            let want =
                c.want.iter().map(|(l, c, p, m)| format!("    {l}:{c}: {p}: {m:?}")).collect::<Vec<_>>().join("\n");
            failures.push(format!("{}:\n  got:\n{}\n  want:\n{want}", c.name, show(&errs)));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), all.len(), failures.join("\n"));
}

fn must_load(text: &str) -> Site {
    Site::parse(Path::new("site.toml"), text).unwrap_or_else(|e| panic!("should load, got:\n{e}\n--- text:\n{text}"))
}

#[test]
fn two_bools_on_different_bits_of_one_register_load() {
    let site = must_load(&with_tag(
        "[[tag]]\nname = \"b1\"\ndevice = \"plc\"\naddress = \"hr:7\"\ntype = \"bool\"\nbit = 2\n\n\
         [[tag]]\nname = \"b2\"\ndevice = \"plc\"\naddress = \"hr:7\"\ntype = \"bool\"\nbit = 3\n\n\
         [[tag]]\nname = \"w\"\ndevice = \"plc\"\naddress = \"hr:8\"\n",
    ));
    assert_eq!(site.tags.len(), 3);
}

#[test]
fn edge_values_load() {
    // f64 ending exactly at 65535, unit 0 and 255, adjacent f32s, the same register in
    // two tables and in two devices, a writable bool without limits.
    let site = must_load(
        "[site]\nname = \"t\"\n\n\
         [[device]]\nname = \"a\"\nprotocol = \"modbus-tcp\"\nendpoint = \"h:502\"\nunit = 0\n\n\
         [[device]]\nname = \"b\"\nprotocol = \"modbus-tcp\"\nendpoint = \"h:503\"\nunit = 255\nmax_gap = 120\nmax_in_flight = 16\n\n\
         [[tag]]\nname = \"f64\"\ndevice = \"a\"\naddress = \"hr:65532\"\ntype = \"f64\"\n\n\
         [[tag]]\nname = \"f1\"\ndevice = \"a\"\naddress = \"hr:0\"\ntype = \"f32\"\norder = \"CDAB\"\n\n\
         [[tag]]\nname = \"f2\"\ndevice = \"a\"\naddress = \"hr:2\"\ntype = \"f32\"\n\n\
         [[tag]]\nname = \"i\"\ndevice = \"a\"\naddress = \"ir:0\"\norder = \"BA\"\n\n\
         [[tag]]\nname = \"other\"\ndevice = \"b\"\naddress = \"hr:0\"\n\n\
         [[tag]]\nname = \"cmd\"\ndevice = \"b\"\naddress = \"coil:0\"\nwritable = true\n",
    );
    assert_eq!(site.devices.len(), 2);
    assert_eq!(site.tags.len(), 6);
    assert_eq!(site.tags[5].device, 1);
}

#[test]
fn every_profile_loads() {
    let dir = support::repo_root().join("profiles");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .toml in {}", dir.display());
    for f in &files {
        if let Err(e) = Site::load(f) {
            panic!("{} does not load:\n{e}", f.display());
        }
    }
}

#[test]
fn display_is_file_line_col_path_message() {
    let e = ConfigError {
        file: PathBuf::from("plant/site.toml"),
        line: 14,
        col: 8,
        path: "tag[2].low".into(),
        message: "low (50) is above high (20)".into(),
    };
    assert_eq!(e.to_string(), "plant/site.toml:14:8: tag[2].low: low (50) is above high (20)");

    // And as produced by the loader, several errors one per line.
    let text = with_tag("[[tag]]\nname = \"a\"\ndevice = \"x\"\naddress = \"hr:0\"\nlow = 50.0\nhigh = 20.0\n");
    let errs = Site::parse(Path::new("s.toml"), &text).unwrap_err();
    assert_eq!(
        errs.to_string(),
        "s.toml:11:10: tag[0].device: unknown device `x` (known: plc)\n\
         s.toml:13:7: tag[0].low: low (50) is above high (20)"
    );
}
