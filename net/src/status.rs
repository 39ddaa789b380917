//! What a running node reports about itself: protocol position, state digest, USIG
//! counter values it issued, and the adapter's counters. Published to the status file
//! (JSON) that tests, `minlab cluster` and operators read.

use crate::metrics::NetMetricsSnapshot;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// A checkpoint this replica took.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointSeen {
    /// Counter value of the last executed PREPARE.
    pub counter: u64,
    /// Requests executed before it.
    pub position: u64,
    /// The state digest (service and client table), hex.
    pub state_digest: String,
}

/// A MinZyzyva replica's history (paper §5): ORDER-REQs processed, the committed prefix
/// and the history digest two correct replicas share when they processed the same orders.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryStatus {
    /// History length (ORDER-REQs processed).
    pub len: u64,
    /// Length of its committed prefix.
    pub committed_len: u64,
    /// The history digest, hex.
    pub digest: String,
}

/// A node's status at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// Replica id.
    pub id: u32,
    /// Operating-system process id.
    pub pid: u32,
    /// Milliseconds since this node started.
    pub uptime_ms: u64,
    /// Current view.
    pub view: u64,
    /// Whether it is the primary of its view.
    pub primary: bool,
    /// Counter value of the last executed PREPARE.
    pub last_executed: u64,
    /// Requests executed so far (its position in the agreed order; with MinZyzyva,
    /// speculative executions included).
    pub executed_requests: u64,
    /// Requests whose place in the agreed order is final: all executed ones with MinBFT,
    /// the committed prefix with MinZyzyva.
    #[serde(default)]
    pub committed_requests: u64,
    /// MinZyzyva: speculative executions undone by a view change.
    #[serde(default)]
    pub rolled_back: u64,
    /// MinZyzyva: the speculative history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryStatus>,
    /// The service's state digest, hex.
    pub service_digest: String,
    /// The low water mark (last stable checkpoint).
    pub low_water_mark: u64,
    /// The last checkpoint taken.
    pub last_checkpoint: Option<CheckpointSeen>,
    /// `V_req`: last request number executed, per client.
    pub last_executed_by_client: Vec<u64>,
    /// The USIG counter value this incarnation resumed from (the durable reservation).
    pub usig_counter_resumed_at: u64,
    /// The last USIG counter value issued.
    pub usig_counter_last: u64,
    /// Views installed by a view change.
    pub view_changes: u64,
    /// State transfers completed.
    pub state_transfers: u64,
    /// Requests executed (from the replica's metrics).
    pub requests_executed: u64,
    /// Batches executed.
    pub batches_executed: u64,
    /// Rejected messages by reason (non-zero only).
    pub rejections: BTreeMap<String, u64>,
    /// The adapter's counters.
    pub net: NetMetricsSnapshot,
}

impl NodeStatus {
    /// Writes the status to `path` atomically (temporary file, then rename).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("json.tmp");
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, path)
    }

    /// Reads a status file.
    pub fn read(path: &Path) -> std::io::Result<NodeStatus> {
        let bytes = std::fs::read(path)?;
        serde_json::from_slice(&bytes).map_err(std::io::Error::other)
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
