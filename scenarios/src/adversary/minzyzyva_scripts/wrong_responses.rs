//! `wrong-responses`: a MinZyzyva replica that executes correctly but lies in every
//! speculative RESPONSE it sends (paper §5, step 3), each lie under a valid `UI_s` of its
//! own USIG. Clients must never complete on a lie: with one such replica among `2f + 1`,
//! no request can gather `2f + 1` matching RESPONSEs, so every request must complete on
//! the non-gracious path (a commit certificate of the `f + 1` correct, matching
//! responses, then `f + 1` LOCAL-COMMITs).
//!
//! The lie is deterministic (the same for every replica running this script), so that
//! `f` such replicas collude: they send `f` matching wrong responses, one short of a
//! commit certificate. The script holds no client keys: as the primary of a view (whose
//! RESPONSE carries no `UI_s`, only a MAC) its lies fail the clients' MAC check. Each lie
//! consumes a counter value the wrapped replica does not know of, so its VIEW-CHANGEs
//! show gaps in `O` and correct replicas refuse them: it cannot help a view change.

use crate::adversary::Adversary;
use minlab_protocols::minbft::messages::Digest;
use minlab_protocols::minzyzyva::certify::{
    order_digest, outcome_root_of, response_bytes, result_digest,
};
use minlab_protocols::minzyzyva::{Message, OrderReq, Replica, Response};
use minlab_protocols::service::Service;
use minlab_protocols::{ClientId, Instant, NodeId, Outbox, Output, TimerKind, View};
use minlab_usig::Usig;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the replica lies about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lie {
    /// The result of the operation (one byte appended).
    Result,
    /// The history digest (every bit flipped): the result is right, the order it claims
    /// to have executed the request in is not.
    History,
}

impl Lie {
    /// The names a scenario file uses.
    pub(super) const NAMES: &'static [&'static str] = &["result", "history"];

    /// The lie named `name` (one of [`Lie::NAMES`]).
    pub(super) fn from_name(name: &str) -> Self {
        if name == "history" {
            Lie::History
        } else {
            Lie::Result
        }
    }
}

/// Most order roots remembered, by the ORDER-REQ that carried them.
const ORDERS_KEPT: usize = 4096;

/// The `wrong-responses` script (see the module docs).
pub(super) struct WrongResponses<U, S> {
    inner: Replica<U, S>,
    lie: Lie,
    /// Order roots of the ORDER-REQs seen, by `(view, UI_p counter)`: what a lying `UI_s`
    /// must cover. Bound: [`ORDERS_KEPT`], oldest dropped first.
    orders: BTreeMap<(View, u64), Digest>,
    /// The latest lie told to each client, by the honest response it replaced: resent
    /// as it is when the replica resends its cached response. Bound: one per client.
    told: BTreeMap<ClientId, (Arc<Response>, Arc<Response>)>,
    out: Outbox<Message>,
}

impl<U: Usig, S: Service> WrongResponses<U, S> {
    /// Wraps `inner`, lying about `lie`.
    pub(super) fn new(inner: Replica<U, S>, lie: Lie) -> Self {
        WrongResponses {
            inner,
            lie,
            orders: BTreeMap::new(),
            told: BTreeMap::new(),
            out: Outbox::new(),
        }
    }

    fn remember(&mut self, o: &OrderReq) {
        self.orders
            .insert((o.view, o.ui.counter), order_digest(&o.batch));
        while self.orders.len() > ORDERS_KEPT {
            self.orders.pop_first();
        }
    }

    /// The lie replacing the honest response `r`, with a fresh `UI_s` over it (the
    /// primary's keeps its MAC, which no longer matches). `None` when the ORDER-REQ it
    /// answers was forgotten (the response is then dropped).
    fn lie_about(&mut self, r: &Arc<Response>) -> Option<Arc<Response>> {
        if let Some((honest, lie)) = self.told.get(&r.client)
            && **honest == **r
        {
            return Some(lie.clone());
        }
        let mut wrong = (**r).clone();
        match self.lie {
            Lie::Result => wrong.result.push(0xEE),
            Lie::History => wrong.history = wrong.history.map(|b| !b),
        }
        if r.ui.is_some() {
            let order_root = self.orders.get(&(r.view, r.order_ui.counter))?;
            // The lie's outcome root: its result digest up the honest response's path.
            let outcome_root = outcome_root_of(&result_digest(&wrong.result), &r.in_batch)?;
            let bytes = response_bytes(
                r.view,
                r.order_ui.counter,
                order_root,
                &outcome_root,
                &wrong.history,
            );
            wrong.ui = Some(self.inner.usig_mut().create_ui(&bytes).ok()?);
        }
        let wrong = Arc::new(wrong);
        self.told.insert(r.client, (r.clone(), wrong.clone()));
        Some(wrong)
    }

    /// Passes the wrapped replica's outputs on, every RESPONSE replaced by a lie.
    fn forward(&mut self, out: &mut Outbox<Message>) {
        let outputs: Vec<_> = self.out.drain().collect();
        for o in outputs {
            match o {
                Output::Send {
                    to,
                    msg: Message::Response(r),
                } => {
                    if let Some(wrong) = self.lie_about(&r) {
                        out.send(to, Message::Response(wrong));
                    }
                }
                Output::Broadcast {
                    msg: Message::OrderReq(order),
                } => {
                    self.remember(&order);
                    out.broadcast(Message::OrderReq(order));
                }
                other => out.push(other),
            }
        }
    }
}

impl<U: Usig, S: Service> Adversary<Message> for WrongResponses<U, S> {
    fn on_message(&mut self, now: Instant, from: NodeId, msg: Message, out: &mut Outbox<Message>) {
        match &msg {
            Message::OrderReq(o) => self.remember(o),
            Message::NewView(nv) => {
                for o in &nv.orders {
                    self.remember(o);
                }
            }
            _ => {}
        }
        self.inner.on_message(now, from, msg, &mut self.out);
        self.forward(out);
    }

    fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Outbox<Message>) {
        self.inner.on_timer(now, kind, &mut self.out);
        self.forward(out);
    }
}
