//! The closed-loop write path end to end: a terminal's act → the approval core → the
//! audit log → the device's write queue → a real Modbus TCP peer → read-back → the
//! request's outcome in the snapshot. The peer (tests/peers/modbus_server.py) accepts,
//! rejects (exception 3), silently ignores, or dies on writes.

mod support;

use std::path::Path;
use std::time::Duration;

use mimic::daemon::Daemon;
use mimic::ipc::{Act, LiveAlarmState, LiveAudit, LiveRequest, LiveSnapshot, TagQuality};
use mimic::users::{Role, Users, users_path};
use support::daemon::{act, me, start, wait_for};
use support::live::tag;
use support::peers::{Peer, spawn_modbus_server_writes, typed_map_path};

/// Holding register 2 and 3 are unused by the typed map: they read 0 and are writable.
const SP_ADDR: u16 = 2;
const OLGA_SECRET: &str = "olga-secret-1";
const ERIK_ACCOUNT: &str = "mimictesterik";
const ERIK_SECRET: &str = "erik-secret-1";
const ELLA_ACCOUNT: &str = "mimictestella";
const ELLA_SECRET: &str = "ella-secret-1";
const VIEWER_ACCOUNT: &str = "mimictestnobody";

fn site_toml(port: u16) -> String {
    format!(
        "[site]\nname = \"loop\"\n\n\
         [[device]]\nname = \"plc\"\nprotocol = \"modbus-tcp\"\nendpoint = \"127.0.0.1:{port}\"\n\
         timeout = \"500ms\"\npoll = \"200ms\"\n\n\
         [[tag]]\nname = \"sp\"\ndevice = \"plc\"\naddress = \"hr:{SP_ADDR}\"\ntype = \"u16\"\n\
         low = 0.0\nhigh = 500.0\nwritable = true\nmax_step = 100.0\n\n\
         [[tag]]\nname = \"crit\"\ndevice = \"plc\"\naddress = \"hr:3\"\ntype = \"u16\"\n\
         low = 0.0\nhigh = 500.0\nwritable = true\ncritical = true\n"
    )
}

struct Rig {
    d: Daemon,
    /// The OS account of this test (olga's).
    me: String,
    dir: tempfile::TempDir,
    peer: Peer,
    port: u16,
}

/// Peer answering writes as `writes`, users olga (operator, us), erik and ella
/// (engineers, other accounts), the daemon, and the first Good reading of both tags.
async fn rig(writes: &str) -> Rig {
    let (peer, port) = spawn_modbus_server_writes(writes, &typed_map_path());
    let dir = tempfile::tempdir().expect("tempdir");
    let me = me();
    Users::modify(&users_path(dir.path()), true, |u| {
        u.add("olga", "Olga Operator", Role::Operator, Some(&me), OLGA_SECRET)?;
        u.add("erik", "Erik Engineer", Role::Engineer, Some(ERIK_ACCOUNT), ERIK_SECRET)?;
        u.add("ella", "Ella Engineer", Role::Engineer, Some(ELLA_ACCOUNT), ELLA_SECRET)?;
        Ok(())
    })
    .expect("users file");
    let d = start(&site_toml(port), dir.path()).await;
    wait_for(&d, "both tags read Good", |s| {
        s.tags.iter().all(|t| t.quality == TagQuality::Good && t.value == Some(0.0))
    })
    .await;
    Rig { d, me, dir, peer, port }
}

fn request_write(tag: &str, value: f64) -> Act {
    Act::RequestWrite { tag: tag.into(), value }
}

fn approve(id: u64, secret: &str) -> Act {
    Act::Approve { id, secret: secret.into() }
}

/// "request 3 waits for approval" → 3
fn id_of(reply: &str) -> u64 {
    reply.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no id in {reply:?}"))
}

fn request(s: &LiveSnapshot, id: u64) -> Option<&LiveRequest> {
    s.requests.iter().find(|r| r.id == id)
}

fn status(s: &LiveSnapshot, id: u64) -> String {
    request(s, id).map_or_else(String::new, |r| r.status.clone())
}

/// Wait until request `id` has left pending/written; return its final status.
async fn final_status(d: &Daemon, id: u64) -> (String, LiveSnapshot) {
    let snap = wait_for(d, &format!("request {id} to finish"), |s| {
        let st = status(s, id);
        !st.is_empty() && st != "pending" && st != "written"
    })
    .await;
    (status(&snap, id), snap)
}

/// Olga (us) requests `sp` = `value` and signs it; the request's id and final status.
async fn olga_writes_sp(d: &Daemon, value: f64) -> (u64, String) {
    let me = me();
    let id = id_of(&act(d, &me, request_write("sp", value)).await.expect("request"));
    act(d, &me, approve(id, OLGA_SECRET)).await.expect("signed");
    (id, final_status(d, id).await.0)
}

fn tag_value(s: &LiveSnapshot, name: &str) -> Option<f64> {
    tag(s, name).value
}

/// Audit entries of the snapshot, oldest first.
fn audit_oldest_first(s: &LiveSnapshot) -> Vec<LiveAudit> {
    let mut a = s.audit.clone();
    a.sort_by_key(|e| e.seq);
    a
}

/// Read holding register `addr` of the peer directly (not through the daemon).
async fn read_peer(port: u16, addr: u16) -> u16 {
    use tokio_modbus::prelude::*;
    let sock = format!("127.0.0.1:{port}").parse().expect("addr");
    let mut ctx = tcp::connect_slave(sock, Slave(1)).await.expect("connect to the peer");
    let words = ctx.read_holding_registers(addr, 1).await.expect("link").expect("no exception");
    words[0]
}

/// Verify the audit chain of the store in `dir` (the daemon must be shut down).
fn verify_store(dir: &Path) -> Vec<mimic::audit::Entry> {
    let db = redb::Database::open(dir.join(mimic::daemon::STORE_NAME)).expect("store opens after shutdown");
    let public = mimic::audit::load_public(&dir.join(mimic::audit::PUB_NAME)).expect("public key");
    let rep = mimic::audit::verify(&db, &public).expect("verify runs");
    assert!(rep.is_ok(), "audit chain broken: {:?}", rep.first_bad);
    mimic::audit::entries_since(&db, i64::MIN).expect("entries")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_write_lands_is_confirmed_and_audited_in_order() {
    let Rig { d, dir, peer: _peer, port, me } = rig("accept").await;

    let reply = act(&d, &me, request_write("sp", 80.0)).await.expect("request accepted");
    let id = id_of(&reply);
    let snap = wait_for(&d, "the request pending", |s| status(s, id) == "pending").await;
    let r = request(&snap, id).expect("request");
    assert_eq!((r.tag.as_str(), r.proposed), ("sp", 80.0));
    // Requested is not written: the device still holds the old value.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(read_peer(port, SP_ADDR).await, 0, "a pending request reached the device");
    assert_eq!(tag_value(&d.snapshots.borrow(), "sp"), Some(0.0));

    // A wrong secret: refused, audited as login_failed, still pending, nothing written.
    let err = act(&d, &me, approve(id, "not-the-secret")).await.expect_err("wrong secret must be refused");
    assert!(!err.is_empty());
    let snap = wait_for(&d, "login_failed audited", |s| s.audit.iter().any(|a| a.action == "login_failed")).await;
    assert_eq!(status(&snap, id), "pending");
    assert_eq!(read_peer(port, SP_ADDR).await, 0);

    // The right secret: written, read back, confirmed.
    let reply = act(&d, &me, approve(id, OLGA_SECRET)).await.expect("signature accepted");
    assert!(reply.contains("sent to the device"), "{reply}");
    let (st, _) = final_status(&d, id).await;
    assert_eq!(st, "confirmed, settling");
    assert_eq!(read_peer(port, SP_ADDR).await, 80);
    let snap = wait_for(&d, "the polled value to follow", |s| tag_value(s, "sp") == Some(80.0)).await;
    let r = request(&snap, id).expect("request");
    assert_eq!(r.approvals.len(), 1);
    assert!(r.approvals[0].contains("Olga Operator") && r.approvals[0].contains("approved setpoint change"));

    // Audit, as the terminals see it: requested, approved (by name, with meaning), outcome.
    let snap = wait_for(&d, "the outcome audited", |s| s.audit.iter().any(|a| a.action == "write_outcome")).await;
    let audit = audit_oldest_first(&snap);
    let pos = |action: &str| {
        audit.iter().position(|a| a.action == action).unwrap_or_else(|| panic!("no {action} in {audit:#?}"))
    };
    let (req, lf, ap, out) = (pos("write_requested"), pos("login_failed"), pos("approval"), pos("write_outcome"));
    assert!(req < lf && lf < ap && ap < out, "audit out of order: {audit:#?}");
    assert_eq!(audit[ap].meaning, "approved setpoint change");
    assert!(audit[ap].user.contains("Olga Operator"), "{:?}", audit[ap]);
    assert_eq!(audit[ap].target, "sp");
    assert!(audit[out].detail.contains("confirmed"), "{:?}", audit[out]);

    d.shutdown().await;
    // The same story in the store, and the chain verifies.
    let entries = verify_store(dir.path());
    let names: Vec<String> = entries.iter().map(|e| e.note.action.name()).collect();
    let at = |n: &str| names.iter().position(|x| x == n).unwrap_or_else(|| panic!("no {n} in {names:?}"));
    assert!(at("write_requested") < at("approval") && at("approval") < at("write_outcome"), "{names:?}");
    let approval = &entries[at("approval")];
    assert_eq!(approval.note.user, "olga");
    assert_eq!(approval.note.full_name.as_deref(), Some("Olga Operator"));
    assert_eq!(approval.note.meaning.as_deref(), Some("approved setpoint change"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_max_step_are_refused_at_request_time_and_audited() {
    let Rig { d, dir: _dir, peer: _peer, port, me } = rig("accept").await;

    let err = act(&d, &me, request_write("sp", 900.0)).await.expect_err("above high must be refused");
    assert!(err.contains("outside the engineering limits"), "{err}");
    let err = act(&d, &me, request_write("sp", 300.0)).await.expect_err("a step above max_step must be refused");
    assert!(err.contains("maximum step"), "{err}");
    let err = act(&d, &me, request_write("sp", -1.0)).await.expect_err("below low must be refused");
    assert!(err.contains("outside the engineering limits"), "{err}");

    let snap =
        wait_for(&d, "three refusals audited", |s| s.audit.iter().filter(|a| a.action == "other:refused").count() >= 3)
            .await;
    let refused: Vec<&LiveAudit> = snap.audit.iter().filter(|a| a.action == "other:refused").collect();
    assert!(
        refused.iter().any(|a| a.detail.contains("900") && a.detail.contains("engineering limits")),
        "{refused:#?}"
    );
    assert!(refused.iter().any(|a| a.detail.contains("300") && a.detail.contains("maximum step")), "{refused:#?}");
    assert!(refused.iter().all(|a| a.target == "sp" && a.user.starts_with("olga")), "{refused:#?}");
    assert!(snap.requests.is_empty(), "a refused request must not wait for approval: {:#?}", snap.requests);
    assert_eq!(read_peer(port, SP_ADDR).await, 0);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_refuses_the_write_gives_its_exception() {
    let Rig { d, dir: _dir, peer: _peer, port, .. } = rig("reject").await;
    let (_, st) = olga_writes_sp(&d, 50.0).await;
    assert_eq!(st, "device exception 3");
    assert_eq!(read_peer(port, SP_ADDR).await, 0);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_keeps_the_old_value_is_a_mismatch() {
    let Rig { d, dir: _dir, peer: _peer, port, me } = rig("ignore").await;
    let (id, st) = olga_writes_sp(&d, 50.0).await;
    assert!(st.starts_with("mismatch"), "{st}");
    assert!(st.contains("50") && st.contains("holds 0"), "{st}");
    assert_eq!(read_peer(port, SP_ADDR).await, 0);
    // the mismatch raises an alarm on the tag and offers a revert to the value before
    let s = wait_for(&d, "the write-effect alarm", |s| {
        s.alarms.iter().any(|a| {
            a.place.tag == "sp" && a.message.contains("not confirmed") && a.state == LiveAlarmState::UnackActive
        })
    })
    .await;
    let r = request(&s, id).expect("request listed");
    assert!(r.revertable && r.previous == Some(0.0), "{r:?}");
    let reply = act(&d, &me, Act::Revert { id }).await.expect("revert asked");
    let rev = reply.split_whitespace().nth(6).and_then(|w| w.trim_end_matches(';').parse::<u64>().ok());
    let rev = rev.unwrap_or_else(|| panic!("revert request id in {reply:?}"));
    let s = wait_for(&d, "the revert request", |s| request(s, rev).is_some()).await;
    let r = request(&s, rev).expect("revert listed");
    assert_eq!((r.proposed, r.status.as_str()), (0.0, "pending"), "{r:?}");
    assert_eq!(r.title, format!("revert of request {id}"));
    assert!(!request(&s, id).expect("original").revertable, "offered once");
    assert!(act(&d, &me, Act::Revert { id }).await.is_err(), "a second revert is refused");
    // the revert is approved like any write; the device holds 0, so it is confirmed
    act(&d, &me, approve(rev, OLGA_SECRET)).await.expect("revert signed");
    let (st, s) = final_status(&d, rev).await;
    assert!(st.starts_with("confirmed"), "{st}");
    let audit = audit_oldest_first(&s);
    assert!(
        audit.iter().any(|a| a.action == "other:effect off" && a.detail.contains("revert to 0 offered")),
        "{audit:?}"
    );
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_dies_mid_write_leaves_the_outcome_unknown_and_the_daemon_running() {
    let Rig { d, dir: _dir, mut peer, port: _, me } = rig("die").await;
    let (id, st) = olga_writes_sp(&d, 50.0).await;
    eprintln!("outcome of a write to a device that died: {st}");
    assert!(st.starts_with("unknown: ") || st.starts_with("timeout"), "{st}");
    assert_ne!(st, "confirmed");
    assert!(!peer.is_running(), "the peer should have exited on the write");

    // The daemon goes on: snapshots keep coming, the device is seen down, acts answered.
    let before = d.snapshots.borrow().now_ms;
    let snap = wait_for(&d, "a later snapshot with the device down", |s| {
        s.now_ms > before && !s.devices[0].connected && s.tags.iter().all(|t| t.quality == TagQuality::Bad)
    })
    .await;
    assert_eq!(status(&snap, id), st, "the outcome must not change afterwards");
    let err = act(&d, &me, request_write("sp", 10.0)).await.expect_err("no writes to a dead device");
    assert!(err.contains("not healthy"), "{err}");
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_critical_tag_needs_two_different_engineers() {
    let Rig { d, dir, peer: _peer, port, me } = rig("accept").await;
    let id = id_of(&act(&d, &me, request_write("crit", 120.0)).await.expect("request"));

    // An operator may not sign a critical change.
    let err = act(&d, &me, approve(id, OLGA_SECRET)).await.expect_err("operator on a critical tag");
    assert!(err.contains("may not"), "{err}");

    let reply = act(&d, ERIK_ACCOUNT, approve(id, ERIK_SECRET)).await.expect("first signature");
    assert!(reply.contains("second") && reply.contains("approver"), "{reply}");
    let snap = wait_for(&d, "one signature", |s| request(s, id).is_some_and(|r| r.approvals.len() == 1)).await;
    assert_eq!(status(&snap, id), "pending");
    assert!(request(&snap, id).expect("request").needs_second_approver);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(read_peer(port, 3).await, 0, "one signature reached the device");

    let err = act(&d, ERIK_ACCOUNT, approve(id, ERIK_SECRET)).await.expect_err("same user twice");
    assert!(err.contains("already signed"), "{err}");
    assert_eq!(status(&d.snapshots.borrow(), id), "pending");

    let reply = act(&d, ELLA_ACCOUNT, approve(id, ELLA_SECRET)).await.expect("second signature");
    assert!(reply.contains("sent to the device"), "{reply}");
    let (st, snap) = final_status(&d, id).await;
    assert_eq!(st, "confirmed, settling");
    assert_eq!(read_peer(port, 3).await, 120);
    let r = request(&snap, id).expect("request");
    assert_eq!(r.approvals.len(), 2);
    assert!(r.approvals[0].contains("Erik Engineer") && r.approvals[1].contains("Ella Engineer"), "{:?}", r.approvals);

    d.shutdown().await;
    let entries = verify_store(dir.path());
    let signers: Vec<&str> =
        entries.iter().filter(|e| e.note.action.name() == "approval").map(|e| e.note.user.as_str()).collect();
    assert_eq!(signers, ["erik", "ella"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_can_neither_request_nor_approve() {
    let Rig { d, dir: _dir, peer: _peer, port, .. } = rig("accept").await;
    let err = act(&d, VIEWER_ACCOUNT, request_write("sp", 50.0)).await.expect_err("viewer request");
    assert!(err.contains("may not"), "{err}");

    // A real pending request; the viewer cannot sign it even with someone's secret.
    let id = id_of(&act(&d, &me(), request_write("sp", 50.0)).await.expect("request"));
    let err = act(&d, VIEWER_ACCOUNT, approve(id, OLGA_SECRET)).await.expect_err("viewer approve");
    assert!(err.contains("may not"), "{err}");
    let err = act(&d, VIEWER_ACCOUNT, Act::Reject { id, reason: "no".into() }).await.expect_err("viewer reject");
    assert!(err.contains("may not"), "{err}");

    let snap = wait_for(&d, "the request listed", |s| request(s, id).is_some()).await;
    assert_eq!(status(&snap, id), "pending");
    assert!(request(&snap, id).expect("request").approvals.is_empty());
    assert_eq!(snap.requests.len(), 1, "the viewer's request must not exist");
    assert_eq!(read_peer(port, SP_ADDR).await, 0);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_recommendation_carries_its_prediction_and_needs_approval_like_any_write() {
    let Rig { d, dir: _dir, peer: _peer, port, me } = rig("accept").await;
    let rec = Act::Recommend {
        tag: "sp".into(),
        value: 60.0,
        kpi: "crit".into(),
        kpi_now: 0.0,
        kpi_expect: 0.0,
        tolerance: 1.0,
        effect: "crit stays at 0 (predicted)".into(),
        confidence: 0.73,
    };
    let id = id_of(&act(&d, &me, rec).await.expect("recommendation accepted"));
    let s = wait_for(&d, "the recommendation", |s| request(s, id).is_some()).await;
    let r = request(&s, id).expect("listed");
    assert_eq!(r.title, "model recommendation 1");
    assert_eq!(
        (r.predicted_effect.as_str(), r.confidence, r.status.as_str()),
        ("crit stays at 0 (predicted)", 0.73, "pending")
    );
    assert_eq!(read_peer(port, SP_ADDR).await, 0, "a recommendation alone writes nothing");
    // a prediction that is not a number is refused
    let bad = Act::Recommend {
        tag: "sp".into(),
        value: 60.0,
        kpi: "crit".into(),
        kpi_now: 0.0,
        kpi_expect: f64::NAN,
        tolerance: 1.0,
        effect: String::new(),
        confidence: 0.5,
    };
    assert!(act(&d, &me, bad).await.is_err());
    act(&d, &me, approve(id, OLGA_SECRET)).await.expect("signed");
    let (st, _) = final_status(&d, id).await;
    assert_eq!(st, "confirmed, settling");
    assert_eq!(read_peer(port, SP_ADDR).await, 60);
    d.shutdown().await;
}
