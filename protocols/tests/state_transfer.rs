//! State transfer (paper §4): a replica cut off for many checkpoints catches up from a
//! snapshot verified against `f + 1` matching checkpoint digests.

use minlab_protocols::event::Event;
use minlab_protocols::minbft::Config;
use minlab_protocols::node::NodeId;
use minlab_protocols::service::{KvOp, KvStore};
use minlab_protocols::testkit::{Cluster, ClusterOptions, NetworkFaults};
use minlab_usig::SymbolicUsig;

fn op_for(c: u32, seq: u64) -> Vec<u8> {
    KvOp::Put {
        key: u64::from(c) % 3,
        value: vec![c as u8, seq as u8],
    }
    .encode()
}

#[test]
fn a_replica_cut_off_for_many_checkpoints_catches_up_by_state_transfer() {
    for f in 1..=2 {
        let mut config = Config::new(f, 3);
        config.checkpoint_period = 4;
        config.log_window = 8;
        config.fifo_window = 16;
        let n = config.replica_count;
        let opts = ClusterOptions {
            config,
            seed: 11,
            faults: NetworkFaults::default(),
            record: true,
            operations: 300,
        };
        let mut c = Cluster::new(
            opts,
            |r| SymbolicUsig::new(r, n),
            |_| KvStore::new(),
            Box::new(op_for),
        )
        .unwrap();
        let lagging = n - 1;
        c.deaf.insert(lagging);
        c.start();
        assert!(c.run_until_completed(150, 1_000_000));
        assert_eq!(c.replicas[lagging as usize].last_executed(), 0);
        assert!(
            c.replicas[0].low_water_mark() > 8 * 4,
            "many checkpoints went by"
        );
        // Back on the network, with everything it missed garbage-collected.
        c.deaf.clear();
        assert!(c.run_until_completed(300, 2_000_000), "f = {f}");
        let until = minlab_protocols::Instant(c.now().0 + 2_000_000_000);
        c.run_until_quiet(until, 200_000);
        let transferred = c.events.iter().any(|(node, e)| {
            *node == NodeId::Replica(lagging) && matches!(e, Event::StateTransferred { .. })
        });
        assert!(
            transferred,
            "f = {f}: the lagging replica restored a snapshot"
        );
        let r = &c.replicas[lagging as usize];
        // It reached the group's stable checkpoint (the batches after it arrive with the
        // next requests), and what it executed itself agrees by position.
        assert!(
            r.last_executed() >= c.replicas[0].low_water_mark(),
            "f = {f}"
        );
        assert_eq!(
            r.stable_checkpoint()[0].state_digest,
            c.replicas[0].stable_checkpoint()[0].state_digest
        );
        let by_position: std::collections::BTreeMap<u64, _> =
            c.executions[0].iter().map(|e| (e.position, *e)).collect();
        for e in &c.executions[lagging as usize] {
            assert_eq!(by_position.get(&e.position), Some(e), "f = {f}");
        }
    }
}
