//! What the model-checking test files share: running a check and printing what it found.

use minlab_check::{CheckConfig, CheckReport, check_minbft};
use std::time::Duration;

/// Checks MinBFT as `cfg` (which must be valid) says and prints what it found.
#[allow(dead_code)] // not every test file checks MinBFT
pub fn run(cfg: &CheckConfig) -> CheckReport {
    show(check_minbft(cfg, || Duration::ZERO).expect("valid configuration"))
}

/// [`run`] for the MinZyzyva model.
#[allow(dead_code)] // not every test file checks MinZyzyva
pub fn run_minzyzyva(cfg: &CheckConfig) -> CheckReport {
    show(
        minlab_check::minzyzyva::check_minzyzyva(cfg, || Duration::ZERO)
            .expect("valid configuration"),
    )
}

/// Prints each property's outcome and the counts.
fn show(r: CheckReport) -> CheckReport {
    for p in &r.properties {
        eprintln!("{}: {:?}", p.name, p.outcome);
    }
    eprintln!(
        "states {} unique {} depth {}",
        r.states, r.unique_states, r.max_depth
    );
    r
}
