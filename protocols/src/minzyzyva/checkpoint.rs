//! Checkpoints and garbage collection (paper §5): every `cp` ORDER-REQs a replica
//! multicasts the digest of its state; `f + 1` matching CHECKPOINTs (its own among them)
//! make it stable. A stable checkpoint is a commit certificate: the history up to it
//! commits, the snapshot there becomes the rollback base, and everything below it is
//! dropped.
//!
//! The state a checkpoint covers is speculative when it is taken; it is only reported to
//! observers ([`Event::CheckpointTaken`]) once it is stable, because a speculative state
//! may still be rolled back and oracles compare checkpoint digests across replicas.

use super::certify::checkpoint_bytes;
use super::history::Snapshot;
use super::messages::{Checkpoint, Message, Sent};
use super::replica::{PrimaryMsg, Replica, ZOutbox};
use super::vc_check::{OrderKey, cert_base, key_of};
use crate::event::{Event, RejectReason};
use crate::minbft::messages::{Digest, MessageKind};
use crate::node::{NodeId, ReplicaId};
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Digest of the executed state in `s`: the service and the client table (`V_req` with
/// cached results) after `s.state.executed_count` executions, without the history (what
/// [`Event::CheckpointTaken`] reports; CHECKPOINT messages certify
/// [`Replica::state_digest`], which adds the history).
fn executed_state_digest(s: &Snapshot) -> Digest {
    let mut h = Sha256::new();
    h.update(b"executed state");
    h.update((s.service.len() as u64).to_be_bytes());
    h.update(&s.service);
    h.update(s.state.executed_count.to_be_bytes());
    for r in &s.state.records {
        h.update(r.last_seq.to_be_bytes());
        h.update((r.last_result.len() as u32).to_be_bytes());
        h.update(&r.last_result);
    }
    h.finalize().into()
}

/// Checkpoint state. Bound: votes only for slots in `(stable, stable + log_window]`, one
/// per sender and slot.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub(crate) struct Checkpoints {
    /// Slot of the latest stable checkpoint (0 initially).
    pub(crate) stable: u64,
    /// Its certificate (`f + 1` matching CHECKPOINTs), empty initially.
    pub(crate) stable_cert: Vec<Arc<Checkpoint>>,
    /// CHECKPOINTs above `stable`, own included, by slot and sender.
    pub(crate) votes: BTreeMap<u64, BTreeMap<ReplicaId, Arc<Checkpoint>>>,
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// The digest a checkpoint certifies: service state, `V_req` with cached results,
    /// the execution count and the history digest.
    pub fn state_digest(&self) -> Digest {
        let mut h = Sha256::new();
        h.update(self.service.state_digest());
        h.update(self.state.executed_count.to_be_bytes());
        h.update(self.state.slots.to_be_bytes());
        h.update(self.state.history);
        for r in &self.state.records {
            h.update(r.last_seq.to_be_bytes());
            h.update((r.last_result.len() as u32).to_be_bytes());
            h.update(&r.last_result);
        }
        h.finalize().into()
    }

    /// The latest stable checkpoint certificate (empty before the first one).
    pub fn stable_checkpoint(&self) -> &[Arc<Checkpoint>] {
        &self.checkpoints.stable_cert
    }

    /// Key of the ORDER-REQ at the head of the history.
    pub(crate) fn head_key(&self) -> OrderKey {
        self.history.entries.back().map_or_else(
            || cert_base(&self.checkpoints.stable_cert).last,
            |e| key_of(&e.order),
        )
    }

    /// Takes a checkpoint of the current (speculative) state at the history's head.
    pub(crate) fn take_checkpoint(&mut self, out: &mut ZOutbox) {
        if let Some(cp) = self.create_checkpoint(out) {
            self.record_checkpoint_vote(cp, out);
        }
    }

    /// Creates this replica's CHECKPOINT of the state at the history's head: logged for
    /// `O`, placed in the primary's counter stream when this replica leads the view, its
    /// state kept as a snapshot, and multicast. `None` if the USIG failed.
    pub(crate) fn create_checkpoint(&mut self, out: &mut ZOutbox) -> Option<Arc<Checkpoint>> {
        let mut cp = Checkpoint {
            sender: self.id,
            view: self.view,
            slot: self.state.slots,
            last: self.head_key(),
            state_digest: self.state_digest(),
            ui: minlab_usig::Ui {
                counter: 0,
                cert: minlab_usig::Certificate::Symbolic(0),
            },
        };
        self.metrics.usig_creates += 1;
        match self.usig.create_ui(&checkpoint_bytes(&cp)) {
            Ok(ui) => cp.ui = ui,
            Err(error) => {
                out.event(Event::UsigFailed {
                    error: Box::new(error),
                });
                return None;
            }
        }
        let slot = cp.slot;
        let cp = Arc::new(cp);
        self.log_sent(Sent::Checkpoint(cp.clone()), out);
        if self.is_primary() && !self.vc.changing {
            // The primary's counter stream, which backups follow in FIFO order.
            self.accepted = cp.ui.counter;
            self.order_log
                .insert(cp.ui.counter, PrimaryMsg::Checkpoint(cp.clone()));
        }
        self.history.snapshots.insert(
            slot,
            Snapshot {
                service: self.service.snapshot(),
                state: self.state.clone(),
            },
        );
        self.metrics.count_sent(MessageKind::Checkpoint);
        out.broadcast(Message::Checkpoint(cp.clone()));
        Some(cp)
    }

    /// A CHECKPOINT: the current primary's in the current view go through its FIFO
    /// stream, the others' are counted at once (backups' counters also advance with every
    /// `UI_s` they send to clients, so replicas cannot follow them in FIFO order). A
    /// CHECKPOINT of the primary older than its stream's position (one it took before its
    /// NEW-VIEW) is just a vote.
    pub(crate) fn on_checkpoint(
        &mut self,
        now: Instant,
        from: NodeId,
        c: Arc<Checkpoint>,
        out: &mut ZOutbox,
    ) {
        let kind = MessageKind::Checkpoint;
        // The current primary's CHECKPOINTs may be relayed (FILL-HOLE answers).
        let rejection = if c.sender == self.primary {
            self.relay_rejection(from, c.sender)
        } else {
            self.peer_rejection(from, c.sender)
        };
        if let Some(reason) = rejection {
            return self.reject(from, kind, reason, out);
        }
        let stream = c.sender == self.primary && c.view == self.view;
        if stream && self.vc.changing {
            // The new primary's, ahead of its NEW-VIEW: a vote now, and its place in the
            // primary's counter stream once the view is installed.
            if c.slot > self.checkpoints.stable
                && c.slot <= self.checkpoints.stable + self.config.log_window
                && self.verify_checkpoint(&c)
            {
                self.record_checkpoint_vote(c.clone(), out);
            }
            return self.hold_early(from, c.ui.counter, PrimaryMsg::Checkpoint(c), out);
        }
        let from_primary = stream && c.ui.counter > self.accepted;
        // A backup's CHECKPOINT for a slot already stable is simply late. The primary's
        // still takes its place in the primary's counter stream: dropping it would leave a
        // hole there that nothing fills (its later ORDER-REQs would wait behind it).
        if c.slot <= self.checkpoints.stable && !from_primary {
            self.metrics.stale += 1;
            return;
        }
        if c.slot > self.checkpoints.stable + self.config.log_window {
            self.reject(from, kind, RejectReason::AboveHighWaterMark, out);
            // Not a vote, but evidence that this replica is behind (see `super::transfer`).
            return self.note_far_checkpoint(now, from, c, out);
        }
        if from_primary && let Err(reason) = self.admit(c.ui.counter) {
            return self.reject(from, kind, reason, out);
        }
        if !from_primary
            && self
                .checkpoints
                .votes
                .get(&c.slot)
                .is_some_and(|v| v.contains_key(&c.sender))
        {
            return self.reject(from, kind, RejectReason::DuplicateVote, out);
        }
        if !self.verify_checkpoint(&c) {
            return self.reject(from, kind, RejectReason::BadUi, out);
        }
        if from_primary {
            let counter = c.ui.counter;
            self.deliver_primary(now, counter, PrimaryMsg::Checkpoint(c), out);
        } else {
            self.record_checkpoint_vote(c, out);
        }
    }

    /// Verifies a CHECKPOINT's UI.
    pub(crate) fn verify_checkpoint(&mut self, c: &Checkpoint) -> bool {
        self.metrics.usig_verifies += 1;
        self.usig
            .verify_ui(c.sender, &c.ui, &checkpoint_bytes(c))
            .is_ok()
    }

    /// Counts a verified CHECKPOINT and checks for stability.
    pub(crate) fn record_checkpoint_vote(&mut self, c: Arc<Checkpoint>, out: &mut ZOutbox) {
        if c.slot <= self.checkpoints.stable {
            self.metrics.stale += 1;
            return;
        }
        self.checkpoints
            .votes
            .entry(c.slot)
            .or_default()
            .entry(c.sender)
            .or_insert(c);
        self.check_stable(out);
    }

    /// Makes the highest checkpoint with `f + 1` votes matching our own stable.
    fn check_stable(&mut self, out: &mut ZOutbox) {
        let quorum = self.config.quorum() as usize;
        let mut best = None;
        for (&slot, votes) in &self.checkpoints.votes {
            let Some(own) = votes.get(&self.id) else {
                continue;
            };
            let matching: Vec<Arc<Checkpoint>> = votes
                .values()
                .filter(|o| (o.state_digest, o.last) == (own.state_digest, own.last))
                .cloned()
                .collect();
            if matching.len() >= quorum {
                best = Some((slot, matching));
            }
        }
        let Some((slot, cert)) = best else { return };
        // Paper §5: f + 1 matching checkpoints are a commit certificate.
        self.commit_prefix(slot, out);
        // Observers compare checkpoints by execution position, so the event carries the
        // executed state alone: two stable checkpoints can share a position (the slots
        // between them held only requests ordered twice, executed once) and differ in
        // their CHECKPOINT digests, which also cover the history.
        if let Some(s) = self.history.snapshots.get(&slot) {
            out.event(Event::CheckpointTaken {
                counter: slot,
                position: s.state.executed_count,
                state_digest: executed_state_digest(s),
            });
        }
        // The sent log keeps what follows our own CHECKPOINT in the certificate (`O`).
        if let Some(own) = cert.iter().find(|c| c.sender == self.id) {
            self.sent = self.sent.split_off(&(own.ui.counter + 1));
        }
        self.checkpoints.stable = slot;
        self.checkpoints.stable_cert = cert;
        self.checkpoints.votes = self.checkpoints.votes.split_off(&(slot + 1));
        let truncated_entries = self.history.truncate_to(slot);
        self.truncate_order_log(slot);
        out.event(Event::CheckpointStable {
            counter: slot,
            truncated_entries,
        });
        // A restart point: the certificate holds our own CHECKPOINT, where `O` starts.
        self.persist_base(out);
    }

    /// Drops the primary messages the stable checkpoint at `slot` covers: ORDER-REQs no
    /// longer in the history, and the primary's CHECKPOINTs below `slot`. The primary's
    /// CHECKPOINT at `slot` stays: a backup that missed it waits for it in FIFO order
    /// before any later ORDER-REQ, and gets it through FILL-HOLE.
    fn truncate_order_log(&mut self, slot: u64) {
        let history = &self.history;
        self.order_log.retain(|_, m| match m {
            PrimaryMsg::Order(o) => history.slot_of(o.view, o.ui.counter).is_some(),
            PrimaryMsg::Checkpoint(c) => c.slot >= slot,
        });
    }
}
