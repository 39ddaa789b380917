//! The ordered history of paper §5: a committed prefix and a speculative suffix, with the
//! state snapshots that make rollback possible.
//!
//! The history above the last stable checkpoint is kept entry by entry. The state at that
//! checkpoint (service snapshot plus client table) is kept as the rollback base: undoing
//! the speculative suffix from slot `k` on restores the nearest snapshot at or below `k`
//! and re-executes the entries between it and `k` (execution is deterministic, so this
//! rebuilds exactly the state the replica had after slot `k`).

use super::certify::{extend_history, order_digest};
use super::messages::{OrderReq, Response};
use crate::minbft::messages::{Digest, Request};
use crate::node::View;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// What a replica remembers about one client (`V_req` and the reply cache).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub(crate) struct ClientRecord {
    /// `V_req[c]`: the last request number executed (0 = none).
    pub(crate) last_seq: u64,
    /// Its result.
    pub(crate) last_result: Vec<u8>,
    /// The RESPONSE this replica sent for it, resent on retransmission. Not digested
    /// (its `UI_s` is this replica's own), but restored with the rest on rollback.
    pub(crate) last_response: Option<Arc<Response>>,
}

/// The part of a replica's state that rollback restores, besides the service.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ReplicatedState {
    /// One record per client. Bound: `client_count`.
    pub(crate) records: Vec<ClientRecord>,
    /// Requests executed (duplicates skipped are not): the next position.
    pub(crate) executed_count: u64,
    /// ORDER-REQs processed (the history's length, duplicates included).
    pub(crate) slots: u64,
    /// Digest of the history so far.
    pub(crate) history: Digest,
}

impl ReplicatedState {
    /// One more slot holding ORDER-REQ `o`: the history digest extended by it.
    pub(crate) fn append_order(&mut self, o: &OrderReq) {
        self.history = extend_history(&self.history, o.view, o.ui.counter, &order_digest(&o.batch));
        self.slots += 1;
    }

    pub(crate) fn new(client_count: u32) -> Self {
        ReplicatedState {
            records: vec![ClientRecord::default(); client_count as usize],
            executed_count: 0,
            slots: 0,
            history: [0; 32],
        }
    }
}

/// The state after some slot: what rollback restores.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Snapshot {
    /// The service's snapshot.
    pub(crate) service: Vec<u8>,
    /// The rest.
    pub(crate) state: ReplicatedState,
}

/// What one request of an ORDER-REQ's batch came to at this replica.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Outcome {
    /// Its position in the execution order; `None` when the request had already been
    /// executed (ordered twice: paper §5, not executed again).
    pub(crate) position: Option<u64>,
    /// FNV-1a of the result (for events).
    pub(crate) result_fnv: u64,
    /// The response sent for it (restored into the client record on replay).
    pub(crate) response: Option<Arc<Response>>,
}

/// One ORDER-REQ of the history: a slot.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Entry {
    /// The ORDER-REQ.
    pub(crate) order: Arc<OrderReq>,
    /// One per request of its batch, in batch order.
    pub(crate) outcomes: Vec<Outcome>,
    /// The history digest after it.
    pub(crate) history: Digest,
}

impl Entry {
    /// Each request of the batch with what it came to.
    pub(crate) fn requests(&self) -> impl DoubleEndedIterator<Item = (&Arc<Request>, &Outcome)> {
        self.order.batch.iter().zip(&self.outcomes)
    }
}

/// The history above the last stable checkpoint.
///
/// Bound: entries are dropped at each stable checkpoint; the primary never orders more
/// than `log_window` ORDER-REQs above it (see [`super::order`]), and backups refuse UI
/// messages more than `fifo_window` ahead of their FIFO position.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct History {
    /// Slot of the base (the last stable checkpoint; 0 at genesis).
    pub(crate) base_slot: u64,
    /// Entries for slots `base_slot + 1 ..`.
    pub(crate) entries: VecDeque<Entry>,
    /// Slots committed (a prefix; at least `base_slot`).
    pub(crate) committed: u64,
    /// Snapshots by slot: the base's, and those of own checkpoints not yet stable.
    pub(crate) snapshots: BTreeMap<u64, Snapshot>,
    /// Slot of each entry by its ORDER-REQ's `(view, UI_p counter)`.
    pub(crate) index: BTreeMap<(View, u64), u64>,
}

impl History {
    /// An empty history whose genesis state is `genesis`.
    pub(crate) fn new(genesis: Snapshot) -> Self {
        History {
            base_slot: 0,
            entries: VecDeque::new(),
            committed: 0,
            snapshots: BTreeMap::from([(0, genesis)]),
            index: BTreeMap::new(),
        }
    }

    /// An empty history above a committed base at `slot` whose state is `base` (a restored
    /// checkpoint: a state transfer or a restart point).
    pub(crate) fn based_at(slot: u64, base: Snapshot) -> Self {
        History {
            base_slot: slot,
            entries: VecDeque::new(),
            committed: slot,
            snapshots: BTreeMap::from([(slot, base)]),
            index: BTreeMap::new(),
        }
    }

    /// The last slot (the history's length).
    pub(crate) fn head(&self) -> u64 {
        self.base_slot + self.entries.len() as u64
    }

    /// The entry at `slot`, if it is above the base.
    pub(crate) fn get(&self, slot: u64) -> Option<&Entry> {
        slot.checked_sub(self.base_slot + 1)
            .and_then(|i| self.entries.get(i as usize))
    }

    /// Appends the entry for slot `head() + 1`.
    pub(crate) fn push(&mut self, e: Entry) {
        let slot = self.head() + 1;
        self.index.insert((e.order.view, e.order.ui.counter), slot);
        self.entries.push_back(e);
    }

    /// The slot of the ORDER-REQ `(view, counter)`, if it is above the base.
    pub(crate) fn slot_of(&self, view: View, counter: u64) -> Option<u64> {
        self.index.get(&(view, counter)).copied()
    }

    /// Marks slots up to `slot` committed; returns the newly committed entries.
    pub(crate) fn commit_to(&mut self, slot: u64) -> Vec<Entry> {
        let slot = slot.min(self.head());
        let mut fresh = Vec::new();
        while self.committed < slot {
            self.committed += 1;
            if let Some(e) = self.get(self.committed) {
                fresh.push(e.clone());
            }
        }
        fresh
    }

    /// Moves the base to the stable checkpoint at `slot` (which must be committed):
    /// drops the entries and snapshots below it. Returns the entries dropped.
    pub(crate) fn truncate_to(&mut self, slot: u64) -> usize {
        debug_assert!(slot <= self.committed);
        let mut dropped = 0;
        while self.base_slot < slot {
            if let Some(e) = self.entries.pop_front() {
                self.index.remove(&(e.order.view, e.order.ui.counter));
            }
            self.base_slot += 1;
            dropped += 1;
        }
        self.snapshots = self.snapshots.split_off(&slot);
        dropped
    }

    /// Removes the speculative entries above `slot` (which must not be below the
    /// committed prefix) and the snapshots above it; returns them, oldest first.
    pub(crate) fn cut_after(&mut self, slot: u64) -> Vec<Entry> {
        debug_assert!(slot >= self.committed);
        let keep = (slot - self.base_slot) as usize;
        let removed: Vec<Entry> = self.entries.drain(keep..).collect();
        for e in &removed {
            self.index.remove(&(e.order.view, e.order.ui.counter));
        }
        let _ = self.snapshots.split_off(&(slot + 1));
        removed
    }

    /// The latest snapshot at or below `slot`.
    pub(crate) fn snapshot_at_or_below(&self, slot: u64) -> Option<(u64, &Snapshot)> {
        self.snapshots
            .range(..=slot)
            .next_back()
            .map(|(&s, snap)| (s, snap))
    }
}
