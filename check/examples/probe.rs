//! Prints state counts and outcomes of a few configurations (for pinning tests).
use minlab_check::{ByzMove, ByzantineRole, CheckConfig, check_minbft};
use std::time::Duration;

fn main() {
    let b = |role, moves: &[ByzMove]| CheckConfig {
        byzantine: role,
        byzantine_moves: moves.to_vec(),
        ..CheckConfig::default()
    };
    let cases: Vec<(&str, CheckConfig)> = vec![(
        "vc1 primary silent rt1",
        CheckConfig {
            view_changes: 1,
            retransmits: 1,
            ..b(ByzantineRole::Primary, &[ByzMove::Silent])
        },
    )];
    for (name, cfg) in cases {
        let cfg = CheckConfig {
            states_max: cfg.states_max.or(Some(300_000)),
            ..cfg
        };
        let r = check_minbft(&cfg, || Duration::ZERO).unwrap();
        println!(
            "{name}: states {} unique {} depth {} exhaustive {}",
            r.states, r.unique_states, r.max_depth, r.exhaustive
        );
        for p in &r.properties {
            let o = match &p.outcome {
                minlab_check::Outcome::Violated { path } => {
                    format!("VIOLATED\n      {}", path.join("\n      "))
                }
                o => format!("{o:?}").chars().take(40).collect(),
            };
            println!("    {}: {}", p.name, o);
        }
    }
}
