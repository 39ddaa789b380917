//! A key-value store with get, put and compare-and-swap, whose compact operation encoding
//! and results a linearizability checker can judge.
//!
//! Operation encoding (integers big-endian):
//!
//! | op  | bytes                                      | result                       |
//! |-----|--------------------------------------------|------------------------------|
//! | GET | `0 ‖ key:u64`                              | `0` absent, `1 ‖ value`      |
//! | PUT | `1 ‖ key:u64 ‖ value`                      | `0` (ok)                     |
//! | CAS | `2 ‖ key:u64 ‖ len:u32 ‖ expected ‖ new`   | `1` swapped, `0` not swapped |
//!
//! CAS swaps only when the key is present with exactly `expected`. Anything else decodes
//! to no operation and yields the result `0xFF`, deterministically.

use super::Service;
use crate::error::ProtocolError;
use crate::minbft::messages::Digest;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;

/// A key-value operation.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum KvOp {
    /// Read `key`.
    Get {
        /// The key.
        key: u64,
    },
    /// Write `value` under `key`.
    Put {
        /// The key.
        key: u64,
        /// The value.
        value: Vec<u8>,
    },
    /// Replace `expected` by `new` under `key`, atomically.
    Cas {
        /// The key.
        key: u64,
        /// Value the key must hold.
        expected: Vec<u8>,
        /// Value to store.
        new: Vec<u8>,
    },
}

/// The result of a [`KvOp`], decoded.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum KvResult {
    /// GET: the value, if present.
    Value(Option<Vec<u8>>),
    /// PUT done.
    Ok,
    /// CAS outcome.
    Swapped(bool),
    /// The operation was malformed.
    Malformed,
}

const GET: u8 = 0;
const PUT: u8 = 1;
const CAS: u8 = 2;
const MALFORMED: u8 = 0xFF;

impl KvOp {
    /// The operation's bytes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            KvOp::Get { key } => [&[GET][..], &key.to_be_bytes()].concat(),
            KvOp::Put { key, value } => [&[PUT][..], &key.to_be_bytes(), value].concat(),
            KvOp::Cas { key, expected, new } => [
                &[CAS][..],
                &key.to_be_bytes(),
                &(expected.len() as u32).to_be_bytes(),
                expected,
                new,
            ]
            .concat(),
        }
    }

    /// Parses operation bytes; `None` if malformed.
    pub fn decode(b: &[u8]) -> Option<KvOp> {
        let (&tag, rest) = b.split_first()?;
        let key = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
        let rest = &rest[8..];
        match tag {
            GET if rest.is_empty() => Some(KvOp::Get { key }),
            PUT => Some(KvOp::Put {
                key,
                value: rest.to_vec(),
            }),
            CAS => {
                let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
                let rest = &rest[4..];
                let expected = rest.get(..len)?.to_vec();
                Some(KvOp::Cas {
                    key,
                    expected,
                    new: rest[len..].to_vec(),
                })
            }
            _ => None,
        }
    }

    /// The key the operation touches.
    pub fn key(&self) -> u64 {
        match self {
            KvOp::Get { key } | KvOp::Put { key, .. } | KvOp::Cas { key, .. } => *key,
        }
    }
}

impl KvResult {
    /// Parses a result of operation `op`.
    pub fn decode(op: &KvOp, b: &[u8]) -> KvResult {
        match (op, b) {
            (_, [MALFORMED]) => KvResult::Malformed,
            (KvOp::Get { .. }, [0]) => KvResult::Value(None),
            (KvOp::Get { .. }, [1, v @ ..]) => KvResult::Value(Some(v.to_vec())),
            (KvOp::Put { .. }, [0]) => KvResult::Ok,
            (KvOp::Cas { .. }, [s]) if *s <= 1 => KvResult::Swapped(*s == 1),
            _ => KvResult::Malformed,
        }
    }
}

/// The key-value store.
#[derive(Clone, Default, PartialEq, Eq, Hash, Debug)]
pub struct KvStore {
    map: BTreeMap<u64, Vec<u8>>,
}

impl KvStore {
    /// An empty store.
    pub fn new() -> Self {
        KvStore::default()
    }

    /// Applies a decoded operation (also used by sequential reference models in tests).
    pub fn apply(&mut self, op: &KvOp) -> Vec<u8> {
        match op {
            KvOp::Get { key } => match self.map.get(key) {
                Some(v) => [&[1u8][..], v].concat(),
                None => vec![0],
            },
            KvOp::Put { key, value } => {
                self.map.insert(*key, value.clone());
                vec![0]
            }
            KvOp::Cas { key, expected, new } => match self.map.get_mut(key) {
                Some(v) if v == expected => {
                    *v = new.clone();
                    vec![1]
                }
                _ => vec![0],
            },
        }
    }
}

impl Service for KvStore {
    fn execute(&mut self, op: &[u8]) -> Vec<u8> {
        match KvOp::decode(op) {
            Some(op) => self.apply(&op),
            None => vec![MALFORMED],
        }
    }

    fn state_digest(&self) -> Digest {
        let mut h = Sha256::new();
        for (k, v) in &self.map {
            h.update(k.to_be_bytes());
            h.update((v.len() as u32).to_be_bytes());
            h.update(v);
        }
        h.finalize().into()
    }

    fn snapshot(&self) -> Vec<u8> {
        postcard::to_allocvec(&self.map).unwrap_or_default()
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), ProtocolError> {
        self.map = postcard::from_bytes(snapshot)
            .map_err(|e| ProtocolError::BadSnapshot(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn get_put_cas_behave() {
        let mut s = KvStore::new();
        let get = KvOp::Get { key: 7 };
        assert_eq!(
            KvResult::decode(&get, &s.execute(&get.encode())),
            KvResult::Value(None)
        );
        let put = KvOp::Put {
            key: 7,
            value: b"a".to_vec(),
        };
        assert_eq!(
            KvResult::decode(&put, &s.execute(&put.encode())),
            KvResult::Ok
        );
        let cas = KvOp::Cas {
            key: 7,
            expected: b"a".to_vec(),
            new: b"b".to_vec(),
        };
        assert_eq!(
            KvResult::decode(&cas, &s.execute(&cas.encode())),
            KvResult::Swapped(true)
        );
        assert_eq!(
            KvResult::decode(&cas, &s.execute(&cas.encode())),
            KvResult::Swapped(false)
        );
        assert_eq!(
            KvResult::decode(&get, &s.execute(&get.encode())),
            KvResult::Value(Some(b"b".to_vec()))
        );
        assert_eq!(s.execute(b"\x09"), vec![MALFORMED]);
        let mut t = KvStore::new();
        t.restore(&s.snapshot()).unwrap();
        assert_eq!(t.state_digest(), s.state_digest());
        assert_ne!(s.state_digest(), KvStore::new().state_digest());
        assert!(t.restore(&[0xFF, 0xFF]).is_err());
    }

    fn arb_op() -> impl Strategy<Value = KvOp> {
        let bytes = || proptest::collection::vec(any::<u8>(), 0..8);
        prop_oneof![
            any::<u64>().prop_map(|key| KvOp::Get { key }),
            (any::<u64>(), bytes()).prop_map(|(key, value)| KvOp::Put { key, value }),
            (any::<u64>(), bytes(), bytes()).prop_map(|(key, expected, new)| KvOp::Cas {
                key,
                expected,
                new
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn op_encoding_round_trips(op in arb_op()) {
            prop_assert_eq!(KvOp::decode(&op.encode()), Some(op));
        }

        #[test]
        fn hostile_ops_never_panic(b in proptest::collection::vec(any::<u8>(), 0..32)) {
            let mut s = KvStore::new();
            let _ = s.execute(&b);
        }
    }
}
