//! Scripted runs: a scenario with a `[replay]` schedule (for instance a model-checking
//! counterexample written by `minlab check --scenario-out`) is applied step by step to
//! the same Sans-IO replicas and clients a normal run builds, with no random network and
//! no clock-driven timers, and the same oracles judge it. The normal event loop
//! (`engine.rs`) is not involved.
//!
//! Time follows the model checker's rules: a replica's clock advances to a timer's
//! deadline when that timer fires, and messages arrive at the receiver's current time;
//! clients stay at time zero. The oracles see step numbers as time (step `k` at `k` µs),
//! so real-time order is the schedule's order.

use super::observe::Observer;
use super::protocol::SimProtocol;
use super::report::RunReport;
use super::trace::Trace;
use super::world::{BuildError, World};
use crate::seed::SubSeeds;
use minlab_protocols::{
    ClientMachine, Instant, NodeId, Outbox, Output, ProtocolMessage, ReplicaMachine, TimerKind,
};
use minlab_scenarios::replay::{REPLAYED_SCRIPT, ReplaySpec, ReplayStep, from_hex};
use minlab_scenarios::{NodeRef, Scenario};
use std::collections::BTreeMap;

/// Virtual nanoseconds per step, as the oracles see time.
const STEP_NS: u64 = 1_000;

/// A node of a scripted run.
enum Node<P: SimProtocol> {
    Replica(Box<P::Replica>),
    Client(Box<P::Client>),
    /// A Byzantine replica whose messages the schedule carries verbatim.
    Replayed,
}

/// A message in flight: sender, receiver, encoding.
type InFlight = (NodeId, NodeId, Vec<u8>);

/// The state of a scripted run.
struct Scripted<'s, P: SimProtocol> {
    s: &'s Scenario,
    r: &'s ReplaySpec,
    nodes: Vec<Node<P>>,
    /// Per node: its clock (replicas only advance it) and its armed timers' deadlines.
    clock: Vec<Instant>,
    armed: Vec<BTreeMap<TimerKind, Instant>>,
    /// Messages sent and not yet delivered, with their multiplicity.
    in_flight: BTreeMap<InFlight, u32>,
    /// Per correct client: the index of its next operation.
    next_op: Vec<usize>,
    obs: Observer,
    replica_count: u32,
    /// The oracles' time: the current step's, plus one nanosecond per observation.
    at: u64,
}

/// The error of a step that cannot be applied: the replay diverged from its recording.
fn diverged(s: &Scenario, step: usize, reason: String) -> BuildError {
    BuildError::Diverged {
        scenario: s.name.clone(),
        step,
        reason,
    }
}

/// Refuses a scenario whose mutant this build cannot run (see [`replay_mutant`]).
pub fn check_mutant(s: &Scenario) -> Result<(), BuildError> {
    replay_mutant(s).map(|_| ())
}

/// The seeded bug a replay asks for: `None` without one; an error when its name is
/// unknown, or when minlab was built without the test-only feature `mutants`.
#[cfg(feature = "mutants")]
pub fn replay_mutant(s: &Scenario) -> Result<Option<minlab_protocols::minbft::Mutant>, BuildError> {
    use minlab_protocols::minbft::Mutant;
    let Some(name) = s.replay.as_ref().and_then(|r| r.mutant.as_deref()) else {
        return Ok(None);
    };
    Mutant::from_name(name.trim()).map(Some).ok_or_else(|| {
        let known: Vec<&str> = Mutant::ALL.iter().map(|m| m.name()).collect();
        BuildError::Mutant {
            scenario: s.name.clone(),
            reason: format!("unknown mutant {name:?} (known: {})", known.join(", ")),
        }
    })
}

/// The seeded bug a replay asks for: `None` without one; an error when its name is
/// unknown, or when minlab was built without the test-only feature `mutants`.
#[cfg(not(feature = "mutants"))]
pub fn replay_mutant(s: &Scenario) -> Result<Option<std::convert::Infallible>, BuildError> {
    match s.replay.as_ref().and_then(|r| r.mutant.as_deref()) {
        None => Ok(None),
        Some(name) => Err(BuildError::Mutant {
            scenario: s.name.clone(),
            reason: format!(
                "the replay runs mutant {name:?}, but this minlab was built without the \
                 test-only feature `mutants` (build it with `cargo build --features mutants`)"
            ),
        }),
    }
}

/// Replays the schedule of `s` (which must have a `[replay]` section) with protocol `P`
/// and reports what the oracles found. `seed` only names the run (and derives keys): a
/// scripted run draws nothing at random.
pub fn replay<P: SimProtocol>(
    s: &Scenario,
    seed: u64,
    trace: Option<Trace>,
) -> Result<RunReport, BuildError> {
    let Some(r) = &s.replay else {
        return Err(BuildError::Unsupported {
            scenario: s.name.clone(),
            what: "a scripted run without a [replay] section".into(),
        });
    };
    check_mutant(s)?;
    let seeds = SubSeeds::new(seed);
    let world = World::new(s, &seeds);
    let proto = P::build(s, &world)?;
    let mut nodes = Vec::new();
    for id in 0..world.replica_count {
        let replayed = s
            .byzantine
            .iter()
            .any(|b| b.get_ref().replica == id && b.get_ref().script == REPLAYED_SCRIPT);
        nodes.push(if replayed {
            Node::Replayed
        } else {
            Node::Replica(Box::new(proto.replica(s, &world, id, 0)?))
        });
    }
    for c in 0..s.workload.clients {
        nodes.push(Node::Client(Box::new(proto.client(&world, c))));
    }
    let count = nodes.len();
    let mut run = Scripted::<P> {
        s,
        r,
        nodes,
        clock: vec![Instant::ZERO; count],
        armed: vec![BTreeMap::new(); count],
        in_flight: BTreeMap::new(),
        next_op: vec![0; s.workload.clients as usize],
        obs: Observer::new(s, &world, trace)?,
        replica_count: world.replica_count,
        at: 0,
    };
    for c in 0..s.workload.clients {
        run.submit_next(c)?;
    }
    for (i, step) in r.steps.iter().enumerate() {
        run.at = run.at.max((i as u64 + 1) * STEP_NS);
        run.apply(i + 1, step.get_ref())?;
    }
    let metrics = run
        .nodes
        .iter()
        .map(|n| match n {
            Node::Replica(r) => r.metrics().clone(),
            Node::Client(c) => c.metrics().clone(),
            Node::Replayed => Default::default(),
        })
        .collect::<Vec<_>>();
    let end = run.at;
    Ok(run
        .obs
        .finish(s, seed, end, r.steps.len() as u64, false, &metrics, &[]))
}

fn node_of(r: NodeRef) -> NodeId {
    match r {
        NodeRef::Replica(i) => NodeId::Replica(i),
        NodeRef::Client(i) => NodeId::Client(i),
        // Validation refuses "clients" in a schedule.
        NodeRef::AllClients => NodeId::Client(u32::MAX),
    }
}

impl<P: SimProtocol> Scripted<'_, P> {
    fn index_of(&self, node: NodeId) -> Option<usize> {
        let i = match node {
            NodeId::Replica(r) if r < self.replica_count => r as usize,
            NodeId::Client(c) => (self.replica_count as usize).checked_add(c as usize)?,
            NodeId::Replica(_) => return None,
        };
        (i < self.nodes.len()).then_some(i)
    }

    fn tick(&mut self) -> u64 {
        let at = self.at;
        self.at += 1;
        at
    }

    /// Applies step `n` (numbered from 1).
    fn apply(&mut self, n: usize, step: &ReplayStep) -> Result<(), BuildError> {
        let s = self.s;
        let fail = |reason: String| diverged(s, n, reason);
        match step {
            ReplayStep::Deliver {
                from,
                to,
                message,
                note,
            } => {
                let (from, to) = (node_of(*from), node_of(*to));
                let what = if note.is_empty() {
                    String::new()
                } else {
                    format!(" ({note})")
                };
                let (Some(src), Some(dst)) = (self.index_of(from), self.index_of(to)) else {
                    return Err(fail(format!("{from} -> {to}: no such node")));
                };
                let bytes = from_hex(message).map_err(|e| fail(format!("message: {e}")))?;
                let msg = P::Message::decode(&bytes).map_err(|e| {
                    fail(format!("{from} -> {to}: the message does not decode: {e}"))
                })?;
                if !matches!(self.nodes[src], Node::Replayed) {
                    let key = (from, to, bytes);
                    match self.in_flight.get_mut(&key) {
                        Some(k) if *k > 0 => {
                            if !self.r.duplicating {
                                *k -= 1;
                                if *k == 0 {
                                    self.in_flight.remove(&key);
                                }
                            }
                        }
                        _ => {
                            return Err(fail(format!(
                                "{from} has no such {} in flight to {to}{what}",
                                msg.kind().name()
                            )));
                        }
                    }
                }
                let at = self.tick();
                self.obs.deliveries += 1;
                if let Some(t) = self.obs.trace.as_mut() {
                    t.delivery(at, at, from, to, &msg);
                }
                let mut out = Outbox::new();
                let now = self.clock[dst];
                match &mut self.nodes[dst] {
                    Node::Replica(r) => {
                        if let NodeId::Replica(id) = to {
                            self.obs.on_replica_input(at, id, &msg);
                        }
                        r.on_message(now, from, msg, &mut out);
                    }
                    Node::Client(c) => c.on_message(now, from, msg, &mut out),
                    Node::Replayed => {
                        return Err(fail(format!("{to} is replayed: nothing reaches it")));
                    }
                }
                self.dispatch(dst, to, out)
            }
            ReplayStep::Timer { node, kind, .. } => {
                let (id, kind) = (node_of(*node), kind.kind());
                let Some(i) = self.index_of(id) else {
                    return Err(fail(format!("{id}: no such node")));
                };
                let Some(deadline) = self.armed[i].remove(&kind) else {
                    return Err(fail(format!("timer {kind:?} of {id} is not armed")));
                };
                let mut out = Outbox::new();
                match &mut self.nodes[i] {
                    Node::Replica(r) => {
                        self.clock[i] = self.clock[i].max(deadline);
                        r.on_timer(self.clock[i], kind, &mut out);
                    }
                    Node::Client(c) => c.on_timer(self.clock[i], kind, &mut out),
                    Node::Replayed => return Err(fail(format!("{id} is replayed: no timers"))),
                }
                self.dispatch(i, id, out)
            }
        }
    }

    /// Client `c` submits its next operation, if it has one left and is idle.
    fn submit_next(&mut self, c: u32) -> Result<(), BuildError> {
        let i = self.replica_count as usize + c as usize;
        let Some(op) = self.r.client_ops[c as usize].get(self.next_op[c as usize]) else {
            return Ok(());
        };
        let op = from_hex(op).map_err(|e| diverged(self.s, 0, format!("client c{c}: {e}")))?;
        let mut out = Outbox::new();
        let now = self.clock[i];
        let Node::Client(cl) = &mut self.nodes[i] else {
            return Ok(());
        };
        if !cl.is_idle() {
            return Ok(());
        }
        let Ok(seq) = cl.submit(now, op.clone(), &mut out) else {
            return Ok(());
        };
        self.next_op[c as usize] += 1;
        let at = self.tick();
        self.obs.on_invoke(at, c, seq, op);
        self.dispatch(i, NodeId::Client(c), out)
    }

    /// Node `i` (`me`) produced `out`: messages go in flight, timers are armed, events
    /// reach the oracles; a client whose request completed submits its next one.
    fn dispatch(
        &mut self,
        i: usize,
        me: NodeId,
        mut out: Outbox<P::Message>,
    ) -> Result<(), BuildError> {
        let mut completed = None;
        for o in out.drain() {
            match o {
                Output::Send { to, msg } => self.send(me, to, &msg),
                Output::Broadcast { msg } => {
                    for r in (0..self.replica_count).map(NodeId::Replica) {
                        if r != me {
                            self.send(me, r, &msg);
                        }
                    }
                }
                Output::SetTimer { kind, deadline } => {
                    self.armed[i].insert(kind, deadline);
                }
                Output::CancelTimer { kind } => {
                    self.armed[i].remove(&kind);
                }
                // A scripted run has no crash: nothing reads the write-ahead log.
                Output::Persist { .. } => {}
                Output::Event(e) => {
                    let at = self.tick();
                    if let Some(c) = self.obs.on_event(at, me, e) {
                        completed = Some(c);
                    }
                }
            }
        }
        match completed {
            Some(c) if c < self.s.workload.clients => self.submit_next(c),
            _ => Ok(()),
        }
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: &P::Message) {
        let mut bytes = Vec::new();
        if msg.encode_into(&mut bytes).is_err() {
            self.obs.dropped += 1;
            return;
        }
        *self.in_flight.entry((from, to, bytes)).or_insert(0) += 1;
    }
}
