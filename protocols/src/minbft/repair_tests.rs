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
    let c = Arc::new(Config::new(1, 1));
    (0..3)
        .map(|id| {
            let dir = ClientDirectory::from_seed(c.client_auth, id, 1, 5);
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

fn msgs(out: &Outbox) -> Vec<(Option<NodeId>, Message)> {
    out.as_slice()
        .iter()
        .filter_map(|o| match o {
            Output::Broadcast { msg } => Some((None, msg.clone())),
            Output::Send { to, msg } => Some((Some(*to), msg.clone())),
            _ => None,
        })
        .collect()
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
    let mut out = Outbox::new();
    rs[1].on_message(t0, NodeId::Replica(0), prepare, &mut out);
    let commit = msgs(&out)
        .into_iter()
        .find(|(_, m)| matches!(m, Message::Commit(_)))
        .unwrap()
        .1;
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
