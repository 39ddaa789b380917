//! Unit tests of the view change against paper §4, driving replicas by hand: the
//! validity checks on VIEW-CHANGE, NEW-VIEW with a wrong `S`, `T_vc` backoff, a faulty
//! primary that skips a counter value being replaced. The helpers are shared with
//! `evidence_tests`.

use super::certify::{batch_digest, prepare_bytes, view_change_bytes};
use super::*;
use crate::event::{Event, RejectReason};
use crate::node::{NodeId, View};
use crate::outbox::{Outbox, Output, TimerKind};
use crate::service::{KvOp, KvStore};
use crate::time::{Duration, Instant};
use minlab_usig::{SymbolicUsig, Usig};
use std::sync::Arc;

pub(super) type R = Replica<SymbolicUsig, KvStore>;

pub(super) fn group(f: u32) -> Vec<R> {
    let c = Arc::new(Config::new(f, 2));
    (0..c.replica_count)
        .map(|id| {
            let dir = ClientDirectory::from_seed(c.client_auth, id, c.client_count, 5);
            Replica::new(
                c.clone(),
                Arc::new(dir),
                SymbolicUsig::new(id, c.replica_count),
                KvStore::new(),
            )
            .unwrap()
        })
        .collect()
}

pub(super) fn request(client: u32, seq: u64) -> Arc<Request> {
    Arc::new(Request {
        client,
        seq,
        op: KvOp::Put {
            key: 1,
            value: vec![seq as u8],
        }
        .encode(),
        auth: RequestAuth::None,
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

/// The replica messages in `out` (broadcasts and sends to replicas).
pub(super) fn sent(out: &Outbox) -> Vec<Message> {
    out.as_slice()
        .iter()
        .filter_map(|o| match o {
            Output::Broadcast { msg } => Some(msg.clone()),
            Output::Send {
                to: NodeId::Replica(_),
                msg,
            } => Some(msg.clone()),
            _ => None,
        })
        .collect()
}

/// Client 0's first request reaches replica 0 (the primary of view 0) at time zero, and
/// everything it causes is delivered among `live`.
pub(super) fn order_first_request(rs: &mut [R], live: &[u32]) {
    let mut out = Outbox::new();
    rs[0].on_message(
        Instant::ZERO,
        NodeId::Client(0),
        Message::Request(request(0, 1)),
        &mut out,
    );
    pump(rs, live, Instant::ZERO, 0, out);
}

/// Delivers every replica message in `out` (from `from`) to the live replicas, and what
/// they send in turn, until quiet.
pub(super) fn pump(rs: &mut [R], live: &[u32], now: Instant, from: u32, out: Outbox) {
    let mut queue: Vec<(u32, Message)> = sent(&out).into_iter().map(|m| (from, m)).collect();
    let mut steps = 0;
    while let Some((from, msg)) = queue.pop() {
        steps += 1;
        assert!(steps < 10_000, "pump does not end");
        for &to in live {
            if to != from {
                let mut o = Outbox::new();
                rs[to as usize].on_message(now, NodeId::Replica(from), msg.clone(), &mut o);
                queue.extend(sent(&o).into_iter().map(|m| (to, m)));
            }
        }
    }
}

fn timer(r: &mut R, now: Instant, kind: TimerKind) -> Outbox {
    let mut out = Outbox::new();
    r.on_timer(now, kind, &mut out);
    out
}

fn deliver(r: &mut R, from: NodeId, msg: Message) -> Outbox {
    let mut out = Outbox::new();
    r.on_message(Instant::ZERO, from, msg, &mut out);
    out
}

/// A VIEW-CHANGE for view 1 by `usig`'s replica with an empty certificate and `log`.
fn view_change_of(usig: &mut SymbolicUsig, log: Vec<LoggedMessage>) -> ViewChange {
    let mut vc = ViewChange {
        sender: usig.id(),
        new_view: 1,
        checkpoint_cert: Vec::new(),
        log,
        adopted: Vec::new(),
        installed_view: 0,
        installed_base: (0, 0),
        installed_evidence: Default::default(),
        ui: minlab_usig::Ui {
            counter: 0,
            cert: minlab_usig::Certificate::Symbolic(0),
        },
    };
    vc.ui = usig.create_ui(&view_change_bytes(&vc)).unwrap();
    vc
}

#[test]
fn a_view_change_with_a_hole_in_o_or_a_wrong_counter_is_rejected() {
    // Paper §4, VIEW-CHANGE validity: 2) UI counter = highest in O + 1, 3) no holes in O.
    let mut rs = group(1);
    // Replica 0 is the primary of view 0; replica 0's USIG mints a PREPARE at counter 1.
    let mut p_usig = SymbolicUsig::new(0, 3);
    let batch = vec![request(0, 1)];
    let d = batch_digest(&batch);
    let p1 = Arc::new(Prepare {
        view: 0,
        primary: 0,
        batch: batch.clone(),
        ui: p_usig.create_ui(&prepare_bytes(0, &d)).unwrap(),
    });
    let _skipped = p_usig.create_ui(b"never shown").unwrap();
    let p3 = Arc::new(Prepare {
        view: 0,
        primary: 0,
        batch,
        ui: p_usig.create_ui(&prepare_bytes(0, &d)).unwrap(),
    });
    // A hole: O holds counter values 1 and 3 (2 missing), the UI is 4.
    let mut vc = ViewChange {
        sender: 0,
        new_view: 1,
        checkpoint_cert: Vec::new(),
        log: vec![
            LoggedMessage::Prepare(p1.clone()),
            LoggedMessage::Prepare(p3),
        ],
        adopted: Vec::new(),
        installed_view: 0,
        installed_base: (0, 0),
        installed_evidence: Default::default(),
        ui: minlab_usig::Ui {
            counter: 0,
            cert: minlab_usig::Certificate::Symbolic(0),
        },
    };
    vc.ui = p_usig.create_ui(&view_change_bytes(&vc)).unwrap();
    let out = deliver(
        &mut rs[1],
        NodeId::Replica(0),
        Message::ViewChange(Arc::new(vc)),
    );
    assert_eq!(rejections(&out), vec![RejectReason::InvalidViewChange]);
    // A wrong counter: O = {1} but the UI skips to 3.
    let mut other = SymbolicUsig::new(0, 3);
    let p1b = Arc::new(Prepare {
        ui: other.create_ui(&prepare_bytes(0, &d)).unwrap(),
        ..(*p1).clone()
    });
    let _gap = other.create_ui(b"x").unwrap();
    let mut vc = ViewChange {
        sender: 0,
        new_view: 1,
        checkpoint_cert: Vec::new(),
        log: vec![LoggedMessage::Prepare(p1b.clone())],
        adopted: Vec::new(),
        installed_view: 0,
        installed_base: (0, 0),
        installed_evidence: Default::default(),
        ui: p1b.ui.clone(),
    };
    vc.ui = other.create_ui(&view_change_bytes(&vc)).unwrap();
    assert_eq!(vc.ui.counter, 3);
    let out = deliver(
        &mut rs[1],
        NodeId::Replica(0),
        Message::ViewChange(Arc::new(vc)),
    );
    assert_eq!(rejections(&out), vec![RejectReason::InvalidViewChange]);
    // A forged entry: O names counter value 1 but its UI does not verify.
    let mut forged = (*p1b).clone();
    forged.view = 7;
    let mut u = SymbolicUsig::new(0, 3);
    let _ = u.create_ui(b"slot 1 was something else").unwrap();
    let vc = view_change_of(&mut u, vec![]);
    let mut bad = vc.clone();
    bad.log = vec![LoggedMessage::Prepare(Arc::new(forged))];
    bad.ui = u.create_ui(&view_change_bytes(&bad)).unwrap();
    let out = deliver(
        &mut rs[1],
        NodeId::Replica(0),
        Message::ViewChange(Arc::new(bad)),
    );
    assert_eq!(rejections(&out), vec![RejectReason::InvalidViewChange]);
    // The valid one: O = {1}, UI = 2. It is kept, and moves the sender's FIFO position.
    let mut good_usig = SymbolicUsig::new(2, 3);
    let vc = view_change_of(&mut good_usig, vec![]);
    assert_eq!(vc.ui.counter, 1);
    let out = deliver(
        &mut rs[1],
        NodeId::Replica(2),
        Message::ViewChange(Arc::new(vc)),
    );
    assert!(rejections(&out).is_empty());
    assert_eq!(rs[1].accepted_counter(2), 1);
    // The same one again is a duplicate, dropped before any verification.
    let vc = view_change_of(&mut SymbolicUsig::new(2, 3), vec![]);
    let out = deliver(
        &mut rs[1],
        NodeId::Replica(2),
        Message::ViewChange(Arc::new(vc)),
    );
    assert_eq!(rejections(&out), vec![RejectReason::DuplicateUi]);
}

#[test]
fn a_faulty_primary_that_skips_a_counter_value_is_replaced() {
    // Paper §4, condition 3 and view change: the PREPARE after the hole waits, T_exec
    // expires on both backups, f + 1 REQ-VIEW-CHANGEs move them to view 1, replica 1
    // sends NEW-VIEW and orders the request itself.
    let mut rs = group(1);
    let mut faulty = SymbolicUsig::new(0, 3);
    let _hole = faulty.create_ui(b"never sent").unwrap();
    let req = request(0, 1);
    let d = batch_digest(std::slice::from_ref(&req));
    let p2 = Arc::new(Prepare {
        view: 0,
        primary: 0,
        batch: vec![req.clone()],
        ui: faulty.create_ui(&prepare_bytes(0, &d)).unwrap(),
    });
    for b in [1usize, 2] {
        let out = deliver(&mut rs[b], NodeId::Client(0), Message::Request(req.clone()));
        assert!(out.as_slice().iter().any(|o| matches!(
            o,
            Output::SetTimer {
                kind: TimerKind::RequestTimeout,
                ..
            }
        )));
        deliver(&mut rs[b], NodeId::Replica(0), Message::Prepare(p2.clone()));
        assert_eq!(
            rs[b].last_executed_by_client(0),
            0,
            "stalled behind the hole"
        );
    }
    let t = Instant::ZERO + Duration::from_millis(500);
    let out1 = timer(&mut rs[1], t, TimerKind::RequestTimeout);
    assert!(
        sent(&out1)
            .iter()
            .any(|m| matches!(m, Message::ReqViewChange(r) if r.new_view == 1))
    );
    assert_eq!(
        rs[1].view(),
        0,
        "one request is not enough: f + 1 are needed"
    );
    let out2 = timer(&mut rs[2], t, TimerKind::RequestTimeout);
    // Replica 2 has its own and replica 1's request once pumped.
    pump(&mut rs, &[1, 2], t, 1, out1);
    pump(&mut rs, &[1, 2], t, 2, out2);
    for b in [1usize, 2] {
        assert_eq!(rs[b].view(), 1);
        assert!(!rs[b].is_changing_view(), "NEW-VIEW installed");
    }
    // The request is not in S (never prepared validly): the client retransmits to the new
    // primary, which orders it after its NEW-VIEW.
    let out = deliver(&mut rs[1], NodeId::Client(0), Message::Request(req.clone()));
    pump(&mut rs, &[1, 2], t, 1, out);
    assert_eq!(rs[1].last_executed_by_client(0), 1);
    assert_eq!(rs[2].last_executed_by_client(0), 1);
}

#[test]
fn view_change_timer_expiry_moves_on_with_a_doubled_timeout() {
    // Paper §4: if T_vc expires before a valid NEW-VIEW, start a view change for v + 2,
    // multiplying the timer by two.
    let mut rs = group(1);
    let t0 = rs[2].view_change_timeout();
    let out = deliver(
        &mut rs[2],
        NodeId::Replica(1),
        Message::ReqViewChange(Arc::new(ReqViewChange {
            sender: 1,
            view: 0,
            new_view: 1,
        })),
    );
    assert!(
        sent(&out).is_empty(),
        "f + 1 = 2 requests are needed, own included"
    );
    // A second replica's request makes f + 1.
    let out = deliver(
        &mut rs[2],
        NodeId::Replica(0),
        Message::ReqViewChange(Arc::new(ReqViewChange {
            sender: 0,
            view: 0,
            new_view: 1,
        })),
    );
    assert_eq!(rs[2].view(), 1);
    assert!(rs[2].is_changing_view());
    assert!(
        sent(&out)
            .iter()
            .any(|m| matches!(m, Message::ViewChange(v) if v.new_view == 1))
    );
    // No NEW-VIEW from replica 1: T_vc fires.
    let out = timer(&mut rs[2], Instant(2_000_000_000), TimerKind::ViewChange);
    assert_eq!(rs[2].view(), 2, "v + 2");
    assert_eq!(rs[2].view_change_timeout(), t0.doubled());
    assert!(out.as_slice().iter().any(|o| matches!(
        o,
        Output::SetTimer { kind: TimerKind::ViewChange, deadline } if *deadline == Instant(2_000_000_000) + t0.doubled()
    )));
    // Replica 2 is the primary of view 2: it has its own VIEW-CHANGE and waits for one more.
    assert!(rs[2].is_changing_view());
}

#[test]
fn a_new_view_with_a_wrong_s_is_rejected_and_the_replica_moves_on() {
    // Paper §4: backups recompute S; a NEW-VIEW whose S differs is rejected.
    let mut rs = group(1);
    // Replica 0 orders one request; everyone executes it.
    order_first_request(&mut rs, &[0, 1, 2]);
    assert!(rs.iter().all(|r| r.last_executed_by_client(0) == 1));
    // Replicas 1 and 2 move to view 1 (replica 1 is its primary).
    let rvc = |s| {
        Message::ReqViewChange(Arc::new(ReqViewChange {
            sender: s,
            view: 0,
            new_view: 1,
        }))
    };
    let out = deliver(&mut rs[2], NodeId::Replica(1), rvc(1));
    assert!(sent(&out).is_empty());
    let mut out = Outbox::new();
    rs[2].on_message(Instant::ZERO, NodeId::Replica(0), rvc(0), &mut out);
    let vc2 = sent(&out)
        .into_iter()
        .find_map(|m| match m {
            Message::ViewChange(v) => Some(v),
            _ => None,
        })
        .unwrap();
    // S must hold the executed batch (it is in both O sets).
    let mut out = Outbox::new();
    rs[1].on_message(Instant::ZERO, NodeId::Replica(0), rvc(0), &mut out);
    rs[1].on_message(Instant::ZERO, NodeId::Replica(2), rvc(2), &mut out);
    let mut o = Outbox::new();
    rs[1].on_message(
        Instant::ZERO,
        NodeId::Replica(2),
        Message::ViewChange(vc2.clone()),
        &mut o,
    );
    let nv = sent(&o)
        .into_iter()
        .find_map(|m| match m {
            Message::NewView(n) => Some(n),
            _ => None,
        })
        .expect("the new primary sends NEW-VIEW");
    assert_eq!(nv.prepares.len(), 1, "the accepted batch is in S");
    // A faulty primary's second NEW-VIEW that drops it: its USIG gives it the next
    // counter value, which no longer follows its VIEW-CHANGE, and S differs; rejected.
    let mut forged = (*nv).clone();
    forged.prepares.clear();
    let mut u = rs[1].usig().clone();
    forged.ui = u
        .create_ui(&super::certify::new_view_bytes(&forged))
        .unwrap();
    let out = deliver(
        &mut rs[2],
        NodeId::Replica(1),
        Message::NewView(Arc::new(forged)),
    );
    assert_eq!(rejections(&out), vec![RejectReason::InvalidNewView]);
    assert_eq!(rs[2].view(), 2, "moved on to the next view");
    assert!(rs[2].is_changing_view());
}

#[test]
fn a_new_view_with_a_different_s_at_the_right_counter_is_rejected() {
    // The same check, with a NEW-VIEW whose UI is right and only S differs.
    let mut rs = group(1);
    let rvc = |s| {
        Message::ReqViewChange(Arc::new(ReqViewChange {
            sender: s,
            view: 0,
            new_view: 1,
        }))
    };
    let mut out = Outbox::new();
    rs[2].on_message(Instant::ZERO, NodeId::Replica(1), rvc(1), &mut out);
    rs[2].on_message(Instant::ZERO, NodeId::Replica(0), rvc(0), &mut out);
    let vc2 = sent(&out)
        .into_iter()
        .find_map(|m| match m {
            Message::ViewChange(v) => Some(v),
            _ => None,
        })
        .unwrap();
    // Replica 1, faulty, builds its own VIEW-CHANGE and a NEW-VIEW with an invented S.
    let r1 = &mut rs[1];
    let mut vc1 = ViewChange {
        sender: 1,
        new_view: 1,
        checkpoint_cert: Vec::new(),
        log: Vec::new(),
        adopted: Vec::new(),
        installed_view: 0,
        installed_base: (0, 0),
        installed_evidence: Default::default(),
        ui: vc2.ui.clone(),
    };
    vc1.ui = r1.usig_mut().create_ui(&view_change_bytes(&vc1)).unwrap();
    let mut p_usig = SymbolicUsig::new(0, 3);
    let batch = vec![request(1, 1)];
    let d = batch_digest(&batch);
    let invented = Arc::new(Prepare {
        view: 0,
        primary: 0,
        batch,
        ui: p_usig.create_ui(&prepare_bytes(0, &d)).unwrap(),
    });
    let mut nv = NewView {
        sender: 1,
        new_view: 1,
        view_changes: vec![Arc::new(vc1), vc2],
        prepares: vec![invented],
        ui: placeholder_ui(),
    };
    nv.ui = r1
        .usig_mut()
        .create_ui(&super::certify::new_view_bytes(&nv))
        .unwrap();
    let out = deliver(
        &mut rs[2],
        NodeId::Replica(1),
        Message::NewView(Arc::new(nv)),
    );
    assert_eq!(rejections(&out), vec![RejectReason::InvalidNewView]);
    assert_eq!(rs[2].view(), 2);
}

fn placeholder_ui() -> minlab_usig::Ui {
    minlab_usig::Ui {
        counter: 0,
        cert: minlab_usig::Certificate::Symbolic(0),
    }
}

/// Replicas `movers` of `rs` receive each other's REQ-VIEW-CHANGE for view 1 and start the
/// view change; returns what each sent, by replica.
pub(super) fn all_ask_for_view_1(rs: &mut [R], movers: &[u32]) -> Vec<(u32, Outbox)> {
    let mut outs = Vec::new();
    for &to in movers {
        let mut out = Outbox::new();
        for &from in movers {
            if from != to {
                let m = ReqViewChange {
                    sender: from,
                    view: 0,
                    new_view: 1,
                };
                let msg = Message::ReqViewChange(Arc::new(m));
                rs[to as usize].on_message(Instant::ZERO, NodeId::Replica(from), msg, &mut out);
            }
        }
        outs.push((to, out));
    }
    outs
}

/// Like [`pump`], but drops what `drop(from, to, msg)` selects.
pub(super) fn pump_dropping(
    rs: &mut [R],
    outs: Vec<(u32, Outbox)>,
    drop: impl Fn(u32, u32, &Message) -> bool,
) {
    let mut queue: Vec<(u32, Message)> = outs
        .iter()
        .flat_map(|(from, out)| sent(out).into_iter().map(move |m| (*from, m)))
        .collect();
    let mut steps = 0;
    while !queue.is_empty() {
        let (from, msg) = queue.remove(0);
        steps += 1;
        assert!(steps < 10_000, "pump does not end");
        for to in 0..rs.len() as u32 {
            if to != from && !drop(from, to, &msg) {
                let mut o = Outbox::new();
                rs[to as usize].on_message(
                    Instant::ZERO,
                    NodeId::Replica(from),
                    msg.clone(),
                    &mut o,
                );
                queue.extend(sent(&o).into_iter().map(|m| (to, m)));
            }
        }
    }
}

#[test]
fn a_new_view_damaged_in_transit_is_dropped_not_blamed_on_its_primary() {
    // corrupt-network seeds 838 and 944: a bit flipped inside a VIEW-CHANGE carried by a
    // NEW-VIEW. The embedded VIEW-CHANGE failed its check before the NEW-VIEW's own UI was
    // verified, so the backup took the damage for a faulty new primary and moved on to the
    // next view alone, where it stayed behind while the others went on in the view.
    let mut rs = group(1);
    let outs = all_ask_for_view_1(&mut rs, &[0, 1, 2]);
    // Collect the NEW-VIEW by letting the VIEW-CHANGEs reach the new primary, replica 1,
    // and keep everything else away from replica 2.
    let mut nv = None;
    for (from, out) in &outs {
        for m in sent(out) {
            if matches!(m, Message::ViewChange(_)) && *from != 1 {
                let o = deliver(&mut rs[1], NodeId::Replica(*from), m);
                nv = nv.or(sent(&o).into_iter().find_map(|m| match m {
                    Message::NewView(n) => Some(n),
                    _ => None,
                }));
            }
        }
    }
    let nv = nv.expect("the new primary sends NEW-VIEW");
    assert!(rs[2].is_changing_view() && rs[2].view() == 1);
    // Replica 2 has replica 1's VIEW-CHANGE only inside the NEW-VIEW. A bit flips in it:
    // its UI no longer matches, and neither does the NEW-VIEW's.
    let mut damaged = (*nv).clone();
    let i = damaged
        .view_changes
        .iter()
        .position(|vc| vc.sender == 1)
        .unwrap();
    Arc::make_mut(&mut damaged.view_changes[i]).installed_base.1 ^= 1;
    let out = deliver(
        &mut rs[2],
        NodeId::Replica(1),
        Message::NewView(Arc::new(damaged)),
    );
    assert_eq!(rejections(&out), vec![RejectReason::BadUi]);
    assert_eq!(rs[2].view(), 1, "still waiting for view 1's NEW-VIEW");
    // The retransmitted NEW-VIEW installs the view.
    let out = deliver(&mut rs[2], NodeId::Replica(1), Message::NewView(nv));
    assert!(rejections(&out).is_empty());
    assert!(!rs[2].is_changing_view() && rs[2].view() == 1);
}

#[test]
fn a_state_transfer_to_the_awaited_view_ends_the_view_change() {
    // corrupt-network seed 993: a backup waiting for view 1's NEW-VIEW (corrupted on the
    // way) caught up by state transfer to a checkpoint of view 1. The transfer moved its
    // FIFO positions past the NEW-VIEW, which it would no longer accept, yet it went on
    // waiting for it; T_vc then took it to view 2 alone.
    let mut rs = group(1);
    let outs = all_ask_for_view_1(&mut rs, &[0, 1, 2]);
    pump_dropping(&mut rs, outs, |_, to, m| {
        to == 2 && matches!(m, Message::NewView(_))
    });
    assert!(!rs[0].is_changing_view() && !rs[1].is_changing_view());
    assert!(rs[2].is_changing_view() && rs[2].view() == 1);
    // Both installed the view and made its first checkpoint stable; replica 2 holds their
    // CHECKPOINTs until the view is installed. Its repair timer counts them as evidence.
    let mut t = Instant::ZERO;
    let mut ask = None;
    for _ in 0..3 {
        t += Duration::from_millis(50);
        let out = timer(&mut rs[2], t, TimerKind::Repair);
        ask = ask.or(out.as_slice().iter().find_map(|o| match o {
            Output::Send {
                to: NodeId::Replica(1),
                msg: m @ Message::StateRequest(_),
            } => Some(m.clone()),
            _ => None,
        }));
    }
    let ask = ask.expect("f + 1 CHECKPOINTs of view 1: a state transfer");
    let reply = sent(&deliver(&mut rs[1], NodeId::Replica(2), ask)).remove(0);
    let out = deliver(&mut rs[2], NodeId::Replica(1), reply);
    assert!(
        out.events()
            .any(|e| matches!(e, Event::StateTransferred { .. }))
    );
    assert!(!rs[2].is_changing_view(), "view 1 is installed at f + 1");
    // And it takes part in view 1: it commits the new primary's next PREPARE.
    let mut out = Outbox::new();
    rs[1].on_message(
        t,
        NodeId::Client(0),
        Message::Request(request(0, 1)),
        &mut out,
    );
    let prepare = sent(&out).remove(0);
    let out = deliver(&mut rs[2], NodeId::Replica(1), prepare);
    assert!(sent(&out).iter().any(|m| matches!(m, Message::Commit(_))));
    assert_eq!(rs[2].last_executed_by_client(0), 1);
}

/// A VIEW-CHANGE for view 2 by replica 1 claiming `installed`, whose `O` is a record of
/// its VIEW-CHANGE for view 1, then (with `checkpoint`) its CHECKPOINT of that
/// `(view, counter)`.
fn claim_of(installed: (View, (View, u64)), checkpoint: Option<(View, u64)>) -> ViewChange {
    let mut usig = SymbolicUsig::new(1, 3);
    let digest = [7; 32];
    let ui = usig
        .create_ui(&super::certify::tagged_view_digest(
            super::certify::TAG_VIEW_CHANGE,
            1,
            &digest,
        ))
        .unwrap();
    let mut log = vec![LoggedMessage::ViewChangeRecord {
        new_view: 1,
        digest,
        ui,
    }];
    if let Some((view, counter)) = checkpoint {
        let state_digest = [3; 32];
        let ui = usig
            .create_ui(&super::certify::checkpoint_bytes(
                view,
                counter,
                &state_digest,
            ))
            .unwrap();
        log.push(LoggedMessage::Checkpoint(Arc::new(Checkpoint {
            sender: 1,
            view,
            counter,
            state_digest,
            ui,
        })));
    }
    let mut vc = ViewChange {
        sender: 1,
        new_view: 2,
        checkpoint_cert: Vec::new(),
        log,
        adopted: Vec::new(),
        installed_view: installed.0,
        installed_base: installed.1,
        installed_evidence: Default::default(),
        ui: placeholder_ui(),
    };
    vc.ui = usig.create_ui(&view_change_bytes(&vc)).unwrap();
    vc
}

// `installed_view`, `installed_base` and `adopted` are covered by no earlier UI: a faulty
// member of `V_vc` claiming it installed view 1 with an empty `adopted` would make `S` of
// view 2 drop every batch of view 0 (`compute_s` keeps older batches only if adopted by a
// member that installed the latest view). A claim above the sender's `C_latest` must be
// shown by the installed NEW-VIEW (`super::evidence`); a CHECKPOINT the liar signed itself
// no longer passes for one (it did under the former own-CHECKPOINT bound).
#[test]
fn a_view_change_claiming_an_installation_it_cannot_show_is_rejected() {
    let rs = group(1);
    let check = |vc: ViewChange| rs[0].check_view_change(&vc);
    let bad = Err(RejectReason::InvalidViewChange);
    // The lie of the model checker's `lie-installed-view`: "installed 1", no evidence.
    assert_eq!(check(claim_of((1, (0, 0)), None)), bad);
    // `lie-installed-view-with-checkpoint`: its own CHECKPOINT of view 1 in O, on made-up
    // state. Accepted before; rejected now, at any base.
    assert_eq!(check(claim_of((1, (0, 0)), Some((1, 3)))), bad);
    assert_eq!(check(claim_of((1, (1, 3)), Some((1, 3)))), bad);
    // What it truly installed (view 0, nothing before it) needs no evidence.
    assert_eq!(check(claim_of((0, (0, 0)), None)), Ok(()));
    // A base above its C_latest is a claim too.
    assert_eq!(check(claim_of((0, (0, 5)), None)), bad);
}
