//! The MinZyzyva client (paper §5), Sans-IO: it sends each request to the primary,
//! completes on `2f + 1` matching responses (gracious execution), and otherwise, when its
//! timer fires, either sends a commit certificate (`f + 1 ..= 2f` matching responses) and
//! completes on `f + 1` LOCAL-COMMITs, or resends the request to every replica. A request
//! a replica finds at or below its stable checkpoint when resent also completes on `f + 1`
//! matching REPLYs from such replicas ([`super::messages::StableReply`]).
//!
//! Clients check UIs themselves, so they need a USIG whose verification is public: a
//! verify-only [`minlab_usig::Ed25519Usig::verifier`], a TPM 2.0 verifier (pure Rust, from
//! the replicas' TPM identities; `net` uses it), or the simulation's
//! [`minlab_usig::SymbolicUsig`]. [`Client::new`] refuses an HMAC USIG.

use super::certify::{
    local_commit_auth_bytes, order_bytes, order_root_of, outcome_root_of, request_digest,
    response_auth_bytes, response_bytes, result_digest, stable_reply_auth_bytes,
};
use super::messages::{CertifiedResponse, Commit, LocalCommit, Message, Response, StableReply};
use crate::delay::RetransmitTimer;
use crate::error::ProtocolError;
use crate::event::{Event, RejectReason};
use crate::metrics::Metrics;
use crate::minbft::auth::ClientKeyring;
use crate::minbft::config::Config;
use crate::minbft::messages::{Digest, MessageKind, Reply, Request, RequestAuth};
use crate::node::{ClientId, NodeId, ReplicaId, View};
use crate::outbox::{Outbox, TimerKind};
use crate::time::Instant;
use minlab_usig::{Ui, Usig};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A closed-loop MinZyzyva client with at most one outstanding request, checking UIs with
/// the verifier `V`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Client<V> {
    id: ClientId,
    config: Arc<Config>,
    keys: Arc<ClientKeyring>,
    verifier: V,
    next_seq: u64,
    /// The highest view seen in a valid response: its primary gets the next request.
    view_hint: View,
    outstanding: Option<Outstanding>,
    /// How long to wait for `2f + 1` matching responses: `retransmit_timeout`, doubled
    /// while resends go unanswered (the timer found fewer than `f + 1` matching responses,
    /// or a commit certificate was not acknowledged), back to it when `f + 1`
    /// LOCAL-COMMITs acknowledge one. It does not learn from latencies: a gracious
    /// execution that one lagging replica stretched is no reason to delay the commit
    /// certificate next time (it did, in `minzyzyva-holey-primary`).
    timer: RetransmitTimer,
    metrics: Metrics,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct Outstanding {
    request: Arc<Request>,
    digest: [u8; 32],
    sent_at: Instant,
    /// Valid responses, the latest view's per replica. Bound: `n`.
    responses: BTreeMap<ReplicaId, Arc<Response>>,
    /// `UI_p`s already verified for this request, with the order root they certify.
    /// Bound: one per view seen.
    verified_orders: Vec<(View, Ui, [u8; 32])>,
    /// The commit certificate sent, if any, and who acknowledged it (bitmask).
    commit: Option<(Arc<Commit>, u64)>,
    /// Valid REPLYs from stable checkpoints: each replica's result digest and view.
    /// Bound: `n`.
    stable: BTreeMap<ReplicaId, (Digest, View)>,
}

impl<V: Usig> Client<V> {
    /// Client `id` of the group `config`, holding `keys`, checking UIs with `verifier`.
    /// Fails if `verifier`'s certificates cannot be checked outside the trusted component
    /// (paper §6: "only MinBFT can use the USIG service implemented with HMAC").
    pub fn new(
        id: ClientId,
        config: Arc<Config>,
        keys: Arc<ClientKeyring>,
        verifier: V,
    ) -> Result<Self, ProtocolError> {
        if !verifier.verification_is_public() {
            return Err(ProtocolError::InvalidConfig(
                "MinZyzyva clients verify UIs: the USIG must be signature-based (ed25519, \
                 tpm) or symbolic"
                    .into(),
            ));
        }
        config.validate()?;
        let timer =
            RetransmitTimer::backoff_only(config.retransmit_timeout, config.retransmit_timeout_max);
        Ok(Client {
            id,
            config,
            keys,
            verifier,
            next_seq: 1,
            view_hint: 0,
            outstanding: None,
            timer,
            metrics: Metrics::default(),
        })
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

    /// The highest view seen in a valid response (the view a completed request completed
    /// in, right after completion).
    pub fn view_hint(&self) -> View {
        self.view_hint
    }

    /// True when the outstanding request is in the commit phase (COMMIT sent).
    pub fn is_committing(&self) -> bool {
        self.outstanding
            .as_ref()
            .is_some_and(|o| o.commit.is_some())
    }

    /// Sends `op` to the primary (paper §5, step 1) and arms the timer; returns the
    /// request number. Fails if a request is outstanding.
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
        self.outstanding = Some(Outstanding {
            digest: request_digest(&request),
            request: request.clone(),
            sent_at: now,
            responses: BTreeMap::new(),
            verified_orders: Vec::new(),
            commit: None,
            stable: BTreeMap::new(),
        });
        let primary = self.config.primary_of(self.view_hint);
        self.metrics.count_sent(MessageKind::Request);
        out.send(NodeId::Replica(primary), Message::Request(request));
        out.set_timer(TimerKind::Retransmit, now + self.timer.start());
        Ok(seq)
    }

    /// Handles a message; RESPONSE and LOCAL-COMMIT are expected.
    pub fn on_message(
        &mut self,
        now: Instant,
        from: NodeId,
        msg: Message,
        out: &mut Outbox<Message>,
    ) {
        let kind = msg.kind();
        self.metrics.count_received(kind);
        match msg {
            Message::Response(r) => self.on_response(now, from, r, out),
            Message::LocalCommit(l) => self.on_local_commit(now, from, l, out),
            Message::StableReply(r) => self.on_stable_reply(now, from, r, out),
            _ => self.reject(from, kind, RejectReason::UnexpectedMessage, out),
        }
    }

    /// Paper §5, step 4: "The client gathers the replies and only accepts messages with
    /// valid `UI_p` and `UI_s`", the same `UI_p` in all that match.
    fn on_response(
        &mut self,
        now: Instant,
        from: NodeId,
        r: Arc<Response>,
        out: &mut Outbox<Message>,
    ) {
        let kind = MessageKind::Response;
        if let Some(reason) = self.sender_rejection(from, r.replica, r.client) {
            return self.reject(from, kind, reason, out);
        }
        let Some(o) = &self.outstanding else {
            self.metrics.stale += 1;
            return;
        };
        // A replica's latest response replaces its earlier one unless that is of a later
        // view: after a view change a replica may execute the request again in another
        // history (same view of the ORDER-REQ, new history digest).
        if r.seq != o.request.seq
            || o.responses
                .get(&r.replica)
                .is_some_and(|old| old.view > r.view || **old == *r)
        {
            self.metrics.stale += 1;
            return;
        }
        let primary = self.config.primary_of(r.view);
        let rd = result_digest(&r.result);
        // The request's and the result's place in the batch: the roots the UIs certify.
        let in_batch = &r.in_batch;
        let roots = (in_batch.len as usize <= self.config.batch_size_max)
            .then(|| order_root_of(&o.digest, in_batch).zip(outcome_root_of(&rd, in_batch)))
            .flatten();
        let Some((order_root, outcome_root)) = roots else {
            return self.reject(from, kind, RejectReason::MalformedBatch, out);
        };
        // UI_p: generated for this request's batch by the primary of the response's view.
        let order_key = (r.view, r.order_ui.clone(), order_root);
        let order_verified = o.verified_orders.contains(&order_key);
        if !order_verified {
            self.metrics.usig_verifies += 1;
            let bytes = order_bytes(r.view, &order_root);
            if self
                .verifier
                .verify_ui(primary, &r.order_ui, &bytes)
                .is_err()
            {
                return self.reject(from, kind, RejectReason::BadUi, out);
            }
        }
        let valid = match (&r.ui, r.replica == primary) {
            (None, true) => {
                // The primary's result is bound by the MAC only (see `Response::ui`).
                let reply = Reply {
                    replica: r.replica,
                    client: r.client,
                    seq: r.seq,
                    result: response_auth_bytes(r.view, r.order_ui.counter, &rd, &r.history)
                        .to_vec(),
                    auth: r.auth,
                };
                self.metrics.mac_ops += u64::from(r.auth.is_some());
                self.keys.verify_reply(&reply)
            }
            (Some(ui), false) => {
                self.metrics.usig_verifies += 1;
                let bytes = response_bytes(
                    r.view,
                    r.order_ui.counter,
                    &order_root,
                    &outcome_root,
                    &r.history,
                );
                self.verifier.verify_ui(r.replica, ui, &bytes).is_ok()
            }
            _ => false,
        };
        if !valid {
            return self.reject(from, kind, RejectReason::BadUi, out);
        }
        let o = self.outstanding.as_mut().expect("checked above");
        if !order_verified {
            o.verified_orders.push(order_key);
        }
        self.view_hint = self.view_hint.max(r.view);
        o.responses.insert(r.replica, r.clone());
        // Paper §5, step 5: 2f + 1 matching responses complete the request.
        let needed = if crate::minbft::mutant::mutant!(self, SpeculativeQuorum) {
            self.config.replica_count as usize - 1
        } else {
            self.config.replica_count as usize
        };
        if self.matching(&r).len() >= needed {
            self.complete(now, r.result.clone(), out);
        }
    }

    /// The responses matching `r` (same view, `UI_p`, place in the batch, result and
    /// history).
    fn matching(&self, r: &Response) -> Vec<Arc<Response>> {
        let Some(o) = &self.outstanding else {
            return Vec::new();
        };
        o.responses
            .values()
            .filter(|x| {
                x.view == r.view
                    && x.order_ui == r.order_ui
                    && x.in_batch == r.in_batch
                    && x.result == r.result
                    && x.history == r.history
            })
            .cloned()
            .collect()
    }

    /// The largest set of matching responses (ties: the first by replica order).
    fn best_group(&self) -> Vec<Arc<Response>> {
        let Some(o) = &self.outstanding else {
            return Vec::new();
        };
        let mut best: Vec<Arc<Response>> = Vec::new();
        for r in o.responses.values() {
            let g = self.matching(r);
            if g.len() > best.len() {
                best = g;
            }
        }
        best
    }

    fn on_local_commit(
        &mut self,
        now: Instant,
        from: NodeId,
        l: Arc<LocalCommit>,
        out: &mut Outbox<Message>,
    ) {
        let kind = MessageKind::LocalCommit;
        if let Some(reason) = self.sender_rejection(from, l.replica, l.client) {
            return self.reject(from, kind, reason, out);
        }
        let Some((commit, acks)) = self.outstanding.as_ref().and_then(|o| o.commit.clone()) else {
            self.metrics.stale += 1;
            return;
        };
        if l.seq != commit.request.seq
            || l.view != commit.view
            || l.counter != commit.order_ui.counter
            || acks & (1 << l.replica) != 0
        {
            self.metrics.stale += 1;
            return;
        }
        let reply = Reply {
            replica: l.replica,
            client: l.client,
            seq: l.seq,
            result: local_commit_auth_bytes(l.view, l.counter).to_vec(),
            auth: l.auth,
        };
        self.metrics.mac_ops += u64::from(l.auth.is_some());
        if !self.keys.verify_reply(&reply) {
            return self.reject(from, kind, RejectReason::BadReplyAuth, out);
        }
        let acks = acks | (1 << l.replica);
        if let Some(o) = self.outstanding.as_mut() {
            o.commit = Some((commit.clone(), acks));
        }
        // Paper §5: "The client resends the COMMIT message until it receives the
        // corresponding LOCAL-COMMIT messages from f + 1 servers."
        if acks.count_ones() >= self.config.quorum() {
            let result = self
                .outstanding
                .as_ref()
                .and_then(|o| {
                    o.responses.values().find(|r| {
                        r.view == commit.view
                            && r.order_ui == commit.order_ui
                            && r.history == commit.history
                            && result_digest(&r.result) == commit.result_digest
                    })
                })
                .map(|r| r.result.clone())
                .unwrap_or_default();
            self.timer.answered();
            self.complete(now, result, out);
        }
    }

    /// Why a message that replica `replica` addressed to client `client` and that came from
    /// `from` is not ours to take, if it is not.
    fn sender_rejection(
        &self,
        from: NodeId,
        replica: ReplicaId,
        client: ClientId,
    ) -> Option<RejectReason> {
        if replica >= self.config.replica_count {
            Some(RejectReason::UnknownReplica)
        } else if from != NodeId::Replica(replica) {
            Some(RejectReason::WrongSender)
        } else if client != self.id {
            Some(RejectReason::UnexpectedMessage)
        } else {
            None
        }
    }

    /// A REPLY from a replica whose stable checkpoint holds the request's result (see
    /// [`StableReply`]): `f + 1` with the same result complete the request, since one of
    /// them comes from a correct replica and a stable checkpoint is committed.
    fn on_stable_reply(
        &mut self,
        now: Instant,
        from: NodeId,
        r: Arc<StableReply>,
        out: &mut Outbox<Message>,
    ) {
        let kind = MessageKind::Reply;
        if let Some(reason) = self.sender_rejection(from, r.replica, r.client) {
            return self.reject(from, kind, reason, out);
        }
        if self
            .outstanding
            .as_ref()
            .is_none_or(|o| o.request.seq != r.seq)
        {
            self.metrics.stale += 1;
            return;
        }
        let rd = result_digest(&r.result);
        let reply = Reply {
            replica: r.replica,
            client: r.client,
            seq: r.seq,
            result: stable_reply_auth_bytes(r.view, &rd).to_vec(),
            auth: r.auth,
        };
        self.metrics.mac_ops += u64::from(r.auth.is_some());
        if !self.keys.verify_reply(&reply) {
            return self.reject(from, kind, RejectReason::BadReplyAuth, out);
        }
        let o = self.outstanding.as_mut().expect("checked above");
        o.stable.insert(r.replica, (rd, r.view));
        let views: Vec<View> = o
            .stable
            .values()
            .filter(|(d, _)| *d == rd)
            .map(|&(_, v)| v)
            .collect();
        if views.len() >= self.config.quorum() as usize {
            // The lowest view of the quorum is one a correct replica has reached.
            let view = views.iter().copied().min().unwrap_or_default();
            self.view_hint = self.view_hint.max(view);
            self.timer.answered();
            self.complete(now, r.result.clone(), out);
        }
    }

    fn complete(&mut self, now: Instant, result: Vec<u8>, out: &mut Outbox<Message>) {
        let Some(o) = self.outstanding.take() else {
            return;
        };
        out.cancel_timer(TimerKind::Retransmit);
        let latency = now - o.sent_at;
        self.timer.completed(latency);
        out.event(Event::Completed {
            client: self.id,
            seq: o.request.seq,
            result,
            latency,
        });
    }

    /// Handles a timer: on [`TimerKind::Retransmit`], the non-gracious path of paper §5.
    pub fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Outbox<Message>) {
        let Some(o) = &self.outstanding else {
            return out.event(Event::TimerIgnored { kind });
        };
        if kind != TimerKind::Retransmit {
            return out.event(Event::TimerIgnored { kind });
        }
        let seq = o.request.seq;
        let group = self.best_group();
        let stale_commit = o.commit.as_ref().is_some_and(|(commit, _)| {
            group.len() > self.config.f() as usize && {
                let r = &group[0];
                (r.view, &r.order_ui, r.history) != (commit.view, &commit.order_ui, commit.history)
            }
        });
        if stale_commit && let Some(o) = self.outstanding.as_mut() {
            // The responses moved on to another history (a view change rolled the
            // certified one back): certify the new one.
            o.commit = None;
        }
        let Some(o) = &self.outstanding else {
            return;
        };
        // A first commit certificate is the normal path when a replica is silent; anything
        // else is a resend that went unanswered.
        let back_off = o.commit.is_some() || group.len() <= self.config.f() as usize;
        if let Some((commit, _)) = &o.commit {
            let commit = commit.clone();
            let request = o.request.clone();
            self.metrics.count_sent(MessageKind::Commit);
            out.broadcast(Message::Commit(commit));
            // Replicas whose history no longer holds the certified execution answer the
            // request again with their cached (or a new) response.
            self.metrics.count_sent(MessageKind::Request);
            out.broadcast(Message::Request(request));
        } else {
            if group.len() > self.config.f() as usize {
                // f + 1 ..= 2f matching responses: a commit certificate.
                let r = &group[0];
                let commit = Arc::new(Commit {
                    client: self.id,
                    request: o.request.clone(),
                    view: r.view,
                    order_ui: r.order_ui.clone(),
                    in_batch: r.in_batch.clone(),
                    result_digest: result_digest(&r.result),
                    history: r.history,
                    responses: group
                        .iter()
                        .map(|x| CertifiedResponse {
                            replica: x.replica,
                            ui: x.ui.clone(),
                        })
                        .collect(),
                });
                if let Some(o) = self.outstanding.as_mut() {
                    o.commit = Some((commit.clone(), 0));
                }
                self.metrics.count_sent(MessageKind::Commit);
                out.broadcast(Message::Commit(commit));
            } else {
                // Fewer than f + 1: resend the request to every replica.
                let request = o.request.clone();
                self.metrics.count_sent(MessageKind::Request);
                out.broadcast(Message::Request(request));
            }
        }
        out.set_timer(TimerKind::Retransmit, now + self.timer.fired(back_off));
        out.event(Event::Retransmitted {
            client: self.id,
            seq,
        });
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
