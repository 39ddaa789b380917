//! Three replicas with TPM 2.0 USIGs, one private swtpm each, over real loopback sockets.
//! MinBFT: the cluster serves a workload and converges; a crashed replica restarts without
//! a counter gap, so that it and the primary alone still commit requests; every UI came
//! from the replicas' TPM counters. MinZyzyva: clients verify the TPMs' UIs from the
//! identities in the cluster file, and complete nothing with wrong ones; a durable
//! MinZyzyva primary restarts from its write-ahead log on its TPM, and a view change on the
//! TPMs follows its final crash. Runs with the
//! `tpm` feature (scripts/test, one test at a time) and needs swtpm.
#![cfg(feature = "tpm")]

use minlab_net::config::{FORMAT, ProtocolParams, ReplicaEntry, TpmIdentityEntry, UsigBackend};
use minlab_net::{ClusterConfig, LoadOptions, NodeOptions, NodeStatus, ProtocolKind, ServiceKind};
use minlab_protocols::minbft::ClientAuth;
use minlab_usig::KeySet;
use minlab_usig::tpm::swtpm::Swtpm;
use minlab_usig::tpm::{TpmConfig, provision};
use std::sync::Arc;
use std::time::Duration;

/// Waits (bounded) until every node has executed at least `executed` requests and all
/// report the same service digest; returns their statuses.
async fn converged(nodes: &[minlab_net::NodeHandle], executed: u64) -> Vec<NodeStatus> {
    let mut statuses = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        statuses = nodes.iter().map(|n| n.status.borrow().clone()).collect();
        let done = statuses.iter().all(|s: &NodeStatus| {
            s.executed_requests >= executed && s.service_digest == statuses[0].service_digest
        });
        if done {
            return statuses;
        }
    }
    panic!("replicas did not converge: {statuses:#?}");
}

/// Three provisioned swtpms, key files holding their identities, and a cluster file of
/// `protocol` over them (saved and loaded back), with the replicas' listening sockets.
struct TpmCluster {
    dir: tempfile::TempDir,
    tpms: Vec<Swtpm>,
    keys: KeySet,
    config: Arc<ClusterConfig>,
    listeners: Vec<std::net::TcpListener>,
}

fn tpm_cluster(protocol: ProtocolKind) -> TpmCluster {
    tpm_cluster_with(protocol, false)
}

/// As [`tpm_cluster`]; `durable` replicas keep a write-ahead log.
fn tpm_cluster_with(protocol: ProtocolKind, durable: bool) -> TpmCluster {
    let zyzyva = protocol == ProtocolKind::MinZyzyva;
    let dir = tempfile::tempdir().unwrap();
    let tpms: Vec<Swtpm> = (0..3)
        .map(|i| Swtpm::start(&dir.path().join(format!("swtpm-{i}"))).unwrap())
        .collect();
    let mut keys = KeySet::from_seed(3, 21);
    for (id, tpm) in (0..).zip(&tpms) {
        let identity = provision(&TpmConfig::new(tpm.tcti())).unwrap();
        keys.set_tpm_identity(id, identity).unwrap();
    }
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    let mut listeners = Vec::new();
    let mut replica = Vec::new();
    for (id, tpm) in (0..3).zip(&tpms) {
        let keys_rel = format!("keys/replica-{id}.toml");
        keys.for_replica(id)
            .save(dir.path().join(&keys_rel))
            .unwrap();
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        replica.push(ReplicaEntry {
            id,
            addr: l.local_addr().unwrap(),
            keys: keys_rel.into(),
            tcti: Some(tpm.tcti()),
            usig_public_key: None,
            // MinZyzyva's clients verify UIs with these.
            usig_tpm_identity: zyzyva
                .then(|| TpmIdentityEntry::new(keys.tpm_identity(id).unwrap())),
        });
        listeners.push(l);
    }
    let config = ClusterConfig {
        format: FORMAT.into(),
        usig: UsigBackend::Tpm,
        service: ServiceKind::Kv,
        client_count: 8,
        client_auth: ClientAuth::MacAuthenticator,
        client_key_seed: 5,
        counter_block: 1000,
        protocol: ProtocolParams {
            name: zyzyva.then_some(protocol),
            batch_size_max: Some(16),
            checkpoint_period: Some(8),
            log_window: Some(32),
            // Slow USIGs: clients wait for every replica's TPM before a commit certificate.
            retransmit_timeout: zyzyva.then(|| "1s".into()),
            durable: durable.then_some(true),
            ..Default::default()
        },
        replica,
        dir: dir.path().to_path_buf(),
    };
    config.validate().unwrap();
    let path = dir.path().join("cluster.toml");
    config.save(&path).unwrap();
    let config = Arc::new(ClusterConfig::load(&path).unwrap());
    TpmCluster {
        dir,
        tpms,
        keys,
        config,
        listeners,
    }
}

/// Replica `id`'s TPM counter value, read by provisioning again (idempotent).
fn tpm_counter(tpm: &Swtpm) -> u64 {
    provision(&TpmConfig::new(tpm.tcti())).unwrap().counter_base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_with_tpm_usigs_serve_a_workload() {
    let TpmCluster {
        dir,
        tpms,
        keys,
        config,
        listeners,
    } = tpm_cluster(ProtocolKind::MinBft);
    let mut nodes = Vec::new();
    for (id, l) in (0..3).zip(listeners) {
        nodes.push(
            minlab_net::start_node(config.clone(), NodeOptions::new(id), Some(l))
                .await
                .unwrap(),
        );
    }
    let opts = LoadOptions {
        clients: 4,
        first_client: 0,
        duration: Duration::from_millis(1500),
        warmup: Duration::ZERO,
        connect_timeout: Duration::from_secs(10),
        wan: None,
    };
    let report = minlab_net::run_load(&config, &opts).await.unwrap();
    assert!(report.completed_total >= 10, "{report:?}");

    let statuses = converged(&nodes, report.completed_total).await;
    assert!(statuses[0].primary && statuses[0].view == 0);

    // Replica 2 crashes while idle and restarts: its TPM counter continues at exactly the
    // next value (no reservation gap, unlike the durable file counter), and it catches up.
    let addr2 = nodes[2].addr;
    let last2 = statuses[2].usig_counter_last;
    nodes.pop().unwrap().crash();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let l = std::net::TcpListener::bind(addr2).unwrap();
    nodes.push(
        minlab_net::start_node(config.clone(), NodeOptions::new(2), Some(l))
            .await
            .unwrap(),
    );
    let load = |first_client| LoadOptions {
        clients: 2,
        first_client,
        ..opts.clone()
    };
    let again = minlab_net::run_load(&config, &load(4)).await.unwrap();
    assert!(again.completed_total >= 5, "{again:?}");
    let executed = report.completed_total + again.completed_total;
    let statuses = converged(&nodes, executed).await;
    assert_eq!(
        statuses[2].usig_counter_resumed_at, last2,
        "{:?}",
        statuses[2]
    );
    assert!(statuses.iter().all(|s| s.net.frames_bad_mac == 0));

    // Then replica 1 crashes for good: requests now commit only with the restarted
    // replica 2's COMMITs.
    nodes.remove(1).crash();
    let last = minlab_net::run_load(&config, &load(6)).await.unwrap();
    assert!(last.completed_total >= 5, "{last:?}");

    // The counters of replicas 0 and 2 are their TPMs' counters: each TPM advanced by
    // exactly the UIs its replica issued (nothing interleaved, nothing burnt).
    for (id, node) in [0, 2].into_iter().zip(nodes) {
        let s = node.stop().await;
        assert!(s.usig_counter_last > 0, "replica {id}: {s:?}");
        let before = keys.tpm_identity(id).unwrap().counter_base;
        let now = tpm_counter(&tpms[id as usize]);
        assert_eq!(now, before + s.usig_counter_last, "replica {id}");
    }
    drop(tpms);
    drop(dir);
}

// Paper §5 on TPM USIGs: MinZyzyva's clients check every RESPONSE's UI_p and UI_s against
// the replicas' TPM identities listed in the cluster file (no TPM of their own).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn minzyzyva_clients_verify_the_replicas_tpm_uis() {
    let TpmCluster {
        dir,
        tpms,
        keys,
        config,
        listeners,
    } = tpm_cluster(ProtocolKind::MinZyzyva);
    let mut listeners: Vec<_> = listeners.into_iter().map(Some).collect();

    // A file listing the wrong TPM for a replica is refused when a replica starts.
    let mut swapped = (*config).clone();
    swapped.replica[2].usig_tpm_identity = swapped.replica[1].usig_tpm_identity.clone();
    let e = minlab_net::start_node(Arc::new(swapped), NodeOptions::new(0), Some(any_port()))
        .await
        .err()
        .expect("a wrong identity is refused")
        .to_string();
    assert!(
        e.contains("replica 2's usig_tpm_identity does not match"),
        "{e}"
    );

    let mut nodes = Vec::new();
    for (id, l) in (0..3).zip(&mut listeners) {
        nodes.push(
            minlab_net::start_node(config.clone(), NodeOptions::new(id), l.take())
                .await
                .unwrap(),
        );
    }
    let opts = LoadOptions {
        clients: 2,
        first_client: 0,
        duration: Duration::from_millis(1000),
        warmup: Duration::ZERO,
        connect_timeout: Duration::from_secs(10),
        wan: None,
    };
    let report = minlab_net::run_load(&config, &opts).await.unwrap();
    assert!(
        report.completed_total >= 5 && report.outstanding_at_end == 0,
        "{report:?}"
    );
    assert!(report.last_acked_seq.iter().all(|&s| s > 0), "{report:?}");
    let statuses = converged(&nodes, report.completed_total).await;
    let histories: Vec<_> = statuses
        .iter()
        .map(|s| s.history.clone().map(|h| (h.len, h.digest)))
        .collect();
    assert!(histories[0].is_some(), "{statuses:?}");
    assert!(histories.windows(2).all(|w| w[0] == w[1]), "{histories:?}");

    // A client that believes in other TPM identities (counter bases shifted by one: every
    // UI names a counter value the TPM's audit chain does not certify) rejects every
    // response, although the replicas serve it: it never holds the f + 1 matching ones a
    // commit certificate needs, nor completes before it resends its request. (Once that
    // request lies at the replicas' stable checkpoint, their REPLYs, MACs without a UI, may
    // complete it.)
    let mut wrong = (*config).clone();
    for r in &mut wrong.replica {
        if let Some(identity) = &mut r.usig_tpm_identity {
            identity.counter_base += 1;
        }
    }
    let deceived = LoadOptions {
        clients: 1,
        first_client: 4,
        duration: Duration::from_millis(500),
        ..opts.clone()
    };
    let none = minlab_net::run_load(&wrong, &deceived).await.unwrap();
    assert_eq!(none.commits_sent, 0, "{none:?}");
    assert!(
        none.completed_total == 0 || none.retransmits > 0,
        "{none:?}"
    );

    // Every UI came from the TPMs: each counter advanced by exactly its replica's UIs.
    for (id, node) in (0..3).zip(nodes) {
        let s = node.stop().await;
        assert!(s.usig_counter_last > 0, "replica {id}: {s:?}");
        let before = keys.tpm_identity(id).unwrap().counter_base;
        let now = tpm_counter(&tpms[id as usize]);
        assert_eq!(now, before + s.usig_counter_last, "replica {id}");
    }

    // No restart (no history across restarts): refused by the mark in the data directory,
    // and without it, by the TPM counter that moved past the identity's base.
    let restart = || minlab_net::start_node(config.clone(), NodeOptions::new(0), Some(any_port()));
    let e = restart().await.err().expect("refused").to_string();
    assert!(
        e.contains("ran before") && e.contains("minzyzyva.started exists"),
        "{e}"
    );
    std::fs::remove_file(config.data_dir(0).join("minzyzyva.started")).unwrap();
    let e = restart().await.err().expect("refused").to_string();
    assert!(e.contains("ran before (its TPM counter is"), "{e}");
    drop(tpms);
    drop(dir);
}

// MinZyzyva crash recovery on TPM USIGs: the durable primary crashes and restarts from its
// write-ahead log (its TPM counter continues where it stopped: no reserved block, so no
// hole, and it keeps its view); then it crashes for good, and with one replica gone the
// clients complete through commit certificates after a view change on the TPMs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn durable_minzyzyva_on_tpms_restarts_from_its_log_and_changes_view() {
    let TpmCluster {
        dir,
        tpms,
        keys,
        config,
        listeners,
    } = tpm_cluster_with(ProtocolKind::MinZyzyva, true);
    let mut nodes = Vec::new();
    for (id, l) in (0..3).zip(listeners) {
        nodes.push(
            minlab_net::start_node(config.clone(), NodeOptions::new(id), Some(l))
                .await
                .unwrap(),
        );
    }
    let load = |first_client, millis| LoadOptions {
        clients: 2,
        first_client,
        duration: Duration::from_millis(millis),
        warmup: Duration::ZERO,
        connect_timeout: Duration::from_secs(10),
        wan: None,
    };
    let first = minlab_net::run_load(&config, &load(0, 1500)).await.unwrap();
    assert!(
        first.completed_total >= 5 && first.outstanding_at_end == 0,
        "{first:?}"
    );
    let statuses = converged(&nodes, first.completed_total).await;
    let last0 = statuses[0].usig_counter_last;

    // The primary crashes (no graceful shutdown) and restarts from its log.
    let addr0 = nodes[0].addr;
    nodes.remove(0).crash();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let l = std::net::TcpListener::bind(addr0).unwrap();
    nodes.insert(
        0,
        minlab_net::start_node(config.clone(), NodeOptions::new(0), Some(l))
            .await
            .unwrap(),
    );
    let second = minlab_net::run_load(&config, &load(2, 1500)).await.unwrap();
    assert!(
        second.completed_total >= 5 && second.outstanding_at_end == 0,
        "{second:?}"
    );
    let executed = first.completed_total + second.completed_total;
    let statuses = converged(&nodes, executed).await;
    assert_eq!(
        statuses[0].usig_counter_resumed_at, last0,
        "{:?}",
        statuses[0]
    );
    assert!(
        statuses[0].primary && statuses[0].view == 0,
        "{:?}",
        statuses[0]
    );
    let histories: Vec<_> = statuses
        .iter()
        .map(|s| s.history.clone().map(|h| (h.len, h.digest)))
        .collect();
    assert!(histories.windows(2).all(|w| w[0] == w[1]), "{histories:?}");

    // The primary crashes for good: backups time out on resent requests and change view.
    nodes.remove(0).crash();
    let third = minlab_net::run_load(&config, &load(4, 4000)).await.unwrap();
    assert!(
        third.completed_total >= 1 && third.commits_sent > 0,
        "{third:?}"
    );
    let statuses = converged(&nodes, executed + third.completed_total).await;
    assert!(statuses.iter().all(|s| s.view >= 1), "{statuses:?}");

    // Every UI came from the TPMs, across the primary's two lives too.
    for (id, node) in (1..3).zip(nodes) {
        let s = node.stop().await;
        let before = keys.tpm_identity(id).unwrap().counter_base;
        assert_eq!(
            tpm_counter(&tpms[id as usize]),
            before + s.usig_counter_last
        );
    }
    drop(tpms);
    drop(dir);
}

fn any_port() -> std::net::TcpListener {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap()
}
