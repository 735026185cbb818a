//! The layer check: each module of `src/` may use (`crate::…`) only modules of its own
//! layer or of layers below it, and the top-level modules form no import circle. Layers,
//! from the top (see README "Inside"):
//!
//! faces (`cli`, `tui`, `north`) → shell (`daemon`) → wire (`ipc`, the terminal protocol's
//! types) → core → domain (`config`, `users`, `audit`, `historian`, `alarms`,
//! `approvals`, `lifecycle`, `models`) → shared (`time`, `text`, `account`, `build_info`).
//!
//! Only the faces may use the screens crate (`mimic_views`), and the wire for the plain
//! row types a terminal is sent (one alarm view type: `ipc::LiveAlarm` is the screens'
//! `AlarmRow`, so the shape exists once). Files of unit tests
//! (`tests.rs`, `*_tests.rs`) may reach across their layer's siblings, never up.
//! Cheap: it reads the text, it does not compile anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Layer of each top-level module of `src/`, lowest first.
const LAYERS: &[(&str, &[&str])] = &[
    ("shared", &["time", "text", "account", "build_info"]),
    ("domain", &["config", "users", "audit", "historian", "alarms", "approvals", "lifecycle", "models"]),
    ("core", &["core"]),
    ("wire", &["ipc"]),
    ("shell", &["daemon"]),
    ("faces", &["cli", "tui", "north"]),
];

/// Edges that run up on purpose, with why. The shell starts the faces it serves: the
/// Sparkplug edge node gets its channel ends from `Daemon::start` (the terminal socket
/// lives in the shell's folder for the same reason); `north` itself never uses `daemon`.
const ALLOWED_UP: &[(&str, &str)] = &[("daemon", "north")];

/// Modules below the faces that may name the screens crate: the wire carries the screens'
/// own plain data rows (serde, no rendering), so a row type is written once.
const VIEW_ROWS: &[&str] = &["ipc"];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// The text without its comments (line comments, doc comments included).
fn code(text: &str) -> String {
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The top-level modules a file's text uses through `crate::` paths (comments skipped).
fn uses(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in code(text).lines() {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !name.is_empty() && name != "self" {
                        out.insert(name);
                    }
                }
            } else {
                let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
            rest = after;
        }
    }
    out
}

/// What is wrong with `module`'s file `file` using what its `text` uses.
fn violations(module: &str, file: &str, text: &str) -> Vec<String> {
    let Some(me) = rank(module) else {
        return vec![format!("{file}: module `{module}` is in no layer: add it to LAYERS in tests/layers.rs")];
    };
    let test_file = file.ends_with("tests.rs");
    let mut bad = Vec::new();
    for used in uses(text) {
        if used == module {
            continue;
        }
        let Some(r) = rank(&used) else { continue };
        let up = r > me && !ALLOWED_UP.contains(&(module, used.as_str()));
        if up || (test_file && r > me) {
            bad.push(format!(
                "{file}: `{module}` ({}) uses `crate::{used}` ({}), a layer above it",
                LAYERS[me].0, LAYERS[r].0
            ));
        }
    }
    if me < rank("cli").unwrap_or(usize::MAX)
        && !test_file
        && !VIEW_ROWS.contains(&module)
        && code(text).contains("mimic_views::")
    {
        bad.push(format!("{file}: `{module}` ({}) uses the screens crate `mimic_views`", LAYERS[me].0));
    }
    bad
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A circle among the top-level modules, if any (tests files left out).
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn every_module_uses_only_its_layer_and_those_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut bad = Vec::new();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("under src");
        let first = rel.components().next().and_then(|c| c.as_os_str().to_str()).unwrap_or("");
        let module = first.trim_end_matches(".rs");
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let file = format!("src/{}", rel.display());
        bad.extend(violations(module, &file, &text));
        if !file.ends_with("tests.rs") {
            let used = uses(&text).into_iter().filter(|u| u != module && rank(u).is_some());
            graph.entry(module.to_string()).or_default().extend(used);
        }
    }
    assert!(bad.is_empty(), "imports against the layers:\n{}", bad.join("\n"));
    assert_eq!(circle(&graph), None, "an import circle between top-level modules");
    assert!(graph.len() >= 15, "the check read the modules: {:?}", graph.keys());
}

#[test]
fn the_check_fails_on_an_upward_import() {
    let bad = "use crate::config::Site;\nuse crate::{daemon::CoreCmd, time};\n";
    let v = violations("core", "src/core/x.rs", bad);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].contains("`core` (core) uses `crate::daemon` (shell)"), "{v:?}");
    assert!(!violations("lifecycle", "src/lifecycle/x.rs", "let c = mimic_views::is_unsafe(c);").is_empty());
    assert!(violations("core", "src/core/x.rs", "// see crate::daemon::advise\nuse crate::alarms::X;").is_empty());
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("models".into()).or_default().insert("lifecycle".into());
    g.entry("lifecycle".into()).or_default().insert("models".into());
    assert!(circle(&g).is_some());
}

#[test]
fn the_domain_cleans_text_by_the_same_rule_as_the_screens() {
    for c in ('\0'..='\u{3000}').chain(['\u{FEFF}', '\u{10FFFF}']) {
        assert_eq!(mimic::text::is_unsafe(c), mimic_views::is_unsafe(c), "{c:?}");
    }
}
