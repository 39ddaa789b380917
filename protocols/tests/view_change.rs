//! Whole-group tests of the view change (paper §4) with the in-memory driver: a crashed
//! primary is replaced with no accepted request lost, for f = 1, 2, 3, and random
//! schedules with f crashed replicas (the primary among them) stay safe and live.

mod common;

use minlab_protocols::Instant;
use minlab_protocols::event::Event;
use minlab_protocols::minbft::Config;
use minlab_protocols::node::NodeId;
use minlab_protocols::service::{KvOp, KvStore};
use minlab_protocols::testkit::{Cluster, NetworkFaults};
use minlab_usig::SymbolicUsig;
use proptest::prelude::*;

fn op_for(c: u32, seq: u64) -> Vec<u8> {
    let key = (u64::from(c) + seq) % 2;
    match seq % 2 {
        0 => KvOp::Get { key },
        _ => KvOp::Put {
            key,
            value: vec![c as u8, seq as u8],
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

/// Prefix agreement by position, no double execution, sequential results.
fn check_safety(c: &Cluster<SymbolicUsig, KvStore>) -> Result<(), TestCaseError> {
    common::check_safety(c, op_for)
}

fn views_installed(c: &Cluster<SymbolicUsig, KvStore>, r: u32) -> Vec<u64> {
    c.events
        .iter()
        .filter_map(|(n, e)| match e {
            Event::ViewChanged { view } if *n == NodeId::Replica(r) => Some(*view),
            _ => None,
        })
        .collect()
}

#[test]
fn a_primary_crashed_from_the_start_is_replaced() {
    // Paper §4, view change: T_exec expires on the backups, f + 1 REQ-VIEW-CHANGEs move
    // them to view 1, whose primary sends NEW-VIEW and orders the requests.
    for f in 1..=3 {
        let mut c = cluster(Config::new(f, 2), NetworkFaults::default(), 3, 10);
        c.silenced.insert(0);
        c.start();
        assert!(c.run_until_completed(10, 200_000), "f = {f}");
        for r in 1..2 * f + 1 {
            assert_eq!(views_installed(&c, r), vec![1], "f = {f}, replica {r}");
            assert_eq!(c.replicas[r as usize].view(), 1);
        }
        check_safety(&c).unwrap();
    }
}

#[test]
fn a_primary_crash_with_requests_in_flight_loses_no_accepted_request() {
    // Paper §4: V_vc contains every request accepted since the checkpoint; S re-proposes
    // it at its original (view, counter), and the replicas that executed it skip it.
    for f in 1..=3 {
        let mut config = Config::new(f, 4);
        config.batch_size_max = 2;
        config.checkpoint_period = 4;
        config.log_window = 8;
        let mut c = cluster(config, NetworkFaults::default(), 5, 200);
        c.start();
        assert!(c.run_until_completed(37, 1_000_000));
        // The primary stops mid-stream: its PREPAREs and the backups' COMMITs in flight.
        c.silenced.insert(0);
        assert!(c.run_until_completed(200, 2_000_000), "f = {f}");
        let executed_before: usize = c.executions[1].len();
        assert!(executed_before >= 200);
        for r in 1..2 * f + 1 {
            assert_eq!(c.replicas[r as usize].view(), 1, "f = {f}");
        }
        check_safety(&c).unwrap();
        // Every completed operation was executed by every correct replica that caught up.
        let longest = c.executions.iter().map(Vec::len).max().unwrap();
        assert!(longest as u64 >= 200);
    }
}

#[test]
fn two_crashed_primaries_in_a_row_need_two_view_changes() {
    // Paper §4: T_vc expires when the primary of v + 1 is down too; replicas move on to
    // v + 2 with a doubled timeout.
    let mut c = cluster(Config::new(2, 2), NetworkFaults::default(), 9, 10);
    c.silenced.extend([0, 1]);
    c.start();
    assert!(c.run_until_completed(10, 400_000));
    for r in 2..5 {
        assert_eq!(c.replicas[r].view(), 2);
        assert_eq!(views_installed(&c, r as u32), vec![2]);
    }
    check_safety(&c).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn random_schedules_with_f_crashed_replicas_stay_safe_and_live(
        f in 1u32..=3,
        clients in 1u32..=3,
        batch in 1usize..=3,
        seed in any::<u64>(),
        duplicate_per_mille in 0u32..150,
        reorder_window in 1usize..6,
        crash_primary in any::<bool>(),
        crash_after in 0u64..12,
    ) {
        let mut config = Config::new(f, clients);
        config.batch_size_max = batch;
        config.checkpoint_period = 3;
        config.log_window = 6;
        config.fifo_window = 64;
        let faults = NetworkFaults { drop_per_mille: 0, duplicate_per_mille, reorder_window };
        let ops = 24;
        let mut c = cluster(config, faults, seed, ops);
        c.start();
        c.run_until_completed(crash_after, 200_000);
        let first = if crash_primary { 0 } else { 1 };
        c.silenced.extend(first..first + f);
        c.run_until_completed(ops, 400_000);
        c.run_until_quiet(Instant(c.now().0 + 1_000_000), 20_000);
        check_safety(&c)?;
        prop_assert_eq!(c.completed(), ops);
    }
}
