//! Helpers shared by the whole-group tests: a recorded in-memory cluster over the symbolic
//! USIG and the key-value store, and the safety check every schedule must pass.

use minlab_protocols::minbft::Config;
use minlab_protocols::minbft::certify::fnv1a;
use minlab_protocols::service::{KvOp, KvStore};
use minlab_protocols::testkit::{Cluster, ClusterOptions, NetworkFaults};
use minlab_usig::SymbolicUsig;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// A recorded cluster whose clients submit `op_for(client, seq)`.
pub fn cluster(
    config: Config,
    faults: NetworkFaults,
    seed: u64,
    ops: u64,
    op_for: fn(u32, u64) -> Vec<u8>,
) -> Cluster<SymbolicUsig, KvStore> {
    let n = config.replica_count;
    let opts = ClusterOptions {
        config,
        seed,
        faults,
        record: true,
        operations: ops,
    };
    Cluster::new(
        opts,
        |r| SymbolicUsig::new(r, n),
        |_| KvStore::new(),
        Box::new(op_for),
    )
    .unwrap()
}

/// Safety: executions agree by position in the agreed order, nothing executes twice, and
/// every completed operation got the result of the sequential execution in that order.
pub fn check_safety(
    c: &Cluster<SymbolicUsig, KvStore>,
    op_for: fn(u32, u64) -> Vec<u8>,
) -> Result<(), TestCaseError> {
    // Executions by position in the agreed order (a replica that restored a snapshot by
    // state transfer has no executions for the positions it skipped).
    let mut agreed = BTreeMap::new();
    for (r, ex) in c.executions.iter().enumerate() {
        let mut last = None;
        for e in ex {
            prop_assert!(last < Some(e.position), "replica {} went back", r);
            last = Some(e.position);
            let first = agreed.entry(e.position).or_insert(*e);
            prop_assert_eq!(&*first, e, "replica {} diverged at {}", r, e.position);
        }
        let distinct: BTreeSet<_> = ex.iter().map(|e| (e.client, e.seq)).collect();
        prop_assert_eq!(
            distinct.len(),
            ex.len(),
            "replica {} executed a request twice",
            r
        );
    }
    let mut model = KvStore::new();
    let mut results = BTreeMap::new();
    for (expected, (&position, e)) in (0u64..).zip(&agreed) {
        if position != expected {
            break; // a gap nobody recorded: the sequential check stops there
        }
        let result = model.apply(&KvOp::decode(&op_for(e.client, e.seq)).unwrap());
        prop_assert_eq!(fnv1a(&result), e.result_digest);
        results.insert((e.client, e.seq), result);
    }
    for done in &c.completions {
        if let Some(r) = results.get(&(done.client, done.seq)) {
            prop_assert_eq!(&done.result, r);
        }
    }
    Ok(())
}
