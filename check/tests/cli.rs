//! The ready-made `clap` arguments parse into the configuration they describe.

use clap::Parser;
use minlab_check::cli::CheckArgs;
use minlab_check::{ByzMove, ByzantineRole, Mode};

#[derive(Parser)]
struct Cmd {
    #[command(flatten)]
    args: CheckArgs,
}

fn parse(args: &[&str]) -> Result<minlab_check::CheckConfig, String> {
    let cmd = Cmd::try_parse_from(std::iter::once("check").chain(args.iter().copied()))
        .map_err(|e| e.to_string())?;
    cmd.args.to_config().map_err(|e| e.to_string())
}

#[test]
fn arguments_map_to_the_configuration() {
    let cfg = parse(&[
        "--clients",
        "2",
        "--requests",
        "1",
        "--view-changes",
        "1",
        "--byzantine",
        "primary",
        "--moves",
        "subset,burn-counter",
        "--lossy",
        "--dfs",
        "--threads",
        "2",
    ])
    .unwrap();
    assert_eq!(
        (cfg.replicas, cfg.clients, cfg.requests, cfg.view_changes),
        (3, 2, 1, 1)
    );
    assert_eq!(cfg.byzantine, ByzantineRole::Primary);
    assert_eq!(
        cfg.byzantine_moves,
        vec![ByzMove::Subset, ByzMove::BurnCounter]
    );
    assert!(cfg.lossy && !cfg.duplicating);
    assert_eq!((cfg.mode, cfg.threads), (Mode::Dfs, 2));
    let crash = parse(&[
        "--crash",
        "2",
        "--restarts",
        "2",
        "--lost-counter-values",
        "1",
    ])
    .unwrap();
    assert_eq!(
        (
            crash.crash_replica,
            crash.restarts,
            crash.lost_counter_values
        ),
        (Some(2), 2, 1)
    );
    let sim = parse(&["--simulation", "9", "--states-max", "100"]).unwrap();
    assert_eq!(sim.mode, Mode::Simulation { seed: 9 });
}

#[test]
fn bad_arguments_are_refused() {
    assert!(parse(&["--moves", "teleport"]).is_err());
    assert!(
        parse(&["--simulation", "9"]).is_err(),
        "simulation needs a state bound"
    );
    assert!(parse(&["--replicas", "4"]).is_err());
    assert!(
        parse(&["--restarts", "2"]).is_err(),
        "--restarts needs --crash"
    );
    let e = parse(&["--crash", "0", "--byzantine", "primary"]).unwrap_err();
    assert!(e.contains("must not be the Byzantine one"), "{e}");
}

#[test]
fn mutant_flag_needs_the_feature_and_a_known_name() {
    let r = parse(&["--mutant", "skip-no-hole"]);
    #[cfg(feature = "mutants")]
    {
        use minlab_protocols::minbft::Mutant;
        assert_eq!(r.unwrap().mutant, Some(Mutant::SkipNoHole));
        let e = parse(&["--mutant", "teleport"]).unwrap_err();
        assert!(
            e.contains("unknown mutant") && e.contains("execute-twice"),
            "{e}"
        );
    }
    #[cfg(not(feature = "mutants"))]
    {
        let e = r.unwrap_err();
        assert!(e.contains("built without") && e.contains("mutants"), "{e}");
    }
    let cfg = parse(&["--byzantine", "next-primary", "--moves", "alter-new-view"]).unwrap();
    assert_eq!(cfg.byzantine, ByzantineRole::NextPrimary);
    assert_eq!(cfg.byzantine_replica(), Some(1));
    assert_eq!(cfg.byzantine_moves, vec![ByzMove::AlterNewView]);
}

// `--explore`: the Explorer answers over HTTP; an address in use or that does not parse is
// an error, never stateright's panic.
#[test]
fn the_explorer_serves_and_bad_addresses_are_refused() {
    use std::io::{Read, Write};
    let cfg = parse(&["--explore", "127.0.0.1:0"]).unwrap();
    let explorer = minlab_check::explore(&cfg, "127.0.0.1:0").expect("serves");
    let mut s = std::net::TcpStream::connect(explorer.addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        s,
        "GET /.status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("\"no duplicate execution\""), "{body}");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let e = minlab_check::explore(&cfg, &addr).unwrap_err().to_string();
    assert!(e.contains("--explore"), "{e}");
    assert!(minlab_check::explore(&cfg, "not an address").is_err());
    assert!(parse(&["--explore", "127.0.0.1:0", "--json"]).is_err());
}
