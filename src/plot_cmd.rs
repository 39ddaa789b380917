//! `minlab plot`: draws a chart (latency CDF, throughput over time, throughput per seed)
//! from `minlab run --json` or `minlab sweep --json` output, or a message-sequence chart
//! from a `minlab run --trace` file, as SVG or PNG.

use crate::Outcome;
use anyhow::bail;
use minlab_reports::{InputData, RunData, render};
use minlab_reports::{figures, sequence, trace};
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
    /// Message-sequence chart of a window of a `minlab run --trace` file.
    Sequence,
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
  minlab plot --input sweep.json --kind seeds --out seeds.svg
  minlab run scenarios/catalog/quickstart.toml --trace trace.jsonl
  minlab plot --input trace.jsonl --kind sequence --out seq.svg --max-messages 30
  minlab plot --input trace.jsonl --kind sequence --from 400000 --to 700000 --out seq.png")]
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
    /// --kind sequence: first virtual time shown, ns.
    #[arg(long, value_name = "NS", default_value_t = 0)]
    pub from: u64,
    /// --kind sequence: last virtual time shown, ns (default: the end of the trace).
    #[arg(long, value_name = "NS")]
    pub to: Option<u64>,
    /// --kind sequence: the most messages shown (the first ones from --from), at most 200.
    #[arg(long, value_name = "N", default_value_t = 40)]
    pub max_messages: usize,
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

fn sequence(args: &Args) -> anyhow::Result<()> {
    let [path] = args.input.as_slice() else {
        bail!("--kind sequence draws one trace; give exactly one --input");
    };
    let to = args.to.unwrap_or(u64::MAX);
    if args.from > to {
        bail!("--from {} is after --to {to}", args.from);
    }
    if args.max_messages == 0 || args.max_messages > sequence::MAX_MESSAGES {
        bail!(
            "--max-messages must be 1 to {} (more arrows would not be legible); narrow --from/--to instead",
            sequence::MAX_MESSAGES
        );
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
    let w = trace::window(&text, path, args.from, to, args.max_messages)?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let title = format!(
        "Message sequence: {name}, {:.3} to {:.3} ms",
        w.events.first().map_or(0, |e| e.t_ns) as f64 / 1e6,
        w.events.last().map_or(0, |e| e.t_ns) as f64 / 1e6
    );
    sequence::render_sequence(&w, &title, &args.out)?;
    Ok(())
}

/// Runs `minlab plot`.
pub fn exec(args: &Args) -> anyhow::Result<Outcome> {
    minlab_reports::Format::of(&args.out)?;
    if args.kind != Kind::Sequence && (args.from != 0 || args.to.is_some()) {
        bail!("--from/--to apply to --kind sequence only");
    }
    let chart = match args.kind {
        Kind::Sequence => {
            sequence(args)?;
            eprintln!("wrote {}", args.out.display());
            return Ok(Outcome::Held);
        }
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
