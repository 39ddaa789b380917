//! FILL-HOLE (paper §5): a replica that sees a gap in the primary's counter asks the
//! primary for the missing messages and starts a timer; when the timer expires it asks
//! every replica and requests a view change. Any replica answers from the primary's
//! messages it processed (they carry the primary's UI, so they need no other proof).
//!
//! A gap is first given one `repair_interval` to close by itself: links reorder, so the
//! missing message is usually just late. Asking at once made every reordering a FILL-HOLE,
//! and with answers rate-limited, reordering alone ended in REQ-VIEW-CHANGEs.

use super::messages::{FillHole, Message};
use super::replica::{Replica, ZOutbox};
use crate::event::RejectReason;
use crate::minbft::messages::MessageKind;
use crate::node::NodeId;
use crate::outbox::TimerKind;
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use std::sync::Arc;

/// Retransmission state.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct RepairState {
    /// The open hole `(view, from, to)` and whether everyone was asked already.
    pub(crate) hole: Option<Hole>,
    /// When each replica's FILL-HOLE was last answered (rate limit). Bound: `n`.
    pub(crate) answered: Vec<Option<Instant>>,
}

/// A gap in the primary's counter this replica is waiting to see filled.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Hole {
    pub(crate) view: u64,
    pub(crate) from: u64,
    pub(crate) to: u64,
    pub(crate) asked_primary: bool,
    pub(crate) asked_all: bool,
}

impl RepairState {
    pub(crate) fn new(replica_count: u32) -> Self {
        RepairState {
            hole: None,
            answered: vec![None; replica_count as usize],
        }
    }
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// A gap `from..=to` in the current primary's counter: arm the FILL-HOLE timer; if
    /// the gap is still open when it fires, ask the primary (paper §5).
    pub(crate) fn note_hole(&mut self, now: Instant, from: u64, to: u64, out: &mut ZOutbox) {
        if self.is_primary() || from > to {
            return;
        }
        if let Some(h) = &mut self.repair.hole
            && h.view == self.view
        {
            if from <= h.from {
                // Already waiting for this gap: widen it, keep the timer running.
                h.to = h.to.max(to);
                return;
            }
            // The previous gap closed: this is a new one, with a fresh grace period.
            let asked_all = h.asked_all;
            *h = Hole {
                view: self.view,
                from,
                to,
                asked_primary: false,
                asked_all,
            };
            out.set_timer(TimerKind::Repair, now + self.config.repair_interval);
            return;
        }
        self.repair.hole = Some(Hole {
            view: self.view,
            from,
            to,
            asked_primary: false,
            asked_all: false,
        });
        out.set_timer(TimerKind::Repair, now + self.config.repair_interval);
    }

    /// Nothing is parked any more: the hole, if any, is filled.
    pub(crate) fn hole_filled(&mut self, out: &mut ZOutbox) {
        // The repair timer also re-asks for a wanted state transfer.
        if self.repair.hole.take().is_some() && self.transfer.asked_at.is_none() {
            out.cancel_timer(TimerKind::Repair);
        }
    }

    fn send_fill_hole(&mut self, to_all: bool, from: u64, to: u64, out: &mut ZOutbox) {
        let m = Message::FillHole(Arc::new(FillHole {
            sender: self.id,
            view: self.view,
            from,
            to,
        }));
        self.metrics.count_sent(MessageKind::FillHole);
        if to_all {
            out.broadcast(m);
        } else {
            out.send(self.primary_node(), m);
        }
    }

    /// The FILL-HOLE timer: the primary did not fill the hole in time. Paper §5: "it
    /// multicasts the FILL-HOLE message to the other replicas and also requests a view
    /// change".
    pub(crate) fn on_repair_timer(&mut self, now: Instant, out: &mut ZOutbox) {
        self.on_transfer_timer(now, out);
        let Some(h) = self.repair.hole else { return };
        if h.view != self.view || self.accepted >= h.to {
            self.repair.hole = None;
            return;
        }
        let from = self.accepted + 1;
        if !h.asked_primary {
            // The grace period is over: ask the primary.
            self.send_fill_hole(false, from, h.to, out);
            if let Some(h) = &mut self.repair.hole {
                h.asked_primary = true;
            }
            out.set_timer(TimerKind::Repair, now + self.config.repair_interval);
            return;
        }
        // The primary did not fill it: if others checkpointed above our head, what we miss
        // may be garbage-collected everywhere (paper §4: "there is a state transfer").
        self.ask_state_after_fill_hole(now, out);
        self.send_fill_hole(true, from, h.to, out);
        if let Some(h) = &mut self.repair.hole {
            h.asked_all = true;
        }
        out.set_timer(TimerKind::Repair, now + self.config.repair_interval);
        self.suspect_primary(now, false, out);
    }

    /// A FILL-HOLE: resend the primary's messages of the range that this replica has.
    /// The primary ignores FILL-HOLEs of other views (paper §5); so does everyone.
    pub(crate) fn on_fill_hole(
        &mut self,
        now: Instant,
        from: NodeId,
        m: Arc<FillHole>,
        out: &mut ZOutbox,
    ) {
        let kind = MessageKind::FillHole;
        if let Some(reason) = self.peer_rejection(from, m.sender) {
            return self.reject(from, kind, reason, out);
        }
        if m.view != self.view {
            return self.reject(from, kind, RejectReason::StaleView, out);
        }
        let last = &mut self.repair.answered[m.sender as usize];
        if last.is_some_and(|t| now < t + self.config.repair_interval) {
            return self.reject(from, kind, RejectReason::RateLimited, out);
        }
        *last = Some(now);
        let msgs: Vec<Message> = self
            .order_log
            .range(m.from..=m.to.max(m.from))
            .take(self.config.repair_batch_max)
            .map(|(_, p)| p.to_message())
            .collect();
        for msg in msgs {
            self.metrics.count_sent(msg.kind());
            out.send(from, msg);
        }
    }
}
