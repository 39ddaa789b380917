//! Property tests of the USIG guarantees of paper §2, for every backend: identifiers are
//! unique, monotonic and sequential; a certificate binds signer, counter and message, so
//! any single-bit change is caught; and nobody's UI passes for another replica's.

use minlab_usig::{AnyUsig, Certificate, KeySet, ReplicaId, Ui, Usig, UsigError, UsigKind};
use proptest::prelude::*;

const REPLICAS: u32 = 4;

fn keys() -> KeySet {
    KeySet::from_seed(REPLICAS, 0x5eed)
}

fn kind() -> impl Strategy<Value = UsigKind> {
    prop::sample::select(UsigKind::ALL.to_vec())
}

fn message() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..300)
}

/// The certificate's bytes, and a certificate rebuilt from (possibly changed) bytes.
fn cert_bytes(cert: &Certificate) -> Vec<u8> {
    match cert {
        Certificate::HmacSha1(t) => t.to_vec(),
        Certificate::HmacSha256(t) => t.to_vec(),
        Certificate::Ed25519(s) => s.to_vec(),
        Certificate::Symbolic(d) => d.to_le_bytes().to_vec(),
        Certificate::Tpm(c) => [c.r, c.s].concat(),
    }
}

fn with_cert_bytes(cert: &Certificate, bytes: &[u8]) -> Certificate {
    fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
        bytes.try_into().expect("same length as the original")
    }
    match cert {
        Certificate::HmacSha1(_) => Certificate::HmacSha1(array(bytes)),
        Certificate::HmacSha256(_) => Certificate::HmacSha256(array(bytes)),
        Certificate::Ed25519(_) => Certificate::Ed25519(array(bytes)),
        Certificate::Symbolic(_) => Certificate::Symbolic(u64::from_le_bytes(array(bytes))),
        Certificate::Tpm(c) => {
            let mut c = c.clone();
            c.r = array(&bytes[..32]);
            c.s = array(&bytes[32..]);
            Certificate::Tpm(c)
        }
    }
}

/// Where a single bit is flipped.
#[derive(Clone, Debug)]
enum Flip {
    Counter(u32),
    Cert(usize),
    Message(usize),
}

fn flip() -> impl Strategy<Value = Flip> {
    prop_oneof![
        (0u32..64).prop_map(Flip::Counter),
        any::<usize>().prop_map(Flip::Cert),
        any::<usize>().prop_map(Flip::Message),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Paper §2: the UIs one USIG hands out are 1, 2, 3, ... in call order, hence unique,
    /// monotonic and sequential; and every one verifies at every replica.
    #[test]
    fn identifiers_are_unique_monotonic_and_sequential(
        kind in kind(),
        signer in 0..REPLICAS,
        messages in prop::collection::vec(message(), 1..24),
    ) {
        let keys = keys();
        let mut usig = AnyUsig::new(kind, signer, &keys).unwrap();
        let verifier = AnyUsig::new(kind, (signer + 1) % REPLICAS, &keys).unwrap();
        for (i, m) in messages.iter().enumerate() {
            let ui = usig.create_ui(m).unwrap();
            prop_assert_eq!(ui.counter, i as u64 + 1);
            prop_assert_eq!(usig.last_counter(), ui.counter);
            prop_assert_eq!(verifier.verify_ui(signer, &ui, m), Ok(()));
        }
    }

    /// Any single bit flipped in the counter, the certificate or the message makes
    /// verification fail.
    #[test]
    fn any_single_bit_flip_is_detected(
        kind in kind(),
        m in message(),
        skip in 0usize..3,
        flip in flip(),
    ) {
        let keys = keys();
        let mut usig = AnyUsig::new(kind, 0, &keys).unwrap();
        let verifier = AnyUsig::new(kind, 1, &keys).unwrap();
        for _ in 0..skip {
            usig.create_ui(b"earlier").unwrap();
        }
        let ui = usig.create_ui(&m).unwrap();
        let (ui2, m2) = match flip {
            Flip::Counter(bit) => (Ui { counter: ui.counter ^ (1 << bit), ..ui.clone() }, m.clone()),
            Flip::Cert(i) => {
                let mut bytes = cert_bytes(&ui.cert);
                let bit = i % (bytes.len() * 8);
                bytes[bit / 8] ^= 1 << (bit % 8);
                (Ui { counter: ui.counter, cert: with_cert_bytes(&ui.cert, &bytes) }, m.clone())
            }
            Flip::Message(i) => {
                prop_assume!(!m.is_empty());
                let mut m2 = m.clone();
                let bit = i % (m.len() * 8);
                m2[bit / 8] ^= 1 << (bit % 8);
                (ui.clone(), m2)
            }
        };
        prop_assert_eq!(verifier.verify_ui(0, &ui, &m), Ok(()));
        prop_assert!(verifier.verify_ui(0, &ui2, &m2).is_err());
    }

    /// A UI created by replica A never verifies as replica B's, at any replica.
    #[test]
    fn a_ui_never_passes_for_another_replica(
        kind in kind(),
        a in 0..REPLICAS,
        b in 0..REPLICAS,
        at in 0..REPLICAS,
        m in message(),
    ) {
        prop_assume!(a != b);
        let keys = keys();
        let mut usig = AnyUsig::new(kind, a, &keys).unwrap();
        let ui = usig.create_ui(&m).unwrap();
        let verifier = AnyUsig::new(kind, at, &keys).unwrap();
        prop_assert_eq!(verifier.verify_ui(a, &ui, &m), Ok(()));
        let as_b = verifier.verify_ui(b, &ui, &m);
        prop_assert!(
            matches!(as_b, Err(UsigError::BadCertificate { signer, .. }) if signer == b),
            "{as_b:?}"
        );
    }

    /// Untrusted UIs (arbitrary counter, certificate and claimed signer) give an error or,
    /// astronomically rarely, success; never a panic.
    #[test]
    fn arbitrary_uis_never_panic(
        kind in kind(),
        signer in any::<ReplicaId>(),
        counter in any::<u64>(),
        bytes in prop::collection::vec(any::<u8>(), 64),
        which in 0usize..4,
        m in message(),
    ) {
        let keys = keys();
        let verifier = AnyUsig::new(kind, 0, &keys).unwrap();
        let cert = [
            Certificate::HmacSha1([0; 20]),
            Certificate::HmacSha256([0; 32]),
            Certificate::Ed25519([0; 64]),
            Certificate::Symbolic(0),
        ][which].clone();
        let len = cert.len();
        let ui = Ui { counter, cert: with_cert_bytes(&cert, &bytes[..len]) };
        let result = verifier.verify_ui(signer, &ui, &m);
        if signer >= REPLICAS && ui.cert.kind() == kind.name() {
            prop_assert_eq!(result, Err(UsigError::UnknownSigner(signer)));
        } else {
            prop_assert!(result.is_err());
        }
    }
}
