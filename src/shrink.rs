//! `minlab shrink`: makes a failing run smaller while it still fails (fewer requests and
//! clients, fewer faults and partitions, a shorter run, a calmer network), and writes the
//! smaller scenario. Greedy: each step tries the reductions in a fixed order and keeps the
//! first that still fails, until none does.

use crate::Outcome;
use anyhow::{Context, bail};
use minlab_scenarios::{Dur, Scenario};
use minlab_sim::oracle::Property;
use minlab_sim::run::{RunOptions, RunReport, run};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Arguments of `minlab shrink`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scenario file of the failing run.
    pub scenario: PathBuf,
    /// The failing seed.
    #[arg(long)]
    pub seed: u64,
    /// Where to write the smaller scenario (default: NAME-shrunk.toml).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Most runs to try.
    #[arg(long, default_value_t = 300)]
    pub runs_max: u32,
}

/// How big a scenario is, for reporting the shrink.
fn size(s: &Scenario) -> String {
    format!(
        "{} clients x {} requests, {} faults, {} partitions, {} Byzantine clients, run {}",
        s.workload.clients,
        s.workload.requests_per_client,
        s.faults.len(),
        s.network.partitions.len(),
        s.byzantine_clients.len(),
        s.run.duration
    )
}

/// Every one-step reduction of `s`, smallest change last.
fn reductions(s: &Scenario) -> Vec<Scenario> {
    let mut out = Vec::new();
    let mut push = |f: &dyn Fn(&mut Scenario)| {
        let mut c = s.clone();
        f(&mut c);
        out.push(c);
    };
    let r = s.workload.requests_per_client;
    if r > 1 {
        push(&|c| c.workload.requests_per_client /= 2);
        if r >= 4 {
            push(&|c| c.workload.requests_per_client = r * 3 / 4);
        }
        if r >= 10 {
            push(&|c| c.workload.requests_per_client = r * 9 / 10);
        }
        push(&|c| c.workload.requests_per_client = r - 1);
    }
    if s.workload.clients > 1 {
        push(&|c| c.workload.clients /= 2);
        push(&|c| c.workload.clients -= 1);
    }
    for i in 0..s.faults.len() {
        push(&|c| {
            c.faults.remove(i);
        });
    }
    for i in 0..s.network.partitions.len() {
        push(&|c| {
            c.network.partitions.remove(i);
        });
    }
    for i in 0..s.byzantine_clients.len() {
        push(&|c| {
            c.byzantine_clients.remove(i);
        });
    }
    for i in 0..s.network.links.len() {
        push(&|c| {
            c.network.links.remove(i);
        });
    }
    if s.run.duration.ns() > 2_000_000 {
        push(&|c| c.run.duration = Dur(c.run.duration.ns() / 2));
        push(&|c| c.run.duration = Dur(c.run.duration.ns() / 4 * 3));
    }
    if s.network.loss > 0.0 {
        push(&|c| c.network.loss = 0.0);
    }
    if s.network.duplicate > 0.0 {
        push(&|c| c.network.duplicate = 0.0);
    }
    if s.network.reorder > 0.0 {
        push(&|c| c.network.reorder = 0.0);
    }
    if s.network.corrupt > 0.0 {
        push(&|c| c.network.corrupt = 0.0);
    }
    out
}

/// The properties a report violates (or a marker for "failed without a violation").
fn failing(r: &RunReport) -> BTreeSet<Option<Property>> {
    let mut set: BTreeSet<Option<Property>> =
        r.violations.iter().map(|v| Some(v.property)).collect();
    if set.is_empty() && !r.passed {
        set.insert(None);
    }
    set
}

/// Runs `minlab shrink`.
pub fn exec(args: &Args) -> anyhow::Result<Outcome> {
    let mut best = Scenario::load(&args.scenario)?;
    let first = run(&best, args.seed, RunOptions::default())?;
    if first.passed {
        bail!(
            "{} passes with seed {}: there is no failure to shrink",
            args.scenario.display(),
            args.seed
        );
    }
    let target = failing(&first);
    println!("failing run: {}", first.failures.join("; "));
    println!("from: {}", size(&best));
    let mut runs = 1;
    'outer: while runs < args.runs_max {
        for candidate in reductions(&best) {
            if runs >= args.runs_max {
                break 'outer;
            }
            runs += 1;
            // A candidate the simulator cannot build (e.g. a script that needs a removed
            // client) is simply not smaller.
            let Ok(r) = run(&candidate, args.seed, RunOptions::default()) else {
                continue;
            };
            if !r.passed && !failing(&r).is_disjoint(&target) {
                best = candidate;
                continue 'outer;
            }
        }
        break;
    }
    best.name = format!("{}-shrunk", best.name.trim_end_matches("-shrunk"));
    best.seed = args.seed;
    best.description = format!(
        "Shrunk by `minlab shrink` from {} (seed {}): {}",
        args.scenario.display(),
        args.seed,
        first.failures.first().map_or("", String::as_str)
    );
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.toml", best.name)));
    std::fs::write(&out, best.to_toml())
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!("to:   {} ({runs} runs tried)", size(&best));
    println!(
        "wrote {}; reproduce with: minlab run {} --seed {}",
        out.display(),
        out.display(),
        args.seed
    );
    Ok(Outcome::Violated)
}
