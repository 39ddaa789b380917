//! The stateright actors of the MinZyzyva model: a replica actor around the unchanged
//! `protocols` MinZyzyva replica (optionally Byzantine, with a bounded menu of moves) and a
//! client actor around the MinZyzyva client, which checks UIs itself. Like the MinBFT
//! actors, they translate outboxes into sends and timers and keep what the properties
//! observe: speculative and committed executions, rollbacks, views, completions. With
//! `--crash`, one correct replica may crash and recover from its write-ahead log and
//! surviving USIG counter ([`crate::durable`], as in the MinBFT model).

use crate::actor::{Executed, KEY_SEED, actor_id, observer_id, op_for, replicas_except};
use crate::config::{ByzMove, CheckConfig};
use crate::durable::{Durable, Storage};
use crate::early::early_view_change;
use crate::msg::{KvOpKey, Observation, Timer};
use crate::sealed::Sealed;
use minlab_protocols::minbft::{ClientDirectory, ClientKeyring, Config, ReqViewChange, Request};
use minlab_protocols::minzyzyva::certify::{order_bytes, order_digest};
use minlab_protocols::minzyzyva::{Client, Message, OrderReq, Replica};
use minlab_protocols::service::kv::KvStore;
use minlab_protocols::{Event, Instant, Outbox, Output, TimerKind, View};
use minlab_usig::{SymbolicUsig, Usig};
use stateright::actor::{Actor, Id, Out, model_timeout};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What travels in the MinZyzyva model's network.
pub type ZMsg = crate::msg::Msg<Message>;

/// The model's replica type: production code over the symbolic USIG and the KV store.
pub type ZReplica = Replica<SymbolicUsig, KvStore>;

/// How often the FILL-HOLE timer may fire per view below the view bound: once to ask the
/// primary, once more to ask everyone and request a view change (paper §5). At the bound
/// it fires once (asking the primary only).
const REPAIR_FIRINGS_PER_VIEW: usize = 2;

/// What the properties observe at a replica.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct ZGhost {
    /// Its current history by dense position: speculative executions minus rollbacks.
    pub history: BTreeMap<u64, Executed>,
    /// Its committed executions by position (`RequestExecuted`).
    pub committed: BTreeMap<u64, Executed>,
    /// It committed a different request at a position it had committed, or rolled back a
    /// committed position.
    pub committed_changed: bool,
    /// It rolled back some speculative execution.
    pub rolled_back: bool,
    /// The highest view it installed.
    pub view_installed: View,
    /// Its clock: the latest deadline of a timer that fired (it keeps running through a
    /// crash).
    pub now: Instant,
    /// It executed a request (speculatively) after a recovery.
    pub executed_after_recovery: bool,
    /// Its recovery from its storage failed (`Replica::recover` returned an error).
    pub recovery_failed: bool,
    /// A recovery rebuilt a history other than the one it had when it crashed (replaying
    /// the write-ahead log must rebuild it exactly).
    pub recovered_other_history: bool,
}

/// The stateright storage of the crash-recovering replica: its log and USIG counter, with
/// the observations that outlive a crash (all of [`ZGhost`]; `history` is rebuilt from
/// the recovered replica, which emits no events while it replays its log).
pub type ZStorage = Storage<ZGhost>;

/// What the Byzantine replica remembers to make its moves.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct ZByzState {
    /// One-shot moves not made yet.
    pub pending: Vec<ByzMove>,
    /// Requests it saw (only while `Equivocate` pends; bound: clients x requests).
    pub seen: Vec<Arc<Request>>,
}

/// A replica actor's state.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ZReplicaState {
    /// The production replica.
    pub replica: ZReplica,
    /// What the properties observe.
    pub ghost: ZGhost,
    /// `(view, timer)` for each firing: the bound that keeps the space finite.
    pub fired: Vec<(View, TimerKind)>,
    /// `Some` for the Byzantine replica.
    pub byz: Option<ZByzState>,
    /// Deadlines of the armed timers, by kind.
    pub deadlines: BTreeMap<TimerKind, Instant>,
    /// `Some` for the crash-recovering replica: its stable storage as of this state (the
    /// same value stateright keeps as the actor's storage).
    pub durable: Option<ZStorage>,
}

/// One request a client completed.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Completion {
    /// The client's request number.
    pub seq: u64,
    /// The result.
    pub result: Vec<u8>,
    /// The view of the responses it completed with.
    pub view: View,
    /// It completed through a commit certificate (LOCAL-COMMITs), not `2f + 1` responses.
    pub via_commit: bool,
}

/// A client actor's state.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ZClientState {
    /// The production client (it verifies UIs with a symbolic verifier).
    pub client: Client<SymbolicUsig>,
    /// Requests submitted so far.
    pub issued: u32,
    /// Timer firings (commit or resend) still allowed.
    pub retransmits_left: u32,
    /// Completed requests.
    pub completed: Vec<Completion>,
}

/// A node's state, sealed after every step.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum ZNodeState {
    /// A replica.
    Replica(Sealed<ZReplicaState>),
    /// A client.
    Client(Sealed<ZClientState>),
}

/// A node of the MinZyzyva model.
#[derive(Clone, Debug)]
pub enum ZNode {
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
        id: u32,
        /// The run's configuration.
        cfg: Arc<CheckConfig>,
        /// The group configuration.
        config: Arc<Config>,
    },
}

impl Actor for ZNode {
    type Msg = ZMsg;
    type State = ZNodeState;
    type Timer = Timer;
    type Random = ByzMove;
    type Storage = ZStorage;

    fn on_start(&self, _id: Id, storage: &Option<ZStorage>, o: &mut Out<Self>) -> ZNodeState {
        match self {
            ZNode::Replica { .. } => ZNodeState::Replica(Sealed::new(match storage {
                Some(d) => self.recover_replica(d, o),
                None => self.start_replica(o),
            })),
            ZNode::Client { id, cfg, config } => {
                let keys = Arc::new(ClientKeyring::from_seed(
                    config.client_auth,
                    *id,
                    config.replica_count,
                    KEY_SEED,
                ));
                let verifier = SymbolicUsig::new(u32::MAX, config.replica_count);
                let mut st = ZClientState {
                    client: Client::new(*id, config.clone(), keys, verifier)
                        .expect("a symbolic USIG verifies publicly"),
                    issued: 0,
                    retransmits_left: cfg.retransmits,
                    completed: Vec::new(),
                };
                submit_next(&mut st, cfg, o);
                ZNodeState::Client(Sealed::new(st))
            }
        }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<ZNodeState>, src: Id, msg: ZMsg, o: &mut Out<Self>) {
        let crate::msg::Msg::Protocol(msg) = msg else {
            return;
        };
        let from = crate::actor::node_id(self.cfg().replicas, src);
        match self {
            ZNode::Replica { cfg, .. } => {
                if self.is_silent() || recovery_failed(state) {
                    return;
                }
                let Some(st) = replica_mut(state) else { return };
                if let (Some(b), Message::Request(r)) = (&mut st.byz, &msg) {
                    remember(b, cfg, r);
                }
                let mut out = Outbox::new();
                st.replica.on_message(st.ghost.now, from, msg, &mut out);
                let persisted = self.emit_replica(st, out, o);
                self.sync_durable(st, persisted, o, false);
                if let Some(b) = &st.byz {
                    offer_moves(b, cfg, &st.replica, o);
                }
            }
            ZNode::Client { cfg, .. } => {
                let Some(st) = client_mut(state) else { return };
                let mut out = Outbox::new();
                let committing = st.client.is_committing();
                st.client.on_message(Instant::ZERO, from, msg, &mut out);
                emit_client(st, cfg, out, committing, o);
            }
        }
        reseal(state);
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<ZNodeState>, timer: &Timer, o: &mut Out<Self>) {
        let kind = timer.0;
        match self {
            ZNode::Replica { cfg, .. } => {
                let ZNodeState::Replica(st) = &**state else {
                    return;
                };
                let view = st.replica.view();
                let firings = st.fired.iter().filter(|f| **f == (view, kind)).count();
                // The batch timer only flushes what is queued (and is armed only while
                // something is): it fires whenever it is armed, as in MinBFT's model.
                let allowed = if kind == TimerKind::Batch {
                    usize::MAX
                } else if kind == TimerKind::Repair && view < cfg.view_changes {
                    REPAIR_FIRINGS_PER_VIEW
                } else {
                    1
                };
                let starts_view_change =
                    matches!(kind, TimerKind::RequestTimeout | TimerKind::ViewChange);
                if self.is_silent()
                    || recovery_failed(state)
                    || (starts_view_change && view >= cfg.view_changes)
                    || firings >= allowed
                {
                    return;
                }
                let Some(st) = replica_mut(state) else { return };
                if kind != TimerKind::Batch {
                    st.fired.push((view, kind));
                }
                if let Some(deadline) = st.deadlines.remove(&kind) {
                    st.ghost.now = st.ghost.now.max(deadline);
                }
                let mut out = Outbox::new();
                st.replica.on_timer(st.ghost.now, kind, &mut out);
                let persisted = self.emit_replica(st, out, o);
                self.sync_durable(st, persisted, o, false);
            }
            ZNode::Client { cfg, .. } => {
                let ZNodeState::Client(st) = &**state else {
                    return;
                };
                if kind == TimerKind::Retransmit && st.retransmits_left == 0 {
                    return;
                }
                let Some(st) = client_mut(state) else { return };
                if kind == TimerKind::Retransmit {
                    st.retransmits_left -= 1;
                }
                let committing = st.client.is_committing();
                let mut out = Outbox::new();
                st.client.on_timer(Instant::ZERO, kind, &mut out);
                emit_client(st, cfg, out, committing, o);
            }
        }
        reseal(state);
    }

    fn on_random(&self, _id: Id, state: &mut Cow<ZNodeState>, mv: &ByzMove, o: &mut Out<Self>) {
        let ZNode::Replica { id, cfg, .. } = self else {
            return;
        };
        let Some(st) = replica_mut(state) else { return };
        let Some(b) = &mut st.byz else { return };
        b.pending.retain(|m| m != mv);
        make_move(*id, cfg, st, *mv, o);
        if let Some(b) = &mut st.byz {
            if !b.pending.contains(&ByzMove::Equivocate) {
                b.seen.clear();
            }
            offer_moves(b, cfg, &st.replica, o);
        }
        reseal(state);
    }

    fn name(&self) -> String {
        match self {
            ZNode::Replica { id, byzantine, .. } => {
                format!("r{id}{}", if *byzantine { " (byzantine)" } else { "" })
            }
            ZNode::Client { id, .. } => format!("c{id}"),
        }
    }
}

fn replica_mut<'a>(state: &'a mut Cow<ZNodeState>) -> Option<&'a mut ZReplicaState> {
    match state.to_mut() {
        ZNodeState::Replica(st) => Some(&mut **st),
        ZNodeState::Client(_) => None,
    }
}

fn client_mut<'a>(state: &'a mut Cow<ZNodeState>) -> Option<&'a mut ZClientState> {
    match state.to_mut() {
        ZNodeState::Client(st) => Some(&mut **st),
        ZNodeState::Replica(_) => None,
    }
}

/// Reseals a state the step changed (an unchanged one is still borrowed).
fn reseal(state: &mut Cow<ZNodeState>) {
    match state {
        Cow::Owned(ZNodeState::Replica(s)) => s.seal(),
        Cow::Owned(ZNodeState::Client(s)) => s.seal(),
        Cow::Borrowed(_) => {}
    }
}

impl ZNode {
    fn cfg(&self) -> &CheckConfig {
        match self {
            ZNode::Replica { cfg, .. } | ZNode::Client { cfg, .. } => cfg,
        }
    }

    fn is_silent(&self) -> bool {
        matches!(self, ZNode::Replica { byzantine: true, cfg, .. } if cfg.has_move(ByzMove::Silent))
    }

    /// Routes a replica's outputs (sends, timers, observed events) and returns the
    /// step's write-ahead records `(record, restart_point)`.
    fn emit_replica(
        &self,
        st: &mut ZReplicaState,
        mut out: Outbox<Message>,
        o: &mut Out<Self>,
    ) -> Vec<(Vec<u8>, bool)> {
        let mut persisted = Vec::new();
        let ZNode::Replica {
            id, byzantine, cfg, ..
        } = self
        else {
            return persisted;
        };
        let recovered = st.durable.as_ref().is_some_and(|d| d.restarts > 0);
        let n = cfg.replicas;
        let subset = *byzantine && cfg.has_move(ByzMove::Subset);
        for output in out.drain() {
            match output {
                Output::Send { to, msg } => o.send(actor_id(n, to), ZMsg::Protocol(msg)),
                Output::Broadcast { msg } if subset => {
                    o.send(Id::from(((id + 1) % n) as usize), ZMsg::Protocol(msg));
                }
                Output::Broadcast { msg } => {
                    for to in replicas_except(n, *id) {
                        o.send(to, ZMsg::Protocol(msg.clone()));
                    }
                }
                Output::SetTimer { kind, deadline } if arms(cfg, st, kind) => {
                    st.deadlines.insert(kind, deadline);
                    o.set_timer(Timer(kind), model_timeout());
                }
                Output::SetTimer { .. } => {}
                Output::CancelTimer { kind } => {
                    st.deadlines.remove(&kind);
                    o.cancel_timer(Timer(kind));
                }
                Output::Event(e) => observe_replica(&mut st.ghost, e, recovered),
                Output::Persist {
                    record,
                    restart_point,
                } => persisted.push((record, restart_point)),
            }
        }
        persisted
    }
}

impl ZNode {
    /// The replica's client directory and its USIG, whose counter resumes after `counter`.
    fn replica_parts(&self, counter: u64) -> (Arc<Config>, Arc<ClientDirectory>, SymbolicUsig) {
        let ZNode::Replica { id, config, .. } = self else {
            unreachable!("replica parts of a client actor")
        };
        crate::actor::replica_parts(*id, config, counter)
    }

    /// A replica's first start (the crash-recovering one saves its empty storage).
    fn start_replica(&self, o: &mut Out<ZNode>) -> ZReplicaState {
        let ZNode::Replica {
            id, byzantine, cfg, ..
        } = self
        else {
            unreachable!("replica start of a client actor")
        };
        let (config, clients, usig) = self.replica_parts(0);
        let replica = Replica::new(config, clients, usig, KvStore::new())
            .expect("a validated configuration builds replicas");
        let byz = byzantine.then(|| ZByzState {
            pending: cfg
                .byzantine_moves
                .iter()
                .copied()
                .filter(|m| m.is_one_shot())
                .collect(),
            seen: Vec::new(),
        });
        let mut st = ZReplicaState {
            replica,
            ghost: ZGhost::default(),
            fired: Vec::new(),
            byz,
            deadlines: BTreeMap::new(),
            durable: None,
        };
        if cfg.crash_replica == Some(*id) {
            crate::durable::save(&mut st.durable, Durable::default(), o, true);
        }
        if let Some(b) = &st.byz {
            offer_moves(b, cfg, &st.replica, o);
        }
        st
    }

    /// The crash-recovering replica restarts from its stable storage `d`: its USIG resumes
    /// at the stored counter (plus `lost_counter_values`), the production code replays the
    /// log (`Replica::recover`) and resumes (`Replica::resume`: with lost counter values it
    /// re-certifies its own checkpoints and, as primary, asks for a view change). Its
    /// history, which the replay rebuilt without events, is read off the replica.
    fn recover_replica(&self, d: &ZStorage, o: &mut Out<ZNode>) -> ZReplicaState {
        let ZNode::Replica { cfg, .. } = self else {
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
        // Below the restart point's checkpoint the replica keeps a state, not entries:
        // what it executed there is what it had observed before the crash.
        let base = replica
            .executed_requests()
            .next()
            .map_or(replica.executed_count(), |(position, ..)| position);
        let mut history = durable.ghost.history.clone();
        history.retain(|position, _| *position < base);
        history.extend(
            replica
                .executed_requests()
                .map(|(position, request, view)| (position, executed(request, view))),
        );
        let other = !failed && history != durable.ghost.history;
        let mut st = ZReplicaState {
            replica,
            ghost: ZGhost {
                history,
                recovery_failed: failed,
                recovered_other_history: durable.ghost.recovered_other_history || other,
                ..durable.ghost.clone()
            },
            fired: Vec::new(),
            byz: None,
            deadlines: BTreeMap::new(),
            durable: Some(Arc::new(Sealed::new(durable))),
        };
        let mut persisted = Vec::new();
        if !failed {
            let mut out = Outbox::new();
            st.replica.resume(st.ghost.now, &mut out);
            persisted = self.emit_replica(&mut st, out, o);
        }
        self.sync_durable(&mut st, persisted, o, true);
        st
    }

    /// After a step of the crash-recovering replica: the step's write-ahead records become
    /// durable (mutant `LogAfterSend`: at its next step), with its USIG counter and its
    /// observations; the storage is saved when it changed (`force`: always).
    fn sync_durable(
        &self,
        st: &mut ZReplicaState,
        persisted: Vec<(Vec<u8>, bool)>,
        o: &mut Out<ZNode>,
        force: bool,
    ) {
        let Some(d) = &st.durable else { return };
        let next = d.after_step(
            self.cfg(),
            persisted,
            st.replica.usig().last_counter(),
            st.ghost.clone(),
        );
        crate::durable::save(&mut st.durable, next, o, force);
    }
}

/// True for a replica whose recovery failed: it stays down.
fn recovery_failed(state: &ZNodeState) -> bool {
    matches!(state, ZNodeState::Replica(st) if st.ghost.recovery_failed)
}

/// View-change timers are armed only below the view bound. The FILL-HOLE timer only where
/// a hole can last: on a lossy network, when the primary of view 0 is Byzantine (a correct
/// primary's holes are messages in flight, which the network delivers), or when a replica
/// crashes (what it had parked ahead of its FIFO position is gone, and a primary's lost
/// counter values are a hole for good).
fn arms(cfg: &CheckConfig, st: &ZReplicaState, kind: TimerKind) -> bool {
    match kind {
        TimerKind::RequestTimeout | TimerKind::ViewChange => st.replica.view() < cfg.view_changes,
        TimerKind::Repair => {
            cfg.lossy
                || cfg.byzantine == crate::config::ByzantineRole::Primary
                || cfg.crash_replica.is_some()
        }
        _ => true,
    }
}

fn executed(request: &Request, view: View) -> Executed {
    Executed {
        client: request.client,
        seq: request.seq,
        op: request.op.clone(),
        view,
        executed_in: view,
    }
}

fn same(a: &Executed, b: &Executed) -> bool {
    (a.client, a.seq, &a.op) == (b.client, b.seq, &b.op)
}

fn observe_replica(g: &mut ZGhost, e: Event, recovered: bool) {
    match e {
        Event::SpeculativelyExecuted {
            position,
            request,
            view,
            ..
        } => {
            g.history.insert(position, executed(&request, view));
            g.executed_after_recovery |= recovered;
        }
        Event::RolledBack { position, .. } => {
            g.history.remove(&position);
            g.rolled_back = true;
            g.committed_changed |= g.committed.contains_key(&position);
        }
        Event::RequestExecuted {
            position,
            request,
            view,
            ..
        } => {
            let e = executed(&request, view);
            match g.committed.get(&position) {
                Some(x) if same(x, &e) => {}
                Some(_) => {
                    g.committed_changed = true;
                    g.committed.insert(position, e);
                }
                None => {
                    g.committed.insert(position, e);
                }
            }
        }
        Event::ViewChanged { view } => g.view_installed = g.view_installed.max(view),
        _ => {}
    }
}

fn remember(b: &mut ZByzState, cfg: &CheckConfig, r: &Arc<Request>) {
    if b.pending.contains(&ByzMove::Equivocate)
        && !b
            .seen
            .iter()
            .any(|s| s.client == r.client && s.seq == r.seq)
        && b.seen.len() < (cfg.clients * cfg.requests.max(1)) as usize
    {
        b.seen.push(r.clone());
    }
}

fn offer_moves(b: &ZByzState, cfg: &CheckConfig, replica: &ZReplica, o: &mut Out<ZNode>) {
    let available: Vec<ByzMove> = b
        .pending
        .iter()
        .copied()
        .filter(|m| match m {
            ByzMove::Equivocate => !b.seen.is_empty() && replica.is_primary(),
            ByzMove::EarlyViewChange => replica.view() < cfg.view_changes,
            _ => true,
        })
        .collect();
    if available.is_empty() {
        o.remove_random("byzantine");
    } else {
        o.choose_random("byzantine", available);
    }
}

fn make_move(id: u32, cfg: &CheckConfig, st: &mut ZReplicaState, mv: ByzMove, o: &mut Out<ZNode>) {
    let n = cfg.replicas;
    let view = st.replica.view();
    let to_others = |o: &mut Out<ZNode>, m: Message| {
        for to in replicas_except(n, id) {
            o.send(to, ZMsg::Protocol(m.clone()));
        }
    };
    match mv {
        ByzMove::BurnCounter => {
            let _ = st.replica.usig_mut().create_ui(b"burned");
        }
        ByzMove::ReqViewChange => to_others(
            o,
            Message::ReqViewChange(Arc::new(ReqViewChange {
                sender: id,
                view,
                new_view: view + 1,
            })),
        ),
        ByzMove::Equivocate => {
            let Some(request) = st.byz.as_ref().and_then(|b| b.seen.last().cloned()) else {
                return;
            };
            let batch = vec![request];
            let bytes = order_bytes(view, &order_digest(&batch));
            if let Ok(ui) = st.replica.usig_mut().create_ui(&bytes) {
                to_others(
                    o,
                    Message::OrderReq(Arc::new(OrderReq {
                        view,
                        primary: id,
                        batch,
                        ui,
                    })),
                );
            }
        }
        ByzMove::EarlyViewChange => {
            let (shadow, sent) = early_view_change(
                &st.replica,
                n,
                view,
                st.ghost.now,
                Message::ReqViewChange,
                |m| matches!(m, Message::ViewChange(_)),
            );
            *st.replica.usig_mut() = shadow.usig().clone();
            for msg in sent {
                to_others(o, msg);
            }
        }
        ByzMove::Silent
        | ByzMove::Subset
        | ByzMove::Replay
        | ByzMove::AlterViewChange
        | ByzMove::AlterNewView
        | ByzMove::EagerReply
        | ByzMove::Amnesia
        | ByzMove::CompromisedUsig => {}
    }
}

fn submit_next(st: &mut ZClientState, cfg: &CheckConfig, o: &mut Out<ZNode>) {
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
        ZMsg::Observe(Observation::Invoke {
            client: st.client.id(),
            op: KvOpKey(op),
        }),
    );
    emit_client_outputs(st, cfg, out, false, o);
}

fn emit_client(
    st: &mut ZClientState,
    cfg: &CheckConfig,
    out: Outbox<Message>,
    committing: bool,
    o: &mut Out<ZNode>,
) {
    if emit_client_outputs(st, cfg, out, committing, o) {
        submit_next(st, cfg, o);
    }
}

fn emit_client_outputs(
    st: &mut ZClientState,
    cfg: &CheckConfig,
    mut out: Outbox<Message>,
    committing: bool,
    o: &mut Out<ZNode>,
) -> bool {
    let n = cfg.replicas;
    let mut completed = false;
    for output in out.drain() {
        match output {
            Output::Send { to, msg } => o.send(actor_id(n, to), ZMsg::Protocol(msg)),
            Output::Broadcast { msg } => {
                for r in 0..n {
                    o.send(Id::from(r as usize), ZMsg::Protocol(msg.clone()));
                }
            }
            Output::SetTimer { kind, .. }
                if !(kind == TimerKind::Retransmit && st.retransmits_left == 0) =>
            {
                o.set_timer(Timer(kind), model_timeout());
            }
            Output::SetTimer { .. } => {}
            Output::CancelTimer { kind } => o.cancel_timer(Timer(kind)),
            Output::Event(Event::Completed {
                client,
                seq,
                result,
                ..
            }) => {
                st.completed.push(Completion {
                    seq,
                    result: result.clone(),
                    view: st.client.view_hint(),
                    via_commit: committing,
                });
                o.send(
                    observer_id(),
                    ZMsg::Observe(Observation::Return { client, result }),
                );
                completed = true;
            }
            Output::Event(_) | Output::Persist { .. } => {}
        }
    }
    completed
}
