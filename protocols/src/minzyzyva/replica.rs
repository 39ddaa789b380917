//! The MinZyzyva replica as a value: its state, its inputs (`on_message`, `on_timer`) and
//! the checks every untrusted input passes before it may change anything.

use super::history::{History, ReplicatedState, Snapshot};
use super::messages::{Checkpoint, Message, OrderReq, Sent};
use crate::error::ProtocolError;
use crate::event::{Event, RejectReason};
use crate::metrics::Metrics;
use crate::minbft::auth::ClientDirectory;
use crate::minbft::config::Config;
use crate::minbft::messages::{MessageKind, Request};
use crate::node::{ClientId, NodeId, ReplicaId, View};
use crate::outbox::{Outbox, TimerKind};
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// The outbox of a MinZyzyva node.
pub type ZOutbox = Outbox<Message>;

/// A UI message of the primary of the current view, processed in FIFO order of its
/// counter (paper §5: "verify if `UI_p` is valid and if it comes in FIFO order").
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) enum PrimaryMsg {
    /// An ORDER-REQ.
    Order(Arc<OrderReq>),
    /// The primary's own CHECKPOINT (its counter value sits between ORDER-REQs).
    Checkpoint(Arc<Checkpoint>),
}

impl PrimaryMsg {
    pub(crate) fn to_message(&self) -> Message {
        match self {
            PrimaryMsg::Order(o) => Message::OrderReq(o.clone()),
            PrimaryMsg::Checkpoint(c) => Message::Checkpoint(c.clone()),
        }
    }
}

/// A MinZyzyva replica (paper §5) over USIG `U` and service `S`.
///
/// It uses MinBFT's [`Config`] with these meanings: `request_timeout` is how long a backup
/// waits for the primary to order a request a client resent to it (then it requests a
/// view change); `repair_interval` is the FILL-HOLE timer (first the primary is asked,
/// after one interval everyone, and a view change is requested); `checkpoint_period` is
/// `cp` in ORDER-REQs; `log_window` bounds the speculative history above the stable
/// checkpoint; `fifo_window` bounds what is parked ahead of the FIFO position;
/// `batch_size_max` and `batch_timeout` bound and time the primary's batches (as in
/// MinBFT); `outstanding_batches_max` is not used (a speculative primary waits for no
/// agreement). Under `batch_rule = Slots` the primary therefore orders whatever is queued
/// as soon as it has it; its only bound on ORDER-REQs in flight is the history window
/// (`log_window` above the stable checkpoint), which holds requests queued while full.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Replica<U, S> {
    pub(crate) id: ReplicaId,
    pub(crate) config: Arc<Config>,
    pub(crate) clients: Arc<ClientDirectory>,
    pub(crate) usig: U,
    pub(crate) service: S,
    pub(crate) view: View,
    pub(crate) primary: ReplicaId,
    /// The replicated state besides the service: client table and history digest.
    pub(crate) state: ReplicatedState,
    pub(crate) history: History,
    /// `V_acc[primary]` in the current view: the last counter value of the primary
    /// processed in FIFO order (paper §5's `max_cv`).
    pub(crate) accepted: u64,
    /// Verified UI messages of the primary above `accepted`, waiting for their turn.
    /// Bound: counter values in `(accepted, accepted + fifo_window]`.
    pub(crate) parked: BTreeMap<u64, PrimaryMsg>,
    /// The current view's primary messages processed (or, at the primary, sent), by
    /// counter value: what a FILL-HOLE is answered from. Bound: truncated at each stable
    /// checkpoint.
    pub(crate) order_log: BTreeMap<u64, PrimaryMsg>,
    pub(crate) checkpoints: super::checkpoint::Checkpoints,
    /// Backups: requests a client resent to them and that they forwarded to the primary,
    /// with the deadline for the primary to order them. Bound: one per client.
    pub(crate) watched: BTreeMap<ClientId, (u64, Instant)>,
    pub(crate) repair: super::repair::RepairState,
    /// Every UI this replica created since its own CHECKPOINT in its stable certificate,
    /// by counter value: the `O` of its next VIEW-CHANGE. Bound: the responses and
    /// ORDER-REQs of at most `log_window` history slots, their checkpoints, and the view
    /// changes between two stable checkpoints.
    pub(crate) sent: BTreeMap<u64, Sent>,
    pub(crate) vc: super::view_change::ViewChangeState,
    pub(crate) transfer: super::transfer::TransferState,
    /// Primary: verified requests waiting for the next batch. Bound: one per client.
    pub(crate) pending: VecDeque<Arc<Request>>,
    /// Whether the batch timer is armed.
    pub(crate) batch_timer_armed: bool,
    /// What recovery from the write-ahead log found (see `recover`).
    pub(crate) recovered: super::recover::Recovered,
    pub(crate) metrics: Metrics,
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
        let state = ReplicatedState::new(config.client_count);
        let genesis = Snapshot {
            service: service.snapshot(),
            state: state.clone(),
        };
        Ok(Replica {
            id,
            view: 0,
            primary: config.primary_of(0),
            state,
            history: History::new(genesis),
            accepted: 0,
            parked: BTreeMap::new(),
            order_log: BTreeMap::new(),
            checkpoints: Default::default(),
            watched: BTreeMap::new(),
            repair: super::repair::RepairState::new(config.replica_count),
            sent: BTreeMap::new(),
            vc: super::view_change::ViewChangeState::new(
                config.replica_count,
                config.view_change_timeout,
            ),
            transfer: super::transfer::TransferState::new(config.replica_count),
            pending: VecDeque::new(),
            batch_timer_armed: false,
            recovered: Default::default(),
            metrics: Metrics::default(),
            config,
            clients,
            usig,
            service,
        })
    }

    /// Handles a message from `from`, the sender as authenticated by the transport.
    pub fn on_message(&mut self, now: Instant, from: NodeId, msg: Message, out: &mut ZOutbox) {
        self.metrics.count_received(msg.kind());
        match msg {
            Message::Request(r) => self.on_request(now, from, r, out),
            Message::OrderReq(o) => self.on_order_req(now, from, o, out),
            Message::Commit(c) => self.on_commit(now, from, c, out),
            Message::FillHole(m) => self.on_fill_hole(now, from, m, out),
            Message::Checkpoint(c) => self.on_checkpoint(now, from, c, out),
            Message::ReqViewChange(m) => self.on_req_view_change(now, from, m, out),
            Message::ViewChange(m) => self.on_view_change(now, from, m, out),
            Message::NewView(m) => self.on_new_view(now, from, m, out),
            Message::StateRequest(m) => self.on_state_request(now, from, m, out),
            Message::StateReply(m) => self.on_state_reply(now, from, m, out),
            m @ (Message::Response(_) | Message::LocalCommit(_) | Message::StableReply(_)) => {
                self.reject(from, m.kind(), RejectReason::UnexpectedMessage, out)
            }
        }
    }

    /// Handles timer `kind` firing.
    pub fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut ZOutbox) {
        match kind {
            TimerKind::RequestTimeout => self.on_request_timeout(now, out),
            TimerKind::Repair => self.on_repair_timer(now, out),
            TimerKind::ViewChange => self.on_view_change_timeout(now, out),
            TimerKind::Batch => self.on_batch_timer(now, out),
            TimerKind::Retransmit => out.event(Event::TimerIgnored { kind }),
        }
    }

    /// Records a rejection: counted, reported, and nothing else.
    pub(crate) fn reject(
        &mut self,
        from: NodeId,
        kind: MessageKind,
        reason: RejectReason,
        out: &mut ZOutbox,
    ) {
        self.metrics.count_rejected(reason);
        out.event(Event::MessageRejected { from, kind, reason });
    }

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

    /// Like [`Replica::peer_rejection`], for a message signed by `signer` that any
    /// replica may relay (the primary's ORDER-REQs and CHECKPOINTs, resent in answer to a
    /// FILL-HOLE: their UI proves who created them, whoever delivers them).
    pub(crate) fn relay_rejection(&self, from: NodeId, signer: ReplicaId) -> Option<RejectReason> {
        match from {
            NodeId::Replica(r) if r >= self.config.replica_count => {
                Some(RejectReason::UnknownReplica)
            }
            NodeId::Replica(r) if r == self.id => Some(RejectReason::FromSelf),
            NodeId::Replica(_) if signer >= self.config.replica_count => {
                Some(RejectReason::UnknownReplica)
            }
            NodeId::Replica(_) if signer == self.id => Some(RejectReason::FromSelf),
            NodeId::Replica(_) => None,
            NodeId::Client(_) => Some(RejectReason::WrongSender),
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
    pub fn is_primary(&self) -> bool {
        self.primary == self.id
    }

    /// The group configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Length of the history (ORDER-REQs processed, duplicates included).
    pub fn history_len(&self) -> u64 {
        self.history.head()
    }

    /// Length of the committed prefix of the history.
    pub fn committed_len(&self) -> u64 {
        self.history.committed
    }

    /// Requests executed so far (speculatively included).
    pub fn executed_count(&self) -> u64 {
        self.state.executed_count
    }

    /// The history digest (of every ORDER-REQ processed so far).
    pub fn history_digest(&self) -> [u8; 32] {
        self.state.history
    }

    /// Slot of the last stable checkpoint (0 before the first).
    pub fn low_water_mark(&self) -> u64 {
        self.checkpoints.stable
    }

    /// Entries kept in the history (above the last stable checkpoint).
    pub fn history_entries(&self) -> usize {
        self.history.entries.len()
    }

    /// The requests of the history above the last stable checkpoint that were executed
    /// (not skipped as already executed), in history order: `(position, request, view of
    /// the ORDER-REQ)`, as the `SpeculativelyExecuted` events that are not rolled back
    /// reported them. A read-only view for observers (the model checker reads it after a
    /// recovery, which emits no events).
    pub fn executed_requests(&self) -> impl Iterator<Item = (u64, &Arc<Request>, View)> + '_ {
        self.history.entries.iter().flat_map(|e| {
            e.requests()
                .filter_map(move |(r, o)| o.position.map(|p| (p, r, e.order.view)))
        })
    }

    /// `V_acc[primary]`: the last counter value of the current primary processed.
    pub fn accepted_counter(&self) -> u64 {
        self.accepted
    }

    /// Primary messages parked ahead of the FIFO position.
    pub fn parked(&self) -> usize {
        self.parked.len()
    }

    /// `V_req[c]`: the last request number executed for client `c` (speculatively).
    pub fn last_executed_by_client(&self, c: ClientId) -> u64 {
        self.state.records.get(c as usize).map_or(0, |r| r.last_seq)
    }

    /// The RESPONSE this replica last sent client `c` (what it resends on retransmission).
    #[cfg(test)]
    pub(crate) fn last_response(&self, c: ClientId) -> Option<Arc<super::messages::Response>> {
        self.state.records.get(c as usize)?.last_response.clone()
    }

    /// True when this replica asked to leave its current view (REQ-VIEW-CHANGE sent).
    pub fn suspects_primary(&self) -> bool {
        self.vc.requested[self.id as usize] > self.view
    }

    /// True between sending a VIEW-CHANGE and installing the NEW-VIEW.
    pub fn is_changing_view(&self) -> bool {
        self.vc.changing
    }

    /// The last view whose NEW-VIEW this replica installed (0 before any).
    pub fn installed_view(&self) -> View {
        self.vc.installed
    }

    /// Entries of the sent log (the `O` of the next VIEW-CHANGE).
    pub fn sent_log_len(&self) -> usize {
        self.sent.len()
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

    /// The USIG, mutably, for adversary scripts and tests (a Byzantine replica decides
    /// when its own USIG is called).
    pub fn usig_mut(&mut self) -> &mut U {
        &mut self.usig
    }

    /// Replicas that asked to leave the current view.
    pub fn view_change_requests(&self) -> BTreeSet<ReplicaId> {
        (0..self.config.replica_count)
            .filter(|&r| self.vc.requested[r as usize] > self.view)
            .collect()
    }
}
