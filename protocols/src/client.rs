//! The MinBFT client (paper §4, Clients), Sans-IO like the replica: it sends each request
//! to all replicas, waits for `f + 1` matching replies, and retransmits on a timer.

use crate::delay::RetransmitTimer;
use crate::error::ProtocolError;
use crate::event::{Event, RejectReason};
use crate::metrics::Metrics;
use crate::minbft::auth::ClientKeyring;
use crate::minbft::config::Config;
use crate::minbft::messages::{Message, MessageKind, Request, RequestAuth};
use crate::node::{ClientId, NodeId, ReplicaId};
use crate::outbox::{Outbox, TimerKind};
use crate::time::Instant;
use std::sync::Arc;

/// A closed-loop client with at most one outstanding request.
///
/// Request numbers start at 1 and increase by one per request, which is what the
/// replicas' `V_req` needs for exactly-once execution.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Client {
    id: ClientId,
    config: Arc<Config>,
    keys: Arc<ClientKeyring>,
    next_seq: u64,
    outstanding: Option<Outstanding>,
    /// Replies for the outstanding request, at most one per replica (bound: `n`).
    replies: Vec<(ReplicaId, Vec<u8>)>,
    /// The retransmission wait, following the latencies observed (between
    /// `retransmit_timeout` and `retransmit_timeout_max`).
    timer: RetransmitTimer,
    metrics: Metrics,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct Outstanding {
    request: Arc<Request>,
    sent_at: Instant,
}

impl Client {
    /// Client `id` of the group `config`, holding `keys`.
    pub fn new(id: ClientId, config: Arc<Config>, keys: Arc<ClientKeyring>) -> Self {
        let replies = Vec::with_capacity(config.replica_count as usize);
        let timer = RetransmitTimer::new(config.retransmit_timeout, config.retransmit_timeout_max);
        Client {
            id,
            config,
            keys,
            next_seq: 1,
            outstanding: None,
            replies,
            timer,
            metrics: Metrics::default(),
        }
    }

    /// This client's id.
    pub fn id(&self) -> ClientId {
        self.id
    }

    /// True when no request is outstanding.
    pub fn is_idle(&self) -> bool {
        self.outstanding.is_none()
    }

    /// The number the next request will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Sends `op` to every replica and arms the retransmission timer; returns the request
    /// number. Fails if a request is outstanding.
    pub fn submit(
        &mut self,
        now: Instant,
        op: Vec<u8>,
        out: &mut Outbox,
    ) -> Result<u64, ProtocolError> {
        if self.outstanding.is_some() {
            return Err(ProtocolError::ClientBusy(self.id));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let auth = self.keys.authenticate_parts(self.id, seq, &op);
        match &auth {
            RequestAuth::None => {}
            RequestAuth::Macs(tags) => self.metrics.mac_ops += tags.len() as u64,
            RequestAuth::Ed25519(_) => self.metrics.signature_ops += 1,
        }
        let request = Arc::new(Request {
            client: self.id,
            seq,
            op,
            auth,
        });
        self.replies.clear();
        self.outstanding = Some(Outstanding {
            request: request.clone(),
            sent_at: now,
        });
        self.metrics.count_sent(MessageKind::Request);
        out.broadcast(Message::Request(request));
        out.set_timer(TimerKind::Retransmit, now + self.timer.start());
        Ok(seq)
    }

    /// Handles a message; only replies are expected.
    pub fn on_message(&mut self, now: Instant, from: NodeId, msg: Message, out: &mut Outbox) {
        let kind = msg.kind();
        self.metrics.count_received(kind);
        let Message::Reply(reply) = msg else {
            return self.reject(from, kind, RejectReason::UnexpectedMessage, out);
        };
        if reply.replica >= self.config.replica_count {
            return self.reject(from, kind, RejectReason::UnknownReplica, out);
        }
        if from != NodeId::Replica(reply.replica) {
            return self.reject(from, kind, RejectReason::WrongSender, out);
        }
        if reply.client != self.id {
            return self.reject(from, kind, RejectReason::UnexpectedMessage, out);
        }
        let Some(o) = &self.outstanding else {
            self.metrics.stale += 1;
            return;
        };
        if reply.seq != o.request.seq || self.replies.iter().any(|(r, _)| *r == reply.replica) {
            // A late reply, or a second one from the same replica.
            self.metrics.stale += 1;
            return;
        }
        self.metrics.mac_ops += u64::from(reply.auth.is_some());
        if !self.keys.verify_reply(&reply) {
            return self.reject(from, kind, RejectReason::BadReplyAuth, out);
        }
        let matching = 1 + self
            .replies
            .iter()
            .filter(|(_, res)| same_bytes(res, &reply.result))
            .count();
        if matching < self.config.quorum() as usize {
            self.replies.push((reply.replica, reply.result));
            return;
        }
        let seq = o.request.seq;
        let latency = now - o.sent_at;
        self.timer.completed(latency);
        self.outstanding = None;
        self.replies.clear();
        out.cancel_timer(TimerKind::Retransmit);
        out.event(Event::Completed {
            client: self.id,
            seq,
            result: reply.result,
            latency,
        });
    }

    /// Handles a timer: on [`TimerKind::Retransmit`], resends the outstanding request.
    pub fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Outbox) {
        match (kind, &self.outstanding) {
            (TimerKind::Retransmit, Some(o)) => {
                let seq = o.request.seq;
                self.metrics.count_sent(MessageKind::Request);
                out.broadcast(Message::Request(o.request.clone()));
                out.set_timer(TimerKind::Retransmit, now + self.timer.fired(true));
                out.event(Event::Retransmitted {
                    client: self.id,
                    seq,
                });
            }
            _ => out.event(Event::TimerIgnored { kind }),
        }
    }

    fn reject(&mut self, from: NodeId, kind: MessageKind, reason: RejectReason, out: &mut Outbox) {
        self.metrics.count_rejected(reason);
        out.event(Event::MessageRejected { from, kind, reason });
    }
}

/// Byte-string equality that skips the `memcmp` call for the (common) empty results.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}
