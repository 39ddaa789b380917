//! A symbolic USIG for model checking: cheap, `Clone + Eq + Hash`, and unforgeable by
//! construction within the model, because only the signer's own instance mints its
//! certificates and verification recomputes them.

use crate::counter::{Counter, VolatileCounter};
use crate::{Certificate, ReplicaId, Ui, Usig, UsigError};

/// A USIG whose certificate is a deterministic digest of `(signer, counter, message)`.
///
/// It protects against nothing outside a model: anyone who knows the function can compute
/// it. Inside the simulator and the model checker, Byzantine scripts only get their own
/// instance, so they cannot mint another replica's UI, which is the USIG's guarantee.
#[derive(Clone, Default, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct SymbolicUsig<C: Counter = VolatileCounter> {
    id: ReplicaId,
    replica_count: u32,
    counter: C,
}

impl SymbolicUsig<VolatileCounter> {
    /// The symbolic USIG of replica `id` in a group of `replica_count`.
    pub fn new(id: ReplicaId, replica_count: u32) -> Self {
        SymbolicUsig {
            id,
            replica_count,
            counter: VolatileCounter::default(),
        }
    }
}

impl<C: Counter> SymbolicUsig<C> {
    /// The symbolic USIG of replica `id` over the given counter.
    pub fn with_counter(id: ReplicaId, replica_count: u32, counter: C) -> Self {
        SymbolicUsig {
            id,
            replica_count,
            counter,
        }
    }

    /// The counter this USIG draws from (e.g. to inspect a durable counter's reservation).
    pub fn counter(&self) -> &C {
        &self.counter
    }
}

/// FNV-1a over the signer, the counter and the message: deterministic across runs and
/// platforms (unlike `std`'s hasher), and a few nanoseconds per call.
fn digest(signer: ReplicaId, counter: u64, message: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for b in signer
        .to_le_bytes()
        .iter()
        .chain(counter.to_le_bytes().iter())
        .chain(message.iter())
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

impl<C: Counter> Usig for SymbolicUsig<C> {
    fn id(&self) -> ReplicaId {
        self.id
    }

    fn create_ui(&mut self, message: &[u8]) -> Result<Ui, UsigError> {
        let counter = self.counter.advance()?;
        Ok(Ui {
            counter,
            cert: Certificate::Symbolic(digest(self.id, counter, message)),
        })
    }

    fn verify_ui(&self, signer: ReplicaId, ui: &Ui, message: &[u8]) -> Result<(), UsigError> {
        if signer >= self.replica_count {
            return Err(UsigError::UnknownSigner(signer));
        }
        match ui.cert {
            Certificate::Symbolic(d) if d == digest(signer, ui.counter, message) => Ok(()),
            Certificate::Symbolic(_) => Err(UsigError::BadCertificate {
                signer,
                counter: ui.counter,
            }),
            ref other => Err(UsigError::WrongCertificateKind {
                expected: "symbolic",
                found: other.kind(),
            }),
        }
    }

    fn last_counter(&self) -> u64 {
        self.counter.last()
    }

    fn verification_is_public(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::conformance;

    #[test]
    fn symbolic_meets_the_usig_contract() {
        conformance(3, |id| SymbolicUsig::new(id, 3));
    }

    #[test]
    fn digest_is_pinned_across_platforms() {
        // FNV-1a of (signer LE, counter LE, message): a change here changes every trace.
        assert_eq!(digest(0, 0, b""), {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for _ in 0..12 {
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            h
        });
        assert_ne!(digest(0, 1, b"m"), digest(1, 1, b"m"));
        assert_ne!(digest(0, 1, b"m"), digest(0, 2, b"m"));
    }

    #[test]
    fn state_is_a_plain_value() {
        // Model checking hashes and compares replica states, USIG included.
        let mut a = SymbolicUsig::new(0, 3);
        let before = a.clone();
        a.create_ui(b"m").unwrap();
        assert_ne!(a, before);
        let mut b = before.clone();
        b.create_ui(b"m").unwrap();
        assert_eq!(a, b);
    }
}
