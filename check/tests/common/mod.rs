//! What the model-checking test files share: running a check and printing what it found.

use minlab_check::{CheckConfig, CheckReport, check_minbft};
use std::time::Duration;

/// Checks `cfg` (which must be valid) and prints each property's outcome and the counts.
pub fn run(cfg: &CheckConfig) -> CheckReport {
    let r = check_minbft(cfg, || Duration::ZERO).expect("valid configuration");
    for p in &r.properties {
        eprintln!("{}: {:?}", p.name, p.outcome);
    }
    eprintln!(
        "states {} unique {} depth {}",
        r.states, r.unique_states, r.max_depth
    );
    r
}
