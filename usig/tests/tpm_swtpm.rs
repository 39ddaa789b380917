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

/// Runs `program args` and returns its stdout, or `None` if the program is not installed.
fn run_tool(program: &str, args: &[&str], tcti: &str) -> Option<std::process::Output> {
    match std::process::Command::new(program)
        .args(args)
        .env("TPM2TOOLS_TCTI", tcti)
        .env("TSS2_LOG", "all+none")
        .output()
    {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("running {program}: {e}"),
    }
}

/// The value after `label` on a line of tpm2-tools' YAML output.
fn yaml_value(out: &std::process::Output, label: &str) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
        .trim()
        .to_string()
}

/// One UI checked with tools that share nothing with this crate: tpm2-tools exports the
/// key (PEM) and reads the names from the TPM, scripts/verify-tpm-ui.py rebuilds the
/// attestation and the audit digest with Python's hashlib, openssl checks the signature.
/// Skipped, with the reason printed, if one of those programs is missing.
#[test]
fn one_ui_verifies_with_tpm2_tools_python_and_openssl() {
    let tpm = Swtpm::start();
    let tcti = tpm.tcti();
    let dir = tempfile::tempdir().unwrap();
    let message = b"PREPARE v=0 n=1 independent".to_vec();
    let config = TpmConfig::new(tcti.clone());
    let (identity, ui) = within(60, {
        let (config, message) = (config.clone(), message.clone());
        move || {
            let identity = provision(&config).unwrap();
            let keys = group_with(identity.clone());
            let mut usig = TpmUsig::open(0, &keys, &config).unwrap();
            usig.create_ui(b"an earlier message").unwrap();
            let ui = usig.create_ui(&message).unwrap();
            // The connection closes here: swtpm serves one client at a time.
            (identity, ui)
        }
    });
    assert_eq!(ui.counter, 2);
    let Certificate::Tpm(cert) = &ui.cert else {
        panic!("a {} certificate", ui.cert.kind())
    };

    let key_pem = dir.path().join("key.pem");
    let key_handle = format!("{:#010x}", config.key_handle);
    let Some(public) = run_tool(
        "tpm2_readpublic",
        &[
            "-c",
            &key_handle,
            "-f",
            "pem",
            "-o",
            key_pem.to_str().unwrap(),
        ],
        &tcti,
    ) else {
        eprintln!("SKIPPED: tpm2-tools is not installed (scripts/setup installs it)");
        return;
    };
    assert!(public.status.success(), "{public:?}");
    let signer_name = yaml_value(&public, "qualified name:");
    let nv_public = run_tool(
        "tpm2_nvreadpublic",
        &[&format!("{:#x}", config.nv_index)],
        &tcti,
    )
    .unwrap();
    assert!(nv_public.status.success(), "{nv_public:?}");
    let nv_name = yaml_value(&nv_public, "name:");
    // The names tpm2-tools read from the TPM are the ones provisioning recorded.
    assert_eq!(
        (signer_name.as_str(), nv_name.as_str()),
        (
            hex(&identity.signer_name).as_str(),
            hex(&identity.nv_name).as_str()
        )
    );

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/verify-tpm-ui.py");
    let check = |name: &str, message: &[u8], counter: u64| {
        let ui_json = dir.path().join(name);
        let json = format!(
            "{{\"message_hex\": \"{}\", \"counter\": {counter}, \"counter_base\": {}, \
             \"r\": \"{}\", \"s\": \"{}\", \"clock\": {}, \"reset_count\": {}, \
             \"restart_count\": {}, \"safe\": {}, \"firmware_version\": {}}}",
            hex(message),
            identity.counter_base,
            hex(&cert.r),
            hex(&cert.s),
            cert.clock,
            cert.reset_count,
            cert.restart_count,
            cert.safe,
            cert.firmware_version
        );
        std::fs::write(&ui_json, json).unwrap();
        let args = [
            script,
            ui_json.to_str().unwrap(),
            key_pem.to_str().unwrap(),
            &signer_name,
            &nv_name,
        ];
        run_tool("python3", &args, &tcti)
    };
    let Some(good) = check("ui.json", &message, ui.counter) else {
        eprintln!("SKIPPED: python3 is not installed (scripts/setup installs it)");
        return;
    };
    let stdout = String::from_utf8_lossy(&good.stdout);
    let stderr = String::from_utf8_lossy(&good.stderr);
    if good.status.code() == Some(3) {
        eprintln!("SKIPPED: {stderr}");
        return;
    }
    assert!(
        good.status.success() && stdout.starts_with("VERIFIED"),
        "{stdout}{stderr}"
    );
    // The independent check can fail: another message or another counter value.
    for (name, m, c) in [
        ("other-message.json", &b"PREPARE v=0 n=1 independenT"[..], 2),
        ("other-counter.json", &message[..], 1),
        ("other-counter-2.json", &message[..], 3),
    ] {
        let out = check(name, m, c).unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{name}: {stdout}");
        assert!(stdout.starts_with("NOT VERIFIED"), "{name}: {stdout}");
    }
    drop(tpm);
}

#[test]
fn tpm_properties_report_the_manufacturer_in_order() {
    let tpm = Swtpm::start();
    let tcti = tpm.tcti();
    within(30, move || {
        let mut esys = Esys::connect(&tcti).unwrap();
        // TPM_PT_MANUFACTURER of swtpm (libtpms): "IBM\0".
        assert_eq!(
            esys.tpm_properties(0x105, 1).unwrap(),
            vec![(0x105, 0x4942_4d00)]
        );
        // Several at once, in order, from the first one asked for.
        let props = esys.tpm_properties(0x105, 8).unwrap();
        assert!(props.len() <= 8 && props.first().map(|p| p.0) == Some(0x105));
        assert!(props.windows(2).all(|w| w[0].0 < w[1].0), "{props:?}");
    });
    drop(tpm);
}
