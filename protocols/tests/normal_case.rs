//! Whole-group tests with the in-memory driver: checkpoints and garbage collection, and
//! safety of the normal case (paper §4) under random delivery orders, drops and
//! duplicates, for f = 1, 2, 3.

mod common;

use minlab_protocols::Instant;
use minlab_protocols::event::Event;
use minlab_protocols::minbft::{Config, MessageKind};
use minlab_protocols::service::{KvOp, KvStore};
use minlab_protocols::testkit::{Cluster, NetworkFaults};
use minlab_usig::SymbolicUsig;
use proptest::prelude::*;

/// The operation client `c` submits as its request `seq`: a mix of gets, puts and CASes
/// on three keys, so that results depend on the order of execution.
fn op_for(c: u32, seq: u64) -> Vec<u8> {
    let key = (u64::from(c) * 7 + seq * 3) % 3;
    let value = vec![c as u8, seq as u8];
    match (u64::from(c) + seq) % 3 {
        0 => KvOp::Get { key },
        1 => KvOp::Put { key, value },
        _ => KvOp::Cas {
            key,
            expected: vec![c as u8, seq.wrapping_sub(1) as u8],
            new: value,
        },
    }
    .encode()
}

fn cluster(
    config: Config,
    faults: NetworkFaults,
    seed: u64,
    ops: u64,
) -> Cluster<SymbolicUsig, KvStore> {
    common::cluster(config, faults, seed, ops, op_for)
}

fn check_safety(c: &Cluster<SymbolicUsig, KvStore>) -> Result<(), TestCaseError> {
    common::check_safety(c, op_for)
}

#[test]
fn checkpoints_become_stable_and_truncate_the_log() {
    let mut config = Config::new(1, 3);
    config.checkpoint_period = 4;
    config.log_window = 8;
    config.fifo_window = 8;
    let mut c = cluster(config, NetworkFaults::default(), 1, 300);
    c.start();
    assert!(c.run_until_completed(300, 1_000_000));
    for r in &c.replicas {
        assert!(r.low_water_mark() > 200, "h = {}", r.low_water_mark());
        assert!(r.log_len() <= 8);
        assert_eq!(r.stable_checkpoint().len(), 2, "f + 1 CHECKPOINTs");
    }
    let stable = c
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::CheckpointStable { .. }))
        .count();
    assert!(stable > 3 * 50);
    check_safety(&c).unwrap();
}

#[test]
fn a_crashed_backup_does_not_stop_progress() {
    for f in 1..=3 {
        let mut config = Config::new(f, 2);
        config.batch_size_max = 2;
        let mut c = cluster(config, NetworkFaults::default(), 2, 60);
        c.silenced.extend(1..=f); // f backups crash before the run
        c.start();
        assert!(c.run_until_completed(60, 1_000_000), "f = {f}");
        check_safety(&c).unwrap();
    }
}

#[test]
fn lost_messages_are_retransmitted_and_every_request_completes() {
    // Paper §3: messages are kept in a log to be retransmitted. A lost PREPARE, COMMIT or
    // CHECKPOINT leaves a FIFO hole; FILL-HOLE gets it resent.
    let mut completed_with_repairs = 0;
    for seed in 0..8 {
        let mut config = Config::new(1, 2);
        config.batch_size_max = 2;
        let faults = NetworkFaults {
            drop_per_mille: 30,
            duplicate_per_mille: 0,
            reorder_window: 1,
        };
        let mut c = cluster(config, faults, seed, 60);
        c.start();
        assert!(c.run_until_completed(60, 1_000_000), "seed {seed}");
        check_safety(&c).unwrap();
        if c.metrics().sent_of(MessageKind::FillHole) > 0 {
            completed_with_repairs += 1;
        }
    }
    assert!(
        completed_with_repairs > 0,
        "some runs needed a retransmission"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_schedules_preserve_safety(
        f in 1u32..=3,
        clients in 1u32..=4,
        batch in 1usize..=4,
        seed in any::<u64>(),
        drop_per_mille in prop_oneof![Just(0u32), 0u32..60],
        duplicate_per_mille in 0u32..150,
        reorder_window in 1usize..8,
    ) {
        let mut config = Config::new(f, clients);
        config.batch_size_max = batch;
        config.checkpoint_period = 3;
        config.log_window = 6;
        config.fifo_window = 64;
        let faults = NetworkFaults { drop_per_mille, duplicate_per_mille, reorder_window };
        let ops = 30;
        let mut c = cluster(config, faults, seed, ops);
        c.start();
        c.run_until_quiet(Instant(20_000_000_000), 200_000);
        check_safety(&c)?;
        if drop_per_mille == 0 {
            // Without losses (duplicates and reordering only), everything completes. With
            // losses most runs complete too (retransmission, state transfer), but this
            // driver fires timers only when no message is in flight, and some runs stall.
            prop_assert_eq!(c.completed(), ops);
        }
    }
}

#[test]
fn replicas_and_clients_are_values_a_model_checker_can_hash() {
    fn assert_value<T: Clone + Eq + std::hash::Hash + std::fmt::Debug>() {}
    assert_value::<minlab_protocols::Replica<SymbolicUsig, KvStore>>();
    assert_value::<minlab_protocols::Replica<SymbolicUsig, minlab_protocols::service::NullService>>(
    );
    assert_value::<minlab_protocols::Client>();
}

#[test]
fn same_seed_same_run() {
    let run = || {
        let faults = NetworkFaults {
            drop_per_mille: 20,
            duplicate_per_mille: 50,
            reorder_window: 4,
        };
        let mut config = Config::new(1, 3);
        config.batch_size_max = 2;
        let mut c = cluster(config, faults, 77, 40);
        c.start();
        c.run_until_quiet(Instant(5_000_000_000), 100_000);
        (c.events.clone(), c.now(), c.deliveries())
    };
    assert_eq!(run(), run());
}

#[test]
fn every_client_authentication_mode_completes_operations() {
    use minlab_protocols::minbft::ClientAuth;
    for auth in [
        ClientAuth::None,
        ClientAuth::Ed25519,
        ClientAuth::MacAuthenticator,
    ] {
        let mut config = Config::new(1, 2);
        config.client_auth = auth;
        config.batch_size_max = 2;
        let mut c = cluster(config, NetworkFaults::default(), 4, 20);
        c.start();
        assert!(c.run_until_completed(20, 100_000), "{auth:?}");
        assert_eq!(c.metrics().rejections_total(), 0, "{auth:?}");
        check_safety(&c).unwrap();
    }
}

// Paper Table 1: besides its USIG calls, a MinBFT replica does two MAC operations per
// request, checking the client's authenticator entry and MACing its reply, whatever b is.
#[test]
fn each_replica_does_two_client_macs_per_request() {
    use minlab_protocols::minbft::ClientAuth;
    for batch in [1, 10] {
        let mut config = Config::new(1, 10);
        config.client_auth = ClientAuth::MacAuthenticator;
        config.batch_size_max = batch;
        let mut c = cluster(config, NetworkFaults::default(), 3, 200);
        c.start();
        assert!(c.run_until_completed(200, 1_000_000));
        c.run_until_quiet(
            c.now() + minlab_protocols::Duration::from_millis(1),
            100_000,
        );
        for r in &c.replicas {
            let m = r.metrics();
            assert_eq!(m.requests_executed, 200);
            assert_eq!(m.mac_ops, 2 * 200, "replica {} at b = {batch}", r.id());
            assert_eq!(m.signature_ops, 0);
        }
        for cl in &c.clients {
            // n MACs in each authenticator, one check per reply that was not late.
            assert!(
                cl.metrics().mac_ops >= 20 * 3 + 20 * 2,
                "{}",
                cl.metrics().mac_ops
            );
        }
    }
}
