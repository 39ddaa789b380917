//! PBFT baseline tests: agreement and exactly-once under random schedules, crashed
//! backups, hostile input, and the Table 1 MAC count at the primary.

use super::auth::{ReplicaKeys, commit_bytes, pre_prepare_bytes, prepare_bytes};
use super::cluster::{Cluster, Faults};
use super::messages::{Authenticator, Commit, Message, PrePrepare, Prepare};
use super::{Config, Replica};
use crate::event::{Event, RejectReason};
use crate::minbft::auth::ClientKeyring;
use crate::minbft::certify::batch_digest;
use crate::minbft::messages::{MessageKind, Reply, Request, RequestAuth};
use crate::node::NodeId;
use crate::outbox::{Outbox, Output, TimerKind};
use crate::service::KvStore;
use crate::time::Instant;
use proptest::prelude::*;
use std::sync::Arc;

const SEED: u64 = 11;

fn config(f: u32, clients: u32, b: usize) -> Config {
    let mut c = Config::new(f, clients);
    c.batch_size_max = b;
    c.checkpoint_period = 4;
    c.log_window = 8;
    c
}

fn executed_counts(c: &Cluster) -> Vec<usize> {
    c.executions.iter().map(Vec::len).collect()
}

#[test]
fn fault_free_runs_complete_agree_and_garbage_collect() {
    for (f, b) in [(1, 1), (1, 3), (2, 1), (2, 4)] {
        let mut c = Cluster::new(config(f, 5, b), SEED, Faults::default(), 60);
        c.run(1_000_000);
        assert_eq!(c.completions.len(), 60, "f = {f}, b = {b}");
        c.check_agreement().unwrap();
        assert_eq!(executed_counts(&c), vec![60; 3 * f as usize + 1]);
        for r in &c.replicas {
            // Checkpoints every 4 sequence numbers became stable and truncated the log.
            assert!(r.low_water_mark() > 0 && r.low_water_mark() % 4 == 0);
            assert!(r.log_len() as u64 <= r.config().log_window);
            assert_eq!(r.metrics().rejections_total(), 0);
        }
        let stable = c
            .events
            .iter()
            .filter(|(_, e)| matches!(e, Event::CheckpointStable { .. }))
            .count();
        assert!(
            stable > 3 * f as usize,
            "f = {f}: {stable} stable checkpoints"
        );
    }
}

#[test]
fn f_crashed_backups_do_not_stop_progress() {
    for f in [1u32, 2] {
        let mut c = Cluster::new(config(f, 3, 2), SEED, Faults::default(), 40);
        for r in 0..f {
            c.crashed.insert(3 * f - r); // the last f replicas; the primary is 0
        }
        c.run(1_000_000);
        assert_eq!(c.completions.len(), 40, "f = {f}");
        c.check_agreement().unwrap();
        for r in 0..=(2 * f) {
            assert_eq!(c.executions[r as usize].len(), 40);
        }
    }
}

#[test]
fn f_plus_one_crashed_backups_stop_progress_safely() {
    let f = 1;
    let mut c = Cluster::new(config(f, 2, 1), SEED, Faults::default(), 10);
    c.crashed.extend([2, 3]);
    c.run(10_000);
    assert!(c.completions.is_empty());
    assert!(c.executions.iter().all(Vec::is_empty));
}

#[test]
fn a_crashed_primary_only_makes_backups_report_their_request_timer() {
    let mut c = Cluster::new(config(1, 1, 1), SEED, Faults::default(), 1);
    c.crashed.insert(0);
    c.run(200);
    assert!(c.completions.is_empty());
    // The client retransmitted to all; backups watched the request and their request
    // timer fired without a view change (this baseline has none).
    assert!(
        c.events
            .iter()
            .any(|(_, e)| matches!(e, Event::Retransmitted { .. }))
    );
    let ignored = c
        .events
        .iter()
        .filter(|(n, e)| {
            matches!(n, NodeId::Replica(_))
                && *e
                    == Event::TimerIgnored {
                        kind: TimerKind::RequestTimeout,
                    }
        })
        .count();
    assert!(ignored >= 3, "{ignored}");
}

#[test]
fn lost_replies_are_recovered_by_retransmission_and_cached_replies() {
    let mut c = Cluster::new(config(1, 1, 1), SEED, Faults::default(), 3);
    // The first reply of every replica for request 1 is lost.
    let mut lost = std::collections::BTreeSet::new();
    c.filter = Some(Box::new(move |from, _, msg| {
        matches!(msg, Message::Reply(r) if r.seq == 1) && lost.insert(from)
    }));
    c.run(100_000);
    assert_eq!(c.completions.len(), 3);
    c.check_agreement().unwrap();
    assert!(
        c.events
            .iter()
            .any(|(_, e)| matches!(e, Event::Retransmitted { seq: 1, .. }))
    );
    let resent: u64 = c.replicas.iter().map(|r| r.metrics().replies_resent).sum();
    assert_eq!(resent, 4, "every replica resent its cached reply once");
    // Request 1 still executed exactly once everywhere.
    assert_eq!(executed_counts(&c), vec![3; 4]);
}

#[test]
fn a_lost_pre_prepare_leaves_one_backup_behind_but_not_the_others() {
    let mut c = Cluster::new(config(1, 2, 1), SEED, Faults::default(), 30);
    c.filter = Some(Box::new(|_, to, msg| {
        to == NodeId::Replica(3) && matches!(msg, Message::PrePrepare(pp) if pp.seq == 2)
    }));
    c.run(1_000_000);
    assert_eq!(c.completions.len(), 30);
    c.check_agreement().unwrap();
    // No retransmission of protocol messages and no state transfer: replica 3 stays at 1.
    assert_eq!(c.replicas[3].last_executed(), 1);
    assert!(c.replicas[3].log_len() as u64 <= c.replicas[3].config().log_window);
    assert!(c.replicas[0].low_water_mark() > 0);
}

/// A faulty primary sends different PRE-PREPAREs for sequence number 1 (and COMMITs for
/// one of them to everyone): correct backups never execute different batches there.
#[test]
fn an_equivocating_primary_cannot_split_correct_replicas() {
    let fx = fixture();
    let mut backups: Vec<Replica<KvStore>> = (1..4)
        .map(|r| Replica::from_seed(fx.config.clone(), r, SEED, KvStore::new()).unwrap())
        .collect();
    let a = fx.pre_prepare(1, vec![fx.request(1, b"a")]);
    let b = fx.pre_prepare(1, vec![fx.request(1, b"b")]);
    let da = batch_digest(&a.batch);
    let commit_a = Arc::new(Commit {
        view: 0,
        seq: 1,
        digest: da,
        sender: 0,
        auth: fx.keys[0].authenticate(&commit_bytes(0, 1, &da)),
    });
    let mut queue: std::collections::VecDeque<(NodeId, u32, Message)> = [
        (1, Message::PrePrepare(a.clone())),
        (2, Message::PrePrepare(a)),
        (3, Message::PrePrepare(b)),
        (1, Message::Commit(commit_a.clone())),
        (2, Message::Commit(commit_a.clone())),
        (3, Message::Commit(commit_a)),
    ]
    .into_iter()
    .map(|(to, m)| (NodeId::Replica(0), to, m))
    .collect();
    let mut executed: Vec<Vec<Vec<u8>>> = vec![Vec::new(); 3];
    while let Some((from, to, msg)) = queue.pop_front() {
        let mut out = Outbox::new();
        backups[to as usize - 1].on_message(Instant::ZERO, from, msg, &mut out);
        for o in out.drain() {
            match o {
                Output::Broadcast { msg } => {
                    for r in (1..4).filter(|&r| r != to) {
                        queue.push_back((NodeId::Replica(to), r, msg.clone()));
                    }
                }
                Output::Event(Event::RequestExecuted { request, .. }) => {
                    executed[to as usize - 1].push(request.op.clone())
                }
                _ => {}
            }
        }
    }
    // Backups 1 and 2 (with the primary's COMMIT) commit `a`; backup 3 never prepares `b`.
    assert_eq!(executed[0], vec![b"a".to_vec()]);
    assert_eq!(executed[1], vec![b"a".to_vec()]);
    assert!(executed[2].is_empty());
}

fn schedule_faults() -> impl Strategy<Value = (u32, u64, Faults)> {
    (1u32..=2, any::<u64>(), 0u64..40, 0u64..80, 1usize..12).prop_map(|(f, seed, d, dup, w)| {
        (
            f,
            seed,
            Faults {
                drop_per_mille: d,
                duplicate_per_mille: dup,
                reorder_window: w,
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Agreement by position and exactly-once under random delivery order, drops and
    /// duplicates; without drops, every operation also completes.
    #[test]
    fn random_schedules_keep_agreement_and_exactly_once((f, seed, faults) in schedule_faults()) {
        let ops = 24;
        let mut c = Cluster::new(config(f, 3, 2), seed, faults, ops);
        c.run(200_000);
        prop_assert!(c.check_agreement().is_ok(), "{:?}", c.check_agreement());
        // Each completion is a distinct request.
        let mut done = c.completions.clone();
        done.sort();
        done.dedup();
        prop_assert_eq!(done.len(), c.completions.len());
        if faults.drop_per_mille == 0 {
            prop_assert_eq!(c.completions.len() as u64, ops);
        }
    }
}

// ---- hostile input ------------------------------------------------------------------

struct Fixture {
    config: Arc<Config>,
    keys: Vec<ReplicaKeys>,
    client: ClientKeyring,
    backup: Replica<KvStore>,
}

fn fixture() -> Fixture {
    let config = Arc::new(config(1, 2, 2));
    let keys = (0..4).map(|r| ReplicaKeys::from_seed(r, 4, SEED)).collect();
    let client = ClientKeyring::from_seed(config.client_auth, 0, 4, SEED);
    let backup = Replica::from_seed(config.clone(), 1, SEED, KvStore::new()).unwrap();
    Fixture {
        config,
        keys,
        client,
        backup,
    }
}

impl Fixture {
    fn request(&self, seq: u64, op: &[u8]) -> Arc<Request> {
        let mut r = Request {
            client: 0,
            seq,
            op: op.to_vec(),
            auth: RequestAuth::None,
        };
        r.auth = self.client.authenticate(&r);
        Arc::new(r)
    }

    fn pre_prepare(&self, seq: u64, batch: Vec<Arc<Request>>) -> Arc<PrePrepare> {
        let d = batch_digest(&batch);
        Arc::new(PrePrepare {
            view: 0,
            seq,
            primary: 0,
            auth: self.keys[0].authenticate(&pre_prepare_bytes(0, seq, &d)),
            batch,
        })
    }

    fn prepare(&self, sender: u32, seq: u64, digest: [u8; 32]) -> Arc<Prepare> {
        Arc::new(Prepare {
            view: 0,
            seq,
            digest,
            sender,
            auth: self.keys[sender as usize].authenticate(&prepare_bytes(0, seq, &digest)),
        })
    }

    /// Delivers `msg` from `from` to the backup; returns the rejection, if any.
    fn deliver(&mut self, from: NodeId, msg: Message) -> Option<RejectReason> {
        let mut out = Outbox::new();
        self.backup.on_message(Instant::ZERO, from, msg, &mut out);
        out.events().find_map(|e| match e {
            Event::MessageRejected { reason, .. } => Some(*reason),
            _ => None,
        })
    }
}

#[test]
fn hostile_pre_prepares_are_rejected_without_state_change() {
    let mut fx = fixture();
    let r0 = NodeId::Replica(0);
    let good = fx.pre_prepare(1, vec![fx.request(1, b"x")]);
    let before = fx.backup.clone();
    // Wrong transport sender.
    assert_eq!(
        fx.deliver(NodeId::Replica(2), Message::PrePrepare(good.clone())),
        Some(RejectReason::WrongSender)
    );
    // Not the primary of view 0 (replica 2 sending as itself).
    let mut pp = (*good).clone();
    pp.primary = 2;
    assert_eq!(
        fx.deliver(NodeId::Replica(2), Message::PrePrepare(Arc::new(pp))),
        Some(RejectReason::NotPrimary)
    );
    // A future view (no view change here).
    let mut pp = (*good).clone();
    pp.view = 4;
    assert_eq!(
        fx.deliver(r0, Message::PrePrepare(Arc::new(pp))),
        Some(RejectReason::FutureView)
    );
    // Above the high water mark H = 0 + 8.
    let far = fx.pre_prepare(9, vec![fx.request(1, b"x")]);
    assert_eq!(
        fx.deliver(r0, Message::PrePrepare(far)),
        Some(RejectReason::AboveHighWaterMark)
    );
    // A bad MAC (authenticator of another message).
    let mut pp = (*good).clone();
    pp.auth = fx.pre_prepare(2, vec![fx.request(1, b"x")]).auth.clone();
    assert_eq!(
        fx.deliver(r0, Message::PrePrepare(Arc::new(pp))),
        Some(RejectReason::BadMac)
    );
    // Empty and oversized batches.
    assert_eq!(
        fx.deliver(r0, Message::PrePrepare(fx.pre_prepare(1, vec![]))),
        Some(RejectReason::MalformedBatch)
    );
    let big = fx.pre_prepare(1, (1..=3).map(|s| fx.request(s, b"y")).collect());
    assert_eq!(
        fx.deliver(r0, Message::PrePrepare(big)),
        Some(RejectReason::MalformedBatch)
    );
    // An unknown client and a forged client authenticator, under a valid replica MAC.
    let mut unknown = (*fx.request(1, b"x")).clone();
    unknown.client = 7;
    assert_eq!(
        fx.deliver(
            r0,
            Message::PrePrepare(fx.pre_prepare(1, vec![Arc::new(unknown)]))
        ),
        Some(RejectReason::UnknownClient)
    );
    let mut forged = (*fx.request(1, b"x")).clone();
    forged.op = b"evil".to_vec();
    assert_eq!(
        fx.deliver(
            r0,
            Message::PrePrepare(fx.pre_prepare(1, vec![Arc::new(forged)]))
        ),
        Some(RejectReason::BadClientAuth)
    );
    assert_eq!(fx.backup.log_len(), before.log_len());
    assert_eq!(fx.backup.metrics().sent_of(MessageKind::Prepare), 0);
    // The good one is accepted; a conflicting one for the same sequence number is not.
    assert_eq!(fx.deliver(r0, Message::PrePrepare(good.clone())), None);
    assert_eq!(fx.backup.metrics().sent_of(MessageKind::Prepare), 1);
    let conflicting = fx.pre_prepare(1, vec![fx.request(1, b"z")]);
    assert_eq!(
        fx.deliver(r0, Message::PrePrepare(conflicting)),
        Some(RejectReason::ConflictingPrePrepare)
    );
    // A duplicate of the accepted one is stale, not a second PREPARE.
    assert_eq!(fx.deliver(r0, Message::PrePrepare(good)), None);
    assert_eq!(fx.backup.metrics().sent_of(MessageKind::Prepare), 1);
    assert_eq!(fx.backup.metrics().rejections_total(), 10);
}

#[test]
fn hostile_votes_and_requests_are_rejected() {
    let mut fx = fixture();
    let d = [5; 32];
    // A PREPARE from the primary, from ourselves, from an unknown replica, with a bad MAC.
    let from_primary = fx.prepare(0, 1, d);
    assert_eq!(
        fx.deliver(NodeId::Replica(0), Message::Prepare(from_primary)),
        Some(RejectReason::UnexpectedMessage)
    );
    assert_eq!(
        fx.deliver(NodeId::Replica(1), Message::Prepare(fx.prepare(1, 1, d))),
        Some(RejectReason::FromSelf)
    );
    let mut unknown = (*fx.prepare(2, 1, d)).clone();
    unknown.sender = 9;
    assert_eq!(
        fx.deliver(NodeId::Replica(9), Message::Prepare(Arc::new(unknown))),
        Some(RejectReason::UnknownReplica)
    );
    let mut bad = (*fx.prepare(2, 1, d)).clone();
    bad.digest = [6; 32];
    assert_eq!(
        fx.deliver(NodeId::Replica(2), Message::Prepare(Arc::new(bad))),
        Some(RejectReason::BadMac)
    );
    // A valid PREPARE, then the same sender again.
    assert_eq!(
        fx.deliver(NodeId::Replica(2), Message::Prepare(fx.prepare(2, 1, d))),
        None
    );
    assert_eq!(
        fx.deliver(
            NodeId::Replica(2),
            Message::Prepare(fx.prepare(2, 1, [7; 32]))
        ),
        Some(RejectReason::DuplicateVote)
    );
    // A COMMIT with a forged authenticator (replica 3's MACs, claiming replica 2).
    let forged = Commit {
        view: 0,
        seq: 1,
        digest: d,
        sender: 2,
        auth: fx.keys[3].authenticate(&commit_bytes(0, 1, &d)),
    };
    assert_eq!(
        fx.deliver(NodeId::Replica(2), Message::Commit(Arc::new(forged))),
        Some(RejectReason::BadMac)
    );
    // A truncated authenticator never panics.
    let short = Commit {
        view: 0,
        seq: 1,
        digest: d,
        sender: 2,
        auth: Authenticator(vec![]),
    };
    assert_eq!(
        fx.deliver(NodeId::Replica(2), Message::Commit(Arc::new(short))),
        Some(RejectReason::BadMac)
    );
    // Requests: wrong sender, unknown client, bad authenticator; a reply to a replica.
    let req = fx.request(1, b"x");
    assert_eq!(
        fx.deliver(NodeId::Client(1), Message::Request(req.clone())),
        Some(RejectReason::WrongSender)
    );
    let mut unknown = (*req).clone();
    unknown.client = 5;
    assert_eq!(
        fx.deliver(NodeId::Client(5), Message::Request(Arc::new(unknown))),
        Some(RejectReason::UnknownClient)
    );
    let mut tampered = (*req).clone();
    tampered.seq = 2;
    assert_eq!(
        fx.deliver(NodeId::Client(0), Message::Request(Arc::new(tampered))),
        Some(RejectReason::BadClientAuth)
    );
    let reply = Reply {
        replica: 2,
        client: 0,
        seq: 1,
        result: vec![],
        auth: None,
    };
    assert_eq!(
        fx.deliver(NodeId::Replica(2), Message::Reply(Box::new(reply))),
        Some(RejectReason::UnexpectedMessage)
    );
    assert_eq!(fx.backup.last_executed(), 0);
    let _ = &fx.config;
}

#[test]
fn hostile_checkpoints_are_rejected() {
    let mut fx = fixture();
    let cp = |fx: &Fixture, sender: u32, seq: u64| {
        let d = [1; 32];
        Arc::new(super::messages::Checkpoint {
            seq,
            state_digest: d,
            sender,
            auth: fx.keys[sender as usize].authenticate(&super::auth::checkpoint_bytes(seq, &d)),
        })
    };
    assert_eq!(
        fx.deliver(NodeId::Replica(2), Message::Checkpoint(cp(&fx, 2, 3))),
        Some(RejectReason::UnexpectedMessage)
    );
    assert_eq!(
        fx.deliver(NodeId::Replica(2), Message::Checkpoint(cp(&fx, 2, 12))),
        Some(RejectReason::AboveHighWaterMark)
    );
    assert_eq!(
        fx.deliver(NodeId::Replica(2), Message::Checkpoint(cp(&fx, 2, 4))),
        None
    );
    assert_eq!(
        fx.deliver(NodeId::Replica(2), Message::Checkpoint(cp(&fx, 2, 4))),
        Some(RejectReason::DuplicateVote)
    );
    // Votes of others alone never make a checkpoint stable: our own is missing.
    assert_eq!(
        fx.deliver(NodeId::Replica(3), Message::Checkpoint(cp(&fx, 3, 4))),
        None
    );
    assert_eq!(
        fx.deliver(NodeId::Replica(0), Message::Checkpoint(cp(&fx, 0, 4))),
        None
    );
    assert_eq!(fx.backup.low_water_mark(), 0);
}

// ---- Table 1 --------------------------------------------------------------------------

/// MAC operations per request at the primary (the bottleneck), measured in a fault-free
/// run with batches of exactly `b` requests and no checkpoint in the run.
fn primary_mac_ops_per_request(f: u32, b: usize) -> (u64, u64, u64) {
    let mut cfg = Config::new(f, b as u32);
    cfg.batch_size_max = b;
    cfg.checkpoint_period = 1_000;
    cfg.log_window = 2_000;
    let ops = 20 * b as u64;
    let mut c = Cluster::new(cfg, SEED, Faults::default(), ops);
    c.run(10_000_000);
    assert_eq!(c.completions.len() as u64, ops);
    let m = c.metrics(0);
    assert_eq!(m.requests_executed, ops);
    assert_eq!(m.batches_executed, 20, "every batch full");
    (m.mac_ops, m.requests_executed, m.batches_executed)
}

/// Table 1 gives PBFT `2 + (8f + 1)/b` HMAC operations per request at the primary. This
/// implementation does `2 + 10f/b` (checkpoints aside), per request: 1 to check the
/// client's authenticator entry and 1 for the reply MAC; per batch: `3f` for the
/// PRE-PREPARE's authenticator, `2f` to check the PREPAREs that make it prepared, `3f`
/// for its COMMIT's authenticator and `2f` to check the COMMITs that, with its own, make
/// `2f + 1` (later votes are dropped unchecked). The formula's per-batch count is
/// `2f - 1` lower. The only split of `8f + 1` we found that fits PBFT's messages is
/// `3f + 3f + (2f + 1)`: the PRE-PREPARE and COMMIT authenticators plus a quorum of
/// COMMIT checks, with no PREPARE checks (we do `2f`) and one COMMIT check more than
/// needed (a replica does not check its own COMMIT). That is our reading, not something
/// the paper states; every one of our `10f` operations is needed by PBFT's normal case
/// with MAC authenticators, so we report the difference rather than tune the count.
#[test]
fn table1_mac_ops_at_the_primary_measured_against_the_formula() {
    for f in [1u32, 2] {
        for b in [1usize, 10] {
            let (macs, requests, batches) = primary_mac_ops_per_request(f, b);
            let f64_ = u64::from(f);
            // What this implementation does, exactly.
            assert_eq!(macs, 2 * requests + 10 * f64_ * batches, "f = {f}, b = {b}");
            // Against Table 1, per request (times b to stay in integers).
            let ours_times_b = 2 * b as u64 + 10 * f64_;
            let paper_times_b = 2 * b as u64 + 8 * f64_ + 1;
            assert_eq!(macs * b as u64, ours_times_b * requests);
            assert_eq!(ours_times_b - paper_times_b, 2 * f64_ - 1);
        }
    }
}

#[test]
fn the_primary_sends_one_pre_prepare_per_full_batch() {
    let fx = fixture();
    let mut primary = Replica::from_seed(fx.config.clone(), 0, SEED, KvStore::new()).unwrap();
    let mut out = Outbox::new();
    let r1 = fx.request(1, b"a");
    primary.on_message(
        Instant::ZERO,
        NodeId::Client(0),
        Message::Request(r1),
        &mut out,
    );
    // b = 2: the first request waits for the batch timer.
    assert!(matches!(
        out.as_slice(),
        [Output::SetTimer {
            kind: TimerKind::Batch,
            ..
        }]
    ));
    out.clear();
    primary.on_timer(Instant(1), TimerKind::Batch, &mut out);
    assert!(matches!(
        out.as_slice(),
        [Output::Broadcast { msg: Message::PrePrepare(pp) }] if pp.seq == 1 && pp.batch.len() == 1
    ));
}
