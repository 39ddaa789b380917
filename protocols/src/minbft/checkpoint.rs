//! Checkpoints and garbage collection (paper §4): replicas periodically agree on a state
//! digest; `f + 1` matching CHECKPOINTs make it stable, move the low water mark `h` and
//! truncate the log.
//!
//! **When a checkpoint is taken.** Sequence numbers are the counter values of the
//! primary's PREPAREs, one per batch. The primary's own CHECKPOINTs consume counter values
//! too, so a multiple of `cp` may never be a PREPARE's counter. A replica therefore takes
//! a checkpoint after executing the PREPARE with counter value `cv` whenever
//! `⌊cv / cp⌋ > ⌊cv_prev / cp⌋`, `cv_prev` being the previously executed PREPARE's counter
//! value: the first batch that reaches or passes each multiple of `cp`. All correct
//! replicas execute the same PREPAREs, so they checkpoint at the same batches. The
//! checkpoint covers whole batches only.
//!
//! **What is digested.** SHA-256 of the service's state digest and the client table
//! (`V_req` and cached results), since exactly-once semantics are part of the state.

use super::certify::checkpoint_bytes;
use super::fifo::UiMessage;
use super::messages::{Checkpoint, Digest, LoggedMessage, Message, MessageKind};
use super::replica::{Outcome, Replica};
use crate::event::{Event, RejectReason};
use crate::node::{NodeId, ReplicaId};
use crate::outbox::Outbox;
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Checkpoint state.
///
/// Bound: votes are kept for counter values in `(h, H]` only, one per sender and value.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub(crate) struct Checkpoints {
    /// `h`: counter value of the latest stable checkpoint (0 initially).
    pub(crate) stable: u64,
    /// Its certificate (`f + 1` matching CHECKPOINTs), empty initially.
    pub(crate) stable_cert: Vec<Arc<Checkpoint>>,
    /// CHECKPOINTs for `h` processed after its certificate was complete, at most one per
    /// replica outside it (see [`Replica::keep_late_vote`]).
    pub(crate) late: Vec<Arc<Checkpoint>>,
    /// CHECKPOINTs above `h`, own included, by counter value and sender.
    pub(crate) votes: BTreeMap<u64, BTreeMap<ReplicaId, Arc<Checkpoint>>>,
    /// Set when `h` moved; cleared by `settle`.
    pub(crate) advanced: bool,
    /// Highest checkpoint reported as needing a state transfer.
    pub(crate) transfer_hint: u64,
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// The digest a checkpoint certifies.
    pub fn state_digest(&self) -> Digest {
        let mut h = Sha256::new();
        h.update(self.service.state_digest());
        h.update(self.table.digest());
        h.finalize().into()
    }

    /// The latest stable checkpoint certificate (empty before the first one).
    pub fn stable_checkpoint(&self) -> &[Arc<Checkpoint>] {
        &self.checkpoints.stable_cert
    }

    /// Takes a checkpoint after executing the PREPARE with counter value `counter`.
    pub(crate) fn take_checkpoint(&mut self, counter: u64, out: &mut Outbox) {
        let view = self.view;
        if let Some(cp) = self.own_checkpoint(view, counter, out) {
            self.checkpoints
                .votes
                .entry(counter)
                .or_default()
                .insert(self.id, cp);
            // A PREPARE held behind this checkpoint may go now.
            self.checkpoints.advanced = true;
            self.check_stable(out);
        }
    }

    /// Creates, logs and multicasts this replica's CHECKPOINT of its current state, as
    /// the state after the batch `(view, counter)`; keeps the snapshot for state transfer.
    pub(crate) fn own_checkpoint(
        &mut self,
        view: crate::node::View,
        counter: u64,
        out: &mut Outbox,
    ) -> Option<Arc<Checkpoint>> {
        let state_digest = self.state_digest();
        out.event(Event::CheckpointTaken {
            counter,
            position: self.table.executed_count,
            state_digest,
        });
        self.metrics.usig_creates += 1;
        let ui = match self
            .usig
            .create_ui(&checkpoint_bytes(view, counter, &state_digest))
        {
            Ok(ui) => ui,
            Err(error) => {
                out.event(Event::UsigFailed {
                    error: Box::new(error),
                });
                return None;
            }
        };
        let cp = Arc::new(Checkpoint {
            sender: self.id,
            view,
            counter,
            state_digest,
            ui,
        });
        self.log_sent(cp.ui.counter, LoggedMessage::Checkpoint(cp.clone()), out);
        self.keep_snapshot(view, counter);
        self.metrics.count_sent(MessageKind::Checkpoint);
        out.broadcast(Message::Checkpoint(cp.clone()));
        Some(cp)
    }

    /// A CHECKPOINT arrives: checked and verified here, counted when FIFO-next.
    pub(crate) fn on_checkpoint(
        &mut self,
        now: Instant,
        from: NodeId,
        c: Arc<Checkpoint>,
        out: &mut Outbox,
    ) {
        // A CHECKPOINT of a view we left still takes its place in its sender's counter
        // order (the FIFO rule skips it there): a replica that catches up by state
        // transfer sends one for an older view after its VIEW-CHANGE, and no later
        // VIEW-CHANGE may come to account for that counter value.
        let checked = match self.check_peer(self.relay_origin(from, c.sender), c.sender, c.view) {
            Err(RejectReason::StaleView) | Ok(()) => self.fifo.admit(c.sender, c.ui.counter),
            Err(reason) => Err(reason),
        };
        if checked == Err(RejectReason::AboveHighWaterMark) {
            // Too far ahead to buffer, but evidence that this replica may be behind.
            return self.note_far_checkpoint(c, out);
        }
        if let Err(reason) = checked {
            return self.reject(from, MessageKind::Checkpoint, reason, out);
        }
        self.metrics.usig_verifies += 1;
        let bytes = checkpoint_bytes(c.view, c.counter, &c.state_digest);
        if self.usig.verify_ui(c.sender, &c.ui, &bytes).is_err() {
            return self.reject(from, MessageKind::Checkpoint, RejectReason::BadUi, out);
        }
        let (sender, counter) = (c.sender, c.ui.counter);
        self.deliver(now, sender, counter, UiMessage::Checkpoint(c), out);
    }

    /// The FIFO-next CHECKPOINT: record the vote.
    pub(crate) fn process_checkpoint(&mut self, c: &Arc<Checkpoint>) -> Outcome {
        if let Some(outcome) = self.view_gate(c.sender, c.view) {
            return outcome;
        }
        if c.counter <= self.low_water_mark() {
            self.keep_late_vote(c);
            self.metrics.stale += 1;
            return Outcome::Done;
        }
        if c.counter > self.high_water_mark() {
            return Outcome::Hold;
        }
        let votes = self.checkpoints.votes.entry(c.counter).or_default();
        if let Some(old) = votes.get(&c.sender) {
            if (old.view, old.state_digest) != (c.view, c.state_digest) {
                return Outcome::Reject(RejectReason::DuplicateVote);
            }
            // The same checkpoint again (its sender restarted and re-executed): harmless.
            self.metrics.stale += 1;
            return Outcome::Done;
        }
        votes.insert(c.sender, c.clone());
        Outcome::Done
    }

    /// A CHECKPOINT for the stable checkpoint that came after its certificate was
    /// complete: kept, so that FILL-HOLE answers can relay it. It holds its sender's counter
    /// value, and a replica that lost it cannot pass that value in the sender's FIFO order
    /// otherwise: if the sender crashed, nobody else holds it (a primary's CHECKPOINT lost
    /// on the way to one backup left it behind for good, `lossy-crash-primary` with the
    /// crash at 1.5 s). Bound: one per replica outside the certificate, for `h` only.
    fn keep_late_vote(&mut self, c: &Arc<Checkpoint>) {
        let cp = &mut self.checkpoints;
        // `h` may have moved without `check_stable` (a state transfer, a new view).
        let stable = cp.stable;
        cp.late.retain(|o| o.counter == stable);
        let known = cp
            .stable_cert
            .iter()
            .chain(&cp.late)
            .any(|o| o.sender == c.sender);
        if c.counter != stable || known {
            return;
        }
        cp.late.push(c.clone());
    }

    /// Makes the highest checkpoint with `f + 1` matching votes, our own among them,
    /// stable: moves `h`, keeps the certificate, truncates the log.
    pub(crate) fn check_stable(&mut self, out: &mut Outbox) {
        let quorum = self.config.quorum() as usize;
        let mut best: Option<(u64, Vec<Arc<Checkpoint>>)> = None;
        let mut wanted = None;
        for (&counter, votes) in &self.checkpoints.votes {
            let Some(own) = votes.get(&self.id) else {
                // Behind it with no PREPARE logged to get there: only a state transfer helps.
                if counter > self.log.last_executed
                    && counter > self.checkpoints.transfer_hint
                    && !self.log.entries.contains_key(&counter)
                {
                    for v in votes.values() {
                        let same = votes
                            .values()
                            .filter(|o| o.state_digest == v.state_digest)
                            .count();
                        if same >= quorum {
                            self.checkpoints.transfer_hint = counter;
                            out.event(Event::StateTransferNeeded { counter });
                            wanted = Some(
                                votes
                                    .values()
                                    .filter(|o| o.state_digest == v.state_digest)
                                    .cloned()
                                    .collect::<Vec<_>>(),
                            );
                            break;
                        }
                    }
                }
                continue;
            };
            let matching: Vec<Arc<Checkpoint>> = votes
                .values()
                .filter(|o| o.state_digest == own.state_digest)
                .cloned()
                .collect();
            if matching.len() >= quorum {
                best = Some((counter, matching));
            }
        }
        if let Some(cert) = wanted {
            self.want_state(cert, out);
        }
        let Some((counter, cert)) = best else { return };
        let own_key = cert
            .iter()
            .find(|c| c.sender == self.id)
            .map(|c| (c.view, c.counter));
        if let Some(own) = cert.iter().find(|c| c.sender == self.id) {
            // The sent log restarts at our own CHECKPOINT in the certificate (kept for
            // retransmission; O is what follows it).
            self.sent = self.sent.split_off(&own.ui.counter);
            self.prune_snapshots((own.view, own.counter));
        }
        self.checkpoints.stable = counter;
        self.checkpoints.stable_cert = cert;
        self.checkpoints.late.clear();
        self.checkpoints.votes = self.checkpoints.votes.split_off(&(counter + 1));
        let truncated_entries = self.log.truncate(counter);
        self.checkpoints.advanced = true;
        if let Some(key) = own_key {
            self.persist_base(key, out);
        }
        out.event(Event::CheckpointStable {
            counter,
            truncated_entries,
        });
    }
}
