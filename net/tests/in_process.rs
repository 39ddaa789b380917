//! Three replicas and a load client in one process, over real loopback sockets: the
//! cluster serves a workload and converges (MinBFT and MinZyzyva, the latter also with a
//! backup stopped mid-run); hostile connections (garbage, truncated, oversized,
//! unauthenticated, bad MACs) are refused and counted without a panic, without unbounded
//! buffering, and without stopping service.

use minlab_net::accept::CLIENT_FRAME_BYTES_MAX;
use minlab_net::channel::{ChannelKeys, connect_clients, connect_replica};
use minlab_net::config::{FORMAT, ProtocolParams, ReplicaEntry};
use minlab_net::status::hex;
use minlab_net::{
    ClusterConfig, LoadOptions, NodeHandle, NodeOptions, NodeStatus, ProtocolKind, ServiceKind,
};
use minlab_protocols::minbft::ClientAuth;
use minlab_usig::{KeySet, UsigKind};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

struct TestCluster {
    _dir: tempfile::TempDir,
    config: Arc<ClusterConfig>,
    keys: KeySet,
    listeners: Vec<Option<std::net::TcpListener>>,
}

fn cluster(usig: UsigKind) -> TestCluster {
    cluster_of(ProtocolKind::MinBft, usig)
}

fn cluster_of(protocol: ProtocolKind, usig: UsigKind) -> TestCluster {
    let zyzyva = protocol == ProtocolKind::MinZyzyva;
    let dir = tempfile::tempdir().unwrap();
    let keys = KeySet::from_seed(3, 11);
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    let mut listeners = Vec::new();
    let mut replica = Vec::new();
    for id in 0..3 {
        let keys_rel = format!("keys/replica-{id}.toml");
        keys.for_replica(id)
            .save(dir.path().join(&keys_rel))
            .unwrap();
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        replica.push(ReplicaEntry {
            id,
            addr: l.local_addr().unwrap(),
            keys: keys_rel.into(),
            tcti: None,
            usig_public_key: zyzyva.then(|| hex(keys.ed25519_public(id).unwrap())),
            usig_tpm_identity: None,
        });
        listeners.push(Some(l));
    }
    let config = ClusterConfig {
        format: FORMAT.into(),
        usig: usig.into(),
        service: ServiceKind::Kv,
        client_count: 8,
        client_auth: ClientAuth::MacAuthenticator,
        client_key_seed: 5,
        counter_block: 1000,
        protocol: ProtocolParams {
            name: zyzyva.then_some(protocol),
            batch_size_max: Some(8),
            checkpoint_period: Some(16),
            log_window: Some(64),
            ..Default::default()
        },
        replica,
        dir: dir.path().to_path_buf(),
    };
    config.validate().unwrap();
    TestCluster {
        _dir: dir,
        config: Arc::new(config),
        keys,
        listeners,
    }
}

impl TestCluster {
    async fn start(&mut self) -> Vec<NodeHandle> {
        let mut nodes = Vec::new();
        for id in 0..3u32 {
            let l = self.listeners[id as usize].take();
            nodes.push(
                minlab_net::start_node(self.config.clone(), NodeOptions::new(id), l)
                    .await
                    .unwrap(),
            );
        }
        nodes
    }

    async fn load(&self, clients: u32, millis: u64) -> minlab_net::LoadReport {
        self.load_from(0, clients, millis).await
    }

    async fn load_from(&self, first: u32, clients: u32, millis: u64) -> minlab_net::LoadReport {
        let opts = LoadOptions {
            clients,
            first_client: first,
            duration: Duration::from_millis(millis),
            warmup: Duration::ZERO,
            connect_timeout: Duration::from_secs(10),
            wan: None,
        };
        minlab_net::run_load(&self.config, &opts).await.unwrap()
    }
}

/// Waits (bounded) until every node reports the same execution position and state
/// digest, and has executed every acknowledged request; returns the statuses.
async fn converged(nodes: &[NodeHandle], acked: &[u64]) -> Vec<NodeStatus> {
    let mut last = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = nodes
            .iter()
            .map(|n| n.status.borrow().clone())
            .collect::<Vec<_>>();
        let same = last.windows(2).all(|w| {
            w[0].executed_requests == w[1].executed_requests
                && w[0].service_digest == w[1].service_digest
        });
        let complete = last.iter().all(|s| {
            acked
                .iter()
                .enumerate()
                .all(|(c, a)| s.last_executed_by_client.get(c).is_some_and(|e| e >= a))
        });
        if same && complete {
            return last;
        }
    }
    panic!("replicas did not converge: {last:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_serve_a_workload_and_converge() {
    for usig in [UsigKind::HmacSha1, UsigKind::Ed25519] {
        let mut c = cluster(usig);
        let nodes = c.start().await;
        let report = c.load(4, 500).await;
        assert!(report.completed_total > 20, "{usig}: {report:?}");
        assert_eq!(report.outstanding_at_end, 0, "{report:?}");
        let statuses = converged(&nodes, &report.last_acked_seq).await;
        assert!(statuses[0].executed_requests >= report.completed_total);
        assert!(
            statuses
                .iter()
                .all(|s| s.net.frames_bad_mac == 0 && s.net.frames_undecodable == 0)
        );
        assert!(statuses[0].primary && statuses[0].view == 0);
        for n in nodes {
            let s = n.stop().await;
            assert!(s.usig_counter_last > 0);
        }
    }
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn eventually(
    what: &str,
    node: &NodeHandle,
    f: impl Fn(&minlab_net::metrics::NetMetricsSnapshot) -> bool,
) {
    for _ in 0..200 {
        if f(&node.metrics.snapshot()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: {:?}", node.metrics.snapshot());
}

/// A connection that has passed the client handshake with replica 1.
async fn client_conn(addr: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    connect_clients(&mut s, 1, 0, 1).await.unwrap();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_frames_are_refused_counted_and_bounded() {
    let mut c = cluster(UsigKind::HmacSha1);
    let nodes = c.start().await;
    let target = &nodes[1];
    let addr = target.addr;

    // Garbage instead of a handshake, and an oversized handshake frame.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"\x00\x00\x00\x05hello, world").await.unwrap();
    let mut s2 = TcpStream::connect(addr).await.unwrap();
    s2.write_all(&[0xff; 8]).await.unwrap();
    eventually("garbage handshakes refused", target, |m| {
        m.handshakes_refused >= 2
    })
    .await;

    // Impostor (replica 0 with other keys) and a replica outside the group.
    let other = KeySet::from_seed(3, 99);
    let mut s = TcpStream::connect(addr).await.unwrap();
    assert!(
        connect_replica(&mut s, &ChannelKeys::derive(0, &other).unwrap(), 1)
            .await
            .is_err()
    );
    drop(s);
    let big = KeySet::from_seed(5, 11);
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = connect_replica(&mut s, &ChannelKeys::derive(4, &big).unwrap(), 1).await;
    drop(s);
    eventually("impostors refused", target, |m| m.handshakes_refused >= 4).await;

    // A real replica-0 channel whose next frame carries a wrong MAC.
    let k0 = ChannelKeys::derive(0, &c.keys.for_replica(0)).unwrap();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _mac = connect_replica(&mut s, &k0, 1).await.unwrap();
    let mut frame = 20u32.to_be_bytes().to_vec();
    frame.extend_from_slice(&[7u8; 20]);
    s.write_all(&frame).await.unwrap();
    eventually("bad MAC counted", target, |m| m.frames_bad_mac == 1).await;

    // Client connections: an undecodable frame, an oversized prefix, a truncated frame.
    let mut s = client_conn(addr).await;
    s.write_all(&[0, 0, 0, 3, 0xee, 0xee, 0xee]).await.unwrap();
    let mut s = client_conn(addr).await;
    s.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    let mut s = client_conn(addr).await;
    s.write_all(&[0, 0, 0, 100, 1, 2, 3]).await.unwrap();
    s.shutdown().await.unwrap();
    eventually("bad client frames counted", target, |m| {
        m.frames_undecodable == 1 && m.frames_oversized == 1 && m.frames_truncated == 1
    })
    .await;

    // Client frames are limited to CLIENT_FRAME_BYTES_MAX; announcing one that large and
    // stalling costs only what was sent: 40 connections each claiming 256 KiB but sending
    // 64 KiB buffer about 2.5 MiB, not 10 MiB.
    let mut s = client_conn(addr).await;
    s.write_all(&(CLIENT_FRAME_BYTES_MAX as u32 + 1).to_be_bytes())
        .await
        .unwrap();
    eventually("client frame limit", target, |m| m.frames_oversized == 2).await;
    let before = rss_kib();
    let mut stalled = Vec::new();
    for _ in 0..40 {
        let mut s = client_conn(addr).await;
        s.write_all(&(CLIENT_FRAME_BYTES_MAX as u32).to_be_bytes())
            .await
            .unwrap();
        s.write_all(&vec![0u8; 64 << 10]).await.unwrap();
        stalled.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let grown_mib = rss_kib().saturating_sub(before) / 1024;
    assert!(grown_mib < 32, "RSS grew by {grown_mib} MiB");

    // None of it stopped the service.
    let report = c.load(2, 300).await;
    assert!(
        report.completed_total > 5 && report.outstanding_at_end == 0,
        "{report:?}"
    );
    drop(stalled);
    for n in nodes {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wan_emulation_delays_every_hop() {
    // 5 ms on every frame: a request needs at least three one-way delays (request to the
    // primary, PREPARE to a backup, replies), so no operation can complete in under 15 ms.
    let wan = minlab_net::wan::WanDelay::parse("5ms", Some("10%")).unwrap();
    let mut c = cluster(UsigKind::HmacSha1);
    let mut nodes = Vec::new();
    for id in 0..3u32 {
        let mut opts = NodeOptions::new(id);
        opts.wan = Some(wan);
        let l = c.listeners[id as usize].take();
        nodes.push(
            minlab_net::start_node(c.config.clone(), opts, l)
                .await
                .unwrap(),
        );
    }
    let opts = LoadOptions {
        clients: 2,
        first_client: 0,
        duration: Duration::from_millis(500),
        warmup: Duration::ZERO,
        connect_timeout: Duration::from_secs(10),
        wan: Some(wan),
    };
    let report = minlab_net::run_load(&c.config, &opts).await.unwrap();
    assert!(report.completed > 0, "{report:?}");
    assert!(report.latency.p50_us >= 13_500.0, "{:?}", report.latency);
    for n in nodes {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_replica_restarts_from_its_write_ahead_log() {
    let mut c = cluster(UsigKind::HmacSha1);
    let mut cfg = (*c.config).clone();
    cfg.protocol.durable = Some(true);
    c.config = Arc::new(cfg);
    let mut nodes = c.start().await;
    let first = c.load(4, 500).await;
    assert!(first.completed_total > 40, "{first:?}");
    converged(&nodes, &first.last_acked_seq).await;
    let before = nodes.remove(1).stop().await;
    assert!(
        before.low_water_mark > 0,
        "a checkpoint became stable: {before:?}"
    );
    let wal = c.config.data_dir(1).join("wal.log");
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);
    let restarted = minlab_net::start_node(c.config.clone(), NodeOptions::new(1), None)
        .await
        .unwrap();
    // Before any new request: the restarted replica is back at its stable checkpoint (a
    // replica without the log would restart from the initial state, at 0).
    let mut recovered = restarted.status.borrow().clone();
    for _ in 0..100 {
        if recovered.low_water_mark > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        recovered = restarted.status.borrow().clone();
    }
    assert_eq!(
        recovered.low_water_mark, before.low_water_mark,
        "{recovered:?}"
    );
    nodes.insert(1, restarted);
    // Fresh clients (4..8): the first ones' request numbers are used up.
    let opts = LoadOptions {
        clients: 4,
        first_client: 4,
        duration: Duration::from_millis(500),
        warmup: Duration::ZERO,
        connect_timeout: Duration::from_secs(10),
        wan: None,
    };
    let second = minlab_net::run_load(&c.config, &opts).await.unwrap();
    assert!(second.completed_total > 20, "{second:?}");
    let mut acked = first.last_acked_seq.clone();
    acked.extend(&second.last_acked_seq);
    converged(&nodes, &acked).await;
    // The restarted replica ends in the others' view. Polled (bounded): a view change it
    // takes part in may still be completing when executions have converged, and statuses
    // are published once per turn.
    let mut views = Vec::new();
    for _ in 0..50 {
        views = nodes.iter().map(|n| n.status.borrow().view).collect();
        if views.windows(2).all(|w| w[0] == w[1]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(views.windows(2).all(|w| w[0] == w[1]), "views {views:?}");
    for n in nodes {
        n.stop().await;
    }
}

/// Waits (bounded) until every MinZyzyva node reports the same speculative history (length
/// and digest), execution count and service digest, and has executed every acknowledged
/// request of `acked` (client id -> request number).
async fn histories_converged(nodes: &[&NodeHandle], acked: &[(u32, u64)]) -> Vec<NodeStatus> {
    let mut last = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = nodes.iter().map(|n| n.status.borrow().clone()).collect();
        let key = |s: &NodeStatus| {
            (
                s.history.clone().map(|h| (h.len, h.digest)),
                s.executed_requests,
                s.service_digest.clone(),
            )
        };
        let same = last.windows(2).all(|w| key(&w[0]) == key(&w[1]));
        let complete = last.iter().all(|s| {
            s.history.is_some()
                && acked
                    .iter()
                    .all(|(c, a)| s.last_executed_by_client[*c as usize] >= *a)
        });
        if same && complete {
            return last;
        }
    }
    panic!("MinZyzyva replicas did not converge: {last:#?}");
}

fn acked(r: &minlab_net::LoadReport, first: u32) -> Vec<(u32, u64)> {
    (first..).zip(r.last_acked_seq.iter().copied()).collect()
}

// Paper §5, gracious execution: with every replica up, clients complete on 2f + 1
// matching RESPONSEs, and replicas that processed the same ORDER-REQs share a history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minzyzyva_replicas_serve_a_workload_and_converge() {
    let mut c = cluster_of(ProtocolKind::MinZyzyva, UsigKind::Ed25519);
    let nodes = c.start().await;
    let report = c.load(4, 500).await;
    assert!(report.completed_total > 20, "{report:?}");
    assert_eq!(report.outstanding_at_end, 0, "{report:?}");
    let all: Vec<&NodeHandle> = nodes.iter().collect();
    let statuses = histories_converged(&all, &acked(&report, 0)).await;
    assert!(statuses[0].executed_requests >= report.completed_total);
    assert!(statuses[0].primary && statuses[0].view == 0);
    for s in &statuses {
        // Checkpoints every 16 ORDER-REQs became stable, committing a prefix.
        assert!(s.low_water_mark >= 16 && s.committed_requests > 0, "{s:?}");
        assert!(s.net.frames_bad_mac == 0 && s.net.frames_undecodable == 0);
        assert!(s.rejections.is_empty(), "{s:?}");
    }
    for n in nodes {
        assert!(n.stop().await.usig_counter_last > 0);
    }
}

// Paper §5, non-gracious execution: with a backup gone, no client sees 2f + 1 matching
// responses; its timer sends a commit certificate of f + 1 and it completes on f + 1
// LOCAL-COMMITs. Requests in flight when the backup stops complete too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minzyzyva_clients_complete_with_a_backup_stopped_mid_run() {
    let mut c = cluster_of(ProtocolKind::MinZyzyva, UsigKind::Ed25519);
    let mut nodes = c.start().await;
    let config = c.config.clone();
    let load = tokio::spawn(async move {
        let opts = LoadOptions {
            clients: 4,
            first_client: 0,
            duration: Duration::from_millis(1500),
            warmup: Duration::ZERO,
            connect_timeout: Duration::from_secs(10),
            wan: None,
        };
        minlab_net::run_load(&config, &opts).await.unwrap()
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopped = nodes.remove(2).stop().await;
    assert!(stopped.executed_requests > 0, "{stopped:?}");
    let report = load.await.unwrap();
    assert_eq!(report.outstanding_at_end, 0, "{report:?}");
    assert!(report.commits_sent > 0, "no commit certificate: {report:?}");
    let survivors: Vec<&NodeHandle> = nodes.iter().collect();
    let statuses = histories_converged(&survivors, &acked(&report, 0)).await;
    // Work went on after the stop, through commit certificates.
    assert!(
        statuses[0].executed_requests > stopped.executed_requests,
        "{stopped:?}\n{statuses:?}"
    );
    assert!(statuses.iter().all(|s| s.committed_requests > 0));
    for n in nodes {
        n.stop().await;
    }
}

// A MinZyzyva replica keeps no history across restarts: starting it again under the same
// keys is refused (a fresh history would rejoin unsoundly, a fresh counter would repeat
// counter values).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minzyzyva_replica_that_ran_before_refuses_to_restart() {
    let mut c = cluster_of(ProtocolKind::MinZyzyva, UsigKind::Ed25519);
    let l = c.listeners[1].take();
    let node = minlab_net::start_node(c.config.clone(), NodeOptions::new(1), l)
        .await
        .unwrap();
    node.stop().await;
    // On a fresh port: the refusal must not depend on how soon the old one is released.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let e = minlab_net::start_node(c.config.clone(), NodeOptions::new(1), Some(l))
        .await
        .err()
        .expect("a restart is refused")
        .to_string();
    assert!(
        e.contains("ran before") && e.contains("cluster init"),
        "{e}"
    );
}

// Clients verify UIs with the file's keys: a file whose keys are not the replicas' is
// refused when the replica starts, not discovered as silently rejected responses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minzyzyva_file_with_wrong_public_keys_is_refused() {
    let mut c = cluster_of(ProtocolKind::MinZyzyva, UsigKind::Ed25519);
    let mut cfg = (*c.config).clone();
    let other = KeySet::from_seed(3, 12);
    cfg.replica[2].usig_public_key = Some(hex(other.ed25519_public(2).unwrap()));
    c.config = Arc::new(cfg);
    let e = minlab_net::start_node(c.config.clone(), NodeOptions::new(0), c.listeners[0].take())
        .await
        .err()
        .expect("mismatched keys are refused")
        .to_string();
    assert!(
        e.contains("replica 2's usig_public_key does not match"),
        "{e}"
    );
}
