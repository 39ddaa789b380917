//! `minlab replay`: re-runs one seed with the full trace written to a file, and shows the
//! events that led to the first violation.

use crate::Outcome;
use crate::run_cmd::{now, print_summary};
use anyhow::Context;
use minlab_scenarios::Scenario;
use minlab_sim::run::{RunOptions, run};
use std::io::BufRead;
use std::path::PathBuf;

/// Arguments of `minlab replay`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scenario file.
    pub scenario: PathBuf,
    /// The seed to replay.
    #[arg(long)]
    pub seed: u64,
    /// Where to write the trace (default: NAME-SEED.trace.jsonl).
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// How many trace lines before the first violation to show.
    #[arg(long, default_value_t = 25)]
    pub tail: usize,
}

/// Runs `minlab replay`.
pub fn exec(args: &Args) -> anyhow::Result<Outcome> {
    let scenario = Scenario::load(&args.scenario)?;
    let path = args
        .trace
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}-{}.trace.jsonl", scenario.name, args.seed)));
    let file = std::fs::File::create(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let start = now();
    let report = run(
        &scenario,
        args.seed,
        RunOptions {
            trace: Some(Box::new(std::io::BufWriter::new(file))),
        },
    )?;
    print_summary(&report, start.elapsed().as_secs_f64());
    println!("trace: {}", path.display());
    if report.violations.is_empty() {
        return Ok(if report.passed {
            Outcome::Held
        } else {
            Outcome::Violated
        });
    }
    let reader = std::io::BufReader::new(
        std::fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    let mut window = std::collections::VecDeque::with_capacity(args.tail + 1);
    for line in reader.lines() {
        let line = line?;
        let is_violation = line.contains("\"ev\":\"violation\"");
        window.push_back(line);
        if window.len() > args.tail + 1 {
            window.pop_front();
        }
        if is_violation {
            break;
        }
    }
    println!(
        "the last {} events up to the first violation:",
        window.len()
    );
    for l in window {
        println!("  {l}");
    }
    Ok(Outcome::Violated)
}
