//! `minlab node`: one replica process of a cluster file (MinBFT or MinZyzyva, as the file's
//! `[protocol] name` says), until SIGTERM or ctrl-c.

use crate::Outcome;
use crate::net_common::{WanArgs, init_tracing, runtime};
use anyhow::{Context, Result};
use minlab_net::{ClusterConfig, NodeOptions, start_node};
use std::path::PathBuf;
use std::sync::Arc;

const EXAMPLES: &str = "\
Examples:
  minlab node --config cluster/cluster.toml --id 0
  minlab node --config cluster/cluster.toml --id 1 --delay 10ms --jitter 10%

The replica keeps its durable USIG counter, its status (status.json, rewritten every
200 ms) and, under `minlab cluster up`, its log and pid file in DIR/data/replica-I/.
SIGTERM or ctrl-c stops it gracefully; SIGKILL is a crash. A MinBFT replica restarts with
a fresh state (or from its log with durable = true), a counter resumed above every value it
issued, and catches up by state transfer. A MinZyzyva replica refuses to start again (no
log, no state transfer): run a new cluster instead.";

/// Arguments of `minlab node`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The cluster file (`minlab cluster init` writes one).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Which replica of the file to run.
    #[arg(long, value_name = "I")]
    id: u32,
    #[command(flatten)]
    wan: WanArgs,
    /// Append every USIG counter value this replica issues to FILE (ranges, one line per
    /// step; for tests that check counters never repeat across restarts).
    #[arg(long, value_name = "FILE")]
    ui_log: Option<PathBuf>,
    /// Log filter (tracing syntax), e.g. info, debug, minlab_net=debug.
    #[arg(long, default_value = "info", value_name = "FILTER")]
    log: String,
}

/// Runs `minlab node`.
pub fn exec(args: &Args) -> Result<Outcome> {
    let config = ClusterConfig::load(&args.config)?;
    config.entry(args.id)?;
    init_tracing(&args.log)?;
    let mut opts = NodeOptions::new(args.id);
    opts.wan = args.wan.parse()?;
    opts.ui_log = args.ui_log.clone();
    runtime()?.block_on(async {
        let node = start_node(Arc::new(config), opts, None)
            .await
            .with_context(|| format!("starting replica {}", args.id))?;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down");
        node.stop().await;
        Ok(Outcome::Held)
    })
}
