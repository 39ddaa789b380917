//! Criterion benchmark of the core loop: 3 replicas with HMAC-SHA1 USIGs, no client
//! authentication, null operations, 1 client with batch 1 and 100 clients with batch 100.
//! Throughput is reported in requests per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use minlab_protocols::bench::{CoreBenchConfig, core_cluster};
use std::hint::black_box;

fn core(c: &mut Criterion) {
    let mut group = c.benchmark_group("minbft_core");
    for (clients, batch, requests) in [(1u32, 1usize, 20_000u64), (100, 100, 200_000)] {
        let cfg = CoreBenchConfig::new(clients, batch, requests);
        group.throughput(Throughput::Elements(requests));
        group.bench_function(format!("clients{clients}_batch{batch}"), |b| {
            let mut cluster = core_cluster(&cfg).expect("valid configuration");
            cluster.start();
            b.iter(|| {
                let target = cluster.completed() + requests;
                black_box(cluster.run_until_completed(target, u64::MAX))
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = core
}
criterion_main!(benches);
