//! The primary's batch former, one rule for MinBFT, MinZyzyva and PBFT, chosen by
//! [`BatchRule`]: under [`BatchRule::Timer`] a full batch (`batch_size_max` requests) is
//! ordered at once and a partial one only when the batch timer fired (`flush`); under
//! [`BatchRule::Slots`] (the paper's §7 rule) whatever is queued is ordered at once. What
//! blocks ordering (a full window of agreements, water marks) is each protocol's own and
//! is checked by the caller, so under `Slots` requests that arrive while no slot is free
//! stay queued and go into the next agreement the caller starts.

use crate::minbft::messages::Request;
use crate::outbox::{Outbox, TimerKind};
use crate::time::Instant;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;

/// When the primary starts an agreement on the requests it has queued.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum BatchRule {
    /// A full batch of `batch_size_max` at once; a partial batch only when the batch timer
    /// (`batch_timeout`) fires. minlab's rule since batching was built.
    #[default]
    Timer,
    /// The paper's rule (§7: "the algorithm can run a preconfigured maximum number of
    /// parallel agreements; messages received when there are no slots for running
    /// agreements are batched in the next agreement possible"): whenever fewer than
    /// `outstanding_batches_max` agreements are outstanding, the primary orders whatever
    /// is queued (up to `batch_size_max`) at once, with no timer.
    Slots,
}

impl BatchRule {
    /// The name scenario files and cluster files use (`timer`, `slots`).
    pub fn name(self) -> &'static str {
        match self {
            BatchRule::Timer => "timer",
            BatchRule::Slots => "slots",
        }
    }
}

/// The primary's queue of verified requests and its batch timer.
pub(crate) struct BatchFormer<'a> {
    /// Requests waiting for a batch, oldest first.
    pub(crate) pending: &'a mut VecDeque<Arc<Request>>,
    /// Whether the batch timer is armed.
    pub(crate) timer_armed: &'a mut bool,
    /// When a batch may go out.
    pub(crate) rule: BatchRule,
}

impl BatchFormer<'_> {
    /// The next batch to order now, if any: at most `max` requests. The caller has checked
    /// that an agreement may start (a free slot). Under [`BatchRule::Timer`] a batch is
    /// taken when a full one is queued or `flush`; otherwise the batch timer is armed at
    /// `deadline` (a partial batch waits). Under [`BatchRule::Slots`] whatever is queued is
    /// taken. With nothing queued the batch timer is cancelled.
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
        let wait = match self.rule {
            BatchRule::Timer => self.pending.len() < max && !flush,
            BatchRule::Slots => false,
        };
        if wait {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minbft::messages::RequestAuth;
    use crate::outbox::Output;
    use crate::time::Duration;

    fn queue(n: u32) -> VecDeque<Arc<Request>> {
        (0..n)
            .map(|client| {
                Arc::new(Request {
                    client,
                    seq: 1,
                    op: vec![],
                    auth: RequestAuth::None,
                })
            })
            .collect()
    }

    /// What `rule` does with `queued` requests, batches of up to `max`, not flushed: the
    /// batch taken (its clients), what is left queued and the outputs.
    fn form(
        rule: BatchRule,
        queued: u32,
        max: usize,
    ) -> (Option<Vec<u32>>, usize, Vec<Output<()>>) {
        let mut pending = queue(queued);
        let mut armed = false;
        let mut out = Outbox::<()>::new();
        let deadline = Instant::ZERO + Duration::from_micros(200);
        let batch = BatchFormer {
            pending: &mut pending,
            timer_armed: &mut armed,
            rule,
        }
        .next(false, max, deadline, &mut out);
        let clients = batch.map(|b| b.iter().map(|r| r.client).collect());
        (clients, pending.len(), out.as_slice().to_vec())
    }

    #[test]
    fn the_timer_rule_holds_a_partial_batch_for_the_timer() {
        let (batch, left, out) = form(BatchRule::Timer, 3, 5);
        assert_eq!((batch, left), (None, 3));
        assert!(matches!(
            out.as_slice(),
            [Output::SetTimer {
                kind: TimerKind::Batch,
                ..
            }]
        ));
    }

    #[test]
    fn the_slot_rule_orders_a_partial_batch_at_once_without_the_timer() {
        // Paper §7: with a slot free, the primary starts an agreement on what it has.
        let (batch, left, out) = form(BatchRule::Slots, 3, 5);
        assert_eq!((batch, left), (Some(vec![0, 1, 2]), 0));
        assert!(out.is_empty(), "no batch timer: {out:?}");
        let (batch, left, _) = form(BatchRule::Slots, 1, 200);
        assert_eq!((batch, left), (Some(vec![0]), 0));
    }

    #[test]
    fn batch_size_max_bounds_both_rules() {
        for rule in [BatchRule::Timer, BatchRule::Slots] {
            let (batch, left, out) = form(rule, 7, 4);
            assert_eq!((batch, left), (Some(vec![0, 1, 2, 3]), 3), "{rule:?}");
            assert!(out.is_empty());
        }
    }

    #[test]
    fn an_empty_queue_cancels_an_armed_timer() {
        for rule in [BatchRule::Timer, BatchRule::Slots] {
            let mut pending = VecDeque::new();
            let mut armed = true;
            let mut out = Outbox::<()>::new();
            let batch = BatchFormer {
                pending: &mut pending,
                timer_armed: &mut armed,
                rule,
            }
            .next(false, 4, Instant::ZERO, &mut out);
            assert!(batch.is_none() && !armed);
            assert_eq!(
                out.as_slice(),
                [Output::CancelTimer {
                    kind: TimerKind::Batch
                }]
            );
        }
    }

    #[test]
    fn rule_names_parse_back_and_others_are_refused() {
        use serde::de::IntoDeserializer;
        let parse = |name: &str| {
            let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
                name.into_deserializer();
            BatchRule::deserialize(de)
        };
        for rule in [BatchRule::Timer, BatchRule::Slots] {
            assert_eq!(parse(rule.name()).unwrap(), rule);
        }
        let e = parse("window").unwrap_err().to_string();
        assert!(e.contains("timer") && e.contains("slots"), "{e}");
    }
}
