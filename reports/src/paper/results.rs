//! Runs the plan's simulations in parallel and keeps their reports by [`JobKey`], with
//! the per-request costs Table 1 needs.

use super::plan::{Job, JobKey};
use crate::ReportError;
use minlab_sim::run::{ReplicaWork, RunOptions, RunReport, run};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// The seed of every experiment's run.
pub const SEED: u64 = 1;

/// The reports of every job.
#[derive(Debug, Default)]
pub struct Results {
    /// By job.
    pub runs: BTreeMap<JobKey, RunReport>,
}

/// Runs `jobs` in parallel (rayon's pool), calling `done` after each.
pub fn run_jobs(jobs: Vec<Job>, done: &(dyn Fn(&JobKey) + Sync)) -> Result<Results, ReportError> {
    let out: Vec<(JobKey, RunReport)> = jobs
        .into_par_iter()
        .map(|job| {
            let report = run(&job.scenario, SEED, RunOptions::default()).map_err(|e| {
                ReportError::Simulation {
                    experiment: job.scenario.name.clone(),
                    message: e.to_string(),
                }
            })?;
            done(&job.key);
            Ok((job.key, report))
        })
        .collect::<Result<_, ReportError>>()?;
    Ok(Results {
        runs: out.into_iter().collect(),
    })
}

impl Results {
    /// The report of `key`, if it ran.
    pub fn get(&self, key: &JobKey) -> Option<&RunReport> {
        self.runs.get(key)
    }

    /// Runs that did not pass (a safety or liveness expectation failed), with why.
    pub fn failures(&self) -> Vec<String> {
        self.runs
            .values()
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
