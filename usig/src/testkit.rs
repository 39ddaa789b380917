//! One conformance check of the paper §2 USIG interface, shared by every backend's unit
//! tests so that all backends are held to exactly the same contract.

use crate::{Certificate, ReplicaId, Ui, Usig, UsigError};

/// A certificate of every kind, for "wrong kind" checks.
pub(crate) fn one_of_each_kind() -> [Certificate; 4] {
    [
        Certificate::HmacSha1([7; 20]),
        Certificate::HmacSha256([7; 32]),
        Certificate::Ed25519([7; 64]),
        Certificate::Symbolic(7),
    ]
}

/// Checks the USIG contract on a group of `replica_count` instances made by `make`.
pub(crate) fn conformance<U: Usig>(replica_count: u32, make: impl Fn(ReplicaId) -> U) {
    assert!(replica_count >= 3, "the checks need three replicas");
    let mut a = make(0);
    let b = make(1);
    let c = make(2);
    assert_eq!((a.id(), b.id()), (0, 1));
    assert_eq!(a.last_counter(), 0);

    // Paper §2: createUI's counter readings are 1, 2, 3, ... (unique, monotonic, sequential).
    let messages: [&[u8]; 4] = [b"PREPARE 1", b"PREPARE 2", b"", &[0xff; 300]];
    let uis: Vec<Ui> = messages.iter().map(|m| a.create_ui(m).unwrap()).collect();
    assert_eq!(
        uis.iter().map(|ui| ui.counter).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(a.last_counter(), 4);

    for (ui, m) in uis.iter().zip(messages) {
        // Round trip: every replica, the signer included, accepts the UI for its message.
        for verifier in [&a, &b, &c] {
            assert_eq!(verifier.verify_ui(0, ui, m), Ok(()));
        }
        // Wrong message.
        assert!(matches!(
            b.verify_ui(0, ui, b"PREPARE 3"),
            Err(UsigError::BadCertificate {
                signer: 0,
                counter: _
            })
        ));
        // Wrong signer: A's UI is not B's, whoever checks it.
        assert!(matches!(
            c.verify_ui(1, ui, m),
            Err(UsigError::BadCertificate { signer: 1, .. })
        ));
        // Same certificate, another counter value.
        let moved = Ui {
            counter: ui.counter + 1,
            cert: ui.cert.clone(),
        };
        assert!(b.verify_ui(0, &moved, m).is_err());
    }

    // Unknown signers are errors, not panics.
    for signer in [replica_count, replica_count + 1, ReplicaId::MAX] {
        assert_eq!(
            b.verify_ui(signer, &uis[0], messages[0]),
            Err(UsigError::UnknownSigner(signer))
        );
    }

    // A certificate of another backend's kind.
    let own_kind = uis[0].cert.kind();
    for cert in one_of_each_kind() {
        if cert.kind() == own_kind {
            continue;
        }
        let ui = Ui { counter: 1, cert };
        assert!(matches!(
            b.verify_ui(0, &ui, messages[0]),
            Err(UsigError::WrongCertificateKind { found, .. }) if found == ui.cert.kind()
        ));
    }
}
