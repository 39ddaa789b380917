//! Observable facts a state machine reports (executions, checkpoints, rejections), which
//! oracles, traces and reports consume.

use crate::minbft::messages::MessageKind;
use crate::node::{ClientId, NodeId, View};
use crate::time::Duration;
use minlab_usig::UsigError;
use serde::{Deserialize, Serialize};

/// Why an input was rejected. A rejected input changes no protocol state.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RejectReason {
    /// The transport's sender differs from the sender named in the message.
    WrongSender,
    /// The named replica is not in the group.
    UnknownReplica,
    /// A replica message that claims to come from the receiver itself.
    FromSelf,
    /// The client is not in the client table (`client_id >= client_count`).
    UnknownClient,
    /// The message is for an older view.
    StaleView,
    /// The message is for a newer view than this replica may buffer.
    FutureView,
    /// Paper §4, condition 1: a PREPARE not sent by the primary of its view.
    NotPrimary,
    /// Paper §4, condition 2: a request whose client authenticator is invalid.
    BadClientAuth,
    /// A reply's MAC does not verify for the replica it names.
    BadReplyAuth,
    /// The UI certificate does not verify for this sender and message.
    BadUi,
    /// A UI counter value already processed or already buffered (FIFO rule, `V_acc`).
    DuplicateUi,
    /// A UI counter value too far ahead of the sender's FIFO position: past the high
    /// water mark of what the bounded FIFO buffer may hold.
    AboveHighWaterMark,
    /// A PREPARE whose batch is empty or larger than `batch_size_max`.
    MalformedBatch,
    /// A COMMIT whose prepare UI or batch digest differs from the PREPARE it names.
    CommitMismatch,
    /// A second COMMIT from the same replica for the same PREPARE.
    DuplicateVote,
    /// A request older than the last one executed for its client (`V_req`).
    StaleRequest,
    /// A new request while the client's previous one is still being processed (paper §4:
    /// such requests are discarded).
    ClientBusy,
    /// A message a replica (or client) never expects, e.g. a REQUEST sent to a client.
    UnexpectedMessage,
    /// A message of a phase not implemented yet (state transfer).
    Unsupported,
    /// Paper §4: a VIEW-CHANGE failing a validity check (checkpoint certificate, counter
    /// value, holes in `O`, or a UI in it).
    InvalidViewChange,
    /// Paper §4: a NEW-VIEW with an invalid new-view certificate or a wrong `S`.
    InvalidNewView,
    /// A FILL-HOLE or STATE-REQUEST from a replica answered less than `repair_interval`
    /// ago.
    RateLimited,
    /// A STATE-REPLY whose certificate, snapshot or client table does not check out.
    InvalidStateReply,
    /// PBFT: the MAC authenticator entry for this replica does not verify for the sender.
    BadMac,
    /// PBFT: a PRE-PREPARE for a view and sequence number that already has one with a
    /// different digest (a faulty primary equivocating).
    ConflictingPrePrepare,
    /// MinZyzyva (paper §5): a COMMIT whose commit certificate does not hold `f + 1`
    /// distinct, valid, matching responses.
    InvalidCommitCertificate,
    /// MinBFT: a RESTART whose last logged counter value is not below its own.
    InvalidRestart,
    /// MinBFT: a RESTART declaring never sent a counter value the receiver already
    /// processed from that replica: proof that the replica is faulty (a correct one logs
    /// every message before sending it). See [`crate::minbft::restart`].
    ContradictoryRestart,
    /// MinBFT: a PREPARE or NEW-VIEW from a replica that declared lost counter values
    /// (a RESTART with a gap): it is never accepted as primary again.
    RevokedPrimary,
}

impl RejectReason {
    /// Number of reasons (size of the per-reason counter table).
    pub const COUNT: usize = 29;

    /// Every reason, in declaration order.
    pub const ALL: [RejectReason; Self::COUNT] = [
        RejectReason::WrongSender,
        RejectReason::UnknownReplica,
        RejectReason::FromSelf,
        RejectReason::UnknownClient,
        RejectReason::StaleView,
        RejectReason::FutureView,
        RejectReason::NotPrimary,
        RejectReason::BadClientAuth,
        RejectReason::BadReplyAuth,
        RejectReason::BadUi,
        RejectReason::DuplicateUi,
        RejectReason::AboveHighWaterMark,
        RejectReason::MalformedBatch,
        RejectReason::CommitMismatch,
        RejectReason::DuplicateVote,
        RejectReason::StaleRequest,
        RejectReason::ClientBusy,
        RejectReason::UnexpectedMessage,
        RejectReason::Unsupported,
        RejectReason::InvalidViewChange,
        RejectReason::InvalidNewView,
        RejectReason::RateLimited,
        RejectReason::InvalidStateReply,
        RejectReason::BadMac,
        RejectReason::ConflictingPrePrepare,
        RejectReason::InvalidCommitCertificate,
        RejectReason::InvalidRestart,
        RejectReason::ContradictoryRestart,
        RejectReason::RevokedPrimary,
    ];

    /// Index into per-reason tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Something observable that happened inside a replica or a client.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Event {
    /// A replica executed a request. `counter` is the primary's UI counter value of the
    /// PREPARE that ordered it (the sequence number, paper §4) and `index` its position in
    /// that batch; `position` is its index in the agreed execution order, identical on
    /// every correct replica across views and state transfers.
    RequestExecuted {
        /// Requests this replica executed before this one (part of the replicated state:
        /// it survives view changes and is restored by state transfer).
        position: u64,
        /// The request, so oracles can replay its operation.
        request: std::sync::Arc<crate::minbft::messages::Request>,
        /// View of the PREPARE.
        view: View,
        /// Counter value of the PREPARE's UI.
        counter: u64,
        /// Position in the batch.
        index: u32,
        /// The requesting client.
        client: ClientId,
        /// The client's request number.
        client_seq: u64,
        /// A non-cryptographic fingerprint (FNV-1a) of the result, for oracles.
        result_digest: u64,
    },
    /// MinZyzyva (paper §5): a replica executed a request speculatively, before any
    /// agreement on its order. `position` is where it sits in this replica's speculative
    /// history; it becomes final only with a later [`Event::RequestExecuted`] at the same
    /// position (emitted when the prefix holding it commits), and may instead be undone by
    /// [`Event::RolledBack`]. Oracles must not check agreement on these.
    SpeculativelyExecuted {
        /// Position in this replica's (speculative) execution order.
        position: u64,
        /// The request, so oracles can replay its operation.
        request: std::sync::Arc<crate::minbft::messages::Request>,
        /// View of the ORDER-REQ.
        view: View,
        /// Counter value of the primary's `UI_p`.
        counter: u64,
        /// The requesting client.
        client: ClientId,
        /// The client's request number.
        client_seq: u64,
        /// FNV-1a fingerprint of the result.
        result_digest: u64,
    },
    /// MinZyzyva (paper §5): a speculative execution at `position` was undone because the
    /// NEW-VIEW did not include it. It was never reported by [`Event::RequestExecuted`].
    RolledBack {
        /// Its position in the speculative order.
        position: u64,
        /// The requesting client.
        client: ClientId,
        /// The client's request number.
        client_seq: u64,
    },
    /// A replica took a checkpoint after executing the PREPARE with counter `counter`.
    CheckpointTaken {
        /// Counter value of the last executed PREPARE.
        counter: u64,
        /// Requests executed before this state (its position in the agreed order).
        position: u64,
        /// Digest of the replicated state (service and client table).
        state_digest: [u8; 32],
    },
    /// `f + 1` matching CHECKPOINTs: the low water mark moved to `counter` and the log
    /// was truncated (paper §4, garbage collection).
    CheckpointStable {
        /// The new low water mark.
        counter: u64,
        /// Entries dropped from the message log.
        truncated_entries: usize,
    },
    /// `f + 1` replicas hold a stable checkpoint this replica has not reached: it needs a
    /// state transfer.
    StateTransferNeeded {
        /// Counter value of that checkpoint.
        counter: u64,
    },
    /// The replica restored the state of a stable checkpoint by state transfer.
    StateTransferred {
        /// View of the checkpoint.
        view: View,
        /// Its counter value.
        counter: u64,
        /// Requests executed before the restored state (its position in the agreed order).
        position: u64,
    },
    /// A peer's RESTART was processed: its counter values `last_logged + 1 ..
    /// counter` were consumed by its USIG but never logged, hence never sent (see
    /// [`crate::minbft::restart`]).
    PeerRestarted {
        /// The restarted replica.
        replica: crate::node::ReplicaId,
        /// The last counter value it logged before its crash.
        last_logged: u64,
        /// The RESTART's own counter value.
        counter: u64,
    },
    /// The replica installed a new view (NEW-VIEW accepted and `S` executed).
    ViewChanged {
        /// The new view.
        view: View,
    },
    /// An input was rejected; no state changed.
    MessageRejected {
        /// The transport-level sender.
        from: NodeId,
        /// Which message.
        kind: MessageKind,
        /// Why.
        reason: RejectReason,
    },
    /// The replica's own USIG failed to create a UI; the message was not sent.
    UsigFailed {
        /// The USIG's error (boxed: it is rare and large, and every output is as large as
        /// the largest event).
        error: Box<UsigError>,
    },
    /// A timer fired whose handling belongs to phase 2 (view change); nothing was done.
    TimerIgnored {
        /// The timer.
        kind: crate::outbox::TimerKind,
    },
    /// A client got `f + 1` matching replies: the operation completed.
    Completed {
        /// The client.
        client: ClientId,
        /// Its request number.
        seq: u64,
        /// The agreed result.
        result: Vec<u8>,
        /// Time from the first send to completion.
        latency: Duration,
    },
    /// A client resent its outstanding request.
    Retransmitted {
        /// The client.
        client: ClientId,
        /// The request number.
        seq: u64,
    },
}
