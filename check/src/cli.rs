//! A ready-made `clap` argument set for `minlab check minbft` and `minlab check
//! minzyzyva`, so the binary only parses, calls the checker with its clock, and prints.

use crate::config::{ByzMove, ByzantineRole, CheckConfig, ConfigError, Mode};
use clap::{Args, ValueEnum};

/// The `--moves` name of [`CheckConfig::lie_installed_view`].
pub const LIE_INSTALLED_VIEW: &str = "lie-installed-view";
/// The `--moves` name of [`CheckConfig::lie_installed_view`] with
/// [`CheckConfig::lie_with_checkpoint`].
pub const LIE_WITH_CHECKPOINT: &str = "lie-installed-view-with-checkpoint";

/// Which replica is Byzantine, on the command line.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum ByzantineArg {
    /// All replicas correct.
    None,
    /// The primary of view 0.
    Primary,
    /// A backup of view 0.
    Backup,
    /// The primary of view 1.
    NextPrimary,
}

/// `minlab check minbft` and `minlab check minzyzyva` options.
///
/// Example: `minlab check minbft --clients 2 --requests 1 --byzantine primary --moves silent`
#[derive(Clone, Debug, Args)]
pub struct CheckArgs {
    /// Replicas (2f + 1).
    #[arg(long, default_value_t = 3)]
    pub replicas: u32,
    /// Clients.
    #[arg(long, default_value_t = 1)]
    pub clients: u32,
    /// Requests per client, one outstanding at a time.
    #[arg(long, default_value_t = 1)]
    pub requests: u32,
    /// Bound on views: view-change timers fire only below this view (0 = none).
    #[arg(long, default_value_t = 0)]
    pub view_changes: u64,
    /// Retransmissions each client may make.
    #[arg(long, default_value_t = 0)]
    pub retransmits: u32,
    /// Most requests per PREPARE (MinBFT) or ORDER-REQ (MinZyzyva); the batch timer may
    /// fire at any moment.
    #[arg(long, default_value_t = 1)]
    pub batch_size: u32,
    /// Which replica is Byzantine.
    #[arg(long, value_enum, default_value_t = ByzantineArg::None)]
    pub byzantine: ByzantineArg,
    /// The Byzantine menu, comma-separated: silent, subset, burn-counter, equivocate,
    /// replay, req-view-change, alter-view-change, alter-new-view, eager-reply, amnesia,
    /// early-view-change, lie-installed-view, lie-installed-view-with-checkpoint
    /// (compromised-usig breaks the fault model on purpose). MinZyzyva
    /// offers silent, subset, burn-counter, equivocate, req-view-change, early-view-change.
    #[arg(long, value_delimiter = ',', default_value = "silent")]
    pub moves: Vec<String>,
    /// The network may drop messages.
    #[arg(long)]
    pub lossy: bool,
    /// The network may deliver messages more than once.
    #[arg(long)]
    pub duplicating: bool,
    /// Breadth-first (the default; shortest counterexamples).
    #[arg(long, conflicts_with_all = ["simulation", "dfs"])]
    pub bfs: bool,
    /// Depth-first instead of breadth-first.
    #[arg(long, conflicts_with = "simulation")]
    pub dfs: bool,
    /// Random walks with this seed instead of exhaustive search (needs --states-max).
    #[arg(long)]
    pub simulation: Option<u64>,
    /// Checker threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Stop exploring below this depth.
    #[arg(long)]
    pub depth_max: Option<usize>,
    /// Stop after this many states.
    #[arg(long)]
    pub states_max: Option<usize>,
    /// The replica that may crash and recover from its write-ahead log and surviving USIG
    /// counter at any point (every replica is then durable; it counts as correct).
    #[arg(long)]
    pub crash: Option<u32>,
    /// Bound on the crashing replica's crash-recover cycles.
    #[arg(long, default_value_t = 1, requires = "crash")]
    pub restarts: u32,
    /// Counter values each crash consumes inside the write-ahead window (never sent nor
    /// logged; a recovered MinBFT replica announces them with RESTART, a MinZyzyva one
    /// re-certifies its checkpoints and, as primary, asks for a view change).
    #[arg(long, default_value_t = 0, requires = "crash")]
    pub lost_counter_values: u64,
    /// Serve stateright's Explorer (a web UI to walk the model) on this address, e.g.
    /// 127.0.0.1:3000, instead of checking; runs until interrupted.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["json", "simulation", "dfs"])]
    pub explore: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the first violated property's counterexample to FILE as a scenario that
    /// `minlab run FILE` replays step by step in the simulator (not with --crash).
    #[arg(long, value_name = "FILE", conflicts_with = "explore")]
    pub scenario_out: Option<std::path::PathBuf>,
    /// TEST-ONLY: run every replica with a seeded bug (commit-quorum, skip-no-hole,
    /// ignore-fifo, drop-from-s, trust-new-view, execute-twice, no-revocation,
    /// count-gapped-view-changes; with --crash: amnesia, log-after-send,
    /// restart-any-position; MinZyzyva: speculative-quorum, ignore-fifo, no-rollback);
    /// needs a minlab built with `--features mutants`.
    #[arg(long)]
    pub mutant: Option<String>,
}

impl CheckArgs {
    #[cfg(feature = "mutants")]
    fn mutant(&self) -> Result<Option<minlab_protocols::minbft::Mutant>, ConfigError> {
        use minlab_protocols::minbft::Mutant;
        self.mutant
            .as_deref()
            .map(|m| {
                Mutant::from_name(m.trim()).ok_or_else(|| {
                    let known: Vec<&str> = Mutant::ALL.iter().map(|m| m.name()).collect();
                    ConfigError(format!(
                        "unknown mutant {m:?} (known: {})",
                        known.join(", ")
                    ))
                })
            })
            .transpose()
    }

    /// The check these arguments describe.
    pub fn to_config(&self) -> Result<CheckConfig, ConfigError> {
        let lie_with_checkpoint = self.moves.iter().any(|m| m.trim() == LIE_WITH_CHECKPOINT);
        let lie_installed_view =
            lie_with_checkpoint || self.moves.iter().any(|m| m.trim() == LIE_INSTALLED_VIEW);
        let byzantine_moves = self
            .moves
            .iter()
            .filter(|m| ![LIE_INSTALLED_VIEW, LIE_WITH_CHECKPOINT].contains(&m.trim()))
            .map(|m| {
                ByzMove::from_name(m.trim())
                    .ok_or_else(|| ConfigError(format!("unknown Byzantine move {m:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cfg = CheckConfig {
            replicas: self.replicas,
            clients: self.clients,
            requests: self.requests,
            view_changes: self.view_changes,
            retransmits: self.retransmits,
            batch_size: self.batch_size,
            byzantine: match self.byzantine {
                ByzantineArg::None => ByzantineRole::None,
                ByzantineArg::Primary => ByzantineRole::Primary,
                ByzantineArg::Backup => ByzantineRole::Backup,
                ByzantineArg::NextPrimary => ByzantineRole::NextPrimary,
            },
            byzantine_moves,
            lie_installed_view,
            lie_with_checkpoint,
            lossy: self.lossy,
            duplicating: self.duplicating,
            mode: match (self.simulation, self.dfs) {
                (Some(seed), _) => Mode::Simulation { seed },
                (None, true) => Mode::Dfs,
                (None, false) => Mode::Bfs,
            },
            threads: self.threads,
            depth_max: self.depth_max,
            states_max: self.states_max,
            crash_replica: self.crash,
            restarts: self.restarts,
            lost_counter_values: self.lost_counter_values,
            #[cfg(feature = "mutants")]
            mutant: self.mutant()?,
        };
        #[cfg(not(feature = "mutants"))]
        if let Some(m) = &self.mutant {
            return Err(ConfigError(format!(
                "--mutant {m}: this minlab was built without the test-only feature `mutants` \
                 (build it with `cargo build --features mutants`)"
            )));
        }
        cfg.validate()?;
        Ok(cfg)
    }
}
