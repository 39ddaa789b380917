//! Suspecting the primary (paper §5, as in MinBFT §4): REQ-VIEW-CHANGE messages, and the
//! count of who asked to leave the view.
//!
//! **Not implemented yet**: what follows `f + 1` REQ-VIEW-CHANGEs (VIEW-CHANGE, NEW-VIEW,
//! rollback). A replica that asked for a view change stops ordering and forwarding new
//! requests, and one that collected `f + 1` requests reports it with
//! [`Event::TimerIgnored`]`{ kind: ViewChange }` once, so drivers can see where the
//! protocol stops.

use super::messages::Message;
use super::replica::{Replica, ZOutbox};
use crate::event::{Event, RejectReason};
use crate::minbft::messages::{MessageKind, ReqViewChange};
use crate::node::{NodeId, ReplicaId, View};
use crate::outbox::TimerKind;
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Who asked to leave which view.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub(crate) struct Suspicion {
    /// The view this replica asked to move to, if it did.
    pub(crate) requested: Option<View>,
    /// REQ-VIEW-CHANGE senders by the view they ask for. Bound: views in
    /// `(view, view + n]`, `n` senders each.
    pub(crate) votes: BTreeMap<View, BTreeSet<ReplicaId>>,
    /// True once `f + 1` asked for the next view (reported once).
    pub(crate) quorum_reported: bool,
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// This replica suspects the primary: it multicasts REQ-VIEW-CHANGE (once per view).
    pub(crate) fn suspect_primary(&mut self, _now: Instant, out: &mut ZOutbox) {
        let new_view = self.view + 1;
        if self.suspicion.requested.is_some_and(|v| v >= new_view) {
            return;
        }
        self.suspicion.requested = Some(new_view);
        self.metrics.count_sent(MessageKind::ReqViewChange);
        out.broadcast(Message::ReqViewChange(Arc::new(ReqViewChange {
            sender: self.id,
            view: self.view,
            new_view,
        })));
        self.add_view_change_vote(self.id, new_view, out);
    }

    /// A REQ-VIEW-CHANGE.
    pub(crate) fn on_req_view_change(
        &mut self,
        _now: Instant,
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
        self.add_view_change_vote(m.sender, m.new_view, out);
    }

    fn add_view_change_vote(&mut self, sender: ReplicaId, new_view: View, out: &mut ZOutbox) {
        let votes = self.suspicion.votes.entry(new_view).or_default();
        votes.insert(sender);
        if votes.len() >= self.config.quorum() as usize
            && new_view == self.view + 1
            && !self.suspicion.quorum_reported
        {
            self.suspicion.quorum_reported = true;
            out.event(Event::TimerIgnored {
                kind: TimerKind::ViewChange,
            });
        }
    }
}
