//! Carrying out the core's effects in the only safe order: samples to the writer (and
//! the Sparkplug tee), every decision audited in one transaction, and writes sent to the
//! device queues only when that audit committed (fail closed).

use mimic_drivers::{WriteOutcome, WriteRequest};
use tokio::sync::oneshot;

use super::{Effect, Identity, Msg, RequestId, Shell, approvals, core};
use crate::daemon::control::{AuditRefused, Note};

impl Shell {
    /// Carry out effects: samples to the writer; every decision audited in one
    /// transaction; writes sent only when that audit committed.
    pub(super) fn carry_out(&mut self, effects: Vec<Effect>, who: Option<&Identity>) -> Result<(), AuditRefused> {
        let mut notes = Vec::new();
        let mut versions = Vec::new();
        let mut writes = Vec::new();
        let mut lives = Vec::new();
        let mut journal = Vec::new();
        for effect in effects {
            match effect {
                Effect::Store(samples) => {
                    if let Some(m) = &self.ch.mqtt
                        && m.samples.try_send(samples.clone()).is_err()
                    {
                        tracing::warn!("sparkplug edge node lags: samples not teed (the store still has them)");
                    }
                    if let Some(u) = &self.ch.opcua
                        && u.samples.try_send(samples.clone()).is_err()
                    {
                        tracing::warn!("OPC UA server lags: samples not teed");
                    }
                    if self.ch.store.send(samples).is_err() {
                        tracing::error!("historian writer stopped");
                    }
                }
                Effect::Alarm(events) => {
                    journal.extend(events.iter().map(crate::alarms::journal::Record::from));
                    if let Some(u) = &self.ch.opcua
                        && u.alarms.try_send(events.clone()).is_err()
                    {
                        tracing::warn!("OPC UA server lags: alarm events not teed");
                    }
                    for e in &events {
                        let mut n = Note::from(e);
                        if let (Some(who), Some(_)) = (who, &e.user) {
                            n.full_name = Some(who.full_name.clone());
                        }
                        notes.push(n);
                    }
                }
                Effect::Approval(approvals::Effect::Audit(n)) => notes.push(n),
                Effect::Approval(approvals::Effect::Write { request, tag, value, tolerance }) => {
                    writes.push((request, tag, value, tolerance));
                }
                Effect::Audit(n) => notes.push(n),
                Effect::Record { note, version } => {
                    notes.push(note);
                    versions.extend(version);
                }
                Effect::Diagnose(r) => {
                    if self.ch.models.send(r).is_err() {
                        tracing::warn!("the models worker stopped: no diagnosis");
                    }
                }
                // the alarm it raises or clears came as an Effect::Alarm before it
                Effect::Approval(approvals::Effect::EffectOff { .. } | approvals::Effect::EffectHeld { .. }) => {}
                Effect::Life(l) => lives.push(l),
                // answered by `Shell::feed` after the rest is carried out
                Effect::Job(_) | Effect::Verify { .. } => {}
            }
        }
        // A redb commit, off the worker's thread; most calls (every device event) have
        // nothing to audit, and block_in_place would hand the worker to a new thread.
        let audited = if notes.is_empty() {
            Ok(())
        } else {
            tokio::task::block_in_place(|| {
                self.control.audit_with(&notes, |txn| {
                    crate::alarms::journal::append(txn, &journal)?;
                    for v in &versions {
                        crate::lifecycle::record_model(txn, v)?;
                    }
                    Ok(())
                })
            })
        };
        if !lives.is_empty() {
            let dir = self.control.users_path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
            for l in lives {
                tokio::task::block_in_place(|| crate::daemon::life::carry_out(&mut self.control, &dir, l));
            }
        }
        if let Err(e) = &audited {
            // Fail closed: nothing reaches a device without its audit entry.
            for (request, ..) in writes {
                let now_ms = mimic_drivers::now_ms();
                core::update(&mut self.state, Msg::NotSent { request, reason: e.to_string(), now_ms });
            }
            return audited;
        }
        for (request, tag, value, tolerance) in writes {
            self.send_write(request, tag, value, tolerance);
        }
        Ok(())
    }

    fn send_write(&mut self, request: RequestId, tag: usize, value: f64, tolerance: f64) {
        let site = &self.state.site;
        let device = site.tags[tag].device;
        let point = self.state.device_points.get(device).and_then(|p| p.iter().position(|&t| t == tag));
        let (Some(queue), Some(point)) = (self.ch.write_queues.get(device).cloned(), point) else {
            let _ = self.outcome_tx.send((request, WriteOutcome::Invalid { message: "no write queue".into() }));
            return;
        };
        let (reply, rx) = oneshot::channel();
        let outcome_tx = self.outcome_tx.clone();
        tokio::spawn(async move {
            let outcome = match queue.send(WriteRequest { point, value, tolerance, reply }).await {
                Err(_) => WriteOutcome::Invalid { message: "device task stopped".into() },
                Ok(()) => rx.await.unwrap_or(WriteOutcome::Unknown {
                    message: "device task dropped the write".into(),
                    read_back: None,
                }),
            };
            let _ = outcome_tx.send((request, outcome));
        });
    }
}
