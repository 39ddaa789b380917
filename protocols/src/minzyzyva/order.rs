//! Gracious execution (paper §5, steps 1-3): the primary gives each request a `UI_p` and
//! sends it in an ORDER-REQ; every replica checks `UI_p` and FIFO order, executes the
//! request speculatively and sends its RESPONSE straight to the client. Also the
//! non-gracious part of request handling: cached responses, and backups forwarding a
//! resent request to the primary under a timer.

use super::certify::{
    extend_history, order_bytes, request_digest, response_auth_bytes, response_bytes, result_digest,
};
use super::history::Entry;
use super::messages::{Message, OrderReq, Response, Sent};
use super::replica::{PrimaryMsg, Replica, ZOutbox};
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
            return;
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
            self.order(req, out);
        } else {
            self.forward_and_watch(now, req, out);
        }
    }

    /// Primary: assigns `UI_p`, multicasts the ORDER-REQ and executes it itself.
    fn order(&mut self, req: Arc<Request>, out: &mut ZOutbox) {
        if self.history.head() - self.checkpoints.stable >= self.config.log_window {
            // The history above the stable checkpoint is full: the client will resend.
            self.metrics.stale += 1;
            return;
        }
        let digest = request_digest(&req);
        self.metrics.usig_creates += 1;
        let ui = match self.usig.create_ui(&order_bytes(self.view, &digest)) {
            Ok(ui) => ui,
            Err(error) => {
                return out.event(Event::UsigFailed {
                    error: Box::new(error),
                });
            }
        };
        let order = Arc::new(OrderReq {
            view: self.view,
            primary: self.id,
            request: req,
            ui,
        });
        self.accepted = order.ui.counter;
        self.order_log
            .insert(order.ui.counter, PrimaryMsg::Order(order.clone()));
        self.log_sent(Sent::Order(order.clone()));
        self.metrics.count_sent(MessageKind::OrderReq);
        out.broadcast(Message::OrderReq(order.clone()));
        self.execute_order(&order, out);
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
            self.suspect_primary(now, out);
        }
        self.arm_request_timer(out);
    }

    /// Primary: resends the ORDER-REQ of `req` to a backup that forwarded it, if still
    /// logged.
    fn resend_order_of(&mut self, to: NodeId, req: &Request, out: &mut ZOutbox) {
        let found = self.history.entries.iter().rev().find(|e| {
            e.order.request.client == req.client
                && e.order.request.seq == req.seq
                && e.order.view == self.view
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
        if self.vc.changing {
            // The new primary's ORDER-REQ overtook its NEW-VIEW: held until it arrives.
            return self.hold_early(from, o.ui.counter, PrimaryMsg::Order(o), out);
        }
        if let Err(reason) = self.admit(o.ui.counter) {
            return self.reject(from, kind, reason, out);
        }
        self.metrics.usig_verifies += 1;
        let bytes = order_bytes(o.view, &request_digest(&o.request));
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
                    &order_bytes(o.view, &request_digest(&o.request)),
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
                Ok(()) => {
                    self.accepted = c;
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
                if !self
                    .clients
                    .verify_request_counted(&o.request, &mut self.metrics)
                {
                    return Err(RejectReason::BadClientAuth);
                }
                self.execute_order(o, out);
                Ok(())
            }
            PrimaryMsg::Checkpoint(c) => {
                self.record_checkpoint_vote(c.clone(), out);
                Ok(())
            }
        }
    }

    /// Speculative execution of one ORDER-REQ (paper §5, step 3), exactly once per
    /// request (`V_req`): a request ordered twice takes a history slot but is not executed
    /// again and gets no second response.
    pub(crate) fn execute_order(&mut self, o: &Arc<OrderReq>, out: &mut ZOutbox) {
        let req = &o.request;
        let rdigest = request_digest(req);
        self.state.history = extend_history(&self.state.history, o.view, o.ui.counter, &rdigest);
        self.state.slots += 1;
        let history = self.state.history;
        if let Some(&(seq, _)) = self.watched.get(&req.client)
            && seq <= req.seq
        {
            self.watched.remove(&req.client);
            self.arm_request_timer(out);
        }
        let rec = &mut self.state.records[req.client as usize];
        if req.seq <= rec.last_seq {
            self.history.push(Entry {
                order: o.clone(),
                position: None,
                result_fnv: 0,
                history,
                response: None,
            });
            self.after_slot(out);
            return;
        }
        let result = self.service.execute(&req.op);
        let position = self.state.executed_count;
        self.state.executed_count += 1;
        self.metrics.requests_executed += 1;
        self.metrics.batches_executed += 1;
        let rd = result_digest(&result);
        let ui = if self.is_primary() && o.primary == self.id {
            None
        } else {
            self.metrics.usig_creates += 1;
            let bytes = response_bytes(o.view, o.ui.counter, &rdigest, &rd, &history);
            match self.usig.create_ui(&bytes) {
                Ok(ui) => {
                    self.log_sent(Sent::Response {
                        order: o.clone(),
                        result_digest: rd,
                        history,
                        ui: ui.clone(),
                    });
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
            result: result.clone(),
            history,
            order_ui: o.ui.clone(),
            ui,
            auth,
        });
        let rec = &mut self.state.records[req.client as usize];
        rec.last_seq = req.seq;
        rec.last_result = result;
        rec.last_response = Some(resp.clone());
        out.event(Event::SpeculativelyExecuted {
            position,
            request: o.request.clone(),
            view: o.view,
            counter: o.ui.counter,
            client: req.client,
            client_seq: req.seq,
            result_digest: fnv,
        });
        self.history.push(Entry {
            order: o.clone(),
            position: Some(position),
            result_fnv: fnv,
            history,
            response: Some(resp.clone()),
        });
        self.metrics.count_sent(MessageKind::Response);
        out.send(NodeId::Client(req.client), Message::Response(resp));
        self.after_slot(out);
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
