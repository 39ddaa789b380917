//! Measures checking speed on mid-size configurations (run it in release mode):
//! `cargo run --release -p minlab-check --example probe`.
use minlab_check::{ByzMove, ByzantineRole, CheckConfig, Outcome, check_minbft};

// An example program may read the wall clock; the library never does.
#[allow(clippy::disallowed_methods)]
fn main() {
    let cases = [
        (
            "2 clients x 1 request, all correct, BFS, 1M states",
            CheckConfig {
                clients: 2,
                states_max: Some(1_000_000),
                ..CheckConfig::default()
            },
        ),
        (
            "2 clients x 1 request, silent primary, 1 view change, 1 retransmit, BFS, 1M states",
            CheckConfig {
                clients: 2,
                view_changes: 1,
                retransmits: 1,
                byzantine: ByzantineRole::Primary,
                byzantine_moves: vec![ByzMove::Silent],
                states_max: Some(1_000_000),
                ..CheckConfig::default()
            },
        ),
    ];
    for (name, cfg) in cases {
        let start = std::time::Instant::now();
        let r = check_minbft(&cfg, || start.elapsed()).unwrap();
        println!(
            "{name}: states {} unique {} depth {} exhaustive {} in {:?}: {} states/s",
            r.states,
            r.unique_states,
            r.max_depth,
            r.exhaustive,
            r.elapsed,
            r.states_per_second()
        );
        for p in &r.properties {
            let o = match &p.outcome {
                Outcome::Violated { path } => format!("VIOLATED\n      {}", path.join("\n      ")),
                Outcome::Found { .. } => "found".into(),
                o => format!("{o:?}"),
            };
            println!("    {}: {}", p.name, o);
        }
    }
}
