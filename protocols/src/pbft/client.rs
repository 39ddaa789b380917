//! The PBFT client: sends each request to the primary, waits for `f + 1` matching replies
//! with valid MACs, and on timeout resends the request to every replica.

use super::config::Config;
use super::messages::Message;
use crate::delay::RetransmitTimer;
use crate::error::ProtocolError;
use crate::event::{Event, RejectReason};
use crate::metrics::Metrics;
use crate::minbft::auth::ClientKeyring;
use crate::minbft::messages::{MessageKind, Request, RequestAuth};
use crate::node::{ClientId, NodeId, ReplicaId};
use crate::outbox::{Outbox, TimerKind};
use crate::time::Instant;
use std::sync::Arc;

/// A closed-loop PBFT client with at most one outstanding request.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Client {
    id: ClientId,
    config: Arc<Config>,
    keys: Arc<ClientKeyring>,
    next_seq: u64,
    outstanding: Option<(Arc<Request>, Instant)>,
    /// Valid replies for the outstanding request, at most one per replica (bound: `n`).
    replies: Vec<(ReplicaId, Vec<u8>)>,
    /// The retransmission wait, following the latencies observed.
    timer: RetransmitTimer,
    metrics: Metrics,
}

impl Client {
    /// Client `id` of the group `config`, holding `keys`.
    pub fn new(id: ClientId, config: Arc<Config>, keys: Arc<ClientKeyring>) -> Self {
        let timer = RetransmitTimer::new(config.retransmit_timeout, config.retransmit_timeout_max);
        Client {
            id,
            config,
            keys,
            next_seq: 1,
            outstanding: None,
            replies: Vec::new(),
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

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Sends `op` to the primary (of view 0: this baseline has no view change) and arms
    /// the retransmission timer; returns the request number.
    pub fn submit(
        &mut self,
        now: Instant,
        op: Vec<u8>,
        out: &mut Outbox<Message>,
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
        self.outstanding = Some((request.clone(), now));
        self.metrics.count_sent(MessageKind::Request);
        out.send(
            NodeId::Replica(self.config.primary_of(0)),
            Message::Request(request),
        );
        out.set_timer(TimerKind::Retransmit, now + self.timer.start());
        Ok(seq)
    }

    /// Handles a message; only replies are expected.
    pub fn on_message(
        &mut self,
        now: Instant,
        from: NodeId,
        msg: Message,
        out: &mut Outbox<Message>,
    ) {
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
        let Some((request, sent_at)) = &self.outstanding else {
            self.metrics.stale += 1;
            return;
        };
        if reply.seq != request.seq || self.replies.iter().any(|(r, _)| *r == reply.replica) {
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
            .filter(|(_, res)| *res == reply.result)
            .count();
        if matching < self.config.reply_quorum() {
            self.replies.push((reply.replica, reply.result));
            return;
        }
        let (seq, latency) = (request.seq, now - *sent_at);
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

    /// On [`TimerKind::Retransmit`], resends the outstanding request to every replica.
    pub fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Outbox<Message>) {
        match (kind, &self.outstanding) {
            (TimerKind::Retransmit, Some((request, _))) => {
                let seq = request.seq;
                self.metrics.count_sent(MessageKind::Request);
                out.broadcast(Message::Request(request.clone()));
                out.set_timer(TimerKind::Retransmit, now + self.timer.fired(true));
                out.event(Event::Retransmitted {
                    client: self.id,
                    seq,
                });
            }
            _ => out.event(Event::TimerIgnored { kind }),
        }
    }

    fn reject(
        &mut self,
        from: NodeId,
        kind: MessageKind,
        reason: RejectReason,
        out: &mut Outbox<Message>,
    ) {
        self.metrics.count_rejected(reason);
        out.event(Event::MessageRejected { from, kind, reason });
    }
}

impl Client {
    /// Client `id` of the group `config` with keys derived from `seed` (matching
    /// [`super::Replica::from_seed`]).
    pub fn from_seed(id: ClientId, config: Arc<Config>, seed: u64) -> Self {
        let keys = ClientKeyring::from_seed(config.client_auth, id, config.replica_count, seed);
        Client::new(id, config, Arc::new(keys))
    }
}
