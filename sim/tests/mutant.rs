//! A deliberately broken replica (feature `mutant-commit-quorum`: a batch is accepted with f
//! votes instead of f + 1) must be caught by a sweep of a catalog scenario. Run with
//! `cargo test -p minlab-sim --features mutant-commit-quorum --test mutant`.
#![cfg(feature = "mutant-commit-quorum")]

use minlab_scenarios::Scenario;
use minlab_sim::oracle::Property;
use minlab_sim::run::{RunOptions, run};

#[test]
fn a_sweep_catches_a_replica_that_accepts_with_too_few_votes() {
    // Paper §4: a request is accepted with f + 1 COMMITs (the PREPARE counting as the
    // primary's). With f votes, a lossy network plus view changes lets two correct replicas
    // execute different requests at one position.
    let path = format!(
        "{}/../scenarios/catalog/lossy-lan.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let s = Scenario::load(path).unwrap();
    let caught = (1..=200).find(|&seed| {
        let r = run(&s, seed, RunOptions::default()).unwrap();
        r.violations
            .iter()
            .any(|v| v.property == Property::Agreement)
    });
    assert!(caught.is_some(), "no seed in 1..=200 caught the mutant");
}
