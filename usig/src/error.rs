//! Why a USIG operation failed, as one enum a caller can act on.

use crate::ReplicaId;

/// Errors of the USIG service. Untrusted input (a UI, a message, a key file) that is wrong
/// yields an error, never a panic.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum UsigError {
    /// The claimed signer is not a replica this USIG knows.
    #[error("unknown signer replica {0}")]
    UnknownSigner(ReplicaId),
    /// The certificate does not match the message, the counter value and the signer.
    #[error("invalid certificate from replica {signer} for counter value {counter}")]
    BadCertificate {
        /// The claimed signer.
        signer: ReplicaId,
        /// The counter value in the UI.
        counter: u64,
    },
    /// The certificate is of another backend's kind (e.g. an Ed25519 certificate given to
    /// an HMAC USIG).
    #[error("certificate of kind {found} where {expected} was expected")]
    WrongCertificateKind {
        /// The kind this USIG produces and checks.
        expected: &'static str,
        /// The kind found in the UI.
        found: &'static str,
    },
    /// The key set has no secret for this replica, or holds keys of another kind.
    #[error("key set has no {kind} key for replica {replica}")]
    MissingKey {
        /// Kind of key looked for.
        kind: &'static str,
        /// Replica whose key is missing.
        replica: ReplicaId,
    },
    /// The counter can advance no further.
    #[error("USIG counter exhausted")]
    CounterExhausted,
    /// The durable counter file could not be read or written.
    #[error("counter file {path}: {reason}")]
    CounterStore {
        /// Path of the counter file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The durable counter file exists but does not hold a valid reservation.
    #[error("counter file {path} is corrupt: {reason}")]
    CorruptCounterFile {
        /// Path of the counter file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A key file could not be read, parsed or written.
    #[error("key file {path}: {reason}")]
    KeyFile {
        /// Path of the key file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A TPM command failed (TPM 2.0 backend): `op` names the command, `rc` is the TSS/TPM
    /// response code.
    #[error("TPM {op} failed: response code {rc:#x} ({})", crate::tpm::rc_name(*rc))]
    Tpm {
        /// The command or library call that failed.
        op: &'static str,
        /// Its response code.
        rc: u32,
    },
    /// The TPM, its key or its counter index is not as the TPM USIG needs it (wrong key type,
    /// identity mismatch, malformed output).
    #[error("TPM USIG: {0}")]
    TpmSetup(String),
    /// The operating system could not provide randomness for fresh keys.
    #[error("operating system randomness unavailable: {0}")]
    Entropy(String),
}
