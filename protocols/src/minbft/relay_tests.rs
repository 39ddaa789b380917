//! Unit tests of what backups do for each other once the primary is gone: relaying its
//! PREPAREs and CHECKPOINTs in FILL-HOLE answers, and answering a STATE-REQUEST from a
//! checkpoint that is not stable here (both found by the simulator: loss before GST with
//! the primary crashing at 300 ms left a request unanswered forever).

use super::repair_tests::{group_of, msgs};
use super::*;
use crate::event::{Event, RejectReason};
use crate::node::NodeId;
use crate::outbox::{Outbox, TimerKind};
use crate::service::{KvOp, KvStore};
use crate::time::{Duration, Instant};
use minlab_usig::SymbolicUsig;
use std::sync::Arc;

type R = Replica<SymbolicUsig, KvStore>;

fn group(tweak: impl FnOnce(&mut Config)) -> Vec<R> {
    let mut c = Config::new(1, 8);
    tweak(&mut c);
    group_of(c)
}

/// Whether `out` reports a message rejected for `reason`.
fn rejected(out: &Outbox, reason: RejectReason) -> bool {
    out.events()
        .any(|e| matches!(e, Event::MessageRejected { reason: r, .. } if *r == reason))
}

/// Delivers `msg` from replica `from` to `r`; returns what `r` sent.
fn deliver(r: &mut R, now: Instant, from: u32, msg: Message) -> Vec<(Option<NodeId>, Message)> {
    let mut out = Outbox::new();
    r.on_message(now, NodeId::Replica(from), msg, &mut out);
    msgs(&out)
}

/// Delivers each of `msgs` from replica `from` to `r`, in order; returns every message `r`
/// sent meanwhile.
fn deliver_all<'a>(
    r: &mut R,
    now: Instant,
    from: u32,
    msgs: impl IntoIterator<Item = &'a Message>,
) -> Vec<Message> {
    msgs.into_iter()
        .flat_map(|m| deliver(r, now, from, m.clone()))
        .map(|(_, m)| m)
        .collect()
}

/// Fires `r`'s repair timer until it sends a STATE-REQUEST to replica `to` (at most four
/// rounds of asking); returns that.
fn repair_until_state_request(r: &mut R, t: &mut Instant, to: u32) -> Message {
    for _ in 0..4 {
        let asks = repair_until_it_asks(r, t);
        if let Some(m) = sent_to(&asks, to)
            .into_iter()
            .find(|m| matches!(m, Message::StateRequest(_)))
        {
            return m;
        }
    }
    panic!("no STATE-REQUEST to replica {to}");
}

/// The primary (replica 0) orders one request from each client in `clients`: its PREPAREs
/// and CHECKPOINTs, in sending order.
fn order(primary: &mut R, clients: std::ops::Range<u32>) -> Vec<Message> {
    let mut sent = Vec::new();
    for client in clients {
        let req = super::tests::request(client, 1);
        let mut out = Outbox::new();
        primary.on_message(
            Instant::ZERO,
            NodeId::Client(client),
            Message::Request(req),
            &mut out,
        );
        sent.extend(msgs(&out).into_iter().map(|(_, m)| m));
    }
    sent
}

/// Fires `r`'s repair timer every 50 ms until it sends something; returns that.
fn repair_until_it_asks(r: &mut R, t: &mut Instant) -> Vec<(Option<NodeId>, Message)> {
    for _ in 0..20 {
        *t += Duration::from_millis(50);
        let mut out = Outbox::new();
        r.on_timer(*t, TimerKind::Repair, &mut out);
        let sent = msgs(&out);
        if !sent.is_empty() {
            return sent;
        }
    }
    panic!("the replica never asked");
}

fn sent_to(sent: &[(Option<NodeId>, Message)], to: u32) -> Vec<Message> {
    sent.iter()
        .filter(|(t, _)| *t == Some(NodeId::Replica(to)))
        .map(|(_, m)| m.clone())
        .collect()
}

#[test]
fn a_backup_relays_the_prepares_a_crashed_primary_sent_that_another_lost() {
    // lossy-crash-primary seed 191: backup 2 lost PREPARE 1; the primary crashed; backup 1
    // had executed everything, so only backup 2 suspected the primary (f + 1 = 2 needed) and
    // the request waited forever. minlab's COMMIT carries only the batch digest, so backup
    // 1's COMMIT could not stand in for the PREPARE as the paper's does.
    let mut rs = group(|_| {});
    let prepares = order(&mut rs[0], 0..2);
    assert_eq!(prepares.len(), 2);
    let mut t = Instant::ZERO;
    let commits_1 = deliver_all(&mut rs[1], t, 0, &prepares);
    assert_eq!(rs[1].last_executed(), 2);
    deliver(&mut rs[2], t, 0, prepares[1].clone());
    deliver_all(&mut rs[2], t, 1, &commits_1);
    assert_eq!(rs[2].last_executed(), 0, "stuck behind PREPARE 1");
    let asks = repair_until_it_asks(&mut rs[2], &mut t);
    let ask = sent_to(&asks, 1).pop().expect("a FILL-HOLE to backup 1");
    match &ask {
        Message::FillHole(f) => assert_eq!((f.view, f.primary_from), (0, 1)),
        other => panic!("expected FILL-HOLE, got {other:?}"),
    }
    // Backup 1 resends nothing of its own (backup 2 has all of it) and relays both of the
    // primary's PREPAREs from counter value 1 on.
    let relayed = deliver(&mut rs[1], t, 2, ask);
    let counters: Vec<u64> = relayed
        .iter()
        .map(|(to, m)| match m {
            Message::Prepare(p) if *to == Some(NodeId::Replica(2)) => p.ui.counter,
            other => panic!("expected relayed PREPAREs to 2, got {other:?}"),
        })
        .collect();
    assert_eq!(counters, vec![1, 2]);
    // A relayed PREPARE is checked as the primary's: a tampered one fails its UI.
    let Message::Prepare(p) = &relayed[0].1 else {
        unreachable!()
    };
    let mut tampered = (**p).clone();
    tampered.batch = vec![Arc::new(Request {
        client: 3,
        seq: 1,
        op: KvOp::Get { key: 9 }.encode(),
        auth: RequestAuth::None,
    })];
    let mut out = Outbox::new();
    rs[2].on_message(
        t,
        NodeId::Replica(1),
        Message::Prepare(Arc::new(tampered)),
        &mut out,
    );
    assert!(rejected(&out, RejectReason::BadUi));
    // Clients cannot deliver a replica's message at all.
    let mut out = Outbox::new();
    rs[2].on_message(t, NodeId::Client(0), relayed[0].1.clone(), &mut out);
    assert!(rejected(&out, RejectReason::WrongSender));
    // The genuine relays complete both batches at backup 2.
    deliver_all(&mut rs[2], t, 1, relayed.iter().map(|(_, m)| m));
    assert_eq!(rs[2].last_executed(), 2);
    assert!((0..2).all(|c| rs[2].last_executed_by_client(c) == 1));
    // The primary relays nothing: it answers for its own stream from its sent log, here
    // from counter value 3 on (nothing).
    let mut out = Outbox::new();
    rs[0].on_message(
        t,
        NodeId::Replica(1),
        Message::FillHole(Arc::new(FillHole {
            sender: 1,
            from: 3,
            view: 0,
            primary_from: 1,
        })),
        &mut out,
    );
    assert!(msgs(&out).is_empty(), "{:?}", msgs(&out));
}

/// A group with `cp = 4` where the primary ordered four requests, backup 1 got them all,
/// and the checkpoint at counter value 4 is stable at the primary (its vote and backup
/// 1's); backup 2 heard nothing yet. Returns the group, the four PREPAREs, what backup 1
/// sent (COMMITs and CHECKPOINT) and the primary's CHECKPOINT.
fn stable_at_the_primary() -> (Vec<R>, Vec<Message>, Vec<Message>, Message) {
    let mut rs = group(|c| {
        c.checkpoint_period = 4;
        c.log_window = 8;
    });
    let t = Instant::ZERO;
    let sent_0 = order(&mut rs[0], 0..4);
    assert_eq!(
        sent_0.len(),
        4,
        "four PREPAREs; no checkpoint before the votes"
    );
    let from_1 = deliver_all(&mut rs[1], t, 0, &sent_0);
    let from_0 = deliver_all(&mut rs[0], t, 1, &from_1);
    let checkpoint_0 = from_0
        .iter()
        .find(|m| matches!(m, Message::Checkpoint(_)))
        .expect("the primary's CHECKPOINT")
        .clone();
    assert_eq!(rs[0].low_water_mark(), 4, "stable at the primary");
    (rs, sent_0, from_1, checkpoint_0)
}

#[test]
fn a_checkpoint_stable_elsewhere_is_transferred_and_the_crashed_primarys_is_relayed() {
    // lossy-crash-primary seeds 162 and 454 under the slot rule. Backup 1 missed the
    // primary's CHECKPOINT, so its own checkpoint never became stable there; backup 2,
    // which missed a PREPARE, held the primary's and backup 1's CHECKPOINTs and asked both
    // for the state. The primary had crashed and backup 1, without a stable certificate,
    // answered nothing. Then backup 1 waited behind the primary's lost CHECKPOINT.
    let (mut rs, sent_0, from_1, checkpoint_0) = stable_at_the_primary();
    let mut t = Instant::ZERO;
    // The primary's next PREPARE follows its CHECKPOINT; backup 1 loses the CHECKPOINT.
    let next = order(&mut rs[0], 4..5);
    assert_eq!(next.len(), 1);
    deliver(&mut rs[1], t, 0, next[0].clone());
    assert_eq!(
        (rs[1].low_water_mark(), rs[1].last_executed()),
        (0, 4),
        "not stable at backup 1; PREPARE 6 waits behind the lost CHECKPOINT 5"
    );
    // Backup 2 loses PREPARE 1 and gets everything else; then the primary crashes.
    deliver_all(
        &mut rs[2],
        t,
        0,
        sent_0[1..].iter().chain([&checkpoint_0, &next[0]]),
    );
    deliver_all(&mut rs[2], t, 1, &from_1);
    assert_eq!(rs[2].last_executed(), 0);
    // Backup 2 asks for retransmission, then (the buffered CHECKPOINTs being f + 1
    // matching ones above it) for the state.
    let request = repair_until_state_request(&mut rs[2], &mut t, 1);
    // Backup 1 answers from its own, unstable checkpoint; backup 2 checks the state
    // against the certificate it asked with.
    let reply = deliver(&mut rs[1], t, 2, request);
    let Some((_, Message::StateReply(r))) = reply.first() else {
        panic!("expected a STATE-REPLY, got {reply:?}");
    };
    assert_eq!(r.checkpoint_cert.len(), 1, "only backup 1's own CHECKPOINT");
    // A reply whose snapshot does not match the certificate is refused, changing nothing.
    let mut forged = (**r).clone();
    forged.snapshot = Vec::new();
    let mut out = Outbox::new();
    rs[2].on_message(
        t,
        NodeId::Replica(1),
        Message::StateReply(Arc::new(forged)),
        &mut out,
    );
    assert!(rejected(&out, RejectReason::InvalidStateReply));
    assert_eq!(rs[2].last_executed(), 0);
    deliver(&mut rs[2], t, 1, reply[0].1.clone());
    // Restored at 4; then the buffered PREPARE 6 with its own COMMIT makes f + 1.
    assert_eq!(rs[2].last_executed(), 6);
    assert!((0..5).all(|c| rs[2].last_executed_by_client(c) == 1));
    // Backup 1's repair asks backup 2, which relays the primary's CHECKPOINT 5 (from the
    // certificate it restored): the checkpoint becomes stable at backup 1, and PREPARE 6,
    // held behind it, is processed.
    let asks = repair_until_it_asks(&mut rs[1], &mut t);
    let ask = sent_to(&asks, 2)
        .into_iter()
        .find(|m| matches!(m, Message::FillHole(_)))
        .expect("a FILL-HOLE to backup 2");
    let relayed = deliver(&mut rs[2], t, 1, ask);
    assert!(
        relayed
            .iter()
            .any(|(_, m)| matches!(m, Message::Checkpoint(c) if c.sender == 0)),
        "{relayed:?}"
    );
    deliver_all(&mut rs[1], t, 2, relayed.iter().map(|(_, m)| m));
    assert_eq!(rs[1].low_water_mark(), 4);
    assert_eq!(rs[1].accepted_counter(0), 6);
}

#[test]
fn a_fill_hole_below_the_stable_checkpoint_gets_the_stable_certificate() {
    // lossy-crash-primary with backup 1 crashing instead (seed 365): backup 2 lost PREPARE
    // 1, which the primary then garbage-collected at the checkpoint stable with backup 1's
    // vote; backup 1's CHECKPOINT never reached backup 2, and backup 1 crashed. One
    // CHECKPOINT is not f + 1, so backup 2 never asked for the state. The primary now
    // answers a FILL-HOLE below its stable checkpoint with its stable certificate.
    let (mut rs, sent_0, _, checkpoint_0) = stable_at_the_primary();
    let t0 = Instant::ZERO;
    let next = order(&mut rs[0], 4..5);
    // Backup 2 hears only the primary, and loses PREPARE 1.
    deliver_all(
        &mut rs[2],
        t0,
        0,
        sent_0[1..].iter().chain([&checkpoint_0, &next[0]]),
    );
    let mut t = t0;
    let asks = repair_until_it_asks(&mut rs[2], &mut t);
    assert!(
        !asks
            .iter()
            .any(|(_, m)| matches!(m, Message::StateRequest(_))),
        "one CHECKPOINT is not f + 1"
    );
    let ask = sent_to(&asks, 0).pop().expect("a FILL-HOLE to the primary");
    let answer = deliver(&mut rs[0], t, 2, ask);
    assert!(
        answer
            .iter()
            .any(|(_, m)| matches!(m, Message::Checkpoint(c) if c.sender == 1)),
        "backup 1's CHECKPOINT, from the primary's stable certificate: {answer:?}"
    );
    deliver_all(&mut rs[2], t, 0, answer.iter().map(|(_, m)| m));
    let request = repair_until_state_request(&mut rs[2], &mut t, 0);
    let reply = deliver(&mut rs[0], t, 2, request);
    deliver(&mut rs[2], t, 0, reply[0].1.clone());
    assert_eq!(rs[2].last_executed(), 6, "restored at 4, then PREPARE 6");
    assert!((0..5).all(|c| rs[2].last_executed_by_client(c) == 1));
}

#[test]
fn a_late_checkpoint_of_the_crashed_primary_is_kept_and_relayed() {
    // lossy-crash-primary with the crash at 1.5 s (seed 496): the checkpoint became stable
    // at backup 2 with its own and backup 1's votes, so the primary's CHECKPOINT, arriving
    // after that, was dropped; backup 1 lost it, and the primary crashed. Backup 1 then
    // held the primary's next PREPAREs behind that counter value for good, since nobody
    // could relay it. Backup 2 now keeps such a late vote and relays it.
    let (mut rs, sent_0, from_1, checkpoint_0) = stable_at_the_primary();
    let t0 = Instant::ZERO;
    let next = order(&mut rs[0], 4..5);
    let from_2 = deliver_all(&mut rs[2], t0, 0, &sent_0);
    deliver_all(&mut rs[2], t0, 1, &from_1);
    assert_eq!(
        rs[2].low_water_mark(),
        4,
        "stable at backup 2 without the primary"
    );
    deliver(&mut rs[2], t0, 0, checkpoint_0);
    // Backup 1 gets backup 2's votes and the primary's next PREPARE, not its CHECKPOINT.
    deliver_all(&mut rs[1], t0, 2, &from_2);
    assert_eq!(rs[1].low_water_mark(), 4);
    deliver(&mut rs[1], t0, 0, next[0].clone());
    assert_eq!(
        rs[1].last_executed(),
        4,
        "PREPARE 6 waits for counter value 5"
    );
    let mut t = t0;
    let asks = repair_until_it_asks(&mut rs[1], &mut t);
    let ask = sent_to(&asks, 2).pop().expect("a FILL-HOLE to backup 2");
    let answer = deliver(&mut rs[2], t, 1, ask);
    assert!(
        answer
            .iter()
            .any(|(_, m)| matches!(m, Message::Checkpoint(c) if c.sender == 0)),
        "the primary's late CHECKPOINT: {answer:?}"
    );
    deliver_all(&mut rs[1], t, 2, answer.iter().map(|(_, m)| m));
    assert_eq!(rs[1].last_executed(), 6, "PREPARE 6 executed");
}
