//! TEST-ONLY seeded bugs (feature `mutants`): each [`Mutant`] breaks one rule of paper §4
//! in a replica whose [`super::Config::mutant`] names it, so that the simulator and the
//! model checker can be shown to catch real safety bugs. Without the feature neither this
//! module nor the configuration field exists, and every check of it compiles to `false`.

/// One deliberate safety bug. Every replica of a group with `Config::mutant = Some(m)`
/// runs with bug `m` (a bug in the code, not a faulty replica).
#[cfg(feature = "mutants")]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Mutant {
    /// A batch is accepted with `f` votes (the PREPARE included) instead of `f + 1`; the
    /// primary checks for acceptance right after sending a PREPARE (with `f = 1` it
    /// executes on its own PREPARE).
    CommitQuorum,
    /// Condition 3 (no holes) skipped: a backup processes a PREPARE as soon as it arrives,
    /// even if counter values of the primary before it were not processed; `V_acc` jumps.
    SkipNoHole,
    /// The FIFO rule (`V_acc`) ignored for every sender: a UI message is processed as soon
    /// as it arrives if its counter value is above the last one processed from its sender
    /// (lower ones arriving later count as duplicates).
    IgnoreFifo,
    /// `S` is computed from the new primary's own VIEW-CHANGE only: the `O` entries of the
    /// other members of `V_vc` are dropped (by the new primary and by the backups that
    /// recompute `S`, so the NEW-VIEW is accepted).
    DropFromS,
    /// Backups do not recompute `S`: they accept whatever `S` a NEW-VIEW carries.
    TrustNewView,
    /// On installing a NEW-VIEW, every batch of `S` is executed, including those executed
    /// already, and `V_req` is not consulted for them.
    ExecuteTwice,
    /// Crash recovery without the log (issue "crash recovery", amnesia): the driver
    /// restarts a durable replica from an empty write-ahead log; its USIG counter survives.
    /// Honoured by drivers (the model checker), not by the replica.
    Amnesia,
    /// Logging after sending: the driver makes a step's write-ahead records durable only
    /// after the step's sends, so a crash in between loses records of messages that left.
    /// Honoured by drivers (the model checker), not by the replica.
    LogAfterSend,
    /// Rule 1 of `super::restart` off: a RESTART is processed as soon as it arrives,
    /// whatever its FIFO position: the sender's position jumps over its gap even when
    /// earlier messages are outstanding, or were processed past the claimed last logged
    /// value (no `ContradictoryRestart`).
    RestartAnyPosition,
    /// Rule 2 of `super::restart` off: a replica that declared a gap may still act as
    /// primary (no `RevokedPrimary`, no view change asked for).
    NoRevocation,
    /// Rule 3 of `super::restart` off: a VIEW-CHANGE whose `O` holds a gap counts in
    /// `V_vc` like any other.
    CountGappedViewChanges,
    /// MinZyzyva (paper §5, step 5): a client completes a request on `2f` matching
    /// responses instead of `2f + 1`. (`IgnoreFifo` also applies to MinZyzyva replicas:
    /// the primary's ORDER-REQs are executed as they arrive.)
    SpeculativeQuorum,
    /// MinZyzyva (paper §5, view change): a replica installing a NEW-VIEW keeps the
    /// speculative executions the new view leaves out instead of rolling them back; the
    /// new view's requests are executed after them.
    NoRollback,
}

#[cfg(feature = "mutants")]
impl Mutant {
    /// Every mutant, in a stable order.
    pub const ALL: [Mutant; 13] = [
        Mutant::CommitQuorum,
        Mutant::SkipNoHole,
        Mutant::IgnoreFifo,
        Mutant::DropFromS,
        Mutant::TrustNewView,
        Mutant::ExecuteTwice,
        Mutant::Amnesia,
        Mutant::LogAfterSend,
        Mutant::RestartAnyPosition,
        Mutant::NoRevocation,
        Mutant::CountGappedViewChanges,
        Mutant::SpeculativeQuorum,
        Mutant::NoRollback,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Mutant::CommitQuorum => "commit-quorum",
            Mutant::SkipNoHole => "skip-no-hole",
            Mutant::IgnoreFifo => "ignore-fifo",
            Mutant::DropFromS => "drop-from-s",
            Mutant::TrustNewView => "trust-new-view",
            Mutant::ExecuteTwice => "execute-twice",
            Mutant::Amnesia => "amnesia",
            Mutant::LogAfterSend => "log-after-send",
            Mutant::RestartAnyPosition => "restart-any-position",
            Mutant::NoRevocation => "no-revocation",
            Mutant::CountGappedViewChanges => "count-gapped-view-changes",
            Mutant::SpeculativeQuorum => "speculative-quorum",
            Mutant::NoRollback => "no-rollback",
        }
    }

    /// Parses a command-line name.
    pub fn from_name(s: &str) -> Option<Mutant> {
        Mutant::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// True when replica `$r` (anything with a `config: Arc<Config>`) runs with mutant
/// `$m`; the constant `false` without feature `mutants`.
macro_rules! mutant {
    ($r:expr, $m:ident) => {{
        #[cfg(feature = "mutants")]
        let on = $r.config.mutant == Some($crate::minbft::mutant::Mutant::$m);
        #[cfg(not(feature = "mutants"))]
        let on = false;
        on
    }};
}
pub(crate) use mutant;

use super::fifo::UiMessage;
use super::messages::{NewView, Prepare, ViewChange};
use super::replica::Replica;
use super::vc_check::compute_s;
use crate::service::Service;
use minlab_usig::Usig;
use std::sync::Arc;

impl<U: Usig, S: Service> Replica<U, S> {
    /// Mutants `IgnoreFifo` (any message) and `SkipNoHole` (a PREPARE): `m` is processed
    /// even though it is not next in its sender's FIFO order. False without them.
    #[inline]
    pub(crate) fn skips_fifo(&self, m: &UiMessage) -> bool {
        #[cfg(feature = "mutants")]
        {
            self.config.mutant == Some(Mutant::IgnoreFifo)
                || (self.config.mutant == Some(Mutant::SkipNoHole)
                    && matches!(m, UiMessage::Prepare(..)))
        }
        #[cfg(not(feature = "mutants"))]
        {
            let _ = m;
            false
        }
    }

    /// `S` of a new-view certificate whose first member is the new primary's own
    /// VIEW-CHANGE: [`compute_s`], or (mutant `DropFromS`) `S` of that member alone.
    pub(crate) fn s_of(&self, vcs: &[Arc<ViewChange>]) -> Vec<Arc<Prepare>> {
        if mutant!(self, DropFromS) {
            return compute_s(&vcs[..vcs.len().min(1)]);
        }
        compute_s(vcs)
    }

    /// Mutant `ExecuteTwice`: forgets `V_req` for the requests of `nv`'s `S`, so that
    /// installing it executes them again; true if the mutant is on (then every batch of
    /// `S` is executed). Without the mutant: nothing, false.
    pub(crate) fn forget_executed_in_s(&mut self, nv: &NewView) -> bool {
        if !mutant!(self, ExecuteTwice) {
            return false;
        }
        for r in nv.prepares.iter().flat_map(|p| &p.batch) {
            if let Some(rec) = self.table.records.get_mut(r.client as usize) {
                rec.last_seq = rec.last_seq.min(r.seq.saturating_sub(1));
            }
        }
        true
    }
}
