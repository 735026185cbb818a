//! "No write without approval", through the front door: random sequences of every kind of
//! message that can lead to a write — terminals' acts by users of every role (requests,
//! approvals with right and wrong secrets, rejections, reverts, recommendations), Sparkplug
//! DCMDs, the advisor's recommendations, device readings, write outcomes, the audit's
//! health, time — go through [`update`]; every write the core lets out must be of a
//! writable tag, inside its limits, to a connected device, with the audit healthy, signed
//! by enough distinct users whose roles may approve it.

use mimic_drivers::{DeviceEvent, DeviceStats, Reading, WriteOutcome};
use proptest::prelude::*;

use super::*;
use crate::approvals;
use crate::approvals::testkit::{PEOPLE, check_write};
use crate::config::testkit::SETPOINTS;

const TAGS: [&str; 4] = ["speed_sp", "critical_sp", "flow", "nope"];

fn who(i: u8) -> Identity {
    let (u, role) = PEOPLE[usize::from(i) % PEOPLE.len()];
    Identity { os_account: u.into(), user: Some(u.into()), full_name: format!("{u} Fullname"), role }
}

#[derive(Clone, Debug)]
enum Op {
    Read { values: [f64; 3], connected: bool },
    Request { who: u8, tag: u8, value: f64 },
    Approve { who: u8, id: u8, right_secret: bool },
    Reject { who: u8, id: u8 },
    Revert { who: u8, id: u8 },
    Recommend { who: u8, tag: u8, value: f64 },
    Dcmd { tag: u8, value: f64 },
    Advised { tag: u8, value: f64 },
    Outcome { id: u8, confirmed: bool },
    Audit { ok: bool },
    Wait { ms: u16 },
}

fn op() -> impl Strategy<Value = Op> {
    let v = -20.0f64..130.0;
    prop_oneof![
        (prop::array::uniform3(-10.0f64..120.0), any::<bool>())
            .prop_map(|(values, connected)| Op::Read { values, connected }),
        (0u8..6, 0u8..4, v.clone()).prop_map(|(who, tag, value)| Op::Request { who, tag, value }),
        (0u8..6, 0u8..8, any::<bool>()).prop_map(|(who, id, right_secret)| Op::Approve { who, id, right_secret }),
        (0u8..6, 0u8..8).prop_map(|(who, id)| Op::Reject { who, id }),
        (0u8..6, 0u8..8).prop_map(|(who, id)| Op::Revert { who, id }),
        (0u8..6, 0u8..4, v.clone()).prop_map(|(who, tag, value)| Op::Recommend { who, tag, value }),
        (0u8..3, v.clone()).prop_map(|(tag, value)| Op::Dcmd { tag, value }),
        (0u8..3, v).prop_map(|(tag, value)| Op::Advised { tag, value }),
        (0u8..8, any::<bool>()).prop_map(|(id, confirmed)| Op::Outcome { id, confirmed }),
        any::<bool>().prop_map(|ok| Op::Audit { ok }),
        (0u16..20_000).prop_map(|ms| Op::Wait { ms }),
    ]
}

fn act(who: u8, act: Act, now_ms: i64) -> Msg {
    Msg::Act { who: self::who(who), act, now_ms }
}

fn msg(op: Op, now: i64) -> Msg {
    match op {
        Op::Read { values, connected } => {
            let readings = values.iter().enumerate().map(|(i, v)| Reading::good(i, *v, now)).collect();
            Msg::Device(DeviceEvent { device: 0, readings, stats: DeviceStats { connected, ..Default::default() } })
        }
        Op::Request { who, tag, value } => {
            act(who, Act::RequestWrite { tag: TAGS[usize::from(tag)].into(), value }, now)
        }
        Op::Approve { who, id, right_secret: _ } => {
            act(who, Act::Approve { id: u64::from(id), secret: "secret".into() }, now)
        }
        Op::Reject { who, id } => act(who, Act::Reject { id: u64::from(id), reason: "no".into() }, now),
        Op::Revert { who, id } => act(who, Act::Revert { id: u64::from(id) }, now),
        Op::Recommend { who, tag, value } => {
            let rec = Act::Recommend {
                tag: TAGS[usize::from(tag)].into(),
                value,
                kpi: "flow".into(),
                kpi_now: 80.0,
                kpi_expect: 90.0,
                tolerance: 5.0,
                effect: "flow to 90".into(),
                confidence: 0.8,
            };
            act(who, rec, now)
        }
        Op::Dcmd { tag, value } => {
            Msg::Dcmd { from: "host".into(), tag: usize::from(tag), metric: "m".into(), value, now_ms: now }
        }
        Op::Advised { tag, value } => {
            let filing = Filing {
                loop_name: "l".into(),
                tag: usize::from(tag),
                value,
                kpi: 2,
                kpi_now: 80.0,
                kpi_expect: 90.0,
                tolerance: 5.0,
                effect: "flow to 90".into(),
                confidence: 0.8,
                reason: String::new(),
            };
            Msg::Recommend { filing, now_ms: now }
        }
        Op::Outcome { id, confirmed } => {
            let outcome = if confirmed {
                WriteOutcome::Confirmed { read_back: 0.0 }
            } else {
                WriteOutcome::Invalid { message: "refused".into() }
            };
            Msg::WriteOutcome { request: u64::from(id), outcome, now_ms: now }
        }
        Op::Audit { ok } => Msg::AuditHealth { ok },
        Op::Wait { .. } => Msg::Tick { now_ms: now },
    }
}

/// Every write in `effects`, checked against the state that let it out.
fn check_writes(state: &State, effects: &[Effect], connected: bool) -> Result<usize, TestCaseError> {
    let mut n = 0;
    for e in effects {
        let Effect::Approval(approvals::Effect::Write { request, tag, value, .. }) = e else { continue };
        n += 1;
        let req = state.approvals.get(*request).expect("a write names its request");
        check_write(req, *tag, *value, &state.site.tags[*tag])?;
        prop_assert!(state.audit_ok && connected, "audit {} device {connected}", state.audit_ok);
    }
    Ok(n)
}

/// Run `ops` through the front door, answering the core's requests for a secret check as
/// the shell would (a wrong secret is refused there); returns how many writes went out.
fn run(ops: &[Op]) -> Result<usize, TestCaseError> {
    let mut state = testkit::state(SETPOINTS);
    let mut now = 1_000i64;
    let mut connected = false;
    let mut written = 0;
    for op in ops.iter().cloned() {
        match &op {
            Op::Wait { ms } => now += i64::from(*ms),
            Op::Read { connected: c, .. } => connected = *c,
            _ => {}
        }
        let right = matches!(op, Op::Approve { right_secret: true, .. });
        let mut pending = vec![msg(op, now)];
        while let Some(m) = pending.pop() {
            let out = update(&mut state, m);
            written += check_writes(&state, &out.effects, connected)?;
            for e in out.effects {
                if let Effect::Verify { who, purpose, .. } = e
                    && right
                {
                    let signer = who.signer();
                    pending.push(Msg::Signed { who, signer, purpose, now_ms: now });
                }
            }
        }
    }
    Ok(written)
}

#[test]
fn the_checker_sees_writes_through_the_front_door() {
    let ops = [
        Op::Read { values: [50.0, 20.0, 80.0], connected: true },
        Op::Request { who: 3, tag: 0, value: 55.0 },
        Op::Approve { who: 1, id: 1, right_secret: false },
        Op::Approve { who: 0, id: 1, right_secret: true },
        Op::Approve { who: 1, id: 1, right_secret: true },
        Op::Outcome { id: 1, confirmed: true },
        Op::Wait { ms: 10_001 },
        Op::Read { values: [55.0, 20.0, 80.0], connected: true },
        Op::Dcmd { tag: 0, value: 58.0 },
        Op::Approve { who: 2, id: 2, right_secret: true },
        Op::Advised { tag: 0, value: 52.0 },
    ];
    assert_eq!(run(&ops).expect("no violation"), 2);
}

#[test]
fn an_unauthorised_act_is_refused_before_anything_happens() {
    let mut state = testkit::state(SETPOINTS);
    let out = update(&mut state, act(0, Act::RequestWrite { tag: "speed_sp".into(), value: 1.0 }, 0));
    assert!(out.effects.is_empty());
    let err = out.reply.expect("a reply").expect_err("a viewer may not ask for a write");
    assert!(
        matches!(err, Refusal::Role { role: crate::users::Role::Viewer, cmd: crate::users::Command::RequestWrite, .. }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "vic (viewer) may not request a setpoint change: that needs the operator role");
    let out = update(&mut state, act(0, Act::Approve { id: 1, secret: "s".into() }, 0));
    assert!(out.effects.is_empty(), "no secret check for who may not approve anyway");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn no_write_without_approval_whatever_asks(ops in proptest::collection::vec(op(), 1..60)) {
        run(&ops)?;
    }
}
