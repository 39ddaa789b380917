//! The view change of paper §5, "essentially as MinBFT's" (§4): suspecting the primary
//! (REQ-VIEW-CHANGE), moving to the next view on `f + 1` such requests, VIEW-CHANGE with
//! `C_latest`, `O` and the sender's history, and `T_vc` with exponential backoff. The
//! validity checks and `S` are in [`super::vc_check`], NEW-VIEW and the rollback it
//! causes in `minzyzyva/new_view.rs`.
//!
//! **`O`: what a replica created.** Every UI a MinZyzyva replica creates is logged in its
//! sent log by counter value: ORDER-REQs (as primary), the `UI_s` of each RESPONSE (with
//! the ORDER-REQ it answers, so that `O` carries the ordered request), CHECKPOINTs, and
//! records of its VIEW-CHANGEs and NEW-VIEWs. A stable checkpoint certificate always holds
//! the replica's own CHECKPOINT; the sent log drops everything up to that CHECKPOINT's
//! counter value. A VIEW-CHANGE's `O` is the rest, which everyone checks to be gap-free up
//! to the VIEW-CHANGE's own UI, as in MinBFT. A correct replica executes nothing above a
//! checkpoint before taking it, so every RESPONSE it sent for a request above `C_latest`
//! is in `O`.
//!
//! **Why a completed request is in `S`.** A client completes on `2f + 1` matching
//! RESPONSEs, or on `f + 1` LOCAL-COMMITs for a commit certificate of `f + 1` matching
//! RESPONSEs; either way `f + 1` replicas executed the request with the same history. The
//! new primary's `V_vc` holds `f + 1` VIEW-CHANGEs, so with `n = 2f + 1` one responder `r`
//! is in it. A correct `r` stops processing the old view when it sends its VIEW-CHANGE, so
//! its RESPONSE (or, as primary, its ORDER-REQ) precedes it in its counter order: the
//! request is in `r`'s `O` and history, or at or below `r`'s checkpoint, hence covered by
//! the most recent certificate where `S` starts. `S` takes every verified ORDER-REQ above
//! that certificate, so the request keeps its place and nothing before it changes.
//!
//! **Across several view changes.** A replica that installs view `w` has exactly
//! `C + S_w` as its history, and whatever it executes later in `w` follows. A later `S`
//! takes ordered requests of views below `w` (the latest view a member of `V_vc`
//! installed) only from the histories of members that installed `w`, so it neither drops
//! what `S_w` decided nor resurrects what `S_w` rolled back (a replica's `O` still shows
//! RESPONSEs it sent for requests later rolled back: the UIs were spent).
//!
//! **Known limits.** (1) A faulty *backup* in a client's commit certificate can create its
//! `UI_s` after its own VIEW-CHANGE, which no FIFO rule catches (only the client sees
//! RESPONSEs, and a correct replica legitimately creates `UI_s` for old views' requests
//! when it executes `S`). MinBFT avoids this because acceptors process every vote in FIFO
//! order. (2) `installed_view` and `history` are not covered by earlier UIs, so a faulty
//! member of `V_vc` can misreport them (its `O` is checked). (3) A replica whose history
//! ends below the most recent certificate in `V_vc` cannot install the view by itself
//! ([`crate::Event::StateTransferNeeded`]): it fetches the state there first (see
//! `super::transfer`).

use super::messages::{Message, Sent, ViewChange};
use super::replica::{Replica, ZOutbox};
use crate::event::{Event, RejectReason};
use crate::minbft::messages::{MessageKind, ReqViewChange};
use crate::node::{NodeId, ReplicaId, View};
use crate::outbox::TimerKind;
use crate::service::Service;
use crate::time::{Duration, Instant};
use minlab_usig::Usig;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The largest factor by which `T_vc` grows through doubling.
pub(crate) const VIEW_CHANGE_BACKOFF_MAX: u64 = 16;

/// View-change state. Bound: one requested view, one VIEW-CHANGE per replica; `early`
/// holds at most `fifo_window` messages.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ViewChangeState {
    /// True between sending a VIEW-CHANGE for `view` and installing its NEW-VIEW.
    pub(crate) changing: bool,
    /// Per replica (self included), the highest view it asked for (REQ-VIEW-CHANGE or
    /// VIEW-CHANGE).
    pub(crate) requested: Vec<View>,
    /// Per replica, the highest view of a valid VIEW-CHANGE from it and that message's
    /// counter value (older or replayed VIEW-CHANGEs are refused).
    pub(crate) left: Vec<(View, u64)>,
    /// The latest valid VIEW-CHANGE from each replica (self included).
    pub(crate) received: BTreeMap<ReplicaId, Arc<ViewChange>>,
    /// Current `T_vc`, doubled on each expiry, reset when a view is installed.
    pub(crate) timeout: Duration,
    /// The last view whose NEW-VIEW this replica installed (0 initially).
    pub(crate) installed: View,
    /// The NEW-VIEW this replica sent as primary of the current view, resent to late
    /// replicas whose VIEW-CHANGE for this view arrives after it was installed.
    pub(crate) last_new_view: Option<Arc<super::messages::NewView>>,
    /// The new primary's UI messages for `view` received before its NEW-VIEW, verified,
    /// by counter value; processed in FIFO order once the view is installed.
    pub(crate) early: BTreeMap<u64, super::replica::PrimaryMsg>,
}

impl ViewChangeState {
    pub(crate) fn new(replica_count: u32, timeout: Duration) -> Self {
        ViewChangeState {
            changing: false,
            requested: vec![0; replica_count as usize],
            left: vec![(0, 0); replica_count as usize],
            received: BTreeMap::new(),
            timeout,
            installed: 0,
            last_new_view: None,
            early: BTreeMap::new(),
        }
    }
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// Records a UI this replica created, for `O` (and, when durable, the write-ahead log).
    pub(crate) fn log_sent(&mut self, m: Sent, out: &mut ZOutbox) {
        self.persist(out, || super::wal::Record::Sent(m.clone()));
        self.sent.insert(m.ui().counter, m);
    }

    /// This replica suspects the primary (paper §5: a forwarded request not ordered in
    /// time, or a hole not filled): it multicasts REQ-VIEW-CHANGE(v, v + 1). With
    /// `again`, a request it already made is sent again: nothing else retransmits a lost
    /// REQ-VIEW-CHANGE, and if all but `f` are lost no view change ever starts. The
    /// request timer passes `again` (a client resending is what re-arms it, so that is the
    /// rate); the repair timer, which fires every `repair_interval` while a hole lasts,
    /// does not.
    pub(crate) fn suspect_primary(&mut self, now: Instant, again: bool, out: &mut ZOutbox) {
        if self.vc.changing || self.is_primary() {
            return;
        }
        let me = self.id as usize;
        let target = self.view + 1;
        if self.vc.requested[me] >= target && !again {
            return;
        }
        let target = target.max(self.vc.requested[me]);
        self.broadcast_req_view_change(target, out);
        self.check_move(now, out);
    }

    /// The primary asks to leave its own view: after a restart that lost counter values,
    /// its ORDER-REQ stream has a hole that no FILL-HOLE can fill.
    pub(crate) fn abdicate(&mut self, now: Instant, out: &mut ZOutbox) {
        if self.vc.changing {
            return;
        }
        self.broadcast_req_view_change(self.view + 1, out);
        self.check_move(now, out);
    }

    /// Multicasts REQ-VIEW-CHANGE(v, `target`) and records our own request.
    fn broadcast_req_view_change(&mut self, target: View, out: &mut ZOutbox) {
        let me = self.id as usize;
        self.vc.requested[me] = self.vc.requested[me].max(target);
        self.metrics.count_sent(MessageKind::ReqViewChange);
        out.broadcast(Message::ReqViewChange(Arc::new(ReqViewChange {
            sender: self.id,
            view: self.view,
            new_view: target,
        })));
    }

    /// A REQ-VIEW-CHANGE (it carries no UI).
    pub(crate) fn on_req_view_change(
        &mut self,
        now: Instant,
        from: NodeId,
        m: Arc<ReqViewChange>,
        out: &mut ZOutbox,
    ) {
        let kind = MessageKind::ReqViewChange;
        if let Some(reason) = self.peer_rejection(from, m.sender) {
            return self.reject(from, kind, reason, out);
        }
        if m.new_view <= self.view || m.view >= m.new_view {
            return self.reject(from, kind, RejectReason::StaleView, out);
        }
        if m.new_view > self.view + u64::from(self.config.replica_count) {
            return self.reject(from, kind, RejectReason::FutureView, out);
        }
        let r = &mut self.vc.requested[m.sender as usize];
        *r = (*r).max(m.new_view);
        self.check_move(now, out);
    }

    /// Paper §4 (and §5): with `f + 1` replicas (self included) asking for a view above
    /// ours, move to the highest view that `f + 1` of them support.
    pub(crate) fn check_move(&mut self, now: Instant, out: &mut ZOutbox) {
        let quorum = self.config.quorum() as usize;
        let mut asked = self.vc.requested.clone();
        asked.sort_unstable_by(|a, b| b.cmp(a));
        let target = asked[quorum - 1];
        if target > self.view {
            self.start_view_change(now, target, out);
        }
    }

    /// Moves to view `target` and multicasts VIEW-CHANGE(`target`, `C_latest`, `O`, history).
    /// From here on the replica processes no ORDER-REQ of an older view (paper §5: "the
    /// replica stops accepting messages other than CHECKPOINT, VIEW-CHANGE, and NEW-VIEW").
    pub(crate) fn start_view_change(&mut self, now: Instant, target: View, out: &mut ZOutbox) {
        debug_assert!(target > self.view);
        self.enter_view(target, out);
        self.vc.changing = true;
        let me = self.id as usize;
        self.vc.requested[me] = self.vc.requested[me].max(target);
        out.set_timer(TimerKind::ViewChange, now + self.vc.timeout);
        let o_start = self.o_start();
        let mut vc = ViewChange {
            sender: self.id,
            new_view: target,
            checkpoint_cert: self.checkpoints.stable_cert.clone(),
            log: self.sent.range(o_start..).map(|(_, m)| m.clone()).collect(),
            history: self
                .history
                .entries
                .iter()
                .map(|e| e.order.clone())
                .collect(),
            installed_view: self.vc.installed,
            ui: minlab_usig::Ui {
                counter: 0,
                cert: minlab_usig::Certificate::Symbolic(0),
            },
        };
        let digest = super::certify::view_change_digest(&vc);
        self.metrics.usig_creates += 1;
        match self
            .usig
            .create_ui(&super::certify::view_change_bytes(target, &digest))
        {
            Ok(ui) => vc.ui = ui,
            Err(error) => {
                return out.event(Event::UsigFailed {
                    error: Box::new(error),
                });
            }
        }
        self.log_sent(
            Sent::ViewChangeRecord {
                new_view: target,
                digest,
                ui: vc.ui.clone(),
            },
            out,
        );
        self.vc.left[me] = (target, vc.ui.counter);
        let vc = Arc::new(vc);
        self.persist(out, || super::wal::Record::OwnViewChange(vc.clone()));
        self.vc.received.insert(self.id, vc.clone());
        self.metrics.count_sent(MessageKind::ViewChange);
        out.broadcast(Message::ViewChange(vc));
        self.maybe_new_view(now, out);
    }

    /// The first counter value of `O`: just after our own CHECKPOINT in the stable
    /// certificate, or 1.
    fn o_start(&self) -> u64 {
        self.checkpoints
            .stable_cert
            .iter()
            .find(|c| c.sender == self.id)
            .map_or(1, |c| c.ui.counter + 1)
    }

    /// Switches the view number and drops what belonged to the old view: the old
    /// primary's parked and logged messages, the open hole, the watched forwards.
    pub(crate) fn enter_view(&mut self, view: View, out: &mut ZOutbox) {
        self.persist(out, || super::wal::Record::View(view));
        self.view = view;
        self.primary = self.config.primary_of(view);
        self.parked.clear();
        self.order_log.clear();
        self.vc.early.clear();
        self.vc.last_new_view = None;
        if self.repair.hole.take().is_some() {
            out.cancel_timer(TimerKind::Repair);
        }
        if !self.watched.is_empty() {
            self.watched.clear();
            out.cancel_timer(TimerKind::RequestTimeout);
        }
        // Requests queued for a batch of the old view: their clients resend.
        self.pending.clear();
        if self.batch_timer_armed {
            self.batch_timer_armed = false;
            out.cancel_timer(TimerKind::Batch);
        }
    }

    /// `T_vc` expired without a valid NEW-VIEW: double it and go for the next view
    /// (paper §4: `v + 2` when the first attempt was `v + 1`).
    pub(crate) fn on_view_change_timeout(&mut self, now: Instant, out: &mut ZOutbox) {
        if !self.vc.changing {
            return out.event(Event::TimerIgnored {
                kind: TimerKind::ViewChange,
            });
        }
        // Bound: T_vc grows to at most `VIEW_CHANGE_BACKOFF_MAX` times its initial value,
        // so that a replica that cannot install views (behind, see the module docs) keeps
        // its timer finite.
        let cap = self
            .config
            .view_change_timeout
            .0
            .saturating_mul(VIEW_CHANGE_BACKOFF_MAX);
        self.vc.timeout = Duration(self.vc.timeout.0.saturating_mul(2).min(cap));
        let target = self.view + 1;
        self.broadcast_req_view_change(target, out);
        self.start_view_change(now, target, out);
    }
}
