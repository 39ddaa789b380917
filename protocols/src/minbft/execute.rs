//! Execution of accepted batches in the primary's counter order, exactly once per request
//! (`V_req`), with a reply to each client and a checkpoint every `cp` (paper §4).

use super::certify::fnv1a;
use super::messages::{Message, MessageKind, Prepare, Reply};
use super::mutant::mutant;
use super::replica::Replica;
use crate::event::Event;
use crate::node::NodeId;
use crate::outbox::Outbox;
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;

impl<U: Usig, S: Service> Replica<U, S> {
    /// Votes (the PREPARE included) that accept a batch: `f + 1` (paper §4); `f` with
    /// the test-only mutant `CommitQuorum`.
    #[inline]
    pub(crate) fn commit_quorum(&self) -> u32 {
        if mutant!(self, CommitQuorum) {
            return self.config.f();
        }
        self.config.quorum()
    }

    /// Executes accepted batches in counter order (paper §4: a request accepted can be
    /// executed at once, there is never a need to wait for lower numbers).
    pub(crate) fn try_execute(&mut self, now: Instant, out: &mut Outbox) {
        if self.log.behind {
            return;
        }
        let quorum = self.commit_quorum();
        let mut executed_any = false;
        loop {
            let next = self.log.last_executed + 1;
            // Only a batch of the view of the execution point follows it: counter values
            // of different views are not comparable.
            let prepare = match self.log.entries.range(next..).next() {
                Some((_, e))
                    if e.vote_count() >= quorum
                        && e.prepare.view == self.log.last_executed_view =>
                {
                    e.prepare.clone()
                }
                _ => break,
            };
            let previous = self.log.last_executed;
            self.execute_batch(&prepare, out);
            self.log.unexecuted -= 1;
            executed_any = true;
            let counter = self.log.last_executed;
            let cp = self.config.checkpoint_period;
            if counter / cp > previous / cp {
                self.take_checkpoint(counter, out);
            }
        }
        if executed_any {
            self.maybe_prepare(now, false, out);
        }
    }

    /// Executes one accepted batch (the caller takes checkpoints); skips requests already executed (a faulty primary may
    /// order a request twice) and replies to each client.
    pub(crate) fn execute_batch(&mut self, p: &Prepare, out: &mut Outbox) {
        let counter = p.ui.counter;
        self.log.executed_batch = self.log.executed_batch.max((p.view, counter));
        for (index, req) in p.batch.iter().enumerate() {
            let Some(rec) = self.table.records.get_mut(req.client as usize) else {
                continue;
            };
            if req.seq <= rec.last_seq {
                continue;
            }
            let result = self.service.execute(&req.op);
            rec.last_seq = req.seq;
            if rec.in_flight <= req.seq {
                rec.in_flight = 0;
                if let Some(n) = rec.next.take()
                    && n.seq > req.seq
                    && self.primary == self.id
                    && !self.vc.changing
                {
                    rec.in_flight = n.seq;
                    self.pending.push_back(n);
                }
            }
            self.metrics.requests_executed += 1;
            let position = self.table.executed_count;
            self.table.executed_count += 1;
            out.event(Event::RequestExecuted {
                position,
                request: req.clone(),
                view: p.view,
                counter,
                index: index as u32,
                client: req.client,
                client_seq: req.seq,
                result_digest: fnv1a(&result),
            });
            let auth = self.clients.reply_auth(req.client, req.seq, &result);
            self.metrics.mac_ops += u64::from(auth.is_some());
            let reply = Reply {
                replica: self.id,
                client: req.client,
                seq: req.seq,
                result: result.clone(),
                auth,
            };
            rec.last_result = result;
            self.unwatch(req.client, req.seq, out);
            self.metrics.count_sent(MessageKind::Reply);
            out.send(NodeId::Client(req.client), Message::Reply(Box::new(reply)));
        }
        self.log.last_executed = counter;
        self.metrics.batches_executed += 1;
    }
}
