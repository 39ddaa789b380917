//! USIG-Sign (paper §2) with Ed25519: `create_ui` signs inside the trusted component;
//! `verify_ui` needs only the signer's public key, so anyone (e.g. a MinZyzyva client) can
//! check a UI.

use crate::counter::{Counter, VolatileCounter};
use crate::{Certificate, KeySet, ReplicaId, Ui, Usig, UsigError};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// Largest message `create_ui`/`verify_ui` sign without hashing first. The protocols
/// certify digests and headers (tens of bytes), so a stack buffer suffices.
const INLINE_MESSAGE_MAX: usize = 248;

/// An Ed25519-based USIG with counter `C`. The signed bytes are
/// `counter (8 bytes, big-endian) || message`.
#[derive(Clone)]
pub struct Ed25519Usig<C: Counter = VolatileCounter> {
    id: ReplicaId,
    signing: Option<SigningKey>,
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
        Ok(Ed25519Usig {
            id,
            signing: Some(signing),
            verifying: verifying_keys(keys)?,
            counter,
        })
    }
}

/// Calls `f` with `counter || message` without allocating for short messages.
fn with_signed_bytes<R>(counter: u64, message: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    if message.len() <= INLINE_MESSAGE_MAX {
        let mut buf = [0u8; 8 + INLINE_MESSAGE_MAX];
        buf[..8].copy_from_slice(&counter.to_be_bytes());
        buf[8..8 + message.len()].copy_from_slice(message);
        f(&buf[..8 + message.len()])
    } else {
        let mut buf = Vec::with_capacity(8 + message.len());
        buf.extend_from_slice(&counter.to_be_bytes());
        buf.extend_from_slice(message);
        f(&buf)
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
        let sig = with_signed_bytes(counter, message, |b| signing.sign(b));
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
        with_signed_bytes(ui.counter, message, |b| key.verify(b, &sig)).map_err(|_| {
            UsigError::BadCertificate {
                signer,
                counter: ui.counter,
            }
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
