//! The bytes a TPM signs for `TPM2_GetSessionAuditDigest` (a `TPMS_ATTEST` of type
//! `TPM_ST_ATTEST_SESSION_AUDIT`), parsed defensively and rebuilt, and the audit digest of
//! the USIG's command chain recomputed from public values.
//!
//! Everything here is pure Rust (SHA-256 only), so that any replica or client can check a
//! TPM certificate without a TPM. All integers are big-endian, as on the TPM's wire.

use sha2::{Digest, Sha256};

/// `TPM_GENERATED_VALUE`: the first four bytes of every structure a TPM signs. A restricted
/// signing key refuses to sign external data that starts with it, so a signature over bytes
/// that start with it proves the TPM built them.
pub const TPM_GENERATED_VALUE: u32 = 0xff54_4347;
/// `TPM_ST_ATTEST_SESSION_AUDIT`: the attestation type of `TPM2_GetSessionAuditDigest`.
pub const TPM_ST_ATTEST_SESSION_AUDIT: u16 = 0x8016;
/// `TPM_CC_NV_Read`.
pub const TPM_CC_NV_READ: u32 = 0x0000_014e;
/// `TPM_CC_NV_Increment`.
pub const TPM_CC_NV_INCREMENT: u32 = 0x0000_0134;
/// `TPM_RH_OWNER`: the authorization handle of both NV commands; a permanent handle's name
/// is the handle itself.
pub const TPM_RH_OWNER: u32 = 0x4000_0001;
/// Length of a SHA-256 TPM name: the algorithm id `000b` and the digest.
pub const NAME_LEN: usize = 34;
/// Length of the attestation for SHA-256 names and digests.
pub const ATTEST_LEN: usize = 4 + 2 + (2 + NAME_LEN) + (2 + 32) + 17 + 8 + 1 + (2 + 32);

/// Largest `TPM2B_NAME` payload (`sizeof(TPMU_NAME)`); a bigger size field is malformed.
const MAX_NAME: usize = 68;
/// Largest `TPM2B_DATA` / `TPM2B_DIGEST` payload for SHA-512-capable TPMs.
const MAX_DIGEST: usize = 64;

/// The fields of a session-audit `TPMS_ATTEST`, in wire order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SessionAuditAttest {
    /// `qualifiedSigner`: the qualified name of the signing key.
    pub qualified_signer: Vec<u8>,
    /// `extraData`: the `qualifyingData` the caller passed (for the USIG, SHA-256 of the message).
    pub extra_data: Vec<u8>,
    /// `clockInfo.clock`: milliseconds the TPM has been powered since its last clear.
    pub clock: u64,
    /// `clockInfo.resetCount`.
    pub reset_count: u32,
    /// `clockInfo.restartCount`.
    pub restart_count: u32,
    /// `clockInfo.safe` (a `TPMI_YES_NO`, 0 or 1).
    pub safe: u8,
    /// `firmwareVersion`.
    pub firmware_version: u64,
    /// `attested.sessionAudit.exclusiveSession` (0 or 1): whether every command since the
    /// session's audit reset ran with this session as its audit session.
    pub exclusive_session: u8,
    /// `attested.sessionAudit.sessionDigest`.
    pub session_digest: Vec<u8>,
}

/// Why attestation bytes could not be parsed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ParseError {
    /// The bytes end inside the named field.
    Truncated(&'static str),
    /// The named field's size prefix exceeds what the TPM can produce.
    Oversized(&'static str),
    /// The magic is not `TPM_GENERATED_VALUE`.
    BadMagic(u32),
    /// The type is not `TPM_ST_ATTEST_SESSION_AUDIT`.
    WrongType(u16),
    /// Bytes remain after the structure.
    TrailingBytes(usize),
}

/// A bounds-checked cursor over untrusted bytes.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], ParseError> {
        if self.bytes.len() < n {
            return Err(ParseError::Truncated(field));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], ParseError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, ParseError> {
        Ok(self.array::<1>(field)?[0])
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, ParseError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, ParseError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }
    fn u64(&mut self, field: &'static str) -> Result<u64, ParseError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// A `TPM2B_*`: a 2-byte size, then that many bytes (at most `max`).
    fn sized(&mut self, max: usize, field: &'static str) -> Result<Vec<u8>, ParseError> {
        let len = usize::from(self.u16(field)?);
        if len > max {
            return Err(ParseError::Oversized(field));
        }
        Ok(self.take(len, field)?.to_vec())
    }
}

impl SessionAuditAttest {
    /// Parses a session-audit `TPMS_ATTEST` (the payload of the `TPM2B_ATTEST` the TPM
    /// returns). Any malformation is an error; nothing here panics or over-reads.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut r = Reader { bytes };
        let magic = r.u32("magic")?;
        if magic != TPM_GENERATED_VALUE {
            return Err(ParseError::BadMagic(magic));
        }
        let kind = r.u16("type")?;
        if kind != TPM_ST_ATTEST_SESSION_AUDIT {
            return Err(ParseError::WrongType(kind));
        }
        let attest = SessionAuditAttest {
            qualified_signer: r.sized(MAX_NAME, "qualifiedSigner")?,
            extra_data: r.sized(MAX_DIGEST, "extraData")?,
            clock: r.u64("clockInfo.clock")?,
            reset_count: r.u32("clockInfo.resetCount")?,
            restart_count: r.u32("clockInfo.restartCount")?,
            safe: r.u8("clockInfo.safe")?,
            firmware_version: r.u64("firmwareVersion")?,
            exclusive_session: r.u8("exclusiveSession")?,
            session_digest: r.sized(MAX_DIGEST, "sessionDigest")?,
        };
        if !r.bytes.is_empty() {
            return Err(ParseError::TrailingBytes(r.bytes.len()));
        }
        Ok(attest)
    }

    /// The wire bytes of this attestation: exactly what the TPM hashes and signs.
    ///
    /// Sized fields longer than `u16::MAX` cannot come from [`SessionAuditAttest::parse`]
    /// or the verifier; they are cut to fit rather than panicking.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ATTEST_LEN);
        out.extend_from_slice(&TPM_GENERATED_VALUE.to_be_bytes());
        out.extend_from_slice(&TPM_ST_ATTEST_SESSION_AUDIT.to_be_bytes());
        put_sized(&mut out, &self.qualified_signer);
        put_sized(&mut out, &self.extra_data);
        out.extend_from_slice(&self.clock.to_be_bytes());
        out.extend_from_slice(&self.reset_count.to_be_bytes());
        out.extend_from_slice(&self.restart_count.to_be_bytes());
        out.push(self.safe);
        out.extend_from_slice(&self.firmware_version.to_be_bytes());
        out.push(self.exclusive_session);
        put_sized(&mut out, &self.session_digest);
        out
    }
}

fn put_sized(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&bytes[..usize::from(len)]);
}

/// SHA-256 of the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The `qualifyingData` the USIG passes for `message`: SHA-256 of its bytes.
pub fn message_digest(message: &[u8]) -> [u8; 32] {
    sha256(&[message])
}

/// cpHash of `TPM2_NV_Read(authHandle = owner, nvIndex, size = 8, offset = 0)`.
pub fn nv_read_cp_hash(nv_name: &[u8]) -> [u8; 32] {
    sha256(&[
        &TPM_CC_NV_READ.to_be_bytes(),
        &TPM_RH_OWNER.to_be_bytes(),
        nv_name,
        &8u16.to_be_bytes(),
        &0u16.to_be_bytes(),
    ])
}

/// rpHash of a successful `TPM2_NV_Read` that returned the 8-byte counter `value`.
pub fn nv_read_rp_hash(value: u64) -> [u8; 32] {
    sha256(&[
        &0u32.to_be_bytes(),
        &TPM_CC_NV_READ.to_be_bytes(),
        &8u16.to_be_bytes(),
        &value.to_be_bytes(),
    ])
}

/// cpHash of `TPM2_NV_Increment(authHandle = owner, nvIndex)`.
pub fn nv_increment_cp_hash(nv_name: &[u8]) -> [u8; 32] {
    sha256(&[
        &TPM_CC_NV_INCREMENT.to_be_bytes(),
        &TPM_RH_OWNER.to_be_bytes(),
        nv_name,
    ])
}

/// rpHash of a successful `TPM2_NV_Increment` (no response parameters: a constant).
pub fn nv_increment_rp_hash() -> [u8; 32] {
    sha256(&[&0u32.to_be_bytes(), &TPM_CC_NV_INCREMENT.to_be_bytes()])
}

/// One step of a session's audit digest (TPM 2.0 Part 1, "Session Audit"):
/// `digest' = H(digest || cpHash || rpHash)`.
pub fn extend(digest: &[u8; 32], cp: &[u8; 32], rp: &[u8; 32]) -> [u8; 32] {
    sha256(&[digest, cp, rp])
}

/// The audit digest of the USIG's three-command chain, from a reset (all-zero) digest:
/// `NV_Read -> v`, `NV_Increment`, `NV_Read -> v + 1`, all on the counter named `nv_name`.
/// `None` if `v + 1` overflows (no TPM counter gets there).
pub fn usig_chain_digest(nv_name: &[u8], v: u64) -> Option<[u8; 32]> {
    let after = v.checked_add(1)?;
    let read = nv_read_cp_hash(nv_name);
    let d = extend(&[0; 32], &read, &nv_read_rp_hash(v));
    let d = extend(&d, &nv_increment_cp_hash(nv_name), &nv_increment_rp_hash());
    Some(extend(&d, &read, &nv_read_rp_hash(after)))
}
