//! The USIG (Unique Sequential Identifier Generator) trusted service of MinBFT and
//! MinZyzyva (paper §2, §6).
//!
//! Every replica owns one USIG. [`Usig::create_ui`] binds a message to the next value of a
//! monotonic counter and certifies the pair; [`Usig::verify_ui`] checks such a certificate
//! for a given signer. A correct USIG never gives one counter value to two messages, never
//! goes backwards and never skips a value (except across a crash of a durable counter, see
//! [`counter`]), which is what lets MinBFT tolerate `f` faults with `2f + 1` replicas.
//!
//! ```
//! use minlab_usig::{HmacSha1Usig, Usig, KeySet};
//!
//! // Keys for a 3-replica group, derived from a seed (as the simulator does).
//! let keys = KeySet::from_seed(3, 42);
//! let mut primary = HmacSha1Usig::new(0, &keys).unwrap();
//! let backup = HmacSha1Usig::new(1, &keys).unwrap();
//!
//! let ui = primary.create_ui(b"PREPARE v=0 digest").unwrap();
//! assert_eq!(ui.counter, 1);
//! assert!(backup.verify_ui(0, &ui, b"PREPARE v=0 digest").is_ok());
//! assert!(backup.verify_ui(0, &ui, b"another message").is_err());
//! assert!(backup.verify_ui(2, &ui, b"PREPARE v=0 digest").is_err());
//! ```
//!
//! A deployment instead draws keys from the OS ([`KeySet::generate`], written to disk by
//! `minlab keygen` via [`KeySet::save`] and read back with [`KeySet::load`]) and runs each
//! USIG over a [`DurableCounter`], so that a restarted replica never reuses a counter value:
//!
//! ```no_run
//! use minlab_usig::{DurableCounter, HmacSha1Usig, KeySet, Usig};
//!
//! let keys = KeySet::load("keys/replica-0.toml")?;
//! let counter = DurableCounter::open("state/replica-0.counter", DurableCounter::DEFAULT_BLOCK)?;
//! let mut usig = HmacSha1Usig::with_counter(0, &keys, counter)?;
//! let ui = usig.create_ui(b"PREPARE v=0 digest")?;
//! # Ok::<(), minlab_usig::UsigError>(())
//! ```
#![warn(missing_docs)]

pub mod any;
pub mod counter;
pub mod ed25519;
pub mod error;
pub mod hmac;
pub mod keys;
pub mod symbolic;
#[cfg(test)]
mod testkit;
pub mod tpm;
pub mod ui;

pub use any::{AnyUsig, UsigKind};
pub use counter::{Counter, DurableCounter, VolatileCounter};
pub use ed25519::Ed25519Usig;
pub use error::UsigError;
pub use hmac::{HmacSha1Usig, HmacSha256Usig, HmacUsig};
pub use keys::KeySet;
pub use symbolic::SymbolicUsig;
#[cfg(feature = "tpm")]
pub use tpm::TpmUsig;
pub use tpm::{TpmCert, TpmIdentity, TpmVerifier};
pub use ui::{Certificate, Ui};

/// Identifier of a replica (its index in the group, `0..n`).
pub type ReplicaId = u32;

/// The USIG interface of paper §2.
///
/// `create_ui` runs inside the trusted component; `verify_ui` does too for HMAC backends,
/// and may run anywhere for signature backends (see [`Usig::verification_is_public`]).
pub trait Usig {
    /// The replica that owns this USIG instance.
    fn id(&self) -> ReplicaId;

    /// Assigns the next counter value to `message` and certifies the pair.
    ///
    /// Fails only if the counter cannot advance (its durable store failed, or it is
    /// exhausted); a failed call never hands out a value.
    fn create_ui(&mut self, message: &[u8]) -> Result<Ui, UsigError>;

    /// Checks that `ui` was created by `signer`'s USIG for `message`.
    fn verify_ui(&self, signer: ReplicaId, ui: &Ui, message: &[u8]) -> Result<(), UsigError>;

    /// The last counter value this USIG assigned (0 before the first `create_ui`).
    fn last_counter(&self) -> u64;

    /// True when a certificate can be verified with public information only, so that
    /// parties outside the trusted component (e.g. MinZyzyva clients) can check UIs.
    fn verification_is_public(&self) -> bool;
}
