//! Key files on disk: what is saved loads back identically, with owner-only permissions,
//! and every kind of damage or mismatch is an error that names the file and the problem.

use minlab_usig::{Ed25519Usig, HmacSha1Usig, KeySet, Usig, UsigError};
use proptest::prelude::*;
use std::path::Path;

fn reason_of(result: Result<KeySet, UsigError>, path: &Path) -> String {
    match result {
        Err(UsigError::KeyFile { path: p, reason }) => {
            assert_eq!(p, path.display().to_string());
            reason
        }
        other => panic!("expected a key file error, got {other:?}"),
    }
}

#[test]
fn every_share_round_trips_and_works() {
    let dir = tempfile::tempdir().unwrap();
    let keys = KeySet::generate(3).unwrap();
    for r in 0..3 {
        let path = dir.path().join(format!("replica-{r}.toml"));
        keys.for_replica(r).save(&path).unwrap();
        let loaded = KeySet::load(&path).unwrap();
        assert_eq!(loaded, keys.for_replica(r));
        assert!(loaded.ed25519_secret(r).is_some());
        assert!(loaded.ed25519_secret((r + 1) % 3).is_none());
    }
    let client = dir.path().join("client.toml");
    keys.public_only().save(&client).unwrap();
    assert_eq!(KeySet::load(&client).unwrap(), keys.public_only());

    // Loaded shares interoperate: replica 0 signs, replica 2 and a client verify.
    let r0 = KeySet::load(dir.path().join("replica-0.toml")).unwrap();
    let r2 = KeySet::load(dir.path().join("replica-2.toml")).unwrap();
    let mut signer = Ed25519Usig::new(0, &r0).unwrap();
    let ui = signer.create_ui(b"m").unwrap();
    assert_eq!(
        Ed25519Usig::new(2, &r2).unwrap().verify_ui(0, &ui, b"m"),
        Ok(())
    );
    let client = Ed25519Usig::verifier(&KeySet::load(&client).unwrap()).unwrap();
    assert_eq!(client.verify_ui(0, &ui, b"m"), Ok(()));
    let mut hmac = HmacSha1Usig::new(0, &r0).unwrap();
    let ui = hmac.create_ui(b"m").unwrap();
    assert_eq!(
        HmacSha1Usig::new(2, &r2).unwrap().verify_ui(0, &ui, b"m"),
        Ok(())
    );
}

#[cfg(unix)]
#[test]
fn saved_files_are_owner_only_even_when_replacing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.toml");
    std::fs::write(&path, "old").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    KeySet::from_seed(3, 1).save(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn missing_or_unwritable_paths_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    assert!(reason_of(KeySet::load(&missing), &missing).contains("reading"));
    let in_missing_dir = dir.path().join("no-dir").join("k.toml");
    assert!(matches!(
        KeySet::from_seed(3, 1).save(&in_missing_dir),
        Err(UsigError::KeyFile { .. })
    ));
}

/// A valid file's text with `from` replaced by `to` (exactly once).
fn edited(keys: &KeySet, from: &str, to: &str) -> String {
    let text = keys.to_toml();
    assert_eq!(text.matches(from).count(), 1, "{from:?} in\n{text}");
    text.replace(from, to)
}

fn hmac_hex(text: &str, i: usize) -> String {
    let line = text.lines().find(|l| l.starts_with("hmac")).unwrap();
    line.split('"').nth(2 * i + 1).unwrap().to_string()
}

#[test]
fn each_kind_of_bad_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let keys = KeySet::from_seed(3, 5);
    let share = keys.for_replica(1);
    let text = share.to_toml();
    let h1 = hmac_hex(&text, 1);
    let pub_line = text
        .lines()
        .find(|l| l.starts_with("ed25519_public"))
        .unwrap()
        .to_string();
    let pub0 = pub_line.split('"').nth(1).unwrap().to_string();
    let pub1 = pub_line.split('"').nth(3).unwrap().to_string();
    let secret_line = text.lines().find(|l| l.starts_with("key = ")).unwrap();

    let cases: Vec<(String, &str)> = vec![
        ("not toml at all [[".into(), "not a valid key file"),
        (
            edited(
                &share,
                "format = \"minlab-usig-keys v1\"",
                "format = \"v0\"",
            ),
            "format",
        ),
        (
            edited(&share, &h1, &format!("g{}", &h1[1..])),
            "hmac[1]: invalid hex digit 'g' at position 0",
        ),
        (
            edited(&share, &h1, &h1[..60]),
            "hmac[1]: 60 hex digits, expected 64",
        ),
        (
            edited(&share, "replica_count = 3", "replica_count = 4"),
            "replica_count is 4",
        ),
        (
            edited(&share, "replica_count = 3", "replica_count = 0"),
            "at least 1",
        ),
        (
            edited(&share, &format!("\"{h1}\", "), ""),
            "hmac lists 2 keys",
        ),
        (
            edited(&share, &format!("\"{pub0}\", "), ""),
            "ed25519_public lists 2 keys",
        ),
        // Replica 1's secret presented as replica 0's.
        (
            edited(&share, "replica = 1", "replica = 0"),
            "does not match ed25519_public[0]",
        ),
        (
            edited(&share, "replica = 1", "replica = 7"),
            "replica 7, but replica_count is 3",
        ),
        (
            edited(&share, &pub1, &pub0),
            "does not match ed25519_public[1]",
        ),
        (
            format!("{text}\n[[ed25519_secret]]\nreplica = 1\n{secret_line}\n"),
            "listed twice",
        ),
        (format!("{text}\nextra = 1\n"), "unknown field"),
        (
            edited(&share, "replica_count = 3", "replica_count = -3"),
            "not a valid key file",
        ),
    ];
    for (contents, expected) in cases {
        std::fs::write(&path, &contents).unwrap();
        let reason = reason_of(KeySet::load(&path), &path);
        assert!(
            reason.contains(expected),
            "{reason:?} lacks {expected:?} for\n{contents}"
        );
    }

    // A public key that is not a curve point at all. About half of all 32-byte strings
    // fail to decompress; find one deterministically.
    let bad_point = (0u8..=255)
        .map(|b| [b; 32])
        .find(|k| ed25519_dalek::VerifyingKey::from_bytes(k).is_err())
        .unwrap();
    let hex: String = bad_point.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&path, edited(&keys.public_only(), &pub0, &hex)).unwrap();
    let reason = reason_of(KeySet::load(&path), &path);
    assert!(
        reason.contains("ed25519_public[0]: not a valid Ed25519 public key"),
        "{reason}"
    );

    // A syntax error on a secret's line: the error gives the line, not the secret.
    let secret_hex = secret_line.split('"').nth(1).unwrap();
    std::fs::write(
        &path,
        text.replace(secret_line, &format!("key = \"{secret_hex}")),
    )
    .unwrap();
    let reason = reason_of(KeySet::load(&path), &path);
    assert!(
        reason.contains("line ") && !reason.contains(secret_hex),
        "{reason}"
    );

    std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
    assert!(reason_of(KeySet::load(&path), &path).contains("UTF-8"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Arbitrary text is an error (or, never in practice, a valid key set); no panic.
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        prop_assert!(KeySet::from_toml(&text).is_err());
    }

    /// Any single byte of a valid file replaced: either still a consistent key set (the
    /// change hit a comment or whitespace) or an error.
    #[test]
    fn mutated_files_load_or_fail_cleanly(seed in any::<u64>(), at in any::<usize>(), byte in 0x20u8..0x7f) {
        let keys = KeySet::from_seed(3, seed).for_replica(0);
        let mut text = keys.to_toml().into_bytes();
        let i = at % text.len();
        text[i] = byte;
        let Ok(text) = String::from_utf8(text) else { return Ok(()) };
        if let Ok(loaded) = KeySet::from_toml(&text) {
            // Whatever loads is internally consistent: a USIG can be built from it.
            prop_assert_eq!(loaded.replica_count(), 3);
            for r in 0..3 {
                prop_assert!(HmacSha1Usig::new(r, &loaded).is_ok());
            }
        }
    }
}
