//! USIG-Sign on a TPM 2.0 chip (paper §6, "Implementing USIG-Sign with the TPM", redone for
//! TPM 2.0): the counter is an NV counter index and the certificate is a TPM signature over
//! an exclusive session audit of the commands that read and advanced it.
//!
//! # Construction
//!
//! `create_ui(m)` sends, over one HMAC session `S` with the `audit` attribute:
//!
//! 1. `TPM2_NV_Read(owner, counter, size 8, offset 0)` with `auditReset`: returns `v`;
//!    resets `S`'s audit digest to zeros and makes `S` the TPM's exclusive audit session;
//! 2. `TPM2_NV_Increment(owner, counter)` with `auditExclusive`;
//! 3. `TPM2_NV_Read(owner, counter, 8, 0)` with `auditExclusive`: returns `v + 1`;
//! 4. `TPM2_GetSessionAuditDigest(endorsement, key, S, qualifyingData = SHA-256(m))`, signed
//!    by a restricted ECDSA P-256 key in the endorsement hierarchy.
//!
//! The UI's counter is `v + 1 - base`, `base` being the counter's value at provisioning.
//! The certificate ([`TpmCert`]) ships only the signature and the attestation fields a
//! verifier cannot recompute (clock, reset/restart counts, firmware version).
//!
//! `verify_ui` needs only the replica's [`TpmIdentity`] (key, key's qualified name, counter
//! index's name, base). It rebuilds the signed `TPMS_ATTEST`: magic `TPM_GENERATED_VALUE`,
//! type `TPM_ST_ATTEST_SESSION_AUDIT` (0x8016), `qualifiedSigner` = the key's name,
//! `extraData` = SHA-256(m), `exclusiveSession` = YES, `sessionDigest` = the audit digest of
//! exactly the three commands above for `v = base + counter - 1` ([`attest::usig_chain_digest`]);
//! then checks the ECDSA signature. Replicas and clients without a TPM verify with this
//! module alone (pure Rust, always compiled); only creating UIs and provisioning need the
//! `tpm` cargo feature and libtss2.
//!
//! # Why it is sound
//!
//! Checked against TPM 2.0 Part 1 ("Session Audit", "Exclusive Audit Session"), Part 3
//! (`TPM2_GetSessionAuditDigest`) and the reference implementation's
//! `UpdateAuditSessionStatus`, and by experiment on swtpm
//! (`shared/notes/tpm2-usig-experiment.md`):
//!
//! - *The TPM built the attestation.* A restricted signing key signs only digests the TPM
//!   computed itself when the data starts with `TPM_GENERATED_VALUE`, so a valid signature
//!   over our rebuilt bytes means some `GetSessionAuditDigest` produced exactly them. (The
//!   verifier must trust that the identity's key *is* a restricted TPM key: provisioning
//!   is trusted here, as `minlab keygen` is for Ed25519; binding it to the TPM's
//!   endorsement certificate is future work.)
//! - *The session audited exactly this chain.* The audit digest is a hash chain
//!   `d' = H(d || cpHash || rpHash)` from zeros, reset only by `auditReset` (or first use);
//!   cpHash covers the command code, the handles' names (owner, the counter's name, which
//!   pins index, attributes and type) and the parameters; rpHash covers the response code
//!   and the response parameters (the value read). Equality with the recomputed digest
//!   means, up to SHA-256 collisions, that since its last reset `S` audited `NV_Read -> v`,
//!   `NV_Increment`, `NV_Read -> v + 1`, and nothing else.
//! - *Nothing ran in between.* The TPM keeps one exclusive audit session: a command with
//!   `auditReset` makes its session exclusive, and any later command that allows sessions
//!   but is not audited by that session clears it (commands that allow no sessions,
//!   `ContextSave`/`ContextLoad`/`FlushContext`, cannot touch NV and do not clear it; failed
//!   commands change nothing). `exclusiveSession = YES` therefore means the three commands
//!   ran back to back on the TPM. **This bit is the only protection** against the notes'
//!   attacks A and B': `NV_Increment`'s cpHash and rpHash are constants, so a host that
//!   reads `v` in two sessions and increments in both gets two *identical* digests for `v`;
//!   only one of them can be exclusive. The `auditExclusive` flag on steps 2 and 3 merely
//!   makes the TPM refuse early (`TPM_RC_EXCLUSIVE`) instead of producing a useless UI.
//!   `GetSessionAuditDigest` itself clears exclusivity (it has no audit session), so a
//!   second attestation of the same chain for another message says `exclusiveSession = NO`.
//! - *Uniqueness.* An exclusive chain moved the counter from `v` to `v + 1` in one step.
//!   NV counters never decrease (a redefined counter resumes at the highest value any
//!   counter ever had), so a read of `v` is followed by at most one increment to `v + 1`:
//!   two valid UIs with the same counter value are the same increment, hence the same
//!   `GetSessionAuditDigest` call, hence the same `qualifyingData` = the same message (up
//!   to SHA-256 collisions; a second call on the same chain is not exclusive).
//! - *Monotonicity, and what is not guaranteed.* UI counters follow the TPM counter, so
//!   they only grow. A Byzantine host can burn values (increment outside a UI) and so skip
//!   counter values; that is a replica not sending a message it could have sent, which
//!   MinBFT already tolerates (backups accept only `last + 1` from each replica).
//!
//! **Why three commands and not the notes' two (`NV_Read`, `NV_Increment`).** The TPM
//! audits response parameters *after* parameter encryption (the reference implementation
//! encrypts the response before `UpdateAuditSessionStatus`). A host may attach a session
//! with the `encrypt` attribute to the read: the audited 8 bytes are then `v XOR mask`, a
//! pseudorandom value `v'` it cannot choose, and the two-command chain would certify the
//! counter `v' + 1`, a value the counter never had. Such values are random 64-bit numbers,
//! so they collide with a real value only with negligible probability, but the certificate
//! would still assert a reading that never happened. Re-reading after the increment closes
//! this: the verifier demands reads of `v` and `v + 1`, and two independently masked reads
//! satisfy that with probability 2^-64. The cost is one `NV_Read` (about 0.1 ms inside the
//! TPM, more in the client library).
//!
//! The counter index is defined with `TPMA_NV_NO_DA`, owner and auth read/write, not
//! orderly (an orderly counter skips ahead after an unorderly shutdown, which would only
//! burn values). Each `create_ui` writes NV once: hardware TPMs rate-limit and wear NV
//! writes (ask the chip for `TPM_PT_NV_WRITE_RECOVERY`), so batch requests per UI.
//!
//! # Which USIG kind?
//!
//! There is no `UsigKind::Tpm` / `AnyUsig::Tpm`: `AnyUsig` is `Clone` and runs over a
//! software [`crate::Counter`] inside the simulator and the model checker, while a
//! `TpmUsig` owns a connection to one physical TPM and cannot be cloned or simulated.
//! The network adapter picks `TpmUsig` directly (it implements [`crate::Usig`]); a
//! simulated "TPM cost profile" belongs in the simulator, not here.

pub mod attest;
pub mod rc;
#[cfg(test)]
mod testdata;
pub mod verify;

#[cfg(feature = "tpm")]
pub mod esys;
#[cfg(feature = "tpm")]
pub mod provision;
#[cfg(feature = "tpm")]
pub mod swtpm;
#[cfg(feature = "tpm")]
mod usig;

#[cfg(feature = "tpm")]
pub use provision::{TpmConfig, provision};
pub use rc::rc_name;
#[cfg(feature = "tpm")]
pub use usig::{Step, TpmUsig};
pub use verify::{Rejection, TpmCert, TpmIdentity, TpmVerifier};
