//! `minlab client`: closed-loop load against a running cluster; throughput and latency.

use crate::Outcome;
use crate::net_common::{WanArgs, allocate_clients, init_tracing, runtime};
use anyhow::Result;
use minlab_net::{ClusterConfig, LoadOptions, LoadReport, run_load};
use std::path::PathBuf;
use std::time::Duration;

const EXAMPLES: &str = "\
Examples:
  minlab client --config cluster/cluster.toml --clients 1 --duration 5s
  minlab client --config cluster/cluster.toml --clients 64 --duration 10s --json

Each client keeps one request outstanding (closed loop) and submits the next as soon as it
completes: with MinBFT on f + 1 matching replies; with MinZyzyva on 2f + 1 matching
responses, or, when its timer fires first, on f + 1 LOCAL-COMMITs for the commit
certificate it sent (commits_sent in --json). Operations completed during --warmup are not
measured. Exit code 1 if no operation completed.";

/// Arguments of `minlab client`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The cluster file.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Number of closed-loop clients (at most the file's client_count).
    #[arg(long, default_value_t = 1, value_name = "C")]
    clients: u32,
    /// Id of the first client. By default, the next ids not used since `minlab cluster up`
    /// (recorded in DIR/data/next-client): request numbers restart at 1 in every run, so
    /// an id must not be reused against the same running replicas.
    #[arg(long, value_name = "ID")]
    first_client: Option<u32>,
    /// How long to measure, e.g. 5s.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Warm-up before measuring.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    wan: WanArgs,
    /// Log filter (tracing syntax).
    #[arg(long, default_value = "warn", value_name = "FILTER")]
    log: String,
}

/// Runs `minlab client`.
pub fn exec(args: &Args) -> Result<Outcome> {
    let config = ClusterConfig::load(&args.config)?;
    init_tracing(&args.log)?;
    let first_client = match args.first_client {
        Some(f) => f,
        None => allocate_clients(&config, args.clients)?,
    };
    let opts = LoadOptions {
        clients: args.clients,
        first_client,
        duration: args.duration,
        warmup: args.warmup,
        connect_timeout: Duration::from_secs(10),
        wan: args.wan.parse()?,
    };
    let report = runtime()?.block_on(run_load(&config, &opts))?;
    print_report(&report, args.json)?;
    Ok(outcome(&report))
}

/// Exit code 1 when the load completed nothing.
pub fn outcome(r: &LoadReport) -> Outcome {
    if r.completed_total == 0 {
        eprintln!("minlab: no operation completed");
        Outcome::Violated
    } else {
        Outcome::Held
    }
}

/// Prints a report as a line of text or as JSON.
pub fn print_report(r: &LoadReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(r)?);
    } else {
        println!("{}", report_line(r));
    }
    Ok(())
}

/// One human-readable line.
pub fn report_line(r: &LoadReport) -> String {
    let l = &r.latency;
    let commits = if r.commits_sent > 0 {
        format!(", {} commit certificates", r.commits_sent)
    } else {
        String::new()
    };
    format!(
        "clients {:>4}  {:>9.0} ops/s  latency p50 {:.0} µs  p90 {:.0} µs  p99 {:.0} µs  max {:.0} µs  ({} ops in {:.1} s, {} retransmits{commits})",
        r.clients,
        r.ops_per_s,
        l.p50_us,
        l.p90_us,
        l.p99_us,
        l.max_us,
        r.completed,
        r.measured_s,
        r.retransmits
    )
}
