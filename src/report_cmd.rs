//! `minlab report paper`: runs the paper's evaluation (§7) in simulation, with a progress
//! bar, and writes the figures and the index pages.

use crate::Outcome;
use crate::run_cmd::now;
use indicatif::{ProgressBar, ProgressStyle};
use minlab_reports::paper::{Plan, reproduce};
use std::path::PathBuf;

/// Which report.
#[derive(clap::Subcommand, Debug)]
pub enum Report {
    /// Regenerate the paper's Figs. 4-7 and Tables 1 and 4 (SVG, PNG, index.html, index.md).
    #[command(after_help = "Examples:
  minlab report paper --quick --out /tmp/paper     under a minute
  minlab report paper --out docs/paper            the full run (minutes)")]
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
}

/// Runs `minlab report ...`.
pub fn exec(r: &Report) -> anyhow::Result<Outcome> {
    let Report::Paper(args) = r;
    let plan = if args.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    let total = plan.jobs().len() as u64;
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
        "{} simulations in {:.1} s; wrote {} files, open {}",
        total,
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
