//! Replica processes over TCP (`minlab node`, `minlab client`, `minlab cluster`), killed
//! with SIGKILL and restarted: no acknowledged operation is lost, replicas converge to the
//! same state, a restarted replica's USIG counter never repeats, and killing the primary
//! leads to a view change after which the workload continues; MinZyzyva processes serve a
//! workload, complete with a backup killed, and refuse to restart. Every child process is
//! killed when its guard drops, even when an assertion fails.

use minlab_net::{ClusterConfig, LoadReport, NodeStatus};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const MINLAB: &str = env!("CARGO_BIN_EXE_minlab");

/// A child process killed with SIGKILL (and reaped) when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Cluster {
    dir: tempfile::TempDir,
    config_path: PathBuf,
    config: ClusterConfig,
    nodes: Vec<Option<Proc>>,
}

fn run(args: &[&str]) -> Output {
    Command::new(MINLAB)
        .args(args)
        .output()
        .expect("minlab runs")
}

/// Three free loopback ports (bound together, then released).
fn free_ports() -> Vec<u16> {
    let ls: Vec<_> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    ls.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

impl Cluster {
    /// `minlab cluster init` (kv service, small checkpoint period so state transfer comes
    /// quickly, a 1000-value counter reservation), on free ports.
    fn init() -> Cluster {
        Cluster::init_with(false)
    }

    /// As [`Cluster::init`]; `durable` replicas keep a write-ahead log.
    fn init_with(durable: bool) -> Cluster {
        Cluster::init_from(&[], durable)
    }

    /// As [`Cluster::init`], with more `cluster init` flags.
    fn init_from(extra: &[&str], durable: bool) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().to_str().unwrap();
        let mut args = vec![
            "cluster",
            "init",
            "--out",
            out,
            "--service",
            "kv",
            "--clients-max",
            "64",
            "--batch-size",
            "8",
            "--counter-block",
            "1000",
        ];
        args.extend(extra);
        let o = run(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let config_path = dir.path().join("cluster.toml");
        let mut config = ClusterConfig::load(&config_path).unwrap();
        for (r, port) in config.replica.iter_mut().zip(free_ports()) {
            r.addr.set_port(port);
        }
        config.protocol.checkpoint_period = Some(16);
        config.protocol.log_window = Some(64);
        config.protocol.durable = durable.then_some(true);
        config.save(&config_path).unwrap();
        Cluster {
            dir,
            config_path,
            config,
            nodes: vec![None, None, None],
        }
    }

    fn data(&self, id: u32) -> PathBuf {
        self.config.data_dir(id)
    }

    fn ui_log(&self, id: u32) -> PathBuf {
        self.dir.path().join(format!("uis-{id}.log"))
    }

    fn start(&mut self, id: u32) {
        std::fs::create_dir_all(self.data(id)).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data(id).join("node.log"))
            .unwrap();
        let child = Command::new(MINLAB)
            .args([
                "node",
                "--config",
                self.config_path.to_str().unwrap(),
                "--id",
                &id.to_string(),
            ])
            .arg("--ui-log")
            .arg(self.ui_log(id))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.nodes[id as usize] = Some(Proc(child));
    }

    fn kill9(&mut self, id: u32) {
        // Child::kill sends SIGKILL.
        self.nodes[id as usize] = None;
    }

    /// A `minlab client` process with fresh client ids `first..first + clients`.
    fn client(&self, first: u32, clients: u32, duration: &str) -> Proc {
        let child = Command::new(MINLAB)
            .args([
                "client",
                "--config",
                self.config_path.to_str().unwrap(),
                "--json",
                "--warmup",
                "0s",
            ])
            .args([
                "--clients",
                &clients.to_string(),
                "--first-client",
                &first.to_string(),
            ])
            .args(["--duration", duration])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Proc(child)
    }

    fn status(&self, id: u32) -> Option<NodeStatus> {
        NodeStatus::read(&self.config.status_path(id)).ok()
    }

    /// Waits (bounded) until replicas `ids` report the same position and state digest and
    /// have executed every acknowledged request of `acked` (client id -> request number).
    fn converged(&self, ids: &[u32], acked: &[(u32, u64)]) -> Vec<NodeStatus> {
        let mut last = Vec::new();
        for _ in 0..150 {
            std::thread::sleep(Duration::from_millis(100));
            last = ids
                .iter()
                .filter_map(|i| self.status(*i))
                .collect::<Vec<_>>();
            if last.len() < ids.len() {
                continue;
            }
            let same = last.windows(2).all(|w| {
                (w[0].executed_requests, &w[0].service_digest)
                    == (w[1].executed_requests, &w[1].service_digest)
            });
            let complete = last.iter().all(|s| {
                acked
                    .iter()
                    .all(|(c, seq)| s.last_executed_by_client[*c as usize] >= *seq)
            });
            if same && complete {
                return last;
            }
        }
        panic!(
            "replicas {ids:?} did not converge:\n{last:#?}\nlogs in {}",
            self.dir.path().display()
        );
    }
}

fn finish(client: Proc) -> LoadReport {
    let mut p = client;
    let child = std::mem::replace(&mut p.0, Command::new("true").spawn().unwrap());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn acked(r: &LoadReport, first: u32) -> Vec<(u32, u64)> {
    r.last_acked_seq
        .iter()
        .enumerate()
        .map(|(i, s)| (first + i as u32, *s))
        .collect()
}

/// The counter ranges a replica issued, per incarnation, from its UI log.
fn incarnations(path: &Path) -> Vec<Vec<(u64, u64)>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out: Vec<Vec<(u64, u64)>> = Vec::new();
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["start", _pid, _base] => out.push(Vec::new()),
            [lo, hi] => out
                .last_mut()
                .unwrap()
                .push((lo.parse().unwrap(), hi.parse().unwrap())),
            _ => panic!("bad UI log line {line:?}"),
        }
    }
    out
}

#[test]
fn a_backup_killed_with_sigkill_restarts_without_repeating_a_counter_and_converges() {
    let mut c = Cluster::init();
    for id in 0..3 {
        c.start(id);
    }
    let client = c.client(0, 4, "5s");
    std::thread::sleep(Duration::from_millis(1500));
    let before = c.status(2).expect("replica 2 reported a status");
    assert!(before.executed_requests > 0, "{before:?}");
    c.kill9(2);
    std::thread::sleep(Duration::from_millis(300));
    c.start(2);
    let report = finish(client);
    assert!(
        report.completed_total > 0 && report.outstanding_at_end == 0,
        "{report:?}"
    );

    // Paper §4: a replica that lost its state must not lose acknowledged operations;
    // all three must end in the same state (the restarted one by state transfer).
    let statuses = c.converged(&[0, 1, 2], &acked(&report, 0));
    assert!(statuses[2].state_transfers >= 1, "{:?}", statuses[2]);

    // The restarted replica's counter values never repeat: strictly increasing within and
    // across incarnations, the new one starting above the old one's durable reservation.
    let inc = incarnations(&c.ui_log(2));
    assert_eq!(inc.len(), 2, "two incarnations of replica 2");
    let all: Vec<(u64, u64)> = inc.concat();
    assert!(all.iter().all(|(lo, hi)| lo <= hi));
    assert!(
        all.windows(2).all(|w| w[0].1 < w[1].0),
        "a counter value repeated: {all:?}"
    );
    let old_max = inc[0].last().map_or(0, |r| r.1);
    assert!(old_max > 0, "the first incarnation issued UIs");
    assert!(
        statuses[2].usig_counter_resumed_at >= old_max,
        "{:?}",
        statuses[2]
    );

    // A second load after the restart completes too.
    let again = finish(c.client(4, 2, "1s"));
    assert!(
        again.completed_total > 0 && again.outstanding_at_end == 0,
        "{again:?}"
    );
    c.converged(&[0, 1, 2], &acked(&again, 4));
}

#[test]
fn a_durable_backup_killed_with_sigkill_restarts_from_its_log_and_converges() {
    let mut c = Cluster::init_with(true);
    for id in 0..3 {
        c.start(id);
    }
    let client = c.client(0, 4, "8s");
    // Kill it once a checkpoint is stable there (polled: a loaded machine is slow to get
    // there, so no fixed sleep), while the load still runs.
    let mut before = None;
    for _ in 0..120 {
        std::thread::sleep(Duration::from_millis(50));
        if let Some(s) = c.status(2).filter(|s| s.low_water_mark > 0) {
            before = Some(s);
            break;
        }
    }
    let before = before.expect("a checkpoint became stable at replica 2 within 6 s");
    c.kill9(2);
    let wal = c.data(2).join("wal.log");
    assert!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > 0);
    std::thread::sleep(Duration::from_millis(300));
    c.start(2);
    let report = finish(client);
    assert!(
        report.completed_total > 0 && report.outstanding_at_end == 0,
        "{report:?}"
    );
    let statuses = c.converged(&[0, 1, 2], &acked(&report, 0));
    // It came back from its log (at or past the checkpoint it had), with fresh counter
    // values: the reservation gap was announced with RESTART, so the others kept
    // processing its messages.
    assert!(statuses[2].low_water_mark >= before.low_water_mark);
    assert!(statuses[2].usig_counter_resumed_at >= before.usig_counter_last);
    let again = finish(c.client(4, 2, "1s"));
    assert!(
        again.completed_total > 0 && again.outstanding_at_end == 0,
        "{again:?}"
    );
    c.converged(&[0, 1, 2], &acked(&again, 4));
}

/// Starts a 3-replica cluster made with `cluster init` flags `init`, runs clients 0-1 for
/// `first`, kills the primary with SIGKILL and runs clients 2-3 for `second`: both loads
/// complete, and the two survivors converge in a later view, one of them its primary.
/// Returns their statuses.
fn primary_killed_mid_run(init: &[&str], first: &str, second: &str) -> Vec<NodeStatus> {
    let mut c = Cluster::init_from(init, false);
    for id in 0..3 {
        c.start(id);
    }
    let first = finish(c.client(0, 2, first));
    assert!(first.completed_total > 0, "{first:?}");
    c.kill9(0);
    let second = finish(c.client(2, 2, second));
    assert!(
        second.completed_total > 0 && second.outstanding_at_end == 0,
        "{second:?}"
    );
    let mut acked_all = acked(&first, 0);
    acked_all.extend(acked(&second, 2));
    let statuses = c.converged(&[1, 2], &acked_all);
    for s in &statuses {
        assert!(s.view >= 1 && s.view_changes >= 1, "{s:?}");
    }
    assert!(statuses.iter().any(|s| s.primary), "{statuses:?}");
    statuses
}

#[test]
fn killing_the_primary_triggers_a_view_change_and_the_workload_continues() {
    primary_killed_mid_run(&[], "1s", "4s");
}

/// The paper's §7 batch rule (`cluster init --batch-rule slots`) over TCP, through a view
/// change: the cluster file carries it, and every replica orders under it.
#[test]
fn the_slot_batch_rule_runs_over_tcp_through_a_view_change() {
    let statuses = primary_killed_mid_run(&["--batch-rule", "slots"], "1s", "2s");
    assert!(
        statuses.iter().all(|s| s.batches_executed > 0),
        "{statuses:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    assert!(
        run(&["cluster", "init", "--out", out, "--batch-rule", "slots"])
            .status
            .success()
    );
    let c = ClusterConfig::load(dir.path().join("cluster.toml")).unwrap();
    assert_eq!(
        c.protocol.batch_rule,
        Some(minlab_protocols::BatchRule::Slots)
    );
    let o = run(&[
        "cluster",
        "init",
        "--out",
        out,
        "--force",
        "--batch-rule",
        "fast",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected timer or slots"));
}

#[test]
fn cluster_commands_reject_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.toml");
    let o = run(&["node", "--config", missing.to_str().unwrap(), "--id", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("absent.toml"));
    let out = dir.path().to_str().unwrap();
    let o = run(&["cluster", "init", "--out", out, "--base-port", "65534"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(run(&["cluster", "init", "--out", out]).status.success());
    let o = run(&["cluster", "init", "--out", out]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    let cfg = dir.path().join("cluster.toml");
    let o = run(&["node", "--config", cfg.to_str().unwrap(), "--id", "7"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no replica 7"));
    let o = run(&[
        "client",
        "--config",
        cfg.to_str().unwrap(),
        "--clients",
        "999",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[
        "node",
        "--config",
        cfg.to_str().unwrap(),
        "--id",
        "0",
        "--delay",
        "soon",
    ]);
    assert_eq!(o.status.code(), Some(2));
    // A port taken by another program: `up` refuses rather than let that program answer
    // for the replica (which would fail to bind).
    let busy = dir.path().join("busy");
    let port = free_consecutive_ports();
    let _taken = std::net::TcpListener::bind(("127.0.0.1", port + 1)).unwrap();
    let args = [
        "--out",
        busy.to_str().unwrap(),
        "--base-port",
        &port.to_string(),
    ];
    assert!(
        run(&[&["cluster", "init"][..], &args].concat())
            .status
            .success()
    );
    let cfg = busy.join("cluster.toml");
    let o = run(&["cluster", "up", "--config", cfg.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "replica 1's address 127.0.0.1:{} is not free",
            port + 1
        )),
        "{stderr}"
    );
    assert!(!busy.join("data/replica-0/node.pid").exists());
}

/// A base port with the two following ports free too (checked, then released).
fn free_consecutive_ports() -> u16 {
    for _ in 0..100 {
        let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = first.local_addr().unwrap().port();
        if base > 65_000 {
            continue;
        }
        let rest: Vec<_> = (1..3)
            .filter_map(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).ok())
            .collect();
        if rest.len() == 2 {
            return base;
        }
    }
    panic!("no three consecutive free ports");
}

#[test]
fn cluster_up_client_down_and_bench() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let port = free_consecutive_ports().to_string();
    let o = run(&[
        "cluster",
        "init",
        "--out",
        out,
        "--base-port",
        &port,
        "--usig",
        "ed25519",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cfg = dir.path().join("cluster.toml");
    let cfg = cfg.to_str().unwrap();
    let o = run(&["cluster", "up", "--config", cfg]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let config = ClusterConfig::load(cfg).unwrap();
    // From here on, stop the nodes even if an assertion fails.
    struct Down<'a>(&'a str);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = run(&["cluster", "down", "--config", self.0]);
        }
    }
    let down = Down(cfg);
    let o = run(&["cluster", "up", "--config", cfg]);
    assert_eq!(o.status.code(), Some(2), "a second `up` is refused");
    assert!(String::from_utf8_lossy(&o.stderr).contains("already running"));
    for _ in 0..2 {
        // Two runs: the second gets fresh client ids (request numbers restart at 1).
        let o = run(&[
            "client",
            "--config",
            cfg,
            "--clients",
            "2",
            "--duration",
            "300ms",
            "--warmup",
            "0s",
            "--json",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r: LoadReport = serde_json::from_slice(&o.stdout).unwrap();
        assert!(r.completed > 0 && r.outstanding_at_end == 0, "{r:?}");
    }
    let pids: Vec<i32> = (0..3)
        .map(|i| {
            std::fs::read_to_string(config.data_dir(i).join("node.pid"))
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        })
        .collect();
    drop(down);
    for (i, pid) in pids.iter().enumerate() {
        assert!(!config.data_dir(i as u32).join("node.pid").exists());
        // The process is gone (or a zombie of nobody's: `up` exited long ago).
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "replica {i} still running: {stat}"
        );
    }
    // The final status was written at the graceful shutdown.
    let s = NodeStatus::read(&config.status_path(0)).unwrap();
    assert!(s.executed_requests > 0, "{s:?}");

    let port = free_consecutive_ports().to_string();
    let o = run(&[
        "cluster",
        "bench",
        "--clients",
        "1,2",
        "--duration",
        "300ms",
        "--warmup",
        "0s",
        "--json",
        "--base-port",
        &port,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let runs: Vec<LoadReport> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(runs.iter().map(|r| r.clients).collect::<Vec<_>>(), [1, 2]);
    assert!(runs.iter().all(|r| r.completed > 0));
}

#[test]
fn tpm_cluster_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let expect_error = |args: &[&str], needle: &str| {
        let o = run(args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    };
    let init = ["cluster", "init", "--out", out];
    expect_error(
        &[&init[..], &["--usig", "tpm", "--tcti", "x"]].concat(),
        "one --tcti per replica",
    );
    expect_error(
        &[&init[..], &["--tcti", "device:/dev/tpmrm0"]].concat(),
        "only for --usig tpm",
    );
    expect_error(&[&init[..], &["--usig", "tmp"]].concat(), "tpm");
    // Three TPMs that are not there: refused (a build without the tpm feature says so).
    let no_tpm = "swtpm:host=127.0.0.1,port=1";
    let tpm_init = [&init[..], &["--usig", "tpm"], &["--tcti", no_tpm].repeat(3)].concat();
    expect_error(
        &tpm_init,
        if cfg!(feature = "tpm") {
            "provisioning replica 0"
        } else {
            "--features tpm"
        },
    );
    assert!(!dir.path().join("cluster.toml").exists());
}

// Paper §5 over TCP: `minlab node` processes of a MinZyzyva cluster serve a workload and
// converge to one history; with a backup killed, clients complete through commit
// certificates; the killed backup refuses to restart (it keeps no history, and its
// counter must not be reused).
#[test]
fn minzyzyva_processes_serve_complete_without_a_backup_and_refuse_a_restart() {
    let mut c = Cluster::init_from(&["--protocol", "minzyzyva"], false);
    assert_eq!(
        c.config.protocol_kind(),
        minlab_net::ProtocolKind::MinZyzyva
    );
    assert_eq!(c.config.usig.name(), "ed25519");
    assert_eq!(c.config.usig_public_keys().unwrap().len(), 3);
    for id in 0..3 {
        c.start(id);
    }
    let first = finish(c.client(0, 2, "1s"));
    assert!(
        first.completed_total > 0 && first.outstanding_at_end == 0,
        "{first:?}"
    );
    let statuses = c.converged(&[0, 1, 2], &acked(&first, 0));
    // The committed prefix may lag by a status period; the histories themselves agree.
    let histories: Vec<_> = statuses
        .iter()
        .map(|s| s.history.clone().map(|h| (h.len, h.digest)))
        .collect();
    assert!(histories[0].is_some(), "{statuses:?}");
    assert!(histories.windows(2).all(|w| w[0] == w[1]), "{histories:?}");

    c.kill9(2);
    let second = finish(c.client(2, 2, "1s"));
    assert!(
        second.completed_total > 0 && second.outstanding_at_end == 0 && second.commits_sent > 0,
        "{second:?}"
    );
    c.converged(&[0, 1], &acked(&second, 2));

    c.start(2);
    let mut node = c.nodes[2].take().unwrap();
    let mut exited = None;
    for _ in 0..200 {
        exited = node.0.try_wait().unwrap();
        if exited.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        exited.and_then(|s| s.code()),
        Some(2),
        "the restart is refused"
    );
    let log = std::fs::read_to_string(c.data(2).join("node.log")).unwrap();
    assert!(log.contains("ran before"), "{log}");
}

// MinZyzyva crash recovery over TCP: durable replicas (a backup, then the primary) killed
// with SIGKILL mid-run restart from their write-ahead logs; no acknowledged operation is
// lost, the three converge to one history, the load goes on, and counter values never
// repeat across incarnations.
#[test]
fn durable_minzyzyva_replicas_killed_with_sigkill_restart_from_their_logs() {
    let mut c = Cluster::init_from(&["--protocol", "minzyzyva"], true);
    for id in 0..3 {
        c.start(id);
    }
    let client = c.client(0, 4, "6s");
    for victim in [2, 0] {
        // Kill it once a checkpoint is stable there (polled, no fixed sleep).
        let mut stable = false;
        for _ in 0..120 {
            std::thread::sleep(Duration::from_millis(50));
            if c.status(victim).is_some_and(|s| s.low_water_mark > 0) {
                stable = true;
                break;
            }
        }
        assert!(
            stable,
            "a checkpoint became stable at replica {victim} within 6 s"
        );
        c.kill9(victim);
        let wal = c.data(victim).join("wal.log");
        assert!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > 0);
        std::thread::sleep(Duration::from_millis(300));
        c.start(victim);
        std::thread::sleep(Duration::from_millis(700));
    }
    let report = finish(client);
    assert!(
        report.completed_total > 0 && report.outstanding_at_end == 0,
        "{report:?}"
    );
    let again = finish(c.client(4, 2, "1s"));
    assert!(
        again.completed_total > 0 && again.outstanding_at_end == 0,
        "{again:?}"
    );
    let statuses = c.converged(&[0, 1, 2], &acked(&again, 4));
    c.converged(&[0, 1, 2], &acked(&report, 0));
    let histories: Vec<_> = statuses
        .iter()
        .map(|s| s.history.clone().map(|h| (h.len, h.digest)))
        .collect();
    assert!(histories.windows(2).all(|w| w[0] == w[1]), "{histories:?}");
    // The restarted primary's counter file resumed past its reservation: values it never
    // sent left a hole in its ORDER-REQ stream, so it handed its view over.
    assert!(statuses.iter().all(|s| s.view >= 1), "{statuses:?}");
    for victim in [2, 0] {
        let log = std::fs::read_to_string(c.data(victim).join("node.log")).unwrap();
        assert!(log.contains("recovering from the write-ahead log"), "{log}");
        let inc = incarnations(&c.ui_log(victim));
        assert_eq!(inc.len(), 2, "two incarnations of replica {victim}");
        let all: Vec<(u64, u64)> = inc.concat();
        assert!(
            all.windows(2).all(|w| w[0].1 < w[1].0),
            "replica {victim} repeated a counter value: {all:?}"
        );
    }
}

#[test]
fn minzyzyva_cluster_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let expect_error = |args: &[&str], needle: &str| {
        let o = run(args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    };
    let init = ["cluster", "init", "--out", out, "--protocol", "minzyzyva"];
    // Paper §6: only MinBFT can use the HMAC USIG (MinZyzyva's clients verify UIs).
    for usig in ["hmac-sha1", "hmac-sha256"] {
        expect_error(
            &[&init[..], &["--usig", usig]].concat(),
            "needs usig = \"ed25519\"",
        );
    }
    assert!(!dir.path().join("keys").exists());
    // The TPM USIG is accepted (clients verify TPM UIs from the identities the cluster file
    // lists): three TPMs that are not there fail at provisioning, and nothing is written.
    let no_tpm = "swtpm:host=127.0.0.1,port=1";
    expect_error(
        &[&init[..], &["--usig", "tpm"], &["--tcti", no_tpm].repeat(3)].concat(),
        if cfg!(feature = "tpm") {
            "provisioning replica 0"
        } else {
            "--features tpm"
        },
    );
    expect_error(
        &["cluster", "init", "--out", out, "--protocol", "zyzzyva"],
        "expected minbft or minzyzyva",
    );
    assert!(!dir.path().join("cluster.toml").exists());
}

// Paper §5, view change: with the MinZyzyva primary killed, clients' resent requests reach
// the backups, which forward them, time out and change view; the new primary orders the
// rest, and both survivors end with one history.
#[test]
fn killing_the_minzyzyva_primary_changes_view_and_clients_complete() {
    let statuses = primary_killed_mid_run(&["--protocol", "minzyzyva"], "500ms", "3s");
    let history = |s: &NodeStatus| s.history.clone().map(|h| (h.len, h.digest));
    assert_eq!(history(&statuses[0]), history(&statuses[1]));
}
