//! Unit tests of the replica against paper §4, driving replicas by hand with forged
//! messages (a faulty primary is simply another USIG instance with the primary's id).

use super::*;
use crate::event::{Event, RejectReason};
use crate::node::NodeId;
use crate::outbox::{Outbox, Output, TimerKind};
use crate::service::KvStore;
use crate::time::Instant;
use certify::{batch_digest, commit_bytes, prepare_bytes};
use minlab_usig::{SymbolicUsig, Usig};
use std::sync::Arc;

pub(super) type R = Replica<SymbolicUsig, KvStore>;

pub(super) const T0: Instant = Instant::ZERO;

pub(super) fn config(f: u32, tweak: impl FnOnce(&mut Config)) -> Config {
    let mut c = Config::new(f, 4);
    tweak(&mut c);
    c
}

pub(super) fn replica(c: &Config, id: u32) -> R {
    let dir = ClientDirectory::from_seed(c.client_auth, id, c.client_count, 5);
    Replica::new(
        Arc::new(c.clone()),
        Arc::new(dir),
        SymbolicUsig::new(id, c.replica_count),
        KvStore::new(),
    )
    .unwrap()
}

pub(super) fn request(client: u32, seq: u64) -> Arc<Request> {
    Arc::new(Request {
        client,
        seq,
        op: service::KvOp::Put {
            key: 1,
            value: vec![client as u8, seq as u8],
        }
        .encode(),
        auth: RequestAuth::None,
    })
}

use crate::service;

/// A PREPARE minted by `usig` (the primary's, possibly faulty).
fn prepare(usig: &mut SymbolicUsig, view: u64, batch: Vec<Arc<Request>>) -> Arc<Prepare> {
    let d = batch_digest(&batch);
    let ui = usig.create_ui(&prepare_bytes(view, &d)).unwrap();
    Arc::new(Prepare {
        view,
        primary: usig.id(),
        batch,
        ui,
    })
}

pub(super) fn commit(usig: &mut SymbolicUsig, p: &Prepare, primary: u32) -> Arc<Commit> {
    let d = batch_digest(&p.batch);
    let ui = usig
        .create_ui(&commit_bytes(p.view, p.ui.counter, &d))
        .unwrap();
    Arc::new(Commit {
        view: p.view,
        sender: usig.id(),
        primary,
        prepare_ui: p.ui.clone(),
        digest: d,
        ui,
    })
}

fn rejections(out: &Outbox) -> Vec<RejectReason> {
    out.events()
        .filter_map(|e| match e {
            Event::MessageRejected { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

fn executed(out: &Outbox) -> Vec<(u32, u64)> {
    out.events()
        .filter_map(|e| match e {
            Event::RequestExecuted {
                client, client_seq, ..
            } => Some((*client, *client_seq)),
            _ => None,
        })
        .collect()
}

pub(super) fn broadcasts(out: &Outbox) -> Vec<MessageKind> {
    out.as_slice()
        .iter()
        .filter_map(|o| match o {
            Output::Broadcast { msg } => Some(msg.kind()),
            _ => None,
        })
        .collect()
}

pub(super) fn deliver(r: &mut R, from: u32, msg: Message) -> Outbox {
    let mut out = Outbox::new();
    r.on_message(T0, NodeId::Replica(from), msg, &mut out);
    out
}

#[test]
fn primary_orders_a_request_and_backups_commit() {
    let c = config(1, |_| {});
    let mut p = replica(&c, 0);
    let mut b = replica(&c, 1);
    let mut out = Outbox::new();
    p.on_message(
        T0,
        NodeId::Client(0),
        Message::Request(request(0, 1)),
        &mut out,
    );
    // One PREPARE, and the repair timer: the batch now waits on COMMITs that may be lost.
    let prep = match out.as_slice() {
        [
            Output::Broadcast {
                msg: Message::Prepare(p),
            },
            Output::SetTimer {
                kind: TimerKind::Repair,
                ..
            },
        ] => p.clone(),
        other => panic!("expected one PREPARE and the repair timer, got {other:?}"),
    };
    assert_eq!(
        prep.ui.counter, 1,
        "the counter value is the sequence number"
    );
    let out = deliver(&mut b, 0, Message::Prepare(prep.clone()));
    // Paper §4: with f = 1, the PREPARE and the backup's own COMMIT make f + 1 votes, so
    // the backup executes at once and replies.
    assert_eq!(broadcasts(&out), vec![MessageKind::Commit]);
    assert_eq!(executed(&out), vec![(0, 1)]);
    // The primary sends no COMMIT; it executes on the first backup COMMIT.
    let commit = out
        .as_slice()
        .iter()
        .find_map(|o| match o {
            Output::Broadcast {
                msg: Message::Commit(c),
            } => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    let out = deliver(&mut p, 1, Message::Commit(commit));
    assert_eq!(executed(&out), vec![(0, 1)]);
    assert_eq!(p.metrics().sent_of(MessageKind::Commit), 0);
    assert_eq!(p.last_executed(), 1);
}

#[test]
fn condition_1_only_the_primary_of_the_view_prepares() {
    // Paper §4, condition 1: v is the current view and the sender is its primary.
    let c = config(1, |_| {});
    let mut b = replica(&c, 1);
    let mut not_primary = SymbolicUsig::new(2, 3);
    let p = prepare(&mut not_primary, 0, vec![request(0, 1)]);
    let out = deliver(&mut b, 2, Message::Prepare(p));
    assert_eq!(rejections(&out), vec![RejectReason::NotPrimary]);
    let mut primary = SymbolicUsig::new(0, 3);
    // Views up to v + n wait in the FIFO buffer for a NEW-VIEW; further ones are refused.
    let future = prepare(&mut primary, 6, vec![request(0, 1)]);
    let out = deliver(&mut b, 0, Message::Prepare(future.clone()));
    assert_eq!(rejections(&out), vec![RejectReason::FutureView]);
    // Another replica may relay the primary's PREPARE (FILL-HOLE answers): it is checked
    // as the primary's. A client may not deliver it at all.
    let out = deliver(&mut b, 2, Message::Prepare(future.clone()));
    assert_eq!(rejections(&out), vec![RejectReason::FutureView]);
    let mut out = Outbox::new();
    b.on_message(T0, NodeId::Client(0), Message::Prepare(future), &mut out);
    assert_eq!(rejections(&out), vec![RejectReason::WrongSender]);
    assert_eq!(
        (b.log_len(), b.accepted_counter(0)),
        (0, 0),
        "no state changed"
    );
    assert_eq!(b.metrics().usig_creates, 0, "no COMMIT was sent");
}

#[test]
fn condition_2_requests_need_a_valid_client_authenticator() {
    // Paper §4, condition 2: a faulty primary cannot forge requests.
    let c = config(1, |c| {
        c.client_auth = ClientAuth::Ed25519;
        c.batch_size_max = 2;
    });
    let mut b = replica(&c, 1);
    let keys = ClientKeyring::from_seed(ClientAuth::Ed25519, 0, 3, 5);
    let mut good = (*request(0, 1)).clone();
    good.auth = keys.authenticate(&good);
    let mut forged = good.clone();
    forged.op = b"\x01forged".to_vec();
    let mut primary = SymbolicUsig::new(0, 3);
    let bad = prepare(
        &mut primary,
        0,
        vec![Arc::new(good.clone()), Arc::new(forged)],
    );
    let out = deliver(&mut b, 0, Message::Prepare(bad));
    assert_eq!(rejections(&out), vec![RejectReason::BadClientAuth]);
    assert_eq!((b.log_len(), b.accepted_counter(0)), (0, 0));
    let mut unknown = good.clone();
    unknown.client = 99;
    let p = prepare(&mut primary, 0, vec![Arc::new(unknown)]);
    assert_eq!(
        rejections(&deliver(&mut b, 0, Message::Prepare(p))),
        vec![RejectReason::UnknownClient]
    );
}

#[test]
fn f_backups_committing_vouch_for_a_corrupted_authenticator_entry() {
    // Paper §4, condition 2, with MAC authenticators: the primary checks only its own
    // entry, so a request whose entry for backup 1 was corrupted on the way is ordered.
    // Backup 1 cannot check it, but once f other backups COMMITted that very PREPARE,
    // f + 1 replicas vouch for it and at least one of them is correct.
    let c = config(1, |c| c.client_auth = ClientAuth::MacAuthenticator);
    let keys = ClientKeyring::from_seed(ClientAuth::MacAuthenticator, 0, 3, 5);
    let mut req = (*request(0, 1)).clone();
    req.auth = keys.authenticate(&req);
    if let RequestAuth::Macs(tags) = &mut req.auth {
        tags[1][0] ^= 1;
    }
    let mut primary = SymbolicUsig::new(0, 3);
    let p = prepare(&mut primary, 0, vec![Arc::new(req)]);
    let mut alone = replica(&c, 1);
    let out = deliver(&mut alone, 0, Message::Prepare(p.clone()));
    assert_eq!(rejections(&out), vec![RejectReason::BadClientAuth]);
    let mut b = replica(&c, 1);
    let early = commit(&mut SymbolicUsig::new(2, 3), &p, 0);
    assert!(rejections(&deliver(&mut b, 2, Message::Commit(early))).is_empty());
    let out = deliver(&mut b, 0, Message::Prepare(p));
    assert!(rejections(&out).is_empty());
    assert_eq!(executed(&out), vec![(0, 1)]);
}

#[test]
fn condition_3_a_hole_in_the_primary_counter_stalls_progress() {
    // Paper §4, condition 3: no holes. The faulty primary burns counter value 2.
    let c = config(1, |_| {});
    let mut b = replica(&c, 1);
    let mut primary = SymbolicUsig::new(0, 3);
    let p1 = prepare(&mut primary, 0, vec![request(0, 1)]);
    primary.create_ui(b"skipped").unwrap();
    let p3 = prepare(&mut primary, 0, vec![request(1, 1)]);
    assert_eq!(p3.ui.counter, 3);
    let out = deliver(&mut b, 0, Message::Prepare(p3));
    assert!(rejections(&out).is_empty());
    assert!(
        broadcasts(&out).is_empty(),
        "no COMMIT for a PREPARE after a hole"
    );
    assert_eq!(b.fifo_buffered(0), 1);
    let out = deliver(&mut b, 0, Message::Prepare(p1));
    assert_eq!(executed(&out), vec![(0, 1)]);
    // Nothing past the hole executes, however long we wait.
    assert_eq!(b.last_executed(), 1);
    assert_eq!(b.accepted_counter(0), 1);
    assert_eq!(b.last_executed_by_client(1), 0);
}

#[test]
fn a_bad_ui_is_rejected_and_never_buffered() {
    let c = config(1, |_| {});
    let mut b = replica(&c, 1);
    let mut primary = SymbolicUsig::new(0, 3);
    let p = prepare(&mut primary, 0, vec![request(0, 1)]);
    let mut tampered = (*p).clone();
    tampered.batch = vec![request(0, 2)];
    let out = deliver(&mut b, 0, Message::Prepare(Arc::new(tampered)));
    assert_eq!(rejections(&out), vec![RejectReason::BadUi]);
    assert_eq!((b.fifo_buffered(0), b.accepted_counter(0)), (0, 0));
    // The genuine one still goes through.
    assert_eq!(
        executed(&deliver(&mut b, 0, Message::Prepare(p))),
        vec![(0, 1)]
    );
}

#[test]
fn duplicates_are_dropped_before_any_verification() {
    let c = config(1, |_| {});
    let mut b = replica(&c, 1);
    let mut primary = SymbolicUsig::new(0, 3);
    let p1 = prepare(&mut primary, 0, vec![request(0, 1)]);
    let p2 = prepare(&mut primary, 0, vec![request(1, 1)]);
    deliver(&mut b, 0, Message::Prepare(p2.clone()));
    let verifies = b.metrics().usig_verifies;
    // Buffered duplicate, then processed duplicate.
    assert_eq!(
        rejections(&deliver(&mut b, 0, Message::Prepare(p2.clone()))),
        vec![RejectReason::DuplicateUi]
    );
    deliver(&mut b, 0, Message::Prepare(p1.clone()));
    assert_eq!(
        rejections(&deliver(&mut b, 0, Message::Prepare(p1))),
        vec![RejectReason::DuplicateUi]
    );
    assert_eq!(
        b.metrics().usig_verifies,
        verifies + 1,
        "only p1 was verified"
    );
    assert_eq!(b.last_executed(), 2);
}

#[test]
fn fifo_rule_processes_each_sender_in_counter_order() {
    // Paper §4: V_acc; a message with counter cv from s waits for cv - 1 from s.
    let c = config(2, |_| {}); // n = 5, quorum 3
    let mut b = replica(&c, 1);
    let mut primary = SymbolicUsig::new(0, 5);
    let mut r2 = SymbolicUsig::new(2, 5);
    let p1 = prepare(&mut primary, 0, vec![request(0, 1)]);
    let p2 = prepare(&mut primary, 0, vec![request(1, 1)]);
    let c1 = commit(&mut r2, &p1, 0);
    let c2 = commit(&mut r2, &p2, 0);
    deliver(&mut b, 0, Message::Prepare(p1));
    deliver(&mut b, 0, Message::Prepare(p2));
    let out = deliver(&mut b, 2, Message::Commit(c2));
    assert!(executed(&out).is_empty(), "c2 waits for c1");
    assert_eq!(b.fifo_buffered(2), 1);
    let out = deliver(&mut b, 2, Message::Commit(c1));
    assert_eq!(executed(&out), vec![(0, 1), (1, 1)]);
    assert_eq!(b.accepted_counter(2), 2);
}

#[test]
fn a_commit_before_its_prepare_is_kept_as_an_early_vote() {
    let c = config(2, |_| {}); // quorum 3: PREPARE + own COMMIT + one more
    let mut b = replica(&c, 1);
    let mut primary = SymbolicUsig::new(0, 5);
    let mut r2 = SymbolicUsig::new(2, 5);
    let p1 = prepare(&mut primary, 0, vec![request(0, 1)]);
    let c1 = commit(&mut r2, &p1, 0);
    let out = deliver(&mut b, 2, Message::Commit(c1));
    assert!(
        broadcasts(&out).is_empty(),
        "cannot COMMIT without the batch"
    );
    assert_eq!(b.accepted_counter(2), 1);
    let out = deliver(&mut b, 0, Message::Prepare(p1));
    assert_eq!(broadcasts(&out), vec![MessageKind::Commit]);
    assert_eq!(executed(&out), vec![(0, 1)], "the early vote counted");
}

#[test]
fn a_commit_for_another_batch_does_not_count() {
    let c = config(2, |_| {});
    let mut b = replica(&c, 1);
    let mut primary = SymbolicUsig::new(0, 5);
    let mut r2 = SymbolicUsig::new(2, 5);
    let p1 = prepare(&mut primary, 0, vec![request(0, 1)]);
    let mut other = (*p1).clone();
    other.batch = vec![request(3, 9)];
    let lie = commit(&mut r2, &other, 0);
    deliver(&mut b, 0, Message::Prepare(p1));
    let out = deliver(&mut b, 2, Message::Commit(lie));
    assert_eq!(rejections(&out), vec![RejectReason::CommitMismatch]);
    assert_eq!(b.last_executed(), 0);
}

#[test]
fn exactly_once_and_the_reply_cache() {
    // Paper §4, Clients: V_req and cached replies for retransmissions.
    let c = config(1, |_| {});
    let mut b = replica(&c, 1);
    let mut primary = SymbolicUsig::new(0, 3);
    let r = request(0, 1);
    let p1 = prepare(&mut primary, 0, vec![r.clone()]);
    deliver(&mut b, 0, Message::Prepare(p1));
    assert_eq!(b.last_executed_by_client(0), 1);
    // A faulty primary orders the same request again: not executed twice.
    let p2 = prepare(&mut primary, 0, vec![r.clone()]);
    let out = deliver(&mut b, 0, Message::Prepare(p2));
    assert!(executed(&out).is_empty());
    assert_eq!(b.metrics().requests_executed, 1);
    // The client retransmits: the cached reply goes back.
    let mut out = Outbox::new();
    b.on_message(T0, NodeId::Client(0), Message::Request(r), &mut out);
    match out.as_slice() {
        [
            Output::Send {
                to: NodeId::Client(0),
                msg: Message::Reply(reply),
            },
        ] => assert_eq!((reply.seq, reply.result.as_slice()), (1, &[0u8][..])),
        other => panic!("expected the cached reply, got {other:?}"),
    }
    // A request older than V_req is rejected.
    let mut old = (*request(0, 0)).clone();
    old.seq = 0;
    let mut out = Outbox::new();
    b.on_message(
        T0,
        NodeId::Client(0),
        Message::Request(Arc::new(old)),
        &mut out,
    );
    assert_eq!(rejections(&out), vec![RejectReason::StaleRequest]);
    // Requests must come from their client.
    let mut out = Outbox::new();
    b.on_message(
        T0,
        NodeId::Client(1),
        Message::Request(request(0, 2)),
        &mut out,
    );
    assert_eq!(rejections(&out), vec![RejectReason::WrongSender]);
}

#[test]
fn primary_keeps_one_next_request_while_one_is_in_flight() {
    // Paper §4 discards requests received while the client's previous one is being
    // processed; the primary keeps the newest one (one per client) and orders it once the
    // previous one executes.
    let c = config(1, |_| {});
    let mut p = replica(&c, 0);
    let mut out = Outbox::new();
    p.on_message(
        T0,
        NodeId::Client(0),
        Message::Request(request(0, 1)),
        &mut out,
    );
    out.clear();
    p.on_message(
        T0,
        NodeId::Client(0),
        Message::Request(request(0, 1)),
        &mut out,
    );
    assert!(
        out.is_empty(),
        "a retransmission of a prepared request is ignored"
    );
    p.on_message(
        T0,
        NodeId::Client(0),
        Message::Request(request(0, 2)),
        &mut out,
    );
    assert!(rejections(&out).is_empty());
    assert!(broadcasts(&out).is_empty(), "not ordered yet");
    assert_eq!(p.pending_requests(), 0);
    // A backup's COMMIT executes request 1; request 2 is prepared right away.
    let mut b = replica(&c, 1);
    let mut b_out = Outbox::new();
    let prep = p.log.entries.values().next().unwrap().prepare.clone();
    b.on_message(T0, NodeId::Replica(0), Message::Prepare(prep), &mut b_out);
    let commit = b_out
        .as_slice()
        .iter()
        .find_map(|o| match o {
            Output::Broadcast {
                msg: Message::Commit(c),
            } => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    let out = deliver(&mut p, 1, Message::Commit(commit));
    assert_eq!(executed(&out), vec![(0, 1)]);
    assert_eq!(broadcasts(&out), vec![MessageKind::Prepare]);
}

#[test]
fn batching_fills_batches_and_flushes_on_the_batch_timer() {
    let c = config(1, |c| c.batch_size_max = 3);
    let mut p = replica(&c, 0);
    let mut out = Outbox::new();
    for client in 0..2 {
        p.on_message(
            T0,
            NodeId::Client(client),
            Message::Request(request(client, 1)),
            &mut out,
        );
    }
    assert!(broadcasts(&out).is_empty());
    assert!(matches!(
        out.as_slice(),
        [Output::SetTimer {
            kind: TimerKind::Batch,
            ..
        }]
    ));
    out.clear();
    p.on_message(
        T0,
        NodeId::Client(2),
        Message::Request(request(2, 1)),
        &mut out,
    );
    let batch_len = out.as_slice().iter().find_map(|o| match o {
        Output::Broadcast {
            msg: Message::Prepare(p),
        } => Some(p.batch.len()),
        _ => None,
    });
    assert_eq!(
        batch_len,
        Some(3),
        "one PREPARE, one create_ui, for three requests"
    );
    assert!(out.as_slice().contains(&Output::CancelTimer {
        kind: TimerKind::Batch
    }));
    assert_eq!(p.metrics().usig_creates, 1);
    // A lone request goes out when the batch timer fires.
    out.clear();
    p.on_message(
        T0,
        NodeId::Client(3),
        Message::Request(request(3, 1)),
        &mut out,
    );
    assert!(broadcasts(&out).is_empty());
    out.clear();
    p.on_timer(T0 + c.batch_timeout, TimerKind::Batch, &mut out);
    assert_eq!(broadcasts(&out), vec![MessageKind::Prepare]);
}

#[test]
fn the_primary_bounds_outstanding_batches() {
    let c = config(1, |c| c.outstanding_batches_max = 2);
    let mut p = replica(&c, 0);
    let mut out = Outbox::new();
    for client in 0..4 {
        p.on_message(
            T0,
            NodeId::Client(client),
            Message::Request(request(client, 1)),
            &mut out,
        );
    }
    assert_eq!(broadcasts(&out).len(), 2);
    assert_eq!(p.pending_requests(), 2);
}

#[test]
fn water_marks_bound_what_is_buffered_and_logged() {
    // Paper §4: H = h + L. A PREPARE above H waits; beyond the FIFO window it is rejected.
    let c = config(1, |c| {
        c.checkpoint_period = 2;
        c.log_window = 4;
        c.fifo_window = 6;
    });
    let mut b = replica(&c, 1);
    let mut primary = SymbolicUsig::new(0, 3);
    let ps: Vec<_> = (0..8)
        .map(|i| prepare(&mut primary, 0, vec![request(i % 4, 1 + u64::from(i) / 4)]))
        .collect();
    let out = deliver(&mut b, 0, Message::Prepare(ps[7].clone()));
    assert_eq!(rejections(&out), vec![RejectReason::AboveHighWaterMark]);
    for p in &ps[..5] {
        deliver(&mut b, 0, Message::Prepare(p.clone()));
    }
    assert_eq!(b.high_water_mark(), 4);
    assert_eq!(b.accepted_counter(0), 4, "counter 5 is above H and waits");
    assert_eq!(b.fifo_buffered(0), 1);
    assert!(b.log_len() <= 4);
}

#[test]
fn state_transfer_messages_need_a_reason() {
    // A STATE-REQUEST before any stable checkpoint gets nothing; a STATE-REPLY to a
    // replica that is not behind is refused and changes nothing.
    let c = config(1, |_| {});
    let mut b = replica(&c, 1);
    let out = deliver(
        &mut b,
        2,
        Message::StateRequest(Arc::new(StateRequest {
            sender: 2,
            counter: 0,
            view: 0,
        })),
    );
    assert!(out.is_empty());
    let out = deliver(
        &mut b,
        2,
        Message::StateReply(Arc::new(StateReply {
            sender: 2,
            checkpoint_cert: Vec::new(),
            snapshot: Vec::new(),
            client_table: Vec::new(),
        })),
    );
    assert_eq!(rejections(&out), vec![RejectReason::InvalidStateReply]);
    assert_eq!(b.last_executed(), 0);
}

#[test]
fn a_stable_checkpoint_moves_the_water_marks_and_releases_held_messages() {
    // Paper §4, garbage collection: f + 1 matching CHECKPOINTs make a checkpoint stable;
    // h moves to it, the log is truncated, and H = h + L admits the held PREPARE.
    let c = config(1, |c| {
        c.checkpoint_period = 2;
        c.log_window = 4;
        c.fifo_window = 6;
    });
    let mut b = replica(&c, 1);
    let mut primary = SymbolicUsig::new(0, 3);
    let ps: Vec<_> = (0..5)
        .map(|i| prepare(&mut primary, 0, vec![request(i % 4, 1 + u64::from(i) / 4)]))
        .collect();
    let mut digest_at_2 = None;
    for p in &ps {
        let out = deliver(&mut b, 0, Message::Prepare(p.clone()));
        for e in out.events() {
            if let Event::CheckpointTaken {
                counter: 2,
                state_digest,
                ..
            } = e
            {
                digest_at_2 = Some(*state_digest);
            }
        }
    }
    assert_eq!((b.accepted_counter(0), b.fifo_buffered(0)), (4, 1));
    let digest = digest_at_2.expect("a checkpoint after the batch reaching cp");
    // Replica 2 committed PREPAREs 1 and 2, then checkpointed, with counters 1, 2, 3.
    let mut r2 = SymbolicUsig::new(2, 3);
    let c1 = commit(&mut r2, &ps[0], 0);
    let c2 = commit(&mut r2, &ps[1], 0);
    let ui = r2
        .create_ui(&certify::checkpoint_bytes(0, 2, &digest))
        .unwrap();
    let cp = Arc::new(Checkpoint {
        sender: 2,
        view: 0,
        counter: 2,
        state_digest: digest,
        ui,
    });
    deliver(&mut b, 2, Message::Commit(c1));
    deliver(&mut b, 2, Message::Commit(c2));
    let out = deliver(&mut b, 2, Message::Checkpoint(cp));
    assert!(out.events().any(|e| matches!(
        e,
        Event::CheckpointStable {
            counter: 2,
            truncated_entries: 2
        }
    )));
    assert_eq!((b.low_water_mark(), b.high_water_mark()), (2, 6));
    assert_eq!(b.stable_checkpoint().len(), 2);
    assert_eq!(b.accepted_counter(0), 5, "the held PREPARE was processed");
    assert_eq!(b.last_executed(), 5);
    // A CHECKPOINT at or below h is late but valid: consumed, not counted.
    let ui = r2
        .create_ui(&certify::checkpoint_bytes(0, 1, &digest))
        .unwrap();
    let late = Arc::new(Checkpoint {
        sender: 2,
        view: 0,
        counter: 1,
        state_digest: digest,
        ui,
    });
    let stale = b.metrics().stale;
    assert!(rejections(&deliver(&mut b, 2, Message::Checkpoint(late))).is_empty());
    assert_eq!(b.metrics().stale, stale + 1);
}
