//! The unique identifier (UI) a USIG returns: a counter value plus its certificate.

use serde::{Deserialize, Serialize};
use serde_big_array::BigArray;

/// A unique identifier: the USIG counter value assigned to a message and the certificate
/// that binds signer, counter value and message together (paper §2).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, PartialOrd, Ord)]
pub struct Ui {
    /// The counter value: unique, monotonic and sequential per signer.
    pub counter: u64,
    /// The certificate over `(signer, counter, message)`.
    pub cert: Certificate,
}

/// The certificate part of a [`Ui`], one variant per backend.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Certificate {
    /// HMAC-SHA1 tag (20 bytes), as in the paper's prototype.
    HmacSha1([u8; 20]),
    /// HMAC-SHA256 tag (32 bytes).
    HmacSha256([u8; 32]),
    /// Ed25519 signature (64 bytes); verifiable with the signer's public key alone.
    Ed25519(#[serde(with = "BigArray")] [u8; 64]),
    /// Symbolic certificate for model checking: a digest of `(signer, counter, message)`
    /// that only the signer's own [`crate::SymbolicUsig`] mints.
    Symbolic(u64),
    /// TPM 2.0 certificate: an ECDSA P-256 signature by the replica's TPM over a session
    /// audit of the counter's read-increment-read chain (see [`crate::tpm`]); boxed, as it
    /// is the largest kind. Verifiable with the TPM's public identity alone.
    Tpm(Box<crate::tpm::TpmCert>),
}

impl Certificate {
    /// Short name of the certificate kind, for error messages and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Certificate::HmacSha1(_) => "hmac-sha1",
            Certificate::HmacSha256(_) => "hmac-sha256",
            Certificate::Ed25519(_) => "ed25519",
            Certificate::Symbolic(_) => "symbolic",
            Certificate::Tpm(_) => "tpm",
        }
    }

    /// Size of the certificate on the wire, in bytes (without the enum tag).
    pub fn len(&self) -> usize {
        match self {
            Certificate::HmacSha1(_) => 20,
            Certificate::HmacSha256(_) => 32,
            Certificate::Ed25519(_) => 64,
            Certificate::Symbolic(_) => 8,
            Certificate::Tpm(_) => crate::tpm::TpmCert::LEN,
        }
    }

    /// Always false: every certificate has a fixed, non-zero size.
    pub fn is_empty(&self) -> bool {
        false
    }
}
