//! The core's side of writes after approval: driver outcomes and the watch of each
//! write's effect. Pure; the approval path's effects become the core's, with the
//! write-effect alarm raised or cleared on the tag through the alarm engine.

use mimic_drivers::WriteOutcome;

use super::{Effect, LiveView, State};
use crate::alarms::{ModelTarget, Priority};
use crate::approvals::{self, RequestId};

/// Source name of the alarm raised when a write's effect is off.
pub const WRITE_EFFECT: &str = "write effect";

/// The driver reported the outcome of a sent write.
pub fn write_outcome(state: &mut State, id: RequestId, outcome: WriteOutcome, now_ms: i64) -> Vec<Effect> {
    let fx = state.approvals.outcome(&state.site, id, outcome, now_ms);
    state.version += 1;
    approval_effects(state, fx, now_ms)
}

/// Judge the effects of confirmed writes whose settling time is over (each tick).
pub fn watch_writes(state: &mut State, audit_ok: bool, now_ms: i64) -> Vec<Effect> {
    if !state.approvals.any_watching() {
        return Vec::new();
    }
    let view = LiveView::of(state);
    let fx = state.approvals.watch(&state.site, &view.live(audit_ok), now_ms);
    if !fx.is_empty() {
        state.version += 1;
    }
    // what the plant did, against what a model predicted: stored, and learnt from
    let learnt: Vec<Effect> = fx
        .iter()
        .filter_map(|e| match e {
            approvals::Effect::EffectHeld { request, .. } | approvals::Effect::EffectOff { request, .. } => {
                state.approvals.get(*request)
            }
            _ => None,
        })
        .flat_map(|r| crate::models::prescribe::learn::settled_errors(r, &state.site, &view.live(audit_ok), now_ms))
        .map(|e| Effect::Life(crate::core::asset_life::LifeEffect::PredictionError(e)))
        .collect();
    let mut out = approval_effects(state, fx, now_ms);
    out.extend(learnt);
    out
}

/// Turn the approval path's effects into the core's: a write-effect verdict raises or
/// clears the tag's alarm.
pub fn approval_effects(state: &mut State, fx: Vec<approvals::Effect>, now_ms: i64) -> Vec<Effect> {
    let mut out = Vec::with_capacity(fx.len());
    for e in fx {
        let events = match &e {
            approvals::Effect::EffectOff { tag, text, .. } => {
                state.alarms.raise_model(ModelTarget::Tag(*tag), WRITE_EFFECT, Priority::High, text, now_ms)
            }
            approvals::Effect::EffectHeld { tag, .. } => {
                state.alarms.clear_model(ModelTarget::Tag(*tag), WRITE_EFFECT, now_ms)
            }
            _ => Ok(Vec::new()),
        };
        match events {
            Ok(ev) if !ev.is_empty() => out.push(Effect::Alarm(ev)),
            Ok(_) => {}
            Err(err) => tracing::warn!("write-effect alarm: {err}"),
        }
        out.push(Effect::Approval(e));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarms::AlarmState;
    use crate::approvals::{Signer, Source};
    use crate::config::testkit::SP;
    use crate::core::testkit;
    use crate::users::Role;

    fn read(state: &mut State, v: f64, now: i64) {
        testkit::read(state, [v], now);
    }

    fn alarm_state(state: &State) -> Option<AlarmState> {
        state.alarms.rows(0).first().map(|r| r.state)
    }

    #[test]
    fn an_effect_off_raises_the_tags_alarm_and_a_later_held_write_clears_it() {
        let mut state = testkit::state(&format!("{SP}settle = \"10s\"\n"));
        read(&mut state, 40.0, 0);
        let who = Signer { user: "eve".into(), full_name: "Eve".into(), role: Role::Engineer };
        let boss = Signer { user: "sam".into(), full_name: "Sam".into(), role: Role::Engineer };
        let write = |state: &mut State, v: f64, now: i64| {
            let view = LiveView::of(state);
            let (id, _) =
                state.approvals.request(&state.site, &view.live(true), &who, 0, v, Source::Manual, vec![], now);
            let id = id.expect("request");
            state.approvals.sign(&state.site, &view.live(true), id, &boss, now).0.expect("sent");
            write_outcome(state, id, WriteOutcome::Confirmed { read_back: v }, now)
        };
        write(&mut state, 45.0, 1000);
        read(&mut state, 40.0, 5000); // the PLC put it back
        let fx = watch_writes(&mut state, true, 11_000);
        assert!(fx.iter().any(|e| matches!(e, Effect::Alarm(ev) if !ev.is_empty())), "{fx:?}");
        assert_eq!(alarm_state(&state), Some(AlarmState::UnackActive));
        assert!(state.alarms.rows(0)[0].message.contains("effect of writing 45 off"));
        // a later write that holds clears the condition (it stays unacknowledged)
        write(&mut state, 46.0, 20_000);
        read(&mut state, 46.0, 25_000);
        watch_writes(&mut state, true, 31_000);
        assert_eq!(alarm_state(&state), Some(AlarmState::UnackRtn));
    }
}
