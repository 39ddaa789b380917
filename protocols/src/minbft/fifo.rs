//! The FIFO rule of paper §4 (`V_acc`): a UI message with counter value `cv` from replica
//! `s` is processed only after the one with `cv - 1`; earlier arrivals wait in a bounded
//! per-sender buffer.

use super::messages::{Checkpoint, Commit, Digest, Prepare, Restart};
use crate::event::RejectReason;
use crate::node::ReplicaId;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A UI message whose certificate already verified, waiting for its turn.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) enum UiMessage {
    /// A PREPARE, with its batch digest computed once.
    Prepare(Arc<Prepare>, Digest),
    /// A COMMIT.
    Commit(Arc<Commit>),
    /// A CHECKPOINT.
    Checkpoint(Arc<Checkpoint>),
    /// A RESTART, parked at the position after its last logged counter value.
    Restart(Arc<Restart>),
}

/// Per-sender FIFO state.
///
/// Bound: sender `s`'s buffer only holds counters in `(V_acc[s] + 1, V_acc[s] + window]`,
/// so at most `window - 1` messages per sender.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Fifo {
    accepted: Vec<u64>,
    buffers: Vec<BTreeMap<u64, UiMessage>>,
    window: u64,
}

impl Fifo {
    pub(crate) fn new(replica_count: u32, window: u64) -> Self {
        Fifo {
            accepted: vec![0; replica_count as usize],
            buffers: vec![BTreeMap::new(); replica_count as usize],
            window,
        }
    }

    /// `V_acc[s]`: the last counter value processed from `s`.
    #[inline]
    pub(crate) fn accepted(&self, s: ReplicaId) -> u64 {
        self.accepted[s as usize]
    }

    /// Where a counter value from `s` stands, before anyone spends a UI verification on it.
    #[inline]
    pub(crate) fn admit(&self, s: ReplicaId, counter: u64) -> Result<(), RejectReason> {
        let last = self.accepted[s as usize];
        if counter <= last || self.buffers[s as usize].contains_key(&counter) {
            Err(RejectReason::DuplicateUi)
        } else if counter - last > self.window {
            Err(RejectReason::AboveHighWaterMark)
        } else {
            Ok(())
        }
    }

    /// True when `counter` is the next one expected from `s`.
    #[inline]
    pub(crate) fn is_next(&self, s: ReplicaId, counter: u64) -> bool {
        counter == self.accepted[s as usize] + 1
    }

    /// Parks a verified message until its predecessors are processed.
    pub(crate) fn park(&mut self, s: ReplicaId, counter: u64, m: UiMessage) {
        self.buffers[s as usize].insert(counter, m);
    }

    /// Takes the next message from `s` if it is buffered.
    pub(crate) fn take_next(&mut self, s: ReplicaId) -> Option<(u64, UiMessage)> {
        let next = self.accepted[s as usize] + 1;
        let buf = &mut self.buffers[s as usize];
        if buf.first_key_value().is_some_and(|(&c, _)| c == next) {
            buf.pop_first()
        } else {
            None
        }
    }

    /// Marks `counter` from `s` processed.
    #[inline]
    pub(crate) fn advance(&mut self, s: ReplicaId, counter: u64) {
        debug_assert_eq!(counter, self.accepted[s as usize] + 1);
        self.accepted[s as usize] = counter;
    }

    /// Moves `s`'s position to `counter` (a VIEW-CHANGE or NEW-VIEW with that UI accounts
    /// for every earlier counter value of `s`) and drops what was buffered below it.
    pub(crate) fn jump(&mut self, s: ReplicaId, counter: u64) {
        let i = s as usize;
        if counter > self.accepted[i] {
            self.accepted[i] = counter;
            self.buffers[i] = self.buffers[i].split_off(&(counter + 1));
        }
    }

    /// Moves `s`'s FIFO position to just before its latest buffered CHECKPOINT of `view`
    /// at or below `executed` (this replica's last executed batch), so that CHECKPOINT is
    /// processed next: what `s` sent before it concerns batches this replica already
    /// executed, and may have been garbage-collected by `s`, so it can no longer be
    /// retransmitted. True if the position moved.
    pub(crate) fn skip_covered(
        &mut self,
        s: ReplicaId,
        view: crate::node::View,
        executed: u64,
    ) -> bool {
        let i = s as usize;
        let covered = self.buffers[i].iter().rev().find_map(|(&c, m)| match m {
            UiMessage::Checkpoint(cp) if cp.view == view && cp.counter <= executed => Some(c),
            _ => None,
        });
        match covered {
            Some(c) if c - 1 > self.accepted[i] => {
                self.jump(s, c - 1);
                true
            }
            _ => false,
        }
    }

    /// `s`'s latest buffered CHECKPOINT, if any.
    pub(crate) fn latest_buffered_checkpoint(&self, s: ReplicaId) -> Option<Arc<Checkpoint>> {
        self.buffers[s as usize]
            .values()
            .rev()
            .find_map(|m| match m {
                UiMessage::Checkpoint(c) => Some(c.clone()),
                _ => None,
            })
    }

    /// True when `s`'s next message is buffered.
    pub(crate) fn take_ready(&self, s: ReplicaId) -> bool {
        let next = self.accepted[s as usize] + 1;
        self.buffers[s as usize]
            .first_key_value()
            .is_some_and(|(&c, _)| c == next)
    }

    /// Messages waiting in `s`'s buffer.
    pub(crate) fn buffered(&self, s: ReplicaId) -> usize {
        self.buffers[s as usize].len()
    }

    /// True when some sender has its next message buffered.
    pub(crate) fn any_ready(&self) -> bool {
        self.buffers
            .iter()
            .zip(&self.accepted)
            .any(|(b, &a)| b.first_key_value().is_some_and(|(&c, _)| c == a + 1))
    }
}
