//! A deterministic in-memory driver for tests and benchmarks: `n` replicas and closed-loop
//! clients exchanging messages through one queue, in virtual time, with optional seeded
//! drops, duplicates and reordering.
//!
//! It is deliberately simple (no latency model; time only advances to fire timers when
//! the queue is empty): the full simulator lives in `minlab-sim`.

use crate::client::Client;
use crate::error::ProtocolError;
use crate::event::Event;
use crate::metrics::Metrics;
use crate::minbft::auth::{ClientDirectory, ClientKeyring};
use crate::minbft::config::Config;
use crate::minbft::messages::Message;
use crate::minbft::replica::Replica;
use crate::node::{ClientId, NodeId, ReplicaId};
use crate::outbox::{Outbox, Output, TimerKind};
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

mod network;
mod records;

pub use network::{Envelope, NetworkFaults};
pub use records::{Completion, Execution};

/// Produces the operation a client submits next: `(client, seq) -> op`.
pub type Workload = Box<dyn FnMut(ClientId, u64) -> Vec<u8>>;

/// How to build a [`Cluster`].
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// The group's configuration (replica and client counts included).
    pub config: Config,
    /// Seed for client keys and the fault generator.
    pub seed: u64,
    /// Network faults.
    pub faults: NetworkFaults,
    /// Keep every execution and completion for checking (costs memory in long runs).
    pub record: bool,
    /// Total operations the clients submit (closed loop: each submits its next one when
    /// the previous completes).
    pub operations: u64,
}

/// `n` replicas and closed-loop clients over an in-memory queue.
pub struct Cluster<U, S> {
    /// The replicas, by id.
    pub replicas: Vec<Replica<U, S>>,
    /// The clients, by id.
    pub clients: Vec<Client>,
    /// Replicas whose every output is dropped (crashed or silent).
    pub silenced: BTreeSet<ReplicaId>,
    /// Replicas to which every message is dropped (cut off from the network).
    pub deaf: BTreeSet<ReplicaId>,
    /// Executions per replica, in order (when recording).
    pub executions: Vec<Vec<Execution>>,
    /// Completed operations, in completion order (when recording).
    pub completions: Vec<Completion>,
    /// Every event, when recording.
    pub events: Vec<(NodeId, Event)>,
    /// Each replica's write-ahead log in memory (durable replicas), from its latest
    /// restart point on.
    pub wal: Vec<Vec<Vec<u8>>>,
    /// Bytes appended to the write-ahead logs.
    pub wal_bytes: u64,
    /// Replica steps that appended to a log: one `fdatasync` each with group commit.
    pub wal_syncs: u64,
    queue: VecDeque<Envelope>,
    /// Armed timers, indexed by `slot(node, kind)`: a flat table, since nodes arm and
    /// cancel timers on every request.
    timers: Vec<Option<Instant>>,
    now: Instant,
    faults: NetworkFaults,
    rng: ChaCha8Rng,
    out: Outbox,
    record: bool,
    workload: Workload,
    submitted_ops: Vec<Vec<u8>>,
    to_submit: u64,
    completed: u64,
    deliveries: u64,
    just_completed: Vec<ClientId>,
}

impl<U: Usig, S: Service> Cluster<U, S> {
    /// Builds the group: replica `r` gets `make_usig(r)` and `make_service(r)`.
    pub fn new(
        opts: ClusterOptions,
        mut make_usig: impl FnMut(ReplicaId) -> U,
        mut make_service: impl FnMut(ReplicaId) -> S,
        workload: Workload,
    ) -> Result<Self, ProtocolError> {
        let config = Arc::new(opts.config);
        let n = config.replica_count;
        let replicas = (0..n)
            .map(|r| {
                let dir = ClientDirectory::from_seed(
                    config.client_auth,
                    r,
                    config.client_count,
                    opts.seed,
                );
                Replica::new(config.clone(), Arc::new(dir), make_usig(r), make_service(r))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let clients = (0..config.client_count)
            .map(|c| {
                let keys = ClientKeyring::from_seed(config.client_auth, c, n, opts.seed);
                Client::new(c, config.clone(), Arc::new(keys))
            })
            .collect();
        Ok(Cluster {
            replicas,
            clients,
            silenced: BTreeSet::new(),
            deaf: BTreeSet::new(),
            executions: vec![Vec::new(); n as usize],
            completions: Vec::new(),
            events: Vec::new(),
            queue: VecDeque::new(),
            timers: vec![None; (n as usize + config.client_count as usize) * TimerKind::ALL.len()],
            now: Instant::ZERO,
            faults: opts.faults,
            rng: ChaCha8Rng::seed_from_u64(opts.seed ^ 0x6e65_7477_6f72_6b21),
            out: Outbox::new(),
            record: opts.record,
            workload,
            submitted_ops: vec![Vec::new(); config.client_count as usize],
            to_submit: opts.operations,
            completed: 0,
            deliveries: 0,
            just_completed: Vec::new(),
            wal: Vec::new(),
            wal_bytes: 0,
            wal_syncs: 0,
        })
    }

    /// Virtual time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Operations completed so far.
    pub fn completed(&self) -> u64 {
        self.completed
    }

    /// Messages delivered so far (drops excluded).
    pub fn deliveries(&self) -> u64 {
        self.deliveries
    }

    /// Messages in flight.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Replica and client counters summed.
    pub fn metrics(&self) -> Metrics {
        let mut m = Metrics::default();
        for r in &self.replicas {
            m.absorb(r.metrics());
        }
        for c in &self.clients {
            m.absorb(c.metrics());
        }
        m
    }

    /// The message that would be delivered next if the network were fault-free.
    pub fn peek_next(&self) -> Option<&Envelope> {
        self.queue.front()
    }

    /// Injects a message as if `from` had sent it.
    pub fn inject(&mut self, from: NodeId, to: NodeId, msg: Message) {
        self.queue.push_back(Envelope {
            from,
            to: Some(to),
            msg,
        });
    }

    /// Lets every idle client submit its first operation.
    pub fn start(&mut self) {
        for c in 0..self.clients.len() as ClientId {
            self.submit_next(c);
        }
    }

    fn submit_next(&mut self, c: ClientId) {
        if self.to_submit == 0 || !self.clients[c as usize].is_idle() {
            return;
        }
        self.to_submit -= 1;
        let seq = self.clients[c as usize].next_seq();
        let op = (self.workload)(c, seq);
        if self.record {
            self.submitted_ops[c as usize] = op.clone();
        }
        let now = self.now;
        if self.clients[c as usize]
            .submit(now, op, &mut self.out)
            .is_ok()
        {
            self.route(NodeId::Client(c));
        }
    }

    /// Delivers one message, or fires the earliest timer if no message is in flight.
    /// Returns false when there is nothing left to do.
    pub fn step(&mut self) -> bool {
        if let Some(env) = self.next_envelope() {
            self.deliver(env);
            return true;
        }
        if self.queue.is_empty() {
            return self.fire_timer();
        }
        true
    }

    fn next_envelope(&mut self) -> Option<Envelope> {
        if !self.faults.any() {
            return self.queue.pop_front();
        }
        let window = self.faults.reorder_window.max(1).min(self.queue.len());
        if window == 0 {
            return None;
        }
        let i = (self.rng.next_u64() % window as u64) as usize;
        let env = self.queue.remove(i)?;
        if (self.rng.next_u64() % 1000) < u64::from(self.faults.drop_per_mille) {
            return None;
        }
        if (self.rng.next_u64() % 1000) < u64::from(self.faults.duplicate_per_mille) {
            self.queue.push_back(env.clone());
        }
        Some(env)
    }

    fn fire_timer(&mut self) -> bool {
        let Some((slot, deadline)) = self
            .timers
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.map(|d| (i, d)))
            .min_by_key(|&(i, d)| (d, i))
        else {
            return false;
        };
        self.timers[slot] = None;
        let (node, kind) = self.unslot(slot);
        self.now = self.now.max(deadline);
        let now = self.now;
        match node {
            NodeId::Replica(r) => self.replicas[r as usize].on_timer(now, kind, &mut self.out),
            NodeId::Client(c) => self.clients[c as usize].on_timer(now, kind, &mut self.out),
        }
        self.route(node);
        true
    }

    fn deliver(&mut self, env: Envelope) {
        let Some(to) = env.to else {
            // The last recipient gets the original: one reference-count update saved.
            let n = self.replicas.len() as ReplicaId;
            let last = if env.from == NodeId::Replica(n - 1) {
                n - 2
            } else {
                n - 1
            };
            for r in 0..last {
                if env.from != NodeId::Replica(r) {
                    self.deliver(Envelope {
                        from: env.from,
                        to: Some(NodeId::Replica(r)),
                        msg: env.msg.clone(),
                    });
                }
            }
            self.deliver(Envelope {
                from: env.from,
                to: Some(NodeId::Replica(last)),
                msg: env.msg,
            });
            return;
        };
        if matches!(to, NodeId::Replica(r) if self.deaf.contains(&r)) {
            return;
        }
        self.deliveries += 1;
        let now = self.now;
        match to {
            NodeId::Replica(r) => {
                self.replicas[r as usize].on_message(now, env.from, env.msg, &mut self.out)
            }
            NodeId::Client(c) => {
                self.clients[c as usize].on_message(now, env.from, env.msg, &mut self.out)
            }
        }
        self.route(to);
    }

    fn slot(&self, node: NodeId, kind: TimerKind) -> usize {
        let index = match node {
            NodeId::Replica(r) => r as usize,
            NodeId::Client(c) => self.replicas.len() + c as usize,
        };
        index * TimerKind::ALL.len() + kind as usize
    }

    fn unslot(&self, slot: usize) -> (NodeId, TimerKind) {
        let (index, kind) = (
            slot / TimerKind::ALL.len(),
            TimerKind::ALL[slot % TimerKind::ALL.len()],
        );
        let node = if index < self.replicas.len() {
            NodeId::Replica(index as ReplicaId)
        } else {
            NodeId::Client((index - self.replicas.len()) as ClientId)
        };
        (node, kind)
    }

    /// Moves `node`'s outputs into the queue and the timer table; starts the next
    /// operation of clients that completed.
    fn route(&mut self, node: NodeId) {
        if self.out.is_empty() {
            return;
        }
        let silenced = matches!(node, NodeId::Replica(r) if self.silenced.contains(&r));
        let n = self.replicas.len() as ReplicaId;
        let node_slot = self.slot(node, TimerKind::ALL[0]);
        let split = self.faults.any();
        let mut synced = false;
        for o in self.out.drain() {
            match o {
                Output::Send { to, msg } => {
                    if !silenced {
                        self.queue.push_back(Envelope {
                            from: node,
                            to: Some(to),
                            msg,
                        });
                    }
                }
                Output::Broadcast { msg } => {
                    if !silenced && !split {
                        self.queue.push_back(Envelope {
                            from: node,
                            to: None,
                            msg,
                        });
                    } else if !silenced {
                        for r in 0..n {
                            if node != NodeId::Replica(r) {
                                self.queue.push_back(Envelope {
                                    from: node,
                                    to: Some(NodeId::Replica(r)),
                                    msg: msg.clone(),
                                });
                            }
                        }
                    }
                }
                Output::SetTimer { kind, deadline } => {
                    self.timers[node_slot + kind as usize] = Some(deadline);
                }
                Output::CancelTimer { kind } => {
                    self.timers[node_slot + kind as usize] = None;
                }
                Output::Persist {
                    record,
                    restart_point,
                } => {
                    let NodeId::Replica(r) = node else { continue };
                    if self.wal.len() <= r as usize {
                        self.wal.resize(r as usize + 1, Vec::new());
                    }
                    let log = &mut self.wal[r as usize];
                    if restart_point {
                        log.clear();
                    }
                    self.wal_bytes += record.len() as u64;
                    log.push(record);
                    if !synced {
                        synced = true;
                        self.wal_syncs += 1;
                    }
                }
                Output::Event(ref e) => {
                    match (e, node) {
                        (Event::Completed { client, .. }, _) => {
                            self.completed += 1;
                            self.just_completed.push(*client);
                        }
                        (
                            Event::RequestExecuted {
                                position,
                                view,
                                counter,
                                index,
                                client,
                                client_seq,
                                result_digest,
                                ..
                            },
                            NodeId::Replica(r),
                        ) if self.record => self.executions[r as usize].push(Execution {
                            position: *position,
                            view: *view,
                            counter: *counter,
                            index: *index,
                            client: *client,
                            seq: *client_seq,
                            result_digest: *result_digest,
                        }),
                        _ => {}
                    }
                    if self.record {
                        if let Event::Completed {
                            client,
                            seq,
                            result,
                            latency,
                        } = e
                        {
                            self.completions.push(Completion {
                                client: *client,
                                seq: *seq,
                                op: self.submitted_ops[*client as usize].clone(),
                                result: result.clone(),
                                latency: *latency,
                            });
                        }
                        self.events.push((node, e.clone()));
                    }
                }
            }
        }
        while let Some(c) = self.just_completed.pop() {
            self.submit_next(c);
        }
    }

    /// Steps until `target` operations completed, nothing is left to do, or `steps_max`
    /// steps ran. Returns true if the target was reached.
    pub fn run_until_completed(&mut self, target: u64, steps_max: u64) -> bool {
        let mut steps = 0;
        while self.completed < target && steps < steps_max {
            if !self.step() {
                break;
            }
            steps += 1;
        }
        self.completed >= target
    }

    /// Steps until nothing is left to do, virtual time passes `until`, or `steps_max`
    /// steps ran.
    pub fn run_until_quiet(&mut self, until: Instant, steps_max: u64) {
        let mut steps = 0;
        while steps < steps_max && self.now <= until && self.step() {
            steps += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_stay_small_enough_to_move_cheaply() {
        // Every queue entry moves a Message; large bodies live behind Arc/Box.
        assert_eq!(std::mem::size_of::<crate::minbft::messages::Message>(), 16);
        assert!(std::mem::size_of::<super::Envelope>() <= 32);
    }
}
