//! PBFT's normal case (Castro and Liskov; the paper's Fig. 1): the primary assigns a
//! sequence number to a batch with a PRE-PREPARE, backups answer with PREPAREs to all, a
//! replica with the pre-prepare and `2f` matching PREPAREs is *prepared* and sends a COMMIT
//! to all, and `2f + 1` matching COMMITs (its own included) make the batch
//! *committed-local*; batches execute in sequence-number order.
//!
//! MAC accounting (Table 1): a vote that can no longer change anything (a PREPARE once
//! prepared, a COMMIT once committed-local) is dropped as stale *before* its MAC is
//! checked, so in the fault-free case the primary checks exactly `2f` PREPAREs and `2f`
//! COMMITs per batch. See the crate README for the measured counts.

use super::auth::{commit_bytes, pre_prepare_bytes, prepare_bytes};
use super::log::Entry;
use super::messages::{Commit, Message, PrePrepare, Prepare};
use super::replica::{PbftOutbox, Replica};
use crate::batching::BatchFormer;
use crate::event::RejectReason;
use crate::minbft::certify::batch_digest;
use crate::minbft::messages::MessageKind;
use crate::node::NodeId;
use crate::service::Service;
use crate::time::Instant;
use std::sync::Arc;

impl<S: Service> Replica<S> {
    /// Primary: sends PRE-PREPAREs for queued requests as `batch_rule` says (a full batch
    /// at a time, or whatever is queued when `flush`, the batch timer fired; or under
    /// [`crate::BatchRule::Slots`] whatever is queued whenever a slot is free). Bounded by
    /// `outstanding_batches_max` (the slots: sequence numbers assigned but not yet
    /// executed here) and by the high water mark.
    pub(crate) fn maybe_pre_prepare(&mut self, now: Instant, flush: bool, out: &mut PbftOutbox) {
        if !self.is_primary() {
            return;
        }
        let (max, deadline) = (self.config.batch_size_max, now + self.config.batch_timeout);
        loop {
            let outstanding = self.last_assigned - self.log.last_executed;
            let blocked = outstanding >= self.config.outstanding_batches_max
                || self.last_assigned + 1 > self.high_water_mark();
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
            self.last_assigned += 1;
            let seq = self.last_assigned;
            let auth = self.authenticate(&pre_prepare_bytes(self.view, seq, &digest));
            let pp = Arc::new(PrePrepare {
                view: self.view,
                seq,
                primary: self.id,
                batch,
                auth,
            });
            self.log.entries.entry(seq).or_default().pre_prepare = Some((pp.clone(), digest));
            self.metrics.count_sent(MessageKind::PrePrepare);
            out.broadcast(Message::PrePrepare(pp));
            self.advance(now, seq, out);
        }
    }

    /// A PRE-PREPARE arrives at a backup: accepted if it comes from the primary of this
    /// view, its sequence number is within the water marks, no different PRE-PREPARE was
    /// accepted for it, and its authenticator and every request's authenticator verify.
    pub(crate) fn on_pre_prepare(
        &mut self,
        now: Instant,
        from: NodeId,
        pp: Arc<PrePrepare>,
        out: &mut PbftOutbox,
    ) {
        let kind = MessageKind::PrePrepare;
        let checked = self.check_peer(from, pp.primary, pp.view).and_then(|()| {
            if pp.primary == self.config.primary_of(pp.view) {
                Ok(())
            } else {
                Err(RejectReason::NotPrimary)
            }
        });
        if let Err(reason) = checked {
            return self.reject(from, kind, reason, out);
        }
        match self.in_window(pp.seq) {
            Err(reason) => return self.reject(from, kind, reason, out),
            Ok(false) => {
                self.metrics.stale += 1;
                return;
            }
            Ok(true) => {}
        }
        if pp.batch.is_empty() || pp.batch.len() > self.config.batch_size_max {
            return self.reject(from, kind, RejectReason::MalformedBatch, out);
        }
        let digest = batch_digest(&pp.batch);
        if let Some(accepted) = self.log.entries.get(&pp.seq).and_then(Entry::digest) {
            if *accepted == digest {
                self.metrics.stale += 1;
                return;
            }
            return self.reject(from, kind, RejectReason::ConflictingPrePrepare, out);
        }
        if !self.verify_mac(
            pp.primary,
            &pre_prepare_bytes(pp.view, pp.seq, &digest),
            &pp.auth,
        ) {
            return self.reject(from, kind, RejectReason::BadMac, out);
        }
        for r in &pp.batch {
            if !self.clients.knows(r.client) {
                return self.reject(from, kind, RejectReason::UnknownClient, out);
            }
            if !self.clients.verify_request_counted(r, &mut self.metrics) {
                return self.reject(from, kind, RejectReason::BadClientAuth, out);
            }
        }
        let (view, seq) = (pp.view, pp.seq);
        let auth = self.authenticate(&prepare_bytes(view, seq, &digest));
        let entry = self.log.entries.entry(seq).or_default();
        entry.pre_prepare = Some((pp, digest));
        entry.prepares.insert(self.id, digest);
        self.metrics.count_sent(MessageKind::Prepare);
        out.broadcast(Message::Prepare(Arc::new(Prepare {
            view,
            seq,
            digest,
            sender: self.id,
            auth,
        })));
        self.advance(now, seq, out);
    }

    /// A PREPARE arrives: a vote from a backup for `(view, seq, digest)`.
    pub(crate) fn on_prepare(
        &mut self,
        now: Instant,
        from: NodeId,
        p: Arc<Prepare>,
        out: &mut PbftOutbox,
    ) {
        let kind = MessageKind::Prepare;
        let checked = self.check_peer(from, p.sender, p.view).and_then(|()| {
            if p.sender == self.config.primary_of(p.view) {
                // The primary's PRE-PREPARE stands for its PREPARE.
                Err(RejectReason::UnexpectedMessage)
            } else {
                self.in_window(p.seq)
            }
        });
        match checked {
            Err(reason) => return self.reject(from, kind, reason, out),
            Ok(false) => {
                self.metrics.stale += 1;
                return;
            }
            Ok(true) => {}
        }
        if let Some(e) = self.log.entries.get(&p.seq) {
            if e.prepares.contains_key(&p.sender) {
                return self.reject(from, kind, RejectReason::DuplicateVote, out);
            }
            if e.prepared {
                self.metrics.stale += 1;
                return;
            }
        }
        if !self.verify_mac(p.sender, &prepare_bytes(p.view, p.seq, &p.digest), &p.auth) {
            return self.reject(from, kind, RejectReason::BadMac, out);
        }
        let entry = self.log.entries.entry(p.seq).or_default();
        entry.prepares.insert(p.sender, p.digest);
        self.advance(now, p.seq, out);
    }

    /// A COMMIT arrives: a vote from any replica for `(view, seq, digest)`.
    pub(crate) fn on_commit(
        &mut self,
        now: Instant,
        from: NodeId,
        c: Arc<Commit>,
        out: &mut PbftOutbox,
    ) {
        let kind = MessageKind::Commit;
        match self
            .check_peer(from, c.sender, c.view)
            .and_then(|()| self.in_window(c.seq))
        {
            Err(reason) => return self.reject(from, kind, reason, out),
            Ok(false) => {
                self.metrics.stale += 1;
                return;
            }
            Ok(true) => {}
        }
        if let Some(e) = self.log.entries.get(&c.seq) {
            if e.commits.contains_key(&c.sender) {
                return self.reject(from, kind, RejectReason::DuplicateVote, out);
            }
            if e.committed {
                self.metrics.stale += 1;
                return;
            }
        }
        if !self.verify_mac(c.sender, &commit_bytes(c.view, c.seq, &c.digest), &c.auth) {
            return self.reject(from, kind, RejectReason::BadMac, out);
        }
        let entry = self.log.entries.entry(c.seq).or_default();
        entry.commits.insert(c.sender, c.digest);
        self.advance(now, c.seq, out);
    }

    /// Moves `seq` forward: prepared (send our COMMIT), committed-local (execute what is
    /// in order).
    pub(crate) fn advance(&mut self, now: Instant, seq: u64, out: &mut PbftOutbox) {
        let two_f = 2 * self.config.f() as usize;
        let Some(e) = self.log.entries.get(&seq) else {
            return;
        };
        let Some(&digest) = e.digest() else {
            return;
        };
        if !e.prepared && e.matching(&e.prepares) >= two_f {
            let auth = self.authenticate(&commit_bytes(self.view, seq, &digest));
            let e = self.log.entries.get_mut(&seq).expect("entry just seen");
            e.prepared = true;
            e.commits.insert(self.id, digest);
            self.metrics.count_sent(MessageKind::Commit);
            out.broadcast(Message::Commit(Arc::new(Commit {
                view: self.view,
                seq,
                digest,
                sender: self.id,
                auth,
            })));
        }
        let e = self.log.entries.get_mut(&seq).expect("entry just seen");
        if e.prepared && !e.committed && e.matching(&e.commits) >= self.config.quorum() {
            e.committed = true;
            self.try_execute(now, out);
        }
    }
}
