//! Runs a scenario: builds the world from the scenario and a seed, drives the Sans-IO
//! nodes through the event loop, and reports what the oracles found.

pub mod cpu;
pub mod engine;
pub mod observe;
pub mod protocol;
pub mod report;
pub mod scripted;
pub mod service;
pub mod trace;
pub mod workload;
pub mod world;

pub use engine::{RunOptions, Simulation};
pub use report::{LatencySummary, ReplicaWork, RunReport};
pub use world::BuildError;

use minlab_scenarios::{Protocol, Scenario};
use protocol::{MinBft, MinZyzyva, Pbft};

/// Runs `scenario` with `seed` and reports, with the protocol the scenario names.
/// A scenario with a `[replay]` schedule is applied step by step instead (see
/// [`scripted`]); a step that cannot be applied is a [`BuildError::Diverged`].
pub fn run(scenario: &Scenario, seed: u64, opts: RunOptions) -> Result<RunReport, BuildError> {
    if scenario.replay.is_some() {
        let trace = opts.trace.map(trace::Trace::new);
        return match scenario.protocol {
            Protocol::Minbft => scripted::replay::<MinBft>(scenario, seed, trace),
            Protocol::Minzyzyva => scripted::replay::<MinZyzyva>(scenario, seed, trace),
            Protocol::Pbft => scripted::replay::<Pbft>(scenario, seed, trace),
        };
    }
    match scenario.protocol {
        Protocol::Minbft => Ok(Simulation::<MinBft>::new(scenario, seed, opts)?.run()),
        Protocol::Pbft => Ok(Simulation::<Pbft>::new(scenario, seed, opts)?.run()),
        Protocol::Minzyzyva => Ok(Simulation::<MinZyzyva>::new(scenario, seed, opts)?.run()),
    }
}
