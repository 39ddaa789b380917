//! One replica process: loads its keys and opens its replica (USIG, durable files) as the
//! cluster's protocol says, listens for replicas and clients, connects to the other
//! replicas, and runs the unchanged Sans-IO replica in a single task that owns it (no locks
//! around protocol state), turning its outputs into frames and timers. One implementation
//! for every protocol: the task is generic over [`NetProtocol`].

use crate::accept::{AcceptContext, Inbound, accept_loop};
use crate::channel::ChannelKeys;
use crate::clock::Clock;
use crate::config::{ClusterConfig, ProtocolKind};
use crate::error::NetError;
use crate::link::{Frame, QUEUE_FRAMES, enqueue, peer_link};
use crate::metrics::NetMetrics;
use crate::protocol::{MinBft, MinZyzyva, NetProtocol, Opened};
use crate::status::{CheckpointSeen, NodeStatus, hex};
use crate::wan::WanDelay;
use minlab_protocols::{
    ClientId, Event, NodeId, Outbox, Output, ProtocolMessage, ReplicaId, ReplicaMachine,
};
use minlab_usig::KeySet;
use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

/// Messages the replica task may have queued (connection readers wait beyond that).
pub const INBOUND_QUEUE: usize = 4096;

/// Inputs handled before the replica task lets timers and other tasks run.
const INPUTS_PER_TURN: usize = 256;

/// How to run a node beyond the cluster file.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// Which replica.
    pub id: ReplicaId,
    /// Delay outgoing frames (WAN emulation).
    pub wan: Option<WanDelay>,
    /// Append every USIG counter value issued to this file (ranges `lo hi`, one line per
    /// step, written before the frames leave): for tests that check a restarted replica
    /// never repeats a counter value.
    pub ui_log: Option<PathBuf>,
    /// How often the status is published (and written to the status file).
    pub status_interval: Duration,
    /// Whether to write the status file under the data directory.
    pub write_status_file: bool,
}

impl NodeOptions {
    /// Defaults for replica `id`: no WAN delay, no UI log, status every 200 ms, written.
    pub fn new(id: ReplicaId) -> Self {
        NodeOptions {
            id,
            wan: None,
            ui_log: None,
            status_interval: Duration::from_millis(200),
            write_status_file: true,
        }
    }
}

/// A running node.
pub struct NodeHandle {
    shutdown: watch::Sender<bool>,
    replica_task: JoinHandle<NodeStatus>,
    aux_tasks: Vec<JoinHandle<()>>,
    /// The latest published status.
    pub status: watch::Receiver<NodeStatus>,
    /// The adapter's live counters.
    pub metrics: Arc<NetMetrics>,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl NodeHandle {
    /// Graceful shutdown: the replica task stops, writes its final status and closes every
    /// connection; when it returns, the listening socket is closed (its address can be
    /// bound again). Returns the final status.
    pub async fn stop(self) -> NodeStatus {
        let _ = self.shutdown.send(true);
        let status = match self.replica_task.await {
            Ok(s) => s,
            Err(_) => self.status.borrow().clone(),
        };
        for t in &self.aux_tasks {
            t.abort();
        }
        for t in self.aux_tasks {
            // Cancelled: the task, and the sockets it owned, are dropped.
            let _ = t.await;
        }
        status
    }

    /// Stops everything at once, without a final status: a crash, as far as the peers and
    /// the durable files can tell.
    pub fn crash(self) {
        self.replica_task.abort();
        for t in &self.aux_tasks {
            t.abort();
        }
    }

    /// Waits until the replica task ends by itself (it does not, unless its inputs close).
    pub async fn wait(&mut self) {
        let _ = (&mut self.replica_task).await;
    }
}

/// Starts replica `opts.id` of `config`, running the file's protocol, on the current tokio
/// runtime. `listener`, if given, replaces binding the configured address (tests bind
/// port 0 first).
pub async fn start_node(
    config: Arc<ClusterConfig>,
    opts: NodeOptions,
    listener: Option<std::net::TcpListener>,
) -> Result<NodeHandle, NetError> {
    match config.protocol_kind() {
        ProtocolKind::MinBft => start::<MinBft>(config, opts, listener).await,
        ProtocolKind::MinZyzyva => start::<MinZyzyva>(config, opts, listener).await,
    }
}

async fn start<P: NetProtocol>(
    config: Arc<ClusterConfig>,
    opts: NodeOptions,
    listener: Option<std::net::TcpListener>,
) -> Result<NodeHandle, NetError> {
    let id = opts.id;
    let entry = config.entry(id)?.clone();
    let n = config.replica_count();
    let keys_path = config.keys_path(id)?;
    let keys = KeySet::load(&keys_path)?;
    if keys.replica_count() != n {
        return Err(NetError::Config {
            path: keys_path,
            reason: format!(
                "key file is for {} replicas, the cluster has {n}",
                keys.replica_count()
            ),
        });
    }
    let channel_keys = Arc::new(ChannelKeys::derive(id, &keys)?);
    // Bound before the replica's durable files are opened: an address in use leaves no
    // trace (a MinZyzyva replica whose counter file exists refuses to start).
    let listener = match listener {
        Some(l) => {
            l.set_nonblocking(true)?;
            TcpListener::from_std(l)?
        }
        None => TcpListener::bind(entry.addr).await?,
    };
    std::fs::create_dir_all(config.data_dir(id))?;
    let Opened { mut replica, wal } = P::open_replica(&config, id, &keys)?;
    let addr = listener.local_addr()?;
    let metrics = Arc::new(NetMetrics::default());
    let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_QUEUE);
    let mut aux_tasks = Vec::new();
    let mut peers = Vec::new();
    for r in &config.replica {
        if r.id == id {
            peers.push(None);
            continue;
        }
        let (tx, rx) = mpsc::channel::<Frame>(QUEUE_FRAMES);
        peers.push(Some(tx));
        aux_tasks.push(tokio::spawn(peer_link(
            channel_keys.clone(),
            r.id,
            r.addr,
            rx,
            metrics.clone(),
            opts.wan.map(|w| w.sampler()),
        )));
    }
    aux_tasks.push(tokio::spawn(accept_loop(
        listener,
        AcceptContext::new(
            P::request_client,
            channel_keys,
            config.client_count,
            inbound_tx,
            metrics.clone(),
            opts.wan,
        ),
    )));
    let ui_log = match &opts.ui_log {
        Some(p) => {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)?;
            writeln!(
                f,
                "start {} {}",
                std::process::id(),
                replica.usig_last_counter()
            )?;
            Some(f)
        }
        None => None,
    };
    let resumed_at = replica.usig_last_counter();
    info!(id, %addr, protocol = %P::KIND, usig = %config.usig, resumed_at, "replica started");
    let (shutdown, shutdown_rx) = watch::channel(false);
    let clock = Clock::start();
    let mut out = Outbox::new();
    replica.resume(clock.now(), &mut out);
    let mut task = ReplicaTask::<P> {
        clock,
        out,
        wal,
        timers: crate::timers::Timers::default(),
        peers,
        clients: HashMap::new(),
        metrics: metrics.clone(),
        status: NodeStatus {
            id,
            pid: std::process::id(),
            usig_counter_resumed_at: resumed_at,
            usig_counter_last: resumed_at,
            ..NodeStatus::default()
        },
        ui_log,
        ui_logged: resumed_at,
        status_path: opts.write_status_file.then(|| config.status_path(id)),
        replica,
    };
    task.dispatch();
    let (status_tx, status_rx) = watch::channel(task.status.clone());
    let replica_task =
        tokio::spawn(task.run(inbound_rx, shutdown_rx, status_tx, opts.status_interval));
    Ok(NodeHandle {
        shutdown,
        replica_task,
        aux_tasks,
        status: status_rx,
        metrics,
        addr,
    })
}

struct ReplicaTask<P: NetProtocol> {
    replica: P::Replica,
    clock: Clock,
    out: Outbox<P::Message>,
    /// The write-ahead log of a durable replica.
    wal: Option<crate::wal::WalFile>,
    timers: crate::timers::Timers,
    /// Outgoing queue per replica (`None` for itself).
    peers: Vec<Option<mpsc::Sender<Frame>>>,
    /// Reply route per client: connection number and its queue.
    clients: HashMap<ClientId, (u64, mpsc::Sender<Frame>)>,
    metrics: Arc<NetMetrics>,
    status: NodeStatus,
    ui_log: Option<std::fs::File>,
    ui_logged: u64,
    status_path: Option<PathBuf>,
}

impl<P: NetProtocol> ReplicaTask<P> {
    async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Inbound<P::Message>>,
        mut shutdown: watch::Receiver<bool>,
        status_tx: watch::Sender<NodeStatus>,
        status_interval: Duration,
    ) -> NodeStatus {
        let sleep = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(sleep);
        let mut armed = None;
        let mut tick = tokio::time::interval(status_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Deadlines already reached fire here, without a tokio sleep (whose resolution
            // is a millisecond): a zero batch timeout costs one loop turn, not 1 ms.
            let now = self.clock.now();
            while let Some(kind) = self.timers.pop_due(now) {
                self.replica.on_timer(now, kind, &mut self.out);
                self.dispatch();
            }
            let next = self.timers.next();
            if next != armed {
                if let Some(d) = next {
                    sleep.as_mut().reset(self.clock.deadline(d));
                }
                armed = next;
            }
            // Due timers first, then up to INPUTS_PER_TURN queued inputs: a batch timer of
            // zero thus flushes whatever requests arrived in one turn, and a busy inbound
            // queue cannot starve the timers.
            tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                _ = &mut sleep, if armed.is_some() => {
                    armed = None;
                    let now = self.clock.now();
                    while let Some(kind) = self.timers.pop_due(now) {
                        self.replica.on_timer(now, kind, &mut self.out);
                        self.dispatch();
                    }
                }
                input = inbound.recv() => {
                    let Some(input) = input else { break };
                    self.handle(input);
                    for _ in 1..INPUTS_PER_TURN {
                        match inbound.try_recv() {
                            Ok(input) => self.handle(input),
                            Err(_) => break,
                        }
                    }
                }
                _ = tick.tick() => {
                    self.refresh_status();
                    let _ = status_tx.send(self.status.clone());
                }
            }
        }
        self.refresh_status();
        let _ = status_tx.send(self.status.clone());
        info!(
            id = self.status.id,
            executed = self.status.executed_requests,
            "replica stopped"
        );
        self.status
    }

    fn handle(&mut self, input: Inbound<P::Message>) {
        match input {
            Inbound::Message { from, msg, budget } => {
                let now = self.clock.now();
                self.replica.on_message(now, from, msg, &mut self.out);
                drop(budget);
                self.dispatch();
            }
            Inbound::ClientsUp {
                first,
                count,
                conn,
                tx,
            } => {
                for c in first..first.saturating_add(count) {
                    self.clients.insert(c, (conn, tx.clone()));
                }
            }
            Inbound::ClientsDown { first, count, conn } => {
                for c in first..first.saturating_add(count) {
                    if self.clients.get(&c).is_some_and(|(k, _)| *k == conn) {
                        self.clients.remove(&c);
                    }
                }
            }
        }
    }

    fn encode(&self, msg: &P::Message) -> Option<Frame> {
        let mut b = Vec::new();
        match msg.encode_into(&mut b) {
            Ok(()) => Some(Arc::new(b)),
            Err(e) => {
                error!("cannot encode an outgoing {:?}: {e}", msg.kind());
                None
            }
        }
    }

    /// Carries out what the replica asked for.
    fn dispatch(&mut self) {
        // Before any frame carrying a new UI is queued (a writer on another worker thread
        // could send it at once).
        self.log_uis();
        let mut out = std::mem::take(&mut self.out);
        // The write-ahead rule: this step's log records are durable before any of its
        // frames is queued. A log that cannot be written stops the replica (sending
        // without it could contradict what a restart remembers).
        if let Some(wal) = self.wal.as_mut() {
            let mut written = Ok(());
            for o in out.as_slice() {
                if let Output::Persist {
                    record,
                    restart_point,
                } = o
                {
                    written = written.and_then(|()| wal.append(record, *restart_point));
                }
            }
            if let Err(e) = written.and_then(|()| wal.sync()) {
                error!("write-ahead log: {e}; stopping the replica's output");
                out.clear();
                self.out = out;
                return;
            }
        }
        for o in out.drain() {
            match o {
                Output::Send {
                    to: NodeId::Replica(r),
                    msg,
                } => {
                    if let (Some(Some(tx)), Some(f)) =
                        (self.peers.get(r as usize), self.encode(&msg))
                    {
                        enqueue(tx, f, &self.metrics);
                    }
                }
                Output::Send {
                    to: NodeId::Client(c),
                    msg,
                } => match self.clients.get(&c) {
                    Some((_, tx)) => {
                        if let Some(f) = self.encode(&msg) {
                            enqueue(tx, f, &self.metrics);
                        }
                    }
                    None => NetMetrics::bump(&self.metrics.no_route_drops),
                },
                Output::Broadcast { msg } => {
                    if let Some(f) = self.encode(&msg) {
                        for tx in self.peers.iter().flatten() {
                            enqueue(tx, f.clone(), &self.metrics);
                        }
                    }
                }
                Output::SetTimer { kind, deadline } => self.timers.set(kind, deadline),
                Output::CancelTimer { kind } => self.timers.cancel(kind),
                Output::Event(e) => self.observe(e),
                // Written above, before any send.
                Output::Persist { .. } => {}
            }
        }
        self.out = out;
    }

    fn observe(&mut self, e: Event) {
        let s = &mut self.status;
        match e {
            Event::RequestExecuted { position, .. } => {
                s.executed_requests = position + 1;
                s.committed_requests = position + 1;
            }
            Event::RolledBack { .. } => s.rolled_back += 1,
            Event::CheckpointTaken {
                counter,
                position,
                state_digest,
            } => {
                s.last_checkpoint = Some(CheckpointSeen {
                    counter,
                    position,
                    state_digest: hex(&state_digest),
                });
            }
            Event::StateTransferred {
                view,
                counter,
                position,
            } => {
                s.executed_requests = position;
                s.committed_requests = position;
                s.state_transfers += 1;
                info!(view, counter, position, "state transferred");
            }
            Event::StateTransferNeeded { counter } => info!(counter, "state transfer needed"),
            Event::ViewChanged { view } => {
                s.view_changes += 1;
                info!(view, "view installed");
            }
            Event::UsigFailed { error } => error!("USIG failed: {error}"),
            Event::MessageRejected { from, kind, reason } => {
                tracing::trace!(%from, ?kind, ?reason, "message rejected");
            }
            _ => {}
        }
    }

    /// Appends the counter values issued since the last call to the UI log.
    fn log_uis(&mut self) {
        let last = self.replica.usig_last_counter();
        if last == self.ui_logged {
            return;
        }
        if let Some(f) = &mut self.ui_log
            && let Err(e) = writeln!(f, "{} {}", self.ui_logged + 1, last)
        {
            warn!("UI log: {e}");
        }
        self.ui_logged = last;
    }

    fn refresh_status(&mut self) {
        let s = &mut self.status;
        s.uptime_ms = self.clock.now().as_nanos() / 1_000_000;
        P::fill_status(&self.replica, s);
        s.net = self.metrics.snapshot();
        if let Some(p) = &self.status_path
            && let Err(e) = s.write(p)
        {
            warn!("writing {}: {e}", p.display());
        }
    }
}
