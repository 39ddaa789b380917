//! The MinBFT replica as a value: its state, its inputs (`on_message`, `on_timer`) and the
//! checks every untrusted input passes before it may change anything.

use super::auth::{ClientAuth, ClientDirectory};
use super::checkpoint::Checkpoints;
use super::clients::ClientTable;
use super::config::Config;
use super::fifo::Fifo;
use super::log::Log;
use super::messages::{LoggedMessage, Message, MessageKind, Reply, Request};
use super::view_change::ViewChangeState;
use crate::error::ProtocolError;
use crate::event::{Event, RejectReason};
use crate::metrics::Metrics;
use crate::node::{NodeId, ReplicaId, View};
use crate::outbox::{Outbox, TimerKind};
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// One input to a state machine, for callers that queue inputs as data.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Input {
    /// A decoded message from `from` (the authenticated transport-level sender).
    Message {
        /// Who sent it.
        from: NodeId,
        /// What.
        msg: Message,
    },
    /// Timer `kind` fired.
    Timer(TimerKind),
}

/// A MinBFT replica (paper §4) over USIG `U` and service `S`.
///
/// Drive it with [`Replica::on_message`] and [`Replica::on_timer`] (or [`Replica::step`]),
/// passing the current time and an [`Outbox`] to collect what it wants done.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Replica<U, S> {
    pub(crate) id: ReplicaId,
    pub(crate) config: Arc<Config>,
    pub(crate) clients: Arc<ClientDirectory>,
    pub(crate) usig: U,
    pub(crate) service: S,
    pub(crate) view: View,
    /// `view mod n`, cached: it is asked for on every request.
    pub(crate) primary: ReplicaId,
    pub(crate) fifo: Fifo,
    pub(crate) log: Log,
    pub(crate) table: ClientTable,
    /// Primary: requests waiting for a PREPARE. Bound: one per client (`in_flight`).
    pub(crate) pending: VecDeque<Arc<Request>>,
    pub(crate) batch_timer_armed: bool,
    pub(crate) checkpoints: Checkpoints,
    pub(crate) metrics: Metrics,
    /// View-change state (paper §4).
    pub(crate) vc: ViewChangeState,
    /// Every UI message this replica created since its stable checkpoint, by its counter
    /// value: the `O` of its next VIEW-CHANGE. Bound: truncated at each stable checkpoint.
    pub(crate) sent: BTreeMap<u64, LoggedMessage>,
    /// Retransmission state.
    pub(crate) repair: super::repair::RepairState,
    /// State-transfer state.
    pub(crate) transfer: super::transfer::TransferState,
    /// Replicas that declared lost counter values (a RESTART with a gap), as a bitmask:
    /// never accepted as primary again ([`super::restart`], rule 2).
    pub(crate) revoked: u64,
    /// What recovery from the write-ahead log found (see [`Replica::recover`]).
    pub(crate) recovered: super::recover::Recovered,
}

/// Whether a FIFO-next UI message could be processed now.
pub(crate) enum Outcome {
    /// Processed; the sender's FIFO position advances.
    Done,
    /// Not yet (above the high water mark); it stays buffered.
    Hold,
    /// Invalid; dropped without advancing.
    Reject(RejectReason),
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// Replica `usig.id()` of the group `config`, with client keys `clients` and service
    /// `service` in its initial state.
    pub fn new(
        config: Arc<Config>,
        clients: Arc<ClientDirectory>,
        usig: U,
        service: S,
    ) -> Result<Self, ProtocolError> {
        config.validate()?;
        let id = usig.id();
        if id >= config.replica_count {
            return Err(ProtocolError::InvalidConfig(format!(
                "replica {id} outside a group of {}",
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
            fifo: Fifo::new(config.replica_count, config.fifo_window),
            log: Log::default(),
            table: ClientTable::new(config.client_count),
            pending: VecDeque::new(),
            batch_timer_armed: false,
            checkpoints: Checkpoints::default(),
            metrics: Metrics::default(),
            vc: ViewChangeState::new(
                config.replica_count,
                config.client_count,
                config.view_change_timeout,
            ),
            sent: BTreeMap::new(),
            repair: super::repair::RepairState::new(config.replica_count),
            transfer: super::transfer::TransferState::default(),
            revoked: 0,
            recovered: Default::default(),
            view: 0,
            primary: config.primary_of(0),
            config,
            clients,
            usig,
            service,
        })
    }

    /// Handles one input.
    pub fn step(&mut self, now: Instant, input: Input, out: &mut Outbox) {
        match input {
            Input::Message { from, msg } => self.on_message(now, from, msg, out),
            Input::Timer(kind) => self.on_timer(now, kind, out),
        }
    }

    /// Handles a message from `from`, the sender as authenticated by the transport.
    pub fn on_message(&mut self, now: Instant, from: NodeId, msg: Message, out: &mut Outbox) {
        self.metrics.count_received(msg.kind());
        match msg {
            Message::Request(r) => self.on_request(now, from, r, out),
            Message::Prepare(p) => self.on_prepare(now, from, p, out),
            Message::Commit(c) => self.on_commit(now, from, c, out),
            Message::Checkpoint(c) => self.on_checkpoint(now, from, c, out),
            Message::ReqViewChange(m) => self.on_req_view_change(now, from, m, out),
            Message::ViewChange(m) => self.on_view_change(now, from, m, out),
            Message::NewView(m) => self.on_new_view(now, from, m, out),
            Message::FillHole(m) => self.on_fill_hole(now, from, m, out),
            Message::Restart(m) => self.on_restart(now, from, m, out),
            Message::StateRequest(m) => self.on_state_request(now, from, m, out),
            Message::StateReply(m) => self.on_state_reply(now, from, m, out),
            Message::Reply(_) => self.reject(
                from,
                MessageKind::Reply,
                RejectReason::UnexpectedMessage,
                out,
            ),
        }
    }

    /// Handles timer `kind` firing.
    pub fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Outbox) {
        match kind {
            TimerKind::Batch => {
                self.batch_timer_armed = false;
                self.maybe_prepare(now, true, out);
            }
            TimerKind::RequestTimeout => self.on_request_timeout(now, out),
            TimerKind::ViewChange => self.on_view_change_timeout(now, out),
            TimerKind::Repair => self.on_repair_timer(now, out),
            TimerKind::Retransmit => out.event(Event::TimerIgnored { kind }),
        }
    }

    /// Records a rejection: counted, reported, and nothing else.
    /// Why a message from transport sender `from` naming replica `sender` must be refused
    /// before anything else: a wrong sender, an unknown replica, or ourselves.
    pub(crate) fn peer_rejection(&self, from: NodeId, sender: ReplicaId) -> Option<RejectReason> {
        if from != NodeId::Replica(sender) {
            Some(RejectReason::WrongSender)
        } else if sender >= self.config.replica_count {
            Some(RejectReason::UnknownReplica)
        } else if sender == self.id {
            Some(RejectReason::FromSelf)
        } else {
            None
        }
    }

    /// The transport sender to check a message signed by `signer` against: `signer`
    /// itself when another known replica delivers it, which may relay the current
    /// primary's PREPAREs and CHECKPOINTs in a FILL-HOLE answer (see `super::repair`):
    /// their UI proves who made them, whoever delivers them. Otherwise `from` unchanged.
    pub(crate) fn relay_origin(&self, from: NodeId, signer: ReplicaId) -> NodeId {
        match from {
            NodeId::Replica(r) if r < self.config.replica_count && r != self.id => {
                NodeId::Replica(signer)
            }
            _ => from,
        }
    }

    pub(crate) fn reject(
        &mut self,
        from: NodeId,
        kind: MessageKind,
        reason: RejectReason,
        out: &mut Outbox,
    ) {
        self.metrics.count_rejected(reason);
        out.event(Event::MessageRejected { from, kind, reason });
    }

    /// Common checks on a replica-to-replica normal-case message claiming to come from
    /// `sender`. Messages of a newer view pass (they wait in the FIFO buffer until the
    /// view is installed, see [`Replica::view_gate`]); bounded by the FIFO window.
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
        } else if view > self.view + u64::from(self.config.replica_count) {
            Err(RejectReason::FutureView)
        } else {
            Ok(())
        }
    }

    /// When a FIFO-next normal-case message of `view` from `sender` is processed: `None`
    /// to process it now; `Some(Done)` to skip it (a view this replica or the sender
    /// already left: paper §4, a replica stops accepting messages of `v` once it moves);
    /// `Some(Hold)` to keep it until its view is installed.
    pub(crate) fn view_gate(&self, sender: ReplicaId, view: View) -> Option<Outcome> {
        if view < self.view || view < self.vc.left_view[sender as usize] {
            Some(Outcome::Done)
        } else if view > self.view || self.vc.changing {
            Some(Outcome::Hold)
        } else {
            None
        }
    }

    /// Paper §4, Clients: exactly-once via `V_req`, cached replies for retransmissions,
    /// and the primary queues new requests for ordering.
    fn on_request(&mut self, now: Instant, from: NodeId, req: Arc<Request>, out: &mut Outbox) {
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
        let primary = self.is_primary() && !self.vc.changing;
        if primary && rec.in_flight >= req.seq {
            // A retransmission of a request already queued or prepared.
            self.metrics.stale += 1;
            return;
        }
        if primary && rec.in_flight != 0 && rec.next.as_ref().is_some_and(|n| n.seq >= req.seq) {
            // Already kept as the client's next request.
            self.metrics.stale += 1;
            return;
        }
        if !self.clients.verify_request_counted(&req, &mut self.metrics) {
            return self.reject(from, kind, RejectReason::BadClientAuth, out);
        }
        let in_flight = rec.in_flight;
        if self.clients.mode() != ClientAuth::None {
            self.table.get_mut(req.client).verified = Some(req.clone());
        }
        if primary && in_flight != 0 {
            // Paper §4 discards it; we keep it (one per client) and order it as soon as
            // the previous one executes, so a closed-loop client whose reply quorum ran
            // ahead of the primary does not wait for a retransmission.
            let client = req.client;
            self.table.get_mut(client).next = Some(req);
            return;
        }
        if primary {
            self.table.get_mut(req.client).in_flight = req.seq;
            self.pending.push_back(req);
            self.maybe_prepare(now, false, out);
        } else {
            self.watch_request(now, req.client, req.seq, out);
        }
    }

    /// The cached reply for `client`'s last executed request.
    pub(crate) fn reply_for(&self, client: u32) -> Reply {
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

    // ---- accessors -------------------------------------------------------------------

    /// This replica's id.
    pub fn id(&self) -> ReplicaId {
        self.id
    }

    /// The current view.
    pub fn view(&self) -> View {
        self.view
    }

    /// True when this replica is the primary of its current view.
    #[inline]
    pub fn is_primary(&self) -> bool {
        self.primary == self.id
    }

    /// The group configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counter value of the last executed PREPARE.
    pub fn last_executed(&self) -> u64 {
        self.log.last_executed
    }

    /// The low water mark `h` (counter value of the last stable checkpoint).
    pub fn low_water_mark(&self) -> u64 {
        self.checkpoints.stable
    }

    /// The high water mark `H = h + L`.
    pub fn high_water_mark(&self) -> u64 {
        self.checkpoints.stable + self.config.log_window
    }

    /// `V_acc[s]`: the last counter value processed from replica `s`.
    pub fn accepted_counter(&self, s: ReplicaId) -> u64 {
        self.fifo.accepted(s)
    }

    /// Messages from `s` waiting in the FIFO buffer.
    pub fn fifo_buffered(&self, s: ReplicaId) -> usize {
        self.fifo.buffered(s)
    }

    /// PREPAREs in the message log.
    pub fn log_len(&self) -> usize {
        self.log.entries.len()
    }

    /// Requests waiting at the primary for a PREPARE.
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    /// `V_req[c]`: the last request number executed for client `c`.
    pub fn last_executed_by_client(&self, c: u32) -> u64 {
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

    /// The USIG.
    pub fn usig(&self) -> &U {
        &self.usig
    }

    /// The USIG, mutably: for adversary scripts and tests: a Byzantine replica decides
    /// when its own USIG is called (e.g. to mint a VIEW-CHANGE or NEW-VIEW of its own with
    /// [`super::certify::view_change_bytes`] and [`super::certify::new_view_bytes`]).
    pub fn usig_mut(&mut self) -> &mut U {
        &mut self.usig
    }
}
