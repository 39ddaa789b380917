//! The closed-loop load generator: `C` Sans-IO MinBFT clients in one task, connected to
//! every replica over TCP; each submits its next operation as soon as the previous one
//! completes. Reports throughput and latency percentiles (HdrHistogram).

use crate::channel::connect_clients;
use crate::clock::Clock;
use crate::config::{ClusterConfig, ServiceKind};
use crate::error::NetError;
use crate::frame::read_frame;
use crate::link::{BACKOFF_MAX, BACKOFF_MIN, CONNECT_TIMEOUT, Frame, QUEUE_FRAMES, enqueue, pump};
use crate::metrics::{NetMetrics, NetMetricsSnapshot};
use crate::wan::WanDelay;
use hdrhistogram::Histogram;
use minlab_protocols::minbft::{ClientKeyring, FRAME_BYTES_MAX, codec};
use minlab_protocols::service::KvOp;
use minlab_protocols::{
    Client, ClientId, Event, Instant, Message, NodeId, Outbox, Output, ReplicaId, TimerKind,
};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::io::{BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::{debug, info};

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
    /// Request retransmissions.
    pub retransmits: u64,
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

/// One client connection's fixed parts.
struct ClientLink {
    replica: ReplicaId,
    addr: SocketAddr,
    first: ClientId,
    count: u32,
    inbound: mpsc::Sender<(ReplicaId, Message)>,
    metrics: Arc<NetMetrics>,
    connected: Arc<AtomicU32>,
    wan: Option<WanDelay>,
}

/// One client connection to replica `replica`: forwards replies to `inbound`, sends the
/// frames of `rx`, reconnects with back-off.
async fn client_link(link: ClientLink, mut rx: mpsc::Receiver<Frame>) {
    let ClientLink {
        replica,
        addr,
        first,
        count,
        inbound,
        metrics,
        connected,
        wan,
    } = link;
    let mut backoff = BACKOFF_MIN;
    let mut wan = wan.map(|w| w.sampler());
    let mut connected_before = false;
    loop {
        let attempt = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let mut s = TcpStream::connect(addr).await?;
            s.set_nodelay(true)?;
            connect_clients(&mut s, replica, first, count).await?;
            Ok::<_, NetError>(s)
        })
        .await;
        match attempt {
            Ok(Ok(s)) => {
                if connected_before {
                    NetMetrics::bump(&metrics.reconnects);
                }
                connected_before = true;
                backoff = BACKOFF_MIN;
                connected.fetch_add(1, Ordering::Relaxed);
                debug!(replica, "client connection up");
                let (rd, wr) = s.into_split();
                let mut w = BufWriter::with_capacity(64 << 10, wr);
                let mut rd = BufReader::with_capacity(64 << 10, rd);
                let reader = async {
                    let mut buf = Vec::new();
                    loop {
                        match read_frame(&mut rd, FRAME_BYTES_MAX, &mut buf).await {
                            Ok(true) => {}
                            Ok(false) => return Ok(()),
                            Err(e) => return Err(e),
                        }
                        NetMetrics::add(&metrics.bytes_in, buf.len() as u64);
                        let msg = codec::decode(&buf)?;
                        NetMetrics::bump(&metrics.frames_in);
                        if inbound.send((replica, msg)).await.is_err() {
                            return Ok(());
                        }
                    }
                };
                let done = tokio::select! {
                    r = reader => { if let Err(e) = r { debug!(replica, "client connection: {e}"); } false }
                    r = pump(&mut w, &mut rx, None, &mut wan, &metrics) => r.is_ok(),
                };
                connected.fetch_sub(1, Ordering::Relaxed);
                if done || inbound.is_closed() {
                    return;
                }
            }
            _ => NetMetrics::bump(&metrics.connect_failures),
        }
        if rx.is_closed() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Runs a closed-loop load against `config`'s replicas on the current tokio runtime.
pub async fn run_load(config: &ClusterConfig, opts: &LoadOptions) -> Result<LoadReport, NetError> {
    let n = config.replica_count();
    let protocol = Arc::new(
        config
            .protocol_config()
            .map_err(|reason| NetError::Config {
                path: config.dir.join("cluster.toml"),
                reason,
            })?,
    );
    let end_id = u64::from(opts.first_client) + u64::from(opts.clients);
    if opts.clients == 0 || end_id > u64::from(config.client_count) {
        return Err(NetError::Config {
            path: config.dir.join("cluster.toml"),
            reason: format!(
                "clients {}..{end_id} do not fit the client table of {} (raise client_count)",
                opts.first_client, config.client_count
            ),
        });
    }
    let metrics = Arc::new(NetMetrics::default());
    let connected = Arc::new(AtomicU32::new(0));
    let (inbound_tx, mut inbound) = mpsc::channel::<(ReplicaId, Message)>(QUEUE_FRAMES);
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
        tasks.push(tokio::spawn(client_link(link, rx)));
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
            "fewer than {quorum} of {n} replicas accepted a connection within {:?}",
            opts.connect_timeout
        )));
    }

    let clock = Clock::start();
    let mut clients: Vec<Client> = (0..opts.clients)
        .map(|i| {
            let c = opts.first_client + i;
            let keys = ClientKeyring::from_seed(config.client_auth, c, n, config.client_key_seed);
            Client::new(c, protocol.clone(), Arc::new(keys))
        })
        .collect();
    let mut deadlines: Vec<Option<Instant>> = vec![None; clients.len()];
    let mut heap: BinaryHeap<Reverse<(Instant, u32)>> = BinaryHeap::new();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("valid bounds");
    let mut out = Outbox::new();
    let mut report = LoadReport {
        clients: opts.clients,
        last_acked_seq: vec![0; clients.len()],
        ..Default::default()
    };
    let warm_end = Instant(opts.warmup.as_nanos() as u64);
    let end = Instant((opts.warmup + opts.duration).as_nanos() as u64);
    // After `end`, outstanding requests get this long to complete.
    let drain_end = end + minlab_protocols::Duration::from_secs(2);
    let ctx = Ctx {
        links: &links,
        metrics: &metrics,
    };

    for (i, c) in clients.iter_mut().enumerate() {
        let seq = c.next_seq();
        let now = clock.now();
        if c.submit(now, operation(config.service, c.id(), seq), &mut out)
            .is_ok()
        {
            ctx.dispatch(
                &mut out,
                i,
                &mut deadlines,
                &mut heap,
                &mut report,
                &mut hist,
                warm_end,
                end,
                now,
            );
        }
    }
    let sleep = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(sleep);
    loop {
        let now = clock.now();
        let outstanding = clients.iter().filter(|c| !c.is_idle()).count();
        if now >= drain_end || (now >= end && outstanding == 0) {
            report.outstanding_at_end = outstanding as u32;
            break;
        }
        let wake = heap
            .peek()
            .map(|Reverse((d, _))| *d)
            .unwrap_or(drain_end)
            .min(drain_end);
        let wake = if now < end { wake.min(end) } else { wake };
        sleep.as_mut().reset(clock.deadline(wake));
        tokio::select! {
            biased;
            m = inbound.recv() => {
                let Some((r, msg)) = m else { break };
                let mut batch = vec![(r, msg)];
                while batch.len() < 256 {
                    match inbound.try_recv() { Ok(x) => batch.push(x), Err(_) => break }
                }
                for (r, msg) in batch {
                    let Message::Reply(reply) = &msg else { continue };
                    let Some(i) = reply.client.checked_sub(opts.first_client).map(|i| i as usize).filter(|i| *i < clients.len()) else { continue };
                    let now = clock.now();
                    clients[i].on_message(now, NodeId::Replica(r), msg, &mut out);
                    let completed = ctx.dispatch(&mut out, i, &mut deadlines, &mut heap, &mut report, &mut hist, warm_end, end, now);
                    if completed && now < end {
                        let c = &mut clients[i];
                        let seq = c.next_seq();
                        if c.submit(now, operation(config.service, c.id(), seq), &mut out).is_ok() {
                            ctx.dispatch(&mut out, i, &mut deadlines, &mut heap, &mut report, &mut hist, warm_end, end, now);
                        }
                    }
                }
            }
            _ = &mut sleep => {
                let now = clock.now();
                while let Some(Reverse((d, i))) = heap.peek().copied() {
                    if d > now { break; }
                    heap.pop();
                    let i = i as usize;
                    if deadlines[i] != Some(d) { continue; }
                    deadlines[i] = None;
                    clients[i].on_timer(now, TimerKind::Retransmit, &mut out);
                    ctx.dispatch(&mut out, i, &mut deadlines, &mut heap, &mut report, &mut hist, warm_end, end, now);
                }
            }
        }
    }
    report.measured_s = opts.duration.as_secs_f64();
    report.ops_per_s = report.completed as f64 / report.measured_s.max(1e-9);
    if !hist.is_empty() {
        let us = |ns: u64| ns as f64 / 1000.0;
        report.latency = Latency {
            p50_us: us(hist.value_at_quantile(0.5)),
            p90_us: us(hist.value_at_quantile(0.9)),
            p99_us: us(hist.value_at_quantile(0.99)),
            p999_us: us(hist.value_at_quantile(0.999)),
            max_us: us(hist.max()),
            mean_us: hist.mean() / 1000.0,
        };
    }
    report.net = metrics.snapshot();
    info!(
        completed = report.completed,
        ops_per_s = report.ops_per_s,
        "load finished"
    );
    Ok(report)
}

struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

struct Ctx<'a> {
    links: &'a [mpsc::Sender<Frame>],
    metrics: &'a NetMetrics,
}

impl Ctx<'_> {
    /// Carries out client `i`'s outputs; returns whether its request completed.
    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &self,
        out: &mut Outbox,
        i: usize,
        deadlines: &mut [Option<Instant>],
        heap: &mut BinaryHeap<Reverse<(Instant, u32)>>,
        report: &mut LoadReport,
        hist: &mut Histogram<u64>,
        warm_end: Instant,
        end: Instant,
        now: Instant,
    ) -> bool {
        let mut completed = false;
        for o in out.drain() {
            match o {
                Output::Broadcast { msg } => {
                    if let Ok(b) = codec::encode(&msg) {
                        let f = Arc::new(b);
                        for tx in self.links {
                            enqueue(tx, f.clone(), self.metrics);
                        }
                    }
                }
                Output::Send {
                    to: NodeId::Replica(r),
                    msg,
                } => {
                    if let (Some(tx), Ok(b)) = (self.links.get(r as usize), codec::encode(&msg)) {
                        enqueue(tx, Arc::new(b), self.metrics);
                    }
                }
                Output::Send { .. } => {}
                Output::SetTimer { deadline, .. } => {
                    deadlines[i] = Some(deadline);
                    heap.push(Reverse((deadline, i as u32)));
                }
                Output::CancelTimer { .. } => deadlines[i] = None,
                Output::Event(Event::Completed { seq, latency, .. }) => {
                    completed = true;
                    report.completed_total += 1;
                    report.last_acked_seq[i] = seq;
                    if now >= warm_end && now <= end {
                        report.completed += 1;
                        let _ = hist.record(latency.as_nanos().max(1));
                    }
                }
                Output::Event(Event::Retransmitted { .. }) => report.retransmits += 1,
                Output::Event(_) => {}
            }
        }
        completed
    }
}
