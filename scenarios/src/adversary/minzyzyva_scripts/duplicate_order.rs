//! `duplicate-order`: a MinZyzyva primary that orders client requests a second time, in a
//! second ORDER-REQ under a second, valid `UI_p` (paper §5: "A faulty primary can try to
//! cause the reexecution of some requests by assigning it two different UI identifiers.
//! However, the servers detect this misbehavior using the clients' seq identifier").
//!
//! **Why this variant.** The USIG gives one counter value to one message, so a primary
//! cannot send two different ORDER-REQs with the same `UI_p`; with authenticated clients it
//! cannot make up a second request with a client's `seq` either (backups check the
//! client's authenticator). What it *can* do is order the very same request again under a
//! later counter value, and that is what this script does, for every `every`-th request,
//! `lag` ORDER-REQs later (0: right after the original; a larger lag lands the duplicate
//! after the client's next requests, and after checkpoints that garbage-collected the
//! original). Every counter value reaches every backup, so the duplicates leave no hole
//! and cannot be told from correct ORDER-REQs by their UIs: only `V_req` keeps correct
//! replicas from executing them again.
//!
//! The duplicates are also the most damaging choice for liveness: the wrapped replica
//! never sees them (a replica cannot deliver its own ORDER-REQ to itself), so from the
//! first duplicate on, its history digest differs from the backups'. Its speculative
//! RESPONSEs never match theirs, no request can complete with `2f + 1` matching responses,
//! and every one must take the non-gracious path (commit certificate, LOCAL-COMMIT); its
//! CHECKPOINTs are outvoted, and its VIEW-CHANGEs show gaps in `O` (the duplicates' counter
//! values) that correct replicas refuse. FILL-HOLEs for a duplicate's counter value are
//! answered from the duplicates kept here.
//!
//! **The literal variant** (`request = "altered"`): two *different* requests with one
//! client's `seq`. The script orders, first, the client's request with its operation
//! altered and its authenticator kept (which no longer matches), then lets the wrapped
//! replica order the real one under the next `UI_p`. Were clients unauthenticated, backups
//! would execute the altered operation for the client's `seq` and skip the real one, and
//! the client, whose `UI_p` check refuses every response for the altered request, would
//! never complete: the paper's model authenticates clients, and so do the catalog
//! scenarios. With authenticated clients, backups refuse the altered request
//! (`BadClientAuth`), the primary's stream stops there for them, and FILL-HOLE (answered
//! with the same altered request) ends in a view change.

use crate::adversary::Adversary;
use minlab_protocols::minbft::messages::Request;
use minlab_protocols::minzyzyva::certify::{order_bytes, order_digest};
use minlab_protocols::minzyzyva::{Message, OrderReq, Replica};
use minlab_protocols::service::Service;
use minlab_protocols::{Instant, NodeId, Outbox, Output, TimerKind};
use minlab_usig::Usig;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Most duplicates kept to answer FILL-HOLEs with.
const DUPLICATES_KEPT: usize = 1024;

/// Which request the second ORDER-REQ carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Second {
    /// The same request, `lag` ORDER-REQs after the original.
    Same,
    /// The request with its operation altered (authenticator kept), before the original.
    Altered,
}

impl Second {
    /// The names a scenario file uses.
    pub(super) const NAMES: &'static [&'static str] = &["same", "altered"];

    /// The variant named `name` (one of [`Second::NAMES`]).
    pub(super) fn from_name(name: &str) -> Self {
        if name == "altered" {
            Second::Altered
        } else {
            Second::Same
        }
    }
}

/// The `duplicate-order` script (see the module docs).
pub(super) struct DuplicateOrder<U, S> {
    inner: Replica<U, S>,
    second: Second,
    every: u64,
    lag: u64,
    /// New client requests seen as primary (`request = "altered"`).
    requests: u64,
    /// ORDER-REQs sent by the wrapped replica as primary.
    ordered: u64,
    /// Requests to order again, with the value of `ordered` at which to do it. Bound:
    /// `lag / every + 1` entries.
    pending: VecDeque<(u64, Arc<OrderReq>)>,
    /// The duplicates sent, by counter value. Bound: [`DUPLICATES_KEPT`], oldest dropped.
    duplicates: BTreeMap<u64, Arc<OrderReq>>,
    out: Outbox<Message>,
}

impl<U: Usig, S: Service> DuplicateOrder<U, S> {
    /// Wraps `inner`, ordering every `every`-th request a second time: the same request
    /// `lag` ORDER-REQs later, or an altered one first.
    pub(super) fn new(inner: Replica<U, S>, second: Second, every: u64, lag: u64) -> Self {
        DuplicateOrder {
            inner,
            second,
            every,
            lag,
            requests: 0,
            ordered: 0,
            pending: VecDeque::new(),
            duplicates: BTreeMap::new(),
            out: Outbox::new(),
        }
    }

    /// Orders `original`'s batch again under a fresh `UI_p`, if this replica is still
    /// the primary of the original's view.
    fn duplicate(&mut self, original: &OrderReq, out: &mut Outbox<Message>) {
        if !self.inner.is_primary() || self.inner.view() != original.view {
            return;
        }
        self.order(original.view, original.batch.clone(), out);
    }

    /// Orders `batch` under a fresh `UI_p` of view `view` and multicasts it.
    fn order(&mut self, view: u64, batch: Vec<Arc<Request>>, out: &mut Outbox<Message>) {
        let bytes = order_bytes(view, &order_digest(&batch));
        let Ok(ui) = self.inner.usig_mut().create_ui(&bytes) else {
            return;
        };
        let dup = Arc::new(OrderReq {
            view,
            primary: self.inner.id(),
            batch,
            ui,
        });
        self.duplicates.insert(dup.ui.counter, dup.clone());
        while self.duplicates.len() > DUPLICATES_KEPT {
            self.duplicates.pop_first();
        }
        out.broadcast(Message::OrderReq(dup));
    }

    /// Passes the wrapped replica's outputs on, and the duplicates that are due.
    fn forward(&mut self, out: &mut Outbox<Message>) {
        let outputs: Vec<_> = self.out.drain().collect();
        for o in outputs {
            let order = match &o {
                Output::Broadcast {
                    msg: Message::OrderReq(order),
                } => Some(order.clone()),
                _ => None,
            };
            out.push(o);
            let Some(order) = order else { continue };
            self.ordered += 1;
            if self.second == Second::Same && self.ordered.is_multiple_of(self.every) {
                self.pending.push_back((self.ordered + self.lag, order));
            }
            while let Some((due, _)) = self.pending.front()
                && *due <= self.ordered
            {
                let (_, original) = self.pending.pop_front().expect("just looked");
                self.duplicate(&original, out);
            }
        }
    }

    /// `request = "altered"`: orders a new client request with its operation altered, before
    /// the wrapped replica orders the real one.
    fn order_altered_first(&mut self, from: NodeId, req: &Arc<Request>, out: &mut Outbox<Message>) {
        let new = from == NodeId::Client(req.client)
            && req.seq > self.inner.last_executed_by_client(req.client)
            && self.inner.is_primary()
            && !self.inner.is_changing_view();
        if !new {
            return;
        }
        self.requests += 1;
        if !self.requests.is_multiple_of(self.every) {
            return;
        }
        let mut altered = (**req).clone();
        altered.op.push(0xEE);
        let view = self.inner.view();
        self.order(view, vec![Arc::new(altered)], out);
    }

    /// Answers a FILL-HOLE for duplicates' counter values, which the wrapped replica
    /// cannot (it never logged them).
    fn fill_duplicates(&self, from: NodeId, from_cv: u64, to_cv: u64, out: &mut Outbox<Message>) {
        for dup in self
            .duplicates
            .range(from_cv..=to_cv.max(from_cv))
            .map(|e| e.1)
        {
            out.send(from, Message::OrderReq(dup.clone()));
        }
    }
}

impl<U: Usig, S: Service> Adversary<Message> for DuplicateOrder<U, S> {
    fn on_message(&mut self, now: Instant, from: NodeId, msg: Message, out: &mut Outbox<Message>) {
        if let Message::FillHole(m) = &msg
            && m.view == self.inner.view()
            && self.inner.is_primary()
        {
            self.fill_duplicates(from, m.from, m.to, out);
        }
        if let Message::Request(req) = &msg
            && self.second == Second::Altered
        {
            self.order_altered_first(from, req, out);
        }
        self.inner.on_message(now, from, msg, &mut self.out);
        self.forward(out);
    }

    fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Outbox<Message>) {
        self.inner.on_timer(now, kind, &mut self.out);
        self.forward(out);
    }
}
