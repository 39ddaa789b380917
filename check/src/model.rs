//! The stateright `ActorModel` of a MinBFT group: actors, network, the linearizability
//! history, and the properties, all read from public actor state (no private replica
//! state is needed).

use crate::actor::{ClientState, Executed, Node, NodeState, ReplicaState, group_config};
use crate::config::{ByzMove, CheckConfig, ConfigError};
use crate::msg::{KvOpKey, Msg, Observation};
use minlab_protocols::ClientId;
use minlab_protocols::service::kv::KvStore;
use stateright::Expectation;
use stateright::actor::{Actor, ActorModel, ActorModelState, Envelope, LossyNetwork, Network};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester, SequentialSpec};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The reference object of the linearizability check: the very KV store the replicas run.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct KvSpec(pub KvStore);

impl SequentialSpec for KvSpec {
    type Op = KvOpKey;
    type Ret = Vec<u8>;
    fn invoke(&mut self, op: &KvOpKey) -> Vec<u8> {
        self.0.apply(&op.0)
    }
}

/// The auxiliary history: every client invocation and return, in the order they happened.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct History {
    /// Invocations and returns per client.
    pub linearizability: LinearizabilityTester<ClientId, KvSpec>,
    /// Whether `linearizability` has a linearization, computed once when the history
    /// changes (stateright evaluates the property on every state, and the search is the
    /// costliest property).
    pub linearizable: bool,
}

impl Default for History {
    fn default() -> Self {
        History {
            linearizability: LinearizabilityTester::new(KvSpec::default()),
            linearizable: true,
        }
    }
}

/// The model type.
pub type MinbftModel = ActorModel<Node, CheckConfig, History>;

/// A state of the model.
pub type MinbftState = ActorModelState<Node, History>;

/// Property names, as reported.
pub mod names {
    /// `always`: correct replicas' executed sequences agree position by position.
    pub const AGREEMENT: &str = "agreement";
    /// `always`: no correct replica executes a request twice.
    pub const NO_DUPLICATE: &str = "no duplicate execution";
    /// `always`: the client history is linearizable against the KV store.
    pub const LINEARIZABLE: &str = "linearizable";
    /// `always`: a completed request is at its position at every correct replica that
    /// executed past it (or, with view changes, that installed a later view).
    pub const COMPLETED_DURABLE: &str = "completed requests are durable";
    /// `always`: a request a correct replica executed in view `v` is at its position at
    /// every correct replica that installed a view above `v` (paper §4: an accepted
    /// request is in `S`). `v` is the view the replica was in when it executed: a request
    /// prepared earlier and executed from a NEW-VIEW's `S` counts in that new view.
    /// Registered with `view_changes > 0`.
    pub const EXECUTED_DURABLE: &str = "executed requests survive view changes";
    /// `sometimes`: a correct replica rejected an invalid VIEW-CHANGE (registered when the
    /// Byzantine menu has `alter-view-change` or `lie-installed-view`, to show the move is
    /// exercised).
    pub const ALTERED_VIEW_CHANGE_REJECTED: &str = "an altered VIEW-CHANGE is rejected";
    /// `always`: the crashing replica recovers from its stable storage (its write-ahead
    /// log replays without error; in the MinZyzyva model, it also rebuilds the history the
    /// replica had when it crashed). Registered with a crashing replica.
    pub const RECOVERY_SUCCEEDS: &str = "a crashed replica recovers from its log";
    /// `sometimes`: the crashing replica recovers and then executes a request (so crash
    /// and recovery are exercised). Registered with a crashing replica.
    pub const RECOVERED_EXECUTES: &str = "a recovered replica executes a request";
    /// `sometimes`: a client request completes.
    pub const REQUEST_COMPLETES: &str = "a request completes";
    /// `sometimes`: a correct replica installs a new view.
    pub const VIEW_CHANGE_COMPLETES: &str = "a view change completes";
    /// `sometimes`: a request ordered in a later view completes.
    pub const COMPLETES_AFTER_VIEW_CHANGE: &str = "a request completes after a view change";
}

/// Puts a client's observation (an envelope to the observer address) into the history;
/// any other message leaves it unchanged.
pub fn record_out<M>(_: &CheckConfig, h: &History, env: Envelope<&Msg<M>>) -> Option<History> {
    let Msg::Observe(obs) = env.msg else {
        return None;
    };
    let mut h = h.clone();
    // An invalid history (e.g. a second invocation in flight) makes the tester
    // inconsistent, which the `linearizable` property reports.
    let _ = match obs {
        Observation::Invoke { client, op } => h.linearizability.on_invoke(*client, op.clone()),
        Observation::Return { client, result } => {
            h.linearizability.on_return(*client, result.clone())
        }
    };
    h.linearizable = h.linearizability.serialized_history().is_some();
    Some(h)
}

/// Correct replicas' states.
pub fn correct_replicas<'a>(
    cfg: &'a CheckConfig,
    state: &'a MinbftState,
) -> impl Iterator<Item = &'a ReplicaState> + 'a {
    correct_of(cfg, state, |s| match s {
        NodeState::Replica(r) => Some(&**r),
        NodeState::Client(_) => None,
    })
}

/// Client states, by client id.
pub fn clients<'a>(
    cfg: &'a CheckConfig,
    state: &'a MinbftState,
) -> impl Iterator<Item = (ClientId, &'a ClientState)> + 'a {
    clients_of(cfg, state, |s| match s {
        NodeState::Client(c) => Some((c.client.id(), &**c)),
        NodeState::Replica(_) => None,
    })
}

/// The states of the correct replicas (actors `0..n` but the Byzantine one) of any of the
/// models, as `replica` picks them out of an actor's state.
pub fn correct_of<'a, A: Actor, H, R: 'a>(
    cfg: &'a CheckConfig,
    state: &'a ActorModelState<A, H>,
    replica: fn(&'a A::State) -> Option<&'a R>,
) -> impl Iterator<Item = &'a R> + 'a {
    let byz = cfg.byzantine_replica();
    state
        .actor_states
        .iter()
        .take(cfg.replicas as usize)
        .enumerate()
        .filter(move |(i, _)| byz != Some(*i as u32))
        .filter_map(move |(_, s)| replica(s))
}

/// The client states (actors `n..`) of any of the models, as `client` picks them out.
pub fn clients_of<'a, A: Actor, H, C: 'a>(
    cfg: &'a CheckConfig,
    state: &'a ActorModelState<A, H>,
    client: fn(&'a A::State) -> Option<(ClientId, &'a C)>,
) -> impl Iterator<Item = (ClientId, &'a C)> + 'a {
    state
        .actor_states
        .iter()
        .skip(cfg.replicas as usize)
        .filter_map(move |s| client(s))
}

/// True when two sequences of executions, by position, have the same request wherever
/// both have one.
pub fn agree_by_position(a: &BTreeMap<u64, Executed>, b: &BTreeMap<u64, Executed>) -> bool {
    a.iter().all(|(p, x)| {
        b.get(p)
            .is_none_or(|y| (x.client, x.seq, &x.op) == (y.client, y.seq, &y.op))
    })
}

fn agreement(m: &MinbftModel, s: &MinbftState) -> bool {
    let rs: Vec<&ReplicaState> = correct_replicas(&m.cfg, s).collect();
    !rs.iter().any(|r| r.ghost.reexecuted_differently)
        && rs.iter().enumerate().all(|(i, a)| {
            rs[i + 1..]
                .iter()
                .all(|b| agree_by_position(&a.ghost.executed, &b.ghost.executed))
        })
}

fn no_duplicate(m: &MinbftModel, s: &MinbftState) -> bool {
    correct_replicas(&m.cfg, s).all(|r| {
        let mut seen = BTreeSet::new();
        r.ghost
            .executed
            .values()
            .all(|e| seen.insert((e.client, e.seq)))
    })
}

fn linearizable(_: &MinbftModel, s: &MinbftState) -> bool {
    s.history.linearizable
}

fn completed_durable(m: &MinbftModel, s: &MinbftState) -> bool {
    let rs: Vec<&ReplicaState> = correct_replicas(&m.cfg, s).collect();
    clients(&m.cfg, s).all(|(c, st)| {
        st.completed.iter().all(|(seq, _)| {
            // f + 1 matching replies include a correct replica's: someone executed it.
            let Some((pos, view)) = rs.iter().find_map(|r| {
                r.ghost
                    .executed
                    .iter()
                    .find(|(_, e)| e.client == c && e.seq == *seq)
                    .map(|(p, e)| (*p, e.executed_in))
            }) else {
                return false;
            };
            rs.iter().all(|r| {
                let past = r
                    .ghost
                    .executed
                    .keys()
                    .next_back()
                    .is_some_and(|last| *last >= pos);
                let later_view = m.cfg.view_changes > 0 && r.ghost.view_installed > view;
                // A replica that needed a state transfer is exempt, as in
                // `executed_durable`: what it restored from a checkpoint is not in its
                // observed executions.
                r.ghost.transfer_needed
                    || !(past || later_view)
                    || r.ghost
                        .executed
                        .get(&pos)
                        .is_some_and(|e| e.client == c && e.seq == *seq)
            })
        })
    })
}

fn executed_durable(m: &MinbftModel, s: &MinbftState) -> bool {
    let rs: Vec<&ReplicaState> = correct_replicas(&m.cfg, s).collect();
    rs.iter().all(|a| {
        a.ghost.executed.iter().all(|(pos, e)| {
            rs.iter()
                .filter(|b| b.ghost.view_installed > e.executed_in && !b.ghost.transfer_needed)
                .all(|b| {
                    b.ghost
                        .executed
                        .get(pos)
                        .is_some_and(|x| (x.client, x.seq, &x.op) == (e.client, e.seq, &e.op))
                })
        })
    })
}

fn recovery_succeeds(m: &MinbftModel, s: &MinbftState) -> bool {
    correct_replicas(&m.cfg, s).all(|r| !r.ghost.recovery_failed)
}

fn recovered_executes(m: &MinbftModel, s: &MinbftState) -> bool {
    correct_replicas(&m.cfg, s).any(|r| r.ghost.executed_after_recovery)
}

fn altered_view_change_rejected(m: &MinbftModel, s: &MinbftState) -> bool {
    correct_replicas(&m.cfg, s).any(|r| r.invalid_view_change_seen)
}

fn request_completes(m: &MinbftModel, s: &MinbftState) -> bool {
    clients(&m.cfg, s).any(|(_, c)| !c.completed.is_empty())
}

fn view_change_completes(m: &MinbftModel, s: &MinbftState) -> bool {
    correct_replicas(&m.cfg, s).any(|r| r.ghost.view_installed > 0)
}

fn completes_after_view_change(m: &MinbftModel, s: &MinbftState) -> bool {
    let rs: Vec<&ReplicaState> = correct_replicas(&m.cfg, s).collect();
    clients(&m.cfg, s).any(|(c, st)| {
        st.completed.iter().any(|(seq, _)| {
            rs.iter().any(|r| {
                r.ghost
                    .executed
                    .values()
                    .any(|e| e.client == c && e.seq == *seq && e.view > 0)
            })
        })
    })
}

/// Builds the model of `cfg`: `replicas` replica actors (ids `0..n`, the Byzantine one
/// following its menu), then `clients` client actors (ids `n..n + C`).
pub fn minbft_model(cfg: &CheckConfig) -> Result<MinbftModel, ConfigError> {
    cfg.validate()?;
    let shared = Arc::new(cfg.clone());
    let config = Arc::new(group_config(cfg));
    let byz = cfg.byzantine_replica();
    let mut model = ActorModel::new(cfg.clone(), History::default())
        .actors((0..cfg.replicas).map(|id| Node::Replica {
            id,
            byzantine: byz == Some(id),
            cfg: shared.clone(),
            config: config.clone(),
        }))
        .actors((0..cfg.clients).map(|id| Node::Client {
            id,
            cfg: shared.clone(),
            config: config.clone(),
        }))
        .init_network(if cfg.duplicating {
            Network::new_unordered_duplicating([])
        } else {
            Network::new_unordered_nonduplicating([])
        })
        .lossy_network(if cfg.lossy {
            LossyNetwork::Yes
        } else {
            LossyNetwork::No
        })
        .record_msg_out(record_out)
        .max_crashes(usize::from(cfg.crash_replica.is_some()))
        .within_boundary(crate::durable::within_crash_bounds)
        .property(Expectation::Always, names::AGREEMENT, agreement)
        .property(Expectation::Always, names::NO_DUPLICATE, no_duplicate)
        .property(Expectation::Always, names::LINEARIZABLE, linearizable)
        .property(
            Expectation::Always,
            names::COMPLETED_DURABLE,
            completed_durable,
        )
        .property(
            Expectation::Sometimes,
            names::REQUEST_COMPLETES,
            request_completes,
        );
    if cfg.view_changes > 0 {
        model = model
            .property(
                Expectation::Always,
                names::EXECUTED_DURABLE,
                executed_durable,
            )
            .property(
                Expectation::Sometimes,
                names::VIEW_CHANGE_COMPLETES,
                view_change_completes,
            )
            .property(
                Expectation::Sometimes,
                names::COMPLETES_AFTER_VIEW_CHANGE,
                completes_after_view_change,
            );
    }
    if cfg.crash_replica.is_some() {
        model = model
            .property(
                Expectation::Always,
                names::RECOVERY_SUCCEEDS,
                recovery_succeeds,
            )
            .property(
                Expectation::Sometimes,
                names::RECOVERED_EXECUTES,
                recovered_executes,
            );
    }
    if cfg.has_move(ByzMove::AlterViewChange) || cfg.lies_installed_view() {
        model = model.property(
            Expectation::Sometimes,
            names::ALTERED_VIEW_CHANGE_REJECTED,
            altered_view_change_rejected,
        );
    }
    Ok(model)
}
