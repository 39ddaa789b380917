//! The durable counter across restarts and crashes: however an instance dies, no value is
//! ever handed out twice and every new instance starts above all earlier values; and a
//! damaged counter file is reported as corrupt, never trusted and never a panic.

use minlab_usig::counter::CrashPoint;
use minlab_usig::{Counter, DurableCounter, HmacSha1Usig, KeySet, Usig, UsigError};
use proptest::prelude::*;
use std::path::Path;

/// How one instance's life ends.
#[derive(Clone, Debug)]
enum Death {
    /// Dropped between two values (a clean shutdown or a crash outside a write).
    Dropped,
    /// Killed inside its next reservation write. With `rename_lost`, a crash at
    /// `BeforeDirSync` also loses the not-yet-durable rename, as a power cut may.
    InWrite { at: CrashPoint, rename_lost: bool },
    /// Killed inside the reservation write that `open` makes.
    InOpen { at: CrashPoint, rename_lost: bool },
}

fn death() -> impl Strategy<Value = Death> {
    let at = || prop::sample::select(CrashPoint::ALL.to_vec());
    prop_oneof![
        Just(Death::Dropped),
        (at(), any::<bool>()).prop_map(|(at, rename_lost)| Death::InWrite { at, rename_lost }),
        (at(), any::<bool>()).prop_map(|(at, rename_lost)| Death::InOpen { at, rename_lost }),
    ]
}

/// Undoes the rename of a crash at `BeforeDirSync` when the test says it was lost.
fn maybe_lose_rename(path: &Path, at: CrashPoint, rename_lost: bool, before: &Option<Vec<u8>>) {
    if at == CrashPoint::BeforeDirSync && rename_lost {
        match before {
            Some(bytes) => std::fs::write(path, bytes).unwrap(),
            None => std::fs::remove_file(path).unwrap(),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Kill the counter at random points, many times over one file: across all instances
    /// the values handed out are strictly increasing, so none is ever handed out twice.
    #[test]
    fn no_value_is_handed_out_twice_across_crashes(
        block in 1u64..6,
        lives in prop::collection::vec((0usize..15, death()), 1..12),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replica.counter");
        let mut handed_out: Vec<u64> = Vec::new();
        for (advances, death) in lives {
            let before = std::fs::read(&path).ok();
            if let Death::InOpen { at, rename_lost } = death {
                prop_assert!(DurableCounter::open_crashing(&path, block, at).is_err());
                maybe_lose_rename(&path, at, rename_lost, &before);
                continue;
            }
            let mut counter = DurableCounter::open(&path, block).unwrap();
            // Paper §2, monotonicity across restarts: resume above every earlier value.
            if let Some(&highest) = handed_out.last() {
                prop_assert!(counter.last() >= highest);
            }
            for _ in 0..advances {
                handed_out.push(counter.advance().unwrap());
            }
            if let Death::InWrite { at, rename_lost } = death {
                let before = std::fs::read(&path).ok();
                counter.inject_crash(at);
                // Values keep coming from memory until the next reservation write dies.
                loop {
                    match counter.advance() {
                        Ok(v) => handed_out.push(v),
                        Err(UsigError::CounterStore { .. }) => break,
                        Err(e) => prop_assert!(false, "unexpected error {e}"),
                    }
                }
                prop_assert!(counter.advance().is_err(), "a crashed instance stays dead");
                drop(counter);
                maybe_lose_rename(&path, at, rename_lost, &before);
            }
        }
        prop_assert!(
            handed_out.windows(2).all(|w| w[0] < w[1]),
            "values repeated or went backwards: {handed_out:?}"
        );
        // A last instance still starts above everything.
        let mut last = DurableCounter::open(&path, block).unwrap();
        let next = last.advance().unwrap();
        prop_assert!(handed_out.last().is_none_or(|&h| next > h));
    }

    /// Reopening continues strictly above every value handed out, for any block size.
    #[test]
    fn reopen_continues_above_all_values(
        block in 1u64..2000,
        runs in prop::collection::vec(0usize..50, 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        let mut highest = 0;
        for advances in runs {
            let mut counter = DurableCounter::open(&path, block).unwrap();
            let first = counter.last() + 1;
            prop_assert!(first > highest);
            for i in 0..advances as u64 {
                let v = counter.advance().unwrap();
                // Sequential within one instance's life.
                prop_assert_eq!(v, first + i);
                highest = v;
            }
        }
    }

    /// Arbitrary bytes in the counter file are reported as corrupt; the file is left as it
    /// was for the operator to inspect.
    #[test]
    fn garbage_file_is_corrupt_not_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        std::fs::write(&path, &bytes).unwrap();
        let result = DurableCounter::open(&path, 10);
        prop_assert!(
            matches!(result, Err(UsigError::CorruptCounterFile { .. })),
            "{result:?}"
        );
        prop_assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }

    /// Every truncation and every single bit flip of a valid file is caught.
    #[test]
    fn damaged_valid_file_is_corrupt(end in any::<u64>(), cut in any::<usize>(), bit in any::<usize>()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        // Make a valid file holding `end`: a first instance with block `end`, or none.
        prop_assume!(end > 0);
        drop(DurableCounter::open(&path, end).unwrap());
        let good = std::fs::read(&path).unwrap();

        let short = &good[..cut % good.len()];
        std::fs::write(&path, short).unwrap();
        let result = DurableCounter::open(&path, 1);
        prop_assert!(matches!(result, Err(UsigError::CorruptCounterFile { .. })), "{result:?}");

        let mut flipped = good.clone();
        let bit = bit % (good.len() * 8);
        flipped[bit / 8] ^= 1 << (bit % 8);
        std::fs::write(&path, &flipped).unwrap();
        let result = DurableCounter::open(&path, 1);
        prop_assert!(matches!(result, Err(UsigError::CorruptCounterFile { .. })), "{result:?}");
    }
}

#[test]
fn corrupt_file_reasons_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c");
    for (contents, expected) in [
        (&b""[..], "empty"),
        (b"minlab-usig-counter v1 12", "truncated"),
        (b"PK\x03\x04 zip file\n", "not a minlab USIG counter file"),
        (b"minlab-usig-counter v9 12 0000000000000000\n", "version"),
        (b"minlab-usig-counter v1 12 0000000000000000\n", "checksum"),
    ] {
        std::fs::write(&path, contents).unwrap();
        match DurableCounter::open(&path, 10) {
            Err(e @ UsigError::CorruptCounterFile { .. }) => {
                let text = e.to_string();
                assert!(text.contains(expected), "{text:?} lacks {expected:?}");
                assert!(text.contains(&path.display().to_string()), "{text}");
            }
            other => panic!("{contents:?} gave {other:?}"),
        }
    }
}

#[test]
fn a_usig_over_a_durable_counter_survives_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replica-0.counter");
    let keys = KeySet::from_seed(3, 1);
    let verifier = HmacSha1Usig::new(1, &keys).unwrap();

    let counter = DurableCounter::open(&path, 100).unwrap();
    let mut usig = HmacSha1Usig::with_counter(0, &keys, counter).unwrap();
    let first = usig.create_ui(b"m").unwrap();
    assert_eq!(first.counter, 1);
    drop(usig);

    let counter = DurableCounter::open(&path, 100).unwrap();
    let mut usig = HmacSha1Usig::with_counter(0, &keys, counter).unwrap();
    assert_eq!(usig.last_counter(), 100);
    let second = usig.create_ui(b"m").unwrap();
    // Same message, new identifier: the restart shows as a gap (2..=100 never used).
    assert_eq!(second.counter, 101);
    assert_ne!(first, second);
    assert_eq!(verifier.verify_ui(0, &second, b"m"), Ok(()));
}

#[test]
fn a_directory_that_cannot_exist_is_a_store_error() {
    // The parent is a regular file: no user, not even root, can create the counter there.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let result = DurableCounter::open(file.join("c"), 10);
    assert!(
        matches!(result, Err(UsigError::CounterStore { .. })),
        "{result:?}"
    );
}

#[cfg(unix)]
#[test]
fn unwritable_directory_is_a_store_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
    // Root ignores permissions; the check only means something for ordinary users.
    let probe = std::fs::write(ro.join("probe"), b"");
    if probe.is_err() {
        let result = DurableCounter::open(ro.join("c"), 10);
        assert!(
            matches!(result, Err(UsigError::CounterStore { .. })),
            "{result:?}"
        );
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o700)).unwrap();
}
