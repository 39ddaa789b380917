//! Execution in sequence-number order, replies, and checkpoints with garbage collection:
//! every `K` sequence numbers a replica sends a CHECKPOINT; `2f + 1` matching ones (its
//! own included) make it stable, move the water marks and truncate the log.

use super::auth::checkpoint_bytes;
use super::messages::{Checkpoint, Message, PrePrepare};
use super::replica::{PbftOutbox, Replica};
use crate::event::{Event, RejectReason};
use crate::minbft::certify::fnv1a;
use crate::minbft::messages::{Digest, MessageKind, Reply};
use crate::node::NodeId;
use crate::service::Service;
use crate::time::Instant;
use sha2::{Digest as _, Sha256};
use std::sync::Arc;

impl<S: Service> Replica<S> {
    /// The digest a checkpoint certifies: the service state and the client table.
    pub fn state_digest(&self) -> Digest {
        let mut h = Sha256::new();
        h.update(self.service.state_digest());
        h.update(self.table.digest());
        h.finalize().into()
    }

    /// Executes every committed-local batch that is next in sequence order.
    pub(crate) fn try_execute(&mut self, now: Instant, out: &mut PbftOutbox) {
        let mut executed_any = false;
        loop {
            let next = self.log.last_executed + 1;
            let pp = match self.log.entries.get(&next) {
                Some(e) if e.committed => match &e.pre_prepare {
                    Some((pp, _)) => pp.clone(),
                    None => break,
                },
                _ => break,
            };
            self.execute_batch(&pp, out);
            executed_any = true;
            if next.is_multiple_of(self.config.checkpoint_period) {
                self.take_checkpoint(now, next, out);
            }
        }
        if executed_any {
            self.maybe_pre_prepare(now, false, out);
        }
    }

    /// Executes one batch, skipping requests already executed (a faulty primary may order
    /// one twice), and replies to each client with a MAC.
    fn execute_batch(&mut self, pp: &PrePrepare, out: &mut PbftOutbox) {
        for (index, req) in pp.batch.iter().enumerate() {
            let is_primary = self.is_primary();
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
                    && is_primary
                {
                    rec.in_flight = n.seq;
                    self.pending.push_back(n);
                }
            }
            rec.last_result = result.clone();
            self.metrics.requests_executed += 1;
            let position = self.table.executed_count;
            self.table.executed_count += 1;
            out.event(Event::RequestExecuted {
                position,
                request: req.clone(),
                view: pp.view,
                counter: pp.seq,
                index: index as u32,
                client: req.client,
                client_seq: req.seq,
                result_digest: fnv1a(&result),
            });
            if self.watched.remove(&(req.client, req.seq)) && self.watched.is_empty() {
                out.cancel_timer(crate::outbox::TimerKind::RequestTimeout);
            }
            let auth = self.clients.reply_auth(req.client, req.seq, &result);
            self.metrics.mac_ops += u64::from(auth.is_some());
            self.metrics.count_sent(MessageKind::Reply);
            out.send(
                NodeId::Client(req.client),
                Message::Reply(Box::new(Reply {
                    replica: self.id,
                    client: req.client,
                    seq: req.seq,
                    result,
                    auth,
                })),
            );
        }
        self.log.last_executed = pp.seq;
        self.metrics.batches_executed += 1;
    }

    /// Sends this replica's CHECKPOINT for the state after sequence number `seq`.
    fn take_checkpoint(&mut self, now: Instant, seq: u64, out: &mut PbftOutbox) {
        let state_digest = self.state_digest();
        out.event(Event::CheckpointTaken {
            counter: seq,
            position: self.table.executed_count,
            state_digest,
        });
        let auth = self.authenticate(&checkpoint_bytes(seq, &state_digest));
        self.checkpoint_votes
            .entry(seq)
            .or_default()
            .insert(self.id, state_digest);
        self.metrics.count_sent(MessageKind::Checkpoint);
        out.broadcast(Message::Checkpoint(Arc::new(Checkpoint {
            seq,
            state_digest,
            sender: self.id,
            auth,
        })));
        self.check_stable(now, out);
    }

    /// A CHECKPOINT arrives: a vote for the state after `seq`.
    pub(crate) fn on_checkpoint(
        &mut self,
        now: Instant,
        from: NodeId,
        c: Arc<Checkpoint>,
        out: &mut PbftOutbox,
    ) {
        let kind = MessageKind::Checkpoint;
        match self
            .check_peer(from, c.sender, self.view)
            .and_then(|()| self.in_window(c.seq))
        {
            Err(reason) => return self.reject(from, kind, reason, out),
            Ok(false) => {
                self.metrics.stale += 1;
                return;
            }
            Ok(true) => {}
        }
        if !c.seq.is_multiple_of(self.config.checkpoint_period) {
            return self.reject(from, kind, RejectReason::UnexpectedMessage, out);
        }
        if self
            .checkpoint_votes
            .get(&c.seq)
            .is_some_and(|v| v.contains_key(&c.sender))
        {
            return self.reject(from, kind, RejectReason::DuplicateVote, out);
        }
        if !self.verify_mac(c.sender, &checkpoint_bytes(c.seq, &c.state_digest), &c.auth) {
            return self.reject(from, kind, RejectReason::BadMac, out);
        }
        self.checkpoint_votes
            .entry(c.seq)
            .or_default()
            .insert(c.sender, c.state_digest);
        self.check_stable(now, out);
    }

    /// Makes the highest checkpoint with `2f + 1` votes matching our own stable: moves
    /// `h` (and so `H`), truncates the log and the votes.
    fn check_stable(&mut self, now: Instant, out: &mut PbftOutbox) {
        let quorum = self.config.quorum();
        let stable = self
            .checkpoint_votes
            .iter()
            .rev()
            .find(|(_, votes)| {
                votes
                    .get(&self.id)
                    .is_some_and(|own| votes.values().filter(|d| *d == own).count() >= quorum)
            })
            .map(|(&seq, _)| seq);
        let Some(seq) = stable else {
            return;
        };
        self.low_water_mark = seq;
        let truncated_entries = self.log.truncate(seq);
        self.checkpoint_votes = self.checkpoint_votes.split_off(&(seq + 1));
        out.event(Event::CheckpointStable {
            counter: seq,
            truncated_entries,
        });
        self.maybe_pre_prepare(now, false, out);
    }
}
