//! State-transfer tests: a backup cut off past garbage collection catches up, a replica
//! behind a NEW-VIEW's base installs the view after a transfer, hostile STATE-REPLYs
//! change nothing, answers are rate-limited and never larger than a frame.

use super::Replica;
use super::certify::checkpoint_bytes;
use super::cluster::{Cluster, Faults};
use super::messages::*;
use super::replica::ZOutbox;
use crate::event::{Event, RejectReason};
use crate::minbft::auth::{ClientAuth, ClientDirectory};
use crate::minbft::config::Config;
use crate::minbft::messages::MessageKind;
use crate::node::NodeId;
use crate::outbox::{Outbox, Output};
use crate::service::{KvStore, Service};
use crate::time::Instant;
use crate::wire::FRAME_BYTES_MAX;
use minlab_usig::{SymbolicUsig, Ui, Usig};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

fn config() -> Config {
    let mut c = Config::new(1, 2);
    c.checkpoint_period = 4;
    c.log_window = 16;
    c.client_auth = ClientAuth::MacAuthenticator;
    c
}

/// Drops every message to or from replica 2 while the first returned flag is set, and
/// every message from replica 0 and every CHECKPOINT to replica 2 while the second is.
fn cut_off_replica_2(c: &mut Cluster) -> (Rc<Cell<bool>>, Rc<Cell<bool>>) {
    let (cut, blind) = (Rc::new(Cell::new(true)), Rc::new(Cell::new(false)));
    let (c1, b1) = (cut.clone(), blind.clone());
    let r0 = NodeId::Replica(0);
    let r2 = NodeId::Replica(2);
    c.filter = Some(Box::new(move |from, to, m| {
        let blinded = to == r2 && (from == r0 || matches!(m, Message::Checkpoint(_)));
        (c1.get() && (from == r2 || to == r2)) || (b1.get() && blinded)
    }));
    (cut, blind)
}

fn transferred_at(c: &Cluster, r: u32) -> Option<u64> {
    c.events.iter().find_map(|(n, e)| match e {
        Event::StateTransferred { position, .. } if *n == NodeId::Replica(r) => Some(*position),
        _ => None,
    })
}

#[test]
fn a_backup_cut_off_past_garbage_collection_catches_up_by_state_transfer() {
    // Paper §4 (inherited by §5): "If due to the garbage collection the other replicas
    // have deleted these messages, there is a state transfer".
    let mut c = Cluster::new(config(), 11, Faults::default(), 120);
    let (cut, _) = cut_off_replica_2(&mut c);
    c.run(1);
    while c.completions.len() < 60 && c.step() {}
    assert_eq!(c.replicas[2].history_len(), 0, "replica 2 heard nothing");
    let gc = c.replicas[0].low_water_mark();
    assert!(
        gc > 16,
        "the others collected garbage past replica 2's window: {gc}"
    );
    cut.set(false);
    c.run(400_000);
    assert_eq!(c.completions.len(), 120);
    let position = transferred_at(&c, 2).expect("replica 2 restored a checkpoint");
    assert!(position >= 60, "restored at position {position}");
    assert!(c.replicas[2].metrics().sent_of(MessageKind::StateRequest) >= 1);
    let replies: u64 = (0..2)
        .map(|r| c.replicas[r].metrics().sent_of(MessageKind::StateReply))
        .sum();
    assert!(replies >= 1);
    // It then executes new requests, and its committed executions resume where the
    // transfer put it.
    let mine = &c.executions[2];
    assert!(
        mine.len() >= 20,
        "replica 2 committed {} after the transfer",
        mine.len()
    );
    assert_eq!(mine[0].position, position);
    assert_eq!(c.check_agreement(), Ok(()));
    assert_eq!(c.check_completions(), Ok(()));
    assert_eq!(c.replicas[2].history_len(), c.replicas[0].history_len());
    assert_eq!(
        c.replicas[2].history_digest(),
        c.replicas[0].history_digest()
    );
    assert_eq!(c.replicas[2].executed_count(), 120);
}

#[test]
fn a_replica_behind_a_new_view_base_installs_the_view_after_a_transfer() {
    // Replica 2 misses everything of view 0 (and never hears from replica 0 nor gets a
    // CHECKPOINT, so nothing but the NEW-VIEW tells it that it is behind); then the
    // primary crashes. Its VIEW-CHANGE has no
    // checkpoint, the NEW-VIEW's base is replica 1's stable checkpoint: it fetches that
    // state, then adopts S and installs view 1.
    let mut c = Cluster::new(config(), 13, Faults::default(), 80);
    let (cut, blind) = cut_off_replica_2(&mut c);
    blind.set(true);
    c.run(1);
    while c.completions.len() < 40 && c.step() {}
    assert!(c.replicas[1].low_water_mark() > 0);
    c.crashed.insert(0);
    cut.set(false);
    let mut steps = 0;
    while transferred_at(&c, 2).is_none() && steps < 400_000 && c.step() {
        steps += 1;
    }
    blind.set(false);
    c.run(400_000);
    assert_eq!(c.completions.len(), 80);
    let r2 = &c.replicas[2];
    assert_eq!((r2.view(), r2.installed_view()), (1, 1));
    assert!(!r2.is_changing_view());
    let events: Vec<&Event> = c
        .events
        .iter()
        .filter(|(n, _)| *n == NodeId::Replica(2))
        .map(|(_, e)| e)
        .collect();
    let needed = events
        .iter()
        .position(|e| matches!(e, Event::StateTransferNeeded { .. }))
        .expect("the NEW-VIEW's base is above its history");
    let restored = events
        .iter()
        .position(|e| matches!(e, Event::StateTransferred { .. }))
        .expect("state transferred");
    let installed = events
        .iter()
        .position(|e| matches!(e, Event::ViewChanged { view: 1 }))
        .expect("view 1 installed");
    assert!(needed < restored && restored < installed);
    assert!(!c.executions[2].is_empty(), "it executes in view 1");
    assert_eq!(c.check_agreement(), Ok(()));
    assert_eq!(c.check_completions(), Ok(()));
    assert_eq!(
        c.replicas[2].history_digest(),
        c.replicas[1].history_digest()
    );
}

/// Replica 1 of a fresh group, and CHECKPOINTs of replicas 0 and 2 certifying a state at
/// slot 100 (whose digest a donor replica's made-up state gives) far above it.
struct Behind {
    backup: Replica<SymbolicUsig, KvStore>,
    cert: Vec<Arc<Checkpoint>>,
    reply: StateReply,
}

fn replica(config: &Arc<Config>, id: u32) -> Replica<SymbolicUsig, KvStore> {
    let dir = ClientDirectory::from_seed(config.client_auth, id, 2, 7);
    Replica::new(
        config.clone(),
        Arc::new(dir),
        SymbolicUsig::new(id, 3),
        KvStore::new(),
    )
    .unwrap()
}

fn checkpoint(sender: u32, digest: [u8; 32]) -> Arc<Checkpoint> {
    let mut cp = Checkpoint {
        sender,
        view: 0,
        slot: 100,
        last: (0, 120),
        state_digest: digest,
        ui: Ui {
            counter: 0,
            cert: minlab_usig::Certificate::Symbolic(0),
        },
    };
    cp.ui = SymbolicUsig::new(sender, 3)
        .create_ui(&checkpoint_bytes(&cp))
        .unwrap();
    Arc::new(cp)
}

fn deliver(
    r: &mut Replica<SymbolicUsig, KvStore>,
    from: NodeId,
    msg: Message,
) -> (Option<RejectReason>, ZOutbox) {
    let mut out = Outbox::new();
    r.on_message(Instant::ZERO, from, msg, &mut out);
    let reason = out.events().find_map(|e| match e {
        Event::MessageRejected { reason, .. } => Some(*reason),
        _ => None,
    });
    (reason, out)
}

fn behind() -> Behind {
    let config = Arc::new(config());
    let mut donor = replica(&config, 0);
    donor.service.execute(
        &crate::service::KvOp::Put {
            key: 1,
            value: vec![9],
        }
        .encode(),
    );
    donor.state.executed_count = 90;
    donor.state.slots = 100;
    donor.state.history = [4; 32];
    donor.state.records[0].last_seq = 45;
    donor.state.records[0].last_result = b"ok".to_vec();
    let digest = donor.state_digest();
    let cert = vec![checkpoint(0, digest), checkpoint(2, digest)];
    let mut backup = replica(&config, 1);
    let asked = |out: &ZOutbox| -> Vec<NodeId> {
        out.as_slice()
            .iter()
            .filter_map(|o| match o {
                Output::Send {
                    to,
                    msg: Message::StateRequest(q),
                } if q.slot == 100 => Some(*to),
                _ => None,
            })
            .collect()
    };
    // One CHECKPOINT beyond the high water mark is enough to ask its sender (not to
    // believe it); the next one, within repair_interval, asks nobody.
    let (r, out) = deliver(
        &mut backup,
        NodeId::Replica(0),
        Message::Checkpoint(cert[0].clone()),
    );
    assert_eq!(r, Some(RejectReason::AboveHighWaterMark));
    assert_eq!(asked(&out), vec![NodeId::Replica(0)]);
    assert!(
        out.events()
            .any(|e| matches!(e, Event::StateTransferNeeded { counter: 100 }))
    );
    let (_, out) = deliver(
        &mut backup,
        NodeId::Replica(2),
        Message::Checkpoint(cert[1].clone()),
    );
    assert!(asked(&out).is_empty());
    // The repair timer asks both.
    let mut out = Outbox::new();
    let later = Instant::ZERO + config.repair_interval;
    backup.on_timer(later, crate::outbox::TimerKind::Repair, &mut out);
    assert_eq!(asked(&out), vec![NodeId::Replica(0), NodeId::Replica(2)]);
    let reply = StateReply {
        sender: 0,
        checkpoint_cert: cert.clone(),
        snapshot: donor.service.snapshot(),
        clients: donor
            .state
            .records
            .iter()
            .map(|r| ClientState {
                last_seq: r.last_seq,
                last_result: r.last_result.clone(),
            })
            .collect(),
        executed_count: 90,
        slots: 100,
        history: [4; 32],
    };
    Behind {
        backup,
        cert,
        reply,
    }
}

#[test]
fn hostile_state_replies_are_rejected_without_state_change() {
    let mut b = behind();
    let before = b.backup.state_digest();
    let cases: Vec<(NodeId, StateReply, RejectReason)> = vec![
        // Not from the replica it names, not a member, from ourselves.
        (
            NodeId::Client(0),
            b.reply.clone(),
            RejectReason::WrongSender,
        ),
        (
            NodeId::Replica(7),
            StateReply {
                sender: 7,
                ..b.reply.clone()
            },
            RejectReason::UnknownReplica,
        ),
        (
            NodeId::Replica(1),
            StateReply {
                sender: 1,
                ..b.reply.clone()
            },
            RejectReason::FromSelf,
        ),
        // Fewer than f + 1 CHECKPOINTs.
        (
            NodeId::Replica(0),
            StateReply {
                checkpoint_cert: vec![b.cert[0].clone()],
                ..b.reply.clone()
            },
            RejectReason::InvalidStateReply,
        ),
        // The same CHECKPOINT twice.
        (
            NodeId::Replica(0),
            StateReply {
                checkpoint_cert: vec![b.cert[0].clone(), b.cert[0].clone()],
                ..b.reply.clone()
            },
            RejectReason::InvalidStateReply,
        ),
        // A UI that does not verify.
        (
            NodeId::Replica(0),
            StateReply {
                checkpoint_cert: vec![
                    b.cert[0].clone(),
                    Arc::new(Checkpoint {
                        ui: b.cert[0].ui.clone(),
                        ..(*b.cert[1]).clone()
                    }),
                ],
                ..b.reply.clone()
            },
            RejectReason::InvalidStateReply,
        ),
        // A state that does not digest to the certified value.
        (
            NodeId::Replica(0),
            StateReply {
                executed_count: 91,
                ..b.reply.clone()
            },
            RejectReason::InvalidStateReply,
        ),
        (
            NodeId::Replica(0),
            StateReply {
                snapshot: vec![0xff; 3],
                ..b.reply.clone()
            },
            RejectReason::InvalidStateReply,
        ),
        // A client table of the wrong size, a slot count the certificate does not name.
        (
            NodeId::Replica(0),
            StateReply {
                clients: Vec::new(),
                ..b.reply.clone()
            },
            RejectReason::InvalidStateReply,
        ),
        (
            NodeId::Replica(0),
            StateReply {
                slots: 99,
                ..b.reply.clone()
            },
            RejectReason::InvalidStateReply,
        ),
        // A certificate at or below our position.
        (
            NodeId::Replica(0),
            StateReply {
                checkpoint_cert: vec![checkpoint_at(0, 0), checkpoint_at(2, 0)],
                ..b.reply.clone()
            },
            RejectReason::StaleRequest,
        ),
    ];
    for (from, reply, reason) in cases {
        let (r, out) = deliver(&mut b.backup, from, Message::StateReply(Arc::new(reply)));
        assert_eq!(r, Some(reason), "from {from}");
        assert!(
            !out.events()
                .any(|e| matches!(e, Event::StateTransferred { .. }))
        );
        assert_eq!(b.backup.state_digest(), before);
        assert_eq!((b.backup.history_len(), b.backup.low_water_mark()), (0, 0));
        assert_eq!(b.backup.executed_count(), 0);
    }
    // The genuine reply is applied: the history's base moves to the checkpoint, the FIFO
    // position to the ORDER-REQ there, and the replica certifies the state itself.
    let (r, out) = deliver(
        &mut b.backup,
        NodeId::Replica(0),
        Message::StateReply(Arc::new(b.reply.clone())),
    );
    assert_eq!(r, None);
    assert!(out.events().any(|e| matches!(
        e,
        Event::StateTransferred {
            view: 0,
            counter: 100,
            position: 90
        }
    )));
    let own = out.as_slice().iter().find_map(|o| match o {
        Output::Broadcast {
            msg: Message::Checkpoint(c),
        } => Some(c.clone()),
        _ => None,
    });
    let own = own.expect("its own CHECKPOINT of the restored state");
    assert_eq!(
        (own.sender, own.slot, own.last, own.state_digest),
        (1, 100, (0, 120), b.cert[0].state_digest)
    );
    let r1 = &b.backup;
    assert_eq!((r1.history_len(), r1.committed_len()), (100, 100));
    assert_eq!((r1.low_water_mark(), r1.executed_count()), (100, 90));
    assert_eq!(r1.accepted_counter(), 120);
    assert_eq!(r1.last_executed_by_client(0), 45);
    assert_eq!(
        r1.last_response(0),
        None,
        "another replica's RESPONSE is not ours"
    );
    assert!(r1.stable_checkpoint().iter().any(|c| c.sender == 1));
    // Applied once: the same reply again is stale.
    let (r, _) = deliver(
        &mut b.backup,
        NodeId::Replica(2),
        Message::StateReply(Arc::new(StateReply {
            sender: 2,
            ..b.reply.clone()
        })),
    );
    assert_eq!(r, Some(RejectReason::StaleRequest));
}

fn checkpoint_at(sender: u32, slot: u64) -> Arc<Checkpoint> {
    let mut cp = (*checkpoint(sender, [0; 32])).clone();
    cp.slot = slot;
    cp.ui = SymbolicUsig::new(sender, 3)
        .create_ui(&checkpoint_bytes(&cp))
        .unwrap();
    Arc::new(cp)
}

#[test]
fn an_unsolicited_state_reply_is_stale() {
    let config = Arc::new(config());
    let mut r = replica(&config, 1);
    let reply = behind().reply;
    let (reason, _) = deliver(
        &mut r,
        NodeId::Replica(0),
        Message::StateReply(Arc::new(reply)),
    );
    assert_eq!(reason, Some(RejectReason::StaleRequest));
    assert_eq!(r.history_len(), 0);
}

#[test]
fn state_requests_are_answered_once_per_interval_and_never_beyond_a_frame() {
    let mut c = Cluster::new(config(), 3, Faults::default(), 20);
    c.run(100_000);
    let r0 = &mut c.replicas[0];
    let stable = r0.low_water_mark();
    assert!(stable >= 16);
    let ask = |slot| Message::StateRequest(Arc::new(StateRequest { sender: 2, slot }));
    let replies = |out: &ZOutbox| {
        out.as_slice()
            .iter()
            .filter_map(|o| match o {
                Output::Send {
                    to: NodeId::Replica(2),
                    msg: Message::StateReply(r),
                } => Some(r.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let t = c.now;
    let mut out = Outbox::new();
    r0.on_message(t, NodeId::Replica(2), ask(stable), &mut out);
    let got = replies(&out);
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].slots, got[0].checkpoint_cert[0].slot),
        (stable, stable)
    );
    let bytes = super::encode(&Message::StateReply(got[0].clone())).unwrap();
    assert_eq!(
        super::decode(&bytes).unwrap(),
        Message::StateReply(got[0].clone())
    );
    // Again within repair_interval: refused.
    let mut out = Outbox::new();
    r0.on_message(t, NodeId::Replica(2), ask(stable), &mut out);
    assert!(replies(&out).is_empty());
    assert!(out.events().any(|e| matches!(
        e,
        Event::MessageRejected {
            reason: RejectReason::RateLimited,
            ..
        }
    )));
    // A checkpoint it does not have yet: nothing to give.
    let later = t + r0.config().repair_interval;
    let mut out = Outbox::new();
    r0.on_message(later, NodeId::Replica(2), ask(stable + 4), &mut out);
    assert!(replies(&out).is_empty());
    // A state that outgrew one frame is not sent.
    r0.history.snapshots.get_mut(&stable).unwrap().service = vec![0; FRAME_BYTES_MAX];
    let mut out = Outbox::new();
    r0.on_message(later, NodeId::Replica(2), ask(stable), &mut out);
    assert!(replies(&out).is_empty());
}
