//! `minlab`, the testbed's one command-line program. This file only parses the command
//! line and turns outcomes into exit codes; each subcommand lives in its own module.

mod bench_core;
mod bench_usig;
mod check_cmd;
mod client_cmd;
mod cluster_cmd;
mod cluster_tpm;
mod keygen;
mod net_common;
mod node_cmd;
mod plot_cmd;
mod replay;
mod report_cmd;
mod run_cmd;
mod shrink;
mod sweep;
mod tpm_cmd;

use clap::{Parser, Subcommand};

/// mimalloc: simulations allocate many small, short-lived objects (replies, events),
/// where it is markedly faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  minlab run scenarios/catalog/quickstart.toml            one seeded simulation
  minlab run scenarios/catalog/lossy-lan.toml --seed 7 --trace t.jsonl
  minlab sweep scenarios/catalog/*.toml --seeds 1..1001   many seeds, in parallel
  minlab replay scenarios/catalog/lossy-lan.toml --seed 7 trace and events before a violation
  minlab shrink scenarios/catalog/lossy-lan.toml --seed 7 a smaller scenario that still fails
  minlab check minbft --clients 1 --requests 1 --view-changes 1 --byzantine primary
  minlab check minzyzyva --byzantine primary --view-changes 1 --retransmits 3
  minlab bench core --clients 100 --batch-size 100 --json
  minlab bench usig                        USIG createUI/verifyUI per backend vs the paper
  minlab bench usig --json --backend hmac-sha1 ed25519
  minlab keygen --replicas 3 --out keys/   key files for a 3-replica deployment
  minlab cluster bench --usig hmac-sha1 --clients 1,64    3 replica processes over TCP
  minlab cluster init --out cl/ && minlab cluster up --config cl/cluster.toml
  minlab client --config cl/cluster.toml --clients 16 --duration 5s --json
  minlab plot --input run.json --kind cdf --out cdf.svg   a chart from `run --json` output
  minlab report paper --quick --out /tmp/paper   the paper's §7 figures and tables, regenerated

Exit codes: 0 all expectations held, 1 a property was violated, 2 bad input or usage.";

/// A testbed for hybrid Byzantine fault-tolerant replication (MinBFT, MinZyzyva).
#[derive(Parser, Debug)]
#[command(name = "minlab", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Simulate one scenario with one seed.
    Run(run_cmd::Args),
    /// Simulate scenarios over many seeds in parallel (or merge shard results).
    Sweep(sweep::Args),
    /// Re-run one seed with the full trace, showing the events before the first violation.
    Replay(replay::Args),
    /// Make a failing run smaller while it still fails, and write the smaller scenario.
    Shrink(shrink::Args),
    /// Model-check MinBFT or MinZyzyva with stateright over the unchanged protocol code.
    Check(check_cmd::Args),
    /// Set up a TPM 2.0 for the USIG and measure it (build with --features tpm).
    Tpm(tpm_cmd::Args),
    /// Measure building blocks on this machine.
    #[command(subcommand)]
    Bench(Bench),
    /// Generate key files for a real deployment, from OS randomness.
    Keygen(keygen::Args),
    /// Run one MinBFT replica process over TCP.
    Node(node_cmd::Args),
    /// Run closed-loop clients against a running cluster; throughput and latency.
    Client(client_cmd::Args),
    /// Write, start, stop or benchmark a cluster of replica processes on this machine.
    Cluster(cluster_cmd::Args),
    /// Draw a chart (latency CDF, throughput over time, per seed) from run/sweep JSON.
    Plot(plot_cmd::Args),
    /// Regenerate the paper's evaluation in simulation (figures and index pages).
    #[command(subcommand)]
    Report(report_cmd::Report),
}

#[derive(Subcommand, Debug)]
enum Bench {
    /// createUI/verifyUI latency per USIG backend, next to the paper's Table 3.
    Usig(bench_usig::Args),
    /// Requests/s of a MinBFT group in a single-threaded in-memory loop (no network).
    Core(bench_core::Args),
}

/// How a subcommand that ran to the end came out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Every expectation held: exit code 0.
    Held,
    /// A property was violated (already reported, with how to reproduce it): exit code 1.
    Violated,
}

/// Restores the default action of SIGPIPE, so that `minlab ... | head` ends quietly
/// instead of panicking on a closed stdout (Rust ignores SIGPIPE by default).
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Silences the TPM library's own stderr logging (it prints an ERROR line for every
/// expected failure, e.g. each probe of an absent handle during provisioning, and for each
/// retry of a connection): minlab reports the failures that matter itself, with the
/// response code. A TSS2_LOG the user set (e.g. `all+debug`) is kept.
fn quiet_tpm_library() {
    if std::env::var_os("TSS2_LOG").is_none() {
        // SAFETY: called in main before any thread exists, so nothing reads the
        // environment concurrently.
        unsafe { std::env::set_var("TSS2_LOG", "all+none") };
    }
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    quiet_tpm_library();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run_cmd::exec(&args),
        Command::Sweep(args) => sweep::exec(&args),
        Command::Replay(args) => replay::exec(&args),
        Command::Shrink(args) => shrink::exec(&args),
        Command::Check(args) => check_cmd::exec(&args),
        Command::Tpm(args) => tpm_cmd::exec(&args),
        Command::Bench(Bench::Usig(args)) => bench_usig::run(&args),
        Command::Bench(Bench::Core(args)) => bench_core::exec(&args),
        Command::Keygen(args) => keygen::run(&args),
        Command::Node(args) => node_cmd::exec(&args),
        Command::Client(args) => client_cmd::exec(&args),
        Command::Cluster(args) => cluster_cmd::exec(&args),
        Command::Plot(args) => plot_cmd::exec(&args),
        Command::Report(r) => report_cmd::exec(&r),
    };
    match result {
        Ok(Outcome::Held) => ExitCode::SUCCESS,
        Ok(Outcome::Violated) => ExitCode::from(1),
        // Errors that reach here are bad input or an unusable environment (a path that
        // cannot be written, ...): exit code 2, like clap's own usage errors.
        Err(e) => {
            eprintln!("minlab: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bench_is_a_group_of_subcommands() {
        let cli = Cli::try_parse_from(["minlab", "bench", "usig", "--json"]).unwrap();
        assert!(matches!(cli.command, Command::Bench(Bench::Usig(_))));
        let err = Cli::try_parse_from(["minlab", "bench"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
