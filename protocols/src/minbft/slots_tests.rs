//! Unit tests of the paper's §7 batch rule ([`BatchRule::Slots`]) at a MinBFT primary:
//! a free slot orders what is queued at once, without the batch timer; with no slot free
//! requests queue, and go into the next agreement when an executed batch frees a slot.

use super::tests::{R, T0, broadcasts, commit, config, deliver, replica, request};
use super::*;
use crate::BatchRule;
use crate::node::NodeId;
use crate::outbox::{Outbox, Output, TimerKind};
use minlab_usig::SymbolicUsig;

/// The PREPAREs in `out`, as the clients of their batches.
fn prepared(out: &Outbox) -> Vec<Vec<u32>> {
    out.as_slice()
        .iter()
        .filter_map(|o| match o {
            Output::Broadcast {
                msg: Message::Prepare(p),
            } => Some(p.batch.iter().map(|r| r.client).collect()),
            _ => None,
        })
        .collect()
}

/// The one PREPARE in `out`.
fn the_prepare(out: &Outbox) -> std::sync::Arc<Prepare> {
    out.as_slice()
        .iter()
        .find_map(|o| match o {
            Output::Broadcast {
                msg: Message::Prepare(p),
            } => Some(p.clone()),
            _ => None,
        })
        .expect("a PREPARE")
}

fn batch_timer_set(out: &Outbox) -> bool {
    out.as_slice().iter().any(|o| {
        matches!(
            o,
            Output::SetTimer {
                kind: TimerKind::Batch,
                ..
            }
        )
    })
}

fn submit(p: &mut R, client: u32) -> Outbox {
    let mut out = Outbox::new();
    p.on_message(
        T0,
        NodeId::Client(client),
        Message::Request(request(client, 1)),
        &mut out,
    );
    out
}

#[test]
fn a_free_slot_orders_a_lone_request_at_once() {
    // Batches of up to 200: under the timer rule a lone request waits for the batch timer,
    // under the slot rule it is ordered as it arrives.
    for (rule, expected) in [
        (BatchRule::Timer, vec![]),
        (BatchRule::Slots, vec![vec![0]]),
    ] {
        let c = config(1, |c| {
            c.batch_size_max = 200;
            c.batch_rule = rule;
        });
        let mut p = replica(&c, 0);
        let out = submit(&mut p, 0);
        assert_eq!(prepared(&out), expected, "{rule:?}");
        assert_eq!(batch_timer_set(&out), rule == BatchRule::Timer, "{rule:?}");
    }
}

#[test]
fn without_a_free_slot_requests_queue_for_the_next_agreement() {
    // One slot (W = 1), batches of up to two: the first request is ordered at once, the
    // next three queue (no batch timer), and each executed batch frees the slot for the
    // next agreement, which takes what is queued, at most two.
    let c = config(1, |c| {
        c.batch_size_max = 2;
        c.outstanding_batches_max = 1;
        c.batch_rule = BatchRule::Slots;
    });
    let mut p = replica(&c, 0);
    let first = submit(&mut p, 0);
    assert_eq!(prepared(&first), vec![vec![0]]);
    for client in 1..4 {
        let out = submit(&mut p, client);
        assert!(broadcasts(&out).is_empty(), "no slot free: {out:?}");
        assert!(!batch_timer_set(&out));
    }
    assert_eq!(p.pending_requests(), 3);
    // Backup 1's COMMIT is the f + 1-th vote (f = 1): the batch executes, a slot frees.
    let mut backup = SymbolicUsig::new(1, 3);
    let p1 = the_prepare(&first);
    let second = deliver(&mut p, 1, Message::Commit(commit(&mut backup, &p1, 0)));
    assert_eq!(
        prepared(&second),
        vec![vec![1, 2]],
        "batch_size_max bounds it"
    );
    assert_eq!(p.pending_requests(), 1);
    let p2 = the_prepare(&second);
    let third = deliver(&mut p, 1, Message::Commit(commit(&mut backup, &p2, 0)));
    assert_eq!(prepared(&third), vec![vec![3]]);
    assert_eq!(p.pending_requests(), 0);
    assert!(!batch_timer_set(&second) && !batch_timer_set(&third));
}
