//! Asset life end to end: a daemon polling a real Modbus TCP peer, a maintenance event
//! recorded with the `mimic maintenance add` binary over the daemon's socket (role-checked,
//! audited), seen in `mimic maintenance list` and in the live snapshot (the asset's present
//! life re-based, its anomaly model set aside while the plant settles), a viewer refused;
//! then, with the daemon stopped, an event recorded straight into the store, and the whole
//! audit chain verified by `mimic audit verify`.

mod support;

use std::path::Path;

use mimic::ipc::Act;
use mimic::models::anomaly::asset::{AssetModel, model_path};
use mimic::models::anomaly::{AnomalyConfig, model::AnomalyModel};
use mimic::users::{Role, Users, users_path};
use support::binary::{assert_audit_verifies, mimic};
use support::daemon::{act, me, start_with, wait_for};
use support::p;
use support::peers::typed_modbus_server;
use support::process::Run;

const VIEWER_ACCOUNT: &str = "mimictestnobody";

fn site_toml(port: u16) -> String {
    format!(
        "[site]\nname = \"life\"\nrebase_settle = \"2s\"\nrebase_window = \"1h\"\n\n\
         [[asset]]\narea = \"water\"\nunit = \"supply\"\nname = \"P-101\"\ncommissioned = 2019-04-01\n\n\
         [[device]]\nname = \"plc\"\nprotocol = \"modbus-tcp\"\nendpoint = \"127.0.0.1:{port}\"\n\
         timeout = \"500ms\"\npoll = \"200ms\"\n\n\
         [[tag]]\nname = \"speed\"\ndevice = \"plc\"\nasset = \"P-101\"\naddress = \"hr:2\"\ntype = \"u16\"\n\n\
         [[tag]]\nname = \"flow\"\ndevice = \"plc\"\nasset = \"P-101\"\naddress = \"hr:3\"\ntype = \"u16\"\n"
    )
}

/// A stored anomaly model of P-101 (fitted on synthetic rows: it only has to bind).
fn save_model(dir: &Path) {
    let rows: Vec<Vec<f64>> = (0..1000)
        .map(|i| {
            let s = 50.0 + 10.0 * (f64::from(i) / 40.0).sin() + f64::from(i % 13) * 0.05;
            vec![s, 2.0 * s + f64::from(i % 11) * 0.05]
        })
        .collect();
    let model = AnomalyModel::fit(vec!["speed".into(), "flow".into()], &rows, AnomalyConfig::default()).expect("fit");
    let m = AssetModel { asset: "P-101".into(), step_ms: 1000, from_ms: 0, to_ms: 1, rows: 1000, model };
    m.save(&model_path(dir, "P-101")).expect("model saved");
}

fn maintenance(dir: &Path, args: &[&str]) -> Run {
    mimic(&[&["maintenance"], args, &["--data", p(dir)]].concat())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maintenance_event_from_the_command_line_is_audited_listed_and_re_bases_the_asset() {
    let (_peer, port) = typed_modbus_server("normal");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let me = me();
    Users::modify(&users_path(data), true, |u| {
        u.add("erin", "Erin Engineer", Role::Engineer, Some(&me), "erin-secret-1")?;
        Ok(())
    })
    .expect("users file");
    save_model(data);
    let d = start_with(&site_toml(port), &data.join("site.toml"), data, true).await;
    let s = wait_for(&d, "P-101 commissioned", |s| s.life.iter().any(|l| l.asset == "P-101")).await;
    let life = s.life.iter().find(|l| l.asset == "P-101").expect("P-101");
    assert_eq!(life.commissioned_ms, Some(1_554_076_800_000), "2019-04-01 from the site file");
    assert_eq!(life.rebase_at_ms, life.commissioned_ms, "before any maintenance, life starts at commissioning");
    assert!(life.baseline.is_empty());

    // a viewer is refused, with the reason
    let refused = act(
        &d,
        VIEWER_ACCOUNT,
        Act::RecordMaintenance {
            asset: "P-101".into(),
            kind: "part-replaced".into(),
            part: "bearing".into(),
            note: String::new(),
            at_ms: None,
        },
    )
    .await
    .expect_err("a viewer may not record maintenance");
    assert!(refused.contains("may not record maintenance: that needs the engineer role"), "{refused}");

    // the crew records the bearing replacement from the command line, over the socket
    let before = mimic_drivers::now_ms();
    let r = maintenance(
        data,
        &[
            "add",
            "--asset",
            "P-101",
            "--kind",
            "part-replaced",
            "--part",
            "bearing",
            "--note",
            "DE bearing\x1b[2J worn",
        ],
    );
    assert!(r.ok(), "{r}");
    assert!(r.stdout.contains("part-replaced recorded on P-101") && r.stdout.contains("re-base"), "{r}");
    let bad = maintenance(data, &["add", "--asset", "P-101", "--kind", "replaced", "--part", "x"]);
    assert!(!bad.ok() && bad.stderr.contains("unknown maintenance kind"), "{bad}");
    let bad = maintenance(data, &["add", "--asset", "P-999", "--kind", "inspection"]);
    assert!(!bad.ok() && bad.stderr.contains("no asset `P-999`"), "{bad}");

    let s = wait_for(&d, "the re-base", |s| {
        s.life.iter().any(|l| l.asset == "P-101" && l.rebase_at_ms.is_some_and(|t| t >= before))
    })
    .await;
    let life = s.life.iter().find(|l| l.asset == "P-101").expect("P-101");
    let ev = life.events.last().expect("the event");
    assert_eq!((ev.kind.as_str(), ev.part.as_str(), ev.by.as_str()), ("part-replaced", "bearing", "erin"));
    assert_eq!(ev.note, "DE bearing [2J worn", "the note is stored without control characters");
    assert!(life.baseline.contains("baseline settling"), "the anomaly model rests: {:?}", life.baseline);
    let audited = s.audit.iter().find(|a| a.action == "maintenance_event").expect("audited");
    assert!(audited.user.starts_with("erin") && audited.target == "P-101", "{audited:?}");
    assert!(audited.detail.contains("part-replaced bearing by erin"), "{audited:?}");
    // after the settling time, the baseline is learnt again
    wait_for(&d, "the baseline to learn", |s| {
        s.life.iter().any(|l| l.asset == "P-101" && l.baseline.contains("baseline learning"))
    })
    .await;

    // the list, from the running daemon
    let r = maintenance(data, &["list", "--asset", "P-101"]);
    assert!(r.ok(), "{r}");
    assert!(r.stdout.contains("asset P-101"), "{r}");
    assert!(r.stdout.contains("commissioned 2019-04-01T00:00:00.000Z"), "{r}");
    assert!(r.stdout.contains("part-replaced bearing by erin: DE bearing [2J worn"), "{r}");
    assert!(r.stdout.contains("present life since"), "{r}");
    d.shutdown().await;

    // no daemon: the event goes straight into the store, with its audit entry
    let r = maintenance(data, &["add", "--asset", "P-101", "--kind", "inspection", "--note", "seal ok"]);
    assert!(r.ok(), "{r}");
    assert!(r.stdout.contains("no daemon running"), "{r}");
    let r = maintenance(data, &["list"]);
    assert!(r.ok() && r.stdout.contains("inspection by erin: seal ok"), "{r}");
    assert_audit_verifies(data);
    let x = mimic(&["audit", "export", "--data", p(data)]);
    assert!(x.ok(), "{x}");
    assert_eq!(x.stdout.matches("maintenance_event").count(), 2, "{x}");
}
