//! The null service of the paper's micro-benchmarks (§7.1): 0-byte operations and results.

use super::Service;
use crate::error::ProtocolError;
use crate::minbft::certify::sha256;
use crate::minbft::messages::Digest;

/// Executes anything, returns an empty result, and counts operations (so that checkpoint
/// digests still tell replicas apart if they diverge).
#[derive(Clone, Default, PartialEq, Eq, Hash, Debug)]
pub struct NullService {
    executed: u64,
}

impl NullService {
    /// A fresh service.
    pub fn new() -> Self {
        NullService::default()
    }

    /// Operations executed so far.
    pub fn executed(&self) -> u64 {
        self.executed
    }
}

impl Service for NullService {
    fn execute(&mut self, _op: &[u8]) -> Vec<u8> {
        self.executed += 1;
        Vec::new()
    }

    fn state_digest(&self) -> Digest {
        sha256(&self.executed.to_be_bytes())
    }

    fn snapshot(&self) -> Vec<u8> {
        self.executed.to_be_bytes().to_vec()
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), ProtocolError> {
        let b: [u8; 8] = snapshot
            .try_into()
            .map_err(|_| ProtocolError::BadSnapshot("null service wants 8 bytes".into()))?;
        self.executed = u64::from_be_bytes(b);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_round_trips_and_digest_tracks_state() {
        let mut s = NullService::new();
        let d0 = s.state_digest();
        assert!(s.execute(b"anything").is_empty());
        assert_ne!(s.state_digest(), d0);
        let mut t = NullService::new();
        t.restore(&s.snapshot()).unwrap();
        assert_eq!(t, s);
        assert!(t.restore(b"short").is_err());
    }
}
