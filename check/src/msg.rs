//! The model's message and timer types: protocol messages wrapped with the total order
//! stateright needs, plus the observations clients report to the history.

use minlab_protocols::machine::ProtocolMessage;
use minlab_protocols::service::kv::KvOp;
use minlab_protocols::{ClientId, Message, TimerKind};
use std::cmp::Ordering;

/// What travels in the model's network: protocol messages of type `M` (MinBFT's by
/// default, MinZyzyva's in its model) and observations.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Msg<M = Message> {
    /// A protocol message between nodes.
    Protocol(M),
    /// A client's invocation or completion, sent to the observer address (no actor), so
    /// that `record_msg_out` can put it in the history; it is never delivered.
    Observe(Observation),
}

/// An invocation or return at a client, for the linearizability history.
#[derive(Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Observation {
    /// Client `client` invoked `op`.
    Invoke {
        /// The client.
        client: ClientId,
        /// The KV operation.
        op: KvOpKey,
    },
    /// Client `client`'s outstanding operation returned `result`.
    Return {
        /// The client.
        client: ClientId,
        /// The result bytes (see the KV service's encoding).
        result: Vec<u8>,
    },
}

/// A [`KvOp`] with a total order (by its encoding), as stateright's actions need.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct KvOpKey(pub KvOp);

impl Ord for KvOpKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.encode().cmp(&other.0.encode())
    }
}

impl PartialOrd for KvOpKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A cheap first key: the message type, then its encoding breaks ties. Equal messages
/// compare equal; different ones never do (the encoding is injective), so the order of
/// actions, and with it every reported path, is deterministic.
fn kind_rank<M: ProtocolMessage>(m: &M) -> usize {
    m.kind().index()
}

fn encoding<M: ProtocolMessage>(m: &M) -> Vec<u8> {
    let mut buf = Vec::new();
    m.encode_into(&mut buf)
        .map_or_else(|_| Vec::new(), |()| buf)
}

impl<M: ProtocolMessage + Eq> Ord for Msg<M> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Msg::Protocol(a), Msg::Protocol(b)) => {
                if a == b {
                    return Ordering::Equal;
                }
                kind_rank(a)
                    .cmp(&kind_rank(b))
                    .then_with(|| encoding(a).cmp(&encoding(b)))
            }
            (Msg::Protocol(_), Msg::Observe(_)) => Ordering::Less,
            (Msg::Observe(_), Msg::Protocol(_)) => Ordering::Greater,
            (Msg::Observe(a), Msg::Observe(b)) => a.cmp(b),
        }
    }
}

impl<M: ProtocolMessage + Eq> PartialOrd for Msg<M> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A model timer: one per protocol [`TimerKind`], so each fires independently and at any
/// moment (stateright has no clock).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct Timer(pub TimerKind);

#[cfg(test)]
mod tests {
    use super::*;
    use minlab_protocols::minbft::{ReqViewChange, Request, RequestAuth};
    use std::sync::Arc;

    fn request(client: u32, seq: u64) -> Msg {
        Msg::Protocol(Message::Request(Arc::new(Request {
            client,
            seq,
            op: vec![],
            auth: RequestAuth::None,
        })))
    }

    // Paths are replayed by action index, so the order must be total and agree with Eq.
    #[test]
    fn order_is_total_and_agrees_with_equality() {
        let rvc = Msg::Protocol(Message::ReqViewChange(Arc::new(ReqViewChange {
            sender: 1,
            view: 0,
            new_view: 1,
        })));
        let obs = Msg::Observe(Observation::Return {
            client: 0,
            result: vec![0],
        });
        let all = [request(0, 1), request(0, 2), request(1, 1), rvc, obs];
        for (i, a) in all.iter().enumerate() {
            for (j, b) in all.iter().enumerate() {
                assert_eq!(a.cmp(b) == Ordering::Equal, i == j, "{a:?} vs {b:?}");
                assert_eq!(a.cmp(b), b.cmp(a).reverse());
            }
        }
        assert_eq!(request(0, 1).cmp(&request(0, 1)), Ordering::Equal);
    }
}
