//! The service a simulated group runs, chosen by the scenario, and its sequential
//! specification for the linearizability oracle.

use minlab_protocols::ProtocolError;
use minlab_protocols::minbft::messages::Digest;
use minlab_protocols::service::{KvOp, KvResult, KvStore, NullService, Service};
use stateright::semantics::SequentialSpec;

/// The key-value store or the null service.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum AnyService {
    /// Key-value store.
    Kv(KvStore),
    /// Null operations whose results are this many zero bytes (the paper's 0/4K case).
    Null(NullService, u32),
}

impl Service for AnyService {
    fn execute(&mut self, op: &[u8]) -> Vec<u8> {
        match self {
            AnyService::Kv(s) => s.execute(op),
            AnyService::Null(s, reply_size) => {
                s.execute(op);
                vec![0; *reply_size as usize]
            }
        }
    }
    fn state_digest(&self) -> Digest {
        match self {
            AnyService::Kv(s) => s.state_digest(),
            AnyService::Null(s, _) => s.state_digest(),
        }
    }
    fn snapshot(&self) -> Vec<u8> {
        match self {
            AnyService::Kv(s) => s.snapshot(),
            AnyService::Null(s, _) => s.snapshot(),
        }
    }
    fn restore(&mut self, snapshot: &[u8]) -> Result<(), ProtocolError> {
        match self {
            AnyService::Kv(s) => s.restore(snapshot),
            AnyService::Null(s, _) => s.restore(snapshot),
        }
    }
}

/// The key-value store as a sequential specification: operations are the encoded request
/// bytes, so any executed request (even a malformed one from a Byzantine client) can be
/// replayed; results are decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KvSpec(pub KvStore);

impl SequentialSpec for KvSpec {
    type Op = Vec<u8>;
    type Ret = Vec<u8>;
    fn invoke(&mut self, op: &Vec<u8>) -> Vec<u8> {
        self.0.execute(op)
    }
}

/// The object a key-value operation touches (for per-key linearizability checking); a
/// malformed operation touches no key and is put in its own group.
#[allow(clippy::ptr_arg)] // must match `fn(&KvSpec::Op) -> u64`, and the op is a Vec
pub fn kv_key_of(op: &Vec<u8>) -> u64 {
    KvOp::decode(op).map_or(u64::MAX, |o| o.key())
}

/// A readable form of a key-value result, for reports.
pub fn describe_kv(op: &[u8], result: &[u8]) -> String {
    match KvOp::decode(op) {
        Some(o) => format!("{o:?} -> {:?}", KvResult::decode(&o, result)),
        None => format!("malformed op {op:02x?}"),
    }
}
