use mimic_drivers::WriteOutcome;
use proptest::prelude::*;

use super::checks::CheckError;
use super::testkit::{PEOPLE, check_write};
use super::*;
use crate::config::Site;
use crate::config::testkit::{self, SETPOINTS};

fn site() -> Site {
    testkit::site(SETPOINTS)
}

fn signer(user: &str, role: Role) -> Signer {
    Signer { user: user.into(), full_name: format!("{user} Fullname"), role }
}

/// The test site, a healthy plant, no request yet, and the engineer `eve` who asks.
fn start() -> (Site, Plant, Approvals, Signer) {
    (site(), Plant::healthy(), Approvals::new(), signer("eve", Role::Engineer))
}

struct Plant {
    values: Vec<Option<f64>>,
    good: Vec<bool>,
    device_ok: Vec<bool>,
    audit_ok: bool,
}

impl Plant {
    fn healthy() -> Self {
        Plant {
            values: vec![Some(50.0), Some(20.0), Some(80.0)],
            good: vec![true; 3],
            device_ok: vec![true],
            audit_ok: true,
        }
    }
    fn live(&self) -> Live<'_> {
        Live { values: &self.values, good: &self.good, device_ok: &self.device_ok, audit_ok: self.audit_ok }
    }
}

fn writes(effects: &[Effect]) -> Vec<(RequestId, usize, f64)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Write { request, tag, value, .. } => Some((*request, *tag, *value)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_request_writes_only_after_an_authorised_signature() {
    let (s, p) = (site(), Plant::healthy());
    let mut a = Approvals::new();
    let (id, fx) = a.request(&s, &p.live(), &signer("eve", Role::Engineer), 0, 55.0, Source::Manual, vec![], 1000);
    let id = id.expect("accepted");
    assert!(writes(&fx).is_empty(), "a request alone never writes");
    // a viewer's signature is refused and audited
    let (r, fx) = a.sign(&s, &p.live(), id, &signer("vic", Role::Viewer), 2000);
    assert!(matches!(r, Err(Refusal::NotAuthorised { .. })));
    assert!(writes(&fx).is_empty());
    assert!(fx.iter().any(|e| matches!(e, Effect::Audit(n) if n.action == AuditAction::Refused.into())));
    // an operator's signature sends it
    let (r, fx) = a.sign(&s, &p.live(), id, &signer("olga", Role::Operator), 3000);
    r.expect("signed");
    assert_eq!(writes(&fx), vec![(id, 0, 55.0)]);
    let approval = fx.iter().find_map(|e| match e {
        Effect::Audit(n) if n.action == AuditAction::Approval.into() => Some(n.clone()),
        _ => None,
    });
    let approval = approval.expect("approval audited");
    assert_eq!(approval.full_name.as_deref(), Some("olga Fullname"));
    assert_eq!(approval.meaning.as_deref(), Some(MEANING_APPROVE));
    // a second signature on a sent request is refused
    let (r, _) = a.sign(&s, &p.live(), id, &signer("olga2", Role::Operator), 3500);
    assert_eq!(r, Err(Refusal::NotPending(id)));
    // the outcome closes it
    let fx = a.outcome(&s, id, WriteOutcome::Confirmed { read_back: 55.0 }, 4000);
    assert!(matches!(a.get(id).map(|r| &r.status), Some(Status::Done { .. })));
    assert!(fx.iter().any(|e| matches!(e, Effect::Audit(n) if n.action == AuditAction::WriteOutcome.into())));
}

#[test]
fn checks_refuse_limits_steps_intervals_and_unhealthy_devices() {
    let (s, mut p, mut a, eng) = start();
    let req = |a: &mut Approvals, p: &Plant, v: f64, now: i64| {
        a.request(&s, &p.live(), &eng, 0, v, Source::Manual, vec![], now).0
    };
    assert!(matches!(req(&mut a, &p, 101.0, 0), Err(Refusal::Check(CheckError::OutOfLimits { .. }))));
    assert!(matches!(req(&mut a, &p, -1.0, 0), Err(Refusal::Check(CheckError::OutOfLimits { .. }))));
    assert!(matches!(req(&mut a, &p, f64::NAN, 0), Err(Refusal::Check(CheckError::NotFinite))));
    assert!(matches!(req(&mut a, &p, 61.0, 0), Err(Refusal::Check(CheckError::StepTooLarge { .. }))));
    assert!(matches!(
        a.request(&s, &p.live(), &eng, 2, 10.0, Source::Manual, vec![], 0).0,
        Err(Refusal::Check(CheckError::NotWritable))
    ));
    // min interval: after a write at t=1000, another within 10 s is refused
    let id = req(&mut a, &p, 55.0, 1000).expect("ok");
    a.sign(&s, &p.live(), id, &signer("olga", Role::Operator), 1000).0.expect("sent");
    assert!(matches!(req(&mut a, &p, 56.0, 5000), Err(Refusal::Check(CheckError::TooSoon { .. }))));
    assert!(req(&mut a, &p, 56.0, 11_001).is_ok());
    // device down: refused at request time and again at signing time
    let id = req(&mut a, &p, 57.0, 30_000).expect("ok");
    p.device_ok[0] = false;
    assert!(matches!(req(&mut a, &p, 57.0, 30_000), Err(Refusal::Check(CheckError::DeviceUnhealthy))));
    let (r, fx) = a.sign(&s, &p.live(), id, &signer("olga", Role::Operator), 30_500);
    assert!(matches!(r, Err(Refusal::Check(CheckError::DeviceUnhealthy))));
    assert!(writes(&fx).is_empty());
    // audit unavailable: fail closed
    p.device_ok[0] = true;
    p.audit_ok = false;
    assert!(matches!(req(&mut a, &p, 57.0, 40_000), Err(Refusal::Check(CheckError::AuditUnavailable))));
}

#[test]
fn critical_tags_need_two_different_approvers() {
    let (s, p) = (site(), Plant::healthy());
    let mut a = Approvals::new();
    let id =
        a.request(&s, &p.live(), &signer("eve", Role::Engineer), 1, 25.0, Source::Manual, vec![], 0).0.expect("ok");
    // an operator may not approve a critical change
    let (r, fx) = a.sign(&s, &p.live(), id, &signer("olga", Role::Operator), 1);
    assert!(matches!(r, Err(Refusal::NotAuthorised { .. })));
    assert!(writes(&fx).is_empty());
    let (r, fx) = a.sign(&s, &p.live(), id, &signer("ada", Role::Admin), 1);
    r.expect("first signature");
    assert!(writes(&fx).is_empty(), "one signature is not enough");
    let (r, fx) = a.sign(&s, &p.live(), id, &signer("ada", Role::Admin), 2);
    assert_eq!(r, Err(Refusal::AlreadySigned("ada".into())));
    assert!(writes(&fx).is_empty());
    let (r, fx) = a.sign(&s, &p.live(), id, &signer("eve", Role::Engineer), 3);
    r.expect("second, different signer");
    assert_eq!(writes(&fx), vec![(id, 1, 25.0)]);
}

#[test]
fn rejected_and_expired_requests_never_write() {
    let (s, mut p, mut a, eng) = start();
    let id =
        a.request(&s, &p.live(), &eng, 0, 55.0, Source::Recommendation { rec: 7 }, vec![(2, 80.0)], 0).0.expect("ok");
    a.reject(&s, id, &signer("olga", Role::Operator), "not now", 1).0.expect("rejected");
    assert!(a.sign(&s, &p.live(), id, &signer("olga", Role::Operator), 2).0.is_err());
    let id =
        a.request(&s, &p.live(), &eng, 0, 55.0, Source::Recommendation { rec: 8 }, vec![(2, 80.0)], 0).0.expect("ok");
    p.values[2] = Some(81.0); // within 5 % of the 0..200 span: still valid
    assert!(a.expire(&s, &p.live(), 5).is_empty());
    p.values[2] = Some(100.0);
    let fx = a.expire(&s, &p.live(), 10);
    assert_eq!(fx.len(), 1);
    assert!(matches!(a.get(id).map(|r| &r.status), Some(Status::Expired { .. })));
    let (r, fx) = a.sign(&s, &p.live(), id, &signer("olga", Role::Operator), 11);
    assert_eq!(r, Err(Refusal::NotPending(id)));
    assert!(writes(&fx).is_empty());
}

#[derive(Clone, Debug)]
enum Op {
    Request { who: u8, tag: u8, value: f64 },
    Sign { who: u8, id: u8 },
    Reject { who: u8, id: u8 },
    Outcome { id: u8 },
    Move { tag: u8, value: f64 },
    Device { ok: bool },
    Audit { ok: bool },
    Wait { ms: u16 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6, 0u8..3, -20.0f64..130.0).prop_map(|(who, tag, value)| Op::Request { who, tag, value }),
        (0u8..6, 0u8..8).prop_map(|(who, id)| Op::Sign { who, id }),
        (0u8..6, 0u8..8).prop_map(|(who, id)| Op::Reject { who, id }),
        (0u8..8).prop_map(|id| Op::Outcome { id }),
        (0u8..3, -10.0f64..120.0).prop_map(|(tag, value)| Op::Move { tag, value }),
        any::<bool>().prop_map(|ok| Op::Device { ok }),
        any::<bool>().prop_map(|ok| Op::Audit { ok }),
        (0u16..20_000).prop_map(|ms| Op::Wait { ms }),
    ]
}

/// Run `ops` against the approvals and check every write they produce; returns how
/// many writes there were (so a test can show the checker really sees writes).
fn check_ops(ops: &[Op]) -> Result<usize, TestCaseError> {
    let s = site();
    let mut p = Plant::healthy();
    let mut a = Approvals::new();
    let mut now = 0i64;
    let mut written = 0;
    for op in ops.iter().cloned() {
        let fx = match op {
            Op::Request { who, tag, value } => {
                let (u, r) = PEOPLE[usize::from(who)];
                a.request(&s, &p.live(), &signer(u, r), usize::from(tag), value, Source::Manual, vec![], now).1
            }
            Op::Sign { who, id } => {
                let (u, r) = PEOPLE[usize::from(who)];
                a.sign(&s, &p.live(), u64::from(id), &signer(u, r), now).1
            }
            Op::Reject { who, id } => {
                let (u, r) = PEOPLE[usize::from(who)];
                a.reject(&s, u64::from(id), &signer(u, r), "no", now).1
            }
            Op::Outcome { id } => a.outcome(&s, u64::from(id), WriteOutcome::Confirmed { read_back: 0.0 }, now),
            Op::Move { tag, value } => {
                p.values[usize::from(tag)] = Some(value);
                Vec::new()
            }
            Op::Device { ok } => {
                p.device_ok[0] = ok;
                Vec::new()
            }
            Op::Audit { ok } => {
                p.audit_ok = ok;
                Vec::new()
            }
            Op::Wait { ms } => {
                now += i64::from(ms);
                a.expire(&s, &p.live(), now)
            }
        };
        for (id, tag, value) in writes(&fx) {
            written += 1;
            let req = a.get(id).expect("a write names its request");
            let t = &s.tags[tag];
            check_write(req, tag, value, t)?;
            if let (Some(max), Some(cur)) = (t.write.max_step, p.values[tag]) {
                prop_assert!((value - cur).abs() <= max + 1e-9);
            }
            prop_assert!(p.device_ok[0] && p.audit_ok);
        }
    }
    Ok(written)
}

#[test]
fn the_property_checker_sees_real_writes() {
    let ops = [
        Op::Request { who: 3, tag: 0, value: 55.0 },
        Op::Sign { who: 1, id: 1 },
        Op::Wait { ms: 10_001 },
        Op::Request { who: 3, tag: 1, value: 25.0 },
        Op::Sign { who: 4, id: 2 },
        Op::Sign { who: 3, id: 2 },
    ];
    assert_eq!(check_ops(&ops).expect("no violation"), 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    /// No sequence of messages produces a device write without matching approvals by
    /// authorised, distinct users, inside the engineering limits and the step limit,
    /// on a writable tag of a healthy device, with the audit log available.
    #[test]
    fn no_write_without_authorised_approval_inside_limits(ops in proptest::collection::vec(op(), 1..60)) {
        check_ops(&ops)?;
    }
}

fn sent(a: &mut Approvals, s: &Site, p: &Plant, value: f64, now: i64) -> RequestId {
    let id = a.request(s, &p.live(), &signer("eve", Role::Engineer), 0, value, Source::Manual, vec![], now).0;
    let id = id.expect("accepted");
    a.sign(s, &p.live(), id, &signer("olga", Role::Operator), now).0.expect("sent");
    id
}

fn effect_off(fx: &[Effect]) -> Option<String> {
    fx.iter().find_map(|e| match e {
        Effect::EffectOff { text, .. } => Some(text.clone()),
        _ => None,
    })
}

#[test]
fn a_confirmed_write_is_watched_for_the_settling_time_and_held() {
    let (s, mut p) = (site(), Plant::healthy());
    let mut a = Approvals::new();
    let id = sent(&mut a, &s, &p, 55.0, 1000);
    assert!(a.watch(&s, &p.live(), 2000).is_empty(), "nothing to judge before the outcome");
    a.outcome(&s, id, WriteOutcome::Confirmed { read_back: 55.0 }, 4000);
    assert_eq!(a.get(id).map(|r| r.watch.clone()), Some(Watch::Watching { until_ms: 64_000 }), "settle 60 s");
    p.values[0] = Some(55.0);
    assert!(a.watch(&s, &p.live(), 63_999).is_empty(), "still settling");
    let fx = a.watch(&s, &p.live(), 64_000);
    assert!(fx.iter().any(|e| matches!(e, Effect::EffectHeld { request, tag: 0 } if *request == id)));
    assert!(fx.iter().any(|e| matches!(e, Effect::Audit(n) if n.action == AuditAction::EffectHeld.into())));
    assert!(!a.revertable(id));
    assert!(a.watch(&s, &p.live(), 70_000).is_empty(), "judged once");
}

#[test]
fn an_effect_off_raises_and_offers_one_revert_that_needs_approval() {
    let (s, mut p) = (site(), Plant::healthy());
    let mut a = Approvals::new();
    let id = sent(&mut a, &s, &p, 55.0, 1000);
    a.outcome(&s, id, WriteOutcome::Confirmed { read_back: 55.0 }, 2000);
    // the PLC's logic put the setpoint back: the effect is off after settling
    p.values[0] = Some(50.0);
    let fx = a.watch(&s, &p.live(), 62_000);
    let text = effect_off(&fx).expect("effect off");
    assert!(text.contains("speed_sp is 50, predicted 55"), "{text}");
    assert!(fx.iter().any(|e| matches!(e, Effect::Audit(n) if n.action == AuditAction::EffectOff.into())));
    assert!(a.revertable(id));
    // a viewer may not revert
    let (r, _) = a.revert(&s, &p.live(), &signer("vic", Role::Viewer), id, 63_000);
    assert!(matches!(r, Err(Refusal::NotAuthorised { .. })));
    // an operator asks for the revert: a new pending request for the previous value
    let (r, fx) = a.revert(&s, &p.live(), &signer("olga", Role::Operator), id, 63_000);
    let rev = r.expect("revert requested");
    assert!(writes(&fx).is_empty(), "a revert is a request, not a write");
    let req = a.get(rev).expect("revert request").clone();
    assert_eq!((req.value, req.source, req.status), (50.0, Source::Revert { of: id }, Status::Pending));
    assert!(!a.revertable(id), "offered once");
    assert_eq!(a.revert(&s, &p.live(), &signer("olga", Role::Operator), id, 63_500).0, Err(Refusal::NotRevertable(id)));
    // and it is signed like any write (the min interval of 10 s has passed)
    let (r, fx) = a.sign(&s, &p.live(), rev, &signer("sam", Role::Operator), 64_000);
    r.expect("signed");
    assert_eq!(writes(&fx), vec![(rev, 0, 50.0)]);
}

#[test]
fn a_read_back_mismatch_is_off_at_once_and_an_unreadable_plant_is_not_held() {
    let (s, mut p) = (site(), Plant::healthy());
    let mut a = Approvals::new();
    let id = sent(&mut a, &s, &p, 55.0, 1000);
    let fx = a.outcome(&s, id, WriteOutcome::Mismatch { wrote: 55.0, read_back: 52.0 }, 2000);
    assert!(effect_off(&fx).is_some_and(|t| t.contains("mismatch")));
    assert!(a.revertable(id));
    // a rejected write changed nothing: nothing to watch or revert
    let id2 = sent(&mut a, &s, &p, 55.0, 20_000);
    assert!(effect_off(&a.outcome(&s, id2, WriteOutcome::Rejected { exception: 3 }, 21_000)).is_none());
    assert!(!a.revertable(id2));
    // a confirmed write whose tag went Bad cannot be judged held
    let id3 = sent(&mut a, &s, &p, 55.0, 40_000);
    a.outcome(&s, id3, WriteOutcome::Confirmed { read_back: 55.0 }, 41_000);
    p.good[0] = false;
    let text = effect_off(&a.watch(&s, &p.live(), 101_000)).expect("off");
    assert!(text.contains("no good value"), "{text}");
}
