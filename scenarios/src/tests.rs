//! Parsing and validation tests: good files load, bad files get errors naming field and line.

use super::*;

const GOOD: &str = r#"
name = "t"
protocol = "minbft"
f = 1
usig = "ed25519"
run = { duration = "5s" }

[workload]
clients = 2
requests_per_client = 10

[network]
delay = { kind = "normal", mean = "10ms", std_dev = "1ms" }
loss = 0.01
gst = "2s"

[[network.partitions]]
start = "100ms"
end = "1s"
kind = "two-way"
a = ["r0"]

[[faults]]
at = "1s"
kind = "crash-restart"
replica = 0
duration = "500ms"

[[byzantine]]
replica=0
script = "burn-counter"
params = { every = 3 }

[expect]
safety = "hold"
liveness_bound = "3s"
"#;

fn err(src: &str) -> String {
    Scenario::from_toml(src, "s.toml").unwrap_err().to_string()
}

#[test]
fn a_full_scenario_parses() {
    let s = Scenario::from_toml(GOOD, "s.toml").unwrap();
    assert_eq!(s.usig, minlab_usig::UsigKind::Ed25519);
    assert_eq!(s.network.gst, Some(Dur::from_ms(2_000)));
    assert_eq!(s.faults[0].get_ref().kind, FaultKind::CrashRestart);
    assert_eq!(
        s.byzantine[0].get_ref().params["every"].as_integer(),
        Some(3)
    );
    assert_eq!(
        s.network.partitions[0].get_ref().a,
        vec![NodeRef::Replica(0)]
    );
}

#[test]
fn writing_and_reading_back_gives_the_same_scenario() {
    let s = Scenario::from_toml(GOOD, "s.toml").unwrap();
    let again = Scenario::from_toml(&s.to_toml(), "again.toml").unwrap();
    // Spans differ between the two texts; compare the values.
    assert_eq!(format!("{:?}", strip(&s)), format!("{:?}", strip(&again)));
}

fn strip(
    s: &Scenario,
) -> (
    Vec<FaultSpec>,
    Vec<ByzantineSpec>,
    RunSpec,
    NetworkSpecNoSpans,
) {
    (
        s.faults.iter().map(|f| f.get_ref().clone()).collect(),
        s.byzantine.iter().map(|f| f.get_ref().clone()).collect(),
        s.run.clone(),
        NetworkSpecNoSpans {
            delay: s.network.delay,
            loss: s.network.loss,
            gst: s.network.gst,
            partitions: s
                .network
                .partitions
                .iter()
                .map(|p| p.get_ref().clone())
                .collect(),
        },
    )
}

#[derive(Debug)]
#[allow(dead_code)] // read through Debug only
struct NetworkSpecNoSpans {
    delay: DelaySpec,
    loss: f64,
    gst: Option<Dur>,
    partitions: Vec<PartitionSpec>,
}

#[test]
fn unknown_field_is_named_with_its_line() {
    let e = err(&GOOD.replace("loss = 0.01", "los = 0.01"));
    assert!(e.contains("unknown field `los`"), "{e}");
    assert!(e.contains("line 14"), "{e}");
}

#[test]
fn wrong_type_and_bad_duration_are_reported() {
    let e = err(&GOOD.replace("f = 1", "f = \"one\""));
    assert!(e.contains("line 4"), "{e}");
    let e = err(&GOOD.replace("\"500ms\"", "\"half a second\""));
    assert!(e.contains("invalid duration"), "{e}");
}

#[test]
fn missing_section_is_reported() {
    let e = err(&GOOD.replace("[expect]", "[expectations]"));
    assert!(e.contains("expect"), "{e}");
}

#[test]
fn out_of_range_values_name_field_and_line() {
    let e = err(&GOOD.replace("replica = 0", "replica = 7"));
    assert!(
        e.starts_with("s.toml:23: field faults[0]: no replica 7"),
        "{e}"
    );
    let e = err(&GOOD.replace("loss = 0.01", "loss = 1.5"));
    assert!(
        e.contains("field network.loss: 1.5 is not a probability"),
        "{e}"
    );
    let e = err(&GOOD.replace("script = \"burn-counter\"", "script = \"nope\""));
    assert!(e.contains("unknown script \"nope\""), "{e}");
    // Scripts belong to a protocol: MinZyzyva's are not MinBFT's.
    let e = err(&GOOD.replace("script = \"burn-counter\"", "script = \"holey-primary\""));
    assert!(
        e.contains("unknown script \"holey-primary\" for Minbft"),
        "{e}"
    );
    let e = err(&GOOD.replace("a = [\"r0\"]", "a = [\"x9\"]"));
    assert!(e.contains("invalid node \"x9\""), "{e}");
    let e = err(&GOOD.replace("end = \"1s\"", "end = \"50ms\""));
    assert!(e.contains("end must be after start"), "{e}");
}

#[test]
fn more_faulty_replicas_than_f_cannot_expect_safety() {
    let src = GOOD.replace("replica = 0", "replica = 1");
    let e = err(&src);
    assert!(e.contains("field expect.safety"), "{e}");
}

#[test]
fn garbage_never_panics() {
    for src in [
        "",
        "\0\0",
        "[[[",
        "name = 1",
        "f = -1\nprotocol = 3",
        "é = ü",
    ] {
        assert!(Scenario::from_toml(src, "g.toml").is_err());
    }
}

#[test]
fn every_catalog_scenario_loads() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
    let mut names = Vec::new();
    let mut scripts = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let s = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                path.file_stem().unwrap().to_str().unwrap(),
                s.name,
                "file name and scenario name differ"
            );
            scripts.extend(s.byzantine.iter().map(|b| b.get_ref().script.clone()));
            scripts.extend(
                s.byzantine_clients
                    .iter()
                    .map(|b| b.get_ref().script.clone()),
            );
            names.push(s.name);
        }
    }
    assert!(names.len() >= 15, "catalog has {} scenarios", names.len());
    for script in validate::REPLICA_SCRIPTS
        .iter()
        .chain(validate::CLIENT_SCRIPTS)
        .chain(crate::adversary::minzyzyva_scripts::MINZYZYVA_REPLICA_SCRIPTS)
    {
        assert!(
            scripts.contains(*script),
            "no catalog scenario uses {script}"
        );
    }
}

#[test]
fn lost_counter_values_need_a_durable_minbft_crash_restart() {
    let base = "name = \"t\"\nprotocol = \"minbft\"\nf = 1\nrun = { duration = \"1s\" }\n\
                [workload]\nclients = 1\nrequests_per_client = 1\n";
    let fault = "[[faults]]\nat = \"10ms\"\nkind = \"crash-restart\"\nreplica = 1\n\
                 duration = \"10ms\"\nlost_counter_values = 2\n[expect]\nsafety = \"hold\"\n";
    let e = err(&format!("{base}{fault}"));
    assert!(
        e.contains("lost_counter_values") && e.contains("durable"),
        "{e}"
    );
    let durable = "[params]\ndurable = true\n";
    // `fault` ends with [expect], so [params] goes before it.
    assert!(Scenario::from_toml(&format!("{base}{durable}{fault}"), "s.toml").is_ok());
    let pause = fault.replace("crash-restart", "pause");
    let e = err(&format!("{base}{durable}{pause}"));
    assert!(e.contains("lost_counter_values"), "{e}");
}

const REPLAY: &str = r#"
name = "r"
protocol = "minbft"
f = 1
usig = "symbolic"
run = { duration = "1s" }
workload = { clients = 1, requests_per_client = 1, keys = 1 }
expect = { safety = "violated" }

[[byzantine]]
replica = 0
script = "replayed"

[replay]
client_ops = [["000000000000000000"]]

[[replay.step]]
action = "deliver"
from = "r0"
to = "r1"
message = "0a0b"

[[replay.step]]
action = "timer"
node = "r2"
kind = "request-timeout"
"#;

#[test]
fn a_replay_schedule_parses_and_round_trips() {
    use crate::replay::{ReplayStep, TimerName};
    let s = Scenario::from_toml(REPLAY, "r.toml").unwrap();
    let r = s.replay.as_ref().unwrap();
    assert_eq!(r.steps.len(), 2);
    assert!(matches!(
        r.steps[1].get_ref(),
        ReplayStep::Timer {
            node: NodeRef::Replica(2),
            kind: TimerName::RequestTimeout,
            ..
        }
    ));
    let again = Scenario::from_toml(&s.to_toml(), "again.toml").unwrap();
    let steps = |s: &Scenario| -> Vec<ReplayStep> {
        s.replay
            .as_ref()
            .unwrap()
            .steps
            .iter()
            .map(|x| x.get_ref().clone())
            .collect()
    };
    assert_eq!(steps(&s), steps(&again));
}

#[test]
fn a_replay_schedule_that_cannot_run_is_refused_with_the_field() {
    for (from, to, says) in [
        ("usig = \"symbolic\"", "usig = \"ed25519\"", "symbolic USIG"),
        (
            "message = \"0a0b\"",
            "message = \"0a0g\"",
            "replay.step[0]: message: not hex",
        ),
        ("to = \"r1\"", "to = \"r3\"", "no node r3"),
        ("to = \"r1\"", "to = \"r0\"", "delivers to itself"),
        (
            "node = \"r2\"",
            "node = \"r0\"",
            "replayed Byzantine replica: it has no timers",
        ),
        ("node = \"r2\"", "node = \"clients\"", "no node clients"),
        (
            "[[\"000000000000000000\"]]",
            "[]",
            "0 clients' operations for 1 clients",
        ),
        ("kind = \"request-timeout\"", "kind = \"nap\"", "nap"),
        ("action = \"timer\"", "action = \"crash\"", "crash"),
    ] {
        let src = REPLAY.replacen(from, to, 1);
        assert_ne!(src, REPLAY, "{from}");
        let e = err(&src);
        assert!(e.contains(says), "{e}");
    }
    // The replayed script exists only in a replay.
    let i = REPLAY.find("[replay]").unwrap();
    let e = err(&REPLAY[..i]);
    assert!(e.contains("unknown script \"replayed\""), "{e}");
    // A replay runs no random Byzantine script.
    let e = err(&REPLAY.replacen("script = \"replayed\"", "script = \"silent\"", 1));
    assert!(e.contains("must use script \"replayed\""), "{e}");
}

#[test]
fn the_batch_rule_and_its_window_parse_and_bad_values_are_named() {
    // The default is the timer rule with the protocols' own window of 32.
    let s = Scenario::from_toml(GOOD, "s.toml").unwrap();
    assert_eq!(s.params.batch_rule, BatchRule::Timer);
    assert_eq!(s.params.outstanding_batches_max, 32);
    let params = "[params]\nbatch_rule = \"slots\"\noutstanding_batches_max = 4\n";
    let s = Scenario::from_toml(&format!("{GOOD}{params}"), "s.toml").unwrap();
    assert_eq!(s.params.batch_rule, BatchRule::Slots);
    assert_eq!(s.params.outstanding_batches_max, 4);
    let again = Scenario::from_toml(&s.to_toml(), "again.toml").unwrap();
    assert_eq!(again.params, s.params);
    let e = err(&format!("{GOOD}[params]\nbatch_rule = \"adaptive\"\n"));
    assert!(
        e.contains("line 38")
            && e.contains("unknown variant `adaptive`, expected `timer` or `slots`")
            && e.contains("`slots`"),
        "{e}"
    );
    let e = err(&format!("{GOOD}[params]\noutstanding_batches_max = 0\n"));
    assert!(
        e.contains("field params.outstanding_batches_max: must be at least 1"),
        "{e}"
    );
}
