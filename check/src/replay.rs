//! Writes a counterexample as a scenario file whose `[replay]` schedule the simulator
//! applies step by step (`minlab run FILE`), so the simulator's oracles judge the very
//! run the checker found.
//!
//! The path is re-executed on the model to keep only the steps that changed something:
//! deliveries a node ignored and timer firings consumed without effect leave no step.
//! What the Byzantine replica receives, its timers and its moves are left out too: its
//! deviations show only in what it sends, which the schedule carries verbatim.

use crate::actor::{group_config, op_for};
use crate::config::{ByzMove, ByzantineRole, CheckConfig, Mode};
use crate::model::MinbftModel;
use crate::msg::{Msg, Timer};
use crate::walk::Action;
use minlab_protocols::minbft::Config;
use minlab_protocols::{NodeId, ProtocolMessage};
use minlab_scenarios::replay::{ReplaySpec, ReplayStep, TimerName, to_hex};
use minlab_scenarios::{Dur, NodeRef, Protocol, Scenario};
use stateright::Model;
use stateright::actor::{Actor, ActorModel, ActorModelAction, ActorModelState};
use toml::Spanned;

/// Why a counterexample cannot be written as a scenario.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReplayError(pub String);

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot write the counterexample as a scenario: {}",
            self.0
        )
    }
}

impl std::error::Error for ReplayError {}

/// The command line that runs the check `cfg` describes (the search mode aside from
/// `--simulation`, whose seed reproduces the walk).
pub fn command_of(cfg: &CheckConfig, protocol: &str) -> String {
    let mut c = format!(
        "minlab check {protocol} --replicas {} --clients {} --requests {} --view-changes {} \
         --retransmits {}",
        cfg.replicas, cfg.clients, cfg.requests, cfg.view_changes, cfg.retransmits
    );
    if cfg.batch_size > 1 {
        c.push_str(&format!(" --batch-size {}", cfg.batch_size));
    }
    let role = match cfg.byzantine {
        ByzantineRole::None => None,
        ByzantineRole::Primary => Some("primary"),
        ByzantineRole::Backup => Some("backup"),
        ByzantineRole::NextPrimary => Some("next-primary"),
    };
    if let Some(role) = role {
        let mut moves: Vec<&str> = cfg.byzantine_moves.iter().map(|m| m.name()).collect();
        if cfg.lie_with_checkpoint {
            moves.push(crate::cli::LIE_WITH_CHECKPOINT);
        } else if cfg.lie_installed_view {
            moves.push(crate::cli::LIE_INSTALLED_VIEW);
        }
        c += &format!(" --byzantine {role} --moves {}", moves.join(","));
    }
    for (on, flag) in [(cfg.lossy, " --lossy"), (cfg.duplicating, " --duplicating")] {
        if on {
            c += flag;
        }
    }
    match cfg.mode {
        Mode::Bfs => {}
        Mode::Dfs => c += " --dfs",
        Mode::Simulation { seed } => {
            c += &format!(
                " --simulation {seed} --states-max {}",
                cfg.states_max.unwrap_or(1)
            )
        }
    }
    #[cfg(feature = "mutants")]
    if let Some(m) = cfg.mutant {
        c += &format!(" --mutant {}", m.name());
    }
    c
}

/// The mutant's name, if the check runs one.
fn mutant_name(cfg: &CheckConfig) -> Option<String> {
    #[cfg(feature = "mutants")]
    {
        cfg.mutant.map(|m| m.name().to_string())
    }
    #[cfg(not(feature = "mutants"))]
    {
        let _ = cfg;
        None
    }
}

/// The simulator's oracle that judges a checker property, if it has one (its name as
/// the simulator reports it). MinZyzyva's "completed requests are never rolled back" has
/// none: the simulator's `completed-never-rolled-back` sees rollbacks, while the checker's
/// property also fails when a later view's history merely lacks the request.
pub fn simulator_oracle(property: &str) -> Option<&'static str> {
    use crate::minzyzyva::model::names as z;
    use crate::model::names;
    match property {
        names::AGREEMENT | z::COMMITTED_AGREE => Some("agreement"),
        names::NO_DUPLICATE => Some("exactly-once"),
        names::LINEARIZABLE => Some("linearizability"),
        _ => None,
    }
}

fn node_ref(n: NodeId) -> NodeRef {
    match n {
        NodeId::Replica(r) => NodeRef::Replica(r),
        NodeId::Client(c) => NodeRef::Client(c),
    }
}

/// The scenario that replays `actions`, a path of the MinBFT `model` that violates
/// `property`, in the simulator.
pub fn minbft_scenario(
    model: &MinbftModel,
    property: &str,
    actions: &[Action],
) -> Result<Scenario, ReplayError> {
    let config = group_config(&model.cfg);
    scenario_of(
        model,
        Protocol::Minbft,
        &config,
        property,
        actions,
        crate::report::describe,
    )
}

/// The scenario that replays `actions`, a path of the MinZyzyva `model` that violates
/// `property`, in the simulator.
pub fn minzyzyva_scenario(
    model: &crate::minzyzyva::model::MinzyzyvaModel,
    property: &str,
    actions: &[<crate::minzyzyva::model::MinzyzyvaModel as Model>::Action],
) -> Result<Scenario, ReplayError> {
    let config = crate::minzyzyva::model::group_config(&model.cfg);
    scenario_of(
        model,
        Protocol::Minzyzyva,
        &config,
        property,
        actions,
        |m| crate::report::describe_with(m, crate::minzyzyva::describe_message),
    )
}

/// The scenario of a path of an actor model over protocol messages `M` whose replicas
/// run with `config`.
fn scenario_of<A, H, M>(
    model: &ActorModel<A, CheckConfig, H>,
    protocol: Protocol,
    config: &Config,
    property: &str,
    actions: &[ActorModelAction<Msg<M>, Timer, ByzMove>],
    describe: impl Fn(&Msg<M>) -> String,
) -> Result<Scenario, ReplayError>
where
    A: Actor<Msg = Msg<M>, Timer = Timer, Random = ByzMove>,
    A::State: PartialEq,
    H: Clone + std::fmt::Debug + std::hash::Hash,
    M: ProtocolMessage + Clone + Eq + std::hash::Hash + std::fmt::Debug,
    ActorModel<A, CheckConfig, H>:
        Model<State = ActorModelState<A, H>, Action = ActorModelAction<Msg<M>, Timer, ByzMove>>,
{
    let cfg = &model.cfg;
    let name = match protocol {
        Protocol::Minzyzyva => "minzyzyva",
        _ => "minbft",
    };
    if cfg.crash_replica.is_some() {
        return Err(ReplayError(
            "crash and recovery (--crash) cannot be replayed in the simulator yet".into(),
        ));
    }
    let n = cfg.replicas;
    let byzantine = cfg.byzantine_replica();
    let correct = |id: NodeId| match id {
        NodeId::Replica(r) => Some(r) != byzantine,
        NodeId::Client(_) => true,
    };
    let node = |id| crate::actor::node_id(n, id);
    let Some(mut state) = model.init_states().into_iter().next() else {
        return Err(ReplayError("the model has no initial state".into()));
    };
    let mut steps = Vec::new();
    for (i, action) in actions.iter().enumerate() {
        let Some(next) = model.next_state(&state, action.clone()) else {
            continue;
        };
        let step = match action {
            ActorModelAction::Deliver {
                src,
                dst,
                msg: Msg::Protocol(m),
            } if correct(node(*dst)) => {
                let mut bytes = Vec::new();
                m.encode_into(&mut bytes)
                    .map_err(|e| ReplayError(format!("step {}: encoding: {e}", i + 1)))?;
                Some(ReplayStep::Deliver {
                    from: node_ref(node(*src)),
                    to: node_ref(node(*dst)),
                    message: to_hex(&bytes),
                    note: describe(&Msg::Protocol(m.clone())),
                })
            }
            ActorModelAction::Timeout(id, Timer(kind)) if correct(node(*id)) => {
                let index = usize::from(*id);
                // A firing consumed without effect changes neither the node nor the
                // network (only stateright's timer set): nothing to replay.
                let changed = state.actor_states[index] != next.actor_states[index]
                    || state.network != next.network;
                changed.then(|| ReplayStep::Timer {
                    node: node_ref(node(*id)),
                    kind: TimerName::of(*kind),
                    note: format!("{kind:?} fires"),
                })
            }
            ActorModelAction::Crash(_) | ActorModelAction::Recover(_) => {
                return Err(ReplayError(
                    "crash and recovery cannot be replayed in the simulator yet".into(),
                ));
            }
            _ => None,
        };
        steps.extend(step.map(|s| Spanned::new(0..0, s)));
        state = next;
    }
    let ms = |d: minlab_protocols::Duration| Dur(d.as_nanos());
    let mut s = Scenario::from_toml(BASE, "replay base")
        .map_err(|e| ReplayError(format!("the base scenario: {e}")))?;
    s.name = format!("check-{name}-{}", property.replace(' ', "-"));
    s.protocol = protocol;
    s.description = format!(
        "Counterexample to \"{property}\" found by `{}`, replayed step by step; {}",
        command_of(cfg, name),
        match simulator_oracle(property) {
            Some(o) => format!("the simulator's {o} oracle must report it"),
            None => "the simulator has no oracle for this property, so its oracles hold \
                     and the run fails its expectation"
                .to_string(),
        }
    );
    s.f = (n - 1) / 2;
    s.params.batch_size_max = config.batch_size_max as u32;
    s.params.batch_timeout = ms(config.batch_timeout);
    s.params.batch_rule = config.batch_rule;
    s.params.outstanding_batches_max = config.outstanding_batches_max;
    s.params.checkpoint_period = config.checkpoint_period;
    s.params.log_size = config.log_window;
    s.params.exec_timeout = ms(config.request_timeout);
    s.params.view_change_timeout = ms(config.view_change_timeout);
    s.params.client_retry = ms(config.retransmit_timeout);
    s.workload.clients = cfg.clients;
    s.workload.requests_per_client = u64::from(cfg.requests);
    s.byzantine = byzantine
        .map(|r| {
            Spanned::new(
                0..0,
                minlab_scenarios::ByzantineSpec {
                    replica: r,
                    script: minlab_scenarios::replay::REPLAYED_SCRIPT.into(),
                    params: Default::default(),
                },
            )
        })
        .into_iter()
        .collect();
    s.replay = Some(ReplaySpec {
        source: command_of(cfg, name),
        property: property.to_string(),
        mutant: mutant_name(cfg),
        repair_interval_max: Some(ms(config.repair_interval_max)),
        client_retry_max: Some(ms(config.retransmit_timeout_max)),
        duplicating: cfg.duplicating,
        client_ops: (0..cfg.clients)
            .map(|c| {
                (0..cfg.requests)
                    .map(|i| to_hex(&op_for(c, i, cfg.requests).encode()))
                    .collect()
            })
            .collect(),
        steps,
    });
    Ok(s)
}

/// What a scenario written from a counterexample starts from: the checker's setting
/// (symbolic USIG, no client authentication, one key, the key-value service); the
/// rest is filled in from the check.
const BASE: &str = r#"
name = "replay"
protocol = "minbft"
f = 1
usig = "symbolic"
client_auth = "none"
run = { duration = "1s" }
workload = { clients = 1, requests_per_client = 1, keys = 1 }
expect = { safety = "violated" }
"#;
