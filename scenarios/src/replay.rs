//! The `[replay]` section of a scenario: a scripted schedule (which message reaches which
//! node, which timer fires) that the simulator applies step by step instead of drawing a
//! random network and clock. `minlab check ... --scenario-out FILE` writes one from a
//! model-checking counterexample, so `minlab run FILE` shows the same bug in the
//! simulator, with its oracles.

use crate::schema::NodeRef;
use minlab_protocols::TimerKind;
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The name of the Byzantine "script" of a replay: the replica runs no code in the
/// simulator; the messages it sent in the recorded run are carried verbatim by the
/// schedule's `deliver` steps.
pub const REPLAYED_SCRIPT: &str = "replayed";

/// A recorded schedule and what produced it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaySpec {
    /// How the schedule was found (e.g. the `minlab check` command), for a person.
    #[serde(default)]
    pub source: String,
    /// The property the recorded run violates, as its source named it.
    #[serde(default)]
    pub property: String,
    /// TEST-ONLY: the seeded bug (`minbft::Mutant` name) every replica runs with; a
    /// minlab built without the feature `mutants` refuses the scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutant: Option<String>,
    /// The replicas' longest repair wait (`Config::repair_interval_max`); absent: the
    /// protocol's default. The model checker pins it to `params` so waits stay fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair_interval_max: Option<crate::Dur>,
    /// The clients' longest retransmission wait (`Config::retransmit_timeout_max`);
    /// absent: the protocol's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_retry_max: Option<crate::Dur>,
    /// The network may deliver a message more than once: a delivered message stays in
    /// flight.
    #[serde(default)]
    pub duplicating: bool,
    /// The operations each correct client submits, in order, as hex of the service's
    /// encoding (`client_ops[c]` for client `c`); a client submits its next one as soon as
    /// the previous completed, the first at the start.
    pub client_ops: Vec<Vec<String>>,
    /// The schedule, applied in order.
    #[serde(default, rename = "step")]
    pub steps: Vec<Spanned<ReplayStep>>,
}

/// One step of a schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ReplayStep {
    /// `message` (hex of the protocol codec's encoding) from `from` reaches `to`. Unless
    /// `from` is a replayed Byzantine replica, `from` must have that message in flight to
    /// `to`.
    Deliver {
        /// The sender.
        from: NodeRef,
        /// The receiver.
        to: NodeRef,
        /// Hex of the message's encoding.
        message: String,
        /// What the message is, for a person.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// Timer `kind` of `node` fires (it must be armed); a replica's clock first advances
    /// to the timer's deadline.
    Timer {
        /// The node.
        node: NodeRef,
        /// Which timer.
        kind: TimerName,
        /// What happens, for a person.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
}

/// A protocol timer, by its scenario name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimerName {
    /// A client's retransmission timer.
    Retransmit,
    /// The primary's batch timer.
    Batch,
    /// `T_exec`.
    RequestTimeout,
    /// `T_vc`.
    ViewChange,
    /// The repair (FILL-HOLE) timer.
    Repair,
}

impl TimerName {
    /// The protocol's timer kind.
    pub fn kind(self) -> TimerKind {
        match self {
            TimerName::Retransmit => TimerKind::Retransmit,
            TimerName::Batch => TimerKind::Batch,
            TimerName::RequestTimeout => TimerKind::RequestTimeout,
            TimerName::ViewChange => TimerKind::ViewChange,
            TimerName::Repair => TimerKind::Repair,
        }
    }

    /// The scenario name of a protocol timer kind.
    pub fn of(kind: TimerKind) -> TimerName {
        match kind {
            TimerKind::Retransmit => TimerName::Retransmit,
            TimerKind::Batch => TimerName::Batch,
            TimerKind::RequestTimeout => TimerName::RequestTimeout,
            TimerKind::ViewChange => TimerName::ViewChange,
            TimerKind::Repair => TimerName::Repair,
        }
    }
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// The bytes of hex text `s`, or why it is not hex.
pub fn from_hex(s: &str) -> Result<Vec<u8>, String> {
    hex::decode(s.trim()).map_err(|e| format!("not hex: {e}"))
}

/// Checks a replay section against its scenario: what the scripted mode can run, nodes
/// in range, hex that decodes.
pub(crate) fn validate(
    s: &crate::Scenario,
    r: &ReplaySpec,
    c: &crate::validate::Checker<'_>,
    replicas: u32,
) -> Result<(), crate::ScenarioError> {
    use crate::schema::{Protocol, ServiceKind};
    use minlab_usig::UsigKind;
    let bad = |field: &str, msg: String| Err(c.err(None, field, msg));
    if s.protocol == Protocol::Pbft {
        return bad("replay", "PBFT runs cannot be replayed yet".into());
    }
    if s.usig != UsigKind::Symbolic {
        return bad(
            "usig",
            "a replay needs the symbolic USIG (the recorded UIs are symbolic)".into(),
        );
    }
    if !s.faults.is_empty() {
        return bad(
            "faults",
            "a replay's schedule is the whole run: no scheduled faults".into(),
        );
    }
    if !s.byzantine_clients.is_empty() {
        return bad(
            "byzantine_clients",
            "a replay has no Byzantine client scripts".into(),
        );
    }
    if s.workload.service != ServiceKind::Kv {
        return bad(
            "workload.service",
            "a replay runs the key-value service".into(),
        );
    }
    if r.client_ops.len() != s.workload.clients as usize {
        return bad(
            "replay.client_ops",
            format!(
                "{} clients' operations for {} clients",
                r.client_ops.len(),
                s.workload.clients
            ),
        );
    }
    for (i, ops) in r.client_ops.iter().enumerate() {
        for (j, op) in ops.iter().enumerate() {
            if let Err(e) = from_hex(op) {
                return bad(&format!("replay.client_ops[{i}][{j}]"), e);
            }
        }
    }
    if r.mutant.as_deref().is_some_and(|m| m.trim().is_empty()) {
        return bad("replay.mutant", "empty mutant name".into());
    }
    let replayed: Vec<u32> = s
        .byzantine
        .iter()
        .map(|b| b.get_ref())
        .filter(|b| b.script == REPLAYED_SCRIPT)
        .map(|b| b.replica)
        .collect();
    if replayed.len() != s.byzantine.len() {
        return bad(
            "byzantine",
            format!("a replay's Byzantine replicas must use script \"{REPLAYED_SCRIPT}\""),
        );
    }
    let node_ok = |n: &NodeRef| match *n {
        NodeRef::Replica(i) => i < replicas,
        NodeRef::Client(i) => i < s.workload.clients,
        NodeRef::AllClients => false,
    };
    let is_replayed = |n: &NodeRef| matches!(n, NodeRef::Replica(i) if replayed.contains(i));
    for (i, step) in r.steps.iter().enumerate() {
        let field = format!("replay.step[{i}]");
        let fail = |msg: String| Err(c.err(Some(step.span()), &field, msg));
        match step.get_ref() {
            ReplayStep::Deliver {
                from, to, message, ..
            } => {
                for n in [from, to] {
                    if !node_ok(n) {
                        return fail(format!("no node {n} in this group"));
                    }
                }
                if from == to {
                    return fail(format!("{from} delivers to itself"));
                }
                if is_replayed(to) {
                    return fail(format!(
                        "{to} is a replayed Byzantine replica: nothing is delivered to it"
                    ));
                }
                match from_hex(message) {
                    Err(e) => return fail(format!("message: {e}")),
                    Ok(b) if b.is_empty() => return fail("message: empty".into()),
                    Ok(_) => {}
                }
            }
            ReplayStep::Timer { node, .. } => {
                if !node_ok(node) {
                    return fail(format!("no node {node} in this group"));
                }
                if is_replayed(node) {
                    return fail(format!(
                        "{node} is a replayed Byzantine replica: it has no timers"
                    ));
                }
            }
        }
    }
    Ok(())
}
