//! The message log of paper §4: PREPAREs by counter value with the COMMIT votes they
//! gathered, COMMITs that arrived before their PREPARE, and the execution point.

use super::messages::{Commit, Digest, Prepare};
use crate::node::ReplicaId;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One PREPARE and its votes.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Entry {
    /// The PREPARE (a vote of the primary).
    pub(crate) prepare: Arc<Prepare>,
    /// Its batch digest, computed once.
    pub(crate) digest: Digest,
    /// Replicas whose COMMIT (or PREPARE, for the primary) matched, as a bitmask.
    pub(crate) votes: u64,
    /// The COMMIT this replica sent for it (backups only), kept for the view change.
    pub(crate) own_commit: Option<Arc<Commit>>,
}

impl Entry {
    #[inline]
    pub(crate) fn vote_count(&self) -> u32 {
        self.votes.count_ones()
    }
}

/// The log.
///
/// Bound: entries and early COMMITs are kept only for counter values in `(h, H]` with
/// `H = h + L`, at most one early COMMIT per (counter value, sender); truncation at each
/// stable checkpoint drops everything at or below the new `h`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub(crate) struct Log {
    pub(crate) entries: BTreeMap<u64, Entry>,
    /// COMMITs whose PREPARE has not been processed yet, by (prepare counter, sender).
    pub(crate) early: BTreeMap<(u64, ReplicaId), Arc<Commit>>,
    /// Counter value of the last executed PREPARE (0 before any).
    pub(crate) last_executed: u64,
    /// View of the last executed PREPARE: batches execute in `(view, counter)` order.
    pub(crate) last_executed_view: crate::node::View,
    /// `(view, counter)` of the last batch this replica really executed (or that a
    /// restored checkpoint covers). Unlike `(last_executed_view, last_executed)`, installing
    /// a NEW-VIEW does not move it to the NEW-VIEW's counter: a batch of an older view that
    /// a later NEW-VIEW's `S` brings back (its certificate's members never installed the
    /// view whose `S` left it out) must still execute here.
    pub(crate) executed_batch: (crate::node::View, u64),
    /// Entries above `last_executed` (PREPAREs in flight).
    pub(crate) unexecuted: u64,
    /// Set when a NEW-VIEW showed this replica's state behind the most recent stable
    /// checkpoint: nothing executes until a state transfer.
    pub(crate) behind: bool,
}

impl Log {
    /// Drops entries and early COMMITs at or below `h`; returns how many entries went.
    pub(crate) fn truncate(&mut self, h: u64) -> usize {
        let kept = self.entries.split_off(&(h + 1));
        let dropped = std::mem::replace(&mut self.entries, kept).len();
        let kept = self.early.split_off(&(h + 1, 0));
        self.early = kept;
        dropped
    }
}
