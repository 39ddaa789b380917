//! MinZyzyva tests: the gracious path's three steps, the non-gracious path, FILL-HOLE,
//! checkpoints and garbage collection, rollback, hostile input, random schedules, codec.

use super::certify::{checkpoint_bytes, order_bytes, order_digest, outcome_tree, response_bytes};
use super::cluster::{Cluster, Faults};
use super::messages::*;
use super::replica::ZOutbox;
use super::{Client, Replica, decode, encode};
use crate::event::{Event, RejectReason};
use crate::minbft::auth::{ClientAuth, ClientDirectory, ClientKeyring};
use crate::minbft::config::Config;
use crate::minbft::messages::{MessageKind, ReqViewChange, Request, RequestAuth};
use crate::node::NodeId;
use crate::outbox::{Outbox, Output, TimerKind};
use crate::service::{KvOp, KvStore, Service};
use crate::time::{Duration, Instant};
use minlab_usig::{Certificate, HmacSha1Usig, KeySet, SymbolicUsig, Ui, Usig};
use proptest::prelude::*;
use std::sync::Arc;

fn config(f: u32, clients: u32) -> Config {
    let mut c = Config::new(f, clients);
    c.checkpoint_period = 4;
    c.log_window = 16;
    c.client_auth = ClientAuth::MacAuthenticator;
    c
}

fn sent(c: &Cluster, kind: MessageKind) -> u64 {
    let r: u64 = c.replicas.iter().map(|r| r.metrics().sent_of(kind)).sum();
    r + c
        .clients
        .iter()
        .map(|x| x.metrics().sent_of(kind))
        .sum::<u64>()
}

#[test]
fn gracious_execution_takes_three_steps_and_completes_on_all_responses() {
    // Paper §5, Fig. 2: REQUEST to the primary, ORDER-REQ to the backups, RESPONSE from
    // every replica to the client: 1 + 2f + (2f + 1) messages, no timer involved.
    let mut c = Cluster::new(config(1, 1), 1, Faults::default(), 1);
    c.run(1_000);
    assert_eq!(c.completions, vec![(0, 1)]);
    assert_eq!(c.now, Instant::ZERO, "completed before any timer fired");
    assert_eq!(c.delivered.get("REQUEST"), Some(&1));
    assert_eq!(c.delivered.get("ORDER-REQ"), Some(&2));
    assert_eq!(c.delivered.get("RESPONSE"), Some(&3));
    assert_eq!(c.delivered.len(), 3, "{:?}", c.delivered);
    assert_eq!(sent(&c, MessageKind::Commit), 0);
    // One UI_p at the primary, one UI_s per backup; the client checks UI_p once and each
    // UI_s.
    assert_eq!(c.replicas[0].metrics().usig_creates, 1);
    assert_eq!(c.replicas[1].metrics().usig_creates, 1);
    assert_eq!(c.clients[0].metrics().usig_verifies, 3);
    // Nothing is committed yet: the replicas do not know the client completed.
    assert!(c.executions.iter().all(|e| e.is_empty()));
    assert!(c.speculative.iter().all(|s| s.len() == 1));
}

#[test]
fn a_batch_is_ordered_under_one_ui_p_and_answered_under_one_ui_s_per_backup() {
    // Four clients, batches of up to four: each ORDER-REQ carries every queued request;
    // the primary creates one UI_p per batch and each backup one UI_s, and every client
    // checks its request's and result's Merkle paths and completes on 2f + 1 responses.
    let mut cfg = config(1, 4);
    cfg.batch_size_max = 4;
    let mut c = Cluster::new(cfg, 5, Faults::default(), 8);
    c.run(10_000);
    assert_eq!(c.completions.len(), 8);
    c.check_completions().unwrap();
    assert_eq!(sent(&c, MessageKind::Commit), 0, "all gracious");
    let orders = c.replicas[0].metrics().sent_of(MessageKind::OrderReq);
    assert_eq!(orders, 2, "two full batches of four");
    assert_eq!(c.replicas[0].metrics().usig_creates, orders);
    for b in 1..3 {
        assert_eq!(
            c.replicas[b].metrics().usig_creates,
            orders,
            "one UI_s per batch"
        );
        assert_eq!(c.replicas[b].metrics().batches_executed, orders);
        assert_eq!(c.replicas[b].metrics().requests_executed, 8);
    }
    assert!(c.speculative.iter().all(|s| s.len() == 8));
    // Responses of one batch share the UI_s and differ in their place in the batch.
    let responses: Vec<Arc<Response>> = c
        .replicas
        .iter()
        .skip(1)
        .take(1)
        .flat_map(|r| (0..4).filter_map(|cl| r.last_response(cl)))
        .collect();
    assert_eq!(responses.len(), 4);
    let indices: std::collections::BTreeSet<u32> =
        responses.iter().map(|r| r.in_batch.index).collect();
    assert_eq!(indices.len(), 4);
    assert!(responses.iter().all(|r| r.in_batch.len == 4));
    assert!(responses.iter().all(|r| r.ui == responses[0].ui));
}

#[test]
fn a_partial_batch_waits_for_the_batch_timer() {
    // One client, batches of up to eight: its request is ordered when `batch_timeout`
    // fires, not at once.
    let mut cfg = config(1, 1);
    cfg.batch_size_max = 8;
    cfg.batch_timeout = Duration::from_millis(3);
    let mut c = Cluster::new(cfg, 5, Faults::default(), 1);
    c.run(1_000);
    assert_eq!(c.completions, vec![(0, 1)]);
    assert_eq!(c.now, Instant::ZERO + Duration::from_millis(3));
    assert_eq!(sent(&c, MessageKind::Commit), 0);
}

#[test]
fn a_full_history_window_holds_requests_queued_without_stopping_time() {
    // Every CHECKPOINT is lost: none becomes stable, so the primary orders at most
    // `log_window` ORDER-REQs (clients complete the first ones gracefully); with a zero
    // batch timeout the queued requests must not re-arm the batch timer at the same
    // instant forever (time goes on: clients resend).
    let mut cfg = config(1, 3);
    cfg.batch_timeout = Duration::ZERO;
    let window = cfg.log_window;
    let mut c = Cluster::new(cfg, 9, Faults::default(), 60);
    c.filter = Some(Box::new(|_, _, m| matches!(m, Message::Checkpoint(_))));
    c.run(20_000);
    let orders = c.replicas[0].metrics().sent_of(MessageKind::OrderReq);
    assert!(
        orders <= window,
        "{orders} ORDER-REQs above a window of {window}"
    );
    assert_eq!(c.replicas[0].history_len(), window, "the window filled");
    // Virtual time goes on (a batch timer re-armed at the same instant would take every
    // further step at one instant).
    let then = c.now;
    c.run(25_000);
    assert!(c.now > then, "virtual time stopped at {then:?}");
    assert_eq!(
        c.completions.len() as u64,
        window,
        "one request per ORDER-REQ completed"
    );
}

#[test]
fn fault_free_runs_commit_by_checkpoints_and_collect_garbage() {
    for f in 1..=2 {
        let mut c = Cluster::new(config(f, 3), 7, Faults::default(), 30);
        c.run(100_000);
        assert_eq!(c.completions.len(), 30, "f = {f}");
        c.check_agreement().unwrap();
        c.check_completions().unwrap();
        for r in &c.replicas {
            // cp = 4: 28 of the 30 slots are under a stable checkpoint.
            assert_eq!(r.low_water_mark(), 28, "f = {f}");
            assert_eq!(r.committed_len(), 28);
            assert_eq!(r.history_entries(), 2, "garbage collected");
            assert_eq!(r.history_len(), 30);
        }
        assert!(c.executions.iter().all(|e| e.len() == 28));
        assert_eq!(sent(&c, MessageKind::Commit), 0, "all gracious");
    }
}

#[test]
fn a_silent_backup_makes_clients_complete_through_commit_and_local_commit() {
    for batch in [1, 2] {
        a_silent_backup_with_batches_of(batch);
    }
}

fn a_silent_backup_with_batches_of(batch: usize) {
    // Paper §5, non-gracious execution: f + 1 ..= 2f matching responses, COMMIT with the
    // certificate (with batches, its request's place in the batch), completion on f + 1
    // LOCAL-COMMITs.
    let mut cfg = config(1, 2);
    cfg.batch_size_max = batch;
    let mut c = Cluster::new(cfg, 3, Faults::default(), 10);
    c.crashed.insert(2);
    c.run(100_000);
    assert_eq!(c.completions.len(), 10);
    assert_eq!(sent(&c, MessageKind::Commit), 10);
    assert!(c.delivered.get("LOCAL-COMMIT").copied().unwrap_or(0) >= 20);
    c.check_agreement().unwrap();
    c.check_completions().unwrap();
    // The COMMITs committed the live replicas' histories: every completed request is in
    // their committed prefix.
    for r in 0..2 {
        let committed: Vec<_> = c.executions[r]
            .iter()
            .map(|e| (e.client, e.client_seq))
            .collect();
        for done in &c.completions {
            assert!(committed.contains(done), "replica {r} misses {done:?}");
        }
    }
    assert!(c.executions[2].is_empty());
}

#[test]
fn with_f_plus_one_silent_replicas_nothing_completes() {
    let mut c = Cluster::new(config(1, 1), 3, Faults::default(), 3);
    c.crashed.extend([1, 2]);
    c.run(2_000);
    assert!(c.completions.is_empty());
    // One response only: the client resends to everyone (paper §5).
    assert!(sent(&c, MessageKind::Request) > 1);
    assert_eq!(sent(&c, MessageKind::Commit), 0);
}

#[test]
fn a_lost_order_req_is_recovered_by_fill_hole_from_the_primary() {
    let mut c = Cluster::new(config(1, 1), 5, Faults::default(), 3);
    let mut dropped = false;
    c.filter = Some(Box::new(move |_, to, m| {
        if !dropped && to == NodeId::Replica(1) && matches!(m, Message::OrderReq(_)) {
            dropped = true;
            return true;
        }
        false
    }));
    c.run(10_000);
    assert_eq!(c.completions.len(), 3);
    assert!(c.replicas[1].metrics().sent_of(MessageKind::FillHole) >= 1);
    assert_eq!(c.replicas[1].history_len(), 3);
    assert_eq!(c.replicas[1].parked(), 0);
    c.check_completions().unwrap();
}

#[test]
fn a_primary_that_ignores_fill_hole_is_bypassed_and_suspected() {
    // Paper §5: the timer expires, the replica multicasts FILL-HOLE to everyone and
    // requests a view change.
    let mut c = Cluster::new(config(1, 1), 5, Faults::default(), 3);
    let mut dropped = false;
    c.filter = Some(Box::new(move |from, to, m| {
        let first_order_to_1 =
            !dropped && to == NodeId::Replica(1) && matches!(m, Message::OrderReq(_));
        if first_order_to_1 {
            dropped = true;
        }
        let fill_hole_to_primary = from == NodeId::Replica(1)
            && to == NodeId::Replica(0)
            && matches!(m, Message::FillHole(_));
        first_order_to_1 || fill_hole_to_primary
    }));
    c.run(10_000);
    assert_eq!(c.completions.len(), 3);
    let r1 = &c.replicas[1];
    assert_eq!(r1.history_len(), 3, "replica 2 filled the hole");
    assert!(r1.suspects_primary());
    assert_eq!(r1.metrics().sent_of(MessageKind::ReqViewChange), 1);
    assert!(c.replicas[2].view_change_requests().contains(&1));
}

#[test]
fn a_crashed_primary_is_replaced_by_a_view_change_and_requests_complete() {
    // Paper §5: fewer than f + 1 responses: the client resends to all; backups forward to
    // the primary with a timer and request a view change when it expires; f + 1
    // REQ-VIEW-CHANGEs move them to view 1, whose primary sends NEW-VIEW and orders.
    let mut c = Cluster::new(config(1, 2), 5, Faults::default(), 6);
    c.crashed.insert(0);
    c.run(20_000);
    assert_eq!(c.completions.len(), 6, "every request completes in view 1");
    for r in 1..3 {
        assert!(c.replicas[r].metrics().sent_of(MessageKind::Request) >= 1);
        assert_eq!(c.replicas[r].view(), 1);
        assert_eq!(c.replicas[r].installed_view(), 1);
        assert!(!c.replicas[r].is_changing_view());
    }
    assert_eq!(sent(&c, MessageKind::NewView), 1);
    assert_eq!(sent(&c, MessageKind::ViewChange), 2);
    let changed = c
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::ViewChanged { view: 1 }))
        .count();
    assert_eq!(changed, 2);
    assert_eq!(c.check_agreement(), Ok(()));
    assert_eq!(c.check_completions(), Ok(()));
    assert_eq!(
        c.replicas[1].history_digest(),
        c.replicas[2].history_digest()
    );
}

#[test]
fn a_lost_new_view_is_resent_when_the_new_primarys_messages_arrive_first() {
    // Simulator, loss before GST with the primary crashing (MinZyzyva, 20 of 500 seeds):
    // the NEW-VIEW to backup 2 was lost; backup 2 held the new primary's CHECKPOINT and
    // ORDER-REQs, its T_vc expired and it moved on alone to view 2, which replica 1, not
    // suspecting itself, never joined. Now the messages it holds make it send its
    // VIEW-CHANGE to the new primary again, which resends the NEW-VIEW.
    let mut c = Cluster::new(config(1, 2), 5, Faults::default(), 6);
    c.crashed.insert(0);
    let mut lost = false;
    c.filter = Some(Box::new(move |from, to, m| {
        let first = !lost
            && from == NodeId::Replica(1)
            && to == NodeId::Replica(2)
            && matches!(m, Message::NewView(_));
        lost |= first;
        first
    }));
    c.run(20_000);
    assert_eq!(c.completions.len(), 6, "every request completes in view 1");
    for r in 1..3 {
        assert_eq!(c.replicas[r].installed_view(), 1, "replica {r}");
        assert!(!c.replicas[r].is_changing_view());
    }
    assert_eq!(sent(&c, MessageKind::NewView), 2, "sent, lost, resent");
    assert_eq!(c.replicas[2].metrics().sent_of(MessageKind::ViewChange), 2);
    assert_eq!(c.check_agreement(), Ok(()));
    assert_eq!(c.check_completions(), Ok(()));
}

#[test]
fn a_speculative_execution_the_new_view_leaves_out_is_rolled_back() {
    // Paper §5: "servers may have to rollback some executions ... after a view change when
    // the new primary does not include in the NEW-VIEW message some operations that were
    // executed by less than f servers". The primary executes request 2 but its ORDER-REQ
    // reaches nobody; its VIEW-CHANGE does not reach the new primary either.
    let mut c = Cluster::new(config(1, 1), 11, Faults::default(), 3);
    c.filter = Some(Box::new(|from, to, m| match m {
        Message::OrderReq(o) => from == NodeId::Replica(0) && o.view == 0 && o.batch[0].seq == 2,
        Message::ViewChange(_) => from == NodeId::Replica(0) && to == NodeId::Replica(1),
        _ => false,
    }));
    c.run(50_000);
    let rolled: Vec<_> = c
        .events
        .iter()
        .filter_map(|(n, e)| match e {
            Event::RolledBack {
                client, client_seq, ..
            } => Some((*n, *client, *client_seq)),
            _ => None,
        })
        .collect();
    assert_eq!(rolled, vec![(NodeId::Replica(0), 0, 2)]);
    assert_eq!(c.completions, vec![(0, 1), (0, 2), (0, 3)]);
    assert_eq!(c.check_agreement(), Ok(()));
    assert_eq!(c.check_completions(), Ok(()));
    for r in 0..3 {
        assert_eq!(c.replicas[r].installed_view(), 1, "replica {r}");
        assert_eq!(
            c.replicas[r].history_digest(),
            c.replicas[1].history_digest()
        );
        assert_eq!(c.replicas[r].last_executed_by_client(0), 3);
    }
    // The rolled-back request executed again, once more, in view 1's order.
    let again = c.speculative[0]
        .iter()
        .filter(|&&(_, cl, s)| (cl, s) == (0, 2))
        .count();
    assert_eq!(again, 2);
}

#[test]
fn a_byzantine_primary_showing_backups_different_orders_is_replaced() {
    // A primary that orders client 0's requests only for backup 1 and client 1's only for
    // backup 2, and answers no FILL-HOLE (none is relayed either): each backup waits on a
    // hole, the view changes, and the new primary's S reconciles both histories.
    let mut c = Cluster::new(config(1, 2), 13, Faults::default(), 4);
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
    assert_eq!(c.check_agreement(), Ok(()));
    assert_eq!(c.check_completions(), Ok(()));
    assert!(sent(&c, MessageKind::NewView) >= 1);
    for r in 0..3 {
        assert!(c.replicas[r].view() >= 1);
        assert_eq!(
            c.replicas[r].history_digest(),
            c.replicas[1].history_digest()
        );
    }
}

#[test]
fn hostile_view_changes_and_new_views_are_rejected() {
    let mut fx = fixture();
    // A VIEW-CHANGE whose O skips a counter value, one with a forged UI, a NEW-VIEW from a
    // replica that is not the new primary, and one whose V_vc is too small.
    let mut u2 = SymbolicUsig::new(2, 3);
    let mut vc = ViewChange {
        sender: 2,
        new_view: 1,
        checkpoint_cert: vec![],
        log: vec![],
        history: vec![],
        installed_view: 0,
        ui: Ui {
            counter: 0,
            cert: Certificate::Symbolic(0),
        },
    };
    let _skipped = u2.create_ui(b"anything").unwrap();
    let digest = super::certify::view_change_digest(&vc);
    vc.ui = u2
        .create_ui(&super::certify::view_change_bytes(1, &digest))
        .unwrap();
    let (r, _) = fx.deliver(
        NodeId::Replica(2),
        Message::ViewChange(Arc::new(vc.clone())),
    );
    assert_eq!(r, Some(RejectReason::InvalidViewChange), "a hole in O");
    let mut forged = vc.clone();
    forged.ui.counter = 1;
    let (r, _) = fx.deliver(NodeId::Replica(2), Message::ViewChange(Arc::new(forged)));
    assert_eq!(r, Some(RejectReason::BadUi));
    let (r, _) = fx.deliver(
        NodeId::Replica(0),
        Message::ViewChange(Arc::new(vc.clone())),
    );
    assert_eq!(r, Some(RejectReason::WrongSender));
    let nv = NewView {
        sender: 2,
        new_view: 1,
        view_changes: vec![],
        orders: vec![],
        ui: vc.ui.clone(),
    };
    let (r, _) = fx.deliver(NodeId::Replica(2), Message::NewView(Arc::new(nv.clone())));
    assert_eq!(r, Some(RejectReason::NotPrimary));
    let nv = NewView {
        sender: 0,
        new_view: 3,
        ..nv
    };
    let (r, _) = fx.deliver(NodeId::Replica(0), Message::NewView(Arc::new(nv)));
    assert_eq!(r, Some(RejectReason::InvalidNewView), "V_vc too small");
}

#[test]
fn retransmitted_executed_requests_get_the_cached_response_exactly_once() {
    let mut c = Cluster::new(config(1, 1), 9, Faults::default(), 2);
    // Lose the backups' responses to the first request once: the client resends to
    // everyone after its timer, which must not execute it again.
    let mut lost = 0;
    c.filter = Some(Box::new(move |from, _, m| {
        if lost < 2 && from != NodeId::Replica(0) && matches!(m, Message::Response(r) if r.seq == 1)
        {
            lost += 1;
            return true;
        }
        false
    }));
    c.run(10_000);
    assert_eq!(c.completions.len(), 2);
    assert!(c.replicas.iter().any(|r| r.metrics().replies_resent > 0));
    c.check_completions().unwrap();
    for r in &c.replicas {
        assert_eq!(r.executed_count(), 2);
    }
}

// ---- rollback ---------------------------------------------------------------------------

#[test]
fn rollback_restores_the_state_of_a_replica_that_never_executed_the_suffix() {
    let mut long = Cluster::new(config(1, 2), 11, Faults::default(), 10);
    long.run(100_000);
    let mut short = Cluster::new(config(1, 2), 11, Faults::default(), 7);
    short.run(100_000);
    // Same seed and workload: the 7 first slots are the same requests.
    let target = short.replicas[1].clone();
    let mut r = long.replicas[1].clone();
    // Slots above the stable checkpoint (8) are speculative; roll back to 8 first: a
    // request below the committed prefix is never undone.
    let mut out = Outbox::new();
    assert_eq!(r.committed_len(), 8);
    assert_eq!(r.rollback_to(3, &mut out).unwrap(), 2, "only above slot 8");
    assert_eq!(r.history_len(), 8);
    let rolled: Vec<_> = out
        .events()
        .filter_map(|e| match e {
            Event::RolledBack { position, .. } => Some(*position),
            _ => None,
        })
        .collect();
    assert_eq!(rolled, vec![9, 8]);
    assert_eq!(r.executed_count(), 8);
    // A replica with history 7 whose checkpoint at 4 is stable, rolled back to 5, equals a
    // replica that executed 5 slots.
    let mut five = Cluster::new(config(1, 2), 11, Faults::default(), 5);
    five.run(100_000);
    let mut t = target.clone();
    let mut out = Outbox::new();
    assert_eq!(t.rollback_to(5, &mut out).unwrap(), 2);
    assert_eq!(t.state_digest(), five.replicas[1].state_digest());
    assert_eq!(t.history_digest(), five.replicas[1].history_digest());
    assert_eq!(
        t.service().state_digest(),
        five.replicas[1].service().state_digest()
    );
    assert_eq!(
        t.last_executed_by_client(0),
        five.replicas[1].last_executed_by_client(0)
    );
}

// ---- hostile input ----------------------------------------------------------------------

struct Fixture {
    config: Arc<Config>,
    backup: Replica<SymbolicUsig, KvStore>,
    primary_usig: SymbolicUsig,
    keys: ClientKeyring,
}

fn fixture() -> Fixture {
    let config = Arc::new(config(1, 2));
    let dir = ClientDirectory::from_seed(config.client_auth, 1, 2, 7);
    let backup = Replica::new(
        config.clone(),
        Arc::new(dir),
        SymbolicUsig::new(1, 3),
        KvStore::new(),
    )
    .unwrap();
    Fixture {
        keys: ClientKeyring::from_seed(config.client_auth, 0, 3, 7),
        config,
        backup,
        primary_usig: SymbolicUsig::new(0, 3),
    }
}

impl Fixture {
    fn request(&self, seq: u64) -> Arc<Request> {
        let mut r = Request {
            client: 0,
            seq,
            op: KvOp::Put {
                key: 1,
                value: vec![seq as u8],
            }
            .encode(),
            auth: RequestAuth::None,
        };
        r.auth = self.keys.authenticate(&r);
        Arc::new(r)
    }

    fn order(&mut self, seq: u64) -> Arc<OrderReq> {
        let request = self.request(seq);
        let ui = self
            .primary_usig
            .create_ui(&order_bytes(
                0,
                &order_digest(std::slice::from_ref(&request)),
            ))
            .unwrap();
        Arc::new(OrderReq {
            view: 0,
            primary: 0,
            batch: vec![request],
            ui,
        })
    }

    fn deliver(&mut self, from: NodeId, msg: Message) -> (Option<RejectReason>, Outbox<Message>) {
        let mut out = Outbox::new();
        self.backup.on_message(Instant::ZERO, from, msg, &mut out);
        let reason = out.events().find_map(|e| match e {
            Event::MessageRejected { reason, .. } => Some(*reason),
            _ => None,
        });
        (reason, out)
    }
}

#[test]
fn hostile_order_reqs_are_rejected_without_state_change() {
    let mut fx = fixture();
    let good = fx.order(1);
    let before = fx.backup.clone();
    let p0 = NodeId::Replica(0);
    // Wrong transport sender (another replica may relay it: see the FILL-HOLE tests).
    let (r, _) = fx.deliver(NodeId::Client(0), Message::OrderReq(good.clone()));
    assert_eq!(r, Some(RejectReason::WrongSender));
    // Not the primary of view 0.
    let mut o = (*good).clone();
    o.primary = 2;
    let (r, _) = fx.deliver(NodeId::Replica(2), Message::OrderReq(Arc::new(o)));
    assert_eq!(r, Some(RejectReason::NotPrimary));
    // Claims to be signed by the receiver itself.
    let mut o = (*good).clone();
    o.primary = 1;
    let (r, _) = fx.deliver(NodeId::Replica(2), Message::OrderReq(Arc::new(o)));
    assert_eq!(r, Some(RejectReason::FromSelf));
    // Bad UI: another request under the same certificate.
    let mut o = (*good).clone();
    o.batch = vec![fx.request(9)];
    let (r, _) = fx.deliver(p0, Message::OrderReq(Arc::new(o)));
    assert_eq!(r, Some(RejectReason::BadUi));
    // A certificate of the wrong kind.
    let mut o = (*good).clone();
    o.ui.cert = Certificate::HmacSha1([0; 20]);
    let (r, _) = fx.deliver(p0, Message::OrderReq(Arc::new(o)));
    assert_eq!(r, Some(RejectReason::BadUi));
    // Future view, unknown replica, from self.
    let mut o = (*good).clone();
    o.view = 3;
    let (r, _) = fx.deliver(p0, Message::OrderReq(Arc::new(o)));
    assert_eq!(r, Some(RejectReason::FutureView));
    let mut o = (*good).clone();
    o.primary = 9;
    let (r, _) = fx.deliver(NodeId::Replica(9), Message::OrderReq(Arc::new(o)));
    assert_eq!(r, Some(RejectReason::UnknownReplica));
    // Far beyond the FIFO window.
    let mut o = (*good).clone();
    o.ui.counter = 10_000;
    let (r, _) = fx.deliver(p0, Message::OrderReq(Arc::new(o)));
    assert_eq!(r, Some(RejectReason::AboveHighWaterMark));
    // A forged client request inside a validly ordered ORDER-REQ: condition 2.
    let mut forged = (*fx.request(1)).clone();
    forged.auth = RequestAuth::Macs(vec![[0; 16]; 3]);
    let forged = Arc::new(forged);
    let mut fx2 = fixture();
    let ui = fx2
        .primary_usig
        .create_ui(&order_bytes(
            0,
            &order_digest(std::slice::from_ref(&forged)),
        ))
        .unwrap();
    let (r, _) = fx2.deliver(
        p0,
        Message::OrderReq(Arc::new(OrderReq {
            view: 0,
            primary: 0,
            batch: vec![forged],
            ui,
        })),
    );
    assert_eq!(r, Some(RejectReason::BadClientAuth));
    assert_eq!(fx2.backup.history_len(), 0);
    assert_eq!(fx.backup, before, "rejections change no state");
    // A response or local-commit sent to a replica.
    let (r, _) = fx.deliver(
        p0,
        Message::LocalCommit(Arc::new(LocalCommit {
            replica: 0,
            client: 0,
            seq: 1,
            view: 0,
            counter: 1,
            auth: None,
        })),
    );
    assert_eq!(r, Some(RejectReason::UnexpectedMessage));
}

#[test]
fn a_hole_in_the_primary_counter_parks_and_asks_the_primary() {
    // Paper §5: cv > max_cv + 1 is a hole: a timer (one grace period, links reorder),
    // then FILL-HOLE to the primary, and nothing executed out of order.
    let mut fx = fixture();
    let first = fx.order(1);
    let second = fx.order(2);
    let (r, out) = fx.deliver(NodeId::Replica(0), Message::OrderReq(second.clone()));
    assert_eq!(r, None);
    assert_eq!(fx.backup.history_len(), 0);
    assert_eq!(fx.backup.parked(), 1);
    let asked = |out: &ZOutbox| {
        out.as_slice().iter().any(|o| {
            matches!(o, Output::Send { to: NodeId::Replica(0), msg: Message::FillHole(h) }
                if h.from == 1 && h.to == 1)
        })
    };
    assert!(!asked(&out), "{:?}", out.as_slice());
    assert!(out.as_slice().iter().any(|o| matches!(
        o,
        Output::SetTimer {
            kind: TimerKind::Repair,
            ..
        }
    )));
    let mut out = ZOutbox::new();
    let later = Instant::ZERO + fx.config.repair_interval;
    fx.backup.on_timer(later, TimerKind::Repair, &mut out);
    assert!(asked(&out), "{:?}", out.as_slice());
    // The duplicate is refused before its UI is checked.
    let (r, _) = fx.deliver(NodeId::Replica(0), Message::OrderReq(second));
    assert_eq!(r, Some(RejectReason::DuplicateUi));
    // Filling the hole executes both, in order, and cancels the timer.
    let (r, out) = fx.deliver(NodeId::Replica(0), Message::OrderReq(first));
    assert_eq!(r, None);
    assert_eq!(fx.backup.history_len(), 2);
    assert_eq!(fx.backup.accepted_counter(), 2);
    assert!(out.as_slice().iter().any(|o| matches!(
        o,
        Output::CancelTimer {
            kind: TimerKind::Repair
        }
    )));
    let responses = out
        .as_slice()
        .iter()
        .filter(|o| {
            matches!(
                o,
                Output::Send {
                    msg: Message::Response(_),
                    ..
                }
            )
        })
        .count();
    assert_eq!(responses, 2);
}

#[test]
fn a_request_ordered_twice_is_executed_once() {
    // Paper §5: "A faulty primary can try to cause the reexecution of some requests by
    // assigning it two different UI identifiers. [...] the servers detect this
    // misbehavior using the clients' seq."
    let mut fx = fixture();
    let first = fx.order(1);
    let again = fx.order(1);
    assert_ne!(first.ui, again.ui);
    fx.deliver(NodeId::Replica(0), Message::OrderReq(first));
    let (r, out) = fx.deliver(NodeId::Replica(0), Message::OrderReq(again));
    assert_eq!(r, None);
    assert_eq!(fx.backup.history_len(), 2, "both take a slot");
    assert_eq!(fx.backup.executed_count(), 1, "one execution");
    assert!(!out.as_slice().iter().any(|o| matches!(
        o,
        Output::Send {
            msg: Message::Response(_),
            ..
        }
    )));
}

/// Found by the simulator (a `duplicate-order` primary, then a view change: the checkpoint
/// NEW-VIEW takes sits one slot above the last stable one, a duplicate's): two stable
/// checkpoints at one execution position reported two state digests, a checkpoint-agreement
/// violation that was none. The event now carries the executed state, which they share.
#[test]
fn stable_checkpoints_around_a_duplicate_report_one_state_per_position() {
    let mut fx = fixture();
    let mut config = config(1, 2);
    config.checkpoint_period = 1;
    let config = Arc::new(config);
    let replica = |id| {
        let dir = ClientDirectory::from_seed(config.client_auth, id, 2, 7);
        Replica::new(
            config.clone(),
            Arc::new(dir),
            SymbolicUsig::new(id, 3),
            KvStore::new(),
        )
        .unwrap()
    };
    let (mut one, mut two) = (replica(1), replica(2));
    let orders = [fx.order(1), fx.order(1)];
    let mut out = Outbox::new();
    let mut votes = Vec::new();
    for o in &orders {
        one.on_message(
            Instant::ZERO,
            NodeId::Replica(0),
            Message::OrderReq(o.clone()),
            &mut out,
        );
        two.on_message(
            Instant::ZERO,
            NodeId::Replica(0),
            Message::OrderReq(o.clone()),
            &mut out,
        );
        votes.extend(out.drain().filter_map(|o| match o {
            Output::Broadcast {
                msg: m @ Message::Checkpoint(_),
            } => Some(m),
            _ => None,
        }));
    }
    assert_eq!(votes.len(), 4, "both replicas checkpoint slots 1 and 2");
    let mut taken = Vec::new();
    for v in votes {
        let Message::Checkpoint(c) = &v else {
            unreachable!()
        };
        if c.sender == 2 {
            one.on_message(Instant::ZERO, NodeId::Replica(2), v, &mut out);
            taken.extend(out.drain().filter_map(|o| match o {
                Output::Event(Event::CheckpointTaken {
                    counter,
                    position,
                    state_digest,
                }) => Some((counter, position, state_digest)),
                _ => None,
            }));
        }
    }
    assert_eq!(one.low_water_mark(), 2);
    assert_eq!(taken.len(), 2, "{taken:?}");
    assert_eq!((taken[0].0, taken[1].0), (1, 2), "slots 1 and 2 stable");
    assert_eq!((taken[0].1, taken[1].1), (1, 1), "one execution position");
    assert_eq!(taken[0].2, taken[1].2, "one executed state");
}

#[test]
fn bad_commit_certificates_are_rejected() {
    let mut fx = fixture();
    let o = fx.order(1);
    let (_, out) = fx.deliver(NodeId::Replica(0), Message::OrderReq(o.clone()));
    let resp = out
        .as_slice()
        .iter()
        .find_map(|x| match x {
            Output::Send {
                msg: Message::Response(r),
                ..
            } => Some(r.clone()),
            _ => None,
        })
        .unwrap();
    let good = Commit {
        client: 0,
        request: o.batch[0].clone(),
        view: 0,
        order_ui: o.ui.clone(),
        in_batch: resp.in_batch.clone(),
        result_digest: super::certify::result_digest(&resp.result),
        history: resp.history,
        responses: vec![
            CertifiedResponse {
                replica: 0,
                ui: None,
            },
            CertifiedResponse {
                replica: 1,
                ui: resp.ui.clone(),
            },
        ],
    };
    let c0 = NodeId::Client(0);
    let cases: Vec<(Commit, RejectReason)> = vec![
        (
            Commit {
                responses: good.responses[..1].to_vec(),
                ..good.clone()
            },
            RejectReason::InvalidCommitCertificate,
        ),
        (
            Commit {
                responses: vec![good.responses[1].clone(), good.responses[1].clone()],
                ..good.clone()
            },
            RejectReason::InvalidCommitCertificate,
        ),
        (
            Commit {
                result_digest: [1; 32],
                ..good.clone()
            },
            RejectReason::BadUi,
        ),
        (
            Commit {
                responses: vec![
                    CertifiedResponse {
                        replica: 0,
                        ui: resp.ui.clone(),
                    },
                    good.responses[1].clone(),
                ],
                ..good.clone()
            },
            RejectReason::InvalidCommitCertificate,
        ),
        (
            Commit {
                order_ui: Ui {
                    counter: 1,
                    cert: Certificate::Symbolic(0),
                },
                ..good.clone()
            },
            RejectReason::BadUi,
        ),
    ];
    for (bad, reason) in cases {
        let (r, out) = fx.deliver(c0, Message::Commit(Arc::new(bad)));
        assert_eq!(r, Some(reason));
        assert_eq!(fx.backup.committed_len(), 0);
        assert!(out.as_slice().len() == 1, "only the rejection");
    }
    let (r, _) = fx.deliver(NodeId::Client(1), Message::Commit(Arc::new(good.clone())));
    assert_eq!(r, Some(RejectReason::WrongSender));
    // The good one commits and is acknowledged.
    let (r, out) = fx.deliver(c0, Message::Commit(Arc::new(good)));
    assert_eq!(r, None);
    assert_eq!(fx.backup.committed_len(), 1);
    assert!(out.as_slice().iter().any(|o| matches!(
        o,
        Output::Send { to: NodeId::Client(0), msg: Message::LocalCommit(l) } if l.counter == 1
    )));
    assert!(
        out.events()
            .any(|e| matches!(e, Event::RequestExecuted { position: 0, .. }))
    );
}

#[test]
fn hostile_checkpoints_fill_holes_and_view_change_requests_are_rejected() {
    let mut fx = fixture();
    let mut u2 = SymbolicUsig::new(2, 3);
    let mut cp = Checkpoint {
        sender: 2,
        view: 0,
        slot: 4,
        last: (0, 4),
        state_digest: [1; 32],
        ui: Ui {
            counter: 0,
            cert: Certificate::Symbolic(0),
        },
    };
    cp.ui = u2.create_ui(&checkpoint_bytes(&cp)).unwrap();
    cp.state_digest = [2; 32];
    let (r, _) = fx.deliver(
        NodeId::Replica(2),
        Message::Checkpoint(Arc::new(cp.clone())),
    );
    assert_eq!(r, Some(RejectReason::BadUi));
    let (r, _) = fx.deliver(
        NodeId::Replica(0),
        Message::Checkpoint(Arc::new(cp.clone())),
    );
    assert_eq!(
        r,
        Some(RejectReason::WrongSender),
        "only the primary's are relayed"
    );
    let far = Checkpoint { slot: 1_000, ..cp };
    let (r, _) = fx.deliver(NodeId::Replica(2), Message::Checkpoint(Arc::new(far)));
    assert_eq!(r, Some(RejectReason::AboveHighWaterMark));
    let fh = FillHole {
        sender: 2,
        view: 5,
        from: 1,
        to: 2,
    };
    let (r, _) = fx.deliver(NodeId::Replica(2), Message::FillHole(Arc::new(fh)));
    assert_eq!(r, Some(RejectReason::StaleView));
    let rvc = ReqViewChange {
        sender: 2,
        view: 0,
        new_view: 0,
    };
    let (r, _) = fx.deliver(NodeId::Replica(2), Message::ReqViewChange(Arc::new(rvc)));
    assert_eq!(r, Some(RejectReason::StaleView));
    let rvc = ReqViewChange {
        sender: 1,
        view: 0,
        new_view: 1,
    };
    let (r, _) = fx.deliver(NodeId::Replica(1), Message::ReqViewChange(Arc::new(rvc)));
    assert_eq!(r, Some(RejectReason::FromSelf));
    // Requests: from the wrong client, unknown client, forwarded to a backup.
    let req = fx.request(1);
    let (r, _) = fx.deliver(NodeId::Client(1), Message::Request(req.clone()));
    assert_eq!(r, Some(RejectReason::WrongSender));
    let (r, _) = fx.deliver(NodeId::Replica(2), Message::Request(req));
    assert_eq!(r, Some(RejectReason::NotPrimary));
    let mut unknown = (*fx.request(1)).clone();
    unknown.client = 7;
    let (r, _) = fx.deliver(NodeId::Client(7), Message::Request(Arc::new(unknown)));
    assert_eq!(r, Some(RejectReason::UnknownClient));
}

/// Client 0 of `config` holding `keys`, checking UIs with the symbolic USIG, after it
/// submitted the operation "op": the client and what it sent.
pub(super) fn client_with_request(
    config: &Arc<Config>,
    keys: ClientKeyring,
) -> (Client<SymbolicUsig>, Outbox<Message>) {
    let n = config.replica_count;
    let mut client = Client::new(
        0,
        config.clone(),
        Arc::new(keys),
        SymbolicUsig::new(u32::MAX, n),
    )
    .unwrap();
    let mut out = Outbox::new();
    client
        .submit(Instant::ZERO, b"op".to_vec(), &mut out)
        .unwrap();
    (client, out)
}

#[test]
fn clients_reject_bad_responses_and_refuse_hmac_verifiers() {
    let fx = fixture();
    let keys = KeySet::from_seed(3, 1);
    let hmac = HmacSha1Usig::new(0, &keys).unwrap();
    assert!(Client::new(0, fx.config.clone(), Arc::new(fx.keys.clone()), hmac).is_err());
    let (mut client, out) = client_with_request(&fx.config, fx.keys.clone());
    assert!(matches!(
        out.as_slice()[0],
        Output::Send {
            to: NodeId::Replica(0),
            msg: Message::Request(_)
        }
    ));
    let req = match &out.as_slice()[0] {
        Output::Send {
            msg: Message::Request(r),
            ..
        } => r.clone(),
        _ => unreachable!(),
    };
    let mut p = SymbolicUsig::new(0, 3);
    let mut b = SymbolicUsig::new(1, 3);
    let d = order_digest(std::slice::from_ref(&req));
    let order_ui = p.create_ui(&order_bytes(0, &d)).unwrap();
    let rd = super::certify::result_digest(b"res");
    let outcome = outcome_tree(vec![rd]).digest();
    let ui_s = b
        .create_ui(&response_bytes(0, 1, &d, &outcome, &[5; 32]))
        .unwrap();
    let good = Response {
        view: 0,
        replica: 1,
        client: 0,
        seq: 1,
        result: b"res".to_vec(),
        history: [5; 32],
        order_ui: order_ui.clone(),
        in_batch: InBatch {
            len: 1,
            index: 0,
            order_path: vec![],
            outcome_path: vec![],
        },
        ui: Some(ui_s),
        auth: None,
    };
    let mut check = |from: NodeId, r: Response, want: Option<RejectReason>| {
        let mut out = Outbox::new();
        client.on_message(
            Instant::ZERO,
            from,
            Message::Response(Arc::new(r)),
            &mut out,
        );
        let got = out.events().find_map(|e| match e {
            Event::MessageRejected { reason, .. } => Some(*reason),
            _ => None,
        });
        assert_eq!(got, want);
    };
    check(
        NodeId::Replica(2),
        good.clone(),
        Some(RejectReason::WrongSender),
    );
    check(
        NodeId::Replica(1),
        Response {
            result: b"other".to_vec(),
            ..good.clone()
        },
        Some(RejectReason::BadUi),
    );
    check(
        NodeId::Replica(1),
        Response {
            ui: None,
            ..good.clone()
        },
        Some(RejectReason::BadUi),
    );
    check(
        NodeId::Replica(1),
        Response {
            order_ui: Ui {
                counter: 1,
                cert: Certificate::Symbolic(3),
            },
            ..good.clone()
        },
        Some(RejectReason::BadUi),
    );
    // The primary's response without a valid MAC (authentication is on).
    check(
        NodeId::Replica(0),
        Response {
            replica: 0,
            ui: None,
            auth: Some([0; 16]),
            ..good.clone()
        },
        Some(RejectReason::BadUi),
    );
    check(NodeId::Replica(1), good, None);
    assert!(!client.is_idle());
}

// ---- random schedules -------------------------------------------------------------------

fn schedule_faults() -> impl Strategy<Value = (u32, u64, Faults, bool)> {
    (
        1u32..=2,
        any::<u64>(),
        0u64..60,
        0u64..60,
        1usize..6,
        any::<bool>(),
    )
        .prop_map(|(f, seed, drop, dup, window, crash)| {
            (
                f,
                seed,
                Faults {
                    drop_per_mille: drop,
                    duplicate_per_mille: dup,
                    reorder_window: window,
                },
                crash,
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Safety under random drops, duplicates, reordering and a crashed backup: committed
    /// prefixes agree, nothing executes twice, nothing completed is rolled back, and every
    /// completed request is in the committed history of each replica that committed that
    /// far. Without drops, every operation completes.
    #[test]
    fn random_schedules_keep_committed_prefixes_agreeing((f, seed, faults, crash) in schedule_faults()) {
        let mut cfg = config(f, 3);
        cfg.retransmit_timeout = Duration::from_millis(20);
        cfg.batch_size_max = 1 + (seed % 3) as usize;
        let mut c = Cluster::new(cfg, seed, faults, 20);
        if crash {
            c.crashed.insert(1);
        }
        c.run(200_000);
        prop_assert_eq!(c.check_agreement(), Ok(()));
        prop_assert_eq!(c.check_completions(), Ok(()));
        // Every completed operation was executed by at least f + 1 replicas (2f + 1
        // responses, or a commit certificate of f + 1).
        for done in &c.completions {
            let executed_by = c
                .speculative
                .iter()
                .filter(|spec| spec.iter().any(|&(_, cl, s)| (cl, s) == *done))
                .count();
            prop_assert!(executed_by > f as usize, "{:?} executed by {}", done, executed_by);
        }
        if faults.drop_per_mille == 0 {
            prop_assert_eq!(c.completions.len(), 20);
        }
    }

    #[test]
    fn every_message_round_trips(seq in any::<u64>(), op in proptest::collection::vec(any::<u8>(), 0..64), counter in any::<u64>()) {
        for m in samples(seq, op, counter) {
            let bytes = encode(&m).unwrap();
            prop_assert_eq!(decode(&bytes).unwrap(), m);
        }
    }

    #[test]
    fn hostile_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn mutated_frames_never_panic(idx in any::<usize>(), val in any::<u8>(), cut in any::<usize>(), which in 0usize..13) {
        let m = samples(4, b"abc".to_vec(), 5).swap_remove(which);
        let mut bytes = encode(&m).unwrap();
        let i = idx % bytes.len();
        bytes[i] = val;
        let _ = decode(&bytes);
        bytes.truncate(cut % (bytes.len() + 1));
        let _ = decode(&bytes);
    }
}

/// A place in a batch of three, with paths.
fn sample_place() -> InBatch {
    InBatch {
        len: 3,
        index: 2,
        order_path: vec![[7; 32]],
        outcome_path: vec![[8; 32]],
    }
}

fn samples(seq: u64, op: Vec<u8>, counter: u64) -> Vec<Message> {
    let ui = Ui {
        counter,
        cert: Certificate::Ed25519([7; 64]),
    };
    let request = Arc::new(Request {
        client: 1,
        seq,
        op: op.clone(),
        auth: RequestAuth::Macs(vec![[1; 16]; 3]),
    });
    let order = Arc::new(OrderReq {
        view: seq,
        primary: 0,
        batch: vec![request.clone(), request.clone()],
        ui: ui.clone(),
    });
    let cp = Arc::new(Checkpoint {
        sender: 1,
        view: 0,
        slot: 3,
        last: (0, 4),
        state_digest: [9; 32],
        ui: ui.clone(),
    });
    let vc = ViewChange {
        sender: 1,
        new_view: 1,
        checkpoint_cert: vec![cp.clone()],
        log: vec![
            Sent::Order(order.clone()),
            Sent::Response {
                order: order.clone(),
                outcome: [1; 32],
                history: [2; 32],
                ui: ui.clone(),
            },
            Sent::Checkpoint(cp),
            Sent::ViewChangeRecord {
                new_view: 1,
                digest: [3; 32],
                ui: ui.clone(),
            },
            Sent::NewViewRecord {
                new_view: 1,
                digest: [4; 32],
                ui: ui.clone(),
            },
        ],
        history: vec![order.clone()],
        installed_view: 0,
        ui: ui.clone(),
    };
    vec![
        Message::Request(request.clone()),
        Message::OrderReq(order.clone()),
        Message::Response(Arc::new(Response {
            view: 1,
            replica: 2,
            client: 1,
            seq,
            result: op.clone(),
            history: [3; 32],
            order_ui: ui.clone(),
            in_batch: sample_place(),
            ui: Some(ui.clone()),
            auth: Some([4; 16]),
        })),
        Message::Commit(Arc::new(Commit {
            client: 1,
            request,
            view: 0,
            order_ui: ui.clone(),
            in_batch: sample_place(),
            result_digest: [5; 32],
            history: [6; 32],
            responses: vec![
                CertifiedResponse {
                    replica: 0,
                    ui: None,
                },
                CertifiedResponse {
                    replica: 1,
                    ui: Some(ui.clone()),
                },
            ],
        })),
        Message::LocalCommit(Arc::new(LocalCommit {
            replica: 1,
            client: 1,
            seq,
            view: 0,
            counter,
            auth: None,
        })),
        Message::FillHole(Arc::new(FillHole {
            sender: 1,
            view: 0,
            from: counter,
            to: counter,
        })),
        Message::Checkpoint(Arc::new(Checkpoint {
            sender: 2,
            view: 1,
            slot: seq,
            last: (1, counter),
            state_digest: [8; 32],
            ui: ui.clone(),
        })),
        Message::ReqViewChange(Arc::new(ReqViewChange {
            sender: 1,
            view: 0,
            new_view: 1,
        })),
        Message::ViewChange(Arc::new(vc.clone())),
        Message::NewView(Arc::new(NewView {
            sender: 1,
            new_view: 1,
            view_changes: vec![Arc::new(vc)],
            orders: vec![order],
            ui: ui.clone(),
        })),
        Message::StateRequest(Arc::new(StateRequest {
            sender: 2,
            slot: seq,
        })),
        Message::StateReply(Arc::new(StateReply {
            sender: 0,
            checkpoint_cert: vec![Arc::new(Checkpoint {
                sender: 0,
                view: 0,
                slot: seq,
                last: (0, counter),
                state_digest: [9; 32],
                ui,
            })],
            snapshot: op.clone(),
            clients: vec![ClientState {
                last_seq: seq,
                last_result: op.clone(),
            }],
            executed_count: counter,
            slots: seq,
            history: [3; 32],
        })),
        Message::StableReply(Arc::new(StableReply {
            replica: 2,
            client: 1,
            seq,
            result: op,
            view: counter,
            auth: Some([5; 16]),
        })),
    ]
}

#[test]
fn table1_work_per_request_at_the_primary_and_backups() {
    // Paper Table 1: "MinZyzyva does 2 HMAC operations and one signature" at the
    // bottleneck server (b = 1). cp is raised so that no checkpoint falls in the run.
    let mut cfg = config(1, 1);
    cfg.checkpoint_period = 64;
    cfg.log_window = 128;
    let mut c = Cluster::new(cfg, 4, Faults::default(), 5);
    c.run(10_000);
    assert_eq!(c.completions.len(), 5);
    let p = c.replicas[0].metrics();
    assert_eq!((p.mac_ops, p.usig_creates, p.usig_verifies), (10, 5, 0));
    let b = c.replicas[1].metrics();
    assert_eq!((b.mac_ops, b.usig_creates, b.usig_verifies), (5, 5, 5));
}
