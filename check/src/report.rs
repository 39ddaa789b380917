//! Runs a check and turns the checker's result into a plain report: counts, each
//! property's outcome, and counterexamples as readable step listings.

use crate::actor::node_id;
use crate::config::{ByzMove, CheckConfig, ConfigError, Mode};
use crate::model::{MinbftModel, MinbftState, minbft_model};
use crate::msg::{Msg, Observation, Timer};
use crate::walk::{Action, walk};
use minlab_protocols::Message;
use minlab_protocols::service::kv::KvOp;
use serde::Serialize;
use stateright::actor::ActorModelAction;
use stateright::{Checker, Expectation, HasDiscoveries, Model, Path};
use std::collections::HashMap;
use std::time::Duration;

/// What a property is expected to do.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub enum Kind {
    /// Holds in every reachable state.
    Always,
    /// Holds in some reachable state (so the check is not vacuous).
    Sometimes,
}

/// What the checker found for one property.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub enum Outcome {
    /// `always`: no counterexample in the explored space.
    Holds,
    /// `always`: a counterexample, as the steps that lead to it.
    Violated {
        /// The steps, one line each.
        path: Vec<String>,
    },
    /// `sometimes`: an example, as the steps that lead to it.
    Found {
        /// The steps, one line each.
        path: Vec<String>,
    },
    /// `sometimes`: no example in the explored space.
    NotFound,
}

/// One property's result.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct PropertyResult {
    /// Its name (see [`crate::model::names`]).
    pub name: &'static str,
    /// `always` or `sometimes`.
    pub kind: Kind,
    /// What was found.
    pub outcome: Outcome,
}

/// The result of a check.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct CheckReport {
    /// States generated (with repeats).
    pub states: usize,
    /// Distinct states.
    pub unique_states: usize,
    /// The deepest state's depth.
    pub max_depth: usize,
    /// True when the whole (bounded) space was explored: BFS or DFS that hit neither
    /// `depth_max` nor `states_max` and found no violation (the search stops at the first
    /// one, so other `always` properties reported as holding were checked only so far).
    pub exhaustive: bool,
    /// Time the check took, as measured by the caller's clock.
    pub elapsed: Duration,
    /// Each property, in declaration order.
    pub properties: Vec<PropertyResult>,
    /// The first violated `always` property's counterexample as a scenario file the
    /// simulator replays (`minlab run`), when the model can write one.
    #[serde(skip)]
    pub replay: Option<ReplayScenario>,
}

/// A counterexample written as a scenario file (see [`crate::replay`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReplayScenario {
    /// The violated property.
    pub property: &'static str,
    /// The scenario's TOML text, or why the counterexample cannot be replayed.
    pub toml: Result<String, String>,
}

/// Writes a model's counterexample (its actions) for a property as scenario TOML.
pub type ScenarioWriter<M> =
    fn(&M, &'static str, &[<M as Model>::Action]) -> Result<String, String>;

impl CheckReport {
    /// No `always` property was violated.
    pub fn safety_holds(&self) -> bool {
        !self
            .properties
            .iter()
            .any(|p| matches!(p.outcome, Outcome::Violated { .. }))
    }

    /// Every expectation held: no violation, and every `sometimes` was found.
    pub fn all_hold(&self) -> bool {
        self.safety_holds()
            && !self
                .properties
                .iter()
                .any(|p| matches!(p.outcome, Outcome::NotFound))
    }

    /// The result of property `name`.
    pub fn property(&self, name: &str) -> Option<&PropertyResult> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// States generated per second (0 when no time elapsed).
    pub fn states_per_second(&self) -> u64 {
        let ns = self.elapsed.as_nanos();
        (self.states as u128 * 1_000_000_000)
            .checked_div(ns)
            .map_or(0, |r| r as u64)
    }
}

/// Model-checks MinBFT as configured. `clock` returns the time elapsed since any fixed
/// moment (the library reads no clock itself); it is called once before and once after.
pub fn check_minbft(
    cfg: &CheckConfig,
    clock: impl FnMut() -> Duration,
) -> Result<CheckReport, ConfigError> {
    let model = minbft_model(cfg)?;
    Ok(run_model_with(
        cfg,
        model,
        format_actions,
        Some(minbft_scenario_toml),
        clock,
    ))
}

/// The MinBFT model's [`ScenarioWriter`].
fn minbft_scenario_toml(
    model: &MinbftModel,
    property: &'static str,
    actions: &[Action],
) -> Result<String, String> {
    crate::replay::minbft_scenario(model, property, actions)
        .map(|s| s.to_toml())
        .map_err(|e| e.to_string())
}

/// A model stateright's checkers can explore on threads and report paths of.
pub trait Checkable:
    Model<
        State: Clone + std::fmt::Debug + PartialEq + std::hash::Hash + Send + Sync + 'static,
        Action: Clone + std::fmt::Debug + PartialEq + Send + Sync + 'static,
    > + Send
    + Sync
    + 'static
{
}

impl<M> Checkable for M where
    M: Model<
            State: Clone + std::fmt::Debug + PartialEq + std::hash::Hash + Send + Sync + 'static,
            Action: Clone + std::fmt::Debug + PartialEq + Send + Sync + 'static,
        > + Send
        + Sync
        + 'static
{
}

/// Explores `model` as `cfg` says (BFS, DFS or seeded random walks, within its bounds)
/// and reports, writing each discovery's actions as steps with `steps`.
pub fn run_model<M>(
    cfg: &CheckConfig,
    model: M,
    steps: fn(&M, Vec<M::Action>) -> Vec<String>,
    clock: impl FnMut() -> Duration,
) -> CheckReport
where
    M: Checkable,
{
    run_model_with(cfg, model, steps, None, clock)
}

/// [`run_model`], writing the first counterexample as a scenario with `scenario`.
pub fn run_model_with<M>(
    cfg: &CheckConfig,
    model: M,
    steps: fn(&M, Vec<M::Action>) -> Vec<String>,
    scenario: Option<ScenarioWriter<M>>,
    mut clock: impl FnMut() -> Duration,
) -> CheckReport
where
    M: Checkable,
{
    if let Mode::Simulation { seed } = cfg.mode {
        let start = clock();
        let w = walk(
            &model,
            seed,
            cfg.states_max.unwrap_or(1).max(1),
            cfg.depth_max,
        );
        let discoveries = w.discoveries.into_iter().collect();
        let r = report(
            cfg,
            &model,
            discoveries,
            (steps, scenario),
            (w.states, w.unique_states, w.max_depth),
        );
        let elapsed = clock().saturating_sub(start);
        return CheckReport { elapsed, ..r };
    }
    // Stop at the first safety violation: the rest of the space is then moot.
    let mut builder = model
        .checker()
        .threads(cfg.threads)
        .finish_when(HasDiscoveries::AnyFailures);
    if let Some(d) = cfg.depth_max {
        builder = builder.target_max_depth(d.max(1));
    }
    if let Some(s) = cfg.states_max {
        builder = builder.target_state_count(s.max(1));
    }
    let start = clock();
    let report = if cfg.mode == Mode::Dfs {
        summarize(cfg, builder.spawn_dfs().join(), (steps, scenario))
    } else {
        summarize(cfg, builder.spawn_bfs().join(), (steps, scenario))
    };
    let elapsed = clock().saturating_sub(start);
    CheckReport { elapsed, ..report }
}

/// How a report writes a discovery: as readable steps, and as a scenario.
type Writers<M> = (
    fn(&M, Vec<<M as Model>::Action>) -> Vec<String>,
    Option<ScenarioWriter<M>>,
);

fn summarize<M: Checkable>(
    cfg: &CheckConfig,
    checker: impl Checker<M>,
    writers: Writers<M>,
) -> CheckReport {
    let model = checker.model();
    let discoveries = checker
        .discoveries()
        .into_iter()
        .map(|(name, path)| (name, path.into_actions()))
        .collect();
    let counts = (
        checker.state_count(),
        checker.unique_state_count(),
        checker.max_depth(),
    );
    report(cfg, model, discoveries, writers, counts)
}

/// The report from each property's discovery (its path as readable steps) and the
/// `(states, unique states, max depth)` counts.
fn report<M: Model>(
    cfg: &CheckConfig,
    model: &M,
    mut discoveries: HashMap<&'static str, Vec<M::Action>>,
    (steps, scenario): Writers<M>,
    (states, unique_states, max_depth): (usize, usize, usize),
) -> CheckReport {
    let mut replay = None;
    let properties: Vec<PropertyResult> = model
        .properties()
        .into_iter()
        .map(|p| {
            let actions = discoveries.remove(p.name);
            if let (Expectation::Always | Expectation::Eventually, Some(a), Some(write), None) =
                (&p.expectation, &actions, scenario, &replay)
            {
                replay = Some(ReplayScenario {
                    property: p.name,
                    toml: write(model, p.name, a),
                });
            }
            let path = actions.map(|a| steps(model, a));
            let (kind, outcome) = match (p.expectation, path) {
                (Expectation::Sometimes, Some(path)) => (Kind::Sometimes, Outcome::Found { path }),
                (Expectation::Sometimes, None) => (Kind::Sometimes, Outcome::NotFound),
                (_, Some(path)) => (Kind::Always, Outcome::Violated { path }),
                (_, None) => (Kind::Always, Outcome::Holds),
            };
            PropertyResult {
                name: p.name,
                kind,
                outcome,
            }
        })
        .collect();
    let bounded = cfg.states_max.is_some_and(|m| states >= m)
        || cfg.depth_max.is_some_and(|d| max_depth >= d);
    let stopped_early = properties
        .iter()
        .any(|p: &PropertyResult| matches!(p.outcome, Outcome::Violated { .. }));
    CheckReport {
        states,
        unique_states,
        max_depth,
        exhaustive: !matches!(cfg.mode, Mode::Simulation { .. }) && !bounded && !stopped_early,
        elapsed: Duration::ZERO,
        properties,
        replay,
    }
}

/// A path as readable steps: `r0 -> r1: PREPARE v0 cv1 [c0#1]`.
pub fn format_path(
    model: &MinbftModel,
    path: Path<MinbftState, <MinbftModel as Model>::Action>,
) -> Vec<String> {
    format_actions(model, path.into_actions())
}

/// Actions of the MinBFT model as readable steps (see [`format_path`]).
pub fn format_actions(model: &MinbftModel, actions: Vec<Action>) -> Vec<String> {
    format_steps(model.cfg.replicas, actions, |m| {
        describe_with(m, describe_message)
    })
}

/// Actor-model actions as readable steps, numbered from 1, for a group of `n` replicas,
/// each message described by `describe`.
pub fn format_steps<M>(
    n: u32,
    actions: Vec<ActorModelAction<M, Timer, ByzMove>>,
    describe: impl Fn(&M) -> String,
) -> Vec<String> {
    let name = |id| node_id(n, id).to_string();
    actions
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let step = match a {
                ActorModelAction::Deliver { src, dst, msg } => {
                    format!("{} -> {}: {}", name(src), name(dst), describe(&msg))
                }
                ActorModelAction::Drop(env) => format!(
                    "lost {} -> {}: {}",
                    name(env.src),
                    name(env.dst),
                    describe(&env.msg)
                ),
                ActorModelAction::Timeout(id, Timer(kind)) => {
                    format!("{}: timer {kind:?} fires", name(id))
                }
                ActorModelAction::SelectRandom { actor, random, .. } => {
                    format!("{} (byzantine): {}", name(actor), move_name(random))
                }
                ActorModelAction::Crash(id) => format!("{} crashes", name(id)),
                ActorModelAction::Recover(id) => format!("{} recovers", name(id)),
            };
            format!("{:>3}. {step}", i + 1)
        })
        .collect()
}

fn move_name(m: ByzMove) -> &'static str {
    m.name()
}

/// A one-line description of a MinBFT model message, in the paper's words.
pub fn describe(msg: &Msg) -> String {
    describe_with(msg, describe_message)
}

/// A one-line description of a model message: observations here, protocol messages by
/// `protocol`.
pub fn describe_with<M>(msg: &Msg<M>, protocol: impl Fn(&M) -> String) -> String {
    match msg {
        Msg::Observe(Observation::Invoke { client, op }) => format!("c{client} invokes {:?}", op.0),
        Msg::Observe(Observation::Return { client, result }) => {
            format!("c{client} returns {result:?}")
        }
        Msg::Protocol(m) => protocol(m),
    }
}

fn describe_message(m: &Message) -> String {
    let reqs = |b: &[std::sync::Arc<minlab_protocols::minbft::Request>]| {
        b.iter()
            .map(|r| format!("c{}#{}", r.client, r.seq))
            .collect::<Vec<_>>()
            .join(",")
    };
    match m {
        Message::Request(r) => match KvOp::decode(&r.op) {
            Some(op) => format!("REQUEST c{}#{} {op:?}", r.client, r.seq),
            None => format!("REQUEST c{}#{} op {:?}", r.client, r.seq, r.op),
        },
        Message::Reply(r) => format!(
            "REPLY r{} c{}#{} = {:?}",
            r.replica, r.client, r.seq, r.result
        ),
        Message::Prepare(p) => format!(
            "PREPARE v{} r{} cv{} [{}]",
            p.view,
            p.primary,
            p.ui.counter,
            reqs(&p.batch)
        ),
        Message::Commit(c) => format!(
            "COMMIT v{} r{} for cv{} (ui cv{})",
            c.view, c.sender, c.prepare_ui.counter, c.ui.counter
        ),
        Message::Checkpoint(c) => format!(
            "CHECKPOINT r{} v{} cv{} (ui cv{})",
            c.sender, c.view, c.counter, c.ui.counter
        ),
        Message::ReqViewChange(r) => format!(
            "REQ-VIEW-CHANGE r{} v{} -> v{}",
            r.sender, r.view, r.new_view
        ),
        Message::ViewChange(v) => format!(
            "VIEW-CHANGE r{} to v{} |O|={} (ui cv{})",
            v.sender,
            v.new_view,
            v.log.len(),
            v.ui.counter
        ),
        Message::NewView(v) => format!(
            "NEW-VIEW r{} v{} |S|={} (ui cv{})",
            v.sender,
            v.new_view,
            v.prepares.len(),
            v.ui.counter
        ),
        other => other.kind().name().to_string(),
    }
}
