//! USIG-Sign (paper §2) with Ed25519: `create_ui` signs inside the trusted component;
//! `verify_ui` needs only the signer's public key, so anyone (e.g. a MinZyzyva client) can
//! check a UI.

use crate::counter::{Counter, VolatileCounter};
use crate::{Certificate, KeySet, ReplicaId, Ui, Usig, UsigError};
use ed25519_dalek::ed25519::signature::MultipartVerifier;
use ed25519_dalek::hazmat::{ExpandedSecretKey, raw_sign_byupdate};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha512};

/// The signing half of the USIG's key pair, expanded once (a SHA-512 of the secret) rather
/// than on every `create_ui` as `SigningKey::sign` does.
struct SigningSecret {
    expanded: ExpandedSecretKey,
    public: VerifyingKey,
}

impl Clone for SigningSecret {
    fn clone(&self) -> Self {
        SigningSecret {
            expanded: ExpandedSecretKey {
                scalar: self.expanded.scalar,
                hash_prefix: self.expanded.hash_prefix,
            },
            public: self.public,
        }
    }
}

/// An Ed25519-based USIG with counter `C`. The signed bytes are
/// `counter (8 bytes, big-endian) || message`.
#[derive(Clone)]
pub struct Ed25519Usig<C: Counter = VolatileCounter> {
    id: ReplicaId,
    /// Boxed: the key pair is ~200 bytes, and [`crate::AnyUsig`]'s variants should be of
    /// similar sizes.
    signing: Option<Box<SigningSecret>>,
    verifying: Vec<VerifyingKey>,
    counter: C,
}

impl Ed25519Usig<VolatileCounter> {
    /// The USIG of replica `id`, with a fresh in-memory counter.
    pub fn new(id: ReplicaId, keys: &KeySet) -> Result<Self, UsigError> {
        Self::with_counter(id, keys, VolatileCounter::default())
    }

    /// A verify-only instance (no signing key), e.g. for a client checking replicas' UIs.
    /// Its `create_ui` fails with [`UsigError::MissingKey`].
    pub fn verifier(keys: &KeySet) -> Result<Self, UsigError> {
        Ok(Ed25519Usig {
            id: ReplicaId::MAX,
            signing: None,
            verifying: verifying_keys(keys)?,
            counter: VolatileCounter::default(),
        })
    }
}

fn verifying_keys(keys: &KeySet) -> Result<Vec<VerifyingKey>, UsigError> {
    (0..keys.replica_count())
        .map(|r| {
            let bytes = keys.ed25519_public(r).ok_or(UsigError::MissingKey {
                kind: "ed25519 public",
                replica: r,
            })?;
            VerifyingKey::from_bytes(bytes).map_err(|_| UsigError::MissingKey {
                kind: "valid ed25519 public",
                replica: r,
            })
        })
        .collect()
}

impl<C: Counter> Ed25519Usig<C> {
    /// The USIG of replica `id` over the given counter (e.g. a [`crate::DurableCounter`]).
    pub fn with_counter(id: ReplicaId, keys: &KeySet, counter: C) -> Result<Self, UsigError> {
        if id >= keys.replica_count() {
            return Err(UsigError::UnknownSigner(id));
        }
        let secret = keys.ed25519_secret(id).ok_or(UsigError::MissingKey {
            kind: "ed25519 secret",
            replica: id,
        })?;
        let signing = SigningKey::from_bytes(secret);
        if signing.verifying_key().to_bytes() != *keys.ed25519_public(id).unwrap_or(&[0; 32]) {
            return Err(UsigError::MissingKey {
                kind: "ed25519 secret matching the public",
                replica: id,
            });
        }
        let secret = SigningSecret {
            expanded: ExpandedSecretKey::from(signing.as_bytes()),
            public: signing.verifying_key(),
        };
        Ok(Ed25519Usig {
            id,
            signing: Some(Box::new(secret)),
            verifying: verifying_keys(keys)?,
            counter,
        })
    }

    /// The counter this USIG draws from (e.g. to inspect a durable counter's reservation).
    pub fn counter(&self) -> &C {
        &self.counter
    }
}

impl<C: Counter> Usig for Ed25519Usig<C> {
    fn id(&self) -> ReplicaId {
        self.id
    }

    fn create_ui(&mut self, message: &[u8]) -> Result<Ui, UsigError> {
        let signing = self.signing.as_ref().ok_or(UsigError::MissingKey {
            kind: "ed25519 secret",
            replica: self.id,
        })?;
        let counter = self.counter.advance()?;
        // The signed bytes are `counter || message`, fed to SHA-512 in two parts.
        let sig = raw_sign_byupdate::<Sha512, _>(
            &signing.expanded,
            |h: &mut Sha512| {
                Digest::update(h, counter.to_be_bytes());
                Digest::update(h, message);
                Ok(())
            },
            &signing.public,
        )
        .map_err(|_| UsigError::MissingKey {
            kind: "usable ed25519 secret",
            replica: self.id,
        })?;
        Ok(Ui {
            counter,
            cert: Certificate::Ed25519(sig.to_bytes()),
        })
    }

    fn verify_ui(&self, signer: ReplicaId, ui: &Ui, message: &[u8]) -> Result<(), UsigError> {
        let Certificate::Ed25519(sig) = &ui.cert else {
            return Err(UsigError::WrongCertificateKind {
                expected: "ed25519",
                found: ui.cert.kind(),
            });
        };
        let key = self
            .verifying
            .get(signer as usize)
            .ok_or(UsigError::UnknownSigner(signer))?;
        let sig = Signature::from_bytes(sig);
        key.multipart_verify(&[&ui.counter.to_be_bytes(), message], &sig)
            .map_err(|_| UsigError::BadCertificate {
                signer,
                counter: ui.counter,
            })
    }

    fn last_counter(&self) -> u64 {
        self.counter.last()
    }

    fn verification_is_public(&self) -> bool {
        true
    }
}

impl<C: Counter> std::fmt::Debug for Ed25519Usig<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519Usig")
            .field("id", &self.id)
            .field("last_counter", &self.counter.last())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::conformance;
    use ed25519_dalek::Signer;

    #[test]
    fn ed25519_meets_the_usig_contract() {
        let keys = KeySet::from_seed(3, 1);
        conformance(3, |id| Ed25519Usig::new(id, &keys).unwrap());
    }

    #[test]
    fn signature_covers_counter_then_message_at_every_length() {
        let keys = KeySet::from_seed(3, 2);
        let mut usig = Ed25519Usig::new(2, &keys).unwrap();
        let public = VerifyingKey::from_bytes(keys.ed25519_public(2).unwrap()).unwrap();
        let reference = SigningKey::from_bytes(keys.ed25519_secret(2).unwrap());
        for len in [0, 20, 127, 128, 4096] {
            let message = vec![0xa5; len];
            let ui = usig.create_ui(&message).unwrap();
            let Certificate::Ed25519(sig) = ui.cert else {
                panic!("an Ed25519 USIG made a {} certificate", ui.cert.kind());
            };
            let mut signed = ui.counter.to_be_bytes().to_vec();
            signed.extend_from_slice(&message);
            assert!(
                public
                    .verify_strict(&signed, &Signature::from_bytes(&sig))
                    .is_ok()
            );
            // Ed25519 is deterministic: the cached-expansion path signs exactly as dalek's
            // own `SigningKey::sign` does.
            assert_eq!(reference.sign(&signed).to_bytes(), sig);
            assert_eq!(usig.verify_ui(2, &ui, &message), Ok(()));
        }
    }

    #[test]
    fn a_verifier_checks_but_cannot_create() {
        let keys = KeySet::from_seed(3, 3);
        let mut replica = Ed25519Usig::new(0, &keys).unwrap();
        let mut client = Ed25519Usig::verifier(&keys.public_only()).unwrap();
        let ui = replica.create_ui(b"reply").unwrap();
        assert!(client.verification_is_public());
        assert_eq!(client.verify_ui(0, &ui, b"reply"), Ok(()));
        assert!(matches!(
            client.create_ui(b"x"),
            Err(UsigError::MissingKey { .. })
        ));
    }

    #[test]
    fn construction_needs_the_own_matching_secret() {
        let keys = KeySet::from_seed(3, 4);
        assert!(matches!(
            Ed25519Usig::new(3, &keys),
            Err(UsigError::UnknownSigner(3))
        ));
        // Replica 1's key file holds no secret for replica 0.
        assert!(matches!(
            Ed25519Usig::new(0, &keys.for_replica(1)),
            Err(UsigError::MissingKey {
                kind: "ed25519 secret",
                replica: 0
            })
        ));
        assert!(Ed25519Usig::new(1, &keys.for_replica(1)).is_ok());
        // A secret that does not match the group's public key is refused.
        let mut mixed = keys.clone();
        mixed.ed25519_secret.insert(0, [9; 32]);
        assert!(matches!(
            Ed25519Usig::new(0, &mixed),
            Err(UsigError::MissingKey { replica: 0, .. })
        ));
    }
}
