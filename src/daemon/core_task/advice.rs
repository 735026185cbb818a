//! The core task's side of the advisor ([`crate::daemon::advise`]): a model's
//! recommendation filed as a write request — from the advisor, or from `mimic recommend
//! --request` — and the loops' states kept for the snapshot.

use super::{Effect, Identity, LiveView, RequestId, Shell, Source, approvals};

impl Shell {
    /// A model's recommendation becomes a write request (source Recommendation, with its
    /// predicted effect), audited, waiting for approval like any other. While an asset of
    /// the loop has an active model alarm the effect opens with a caution naming it (and
    /// the diagnosed cause) and the confidence is halved.
    pub(super) fn file(
        &mut self,
        signer: &approvals::Signer,
        who: Option<&Identity>,
        f: crate::daemon::advise::Filing,
    ) -> Result<RequestId, String> {
        if !(f.kpi_expect.is_finite() && f.tolerance.is_finite() && f.tolerance > 0.0) {
            return Err("the prediction must be finite with a positive tolerance".into());
        }
        let now = mimic_drivers::now_ms();
        let site = self.state.site.clone();
        self.recommendations += 1;
        let rec = self.recommendations;
        let view = LiveView::of(&self.state);
        let current = view.values.get(f.tag).copied().flatten();
        let mut inputs = vec![(f.kpi, f.kpi_now)];
        inputs.extend(current.map(|v| (f.tag, v)));
        let (result, fx) = self.state.approvals.request(
            &site,
            &view.live(self.control.audit_ok),
            signer,
            f.tag,
            f.value,
            Source::Recommendation { rec },
            inputs,
            now,
        );
        if let Ok(id) = &result {
            let expect = vec![approvals::Expect { tag: f.kpi, value: f.kpi_expect, tolerance: f.tolerance }];
            // a fault on the loop's asset makes the prediction less sure: say so first
            let (effect, confidence) = match crate::core::caution(&self.state, &[f.tag, f.kpi], now) {
                Some(c) => (format!("caution: {c}; {}", f.effect), f.confidence * 0.5),
                None => (f.effect.clone(), f.confidence),
            };
            self.state.approvals.predict(*id, expect, &effect, confidence);
        }
        self.state.version += 1;
        self.carry_out(fx.into_iter().map(Effect::Approval).collect(), who)?;
        result.map_err(|e| e.to_string())
    }

    /// News from the advisor: a loop's state for the snapshot, or a recommendation to file
    /// (unless a request on its setpoint is pending by now).
    pub(super) fn advice(&mut self, advice: crate::daemon::advise::Advice) {
        match advice {
            crate::daemon::advise::Advice::Loop(i, live) => {
                if self.loops.len() <= i {
                    self.loops.resize_with(i + 1, Default::default);
                }
                if self.loops[i] != live {
                    self.loops[i] = live;
                    self.state.version += 1;
                }
            }
            crate::daemon::advise::Advice::Recommend(f) => {
                if pending_on(&self.state.approvals, f.tag) {
                    tracing::info!(
                        "loop {}: a request on its setpoint is pending; recommendation dropped",
                        f.loop_name
                    );
                    return;
                }
                let signer = approvals::Signer {
                    user: crate::daemon::advise::REQUESTER.into(),
                    full_name: format!("mimic models, loop {}", f.loop_name),
                    role: crate::users::Role::Operator,
                };
                let name = f.loop_name.clone();
                match self.file(&signer, None, f) {
                    Ok(id) => tracing::info!("loop {name}: recommendation filed as request {id}, waiting for approval"),
                    Err(e) => tracing::warn!("loop {name}: recommendation not filed: {e}"),
                }
            }
        }
    }
}

/// Does a write request on `tag` wait for approval?
fn pending_on(a: &approvals::Approvals, tag: usize) -> bool {
    a.all().any(|r| r.tag == tag && r.status == approvals::Status::Pending)
}
