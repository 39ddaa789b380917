//! Crash recovery under the model checker (issue "crash recovery"): a correct replica
//! crashes and recovers from its write-ahead log and surviving USIG counter at any point
//! (stateright's crash, recover and storage), with a view change, and every property
//! holds; a Byzantine replica that restarts itself from an empty log (deliberate amnesia,
//! its RESTART retracting what it sent) gains nothing. State counts are pinned.

use minlab_check::model::names;
use minlab_check::{ByzMove, ByzantineRole, CheckConfig, CheckReport, Outcome, check_minbft};
use std::time::Duration;

mod common;
use common::run;

/// The silent primary (replica 0) forces a view change; `replica` crashes once, at any
/// point, and its crash consumes `lost` counter values that were never sent nor logged.
fn crashing(replica: u32, lost: u64) -> CheckConfig {
    CheckConfig {
        view_changes: 1,
        retransmits: 1,
        byzantine: ByzantineRole::Primary,
        byzantine_moves: vec![ByzMove::Silent],
        crash_replica: Some(replica),
        lost_counter_values: lost,
        ..CheckConfig::default()
    }
}

fn found(r: &CheckReport, name: &str) -> Vec<String> {
    match &r.property(name).expect("registered").outcome {
        Outcome::Found { path } => path.clone(),
        o => panic!("{name}: {o:?}"),
    }
}

// Replica 1 (the next primary) or 2 (a backup) crashes at any point of a run with a view
// change and recovers from its log: every property holds over the whole space, and the
// recovered replica goes on to execute the request.
#[test]
fn a_replica_crashing_at_any_point_recovers_and_every_property_holds() {
    for (replica, lost, pin) in [(1, 0, 3854), (2, 0, 4139), (2, 1, 6047)] {
        let r = run(&crashing(replica, lost));
        assert!(
            r.exhaustive && r.all_hold(),
            "r{replica} lost {lost}: {r:#?}"
        );
        let path = found(&r, names::RECOVERED_EXECUTES);
        assert!(
            path.iter()
                .any(|s| s.contains(&format!("r{replica} recovers"))),
            "{path:#?}"
        );
        assert_eq!(r.unique_states, pin, "r{replica} lost {lost}");
    }
}

// A crash inside the write-ahead window: the recovered replica announces its lost
// counter value with RESTART, peers skip it, and the view change still completes.
#[test]
fn a_lost_counter_value_is_announced_and_skipped() {
    let r = run(&crashing(1, 1));
    assert!(r.exhaustive && r.all_hold(), "{r:#?}");
    let path = found(&r, names::RECOVERED_EXECUTES);
    assert!(path.iter().any(|s| s.contains("RESTART")), "{path:#?}");
    assert_eq!(r.unique_states, 15703);
}

// Without a crashing replica the crash properties are not registered and nothing crashes.
#[test]
fn crash_properties_are_registered_only_with_a_crashing_replica() {
    let r = run(&CheckConfig::default());
    assert!(r.property(names::RECOVERY_SUCCEEDS).is_none());
    assert_eq!(r.unique_states, 2718);
}

// A Byzantine backup that wipes its own log and restarts (so its RESTART retracts the
// COMMIT it sent) cannot make correct replicas disagree: exhaustive, every property holds.
#[test]
fn deliberate_amnesia_of_a_byzantine_backup_is_harmless() {
    let r = run(&CheckConfig {
        byzantine: ByzantineRole::Backup,
        byzantine_moves: vec![ByzMove::Amnesia],
        ..CheckConfig::default()
    });
    assert!(r.exhaustive && r.safety_holds(), "{r:#?}");
    assert_eq!(r.unique_states, 24744);
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
                crash_replica: Some(0),
                byzantine: ByzantineRole::Primary,
                ..CheckConfig::default()
            },
            "Byzantine",
        ),
        (
            CheckConfig {
                crash_replica: Some(1),
                restarts: 0,
                ..CheckConfig::default()
            },
            "restarts",
        ),
        (
            CheckConfig {
                lost_counter_values: 5,
                ..CheckConfig::default()
            },
            "lost counter values",
        ),
    ] {
        let e = check_minbft(&cfg, || Duration::ZERO).expect_err(what);
        assert!(e.to_string().contains(what), "{e}");
    }
}
