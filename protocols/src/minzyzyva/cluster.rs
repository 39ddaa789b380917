//! A small deterministic in-memory driver for MinZyzyva tests (modeled on
//! [`crate::testkit`]): replicas and closed-loop clients over one queue, in virtual time,
//! with seeded drops, duplicates and reordering, crashed replicas and targeted drops.

use super::{Client, Message, Replica};
use crate::event::Event;
use crate::minbft::auth::{ClientDirectory, ClientKeyring};
use crate::minbft::config::Config;
use crate::node::{ClientId, NodeId, ReplicaId};
use crate::outbox::{Outbox, Output, TimerKind};
use crate::service::KvStore;
use crate::time::Instant;
use minlab_usig::{SymbolicUsig, Usig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// One execution as a replica reported it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Executed {
    pub(crate) position: u64,
    pub(crate) client: ClientId,
    pub(crate) client_seq: u64,
    pub(crate) op: Vec<u8>,
    pub(crate) result_digest: u64,
}

/// Network faults, in thousandths, plus a reorder window (0 or 1 keeps FIFO order).
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Faults {
    pub(crate) drop_per_mille: u64,
    pub(crate) duplicate_per_mille: u64,
    pub(crate) reorder_window: usize,
}

/// Decides whether to drop a message `(from, to, msg)` (true drops it).
pub(crate) type DropFilter = Box<dyn FnMut(NodeId, NodeId, &Message) -> bool>;

pub(crate) type ZReplica = Replica<SymbolicUsig, KvStore>;

pub(crate) struct Cluster {
    pub(crate) filter: Option<DropFilter>,
    pub(crate) replicas: Vec<ZReplica>,
    pub(crate) clients: Vec<Client<SymbolicUsig>>,
    /// Crashed replicas: they receive nothing and send nothing.
    pub(crate) crashed: BTreeSet<ReplicaId>,
    /// Committed executions per replica (`RequestExecuted`).
    pub(crate) executions: Vec<Vec<Executed>>,
    /// Per replica, the positions it restored by state transfer (its committed executions
    /// resume there).
    pub(crate) transferred: Vec<BTreeSet<u64>>,
    /// Speculative executions per replica, as `(position, client, seq)`.
    pub(crate) speculative: Vec<Vec<(u64, ClientId, u64)>>,
    pub(crate) completions: Vec<(ClientId, u64)>,
    pub(crate) events: Vec<(NodeId, Event)>,
    /// Messages delivered, by kind name.
    pub(crate) delivered: BTreeMap<&'static str, u64>,
    /// Per replica, its write-ahead log (durable configurations): the records since its
    /// last restart point.
    pub(crate) wal: Vec<Vec<Vec<u8>>>,
    /// Check after every step of a replica that recovering it from its log rebuilds it.
    pub(crate) check_recovery: bool,
    queue: VecDeque<(NodeId, NodeId, Message)>,
    timers: BTreeMap<(NodeId, TimerKind), Instant>,
    pub(crate) now: Instant,
    faults: Faults,
    rng: ChaCha8Rng,
    to_submit: u64,
    steps: u64,
}

impl Cluster {
    pub(crate) fn new(config: Config, seed: u64, faults: Faults, operations: u64) -> Self {
        let config = Arc::new(config);
        let n = config.replica_count;
        let replicas = (0..n)
            .map(|r| {
                let dir =
                    ClientDirectory::from_seed(config.client_auth, r, config.client_count, seed);
                Replica::new(
                    config.clone(),
                    Arc::new(dir),
                    SymbolicUsig::new(r, n),
                    KvStore::new(),
                )
                .unwrap()
            })
            .collect();
        let clients = (0..config.client_count)
            .map(|c| {
                let keys = ClientKeyring::from_seed(config.client_auth, c, n, seed);
                Client::new(
                    c,
                    config.clone(),
                    Arc::new(keys),
                    SymbolicUsig::new(u32::MAX, n),
                )
                .unwrap()
            })
            .collect();
        Cluster {
            filter: None,
            replicas,
            clients,
            crashed: BTreeSet::new(),
            executions: vec![Vec::new(); n as usize],
            transferred: vec![BTreeSet::new(); n as usize],
            speculative: vec![Vec::new(); n as usize],
            completions: Vec::new(),
            events: Vec::new(),
            delivered: BTreeMap::new(),
            wal: vec![Vec::new(); n as usize],
            check_recovery: false,
            queue: VecDeque::new(),
            timers: BTreeMap::new(),
            now: Instant::ZERO,
            faults,
            rng: ChaCha8Rng::seed_from_u64(seed),
            to_submit: operations,
            steps: 0,
        }
    }

    /// Runs until nothing is left to do or `max_steps` deliveries and timers.
    pub(crate) fn run(&mut self, max_steps: u64) {
        for c in 0..self.clients.len() as ClientId {
            self.submit_next(c);
        }
        while self.steps < max_steps && self.step() {}
    }

    fn submit_next(&mut self, c: ClientId) {
        if self.to_submit == 0 || !self.clients[c as usize].is_idle() {
            return;
        }
        self.to_submit -= 1;
        // Puts and gets on keys shared by clients, so results depend on the order.
        let seq = self.clients[c as usize].next_seq();
        let key = u64::from(c % 3);
        let op = if seq % 2 == 1 {
            crate::service::KvOp::Put {
                key,
                value: (seq * 100 + u64::from(c)).to_be_bytes().to_vec(),
            }
        } else {
            crate::service::KvOp::Get { key }
        }
        .encode();
        let mut out = Outbox::new();
        self.clients[c as usize]
            .submit(self.now, op, &mut out)
            .unwrap();
        self.route(NodeId::Client(c), out);
    }

    /// Delivers one message or fires the earliest timer; false when idle.
    pub(crate) fn step(&mut self) -> bool {
        self.steps += 1;
        if !self.queue.is_empty() {
            let window = self.faults.reorder_window.clamp(1, self.queue.len());
            let i = (self.rng.next_u64() % window as u64) as usize;
            let (from, to, msg) = self.queue.remove(i).expect("index in range");
            if let Some(filter) = &mut self.filter
                && filter(from, to, &msg)
            {
                return true;
            }
            if self.rng.next_u64() % 1000 < self.faults.drop_per_mille {
                return true;
            }
            if self.rng.next_u64() % 1000 < self.faults.duplicate_per_mille {
                self.queue.push_back((from, to, msg.clone()));
            }
            self.deliver(from, to, msg);
            return true;
        }
        let Some((&(node, kind), &deadline)) = self.timers.iter().min_by_key(|(k, d)| (**d, **k))
        else {
            return false;
        };
        self.timers.remove(&(node, kind));
        self.now = self.now.max(deadline);
        let mut out = Outbox::new();
        match node {
            NodeId::Replica(r) => self.replicas[r as usize].on_timer(self.now, kind, &mut out),
            NodeId::Client(c) => self.clients[c as usize].on_timer(self.now, kind, &mut out),
        }
        self.route(node, out);
        true
    }

    pub(crate) fn deliver(&mut self, from: NodeId, to: NodeId, msg: Message) {
        let mut out = Outbox::new();
        *self.delivered.entry(msg.kind().name()).or_default() += 1;
        match to {
            NodeId::Replica(r) if self.crashed.contains(&r) => return,
            NodeId::Replica(r) => {
                self.replicas[r as usize].on_message(self.now, from, msg, &mut out)
            }
            NodeId::Client(c) => self.clients[c as usize].on_message(self.now, from, msg, &mut out),
        }
        self.route(to, out);
    }

    fn route(&mut self, node: NodeId, mut out: Outbox<Message>) {
        if matches!(node, NodeId::Replica(r) if self.crashed.contains(&r)) {
            return;
        }
        let n = self.replicas.len() as ReplicaId;
        let mut completed = Vec::new();
        for o in out.drain() {
            match o {
                Output::Send { to, msg } => self.queue.push_back((node, to, msg)),
                Output::Broadcast { msg } => {
                    for r in (0..n).filter(|&r| NodeId::Replica(r) != node) {
                        self.queue
                            .push_back((node, NodeId::Replica(r), msg.clone()));
                    }
                }
                Output::SetTimer { kind, deadline } => {
                    self.timers.insert((node, kind), deadline);
                }
                Output::CancelTimer { kind } => {
                    self.timers.remove(&(node, kind));
                }
                Output::Persist {
                    record,
                    restart_point,
                } => {
                    if let NodeId::Replica(r) = node {
                        let wal = &mut self.wal[r as usize];
                        if restart_point {
                            wal.clear();
                        }
                        wal.push(record);
                    }
                }
                Output::Event(e) => {
                    match (&e, node) {
                        (
                            Event::RequestExecuted {
                                position,
                                request,
                                client,
                                client_seq,
                                result_digest,
                                ..
                            },
                            NodeId::Replica(r),
                        ) => self.executions[r as usize].push(Executed {
                            position: *position,
                            client: *client,
                            client_seq: *client_seq,
                            op: request.op.clone(),
                            result_digest: *result_digest,
                        }),
                        (
                            Event::SpeculativelyExecuted {
                                position,
                                client,
                                client_seq,
                                ..
                            },
                            NodeId::Replica(r),
                        ) => self.speculative[r as usize].push((*position, *client, *client_seq)),
                        (Event::StateTransferred { position, .. }, NodeId::Replica(r)) => {
                            self.transferred[r as usize].insert(*position);
                        }
                        (Event::Completed { client, seq, .. }, _) => {
                            self.completions.push((*client, *seq));
                            completed.push(*client);
                        }
                        _ => {}
                    }
                    self.events.push((node, e));
                }
            }
        }
        for c in completed {
            self.submit_next(c);
        }
        if let (true, NodeId::Replica(r)) = (self.check_recovery, node) {
            let recovered = self.recovered(r);
            if let Err(e) =
                super::recover_tests::same_after_recovery(&self.replicas[r as usize], &recovered)
            {
                panic!("replica {r} at step {}: {e}", self.steps);
            }
        }
    }

    /// Replica `r` rebuilt from its write-ahead log, with its USIG as it is now.
    pub(crate) fn recovered(&self, r: ReplicaId) -> ZReplica {
        let live = &self.replicas[r as usize];
        let config = Arc::new(live.config().clone());
        Replica::recover(
            config,
            live.clients.clone(),
            live.usig().clone(),
            KvStore::new(),
            &self.wal[r as usize],
        )
        .expect("the log recovers")
    }

    /// Replica `r` crashes (losing everything but its log and USIG) and restarts at once
    /// from its log; `lost` counter values were consumed in the crash and never sent.
    pub(crate) fn restart(&mut self, r: ReplicaId, lost: u64) {
        self.restart_without_resume(r, lost);
        let mut out = Outbox::new();
        self.replicas[r as usize].resume(self.now, &mut out);
        self.route(NodeId::Replica(r), out);
    }

    /// [`Cluster::restart`] without the replica's first input after recovery (a test of
    /// what `resume` is for).
    pub(crate) fn restart_without_resume(&mut self, r: ReplicaId, lost: u64) {
        let mut recovered = self.recovered(r);
        for i in 0..lost {
            recovered
                .usig_mut()
                .create_ui(&i.to_be_bytes())
                .expect("symbolic USIG");
        }
        self.replicas[r as usize] = recovered;
        self.crashed.remove(&r);
        self.timers
            .retain(|(node, _), _| *node != NodeId::Replica(r));
    }

    /// Safety of committed prefixes: every replica's committed executions are a prefix of
    /// one agreed sequence (same request, same result at each position), positions are
    /// dense except where a state transfer restored a later position, and no request
    /// executed twice.
    pub(crate) fn check_agreement(&self) -> Result<(), String> {
        let mut agreed: BTreeMap<u64, &Executed> = BTreeMap::new();
        for (r, list) in self.executions.iter().enumerate() {
            let mut seen = BTreeSet::new();
            let mut next = 0;
            for e in list {
                let jumped = e.position > next && self.transferred[r].contains(&e.position);
                if e.position != next && !jumped {
                    return Err(format!("replica {r}: position {} after {next}", e.position));
                }
                next = e.position + 1;
                if !seen.insert((e.client, e.client_seq)) {
                    return Err(format!(
                        "replica {r}: {:?} executed twice",
                        (e.client, e.client_seq)
                    ));
                }
                match agreed.get(&e.position) {
                    Some(a) if *a != e => {
                        return Err(format!(
                            "replica {r} disagrees at position {}: {a:?} vs {e:?}",
                            e.position
                        ));
                    }
                    Some(_) => {}
                    None => {
                        agreed.insert(e.position, e);
                    }
                }
            }
        }
        Ok(())
    }

    /// Completed operations are never rolled back (a request may be rolled back before
    /// it completes, and complete later), and no replica has a request speculatively
    /// executed twice at once (executed, not rolled back, executed again).
    pub(crate) fn check_completions(&self) -> Result<(), String> {
        let mut completed = BTreeSet::new();
        let mut live: BTreeMap<NodeId, BTreeSet<(ClientId, u64)>> = BTreeMap::new();
        for (node, e) in &self.events {
            match e {
                Event::Completed { client, seq, .. } => {
                    completed.insert((*client, *seq));
                }
                Event::RolledBack {
                    client, client_seq, ..
                } => {
                    if completed.contains(&(*client, *client_seq)) {
                        return Err(format!(
                            "{node}: completed {client}/{client_seq} rolled back"
                        ));
                    }
                    live.entry(*node)
                        .or_default()
                        .remove(&(*client, *client_seq));
                }
                Event::SpeculativelyExecuted {
                    client, client_seq, ..
                } => {
                    let fresh = live
                        .entry(*node)
                        .or_default()
                        .insert((*client, *client_seq));
                    if !fresh {
                        return Err(format!("{node}: {client}/{client_seq} executed twice"));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
