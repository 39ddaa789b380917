//! `minlab sweep`: many seeds of one or more scenarios in parallel, with a progress bar;
//! failing seeds are listed with the command that reproduces each. `--shard I/N` runs one
//! share of the seeds (for a batch scheduler's job array) and `--merge` combines the JSON
//! results of the shards.

use crate::Outcome;
use crate::run_cmd::{now, reproduce};
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use minlab_scenarios::Scenario;
use minlab_sim::run::{RunOptions, run};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Arguments of `minlab sweep`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario files to sweep (or, with --merge, shard result files to combine).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Seeds to run: `A..B` (B excluded) or `A..=B`.
    #[arg(long, default_value = "1..101", value_parser = parse_seeds)]
    pub seeds: (u64, u64),
    /// Parallel runs (default: the number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Run only shard I of N (seeds whose offset from A is I modulo N), e.g. `3/10`.
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// Combine the JSON results of shards (the files) instead of running.
    #[arg(long)]
    pub merge: bool,
    /// Print one JSON object (the results of every run) instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// The result of one run in a sweep.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SeedResult {
    /// The scenario file.
    pub file: String,
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Whether every expectation held.
    pub passed: bool,
    /// What failed.
    pub failures: Vec<String>,
    /// Requests completed.
    pub completed: u64,
    /// Messages delivered.
    pub deliveries: u64,
    /// Virtual time covered (ns).
    pub sim_time_ns: u64,
}

/// What `--json` prints and `--merge` reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepOutput {
    /// First seed (included).
    pub seed_start: u64,
    /// Last seed (excluded).
    pub seed_end: u64,
    /// The shards whose results this holds, as `I/N`.
    pub shards: Vec<String>,
    /// One entry per run, sorted by file and seed.
    pub results: Vec<SeedResult>,
    /// Wall-clock seconds spent running (summed over shards).
    pub wall_s: f64,
}

/// Parses `A..B` or `A..=B` into a half-open range.
pub fn parse_seeds(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("invalid seed range {s:?}; write A..B (B excluded) or A..=B");
    let (a, b, inclusive) = if let Some((a, b)) = s.split_once("..=") {
        (a, b, true)
    } else if let Some((a, b)) = s.split_once("..") {
        (a, b, false)
    } else {
        return Err(bad());
    };
    let a: u64 = a.trim().parse().map_err(|_| bad())?;
    let b: u64 = b.trim().parse().map_err(|_| bad())?;
    let end = if inclusive {
        b.checked_add(1).ok_or_else(bad)?
    } else {
        b
    };
    if end <= a {
        return Err(format!("seed range {s:?} is empty"));
    }
    Ok((a, end))
}

/// Parses `I/N` with `I < N`.
pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("invalid shard {s:?}; write I/N with 0 <= I < N, e.g. 3/10");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let i: u64 = i.trim().parse().map_err(|_| bad())?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Runs `minlab sweep`.
pub fn exec(args: &Args) -> anyhow::Result<Outcome> {
    let output = if args.merge {
        merge(&args.files)?
    } else {
        sweep(args)?
    };
    if args.json {
        println!("{}", serde_json::to_string(&output)?);
    } else {
        print_summary(&output);
    }
    Ok(if output.results.iter().all(|r| r.passed) {
        Outcome::Held
    } else {
        Outcome::Violated
    })
}

fn sweep(args: &Args) -> anyhow::Result<SweepOutput> {
    let mut scenarios = Vec::new();
    for f in &args.files {
        scenarios.push((f.clone(), Scenario::load(f)?));
    }
    let (start, end) = args.seeds;
    let (shard, shards) = args.shard.unwrap_or((0, 1));
    let seeds: Vec<u64> = (start..end)
        .filter(|s| (s - start) % shards == shard)
        .collect();
    let mut work = Vec::new();
    for (i, _) in scenarios.iter().enumerate() {
        for &seed in &seeds {
            work.push((i, seed));
        }
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .context("cannot start the worker threads")?;
    let bar = if args.json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(work.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {elapsed} elapsed, eta {eta}")
            .expect("valid template"),
    );
    let started = now();
    let results: Vec<anyhow::Result<SeedResult>> = pool.install(|| {
        work.par_iter()
            .map(|&(i, seed)| {
                let (file, s) = &scenarios[i];
                let r = run(s, seed, RunOptions::default())?;
                bar.inc(1);
                Ok(SeedResult {
                    file: file.display().to_string(),
                    scenario: r.scenario.clone(),
                    seed,
                    passed: r.passed,
                    failures: r.failures,
                    completed: r.completed,
                    deliveries: r.deliveries,
                    sim_time_ns: r.sim_time_ns,
                })
            })
            .collect()
    });
    bar.finish_and_clear();
    let mut results = results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    results.sort_by(|a, b| (&a.file, a.seed).cmp(&(&b.file, b.seed)));
    Ok(SweepOutput {
        seed_start: start,
        seed_end: end,
        shards: vec![format!("{shard}/{shards}")],
        results,
        wall_s: started.elapsed().as_secs_f64(),
    })
}

fn merge(files: &[PathBuf]) -> anyhow::Result<SweepOutput> {
    let mut merged: Option<SweepOutput> = None;
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let part: SweepOutput = serde_json::from_str(text.trim()).with_context(|| {
            format!(
                "{} is not the JSON output of `minlab sweep --json`",
                f.display()
            )
        })?;
        merged = Some(match merged {
            None => part,
            Some(mut m) => {
                if (m.seed_start, m.seed_end) != (part.seed_start, part.seed_end) {
                    bail!(
                        "{}: its seed range differs from the other shards'",
                        f.display()
                    );
                }
                m.shards.extend(part.shards);
                m.results.extend(part.results);
                m.wall_s += part.wall_s;
                m
            }
        });
    }
    let mut m = merged.context("no result files to merge")?;
    m.results
        .sort_by(|a, b| (&a.file, a.seed).cmp(&(&b.file, b.seed)));
    let before = m.results.len();
    m.results
        .dedup_by(|a, b| a.file == b.file && a.seed == b.seed);
    if m.results.len() != before {
        bail!("the shard files overlap: some seeds appear twice");
    }
    Ok(m)
}

fn print_summary(o: &SweepOutput) {
    let mut files: Vec<&str> = o.results.iter().map(|r| r.file.as_str()).collect();
    files.dedup();
    let deliveries: u64 = o.results.iter().map(|r| r.deliveries).sum();
    println!(
        "sweep of seeds {}..{} (shards {}): {} runs in {:.1} s wall, {:.0} deliveries/s",
        o.seed_start,
        o.seed_end,
        o.shards.join(", "),
        o.results.len(),
        o.wall_s,
        deliveries as f64 / o.wall_s.max(1e-9)
    );
    for file in files {
        let runs: Vec<&SeedResult> = o.results.iter().filter(|r| r.file == file).collect();
        let failed: Vec<&&SeedResult> = runs.iter().filter(|r| !r.passed).collect();
        println!(
            "{}: {} runs, {} passed, {} failed",
            runs[0].scenario,
            runs.len(),
            runs.len() - failed.len(),
            failed.len()
        );
        for r in failed.iter().take(20) {
            println!("  seed {}: {}", r.seed, r.failures.join("; "));
            println!(
                "    reproduce: {}",
                reproduce(std::path::Path::new(&r.file), r.seed)
            );
        }
        if failed.len() > 20 {
            println!(
                "  ... and {} more failing seeds (see --json)",
                failed.len() - 20
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_parse() {
        assert_eq!(parse_seeds("1..1001"), Ok((1, 1001)));
        assert_eq!(parse_seeds("5..=5"), Ok((5, 6)));
        assert!(parse_seeds("5..5").is_err());
        assert!(parse_seeds("x..3").is_err());
        assert!(parse_seeds("7").is_err());
    }

    #[test]
    fn shards_parse() {
        assert_eq!(parse_shard("3/10"), Ok((3, 10)));
        assert!(parse_shard("10/10").is_err());
        assert!(parse_shard("1/0").is_err());
        assert!(parse_shard("a/b").is_err());
    }
}
