//! The stateright actors: a replica actor that wraps the unchanged `protocols` MinBFT
//! replica (optionally Byzantine, with a bounded menu of moves), and a client actor that
//! wraps the `protocols` client. They translate each `Outbox` into stateright sends and
//! timers and keep what the properties observe (executions, views, completions).

use crate::config::{ByzMove, CheckConfig};
use crate::durable::{Durable, Ghost, Storage};
use crate::early::early_view_change;
use crate::msg::{KvOpKey, Msg, Observation, Timer};
use crate::sealed::Sealed;
use minlab_protocols::minbft::certify::{
    batch_digest, new_view_bytes, prepare_bytes, view_change_bytes,
};
use minlab_protocols::minbft::{
    ClientDirectory, ClientKeyring, Config, MessageKind, NewView, Prepare, Reply, ReqViewChange,
    Request, ViewChange,
};
use minlab_protocols::service::kv::{KvOp, KvStore};
use minlab_protocols::{
    Client, ClientId, Event, Instant, Message, NodeId, Outbox, Output, RejectReason, Replica,
    TimerKind, View,
};
use minlab_usig::{SymbolicUsig, Usig, VolatileCounter};
use stateright::actor::{Actor, Id, Out, model_timeout};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The seed of the client keys (unused without client authentication, but fixed).
pub(crate) const KEY_SEED: u64 = 7;

/// Replica `id`'s group configuration, client directory and symbolic USIG whose counter
/// resumes after `counter` (MinBFT's and MinZyzyva's actors build replicas alike).
pub(crate) fn replica_parts(
    id: u32,
    config: &Arc<Config>,
    counter: u64,
) -> (Arc<Config>, Arc<ClientDirectory>, SymbolicUsig) {
    let clients = Arc::new(ClientDirectory::from_seed(
        config.client_auth,
        id,
        config.client_count,
        KEY_SEED,
    ));
    let usig = SymbolicUsig::with_counter(
        id,
        config.replica_count,
        VolatileCounter::starting_after(counter),
    );
    (config.clone(), clients, usig)
}

/// The model's replica type: production code over the symbolic USIG and the KV store.
pub type ModelReplica = Replica<SymbolicUsig, KvStore>;

/// The address observations are sent to: no actor lives there, so they stay in the
/// network (never delivered) and reach the history through `record_msg_out`.
pub fn observer_id() -> Id {
    Id::from(1usize << 20)
}

/// One request a replica executed, as the properties compare it.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Executed {
    /// The client.
    pub client: ClientId,
    /// The client's request number.
    pub seq: u64,
    /// The operation bytes.
    pub op: Vec<u8>,
    /// The view of the PREPARE that ordered it.
    pub view: View,
    /// The replica's view when it executed it: later than `view` when the request came in
    /// the `S` of a NEW-VIEW (prepared in `view`, executed on installing this one).
    pub executed_in: View,
}

/// What a Byzantine replica remembers to make its moves.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct ByzState {
    /// One-shot moves not made yet.
    pub pending: Vec<ByzMove>,
    /// Requests it saw (kept only while a move needs them; bound: clients x requests).
    pub seen: Vec<Arc<Request>>,
    /// The last message it received from another replica (only while `Replay` pends).
    pub last_received: Option<Message>,
    /// `CompromisedUsig` only: a copy of its USIG taken at the start, to mint counter
    /// values a second time.
    pub rewound: Option<SymbolicUsig>,
    /// `AlterNewView` only: it sent its altered NEW-VIEW and is silent from then on.
    pub muted: bool,
}

/// A replica actor's state.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ReplicaState {
    /// The production replica.
    pub replica: ModelReplica,
    /// What the properties observe (kept across a crash, see [`Ghost`]).
    pub ghost: Ghost,
    /// `(view, timer)` pairs that already fired: every timer but the batch timer fires at
    /// most once per view (the bound that keeps the space finite).
    pub fired: Vec<(View, TimerKind)>,
    /// `Some` for the Byzantine replica.
    pub byz: Option<ByzState>,
    /// Deadlines of the armed timers, by kind (bound: one per kind).
    pub deadlines: BTreeMap<TimerKind, Instant>,
    /// It rejected a VIEW-CHANGE as invalid (only a Byzantine sender makes one).
    pub invalid_view_change_seen: bool,
    /// `Some` for the crash-recovering replica: its stable storage as of this state (the
    /// same value stateright keeps as the actor's storage).
    pub durable: Option<Storage>,
}

/// A client actor's state.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ClientState {
    /// The production client.
    pub client: Client,
    /// Requests submitted so far.
    pub issued: u32,
    /// Retransmissions still allowed.
    pub retransmits_left: u32,
    /// Completed requests: `(seq, result)`.
    pub completed: Vec<(u64, Vec<u8>)>,
}

/// A node's state, sealed (see [`Sealed`]) after every step.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum NodeState {
    /// A replica.
    Replica(Sealed<ReplicaState>),
    /// A client.
    Client(Sealed<ClientState>),
}

impl NodeState {
    fn seal(&mut self) {
        match self {
            NodeState::Replica(s) => s.seal(),
            NodeState::Client(s) => s.seal(),
        }
    }
}

/// Reseals a state the step changed (an unchanged one is still borrowed).
fn reseal(state: &mut Cow<NodeState>) {
    if let Cow::Owned(s) = state {
        s.seal();
    }
}

/// A node of the model: what it is and the shared, immutable parts it is built from.
#[derive(Clone, Debug)]
pub enum Node {
    /// Replica `id`; `byzantine` when it follows the Byzantine menu.
    Replica {
        /// Its id.
        id: u32,
        /// Whether it is the Byzantine replica.
        byzantine: bool,
        /// The run's configuration.
        cfg: Arc<CheckConfig>,
        /// The group configuration.
        config: Arc<Config>,
    },
    /// Client `id`.
    Client {
        /// Its id.
        id: ClientId,
        /// The run's configuration.
        cfg: Arc<CheckConfig>,
        /// The group configuration.
        config: Arc<Config>,
    },
}

/// The group configuration of a check: `f = (replicas - 1) / 2`, the given clients.
pub fn group_config(cfg: &CheckConfig) -> Config {
    let mut config = Config::new((cfg.replicas - 1) / 2, cfg.clients).with_fixed_waits();
    config.durable = cfg.crash_replica.is_some();
    config.batch_size_max = cfg.batch_size as usize;
    #[cfg(feature = "mutants")]
    {
        config.mutant = cfg.mutant;
    }
    config
}

/// The operation client `c` issues as its `i`-th request (from 0): on one key, clients
/// alternate PUTs of distinct values and GETs, so histories can be non-linearizable.
pub fn op_for(c: ClientId, i: u32, requests: u32) -> KvOp {
    if (c + i).is_multiple_of(2) {
        KvOp::Put {
            key: 0,
            value: vec![(c * requests.max(1) + i + 1) as u8],
        }
    } else {
        KvOp::Get { key: 0 }
    }
}

/// Maps a protocol address to the model's actor id: replicas first, then clients.
pub fn actor_id(n: u32, node: NodeId) -> Id {
    match node {
        NodeId::Replica(r) => Id::from(r as usize),
        NodeId::Client(c) => Id::from((n + c) as usize),
    }
}

/// Maps an actor id back to a protocol address.
pub fn node_id(n: u32, id: Id) -> NodeId {
    let i = usize::from(id) as u32;
    if i < n {
        NodeId::Replica(i)
    } else {
        NodeId::Client(i - n)
    }
}

pub(crate) fn replicas_except(n: u32, me: u32) -> impl Iterator<Item = Id> {
    (0..n)
        .filter(move |r| *r != me)
        .map(|r| Id::from(r as usize))
}

impl Node {
    fn n(&self) -> u32 {
        match self {
            Node::Replica { cfg, .. } | Node::Client { cfg, .. } => cfg.replicas,
        }
    }
}

impl Actor for Node {
    type Msg = Msg;
    type State = NodeState;
    type Timer = Timer;
    type Random = ByzMove;
    type Storage = Storage;

    fn on_start(&self, _id: Id, storage: &Option<Storage>, o: &mut Out<Self>) -> NodeState {
        match self {
            Node::Replica { .. } => NodeState::Replica(Sealed::new(match storage {
                Some(d) => self.recover_replica(d, o),
                None => self.start_replica(o),
            })),
            Node::Client { id, cfg, config } => {
                let keys = Arc::new(ClientKeyring::from_seed(
                    config.client_auth,
                    *id,
                    config.replica_count,
                    KEY_SEED,
                ));
                let mut st = ClientState {
                    client: Client::new(*id, config.clone(), keys),
                    issued: 0,
                    retransmits_left: cfg.retransmits,
                    completed: Vec::new(),
                };
                submit_next(&mut st, cfg, o);
                NodeState::Client(Sealed::new(st))
            }
        }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<NodeState>, src: Id, msg: Msg, o: &mut Out<Self>) {
        self.receive(id, state, src, msg, o);
        reseal(state);
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<NodeState>, timer: &Timer, o: &mut Out<Self>) {
        self.fire(id, state, timer, o);
        reseal(state);
    }

    fn on_random(&self, id: Id, state: &mut Cow<NodeState>, random: &ByzMove, o: &mut Out<Self>) {
        self.choose(id, state, random, o);
        reseal(state);
    }

    fn name(&self) -> String {
        match self {
            Node::Replica { id, byzantine, .. } => {
                format!("r{id}{}", if *byzantine { " (byzantine)" } else { "" })
            }
            Node::Client { id, .. } => format!("c{id}"),
        }
    }
}

impl Node {
    /// The replica's USIG, client directory and group configuration.
    fn replica_parts(&self, counter: u64) -> (Arc<Config>, Arc<ClientDirectory>, SymbolicUsig) {
        let Node::Replica { id, config, .. } = self else {
            unreachable!("replica parts of a client actor")
        };
        replica_parts(*id, config, counter)
    }

    /// True for the replica the model crashes and recovers.
    fn crashes(&self) -> bool {
        matches!(self, Node::Replica { id, cfg, .. } if cfg.crash_replica == Some(*id))
    }

    /// A replica's first start.
    fn start_replica(&self, o: &mut Out<Node>) -> ReplicaState {
        let Node::Replica { byzantine, cfg, .. } = self else {
            unreachable!("replica start of a client actor")
        };
        let (config, clients, usig) = self.replica_parts(0);
        let replica = Replica::new(config, clients, usig, KvStore::new())
            .expect("a validated configuration builds replicas");
        let mut byz = byzantine.then(|| ByzState {
            pending: cfg
                .byzantine_moves
                .iter()
                .copied()
                .filter(|m| m.is_one_shot())
                .collect(),
            ..ByzState::default()
        });
        if let Some(b) = &mut byz
            && b.pending.contains(&ByzMove::CompromisedUsig)
        {
            b.rewound = Some(replica.usig().clone());
        }
        let durable = self.crashes().then(|| {
            let d = Arc::new(Sealed::new(Durable::default()));
            o.save(d.clone());
            d
        });
        let st = ReplicaState {
            replica,
            ghost: Ghost::default(),
            fired: Vec::new(),
            byz,
            deadlines: BTreeMap::new(),
            invalid_view_change_seen: false,
            durable,
        };
        if let Some(b) = &st.byz {
            offer_moves(b, &st.replica, cfg.view_changes, o);
        }
        st
    }

    /// The crash-recovering replica restarts from its stable storage `d`: its USIG
    /// resumes at the stored counter (plus `lost_counter_values`, a crash inside the
    /// write-ahead window), the production code replays the log (`Replica::recover`) and
    /// resumes (`Replica::resume`, which may send RESTART).
    fn recover_replica(&self, d: &Storage, o: &mut Out<Node>) -> ReplicaState {
        let Node::Replica { cfg, .. } = self else {
            unreachable!("replica recovery of a client actor")
        };
        let durable = d.recovering(cfg);
        let (config, clients, usig) = self.replica_parts(durable.counter);
        let recovered = Replica::recover(
            config.clone(),
            clients.clone(),
            usig.clone(),
            KvStore::new(),
            &durable.log,
        );
        let failed = recovered.is_err();
        let replica = recovered.unwrap_or_else(|_| {
            Replica::new(config, clients, usig, KvStore::new())
                .expect("a validated configuration builds replicas")
        });
        let mut st = ReplicaState {
            replica,
            ghost: Ghost {
                recovery_failed: failed,
                ..durable.ghost.clone()
            },
            fired: Vec::new(),
            byz: None,
            deadlines: BTreeMap::new(),
            invalid_view_change_seen: false,
            durable: Some(Arc::new(Sealed::new(durable))),
        };
        let mut persisted = Vec::new();
        if !failed {
            let mut out = Outbox::new();
            st.replica.resume(st.ghost.now, &mut out);
            persisted = self.emit_replica(&mut st, out, o, None);
        }
        self.sync_durable(&mut st, persisted, o, true);
        st
    }

    /// After a step of the crash-recovering replica: the step's write-ahead records become
    /// durable (mutant `LogAfterSend`: at its next step instead), with its USIG counter and
    /// its observations; the storage is saved when it changed (`force`: always).
    fn sync_durable(
        &self,
        st: &mut ReplicaState,
        persisted: Vec<(Vec<u8>, bool)>,
        o: &mut Out<Node>,
        force: bool,
    ) {
        let (Some(d), Node::Replica { cfg, .. }) = (&st.durable, self) else {
            return;
        };
        let next = d.after_step(
            cfg,
            persisted,
            st.replica.usig().last_counter(),
            st.ghost.clone(),
        );
        crate::durable::save(&mut st.durable, next, o, force);
    }
}

impl Node {
    /// `on_msg` before resealing.
    fn receive(&self, id: Id, state: &mut Cow<NodeState>, src: Id, msg: Msg, o: &mut Out<Node>) {
        let Msg::Protocol(msg) = msg else { return };
        let n = self.n();
        let from = node_id(n, src);
        match self {
            Node::Replica { cfg, .. } => {
                if self.is_silent() || is_muted(state) || recovery_failed(state) {
                    return;
                }
                let NodeState::Replica(st) = state.to_mut() else {
                    return;
                };
                let st = &mut **st;
                let before = self.usig_before_step(st);
                let mut out = Outbox::new();
                if let Some(b) = &mut st.byz {
                    remember(b, cfg, from, &msg);
                }
                if let (true, Message::Request(r), NodeId::Client(_)) = (
                    cfg.has_move(ByzMove::EagerReply) && st.byz.is_some(),
                    &msg,
                    from,
                ) && let Some(op) = KvOp::decode(&r.op)
                {
                    let reply = Reply {
                        replica: st.replica.id(),
                        client: r.client,
                        seq: r.seq,
                        result: KvStore::new().apply(&op),
                        auth: None,
                    };
                    o.send(src, Msg::Protocol(Message::Reply(Box::new(reply))));
                }
                st.replica.on_message(st.ghost.now, from, msg, &mut out);
                let persisted = self.emit_replica(st, out, o, before);
                self.sync_durable(st, persisted, o, false);
                if let Some(b) = &st.byz {
                    offer_moves(b, &st.replica, cfg.view_changes, o);
                }
            }
            Node::Client { cfg, .. } => {
                let NodeState::Client(st) = state.to_mut() else {
                    return;
                };
                let st = &mut **st;
                let mut out = Outbox::new();
                st.client.on_message(Instant::ZERO, from, msg, &mut out);
                emit_client(st, cfg, out, o);
            }
        }
        let _ = id;
    }

    /// `on_timeout` before resealing.
    fn fire(&self, _id: Id, state: &mut Cow<NodeState>, timer: &Timer, o: &mut Out<Node>) {
        let kind = timer.0;
        match self {
            Node::Replica { cfg, .. } => {
                let NodeState::Replica(st) = &**state else {
                    return;
                };
                let view = st.replica.view();
                // `T_exec` and `T_vc` start view changes: only below the view bound. Every
                // timer but the batch timer (which only flushes what is queued) fires at
                // most once per view, so retransmission and repair stay finite.
                let starts_view_change =
                    matches!(kind, TimerKind::RequestTimeout | TimerKind::ViewChange);
                let bounded = kind != TimerKind::Batch;
                if self.is_silent()
                    || is_muted(state)
                    || recovery_failed(state)
                    || (starts_view_change && view >= cfg.view_changes)
                    || (bounded && st.fired.contains(&(view, kind)))
                {
                    // The firing is consumed without effect: beyond the view bound, or a
                    // second firing in the same view.
                    return;
                }
                let NodeState::Replica(st) = state.to_mut() else {
                    return;
                };
                let st = &mut **st;
                if bounded {
                    st.fired.push((view, kind));
                }
                if let Some(deadline) = st.deadlines.remove(&kind) {
                    st.ghost.now = st.ghost.now.max(deadline);
                }
                let before = self.usig_before_step(st);
                let mut out = Outbox::new();
                st.replica.on_timer(st.ghost.now, kind, &mut out);
                let persisted = self.emit_replica(st, out, o, before);
                self.sync_durable(st, persisted, o, false);
            }
            Node::Client { cfg, .. } => {
                let NodeState::Client(st) = &**state else {
                    return;
                };
                if kind == TimerKind::Retransmit && st.retransmits_left == 0 {
                    return;
                }
                let NodeState::Client(st) = state.to_mut() else {
                    return;
                };
                let st = &mut **st;
                if kind == TimerKind::Retransmit {
                    st.retransmits_left -= 1;
                }
                let mut out = Outbox::new();
                st.client.on_timer(Instant::ZERO, kind, &mut out);
                emit_client(st, cfg, out, o);
            }
        }
    }

    /// `on_random` before resealing.
    fn choose(&self, _id: Id, state: &mut Cow<NodeState>, random: &ByzMove, o: &mut Out<Node>) {
        let Node::Replica { id, cfg, .. } = self else {
            return;
        };
        let NodeState::Replica(st) = state.to_mut() else {
            return;
        };
        let st = &mut **st;
        let Some(b) = &mut st.byz else { return };
        b.pending.retain(|m| m != random);
        if *random == ByzMove::Amnesia {
            self.forget(st, o);
        } else {
            make_move(*id, cfg, &mut st.replica, b, *random, o);
        }
        let Some(b) = &mut st.byz else { return };
        if !b.pending.contains(&ByzMove::Replay) {
            b.last_received = None;
        }
        if !b.pending.contains(&ByzMove::Equivocate)
            && !b.pending.contains(&ByzMove::CompromisedUsig)
        {
            b.seen.clear();
        }
        let Some(b) = &st.byz else { return };
        offer_moves(b, &st.replica, cfg.view_changes, o);
    }

    /// `ByzMove::Amnesia`: the Byzantine replica restarts from an empty log with its
    /// current USIG counter (`Replica::recover` then `Replica::resume`, which sends
    /// RESTART retracting everything it sent); its old timers are cancelled.
    fn forget(&self, st: &mut ReplicaState, o: &mut Out<Node>) {
        let (config, clients, usig) = self.replica_parts(st.replica.usig().last_counter());
        let Ok(replica) = Replica::recover(config, clients, usig, KvStore::new(), &[]) else {
            return;
        };
        st.replica = replica;
        for kind in std::mem::take(&mut st.deadlines).into_keys() {
            o.cancel_timer(Timer(kind));
        }
        let mut out = Outbox::new();
        st.replica.resume(st.ghost.now, &mut out);
        self.emit_replica(st, out, o, None);
    }

    fn is_silent(&self) -> bool {
        matches!(self, Node::Replica { byzantine: true, cfg, .. } if cfg.has_move(ByzMove::Silent))
    }

    /// `AlterNewView`: the Byzantine replica's USIG before a step, from which it signs
    /// an altered NEW-VIEW in place of the one the step makes (`None` otherwise).
    fn usig_before_step(&self, st: &ReplicaState) -> Option<SymbolicUsig> {
        let Node::Replica {
            byzantine: true,
            cfg,
            ..
        } = self
        else {
            return None;
        };
        cfg.has_move(ByzMove::AlterNewView)
            .then(|| st.replica.usig().clone())
    }

    /// Routes a replica's outputs: sends and broadcasts (filtered for a Byzantine
    /// replica), timers, and the events the properties observe; returns the step's
    /// write-ahead records `(record, restart_point)`. `before` is the Byzantine replica's
    /// USIG before the step, when it alters its NEW-VIEWs.
    fn emit_replica(
        &self,
        st: &mut ReplicaState,
        mut out: Outbox,
        o: &mut Out<Self>,
        before: Option<SymbolicUsig>,
    ) -> Vec<(Vec<u8>, bool)> {
        let mut persisted = Vec::new();
        let Node::Replica {
            id, byzantine, cfg, ..
        } = self
        else {
            return persisted;
        };
        let n = cfg.replicas;
        let subset = *byzantine && cfg.has_move(ByzMove::Subset);
        let alter = *byzantine && cfg.has_move(ByzMove::AlterViewChange);
        let lie = *byzantine && cfg.lies_installed_view();
        for output in out.drain() {
            let muted = st.byz.as_ref().is_some_and(|b| b.muted);
            match output {
                // After its altered NEW-VIEW, nothing it does leaves it.
                Output::Send { .. } | Output::Broadcast { .. } if muted => {}
                Output::Send { to, msg } => o.send(actor_id(n, to), Msg::Protocol(msg)),
                Output::Broadcast { msg } => {
                    let next = Id::from(((id + 1) % n) as usize);
                    if let (Some(usig), Message::NewView(nv)) = (&before, &msg)
                        && let Some(altered) = alter_new_view(usig, nv)
                    {
                        for to in replicas_except(n, *id) {
                            o.send(to, Msg::Protocol(altered.clone()));
                        }
                        if let Some(b) = &mut st.byz {
                            b.muted = true;
                        }
                    } else if let (true, Message::ViewChange(vc)) = (alter, &msg) {
                        o.send(next, Msg::Protocol(msg.clone()));
                        if let Some(altered) = alter_view_change(&mut st.replica, vc) {
                            for to in replicas_except(n, *id).filter(|to| *to != next) {
                                o.send(to, Msg::Protocol(altered.clone()));
                            }
                        }
                    } else if let (true, Message::ViewChange(vc)) = (lie, &msg)
                        && vc.new_view % View::from(n) != View::from(*id)
                    {
                        let sent = crate::lie::lie_installed_view(
                            &mut st.replica,
                            vc,
                            cfg.lie_with_checkpoint,
                        )
                        .unwrap_or_else(|| msg.clone());
                        for to in replicas_except(n, *id) {
                            o.send(to, Msg::Protocol(sent.clone()));
                        }
                    } else if subset {
                        o.send(next, Msg::Protocol(msg));
                    } else {
                        for to in replicas_except(n, *id) {
                            o.send(to, Msg::Protocol(msg.clone()));
                        }
                    }
                }
                Output::SetTimer { kind, deadline } if arms(cfg, st, kind) => {
                    st.deadlines.insert(kind, deadline);
                    o.set_timer(Timer(kind), model_timeout())
                }
                Output::SetTimer { .. } => {}
                Output::CancelTimer { kind } => {
                    st.deadlines.remove(&kind);
                    o.cancel_timer(Timer(kind))
                }
                Output::Event(e) => observe_replica(st, e),
                Output::Persist {
                    record,
                    restart_point,
                } => persisted.push((record, restart_point)),
            }
        }
        persisted
    }
}

/// Whether a replica timer is armed in the model at all. A timer that could only fire to
/// no effect is left out (it would only multiply states): `T_exec`/`T_vc` at or beyond
/// the view bound, and the repair (FILL-HOLE) timer on a network that loses nothing, where
/// every message is delivered eventually anyway.
fn arms(cfg: &CheckConfig, st: &ReplicaState, kind: TimerKind) -> bool {
    match kind {
        TimerKind::RequestTimeout | TimerKind::ViewChange => st.replica.view() < cfg.view_changes,
        TimerKind::Repair => cfg.lossy,
        _ => true,
    }
}

fn observe_replica(st: &mut ReplicaState, e: Event) {
    let recovered = st.durable.as_ref().is_some_and(|d| d.restarts > 0);
    let now_in = st.replica.view();
    let g = &mut st.ghost;
    match e {
        Event::RequestExecuted {
            position,
            request,
            view,
            ..
        } => {
            let e = Executed {
                client: request.client,
                seq: request.seq,
                op: request.op.clone(),
                view,
                executed_in: now_in.max(view),
            };
            g.executed_after_recovery |= recovered;
            match g.executed.get(&position) {
                // The same request again, after a restart: the first execution stands.
                Some(x) if (x.client, x.seq, &x.op) == (e.client, e.seq, &e.op) => {}
                Some(_) => {
                    g.reexecuted_differently = true;
                    g.executed.insert(position, e);
                }
                None => {
                    g.executed.insert(position, e);
                }
            }
        }
        Event::ViewChanged { view } => g.view_installed = g.view_installed.max(view),
        Event::StateTransferNeeded { .. } => g.transfer_needed = true,
        Event::MessageRejected {
            kind: MessageKind::ViewChange,
            reason: RejectReason::InvalidViewChange | RejectReason::BadUi,
            ..
        } => st.invalid_view_change_seen = true,
        _ => {}
    }
}

/// A VIEW-CHANGE with the last entry of its `O` set dropped, under a fresh UI of the
/// sender's own USIG (`None` when `O` is empty or the USIG fails).
fn alter_view_change(replica: &mut ModelReplica, vc: &Arc<ViewChange>) -> Option<Message> {
    if vc.log.is_empty() {
        return None;
    }
    let mut altered = (**vc).clone();
    altered.log.pop();
    let ui = replica
        .usig_mut()
        .create_ui(&view_change_bytes(&altered))
        .ok()?;
    altered.ui = ui;
    Some(Message::ViewChange(Arc::new(altered)))
}

/// A NEW-VIEW with the last batch of `S` dropped, signed by `before` (the sender's USIG
/// before the step that made `nv`) at `nv`'s own counter value: the counter values in
/// between are spent on junk that is never sent, and `nv` itself never leaves, so every
/// counter value still certifies at most one message anyone sees. `None` when `S` is
/// empty.
fn alter_new_view(before: &SymbolicUsig, nv: &Arc<NewView>) -> Option<Message> {
    if nv.prepares.is_empty() {
        return None;
    }
    let mut altered = (**nv).clone();
    altered.prepares.pop();
    let mut usig = before.clone();
    while usig.last_counter() + 1 < nv.ui.counter {
        usig.create_ui(b"unsent").ok()?;
    }
    altered.ui = usig.create_ui(&new_view_bytes(&altered)).ok()?;
    Some(Message::NewView(Arc::new(altered)))
}

/// True for a replica whose recovery failed: it stays down.
fn recovery_failed(state: &NodeState) -> bool {
    matches!(state, NodeState::Replica(st) if st.ghost.recovery_failed)
}

/// True for the Byzantine replica once it went silent after an altered NEW-VIEW.
fn is_muted(state: &NodeState) -> bool {
    matches!(state, NodeState::Replica(st) if st.byz.as_ref().is_some_and(|b| b.muted))
}

fn remember(b: &mut ByzState, cfg: &CheckConfig, from: NodeId, msg: &Message) {
    let wants_requests =
        b.pending.contains(&ByzMove::Equivocate) || b.pending.contains(&ByzMove::CompromisedUsig);
    match (msg, from) {
        (Message::Request(r), NodeId::Client(_))
            if wants_requests
                && !b
                    .seen
                    .iter()
                    .any(|s| s.client == r.client && s.seq == r.seq)
                && b.seen.len() < (cfg.clients * cfg.requests.max(1)) as usize =>
        {
            b.seen.push(r.clone());
        }
        (m, NodeId::Replica(_)) if b.pending.contains(&ByzMove::Replay) => {
            b.last_received = Some(m.clone());
        }
        _ => {}
    }
}

/// Offers the one-shot moves whose preconditions hold as one nondeterministic choice.
fn offer_moves(b: &ByzState, replica: &ModelReplica, view_bound: View, o: &mut Out<Node>) {
    let two_clients = b
        .seen
        .iter()
        .any(|r| b.seen.first().is_some_and(|f| f.client != r.client));
    let available: Vec<ByzMove> = b
        .pending
        .iter()
        .copied()
        .filter(|m| match m {
            ByzMove::Equivocate => !b.seen.is_empty(),
            ByzMove::CompromisedUsig => two_clients,
            ByzMove::Replay => b.last_received.is_some(),
            ByzMove::Amnesia => replica.usig().last_counter() > 0,
            ByzMove::EarlyViewChange => replica.view() < view_bound,
            _ => true,
        })
        .collect();
    if available.is_empty() {
        o.remove_random("byzantine");
    } else {
        o.choose_random("byzantine", available);
    }
}

fn signed_prepare(
    usig: &mut SymbolicUsig,
    id: u32,
    view: View,
    req: &Arc<Request>,
) -> Option<Message> {
    let batch = vec![req.clone()];
    let ui = usig
        .create_ui(&prepare_bytes(view, &batch_digest(&batch)))
        .ok()?;
    Some(Message::Prepare(Arc::new(Prepare {
        view,
        primary: id,
        batch,
        ui,
    })))
}

fn make_move(
    id: u32,
    cfg: &CheckConfig,
    replica: &mut ModelReplica,
    b: &mut ByzState,
    mv: ByzMove,
    o: &mut Out<Node>,
) {
    let n = cfg.replicas;
    let view = replica.view();
    match mv {
        ByzMove::BurnCounter => {
            let _ = replica.usig_mut().create_ui(b"burned");
        }
        ByzMove::Equivocate => {
            if let Some(req) = b.seen.last().cloned()
                && let Some(p) = signed_prepare(replica.usig_mut(), id, view, &req)
            {
                for to in replicas_except(n, id) {
                    o.send(to, Msg::Protocol(p.clone()));
                }
            }
        }
        ByzMove::CompromisedUsig => {
            let (Some(a), Some(c)) = (
                b.seen.first().cloned(),
                b.seen
                    .iter()
                    .find(|r| r.client != b.seen[0].client)
                    .cloned(),
            ) else {
                return;
            };
            // The rewound USIG: two copies of the initial USIG mint the same counter
            // value for two different PREPAREs.
            let Some(rewound) = b.rewound.take() else {
                return;
            };
            let first = signed_prepare(&mut rewound.clone(), id, view, &a);
            let second = signed_prepare(&mut rewound.clone(), id, view, &c);
            let mut others = replicas_except(n, id);
            if let (Some(p), Some(q), Some(x), Some(y)) =
                (first, second, others.next(), others.next())
            {
                o.send(x, Msg::Protocol(p));
                o.send(y, Msg::Protocol(q));
            }
        }
        ByzMove::Replay => {
            if let Some(m) = b.last_received.take() {
                for to in replicas_except(n, id) {
                    o.send(to, Msg::Protocol(m.clone()));
                }
            }
        }
        ByzMove::ReqViewChange => {
            let m = Message::ReqViewChange(Arc::new(ReqViewChange {
                sender: id,
                view,
                new_view: view + 1,
            }));
            for to in replicas_except(n, id) {
                o.send(to, Msg::Protocol(m.clone()));
            }
        }
        ByzMove::EarlyViewChange => {
            let (shadow, sent) = early_view_change(
                replica,
                n,
                view,
                Instant::ZERO,
                Message::ReqViewChange,
                |m| matches!(m, Message::ViewChange(_)),
            );
            *replica.usig_mut() = shadow.usig().clone();
            for msg in sent {
                for to in replicas_except(n, id) {
                    o.send(to, Msg::Protocol(msg.clone()));
                }
            }
        }
        ByzMove::Silent
        | ByzMove::Subset
        | ByzMove::AlterViewChange
        | ByzMove::AlterNewView
        | ByzMove::EagerReply
        | ByzMove::Amnesia => {}
    }
}

/// Submits the client's next request, if any are left, and reports the invocation.
fn submit_next(st: &mut ClientState, cfg: &CheckConfig, o: &mut Out<Node>) {
    if st.issued >= cfg.requests || !st.client.is_idle() {
        return;
    }
    let op = op_for(st.client.id(), st.issued, cfg.requests);
    let mut out = Outbox::new();
    if st
        .client
        .submit(Instant::ZERO, op.encode(), &mut out)
        .is_err()
    {
        return;
    }
    st.issued += 1;
    o.send(
        observer_id(),
        Msg::Observe(Observation::Invoke {
            client: st.client.id(),
            op: KvOpKey(op),
        }),
    );
    emit_client_outputs(st, cfg, out, o);
}

fn emit_client(st: &mut ClientState, cfg: &CheckConfig, out: Outbox, o: &mut Out<Node>) {
    if emit_client_outputs(st, cfg, out, o) {
        submit_next(st, cfg, o);
    }
}

/// Routes a client's outputs; true when its outstanding request completed.
fn emit_client_outputs(
    st: &mut ClientState,
    cfg: &CheckConfig,
    mut out: Outbox,
    o: &mut Out<Node>,
) -> bool {
    let n = cfg.replicas;
    let mut completed = false;
    for output in out.drain() {
        match output {
            Output::Send { to, msg } => o.send(actor_id(n, to), Msg::Protocol(msg)),
            Output::Broadcast { msg } => {
                for r in 0..n {
                    o.send(Id::from(r as usize), Msg::Protocol(msg.clone()));
                }
            }
            // Without retransmissions left the timer could only fire to no effect.
            Output::SetTimer { kind, .. }
                if !(kind == TimerKind::Retransmit && st.retransmits_left == 0) =>
            {
                o.set_timer(Timer(kind), model_timeout())
            }
            Output::SetTimer { .. } => {}
            Output::CancelTimer { kind } => o.cancel_timer(Timer(kind)),
            Output::Event(Event::Completed {
                client,
                seq,
                result,
                ..
            }) => {
                st.completed.push((seq, result.clone()));
                o.send(
                    observer_id(),
                    Msg::Observe(Observation::Return { client, result }),
                );
                completed = true;
            }
            Output::Event(_) | Output::Persist { .. } => {}
        }
    }
    completed
}
