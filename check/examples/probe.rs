//! Measures checking speed in release mode with the same options as `minlab check minbft`,
//! without building the whole `minlab` program:
//! `cargo run --release -p minlab-check --example probe -- --clients 2 --view-changes 1
//! --retransmits 1 --byzantine primary --moves silent` (`--minzyzyva` checks MinZyzyva; with
//! `PROBE_FOUND=1` in the environment the `sometimes` examples are printed too).
use clap::Parser;
use minlab_check::cli::CheckArgs;
use minlab_check::{Outcome, check_minbft};

#[derive(Parser)]
struct Cmd {
    /// Check MinZyzyva instead of MinBFT.
    #[arg(long)]
    minzyzyva: bool,
    #[command(flatten)]
    args: CheckArgs,
}

// An example program may read the wall clock; the library never does.
#[allow(clippy::disallowed_methods)]
fn main() {
    let cmd = Cmd::parse();
    let cfg = match cmd.args.to_config() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let start = std::time::Instant::now();
    let r = if cmd.minzyzyva {
        minlab_check::minzyzyva::check_minzyzyva(&cfg, || start.elapsed())
    } else {
        check_minbft(&cfg, || start.elapsed())
    };
    let r = match r {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    println!(
        "states {} unique {} depth {} exhaustive {} in {:.2} s: {} states/s",
        r.states,
        r.unique_states,
        r.max_depth,
        r.exhaustive,
        r.elapsed.as_secs_f64(),
        r.states_per_second()
    );
    for p in &r.properties {
        let o = match &p.outcome {
            Outcome::Violated { path } => format!("VIOLATED\n      {}", path.join("\n      ")),
            Outcome::Found { path } if std::env::var_os("PROBE_FOUND").is_some() => {
                format!("found\n      {}", path.join("\n      "))
            }
            Outcome::Found { .. } => "found".into(),
            o => format!("{o:?}"),
        };
        println!("    {}: {}", p.name, o);
    }
}
