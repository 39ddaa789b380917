//! Counters for observability: messages by type, USIG calls, rejections by reason.

use crate::event::RejectReason;
use crate::minbft::messages::MessageKind;

/// Plain counters a caller reads after a run.
///
/// Metrics are observations, not protocol state: two `Metrics` always compare equal and
/// hash to nothing, so that a model checker deduplicates replica states that differ only
/// in how many messages they counted.
#[derive(Clone, Default, Debug)]
pub struct Metrics {
    /// Messages sent, by kind (a broadcast counts once).
    pub sent: [u64; MessageKind::COUNT],
    /// Messages received, by kind (before any check).
    pub received: [u64; MessageKind::COUNT],
    /// `create_ui` calls.
    pub usig_creates: u64,
    /// `verify_ui` calls.
    pub usig_verifies: u64,
    /// MACs computed or checked outside the USIG (client request authenticators, reply
    /// MACs, PBFT's replica authenticators): one per MAC, so an authenticator of `k` MACs
    /// created counts `k`, checking the one entry addressed to this node counts 1.
    pub mac_ops: u64,
    /// Signatures created or verified outside the USIG (Ed25519 client requests).
    pub signature_ops: u64,
    /// Rejected inputs, by reason.
    pub rejected: [u64; RejectReason::COUNT],
    /// Valid messages that arrived too late to matter (e.g. a COMMIT for a PREPARE already
    /// garbage-collected); they still advance the sender's FIFO position.
    pub stale: u64,
    /// Requests executed (duplicates skipped are not counted).
    pub requests_executed: u64,
    /// Batches (PREPAREs) executed.
    pub batches_executed: u64,
    /// Cached replies resent to retransmitting clients.
    pub replies_resent: u64,
}

impl Metrics {
    /// Counts a sent message.
    #[inline]
    pub fn count_sent(&mut self, kind: MessageKind) {
        self.sent[kind.index()] += 1;
    }

    /// Counts a received message.
    #[inline]
    pub fn count_received(&mut self, kind: MessageKind) {
        self.received[kind.index()] += 1;
    }

    /// Counts a rejection.
    #[inline]
    pub fn count_rejected(&mut self, reason: RejectReason) {
        self.rejected[reason.index()] += 1;
    }

    /// Rejections for `reason`.
    pub fn rejections(&self, reason: RejectReason) -> u64 {
        self.rejected[reason.index()]
    }

    /// All rejections.
    pub fn rejections_total(&self) -> u64 {
        self.rejected.iter().sum()
    }

    /// Messages sent of `kind`.
    pub fn sent_of(&self, kind: MessageKind) -> u64 {
        self.sent[kind.index()]
    }

    /// Messages received of `kind`.
    pub fn received_of(&self, kind: MessageKind) -> u64 {
        self.received[kind.index()]
    }

    /// Adds `other` into `self` (to sum over nodes).
    pub fn absorb(&mut self, other: &Metrics) {
        for i in 0..MessageKind::COUNT {
            self.sent[i] += other.sent[i];
            self.received[i] += other.received[i];
        }
        for i in 0..RejectReason::COUNT {
            self.rejected[i] += other.rejected[i];
        }
        self.usig_creates += other.usig_creates;
        self.usig_verifies += other.usig_verifies;
        self.mac_ops += other.mac_ops;
        self.signature_ops += other.signature_ops;
        self.stale += other.stale;
        self.requests_executed += other.requests_executed;
        self.batches_executed += other.batches_executed;
        self.replies_resent += other.replies_resent;
    }
}

impl PartialEq for Metrics {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Metrics {}
impl std::hash::Hash for Metrics {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}
