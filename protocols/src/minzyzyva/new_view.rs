//! VIEW-CHANGE collection and NEW-VIEW (paper §5: "the new primary build\[s\] NEW-VIEW
//! messages exactly as in MinBFT"): the new primary gathers `f + 1` valid VIEW-CHANGEs
//! (`V_vc`), computes the base and `S`, adopts that history itself and multicasts
//! NEW-VIEW; every replica checks `V_vc`, recomputes `S`, and adopts the history `C + S`:
//! it rolls back the speculative executions `S` does not include ("some operations that
//! were executed by less than `f` servers"), executes what it lacks, and follows the new
//! primary's counter from the NEW-VIEW's UI on.
//!
//! **Committed by NEW-VIEW.** The paper makes a valid NEW-VIEW "equivalent to a commit
//! certificate". Here it commits the history up to the checkpoint certificate `S` starts
//! from (that certificate is stable), while `S` itself stays speculative until the
//! checkpoint every replica takes right after installing it becomes stable (`f + 1`
//! replicas installed the same `S`). Reason: a NEW-VIEW installed by fewer than `f + 1`
//! replicas can be superseded by a view whose `V_vc` holds none of them, and committing its
//! `S` at once would then let committed prefixes diverge. Completed requests are never at
//! stake: each is in every later `S` (see [`super::view_change`]).

use super::certify::{new_view_bytes, new_view_digest};
use super::messages::{Message, NewView, OrderReq, Sent, ViewChange};
use super::replica::{Replica, ZOutbox};
use super::vc_check::{Base, compute_s, key_of, s_base};
use crate::event::{Event, RejectReason};
use crate::minbft::messages::MessageKind;
use crate::node::NodeId;
use crate::outbox::TimerKind;
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use std::sync::Arc;

/// Why a replica cannot adopt the history of a NEW-VIEW.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum AdoptError {
    /// Its history ends below the base, or differs from it there while still
    /// speculative: it needs the state at the base (see [`super::transfer`]).
    Behind,
    /// The new history would undo part of its committed prefix: the NEW-VIEW is wrong.
    Conflict,
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// A VIEW-CHANGE: validated, it counts as a request for its view and is kept for
    /// `V_vc`.
    pub(crate) fn on_view_change(
        &mut self,
        now: Instant,
        from: NodeId,
        vc: Arc<ViewChange>,
        out: &mut ZOutbox,
    ) {
        let kind = MessageKind::ViewChange;
        let s = vc.sender;
        if let Some(reason) = self.peer_rejection(from, s) {
            return self.reject(from, kind, reason, out);
        }
        if vc.new_view < self.view || (vc.new_view == self.view && !self.vc.changing) {
            // A late replica: if we started this view, it needs our NEW-VIEW.
            if vc.new_view == self.view
                && let Some(nv) = self.vc.last_new_view.clone()
            {
                self.metrics.count_sent(MessageKind::NewView);
                out.send(from, Message::NewView(nv));
            }
            self.metrics.stale += 1;
            return;
        }
        if vc.new_view > self.view + u64::from(self.config.replica_count) {
            return self.reject(from, kind, RejectReason::FutureView, out);
        }
        if self.vc.left[s as usize] >= (vc.new_view, vc.ui.counter) {
            return self.reject(from, kind, RejectReason::DuplicateUi, out);
        }
        self.metrics.usig_verifies += 1;
        if let Err(reason) = self.check_view_change(&vc) {
            return self.reject(from, kind, reason, out);
        }
        self.accept_view_change(vc);
        self.check_move(now, out);
        self.maybe_new_view(now, out);
    }

    /// Bookkeeping for a valid VIEW-CHANGE (received, or inside a NEW-VIEW).
    fn accept_view_change(&mut self, vc: Arc<ViewChange>) {
        let i = vc.sender as usize;
        self.vc.left[i] = self.vc.left[i].max((vc.new_view, vc.ui.counter));
        self.vc.requested[i] = self.vc.requested[i].max(vc.new_view);
        if vc.new_view >= self.view {
            self.vc.received.insert(vc.sender, vc);
        }
    }

    /// The new primary, with `f + 1` valid VIEW-CHANGEs for its view (its own among
    /// them), adopts `C + S`, then multicasts NEW-VIEW(`V_vc`, `S`): its RESPONSEs for what
    /// it executes from `S` take counter values before the NEW-VIEW's, so that its
    /// ORDER-REQs follow the NEW-VIEW's UI with no gap.
    pub(crate) fn maybe_new_view(&mut self, now: Instant, out: &mut ZOutbox) {
        if !self.vc.changing || !self.is_primary() {
            return;
        }
        let Some(own) = self.vc.received.get(&self.id).cloned() else {
            return;
        };
        if own.new_view != self.view {
            return;
        }
        let quorum = self.config.quorum() as usize;
        let mut vcs = vec![own];
        for (&r, vc) in &self.vc.received {
            if r != self.id && vc.new_view == self.view && vcs.len() < quorum {
                vcs.push(vc.clone());
            }
        }
        if vcs.len() < quorum {
            return;
        }
        let base = s_base(&vcs);
        let orders = compute_s(&vcs);
        if let Err(e) = self.adopt_history(base, &orders, out) {
            // A primary that cannot adopt the history cannot lead the view; T_vc moves
            // everyone on.
            if e == AdoptError::Behind {
                // Reported with `Event::StateTransferNeeded`.
                self.want_base_of(now, &vcs, out);
            }
            return;
        }
        let mut nv = NewView {
            sender: self.id,
            new_view: self.view,
            view_changes: vcs,
            orders,
            ui: minlab_usig::Ui {
                counter: 0,
                cert: minlab_usig::Certificate::Symbolic(0),
            },
        };
        let digest = new_view_digest(&nv);
        self.metrics.usig_creates += 1;
        match self.usig.create_ui(&new_view_bytes(self.view, &digest)) {
            Ok(ui) => nv.ui = ui,
            Err(error) => {
                return out.event(Event::UsigFailed {
                    error: Box::new(error),
                });
            }
        }
        self.log_sent(
            Sent::NewViewRecord {
                new_view: self.view,
                digest,
                ui: nv.ui.clone(),
            },
            out,
        );
        let nv = Arc::new(nv);
        self.persist(out, || super::wal::Record::OwnNewView(nv.clone()));
        self.metrics.count_sent(MessageKind::NewView);
        out.broadcast(Message::NewView(nv.clone()));
        let counter = nv.ui.counter;
        self.vc.last_new_view = Some(nv);
        self.finish_install(now, counter, out);
    }

    /// A NEW-VIEW: verify the new-view certificate and recompute `S` (paper §4); a wrong
    /// one is rejected and the replica moves on to the next view.
    pub(crate) fn on_new_view(
        &mut self,
        now: Instant,
        from: NodeId,
        nv: Arc<NewView>,
        out: &mut ZOutbox,
    ) {
        let kind = MessageKind::NewView;
        let p = nv.sender;
        let pre = if let Some(reason) = self.peer_rejection(from, p) {
            Err(reason)
        } else if nv.new_view < self.view || (nv.new_view == self.view && !self.vc.changing) {
            Err(RejectReason::StaleView)
        } else if nv.new_view > self.view + u64::from(self.config.replica_count) {
            Err(RejectReason::FutureView)
        } else if self.config.primary_of(nv.new_view) != p {
            Err(RejectReason::NotPrimary)
        } else {
            Ok(())
        };
        if let Err(reason) = pre {
            return self.reject(from, kind, reason, out);
        }
        self.metrics.usig_verifies += 1;
        if let Err(reason) = self.check_new_view(&nv) {
            self.reject(from, kind, reason, out);
            if reason == RejectReason::InvalidNewView {
                self.refuse_new_view(now, nv.new_view, out);
            }
            return;
        }
        for vc in &nv.view_changes {
            if vc.sender != self.id {
                self.accept_view_change(vc.clone());
            }
        }
        if nv.new_view > self.view {
            // We had not sent a VIEW-CHANGE for this view: join it directly.
            self.enter_view(nv.new_view, out);
            self.vc.changing = true;
            out.set_timer(TimerKind::ViewChange, now + self.vc.timeout);
        }
        match self.adopt_history(s_base(&nv.view_changes), &nv.orders, out) {
            Ok(()) => self.finish_install(now, nv.ui.counter, out),
            Err(AdoptError::Behind) => {
                // The view is fine; this replica is not. It fetches the state at the base
                // and installs the view then (see `super::transfer`), rather than ask for
                // view after view.
                // Reported with `Event::StateTransferNeeded`.
                out.cancel_timer(TimerKind::ViewChange);
                self.want_base_of(now, &nv.view_changes, out);
                self.transfer.resume = Some(nv);
            }
            Err(AdoptError::Conflict) => {
                self.reject(from, kind, RejectReason::InvalidNewView, out);
                self.refuse_new_view(now, nv.new_view, out);
            }
        }
    }

    /// Paper §4: a NEW-VIEW whose `S` is wrong means a faulty new primary; ask for the
    /// view after it.
    pub(crate) fn refuse_new_view(&mut self, now: Instant, view: u64, out: &mut ZOutbox) {
        if view >= self.view {
            let target = view + 1;
            let me = self.id as usize;
            self.vc.requested[me] = self.vc.requested[me].max(target);
            self.start_view_change(now, target, out);
        }
    }

    /// `V_vc` (`f + 1` valid VIEW-CHANGEs for the view from different replicas, the new
    /// primary's own among them, before the NEW-VIEW in its counter order), the NEW-VIEW's
    /// UI, and `S` recomputed.
    fn check_new_view(&self, nv: &NewView) -> Result<(), RejectReason> {
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
        if own_counter.is_none_or(|c| c >= nv.ui.counter) {
            return bad;
        }
        if self
            .usig
            .verify_ui(
                nv.sender,
                &nv.ui,
                &new_view_bytes(nv.new_view, &new_view_digest(nv)),
            )
            .is_err()
        {
            return Err(RejectReason::BadUi);
        }
        if compute_s(&nv.view_changes) != nv.orders {
            return bad;
        }
        Ok(())
    }

    /// Makes this replica's history `base + orders`: keeps the common prefix, rolls back
    /// the speculative rest (paper §5), executes what it lacks, and commits up to `base`
    /// (a stable checkpoint certificate).
    pub(crate) fn adopt_history(
        &mut self,
        base: Base,
        orders: &[Arc<OrderReq>],
        out: &mut ZOutbox,
    ) -> Result<(), AdoptError> {
        let own_base = super::vc_check::cert_base(&self.checkpoints.stable_cert);
        debug_assert_eq!(own_base.slot, self.history.base_slot);
        // Align `orders` with our history: `from` is the slot the first of `rest` goes to.
        let (from, rest) = if base.slot < own_base.slot {
            // Our stable checkpoint is more recent: the first orders must be what it covers.
            let skip = orders
                .iter()
                .take_while(|o| key_of(o) <= own_base.last)
                .count();
            if base.slot + skip as u64 != own_base.slot
                || (skip > 0 && key_of(&orders[skip - 1]) != own_base.last)
            {
                return Err(AdoptError::Conflict);
            }
            (own_base.slot, &orders[skip..])
        } else {
            let at_base = if base.slot == own_base.slot {
                Some(own_base.last)
            } else {
                self.history.get(base.slot).map(|e| key_of(&e.order))
            };
            match at_base {
                Some(k) if k == base.last => {}
                Some(_) if base.slot <= self.history.committed => {
                    return Err(AdoptError::Conflict);
                }
                _ => return Err(AdoptError::Behind),
            }
            (base.slot, orders)
        };
        let mut keep = 0;
        while let (Some(e), Some(o)) = (self.history.get(from + 1 + keep as u64), rest.get(keep)) {
            if *e.order != **o {
                break;
            }
            keep += 1;
        }
        let mut cut = from + keep as u64;
        if crate::minbft::mutant::mutant!(self, NoRollback) {
            // Mutant: keep what the new view leaves out; its requests go after it.
            cut = self.history.head().max(cut);
        }
        if cut < self.history.committed {
            return Err(AdoptError::Conflict);
        }
        if self.rollback_to(cut, out).is_err() {
            return Err(AdoptError::Conflict);
        }
        for o in &rest[keep..] {
            self.execute_order(o, out);
        }
        if base.slot > self.history.committed {
            self.commit_prefix(base.slot, out);
        }
        Ok(())
    }

    /// The view is installed: the new primary's counter continues from the NEW-VIEW's UI
    /// (`start`); a checkpoint of the adopted history is taken at once, so that `S`
    /// commits as soon as `f + 1` replicas installed it; messages held for the view are
    /// processed.
    pub(crate) fn finish_install(&mut self, now: Instant, start: u64, out: &mut ZOutbox) {
        self.persist(out, || super::wal::Record::Installed {
            view: self.view,
            start,
        });
        self.vc.installed = self.view;
        self.vc.changing = false;
        self.vc.timeout = self.config.view_change_timeout;
        out.cancel_timer(TimerKind::ViewChange);
        let view = self.view;
        self.vc.received.retain(|_, vc| vc.new_view > view);
        self.accepted = start;
        self.parked.clear();
        self.order_log.clear();
        out.event(Event::ViewChanged { view: self.view });
        let head = self.history.head();
        if head > self.checkpoints.stable
            && !self
                .checkpoints
                .votes
                .get(&head)
                .is_some_and(|v| v.contains_key(&self.id))
        {
            self.take_checkpoint(out);
        }
        let early = std::mem::take(&mut self.vc.early);
        for (counter, m) in early {
            if counter > self.accepted && self.admit(counter).is_ok() {
                self.deliver_primary(now, counter, m, out);
            }
        }
    }
}
