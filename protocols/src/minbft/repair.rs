//! Retransmission of lost UI messages (paper §3: "messages are kept in a message log in
//! order to be retransmitted").
//!
//! The FIFO rule makes a lost PREPARE, COMMIT or CHECKPOINT fatal without it: the
//! sender's later messages wait behind the hole forever. So:
//!
//! - **Detection.** A replica arms the `Repair` timer whenever a UI message reaches it
//!   while something is pending (a sender's FIFO buffer is not empty, a batch is logged but
//!   not executed, a COMMIT waits for its PREPARE, a request is watched, or a view change is
//!   under way). When the timer fires and nothing progressed since it was armed, the
//!   replica sends each other replica a FILL-HOLE naming the first counter value it misses
//!   from it (`V_acc + 1`). A COMMIT whose PREPARE never came is repaired the same way:
//!   the PREPARE is the primary's next counter value.
//! - **Answer.** The asked replica resends, from its sent log, its UI messages from that
//!   counter value on: PREPAREs, COMMITs and CHECKPOINTs as they were, and its latest
//!   VIEW-CHANGE and NEW-VIEW in full when the range reaches one (their `O` covers every
//!   earlier counter value, so the receiver jumps over them). Resent messages verify as
//!   before; duplicates are dropped before any verification.
//! - **Relay.** A FILL-HOLE also names the first counter value of the asker's primary it
//!   misses, and every other replica resends the primary's PREPAREs and CHECKPOINTs it
//!   holds from there on. If that is at or below the answerer's stable checkpoint, the
//!   answerer (the primary too) also sends its stable certificate: the asker needs `f + 1`
//!   matching CHECKPOINTs to fetch the state, and a crashed backup's may never reach it. In the paper a
//!   COMMIT carries the request, so any COMMIT stands in for a lost PREPARE; minlab's
//!   COMMIT carries only the batch digest, and without the relay a backup that lost a
//!   PREPARE of a primary that then crashed waited forever when the other backups had
//!   executed everything and so had no reason to ask for a view change.
//! - **Waiting.** The timer's length follows the network: it is a smoothed estimate of
//!   how long progress takes once something is pending ([`crate::delay`]), between
//!   `repair_interval` and `repair_interval_max`. A fixed 50 ms would ask on every request
//!   when a COMMIT round trip takes 100 ms (a 50 ms WAN link), flooding FILL-HOLEs.
//! - **Bounds.** One answer per asking replica per `repair_interval`, at most
//!   `repair_batch_max` messages each, so a faulty replica cannot make others do unbounded
//!   work; a correct replica asks at most once per sender per `repair_interval`. What was
//!   garbage-collected below a stable checkpoint cannot be resent: that is state
//!   transfer's job.

use super::messages::{
    Checkpoint, FillHole, LoggedMessage, Message, MessageKind, NewView, ViewChange,
};
use super::replica::Replica;
use crate::delay::DelayEstimate;
use crate::event::RejectReason;
use crate::node::{NodeId, ReplicaId};
use crate::outbox::{Outbox, TimerKind};
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Retransmission state. Bound: one entry per replica.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct RepairState {
    /// Whether the `Repair` timer is armed.
    pub(crate) armed: bool,
    /// Progress marker when it was armed.
    pub(crate) marker: u64,
    /// When it was armed, until the first progress after it is sampled into `delay`
    /// (always `None` when the wait is fixed).
    pub(crate) armed_at: Option<Instant>,
    /// How long progress takes once something is pending: sets the timer's length.
    pub(crate) delay: DelayEstimate,
    /// When each replica's last FILL-HOLE was answered.
    pub(crate) answered_at: Vec<Option<Instant>>,
    /// When each replica's last STATE-REQUEST was answered.
    pub(crate) state_answered_at: Vec<Option<Instant>>,
    /// This replica's latest VIEW-CHANGE and NEW-VIEW, for resending.
    pub(crate) last_view_change: Option<Arc<ViewChange>>,
    pub(crate) last_new_view: Option<Arc<NewView>>,
}

impl RepairState {
    pub(crate) fn new(replica_count: u32) -> Self {
        RepairState {
            armed: false,
            marker: 0,
            armed_at: None,
            delay: DelayEstimate::default(),
            answered_at: vec![None; replica_count as usize],
            state_answered_at: vec![None; replica_count as usize],
            last_view_change: None,
            last_new_view: None,
        }
    }
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// A number that changes whenever anything is processed or executed.
    fn progress_marker(&self) -> u64 {
        let mut m = self.log.last_executed.wrapping_add(self.view << 32);
        for s in 0..self.config.replica_count {
            m = m.wrapping_add(self.fifo.accepted(s));
        }
        m
    }

    /// True when something waits on messages that may have been lost.
    fn pending_work(&self) -> bool {
        self.log.unexecuted > 0
            || self.log.behind
            || !self.log.early.is_empty()
            || !self.vc.watched.is_empty()
            || self.vc.changing
            || (0..self.config.replica_count).any(|s| self.fifo.buffered(s) > 0)
    }

    /// Arms the `Repair` timer if something is pending and it is not armed yet (first
    /// sampling how long the progress since the last arming took).
    pub(crate) fn arm_repair(&mut self, now: Instant, out: &mut Outbox) {
        if let Some(t) = self.repair.armed_at
            && self.progress_marker() != self.repair.marker
        {
            self.repair.delay.sample(now.saturating_since(t));
            self.repair.armed_at = None;
        }
        if self.repair.armed || !self.pending_work() {
            return;
        }
        self.repair.armed = true;
        self.repair.marker = self.progress_marker();
        let (floor, ceiling) = (self.config.repair_interval, self.config.repair_interval_max);
        if ceiling > floor {
            self.repair.armed_at = Some(now);
        }
        out.set_timer(
            TimerKind::Repair,
            now + self.repair.delay.timeout(floor, ceiling),
        );
    }

    /// The `Repair` timer fired: without progress since it was armed, ask every other
    /// replica for what follows its FIFO position here.
    pub(crate) fn on_repair_timer(&mut self, now: Instant, out: &mut Outbox) {
        self.repair.armed = false;
        if !self.pending_work() {
            return;
        }
        if self.log.behind {
            self.ask_state(out);
        } else if self.progress_marker() == self.repair.marker {
            self.skip_executed();
            for s in 0..self.config.replica_count as ReplicaId {
                if s != self.id {
                    self.drain_sender(now, s, out);
                }
            }
            self.settle(now, out);
            // Stuck behind holes that may have been garbage-collected: CHECKPOINTs waiting
            // in the FIFO buffers are evidence for a state transfer too.
            for s in 0..self.config.replica_count as ReplicaId {
                // (Even with its PREPARE logged: the COMMITs that would let us execute up
                // to it may be gone, e.g. for a primary restarted from its log.)
                if s != self.id
                    && let Some(c) = self.fifo.latest_buffered_checkpoint(s)
                {
                    // Buffered, so verified already.
                    self.note_checkpoint_evidence(c, out);
                }
            }
        }
        if self.progress_marker() == self.repair.marker {
            let primary_from = self.fifo.accepted(self.config.primary_of(self.view)) + 1;
            for s in 0..self.config.replica_count as ReplicaId {
                if s != self.id {
                    let m = FillHole {
                        sender: self.id,
                        from: self.fifo.accepted(s) + 1,
                        view: self.view,
                        primary_from,
                    };
                    self.metrics.count_sent(MessageKind::FillHole);
                    out.send(NodeId::Replica(s), Message::FillHole(Arc::new(m)));
                }
            }
        }
        self.arm_repair(now, out);
    }

    /// A FILL-HOLE arrives: resend, within bounds, what the asker misses from us.
    pub(crate) fn on_fill_hole(
        &mut self,
        now: Instant,
        from: NodeId,
        m: Arc<FillHole>,
        out: &mut Outbox,
    ) {
        let kind = MessageKind::FillHole;
        if let Some(reason) = self.peer_rejection(from, m.sender) {
            return self.reject(from, kind, reason, out);
        }
        let i = m.sender as usize;
        if self.repair.answered_at[i].is_some_and(|t| now < t + self.config.repair_interval) {
            return self.reject(from, kind, RejectReason::RateLimited, out);
        }
        self.repair.answered_at[i] = Some(now);
        let to = NodeId::Replica(m.sender);
        // Our latest VIEW-CHANGE and NEW-VIEW may be below the sent log's start (garbage
        // collected at a stable checkpoint taken after them, e.g. by a state transfer)
        // while the asker still waits for them: the messages after them are useless to
        // it until it has them, so they go first.
        for (counter, msg) in [
            self.repair
                .last_view_change
                .as_ref()
                .map(|vc| (vc.ui.counter, Message::ViewChange(vc.clone()))),
            self.repair
                .last_new_view
                .as_ref()
                .map(|nv| (nv.ui.counter, Message::NewView(nv.clone()))),
        ]
        .into_iter()
        .flatten()
        {
            if counter >= m.from && !self.sent.contains_key(&counter) {
                self.metrics.count_sent(msg.kind());
                out.send(to, msg);
            }
        }
        let mut budget = self.config.repair_batch_max;
        for (_, logged) in self.sent.range(m.from..) {
            if budget == 0 {
                break;
            }
            budget -= 1;
            let msg = match logged {
                LoggedMessage::Prepare(p) => Message::Prepare(p.clone()),
                LoggedMessage::Commit { commit, .. } => Message::Commit(commit.clone()),
                LoggedMessage::Checkpoint(c) => Message::Checkpoint(c.clone()),
                LoggedMessage::Restart(r) => Message::Restart(r.clone()),
                LoggedMessage::ViewChangeRecord { .. } | LoggedMessage::NewViewRecord { .. } => {
                    // The latest ones cover everything before them.
                    if let Some(vc) = &self.repair.last_view_change {
                        self.metrics.count_sent(MessageKind::ViewChange);
                        out.send(to, Message::ViewChange(vc.clone()));
                    }
                    if let Some(nv) = &self.repair.last_new_view {
                        self.metrics.count_sent(MessageKind::NewView);
                        out.send(to, Message::NewView(nv.clone()));
                    }
                    break;
                }
            };
            self.metrics.count_sent(msg.kind());
            out.send(to, msg);
        }
        let whole_cert = self.send_stable_cert(&m, out);
        self.relay_primary(&m, out, whole_cert);
    }

    /// The asker misses the primary's messages up to our stable checkpoint: they may be
    /// garbage-collected everywhere, and to ask for the state instead it needs `f + 1`
    /// matching CHECKPOINTs, some of which may have been lost on the way from replicas
    /// that crashed since. So we send our stable certificate (relayed, as the primary's
    /// messages are). Returns whether it was sent.
    fn send_stable_cert(&mut self, m: &FillHole, out: &mut Outbox) -> bool {
        let Some(first) = self.checkpoints.stable_cert.first() else {
            return false;
        };
        if first.view != m.view || m.primary_from > first.counter {
            return false;
        }
        for c in self.checkpoints.stable_cert.clone() {
            if c.sender != m.sender {
                self.metrics.count_sent(MessageKind::Checkpoint);
                out.send(NodeId::Replica(m.sender), Message::Checkpoint(c));
            }
        }
        true
    }

    /// Resends the UI messages of `m.view`'s primary this replica holds from
    /// `m.primary_from` on (at most `repair_batch_max`, in counter order) to the asker:
    /// the PREPAREs in its log and the CHECKPOINTs among its checkpoint votes, its stable
    /// certificate and the late votes for it (a lost CHECKPOINT holds up the primary's
    /// later PREPAREs as much as a lost PREPARE). Not when
    /// this replica is that primary (it answers from its sent log) or the asker is.
    fn relay_primary(&mut self, m: &FillHole, out: &mut Outbox, stable_cert_sent: bool) {
        let primary = self.config.primary_of(m.view);
        if primary == self.id || primary == m.sender {
            return;
        }
        let from = m.primary_from.max(1);
        let mut held: BTreeMap<u64, Message> = self
            .log
            .entries
            .range(from..)
            .map(|(_, e)| &e.prepare)
            .filter(|p| p.primary == primary && p.view == m.view)
            .take(self.config.repair_batch_max)
            .map(|p| (p.ui.counter, Message::Prepare(p.clone())))
            .collect();
        let stable: &[Arc<Checkpoint>] = if stable_cert_sent {
            &[]
        } else {
            &self.checkpoints.stable_cert
        };
        let checkpoints = stable
            .iter()
            .chain(&self.checkpoints.late)
            .chain(self.checkpoints.votes.values().flat_map(|v| v.values()));
        for c in checkpoints {
            if c.sender == primary && c.ui.counter >= from {
                held.insert(c.ui.counter, Message::Checkpoint(c.clone()));
            }
        }
        for (_, msg) in held.into_iter().take(self.config.repair_batch_max) {
            self.metrics.count_sent(msg.kind());
            out.send(NodeId::Replica(m.sender), msg);
        }
    }
}
