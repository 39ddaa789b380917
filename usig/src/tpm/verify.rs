//! The public half of the TPM USIG: what a verifier knows about a replica's TPM
//! ([`TpmIdentity`]), what a certificate carries ([`TpmCert`]), and the check itself
//! ([`TpmVerifier`]), in pure Rust (P-256 ECDSA and SHA-256) so it runs without a TPM.

use super::attest::{NAME_LEN, SessionAuditAttest, message_digest, usig_chain_digest};
use crate::{Certificate, KeySet, ReplicaId, Ui, Usig, UsigError};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_big_array::BigArray;

/// What every verifier must know about one replica's TPM USIG, exported at provisioning
/// and distributed like a public key (e.g. in key files).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct TpmIdentity {
    /// The restricted ECDSA P-256 signing key, SEC1 uncompressed (`04 || x || y`).
    #[serde(with = "BigArray")]
    pub key_sec1: [u8; 65],
    /// The key's qualified name, which the TPM writes into every attestation it signs.
    #[serde(with = "BigArray")]
    pub signer_name: [u8; NAME_LEN],
    /// The NV counter index's name (`000b || SHA-256(TPMS_NV_PUBLIC)`, index written).
    #[serde(with = "BigArray")]
    pub nv_name: [u8; NAME_LEN],
    /// The counter's value at provisioning: UI counter `c` is TPM counter value `base + c`,
    /// so that a freshly provisioned USIG hands out 1, 2, 3, ... like every other backend.
    pub counter_base: u64,
}

/// The certificate of a TPM UI: the ECDSA signature and the attestation fields a verifier
/// cannot recompute (the TPM's clock and firmware). Everything else in the signed
/// attestation (signer name, message digest, exclusivity, audit digest) is rebuilt by the
/// verifier from public values, so it is not shipped.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, PartialOrd, Ord)]
pub struct TpmCert {
    /// ECDSA `r`, 32 bytes big-endian.
    pub r: [u8; 32],
    /// ECDSA `s`, 32 bytes big-endian, normalized to the lower half of the group order.
    pub s: [u8; 32],
    /// `clockInfo.clock` of the attestation.
    pub clock: u64,
    /// `clockInfo.resetCount`.
    pub reset_count: u32,
    /// `clockInfo.restartCount`.
    pub restart_count: u32,
    /// `clockInfo.safe`.
    pub safe: bool,
    /// `firmwareVersion`.
    pub firmware_version: u64,
}

impl TpmCert {
    /// Size on the wire, in bytes (without framing).
    pub const LEN: usize = 32 + 32 + 8 + 4 + 4 + 1 + 8;
}

/// Why a TPM certificate was rejected; [`TpmVerifier::verify_ui`] folds all of these into
/// [`UsigError::BadCertificate`], tests and diagnostics look at the detail.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Rejection {
    /// UI counter 0, or one whose TPM value overflows: no TPM produces it.
    CounterOutOfRange,
    /// The attestation bytes do not parse.
    Malformed(super::attest::ParseError),
    /// The attestation names another signing key.
    WrongSigner,
    /// `extraData` is not the message's digest.
    WrongMessage,
    /// `exclusiveSession` is not YES: some other command ran inside the chain.
    NotExclusive,
    /// `sessionDigest` is not the USIG chain for the claimed counter value.
    WrongChain,
    /// A field holds a value the TPM never produces (e.g. `safe` other than 0 or 1).
    NotCanonical,
    /// The signature is malformed, not in low-s form, or does not verify.
    BadSignature,
}

/// Checks TPM certificates against the [`TpmIdentity`] of every replica that has one.
#[derive(Clone, Debug)]
pub struct TpmVerifier {
    replica_count: u32,
    identities: Vec<Option<(TpmIdentity, VerifyingKey)>>,
}

impl TpmIdentity {
    /// The signing key, parsed; fails if `key_sec1` is not a P-256 point.
    pub fn verifying_key(&self) -> Result<VerifyingKey, String> {
        VerifyingKey::from_sec1_bytes(&self.key_sec1)
            .map_err(|_| "key is not an uncompressed P-256 point".to_string())
    }

    /// The TPM counter value whose read starts the chain of UI counter `counter`
    /// (`base + counter - 1`), or `None` if there is none.
    pub fn chain_start(&self, counter: u64) -> Option<u64> {
        counter.checked_sub(1)?.checked_add(self.counter_base)
    }

    /// The attestation the TPM must have signed for UI `counter` on `message` with the
    /// clock fields of `cert`.
    pub fn expected_attest(
        &self,
        counter: u64,
        message: &[u8],
        cert: &TpmCert,
    ) -> Result<SessionAuditAttest, Rejection> {
        let v = self
            .chain_start(counter)
            .ok_or(Rejection::CounterOutOfRange)?;
        let digest = usig_chain_digest(&self.nv_name, v).ok_or(Rejection::CounterOutOfRange)?;
        Ok(SessionAuditAttest {
            qualified_signer: self.signer_name.to_vec(),
            extra_data: message_digest(message).to_vec(),
            clock: cert.clock,
            reset_count: cert.reset_count,
            restart_count: cert.restart_count,
            safe: u8::from(cert.safe),
            firmware_version: cert.firmware_version,
            exclusive_session: 1,
            session_digest: digest.to_vec(),
        })
    }

    /// Checks raw attestation bytes and a signature as the TPM returned them, field by
    /// field (for `create_ui`'s self-check and for diagnosing a rejected attestation).
    /// On success, returns the certificate to ship.
    pub fn check_attestation(
        &self,
        counter: u64,
        message: &[u8],
        attest: &[u8],
        r: &[u8; 32],
        s: &[u8; 32],
    ) -> Result<TpmCert, Rejection> {
        let parsed = SessionAuditAttest::parse(attest).map_err(Rejection::Malformed)?;
        if parsed.qualified_signer != self.signer_name {
            return Err(Rejection::WrongSigner);
        }
        if parsed.extra_data != message_digest(message) {
            return Err(Rejection::WrongMessage);
        }
        if parsed.exclusive_session != 1 {
            return Err(Rejection::NotExclusive);
        }
        let v = self
            .chain_start(counter)
            .ok_or(Rejection::CounterOutOfRange)?;
        if Some(parsed.session_digest.as_slice())
            != usig_chain_digest(&self.nv_name, v).as_ref().map(|d| &d[..])
        {
            return Err(Rejection::WrongChain);
        }
        if parsed.safe > 1 {
            return Err(Rejection::NotCanonical);
        }
        let key = self.verifying_key().map_err(|_| Rejection::BadSignature)?;
        let sig = signature(r, s).ok_or(Rejection::BadSignature)?;
        key.verify(attest, &sig)
            .map_err(|_| Rejection::BadSignature)?;
        let low = sig.normalize_s().to_bytes();
        let (r, s) = low.split_at(32);
        Ok(TpmCert {
            r: r.try_into().map_err(|_| Rejection::BadSignature)?,
            s: s.try_into().map_err(|_| Rejection::BadSignature)?,
            clock: parsed.clock,
            reset_count: parsed.reset_count,
            restart_count: parsed.restart_count,
            safe: parsed.safe == 1,
            firmware_version: parsed.firmware_version,
        })
    }

    /// Checks a shipped certificate: rebuilds the attestation and verifies the signature.
    pub fn check_cert(
        &self,
        key: &VerifyingKey,
        counter: u64,
        message: &[u8],
        cert: &TpmCert,
    ) -> Result<(), Rejection> {
        let attest = self.expected_attest(counter, message, cert)?.to_bytes();
        let sig = signature(&cert.r, &cert.s).ok_or(Rejection::BadSignature)?;
        if sig.normalize_s() != sig {
            return Err(Rejection::BadSignature);
        }
        key.verify(&attest, &sig)
            .map_err(|_| Rejection::BadSignature)
    }
}

/// A verify-only USIG over the replicas' TPM identities, for parties without a TPM (e.g.
/// MinZyzyva clients checking `UI_p` and `UI_s`), as [`crate::Ed25519Usig::verifier`] is
/// for Ed25519. It owns no counter: `create_ui` fails with [`UsigError::MissingKey`].
impl Usig for TpmVerifier {
    /// [`ReplicaId::MAX`]: a verifier is no replica.
    fn id(&self) -> ReplicaId {
        ReplicaId::MAX
    }

    fn create_ui(&mut self, _message: &[u8]) -> Result<Ui, UsigError> {
        Err(UsigError::MissingKey {
            kind: "tpm (a verifier creates no UI)",
            replica: ReplicaId::MAX,
        })
    }

    fn verify_ui(&self, signer: ReplicaId, ui: &Ui, message: &[u8]) -> Result<(), UsigError> {
        TpmVerifier::verify_ui(self, signer, ui, message)
    }

    fn last_counter(&self) -> u64 {
        0
    }

    fn verification_is_public(&self) -> bool {
        true
    }
}

/// `r || s` as a signature, if both are valid non-zero scalars.
fn signature(r: &[u8; 32], s: &[u8; 32]) -> Option<Signature> {
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(r);
    bytes[32..].copy_from_slice(s);
    Signature::from_slice(&bytes).ok()
}

impl TpmVerifier {
    /// A verifier for the TPM identities in `keys` (replicas without one cannot be verified).
    pub fn new(keys: &KeySet) -> Result<Self, UsigError> {
        Self::with(
            keys.replica_count(),
            (0..keys.replica_count()).map(|r| keys.tpm_identity(r).cloned()),
        )
    }

    /// A verifier for replicas `0..identities.len()`, replica `r` having `identities[r]`:
    /// what a party that knows only these public identities (e.g. a client reading them
    /// from a cluster file) needs.
    pub fn from_identities(identities: Vec<TpmIdentity>) -> Result<Self, UsigError> {
        Self::with(identities.len() as u32, identities.into_iter().map(Some))
    }

    fn with(
        replica_count: u32,
        identities: impl Iterator<Item = Option<TpmIdentity>>,
    ) -> Result<Self, UsigError> {
        let identities = (0..)
            .zip(identities)
            .map(|(r, id)| match id {
                None => Ok(None),
                Some(id) => {
                    let key = id.verifying_key().map_err(|_| UsigError::MissingKey {
                        kind: "valid tpm public",
                        replica: r,
                    })?;
                    Ok(Some((id, key)))
                }
            })
            .collect::<Result<_, UsigError>>()?;
        Ok(TpmVerifier {
            replica_count,
            identities,
        })
    }

    /// The identity of replica `r`, if known.
    pub fn identity(&self, r: ReplicaId) -> Option<&TpmIdentity> {
        self.identities.get(r as usize)?.as_ref().map(|(id, _)| id)
    }

    /// Checks that `ui` was created by `signer`'s TPM USIG for `message` (the paper's
    /// `verifyUI`); any mismatch is [`UsigError::BadCertificate`].
    pub fn verify_ui(&self, signer: ReplicaId, ui: &Ui, message: &[u8]) -> Result<(), UsigError> {
        let Certificate::Tpm(cert) = &ui.cert else {
            return Err(UsigError::WrongCertificateKind {
                expected: "tpm",
                found: ui.cert.kind(),
            });
        };
        if signer >= self.replica_count {
            return Err(UsigError::UnknownSigner(signer));
        }
        let Some(Some((id, key))) = self.identities.get(signer as usize) else {
            return Err(UsigError::MissingKey {
                kind: "tpm public",
                replica: signer,
            });
        };
        id.check_cert(key, ui.counter, message, cert)
            .map_err(|_| UsigError::BadCertificate {
                signer,
                counter: ui.counter,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::super::attest::{ATTEST_LEN, ParseError};
    use super::super::testdata::*;
    use super::*;

    fn identity() -> TpmIdentity {
        TpmIdentity {
            key_sec1: unhex_n(KEY),
            signer_name: unhex_n(SIGNER),
            nv_name: unhex_n(NV),
            counter_base: BASE,
        }
    }

    fn honest() -> (Vec<u8>, [u8; 32], [u8; 32]) {
        (unhex(ATTEST), unhex_n(R), unhex_n(S))
    }

    fn keys() -> KeySet {
        let mut keys = KeySet::from_seed(3, 5);
        keys.set_tpm_identity(0, identity()).unwrap();
        keys
    }

    fn honest_ui() -> Ui {
        let (attest, r, s) = honest();
        let cert = identity()
            .check_attestation(1, MESSAGE, &attest, &r, &s)
            .unwrap();
        Ui {
            counter: 1,
            cert: Certificate::Tpm(Box::new(cert)),
        }
    }

    #[test]
    fn swtpm_attestation_parses_and_rebuilds_byte_for_byte() {
        let (attest, _, _) = honest();
        assert_eq!(attest.len(), ATTEST_LEN);
        let parsed = SessionAuditAttest::parse(&attest).unwrap();
        assert_eq!(parsed.to_bytes(), attest);
        assert_eq!(parsed.exclusive_session, 1);
        assert_eq!(parsed.extra_data, message_digest(MESSAGE));
        // The audit digest is exactly our recomputed read / increment / read chain for v = 1.
        assert_eq!(
            parsed.session_digest,
            usig_chain_digest(&unhex(NV), 1).unwrap()
        );
        // And the verifier rebuilds the very same bytes from the certificate alone.
        let Certificate::Tpm(cert) = honest_ui().cert else {
            unreachable!()
        };
        assert_eq!(
            identity()
                .expected_attest(1, MESSAGE, &cert)
                .unwrap()
                .to_bytes(),
            attest
        );
    }

    #[test]
    fn honest_ui_verifies_for_a_party_without_a_tpm() {
        let keys = keys().public_only();
        let verifier = TpmVerifier::new(&keys).unwrap();
        let ui = honest_ui();
        assert_eq!(ui.cert.len(), TpmCert::LEN);
        assert_eq!(verifier.verify_ui(0, &ui, MESSAGE), Ok(()));
        assert!(matches!(
            verifier.verify_ui(0, &ui, b"another"),
            Err(UsigError::BadCertificate {
                signer: 0,
                counter: 1
            })
        ));
        assert!(matches!(
            verifier.verify_ui(1, &ui, MESSAGE),
            Err(UsigError::MissingKey { replica: 1, .. })
        ));
        assert_eq!(
            verifier.verify_ui(7, &ui, MESSAGE),
            Err(UsigError::UnknownSigner(7))
        );
        let other = Ui {
            counter: 1,
            cert: Certificate::Ed25519([0; 64]),
        };
        assert!(matches!(
            verifier.verify_ui(0, &other, MESSAGE),
            Err(UsigError::WrongCertificateKind {
                found: "ed25519",
                ..
            })
        ));
    }

    #[test]
    fn as_a_usig_the_verifier_checks_but_never_creates() {
        // What a MinZyzyva client holds: public identities only, no TPM.
        let mut verifier = TpmVerifier::new(&keys().public_only()).unwrap();
        let ui = honest_ui();
        assert!(Usig::verification_is_public(&verifier));
        assert_eq!(Usig::verify_ui(&verifier, 0, &ui, MESSAGE), Ok(()));
        assert!(matches!(
            Usig::verify_ui(&verifier, 0, &ui, b"another"),
            Err(UsigError::BadCertificate { signer: 0, .. })
        ));
        assert!(matches!(
            verifier.create_ui(MESSAGE),
            Err(UsigError::MissingKey { .. })
        ));
        assert_eq!(verifier.last_counter(), 0);
        // Built from the identities alone, it is the same verifier.
        let alone = TpmVerifier::from_identities(vec![identity()]).unwrap();
        assert_eq!(alone.verify_ui(0, &ui, MESSAGE), Ok(()));
        assert_eq!(
            alone.verify_ui(1, &ui, MESSAGE),
            Err(UsigError::UnknownSigner(1))
        );
        let mut bad = identity();
        bad.key_sec1[0] = 0x05;
        assert!(matches!(
            TpmVerifier::from_identities(vec![identity(), bad]),
            Err(UsigError::MissingKey { replica: 1, .. })
        ));
    }

    #[test]
    fn any_other_counter_value_is_rejected_without_panicking() {
        let verifier = TpmVerifier::new(&keys()).unwrap();
        let ui = honest_ui();
        for counter in [0, 2, 3, u64::MAX - 1, u64::MAX] {
            let moved = Ui {
                counter,
                cert: ui.cert.clone(),
            };
            assert!(verifier.verify_ui(0, &moved, MESSAGE).is_err(), "{counter}");
        }
        let Certificate::Tpm(cert) = &ui.cert else {
            unreachable!()
        };
        let id = identity();
        let key = id.verifying_key().unwrap();
        assert_eq!(
            id.check_cert(&key, 0, MESSAGE, cert),
            Err(Rejection::CounterOutOfRange)
        );
        assert_eq!(
            id.check_cert(&key, 2, MESSAGE, cert),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn every_bit_flip_of_the_certificate_is_rejected() {
        let verifier = TpmVerifier::new(&keys()).unwrap();
        let Certificate::Tpm(cert) = honest_ui().cert else {
            unreachable!()
        };
        let mut flipped = 0;
        for byte in 0..32 {
            for bit in 0..8 {
                let mut c = (*cert).clone();
                c.r[byte] ^= 1 << bit;
                let mut d = (*cert).clone();
                d.s[byte] ^= 1 << bit;
                for c in [c, d] {
                    let ui = Ui {
                        counter: 1,
                        cert: Certificate::Tpm(Box::new(c)),
                    };
                    assert!(verifier.verify_ui(0, &ui, MESSAGE).is_err());
                    flipped += 1;
                }
            }
        }
        for bit in 0..64 {
            let mut c = (*cert).clone();
            match bit % 4 {
                0 => c.clock ^= 1 << bit,
                1 => c.firmware_version ^= 1 << bit,
                2 => c.reset_count ^= 1 << (bit % 32),
                _ => c.restart_count ^= 1 << (bit % 32),
            }
            let ui = Ui {
                counter: 1,
                cert: Certificate::Tpm(Box::new(c)),
            };
            assert!(verifier.verify_ui(0, &ui, MESSAGE).is_err());
            flipped += 1;
        }
        let mut c = (*cert).clone();
        c.safe = !c.safe;
        let ui = Ui {
            counter: 1,
            cert: Certificate::Tpm(Box::new(c)),
        };
        assert!(verifier.verify_ui(0, &ui, MESSAGE).is_err());
        assert_eq!(flipped, 512 + 64);
    }

    #[test]
    fn every_bit_flip_of_the_attestation_is_rejected() {
        let (attest, r, s) = honest();
        let id = identity();
        for i in 0..attest.len() * 8 {
            let mut a = attest.clone();
            a[i / 8] ^= 1 << (i % 8);
            assert!(
                id.check_attestation(1, MESSAGE, &a, &r, &s).is_err(),
                "bit {i}"
            );
        }
        // Exclusivity alone: flipping exclusiveSession to 0 is caught before the signature.
        let mut a = attest.clone();
        a[ATTEST_LEN - 35] = 0;
        assert_eq!(
            id.check_attestation(1, MESSAGE, &a, &r, &s),
            Err(Rejection::NotExclusive)
        );
    }

    #[test]
    fn attack_a_second_attestation_of_a_chain_is_not_exclusive() {
        // Notes, attack A: same session digest, signed by the TPM, but exclusiveSession 0.
        let (a, r, s) = (unhex(ATTEST_A), unhex_n(R_A), unhex_n(S_A));
        let parsed = SessionAuditAttest::parse(&a).unwrap();
        assert_eq!(
            parsed.session_digest,
            SessionAuditAttest::parse(&unhex(ATTEST))
                .unwrap()
                .session_digest
        );
        assert_eq!(parsed.exclusive_session, 0);
        assert_eq!(
            identity().check_attestation(1, MESSAGE_A, &a, &r, &s),
            Err(Rejection::NotExclusive)
        );
        // The TPM did sign it: only the exclusivity check stands in the way.
        let sig = signature(&r, &s).unwrap();
        assert!(identity().verifying_key().unwrap().verify(&a, &sig).is_ok());
    }

    #[test]
    fn high_s_certificates_are_not_accepted_twice() {
        // The TPM may return high s; create normalizes, verify accepts only low s, so a
        // third party cannot mint a second certificate for the same UI.
        let verifier = TpmVerifier::new(&keys()).unwrap();
        let Certificate::Tpm(cert) = honest_ui().cert else {
            unreachable!()
        };
        let sig = signature(&cert.r, &cert.s).unwrap();
        let (_, s_high) = {
            let neg = Signature::from_scalars(sig.r(), -*sig.s()).unwrap();
            let bytes = neg.to_bytes();
            (bytes, <[u8; 32]>::try_from(&bytes[32..]).unwrap())
        };
        let mut high = (*cert).clone();
        high.s = s_high;
        let ui = Ui {
            counter: 1,
            cert: Certificate::Tpm(Box::new(high)),
        };
        assert!(verifier.verify_ui(0, &ui, MESSAGE).is_err());
    }

    #[test]
    fn malformed_attestations_are_errors_at_every_length() {
        let (attest, r, s) = honest();
        for len in 0..attest.len() {
            assert!(SessionAuditAttest::parse(&attest[..len]).is_err(), "{len}");
            assert!(
                identity()
                    .check_attestation(1, MESSAGE, &attest[..len], &r, &s)
                    .is_err()
            );
        }
        let mut long = attest.clone();
        long.push(0);
        assert_eq!(
            SessionAuditAttest::parse(&long),
            Err(ParseError::TrailingBytes(1))
        );
        let mut huge = attest.clone();
        huge[6] = 0xff;
        assert_eq!(
            SessionAuditAttest::parse(&huge),
            Err(ParseError::Oversized("qualifiedSigner"))
        );
        let mut quote = attest;
        quote[5] = 0x18;
        assert_eq!(
            SessionAuditAttest::parse(&quote),
            Err(ParseError::WrongType(0x8018))
        );
    }

    #[test]
    fn identities_round_trip_through_key_files_and_old_files_still_load() {
        let keys = keys();
        let text = keys.public_only().to_toml();
        assert!(text.contains("[[tpm]]"), "{text}");
        let back = KeySet::from_toml(&text).unwrap();
        assert_eq!(back.tpm_identity(0), Some(&identity()));
        let without = KeySet::from_seed(3, 5).to_toml();
        assert!(!without.contains("tpm"));
        assert_eq!(KeySet::from_toml(&without).unwrap().tpm_identity(0), None);
        let bad = text.replace(KEY, &KEY.replace("04", "05"));
        assert!(KeySet::from_toml(&bad).unwrap_err().contains("tpm key"));
    }
}
