//! Oracles: checks that run alongside a simulation and report the first violation of a
//! safety or liveness property, with the virtual time at which it was seen.

pub mod agreement;
pub mod linearizability;
pub mod liveness;
pub mod usig_monitor;

pub use agreement::{Agreement, CheckpointAgreement, ExactlyOnce};
pub use linearizability::History;
pub use liveness::Liveness;
pub use stateright::semantics::SequentialSpec;
pub use usig_monitor::UsigMonitor;

use serde::Serialize;
use std::fmt;

/// Which property a violation breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Property {
    /// Correct replicas' executed sequences are prefixes of one another.
    Agreement,
    /// No correct replica executes a request twice.
    ExactlyOnce,
    /// Correct replicas' checkpoints at the same position have the same state digest.
    CheckpointAgreement,
    /// What clients observed is linearizable against the sequential specification.
    Linearizability,
    /// No two correct replicas accepted different messages with the same signer and counter.
    UsigUniqueness,
    /// After the network healed, every request of a correct client completed in time.
    Liveness,
    /// MinZyzyva (paper §5): no correct replica rolls back a request a client completed.
    CompletedNeverRolledBack,
}

impl Property {
    /// True for safety properties (everything but liveness).
    pub fn is_safety(self) -> bool {
        self != Property::Liveness
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Property::Agreement => "agreement",
            Property::ExactlyOnce => "exactly-once",
            Property::CheckpointAgreement => "checkpoint-agreement",
            Property::Linearizability => "linearizability",
            Property::UsigUniqueness => "usig-uniqueness",
            Property::Liveness => "liveness",
            Property::CompletedNeverRolledBack => "completed-never-rolled-back",
        };
        f.write_str(s)
    }
}

/// A property violation found by an oracle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The property broken.
    pub property: Property,
    /// Virtual time (ns) at which the oracle saw it.
    pub at_ns: u64,
    /// What happened, for a person.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} violated at {:.3} ms: {}",
            self.property,
            self.at_ns as f64 / 1e6,
            self.detail
        )
    }
}
