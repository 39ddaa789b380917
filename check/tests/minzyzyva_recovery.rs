//! MinZyzyva crash recovery under the model checker: a correct replica crashes at any point
//! and recovers from its write-ahead log and surviving USIG counter (`Replica::recover`
//! and `Replica::resume`, see `minlab_protocols::minzyzyva::wal`), possibly with counter
//! values lost in the crash, and every MinZyzyva property still holds: the crashing
//! replica counts as correct. State counts are pinned.

use minlab_check::minzyzyva::check_minzyzyva;
use minlab_check::model::names;
use minlab_check::{ByzMove, ByzantineRole, CheckConfig, CheckReport, Outcome};
use std::time::Duration;

mod common;
use common::run_minzyzyva as run;

fn found(r: &CheckReport, name: &str) -> Vec<String> {
    match &r.property(name).expect("registered").outcome {
        Outcome::Found { path } => path.clone(),
        o => panic!("{name}: {o:?}"),
    }
}

/// A silent Byzantine primary forces a view change (the client resends twice: to every
/// replica, then to the new primary); `replica` crashes once at any point, and its crash
/// consumes `lost` counter values that were never sent nor logged.
fn backup_crashing(replica: u32, lost: u64) -> CheckConfig {
    CheckConfig {
        view_changes: 1,
        retransmits: 2,
        byzantine: ByzantineRole::Primary,
        byzantine_moves: vec![ByzMove::Silent],
        crash_replica: Some(replica),
        lost_counter_values: lost,
        ..CheckConfig::default()
    }
}

// A backup, or the next primary, crashes at any point of a run with a view change and
// recovers from its log: every property holds over the whole space, the view change
// completes, and the recovered replica goes on to execute the request.
#[test]
fn a_crashing_backup_recovers_and_every_property_holds() {
    for (replica, lost, pin) in [(1, 0, 4155), (2, 0, 4361), (1, 1, 7140), (2, 1, 3603)] {
        let r = run(&backup_crashing(replica, lost));
        assert!(
            r.exhaustive && r.safety_holds(),
            "r{replica} lost {lost}: {r:#?}"
        );
        found(&r, names::VIEW_CHANGE_COMPLETES);
        let path = found(&r, names::RECOVERED_EXECUTES);
        assert!(
            path.iter()
                .any(|s| s.contains(&format!("r{replica} recovers"))),
            "{path:#?}"
        );
        assert_eq!(r.unique_states, pin, "r{replica} lost {lost}");
    }
}

// The primary crashes at any point while its client runs two requests, and recovers: its
// log rebuilds the history, so the ORDER-REQ it sends next continues its stream. With a
// lost counter value its stream has a hole no FILL-HOLE can fill, so it asks for a view
// change at once (REQ-VIEW-CHANGE) and nothing it orders afterwards is executed by a
// backup; every property holds.
#[test]
fn a_crashing_primary_recovers_and_every_property_holds() {
    for (lost, restarts, pin) in [(0, 1, 165), (1, 1, 734), (0, 2, 383)] {
        let r = run(&CheckConfig {
            requests: 2,
            crash_replica: Some(0),
            lost_counter_values: lost,
            restarts,
            ..CheckConfig::default()
        });
        assert!(r.exhaustive && r.all_hold(), "lost {lost}: {r:#?}");
        let path = found(&r, names::RECOVERED_EXECUTES);
        assert!(path.iter().any(|s| s.contains("r0 recovers")), "{path:#?}");
        assert_eq!(
            path.iter().any(|s| s.contains("REQ-VIEW-CHANGE r0")),
            lost > 0,
            "{path:#?}"
        );
        assert_eq!(r.unique_states, pin, "lost {lost} restarts {restarts}");
    }
}

// The primary crashes at any point of a run where a view change may happen: a mute
// Byzantine backup sends one spurious REQ-VIEW-CHANGE at a moment of its choosing, which
// with the next primary's (its client resent the request) starts view 1. Every `always`
// holds, and the recovered primary goes on to execute. (With a lost counter value as
// well: 274,164 states, see README.)
#[test]
fn a_crashing_primary_with_a_view_change_keeps_every_property() {
    let r = run(&CheckConfig {
        view_changes: 1,
        retransmits: 1,
        byzantine: ByzantineRole::Backup,
        byzantine_moves: vec![ByzMove::Silent, ByzMove::ReqViewChange],
        crash_replica: Some(0),
        ..CheckConfig::default()
    });
    assert!(r.exhaustive && r.safety_holds(), "{r:#?}");
    found(&r, names::VIEW_CHANGE_COMPLETES);
    let path = found(&r, names::RECOVERED_EXECUTES);
    let recovers = path.iter().position(|s| s.contains("r0 recovers"));
    let responds = path.iter().rposition(|s| s.contains("r0 -> c0: RESPONSE"));
    assert!(recovers < responds && recovers.is_some(), "{path:#?}");
    assert_eq!(r.unique_states, 155328);
}

// Without a crashing replica the crash properties are not registered.
#[test]
fn crash_properties_are_registered_only_with_a_crashing_replica() {
    let r = run(&CheckConfig::default());
    assert!(r.property(names::RECOVERY_SUCCEEDS).is_none());
    assert!(r.property(names::RECOVERED_EXECUTES).is_none());
    let r = run(&CheckConfig {
        crash_replica: Some(2),
        ..CheckConfig::default()
    });
    assert!(r.exhaustive && r.all_hold(), "{r:#?}");
    assert_eq!(r.unique_states, 69);
}

#[test]
fn invalid_crash_configurations_are_refused() {
    for (cfg, what) in [
        (
            CheckConfig {
                crash_replica: Some(3),
                ..CheckConfig::default()
            },
            "one of the replicas",
        ),
        (
            CheckConfig {
                crash_replica: Some(2),
                byzantine: ByzantineRole::Backup,
                ..CheckConfig::default()
            },
            "Byzantine",
        ),
        (
            CheckConfig {
                crash_replica: Some(1),
                restarts: 4,
                ..CheckConfig::default()
            },
            "restarts",
        ),
        (
            CheckConfig {
                crash_replica: Some(1),
                lost_counter_values: 5,
                ..CheckConfig::default()
            },
            "lost counter values",
        ),
    ] {
        let e = check_minzyzyva(&cfg, || Duration::ZERO).expect_err(what);
        assert!(e.to_string().contains(what), "{e}");
    }
}
