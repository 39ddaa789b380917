//! The service a node replicates, chosen by the cluster file at run time.

use crate::config::ServiceKind;
use minlab_protocols::ProtocolError;
use minlab_protocols::minbft::Digest;
use minlab_protocols::service::{KvStore, NullService, Service};

/// One of the replicated services.
#[derive(Clone, Debug)]
pub enum AnyService {
    /// The null service.
    Null(NullService),
    /// The key-value store.
    Kv(KvStore),
}

impl AnyService {
    /// A fresh service of kind `kind`.
    pub fn new(kind: ServiceKind) -> Self {
        match kind {
            ServiceKind::Null => AnyService::Null(NullService::new()),
            ServiceKind::Kv => AnyService::Kv(KvStore::new()),
        }
    }
}

impl Service for AnyService {
    fn execute(&mut self, op: &[u8]) -> Vec<u8> {
        match self {
            AnyService::Null(s) => s.execute(op),
            AnyService::Kv(s) => s.execute(op),
        }
    }
    fn state_digest(&self) -> Digest {
        match self {
            AnyService::Null(s) => s.state_digest(),
            AnyService::Kv(s) => s.state_digest(),
        }
    }
    fn snapshot(&self) -> Vec<u8> {
        match self {
            AnyService::Null(s) => s.snapshot(),
            AnyService::Kv(s) => s.snapshot(),
        }
    }
    fn restore(&mut self, snapshot: &[u8]) -> Result<(), ProtocolError> {
        match self {
            AnyService::Null(s) => s.restore(snapshot),
            AnyService::Kv(s) => s.restore(snapshot),
        }
    }
}
