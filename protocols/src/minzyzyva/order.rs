//! Gracious execution (paper §5, steps 1-3): the primary gives each batch of requests a
//! `UI_p` and sends it in an ORDER-REQ; every replica checks `UI_p` and FIFO order,
//! executes the batch speculatively and sends each client its RESPONSE straight away, all
//! of a batch under one `UI_s`. Also the non-gracious part of request handling: cached
//! responses (and a REPLY from the stable checkpoint), and backups forwarding a resent
//! request to the primary under a timer.
//!
//! **Batching** follows MinBFT's primary (and the paper's prototypes, §7): requests queue
//! at the primary; a full batch (`batch_size_max`) is ordered at once, a partial one when
//! the batch timer (`batch_timeout`) fires. With `batch_size_max = 1` every request is
//! ordered as it arrives, as in the paper's description of MinZyzyva.

use super::certify::{
    extend_history, order_bytes, order_tree, outcome_tree, response_auth_bytes, response_bytes,
    result_digest, stable_reply_auth_bytes,
};
use super::history::{Entry, Outcome};
use super::messages::{InBatch, Message, OrderReq, Response, Sent, StableReply};
use super::replica::{PrimaryMsg, Replica, ZOutbox};
use crate::batching::BatchFormer;
use crate::event::{Event, RejectReason};
use crate::minbft::certify::fnv1a;
use crate::minbft::messages::{MessageKind, Request};
use crate::node::{NodeId, ReplicaId};
use crate::outbox::TimerKind;
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use std::sync::Arc;

impl<U: Usig, S: Service> Replica<U, S> {
    /// A REQUEST, from its client or forwarded by a backup (paper §5, non-gracious
    /// execution: "it sends the request to the primary and starts a timer").
    pub(crate) fn on_request(
        &mut self,
        now: Instant,
        from: NodeId,
        req: Arc<Request>,
        out: &mut ZOutbox,
    ) {
        let kind = MessageKind::Request;
        let forwarded = match from {
            NodeId::Client(c) if c == req.client => false,
            NodeId::Replica(r) if r < self.config.replica_count && r != self.id => true,
            _ => return self.reject(from, kind, RejectReason::WrongSender, out),
        };
        if !self.clients.knows(req.client) {
            return self.reject(from, kind, RejectReason::UnknownClient, out);
        }
        if forwarded && !self.is_primary() {
            return self.reject(from, kind, RejectReason::NotPrimary, out);
        }
        let rec = &self.state.records[req.client as usize];
        if req.seq < rec.last_seq {
            return self.reject(from, kind, RejectReason::StaleRequest, out);
        }
        if req.seq == rec.last_seq {
            if forwarded {
                // The forwarding backup misses our ORDER-REQ: resend it.
                return self.resend_order_of(from, &req, out);
            }
            // Paper §5: "If a correct server receives a request that it has executed, it
            // resends the cached response to the client."
            if let Some(resp) = rec.last_response.clone() {
                self.metrics.replies_resent += 1;
                self.metrics.count_sent(MessageKind::Response);
                out.send(from, Message::Response(resp));
            }
            return self.reply_if_stable(&req, out);
        }
        if self.vc.changing {
            // Between views nothing is ordered or forwarded; the client resends.
            self.metrics.stale += 1;
            return;
        }
        if !self.clients.verify_request_counted(&req, &mut self.metrics) {
            return self.reject(from, kind, RejectReason::BadClientAuth, out);
        }
        if self.is_primary() {
            self.queue(req);
            self.maybe_order(now, false, out);
        } else {
            self.forward_and_watch(now, req, out);
        }
    }

    /// Answers a retransmitted request that was executed at or below the stable checkpoint
    /// with a REPLY carrying the result recorded there (see [`StableReply`]): what lets a
    /// client complete when a replica that skipped the request by state transfer (or lost
    /// its cached RESPONSE in a restart) is one of the `f + 1` still up.
    fn reply_if_stable(&mut self, req: &Request, out: &mut ZOutbox) {
        let Some(rec) = self
            .history
            .snapshots
            .get(&self.history.base_slot)
            .and_then(|snap| snap.state.records.get(req.client as usize))
        else {
            return;
        };
        if rec.last_seq != req.seq {
            return;
        }
        let result = rec.last_result.clone();
        let auth = self.clients.reply_auth(
            req.client,
            req.seq,
            &stable_reply_auth_bytes(self.view, &result_digest(&result)),
        );
        self.metrics.mac_ops += u64::from(auth.is_some());
        self.metrics.replies_resent += 1;
        self.metrics.count_sent(MessageKind::Reply);
        out.send(
            NodeId::Client(req.client),
            Message::StableReply(Arc::new(StableReply {
                replica: self.id,
                client: req.client,
                seq: req.seq,
                result,
                view: self.view,
                auth,
            })),
        );
    }

    /// Primary: queues a request for the next batch; a newer request of the same client
    /// replaces a queued older one (closed-loop clients have one outstanding), the same
    /// or an older one is dropped. Bound: one queued request per client.
    fn queue(&mut self, req: Arc<Request>) {
        match self.pending.iter_mut().find(|r| r.client == req.client) {
            Some(queued) if queued.seq < req.seq => *queued = req,
            Some(_) => self.metrics.stale += 1,
            None => self.pending.push_back(req),
        }
    }

    /// Primary: orders queued requests, a full batch at a time, or whatever is queued
    /// when `flush` (the batch timer fired). While the history above the stable
    /// checkpoint is full, requests stay queued and the batch timer polls every
    /// `repair_interval` (a stable checkpoint is what it waits for, as a repair does; a
    /// poll at `batch_timeout`, which may be 0, could fire forever at one instant).
    pub(crate) fn maybe_order(&mut self, now: Instant, flush: bool, out: &mut ZOutbox) {
        if !self.is_primary() || self.vc.changing {
            return;
        }
        let (max, deadline) = (self.config.batch_size_max, now + self.config.batch_timeout);
        loop {
            let window_full =
                self.history.head() - self.checkpoints.stable >= self.config.log_window;
            if window_full && !self.pending.is_empty() {
                self.batch_timer_armed = true;
                out.set_timer(TimerKind::Batch, now + self.config.repair_interval);
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
            if !self.order(batch, out) {
                return;
            }
        }
    }

    /// The batch timer: a partial batch is ordered.
    pub(crate) fn on_batch_timer(&mut self, now: Instant, out: &mut ZOutbox) {
        self.batch_timer_armed = false;
        self.maybe_order(now, true, out);
    }

    /// Primary: assigns `UI_p` to `batch`, multicasts the ORDER-REQ and executes it
    /// itself. False if the USIG failed (the batch is dropped; its clients resend).
    fn order(&mut self, batch: Vec<Arc<Request>>, out: &mut ZOutbox) -> bool {
        let root = order_tree(&batch).digest();
        self.metrics.usig_creates += 1;
        let ui = match self.usig.create_ui(&order_bytes(self.view, &root)) {
            Ok(ui) => ui,
            Err(error) => {
                out.event(Event::UsigFailed {
                    error: Box::new(error),
                });
                return false;
            }
        };
        let order = Arc::new(OrderReq {
            view: self.view,
            primary: self.id,
            batch,
            ui,
        });
        self.accepted = order.ui.counter;
        self.order_log
            .insert(order.ui.counter, PrimaryMsg::Order(order.clone()));
        self.log_sent(Sent::Order(order.clone()), out);
        self.metrics.count_sent(MessageKind::OrderReq);
        out.broadcast(Message::OrderReq(order.clone()));
        self.execute_order(&order, out);
        true
    }

    /// Backup: forwards a request its client resent to it, and gives the primary
    /// `request_timeout` to order it.
    fn forward_and_watch(&mut self, now: Instant, req: Arc<Request>, out: &mut ZOutbox) {
        let deadline = now + self.config.request_timeout;
        let (client, seq) = (req.client, req.seq);
        self.metrics.count_sent(MessageKind::Request);
        out.send(NodeId::Replica(self.primary), Message::Request(req));
        if self.watched.get(&client).is_some_and(|&(s, _)| s >= seq) {
            return;
        }
        self.watched.insert(client, (seq, deadline));
        self.arm_request_timer(out);
    }

    /// Arms the request timer at the earliest watched deadline (or cancels it).
    pub(crate) fn arm_request_timer(&mut self, out: &mut ZOutbox) {
        match self.watched.values().map(|&(_, d)| d).min() {
            Some(d) => out.set_timer(TimerKind::RequestTimeout, d),
            None => out.cancel_timer(TimerKind::RequestTimeout),
        }
    }

    /// The request timer: a watched request the primary did not order in time makes
    /// this backup suspect it (paper §5: "the server initiates a view change").
    pub(crate) fn on_request_timeout(&mut self, now: Instant, out: &mut ZOutbox) {
        let expired = self.watched.values().any(|&(_, d)| d <= now);
        if expired {
            self.watched.clear();
            self.suspect_primary(now, true, out);
        }
        self.arm_request_timer(out);
    }

    /// Primary: resends the ORDER-REQ of `req` to a backup that forwarded it, if still
    /// logged.
    fn resend_order_of(&mut self, to: NodeId, req: &Request, out: &mut ZOutbox) {
        let found = self.history.entries.iter().rev().find(|e| {
            e.order.view == self.view
                && e.order
                    .batch
                    .iter()
                    .any(|r| r.client == req.client && r.seq == req.seq)
        });
        if let Some(e) = found {
            let o = e.order.clone();
            self.metrics.count_sent(MessageKind::OrderReq);
            out.send(to, Message::OrderReq(o));
        }
    }

    /// An ORDER-REQ: checked, `UI_p` verified, then processed in FIFO order.
    pub(crate) fn on_order_req(
        &mut self,
        now: Instant,
        from: NodeId,
        o: Arc<OrderReq>,
        out: &mut ZOutbox,
    ) {
        let kind = MessageKind::OrderReq;
        if let Some(reason) = self.relay_rejection(from, o.primary) {
            return self.reject(from, kind, reason, out);
        }
        if o.view < self.view {
            return self.reject(from, kind, RejectReason::StaleView, out);
        }
        if o.view > self.view {
            return self.reject(from, kind, RejectReason::FutureView, out);
        }
        if o.primary != self.primary {
            return self.reject(from, kind, RejectReason::NotPrimary, out);
        }
        if let Err(reason) = self.check_batch(o.batch.as_slice()) {
            return self.reject(from, kind, reason, out);
        }
        if self.vc.changing {
            // The new primary's ORDER-REQ overtook its NEW-VIEW: held until it arrives.
            return self.hold_early(from, o.ui.counter, PrimaryMsg::Order(o), out);
        }
        if let Err(reason) = self.admit(o.ui.counter) {
            return self.reject(from, kind, reason, out);
        }
        self.metrics.usig_verifies += 1;
        let bytes = order_bytes(o.view, &order_tree(&o.batch).digest());
        if self.usig.verify_ui(o.primary, &o.ui, &bytes).is_err() {
            return self.reject(from, kind, RejectReason::BadUi, out);
        }
        let counter = o.ui.counter;
        self.deliver_primary(now, counter, PrimaryMsg::Order(o), out);
    }

    /// Holds a UI message of the primary of the view being installed (its UI verified),
    /// to be processed in FIFO order after the NEW-VIEW. Bound: `fifo_window` messages.
    pub(crate) fn hold_early(
        &mut self,
        from: NodeId,
        counter: u64,
        m: PrimaryMsg,
        out: &mut ZOutbox,
    ) {
        let kind = m.to_message().kind();
        if self.vc.early.contains_key(&counter) {
            return self.reject(from, kind, RejectReason::DuplicateUi, out);
        }
        if self.vc.early.len() as u64 >= self.config.fifo_window {
            return self.reject(from, kind, RejectReason::AboveHighWaterMark, out);
        }
        self.metrics.usig_verifies += 1;
        let ok = match &m {
            PrimaryMsg::Order(o) => self
                .usig
                .verify_ui(
                    o.primary,
                    &o.ui,
                    &order_bytes(o.view, &order_tree(&o.batch).digest()),
                )
                .is_ok(),
            PrimaryMsg::Checkpoint(c) => self
                .usig
                .verify_ui(c.sender, &c.ui, &super::certify::checkpoint_bytes(c))
                .is_ok(),
        };
        if !ok {
            return self.reject(from, kind, RejectReason::BadUi, out);
        }
        self.vc.early.insert(counter, m);
        // The new primary is in the view already: its NEW-VIEW to us may have been lost.
        // Our VIEW-CHANGE again makes it resend that (see `on_view_change`), at the 1st,
        // 2nd, 4th, 8th... message held: a few chances as its messages keep coming, for a
        // few messages (the repair timer instead added 119 to 168% more states to the model
        // checker's pinned view-change runs, against 8 to 77% for this). Without it this replica's `T_vc` expired and it went
        // on alone to the next view, which the primary, not suspecting itself, never joined.
        if self.vc.early.len().is_power_of_two()
            && let Some(own) = self.vc.received.get(&self.id).cloned()
            && own.new_view == self.view
        {
            self.metrics.count_sent(MessageKind::ViewChange);
            out.send(NodeId::Replica(self.primary), Message::ViewChange(own));
        }
    }

    /// The shape of an ORDER-REQ's batch, checked before its UI: `1 ..= batch_size_max`
    /// requests of known clients.
    pub(crate) fn check_batch(&self, batch: &[Arc<Request>]) -> Result<(), RejectReason> {
        if batch.is_empty() || batch.len() > self.config.batch_size_max {
            Err(RejectReason::MalformedBatch)
        } else if batch.iter().any(|r| !self.clients.knows(r.client)) {
            Err(RejectReason::UnknownClient)
        } else {
            Ok(())
        }
    }

    /// Where a counter value of the primary stands, before a UI verification is spent.
    pub(crate) fn admit(&self, counter: u64) -> Result<(), RejectReason> {
        if counter <= self.accepted || self.parked.contains_key(&counter) {
            Err(RejectReason::DuplicateUi)
        } else if counter - self.accepted > self.config.fifo_window {
            Err(RejectReason::AboveHighWaterMark)
        } else {
            Ok(())
        }
    }

    /// Parks a verified primary message and processes every one that is FIFO-next
    /// (paper §5: a replica "may only accept and speculatively execute requests following
    /// the primary sequence number order"). A gap starts the FILL-HOLE procedure.
    pub(crate) fn deliver_primary(
        &mut self,
        now: Instant,
        counter: u64,
        m: PrimaryMsg,
        out: &mut ZOutbox,
    ) {
        self.parked.insert(counter, m);
        while let Some(entry) = self.parked.first_entry() {
            if *entry.key() != self.accepted + 1
                && !crate::minbft::mutant::mutant!(self, IgnoreFifo)
            {
                break;
            }
            let (c, m) = entry.remove_entry();
            match self.process_primary(&m, out) {
                // `process_primary` advanced `accepted` to `c`.
                Ok(()) => {
                    self.order_log.insert(c, m);
                }
                Err(reason) => {
                    // Not processed: the primary's stream stops here for this replica
                    // (paper §4, condition 2); the FILL-HOLE timer leads to a view change.
                    self.reject(
                        NodeId::Replica(self.primary),
                        MessageKind::OrderReq,
                        reason,
                        out,
                    );
                    self.parked.clear();
                    self.note_hole(now, self.accepted + 1, self.accepted + 1, out);
                    return;
                }
            }
        }
        match self.parked.keys().next() {
            Some(&first) => self.note_hole(now, self.accepted + 1, first - 1, out),
            None => self.hole_filled(out),
        }
    }

    /// Processes the FIFO-next primary message.
    fn process_primary(&mut self, m: &PrimaryMsg, out: &mut ZOutbox) -> Result<(), RejectReason> {
        match m {
            PrimaryMsg::Order(o) => {
                // Paper §4, condition 2, which MinZyzyva inherits: the primary cannot forge
                // requests.
                for r in &o.batch {
                    if !self.clients.verify_request_counted(r, &mut self.metrics) {
                        return Err(RejectReason::BadClientAuth);
                    }
                }
                // Processed from here on (its checkpoint may write a restart point).
                self.accepted = o.ui.counter;
                self.execute_order(o, out);
                Ok(())
            }
            PrimaryMsg::Checkpoint(c) => {
                // Processed before its vote counts (which may make a checkpoint stable and
                // write a restart point holding the FIFO position).
                self.accepted = c.ui.counter;
                self.persist(out, || super::wal::Record::Accepted(c.ui.counter));
                self.record_checkpoint_vote(c.clone(), out);
                Ok(())
            }
        }
    }

    /// Speculative execution of one ORDER-REQ (paper §5, step 3), each request exactly
    /// once (`V_req`): a request ordered twice takes its place in the batch but is not
    /// executed again and gets no second response. A backup answers the batch with one
    /// `UI_s` over its outcome root; every client gets its own RESPONSE with the Merkle
    /// paths to both roots.
    pub(crate) fn execute_order(&mut self, o: &Arc<OrderReq>, out: &mut ZOutbox) {
        let orders = order_tree(&o.batch);
        let order_root = orders.digest();
        self.state.history = extend_history(&self.state.history, o.view, o.ui.counter, &order_root);
        self.state.slots += 1;
        let history = self.state.history;
        let watched_before = self.watched.len();
        for req in &o.batch {
            if let Some(&(seq, _)) = self.watched.get(&req.client)
                && seq <= req.seq
            {
                self.watched.remove(&req.client);
            }
        }
        let results = self.execute_batch(&o.batch);
        self.metrics.requests_executed += results.iter().flatten().count() as u64;
        if self.watched.len() != watched_before {
            self.arm_request_timer(out);
        }
        let executed = results.iter().any(Option::is_some);
        if executed {
            self.metrics.batches_executed += 1;
        }
        let digests: Vec<_> = results
            .iter()
            .map(|r| {
                r.as_ref()
                    .map_or([0; 32], |(_, result)| result_digest(result))
            })
            .collect();
        let outcomes = outcome_tree(digests.clone());
        let outcome_root = outcomes.digest();
        // The primary's UI_p binds it to the order; a backup answers with one UI_s.
        let own_order = self.is_primary() && o.primary == self.id;
        let ui = if own_order || !executed {
            None
        } else {
            self.metrics.usig_creates += 1;
            let bytes = response_bytes(o.view, o.ui.counter, &order_root, &outcome_root, &history);
            match self.usig.create_ui(&bytes) {
                Ok(ui) => {
                    self.log_sent(
                        Sent::Response {
                            order: o.clone(),
                            outcome: outcome_root,
                            history,
                            ui: ui.clone(),
                        },
                        out,
                    );
                    Some(ui)
                }
                Err(error) => {
                    out.event(Event::UsigFailed {
                        error: Box::new(error),
                    });
                    None
                }
            }
        };
        let mut entry_outcomes = Vec::with_capacity(o.batch.len());
        for (index, (req, executed)) in o.batch.iter().zip(results).enumerate() {
            let Some((position, result)) = executed else {
                entry_outcomes.push(Outcome {
                    position: None,
                    result_fnv: 0,
                    response: None,
                });
                continue;
            };
            let rd = digests[index];
            // Only the primary's result needs a MAC: a backup's is bound by its `UI_s`.
            let auth = if ui.is_none() {
                self.clients.reply_auth(
                    req.client,
                    req.seq,
                    &response_auth_bytes(o.view, o.ui.counter, &rd, &history),
                )
            } else {
                None
            };
            self.metrics.mac_ops += u64::from(auth.is_some());
            let fnv = fnv1a(&result);
            let resp = Arc::new(Response {
                view: o.view,
                replica: self.id,
                client: req.client,
                seq: req.seq,
                result,
                history,
                order_ui: o.ui.clone(),
                in_batch: InBatch {
                    len: orders.len(),
                    index: index as u32,
                    order_path: orders.path(index as u32),
                    outcome_path: outcomes.path(index as u32),
                },
                ui: ui.clone(),
                auth,
            });
            self.state.records[req.client as usize].last_response = Some(resp.clone());
            out.event(Event::SpeculativelyExecuted {
                position,
                request: req.clone(),
                view: o.view,
                counter: o.ui.counter,
                client: req.client,
                client_seq: req.seq,
                result_digest: fnv,
            });
            entry_outcomes.push(Outcome {
                position: Some(position),
                result_fnv: fnv,
                response: Some(resp.clone()),
            });
            self.metrics.count_sent(MessageKind::Response);
            out.send(NodeId::Client(req.client), Message::Response(resp));
        }
        self.persist(out, || super::wal::Record::Executed(o.clone()));
        self.history.push(Entry {
            order: o.clone(),
            outcomes: entry_outcomes,
            history,
        });
        self.after_slot(out);
    }

    /// Executes each request of `batch` not executed before (paper §5: each request exactly
    /// once, by `V_req`), in batch order: its position and result, or `None` for a request
    /// executed before. The one execution rule of live execution and of recovery.
    pub(crate) fn execute_batch(&mut self, batch: &[Arc<Request>]) -> Vec<Option<(u64, Vec<u8>)>> {
        let mut results = Vec::with_capacity(batch.len());
        for req in batch {
            let rec = &mut self.state.records[req.client as usize];
            if req.seq <= rec.last_seq {
                results.push(None);
                continue;
            }
            let result = self.service.execute(&req.op);
            let position = self.state.executed_count;
            self.state.executed_count += 1;
            let rec = &mut self.state.records[req.client as usize];
            rec.last_seq = req.seq;
            rec.last_result = result.clone();
            results.push(Some((position, result)));
        }
        results
    }

    /// After each slot: a checkpoint every `cp` slots.
    fn after_slot(&mut self, out: &mut ZOutbox) {
        if self
            .state
            .slots
            .is_multiple_of(self.config.checkpoint_period)
        {
            self.take_checkpoint(out);
        }
    }

    /// The primary of the current view, as a node.
    pub(crate) fn primary_node(&self) -> NodeId {
        NodeId::Replica(self.primary as ReplicaId)
    }
}
