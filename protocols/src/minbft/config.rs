//! The parameters of a MinBFT group, shared by all its replicas, with their bounds.

use super::auth::ClientAuth;
use crate::batching::BatchRule;
use crate::error::ProtocolError;
use crate::node::{ReplicaId, View};
use crate::time::Duration;

/// Parameters of a MinBFT group. Every replica of a group must use the same values.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Config {
    /// `n = 2f + 1` replicas (at most 64, so vote sets fit a bitmask).
    pub replica_count: u32,
    /// Clients `0..client_count`; bounds the client table (`V_req`, reply cache) and the
    /// primary's request queue, which holds at most one request per client.
    pub client_count: u32,
    /// Most requests per PREPARE (`b` in Table 1).
    pub batch_size_max: usize,
    /// How long the primary waits to fill a batch before sending a partial one.
    pub batch_timeout: Duration,
    /// Most PREPAREs the primary keeps in flight (sent but not executed by itself).
    pub outstanding_batches_max: u64,
    /// When the primary starts an agreement: a full batch or the batch timer
    /// ([`BatchRule::Timer`], the default), or whenever fewer than
    /// `outstanding_batches_max` agreements are outstanding ([`BatchRule::Slots`], the
    /// paper's §7 rule).
    pub batch_rule: BatchRule,
    /// `cp`: a checkpoint is taken whenever an executed PREPARE's counter value reaches
    /// a new multiple of `cp` (see [`super::checkpoint`]).
    pub checkpoint_period: u64,
    /// `L`: the high water mark is `H = h + L` (in counter values of the primary); the
    /// message log never holds PREPAREs above it. At least `2 * cp`.
    pub log_window: u64,
    /// How far ahead of a sender's FIFO position (`V_acc`) a UI message may be, to be
    /// buffered; further ones are rejected. Bounds each per-sender FIFO buffer.
    pub fifo_window: u64,
    /// `T_exec` (phase 2): how long a backup waits for a request it saw to be accepted.
    pub request_timeout: Duration,
    /// `T_vc` (phase 2): how long a replica waits for a NEW-VIEW, doubled on each retry.
    pub view_change_timeout: Duration,
    /// How long a replica waits without progress, with messages missing, before asking
    /// their senders to resend them; also the rate limit for answering such requests.
    pub repair_interval: Duration,
    /// The longest a replica waits before asking: the wait follows the delays it observes
    /// (from arming the timer to the next progress, see [`crate::delay`]) between
    /// `repair_interval` and this. At or below `repair_interval`, the wait is fixed.
    pub repair_interval_max: Duration,
    /// Most UI messages resent in answer to one FILL-HOLE.
    pub repair_batch_max: usize,
    /// How clients authenticate requests.
    pub client_auth: ClientAuth,
    /// How long a client waits for `f + 1` matching replies before resending.
    pub retransmit_timeout: Duration,
    /// The longest a client waits before resending: the wait follows the latencies of
    /// its requests that completed without a resend (see [`crate::delay`]) between
    /// `retransmit_timeout` and this. At or below `retransmit_timeout`, it is fixed.
    pub retransmit_timeout_max: Duration,
    /// Whether replicas keep a write-ahead log (see [`super::wal`]): every UI message is
    /// emitted as an [`crate::outbox::Output::Persist`] record before it is sent, so a
    /// restarted replica recovers what it promised ([`super::Replica::recover`]).
    pub durable: bool,
    /// TEST-ONLY (feature `mutants`): the seeded bug every replica of the group runs with.
    #[cfg(feature = "mutants")]
    pub mutant: Option<super::Mutant>,
}

impl Config {
    /// A group tolerating `f` faults (`n = 2f + 1`) serving `client_count` clients, with
    /// batch size 1, `cp = 128`, `L = 512` and no client authentication.
    pub fn new(f: u32, client_count: u32) -> Self {
        Config {
            replica_count: 2 * f + 1,
            client_count,
            batch_size_max: 1,
            batch_timeout: Duration::from_micros(500),
            outstanding_batches_max: 32,
            batch_rule: BatchRule::Timer,
            checkpoint_period: 128,
            log_window: 512,
            fifo_window: 512,
            request_timeout: Duration::from_millis(500),
            view_change_timeout: Duration::from_secs(1),
            repair_interval: Duration::from_millis(50),
            repair_interval_max: Duration::from_millis(500),
            repair_batch_max: 64,
            client_auth: ClientAuth::None,
            retransmit_timeout: Duration::from_millis(100),
            retransmit_timeout_max: Duration::from_secs(1),
            durable: false,
            #[cfg(feature = "mutants")]
            mutant: None,
        }
    }

    /// The same group with every adaptive wait fixed at its minimum (`repair_interval`,
    /// `retransmit_timeout`): for drivers whose timers fire at any moment whatever their
    /// length (the model checker), where waits that follow observed delays would add
    /// nothing but clock values to the state.
    pub fn with_fixed_waits(mut self) -> Self {
        self.repair_interval_max = self.repair_interval;
        self.retransmit_timeout_max = self.retransmit_timeout;
        self
    }

    /// `f`, the number of faulty replicas tolerated.
    pub fn f(&self) -> u32 {
        (self.replica_count - 1) / 2
    }

    /// `f + 1`: COMMITs (the PREPARE included) to accept a batch, CHECKPOINTs to make a
    /// checkpoint stable, replies a client waits for.
    pub fn quorum(&self) -> u32 {
        self.f() + 1
    }

    /// The primary of view `v`: replica `v mod n`.
    pub fn primary_of(&self, view: View) -> ReplicaId {
        (view % u64::from(self.replica_count)) as ReplicaId
    }

    /// Checks the bounds the protocol relies on.
    pub fn validate(&self) -> Result<(), ProtocolError> {
        let bad = |m: &str| Err(ProtocolError::InvalidConfig(m.to_string()));
        if self.replica_count < 3 || self.replica_count.is_multiple_of(2) || self.replica_count > 63
        {
            return bad("replica_count must be 2f + 1 with 1 <= f <= 31");
        }
        if self.batch_size_max == 0 {
            return bad("batch_size_max must be at least 1");
        }
        if self.outstanding_batches_max == 0 {
            return bad("outstanding_batches_max must be at least 1");
        }
        if self.checkpoint_period == 0 || self.log_window < 2 * self.checkpoint_period {
            return bad("need checkpoint_period >= 1 and log_window >= 2 * checkpoint_period");
        }
        if self.fifo_window == 0 {
            return bad("fifo_window must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorums_and_primaries() {
        let c = Config::new(2, 1);
        assert_eq!((c.replica_count, c.f(), c.quorum()), (5, 2, 3));
        assert_eq!(c.primary_of(7), 2);
        assert!(c.validate().is_ok());
        let mut bad = c.clone();
        bad.log_window = bad.checkpoint_period;
        assert!(bad.validate().is_err());
        bad = c;
        bad.replica_count = 4;
        assert!(bad.validate().is_err());
    }
}
