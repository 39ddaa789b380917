//! Delivery of verified UI messages under the FIFO rule (paper §4, `V_acc`): process a
//! message when it is next from its sender, park it otherwise, drain what became ready.

use super::fifo::UiMessage;
use super::messages::MessageKind;
use super::replica::{Outcome, Replica};
use crate::node::{NodeId, ReplicaId};
use crate::outbox::Outbox;
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;

impl<U: Usig, S: Service> Replica<U, S> {
    /// Hands a verified UI message to the FIFO rule: process it now if it is next from its
    /// sender, else park it; then process whatever became ready.
    pub(crate) fn deliver(
        &mut self,
        now: Instant,
        sender: ReplicaId,
        counter: u64,
        m: UiMessage,
        out: &mut Outbox,
    ) {
        if !self.fifo.is_next(sender, counter) {
            if !self.skips_fifo(&m) {
                self.fifo.park(sender, counter, m);
                self.arm_repair(now, out);
                return;
            }
            self.fifo.jump(sender, counter - 1);
        }
        if self.process_next(now, sender, counter, m, out) {
            self.drain_sender(now, sender, out);
        }
        self.settle(now, out);
        self.arm_repair(now, out);
    }

    /// Processes the FIFO-next message from `sender`; true if the sender's position moved.
    pub(crate) fn process_next(
        &mut self,
        now: Instant,
        sender: ReplicaId,
        counter: u64,
        m: UiMessage,
        out: &mut Outbox,
    ) -> bool {
        let outcome = match &m {
            UiMessage::Prepare(p, d) => self.process_prepare(p, d, out),
            UiMessage::Commit(c) => self.process_commit(c),
            UiMessage::Checkpoint(c) => self.process_checkpoint(c),
            UiMessage::Restart(r) => self.process_restart(now, r, out),
        };
        match outcome {
            Outcome::Done => {
                self.fifo.advance(sender, counter);
                if let UiMessage::Restart(r) = &m {
                    // Its gap will never be filled: skip it (see `super::restart`).
                    self.fifo.jump(sender, r.ui.counter);
                }
                self.try_execute(now, out);
                if matches!(m, UiMessage::Checkpoint(_)) {
                    self.check_stable(out);
                }
                true
            }
            Outcome::Hold => {
                self.fifo.park(sender, counter, m);
                false
            }
            Outcome::Reject(reason) => {
                let kind = match m {
                    UiMessage::Prepare(..) => MessageKind::Prepare,
                    UiMessage::Commit(_) => MessageKind::Commit,
                    UiMessage::Checkpoint(_) => MessageKind::Checkpoint,
                    UiMessage::Restart(_) => MessageKind::Restart,
                };
                self.reject(NodeId::Replica(sender), kind, reason, out);
                false
            }
        }
    }

    /// Processes `sender`'s buffered messages while they are next in its FIFO order.
    pub(crate) fn drain_sender(
        &mut self,
        now: Instant,
        sender: ReplicaId,
        out: &mut Outbox,
    ) -> bool {
        let mut moved = false;
        while let Some((counter, m)) = self.fifo.take_next(sender) {
            if !self.process_next(now, sender, counter, m, out) {
                break;
            }
            moved = true;
        }
        moved
    }

    /// Skips FIFO holes that only hide messages about batches this replica executed.
    pub(crate) fn skip_executed(&mut self) {
        if self.log.behind || self.log.last_executed_view != self.view {
            return;
        }
        let (view, executed) = (self.view, self.log.last_executed);
        for s in 0..self.config.replica_count {
            if s != self.id {
                self.fifo.skip_covered(s, view, executed);
            }
        }
    }

    /// After the low water mark moved, messages held above the old high water mark may be
    /// ready, and the primary may order more. Each round consumes buffered messages, so
    /// this ends.
    pub(crate) fn settle(&mut self, now: Instant, out: &mut Outbox) {
        while self.checkpoints.advanced {
            self.checkpoints.advanced = false;
            self.skip_executed();
            while self.fifo.any_ready() {
                let mut moved = false;
                for s in 0..self.config.replica_count {
                    if s != self.id {
                        moved |= self.drain_sender(now, s, out);
                    }
                }
                if !moved {
                    break;
                }
            }
            self.maybe_prepare(now, false, out);
        }
    }
}
