//! The PBFT replica as a value: its state, its inputs (`on_message`, `on_timer`), client
//! requests and exactly-once semantics, and the checks every untrusted input passes first.

use super::auth::ReplicaKeys;
use super::clients::ClientTable;
use super::config::Config;
use super::log::Log;
use super::messages::Message;
use crate::error::ProtocolError;
use crate::event::{Event, RejectReason};
use crate::metrics::Metrics;
use crate::minbft::auth::ClientDirectory;
use crate::minbft::messages::{MessageKind, Reply, Request};
use crate::node::{ClientId, NodeId, ReplicaId, View};
use crate::outbox::{Outbox, TimerKind};
use crate::service::Service;
use crate::time::Instant;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// The PBFT outbox.
pub type PbftOutbox = Outbox<Message>;

/// A PBFT replica (normal case, batching and checkpoints; no view change) over service `S`.
///
/// Drive it with [`Replica::on_message`] and [`Replica::on_timer`], passing the current
/// time and an [`Outbox`] to collect what it wants done.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Replica<S> {
    pub(crate) id: ReplicaId,
    pub(crate) config: Arc<Config>,
    pub(crate) clients: Arc<ClientDirectory>,
    pub(crate) keys: Arc<ReplicaKeys>,
    pub(crate) service: S,
    /// Always 0: this baseline has no view change.
    pub(crate) view: View,
    /// Primary: the last sequence number assigned.
    pub(crate) last_assigned: u64,
    pub(crate) log: Log,
    pub(crate) table: ClientTable,
    /// Primary: requests waiting for a PRE-PREPARE. Bound: one per client (`in_flight`).
    pub(crate) pending: VecDeque<Arc<Request>>,
    pub(crate) batch_timer_armed: bool,
    /// `h`: sequence number of the last stable checkpoint.
    pub(crate) low_water_mark: u64,
    /// CHECKPOINT votes above `h` (own included), by sequence number and sender.
    /// Bound: multiples of `K` in `(h, H]`, one per sender.
    pub(crate) checkpoint_votes: BTreeMap<u64, BTreeMap<ReplicaId, [u8; 32]>>,
    /// Backup: requests received directly from clients and not executed yet, watched by
    /// the request timer. Bound: one per client.
    pub(crate) watched: BTreeSet<(ClientId, u64)>,
    pub(crate) metrics: Metrics,
}

impl<S: Service> Replica<S> {
    /// Replica `keys.id()` of the group `config`, with client keys `clients`, replica
    /// keys `keys` and service `service` in its initial state.
    pub fn new(
        config: Arc<Config>,
        clients: Arc<ClientDirectory>,
        keys: Arc<ReplicaKeys>,
        service: S,
    ) -> Result<Self, ProtocolError> {
        config.validate()?;
        let id = keys.id();
        if id >= config.replica_count || keys.replica_count() != config.replica_count {
            return Err(ProtocolError::InvalidConfig(format!(
                "replica keys for {id} do not fit a group of {}",
                config.replica_count
            )));
        }
        if clients.client_count() != config.client_count || clients.mode() != config.client_auth {
            return Err(ProtocolError::InvalidConfig(
                "client directory does not match the configuration".into(),
            ));
        }
        Ok(Replica {
            id,
            table: ClientTable::new(config.client_count),
            config,
            clients,
            keys,
            service,
            view: 0,
            last_assigned: 0,
            log: Log::default(),
            pending: VecDeque::new(),
            batch_timer_armed: false,
            low_water_mark: 0,
            checkpoint_votes: BTreeMap::new(),
            watched: BTreeSet::new(),
            metrics: Metrics::default(),
        })
    }

    /// Handles a message from `from`, the sender as authenticated by the transport.
    pub fn on_message(&mut self, now: Instant, from: NodeId, msg: Message, out: &mut PbftOutbox) {
        self.metrics.count_received(msg.kind());
        match msg {
            Message::Request(r) => self.on_request(now, from, r, out),
            Message::PrePrepare(m) => self.on_pre_prepare(now, from, m, out),
            Message::Prepare(m) => self.on_prepare(now, from, m, out),
            Message::Commit(m) => self.on_commit(now, from, m, out),
            Message::Checkpoint(m) => self.on_checkpoint(now, from, m, out),
            Message::Reply(_) => self.reject(
                from,
                MessageKind::Reply,
                RejectReason::UnexpectedMessage,
                out,
            ),
        }
    }

    /// Handles timer `kind` firing.
    pub fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut PbftOutbox) {
        match kind {
            TimerKind::Batch => {
                self.batch_timer_armed = false;
                self.maybe_pre_prepare(now, true, out);
            }
            TimerKind::RequestTimeout => {
                // A backup would suspect the primary and start a view change here; this
                // baseline has none (like the paper's JPBFT), so it only reports it.
                self.watched.clear();
                out.event(Event::TimerIgnored { kind });
            }
            _ => out.event(Event::TimerIgnored { kind }),
        }
    }

    /// Records a rejection: counted, reported, and nothing else.
    pub(crate) fn reject(
        &mut self,
        from: NodeId,
        kind: MessageKind,
        reason: RejectReason,
        out: &mut PbftOutbox,
    ) {
        self.metrics.count_rejected(reason);
        out.event(Event::MessageRejected { from, kind, reason });
    }

    /// Checks on a replica-to-replica message claiming to come from `sender` in `view`.
    pub(crate) fn check_peer(
        &self,
        from: NodeId,
        sender: ReplicaId,
        view: View,
    ) -> Result<(), RejectReason> {
        if from != NodeId::Replica(sender) {
            Err(RejectReason::WrongSender)
        } else if sender >= self.config.replica_count {
            Err(RejectReason::UnknownReplica)
        } else if sender == self.id {
            Err(RejectReason::FromSelf)
        } else if view < self.view {
            Err(RejectReason::StaleView)
        } else if view > self.view {
            Err(RejectReason::FutureView)
        } else {
            Ok(())
        }
    }

    /// Where sequence number `seq` stands against the water marks: `Ok(true)` inside
    /// `(h, H]`, `Ok(false)` at or below `h` (late, harmless), `Err` above `H`.
    pub(crate) fn in_window(&self, seq: u64) -> Result<bool, RejectReason> {
        if seq <= self.low_water_mark {
            Ok(false)
        } else if seq > self.high_water_mark() {
            Err(RejectReason::AboveHighWaterMark)
        } else {
            Ok(true)
        }
    }

    /// A client request: exactly-once via the client table; the primary queues new ones
    /// for ordering, a backup (which gets requests directly only on retransmission) watches
    /// them with the request timer.
    fn on_request(&mut self, now: Instant, from: NodeId, req: Arc<Request>, out: &mut PbftOutbox) {
        let kind = MessageKind::Request;
        if from != NodeId::Client(req.client) {
            return self.reject(from, kind, RejectReason::WrongSender, out);
        }
        if !self.clients.knows(req.client) {
            return self.reject(from, kind, RejectReason::UnknownClient, out);
        }
        let rec = self.table.get(req.client);
        if req.seq < rec.last_seq {
            return self.reject(from, kind, RejectReason::StaleRequest, out);
        }
        if req.seq == rec.last_seq {
            // A retransmission of an executed request: resend the cached reply.
            self.metrics.replies_resent += 1;
            let reply = self.reply_for(req.client);
            self.metrics.mac_ops += u64::from(reply.auth.is_some());
            self.metrics.count_sent(MessageKind::Reply);
            out.send(from, Message::Reply(Box::new(reply)));
            return;
        }
        let primary = self.is_primary();
        let in_flight = rec.in_flight;
        if primary
            && (in_flight >= req.seq
                || (in_flight != 0 && rec.next.as_ref().is_some_and(|n| n.seq >= req.seq)))
        {
            // Already queued, pre-prepared or kept as the client's next request.
            self.metrics.stale += 1;
            return;
        }
        if !primary && self.watched.contains(&(req.client, req.seq)) {
            self.metrics.stale += 1;
            return;
        }
        if !self.clients.verify_request_counted(&req, &mut self.metrics) {
            return self.reject(from, kind, RejectReason::BadClientAuth, out);
        }
        if primary && in_flight != 0 {
            let client = req.client;
            self.table.get_mut(client).next = Some(req);
        } else if primary {
            self.table.get_mut(req.client).in_flight = req.seq;
            self.pending.push_back(req);
            self.maybe_pre_prepare(now, false, out);
        } else {
            self.watched.retain(|&(c, _)| c != req.client);
            if self.watched.is_empty() {
                out.set_timer(TimerKind::RequestTimeout, now + self.config.request_timeout);
            }
            self.watched.insert((req.client, req.seq));
        }
    }

    /// The cached reply for `client`'s last executed request.
    pub(crate) fn reply_for(&self, client: ClientId) -> Reply {
        let rec = self.table.get(client);
        Reply {
            replica: self.id,
            client,
            seq: rec.last_seq,
            result: rec.last_result.clone(),
            auth: self
                .clients
                .reply_auth(client, rec.last_seq, &rec.last_result),
        }
    }

    /// Creates an authenticator of `bytes` for every other replica, counting its MACs.
    pub(crate) fn authenticate(&mut self, bytes: &[u8]) -> super::messages::Authenticator {
        self.metrics.mac_ops += u64::from(self.config.replica_count - 1);
        self.keys.authenticate(bytes)
    }

    /// Checks this replica's entry of `sender`'s authenticator, counting one MAC.
    pub(crate) fn verify_mac(
        &mut self,
        sender: ReplicaId,
        bytes: &[u8],
        auth: &super::messages::Authenticator,
    ) -> bool {
        self.metrics.mac_ops += 1;
        self.keys.verify(sender, bytes, auth)
    }

    // ---- accessors -------------------------------------------------------------------

    /// This replica's id.
    pub fn id(&self) -> ReplicaId {
        self.id
    }

    /// The current view (always 0: no view change).
    pub fn view(&self) -> View {
        self.view
    }

    /// True when this replica is the primary of its current view.
    pub fn is_primary(&self) -> bool {
        self.config.primary_of(self.view) == self.id
    }

    /// The group configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The last executed sequence number.
    pub fn last_executed(&self) -> u64 {
        self.log.last_executed
    }

    /// The low water mark `h` (sequence number of the last stable checkpoint).
    pub fn low_water_mark(&self) -> u64 {
        self.low_water_mark
    }

    /// The high water mark `H = h + L`.
    pub fn high_water_mark(&self) -> u64 {
        self.low_water_mark + self.config.log_window
    }

    /// Sequence numbers in the message log.
    pub fn log_len(&self) -> usize {
        self.log.entries.len()
    }

    /// Requests waiting at the primary for a PRE-PREPARE.
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    /// The last request number executed for client `c`.
    pub fn last_executed_by_client(&self, c: ClientId) -> u64 {
        self.table.records.get(c as usize).map_or(0, |r| r.last_seq)
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The replicated service.
    pub fn service(&self) -> &S {
        &self.service
    }

    /// The keys this replica shares with the others: for adversary scripts and tests, so
    /// a Byzantine replica can authenticate messages of its own making.
    pub fn keys(&self) -> &ReplicaKeys {
        &self.keys
    }
}

impl<S: Service> Replica<S> {
    /// Replica `id` of the group `config` with client and replica keys derived from
    /// `seed` (as the simulator and tests do), and service `service`.
    pub fn from_seed(
        config: Arc<Config>,
        id: ReplicaId,
        seed: u64,
        service: S,
    ) -> Result<Self, ProtocolError> {
        let clients = ClientDirectory::from_seed(config.client_auth, id, config.client_count, seed);
        let keys = ReplicaKeys::from_seed(id, config.replica_count, seed);
        Replica::new(config, Arc::new(clients), Arc::new(keys), service)
    }
}
