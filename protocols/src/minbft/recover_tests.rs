//! Unit tests of crash recovery: replicas with a write-ahead log restart into the state
//! they promised (sent log, view, stable checkpoint), lost counter values are skipped
//! under the rules of [`super::restart`], and a corrupt log is an error.

use super::certify::restart_bytes;
use super::wal::{Record, decode_record};
use super::*;
use crate::error::ProtocolError;
use crate::event::{Event, RejectReason};
use crate::node::NodeId;
use crate::outbox::{Outbox, Output, TimerKind};
use crate::service::{KvOp, KvStore};
use crate::time::{Duration, Instant};
use minlab_usig::{SymbolicUsig, Usig, VolatileCounter};
use std::collections::VecDeque;
use std::sync::Arc;

type R = Replica<SymbolicUsig, KvStore>;

/// Three durable replicas (f = 1), one client, in-order delivery, and each replica's
/// write-ahead log as the driver would keep it.
struct Group {
    config: Arc<Config>,
    rs: Vec<R>,
    wal: Vec<Vec<Vec<u8>>>,
    up: Vec<bool>,
    queue: VecDeque<(NodeId, NodeId, Message)>,
    events: Vec<(u32, Event)>,
    now: Instant,
    seq: u64,
}

fn directory(c: &Config, id: u32) -> Arc<ClientDirectory> {
    Arc::new(ClientDirectory::from_seed(
        c.client_auth,
        id,
        c.client_count,
        5,
    ))
}

impl Group {
    fn new(checkpoint_period: u64) -> Group {
        let mut c = Config::new(1, 1);
        c.durable = true;
        c.checkpoint_period = checkpoint_period;
        c.log_window = 4 * checkpoint_period;
        let config = Arc::new(c);
        let rs = (0..3)
            .map(|id| {
                Replica::new(
                    config.clone(),
                    directory(&config, id),
                    SymbolicUsig::new(id, 3),
                    KvStore::new(),
                )
                .unwrap()
            })
            .collect();
        Group {
            config,
            rs,
            wal: vec![Vec::new(); 3],
            up: vec![true; 3],
            queue: VecDeque::new(),
            events: Vec::new(),
            now: Instant::ZERO,
            seq: 0,
        }
    }

    fn collect(&mut self, id: u32, mut out: Outbox) {
        for o in out.drain() {
            match o {
                Output::Persist {
                    record,
                    restart_point,
                } => {
                    if restart_point {
                        self.wal[id as usize].clear();
                    }
                    self.wal[id as usize].push(record);
                }
                Output::Broadcast { msg } => {
                    for to in 0..3 {
                        if to != id {
                            self.queue.push_back((
                                NodeId::Replica(id),
                                NodeId::Replica(to),
                                msg.clone(),
                            ));
                        }
                    }
                }
                Output::Send { to, msg } => self.queue.push_back((NodeId::Replica(id), to, msg)),
                Output::Event(e) => self.events.push((id, e)),
                _ => {}
            }
        }
    }

    /// Delivers until nothing is in flight (messages to crashed replicas are lost).
    fn run(&mut self) {
        let mut steps = 0;
        while let Some((from, to, msg)) = self.queue.pop_front() {
            steps += 1;
            assert!(steps < 100_000, "delivery does not end");
            let NodeId::Replica(r) = to else { continue };
            if !self.up[r as usize] {
                continue;
            }
            let mut out = Outbox::new();
            self.rs[r as usize].on_message(self.now, from, msg, &mut out);
            self.collect(r, out);
        }
    }

    fn timer(&mut self, id: u32, kind: TimerKind) {
        let mut out = Outbox::new();
        self.rs[id as usize].on_timer(self.now, kind, &mut out);
        self.collect(id, out);
        self.run();
    }

    /// The client's next request, sent to every live replica and run to the end.
    fn request(&mut self) {
        self.seq += 1;
        let req = Arc::new(Request {
            client: 0,
            seq: self.seq,
            op: KvOp::Put {
                key: self.seq,
                value: vec![1],
            }
            .encode(),
            auth: RequestAuth::None,
        });
        for r in 0..3 {
            self.queue.push_back((
                NodeId::Client(0),
                NodeId::Replica(r),
                Message::Request(req.clone()),
            ));
        }
        self.run();
        // The primary's batch timer.
        let primary = self
            .config
            .primary_of(self.rs.iter().map(|r| r.view()).max().unwrap());
        if self.up[primary as usize] {
            self.timer(primary, TimerKind::Batch);
        }
    }

    fn crash(&mut self, id: u32) {
        self.up[id as usize] = false;
    }

    /// Restarts `id` from its log, its USIG having consumed `lost` more values.
    fn restart(&mut self, id: u32, lost: u64) -> Result<(), ProtocolError> {
        let counter = self.rs[id as usize].usig().last_counter() + lost;
        let usig = SymbolicUsig::with_counter(id, 3, VolatileCounter::starting_after(counter));
        let r = Replica::recover(
            self.config.clone(),
            directory(&self.config, id),
            usig,
            KvStore::new(),
            &self.wal[id as usize],
        )?;
        self.rs[id as usize] = r;
        self.up[id as usize] = true;
        let mut out = Outbox::new();
        self.rs[id as usize].resume(self.now, &mut out);
        self.collect(id, out);
        self.run();
        Ok(())
    }

    fn executed(&self, id: u32) -> u64 {
        self.rs[id as usize].last_executed_by_client(0)
    }

    fn rejected(&self, reason: RejectReason) -> usize {
        self.events
            .iter()
            .filter(|(_, e)| matches!(e, Event::MessageRejected { reason: r, .. } if *r == reason))
            .count()
    }
}

#[test]
fn a_recovered_replica_has_its_sent_log_view_and_stable_checkpoint_back() {
    let mut g = Group::new(4);
    for _ in 0..10 {
        g.request();
    }
    assert_eq!(g.executed(1), 10);
    let before = &g.rs[1];
    let sent: Vec<_> = before.sent_log().map(|(c, m)| (*c, m.clone())).collect();
    let (h, cert, view) = (
        before.low_water_mark(),
        before.stable_checkpoint().to_vec(),
        before.view(),
    );
    assert!(h > 0, "a checkpoint became stable");
    assert!(
        g.wal[1]
            .iter()
            .any(|b| matches!(decode_record(b), Ok(Record::Base(_)))),
        "the stable checkpoint is a restart point"
    );
    g.crash(1);
    g.restart(1, 0).unwrap();
    let after = &g.rs[1];
    let sent_after: Vec<_> = after.sent_log().map(|(c, m)| (*c, m.clone())).collect();
    assert_eq!(sent_after, sent, "the sent log (O) survives");
    assert_eq!(after.low_water_mark(), h);
    assert_eq!(after.stable_checkpoint(), &cert[..]);
    assert_eq!(after.view(), view);
    assert_eq!(
        after.state_digest(),
        cert[0].state_digest,
        "state at the checkpoint"
    );
    assert!(
        !g.events
            .iter()
            .any(|(r, e)| *r == 1 && matches!(e, Event::PeerRestarted { .. })),
        "nothing was lost, so no RESTART"
    );
    // It goes on: requests complete with it, and it catches up.
    for _ in 0..10 {
        g.request();
    }
    assert_eq!(g.executed(0), 20);
    assert_eq!(g.executed(2), 20);
    for _ in 0..5 {
        g.now += Duration::from_millis(100);
        g.timer(1, TimerKind::Repair);
    }
    assert_eq!(g.executed(1), 20, "caught up by retransmission");
}

#[test]
fn a_recovered_replica_sends_a_view_change_that_holds_its_earlier_votes() {
    let mut g = Group::new(64);
    for _ in 0..3 {
        g.request();
    }
    g.crash(1);
    g.restart(1, 0).unwrap();
    // Backup 1 suspects the primary; so does 2: view 1, led by replica 1.
    g.crash(0);
    let mut out = Outbox::new();
    g.rs[2].start_view_change(g.now, 1, &mut out);
    g.collect(2, out);
    let mut out = Outbox::new();
    g.rs[1].start_view_change(g.now, 1, &mut out);
    g.collect(1, out);
    g.run();
    assert_eq!(g.rs[1].view(), 1);
    assert!(
        !g.rs[1].is_changing_view(),
        "the recovered replica led view 1"
    );
    assert!(!g.rs[2].is_changing_view());
    assert_eq!(g.rejected(RejectReason::InvalidViewChange), 0);
    g.request();
    assert_eq!(g.executed(1), 4);
    assert_eq!(g.executed(2), 4);
}

#[test]
fn a_primary_that_lost_counter_values_is_skipped_and_replaced() {
    let mut g = Group::new(64);
    for _ in 0..3 {
        g.request();
    }
    g.crash(0);
    g.restart(0, 5).unwrap();
    let restarted = g
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::PeerRestarted { replica: 0, .. }))
        .count();
    assert_eq!(restarted, 2, "both backups processed the RESTART");
    assert_eq!(g.rs[1].accepted_counter(0), g.rs[0].usig().last_counter());
    // The backups asked for view 1 and moved there; replica 1 leads it.
    assert_eq!(g.rs[1].view(), 1);
    assert!(!g.rs[1].is_changing_view());
    g.request();
    for r in 0..3 {
        assert_eq!(g.executed(r), 4, "replica {r}");
    }
    // Replica 0 never leads again: a view it would lead is refused by the others.
    let mut out = Outbox::new();
    g.rs[0].start_view_change(g.now, 3, &mut out);
    assert!(
        out.as_slice().iter().all(|o| !matches!(
            o,
            Output::Broadcast {
                msg: Message::NewView(_)
            }
        )),
        "a revoked replica does not send NEW-VIEW"
    );
}

#[test]
fn a_restart_that_retracts_a_processed_message_is_evidence() {
    let mut g = Group::new(64);
    g.request();
    // Replica 2 processed replica 1's COMMIT; a RESTART claiming it was never sent is a lie.
    let accepted = g.rs[2].accepted_counter(1);
    assert!(accepted >= 1);
    let mut usig = g.rs[1].usig().clone();
    let ui = usig.create_ui(&restart_bytes(0, accepted - 1)).unwrap();
    let lie = Arc::new(Restart {
        sender: 1,
        view: 0,
        last_logged: accepted - 1,
        ui,
    });
    let mut out = Outbox::new();
    g.rs[2].on_message(g.now, NodeId::Replica(1), Message::Restart(lie), &mut out);
    g.collect(2, out);
    assert_eq!(g.rejected(RejectReason::ContradictoryRestart), 1);
    assert_eq!(g.rs[2].accepted_counter(1), accepted, "nothing skipped");
}

#[test]
fn a_view_change_with_a_gap_is_valid_but_not_counted() {
    let mut g = Group::new(64);
    g.request();
    g.crash(2);
    g.restart(2, 3).unwrap();
    let mut out = Outbox::new();
    g.rs[2].start_view_change(g.now, 1, &mut out);
    let vc = out
        .as_slice()
        .iter()
        .find_map(|o| match o {
            Output::Broadcast {
                msg: Message::ViewChange(vc),
            } => Some(vc.clone()),
            _ => None,
        })
        .expect("a VIEW-CHANGE");
    assert!(restart::has_gap(&vc));
    assert_eq!(g.rs[1].check_view_change(&vc), Ok(()));
    g.collect(2, out);
    g.run();
    // Replica 1 (the new primary) counts only its own VIEW-CHANGE: no NEW-VIEW yet.
    g.crash(0);
    let mut out = Outbox::new();
    g.rs[1].start_view_change(g.now, 1, &mut out);
    g.collect(1, out);
    g.run();
    assert!(
        g.rs[1].is_changing_view(),
        "one counted VIEW-CHANGE is not f + 1"
    );
    // Replica 0's completes the certificate.
    g.up[0] = true;
    let mut out = Outbox::new();
    g.rs[0].start_view_change(g.now, 1, &mut out);
    g.collect(0, out);
    g.run();
    assert!(!g.rs[1].is_changing_view());
    assert!(
        !g.rs[2].is_changing_view(),
        "the gapped replica installs the view"
    );
}

#[test]
fn a_corrupt_log_is_an_error_not_a_panic() {
    let mut g = Group::new(4);
    for _ in 0..6 {
        g.request();
    }
    let good = g.wal[1].clone();
    let config = g.config.clone();
    let recover = |records: &[Vec<u8>], counter: u64| {
        Replica::recover(
            config.clone(),
            directory(&config, 1),
            SymbolicUsig::with_counter(1, 3, VolatileCounter::starting_after(counter)),
            KvStore::new(),
            records,
        )
        .map(|_| ())
    };
    let counter = g.rs[1].usig().last_counter();
    assert_eq!(recover(&good, counter), Ok(()));
    let mut torn = good.clone();
    let last = torn.last_mut().unwrap();
    last.truncate(last.len() / 2);
    assert!(matches!(
        recover(&torn, counter),
        Err(ProtocolError::CorruptLog(_))
    ));
    assert!(matches!(
        recover(&[vec![0xff; 40]], counter),
        Err(ProtocolError::CorruptLog(_))
    ));
    // A log ahead of the USIG: another replica's log, or a reset trusted counter.
    assert!(matches!(
        recover(&good, 1),
        Err(ProtocolError::CorruptLog(_))
    ));
}
