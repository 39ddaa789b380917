//! VIEW-CHANGE collection and NEW-VIEW (paper §4): the new primary gathers `f + 1` valid
//! VIEW-CHANGEs (`V_vc`), computes `S` and multicasts NEW-VIEW; every replica checks
//! `V_vc`, recomputes `S`, executes what it has not executed yet, and starts the view
//! with the sequence numbers that follow the NEW-VIEW's UI.

use super::certify::{TAG_NEW_VIEW, new_view_bytes, new_view_digest, tagged_view_digest};
use super::messages::{LoggedMessage, Message, MessageKind, NewView, ViewChange};
use super::mutant::mutant;
use super::replica::Replica;
use super::vc_check::{cert_key, s_base};
use crate::event::{Event, RejectReason};
use crate::node::{NodeId, ReplicaId};
use crate::outbox::{Outbox, TimerKind};
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use std::sync::Arc;

impl<U: Usig, S: Service> Replica<U, S> {
    /// A VIEW-CHANGE arrives: validated, then it advances its sender's FIFO position to
    /// its UI (its `O` accounts for every earlier counter value of the sender), counts as
    /// a request for its view, and is kept for `V_vc`.
    pub(crate) fn on_view_change(
        &mut self,
        now: Instant,
        from: NodeId,
        vc: Arc<ViewChange>,
        out: &mut Outbox,
    ) {
        let kind = MessageKind::ViewChange;
        let s = vc.sender;
        let checked = if from != NodeId::Replica(s) {
            Err(RejectReason::WrongSender)
        } else if s >= self.config.replica_count {
            Err(RejectReason::UnknownReplica)
        } else if s == self.id {
            Err(RejectReason::FromSelf)
        } else if vc.ui.counter <= self.fifo.accepted(s) {
            Err(RejectReason::DuplicateUi)
        } else {
            self.metrics.usig_verifies += 1;
            self.check_view_change(&vc)
        };
        if let Err(reason) = checked {
            return self.reject(from, kind, reason, out);
        }
        self.accept_view_change(vc);
        if self.fifo.take_ready(s) {
            self.drain_sender(now, s, out);
        }
        self.check_move(now, out);
        self.maybe_new_view(now, out);
    }

    /// Bookkeeping for a valid VIEW-CHANGE (received, or inside a NEW-VIEW).
    fn accept_view_change(&mut self, vc: Arc<ViewChange>) {
        let s = vc.sender;
        self.fifo.jump(s, vc.ui.counter);
        let i = s as usize;
        self.vc.left_view[i] = self.vc.left_view[i].max(vc.new_view);
        self.vc.requested[i] = self.vc.requested[i].max(vc.new_view);
        if vc.new_view >= self.view
            && !self.uncounted(&vc)
            && self
                .vc
                .received
                .get(&s)
                .is_none_or(|old| old.new_view <= vc.new_view)
        {
            self.vc.received.insert(s, vc);
        }
    }

    /// The new primary, with `f + 1` valid VIEW-CHANGEs for its view (its own first),
    /// sends NEW-VIEW(`V_vc`, `S`) and installs the view itself.
    pub(crate) fn maybe_new_view(&mut self, now: Instant, out: &mut Outbox) {
        if !self.vc.changing || !self.is_primary() || !self.may_lead(self.id) {
            return;
        }
        let Some(own) = self.vc.received.get(&self.id).cloned() else {
            return;
        };
        if own.ui.counter != self.usig.last_counter() {
            // We created a UI message after our VIEW-CHANGE (a state transfer's own
            // CHECKPOINT): backups require our VIEW-CHANGE right before the NEW-VIEW in
            // our counter order, with everything we sent in its O. Send a fresh one (it
            // comes back here).
            return self.send_view_change(now, self.view, out);
        }
        let mut vcs = vec![own];
        for (&r, vc) in &self.vc.received {
            if r != self.id && vc.new_view == self.view && vcs.len() < self.config.quorum() as usize
            {
                vcs.push(vc.clone());
            }
        }
        if vcs.len() < self.config.quorum() as usize {
            return;
        }
        let prepares = self.s_of(&vcs);
        let mut nv = NewView {
            sender: self.id,
            new_view: self.view,
            view_changes: vcs,
            prepares,
            ui: minlab_usig::Ui {
                counter: 0,
                cert: minlab_usig::Certificate::Symbolic(0),
            },
        };
        let digest = new_view_digest(&nv);
        self.metrics.usig_creates += 1;
        match self
            .usig
            .create_ui(&tagged_view_digest(TAG_NEW_VIEW, self.view, &digest))
        {
            Ok(ui) => nv.ui = ui,
            Err(error) => {
                return out.event(Event::UsigFailed {
                    error: Box::new(error),
                });
            }
        }
        self.log_sent(
            nv.ui.counter,
            LoggedMessage::NewViewRecord {
                new_view: self.view,
                digest,
                ui: nv.ui.clone(),
            },
            out,
        );
        let nv = Arc::new(nv);
        self.persist(out, || super::wal::Record::NewView(nv.clone()));
        self.repair.last_new_view = Some(nv.clone());
        self.metrics.count_sent(MessageKind::NewView);
        out.broadcast(Message::NewView(nv.clone()));
        self.install(now, &nv, out);
    }

    /// A NEW-VIEW arrives: paper §4, verify the new-view certificate and recompute `S`;
    /// a NEW-VIEW whose `S` differs is rejected and the replica moves to the next view.
    pub(crate) fn on_new_view(
        &mut self,
        now: Instant,
        from: NodeId,
        nv: Arc<NewView>,
        out: &mut Outbox,
    ) {
        let kind = MessageKind::NewView;
        let p = nv.sender;
        let pre = if from != NodeId::Replica(p) {
            Err(RejectReason::WrongSender)
        } else if p >= self.config.replica_count {
            Err(RejectReason::UnknownReplica)
        } else if p == self.id {
            Err(RejectReason::FromSelf)
        } else if nv.new_view < self.view || (nv.new_view == self.view && !self.vc.changing) {
            Err(RejectReason::StaleView)
        } else if self.config.primary_of(nv.new_view) != p {
            Err(RejectReason::NotPrimary)
        } else if !self.may_lead(p) {
            Err(RejectReason::RevokedPrimary)
        } else if nv.ui.counter <= self.fifo.accepted(p) {
            Err(RejectReason::DuplicateUi)
        } else {
            Ok(())
        };
        if let Err(reason) = pre {
            return self.reject(from, kind, reason, out);
        }
        if let Err(reason) = self.check_new_view(&nv) {
            self.reject(from, kind, reason, out);
            if reason == RejectReason::InvalidNewView && nv.new_view >= self.view {
                // Paper §4: a NEW-VIEW whose S differs means a faulty new primary.
                let target = nv.new_view + 1;
                let i = self.id as usize;
                self.vc.requested[i] = self.vc.requested[i].max(target);
                self.start_view_change(now, target, out);
            }
            return;
        }
        for vc in &nv.view_changes {
            if vc.ui.counter > self.fifo.accepted(vc.sender) && vc.sender != self.id {
                self.accept_view_change(vc.clone());
            }
        }
        self.fifo.jump(p, nv.ui.counter);
        if nv.new_view > self.view {
            self.enter_view(nv.new_view);
        }
        self.install(now, &nv, out);
    }

    /// `V_vc` (`f + 1` valid VIEW-CHANGEs for the view from different replicas, the new
    /// primary's own just before the NEW-VIEW in its counter order), the NEW-VIEW's UI,
    /// and `S` recomputed.
    fn check_new_view(&self, nv: &NewView) -> Result<(), RejectReason> {
        // The UI first: only a NEW-VIEW its sender certified shows that sender faulty when
        // it is invalid. One whose bytes changed on the way (its UI no longer verifies) is
        // dropped like any damaged message, and its retransmission is awaited.
        if self
            .usig
            .verify_ui(nv.sender, &nv.ui, &new_view_bytes(nv))
            .is_err()
        {
            return Err(RejectReason::BadUi);
        }
        let bad = Err(RejectReason::InvalidNewView);
        if nv.view_changes.len() != self.config.quorum() as usize {
            return bad;
        }
        let mut senders = 0u64;
        let mut own_counter = None;
        for vc in &nv.view_changes {
            if vc.new_view != nv.new_view
                || vc.sender >= self.config.replica_count
                || senders & (1 << vc.sender) != 0
                || self.uncounted(vc)
            {
                return bad;
            }
            senders |= 1 << vc.sender;
            if vc.sender == nv.sender {
                own_counter = Some(vc.ui.counter);
            }
            let known = self.vc.received.get(&vc.sender).is_some_and(|k| k == vc);
            if !known && self.check_view_change(vc).is_err() {
                return bad;
            }
        }
        if own_counter.map(|c| c + 1) != Some(nv.ui.counter) {
            return bad;
        }
        if !mutant!(self, TrustNewView) && self.s_of(&nv.view_changes) != nv.prepares {
            return bad;
        }
        Ok(())
    }

    /// Executes `S` (what was not executed before, exactly once), cleans the log, starts
    /// the new view's sequence numbers after the NEW-VIEW's UI, and takes the new view's
    /// first checkpoint.
    fn install(&mut self, now: Instant, nv: &Arc<NewView>, out: &mut Outbox) {
        self.persist(out, || super::wal::Record::Installed(nv.clone()));
        let base = s_base(&nv.view_changes);
        let mine = (self.log.last_executed_view, self.log.last_executed);
        if self.log.behind || mine < base {
            // A hole between what we executed and S: our state is behind the most recent
            // stable checkpoint; only a state transfer can bring it there. S is executed
            // after it.
            self.log.behind = true;
            out.event(Event::StateTransferNeeded { counter: base.1 });
            self.transfer.resume = Some(super::transfer::Resume {
                view: nv.new_view,
                start: nv.ui.counter,
                base,
                s: nv.prepares.clone(),
            });
            if let Some(cert) = nv
                .view_changes
                .iter()
                .map(|vc| &vc.checkpoint_cert)
                .max_by_key(|c| cert_key(c))
                .filter(|c| cert_key(c) > mine)
            {
                self.want_state(cert.clone(), out);
            }
        } else {
            let again = self.forget_executed_in_s(nv);
            for p in &nv.prepares {
                if again || (p.view, p.ui.counter) > self.log.executed_batch {
                    self.execute_batch(p, out);
                    self.log.last_executed_view = p.view;
                }
            }
        }
        self.vc.installed = nv.new_view;
        self.vc.installed_base = base;
        self.vc.evidence = super::evidence::evidence_of_install(nv);
        self.vc.changing = false;
        self.vc.timeout = self.config.view_change_timeout;
        out.cancel_timer(TimerKind::ViewChange);
        self.vc.received.retain(|_, vc| vc.new_view > nv.new_view);
        let start = nv.ui.counter;
        self.log.entries.clear();
        self.log.early.clear();
        self.log.unexecuted = 0;
        self.checkpoints.votes.clear();
        self.checkpoints.stable = start - 1;
        self.checkpoints.transfer_hint = 0;
        if !self.log.behind {
            self.log.last_executed = start;
            self.log.last_executed_view = nv.new_view;
        }
        self.vc.watched.restart(now);
        self.arm_exec_timer(out);
        out.event(Event::ViewChanged { view: nv.new_view });
        if !self.log.behind {
            self.take_checkpoint(start, out);
        }
        self.checkpoints.advanced = true;
        self.release_held(now, out);
    }

    /// After a view is installed, messages held for it may be processed.
    fn release_held(&mut self, now: Instant, out: &mut Outbox) {
        for s in 0..self.config.replica_count as ReplicaId {
            if s != self.id {
                self.drain_sender(now, s, out);
            }
        }
        self.settle(now, out);
        self.maybe_prepare(now, false, out);
    }
}
