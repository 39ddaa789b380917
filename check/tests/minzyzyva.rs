//! Model-checking tests of small MinZyzyva configurations (paper §5): the properties hold,
//! the `sometimes` properties are reached (gracious completion, the commit path, a view
//! change, completion after it), Byzantine replicas limited by their USIG cannot break
//! them, bad configurations are refused, and state counts are pinned (re-pin deliberately
//! when the protocol's reachable states change, after checking the properties still hold).

use minlab_check::minzyzyva::model::names as z;
use minlab_check::model::names;
use minlab_check::{ByzMove, ByzantineRole, CheckConfig, CheckReport, Outcome};

mod common;
use common::run_minzyzyva as run;

fn found(r: &CheckReport, name: &str) -> bool {
    matches!(
        r.property(name).expect("property is registered").outcome,
        Outcome::Found { .. }
    )
}

fn byzantine(role: ByzantineRole, moves: &[ByzMove], cfg: CheckConfig) -> CheckConfig {
    CheckConfig {
        byzantine: role,
        byzantine_moves: moves.to_vec(),
        ..cfg
    }
}

// Gracious execution: 3 replicas, 1 client, 1 request, all correct; the client completes
// on 2f + 1 matching RESPONSEs after REQUEST, ORDER-REQ, RESPONSE.
#[test]
fn gracious_execution_holds_and_completes() {
    let r = run(&CheckConfig::default());
    assert!(r.exhaustive && r.all_hold());
    assert_eq!((r.unique_states, r.max_depth), (19, 7));
    let Outcome::Found { path } = &r.property(names::REQUEST_COMPLETES).unwrap().outcome else {
        unreachable!()
    };
    assert!(path.iter().any(|s| s.contains("ORDER-REQ")), "{path:#?}");
    assert_eq!(path.iter().filter(|s| s.contains("RESPONSE")).count(), 3);
}

// Two clients whose PUT and GET race on one key: every interleaving of the primary's
// ORDER-REQs and the responses is linearizable and the histories agree.
#[test]
fn two_clients_hold() {
    let r = run(&CheckConfig {
        clients: 2,
        ..CheckConfig::default()
    });
    assert!(r.exhaustive && r.all_hold());
    assert_eq!(r.unique_states, 549);
}

// The same two clients with batches of two: the primary may order both requests under one
// UI_p (each backup answers with one UI_s, each RESPONSE with its Merkle paths) or, when
// its batch timer fires first, one at a time; every interleaving holds.
#[test]
fn two_clients_batched_hold() {
    let r = run(&CheckConfig {
        clients: 2,
        batch_size: 2,
        ..CheckConfig::default()
    });
    assert!(r.exhaustive && r.all_hold());
    assert_eq!(r.unique_states, 787);
}

// Batches of two under a Byzantine primary that may be silent, send to a subset, or order
// a request again under a fresh UI_p, with a view change: safety holds and view 1 forms.
#[test]
fn batches_under_a_byzantine_primary_and_a_view_change_hold() {
    let cfg = byzantine(
        ByzantineRole::Primary,
        &[ByzMove::Silent, ByzMove::Subset, ByzMove::Equivocate],
        CheckConfig {
            clients: 2,
            batch_size: 2,
            view_changes: 1,
            retransmits: 1,
            ..CheckConfig::default()
        },
    );
    let r = run(&cfg);
    assert!(r.exhaustive && r.safety_holds());
    assert!(found(&r, names::VIEW_CHANGE_COMPLETES));
    assert_eq!(r.unique_states, 5469);
}

// The configuration with one client: a mute Byzantine primary; the client's
// timer resends the request to every replica, backups forward it and suspect the primary,
// a view change installs view 1, and the request completes there, gracefully or with a
// commit certificate (LOCAL-COMMITs).
#[test]
fn silent_primary_view_change_holds_and_completes_after_it() {
    let cfg = byzantine(
        ByzantineRole::Primary,
        &[ByzMove::Silent],
        CheckConfig {
            view_changes: 1,
            retransmits: 3,
            ..CheckConfig::default()
        },
    );
    let r = run(&cfg);
    assert!(r.exhaustive && r.all_hold());
    for p in [
        names::VIEW_CHANGE_COMPLETES,
        names::COMPLETES_AFTER_VIEW_CHANGE,
        z::COMPLETES_VIA_COMMIT,
    ] {
        assert!(found(&r, p), "{p}");
    }
    assert_eq!(r.unique_states, 7761);
}

// A Byzantine primary that orders a request a second time under a fresh UI_p (as the
// simulator's duplicate-order script): V_req stops a second execution, histories agree.
#[test]
fn equivocating_primary_is_harmless() {
    let cfg = byzantine(
        ByzantineRole::Primary,
        &[ByzMove::Equivocate],
        CheckConfig {
            retransmits: 1,
            ..CheckConfig::default()
        },
    );
    let r = run(&cfg);
    assert!(r.exhaustive && r.all_hold());
    assert!(found(&r, z::COMPLETES_VIA_COMMIT));
    assert_eq!(r.unique_states, 51614);
}

// A Byzantine backup that sends a VIEW-CHANGE early (and keeps working in view 0, so its
// later RESPONSEs are not in that VIEW-CHANGE's O) and a spurious REQ-VIEW-CHANGE: with
// the client completing only on 2f + 1 responses or a commit certificate nothing is lost.
#[test]
fn early_view_change_of_a_backup_is_harmless() {
    let cfg = byzantine(
        ByzantineRole::Backup,
        &[ByzMove::EarlyViewChange, ByzMove::ReqViewChange],
        CheckConfig {
            view_changes: 1,
            ..CheckConfig::default()
        },
    );
    let r = run(&cfg);
    assert!(r.exhaustive && r.safety_holds());
    assert!(found(&r, names::REQUEST_COMPLETES));
    assert_eq!(r.unique_states, 715);
}

// What the MinZyzyva model cannot check is refused with a clear error (crash recovery is
// checked: check/tests/minzyzyva_recovery.rs).
#[test]
fn unsupported_configurations_are_refused() {
    let crash = CheckConfig {
        crash_replica: Some(1),
        ..CheckConfig::default()
    };
    assert!(minlab_check::minzyzyva::validate(&crash).is_ok());
    let crash_byzantine = CheckConfig {
        byzantine: ByzantineRole::Backup,
        crash_replica: Some(2),
        ..CheckConfig::default()
    };
    let e = minlab_check::minzyzyva::validate(&crash_byzantine).unwrap_err();
    assert!(e.0.contains("must not be the Byzantine one"), "{e}");
    let replay = byzantine(
        ByzantineRole::Primary,
        &[ByzMove::Replay],
        CheckConfig::default(),
    );
    let e = minlab_check::minzyzyva::validate(&replay).unwrap_err();
    assert!(
        e.0.contains("replay") && e.0.contains("early-view-change"),
        "{e}"
    );
}
