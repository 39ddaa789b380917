//! What the network subcommands (`node`, `client`, `cluster`) share: logging setup, the
//! WAN-emulation flags and the tokio runtime.

use anyhow::{Result, anyhow};
use minlab_net::ClusterConfig;
use minlab_net::wan::WanDelay;
use std::path::PathBuf;

/// `--delay` / `--jitter`: WAN emulation on outgoing frames.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct WanArgs {
    /// Delay every outgoing frame by this much (one way), e.g. 10ms. This machine has no
    /// netem; the adapter holds frames itself.
    #[arg(long, value_name = "DURATION")]
    pub delay: Option<String>,
    /// Spread of the delay: uniform in delay ± jitter, as a percentage (10%) or a duration.
    #[arg(long, value_name = "PCT|DURATION", requires = "delay")]
    pub jitter: Option<String>,
}

impl WanArgs {
    /// The parsed distribution, if any.
    pub fn parse(&self) -> Result<Option<WanDelay>> {
        self.delay
            .as_deref()
            .map(|d| WanDelay::parse(d, self.jitter.as_deref()).map_err(|e| anyhow!(e)))
            .transpose()
    }

    /// The same flags, for a child process's command line.
    pub fn to_args(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(d) = &self.delay {
            v.extend(["--delay".to_string(), d.clone()]);
        }
        if let Some(j) = &self.jitter {
            v.extend(["--jitter".to_string(), j.clone()]);
        }
        v
    }
}

/// Structured logs on stderr; `filter` is a tracing filter such as `info` or
/// `minlab_net=debug`. Only the first call in a process takes effect.
pub fn init_tracing(filter: &str) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| anyhow!("--log {filter:?}: {e}"))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    Ok(())
}

/// A single-threaded tokio runtime: on a small machine several node processes share the
/// cores, and one thread per process avoids cross-thread wake-ups.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Where the next free client id of a running cluster is recorded.
pub fn next_client_path(config: &ClusterConfig) -> PathBuf {
    config.dir.join("data").join("next-client")
}

/// Reserves `count` client ids never used since the cluster started (`minlab cluster up`
/// resets the record): a client's request numbers restart at 1 in every run, and replicas
/// would take them for old requests of an id already used.
pub fn allocate_clients(config: &ClusterConfig, count: u32) -> Result<u32> {
    let path = next_client_path(config);
    let first: u32 = match std::fs::read_to_string(&path) {
        Ok(s) => s
            .trim()
            .parse()
            .map_err(|_| anyhow!("{} does not hold a client id", path.display()))?,
        Err(_) => 0,
    };
    let end = u64::from(first) + u64::from(count);
    if end > u64::from(config.client_count) {
        anyhow::bail!(
            "client ids {first}..{end} exceed the client table of {} (ids already used since the \
             cluster started are not reused); restart the cluster or pass --first-client",
            config.client_count
        );
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, format!("{end}\n"))?;
    Ok(first)
}
