//! Advice that knows the fault: while an asset has an active model alarm, what the advisor
//! may file is decided here, by the rules of [`crate::models::diagnosis::remedy`].
//!
//! - A loop's recommendation on a tag of an abnormal asset is held ([`hold`]): the loop's model
//!   was learnt from normal running. The reason names a move the diagnosed fault forbids, the
//!   remedy proposed instead, or that no remedy is known; it is logged and kept with the
//!   diagnosis for the terminals.
//! - When a diagnosis with a known fault arrives ([`propose`], on the next tick), the fault's
//!   remedies that name a setpoint are filed as write requests (one step, inside the tag's
//!   limits and largest step), waiting for approval like any other; a pending model
//!   recommendation the fault forbids (filed before the diagnosis came) is withdrawn.
//!
//! A forbidden move is never filed while its fault is diagnosed: [`hold`] stops every loop
//! filing on an abnormal asset, and [`remedy_move`] never returns a move its fault forbids.

use super::{Effect, Filing, LiveView, State, models};
use crate::approvals::{self, Source, Status};
use crate::models::diagnosis::remedy::{AssetState, Verdict, judge_loop, remedy_move};
use crate::models::prescribe::Limits;
use crate::users::Role;

/// The state of the assets of `tags`, for the advisor: normal, or abnormal with what the
/// diagnosis of this alarm episode found.
pub fn asset_state<'a>(state: &'a State, tags: &[usize], now_ms: i64) -> AssetState<'a> {
    let Some((asset, diagnosis)) = models::abnormal(state, tags, now_ms) else { return AssetState::Normal };
    let Some(asset) = state.site.assets.iter().find(|a| a.name == asset).map(|a| a.name.as_str()) else {
        return AssetState::Normal;
    };
    match diagnosis {
        None => AssetState::Undiagnosed { asset },
        Some(d) => match (&d.fault, &d.advice) {
            (Some(_), Some(advice)) => AssetState::Fault { asset, advice },
            _ => AssetState::Unknown { asset },
        },
    }
}

/// Why the loop's recommendation `f` must not be filed now, if it must not.
pub(super) fn hold(state: &mut State, f: &Filing, now_ms: i64) -> Option<String> {
    let from = LiveView::of(state).values.get(f.tag).copied().flatten().unwrap_or(f64::NAN);
    let tag = state.site.tags.get(f.tag).map_or("", |t| t.name.as_str());
    let st = asset_state(state, &[f.tag, f.kpi], now_ms);
    let asset = match st {
        AssetState::Normal => return None,
        AssetState::Undiagnosed { asset } | AssetState::Unknown { asset } | AssetState::Fault { asset, .. } => {
            asset.to_string()
        }
    };
    let Verdict::Hold(why) = judge_loop(st, tag, from, f.value) else { return None };
    let line = format!("loop {}: {tag} {from:.2} -> {:.2} not recommended: {why}", f.loop_name, f.value);
    note(state, &asset, line);
    Some(why)
}

/// Adds `line` to the notes of `asset`'s diagnosis (once).
fn note(state: &mut State, asset: &str, line: String) {
    if let Some(d) = state.insights.diagnoses.get_mut(asset)
        && !d.notes.contains(&line)
    {
        d.notes.push(line);
        state.version += 1;
    }
}

/// Files the remedies of the diagnoses that arrived since the last call, while their fault is
/// still active; withdraws the pending model recommendations their fault forbids.
pub fn propose(state: &mut State, now_ms: i64) -> Vec<Effect> {
    let mut fx = Vec::new();
    for asset in std::mem::take(&mut state.insights.to_propose) {
        fx.extend(propose_for(state, &asset, now_ms));
    }
    fx
}

fn propose_for(state: &mut State, asset: &str, now_ms: i64) -> Vec<Effect> {
    let site = state.site.clone();
    let Some(ai) = site.assets.iter().position(|a| a.name == asset) else { return Vec::new() };
    let tags: Vec<usize> = (0..site.tags.len()).filter(|&t| site.tags[t].asset == Some(ai)).collect();
    let advice = match asset_state(state, &tags, now_ms) {
        AssetState::Fault { asset: a, advice } if a == asset => advice.clone(),
        _ => return Vec::new(),
    };
    let signer = approvals::Signer {
        user: super::REQUESTER.into(),
        full_name: format!("mimic models, remedy for {} on {asset}", advice.fault),
        role: Role::Operator,
    };
    let mut fx = Vec::new();
    // a recommendation filed before the diagnosis that the fault forbids is withdrawn
    let forbidden: Vec<(u64, String)> = state
        .approvals
        .all()
        .filter(|r| r.status == Status::Pending && matches!(r.source, Source::Recommendation { .. }))
        .filter_map(|r| {
            let tag = &site.tags.get(r.tag)?.name;
            let x = advice.forbids(tag, r.previous?, r.value)?;
            Some((
                r.id,
                format!("{} diagnosed on {asset}: never {} {tag} ({})", advice.fault, x.direction.word(), x.why),
            ))
        })
        .collect();
    for (id, why) in forbidden {
        let (result, effects) = state.approvals.reject(&site, id, &signer, &why, now_ms);
        if result.is_ok() {
            tracing::info!("request {id} withdrawn: {why}");
            note(state, asset, format!("request {id} withdrawn: {why}"));
        }
        fx.extend(effects.into_iter().map(Effect::Approval));
    }
    for r in &advice.remedy {
        let Some(ti) = r.tag.as_deref().and_then(|n| site.tag_index(n)) else {
            if let Some(t) = &r.tag {
                note(state, asset, format!("remedy `{}` not proposed: `{t}` is not a tag of the site", r.action));
            }
            continue;
        };
        let t = &site.tags[ti];
        if state.approvals.all().any(|q| q.tag == ti && q.status == Status::Pending) {
            note(state, asset, format!("remedy `{}` not proposed: a request on {} is pending", r.action, t.name));
            continue;
        }
        let current = LiveView::of(state).values.get(ti).copied().flatten();
        let limits = Limits {
            low: t.low.unwrap_or(f64::NEG_INFINITY),
            high: t.high.unwrap_or(f64::INFINITY),
            max_step: t.write.max_step,
        };
        let m = match remedy_move(&advice, r, current, limits) {
            Ok(m) => m,
            Err(why) => {
                note(state, asset, format!("remedy `{}` not proposed: {why}", r.action));
                continue;
            }
        };
        state.recommendations += 1;
        let source = Source::Recommendation { rec: state.recommendations };
        let view = LiveView::of(state);
        let (result, effects) = state.approvals.request(
            &site,
            &view.live(state.audit_ok),
            &signer,
            ti,
            m.to,
            source,
            vec![(ti, m.from)],
            now_ms,
        );
        fx.extend(effects.into_iter().map(Effect::Approval));
        let line = match result {
            Ok(id) => {
                let effect = format!("remedy declared for {} (not a model's prediction): {}", advice.fault, m.reason);
                state.approvals.predict(id, Vec::new(), &effect, 1.0);
                tracing::info!("{asset}: {}; filed as request {id}, waiting for approval", m.reason);
                format!("remedy proposed as request {id}: {} {:.2} -> {:.2}", m.tag, m.from, m.to)
            }
            Err(e) => format!("remedy `{}` not filed: {e}", r.action),
        };
        note(state, asset, line);
    }
    state.version += 1;
    fx
}
