//! What one simulated run produced: the outcome against the scenario's expectations, the
//! first violation of each property, and the measurements.

use crate::oracle::Violation;
use serde::Serialize;
use std::collections::BTreeMap;

/// Latency percentiles of completed client requests, in nanoseconds of virtual time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LatencySummary {
    /// Number of samples.
    pub count: u64,
    /// Mean.
    pub mean_ns: u64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// Largest.
    pub max_ns: u64,
}

/// What one replica did over the run, for per-replica cost tables (paper Table 1: the
/// bottleneck replica's messages and MAC/signature operations per request).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReplicaWork {
    /// The replica.
    pub replica: u32,
    /// True when a Byzantine script ran it (its counts are then those the script kept).
    pub byzantine: bool,
    /// Messages sent, by type, as the replica counted them (a broadcast counts once).
    pub sent: BTreeMap<String, u64>,
    /// Messages received, by type, as the replica counted them (before any check).
    pub received: BTreeMap<String, u64>,
    /// USIG `create_ui` calls.
    pub usig_creates: u64,
    /// USIG `verify_ui` calls.
    pub usig_verifies: u64,
    /// MACs computed or checked outside the USIG (client authenticator entries, reply
    /// MACs, PBFT's authenticators), as the replica counted them.
    pub mac_ops: u64,
    /// Signatures created or verified outside the USIG (Ed25519 client requests).
    pub signature_ops: u64,
    /// Requests executed.
    pub requests_executed: u64,
    /// Batches (PREPAREs) executed.
    pub batches_executed: u64,
    /// Virtual time the CPU cost model charged the replica for its inputs (0 without a
    /// `[cpu]` model): divided by the run's time, the fraction of it the replica was busy.
    pub busy_ns: u64,
}

/// Everything a run reports.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// The scenario's name.
    pub scenario: String,
    /// The seed of this run.
    pub seed: u64,
    /// True when every expectation of the scenario held.
    pub passed: bool,
    /// Why the run did not pass (empty when it passed).
    pub failures: Vec<String>,
    /// The first violation of each property, in the order found.
    pub violations: Vec<Violation>,
    /// Requests completed by correct clients.
    pub completed: u64,
    /// Requests correct clients invoked.
    pub invoked: u64,
    /// Completed requests per second of virtual time.
    pub throughput_per_s: f64,
    /// Client-observed latency.
    pub latency: LatencySummary,
    /// Virtual time the run covered, in nanoseconds.
    pub sim_time_ns: u64,
    /// Events taken from the queue.
    pub events: u64,
    /// Messages delivered to a node.
    pub deliveries: u64,
    /// Messages lost by the network (loss, partitions, corruption that broke decoding).
    pub dropped: u64,
    /// Messages that arrived at a crashed node.
    pub dropped_at_crashed: u64,
    /// Messages corrupted in transit that still decoded (and had to be rejected).
    pub corrupted_delivered: u64,
    /// Highest view reached by a correct replica.
    pub view_max: u64,
    /// View changes observed at correct replicas: (virtual time ns, replica, new view).
    pub view_changes: Vec<(u64, u32, u64)>,
    /// Checkpoints that became stable at correct replicas.
    pub checkpoints_stable: u64,
    /// Messages sent by correct replicas and clients, by type.
    pub messages_sent: BTreeMap<String, u64>,
    /// Messages rejected by correct replicas and clients, by reason.
    pub rejections: BTreeMap<String, u64>,
    /// USIG `create_ui` calls by correct replicas.
    pub usig_creates: u64,
    /// USIG `verify_ui` calls by correct replicas.
    pub usig_verifies: u64,
    /// Completions per 100 ms of virtual time (throughput over time).
    pub throughput_timeline: Vec<u64>,
    /// What each replica did (replicas 0..n).
    pub per_replica: Vec<ReplicaWork>,
    /// Client latency distribution: `(latency ns, fraction of requests at or below it)`,
    /// at 201 evenly spaced quantiles (empty when nothing completed).
    pub latency_cdf: Vec<(u64, f64)>,
    /// True when the run stopped because it reached the event bound.
    pub hit_event_bound: bool,
    /// Why linearizability could not be checked, if it could not.
    pub linearizability_inconclusive: Option<String>,
}

impl RunReport {
    /// The safety violations among the violations.
    pub fn safety_violations(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.property.is_safety())
    }
}
