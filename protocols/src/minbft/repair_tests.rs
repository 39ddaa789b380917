//! Unit tests of retransmission (paper §3): a PREPARE lost on its way to a backup that
//! got the COMMITs is fetched with FILL-HOLE, and answers are rate-limited.

use super::*;
use crate::event::{Event, RejectReason};
use crate::node::NodeId;
use crate::outbox::{Outbox, Output, TimerKind};
use crate::service::{KvOp, KvStore};
use crate::time::{Duration, Instant};
use minlab_usig::SymbolicUsig;
use std::sync::Arc;

type R = Replica<SymbolicUsig, KvStore>;

fn group() -> Vec<R> {
    group_of(Config::new(1, 1))
}

/// Three replicas of `c` (f = 1) with `c.client_count` clients.
pub(super) fn group_of(c: Config) -> Vec<R> {
    let c = Arc::new(c);
    (0..3)
        .map(|id| {
            let dir = ClientDirectory::from_seed(c.client_auth, id, c.client_count, 5);
            Replica::new(
                c.clone(),
                Arc::new(dir),
                SymbolicUsig::new(id, 3),
                KvStore::new(),
            )
            .unwrap()
        })
        .collect()
}

/// What `out` sends: `(Some(to), msg)` for a send, `(None, msg)` for a broadcast.
pub(super) fn msgs(out: &Outbox) -> Vec<(Option<NodeId>, Message)> {
    out.as_slice()
        .iter()
        .filter_map(|o| match o {
            Output::Broadcast { msg } => Some((None, msg.clone())),
            Output::Send { to, msg } => Some((Some(*to), msg.clone())),
            _ => None,
        })
        .collect()
}

/// Hands `prepare` from the primary (replica 0) to `backup` and returns its COMMIT.
fn commit_of(backup: &mut R, now: Instant, prepare: Message) -> Message {
    let mut out = Outbox::new();
    backup.on_message(now, NodeId::Replica(0), prepare, &mut out);
    msgs(&out)
        .into_iter()
        .find(|(_, m)| matches!(m, Message::Commit(_)))
        .expect("a COMMIT")
        .1
}

#[test]
fn a_lost_prepare_is_fetched_and_fill_holes_are_rate_limited() {
    let mut rs = group();
    let req = Arc::new(Request {
        client: 0,
        seq: 1,
        op: KvOp::Get { key: 1 }.encode(),
        auth: RequestAuth::None,
    });
    let t0 = Instant::ZERO;
    let mut out = Outbox::new();
    rs[0].on_message(t0, NodeId::Client(0), Message::Request(req), &mut out);
    let prepare = msgs(&out).remove(0).1;
    // Backup 1 gets the PREPARE and commits; the PREPARE to backup 2 is lost.
    let commit = commit_of(&mut rs[1], t0, prepare);
    let mut out = Outbox::new();
    rs[2].on_message(t0, NodeId::Replica(1), commit, &mut out);
    assert_eq!(rs[2].last_executed(), 0, "an early vote, no PREPARE");
    let armed = out.as_slice().iter().find_map(|o| match o {
        Output::SetTimer {
            kind: TimerKind::Repair,
            deadline,
        } => Some(*deadline),
        _ => None,
    });
    let t1 = armed.expect("the repair timer is armed");
    // No progress until it fires: backup 2 asks replica 0 for counter value 1.
    let mut out = Outbox::new();
    rs[2].on_timer(t1, TimerKind::Repair, &mut out);
    let ask = msgs(&out)
        .into_iter()
        .find(|(to, _)| *to == Some(NodeId::Replica(0)))
        .expect("a FILL-HOLE to the primary");
    match &ask.1 {
        Message::FillHole(f) => assert_eq!((f.sender, f.from), (2, 1)),
        other => panic!("expected FILL-HOLE, got {other:?}"),
    }
    let mut out = Outbox::new();
    rs[0].on_message(t1, NodeId::Replica(2), ask.1.clone(), &mut out);
    let resent = msgs(&out);
    assert!(matches!(
        resent.as_slice(),
        [(Some(NodeId::Replica(2)), Message::Prepare(_))]
    ));
    // A second request within repair_interval is refused: bounded work per asker.
    let mut again = Outbox::new();
    rs[0].on_message(
        t1 + Duration::from_millis(1),
        NodeId::Replica(2),
        ask.1,
        &mut again,
    );
    assert!(again.events().any(|e| matches!(
        e,
        Event::MessageRejected {
            reason: RejectReason::RateLimited,
            ..
        }
    )));
    // The resent PREPARE verifies as before and completes the batch at backup 2.
    let mut out = Outbox::new();
    rs[2].on_message(t1, NodeId::Replica(0), resent[0].1.clone(), &mut out);
    assert_eq!(rs[2].last_executed(), 1);
    assert_eq!(rs[2].last_executed_by_client(0), 1);
}

/// The deadline of the `Repair` timer `out` sets, if any.
fn repair_deadline(out: &Outbox) -> Option<Instant> {
    out.as_slice().iter().find_map(|o| match o {
        Output::SetTimer {
            kind: TimerKind::Repair,
            deadline,
        } => Some(*deadline),
        _ => None,
    })
}

#[test]
fn a_primary_whose_only_commit_was_lost_fetches_it() {
    // corrupt-network seeds 442, 452, 838, 944, 993: backup 2 lagged, and backup 1's
    // COMMIT was corrupted on its way to the primary; no later message from backup 1 came
    // to reveal the hole, so the primary waited forever for its f-th vote.
    let mut rs = group();
    let req = Arc::new(Request {
        client: 0,
        seq: 1,
        op: KvOp::Get { key: 1 }.encode(),
        auth: RequestAuth::None,
    });
    let t0 = Instant::ZERO;
    let mut out = Outbox::new();
    rs[0].on_message(t0, NodeId::Client(0), Message::Request(req), &mut out);
    let prepare = msgs(&out).remove(0).1;
    let t1 = repair_deadline(&out).expect("the PREPARE waits on votes: repair armed");
    // Backup 1 commits (and executes: PREPARE + its COMMIT); its COMMIT is lost; backup 2
    // hears nothing.
    let mut out = Outbox::new();
    rs[1].on_message(t0, NodeId::Replica(0), prepare, &mut out);
    assert_eq!(rs[1].last_executed(), 1);
    // No progress at the primary until the timer fires: it asks backup 1 for what follows
    // its FIFO position there.
    let mut out = Outbox::new();
    rs[0].on_timer(t1, TimerKind::Repair, &mut out);
    let ask = msgs(&out)
        .into_iter()
        .find(|(to, _)| *to == Some(NodeId::Replica(1)))
        .expect("a FILL-HOLE to backup 1");
    match &ask.1 {
        Message::FillHole(f) => assert_eq!((f.sender, f.from), (0, 1)),
        other => panic!("expected FILL-HOLE, got {other:?}"),
    }
    let mut out = Outbox::new();
    rs[1].on_message(t1, NodeId::Replica(0), ask.1, &mut out);
    let resent = msgs(&out);
    assert!(matches!(
        resent.as_slice(),
        [(Some(NodeId::Replica(0)), Message::Commit(_))]
    ));
    let mut out = Outbox::new();
    rs[0].on_message(t1, NodeId::Replica(1), resent[0].1.clone(), &mut out);
    assert_eq!(rs[0].last_executed(), 1);
    assert_eq!(rs[0].last_executed_by_client(0), 1);
}

#[test]
fn a_lagging_backup_recounts_checkpoint_evidence_when_votes_arrive_later() {
    // corrupt-network seeds 442 and 452: a backup missed a PREPARE that its primary then
    // garbage-collected at a stable checkpoint. The primary's CHECKPOINT waited in the
    // backup's FIFO buffer behind the hole; the other backup's matching CHECKPOINT was
    // corrupted and came (was processed) only later. The buffered one had already been
    // noted as evidence alone, and noting it again returned early, so the backup never
    // counted the two together and never asked for a state transfer.
    let c = Arc::new(Config {
        checkpoint_period: 4,
        log_window: 8,
        ..Config::new(1, 4)
    });
    let mut rs: Vec<R> = (0..3)
        .map(|id| {
            let dir = ClientDirectory::from_seed(c.client_auth, id, 4, 5);
            Replica::new(
                c.clone(),
                Arc::new(dir),
                SymbolicUsig::new(id, 3),
                KvStore::new(),
            )
            .unwrap()
        })
        .collect();
    let t0 = Instant::ZERO;
    let mut prepares = Vec::new();
    for client in 0..4 {
        let req = Arc::new(Request {
            client,
            seq: 1,
            op: KvOp::Get { key: 1 }.encode(),
            auth: RequestAuth::None,
        });
        let mut out = Outbox::new();
        rs[0].on_message(t0, NodeId::Client(client), Message::Request(req), &mut out);
        prepares.extend(msgs(&out).into_iter().map(|(_, m)| m));
    }
    assert_eq!(prepares.len(), 4);
    // Backup 1 gets everything; its COMMITs and CHECKPOINT reach the primary, whose
    // CHECKPOINT comes back: the checkpoint at counter value 4 is stable at both, and the
    // primary's sent log no longer holds PREPARE 1.
    let mut from_1 = Vec::new();
    for p in &prepares {
        let mut out = Outbox::new();
        rs[1].on_message(t0, NodeId::Replica(0), p.clone(), &mut out);
        from_1.extend(msgs(&out).into_iter().map(|(_, m)| m));
    }
    let mut from_0 = Vec::new();
    for m in &from_1 {
        let mut out = Outbox::new();
        rs[0].on_message(t0, NodeId::Replica(1), m.clone(), &mut out);
        from_0.extend(msgs(&out).into_iter().map(|(_, m)| m));
    }
    let checkpoint_0 = from_0
        .iter()
        .find(|m| matches!(m, Message::Checkpoint(_)))
        .expect("the primary's CHECKPOINT")
        .clone();
    let mut out = Outbox::new();
    rs[1].on_message(t0, NodeId::Replica(0), checkpoint_0.clone(), &mut out);
    assert_eq!((rs[0].low_water_mark(), rs[1].low_water_mark()), (4, 4));
    // Backup 2 loses PREPARE 1 and, for now, backup 1's CHECKPOINT.
    let (checkpoint_1, rest_1): (Vec<Message>, Vec<Message>) = from_1
        .into_iter()
        .partition(|m| matches!(m, Message::Checkpoint(_)));
    for p in &prepares[1..] {
        rs[2].on_message(t0, NodeId::Replica(0), p.clone(), &mut Outbox::new());
    }
    for m in rest_1 {
        rs[2].on_message(t0, NodeId::Replica(1), m, &mut Outbox::new());
    }
    rs[2].on_message(t0, NodeId::Replica(0), checkpoint_0, &mut Outbox::new());
    assert_eq!(rs[2].last_executed(), 0);
    let asks_state = |out: &Outbox| {
        msgs(out)
            .iter()
            .any(|(_, m)| matches!(m, Message::StateRequest(_)))
    };
    let tick = |r: &mut R, t: &mut Instant| {
        *t += Duration::from_millis(50);
        let mut out = Outbox::new();
        r.on_timer(*t, TimerKind::Repair, &mut out);
        out
    };
    let mut t = t0;
    // Repair ticks until the stuck backup asks for retransmission: it has noted the
    // primary's buffered CHECKPOINT, alone, as evidence.
    let mut asked = false;
    for _ in 0..3 {
        let out = tick(&mut rs[2], &mut t);
        assert!(!asks_state(&out), "one CHECKPOINT is not f + 1");
        if msgs(&out)
            .iter()
            .any(|(_, m)| matches!(m, Message::FillHole(_)))
        {
            asked = true;
            break;
        }
    }
    assert!(asked, "the stuck backup asks for retransmission");
    // Backup 1's CHECKPOINT arrives now and is processed (its sender's stream has no hole).
    rs[2].on_message(
        t,
        NodeId::Replica(1),
        checkpoint_1[0].clone(),
        &mut Outbox::new(),
    );
    let mut request = None;
    for _ in 0..3 {
        let out = tick(&mut rs[2], &mut t);
        if let Some((to, m)) = msgs(&out)
            .into_iter()
            .find(|(_, m)| matches!(m, Message::StateRequest(_)))
        {
            request = Some((to, m));
            break;
        }
    }
    let (to, m) = request.expect("f + 1 matching CHECKPOINTs: a state transfer");
    let signer = match to {
        Some(NodeId::Replica(s)) => s,
        other => panic!("STATE-REQUEST to {other:?}"),
    };
    let mut out = Outbox::new();
    rs[signer as usize].on_message(t, NodeId::Replica(2), m, &mut out);
    let reply = msgs(&out).remove(0).1;
    rs[2].on_message(t, NodeId::Replica(signer), reply, &mut Outbox::new());
    assert_eq!(rs[2].last_executed(), 4);
    assert!((0..4).all(|c| rs[2].last_executed_by_client(c) == 1));
}

/// The primary's repair waits for four requests whose COMMIT comes back 100 ms after the
/// PREPARE (a 50 ms link); checks that no FILL-HOLE is sent once the wait exceeds it.
fn repair_waits_over_a_100ms_round_trip(config: Config) -> Vec<Duration> {
    let mut rs = group_of(config);
    let rtt = Duration::from_millis(100);
    let mut waits = Vec::new();
    let mut now = Instant::ZERO;
    for seq in 1..=4 {
        let req = Arc::new(Request {
            client: 0,
            seq,
            op: KvOp::Get { key: 1 }.encode(),
            auth: RequestAuth::None,
        });
        let mut out = Outbox::new();
        rs[0].on_message(now, NodeId::Client(0), Message::Request(req), &mut out);
        let sent = now;
        waits.push(repair_deadline(&out).expect("armed on the PREPARE") - sent);
        let prepare = msgs(&out).remove(0).1;
        let commit = commit_of(&mut rs[1], now, prepare);
        now = sent + rtt;
        let mut out = Outbox::new();
        rs[0].on_message(now, NodeId::Replica(1), commit, &mut out);
        assert_eq!(rs[0].last_executed(), seq);
        // The timer armed for this request fires after the COMMIT: progress, no FILL-HOLE.
        let fire = sent + waits[waits.len() - 1];
        now = now.max(fire);
        let mut out = Outbox::new();
        rs[0].on_timer(now, TimerKind::Repair, &mut out);
        assert!(msgs(&out).is_empty(), "no FILL-HOLE after progress");
    }
    waits
}

#[test]
fn the_repair_wait_follows_the_commit_round_trip() {
    // With the fixed 50 ms wait the primary asked for the COMMITs on every request of a
    // 50 ms link; it now learns to wait longer than the round trip.
    let waits = repair_waits_over_a_100ms_round_trip(Config::new(1, 1));
    assert_eq!(
        waits[0],
        Duration::from_millis(50),
        "the floor before any sample"
    );
    assert!(
        waits[1..].iter().all(|w| *w > Duration::from_millis(100)),
        "{waits:?}"
    );
    // A fixed wait (as the model checker runs it) stays at 50 ms.
    let fixed = Config {
        repair_interval_max: Duration::from_millis(50),
        ..Config::new(1, 1)
    };
    let waits = repair_waits_over_a_100ms_round_trip(fixed);
    assert!(
        waits.iter().all(|w| *w == Duration::from_millis(50)),
        "{waits:?}"
    );
}
