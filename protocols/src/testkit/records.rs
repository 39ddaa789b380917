//! What the driver records for checking: executions per replica and completed operations.

use crate::node::{ClientId, View};
use crate::time::Duration;

/// One execution observed at a replica.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct Execution {
    /// Index in the agreed execution order.
    pub position: u64,
    /// View of the PREPARE.
    pub view: View,
    /// Its counter value.
    pub counter: u64,
    /// Position in the batch.
    pub index: u32,
    /// The client.
    pub client: ClientId,
    /// The request number.
    pub seq: u64,
    /// Fingerprint of the result.
    pub result_digest: u64,
}

/// One completed client operation.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Completion {
    /// The client.
    pub client: ClientId,
    /// The request number.
    pub seq: u64,
    /// The operation submitted.
    pub op: Vec<u8>,
    /// The agreed result.
    pub result: Vec<u8>,
    /// Latency in virtual time.
    pub latency: Duration,
}
