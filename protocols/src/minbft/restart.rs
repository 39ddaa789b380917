//! Counter values a restarted replica consumed but never logged (issue "crash recovery",
//! the gap trap), and why peers may skip them only under three rules.
//!
//! **Where gaps come from.** A replica logs every UI message before sending it
//! ([`super::wal`]), but its USIG counter lives elsewhere (the trusted component): a crash
//! after `create_ui` and before the step's log records are durable consumes counter
//! values whose messages were never sent, and a durable software counter resumes past its
//! whole reserved block ([`minlab_usig::DurableCounter`]). Peers process each replica's
//! UI messages in counter order (paper §4, `V_acc`), so without help they would wait for
//! those values forever and the replica could never be heard again.
//!
//! **The message.** On restart, if the USIG is past the last logged counter value
//! `c_log`, the replica's first message is `RESTART(v, c_log)` under a fresh UI `c`: "my
//! values `c_log + 1 .. c` were never sent". A peer processes it in FIFO position
//! `c_log + 1` (after everything up to `c_log`, which the replica can still retransmit
//! from its log) and then jumps to `c`. A peer that already processed a message of that
//! replica above `c_log` holds proof that the replica is faulty (a correct replica sends
//! nothing it did not log) and rejects the RESTART (`ContradictoryRestart`).
//!
//! **Why skipping alone would be unsafe.** A faulty replica can use a RESTART to *retract*
//! a message that some correct replicas processed and others skip: (a) as primary, a
//! PREPARE that replica `A` accepted and executed while `B` skips it and executes the
//! primary's next PREPARE at the same position; (b) as new primary, a NEW-VIEW that `A`
//! installed while `B` skips it and installs a second NEW-VIEW for the same view with a
//! different `S`; (c) in a later VIEW-CHANGE, a COMMIT or PREPARE that was the only vote
//! of a request linking it to the new-view quorum (with `n = 2f + 1` the quorums may meet
//! only in that replica; MinBFT's view change is safe precisely because a VIEW-CHANGE's
//! `O` cannot omit anything). A correct replica sending to a subset of peers causes none
//! of this, because the others wait for the missing value instead of skipping it. So a
//! RESTART does not give a faulty replica "nothing it could not already do" — the
//! argument the issue asked for fails, and minlab adds three rules that make it hold:
//!
//! 1. **Position.** A RESTART is processed only at FIFO position `c_log + 1`; a peer past
//!    that position rejects it as evidence (above).
//! 2. **No primary role after a gap.** Once a peer processed a RESTART with a gap from
//!    `s`, it never again accepts a PREPARE or NEW-VIEW from `s` (`RevokedPrimary`), and
//!    if `s` is its current primary it asks for a view change. Cases (a) and (b) need
//!    `s` to act as primary after the RESTART towards the peers that skipped, so they
//!    cannot happen. (The revocation is permanent for the run: lifting it would need to
//!    know the highest view `s` could have acted in before the crash, which only `s`
//!    claims. Views whose primary is a revoked replica end by view-change timeout.)
//! 3. **Gapped VIEW-CHANGEs do not count.** A VIEW-CHANGE whose `O` contains a RESTART
//!    with a gap is valid (its sender's FIFO position moves past it) but is not counted
//!    in a new-view certificate `V_vc`, and a NEW-VIEW whose `V_vc` holds one is invalid.
//!    Every counted VIEW-CHANGE has a complete `O`, which is the only property of
//!    `V_vc`'s members MinBFT's safety argument uses ([`super::view_change`]), so case
//!    (c) cannot lose a request. The sender's VIEW-CHANGEs count again once its stable
//!    checkpoint (where `O` starts) is past the RESTART.
//!
//! **What the model checker shows** (`check/tests/mutants.rs`, `check/tests/recovery.rs`).
//! With one replica crashing at any point of a run with a view change, every property
//! holds. Rules 2 and 3 are each necessary: switching either off (mutants `NoRevocation`,
//! `CountGappedViewChanges`) lets a Byzantine replica that wipes its own log and restarts
//! break agreement or lose an executed request. Rule 1 is not needed for safety (mutant
//! `RestartAnyPosition` is not found): a peer that takes a RESTART early only drops the
//! sender's earlier messages as stale, which costs liveness (they could still have been
//! retransmitted from the log), and rejecting a contradictory RESTART keeps the evidence.
//! For the same reason the two driver bugs the issue predicted to be unsafe, recovering
//! without the log (amnesia) and logging after sending, are not safety bugs here: because
//! the USIG counter survives, either one only makes the recovered replica's RESTART retract
//! messages it did send, which is what a Byzantine replica can do anyway and what rules 2
//! and 3 neutralise. (With a counter that did not survive, amnesia would be equivocation.)
//!
//! The cost falls on the restarted replica only: until its next stable checkpoint it does
//! not help form a new view, and it never leads one again. A restart that lost nothing
//! (the common case with a USIG that does not reserve ahead) sends no RESTART and costs
//! nothing. The same holds for the TPM backend: its NV counter persists by itself, and the
//! window between `TPM2_NV_Increment` and the log append is exactly a gap.

use super::certify::restart_bytes;
use super::fifo::UiMessage;
use super::messages::{LoggedMessage, Message, MessageKind, Restart, ViewChange};
use super::replica::{Outcome, Replica};
use crate::event::{Event, RejectReason};
use crate::node::{NodeId, ReplicaId};
use crate::outbox::Outbox;
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use std::sync::Arc;

/// True when `vc`'s `O` holds a RESTART declaring lost counter values: such a
/// VIEW-CHANGE is not counted in `V_vc` (rule 3).
pub fn has_gap(vc: &ViewChange) -> bool {
    vc.log.iter().any(|m| match m {
        LoggedMessage::Restart(r) => r.last_logged + 1 < r.ui.counter,
        _ => false,
    })
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// Our primary declared lost counter values: ask for the next view (rule 2).
    fn suspect_revoked_primary(&mut self, now: Instant, out: &mut Outbox) {
        self.request_view_change(now, self.view + 1, out);
    }

    /// True when replica `s` may act as a primary (rule 2).
    #[inline]
    pub(crate) fn may_lead(&self, s: ReplicaId) -> bool {
        self.revoked & (1 << s) == 0 || super::mutant::mutant!(self, NoRevocation)
    }

    /// True when VIEW-CHANGE `vc` may not count in `V_vc` (rule 3): its `O` holds a gap.
    #[inline]
    pub(crate) fn uncounted(&self, vc: &ViewChange) -> bool {
        has_gap(vc) && !super::mutant::mutant!(self, CountGappedViewChanges)
    }

    /// After recovery: if the USIG consumed counter values the log does not hold, multicast
    /// RESTART so peers stop waiting for them, and give up the primary role.
    pub(crate) fn announce_restart(&mut self, now: Instant, out: &mut Outbox) {
        let last_logged = self.recovered.last_logged;
        if self.usig.last_counter() <= last_logged {
            return;
        }
        self.metrics.usig_creates += 1;
        let ui = match self.usig.create_ui(&restart_bytes(self.view, last_logged)) {
            Ok(ui) => ui,
            Err(error) => {
                return out.event(Event::UsigFailed {
                    error: Box::new(error),
                });
            }
        };
        let m = Arc::new(Restart {
            sender: self.id,
            view: self.view,
            last_logged,
            ui,
        });
        self.log_sent(m.ui.counter, LoggedMessage::Restart(m.clone()), out);
        self.revoked |= 1 << self.id;
        self.metrics.count_sent(MessageKind::Restart);
        out.broadcast(Message::Restart(m));
        if self.is_primary() && !self.vc.changing && !self.may_lead(self.id) {
            self.suspect_revoked_primary(now, out);
        }
    }

    /// A RESTART arrives: checked, then delivered at FIFO position `last_logged + 1`.
    pub(crate) fn on_restart(
        &mut self,
        now: Instant,
        from: NodeId,
        m: Arc<Restart>,
        out: &mut Outbox,
    ) {
        let kind = MessageKind::Restart;
        let s = m.sender;
        if let Some(reason) = self.peer_rejection(from, s) {
            return self.reject(from, kind, reason, out);
        }
        if m.last_logged >= m.ui.counter {
            return self.reject(from, kind, RejectReason::InvalidRestart, out);
        }
        let accepted = self.fifo.accepted(s);
        if m.ui.counter <= accepted {
            return self.reject(from, kind, RejectReason::DuplicateUi, out);
        }
        self.metrics.usig_verifies += 1;
        if self
            .usig
            .verify_ui(s, &m.ui, &restart_bytes(m.view, m.last_logged))
            .is_err()
        {
            return self.reject(from, kind, RejectReason::BadUi, out);
        }
        let any_position = super::mutant::mutant!(self, RestartAnyPosition);
        if accepted > m.last_logged && !any_position {
            return self.reject(from, kind, RejectReason::ContradictoryRestart, out);
        }
        let position = if any_position {
            accepted + 1
        } else {
            m.last_logged + 1
        };
        if let Err(reason) = self.fifo.admit(s, position) {
            return self.reject(from, kind, reason, out);
        }
        self.deliver(now, s, position, UiMessage::Restart(m), out);
    }

    /// The FIFO-next RESTART (the caller then jumps the sender's position to its UI).
    pub(crate) fn process_restart(
        &mut self,
        now: Instant,
        m: &Restart,
        out: &mut Outbox,
    ) -> Outcome {
        out.event(Event::PeerRestarted {
            replica: m.sender,
            last_logged: m.last_logged,
            counter: m.ui.counter,
        });
        if m.last_logged + 1 < m.ui.counter {
            self.revoked |= 1 << m.sender;
            if self.primary == m.sender && !self.vc.changing && !self.may_lead(m.sender) {
                self.suspect_revoked_primary(now, out);
            }
        }
        Outcome::Done
    }
}
