//! The checker has teeth: each seeded bug of the protocols crate (test-only feature
//! `mutants`, [`Mutant`]) is found, with a counterexample, in the smallest configuration
//! we found that exposes it (BFS, so the counterexample is a shortest one; the search
//! stops at the first violation). State counts and path lengths are pinned.
//! Run with `cargo test -p minlab-check --features mutants --test mutants`.
#![cfg(feature = "mutants")]

use minlab_check::minzyzyva::model::names as zyzyva_names;
use minlab_check::model::names;
use minlab_check::{ByzMove, ByzantineRole, CheckConfig, CheckReport, Outcome};
use minlab_protocols::minbft::Mutant;

mod common;
use common::{run, run_minzyzyva};

/// Checks `cfg` with mutant `m` and returns the counterexample of `property`, which must
/// be violated.
fn counterexample(m: Mutant, cfg: CheckConfig, property: &str) -> (CheckReport, Vec<String>) {
    violated(
        m,
        run(&CheckConfig {
            mutant: Some(m),
            ..cfg
        }),
        property,
    )
}

/// [`counterexample`] in the MinZyzyva model.
fn zyzyva_counterexample(
    m: Mutant,
    cfg: CheckConfig,
    property: &str,
) -> (CheckReport, Vec<String>) {
    violated(
        m,
        run_minzyzyva(&CheckConfig {
            mutant: Some(m),
            ..cfg
        }),
        property,
    )
}

fn violated(m: Mutant, r: CheckReport, property: &str) -> (CheckReport, Vec<String>) {
    assert!(!r.safety_holds() && !r.exhaustive, "{m:?} not found");
    let Outcome::Violated { path } = &r.property(property).expect("registered").outcome else {
        panic!("{m:?}: {property} must be violated");
    };
    assert!(!path.is_empty());
    let path = path.clone();
    (r, path)
}

fn byzantine(role: ByzantineRole, moves: &[ByzMove], cfg: CheckConfig) -> CheckConfig {
    CheckConfig {
        byzantine: role,
        byzantine_moves: moves.to_vec(),
        ..cfg
    }
}

fn with_view_change() -> CheckConfig {
    CheckConfig {
        view_changes: 1,
        ..CheckConfig::default()
    }
}

// Paper §4, condition 3: a backup that processes a PREPARE out of the primary's counter
// order executes a later batch at position 0. Two clients, all correct, no view change:
// the network delivers the primary's second PREPARE first to one backup.
#[test]
fn skip_no_hole_is_found() {
    let cfg = CheckConfig {
        clients: 2,
        ..CheckConfig::default()
    };
    let (r, path) = counterexample(Mutant::SkipNoHole, cfg, names::AGREEMENT);
    assert_eq!(path.len(), 5, "{path:#?}");
    assert!(path[2].contains("PREPARE v0 r0 cv2"), "{path:#?}");
    assert_eq!(r.unique_states, 5386);
}

// Paper §4, the FIFO rule (`V_acc`): one client with two requests, all correct; a backup
// that takes the second PREPARE before the first executes it at position 0.
#[test]
fn ignore_fifo_is_found() {
    let cfg = CheckConfig {
        requests: 2,
        ..CheckConfig::default()
    };
    let (r, path) = counterexample(Mutant::IgnoreFifo, cfg, names::AGREEMENT);
    assert_eq!(path.len(), 8, "{path:#?}");
    assert!(path.last().unwrap().contains("cv2"), "{path:#?}");
    assert_eq!(r.unique_states, 3261);
}

// Paper §4, S: with S taken from the new primary's O alone, a request the other backup
// executed in view 0 is missing from the new view the new primary installs.
#[test]
fn drop_from_s_is_found() {
    let (r, path) = counterexample(
        Mutant::DropFromS,
        with_view_change(),
        names::EXECUTED_DURABLE,
    );
    assert!(
        path.iter()
            .any(|s| s.contains("VIEW-CHANGE r2 to v1 |O|=1")),
        "{path:#?}"
    );
    assert_eq!(path.len(), 8, "{path:#?}");
    assert_eq!(r.unique_states, 5520);
}

// Paper §4, NEW-VIEW: a Byzantine new primary drops the accepted batch from S; the old
// primary, which does not recompute S, installs the view without it.
#[test]
fn trust_new_view_is_found() {
    let cfg = byzantine(
        ByzantineRole::NextPrimary,
        &[ByzMove::AlterNewView],
        with_view_change(),
    );
    let (r, path) = counterexample(Mutant::TrustNewView, cfg, names::EXECUTED_DURABLE);
    assert!(
        path.last().unwrap().contains("NEW-VIEW r1 v1 |S|=0"),
        "{path:#?}"
    );
    assert_eq!(path.len(), 9, "{path:#?}");
    assert_eq!(r.unique_states, 7935);
}

// Paper §4, exactly once (`V_req`): the new primary re-executes S's batch it executed in
// view 0.
#[test]
fn execute_twice_is_found() {
    let (r, path) = counterexample(
        Mutant::ExecuteTwice,
        with_view_change(),
        names::NO_DUPLICATE,
    );
    assert!(path.last().unwrap().contains("VIEW-CHANGE"), "{path:#?}");
    assert_eq!(path.len(), 8, "{path:#?}");
    assert_eq!(r.unique_states, 5522);
}

// Paper §4: a batch needs f + 1 votes. With f = 1 and the mutant, the primary executes a
// request on its own PREPARE; the backups, which never saw it, change view without it.
#[test]
fn commit_quorum_is_found() {
    let (r, path) = counterexample(
        Mutant::CommitQuorum,
        with_view_change(),
        names::EXECUTED_DURABLE,
    );
    assert!(!path.iter().any(|s| s.contains("PREPARE")), "{path:#?}");
    assert_eq!(path.len(), 8, "{path:#?}");
    assert_eq!(r.unique_states, 5182);
}

// Crash recovery, rule 2 (a replica that declared a gap never leads again): a Byzantine
// primary wipes its log after its first request executed at r1; its RESTART retracts that
// PREPARE at r2, which then takes the primary's next PREPARE at the same position.
#[test]
fn no_revocation_is_found() {
    let cfg = CheckConfig {
        requests: 2,
        ..byzantine(
            ByzantineRole::Primary,
            &[ByzMove::Amnesia],
            CheckConfig::default(),
        )
    };
    let (r, path) = counterexample(Mutant::NoRevocation, cfg, names::AGREEMENT);
    assert!(path.iter().any(|s| s.contains("amnesia")), "{path:#?}");
    assert!(path.last().unwrap().contains("RESTART"), "{path:#?}");
    assert_eq!(path.len(), 9, "{path:#?}");
    assert_eq!(r.unique_states, 20581);
}

// Crash recovery, rule 3 (a VIEW-CHANGE with a gap is not counted in V_vc): a Byzantine
// backup's COMMIT completed a request; it wipes its log, and its gapped VIEW-CHANGE forms
// the new view with the new primary's, without the request.
#[test]
fn count_gapped_view_changes_is_found() {
    let cfg = byzantine(
        ByzantineRole::Backup,
        &[ByzMove::Amnesia],
        with_view_change(),
    );
    let (r, path) = counterexample(Mutant::CountGappedViewChanges, cfg, names::EXECUTED_DURABLE);
    assert!(path.iter().any(|s| s.contains("amnesia")), "{path:#?}");
    assert!(
        path.last().unwrap().contains("VIEW-CHANGE r2 to v1"),
        "{path:#?}"
    );
    assert_eq!(path.len(), 10, "{path:#?}");
    assert_eq!(r.unique_states, 44726);
}

// The three recovery bugs the issue names are NOT safety bugs in this design, and the
// checker confirms it exhaustively: with the USIG counter surviving the crash, recovering
// without the log (amnesia) or losing records of messages that were sent (log after send)
// makes the recovered replica's RESTART retract messages, exactly what a Byzantine
// replica can do, and rules 2 and 3 make that harmless (the two tests above show each rule
// is needed). Processing a RESTART out of FIFO position only drops messages the replica
// could still retransmit (a liveness cost). A correct replica crashes once at any point,
// with a view change.
#[test]
fn the_crash_bugs_of_the_issue_are_absorbed_by_rules_2_and_3() {
    for (m, replica, lost, pin) in [
        (Mutant::Amnesia, 1, 0, 5545),
        (Mutant::LogAfterSend, 1, 0, 8317),
        (Mutant::RestartAnyPosition, 2, 1, 6688),
    ] {
        let r = run(&CheckConfig {
            mutant: Some(m),
            view_changes: 1,
            retransmits: 1,
            crash_replica: Some(replica),
            lost_counter_values: lost,
            ..byzantine(
                ByzantineRole::Primary,
                &[ByzMove::Silent],
                CheckConfig::default(),
            )
        });
        assert!(r.exhaustive && r.safety_holds(), "{m:?}: {r:#?}");
        assert_eq!(r.unique_states, pin, "{m:?}");
    }
}

// Random walks (`--simulation SEED`) report exact counterexample paths (stateright's own
// simulation checker could not rebuild paths through ignored actions; `walk.rs`).
#[test]
fn random_walks_find_skip_no_hole_with_an_exact_path() {
    let cfg = CheckConfig {
        clients: 2,
        mode: minlab_check::Mode::Simulation { seed: 3 },
        states_max: Some(200_000),
        ..CheckConfig::default()
    };
    let (_, path) = counterexample(Mutant::SkipNoHole, cfg, names::AGREEMENT);
    assert_eq!(path.len(), 6, "{path:#?}");
    assert!(path[5].contains("PREPARE v0 r0 cv2"), "{path:#?}");
}

// MinZyzyva (paper §5, step 5): a client completing on 2f matching responses. A Byzantine
// backup makes its VIEW-CHANGE for view 1 early, then answers the client's first request
// as usual: with the correct primary's response that is 2f = 2, and the request completes.
// The client's second request is resent to every replica, the other backup suspects the
// primary and, with the early VIEW-CHANGE, forms view 1 without the completed request:
// the new primary's history lacks it. The correct build holds on the same search budget.
#[test]
fn speculative_quorum_is_found() {
    let cfg = byzantine(
        ByzantineRole::Backup,
        &[ByzMove::EarlyViewChange],
        CheckConfig {
            requests: 2,
            view_changes: 1,
            retransmits: 1,
            ..CheckConfig::default()
        },
    );
    let (r, path) = zyzyva_counterexample(
        Mutant::SpeculativeQuorum,
        cfg.clone(),
        zyzyva_names::COMPLETED_NEVER_ROLLED_BACK,
    );
    assert!(
        path.iter().any(|s| s.contains("early-view-change")),
        "{path:#?}"
    );
    assert_eq!(
        path.iter().filter(|s| s.contains("RESPONSE v0")).count(),
        2,
        "{path:#?}"
    );
    assert_eq!((r.unique_states, path.len()), (25490, 9), "{path:#?}");
    let correct = run_minzyzyva(&CheckConfig {
        states_max: Some(r.states),
        ..cfg
    });
    assert!(correct.safety_holds() && correct.max_depth > path.len());
}

// MinZyzyva, the FIFO rule on the primary's counter: two clients, all correct; a backup
// that executes the primary's second ORDER-REQ as it arrives puts it at position 0, where
// the primary executed the first request.
#[test]
fn zyzyva_ignore_fifo_is_found() {
    let cfg = CheckConfig {
        clients: 2,
        ..CheckConfig::default()
    };
    let (r, path) =
        zyzyva_counterexample(Mutant::IgnoreFifo, cfg, zyzyva_names::SPECULATIVE_AGREEMENT);
    assert!(
        path.iter().any(|s| s.contains("ORDER-REQ v0 r0 cv2")),
        "{path:#?}"
    );
    assert_eq!(r.unique_states, 1005);
}

// MinZyzyva, rollback: two clients, all correct, a view change that leaves out the first
// request the primary executed speculatively. Without rollback the old primary keeps it,
// and the request the new primary orders first lands at position 1 there and 0 elsewhere.
// The state space needs random walks (seeded, exact path).
#[test]
fn no_rollback_is_found() {
    let cfg = CheckConfig {
        clients: 2,
        view_changes: 1,
        retransmits: 1,
        mode: minlab_check::Mode::Simulation { seed: 1 },
        states_max: Some(100_000),
        ..CheckConfig::default()
    };
    let (_, path) =
        zyzyva_counterexample(Mutant::NoRollback, cfg, zyzyva_names::SPECULATIVE_AGREEMENT);
    assert!(path.iter().any(|s| s.contains("NEW-VIEW")), "{path:#?}");
    assert_eq!(path.len(), 24, "{path:#?}");
}

// MinZyzyva crash recovery (the driver mutants, with a correct replica crashing once at
// any point). The primary's recovered history must be the one it had: recovering without
// the log (`amnesia`), or losing the records of the step that ordered the first request
// (`log-after-send`), leaves it a primary with an empty history whose next ORDER-REQ
// continues its counter stream, so the backups, which hold the first request, put the
// second at a position where the primary puts it first. Its lost counter value makes it
// ask for a view change, but that does not stop it ordering meanwhile. One client, two
// requests, no view change.
#[test]
fn zyzyva_crash_bugs_of_the_primary_are_found() {
    for m in [Mutant::Amnesia, Mutant::LogAfterSend] {
        let cfg = CheckConfig {
            requests: 2,
            crash_replica: Some(0),
            ..CheckConfig::default()
        };
        let (r, path) = zyzyva_counterexample(m, cfg, zyzyva_names::SPECULATIVE_AGREEMENT);
        assert!(path.iter().any(|s| s.contains("r0 recovers")), "{path:#?}");
        assert!(
            path.iter()
                .any(|s| s.contains("ORDER-REQ v0 r0 cv2 [c0#2]")),
            "{path:#?}"
        );
        assert_eq!((r.unique_states, path.len()), (327, 16), "{m:?}: {path:#?}");
    }
}

// A backup that forgets is not caught without a view change: its FIFO position on the
// primary's stream is back at 0, so it parks later ORDER-REQs until FILL-HOLE brings the
// ones it forgot, which it executes again in the same order; its VIEW-CHANGEs, whose `O`
// shows the values it forgot, are refused. Exhaustive, every safety property holds.
#[test]
fn zyzyva_crash_bugs_of_a_backup_need_a_view_change() {
    for m in [Mutant::Amnesia, Mutant::LogAfterSend] {
        for replica in [1, 2] {
            let r = run_minzyzyva(&CheckConfig {
                mutant: Some(m),
                requests: 2,
                crash_replica: Some(replica),
                ..CheckConfig::default()
            });
            assert!(r.exhaustive && r.safety_holds(), "{m:?} r{replica}: {r:#?}");
            assert_eq!(r.unique_states, 195, "{m:?} r{replica}");
        }
    }
}

// With a view change they are: the next primary (r1) installs view 1 and then forgets it
// (`amnesia`: back in view 0, it answers the primary's ORDER-REQ, and the request completes
// with that vote after r0 installed a view 1 without it; `log-after-send`: the records of
// its NEW-VIEW step are lost, so it no longer holds the request its view kept). A
// Byzantine backup sends its VIEW-CHANGE early. BFS finds both after about 450,000 states
// (13 s in release, see README); these seeded random walks find them in seconds, and the
// correct build holds on the same walks.
#[test]
fn zyzyva_crash_bugs_of_the_next_primary_are_found_by_random_walks() {
    let cfg = byzantine(
        ByzantineRole::Backup,
        &[ByzMove::EarlyViewChange],
        CheckConfig {
            view_changes: 1,
            retransmits: 1,
            crash_replica: Some(1),
            mode: minlab_check::Mode::Simulation { seed: 1 },
            states_max: Some(300_000),
            ..CheckConfig::default()
        },
    );
    for (m, steps) in [(Mutant::Amnesia, 35), (Mutant::LogAfterSend, 22)] {
        let (r, path) =
            zyzyva_counterexample(m, cfg.clone(), zyzyva_names::COMPLETED_NEVER_ROLLED_BACK);
        assert!(path.iter().any(|s| s.contains("r1 recovers")), "{path:#?}");
        assert!(
            path.iter().any(|s| s.contains("NEW-VIEW r1 v1")),
            "{path:#?}"
        );
        assert_eq!(path.len(), steps, "{m:?}: {path:#?}");
        let correct = run_minzyzyva(&CheckConfig {
            states_max: Some(r.states),
            ..cfg.clone()
        });
        assert!(correct.safety_holds(), "{correct:#?}");
    }
}
