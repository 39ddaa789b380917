//! Model-checking speed: states generated per second (criterion's element throughput)
//! for a small and a mid-size configuration, BFS on one thread.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use minlab_check::{ByzMove, ByzantineRole, CheckConfig, check_minbft};
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let cases = [
        ("tiny", CheckConfig::default()),
        (
            "byzantine-backup-replay",
            CheckConfig {
                byzantine: ByzantineRole::Backup,
                byzantine_moves: vec![ByzMove::Replay],
                ..CheckConfig::default()
            },
        ),
    ];
    let mut g = c.benchmark_group("check_minbft_bfs");
    g.sample_size(10);
    for (name, cfg) in cases {
        let states = check_minbft(&cfg, || Duration::ZERO).unwrap().states;
        g.throughput(Throughput::Elements(states as u64));
        g.bench_function(name, |b| {
            b.iter(|| check_minbft(&cfg, || Duration::ZERO).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
