//! State transfer (paper §4's last paragraph, which MinZyzyva's view change inherits: "If
//! due to the garbage collection the other replicas have deleted these messages, there is
//! a state transfer"): a replica behind a stable checkpoint fetches the state there and
//! checks it against the checkpoint certificate's digest.
//!
//! **Triggers.** (1) A CHECKPOINT for a slot above this replica's history head and beyond
//! its high water mark (it could not even buffer what lies between): the replica that
//! delivered it (its signer, or one relaying the primary's in a FILL-HOLE answer) is asked
//! at once. (2) Its FILL-HOLE to the primary went unanswered (the ORDER-REQs below a stable
//! checkpoint are garbage-collected everywhere): the replicas whose CHECKPOINTs name a slot
//! above its head are asked, or every replica when none does (a replica answers only from
//! a stable checkpoint at or above the slot asked). (3) A NEW-VIEW whose base
//! lies above this replica's history, or whose ORDER-REQ at the base differs from its
//! speculative one: the signers of the base's certificate are asked, and the NEW-VIEW is
//! kept and installed once the state reaches its base. One CHECKPOINT is enough to ask
//! (with `f` replicas down, only `f` others may be there), never to believe: a reply is
//! applied only with a valid certificate of `f + 1`.
//!
//! **What is restored.** The service snapshot and the replicated state the CHECKPOINT
//! digest covers ([`Replica::state_digest`]): `V_req` with each client's last result, the
//! execution count, the history length and the history digest. The history's base moves to
//! the checkpoint's slot (committed; the entries and snapshots below dropped). Cached
//! RESPONSEs are not transferred (each carries its sender's `UI_s`, and another replica's
//! is not ours to resend): a client retransmitting a request executed below the checkpoint
//! gets its cached RESPONSE from the others, this replica acknowledges its COMMIT (the
//! request lies below its stable checkpoint), and, if it is the client's last request in
//! the restored state, answers with a REPLY from it ([`super::messages::StableReply`]). The replica then takes its own
//! CHECKPOINT of the restored state, so that its certificate holds one of its own UIs (the
//! start of its `O`), and, if the ORDER-REQ at the checkpoint is of its current view,
//! moves its FIFO position on the primary's counter there and processes what it parked
//! above it. A checkpoint whose ORDER-REQ is of a later view (or of the view this replica
//! is waiting to install) proves that view was installed: the replica joins it.
//!
//! **Bounds.** A replica answers each peer's STATE-REQUEST at most once per
//! `repair_interval`, from the snapshot of its latest stable checkpoint, and never builds a
//! reply larger than the codec's frame limit; it asks at most once per `repair_interval`,
//! and keeps one far CHECKPOINT per replica. A reply is applied only while this replica is
//! asking, and only if its certificate holds `f + 1` valid matching CHECKPOINTs
//! from distinct replicas, lies above this replica's committed prefix, and the restored
//! state digests to the certified value; otherwise nothing changes.

use super::history::{ClientRecord, History, ReplicatedState, Snapshot};
use super::messages::{
    Checkpoint, ClientState, Message, NewView, StateReply, StateRequest, ViewChange,
};
use super::new_view::AdoptError;
use super::replica::{Replica, ZOutbox};
use super::vc_check::{cert_base, key_of, s_base};
use crate::event::{Event, RejectReason};
use crate::minbft::messages::MessageKind;
use crate::node::{NodeId, ReplicaId, View};
use crate::outbox::TimerKind;
use crate::service::Service;
use crate::time::Instant;
use crate::wire::FRAME_BYTES_MAX;
use minlab_usig::Usig;
use std::collections::BTreeMap;
use std::sync::Arc;

/// State-transfer state. Bound: one wanted certificate, one kept NEW-VIEW, one far
/// CHECKPOINT and one answer time per replica.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct TransferState {
    /// The certificate of the stable checkpoint this replica is behind, while it wants it.
    pub(crate) wanted: Option<Vec<Arc<Checkpoint>>>,
    /// When it last sent STATE-REQUESTs.
    pub(crate) asked_at: Option<Instant>,
    /// A NEW-VIEW it could not install for lack of the state at its base.
    pub(crate) resume: Option<Arc<NewView>>,
    /// Per replica, the latest verified CHECKPOINT beyond this replica's high water mark it
    /// delivered (its own, or the primary's it relayed).
    pub(crate) far: BTreeMap<ReplicaId, Arc<Checkpoint>>,
    /// When each replica's STATE-REQUEST was last answered.
    pub(crate) answered: Vec<Option<Instant>>,
}

impl TransferState {
    pub(crate) fn new(replica_count: u32) -> Self {
        TransferState {
            wanted: None,
            asked_at: None,
            resume: None,
            far: BTreeMap::new(),
            answered: vec![None; replica_count as usize],
        }
    }
}

/// An upper bound on the encoded size of a STATE-REPLY with these parts (postcard: at
/// most 10 bytes per integer or length prefix).
fn reply_size_bound(cert: &[Arc<Checkpoint>], snapshot: &Snapshot) -> usize {
    let cert_bytes = postcard::to_allocvec(cert).map_or(usize::MAX / 2, |b| b.len());
    let clients: usize = snapshot
        .state
        .records
        .iter()
        .map(|r| 20 + r.last_result.len())
        .sum();
    cert_bytes + snapshot.service.len() + clients + 32 + 6 * 10
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// Whether the checkpoint at `slot` (its ORDER-REQ `last`) is state this replica lacks:
    /// above its committed prefix, and beyond its history or different from it there.
    fn lacks(&self, slot: u64, last: (View, u64)) -> bool {
        slot > self.history.committed
            && (slot > self.history.head()
                || self.history.get(slot).map(|e| key_of(&e.order)) != Some(last))
    }

    /// Whom to ask for what: the signers of the wanted certificate, every other replica
    /// whose CHECKPOINT vote names a state this replica lacks, and every replica that
    /// delivered a CHECKPOINT beyond the high water mark naming one (its own, or the
    /// primary's it relays: either way it processed it); each with the highest such slot.
    fn transfer_targets(&self) -> BTreeMap<ReplicaId, u64> {
        let head = self.history.head();
        let wanted = self.transfer.wanted.iter().flatten().map(|c| (c.sender, c));
        let votes = self
            .checkpoints
            .votes
            .range(head + 1..)
            .flat_map(|(_, v)| v.values())
            .map(|c| (c.sender, c));
        let far = self.transfer.far.iter().map(|(&r, c)| (r, c));
        let mut targets = BTreeMap::new();
        for (r, c) in wanted.chain(votes).chain(far) {
            if r != self.id && self.lacks(c.slot, c.last) {
                let slot = targets.entry(r).or_insert(c.slot);
                *slot = (*slot).max(c.slot);
            }
        }
        targets
    }

    /// A verified CHECKPOINT beyond the high water mark, delivered by replica `from`: this
    /// replica is behind `from`. Kept (the latest per deliverer), and `from` is asked for
    /// its state at once (the reply must carry a valid certificate: one CHECKPOINT is
    /// enough to ask, not to believe; with `f` replicas down, only `f` others may be
    /// there to show the way).
    pub(crate) fn note_far_checkpoint(
        &mut self,
        now: Instant,
        from: NodeId,
        c: Arc<Checkpoint>,
        out: &mut ZOutbox,
    ) {
        let NodeId::Replica(from) = from else { return };
        if !self.lacks(c.slot, c.last)
            || self
                .transfer
                .far
                .get(&from)
                .is_some_and(|o| o.slot >= c.slot)
            || !self.verify_checkpoint(&c)
        {
            return;
        }
        self.transfer.far.insert(from, c);
        self.ask_state(now, out);
    }

    /// This replica lacks the state certified by `cert` (the base of a NEW-VIEW): keep it
    /// as the target and ask its signers.
    fn want_state(&mut self, now: Instant, cert: Vec<Arc<Checkpoint>>, out: &mut ZOutbox) {
        let base = cert_base(&cert);
        if !self.lacks(base.slot, base.last) {
            return;
        }
        if self
            .transfer
            .wanted
            .as_ref()
            .is_none_or(|w| cert_base(w).slot < base.slot)
        {
            self.transfer.wanted = Some(cert);
        }
        self.ask_state(now, out);
    }

    /// Sends STATE-REQUEST to every target, at most once per `repair_interval`, and arms
    /// the repair timer to ask again. The first request of a transfer is reported with
    /// [`Event::StateTransferNeeded`].
    pub(crate) fn ask_state(&mut self, now: Instant, out: &mut ZOutbox) {
        self.ask_state_or_all(now, false, out);
    }

    /// A FILL-HOLE to the primary went unanswered: what this replica misses may be
    /// garbage-collected everywhere. It asks the targets, or, knowing none, every replica
    /// for any stable state above its head (only those that have one answer).
    pub(crate) fn ask_state_after_fill_hole(&mut self, now: Instant, out: &mut ZOutbox) {
        self.ask_state_or_all(now, true, out);
    }

    fn ask_state_or_all(&mut self, now: Instant, or_all: bool, out: &mut ZOutbox) {
        if self
            .transfer
            .asked_at
            .is_some_and(|t| now < t + self.config.repair_interval)
        {
            return;
        }
        let mut targets = self.transfer_targets();
        if targets.is_empty() && or_all {
            let above = self.history.head() + 1;
            targets = (0..self.config.replica_count)
                .filter(|&r| r != self.id)
                .map(|r| (r, above))
                .collect();
        }
        let Some(&slot) = targets.values().max() else {
            return;
        };
        if self.transfer.asked_at.is_none() {
            out.event(Event::StateTransferNeeded { counter: slot });
        }
        self.transfer.asked_at = Some(now);
        for (s, slot) in targets {
            self.metrics.count_sent(MessageKind::StateRequest);
            out.send(
                NodeId::Replica(s),
                Message::StateRequest(Arc::new(StateRequest {
                    sender: self.id,
                    slot,
                })),
            );
        }
        out.set_timer(TimerKind::Repair, now + self.config.repair_interval);
    }

    /// The repair timer during a transfer: ask again, or end the transfer if this replica
    /// reached the state by itself meanwhile.
    pub(crate) fn on_transfer_timer(&mut self, now: Instant, out: &mut ZOutbox) {
        if self.transfer.asked_at.is_none() {
            return;
        }
        if self.transfer_targets().is_empty() {
            self.end_transfer();
        } else {
            self.ask_state(now, out);
        }
    }

    /// Nothing is wanted any more.
    fn end_transfer(&mut self) {
        self.transfer.wanted = None;
        self.transfer.asked_at = None;
        let head = self.history.head();
        self.transfer.far.retain(|_, c| c.slot > head);
    }

    /// This replica cannot adopt the history of `V_vc` = `vcs`: its base (certified in one
    /// of them) lies above our history. Ask for the state there.
    pub(crate) fn want_base_of(
        &mut self,
        now: Instant,
        vcs: &[Arc<ViewChange>],
        out: &mut ZOutbox,
    ) {
        let base = s_base(vcs);
        if let Some(cert) = vcs
            .iter()
            .map(|vc| &vc.checkpoint_cert)
            .find(|c| cert_base(c) == base)
        {
            self.want_state(now, cert.clone(), out);
        }
    }

    /// A STATE-REQUEST: answered with the latest stable checkpoint's state, at most once per
    /// asker per `repair_interval`.
    pub(crate) fn on_state_request(
        &mut self,
        now: Instant,
        from: NodeId,
        m: Arc<StateRequest>,
        out: &mut ZOutbox,
    ) {
        let kind = MessageKind::StateRequest;
        if let Some(reason) = self.peer_rejection(from, m.sender) {
            return self.reject(from, kind, reason, out);
        }
        let i = m.sender as usize;
        if self.transfer.answered[i].is_some_and(|t| now < t + self.config.repair_interval) {
            return self.reject(from, kind, RejectReason::RateLimited, out);
        }
        let stable = self.checkpoints.stable;
        let cert = &self.checkpoints.stable_cert;
        let snapshot = self.history.snapshots.get(&stable);
        let (Some(snapshot), false) = (snapshot, cert.is_empty() || m.slot > stable) else {
            // Nothing as recent as what it asks for.
            self.metrics.stale += 1;
            return;
        };
        if reply_size_bound(cert, snapshot) > FRAME_BYTES_MAX {
            // Not built: the codec would refuse it (the state outgrew one frame).
            self.metrics.stale += 1;
            return;
        }
        let reply = StateReply {
            sender: self.id,
            checkpoint_cert: cert.clone(),
            snapshot: snapshot.service.clone(),
            clients: snapshot
                .state
                .records
                .iter()
                .map(|r| ClientState {
                    last_seq: r.last_seq,
                    last_result: r.last_result.clone(),
                })
                .collect(),
            executed_count: snapshot.state.executed_count,
            slots: snapshot.state.slots,
            history: snapshot.state.history,
        };
        self.transfer.answered[i] = Some(now);
        self.metrics.count_sent(MessageKind::StateReply);
        out.send(from, Message::StateReply(Arc::new(reply)));
    }

    /// `f + 1` valid matching CHECKPOINTs from distinct replicas.
    fn valid_cert(&mut self, cert: &[Arc<Checkpoint>]) -> bool {
        let Some(first) = cert.first() else {
            return false;
        };
        if cert.len() < self.config.quorum() as usize
            || cert.len() > self.config.replica_count as usize
        {
            return false;
        }
        let mut signers = 0u64;
        for c in cert {
            if c.sender >= self.config.replica_count
                || signers & (1 << c.sender) != 0
                || (c.slot, c.last, c.state_digest) != (first.slot, first.last, first.state_digest)
                || !self.verify_checkpoint(c)
            {
                return false;
            }
            signers |= 1 << c.sender;
        }
        true
    }

    /// A STATE-REPLY: verified, restored, and the replica continues from the checkpoint.
    pub(crate) fn on_state_reply(
        &mut self,
        now: Instant,
        from: NodeId,
        m: Arc<StateReply>,
        out: &mut ZOutbox,
    ) {
        let kind = MessageKind::StateReply;
        if let Some(reason) = self.peer_rejection(from, m.sender) {
            return self.reject(from, kind, reason, out);
        }
        let base = cert_base(&m.checkpoint_cert);
        if self.transfer.asked_at.is_none()
            || m.checkpoint_cert.is_empty()
            || !self.lacks(base.slot, base.last)
        {
            return self.reject(from, kind, RejectReason::StaleRequest, out);
        }
        if m.slots != base.slot
            || m.clients.len() != self.state.records.len()
            || !self.valid_cert(&m.checkpoint_cert)
        {
            return self.reject(from, kind, RejectReason::InvalidStateReply, out);
        }
        let saved_service = self.service.snapshot();
        if self.service.restore(&m.snapshot).is_err() {
            let _ = self.service.restore(&saved_service);
            return self.reject(from, kind, RejectReason::InvalidStateReply, out);
        }
        let restored = ReplicatedState {
            records: m
                .clients
                .iter()
                .map(|c| ClientRecord {
                    last_seq: c.last_seq,
                    last_result: c.last_result.clone(),
                    last_response: None,
                })
                .collect(),
            executed_count: m.executed_count,
            slots: m.slots,
            history: m.history,
        };
        let saved_state = std::mem::replace(&mut self.state, restored);
        if self.state_digest() != m.checkpoint_cert[0].state_digest {
            self.state = saved_state;
            let _ = self.service.restore(&saved_service);
            return self.reject(from, kind, RejectReason::InvalidStateReply, out);
        }
        self.install_state(now, &m, out);
    }

    /// The state of the certified checkpoint is in place: rebuild the history on it, take
    /// our own CHECKPOINT, and continue (FIFO position, the view, a kept NEW-VIEW).
    fn install_state(&mut self, now: Instant, m: &StateReply, out: &mut ZOutbox) {
        let base = cert_base(&m.checkpoint_cert);
        // Speculative executions the restored state does not hold are undone.
        let dropped: Vec<_> = self.history.entries.drain(..).collect();
        for e in dropped.iter().rev() {
            for (req, outcome) in e.requests().rev() {
                let kept = self.state.records[req.client as usize].last_seq >= req.seq;
                if let (Some(position), false) = (outcome.position, kept) {
                    out.event(Event::RolledBack {
                        position,
                        client: req.client,
                        client_seq: req.seq,
                    });
                }
            }
        }
        self.history = History::based_at(
            base.slot,
            Snapshot {
                service: m.snapshot.clone(),
                state: self.state.clone(),
            },
        );
        self.checkpoints.stable = base.slot;
        self.checkpoints.votes = self.checkpoints.votes.split_off(&(base.slot + 1));
        for votes in self.checkpoints.votes.values_mut() {
            // Our votes above it were for the history just replaced.
            votes.remove(&self.id);
        }
        self.checkpoints.stable_cert = m.checkpoint_cert.clone();
        self.end_transfer();
        self.order_log.clear();
        out.event(Event::StateTransferred {
            view: base.last.0,
            counter: base.slot,
            position: self.state.executed_count,
        });
        // Our own CHECKPOINT of this state: the certificate holds it, `O` starts after it.
        let mut cert: Vec<Arc<Checkpoint>> = m
            .checkpoint_cert
            .iter()
            .filter(|c| c.sender != self.id)
            .cloned()
            .collect();
        if let Some(own) = self.create_checkpoint(out) {
            self.sent = self.sent.split_off(&(own.ui.counter + 1));
            cert.push(own);
            self.checkpoints.stable_cert = cert;
        }
        // A restart point: the certified state, our own CHECKPOINT of it (unless the USIG
        // failed, when `O` cannot start after it and our VIEW-CHANGEs fail the gap check).
        self.persist_base(out);
        // The primary's counter stream: the ORDER-REQ at the checkpoint, and the primary's
        // CHECKPOINT there if the certificate holds it.
        let (view, counter) = base.last;
        let primary = self.config.primary_of(view);
        let position = m
            .checkpoint_cert
            .iter()
            .filter(|c| c.sender == primary && c.view == view)
            .map(|c| c.ui.counter)
            .fold(counter, u64::max);
        if view > self.view || (view == self.view && self.vc.changing) {
            // f + 1 replicas, a correct one among them, processed an ORDER-REQ of `view`:
            // that view was installed. Join it past its start.
            if view > self.view {
                self.enter_view(view, out);
            }
            self.transfer.resume = None;
            self.finish_install(now, position, out);
        } else if view == self.view && !self.is_primary() {
            self.accepted = self.accepted.max(position);
            let accepted = self.accepted;
            self.persist(out, || super::wal::Record::Accepted(accepted));
            let parked = std::mem::take(&mut self.parked);
            let mut rest = parked.into_iter().filter(|&(c, _)| c > accepted);
            if let Some((c, msg)) = rest.next() {
                self.parked = rest.collect();
                self.deliver_primary(now, c, msg, out);
            }
        }
        if let Some(nv) = self.transfer.resume.take() {
            self.resume_new_view(now, nv, out);
        }
        if self.vc.changing && self.is_primary() {
            self.maybe_new_view(now, out);
        }
    }

    /// Installs a NEW-VIEW kept while behind, if it is still the one awaited.
    fn resume_new_view(&mut self, now: Instant, nv: Arc<NewView>, out: &mut ZOutbox) {
        if nv.new_view != self.view || !self.vc.changing {
            return;
        }
        match self.adopt_history(s_base(&nv.view_changes), &nv.orders, out) {
            Ok(()) => self.finish_install(now, nv.ui.counter, out),
            Err(AdoptError::Behind) => {
                // Still short of its base: wait for a later checkpoint.
                self.want_base_of(now, &nv.view_changes, out);
                self.transfer.resume = Some(nv);
            }
            Err(AdoptError::Conflict) => {
                self.reject(
                    NodeId::Replica(nv.sender),
                    MessageKind::NewView,
                    RejectReason::InvalidNewView,
                    out,
                );
                self.refuse_new_view(now, nv.new_view, out);
            }
        }
    }
}
