//! USIG-Hmac (paper §2): certificates are HMACs under a key owned by the signer's USIG and
//! shared with the other USIGs, so both `create_ui` and `verify_ui` are trusted operations.

use crate::counter::{Counter, VolatileCounter};
use crate::{Certificate, KeySet, ReplicaId, Ui, Usig, UsigError};
use hmac::Hmac;
use hmac::digest::{KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// The hash function of an HMAC USIG and how its tag is stored in a [`Certificate`].
pub trait HmacHash: Clone {
    /// The pre-keyed MAC state, cloned for every message.
    type Mac: Mac + KeyInit + Clone;
    /// Backend name used in reports (`hmac-sha1`, `hmac-sha256`).
    const NAME: &'static str;
    /// Wraps a finished tag into a certificate.
    fn certificate(mac: Self::Mac) -> Certificate;
    /// The tag inside a certificate of this kind, if it is one.
    fn tag(cert: &Certificate) -> Option<&[u8]>;
}

/// HMAC-SHA1, as in the paper's prototype.
#[derive(Clone, Debug)]
pub struct Sha1Hash;
/// HMAC-SHA256.
#[derive(Clone, Debug)]
pub struct Sha256Hash;

impl HmacHash for Sha1Hash {
    type Mac = Hmac<Sha1>;
    const NAME: &'static str = "hmac-sha1";
    fn certificate(mac: Self::Mac) -> Certificate {
        Certificate::HmacSha1(mac.finalize().into_bytes().into())
    }
    fn tag(cert: &Certificate) -> Option<&[u8]> {
        match cert {
            Certificate::HmacSha1(t) => Some(t),
            _ => None,
        }
    }
}

impl HmacHash for Sha256Hash {
    type Mac = Hmac<Sha256>;
    const NAME: &'static str = "hmac-sha256";
    fn certificate(mac: Self::Mac) -> Certificate {
        Certificate::HmacSha256(mac.finalize().into_bytes().into())
    }
    fn tag(cert: &Certificate) -> Option<&[u8]> {
        match cert {
            Certificate::HmacSha256(t) => Some(t),
            _ => None,
        }
    }
}

/// An HMAC-based USIG over hash `H` with counter `C`.
///
/// It holds one pre-keyed MAC state per replica of the group: its own to create UIs, the
/// others' to verify theirs. The MAC input is `counter (8 bytes, big-endian) || message`;
/// the signer is implied by the key.
#[derive(Clone)]
pub struct HmacUsig<H: HmacHash, C: Counter = VolatileCounter> {
    id: ReplicaId,
    keyed: Vec<H::Mac>,
    counter: C,
}

/// USIG-Hmac with SHA-1 and a volatile counter.
pub type HmacSha1Usig<C = VolatileCounter> = HmacUsig<Sha1Hash, C>;
/// USIG-Hmac with SHA-256 and a volatile counter.
pub type HmacSha256Usig<C = VolatileCounter> = HmacUsig<Sha256Hash, C>;

impl<H: HmacHash> HmacUsig<H, VolatileCounter> {
    /// The USIG of replica `id`, with a fresh in-memory counter.
    pub fn new(id: ReplicaId, keys: &KeySet) -> Result<Self, UsigError> {
        Self::with_counter(id, keys, VolatileCounter::default())
    }
}

impl<H: HmacHash, C: Counter> HmacUsig<H, C> {
    /// The USIG of replica `id` over the given counter (e.g. a [`crate::DurableCounter`]).
    pub fn with_counter(id: ReplicaId, keys: &KeySet, counter: C) -> Result<Self, UsigError> {
        if id >= keys.replica_count() {
            return Err(UsigError::UnknownSigner(id));
        }
        let keyed = (0..keys.replica_count())
            .map(|r| {
                let key = keys.hmac_key(r).ok_or(UsigError::MissingKey {
                    kind: "hmac",
                    replica: r,
                })?;
                Ok(<H::Mac as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length"))
            })
            .collect::<Result<Vec<_>, UsigError>>()?;
        Ok(HmacUsig { id, keyed, counter })
    }

    /// The counter this USIG draws from (e.g. to inspect a durable counter's reservation).
    pub fn counter(&self) -> &C {
        &self.counter
    }

    fn mac(&self, signer: ReplicaId, counter: u64, message: &[u8]) -> Option<H::Mac> {
        let mut mac = self.keyed.get(signer as usize)?.clone();
        mac.update(&counter.to_be_bytes());
        mac.update(message);
        Some(mac)
    }
}

impl<H: HmacHash, C: Counter> Usig for HmacUsig<H, C> {
    fn id(&self) -> ReplicaId {
        self.id
    }

    fn create_ui(&mut self, message: &[u8]) -> Result<Ui, UsigError> {
        let counter = self.counter.advance()?;
        let mac = self
            .mac(self.id, counter, message)
            .expect("own key is present");
        Ok(Ui {
            counter,
            cert: H::certificate(mac),
        })
    }

    fn verify_ui(&self, signer: ReplicaId, ui: &Ui, message: &[u8]) -> Result<(), UsigError> {
        let tag = H::tag(&ui.cert).ok_or(UsigError::WrongCertificateKind {
            expected: H::NAME,
            found: ui.cert.kind(),
        })?;
        let mac = self
            .mac(signer, ui.counter, message)
            .ok_or(UsigError::UnknownSigner(signer))?;
        mac.verify_slice(tag)
            .map_err(|_| UsigError::BadCertificate {
                signer,
                counter: ui.counter,
            })
    }

    fn last_counter(&self) -> u64 {
        self.counter.last()
    }

    fn verification_is_public(&self) -> bool {
        false
    }
}

impl<H: HmacHash, C: Counter> std::fmt::Debug for HmacUsig<H, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmacUsig")
            .field("backend", &H::NAME)
            .field("id", &self.id)
            .field("last_counter", &self.counter.last())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::conformance;

    #[test]
    fn hmac_sha1_meets_the_usig_contract() {
        let keys = KeySet::from_seed(3, 1);
        conformance(3, |id| HmacSha1Usig::new(id, &keys).unwrap());
    }

    #[test]
    fn hmac_sha256_meets_the_usig_contract() {
        let keys = KeySet::from_seed(3, 1);
        conformance(3, |id| HmacSha256Usig::new(id, &keys).unwrap());
    }

    #[test]
    fn tag_is_hmac_of_counter_then_message() {
        let keys = KeySet::from_seed(3, 2);
        let mut usig = HmacSha256Usig::new(1, &keys).unwrap();
        let ui = usig.create_ui(b"m").unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(keys.hmac_key(1).unwrap()).unwrap();
        mac.update(&1u64.to_be_bytes());
        mac.update(b"m");
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(ui.cert, Certificate::HmacSha256(expected));
        assert!(!usig.verification_is_public());
    }

    #[test]
    fn construction_checks_id_and_keys() {
        let keys = KeySet::from_seed(3, 3);
        assert!(matches!(
            HmacSha1Usig::new(3, &keys),
            Err(UsigError::UnknownSigner(3))
        ));
        // A client's key set has no HMAC keys.
        assert!(matches!(
            HmacSha1Usig::new(0, &keys.public_only()),
            Err(UsigError::MissingKey { kind: "hmac", .. })
        ));
        // Keys from another seed do not verify this group's UIs.
        let mut ours = HmacSha1Usig::new(0, &keys).unwrap();
        let theirs = HmacSha1Usig::new(1, &KeySet::from_seed(3, 4)).unwrap();
        let ui = ours.create_ui(b"m").unwrap();
        assert!(theirs.verify_ui(0, &ui, b"m").is_err());
    }
}
