//! `minlab check`: exhaustive (or random-walk) model checking of MinBFT and MinZyzyva with
//! stateright, over the unchanged protocol code.

use crate::Outcome;
use minlab_check::cli::CheckArgs;
use minlab_check::minzyzyva::check_minzyzyva;
use minlab_check::{Outcome as PropOutcome, check_minbft};

/// Arguments of `minlab check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand, Debug)]
enum What {
    /// MinBFT with 2f + 1 replicas, bounded clients, requests and view changes.
    Minbft(CheckArgs),
    /// MinZyzyva (speculative) with 2f + 1 replicas, the same options, --crash included
    /// (moves: silent, subset, burn-counter, equivocate, req-view-change, early-view-change).
    Minzyzyva(CheckArgs),
}

/// Runs `minlab check`.
pub fn exec(args: &Args) -> anyhow::Result<Outcome> {
    let (a, zyzyva) = match &args.what {
        What::Minbft(a) => (a, false),
        What::Minzyzyva(a) => (a, true),
    };
    let cfg = a.to_config().map_err(|e| anyhow::anyhow!("{e}"))?;
    if zyzyva {
        minlab_check::minzyzyva::validate(&cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    if a.scenario_out.is_some() && cfg.crash_replica.is_some() {
        anyhow::bail!(
            "--scenario-out: crash and recovery (--crash) cannot be replayed in the simulator yet"
        );
    }
    if let Some(addr) = &a.explore {
        let explorer = if zyzyva {
            minlab_check::explore_minzyzyva(&cfg, addr)
        } else {
            minlab_check::explore(&cfg, addr)
        }
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "stateright Explorer at http://{} (Ctrl-C to stop)",
            explorer.addr
        );
        loop {
            std::thread::park();
        }
    }
    let start = crate::run_cmd::now();
    let report = if zyzyva {
        check_minzyzyva(&cfg, || start.elapsed())
    } else {
        check_minbft(&cfg, || start.elapsed())
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} states ({} unique), depth {}, {:.2} s, {} states/s, {}",
            report.states,
            report.unique_states,
            report.max_depth,
            report.elapsed.as_secs_f64(),
            report.states_per_second(),
            if report.exhaustive {
                "whole bounded space explored"
            } else {
                "search bounded or stopped at a violation"
            }
        );
        for p in &report.properties {
            let (word, path) = match &p.outcome {
                PropOutcome::Holds => ("holds", None),
                PropOutcome::Violated { path } => ("VIOLATED", Some(path)),
                PropOutcome::Found { path } => ("found", Some(path)),
                PropOutcome::NotFound => ("NOT FOUND", None),
            };
            println!("  {:<9} {:<48} {word}", format!("{:?}", p.kind), p.name);
            if let (PropOutcome::Violated { .. }, Some(path)) = (&p.outcome, path) {
                for step in path {
                    println!("      {step}");
                }
            }
        }
    }
    if let Some(path) = &a.scenario_out {
        write_scenario(&report, path, a.json)?;
    }
    Ok(if report.all_hold() {
        Outcome::Held
    } else {
        Outcome::Violated
    })
}

/// `--scenario-out FILE`: writes the first counterexample as a scenario and says so (on
/// stderr with `--json`, so stdout stays one JSON object).
fn write_scenario(
    report: &minlab_check::CheckReport,
    path: &std::path::Path,
    json: bool,
) -> anyhow::Result<()> {
    let say = |m: String| {
        if json {
            eprintln!("{m}");
        } else {
            println!("{m}");
        }
    };
    let Some(replay) = &report.replay else {
        say(format!(
            "no property violated: no scenario written to {}",
            path.display()
        ));
        return Ok(());
    };
    let text = replay
        .toml
        .as_ref()
        .map_err(|e| anyhow::anyhow!("--scenario-out: {e}"))?;
    std::fs::write(path, text)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    say(format!(
        "counterexample to \"{}\" written to {}: replay it with `minlab run {}`",
        replay.property,
        path.display(),
        path.display()
    ));
    if minlab_check::replay::simulator_oracle(replay.property).is_none() {
        say(format!(
            "note: the simulator has no oracle for \"{}\": the replay reproduces the run, \
             but its oracles will not flag it",
            replay.property
        ));
    }
    Ok(())
}
