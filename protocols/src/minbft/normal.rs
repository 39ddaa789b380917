//! The normal case of paper §4: the primary orders batches with PREPAREs, backups answer
//! with COMMITs, and a batch with `f + 1` matching votes is accepted and executed at once.
//!
//! Design choices, all following from the paper:
//!
//! - **The PREPARE is the primary's COMMIT.** The primary sends no COMMIT of its own, so a
//!   batch needs the PREPARE plus `f` backup COMMITs. This matches §7.2 (with `f = 1`, the
//!   PREPARE and one COMMIT suffice). The primary does `2 + (2f + 1)/b` MAC operations per
//!   request: per batch one `create_ui` for the PREPARE and one `verify_ui` for each of the
//!   `2f` backup COMMITs (each is verified as it arrives, even once the batch has `f + 1`
//!   votes, since the FIFO rule processes every UI of a sender in order), and per request
//!   one client authenticator check and one reply MAC. Table 1's `2 + (f + 3)/b` counts a
//!   COMMIT of the primary's own and `f + 1` verifications: the same at `f = 2`, `1/b`
//!   more than here at `f = 1`.
//! - **Condition 3 (no holes) is the FIFO rule.** A backup processes the PREPARE with
//!   counter value `cv` only once it processed `cv - 1` from the primary (`V_acc`), so the
//!   primary cannot skip a value: a PREPARE after a hole waits in the bounded FIFO buffer
//!   and nothing after it executes. The primary's CHECKPOINTs use the same counter, so
//!   consecutive PREPAREs need not have consecutive counter values; what matters is that
//!   no counter value of the primary goes unprocessed.
//! - **Execution in counter order.** Batches are accepted (vote count reaches `f + 1`)
//!   possibly out of order when a faulty backup votes selectively, but are executed
//!   strictly in the primary's counter order, so acceptance is effectively in order too.
//! - **A COMMIT before its PREPARE.** A COMMIT carries the PREPARE's UI and the batch
//!   digest, not the batch, so the receiver cannot send its own COMMIT yet (it could not
//!   check condition 2 nor execute). It keeps the COMMIT as an *early vote* (bounded: one
//!   per sender and counter value in `(h, H]`) and counts it when the PREPARE arrives and
//!   matches. If a faulty primary never sends the PREPARE to a replica, that replica
//!   cannot execute; the view change (phase 2) repairs this.
//! - **No UI is verified twice.** Duplicates are dropped by counter value before any
//!   verification; a COMMIT's copy of the PREPARE's UI is compared, not verified.
//! - **Above the high water mark, messages wait.** Paper §4 discards messages above
//!   `H`; since our transports do not retransmit UI messages, a message above `H` that is
//!   next in its sender's FIFO order waits in the bounded FIFO buffer until a checkpoint
//!   moves `H`. Only counter values beyond the buffer window are rejected.

use super::certify::{batch_digest, commit_bytes, prepare_bytes};
use super::fifo::UiMessage;
use super::log::Entry;
use super::messages::{Commit, Digest, LoggedMessage, Message, MessageKind, Prepare};
use super::mutant::mutant;
use super::replica::{Outcome, Replica};
use crate::batching::BatchFormer;
use crate::event::{Event, RejectReason};
use crate::node::{NodeId, ReplicaId};
use crate::outbox::Outbox;
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use std::sync::Arc;

impl<U: Usig, S: Service> Replica<U, S> {
    /// Primary: sends PREPAREs for queued requests as `batch_rule` says (a full batch at a
    /// time, or whatever is queued when `flush`, the batch timer fired; or under
    /// [`crate::BatchRule::Slots`] whatever is queued whenever a slot is free). Bounded by
    /// `outstanding_batches_max` (the slots: PREPAREs not yet executed here), by a due
    /// checkpoint and by the high water mark.
    pub(crate) fn maybe_prepare(&mut self, now: Instant, flush: bool, out: &mut Outbox) {
        if !self.is_primary() || self.vc.changing || self.log.behind {
            return;
        }
        let (max, deadline) = (self.config.batch_size_max, now + self.config.batch_timeout);
        loop {
            let blocked = self.log.unexecuted >= self.config.outstanding_batches_max
                || self.checkpoint_due()
                || self.usig.last_counter() + 1 > self.high_water_mark();
            if blocked && !self.pending.is_empty() {
                return;
            }
            let mut former = BatchFormer {
                pending: &mut self.pending,
                timer_armed: &mut self.batch_timer_armed,
                rule: self.config.batch_rule,
            };
            let Some(batch) = former.next(flush, max, deadline, out) else {
                return;
            };
            let digest = batch_digest(&batch);
            self.metrics.usig_creates += 1;
            let ui = match self.usig.create_ui(&prepare_bytes(self.view, &digest)) {
                Ok(ui) => ui,
                Err(error) => {
                    for r in batch.into_iter().rev() {
                        self.pending.push_front(r);
                    }
                    out.event(Event::UsigFailed {
                        error: Box::new(error),
                    });
                    return;
                }
            };
            let counter = ui.counter;
            let prepare = Arc::new(Prepare {
                view: self.view,
                primary: self.id,
                batch,
                ui,
            });
            self.log.entries.insert(
                counter,
                Entry {
                    prepare: prepare.clone(),
                    digest,
                    votes: 1 << self.id,
                    own_commit: None,
                },
            );
            self.log.unexecuted += 1;
            self.log_sent(counter, LoggedMessage::Prepare(prepare.clone()), out);
            self.metrics.count_sent(MessageKind::Prepare);
            out.broadcast(Message::Prepare(prepare));
            // The batch now waits on backup COMMITs, which may be lost like any message:
            // without this, a primary whose only COMMITs were lost would wait forever (no
            // later message from their senders arrives to reveal the hole).
            self.arm_repair(now, out);
            if mutant!(self, CommitQuorum) {
                // With f votes the PREPARE alone may accept (f = 1): execute at once (which
                // prepares the rest of the queue).
                return self.try_execute(now, out);
            }
        }
    }

    /// True while an accepted-but-unexecuted logged batch will trigger a checkpoint: no
    /// vote for a later batch is sent before that CHECKPOINT, so that every vote above a
    /// checkpoint has a higher counter value than the voter's CHECKPOINT (and is in the
    /// `O` of its VIEW-CHANGE, see [`super::view_change`]).
    pub(crate) fn checkpoint_due(&self) -> bool {
        let last = self.log.last_executed;
        let top = self.log.entries.last_key_value().map_or(last, |(&k, _)| k);
        let cp = self.config.checkpoint_period;
        top / cp > last / cp
    }

    /// A PREPARE arrives: paper §4, conditions 1 and 2 and the UI are checked here; the
    /// FIFO rule (condition 3) decides when it is processed.
    pub(crate) fn on_prepare(
        &mut self,
        now: Instant,
        from: NodeId,
        p: Arc<Prepare>,
        out: &mut Outbox,
    ) {
        let kind = MessageKind::Prepare;
        let checked = self
            .check_peer(self.relay_origin(from, p.primary), p.primary, p.view)
            .and_then(|()| {
                // Paper §4, condition 1: only the primary of the view sends PREPAREs.
                if p.primary == self.config.primary_of(p.view) {
                    Ok(())
                } else {
                    Err(RejectReason::NotPrimary)
                }
            })
            .and_then(|()| self.fifo.admit(p.primary, p.ui.counter))
            .and_then(|()| {
                if p.batch.is_empty() || p.batch.len() > self.config.batch_size_max {
                    return Err(RejectReason::MalformedBatch);
                }
                // Paper §4, condition 2: every request carries its client's authenticator.
                for r in &p.batch {
                    if !self.clients.knows(r.client) {
                        return Err(RejectReason::UnknownClient);
                    }
                    let seen = self.table.get(r.client).verified.as_ref();
                    let verified = seen.is_some_and(|v| v.seq == r.seq && v.op == r.op);
                    if !verified
                        && !self.clients.verify_request_counted(r, &mut self.metrics)
                        && !self.vouched_by_early_commits(&p)
                    {
                        return Err(RejectReason::BadClientAuth);
                    }
                }
                Ok(())
            });
        if let Err(reason) = checked {
            return self.reject(from, kind, reason, out);
        }
        let digest = batch_digest(&p.batch);
        self.metrics.usig_verifies += 1;
        if self
            .usig
            .verify_ui(p.primary, &p.ui, &prepare_bytes(p.view, &digest))
            .is_err()
        {
            return self.reject(from, kind, RejectReason::BadUi, out);
        }
        let (sender, counter) = (p.primary, p.ui.counter);
        self.deliver(now, sender, counter, UiMessage::Prepare(p, digest), out);
    }

    /// A COMMIT arrives: checked and verified here, counted when FIFO-next.
    pub(crate) fn on_commit(
        &mut self,
        now: Instant,
        from: NodeId,
        c: Arc<Commit>,
        out: &mut Outbox,
    ) {
        let kind = MessageKind::Commit;
        let checked = self
            .check_peer(from, c.sender, c.view)
            .and_then(|()| {
                if c.primary != self.config.primary_of(c.view) {
                    Err(RejectReason::NotPrimary)
                } else if c.sender == c.primary {
                    // The primary's PREPARE is its COMMIT; it sends no other.
                    Err(RejectReason::UnexpectedMessage)
                } else {
                    Ok(())
                }
            })
            .and_then(|()| self.fifo.admit(c.sender, c.ui.counter));
        if let Err(reason) = checked {
            return self.reject(from, kind, reason, out);
        }
        self.metrics.usig_verifies += 1;
        let bytes = commit_bytes(c.view, c.prepare_ui.counter, &c.digest);
        if self.usig.verify_ui(c.sender, &c.ui, &bytes).is_err() {
            return self.reject(from, kind, RejectReason::BadUi, out);
        }
        let (sender, counter) = (c.sender, c.ui.counter);
        self.deliver(now, sender, counter, UiMessage::Commit(c), out);
    }

    /// COMMITs for exactly this PREPARE that arrived before it, from `f` backups: with the
    /// primary, `f + 1` replicas vouch for its requests, so at least one correct replica
    /// checked their authenticators. A backup whose authenticator entries were corrupted on
    /// the way (PBFT's authenticator problem) can then still accept it. Only asked when its
    /// own check fails, so the usual path does no extra work.
    fn vouched_by_early_commits(&self, p: &Prepare) -> bool {
        let digest = batch_digest(&p.batch);
        let vouchers = (0..self.config.replica_count)
            .filter(|&s| s != p.primary && s != self.id)
            .filter(|&s| {
                self.log
                    .early
                    .get(&(p.ui.counter, s))
                    .is_some_and(|c| c.prepare_ui == p.ui && c.digest == digest)
            })
            .count();
        vouchers >= self.config.f() as usize
    }

    /// Creates, logs and multicasts this replica's COMMIT for PREPARE `p` (batch digest
    /// `digest`); `None` if the USIG failed (reported).
    pub(crate) fn send_commit(
        &mut self,
        p: &Arc<Prepare>,
        digest: &Digest,
        out: &mut Outbox,
    ) -> Option<Arc<Commit>> {
        self.metrics.usig_creates += 1;
        match self
            .usig
            .create_ui(&commit_bytes(p.view, p.ui.counter, digest))
        {
            Ok(ui) => {
                let commit = Arc::new(Commit {
                    view: p.view,
                    sender: self.id,
                    primary: p.primary,
                    prepare_ui: p.ui.clone(),
                    digest: *digest,
                    ui,
                });
                self.log_sent(
                    commit.ui.counter,
                    LoggedMessage::Commit {
                        commit: commit.clone(),
                        prepare: p.clone(),
                    },
                    out,
                );
                self.metrics.count_sent(MessageKind::Commit);
                out.broadcast(Message::Commit(commit.clone()));
                Some(commit)
            }
            Err(error) => {
                out.event(Event::UsigFailed {
                    error: Box::new(error),
                });
                None
            }
        }
    }

    /// The FIFO-next PREPARE: log it, send our COMMIT, count early COMMITs.
    pub(crate) fn process_prepare(
        &mut self,
        p: &Arc<Prepare>,
        digest: &Digest,
        out: &mut Outbox,
    ) -> Outcome {
        if let Some(outcome) = self.view_gate(p.primary, p.view) {
            return outcome;
        }
        let counter = p.ui.counter;
        if !self.may_lead(p.primary) {
            // Its sender declared lost counter values: skipped, never accepted.
            self.metrics.count_rejected(RejectReason::RevokedPrimary);
            out.event(Event::MessageRejected {
                from: NodeId::Replica(p.primary),
                kind: MessageKind::Prepare,
                reason: RejectReason::RevokedPrimary,
            });
            return Outcome::Done;
        }
        if counter > self.high_water_mark() || self.checkpoint_due() {
            return Outcome::Hold;
        }
        // Paper §4, condition 3 holds: the FIFO rule processed counter - 1 already.
        let mut entry = Entry {
            prepare: p.clone(),
            digest: *digest,
            votes: 1 << p.primary,
            own_commit: None,
        };
        if let Some(commit) = self.send_commit(p, digest, out) {
            entry.votes |= 1 << self.id;
            entry.own_commit = Some(commit);
        }
        // Early COMMITs: those for this PREPARE count; those naming an earlier counter
        // value of the primary named something that was not a PREPARE.
        while let Some((&(c, s), _)) = self.log.early.range(..=(counter, ReplicaId::MAX)).next() {
            let commit = self.log.early.remove(&(c, s)).expect("key just seen");
            if c == counter && commit.prepare_ui == p.ui && commit.digest == *digest {
                entry.votes |= 1 << s;
            } else {
                self.metrics.count_rejected(RejectReason::CommitMismatch);
                out.event(Event::MessageRejected {
                    from: NodeId::Replica(s),
                    kind: MessageKind::Commit,
                    reason: RejectReason::CommitMismatch,
                });
            }
        }
        self.log.entries.insert(counter, entry);
        self.log.unexecuted += 1;
        Outcome::Done
    }

    /// The FIFO-next COMMIT: a vote for its PREPARE, or an early vote.
    pub(crate) fn process_commit(&mut self, c: &Arc<Commit>) -> Outcome {
        if let Some(outcome) = self.view_gate(c.sender, c.view) {
            return outcome;
        }
        let pc = c.prepare_ui.counter;
        if pc <= self.low_water_mark() {
            self.metrics.stale += 1;
            return Outcome::Done;
        }
        if pc > self.high_water_mark() {
            return Outcome::Hold;
        }
        let bit = 1u64 << c.sender;
        if let Some(e) = self.log.entries.get_mut(&pc) {
            if e.prepare.ui != c.prepare_ui || e.digest != c.digest {
                return Outcome::Reject(RejectReason::CommitMismatch);
            }
            if e.votes & bit != 0 {
                // The same vote again (a replica restarted from its log commits the
                // PREPAREs it is sent again): harmless, and its sender's FIFO position
                // must move on.
                self.metrics.stale += 1;
                return Outcome::Done;
            }
            e.votes |= bit;
        } else if pc <= self.fifo.accepted(c.primary) {
            // That counter value of the primary was processed and is not a PREPARE.
            return Outcome::Reject(RejectReason::CommitMismatch);
        } else {
            match self.log.early.entry((pc, c.sender)) {
                std::collections::btree_map::Entry::Occupied(o) => {
                    let same = o.get().prepare_ui == c.prepare_ui && o.get().digest == c.digest;
                    if !same {
                        return Outcome::Reject(RejectReason::DuplicateVote);
                    }
                    self.metrics.stale += 1;
                }
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(c.clone());
                }
            }
        }
        Outcome::Done
    }
}
