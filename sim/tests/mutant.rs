//! A deliberately broken replica (test-only feature `mutants`, mutant `CommitQuorum`: a
//! batch is accepted with f votes instead of f + 1) must be caught by a sweep of a catalog
//! scenario. Run with `cargo test -p minlab-sim --features mutants --test mutant`.
#![cfg(feature = "mutants")]

use minlab_protocols::minbft::Mutant;
use minlab_scenarios::Scenario;
use minlab_sim::oracle::Property;
use minlab_sim::run::protocol::{MinBft, SimProtocol, SimReplica};
use minlab_sim::run::world::{BuildError, World};
use minlab_sim::run::{RunOptions, Simulation};
use std::sync::Arc;

/// MinBFT whose group configuration switches mutant `M` on (everything else as the
/// simulator builds it).
struct Mutated(MinBft);

impl SimProtocol for Mutated {
    type Message = <MinBft as SimProtocol>::Message;
    type Replica = SimReplica;
    type Client = <MinBft as SimProtocol>::Client;

    fn build(s: &Scenario, world: &World) -> Result<Self, BuildError> {
        let mut p = MinBft::build(s, world)?;
        Arc::make_mut(&mut p.config).mutant = Some(Mutant::CommitQuorum);
        Ok(Mutated(p))
    }

    fn replica(
        &self,
        s: &Scenario,
        world: &World,
        id: u32,
        counter_last: u64,
    ) -> Result<SimReplica, BuildError> {
        self.0.replica(s, world, id, counter_last)
    }

    fn client(&self, world: &World, id: u32) -> Self::Client {
        self.0.client(world, id)
    }
}

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
        let r = Simulation::<Mutated>::new(&s, seed, RunOptions::default())
            .unwrap()
            .run();
        r.violations
            .iter()
            .any(|v| v.property == Property::Agreement)
    });
    assert!(caught.is_some(), "no seed in 1..=200 caught the mutant");
}

#[test]
fn without_the_switch_the_same_sweep_holds() {
    // The feature alone changes nothing: the unmutated protocol passes the seeds above.
    let path = format!(
        "{}/../scenarios/catalog/lossy-lan.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let s = Scenario::load(path).unwrap();
    for seed in 1..=20 {
        let r = minlab_sim::run::run(&s, seed, RunOptions::default()).unwrap();
        assert!(r.violations.is_empty(), "seed {seed}: {:?}", r.violations);
    }
}
