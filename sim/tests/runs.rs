//! Whole runs of catalog scenarios: expectations hold, and runs are reproducible.

use minlab_scenarios::Scenario;
use minlab_sim::run::{RunOptions, run};
use std::io::Write;
use std::sync::{Arc, Mutex};

fn catalog(name: &str) -> Scenario {
    let path = format!(
        "{}/../scenarios/catalog/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    Scenario::load(path).unwrap()
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

fn traced(s: &Scenario, seed: u64) -> Vec<u8> {
    let buf = Shared::default();
    let report = run(
        s,
        seed,
        RunOptions {
            trace: Some(Box::new(buf.clone())),
        },
    )
    .unwrap();
    assert!(report.completed > 0);
    buf.0.lock().unwrap().to_vec()
}

#[test]
fn quickstart_holds_for_a_few_seeds() {
    let s = catalog("quickstart");
    for seed in 1..=3 {
        let r = run(&s, seed, RunOptions::default()).unwrap();
        assert!(r.passed, "seed {seed}: {:?}", r.failures);
        assert_eq!(r.completed, 800);
    }
}

#[test]
fn same_seed_gives_identical_trace_bytes() {
    let s = catalog("lossy-lan");
    let a = traced(&s, 42);
    let b = traced(&s, 42);
    assert!(a.len() > 1000);
    assert!(a == b, "traces differ");
    let c = traced(&s, 43);
    assert!(a != c, "different seeds should give different traces");
}

/// Every delivery line carries its send time last (`"sent":NS`), one link delay before the
/// delivery: quickstart's links take 50 to 150 µs.
#[test]
fn deliveries_carry_their_send_time() {
    let text = String::from_utf8(traced(&catalog("quickstart"), 1)).unwrap();
    let mut deliveries = 0;
    for line in text.lines().filter(|l| l.contains("\"ev\":\"deliver\"")) {
        let number = |key: &str| -> u64 {
            let at = line.find(key).unwrap() + key.len();
            let digits: String = line[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().unwrap()
        };
        assert!(line.ends_with('}') && line.contains(",\"sent\":"), "{line}");
        let (t, sent) = (number("{\"t\":"), number("\"sent\":"));
        assert!((50_000..=150_000).contains(&(t - sent)), "{line}");
        deliveries += 1;
    }
    assert!(deliveries > 1000, "{deliveries}");
}

/// Catalog scenarios that hold with the protocol as it is today, each over a few seeds.
/// (`lossy-lan` and `corrupt-network` need retransmission of lost protocol messages.)
#[test]
fn catalog_scenarios_hold_over_a_few_seeds() {
    for name in [
        "crash-primary",
        "crash-restart",
        "partition-primary",
        "one-way-partition",
        "silent-primary",
        "burn-counter",
        "equivocate",
        "forged-request",
        "commit-unprepared",
        "view-change-altered-o",
        "new-view-wrong-s",
        "crash-backup",
        "silent-backup",
        "prepare-subset",
        "replay",
        "wrong-replies",
        "req-view-change-storm",
        "byzantine-client",
        "pbft-quickstart",
        "pbft-crash-backup",
        "minzyzyva-quickstart",
        "minzyzyva-crash-backup",
        "minzyzyva-holey-primary",
        // The paper's §7 slot batch rule.
        "slots-lossy-lan",
        "slots-crash-primary",
        "pbft-slots-crash-backup",
        "minzyzyva-slots-crash-primary",
    ] {
        let s = catalog(name);
        for seed in 1..=2 {
            let r = run(&s, seed, RunOptions::default()).unwrap();
            assert!(r.passed, "{name} seed {seed}: {:?}", r.failures);
            assert!(r.completed > 0, "{name} seed {seed}");
        }
    }
}

/// Seeds on which a request waited forever after the primary crashed, before MinBFT
/// backups relayed the crashed primary's PREPAREs and CHECKPOINTs to each other and
/// answered STATE-REQUESTs from checkpoints stable only at the asker
/// (`protocols/src/minbft/relay_tests.rs`; the slot-rule seeds still failed with the relays
/// alone), and before a MinZyzyva backup holding the new primary's messages asked it again
/// for the lost NEW-VIEW.
#[test]
fn backups_fill_each_others_holes_after_the_primary_crashed() {
    for (name, seeds) in [
        ("lossy-crash-primary", &[121, 127, 144, 191][..]),
        ("slots-lossy-crash-primary", &[162, 454][..]),
        ("minzyzyva-lossy-crash-primary", &[2, 38, 59, 69][..]),
    ] {
        assert_seeds_pass(&catalog(name), name, seeds);
    }
}

/// MinZyzyva with loss before GST and a primary crash, under both batch rules. Seed 558 (timer
/// rule): a backup that skipped client 1's request by state transfer had no RESPONSE for its
/// retransmissions, so the client never gathered f + 1 matching ones; replicas now answer
/// from their stable checkpoint with a REPLY. Seeds 242, 292, 342 (slot rule): both backups'
/// REQ-VIEW-CHANGEs were lost and never sent again, so no view change started; a backup now
/// sends it again at every request-timer expiry.
#[test]
fn minzyzyva_clients_are_answered_after_lost_responses_and_view_change_requests() {
    for (name, seeds) in [
        ("minzyzyva-lossy-crash-primary", &[558][..]),
        ("minzyzyva-slots-lossy-crash-primary", &[242, 292, 342][..]),
    ] {
        assert_seeds_pass(&catalog(name), name, seeds);
    }
}

/// `lossy-crash-primary` with the crash at 1.5 s: on seed 267 a backup that caught up by
/// state transfer dropped from its sent log the COMMITs it had sent for batches above the
/// restored checkpoint, so its next VIEW-CHANGE did not show them and the next view's `S`
/// left out three committed requests (agreement violated; 49 of 2,000 seeds failed before,
/// some of them on safety). A state transfer now re-sends those COMMITs after its CHECKPOINT.
#[test]
fn a_state_transfer_keeps_the_commits_it_sent_above_the_checkpoint() {
    assert_seeds_pass(&late_crash_primary(), "crash at 1.5 s", &[7, 62, 267, 361]);
}

/// The same scenario, seed 496: a checkpoint became stable at backup 2 with its own and
/// backup 1's votes, so it dropped the primary's CHECKPOINT that came after; backup 1 had
/// lost that CHECKPOINT, and once the primary crashed nobody could relay it, so backup 1
/// held the primary's later PREPAREs forever (and, up to date, backup 2 never suspected
/// the primary). Late votes for the stable checkpoint are now kept and relayed.
#[test]
fn a_late_checkpoint_of_a_crashed_primary_is_relayed() {
    assert_seeds_pass(&late_crash_primary(), "crash at 1.5 s", &[496]);
}

/// Runs `s` (called `name` in failures) under each of `seeds`; each must pass.
fn assert_seeds_pass(s: &Scenario, name: &str, seeds: &[u64]) {
    for &seed in seeds {
        let r = run(s, seed, RunOptions::default()).unwrap();
        assert!(r.passed, "{name} seed {seed}: {:?}", r.failures);
    }
}

/// `lossy-crash-primary` with the primary crashing at 1.5 s instead of 300 ms.
fn late_crash_primary() -> Scenario {
    let path = format!(
        "{}/../scenarios/catalog/lossy-crash-primary.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("at = \"300ms\""));
    let late = text.replace("at = \"300ms\"", "at = \"1500ms\"");
    Scenario::from_toml(&late, "lossy-crash-primary at 1.5 s").unwrap()
}

#[test]
fn faulty_primaries_are_replaced_by_a_view_change() {
    // Paper §4: a primary that crashes, stays silent, burns counter values or equivocates
    // is suspected on T_exec and replaced; a wrong NEW-VIEW makes backups move on again.
    for (name, view_min) in [
        ("crash-primary", 1),
        ("silent-primary", 1),
        ("burn-counter", 1),
        ("equivocate", 1),
        ("new-view-wrong-s", 2),
    ] {
        let r = run(&catalog(name), 1, RunOptions::default()).unwrap();
        assert!(r.view_max >= view_min, "{name}: view {}", r.view_max);
        assert!(r.passed, "{name}: {:?}", r.failures);
    }
}

#[test]
fn byzantine_scripts_really_misbehave() {
    let r = run(&catalog("byzantine-client"), 1, RunOptions::default()).unwrap();
    assert!(
        r.rejections.get("BadClientAuth").copied().unwrap_or(0) > 0,
        "{:?}",
        r.rejections
    );
    let r = run(&catalog("replay"), 1, RunOptions::default()).unwrap();
    assert!(
        r.rejections.get("WrongSender").copied().unwrap_or(0) > 0,
        "{:?}",
        r.rejections
    );
    let r = run(&catalog("prepare-subset"), 1, RunOptions::default()).unwrap();
    assert!(
        !r.messages_sent.contains_key("PREPARE"),
        "{:?}",
        r.messages_sent
    );
}

#[test]
fn an_unknown_script_parameter_is_a_clear_error() {
    let mut s = catalog("replay");
    s.byzantine[0]
        .get_mut()
        .params
        .insert("probabilty".into(), toml::Value::Float(0.5));
    let e = run(&s, 1, RunOptions::default()).unwrap_err().to_string();
    assert!(e.contains("unknown parameter \"probabilty\""), "{e}");
}

#[test]
fn a_compromised_usig_breaks_safety_and_the_oracles_show_it() {
    // Paper §2: safety rests on the USIG never giving one counter value to two messages.
    let s = catalog("compromised-usig");
    for seed in 1..=3 {
        let r = run(&s, seed, RunOptions::default()).unwrap();
        assert!(r.passed, "seed {seed}: {:?}", r.failures);
        let props: Vec<String> = r
            .violations
            .iter()
            .map(|v| v.property.to_string())
            .collect();
        assert!(props.contains(&"usig-uniqueness".to_string()), "{props:?}");
        assert!(props.contains(&"agreement".to_string()), "{props:?}");
    }
}

/// Regression: corrupt-network seed 63 broke agreement. Replica 0, still in view 1 (it
/// never installed view 2), restored by state transfer a stable checkpoint of view 2 at
/// counter 64. Its log still held accepted view-1 PREPAREs at counters 66 and 67, whose
/// requests it had executed long before; the log is keyed by counter value alone, so
/// `try_execute` took them for the batches after the checkpoint, "executed" them (every
/// request skipped as already executed) and moved its execution point to (2, 67) without
/// executing view 2's batches 66 and 67. When it then installed view 3 as its primary, `S`
/// skipped those two batches and it executed (client 2, seq 45) at the position where the
/// others executed (client 0, seq 53).
#[test]
fn corrupt_network_seed_63_keeps_agreement() {
    let r = run(&catalog("corrupt-network"), 63, RunOptions::default()).unwrap();
    assert!(r.passed, "{:?}", r.failures);
}

/// Paper §7 (Fig. 1, Table 1): PBFT needs 3f + 1 replicas and one more communication step
/// than MinBFT, so over a WAN its latency is about one link delay higher.
#[test]
fn pbft_takes_one_more_step_than_minbft_over_a_wan() {
    let mut minbft = catalog("wan-f2");
    let mut pbft = catalog("pbft-wan-f2");
    for s in [&mut minbft, &mut pbft] {
        s.workload.requests_per_client = 5;
        s.expect.min_completed = None;
    }
    let m = run(&minbft, 1, RunOptions::default()).unwrap();
    let p = run(&pbft, 1, RunOptions::default()).unwrap();
    assert!(m.passed && p.passed, "{:?} {:?}", m.failures, p.failures);
    let (m50, p50) = (m.latency.p50_ns, p.latency.p50_ns);
    // MinBFT: request, PREPARE, COMMIT, reply (4 steps of 20 ms); PBFT: request to the
    // primary, PRE-PREPARE, PREPARE, COMMIT, reply (5 steps).
    assert!(
        (75_000_000..90_000_000).contains(&m50),
        "MinBFT p50 {m50} ns"
    );
    assert!(
        (95_000_000..110_000_000).contains(&p50),
        "PBFT p50 {p50} ns"
    );
    assert_eq!(p.view_max, 0);
}

/// Paper §5, Table 1: MinZyzyva's gracious path takes 3 communication steps (request to
/// the primary, ORDER-REQ, RESPONSE), one less than MinBFT, and its clients accept only
/// after checking the UIs of 2f + 1 matching RESPONSEs.
#[test]
fn minzyzyva_speculation_saves_a_step_over_a_wan() {
    let mut s = catalog("minzyzyva-wan-f2");
    s.workload.requests_per_client = 5;
    s.expect.min_completed = None;
    let r = run(&s, 1, RunOptions::default()).unwrap();
    assert!(r.passed, "{:?}", r.failures);
    let p50 = r.latency.p50_ns;
    assert!(
        (55_000_000..70_000_000).contains(&p50),
        "MinZyzyva p50 {p50} ns"
    );
    assert_eq!(
        r.messages_sent.get("COMMIT"),
        None,
        "gracious: no commit phase"
    );
}

/// Found by the simulator: the primary's CHECKPOINT arriving after the checkpoint became
/// stable (through a backup's) was dropped as late, leaving a hole in the primary's counter
/// stream that stalled the backup for good (ORDER-REQs parked behind it).
#[test]
fn minzyzyva_a_late_primary_checkpoint_keeps_its_place() {
    let s = catalog("minzyzyva-quickstart");
    let r = run(&s, 12, RunOptions::default()).unwrap();
    assert!(r.passed, "{:?}", r.failures);
    assert_eq!(r.messages_sent.get("FILL-HOLE"), None);
}

/// Paper §5, FILL-HOLE: a Byzantine primary withholds ORDER-REQs from one backup and
/// ignores its FILL-HOLEs; the backup asks everyone, another backup relays the ORDER-REQs
/// (they carry the primary's UI), and every request completes.
#[test]
fn minzyzyva_holes_left_by_a_byzantine_primary_are_filled_by_others() {
    let s = catalog("minzyzyva-holey-primary");
    let r = run(&s, 3, RunOptions::default()).unwrap();
    assert!(r.passed, "{:?}", r.failures);
    assert_eq!(r.completed, 180);
    let fill_holes = r.messages_sent.get("FILL-HOLE").copied().unwrap_or(0);
    assert!(fill_holes > 0, "the holes were noticed");
}

#[test]
fn minzyzyva_a_primary_holding_back_order_reqs_from_every_backup_is_replaced() {
    let s = catalog("minzyzyva-holey-primary-view-change");
    for seed in 1..=3 {
        let r = run(&s, seed, RunOptions::default()).unwrap();
        assert!(r.passed, "seed {seed}: {:?}", r.failures);
        assert_eq!(r.completed, 180);
        assert!(r.view_max >= 1, "seed {seed}: the view changed");
    }
}

/// MinZyzyva state transfer: a backup partitioned while the others garbage-collect past
/// it restores their stable checkpoint when the network heals (STATE-REQUEST /
/// STATE-REPLY), then executes requests again; the oracles hold throughout.
#[test]
fn minzyzyva_a_partitioned_backup_catches_up_by_state_transfer() {
    let s = catalog("minzyzyva-partitioned-backup");
    for seed in 1..=2 {
        let buf = Shared::default();
        let trace = RunOptions {
            trace: Some(Box::new(buf.clone())),
        };
        let r = run(&s, seed, trace).unwrap();
        assert!(r.passed, "seed {seed}: {:?}", r.failures);
        assert_eq!(r.completed, 450, "seed {seed}");
        assert!(r.messages_sent.get("STATE-REPLY").is_some_and(|&n| n > 0));
        let text = String::from_utf8(buf.0.lock().unwrap().to_vec()).unwrap();
        let number = |line: &str, key: &str| -> u64 {
            let at = line.find(key).unwrap() + key.len();
            let digits: String = line[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().unwrap()
        };
        let restored = text
            .lines()
            .find(|l| l.contains("\"ev\":\"state-transfer\"") && l.contains("\"replica\":2,"))
            .map(|l| number(l, "\"position\":"))
            .expect("replica 2 restored a checkpoint");
        assert!(restored > 0, "seed {seed}");
        let executed_after = text
            .lines()
            .filter(|l| l.contains("\"ev\":\"execute\"") && l.contains("\"replica\":2,"))
            .filter(|l| number(l, "\"position\":") >= restored)
            .count();
        assert!(
            executed_after > 0,
            "seed {seed}: replica 2 executes after the transfer"
        );
    }
}

/// MinZyzyva state transfer with the primary crashed when the partition heals: the backup
/// learns it is behind from an unanswered FILL-HOLE, restores its peer's stable state, and
/// the two change view.
#[test]
fn minzyzyva_a_partitioned_backup_restores_state_and_changes_view_without_the_primary() {
    let s = catalog("minzyzyva-partitioned-backup-view-change");
    let r = run(&s, 1, RunOptions::default()).unwrap();
    assert!(r.passed, "{:?}", r.failures);
    assert_eq!(r.completed, 450);
    assert!(r.view_max >= 1);
    assert!(r.messages_sent.get("STATE-REPLY").is_some_and(|&n| n > 0));
}

#[test]
fn durable_replicas_restart_from_their_log_and_announce_lost_counter_values() {
    for name in [
        "durable-restart-lost-counter",
        "durable-restart-during-view-change",
    ] {
        let s = catalog(name);
        for seed in 1..=3 {
            let r = run(&s, seed, RunOptions::default()).unwrap();
            assert!(r.passed, "{name} seed {seed}: {:?}", r.failures);
            assert_eq!(r.completed, r.invoked, "{name} seed {seed}");
            assert_eq!(
                r.messages_sent.get("RESTART").copied(),
                Some(1),
                "{name} seed {seed}: one RESTART for the lost counter values"
            );
            assert!(
                r.view_max >= 1,
                "{name} seed {seed}: the gap forced a view change"
            );
        }
    }
}

#[test]
fn durable_restart_lossy_seeds_667_784_and_823_make_progress() {
    // 667: a primary restarted from its log could execute nothing past its checkpoint (the
    // COMMITs it needed were garbage-collected) and never asked for a state transfer while
    // its own PREPAREs were logged. 784: a replica restarted in view 0 caught up by state
    // transfer to a checkpoint of view 1 but stayed in view 0, flooding stale PREPAREs that
    // kept the new primary's repair timer from ever asking for a lost COMMIT. 823: the new
    // primary's NEW-VIEW to one backup was lost and a state transfer right after it
    // garbage-collected it from the sent log, so FILL-HOLE never resent it and that backup
    // waited for it forever.
    let s = catalog("durable-restart-lossy");
    for seed in [667, 784, 823] {
        let r = run(&s, seed, RunOptions::default()).unwrap();
        assert!(r.passed, "seed {seed}: {:?}", r.failures);
    }
}

#[test]
fn a_replicas_busy_time_is_what_the_cpu_model_charged_it() {
    use minlab_scenarios::{CpuSpec, Dur};
    let mut s = catalog("quickstart");
    let without = run(&s, 1, RunOptions::default()).unwrap();
    assert!(without.per_replica.iter().all(|w| w.busy_ns == 0));
    // Only the per-input cost: every input (message or timer) costs exactly 10 µs.
    let per = 10_000;
    s.cpu = Some(CpuSpec {
        per_message: Dur(per),
        per_byte_ns: 0,
        create_ui: Some(Dur(0)),
        verify_ui: Some(Dur(0)),
        mac: Some(Dur(0)),
        signature: Some(Dur(0)),
        per_execute: Dur(0),
    });
    let r = run(&s, 1, RunOptions::default()).unwrap();
    assert!(r.passed, "{:?}", r.failures);
    for w in &r.per_replica {
        let received: u64 = w.received.values().sum();
        assert!(received > 0);
        // Each message received, and each timer that fired, once.
        assert!(w.busy_ns >= per * received, "{w:?}");
        assert_eq!(w.busy_ns % per, 0, "{w:?}");
        assert!(w.busy_ns <= r.sim_time_ns + per, "{w:?}");
    }
}

/// MinZyzyva crash recovery: durable replicas restart from their write-ahead log (a backup
/// twice; the primary and a backup with lost counter values, the second during a view
/// change whose new primary is down for good); every request completes and the oracles
/// hold.
#[test]
fn minzyzyva_durable_replicas_restart_from_their_log() {
    for name in [
        "minzyzyva-durable-restart-backup",
        "minzyzyva-durable-restart-lost-counter",
    ] {
        let s = catalog(name);
        for seed in 1..=3 {
            let r = run(&s, seed, RunOptions::default()).unwrap();
            assert!(r.passed, "{name} seed {seed}: {:?}", r.failures);
            assert_eq!(r.completed, r.invoked, "{name} seed {seed}");
        }
    }
    // The primary that lost counter values handed its view over, and the crash of view
    // 1's primary needed the restarted backup's VIEW-CHANGE for view 2.
    let r = run(
        &catalog("minzyzyva-durable-restart-lost-counter"),
        1,
        RunOptions::default(),
    )
    .unwrap();
    assert!(r.view_max >= 2, "view {}", r.view_max);
}

/// Without the write-ahead log a restarted MinZyzyva replica forgot what it sent, so it
/// counts among the `f` faulty: the lost-counter scenario has one fault too many, and
/// lost counter values need a durable replica.
#[test]
fn minzyzyva_restarts_without_the_log_count_as_faults() {
    let path = format!(
        "{}/../scenarios/catalog/minzyzyva-durable-restart-lost-counter.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let src = std::fs::read_to_string(&path).unwrap();
    let volatile = src.replace("durable = true", "durable = false");
    let e = Scenario::from_toml(&volatile, "volatile.toml").unwrap_err();
    assert!(e.to_string().contains("lost_counter_values"), "{e}");
    let no_loss: String = volatile
        .lines()
        .filter(|l| !l.starts_with("lost_counter_values"))
        .collect::<Vec<_>>()
        .join("\n");
    let e = Scenario::from_toml(&no_loss, "volatile.toml").unwrap_err();
    assert!(
        e.to_string()
            .contains("3 replicas are faulty but f = 1: safety cannot be expected to hold"),
        "{e}"
    );
}
