//! `minlab report paper`: runs the paper's evaluation (§7) in simulation, with a progress
//! bar, and writes the figures and the index pages.

use crate::Outcome;
use crate::run_cmd::now;
use indicatif::{ProgressBar, ProgressStyle};
use minlab_reports::paper::results::SEEDS_MAX;
use minlab_reports::paper::{Plan, reproduce};
use std::path::PathBuf;

/// Which report.
#[derive(clap::Subcommand, Debug)]
pub enum Report {
    /// Regenerate the paper's Figs. 4-7 and Tables 1 and 4 (SVG, PNG, index.html, index.md).
    #[command(after_help = "Examples:
  minlab report paper --quick --out /tmp/paper     under a minute (3 seeds per point)
  minlab report paper --out docs/paper            the full run (5 seeds per point, minutes)
  minlab report paper --quick --seeds 1           one simulation per point (seed 1)")]
    Paper(PaperArgs),
}

/// Arguments of `minlab report paper`.
#[derive(clap::Args, Debug)]
pub struct PaperArgs {
    /// Directory for the figures and index pages (created if missing).
    #[arg(long, default_value = "paper-report")]
    pub out: PathBuf,
    /// Fewer points and shorter runs.
    #[arg(long)]
    pub quick: bool,
    /// Run every point under seeds 1..=K and show the mean with the min–max spread
    /// (default: 5, or 3 with --quick).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=SEEDS_MAX))]
    pub seeds: Option<u64>,
}

/// Runs `minlab report ...`.
pub fn exec(r: &Report) -> anyhow::Result<Outcome> {
    let Report::Paper(args) = r;
    let mut plan = if args.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    if let Some(k) = args.seeds {
        plan.seeds = k;
    }
    let total = plan.jobs().len() as u64 * plan.seeds;
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} simulations, eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let start = now();
    let (files, failures) = reproduce(&plan, &args.out, &|done, _| bar.set_position(done as u64))?;
    bar.finish_and_clear();
    eprintln!(
        "{} simulations ({} seeds per point) in {:.1} s; wrote {} files, open {}",
        total,
        plan.seeds,
        start.elapsed().as_secs_f64(),
        files.len(),
        args.out.join("index.html").display()
    );
    if failures.is_empty() {
        Ok(Outcome::Held)
    } else {
        for f in &failures {
            eprintln!("run failed an expectation: {f}");
        }
        Ok(Outcome::Violated)
    }
}
