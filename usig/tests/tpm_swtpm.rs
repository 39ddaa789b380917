//! The TPM 2.0 USIG against swtpm: provisioning, UIs in a row, verification without a TPM,
//! the interleaving attacks of shared/notes/tpm2-usig-experiment.md, and a power cycle.
#![cfg(feature = "tpm")]
// These tests drive a real swtpm process: wall-clock timeouts and timings are the point.
#![allow(clippy::disallowed_methods)]

mod tpm_support;

use minlab_usig::tpm::attest::message_digest;
use minlab_usig::tpm::esys::{
    AUDIT, AUDIT_EXCLUSIVE, AUDIT_RESET, CONTINUE_SESSION, ENCRYPT, Esys, NO_SESSION,
};
use minlab_usig::tpm::{Rejection, Step, TpmConfig, TpmIdentity, provision};
use minlab_usig::{Certificate, KeySet, TpmUsig, TpmVerifier, Ui, Usig, UsigError};
use std::time::Instant;
use tpm_support::{Swtpm, within};

/// Replica 0 of a 3-replica group has the TPM; the others' keys are seed-derived.
fn group_with(identity: TpmIdentity) -> KeySet {
    let mut keys = KeySet::from_seed(3, 9);
    keys.set_tpm_identity(0, identity).unwrap();
    keys
}

#[test]
fn twenty_uis_in_a_row_are_sequential_and_verify_without_a_tpm() {
    let tpm = Swtpm::start();
    let tcti = tpm.tcti();
    within(120, move || {
        let config = TpmConfig::new(tcti);
        let identity = provision(&config).unwrap();
        // Provisioning again reuses the key and counter: same key, same names.
        let again = provision(&config).unwrap();
        assert_eq!(
            (again.key_sec1, again.signer_name, again.nv_name),
            (identity.key_sec1, identity.signer_name, identity.nv_name)
        );
        let keys = group_with(identity);
        let mut usig = TpmUsig::open(0, &keys, &config).unwrap();
        assert_eq!(usig.last_counter(), 0);

        // A client holding only the public key file.
        let client_keys = KeySet::from_toml(&keys.public_only().to_toml()).unwrap();
        let client = TpmVerifier::new(&client_keys).unwrap();

        let messages: Vec<Vec<u8>> = (0..20)
            .map(|i| format!("PREPARE {i}").into_bytes())
            .collect();
        let started = Instant::now();
        let uis: Vec<Ui> = messages
            .iter()
            .map(|m| usig.create_ui(m).unwrap())
            .collect();
        let create = started.elapsed() / 20;
        // Paper §2: unique, monotonic, sequential: 1, 2, ..., 20.
        assert_eq!(
            uis.iter().map(|u| u.counter).collect::<Vec<_>>(),
            (1..=20).collect::<Vec<_>>()
        );
        assert_eq!(usig.last_counter(), 20);

        let started = Instant::now();
        for (ui, m) in uis.iter().zip(&messages) {
            client.verify_ui(0, ui, m).unwrap();
        }
        let verify = started.elapsed() / 20;
        eprintln!(
            "swtpm: create_ui {create:?} per UI, verify_ui {verify:?} per UI ({} build)",
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
        );

        for (ui, m) in uis.iter().zip(&messages) {
            assert_eq!(ui.cert.kind(), "tpm");
            // Another message, another counter value, another signer: all rejected.
            assert!(matches!(
                client.verify_ui(0, ui, b"PREPARE x"),
                Err(UsigError::BadCertificate { .. })
            ));
            let moved = Ui {
                counter: ui.counter + 1,
                cert: ui.cert.clone(),
            };
            assert!(matches!(
                client.verify_ui(0, &moved, m),
                Err(UsigError::BadCertificate { .. })
            ));
            assert!(matches!(
                client.verify_ui(1, ui, m),
                Err(UsigError::MissingKey { replica: 1, .. })
            ));
            assert_eq!(client.verify_ui(3, ui, m), Err(UsigError::UnknownSigner(3)));
            assert!(usig.verify_ui(0, ui, m).is_ok());
        }
    });
}

/// Opens raw handles to the provisioned key and counter, and a fresh audit session.
fn raw(config: &TpmConfig) -> (Esys, u32, u32, u32) {
    let mut esys = Esys::connect(&config.tcti).unwrap();
    let key = esys.tr_from_public(config.key_handle).unwrap();
    let nv = esys.tr_from_public(config.nv_index).unwrap();
    let s = esys.start_hmac_session(false).unwrap();
    (esys, key, nv, s)
}

/// The USIG chain step by step, with `between` called after the increment.
fn chain(
    esys: &mut Esys,
    nv: u32,
    s: u32,
    mut between: impl FnMut(&mut Esys),
) -> Result<(u64, u64), UsigError> {
    esys.set_session_attributes(s, AUDIT | CONTINUE_SESSION | AUDIT_RESET)?;
    let v = esys.nv_read(nv, s)?;
    esys.set_session_attributes(s, AUDIT | CONTINUE_SESSION)?;
    esys.nv_increment(nv, s)?;
    between(esys);
    let w = esys.nv_read(nv, s)?;
    Ok((v, w))
}

#[test]
fn interleaving_attacks_yield_no_valid_ui() {
    let tpm = Swtpm::start();
    let tcti = tpm.tcti();
    within(120, move || {
        let config = TpmConfig::new(tcti);
        let identity = provision(&config).unwrap();
        let base = identity.counter_base;
        let (mut esys, key, nv, s) = raw(&config);

        // Honest chain: verifies.
        let (v, _) = chain(&mut esys, nv, s, |_| {}).unwrap();
        let (attest, r, sig) = esys
            .session_audit_digest(key, s, &message_digest(b"m1"))
            .unwrap();
        let counter = v + 1 - base;
        identity
            .check_attestation(counter, b"m1", &attest, &r, &sig)
            .unwrap();

        // Attack A: a second attestation of the same chain for another message.
        let (attest, r, sig) = esys
            .session_audit_digest(key, s, &message_digest(b"m2"))
            .unwrap();
        assert_eq!(
            identity.check_attestation(counter, b"m2", &attest, &r, &sig),
            Err(Rejection::NotExclusive)
        );

        // Attack C: another command between the increment and the re-read.
        let (v, w) = chain(&mut esys, nv, s, |e| {
            e.get_random(8).unwrap();
        })
        .unwrap();
        assert_eq!(w, v + 1);
        let (attest, r, sig) = esys
            .session_audit_digest(key, s, &message_digest(b"m3"))
            .unwrap();
        assert_eq!(
            identity.check_attestation(v + 1 - base, b"m3", &attest, &r, &sig),
            Err(Rejection::NotExclusive)
        );

        // With auditExclusive the TPM refuses the command outright (TPM_RC_EXCLUSIVE).
        esys.set_session_attributes(s, AUDIT | CONTINUE_SESSION | AUDIT_RESET)
            .unwrap();
        esys.nv_read(nv, s).unwrap();
        esys.get_random(8).unwrap();
        esys.set_session_attributes(s, AUDIT | CONTINUE_SESSION | AUDIT_EXCLUSIVE)
            .unwrap();
        assert!(matches!(
            esys.nv_increment(nv, s),
            Err(UsigError::Tpm { rc: 0x121, .. })
        ));

        // Attack B': two sessions read the same v; S2 completes an exclusive chain, then S1
        // increments too. S1's attestation is not exclusive (and its re-read is v + 2).
        let s2 = esys.start_hmac_session(false).unwrap();
        esys.set_session_attributes(s, AUDIT | CONTINUE_SESSION | AUDIT_RESET)
            .unwrap();
        let v1 = esys.nv_read(nv, s).unwrap();
        let (v2, _) = chain(&mut esys, nv, s2, |_| {}).unwrap();
        assert_eq!(v1, v2);
        let (attest, r, sig) = esys
            .session_audit_digest(key, s2, &message_digest(b"S2"))
            .unwrap();
        identity
            .check_attestation(v2 + 1 - base, b"S2", &attest, &r, &sig)
            .unwrap();
        esys.set_session_attributes(s, AUDIT | CONTINUE_SESSION)
            .unwrap();
        esys.nv_increment(nv, s).unwrap();
        esys.nv_read(nv, s).unwrap();
        let (attest, r, sig) = esys
            .session_audit_digest(key, s, &message_digest(b"S1"))
            .unwrap();
        assert_eq!(
            identity.check_attestation(v1 + 1 - base, b"S1", &attest, &r, &sig),
            Err(Rejection::NotExclusive)
        );

        // Response encryption on the first read: the TPM audits the ciphertext, so the
        // chain no longer matches the plaintext values (why the chain re-reads).
        let enc = esys.start_hmac_session(true).unwrap();
        esys.set_session_attributes(enc, AUDIT | CONTINUE_SESSION | AUDIT_RESET | ENCRYPT)
            .unwrap();
        let v = esys.nv_read(nv, enc).unwrap();
        esys.set_session_attributes(enc, AUDIT | CONTINUE_SESSION | AUDIT_EXCLUSIVE)
            .unwrap();
        esys.nv_increment(nv, enc).unwrap();
        assert_eq!(esys.nv_read(nv, enc).unwrap(), v + 1);
        let (attest, r, sig) = esys
            .session_audit_digest(key, enc, &message_digest(b"E"))
            .unwrap();
        assert_eq!(
            identity.check_attestation(v + 1 - base, b"E", &attest, &r, &sig),
            Err(Rejection::WrongChain)
        );
        let _ = NO_SESSION;
    });
}

#[test]
fn create_ui_starts_over_when_a_command_interleaves() {
    let tpm = Swtpm::start();
    let tcti = tpm.tcti();
    within(120, move || {
        let config = TpmConfig::new(tcti);
        let keys = group_with(provision(&config).unwrap());
        let verifier = TpmVerifier::new(&keys).unwrap();
        let mut usig = TpmUsig::open(0, &keys, &config).unwrap();
        assert_eq!(usig.create_ui(b"a").unwrap().counter, 1);

        // Interference before the increment: refused, retried, no value spent.
        let mut once = true;
        let ui = usig
            .create_ui_with_hook(b"b", |step, esys| {
                if step == Step::AfterRead && std::mem::take(&mut once) {
                    esys.get_random(4).unwrap();
                }
            })
            .unwrap();
        assert_eq!(ui.counter, 2);
        verifier.verify_ui(0, &ui, b"b").unwrap();

        // Interference after the increment: the value is spent, the retry gets the next.
        let mut once = true;
        let ui = usig
            .create_ui_with_hook(b"c", |step, esys| {
                if step == Step::AfterIncrement && std::mem::take(&mut once) {
                    esys.get_random(4).unwrap();
                }
            })
            .unwrap();
        assert_eq!(ui.counter, 4);
        verifier.verify_ui(0, &ui, b"c").unwrap();

        // Interference before the attestation (no auditExclusive check left): caught by the
        // self-check, retried.
        let mut once = true;
        let ui = usig
            .create_ui_with_hook(b"d", |step, esys| {
                if step == Step::AfterReread && std::mem::take(&mut once) {
                    esys.get_random(4).unwrap();
                }
            })
            .unwrap();
        assert_eq!(ui.counter, 6);
        verifier.verify_ui(0, &ui, b"d").unwrap();

        // Interference on every attempt: create_ui gives up with an error, not a bad UI.
        let err = usig
            .create_ui_with_hook(b"e", |step, esys| {
                if step == Step::AfterRead {
                    esys.get_random(4).unwrap();
                }
            })
            .unwrap_err();
        assert!(matches!(err, UsigError::Tpm { rc: 0x121, .. }), "{err}");
        assert_eq!(usig.last_counter(), 6);
    });
}

#[test]
fn the_counter_survives_a_power_cycle() {
    let mut tpm = Swtpm::start();
    let tcti = tpm.tcti();
    let keys = within(60, move || {
        let config = TpmConfig::new(tcti);
        let keys = group_with(provision(&config).unwrap());
        let mut usig = TpmUsig::open(0, &keys, &config).unwrap();
        for expected in 1..=3 {
            assert_eq!(usig.create_ui(b"before").unwrap().counter, expected);
        }
        keys
    });
    tpm.restart();
    let tcti = tpm.tcti();
    within(60, move || {
        let config = TpmConfig::new(tcti);
        let mut usig = TpmUsig::open(0, &keys, &config).unwrap();
        assert_eq!(usig.last_counter(), 3);
        let ui = usig.create_ui(b"after").unwrap();
        assert_eq!(ui.counter, 4);
        assert!(matches!(ui.cert, Certificate::Tpm(_)));
        TpmVerifier::new(&keys)
            .unwrap()
            .verify_ui(0, &ui, b"after")
            .unwrap();
    });
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Prints the fixed vectors of `usig/src/tpm/testdata.rs` from a fresh swtpm run
/// (`cargo test -p minlab-usig --features tpm --test tpm_swtpm -- --ignored --nocapture`).
#[test]
#[ignore = "prints test vectors; run by hand"]
fn print_test_vectors() {
    let tpm = Swtpm::start();
    let config = TpmConfig::new(tpm.tcti());
    let identity = provision(&config).unwrap();
    let (mut esys, key, nv, s) = raw(&config);
    let (v, _) = chain(&mut esys, nv, s, |_| {}).unwrap();
    let (attest, r, sig) = esys
        .session_audit_digest(key, s, &message_digest(b"PREPARE v=0 n=1"))
        .unwrap();
    let (attest2, r2, sig2) = esys
        .session_audit_digest(key, s, &message_digest(b"PREPARE v=0 n=1'"))
        .unwrap();
    println!(
        "KEY {}\nSIGNER {}\nNV {}\nBASE {}\nV {v}",
        hex(&identity.key_sec1),
        hex(&identity.signer_name),
        hex(&identity.nv_name),
        identity.counter_base
    );
    println!("ATTEST {}\nR {}\nS {}", hex(&attest), hex(&r), hex(&sig));
    println!(
        "ATTEST_A {}\nR_A {}\nS_A {}",
        hex(&attest2),
        hex(&r2),
        hex(&sig2)
    );
}
