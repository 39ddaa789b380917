//! Quick release-mode run of the core benchmark: `cargo run --release --example core_bench`.

use minlab_protocols::bench::{CoreBenchConfig, bench_core};

// The wall clock is read here, in the example binary, never in the library.
#[allow(clippy::disallowed_methods)]
fn main() {
    let start = std::time::Instant::now();
    let clock = move || start.elapsed().as_nanos();
    let clock = &clock;
    let only: Option<usize> = std::env::args().nth(1).and_then(|a| a.parse().ok());
    let runs = [(1, 1, 300_000), (100, 100, 3_000_000)];
    for (i, &(clients, batch, requests)) in runs.iter().enumerate() {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        let cfg = CoreBenchConfig::new(clients, batch, requests);
        let r = bench_core(&cfg, clock).expect("valid configuration");
        println!(
            "clients={clients:3} batch={batch:3}: {:>10.0} req/s, {:.2} msgs/req, {:.3} creates/req, {:.3} verifies/req, batch avg {:.1}, rejections {}",
            r.req_per_s,
            r.msgs_per_req,
            r.usig_creates_per_req,
            r.usig_verifies_per_req,
            r.batch_size_avg,
            r.rejections
        );
    }
}
