//! A counterexample becomes a scenario the simulator replays: the simulator's oracles see
//! the violation the checker found, and a schedule that cannot be applied is a clear
//! error, never a panic.

use minlab_check::actor::group_config;
use minlab_check::model::names;
use minlab_check::{ByzMove, ByzantineRole, CheckConfig, CheckReport};
use minlab_scenarios::Scenario;
use minlab_scenarios::replay::ReplayStep;
use minlab_sim::oracle::Property;
use minlab_sim::run::{BuildError, RunOptions, RunReport, run};

mod common;
use common::run as check;

/// Paper §4: a USIG that mints one counter value twice lets the primary order two
/// requests at one position; no mutant needed.
fn compromised_usig() -> CheckConfig {
    CheckConfig {
        clients: 2,
        byzantine: ByzantineRole::Primary,
        byzantine_moves: vec![ByzMove::CompromisedUsig],
        ..CheckConfig::default()
    }
}

/// The scenario text of the report's counterexample.
fn scenario_text(r: &CheckReport) -> String {
    let replay = r.replay.as_ref().expect("a violation was found");
    replay
        .toml
        .clone()
        .expect("the counterexample is replayable")
}

fn replay(text: &str) -> Result<RunReport, BuildError> {
    let s = Scenario::from_toml(text, "replay.toml").expect("the written scenario is valid");
    run(&s, s.seed, RunOptions::default())
}

#[test]
fn compromised_usig_counterexample_replays_as_an_agreement_violation() {
    let cfg = compromised_usig();
    let r = check(&cfg);
    let replay_of = r.replay.as_ref().expect("a violation was found");
    assert_eq!(replay_of.property, names::AGREEMENT);
    let text = scenario_text(&r);
    let s = Scenario::from_toml(&text, "replay.toml").expect("valid");
    // The replicas run with the checker's very configuration.
    assert_eq!(minlab_sim::run::world::config_of(&s), group_config(&cfg));
    let steps = &s.replay.as_ref().expect("a schedule").steps;
    // Only what reaches correct nodes is replayed: the Byzantine primary's two PREPAREs
    // under counter value 1, one to each backup.
    assert_eq!(steps.len(), 2, "{text}");
    assert!(steps.iter().all(|st| matches!(
        st.get_ref(),
        ReplayStep::Deliver { note, .. } if note.starts_with("PREPARE v0 r0 cv1")
    )));
    let report = replay(&text).expect("the schedule applies");
    let seen: Vec<Property> = report.violations.iter().map(|v| v.property).collect();
    assert!(seen.contains(&Property::Agreement), "{seen:?}");
    assert!(seen.contains(&Property::UsigUniqueness), "{seen:?}");
    // The scenario expects the violation, so the run passes.
    assert!(report.passed, "{:?}", report.failures);
}

#[test]
fn no_violation_no_scenario() {
    let r = check(&CheckConfig::default());
    assert!(r.safety_holds());
    assert!(r.replay.is_none());
}

/// The scenario with its `i`-th step's message replaced by `hex`.
fn with_message(text: &str, i: usize, hex: &str) -> String {
    let mut s = Scenario::from_toml(text, "replay.toml").expect("valid");
    let steps = &mut s.replay.as_mut().expect("a schedule").steps;
    let mut value = steps[i].get_ref().clone();
    if let ReplayStep::Deliver { message, .. } = &mut value {
        *message = hex.to_string();
    }
    steps[i] = toml::Spanned::new(0..0, value);
    s.to_toml()
}

/// A schedule of the all-correct model: c0's REQUEST reaches the primary r0, then r0's
/// PREPARE reaches r1 (a path prefix, written as if it violated `property`).
fn correct_schedule() -> String {
    use minlab_check::model::minbft_model;
    use stateright::Model;
    use stateright::actor::{ActorModelAction, Id};
    let model = minbft_model(&CheckConfig::default()).expect("valid");
    let mut state = model.init_states().remove(0);
    let mut path = Vec::new();
    for dst in [0usize, 1] {
        let mut actions = Vec::new();
        model.actions(&state, &mut actions);
        let a = actions
            .into_iter()
            .find(|a| matches!(a, ActorModelAction::Deliver { dst: d, .. } if *d == Id::from(dst)))
            .expect("a delivery to the replica");
        state = model
            .next_state(&state, a.clone())
            .expect("it changes the state");
        path.push(a);
    }
    minlab_check::replay::minbft_scenario(&model, "test", &path)
        .expect("writable")
        .to_toml()
}

fn step(extra: &str) -> String {
    format!("\n[[replay.step]]\n{extra}\n")
}

#[test]
fn a_step_that_cannot_be_applied_is_a_clear_error() {
    let good = correct_schedule();
    assert!(
        good.contains("REQUEST c0#1") && good.contains("PREPARE v0 r0 cv1"),
        "{good}"
    );
    let report = replay(&good).expect("the schedule applies");
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    let s = Scenario::from_toml(&good, "replay.toml").expect("valid");
    let ReplayStep::Deliver {
        message: request, ..
    } = s.replay.as_ref().expect("schedule").steps[0]
        .get_ref()
        .clone()
    else {
        panic!("the first step delivers");
    };

    // Bytes that do not decode.
    let err = replay(&with_message(&good, 0, "ff00ff"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("diverged at step 1") && err.contains("does not decode"),
        "{err}"
    );
    // A message its sender never sent: the PREPARE, claimed to come from r2.
    let forged = good.replacen("from = \"r0\"", "from = \"r2\"", 1);
    let err = replay(&forged).unwrap_err().to_string();
    assert!(
        err.contains("diverged at step 2")
            && err.contains("r2 has no such PREPARE in flight to r1"),
        "{err}"
    );
    // The same REQUEST delivered twice: the client sent it once.
    let twice = good.clone()
        + &step(&format!(
            "action = \"deliver\"\nfrom = \"c0\"\nto = \"r0\"\nmessage = \"{request}\""
        ));
    let err = replay(&twice).unwrap_err().to_string();
    assert!(
        err.contains("diverged at step 3")
            && err.contains("c0 has no such REQUEST in flight to r0"),
        "{err}"
    );
    // A timer that is not armed.
    let timer = good.clone() + &step("action = \"timer\"\nnode = \"r2\"\nkind = \"view-change\"");
    let err = replay(&timer).unwrap_err().to_string();
    assert!(
        err.contains("diverged at step 3") && err.contains("timer ViewChange of r2 is not armed"),
        "{err}"
    );

    // Bad hex, unknown nodes and unknown timers are refused when the file is read.
    let err = Scenario::from_toml(&with_message(&good, 0, "zz"), "bad.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("replay.step[0]") && err.contains("not hex"),
        "{err}"
    );
    let unknown = good.replacen("to = \"r0\"", "to = \"r7\"", 1);
    let err = Scenario::from_toml(&unknown, "bad.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("no node r7"), "{err}");
    let err = Scenario::from_toml(
        &(good.clone() + &step("action = \"timer\"\nnode = \"r2\"\nkind = \"nap\"")),
        "bad.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("bad.toml") && err.contains("nap"), "{err}");
}

/// The scenario of `cfg`'s counterexample, replayed: the simulator's violations.
#[cfg(feature = "mutants")]
fn replayed_violations(cfg: &CheckConfig, property: &str) -> Vec<Property> {
    let r = check(cfg);
    assert_eq!(r.replay.as_ref().map(|x| x.property), Some(property));
    let text = scenario_text(&r);
    let report = replay(&text).expect("the schedule applies");
    assert!(report.passed, "{:?}", report.failures);
    report.violations.iter().map(|v| v.property).collect()
}

// Paper §4, the FIFO rule: the mutant's counterexample (all correct replicas) breaks
// agreement in the simulator too.
#[cfg(feature = "mutants")]
#[test]
fn ignore_fifo_counterexample_replays() {
    let cfg = CheckConfig {
        requests: 2,
        mutant: Some(minlab_protocols::minbft::Mutant::IgnoreFifo),
        ..CheckConfig::default()
    };
    let seen = replayed_violations(&cfg, names::AGREEMENT);
    assert_eq!(seen, vec![Property::Agreement]);
}

// Exactly once across a view change: the path fires timers (T_exec, T_vc), which the
// replay fires at the same deadlines.
#[cfg(feature = "mutants")]
#[test]
fn execute_twice_counterexample_replays_with_timers() {
    let cfg = CheckConfig {
        view_changes: 1,
        mutant: Some(minlab_protocols::minbft::Mutant::ExecuteTwice),
        ..CheckConfig::default()
    };
    let r = check(&cfg);
    let text = scenario_text(&r);
    assert!(text.contains("action = \"timer\""), "{text}");
    assert!(text.contains("mutant = \"execute-twice\""), "{text}");
    let seen = replayed_violations(&cfg, names::NO_DUPLICATE);
    assert_eq!(seen, vec![Property::ExactlyOnce]);
}

// A scenario that carries a mutant is refused, clearly, by a build without the feature.
#[cfg(not(feature = "mutants"))]
#[test]
fn a_mutant_needs_the_feature() {
    let text = scenario_text(&check(&compromised_usig())).replacen(
        "[replay]\n",
        "[replay]\nmutant = \"ignore-fifo\"\n",
        1,
    );
    let err = replay(&text).unwrap_err().to_string();
    assert!(
        err.contains("mutant \"ignore-fifo\"") && err.contains("without the test-only feature"),
        "{err}"
    );
}

// MinZyzyva: a path of the all-correct model (c0's REQUEST reaches the primary, the
// primary's ORDER-REQ reaches r1, r1's RESPONSE reaches c0) replays in the simulator's
// MinZyzyva, with the client verifying the symbolic UIs.
#[test]
fn a_minzyzyva_path_replays() {
    use minlab_check::minzyzyva::model::minzyzyva_model;
    use stateright::Model;
    use stateright::actor::{ActorModelAction, Id};
    let model = minzyzyva_model(&CheckConfig::default()).expect("valid");
    let mut state = model.init_states().remove(0);
    let mut path = Vec::new();
    for (src, dst) in [(3usize, 0usize), (0, 1), (1, 3)] {
        let mut actions = Vec::new();
        model.actions(&state, &mut actions);
        let a = actions
            .into_iter()
            .find(|a| {
                matches!(a, ActorModelAction::Deliver { src: s, dst: d, .. }
                    if (*s, *d) == (Id::from(src), Id::from(dst)))
            })
            .expect("the delivery is enabled");
        state = model
            .next_state(&state, a.clone())
            .expect("it changes the state");
        path.push(a);
    }
    let text = minlab_check::replay::minzyzyva_scenario(&model, "test", &path)
        .expect("writable")
        .to_toml();
    assert!(text.contains("protocol = \"minzyzyva\""), "{text}");
    let s = Scenario::from_toml(&text, "replay.toml").expect("valid");
    assert_eq!(
        minlab_sim::run::world::config_of(&s),
        minlab_check::minzyzyva::model::group_config(&CheckConfig::default())
    );
    for what in ["REQUEST c0#1", "ORDER-REQ v0 r0 cv1", "RESPONSE v0 r1 c0#1"] {
        assert!(text.contains(what), "{what}: {text}");
    }
    let report = replay(&text).expect("every step applies");
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    // The RESPONSE reached the client, and it was the one r1 had in flight: delivering
    // it again diverges.
    let again = text.clone()
        + &step(&format!(
            "action = \"deliver\"\nfrom = \"r1\"\nto = \"c0\"\nmessage = \"{}\"",
            message_of(&text, 2)
        ));
    let err = replay(&again).unwrap_err().to_string();
    assert!(
        err.contains("diverged at step 4") && err.contains("r1 has no such"),
        "{err}"
    );
}

/// The hex message of step `i` of a scenario.
fn message_of(text: &str, i: usize) -> String {
    let s = Scenario::from_toml(text, "replay.toml").expect("valid");
    match s.replay.as_ref().expect("schedule").steps[i].get_ref() {
        ReplayStep::Deliver { message, .. } => message.clone(),
        other => panic!("step {i} is {other:?}"),
    }
}

// MinZyzyva's FIFO mutant: its counterexample replays step by step (the simulator has no
// oracle for "histories in one view agree", so the run fails its expectation).
#[cfg(feature = "mutants")]
#[test]
fn zyzyva_ignore_fifo_counterexample_replays() {
    let cfg = CheckConfig {
        clients: 2,
        mutant: Some(minlab_protocols::minbft::Mutant::IgnoreFifo),
        ..CheckConfig::default()
    };
    let r = common::run_minzyzyva(&cfg);
    let replay_of = r.replay.as_ref().expect("a violation");
    assert_eq!(
        replay_of.property,
        minlab_check::minzyzyva::model::names::SPECULATIVE_AGREEMENT
    );
    assert!(minlab_check::replay::simulator_oracle(replay_of.property).is_none());
    let report = replay(&scenario_text(&r)).expect("every step applies");
    assert!(!report.passed && report.violations.is_empty());
}
