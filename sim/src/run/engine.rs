//! The event loop: takes the earliest event, hands it to the node it concerns (or applies
//! a fault), and turns what the node wants done into future events through the network
//! model. Nodes are the unchanged Sans-IO replicas and clients of `minlab_protocols`.

use super::cpu::{CostModel, Work};
use super::observe::Observer;
use super::protocol::SimProtocol;
use super::report::RunReport;
use super::trace::Trace;
use super::workload::Workload;
use super::world::{BuildError, World};
use crate::network::Network;
use crate::queue::EventQueue;
use crate::seed::SubSeeds;
use minlab_protocols::{
    ClientMachine, Instant, NodeId, Outbox, Output, ProtocolMessage, ReplicaMachine, TimerKind,
};
use minlab_scenarios::adversary::Adversary;
use minlab_scenarios::{FaultKind, LoopKind, Scenario};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// Nominal cost of one input at a slowed replica when the scenario has no CPU model.
const SLOW_NOMINAL_NS: u64 = 10_000;
/// Bound on pending events; a run that needs more is stopped (it is reported).
const QUEUE_BOUND: usize = 4_000_000;
/// Bound on inputs queued at one paused or busy node; more are dropped (and counted),
/// as a real node's receive buffer would.
const INBOX_BOUND: usize = 100_000;

/// What the simulator runs at each node.
enum Node<P: SimProtocol> {
    Replica(Box<P::Replica>),
    Client(Box<P::Client>),
    /// A Byzantine replica or client following a script.
    Adversary(Box<dyn Adversary<P::Message>>),
}

/// An input to a node.
enum Input<M> {
    Message { from: NodeId, msg: M },
    Timer(TimerKind),
}

/// Fault and scheduling state of one node.
struct Slot<P: SimProtocol> {
    node: Node<P>,
    alive: bool,
    /// Virtual time at which the node is free to take its next input.
    available_at: u64,
    /// Inputs waiting while the node is busy or paused.
    inbox: VecDeque<Input<P::Message>>,
    process_scheduled: bool,
    /// Generation of each timer; a fired timer whose generation is stale is ignored.
    timer_gen: [u64; TimerKind::ALL.len()],
    /// Slowdown factor and the time it ends.
    slow: Option<(u32, u64)>,
    /// The node's write-ahead log (durable replicas): what survives a crash-restart,
    /// from the latest restart point on.
    wal: Vec<Vec<u8>>,
    /// Virtual time the CPU cost model charged this node for its inputs so far.
    busy_ns: u64,
}

enum Ev<M> {
    Start {
        node: usize,
    },
    Deliver {
        from: NodeId,
        to: NodeId,
        msg: M,
        /// When `from` sent it (for the trace).
        sent: u64,
    },
    Timer {
        node: usize,
        kind: TimerKind,
        generation: u64,
    },
    Process {
        node: usize,
    },
    ClientNext {
        client: u32,
    },
    OpenArrival {
        client: u32,
    },
    FaultStart {
        index: usize,
    },
    FaultEnd {
        index: usize,
    },
}

/// Options of one run beyond the scenario.
#[derive(Default)]
pub struct RunOptions {
    /// Write a JSON-lines trace here.
    pub trace: Option<Box<dyn std::io::Write>>,
}

/// A simulation of one scenario under one seed.
pub struct Simulation<'s, P: SimProtocol> {
    s: &'s Scenario,
    world: World,
    proto: P,
    seed: u64,
    now: u64,
    queue: EventQueue<Ev<P::Message>>,
    slots: Vec<Slot<P>>,
    network: Network<NodeId>,
    net_rng: ChaCha8Rng,
    corrupt_rng: ChaCha8Rng,
    workload: Workload,
    /// Per correct client: requests still to issue, and ops waiting (open loop).
    remaining: Vec<u64>,
    backlog: Vec<VecDeque<Vec<u8>>>,
    obs: Observer,
    cpu: Option<CostModel>,
    outbox: Outbox<P::Message>,
    events: u64,
    hit_event_bound: bool,
}

fn timer_index(kind: TimerKind) -> usize {
    TimerKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("every timer kind is in ALL")
}

impl<'s, P: SimProtocol> Simulation<'s, P> {
    /// Prepares the run of `s` with `seed`.
    pub fn new(s: &'s Scenario, seed: u64, opts: RunOptions) -> Result<Self, BuildError> {
        let seeds = SubSeeds::new(seed);
        let world = World::new(s, &seeds);
        let proto = P::build(s, &world)?;
        let mut slots = Vec::new();
        for r in 0..world.replica_count {
            let replica = proto.replica(s, &world, r, 0)?;
            let node = match s.byzantine.iter().find(|b| b.get_ref().replica == r) {
                None => Node::Replica(Box::new(replica)),
                Some(b) => Node::Adversary(proto.byzantine_replica(
                    s,
                    &world,
                    b.get_ref(),
                    replica,
                    &seeds,
                )?),
            };
            slots.push(Slot::new(node));
        }
        for c in 0..world.client_count {
            let node = match c.checked_sub(s.workload.clients) {
                None => Node::Client(Box::new(proto.client(&world, c))),
                Some(k) => Node::Adversary(proto.byzantine_client(
                    s,
                    &world,
                    s.byzantine_clients[k as usize].get_ref(),
                    c,
                    &seeds,
                )?),
            };
            slots.push(Slot::new(node));
        }
        let network = world.network(s);
        let trace = opts.trace.map(Trace::new);
        let obs = Observer::new(s, &world, trace)?;
        let correct_clients = s.workload.clients as usize;
        Ok(Simulation {
            s,
            seed,
            now: 0,
            queue: EventQueue::new(QUEUE_BOUND),
            slots,
            network,
            net_rng: seeds.rng("network"),
            corrupt_rng: seeds.rng("corruption"),
            workload: Workload::new(s.workload.clone(), seeds.rng("clients")),
            remaining: vec![s.workload.requests_per_client; correct_clients],
            backlog: vec![VecDeque::new(); correct_clients],
            obs,
            cpu: s.cpu.as_ref().map(|c| CostModel::new(c, s.usig)),
            outbox: Outbox::new(),
            events: 0,
            hit_event_bound: false,
            world,
            proto,
        })
    }

    fn index_of(&self, node: NodeId) -> Option<usize> {
        match node {
            NodeId::Replica(r) if r < self.world.replica_count => Some(r as usize),
            NodeId::Client(c) if c < self.world.client_count => {
                Some((self.world.replica_count + c) as usize)
            }
            _ => None,
        }
    }

    fn node_id(&self, index: usize) -> NodeId {
        let n = self.world.replica_count as usize;
        if index < n {
            NodeId::Replica(index as u32)
        } else {
            NodeId::Client((index - n) as u32)
        }
    }

    fn push(&mut self, at: u64, ev: Ev<P::Message>) {
        if self.queue.push(at, ev).is_err() {
            self.hit_event_bound = true;
        }
    }

    /// Runs to the end and reports.
    pub fn run(mut self) -> RunReport {
        self.schedule_start();
        let end = self.s.run.duration.ns();
        let max_events = self.s.run.max_events;
        while let Some(t) = self.queue.peek_time() {
            if t > end || self.hit_event_bound {
                break;
            }
            if self.events >= max_events {
                self.hit_event_bound = true;
                break;
            }
            if self.all_clients_done() {
                break;
            }
            let (t, ev) = self.queue.pop().expect("peeked");
            self.now = t;
            self.events += 1;
            self.handle(ev);
        }
        let end_time = if self.all_clients_done() {
            self.now
        } else {
            end.max(self.now)
        };
        let metrics = self
            .slots
            .iter()
            .map(|s| match &s.node {
                Node::Replica(r) => r.metrics().clone(),
                Node::Client(c) => c.metrics().clone(),
                Node::Adversary(_) => Default::default(),
            })
            .collect::<Vec<_>>();
        let busy_ns = self.slots.iter().map(|s| s.busy_ns).collect::<Vec<_>>();
        self.obs.finish(
            self.s,
            self.seed,
            end_time,
            self.events,
            self.hit_event_bound,
            &metrics,
            &busy_ns,
        )
    }

    fn all_clients_done(&self) -> bool {
        self.remaining.iter().all(|&r| r == 0)
            && (0..self.remaining.len()).all(|c| self.client_idle(c as u32))
    }

    fn client_idle(&self, c: u32) -> bool {
        let i = (self.world.replica_count + c) as usize;
        match &self.slots[i].node {
            Node::Client(cl) => cl.is_idle() && self.backlog[c as usize].is_empty(),
            Node::Replica(_) | Node::Adversary(_) => true,
        }
    }

    fn schedule_start(&mut self) {
        for i in 0..self.slots.len() {
            if let Node::Adversary(_) = self.slots[i].node {
                self.push(0, Ev::Start { node: i });
            }
        }
        for (index, f) in self.s.faults.iter().enumerate() {
            self.push(f.get_ref().at.ns(), Ev::FaultStart { index });
        }
        let mut start_rng = SubSeeds::new(self.seed).rng("client-start");
        for c in 0..self.s.workload.clients {
            // Clients start within the first millisecond, in a seeded order.
            let at = start_rng.random_range(0..1_000_000u64);
            let ev = match self.s.workload.mode {
                LoopKind::Closed => Ev::ClientNext { client: c },
                LoopKind::Open => Ev::OpenArrival { client: c },
            };
            self.push(at, ev);
        }
    }

    fn handle(&mut self, ev: Ev<P::Message>) {
        match ev {
            Ev::Deliver {
                from,
                to,
                msg,
                sent,
            } => {
                let Some(i) = self.index_of(to) else { return };
                if !self.slots[i].alive {
                    self.obs.dropped_at_crashed += 1;
                    return;
                }
                self.obs.deliveries += 1;
                if let Some(t) = self.obs.trace.as_mut() {
                    t.delivery(self.now, sent, from, to, &msg);
                }
                self.offer(i, Input::Message { from, msg });
            }
            Ev::Timer {
                node,
                kind,
                generation,
            } => {
                let slot = &self.slots[node];
                if slot.alive && slot.timer_gen[timer_index(kind)] == generation {
                    self.offer(node, Input::Timer(kind));
                }
            }
            Ev::Process { node } => {
                self.slots[node].process_scheduled = false;
                self.process_inbox(node);
            }
            Ev::Start { node } => self.start_adversary(node),
            Ev::ClientNext { client } => self.client_next(client),
            Ev::OpenArrival { client } => self.open_arrival(client),
            Ev::FaultStart { index } => self.fault_start(index),
            Ev::FaultEnd { index } => self.fault_end(index),
        }
    }

    /// An input reaches node `i`: handled now if the node is free, else queued.
    fn offer(&mut self, i: usize, input: Input<P::Message>) {
        let slot = &mut self.slots[i];
        if slot.available_at <= self.now && slot.inbox.is_empty() {
            self.execute(i, input);
        } else {
            if slot.inbox.len() >= INBOX_BOUND {
                self.obs.dropped += 1;
                return;
            }
            slot.inbox.push_back(input);
            self.schedule_process(i);
        }
    }

    fn schedule_process(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        if !slot.process_scheduled && slot.alive {
            slot.process_scheduled = true;
            let at = slot.available_at.max(self.now);
            self.push(at, Ev::Process { node: i });
        }
    }

    fn process_inbox(&mut self, i: usize) {
        if !self.slots[i].alive || self.slots[i].available_at > self.now {
            self.schedule_process(i);
            return;
        }
        if let Some(input) = self.slots[i].inbox.pop_front() {
            self.execute(i, input);
        }
        if !self.slots[i].inbox.is_empty() {
            self.schedule_process(i);
        }
    }

    /// Node `i` handles `input` at `now`; its outputs leave when it is done.
    fn execute(&mut self, i: usize, input: Input<P::Message>) {
        let now = Instant(self.now);
        let mut out = std::mem::take(&mut self.outbox);
        let received = match &input {
            Input::Message { msg, .. } => Some(msg.clone()),
            Input::Timer(_) => None,
        };
        let mut work = Work::default();
        match &mut self.slots[i].node {
            Node::Replica(r) => {
                let before = Work::of(r.metrics());
                match input {
                    Input::Message { from, msg } => r.on_message(now, from, msg, &mut out),
                    Input::Timer(kind) => r.on_timer(now, kind, &mut out),
                }
                work = Work::of(r.metrics()).since(before);
            }
            Node::Client(c) => match input {
                Input::Message { from, msg } => c.on_message(now, from, msg, &mut out),
                Input::Timer(kind) => c.on_timer(now, kind, &mut out),
            },
            Node::Adversary(a) => match input {
                Input::Message { from, msg } => a.on_message(now, from, msg, &mut out),
                Input::Timer(kind) => a.on_timer(now, kind, &mut out),
            },
        }
        // Clients are not modelled as servers: their cost is zero.
        let base = match (&self.cpu, i < self.world.replica_count as usize) {
            (Some(model), true) => {
                model.cost_ns(received.as_ref(), work)
                    + model.output_cost_ns(out.as_slice(), self.world.replica_count - 1)
            }
            _ => 0,
        };
        let cost = match self.slots[i].slow {
            Some((factor, until)) if self.now < until => {
                base.max(SLOW_NOMINAL_NS) * u64::from(factor)
            }
            _ => base,
        };
        let done = self.now + cost;
        self.slots[i].available_at = done;
        self.slots[i].busy_ns += cost;
        let me = self.node_id(i);
        let correct_replica = matches!(self.slots[i].node, Node::Replica(_));
        if let (true, NodeId::Replica(r), Some(msg)) = (correct_replica, me, received) {
            self.obs.on_replica_input(self.now, r, &msg);
        }
        for o in out.drain() {
            self.dispatch(i, me, done, o);
        }
        self.outbox = out;
    }

    fn start_adversary(&mut self, i: usize) {
        self.act_now(i, |node, now, out| {
            if let Node::Adversary(a) = node {
                a.start(now, out);
            }
        });
    }

    /// Lets node `i` act at the current time outside an input (an adversary's start, a
    /// recovered replica's resume) and dispatches what it produced.
    fn act_now(
        &mut self,
        i: usize,
        act: impl FnOnce(&mut Node<P>, Instant, &mut Outbox<P::Message>),
    ) {
        let mut out = std::mem::take(&mut self.outbox);
        act(&mut self.slots[i].node, Instant(self.now), &mut out);
        let me = self.node_id(i);
        for o in out.drain() {
            self.dispatch(i, me, self.now, o);
        }
        self.outbox = out;
    }

    fn dispatch(&mut self, i: usize, me: NodeId, at: u64, o: Output<P::Message>) {
        match o {
            Output::Send { to, msg } => self.transmit(me, to, at, msg),
            Output::Broadcast { msg } => {
                for r in 0..self.world.replica_count {
                    if NodeId::Replica(r) != me {
                        self.transmit(me, NodeId::Replica(r), at, msg.clone());
                    }
                }
            }
            Output::SetTimer { kind, deadline } => {
                let slot = &mut self.slots[i];
                let k = timer_index(kind);
                slot.timer_gen[k] += 1;
                let generation = slot.timer_gen[k];
                self.push(
                    deadline.as_nanos().max(at),
                    Ev::Timer {
                        node: i,
                        kind,
                        generation,
                    },
                );
            }
            Output::CancelTimer { kind } => {
                self.slots[i].timer_gen[timer_index(kind)] += 1;
            }
            // A step's outputs take effect together: its records are durable before any
            // of its messages is on the network, as the write-ahead rule asks.
            Output::Persist {
                record,
                restart_point,
            } => {
                let wal = &mut self.slots[i].wal;
                if restart_point {
                    wal.clear();
                }
                wal.push(record);
            }
            Output::Event(e) => {
                let completed = self.obs.on_event(at, me, e);
                if let Some(client) = completed {
                    self.after_completion(client, at);
                }
            }
        }
    }

    fn transmit(&mut self, from: NodeId, to: NodeId, at: u64, msg: P::Message) {
        let mut arrivals = self
            .network
            .transmit(&mut self.net_rng, at, from, to)
            .peekable();
        if arrivals.peek().is_none() {
            self.obs.dropped += 1;
            if let Some(t) = self.obs.trace.as_mut() {
                t.message(at, "drop", from, to, &msg);
            }
            return;
        }
        let arrivals: Vec<u64> = arrivals.collect();
        for arrival in arrivals {
            let msg = match self.maybe_corrupt(at, &msg) {
                Corruption::Intact => msg.clone(),
                Corruption::Changed(m) => {
                    self.obs.corrupted_delivered += 1;
                    m
                }
                Corruption::Undecodable => {
                    self.obs.dropped += 1;
                    continue;
                }
            };
            self.push(
                arrival,
                Ev::Deliver {
                    from,
                    to,
                    msg,
                    sent: at,
                },
            );
        }
    }

    fn maybe_corrupt(&mut self, at: u64, msg: &P::Message) -> Corruption<P::Message> {
        let p = self.s.network.corrupt;
        if p <= 0.0 || self.network.after_gst(at) || !self.corrupt_rng.random_bool(p.min(1.0)) {
            return Corruption::Intact;
        }
        let mut bytes = Vec::new();
        if msg.encode_into(&mut bytes).is_err() {
            return Corruption::Undecodable;
        }
        if bytes.is_empty() {
            return Corruption::Undecodable;
        }
        let bit = self.corrupt_rng.random_range(0..bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        match P::Message::decode(&bytes) {
            Ok(m) => Corruption::Changed(m),
            Err(_) => Corruption::Undecodable,
        }
    }

    fn client_slot(&mut self, client: u32) -> &mut P::Client {
        let i = (self.world.replica_count + client) as usize;
        match &mut self.slots[i].node {
            Node::Client(c) => c,
            _ => unreachable!("correct client slots hold correct clients"),
        }
    }

    fn client_next(&mut self, client: u32) {
        let c = client as usize;
        if self.s.workload.mode == LoopKind::Closed {
            if self.remaining[c] == 0 {
                return;
            }
            self.remaining[c] -= 1;
            let op = self.workload.next_op();
            self.submit(client, op);
        } else if let Some(op) = self.backlog[c].pop_front() {
            self.submit(client, op);
        }
    }

    fn open_arrival(&mut self, client: u32) {
        let c = client as usize;
        if self.remaining[c] == 0 {
            return;
        }
        self.remaining[c] -= 1;
        let op = self.workload.next_op();
        self.backlog[c].push_back(op);
        let rate = self.s.workload.rate_per_client.unwrap_or(1).max(1);
        self.push(self.now + 1_000_000_000 / rate, Ev::OpenArrival { client });
        let idle = {
            let cl = self.client_slot(client);
            cl.is_idle()
        };
        if idle {
            self.client_next(client);
        }
    }

    fn submit(&mut self, client: u32, op: Vec<u8>) {
        let i = (self.world.replica_count + client) as usize;
        let now = self.now;
        let mut out = std::mem::take(&mut self.outbox);
        let seq = match &mut self.slots[i].node {
            Node::Client(c) => c.submit(Instant(now), op.clone(), &mut out),
            _ => unreachable!("correct client slots hold correct clients"),
        };
        if let Ok(seq) = seq {
            self.obs.on_invoke(now, client, seq, op);
        }
        let me = NodeId::Client(client);
        for o in out.drain() {
            self.dispatch(i, me, now, o);
        }
        self.outbox = out;
    }

    fn after_completion(&mut self, client: u32, at: u64) {
        if client >= self.s.workload.clients {
            return;
        }
        let think = self.s.workload.think_time.ns();
        self.push(at + think, Ev::ClientNext { client });
    }

    fn fault_start(&mut self, index: usize) {
        let f = self.s.faults[index].get_ref().clone();
        let i = f.replica as usize;
        if let Some(t) = self.obs.trace.as_mut() {
            t.line(
                self.now,
                "fault",
                format_args!("\"kind\":\"{:?}\",\"replica\":{}", f.kind, f.replica),
            );
        }
        let end = self.now + f.duration.map_or(0, |d| d.ns());
        match f.kind {
            FaultKind::Crash | FaultKind::CrashRestart => {
                let slot = &mut self.slots[i];
                slot.alive = false;
                slot.inbox.clear();
                for g in slot.timer_gen.iter_mut() {
                    *g += 1;
                }
                if f.kind == FaultKind::CrashRestart {
                    self.push(end, Ev::FaultEnd { index });
                }
            }
            FaultKind::Pause => {
                let slot = &mut self.slots[i];
                slot.available_at = slot.available_at.max(end);
            }
            FaultKind::Slow => {
                self.slots[i].slow = Some((f.factor.unwrap_or(2), end));
            }
        }
    }

    fn fault_end(&mut self, index: usize) {
        let f = self.s.faults[index].get_ref().clone();
        let i = f.replica as usize;
        if let Some(t) = self.obs.trace.as_mut() {
            t.line(
                self.now,
                "restart",
                format_args!(
                    "\"replica\":{},\"volatile_kept\":{}",
                    f.replica, f.keep_volatile_state
                ),
            );
        }
        let mut resumed = false;
        if !f.keep_volatile_state {
            // The USIG counter survives (it lives in the trusted component), and so does a
            // durable replica's write-ahead log; everything else is lost. A crash inside
            // the write-ahead window consumed `lost_counter_values` more counter values
            // whose messages were neither logged nor sent.
            let counter = match &self.slots[i].node {
                Node::Replica(r) => r.usig_last_counter() + f.lost_counter_values,
                _ => 0,
            };
            let wal = std::mem::take(&mut self.slots[i].wal);
            match self
                .proto
                .recover(self.s, &self.world, f.replica, counter, &wal)
            {
                Ok(r) => {
                    self.slots[i].node = Node::Replica(Box::new(r));
                    resumed = true;
                }
                Err(e) => self
                    .obs
                    .note_failure(format!("restart of replica {}: {e}", f.replica)),
            }
            self.slots[i].wal = wal;
            self.obs.on_restart(f.replica);
        }
        let slot = &mut self.slots[i];
        slot.alive = true;
        slot.available_at = self.now;
        if resumed {
            self.act_now(i, |node, now, out| {
                if let Node::Replica(r) = node {
                    r.resume(now, out);
                }
            });
        }
    }
}

enum Corruption<M> {
    Intact,
    Changed(M),
    Undecodable,
}

impl<P: SimProtocol> Slot<P> {
    fn new(node: Node<P>) -> Self {
        Slot {
            node,
            alive: true,
            available_at: 0,
            inbox: VecDeque::new(),
            process_scheduled: false,
            timer_gen: [0; TimerKind::ALL.len()],
            slow: None,
            wal: Vec::new(),
            busy_ns: 0,
        }
    }
}
