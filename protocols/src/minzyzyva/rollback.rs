//! Rollback (paper §5): undoing speculative executions. "Rollback is an internal server
//! operation and does not involve the USIG service (there is no rollback of the
//! counter)." The state is rebuilt from the nearest snapshot at or below the rollback
//! point by re-executing the history entries in between; the committed prefix is never
//! undone.
//!
//! A NEW-VIEW decides what to roll back (see [`super::new_view`]): the speculative
//! executions its history `C + S` does not include.

use super::history::Entry;
use super::replica::{Replica, ZOutbox};
use crate::error::ProtocolError;
use crate::event::Event;
use crate::service::Service;
use minlab_usig::Usig;

impl<U: Usig, S: Service> Replica<U, S> {
    /// Undoes every speculative entry above `slot` (never below the committed prefix):
    /// restores the service and client table to their state right after `slot` and
    /// reports each undone execution with [`Event::RolledBack`], newest first. Returns how
    /// many history entries were removed.
    pub fn rollback_to(&mut self, slot: u64, out: &mut ZOutbox) -> Result<usize, ProtocolError> {
        let slot = slot.max(self.history.committed);
        if slot >= self.history.head() {
            return Ok(0);
        }
        self.persist(out, || super::wal::Record::RolledBack(slot));
        let removed = self.history.cut_after(slot);
        let (base, snapshot) = self
            .history
            .snapshot_at_or_below(slot)
            .map(|(s, snap)| (s, snap.clone()))
            .ok_or_else(|| ProtocolError::BadSnapshot(format!("no snapshot at or below {slot}")))?;
        self.service.restore(&snapshot.service)?;
        self.state = snapshot.state;
        for s in base + 1..=slot {
            let e = self.history.get(s).cloned().ok_or_else(|| {
                ProtocolError::BadSnapshot(format!("history entry {s} missing for replay"))
            })?;
            self.replay(&e);
        }
        // Own votes for checkpoints that no longer exist in this history.
        for votes in self.checkpoints.votes.range_mut(slot + 1..) {
            votes.1.remove(&self.id);
        }
        for e in removed.iter().rev() {
            for (req, outcome) in e.requests().rev() {
                if let Some(position) = outcome.position {
                    out.event(Event::RolledBack {
                        position,
                        client: req.client,
                        client_seq: req.seq,
                    });
                }
            }
        }
        Ok(removed.len())
    }

    /// Re-executes one history entry without any output (its responses were sent when
    /// it first executed).
    fn replay(&mut self, e: &Entry) {
        self.state.append_order(&e.order);
        debug_assert_eq!(self.state.history, e.history, "replay diverged");
        for (req, outcome) in e.requests() {
            if outcome.position.is_none() {
                continue;
            }
            let result = self.service.execute(&req.op);
            self.state.executed_count += 1;
            let rec = &mut self.state.records[req.client as usize];
            rec.last_seq = req.seq;
            rec.last_result = result;
            rec.last_response = outcome.response.clone();
        }
    }
}
