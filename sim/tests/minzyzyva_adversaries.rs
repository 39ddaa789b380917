//! MinZyzyva's Byzantine scripts (`wrong-responses`, `duplicate-order`) in whole simulated
//! runs: each really misbehaves (the run differs from the same scenario without it), and
//! the protocol still keeps its promises (paper §5).

use minlab_scenarios::Scenario;
use minlab_sim::run::{RunOptions, RunReport, run};
use std::io::Write;
use std::sync::{Arc, Mutex};

fn catalog(name: &str) -> Scenario {
    let path = format!(
        "{}/../scenarios/catalog/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    Scenario::load(path).unwrap()
}

/// `name` with fewer requests per client (a debug build checks Ed25519 slowly).
fn small(name: &str, requests_per_client: u64) -> Scenario {
    let mut s = catalog(name);
    s.workload.requests_per_client = requests_per_client;
    s.expect.min_completed = None;
    s
}

fn without_byzantine(mut s: Scenario) -> Scenario {
    s.byzantine.clear();
    s
}

fn sent(r: &RunReport, kind: &str) -> u64 {
    r.messages_sent.get(kind).copied().unwrap_or(0)
}

fn held(r: &RunReport) {
    assert!(r.passed, "seed {}: {:?}", r.seed, r.failures);
    assert_eq!(
        r.completed, r.invoked,
        "seed {}: every request completed",
        r.seed
    );
}

/// Paper §5, step 5 and non-gracious execution: with one replica lying in every RESPONSE
/// (under valid UIs), no request gathers 2f + 1 matching responses; each completes on a
/// commit certificate of the f + 1 correct ones, acknowledged by f + 1 LOCAL-COMMITs, and
/// never on the lie (linearizability would catch a wrong result).
#[test]
fn a_lying_backup_forces_every_request_onto_the_commit_path() {
    for (name, f) in [
        ("minzyzyva-wrong-responses", 1),
        ("minzyzyva-wrong-responses-f2", 2),
    ] {
        let s = small(name, 10);
        let honest = run(&without_byzantine(s.clone()), 1, RunOptions::default()).unwrap();
        held(&honest);
        assert_eq!(
            sent(&honest, "COMMIT"),
            0,
            "{name}: gracious without the script"
        );
        for seed in 1..=2 {
            let r = run(&s, seed, RunOptions::default()).unwrap();
            held(&r);
            assert!(r.completed > 0);
            assert!(
                sent(&r, "COMMIT") >= r.completed,
                "{name} seed {seed}: every request needed a commit certificate: {:?}",
                r.messages_sent
            );
            assert!(
                sent(&r, "LOCAL-COMMIT") >= (f + 1) * r.completed,
                "{name} seed {seed}: {:?}",
                r.messages_sent
            );
            assert_eq!(
                r.view_max, 0,
                "{name} seed {seed}: a liar is no reason to change view"
            );
        }
    }
}

/// Paper §5: "A faulty primary can try to cause the reexecution of some requests by
/// assigning it two different UI identifiers. However, the servers detect this misbehavior
/// using the clients' seq identifier". Backups accept every duplicate ORDER-REQ (valid
/// UI, FIFO order) and execute none of them; the exactly-once oracle holds.
#[test]
fn a_primary_ordering_requests_twice_gets_no_request_executed_twice() {
    let mut s = small("minzyzyva-duplicate-order", 10);
    // One request per ORDER-REQ, so that ORDER-REQs count requests.
    s.params.batch_size_max = 1;
    let honest = run(&without_byzantine(s.clone()), 1, RunOptions::default()).unwrap();
    held(&honest);
    let h = &honest.per_replica[1];
    assert_eq!(h.received.get("ORDER-REQ"), Some(&h.requests_executed));
    for seed in 1..=2 {
        let r = run(&s, seed, RunOptions::default()).unwrap();
        held(&r);
        for backup in &r.per_replica[1..] {
            let orders = backup.received.get("ORDER-REQ").copied().unwrap_or(0);
            // Every request was ordered twice and executed once (no request was ordered
            // by another primary: the view did not change).
            assert_eq!(r.view_max, 0, "seed {seed}");
            assert_eq!(backup.requests_executed, r.invoked, "seed {seed}");
            assert!(
                orders >= 2 * r.invoked,
                "seed {seed}: replica {} received {orders} ORDER-REQs for {} requests",
                backup.replica,
                r.invoked
            );
        }
        assert!(!r.rejections.contains_key("BadUi"), "{:?}", r.rejections);
        assert!(
            sent(&r, "COMMIT") > 0,
            "seed {seed}: the primary's history diverged"
        );
    }
}

/// The duplicating primary, then its crash: the view change carries histories with
/// duplicates (some ordered long after the original, past checkpoints) into NEW-VIEW, and
/// no request executes twice or is lost.
#[test]
fn duplicates_survive_a_view_change_without_a_second_execution() {
    let mut s = catalog("minzyzyva-duplicate-order-view-change");
    // One request per ORDER-REQ, so that ORDER-REQs count requests.
    s.params.batch_size_max = 1;
    let crash_ns = s.faults[0].get_ref().at.ns();
    let trace = Shared::default();
    let r = run(
        &s,
        1,
        RunOptions {
            trace: Some(Box::new(trace.clone())),
        },
    )
    .unwrap();
    held(&r);
    assert!(r.view_max >= 1, "the crash forced a view change");
    // Before the crash, backup 1 received more ORDER-REQs from the primary than it
    // executed requests: the duplicates, taken into its history and not executed.
    let text = String::from_utf8(trace.0.lock().unwrap().clone()).unwrap();
    let before_crash = |line: &&str| {
        let t: u64 = line["{\"t\":".len()..line.find(',').unwrap()]
            .parse()
            .unwrap();
        t < crash_ns
    };
    let lines: Vec<&str> = text.lines().filter(before_crash).collect();
    let orders = lines
        .iter()
        .filter(|l| l.contains("\"from\":\"r0\",\"to\":\"r1\",\"msg\":\"ORDER-REQ"))
        .count();
    let executed = lines
        .iter()
        .filter(|l| l.contains("\"node\":\"r1\",\"what\":\"speculative"))
        .count();
    assert!(
        executed > 0 && orders > executed,
        "{orders} ORDER-REQs, {executed} executions"
    );
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The literal reading of "two requests with one client sequence number under two UIs":
/// the primary orders an altered operation under a client's `seq` before the real request.
/// Backups refuse it (client authentication), FILL-HOLE gets the same answer, and the view
/// changes (paper §5: the replica "also requests a view change"); every request completes.
#[test]
fn an_altered_request_under_a_clients_seq_is_refused_and_the_primary_replaced() {
    let s = small("minzyzyva-duplicate-order-altered", 10);
    for seed in 1..=2 {
        let r = run(&s, seed, RunOptions::default()).unwrap();
        held(&r);
        assert!(
            r.rejections.get("BadClientAuth").copied().unwrap_or(0) > 0,
            "seed {seed}: {:?}",
            r.rejections
        );
        assert!(
            sent(&r, "FILL-HOLE") > 0,
            "seed {seed}: {:?}",
            r.messages_sent
        );
        assert!(r.view_max >= 1, "seed {seed}: the primary was replaced");
    }
}

/// Seed 39 of `minzyzyva-duplicate-order-jitter`: the NEW-VIEW's checkpoint sat on a
/// duplicate's slot, at the execution position of the previous stable checkpoint, and the
/// two were reported with different digests (the history's): a checkpoint-agreement
/// violation between correct replicas that agreed on everything.
#[test]
fn minzyzyva_duplicate_order_jitter_seed_39_checkpoints_agree() {
    let r = run(
        &catalog("minzyzyva-duplicate-order-jitter"),
        39,
        RunOptions::default(),
    )
    .unwrap();
    held(&r);
    assert!(r.view_max >= 1);
}

/// The primary crashes and the next one lies in its RESPONSEs: each lie took a counter
/// value its VIEW-CHANGE cannot show in `O`, so correct replicas refuse its VIEW-CHANGE and
/// NEW-VIEW and move on to view 2 (with an honest replica 1 instead, view 1 is enough).
#[test]
fn a_lying_next_primary_is_passed_over() {
    let s = small("minzyzyva-wrong-responses-next-primary-f2", 25);
    let honest = run(&without_byzantine(s.clone()), 1, RunOptions::default()).unwrap();
    held(&honest);
    assert_eq!(honest.view_max, 1);
    let r = run(&s, 1, RunOptions::default()).unwrap();
    held(&r);
    assert!(r.view_max >= 2, "view {}", r.view_max);
    assert!(
        r.rejections.get("InvalidNewView").copied().unwrap_or(0) > 0,
        "{:?}",
        r.rejections
    );
}
