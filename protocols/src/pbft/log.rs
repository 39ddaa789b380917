//! The message log: per sequence number, the PRE-PREPARE and the PREPARE and COMMIT votes
//! gathered for it, and whether it is prepared and committed-local.

use super::messages::PrePrepare;
use crate::minbft::messages::Digest;
use crate::node::ReplicaId;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a replica knows about one sequence number.
///
/// Bound: one PREPARE and one COMMIT digest per replica.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub(crate) struct Entry {
    /// The accepted PRE-PREPARE and its batch digest (none yet if votes came first).
    pub(crate) pre_prepare: Option<(Arc<PrePrepare>, Digest)>,
    /// PREPAREs by sender (own included for a backup), with the digest each named.
    pub(crate) prepares: BTreeMap<ReplicaId, Digest>,
    /// COMMITs by sender (own included), with the digest each named.
    pub(crate) commits: BTreeMap<ReplicaId, Digest>,
    /// Pre-prepare plus `2f` matching PREPAREs: this replica sent its COMMIT.
    pub(crate) prepared: bool,
    /// Prepared plus `2f + 1` matching COMMITs: the batch may execute in order.
    pub(crate) committed: bool,
}

impl Entry {
    /// The batch digest, once the PRE-PREPARE is in.
    pub(crate) fn digest(&self) -> Option<&Digest> {
        self.pre_prepare.as_ref().map(|(_, d)| d)
    }

    /// Votes in `votes` matching the PRE-PREPARE's digest.
    pub(crate) fn matching(&self, votes: &BTreeMap<ReplicaId, Digest>) -> usize {
        match self.digest() {
            Some(d) => votes.values().filter(|v| *v == d).count(),
            None => 0,
        }
    }
}

/// The log.
///
/// Bound: entries only for sequence numbers in `(h, H]`; truncated at each stable
/// checkpoint.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub(crate) struct Log {
    pub(crate) entries: BTreeMap<u64, Entry>,
    /// The last executed sequence number (0 before any).
    pub(crate) last_executed: u64,
}

impl Log {
    /// Drops entries at or below `h`; returns how many went.
    pub(crate) fn truncate(&mut self, h: u64) -> usize {
        let kept = self.entries.split_off(&(h + 1));
        std::mem::replace(&mut self.entries, kept).len()
    }
}
