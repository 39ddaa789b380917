//! Tests of MinZyzyva's write-ahead log and recovery: after every step of every replica, a
//! replica rebuilt from its log equals the live one in everything its later messages
//! depend on (view, history, state, sent log, checkpoints); restarted replicas, with and
//! without lost counter values, keep committed prefixes agreeing and the clients served;
//! a corrupt log is an error, never a panic.

use super::Replica;
use super::cluster::{Cluster, Faults, ZReplica};
use super::messages::Message;
use super::replica::ZOutbox;
use super::wal::{Record, encode_record};
use crate::error::ProtocolError;
use crate::event::{Event, RejectReason};
use crate::minbft::auth::{ClientAuth, ClientDirectory};
use crate::minbft::config::Config;
use crate::minbft::messages::MessageKind;
use crate::node::NodeId;
use crate::service::KvStore;
use crate::time::Duration;
use minlab_usig::{SymbolicUsig, Usig};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Everything later messages of `live` depend on, compared with `rec` (rebuilt from the
/// log). The committed prefix may be shorter after recovery (commits are relearned).
pub(crate) fn same_after_recovery(live: &ZReplica, rec: &ZReplica) -> Result<(), String> {
    let check = |what: &str, ok: bool| if ok { Ok(()) } else { Err(what.to_string()) };
    check("view", (live.view, live.primary) == (rec.view, rec.primary))?;
    check(
        "installed view",
        (live.vc.installed, live.vc.changing) == (rec.vc.installed, rec.vc.changing),
    )?;
    check("state digest", live.state_digest() == rec.state_digest())?;
    check(
        "execution counts",
        (live.state.executed_count, live.state.slots)
            == (rec.state.executed_count, rec.state.slots),
    )?;
    check(
        "history base",
        live.history.base_slot == rec.history.base_slot,
    )?;
    let orders = |r: &ZReplica| -> Vec<_> {
        r.history
            .entries
            .iter()
            .map(|e| {
                let positions: Vec<_> = e.outcomes.iter().map(|o| o.position).collect();
                (e.order.clone(), positions, e.history)
            })
            .collect()
    };
    check("history entries", orders(live) == orders(rec))?;
    check("sent log (O)", live.sent == rec.sent)?;
    check(
        "stable checkpoint",
        (live.checkpoints.stable, &live.checkpoints.stable_cert)
            == (rec.checkpoints.stable, &rec.checkpoints.stable_cert),
    )?;
    let own_votes = |r: &ZReplica| -> BTreeMap<u64, _> {
        r.checkpoints
            .votes
            .iter()
            .filter_map(|(&slot, v)| v.get(&r.id).map(|c| (slot, c.clone())))
            .collect()
    };
    check("own checkpoint votes", own_votes(live) == own_votes(rec))?;
    check(
        "snapshots",
        live.history
            .snapshots
            .keys()
            .eq(rec.history.snapshots.keys()),
    )?;
    if fifo(live) != fifo(rec) {
        return Err(format!(
            "FIFO position: live {:?}, recovered {:?} (view {}, primary {}, head {:?})",
            fifo(live),
            fifo(rec),
            live.view,
            live.primary,
            live.head_key()
        ));
    }
    check(
        "own NEW-VIEW",
        live.vc.last_new_view == rec.vc.last_new_view,
    )?;
    if live.vc.changing {
        check(
            "own VIEW-CHANGE",
            live.vc.received.get(&live.id) == rec.vc.received.get(&rec.id),
        )?;
    }
    check(
        "committed prefix",
        rec.history.committed <= live.history.committed,
    )
}

/// The FIFO position outside a view change (it means nothing during one).
fn fifo(r: &ZReplica) -> Option<u64> {
    (!r.vc.changing).then_some(r.accepted)
}

fn config(f: u32, clients: u32) -> Config {
    let mut c = Config::new(f, clients);
    c.checkpoint_period = 4;
    c.log_window = 16;
    c.client_auth = ClientAuth::MacAuthenticator;
    c.durable = true;
    c
}

fn checked(cfg: Config, seed: u64, faults: Faults, ops: u64) -> Cluster {
    let mut c = Cluster::new(cfg, seed, faults, ops);
    c.check_recovery = true;
    c
}

fn assert_safe(c: &Cluster) {
    assert_eq!(c.check_agreement(), Ok(()));
    assert_eq!(c.check_completions(), Ok(()));
}

#[test]
fn the_gracious_path_with_batches_and_checkpoints_recovers_at_every_step() {
    let mut cfg = config(1, 4);
    cfg.batch_size_max = 3;
    let mut c = checked(cfg, 1, Faults::default(), 30);
    c.run(50_000);
    assert_eq!(c.completions.len(), 30);
    assert!(c.replicas.iter().all(|r| r.low_water_mark() >= 4));
    assert_safe(&c);
}

#[test]
fn a_view_change_recovers_at_every_step() {
    let mut c = checked(config(1, 2), 5, Faults::default(), 6);
    c.crashed.insert(0);
    c.run(20_000);
    assert_eq!(c.completions.len(), 6);
    assert!(c.replicas[1].installed_view() >= 1);
    assert_safe(&c);
}

#[test]
fn a_rollback_recovers_at_every_step() {
    // As `a_speculative_execution_the_new_view_leaves_out_is_rolled_back`: the primary
    // executes request 2 alone and rolls it back when view 1 leaves it out.
    let mut c = checked(config(1, 1), 11, Faults::default(), 3);
    c.filter = Some(Box::new(|from, to, m| match m {
        Message::OrderReq(o) => from == NodeId::Replica(0) && o.view == 0 && o.batch[0].seq == 2,
        Message::ViewChange(_) => from == NodeId::Replica(0) && to == NodeId::Replica(1),
        _ => false,
    }));
    c.run(50_000);
    let rolled_back = c
        .events
        .iter()
        .any(|(n, e)| *n == NodeId::Replica(0) && matches!(e, Event::RolledBack { .. }));
    assert!(rolled_back, "the scenario rolls back at replica 0");
    assert_eq!(c.completions.len(), 3);
    assert_safe(&c);
}

#[test]
fn histories_reconciled_by_a_new_view_recover_at_every_step() {
    let mut c = checked(config(1, 2), 13, Faults::default(), 4);
    c.filter = Some(Box::new(|_from, to, m| match m {
        Message::OrderReq(o) if o.view == 0 => {
            (o.batch[0].client == 0 && to == NodeId::Replica(2))
                || (o.batch[0].client == 1 && to == NodeId::Replica(1))
        }
        Message::FillHole(_) => true,
        _ => false,
    }));
    c.run(100_000);
    assert_eq!(c.completions.len(), 4);
    assert_safe(&c);
}

/// Runs `ops` operations; replica `r` crashes after `crash_at` steps and restarts from its
/// log after `down` more (with `lost` counter values consumed in the crash). Returns the
/// cluster and the length of its event log at the restart.
fn crash_and_restart(
    r: u32,
    crash_at: u64,
    down: u64,
    lost: u64,
    seed: u64,
    ops: u64,
) -> (Cluster, usize) {
    let mut cfg = config(1, 3);
    cfg.batch_size_max = 2;
    cfg.retransmit_timeout = Duration::from_millis(20);
    let mut c = Cluster::new(cfg, seed, Faults::default(), ops);
    c.run(crash_at);
    c.crashed.insert(r);
    for _ in 0..down {
        c.step();
    }
    c.restart(r, lost);
    let restarted_at = c.events.len();
    c.run(400_000);
    (c, restarted_at)
}

/// Requests replica `r` executed (speculatively) after the event log reached `from`.
fn executed_since(c: &Cluster, r: u32, from: usize) -> usize {
    c.events[from..]
        .iter()
        .filter(|(n, e)| {
            *n == NodeId::Replica(r) && matches!(e, Event::SpeculativelyExecuted { .. })
        })
        .count()
}

#[test]
fn a_restarted_backup_rejoins() {
    for (crash_at, down) in [(40, 0), (90, 60), (200, 250)] {
        let (c, restarted_at) = crash_and_restart(2, crash_at, down, 0, 3, 120);
        assert_eq!(c.completions.len(), 120, "crash at {crash_at}");
        assert_safe(&c);
        // It executes again after the restart (from its log's state, by FILL-HOLE or by
        // state transfer), and its committed state agrees (`assert_safe`).
        assert!(
            executed_since(&c, 2, restarted_at) > 0,
            "crash at {crash_at}: replica 2 executes after its restart"
        );
    }
}

#[test]
fn a_restarted_primary_without_lost_values_keeps_its_view() {
    let (c, _) = crash_and_restart(0, 60, 0, 0, 4, 40);
    assert_eq!(c.completions.len(), 40);
    assert_safe(&c);
    assert!(
        c.replicas.iter().all(|r| r.view() == 0),
        "no view change was needed"
    );
}

#[test]
fn a_restarted_primary_that_lost_counter_values_hands_over_its_view() {
    let (c, _) = crash_and_restart(0, 60, 0, 3, 4, 40);
    assert_eq!(c.completions.len(), 40);
    assert_safe(&c);
    assert_eq!(c.replicas[0].lost_counter_values(), 3);
    // Its own REQ-VIEW-CHANGE started the change (backups had no hole to time out on).
    assert!(c.replicas[0].metrics().sent_of(MessageKind::ReqViewChange) >= 1);
    assert!(c.replicas.iter().all(|r| r.view() >= 1));
    let digests: Vec<_> = c.replicas.iter().map(|r| r.history_digest()).collect();
    assert!(digests.iter().all(|d| *d == digests[0]));
}

#[test]
fn a_backup_with_lost_counter_values_still_helps_the_next_view_change() {
    // Backup 2 restarts with 5 counter values lost (its `O` would have a hole), then the
    // primary crashes: with f = 1 the view change needs replica 2's VIEW-CHANGE. Replica 2
    // certified its stable checkpoint again on resume, so its `O` starts after the hole and
    // the view change goes through; requests complete in the new view.
    let mut cfg = config(1, 3);
    cfg.retransmit_timeout = Duration::from_millis(20);
    let mut c = Cluster::new(cfg, 8, Faults::default(), 30);
    c.run(120);
    assert!(
        c.replicas[2].low_water_mark() > 0,
        "a stable checkpoint before the crash"
    );
    c.crashed.insert(2);
    c.restart(2, 5);
    assert_eq!(c.replicas[2].lost_counter_values(), 5);
    let own = c.replicas[2]
        .stable_checkpoint()
        .iter()
        .find(|cp| cp.sender == 2)
        .map(|cp| cp.ui.counter);
    assert_eq!(
        own,
        Some(c.replicas[2].usig().last_counter()),
        "`O` starts after the new CHECKPOINT, past the hole"
    );
    c.crashed.insert(0);
    c.run(400_000);
    assert_safe(&c);
    assert_eq!(c.completions.len(), 30);
    assert!(c.replicas[1].installed_view() >= 1);
    let rejected_vc = c.events.iter().any(|(_, e)| {
        matches!(
            e,
            Event::MessageRejected {
                kind: MessageKind::ViewChange,
                reason: RejectReason::InvalidViewChange,
                ..
            }
        )
    });
    assert!(!rejected_vc, "no VIEW-CHANGE had a hole");
}

#[test]
fn without_recertifying_a_backup_with_lost_counter_values_cannot_help() {
    // The same run with the restarted replica's hole left in `O` (the recovered replica
    // is not resumed): its VIEW-CHANGE is refused and no view can be installed.
    let mut cfg = config(1, 3);
    cfg.retransmit_timeout = Duration::from_millis(20);
    let mut c = Cluster::new(cfg, 8, Faults::default(), 30);
    c.run(120);
    c.crashed.insert(2);
    c.restart_without_resume(2, 5);
    c.crashed.insert(0);
    c.run(100_000);
    assert_safe(&c);
    assert_eq!(c.replicas[1].installed_view(), 0);
    let rejected_vc = c.events.iter().any(|(n, e)| {
        *n == NodeId::Replica(1)
            && matches!(
                e,
                Event::MessageRejected {
                    kind: MessageKind::ViewChange,
                    reason: RejectReason::InvalidViewChange,
                    ..
                }
            )
    });
    assert!(rejected_vc);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Random drops, duplicates and reordering (with the view changes and rollbacks they
    /// cause): after every step of every replica, recovery from its log rebuilds it.
    #[test]
    fn random_schedules_recover_at_every_step(
        seed in any::<u64>(),
        drop in 0u64..60,
        dup in 0u64..60,
        window in 1usize..6,
    ) {
        let mut cfg = config(1, 3);
        cfg.retransmit_timeout = Duration::from_millis(20);
        cfg.batch_size_max = 1 + (seed % 3) as usize;
        let faults = Faults { drop_per_mille: drop, duplicate_per_mille: dup, reorder_window: window };
        let mut c = checked(cfg, seed, faults, 12);
        // Bounded: recovery is checked after every step (a run that never settles, with
        // timers firing on, would otherwise check for minutes).
        c.run(5_000);
        prop_assert_eq!(c.check_agreement(), Ok(()));
        prop_assert_eq!(c.check_completions(), Ok(()));
    }

    /// Random restarts of random replicas, with or without lost counter values, under
    /// random drops: committed prefixes agree and nothing completed is rolled back.
    #[test]
    fn random_restarts_keep_committed_prefixes_agreeing(
        seed in any::<u64>(),
        r in 0u32..3,
        crash_at in 10u64..400,
        down in 0u64..300,
        lost in 0u64..3,
    ) {
        let (c, _) = crash_and_restart(r, crash_at, down, lost, seed, 30);
        prop_assert_eq!(c.check_agreement(), Ok(()));
        prop_assert_eq!(c.check_completions(), Ok(()));
        prop_assert_eq!(c.completions.len(), 30);
    }
}

fn recover_from(records: &[Vec<u8>]) -> Result<ZReplica, ProtocolError> {
    let cfg = Arc::new(config(1, 3));
    let dir = ClientDirectory::from_seed(cfg.client_auth, 1, cfg.client_count, 1);
    Replica::recover(
        cfg,
        Arc::new(dir),
        SymbolicUsig::new(1, 3),
        KvStore::new(),
        records,
    )
}

#[test]
fn a_corrupt_or_inconsistent_log_is_an_error_not_a_panic() {
    // A real log to corrupt.
    let mut c = Cluster::new(config(1, 3), 2, Faults::default(), 20);
    c.run(20_000);
    let good = c.wal[1].clone();
    assert!(matches!(
        super::wal::decode_record(&good[0]),
        Ok(Record::Base(_))
    ));
    assert!(recover_from(&good).is_ok());
    let corrupt = |records: Vec<Vec<u8>>| match recover_from(&records) {
        Err(ProtocolError::CorruptLog(_)) => {}
        other => panic!("expected CorruptLog, got {:?}", other.map(|_| ())),
    };
    // Garbage, a truncated record, a rollback outside the history, a view going back, an
    // installed view that is not the current one.
    corrupt(vec![vec![0xff; 7]]);
    let mut cut = good.clone();
    let half = cut[0].len() / 2;
    cut[0].truncate(half);
    corrupt(cut);
    let mut rb = good.clone();
    rb.push(encode_record(&Record::RolledBack(1_000_000)));
    corrupt(rb);
    let mut views = good.clone();
    views.push(encode_record(&Record::View(5)));
    views.push(encode_record(&Record::View(4)));
    corrupt(views);
    let mut inst = good;
    inst.push(encode_record(&Record::Installed { view: 9, start: 1 }));
    corrupt(inst);
    // Random bytes never panic.
    for seed in 0..200u64 {
        let len = (seed % 40) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|i| (seed as u8).wrapping_mul(31).wrapping_add(i as u8))
            .collect();
        let _ = recover_from(&[bytes]);
    }
}

#[test]
fn a_replica_that_is_not_durable_emits_no_records() {
    let mut cfg = config(1, 2);
    cfg.durable = false;
    let mut c = Cluster::new(cfg, 1, Faults::default(), 10);
    c.run(10_000);
    assert!(c.wal.iter().all(|w| w.is_empty()));
    // And recovering from an empty log is a fresh replica.
    let fresh = recover_from(&[]).expect("empty log");
    assert_eq!(fresh.history_len(), 0);
    let mut out = ZOutbox::new();
    let mut fresh = fresh;
    fresh.resume(crate::time::Instant::ZERO, &mut out);
    assert!(
        out.drain().next().is_none(),
        "nothing lost, nothing to announce"
    );
}
