//! The core benchmark: how many requests per second the replica code sustains when `n`
//! replicas and closed-loop clients run in one single-threaded loop (no network, no
//! serialization), so protocol and USIG costs are all that is measured.
//!
//! The library stays clock-free: the caller passes `clock`, a function returning
//! monotonic nanoseconds (e.g. from `std::time::Instant`), read once before and once after
//! the run.

use crate::error::ProtocolError;
use crate::minbft::auth::ClientAuth;
use crate::minbft::config::Config;
use crate::minbft::messages::MessageKind;
use crate::service::NullService;
use crate::testkit::{Cluster, ClusterOptions, NetworkFaults};
use minlab_usig::{AnyUsig, KeySet, UsigKind};

/// What to run.
#[derive(Clone, Debug)]
pub struct CoreBenchConfig {
    /// Faults tolerated (`n = 2f + 1`).
    pub f: u32,
    /// Closed-loop clients.
    pub clients: u32,
    /// `batch_size_max`.
    pub batch_size_max: usize,
    /// Operations to complete (after warm-up).
    pub requests: u64,
    /// Operations completed before the clock starts.
    pub warmup: u64,
    /// USIG backend.
    pub usig: UsigKind,
    /// Client authentication.
    pub client_auth: ClientAuth,
    /// Checkpoint period `cp`.
    pub checkpoint_period: u64,
    /// Replicas keep a write-ahead log (in memory here: the encoding and append cost,
    /// and how many `fdatasync`s a disk would need).
    pub durable: bool,
}

impl CoreBenchConfig {
    /// 3 replicas with HMAC-SHA1 USIGs, no client authentication, null operations.
    pub fn new(clients: u32, batch_size_max: usize, requests: u64) -> Self {
        CoreBenchConfig {
            f: 1,
            clients,
            batch_size_max,
            requests,
            warmup: requests / 10,
            usig: UsigKind::HmacSha1,
            client_auth: ClientAuth::None,
            checkpoint_period: 32,
            durable: false,
        }
    }
}

/// What was measured.
#[derive(Clone, Debug, PartialEq)]
pub struct CoreBenchReport {
    /// Operations timed.
    pub requests: u64,
    /// Wall-clock nanoseconds for them.
    pub elapsed_ns: u128,
    /// Operations per second.
    pub req_per_s: f64,
    /// Messages delivered per operation (requests, PREPAREs, COMMITs, CHECKPOINTs, replies).
    pub msgs_per_req: f64,
    /// `create_ui` calls per operation, all replicas.
    pub usig_creates_per_req: f64,
    /// `verify_ui` calls per operation, all replicas.
    pub usig_verifies_per_req: f64,
    /// Average requests per PREPARE.
    pub batch_size_avg: f64,
    /// Messages rejected (should be 0).
    pub rejections: u64,
    /// Write-ahead log bytes appended per request, all replicas together.
    pub wal_bytes_per_req: f64,
    /// Replica steps that appended to a log per request, all replicas together: the
    /// `fdatasync`s a disk would need with group commit.
    pub wal_syncs_per_req: f64,
}

/// Builds the benchmark cluster (exposed so that benchmarks can time it themselves).
pub fn core_cluster(cfg: &CoreBenchConfig) -> Result<Cluster<AnyUsig, NullService>, ProtocolError> {
    let mut config = Config::new(cfg.f, cfg.clients);
    config.batch_size_max = cfg.batch_size_max;
    config.client_auth = cfg.client_auth;
    config.checkpoint_period = cfg.checkpoint_period;
    config.log_window = 4 * cfg.checkpoint_period;
    config.fifo_window = config.log_window;
    config.durable = cfg.durable;
    let keys = KeySet::from_seed(config.replica_count, 1);
    let opts = ClusterOptions {
        config,
        seed: 1,
        faults: NetworkFaults::default(),
        record: false,
        operations: u64::MAX,
    };
    let kind = cfg.usig;
    Cluster::new(
        opts,
        |r| AnyUsig::new(kind, r, &keys).expect("replica id is in range"),
        |_| NullService::new(),
        Box::new(|_, _| Vec::new()),
    )
}

/// Runs the benchmark; `clock()` returns monotonic nanoseconds.
pub fn bench_core(
    cfg: &CoreBenchConfig,
    clock: impl Fn() -> u128,
) -> Result<CoreBenchReport, ProtocolError> {
    let mut cluster = core_cluster(cfg)?;
    cluster.start();
    let steps_max = u64::MAX;
    cluster.run_until_completed(cfg.warmup, steps_max);
    let before = cluster.metrics();
    let (done0, msgs0) = (cluster.completed(), cluster.deliveries());
    let (bytes0, syncs0) = (cluster.wal_bytes, cluster.wal_syncs);
    let t0 = clock();
    cluster.run_until_completed(done0 + cfg.requests, steps_max);
    let elapsed_ns = clock().saturating_sub(t0).max(1);
    let after = cluster.metrics();
    let requests = cluster.completed() - done0;
    let per = |x: u64| x as f64 / requests.max(1) as f64;
    let prepares = after.sent_of(MessageKind::Prepare) - before.sent_of(MessageKind::Prepare);
    Ok(CoreBenchReport {
        requests,
        elapsed_ns,
        req_per_s: requests as f64 * 1e9 / elapsed_ns as f64,
        msgs_per_req: per(cluster.deliveries() - msgs0),
        usig_creates_per_req: per(after.usig_creates - before.usig_creates),
        usig_verifies_per_req: per(after.usig_verifies - before.usig_verifies),
        batch_size_avg: requests as f64 / prepares.max(1) as f64,
        rejections: after.rejections_total(),
        wal_bytes_per_req: per(cluster.wal_bytes - bytes0),
        wal_syncs_per_req: per(cluster.wal_syncs - syncs0),
    })
}
