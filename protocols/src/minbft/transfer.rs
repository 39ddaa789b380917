//! State transfer (paper §4, last paragraphs): a replica behind a stable checkpoint —
//! `f + 1` matching CHECKPOINTs above what it executed, or a NEW-VIEW whose `S` starts
//! above it — fetches a snapshot of the service and the client table (`V_req`, the reply
//! cache, the execution position) and checks it against the certificate's state digest.
//!
//! Every replica keeps the snapshot of its latest stable checkpoint (and of the
//! checkpoints it took above it, until one becomes stable; bounded by `L / cp + 1`). A
//! STATE-REQUEST is answered with the latest stable snapshot and its certificate, at most
//! once per asker per `repair_interval`. The asker restores it only if the certificate
//! holds `f + 1` valid matching CHECKPOINTs, is above its own execution point, and the
//! restored state digests to the certified value; otherwise nothing changes.

use super::certify::checkpoint_bytes;
use super::clients::ClientTable;
use super::messages::{Checkpoint, Message, MessageKind, Prepare, StateReply, StateRequest};
use super::replica::Replica;
use crate::event::{Event, RejectReason};
use crate::node::{NodeId, View};
use crate::outbox::Outbox;
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A checkpoint's state: the service snapshot and the encoded client table.
pub(crate) type Snapshot = (Arc<Vec<u8>>, Arc<Vec<u8>>);

/// A NEW-VIEW installed while behind: executed once the state reaches `base`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Resume {
    /// The view installed.
    pub(crate) view: View,
    /// Its first counter value (the NEW-VIEW's).
    pub(crate) start: u64,
    /// Where its `S` starts.
    pub(crate) base: (View, u64),
    /// Its `S`.
    pub(crate) s: Vec<Arc<Prepare>>,
}

/// State-transfer state.
///
/// Bound: snapshots for checkpoints in `[h, H]`, one target certificate, one saved `S`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub(crate) struct TransferState {
    /// Snapshots (service, client table) by checkpoint `(view, counter)`.
    pub(crate) snapshots: BTreeMap<(View, u64), Snapshot>,
    /// The certificate of the checkpoint this replica wants, if behind.
    pub(crate) wanted: Option<Vec<Arc<Checkpoint>>>,
    /// The `S` of a NEW-VIEW installed while behind, with the view's first counter value:
    /// executed after the transfer.
    pub(crate) resume: Option<Resume>,
    /// Per replica, its latest verified CHECKPOINT that was too far ahead to buffer.
    pub(crate) evidence: BTreeMap<crate::node::ReplicaId, Arc<Checkpoint>>,
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// Keeps the snapshot of the checkpoint just taken.
    pub(crate) fn keep_snapshot(&mut self, view: View, counter: u64) {
        let table = postcard::to_allocvec(&self.table).unwrap_or_default();
        self.transfer.snapshots.insert(
            (view, counter),
            (Arc::new(self.service.snapshot()), Arc::new(table)),
        );
    }

    /// Drops snapshots below the stable checkpoint `key`.
    pub(crate) fn prune_snapshots(&mut self, key: (View, u64)) {
        self.transfer.snapshots = self.transfer.snapshots.split_off(&key);
    }

    /// A CHECKPOINT beyond the FIFO window: verified (unless it is the one already kept
    /// from its sender) and counted as evidence (see `note_checkpoint_evidence`).
    pub(crate) fn note_far_checkpoint(&mut self, c: Arc<Checkpoint>, out: &mut Outbox) {
        match self.transfer.evidence.get(&c.sender) {
            Some(o) if o.ui.counter > c.ui.counter => return,
            Some(o) if **o == *c => {}
            _ => {
                let bytes = checkpoint_bytes(c.view, c.counter, &c.state_digest);
                self.metrics.usig_verifies += 1;
                if self.usig.verify_ui(c.sender, &c.ui, &bytes).is_err() {
                    return self.reject(
                        NodeId::Replica(c.sender),
                        MessageKind::Checkpoint,
                        RejectReason::BadUi,
                        out,
                    );
                }
            }
        }
        self.note_checkpoint_evidence(c, out);
    }

    /// A verified CHECKPOINT (far ahead, or waiting in its sender's FIFO buffer) as
    /// evidence that this replica is behind: kept (the latest per sender), and `f + 1`
    /// matching ones above our execution point start a state transfer. Counted again each
    /// time it is offered, since the votes it is counted with may have come since.
    pub(crate) fn note_checkpoint_evidence(&mut self, c: Arc<Checkpoint>, out: &mut Outbox) {
        let key = (c.view, c.counter);
        let digest = c.state_digest;
        if self
            .transfer
            .evidence
            .get(&c.sender)
            .is_none_or(|o| o.ui.counter < c.ui.counter)
        {
            self.transfer.evidence.insert(c.sender, c.clone());
        }
        // Evidence is whatever CHECKPOINTs for this state we hold: this one, far or
        // buffered ones kept here, and votes already processed (a sender whose FIFO has no
        // hole here).
        let same =
            |o: &&Arc<Checkpoint>| (o.view, o.counter, o.state_digest) == (key.0, key.1, digest);
        let mut matching: Vec<Arc<Checkpoint>> = vec![c.clone()];
        for e in self.transfer.evidence.values().filter(same) {
            if matching.iter().all(|m| m.sender != e.sender) {
                matching.push(e.clone());
            }
        }
        if let Some(votes) = self.checkpoints.votes.get(&key.1) {
            for v in votes.values().filter(same) {
                if v.sender != self.id && matching.iter().all(|m| m.sender != v.sender) {
                    matching.push(v.clone());
                }
            }
        }
        let mine = (self.log.last_executed_view, self.log.last_executed);
        if matching.len() >= self.config.quorum() as usize && key > mine {
            self.want_state(matching, out);
        }
    }

    /// This replica is behind the checkpoint certified by `cert`: ask its signers.
    pub(crate) fn want_state(&mut self, cert: Vec<Arc<Checkpoint>>, out: &mut Outbox) {
        let Some(first) = cert.first() else { return };
        let key = (first.view, first.counter);
        if self
            .transfer
            .wanted
            .as_ref()
            .and_then(|w| w.first())
            .is_some_and(|w| (w.view, w.counter) >= key)
        {
            return;
        }
        self.log.behind = true;
        self.transfer.wanted = Some(cert);
        self.ask_state(out);
    }

    /// Sends STATE-REQUEST to the signers of the wanted certificate (re-sent by the
    /// repair timer while behind).
    pub(crate) fn ask_state(&mut self, out: &mut Outbox) {
        let Some(cert) = &self.transfer.wanted else {
            return;
        };
        let (view, counter) = (cert[0].view, cert[0].counter);
        let signers: Vec<_> = cert.iter().map(|c| c.sender).collect();
        for s in signers {
            if s != self.id {
                self.metrics.count_sent(MessageKind::StateRequest);
                out.send(
                    NodeId::Replica(s),
                    Message::StateRequest(Arc::new(StateRequest {
                        sender: self.id,
                        counter,
                        view,
                    })),
                );
            }
        }
    }

    /// A STATE-REQUEST: answer with the latest stable snapshot, rate-limited.
    pub(crate) fn on_state_request(
        &mut self,
        now: Instant,
        from: NodeId,
        m: Arc<StateRequest>,
        out: &mut Outbox,
    ) {
        let kind = MessageKind::StateRequest;
        if from != NodeId::Replica(m.sender) || m.sender >= self.config.replica_count {
            return self.reject(from, kind, RejectReason::WrongSender, out);
        }
        let i = m.sender as usize;
        if self.repair.state_answered_at[i].is_some_and(|t| now < t + self.config.repair_interval) {
            return self.reject(from, kind, RejectReason::RateLimited, out);
        }
        let Some((checkpoint_cert, (snapshot, table))) = self.state_for(m.view, m.counter) else {
            return;
        };
        self.repair.state_answered_at[i] = Some(now);
        let reply = StateReply {
            sender: self.id,
            checkpoint_cert,
            snapshot: (*snapshot).clone(),
            client_table: (*table).clone(),
        };
        self.metrics.count_sent(MessageKind::StateReply);
        out.send(from, Message::StateReply(Arc::new(reply)));
    }

    /// What answers a STATE-REQUEST for checkpoint `(view, counter)`: its snapshot if this
    /// replica took that checkpoint, with the CHECKPOINTs it holds for it (a full
    /// certificate once it is stable here; else at least its own, and the asker, which holds
    /// a certificate for it, checks the state against that: the others' votes may have
    /// been lost on the way here, or come from a primary that crashed); otherwise the latest
    /// stable snapshot with its certificate.
    fn state_for(&self, view: View, counter: u64) -> Option<(Vec<Arc<Checkpoint>>, Snapshot)> {
        let stable = self
            .checkpoints
            .stable_cert
            .first()
            .map(|c| (c.view, c.counter));
        if stable != Some((view, counter))
            && let Some(snapshot) = self.transfer.snapshots.get(&(view, counter))
        {
            let votes: Vec<Arc<Checkpoint>> = self
                .checkpoints
                .votes
                .get(&counter)
                .into_iter()
                .flat_map(|v| v.values())
                .filter(|c| c.view == view)
                .cloned()
                .collect();
            if !votes.is_empty() {
                return Some((votes, snapshot.clone()));
            }
        }
        let snapshot = self.transfer.snapshots.get(&stable?)?;
        Some((self.checkpoints.stable_cert.clone(), snapshot.clone()))
    }

    /// After a state transfer, our CHECKPOINT of the restored state starts `O` (paper §4),
    /// and the sent log below it is dropped. In normal operation no vote above a checkpoint
    /// precedes the CHECKPOINT (`checkpoint_due` holds PREPAREs); a restore breaks that:
    /// COMMITs we sent earlier for batches *above* that checkpoint (while they waited behind
    /// the hole) would then be missing from `O`:
    /// our next VIEW-CHANGE would not show them, and a request that our COMMIT helped
    /// commit could be left out of the next view's `S` (simulator: loss before GST with the
    /// primary crashing at 1.5 s, an agreement violation). So they are sent again under
    /// fresh UIs, after the CHECKPOINT; peers take a repeated vote as a vote.
    fn recommit_above_checkpoint(&mut self, out: &mut Outbox) {
        let committed: Vec<(Arc<Prepare>, super::messages::Digest)> = self
            .log
            .entries
            .values()
            .filter(|e| e.own_commit.is_some())
            .map(|e| (e.prepare.clone(), e.digest))
            .collect();
        for (p, digest) in committed {
            let commit = self.send_commit(&p, &digest, out);
            if let Some(e) = self.log.entries.get_mut(&p.ui.counter) {
                e.own_commit = commit;
            }
        }
    }

    /// `f + 1` valid matching CHECKPOINTs from different replicas.
    fn valid_cert(&self, cert: &[Arc<Checkpoint>]) -> bool {
        let Some(first) = cert.first() else {
            return false;
        };
        let mut signers = 0u64;
        for c in cert {
            if c.sender >= self.config.replica_count
                || signers & (1 << c.sender) != 0
                || (c.view, c.counter, c.state_digest)
                    != (first.view, first.counter, first.state_digest)
            {
                return false;
            }
            signers |= 1 << c.sender;
            let bytes = checkpoint_bytes(c.view, c.counter, &c.state_digest);
            if c.sender != self.id && self.usig.verify_ui(c.sender, &c.ui, &bytes).is_err() {
                return false;
            }
        }
        cert.len() >= self.config.quorum() as usize
    }

    /// A STATE-REPLY: verify, restore, and continue from the checkpoint.
    pub(crate) fn on_state_reply(
        &mut self,
        now: Instant,
        from: NodeId,
        m: Arc<StateReply>,
        out: &mut Outbox,
    ) {
        let kind = MessageKind::StateReply;
        if from != NodeId::Replica(m.sender) || m.sender >= self.config.replica_count {
            return self.reject(from, kind, RejectReason::WrongSender, out);
        }
        let mine = (self.log.last_executed_view, self.log.last_executed);
        let Some(first) = m.checkpoint_cert.first().cloned() else {
            return self.reject(from, kind, RejectReason::InvalidStateReply, out);
        };
        let key = (first.view, first.counter);
        if !self.log.behind || key <= mine {
            return self.reject(from, kind, RejectReason::StaleRequest, out);
        }
        // The reply's certificate, or the one this replica asked with when the answerer's
        // holds only its own CHECKPOINT of that state (see `state_for`).
        let wanted = self.transfer.wanted.as_ref().filter(|w| {
            w.first().is_some_and(|c| {
                (c.view, c.counter, c.state_digest)
                    == (first.view, first.counter, first.state_digest)
            })
        });
        let certificate = if let Some(w) = wanted
            && m.checkpoint_cert.len() < self.config.quorum() as usize
        {
            w.clone()
        } else if self.valid_cert(&m.checkpoint_cert) {
            m.checkpoint_cert.clone()
        } else {
            return self.reject(from, kind, RejectReason::InvalidStateReply, out);
        };
        let Ok(table) = postcard::from_bytes::<ClientTable>(&m.client_table) else {
            return self.reject(from, kind, RejectReason::InvalidStateReply, out);
        };
        if table.records.len() != self.table.records.len() {
            return self.reject(from, kind, RejectReason::InvalidStateReply, out);
        }
        let saved = self.service.snapshot();
        if self.service.restore(&m.snapshot).is_err() {
            let _ = self.service.restore(&saved);
            return self.reject(from, kind, RejectReason::InvalidStateReply, out);
        }
        let old_table = std::mem::replace(&mut self.table, table);
        if self.state_digest() != first.state_digest {
            self.table = old_table;
            let _ = self.service.restore(&saved);
            return self.reject(from, kind, RejectReason::InvalidStateReply, out);
        }
        // Restored: the state is the certified checkpoint's.
        for r in &mut self.table.records {
            r.in_flight = 0;
            r.next = None;
        }
        self.vc.watched.clear();
        self.log.behind = false;
        self.transfer.wanted = None;
        self.transfer.evidence.clear();
        for c in &certificate {
            if c.sender != self.id {
                self.fifo.jump(c.sender, c.ui.counter);
            }
        }
        self.log.last_executed_view = first.view;
        self.log.last_executed = first.counter;
        self.log.executed_batch = (first.view, first.counter);
        // The log is keyed by counter value alone, but batches execute in `(view, counter)`
        // order: entries and early COMMITs at or below the restored checkpoint are covered
        // by it, whatever their counter value. A replica still in an older view than the
        // checkpoint's holds entries of that view with counter values above the
        // checkpoint's; left in the log, `try_execute` would take them for the batches
        // that follow the checkpoint and advance the execution point past batches of the
        // checkpoint's view it never executed, which a later `S` then skips.
        self.log
            .entries
            .retain(|_, e| (e.prepare.view, e.prepare.ui.counter) > key);
        self.log
            .early
            .retain(|_, c| (c.view, c.prepare_ui.counter) > key);
        out.event(Event::StateTransferred {
            view: first.view,
            counter: first.counter,
            position: self.table.executed_count,
        });
        if first.view > self.view || (first.view == self.view && self.vc.changing) {
            // f + 1 replicas, a correct one among them, executed up to this checkpoint in
            // `first.view`: that view was installed, and we join it past its start (a
            // replica restarted in an older view, or one still waiting for that view's
            // NEW-VIEW, would otherwise never hear the NEW-VIEW again: the FIFO jump above
            // passed it, and it lies below what its peers retransmit).
            self.enter_view(first.view);
            self.vc.changing = false;
            self.vc.installed = first.view;
            self.vc.installed_base = key;
            self.vc.timeout = self.config.view_change_timeout;
            self.vc.received.retain(|_, vc| vc.new_view > first.view);
            out.cancel_timer(crate::outbox::TimerKind::ViewChange);
            out.event(Event::ViewChanged { view: first.view });
        }
        // Our own CHECKPOINT of this state, so our certificate holds it (paper §4: O starts
        // after it) and peers can count it.
        let mut cert = certificate;
        self.checkpoints.stable_cert.clear();
        let own = self.own_checkpoint(first.view, first.counter, out);
        if let Some(own) = &own {
            cert.retain(|c| c.sender != self.id);
            cert.push(own.clone());
            self.sent = self.sent.split_off(&own.ui.counter);
        }
        self.keep_snapshot(first.view, first.counter);
        self.checkpoints.stable_cert = cert;
        self.prune_snapshots(key);
        if self
            .checkpoints
            .stable_cert
            .iter()
            .any(|c| c.sender == self.id)
        {
            self.persist_base(key, out);
        }
        match self.transfer.resume.take() {
            Some(r) if key < r.base => {
                // Still short of where that view's S starts: wait for a later checkpoint.
                self.transfer.resume = Some(r);
                self.log.behind = true;
            }
            Some(Resume { view, start, s, .. }) => {
                for p in &s {
                    if (p.view, p.ui.counter) > self.log.executed_batch {
                        self.execute_batch(p, out);
                        self.log.last_executed_view = p.view;
                    }
                }
                if (view, start) > (self.log.last_executed_view, self.log.last_executed) {
                    self.log.last_executed_view = view;
                    self.log.last_executed = start;
                    // The CHECKPOINT `install` takes when it is not behind: with f others
                    // it makes the view's start stable, after which a claim of `view`
                    // needs no evidence (see `super::evidence`).
                    if view == self.view {
                        self.take_checkpoint(start, out);
                    } else {
                        let _ = self.own_checkpoint(view, start, out);
                    }
                }
            }
            None => {}
        }
        if self.log.last_executed_view == self.view {
            let h = self.log.last_executed;
            if h > self.checkpoints.stable {
                self.checkpoints.stable = h;
                self.checkpoints.votes = self.checkpoints.votes.split_off(&(h + 1));
                self.log.truncate(h);
            }
        }
        self.log.unexecuted = self.log.entries.range(self.log.last_executed + 1..).count() as u64;
        if own.is_some() {
            // After the last CHECKPOINT this restore took (the resumed view's start may
            // take one more), so that every vote above it has a higher counter value.
            self.recommit_above_checkpoint(out);
        }
        self.checkpoints.advanced = true;
        self.try_execute(now, out);
        self.settle(now, out);
    }
}
