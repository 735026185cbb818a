//! What to do about a diagnosed fault, declared with its signature: remedies (an action for
//! the operator and, when it names a setpoint, a move the advisor may propose) and forbidden
//! moves (a setpoint direction that makes the fault worse). For cavitation: lower the speed or
//! raise the suction head; never raise the speed.
//!
//! ```toml
//! [[fault]]
//! name = "cavitation"
//! # ...
//! remedy = [
//!   { action = "lower the pump speed", tag = "P101.speed_sp", direction = "lower", step = 5.0 },
//!   { action = "raise the suction head (tank level, strainer, suction valve)" },
//! ]
//! forbid = [{ tag = "P101.speed_sp", direction = "raise", why = "deepens the cavitation" }]
//! ```
//!
//! The rules the advisor follows while a diagnosed fault is active ([`judge_loop`],
//! [`remedy_move`]): a loop's own recommendation is never filed (its model was learnt from
//! normal running, and the fault changed the plant); the fault's remedies that name a setpoint
//! are proposed, one `step` in their direction inside the tag's limits; a forbidden move is
//! never proposed; with no remedy known, nothing is proposed, and the reason says so. Pure.

use serde::{Deserialize, Serialize};

use crate::models::prescribe::Limits;

/// Which way a setpoint moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Raise,
    Lower,
}

impl Direction {
    /// The direction of a move from `from` to `to` (None: no move).
    pub fn of(from: f64, to: f64) -> Option<Direction> {
        if to > from {
            Some(Direction::Raise)
        } else if to < from {
            Some(Direction::Lower)
        } else {
            None
        }
    }

    /// `raise` or `lower`.
    pub fn word(self) -> &'static str {
        match self {
            Direction::Raise => "raise",
            Direction::Lower => "lower",
        }
    }

    fn sign(self) -> f64 {
        match self {
            Direction::Raise => 1.0,
            Direction::Lower => -1.0,
        }
    }
}

/// A remedy of a fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remedy {
    /// What the operator is told to do.
    pub action: String,
    /// The setpoint it moves, when it is a move the advisor may propose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// How far one proposal moves the setpoint (the tag's units), before its limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
}

/// A move that makes a fault worse.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forbid {
    pub tag: String,
    pub direction: Direction,
    /// Why, for the operator.
    pub why: String,
}

/// The remedies and forbidden moves of one fault, as the diagnosis hands them on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultAdvice {
    pub fault: String,
    #[serde(default)]
    pub remedy: Vec<Remedy>,
    #[serde(default)]
    pub forbid: Vec<Forbid>,
}

/// A setpoint move a remedy proposes.
#[derive(Clone, Debug, PartialEq)]
pub struct Move {
    pub tag: String,
    pub from: f64,
    pub to: f64,
    /// For the operator: the fault, the action, and the limits when they cut the step short.
    pub reason: String,
}

/// A remedy declared wrong in a fault's signature.
#[derive(Debug, thiserror::Error)]
pub enum RemedyError {
    #[error("fault `{fault}`: the remedy on `{tag}` needs a positive `step`, not {step}")]
    Step { fault: String, tag: String, step: f64 },
    #[error("fault `{fault}`: the remedy `{action}` {verb}s `{tag}`, which it forbids")]
    Forbidden { fault: String, action: String, verb: &'static str, tag: String },
    #[error(
        "fault `{fault}`: the remedy `{action}` gives only some of `tag`, `direction` and `step` (all three or none)"
    )]
    Partial { fault: String, action: String },
}

/// Why a remedy proposes no move now.
#[derive(Debug, thiserror::Error)]
pub enum NoMove {
    #[error("the remedy `{0}` is for the operator (it names no setpoint)")]
    ForOperator(String),
    #[error("{0} has no good value now")]
    NoValue(String),
    #[error(transparent)]
    Limits(#[from] crate::models::prescribe::PrescribeError),
    #[error("{tag} is at {from}, and its limits {lo}..{hi} leave no room to {verb} it")]
    NoRoom { tag: String, from: f64, lo: f64, hi: f64, verb: &'static str },
    #[error("the remedy `{action}` would {verb} {tag}, which `{fault}` forbids")]
    Forbidden { action: String, verb: &'static str, tag: String, fault: String },
}

impl FaultAdvice {
    /// Checks the declaration: a remedy that names a tag gives a direction and a positive
    /// finite step (and the reverse), and never a move the same fault forbids.
    pub fn check(&self) -> Result<(), RemedyError> {
        let fault = || self.fault.clone();
        for r in &self.remedy {
            match (&r.tag, r.direction, r.step) {
                (None, None, None) => {}
                (Some(tag), Some(d), Some(step)) => {
                    if !(step.is_finite() && step > 0.0) {
                        return Err(RemedyError::Step { fault: fault(), tag: tag.clone(), step });
                    }
                    if self.forbid.iter().any(|x| &x.tag == tag && x.direction == d) {
                        let (action, verb, tag) = (r.action.clone(), d.word(), tag.clone());
                        return Err(RemedyError::Forbidden { fault: fault(), action, verb, tag });
                    }
                }
                _ => return Err(RemedyError::Partial { fault: fault(), action: r.action.clone() }),
            }
        }
        Ok(())
    }

    /// The rule that forbids moving `tag` from `from` to `to`, if one does.
    pub fn forbids(&self, tag: &str, from: f64, to: f64) -> Option<&Forbid> {
        let d = Direction::of(from, to)?;
        self.forbid.iter().find(|x| x.tag == tag && x.direction == d)
    }

    /// The remedies and forbidden moves in words, one line each.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self.remedy.iter().map(|r| format!("remedy: {}", r.action)).collect();
        out.extend(self.forbid.iter().map(|x| format!("never {} {}: {}", x.direction.word(), x.tag, x.why)));
        out
    }
}

/// The move remedy `r` proposes from the setpoint's present value `current`: one step in its
/// direction, inside `limits` (and their largest step). Err (why) when the remedy names no
/// setpoint, the value is unknown, or the limits leave no room in that direction.
pub fn remedy_move(fault: &FaultAdvice, r: &Remedy, current: Option<f64>, limits: Limits) -> Result<Move, NoMove> {
    let (Some(tag), Some(d), Some(step)) = (&r.tag, r.direction, r.step) else {
        return Err(NoMove::ForOperator(r.action.clone()));
    };
    let Some(from) = current.filter(|v| v.is_finite()) else {
        return Err(NoMove::NoValue(tag.clone()));
    };
    let (lo, hi) = limits.range_from(from)?;
    let ideal = from + d.sign() * step;
    let to = ideal.clamp(lo, hi);
    // a clamp can only shorten the step; at the limit (or a limit past the value) no room is left
    if Direction::of(from, to) != Some(d) {
        return Err(NoMove::NoRoom { tag: tag.clone(), from, lo, hi, verb: d.word() });
    }
    if fault.forbids(tag, from, to).is_some() {
        let (action, verb, tag, fault) = (r.action.clone(), d.word(), tag.clone(), fault.fault.clone());
        return Err(NoMove::Forbidden { action, verb, tag, fault });
    }
    let mut reason = format!("{} diagnosed: {}", fault.fault, r.action);
    if (to - ideal).abs() > 1e-9 {
        reason.push_str(&format!(" (the step of {step} is cut to the limits {lo}..{hi})"));
    }
    Ok(Move { tag: tag.clone(), from, to, reason })
}

/// What to do with a loop's recommendation while an asset of the loop is abnormal.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Nothing is abnormal: file it.
    File,
    /// Do not file it; the reason, for the operator.
    Hold(String),
}

/// The state of the loop's asset, as the advisor sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AssetState<'a> {
    Normal,
    /// Abnormal (a model alarm), not diagnosed yet.
    Undiagnosed {
        asset: &'a str,
    },
    /// Abnormal, diagnosed without a matching fault signature.
    Unknown {
        asset: &'a str,
    },
    /// Abnormal with a diagnosed fault (its remedies, possibly none).
    Fault {
        asset: &'a str,
        advice: &'a FaultAdvice,
    },
}

/// The verdict on a loop's recommendation to move `tag` from `from` to `to`. Only a normal
/// asset lets it through: the loop's model was learnt from normal running. The reason names
/// a forbidden move first, then the remedies proposed instead, or that none is known.
pub fn judge_loop(state: AssetState<'_>, tag: &str, from: f64, to: f64) -> Verdict {
    let (asset, advice) = match state {
        AssetState::Normal => return Verdict::File,
        AssetState::Undiagnosed { asset } => {
            return Verdict::Hold(format!(
                "{asset} is abnormal and not diagnosed yet; the loop's model was learnt from normal running, so nothing is recommended until the cause is known"
            ));
        }
        AssetState::Unknown { asset } => {
            return Verdict::Hold(format!(
                "{asset} is abnormal with no known fault; no remedy is known, and the loop's model was learnt from normal running, so nothing is recommended"
            ));
        }
        AssetState::Fault { asset, advice } => (asset, advice),
    };
    let f = &advice.fault;
    let mut why = match advice.forbids(tag, from, to) {
        Some(x) => format!("{f} diagnosed on {asset}: never {} {tag} ({})", x.direction.word(), x.why),
        None => format!("{f} diagnosed on {asset}: the loop's model was learnt from normal running"),
    };
    let proposed: Vec<&str> = advice.remedy.iter().filter(|r| r.tag.is_some()).map(|r| r.action.as_str()).collect();
    let operator: Vec<&str> = advice.remedy.iter().filter(|r| r.tag.is_none()).map(|r| r.action.as_str()).collect();
    if !proposed.is_empty() {
        why.push_str(&format!("; its remedy is proposed instead: {}", proposed.join("; ")));
    }
    if !operator.is_empty() {
        why.push_str(&format!("; for the operator: {}", operator.join("; ")));
    }
    if advice.remedy.is_empty() {
        why.push_str(&format!("; no remedy is known for {f}, so nothing is recommended"));
    }
    Verdict::Hold(why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::diagnosis::Signatures;
    use crate::models::diagnosis::signature::PUMP_SKID;
    use proptest::prelude::*;

    fn cavitation() -> FaultAdvice {
        let s = Signatures::parse(PUMP_SKID).expect("signatures");
        s.advice("cavitation").expect("cavitation")
    }

    const LIMITS: Limits = Limits { low: 0.0, high: 100.0, max_step: Some(10.0) };

    #[test]
    fn cavitation_lowers_the_speed_and_never_raises_it() {
        let a = cavitation();
        assert!(a.forbids("P101.speed_sp", 75.0, 80.0).is_some());
        assert!(a.forbids("P101.speed_sp", 75.0, 70.0).is_none());
        let r = a.remedy.iter().find(|r| r.tag.as_deref() == Some("P101.speed_sp")).expect("speed remedy");
        let m = remedy_move(&a, r, Some(75.0), LIMITS).expect("a move");
        assert!(m.to < 75.0 && m.to >= 65.0, "{m:?}");
        assert!(m.reason.starts_with("cavitation diagnosed: lower"), "{}", m.reason);
        // at the low limit there is no room: nothing proposed, and why
        let e = remedy_move(&a, r, Some(0.0), LIMITS).expect_err("no room");
        assert!(e.to_string().contains("no room to lower"), "{e}");
        assert!(remedy_move(&a, r, None, LIMITS).is_err());
        // the loop's own advice to raise the speed is held, naming the rule and the remedy
        let Verdict::Hold(why) =
            judge_loop(AssetState::Fault { asset: "P-101", advice: &a }, "P101.speed_sp", 75.0, 85.0)
        else {
            panic!("filed")
        };
        assert!(why.contains("never raise P101.speed_sp") && why.contains("proposed instead"), "{why}");
        assert!(a.lines().iter().any(|l| l.starts_with("never raise P101.speed_sp")), "{:?}", a.lines());
    }

    #[test]
    fn a_fault_without_remedy_recommends_nothing_and_says_why() {
        let a = FaultAdvice { fault: "bearing_wear".into(), ..FaultAdvice::default() };
        let v = judge_loop(AssetState::Fault { asset: "P-101", advice: &a }, "P101.speed_sp", 75.0, 70.0);
        assert!(matches!(&v, Verdict::Hold(w) if w.contains("no remedy is known for bearing_wear")), "{v:?}");
        assert!(matches!(judge_loop(AssetState::Unknown { asset: "P-101" }, "x", 1.0, 2.0), Verdict::Hold(_)));
        assert!(matches!(judge_loop(AssetState::Undiagnosed { asset: "P-101" }, "x", 1.0, 2.0), Verdict::Hold(_)));
        assert_eq!(judge_loop(AssetState::Normal, "x", 1.0, 2.0), Verdict::File);
    }

    #[test]
    fn a_remedy_the_fault_forbids_or_half_declared_is_refused() {
        let bad = "[[fault]]\nname = \"x\"\ncause = \"c\"\nfirst = [\"a\"]\n\
                   remedy = [{ action = \"up\", tag = \"s\", direction = \"raise\", step = 1.0 }]\n\
                   forbid = [{ tag = \"s\", direction = \"raise\", why = \"w\" }]\n";
        let e = Signatures::parse(bad).expect_err("contradiction");
        assert!(e.to_string().contains("which it forbids"), "{e}");
        let half =
            "[[fault]]\nname = \"x\"\ncause = \"c\"\nfirst = [\"a\"]\nremedy = [{ action = \"up\", tag = \"s\" }]\n";
        assert!(Signatures::parse(half).expect_err("half").to_string().contains("all three or none"));
        let neg = "[[fault]]\nname = \"x\"\ncause = \"c\"\nfirst = [\"a\"]\n\
                   remedy = [{ action = \"up\", tag = \"s\", direction = \"raise\", step = -1.0 }]\n";
        assert!(Signatures::parse(neg).expect_err("negative").to_string().contains("positive"));
    }

    proptest! {
        /// Whatever the present value, limits and step, and whichever moves the fault forbids,
        /// nothing the advisor files is a forbidden move: a remedy's move goes its own way
        /// inside the limits and is refused when its fault forbids it (a declaration `check`
        /// would refuse, drawn here on purpose: then the remedy's step is the naive advice
        /// and the forbidden move), and the loop's own advice is never filed while the fault
        /// is diagnosed, even when it is the forbidden move.
        #[test]
        fn the_advisor_never_files_a_forbidden_move(
            current in -50.0f64..150.0,
            low in -20.0f64..60.0,
            span in 0.0f64..100.0,
            max_step in proptest::option::of(0.0f64..30.0),
            step in 0.01f64..40.0,
            remedy_lower in any::<bool>(),
            forbid_lower in any::<bool>(),
            forbid_same_tag in any::<bool>(),
            naive in -50.0f64..150.0,
        ) {
            let dir = |lower: bool| if lower { Direction::Lower } else { Direction::Raise };
            let d = dir(remedy_lower);
            let tag = if forbid_same_tag { "s" } else { "t" };
            let a = FaultAdvice {
                fault: "f".into(),
                remedy: vec![Remedy { action: "move".into(), tag: Some("s".into()), direction: Some(d), step: Some(step) }],
                forbid: vec![Forbid { tag: tag.into(), direction: dir(forbid_lower), why: "worse".into() }],
            };
            let contradictory = forbid_same_tag && forbid_lower == remedy_lower;
            prop_assert_eq!(a.check().is_err(), contradictory);
            let limits = Limits { low, high: low + span, max_step };
            let mut filed = Vec::new();
            match remedy_move(&a, &a.remedy[0], Some(current), limits) {
                Ok(m) => {
                    prop_assert_eq!(Direction::of(m.from, m.to), Some(d));
                    prop_assert!(m.to >= low && m.to <= low + span);
                    if let Some(s) = max_step { prop_assert!((m.to - m.from).abs() <= s + 1e-9); }
                    filed.push(("s", m.from, m.to));
                }
                Err(NoMove::Forbidden { .. }) => prop_assert!(contradictory),
                Err(_) => {}
            }
            let state = AssetState::Fault { asset: "A", advice: &a };
            for t in ["s", "t"] {
                if judge_loop(state, t, current, naive) == Verdict::File {
                    filed.push((t, current, naive));
                }
            }
            for (t, from, to) in filed {
                prop_assert!(a.forbids(t, from, to).is_none(), "filed a forbidden move of {} from {} to {}", t, from, to);
            }
        }
    }
}
