//! `minlab plot`: draws a chart (latency CDF, throughput over time, throughput per seed)
//! from `minlab run --json` or `minlab sweep --json` output, as SVG or PNG.

use crate::Outcome;
use anyhow::bail;
use minlab_reports::figures;
use minlab_reports::{InputData, RunData, render};
use std::path::PathBuf;

/// Which chart to draw.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Latency CDF of one or more runs (one curve per --input).
    Cdf,
    /// Throughput over time of one run, view changes marked.
    Timeline,
    /// Throughput per seed of a sweep, one line per scenario.
    Seeds,
}

/// Arguments of `minlab plot`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  minlab run scenarios/catalog/quickstart.toml --json > run.json
  minlab plot --input run.json --kind cdf --out cdf.svg
  minlab plot --input a.json --input b.json --kind cdf --out both.png
  minlab run scenarios/catalog/crash-primary.toml --json > vc.json
  minlab plot --input vc.json --kind timeline --out timeline.png
  minlab sweep scenarios/catalog/quickstart.toml --seeds 1..21 --json > sweep.json
  minlab plot --input sweep.json --kind seeds --out seeds.svg")]
pub struct Args {
    /// A JSON file printed by `minlab run --json` or `minlab sweep --json` (repeat for
    /// several runs on one CDF).
    #[arg(long, required = true)]
    pub input: Vec<PathBuf>,
    /// The chart.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// The image to write: a .svg or .png file name.
    #[arg(long)]
    pub out: PathBuf,
}

fn run_of(path: &std::path::Path) -> anyhow::Result<RunData> {
    match InputData::load(path)? {
        InputData::Run(r) => Ok(*r),
        InputData::Sweep(_) => bail!(
            "{}: this is a `minlab sweep` output; --kind cdf and timeline need `minlab run --json` output (use --kind seeds for sweeps)",
            path.display()
        ),
    }
}

/// Runs `minlab plot`.
pub fn exec(args: &Args) -> anyhow::Result<Outcome> {
    minlab_reports::Format::of(&args.out)?;
    let chart = match args.kind {
        Kind::Cdf => {
            let runs: Vec<RunData> = args
                .input
                .iter()
                .map(|p| run_of(p))
                .collect::<Result<_, _>>()?;
            let labelled: Vec<(String, &RunData)> = runs
                .iter()
                .map(|r| (format!("{} (seed {})", r.scenario, r.seed), r))
                .collect();
            figures::latency_cdf(&labelled)?
        }
        Kind::Timeline => {
            let [path] = args.input.as_slice() else {
                bail!("--kind timeline draws one run; give exactly one --input");
            };
            let r = run_of(path)?;
            figures::throughput_timeline(&format!("{} (seed {})", r.scenario, r.seed), &r)?
        }
        Kind::Seeds => {
            let [path] = args.input.as_slice() else {
                bail!("--kind seeds draws one sweep; give exactly one --input");
            };
            match InputData::load(path)? {
                InputData::Sweep(s) => figures::sweep_throughput(&s)?,
                InputData::Run(_) => bail!(
                    "{}: this is a `minlab run` output; --kind seeds needs `minlab sweep --json` output",
                    path.display()
                ),
            }
        }
    };
    render(&chart, &args.out)?;
    eprintln!("wrote {}", args.out.display());
    Ok(Outcome::Held)
}
