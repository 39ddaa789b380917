//! The closed-loop load generator: `C` Sans-IO clients of the cluster's protocol in one
//! task, connected to every replica over TCP; each submits its next operation as soon as
//! the previous one completes. Reports throughput and latency percentiles (HdrHistogram).

use crate::client_link::{ClientLink, client_link};
use crate::clock::Clock;
use crate::config::{ClusterConfig, ProtocolKind, ServiceKind};
use crate::error::NetError;
use crate::link::{Frame, QUEUE_FRAMES, enqueue};
use crate::metrics::{NetMetrics, NetMetricsSnapshot};
use crate::protocol::{MinBft, MinZyzyva, NetProtocol};
use crate::wan::WanDelay;
use hdrhistogram::Histogram;
use minlab_protocols::minbft::MessageKind;
use minlab_protocols::service::KvOp;
use minlab_protocols::{
    ClientId, ClientMachine, Event, Instant, NodeId, Outbox, Output, ProtocolMessage, ReplicaId,
    TimerKind,
};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::info;

/// How to run a load.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Number of closed-loop clients.
    pub clients: u32,
    /// Id of the first client (clients are `first_client..first_client + clients`).
    pub first_client: ClientId,
    /// How long to submit operations, after the warm-up.
    pub duration: Duration,
    /// Operations completed during this first period are not measured.
    pub warmup: Duration,
    /// How long to wait for f + 1 replicas to accept connections.
    pub connect_timeout: Duration,
    /// Delay outgoing frames (WAN emulation).
    pub wan: Option<WanDelay>,
}

/// Latency percentiles, in microseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Largest.
    pub max_us: f64,
    /// Mean.
    pub mean_us: f64,
}

/// What a load run measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Closed-loop clients.
    pub clients: u32,
    /// Measured period (after the warm-up), seconds.
    pub measured_s: f64,
    /// Operations completed in the measured period.
    pub completed: u64,
    /// Operations completed in the whole run (warm-up and drain included).
    pub completed_total: u64,
    /// Throughput over the measured period.
    pub ops_per_s: f64,
    /// Latency over the measured period.
    pub latency: Latency,
    /// Request retransmissions (with MinZyzyva: every firing of the client's timer, which
    /// resends the request or sends a COMMIT).
    pub retransmits: u64,
    /// MinZyzyva: COMMIT messages sent (commit certificates, the non-gracious path of
    /// paper §5); 0 with MinBFT.
    #[serde(default)]
    pub commits_sent: u64,
    /// Requests still outstanding at the end (not acknowledged).
    pub outstanding_at_end: u32,
    /// Per client, the last request number acknowledged by f + 1 matching replies.
    pub last_acked_seq: Vec<u64>,
    /// The adapter's counters.
    pub net: NetMetricsSnapshot,
}

/// The operation client `c` submits as its request `seq`.
pub fn operation(service: ServiceKind, c: ClientId, seq: u64) -> Vec<u8> {
    match service {
        ServiceKind::Null => Vec::new(),
        ServiceKind::Kv => KvOp::Put {
            key: (u64::from(c) << 8) | (seq & 0xff),
            value: seq.to_be_bytes().to_vec(),
        }
        .encode(),
    }
}

/// Replies handled before the driver lets timers and other tasks run.
const REPLIES_PER_TURN: usize = 256;

/// How long outstanding requests may take to complete after the measured period.
const DRAIN: minlab_protocols::Duration = minlab_protocols::Duration::from_secs(2);

/// Runs a closed-loop load against `config`'s replicas, with clients of the file's
/// protocol, on the current tokio runtime.
pub async fn run_load(config: &ClusterConfig, opts: &LoadOptions) -> Result<LoadReport, NetError> {
    match config.protocol_kind() {
        ProtocolKind::MinBft => load::<MinBft>(config, opts).await,
        ProtocolKind::MinZyzyva => load::<MinZyzyva>(config, opts).await,
    }
}

async fn load<P: NetProtocol>(
    config: &ClusterConfig,
    opts: &LoadOptions,
) -> Result<LoadReport, NetError> {
    let bad = |reason: String| NetError::Config {
        path: config.dir.join("cluster.toml"),
        reason,
    };
    let protocol = Arc::new(config.protocol_config().map_err(bad)?);
    let end_id = u64::from(opts.first_client) + u64::from(opts.clients);
    if opts.clients == 0 || end_id > u64::from(config.client_count) {
        return Err(bad(format!(
            "clients {}..{end_id} do not fit the client table of {} (raise client_count)",
            opts.first_client, config.client_count
        )));
    }
    let metrics = Arc::new(NetMetrics::default());
    let connected = Arc::new(AtomicU32::new(0));
    let (inbound_tx, mut inbound) = mpsc::channel::<(ReplicaId, P::Message)>(QUEUE_FRAMES);
    let mut links = Vec::new();
    let mut tasks = Vec::new();
    for r in &config.replica {
        let (tx, rx) = mpsc::channel(QUEUE_FRAMES);
        links.push(tx);
        let link = ClientLink {
            replica: r.id,
            addr: r.addr,
            first: opts.first_client,
            count: opts.clients,
            inbound: inbound_tx.clone(),
            metrics: metrics.clone(),
            connected: connected.clone(),
            wan: opts.wan,
        };
        tasks.push(tokio::spawn(client_link::<P::Message>(link, rx)));
    }
    drop(inbound_tx);
    let _abort = AbortOnDrop(tasks);
    // Wait for f + 1 connections: enough replies for a quorum.
    let quorum = protocol.quorum();
    let waited = tokio::time::timeout(opts.connect_timeout, async {
        while connected.load(Ordering::Relaxed) < quorum {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    if waited.is_err() {
        return Err(NetError::Unreachable(format!(
            "fewer than {quorum} of {} replicas accepted a connection within {:?}",
            config.replica_count(),
            opts.connect_timeout
        )));
    }

    let clients = P::clients(config, &protocol, opts.first_client, opts.clients)?;
    let mut d = Driver::<P>::new(clients, config.service, &links, &metrics, opts);
    for i in 0..d.clients.len() {
        d.submit(i);
    }
    let sleep = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(sleep);
    loop {
        let now = d.clock.now();
        let outstanding = d.clients.iter().filter(|c| !c.is_idle()).count();
        if now >= d.end + DRAIN || (now >= d.end && outstanding == 0) {
            d.report.outstanding_at_end = outstanding as u32;
            break;
        }
        sleep.as_mut().reset(d.clock.deadline(d.wake_at(now)));
        tokio::select! {
            biased;
            m = inbound.recv() => {
                let Some((r, msg)) = m else { break };
                d.on_reply(r, msg);
                for _ in 1..REPLIES_PER_TURN {
                    match inbound.try_recv() {
                        Ok((r, msg)) => d.on_reply(r, msg),
                        Err(_) => break,
                    }
                }
            }
            _ = &mut sleep => d.fire_timers(),
        }
    }
    let mut report = d.finish();
    report.net = metrics.snapshot();
    info!(
        completed = report.completed,
        ops_per_s = report.ops_per_s,
        "load finished"
    );
    Ok(report)
}

/// `msg` as a frame (`None` if it cannot be encoded, which a correct client never asks).
fn encode<M: ProtocolMessage>(msg: &M) -> Option<Frame> {
    let mut b = Vec::new();
    msg.encode_into(&mut b).ok().map(|()| Arc::new(b))
}

struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// The closed loop: the clients, their retransmission timers and the measurements.
struct Driver<'a, P: NetProtocol> {
    clients: Vec<P::Client>,
    first: ClientId,
    service: ServiceKind,
    links: &'a [mpsc::Sender<Frame>],
    metrics: &'a NetMetrics,
    clock: Clock,
    out: Outbox<P::Message>,
    /// Each client's armed retransmission deadline.
    deadlines: Vec<Option<Instant>>,
    /// Deadlines by time; entries no longer in `deadlines` are skipped when popped.
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
    hist: Histogram<u64>,
    report: LoadReport,
    warm_end: Instant,
    end: Instant,
    measured: Duration,
}

impl<'a, P: NetProtocol> Driver<'a, P> {
    fn new(
        clients: Vec<P::Client>,
        service: ServiceKind,
        links: &'a [mpsc::Sender<Frame>],
        metrics: &'a NetMetrics,
        opts: &LoadOptions,
    ) -> Self {
        let n = clients.len();
        Driver {
            clients,
            first: opts.first_client,
            service,
            links,
            metrics,
            clock: Clock::start(),
            out: Outbox::new(),
            deadlines: vec![None; n],
            heap: BinaryHeap::new(),
            hist: Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid bounds"),
            report: LoadReport {
                clients: opts.clients,
                last_acked_seq: vec![0; n],
                ..Default::default()
            },
            warm_end: Instant(opts.warmup.as_nanos() as u64),
            end: Instant((opts.warmup + opts.duration).as_nanos() as u64),
            measured: opts.duration,
        }
    }

    /// When the loop must wake up next, at the latest.
    fn wake_at(&self, now: Instant) -> Instant {
        let drain_end = self.end + DRAIN;
        let timer = self.heap.peek().map_or(drain_end, |Reverse((d, _))| *d);
        let wake = timer.min(drain_end);
        if now < self.end {
            wake.min(self.end)
        } else {
            wake
        }
    }

    /// Client `i` submits its next operation (if the measured period is not over).
    fn submit(&mut self, i: usize) {
        let now = self.clock.now();
        if now >= self.end {
            return;
        }
        let c = &mut self.clients[i];
        let op = operation(self.service, c.id(), P::next_seq(c));
        if c.submit(now, op, &mut self.out).is_ok() {
            self.dispatch(i, now);
        }
    }

    fn on_reply(&mut self, r: ReplicaId, msg: P::Message) {
        let Some(client) = P::reply_client(&msg) else {
            return;
        };
        let Some(i) = client
            .checked_sub(self.first)
            .map(|i| i as usize)
            .filter(|i| *i < self.clients.len())
        else {
            return;
        };
        let now = self.clock.now();
        self.clients[i].on_message(now, NodeId::Replica(r), msg, &mut self.out);
        if self.dispatch(i, now) {
            self.submit(i);
        }
    }

    fn fire_timers(&mut self) {
        let now = self.clock.now();
        while let Some(Reverse((d, i))) = self.heap.peek().copied() {
            if d > now {
                break;
            }
            self.heap.pop();
            if self.deadlines[i] != Some(d) {
                continue;
            }
            self.deadlines[i] = None;
            self.clients[i].on_timer(now, TimerKind::Retransmit, &mut self.out);
            self.dispatch(i, now);
        }
    }

    /// Carries out client `i`'s outputs; returns whether its request completed.
    fn dispatch(&mut self, i: usize, now: Instant) -> bool {
        let mut completed = false;
        let mut out = std::mem::take(&mut self.out);
        for o in out.drain() {
            match o {
                Output::Broadcast { msg } => {
                    if let Some(f) = encode(&msg) {
                        for tx in self.links {
                            enqueue(tx, f.clone(), self.metrics);
                        }
                    }
                }
                Output::Send {
                    to: NodeId::Replica(r),
                    msg,
                } => {
                    if let (Some(tx), Some(f)) = (self.links.get(r as usize), encode(&msg)) {
                        enqueue(tx, f, self.metrics);
                    }
                }
                Output::Send { .. } => {}
                Output::SetTimer { deadline, .. } => {
                    self.deadlines[i] = Some(deadline);
                    self.heap.push(Reverse((deadline, i)));
                }
                Output::CancelTimer { .. } => self.deadlines[i] = None,
                Output::Event(Event::Completed { seq, latency, .. }) => {
                    completed = true;
                    self.report.completed_total += 1;
                    self.report.last_acked_seq[i] = seq;
                    if now >= self.warm_end && now <= self.end {
                        self.report.completed += 1;
                        let _ = self.hist.record(latency.as_nanos().max(1));
                    }
                }
                Output::Event(Event::Retransmitted { .. }) => self.report.retransmits += 1,
                Output::Event(_) | Output::Persist { .. } => {}
            }
        }
        self.out = out;
        completed
    }

    fn finish(self) -> LoadReport {
        let mut report = self.report;
        report.commits_sent = self
            .clients
            .iter()
            .map(|c| c.metrics().sent_of(MessageKind::Commit))
            .sum();
        report.measured_s = self.measured.as_secs_f64();
        report.ops_per_s = report.completed as f64 / report.measured_s.max(1e-9);
        let h = &self.hist;
        if !h.is_empty() {
            let us = |ns: u64| ns as f64 / 1000.0;
            report.latency = Latency {
                p50_us: us(h.value_at_quantile(0.5)),
                p90_us: us(h.value_at_quantile(0.9)),
                p99_us: us(h.value_at_quantile(0.99)),
                p999_us: us(h.value_at_quantile(0.999)),
                max_us: us(h.max()),
                mean_us: h.mean() / 1000.0,
            };
        }
        report
    }
}
