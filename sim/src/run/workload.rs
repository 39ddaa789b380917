//! What correct clients ask: key-value operations drawn from the scenario's mix over a
//! small value domain (so that compare-and-swap sometimes succeeds), or null operations.

use minlab_protocols::service::KvOp;
use minlab_scenarios::{ServiceKind, WorkloadSpec};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// Draws operations for every client from one seeded stream.
#[derive(Debug)]
pub struct Workload {
    spec: WorkloadSpec,
    rng: ChaCha8Rng,
}

/// Values are `request_size` bytes whose first byte is drawn from this many values.
const VALUE_DOMAIN: u8 = 4;

impl Workload {
    /// A workload as the scenario describes, drawing from `rng`.
    pub fn new(spec: WorkloadSpec, rng: ChaCha8Rng) -> Self {
        Workload { spec, rng }
    }

    fn value(&mut self) -> Vec<u8> {
        let mut v = vec![0u8; self.spec.request_size.max(1) as usize];
        v[0] = self.rng.random_range(0..VALUE_DOMAIN);
        v
    }

    /// The next operation's bytes.
    pub fn next_op(&mut self) -> Vec<u8> {
        match self.spec.service {
            ServiceKind::Null => vec![0u8; self.spec.request_size as usize],
            ServiceKind::Kv => {
                let m = self.spec.mix;
                let key = u64::from(self.rng.random_range(0..self.spec.keys));
                let pick = self.rng.random_range(0..m.get + m.put + m.cas);
                let op = if pick < m.get {
                    KvOp::Get { key }
                } else if pick < m.get + m.put {
                    KvOp::Put {
                        key,
                        value: self.value(),
                    }
                } else {
                    KvOp::Cas {
                        key,
                        expected: self.value(),
                        new: self.value(),
                    }
                };
                op.encode()
            }
        }
    }
}
