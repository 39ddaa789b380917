//! Runs the plan's simulations in parallel, each point under seeds 1..=K, and keeps
//! their reports by [`JobKey`] and seed, with the per-request costs Table 1 needs.

use super::plan::{Job, JobKey};
use super::spread::Spread;
use crate::ReportError;
use minlab_sim::run::{ReplicaWork, RunOptions, RunReport, run};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// The most seeds a point may be averaged over (`minlab report paper --seeds`).
pub const SEEDS_MAX: u64 = 100;

/// The seeds of a run averaged over `k` seeds: 1, 2, ..., k, so a report reproduces exactly.
pub fn seeds(k: u64) -> std::ops::RangeInclusive<u64> {
    1..=k
}

/// The reports of every job under every seed.
#[derive(Debug, Default)]
pub struct Results {
    /// Seeds each point ran under (seeds 1..=`seeds`).
    pub seeds: u64,
    /// By job, one report per seed, seed 1 first.
    pub runs: BTreeMap<JobKey, Vec<RunReport>>,
}

/// Runs every job under seeds 1..=`k` in parallel (rayon's pool), calling `done` after
/// each simulation. The results do not depend on the order the runs finish in.
pub fn run_jobs(
    jobs: Vec<Job>,
    k: u64,
    done: &(dyn Fn(&JobKey) + Sync),
) -> Result<Results, ReportError> {
    if !(1..=SEEDS_MAX).contains(&k) {
        return Err(ReportError::Plan(format!(
            "{k} seeds: a point is averaged over 1 to {SEEDS_MAX} seeds"
        )));
    }
    let work: Vec<(&Job, u64)> = jobs
        .iter()
        .flat_map(|j| seeds(k).map(move |seed| (j, seed)))
        .collect();
    let out: Vec<((JobKey, u64), RunReport)> = work
        .into_par_iter()
        .map(|(job, seed)| {
            let report = run(&job.scenario, seed, RunOptions::default()).map_err(|e| {
                ReportError::Simulation {
                    experiment: format!("{} (seed {seed})", job.scenario.name),
                    message: e.to_string(),
                }
            })?;
            done(&job.key);
            Ok(((job.key, seed), report))
        })
        .collect::<Result<_, ReportError>>()?;
    let by_seed: BTreeMap<(JobKey, u64), RunReport> = out.into_iter().collect();
    let mut runs: BTreeMap<JobKey, Vec<RunReport>> = BTreeMap::new();
    for ((key, _seed), report) in by_seed {
        runs.entry(key).or_default().push(report);
    }
    Ok(Results { seeds: k, runs })
}

impl Results {
    /// The reports of `key`, seed 1 first, if it ran.
    pub fn get(&self, key: &JobKey) -> Option<&[RunReport]> {
        self.runs.get(key).map(Vec::as_slice)
    }

    /// `value` of `key`'s run under every seed; `None` when the point did not run or a
    /// seed has no value (e.g. it completed no request, which [`Results::failures`] lists).
    pub fn spread(
        &self,
        key: &JobKey,
        value: impl Fn(&RunReport) -> Option<f64>,
    ) -> Option<Spread> {
        let values = self
            .get(key)?
            .iter()
            .map(value)
            .collect::<Option<Vec<f64>>>()?;
        Spread::of(values)
    }

    /// Points whose runs changed view although the experiments inject no fault (a timer
    /// that fired too early, an overloaded primary), as `scenario (seeds 1, 4; up to view
    /// v)`: their values include the view changes.
    pub fn view_changes(&self) -> Vec<String> {
        self.runs
            .values()
            .filter_map(|reports| {
                let changed: Vec<&RunReport> = reports.iter().filter(|r| r.view_max > 0).collect();
                let first = changed.first()?;
                let seeds: Vec<String> = changed.iter().map(|r| r.seed.to_string()).collect();
                let view = changed.iter().map(|r| r.view_max).max().unwrap_or(0);
                Some(format!(
                    "{} (seed{} {}; up to view {view})",
                    first.scenario,
                    if seeds.len() == 1 { "" } else { "s" },
                    seeds.join(", ")
                ))
            })
            .collect()
    }

    /// Runs that did not pass (a safety or liveness expectation failed), with why.
    pub fn failures(&self) -> Vec<String> {
        self.runs
            .values()
            .flatten()
            .filter(|r| !r.passed)
            .map(|r| {
                format!(
                    "{} (seed {}): {}",
                    r.scenario,
                    r.seed,
                    r.failures.join("; ")
                )
            })
            .collect()
    }
}

/// One replica's work per executed request (paper Table 1's unit).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PerRequest {
    /// The replica.
    pub replica: u32,
    /// Requests it executed.
    pub requests: u64,
    /// Mean batch size it executed.
    pub batch_mean: f64,
    /// Messages received per request.
    pub received: f64,
    /// Messages sent per request (a broadcast counts once).
    pub sent: f64,
    /// USIG `create_ui` per request.
    pub creates: f64,
    /// USIG `verify_ui` per request.
    pub verifies: f64,
    /// MACs outside the USIG per request (client authenticator checks, reply MACs).
    pub macs: f64,
    /// Signatures outside the USIG per request (Ed25519 client requests).
    pub signatures: f64,
}

impl PerRequest {
    /// MAC/signature operations per request: USIG calls plus MACs and signatures outside it.
    pub fn crypto_ops(&self) -> f64 {
        self.creates + self.verifies + self.macs + self.signatures
    }

    /// `w`'s counts divided by the requests it executed (None when it executed none).
    pub fn of(w: &ReplicaWork) -> Option<PerRequest> {
        if w.requests_executed == 0 {
            return None;
        }
        let n = w.requests_executed as f64;
        let sum = |m: &BTreeMap<String, u64>| m.values().sum::<u64>() as f64;
        Some(PerRequest {
            replica: w.replica,
            requests: w.requests_executed,
            batch_mean: n / w.batches_executed.max(1) as f64,
            received: sum(&w.received) / n,
            sent: sum(&w.sent) / n,
            creates: w.usig_creates as f64 / n,
            verifies: w.usig_verifies as f64 / n,
            macs: w.mac_ops as f64 / n,
            signatures: w.signature_ops as f64 / n,
        })
    }
}
