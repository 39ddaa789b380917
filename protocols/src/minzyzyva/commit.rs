//! Non-gracious execution at the replicas (paper §5): a client's COMMIT carries a commit
//! certificate (`f + 1` matching responses); a replica that executed the same history up
//! to that request commits it and acknowledges with LOCAL-COMMIT. Committing a prefix is
//! also what stable checkpoints do, and it is the only place that reports
//! [`Event::RequestExecuted`]: the final, agreed executions.

use super::certify::{
    local_commit_auth_bytes, order_bytes, order_root_of, outcome_root_of, request_digest,
    response_bytes,
};
use super::messages::{Commit, LocalCommit, Message};
use super::replica::{Replica, ZOutbox};
use crate::event::{Event, RejectReason};
use crate::minbft::messages::MessageKind;
use crate::node::{NodeId, ReplicaId};
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use std::sync::Arc;

impl<U: Usig, S: Service> Replica<U, S> {
    /// A COMMIT from a client.
    pub(crate) fn on_commit(
        &mut self,
        now: Instant,
        from: NodeId,
        c: Arc<Commit>,
        out: &mut ZOutbox,
    ) {
        let kind = MessageKind::Commit;
        if from != NodeId::Client(c.client) || c.request.client != c.client {
            return self.reject(from, kind, RejectReason::WrongSender, out);
        }
        if !self.clients.knows(c.client) {
            return self.reject(from, kind, RejectReason::UnknownClient, out);
        }
        if let Err(reason) = self.check_certificate(&c) {
            return self.reject(from, kind, reason, out);
        }
        // Paper §5: "With the UI_p and UI_s in the COMMIT message, the servers update
        // their vector values": here, a certified counter value of the current primary
        // beyond what this replica processed reveals a hole.
        if c.view == self.view && c.order_ui.counter > self.accepted {
            let (from_cv, to_cv) = (self.accepted + 1, c.order_ui.counter);
            self.note_hole(now, from_cv, to_cv, out);
        }
        let slot = match self.history.slot_of(c.view, c.order_ui.counter) {
            Some(slot) => {
                let e = self.history.get(slot).expect("indexed slots are present");
                if e.history != c.history {
                    // A different history led to this order here: not ours to commit (a
                    // correct replica never gets here; see the module docs of `super`).
                    self.metrics.stale += 1;
                    return;
                }
                slot
            }
            None if self.below_base(c.view, c.order_ui.counter) => self.history.base_slot,
            None => {
                // Not executed yet: no LOCAL-COMMIT; the client resends its COMMIT.
                self.metrics.stale += 1;
                return;
            }
        };
        self.commit_prefix(slot, out);
        let auth = self.clients.reply_auth(
            c.client,
            c.request.seq,
            &local_commit_auth_bytes(c.view, c.order_ui.counter),
        );
        self.metrics.mac_ops += u64::from(auth.is_some());
        self.metrics.count_sent(MessageKind::LocalCommit);
        out.send(
            from,
            Message::LocalCommit(Arc::new(LocalCommit {
                replica: self.id,
                client: c.client,
                seq: c.request.seq,
                view: c.view,
                counter: c.order_ui.counter,
                auth,
            })),
        );
    }

    /// True when the ORDER-REQ `(view, counter)` is at or below the stable checkpoint.
    fn below_base(&self, view: u64, counter: u64) -> bool {
        match self.history.entries.front() {
            Some(first) => (view, counter) < (first.order.view, first.order.ui.counter),
            None => self.history.base_slot > 0 && view <= self.view && counter <= self.accepted,
        }
    }

    /// Checks a commit certificate: `UI_p` by the primary of its view, and `f + 1`
    /// distinct responders, each backup with a valid `UI_s` over the agreed response.
    pub(crate) fn check_certificate(&mut self, c: &Commit) -> Result<(), RejectReason> {
        let bad = RejectReason::InvalidCommitCertificate;
        let n = self.config.replica_count;
        if c.responses.len() < self.config.quorum() as usize || c.responses.len() > n as usize {
            return Err(bad);
        }
        if c.in_batch.len as usize > self.config.batch_size_max {
            return Err(bad);
        }
        let primary = self.config.primary_of(c.view);
        let order_root = order_root_of(&request_digest(&c.request), &c.in_batch).ok_or(bad)?;
        let outcome_root = outcome_root_of(&c.result_digest, &c.in_batch).ok_or(bad)?;
        self.metrics.usig_verifies += 1;
        if self
            .usig
            .verify_ui(primary, &c.order_ui, &order_bytes(c.view, &order_root))
            .is_err()
        {
            return Err(RejectReason::BadUi);
        }
        let bytes = response_bytes(
            c.view,
            c.order_ui.counter,
            &order_root,
            &outcome_root,
            &c.history,
        );
        let mut seen: u64 = 0;
        for r in &c.responses {
            let r_id: ReplicaId = r.replica;
            if r_id >= n || seen & (1 << r_id) != 0 {
                return Err(bad);
            }
            seen |= 1 << r_id;
            match (&r.ui, r_id == primary) {
                (None, true) => {}
                (Some(ui), false) => {
                    self.metrics.usig_verifies += 1;
                    if self.usig.verify_ui(r_id, ui, &bytes).is_err() {
                        return Err(RejectReason::BadUi);
                    }
                }
                _ => return Err(bad),
            }
        }
        Ok(())
    }

    /// Commits the history up to `slot` and reports each newly committed execution with
    /// [`Event::RequestExecuted`], in order.
    pub(crate) fn commit_prefix(&mut self, slot: u64, out: &mut ZOutbox) {
        for e in self.history.commit_to(slot) {
            for (index, (req, outcome)) in e.requests().enumerate() {
                let Some(position) = outcome.position else {
                    continue;
                };
                out.event(Event::RequestExecuted {
                    position,
                    request: req.clone(),
                    view: e.order.view,
                    counter: e.order.ui.counter,
                    index: index as u32,
                    client: req.client,
                    client_seq: req.seq,
                    result_digest: outcome.result_fnv,
                });
            }
        }
    }
}
