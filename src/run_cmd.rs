//! `minlab run`: one scenario, one seed, a readable summary (or JSON), exit code 1 with the
//! reproduction command when an expectation fails.

use crate::Outcome;
use anyhow::Context;
use minlab_scenarios::Scenario;
use minlab_sim::run::{RunOptions, RunReport, run};
use std::path::PathBuf;

/// Arguments of `minlab run`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scenario file (TOML), e.g. scenarios/catalog/quickstart.toml.
    pub scenario: PathBuf,
    /// The run's seed (default: the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write a JSON-lines trace of every event to this file.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// The command that reproduces a run.
pub fn reproduce(scenario: &std::path::Path, seed: u64) -> String {
    format!(
        "minlab run {} --seed {seed} --trace trace.jsonl",
        scenario.display()
    )
}

/// Wall-clock seconds since `start` (the binary may read the clock; the simulator may not).
#[allow(clippy::disallowed_methods)] // Instant::now is banned outside src/ and net/.
pub fn now() -> std::time::Instant {
    std::time::Instant::now()
}

/// Runs `minlab run`.
pub fn exec(args: &Args) -> anyhow::Result<Outcome> {
    let scenario = Scenario::load(&args.scenario)?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let trace: Option<Box<dyn std::io::Write>> = match &args.trace {
        Some(p) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ))),
        None => None,
    };
    let start = now();
    let report = run(&scenario, seed, RunOptions { trace })?;
    let wall = start.elapsed().as_secs_f64();
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        v["wall_s"] = serde_json::json!(wall);
        println!("{}", serde_json::to_string(&v)?);
    } else {
        print_summary(&report, wall);
    }
    if report.passed {
        Ok(Outcome::Held)
    } else {
        eprintln!("reproduce with: {}", reproduce(&args.scenario, seed));
        Ok(Outcome::Violated)
    }
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Prints a run's summary for a person.
pub fn print_summary(r: &RunReport, wall_s: f64) {
    println!(
        "scenario {} seed {}: {}",
        r.scenario,
        r.seed,
        if r.passed { "PASSED" } else { "FAILED" }
    );
    println!(
        "  requests    {} completed of {} invoked, {:.0} req/s (virtual)",
        r.completed, r.invoked, r.throughput_per_s
    );
    println!(
        "  latency     p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        ms(r.latency.p50_ns),
        ms(r.latency.p90_ns),
        ms(r.latency.p99_ns),
        ms(r.latency.max_ns)
    );
    println!(
        "  views       highest {} ({} view changes seen), {} stable checkpoints",
        r.view_max,
        r.view_changes.len(),
        r.checkpoints_stable
    );
    let sent: Vec<String> = r
        .messages_sent
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    println!("  messages    {}", sent.join(", "));
    println!(
        "  network     {} delivered, {} dropped, {} at crashed nodes, {} corrupted",
        r.deliveries, r.dropped, r.dropped_at_crashed, r.corrupted_delivered
    );
    if !r.rejections.is_empty() {
        let rej: Vec<String> = r
            .rejections
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!("  rejected    {}", rej.join(", "));
    }
    println!(
        "  simulator   {:.3} s virtual in {:.3} s wall ({:.0}x), {} events, {:.0} deliveries/s",
        r.sim_time_ns as f64 / 1e9,
        wall_s,
        r.sim_time_ns as f64 / 1e9 / wall_s.max(1e-9),
        r.events,
        r.deliveries as f64 / wall_s.max(1e-9)
    );
    if let Some(why) = &r.linearizability_inconclusive {
        println!("  note        linearizability not checked: {why}");
    }
    for v in &r.violations {
        println!("  VIOLATION   {v}");
    }
    for f in &r.failures {
        println!("  failure     {f}");
    }
}
