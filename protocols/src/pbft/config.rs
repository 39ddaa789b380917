//! The parameters of a PBFT group (`n = 3f + 1`), shared by all its replicas and clients.

use crate::batching::BatchRule;
use crate::error::ProtocolError;
use crate::minbft::auth::ClientAuth;
use crate::node::{ReplicaId, View};
use crate::time::Duration;

/// Parameters of a PBFT group. Every replica and client of a group uses the same values.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Config {
    /// `n = 3f + 1` replicas (at most 64).
    pub replica_count: u32,
    /// Clients `0..client_count`; bounds the client table and the primary's request queue
    /// (at most one queued request per client).
    pub client_count: u32,
    /// Most requests per PRE-PREPARE (`b` in Table 1).
    pub batch_size_max: usize,
    /// How long the primary waits to fill a batch before sending a partial one.
    pub batch_timeout: Duration,
    /// Most PRE-PREPAREs the primary keeps in flight (sent but not executed by itself):
    /// the window congestion control of the paper's §6 prototypes.
    pub outstanding_batches_max: u64,
    /// When the primary starts an agreement: a full batch or the batch timer
    /// ([`BatchRule::Timer`], the default), or whenever fewer than
    /// `outstanding_batches_max` agreements are outstanding ([`BatchRule::Slots`], the
    /// paper's §7 rule).
    pub batch_rule: BatchRule,
    /// `K`: a checkpoint is taken after executing every sequence number that is a
    /// multiple of `K`.
    pub checkpoint_period: u64,
    /// `L`: the high water mark is `H = h + L`; sequence numbers outside `(h, H]` are not
    /// accepted. At least `2 * K`.
    pub log_window: u64,
    /// How long a backup waits for a request it received directly from a client to be
    /// executed (a view change would start here; this baseline only reports it).
    pub request_timeout: Duration,
    /// How clients authenticate requests (PBFT uses MAC authenticators).
    pub client_auth: ClientAuth,
    /// How long a client waits for `f + 1` matching replies before resending to all.
    pub retransmit_timeout: Duration,
    /// The longest a client waits before resending: the wait follows its observed
    /// latencies in between (see [`crate::delay`]); at or below `retransmit_timeout`,
    /// fixed.
    pub retransmit_timeout_max: Duration,
}

impl Config {
    /// A group tolerating `f` faults (`n = 3f + 1`) serving `client_count` clients, with
    /// batch size 1, `K = 128`, `L = 512` and MAC-authenticated clients, as in PBFT.
    pub fn new(f: u32, client_count: u32) -> Self {
        Config {
            replica_count: 3 * f + 1,
            client_count,
            batch_size_max: 1,
            batch_timeout: Duration::from_micros(500),
            outstanding_batches_max: 32,
            batch_rule: BatchRule::Timer,
            checkpoint_period: 128,
            log_window: 512,
            request_timeout: Duration::from_millis(500),
            client_auth: ClientAuth::MacAuthenticator,
            retransmit_timeout: Duration::from_millis(100),
            retransmit_timeout_max: Duration::from_secs(1),
        }
    }

    /// `f`, the number of faulty replicas tolerated.
    pub fn f(&self) -> u32 {
        (self.replica_count - 1) / 3
    }

    /// `2f + 1`: COMMITs to commit a batch, CHECKPOINTs to make a checkpoint stable.
    pub fn quorum(&self) -> usize {
        2 * self.f() as usize + 1
    }

    /// `f + 1`: matching replies a client waits for.
    pub fn reply_quorum(&self) -> usize {
        self.f() as usize + 1
    }

    /// The primary of view `v`: replica `v mod n`.
    pub fn primary_of(&self, view: View) -> ReplicaId {
        (view % u64::from(self.replica_count)) as ReplicaId
    }

    /// Checks the bounds the protocol relies on.
    pub fn validate(&self) -> Result<(), ProtocolError> {
        let bad = |m: &str| Err(ProtocolError::InvalidConfig(m.to_string()));
        if self.replica_count < 4 || self.replica_count % 3 != 1 || self.replica_count > 64 {
            return bad("replica_count must be 3f + 1 with 1 <= f <= 21");
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorums_and_primaries() {
        let c = Config::new(2, 1);
        assert_eq!(
            (c.replica_count, c.f(), c.quorum(), c.reply_quorum()),
            (7, 2, 5, 3)
        );
        assert_eq!(c.primary_of(9), 2);
        assert!(c.validate().is_ok());
        let mut bad = c.clone();
        bad.replica_count = 5;
        assert!(bad.validate().is_err());
        bad = c.clone();
        bad.log_window = bad.checkpoint_period;
        assert!(bad.validate().is_err());
        bad = c;
        bad.batch_size_max = 0;
        assert!(bad.validate().is_err());
    }
}
