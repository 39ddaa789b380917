//! The primary's batch former, one rule for MinBFT, MinZyzyva and PBFT: a full batch
//! (`batch_size_max` requests) is ordered at once, a partial one only when the batch timer
//! fired (`flush`); the timer is armed while a partial batch waits and cancelled when
//! nothing is queued. What blocks ordering (windows, water marks) is each protocol's own
//! and is checked by the caller.

use crate::minbft::messages::Request;
use crate::outbox::{Outbox, TimerKind};
use crate::time::Instant;
use std::collections::VecDeque;
use std::sync::Arc;

/// The primary's queue of verified requests and its batch timer.
pub(crate) struct BatchFormer<'a> {
    /// Requests waiting for a batch, oldest first.
    pub(crate) pending: &'a mut VecDeque<Arc<Request>>,
    /// Whether the batch timer is armed.
    pub(crate) timer_armed: &'a mut bool,
}

impl BatchFormer<'_> {
    /// The next batch to order now, if any: at most `max` requests, taken when a full
    /// batch is queued or `flush`. Otherwise arms the batch timer at `deadline` (a partial
    /// batch waits) or cancels it (nothing is queued).
    pub(crate) fn next<M>(
        &mut self,
        flush: bool,
        max: usize,
        deadline: Instant,
        out: &mut Outbox<M>,
    ) -> Option<Vec<Arc<Request>>> {
        if self.pending.is_empty() {
            if *self.timer_armed {
                *self.timer_armed = false;
                out.cancel_timer(TimerKind::Batch);
            }
            return None;
        }
        if self.pending.len() < max && !flush {
            if !*self.timer_armed {
                *self.timer_armed = true;
                out.set_timer(TimerKind::Batch, deadline);
            }
            return None;
        }
        let take = self.pending.len().min(max);
        Some(self.pending.drain(..take).collect())
    }
}
