//! The replicated services behind a small trait: the deterministic state machine that
//! MinBFT replicates (paper §3: operations are atomic and deterministic).

pub mod kv;
pub mod null;

pub use kv::{KvOp, KvResult, KvStore};
pub use null::NullService;

use crate::error::ProtocolError;
use crate::minbft::messages::Digest;

/// A deterministic service: the same operations from the same initial state give the same
/// results and the same state on every correct replica.
pub trait Service {
    /// Executes `op` and returns its result. Malformed operations must still produce a
    /// deterministic result (e.g. an error code), never a panic.
    fn execute(&mut self, op: &[u8]) -> Vec<u8>;

    /// A digest of the whole state, for checkpoints.
    fn state_digest(&self) -> Digest;

    /// The whole state, encoded, for state transfer.
    fn snapshot(&self) -> Vec<u8>;

    /// Replaces the state with a snapshot taken by [`Service::snapshot`].
    fn restore(&mut self, snapshot: &[u8]) -> Result<(), ProtocolError>;
}
