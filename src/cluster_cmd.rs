//! `minlab cluster init|up|down|bench`: a whole MinBFT or MinZyzyva group of processes on
//! this machine (127.0.0.1, consecutive ports), for a quick try or a benchmark.

use crate::Outcome;
use crate::client_cmd::{print_report, report_line};
use crate::net_common::{WanArgs, allocate_clients, init_tracing, next_client_path, runtime};
use anyhow::{Context, Result, bail};
use minlab_net::config::{FORMAT, ProtocolParams, ReplicaEntry, TpmIdentityEntry, UsigBackend};
use minlab_net::status::hex;
use minlab_net::{ClusterConfig, LoadOptions, ProtocolKind, ServiceKind, run_load};
use minlab_protocols::BatchRule;
use minlab_protocols::minbft::ClientAuth;
use minlab_usig::{DurableCounter, KeySet, UsigKind};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const EXAMPLES: &str = "\
Examples:
  minlab cluster init --replicas 3 --out cl/ --usig hmac-sha1 --base-port 7100
  minlab cluster up --config cl/cluster.toml          start the replicas in the background
  minlab client --config cl/cluster.toml --clients 16 --duration 5s
  minlab cluster down --config cl/cluster.toml        SIGTERM, then SIGKILL after 5 s
  minlab cluster bench --usig ed25519 --clients 1,64 --duration 5s --json
  minlab cluster bench --protocol minzyzyva --clients 1,64   (USIG ed25519: clients verify UIs)
  minlab cluster bench --protocol minzyzyva --usig tpm --clients 1   (clients verify TPM UIs)
  minlab cluster bench --usig tpm --clients 1,16     a private swtpm per replica
  minlab cluster init --usig tpm --out cl/ --tcti device:/dev/tpmrm0 --tcti ... (one per
    replica; each TPM is provisioned and every key file gets every replica's TPM identity)

Replica I keeps its counter, status.json, node.log and node.pid in DIR/data/replica-I/.
A MinZyzyva replica restarts only from its write-ahead log (`cluster init --durable`); without
it, once its counter file exists it refuses to start (`cluster init --protocol minzyzyva
--out NEW_DIR` for a new cluster).";

/// `minlab cluster` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Write a cluster file and fresh key files.
    Init(InitArgs),
    /// Start every replica of a cluster file as a background process.
    Up(UpArgs),
    /// Stop the replicas `up` started.
    Down(DownArgs),
    /// init + up + a client run per client count + down, in a temporary directory.
    Bench(BenchArgs),
}

/// Arguments of `minlab cluster`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

/// What a new cluster looks like.
#[derive(clap::Args, Debug, Clone)]
pub struct Shape {
    /// Protocol: minbft or minzyzyva (speculative; needs --usig ed25519, its default, or
    /// tpm: its clients verify UIs).
    #[arg(long, default_value = "minbft")]
    protocol: ProtocolKind,
    /// Number of replicas n = 2f + 1.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(3..=63))]
    replicas: u32,
    /// USIG backend: hmac-sha1, hmac-sha256, ed25519 or tpm (build with --features tpm)
    /// [default: hmac-sha1 for minbft, ed25519 for minzyzyva, which runs ed25519 or tpm].
    #[arg(long)]
    usig: Option<UsigBackend>,
    /// With --usig tpm: replica I's TPM is the I-th --tcti (give one per replica; `cluster
    /// bench` starts a private swtpm per replica when none is given).
    #[arg(long, value_name = "TCTI")]
    tcti: Vec<String>,
    /// Port of replica 0 on 127.0.0.1; replica I listens on base-port + I.
    #[arg(long, default_value_t = 7100)]
    base_port: u16,
    /// Replicated service: null (0-byte operations, as the paper's micro-benchmarks) or kv.
    #[arg(long, default_value = "null", value_parser = parse_service)]
    service: ServiceKind,
    /// Size of the client table (the most clients that may run).
    #[arg(long, default_value_t = 256)]
    clients_max: u32,
    /// Client authentication: none, mac-authenticator or ed25519.
    #[arg(long, default_value = "mac-authenticator", value_parser = parse_client_auth)]
    client_auth: ClientAuth,
    /// Most requests per PREPARE or ORDER-REQ (batching).
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// How long the primary waits to fill a batch. The default 0 sends, after each turn of
    /// the replica's event loop, a PREPARE with every request that arrived in that turn
    /// (tokio sleeps have millisecond resolution: on an idle replica a small non-zero value
    /// may wait up to 1 ms).
    #[arg(long, default_value = "0s")]
    batch_timeout: String,
    /// When the primary starts an agreement: timer (minlab's rule: a full batch, or what is
    /// queued when --batch-timeout expires) or slots (the paper's §7 rule: whatever is
    /// queued, whenever fewer than 32 agreements are outstanding; `outstanding_batches_max`
    /// in the cluster file).
    #[arg(long, default_value = "timer", value_parser = parse_batch_rule)]
    batch_rule: BatchRule,
    /// Values reserved per write of the durable USIG counter.
    #[arg(long, default_value_t = DurableCounter::DEFAULT_BLOCK)]
    counter_block: u64,
    /// A client's retransmission timeout [default: the protocol's 100 ms; 1 s with --usig
    /// tpm, whose UIs take milliseconds on swtpm and up to hundreds on chips].
    #[arg(long, value_name = "DURATION")]
    retransmit_timeout: Option<String>,
    /// T_exec, how long a backup waits for a request to execute before asking for a view
    /// change [default: the protocol's 500 ms; 5 s with --usig tpm].
    #[arg(long, value_name = "DURATION")]
    request_timeout: Option<String>,
    /// Replicas keep a write-ahead log (data/replica-I/wal.log, one fdatasync per step)
    /// and restart from it after a crash.
    #[arg(long)]
    durable: bool,
}

impl Shape {
    /// The USIG backend: as given, or the protocol's default.
    fn usig(&self) -> UsigBackend {
        self.usig.unwrap_or(match self.protocol {
            ProtocolKind::MinBft => UsigKind::HmacSha1.into(),
            ProtocolKind::MinZyzyva => UsigKind::Ed25519.into(),
        })
    }
}

fn parse_service(s: &str) -> Result<ServiceKind, String> {
    match s {
        "null" => Ok(ServiceKind::Null),
        "kv" => Ok(ServiceKind::Kv),
        _ => Err(format!("unknown service {s:?}; expected null or kv")),
    }
}

fn parse_batch_rule(s: &str) -> Result<BatchRule, String> {
    match s {
        "timer" => Ok(BatchRule::Timer),
        "slots" => Ok(BatchRule::Slots),
        _ => Err(format!("unknown batch rule {s:?}; expected timer or slots")),
    }
}

fn parse_client_auth(s: &str) -> Result<ClientAuth, String> {
    match s {
        "none" => Ok(ClientAuth::None),
        "mac-authenticator" => Ok(ClientAuth::MacAuthenticator),
        "ed25519" => Ok(ClientAuth::Ed25519),
        _ => Err(format!(
            "unknown client authentication {s:?}; expected none, mac-authenticator or ed25519"
        )),
    }
}

/// Arguments of `minlab cluster init`.
#[derive(clap::Args, Debug)]
pub struct InitArgs {
    #[command(flatten)]
    shape: Shape,
    /// Directory for cluster.toml, keys/ and data/ (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Replace an existing cluster file and keys.
    #[arg(long)]
    force: bool,
}

/// Arguments of `minlab cluster up`.
#[derive(clap::Args, Debug)]
pub struct UpArgs {
    /// The cluster file.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    #[command(flatten)]
    wan: WanArgs,
}

/// Arguments of `minlab cluster down`.
#[derive(clap::Args, Debug)]
pub struct DownArgs {
    /// The cluster file.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
}

/// Arguments of `minlab cluster bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    shape: Shape,
    /// Client counts to measure, one run each.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    clients: Vec<u32>,
    /// Measured period per run.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Warm-up per run.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Print one JSON object per run.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    wan: WanArgs,
}

/// Runs `minlab cluster ...`.
pub fn exec(args: &Args) -> Result<Outcome> {
    match &args.cmd {
        Cmd::Init(a) => {
            let path = init(&a.shape, &a.out, a.force)?;
            println!(
                "wrote {} and key files in {}",
                path.display(),
                a.out.join("keys").display()
            );
            Ok(Outcome::Held)
        }
        Cmd::Up(a) => up(a),
        Cmd::Down(a) => down(&a.config),
        Cmd::Bench(a) => bench(a),
    }
}

/// Writes `out/cluster.toml` and `out/keys/`; returns the cluster file's path.
pub fn init(shape: &Shape, out: &Path, force: bool) -> Result<PathBuf> {
    let path = out.join("cluster.toml");
    if path.exists() && !force {
        bail!(
            "refusing to overwrite {}; pass --force to replace it",
            path.display()
        );
    }
    let last_port = u32::from(shape.base_port) + shape.replicas - 1;
    if shape.base_port == 0 || last_port > u32::from(u16::MAX) {
        bail!(
            "--base-port {}: ports {}..={last_port} must be within 1..=65535",
            shape.base_port,
            shape.base_port
        );
    }
    let usig = shape.usig();
    let zyzyva = shape.protocol == ProtocolKind::MinZyzyva;
    if zyzyva {
        // Before any key is written or TPM provisioned.
        minlab_net::config::minzyzyva_usig(usig).map_err(|e| anyhow::anyhow!(e))?;
    }
    let tctis = match usig {
        UsigBackend::Tpm if shape.tcti.len() != shape.replicas as usize => bail!(
            "--usig tpm: give one --tcti per replica ({} given for {} replicas)",
            shape.tcti.len(),
            shape.replicas
        ),
        UsigBackend::Tpm => shape.tcti.clone(),
        UsigBackend::Software(_) if !shape.tcti.is_empty() => {
            bail!("--tcti is only for --usig tpm")
        }
        UsigBackend::Software(_) => Vec::new(),
    };
    let keys_dir = out.join("keys");
    std::fs::create_dir_all(&keys_dir)
        .with_context(|| format!("creating {}", keys_dir.display()))?;
    let mut keys = KeySet::generate(shape.replicas).context("generating keys")?;
    if !tctis.is_empty() {
        crate::cluster_tpm::provision_all(&mut keys, &tctis)?;
    }
    let mut replica = Vec::new();
    for id in 0..shape.replicas {
        let rel = PathBuf::from(format!("keys/replica-{id}.toml"));
        keys.for_replica(id).save(out.join(&rel))?;
        replica.push(ReplicaEntry {
            id,
            addr: format!("127.0.0.1:{}", u32::from(shape.base_port) + id).parse()?,
            keys: rel,
            tcti: tctis.get(id as usize).cloned(),
            // MinZyzyva's clients verify UIs: the file carries every USIG's public key,
            // or every TPM's identity.
            usig_public_key: (zyzyva && usig != UsigBackend::Tpm)
                .then(|| keys.ed25519_public(id).map(|k| hex(k)))
                .flatten(),
            usig_tpm_identity: (zyzyva && usig == UsigBackend::Tpm)
                .then(|| keys.tpm_identity(id).map(TpmIdentityEntry::new))
                .flatten(),
        });
    }
    keys.public_only().save(keys_dir.join("client.toml"))?;
    let mut seed = [0u8; 8];
    rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, &mut seed)
        .map_err(|e| anyhow::anyhow!("OS randomness: {e}"))?;
    let config = ClusterConfig {
        format: FORMAT.into(),
        usig,
        service: shape.service,
        client_count: shape.clients_max,
        client_auth: shape.client_auth,
        client_key_seed: u64::from_le_bytes(seed),
        counter_block: shape.counter_block,
        protocol: ProtocolParams {
            name: zyzyva.then_some(shape.protocol),
            batch_size_max: Some(shape.batch_size),
            batch_timeout: Some(shape.batch_timeout.clone()),
            batch_rule: (shape.batch_rule != BatchRule::Timer).then_some(shape.batch_rule),
            // A slow USIG stretches every step: keep clients from retransmitting and
            // backups from suspecting the primary merely because the TPM is slow.
            retransmit_timeout: shape
                .retransmit_timeout
                .clone()
                .or_else(|| (usig == UsigBackend::Tpm).then(|| "1s".to_string())),
            request_timeout: shape
                .request_timeout
                .clone()
                .or_else(|| (usig == UsigBackend::Tpm).then(|| "5s".to_string())),
            durable: shape.durable.then_some(true),
            ..ProtocolParams::default()
        },
        replica,
        dir: out.to_path_buf(),
    };
    config.validate().map_err(|e| anyhow::anyhow!(e))?;
    config.save(&path)?;
    // Read it back: what the nodes will load must be what we meant.
    ClusterConfig::load(&path)?;
    Ok(path)
}

fn pid_path(config: &ClusterConfig, id: u32) -> PathBuf {
    config.data_dir(id).join("node.pid")
}

fn alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks that the process exists.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Starts every replica of `config_path` as a child process logging to its data dir.
pub fn spawn_nodes(
    config_path: &Path,
    config: &ClusterConfig,
    wan: &WanArgs,
) -> Result<Vec<Child>> {
    let exe = std::env::current_exe().context("finding the minlab executable")?;
    for r in &config.replica {
        if let Some(pid) = read_pid(&pid_path(config, r.id)).filter(|p| alive(*p)) {
            bail!(
                "replica {} is already running (pid {pid}); `minlab cluster down` first",
                r.id
            );
        }
        // Another program on the port would answer `wait_ready` and the clients in place
        // of the replica, which fails to bind it.
        if let Err(e) = std::net::TcpListener::bind(r.addr) {
            bail!(
                "replica {}'s address {} is not free ({e}): another program (another \
                 cluster?) listens there; stop it or choose other ports (`cluster init \
                 --base-port`, `cluster bench --base-port`)",
                r.id,
                r.addr
            );
        }
    }
    let mut children = Vec::new();
    for r in &config.replica {
        let dir = config.data_dir(r.id);
        std::fs::create_dir_all(&dir)?;
        let log = std::fs::File::create(dir.join("node.log"))?;
        let child = Command::new(&exe)
            .arg("node")
            .arg("--config")
            .arg(config_path)
            .args(["--id", &r.id.to_string()])
            .args(wan.to_args())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting a node")?;
        std::fs::write(pid_path(config, r.id), format!("{}\n", child.id()))?;
        children.push(child);
    }
    Ok(children)
}

/// Waits until every replica accepts TCP connections, or one of `children` exits.
pub fn wait_ready(config: &ClusterConfig, children: &mut [Child]) -> Result<()> {
    for _ in 0..500 {
        for (i, c) in children.iter_mut().enumerate() {
            if let Some(status) = c.try_wait()? {
                bail!(
                    "replica {i} exited ({status}); see {}",
                    config.data_dir(i as u32).join("node.log").display()
                );
            }
        }
        let ready = config.replica.iter().all(|r| {
            std::net::TcpStream::connect_timeout(&r.addr, Duration::from_millis(100)).is_ok()
        });
        if ready {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("the replicas did not start listening within 10 s")
}

fn up(a: &UpArgs) -> Result<Outcome> {
    let config = ClusterConfig::load(&a.config)?;
    a.wan.parse()?;
    // Fresh replicas have an empty client table: every client id is free again.
    let _ = std::fs::remove_file(next_client_path(&config));
    let mut children = spawn_nodes(&a.config, &config, &a.wan)?;
    if let Err(e) = wait_ready(&config, &mut children) {
        for c in &mut children {
            let _ = c.kill();
            let _ = c.wait();
        }
        return Err(e);
    }
    for (r, c) in config.replica.iter().zip(&children) {
        println!("replica {} pid {} listening on {}", r.id, c.id(), r.addr);
    }
    Ok(Outcome::Held)
}

fn down(config_path: &Path) -> Result<Outcome> {
    let config = ClusterConfig::load(config_path)?;
    let mut pids = Vec::new();
    for r in &config.replica {
        let path = pid_path(&config, r.id);
        match read_pid(&path) {
            Some(pid) if alive(pid) => {
                // SAFETY: sending SIGTERM to a pid we started (from its pid file).
                unsafe { libc::kill(pid, libc::SIGTERM) };
                pids.push((r.id, pid, path));
            }
            Some(_) => {
                let _ = std::fs::remove_file(&path);
            }
            None => {}
        }
    }
    for _ in 0..250 {
        if pids.iter().all(|(_, p, _)| !alive(*p)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for (id, pid, path) in &pids {
        if alive(*pid) {
            // SAFETY: as above; it ignored SIGTERM for 5 s.
            unsafe { libc::kill(*pid, libc::SIGKILL) };
            println!("replica {id} (pid {pid}) killed");
        } else {
            println!("replica {id} (pid {pid}) stopped");
        }
        let _ = std::fs::remove_file(path);
    }
    if pids.is_empty() {
        println!("no replica was running");
    }
    Ok(Outcome::Held)
}

/// Child processes killed (and reaped) when dropped, even on an early return.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            // SAFETY: SIGTERM to our own child: a graceful stop first.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        }
        for c in &mut self.0 {
            for _ in 0..100 {
                if matches!(c.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn bench(a: &BenchArgs) -> Result<Outcome> {
    let total: u64 = a.clients.iter().map(|c| u64::from(*c)).sum();
    if a.clients.is_empty() || a.clients.contains(&0) || total > u64::from(a.shape.clients_max) {
        bail!(
            "--clients: counts must be at least 1 and sum to at most --clients-max {} (each run uses fresh client ids)",
            a.shape.clients_max
        );
    }
    let wan = a.wan.parse()?;
    init_tracing("warn")?;
    let dir = tempfile::tempdir()?;
    // A private swtpm per replica, stopped after the replicas (declared before them).
    let (_tpms, shape) = if a.shape.usig() == UsigBackend::Tpm && a.shape.tcti.is_empty() {
        let (started, tctis) = crate::cluster_tpm::start_swtpms(a.shape.replicas, dir.path())?;
        let shape = Shape {
            tcti: tctis,
            ..a.shape.clone()
        };
        (Some(started), shape)
    } else {
        (None, a.shape.clone())
    };
    let path = init(&shape, dir.path(), false)?;
    let config = ClusterConfig::load(&path)?;
    let mut children = Children(spawn_nodes(&path, &config, &a.wan)?);
    wait_ready(&config, &mut children.0)?;
    if !a.json {
        println!(
            "{} n = {}, USIG {}, batch ≤ {}, service {:?}, client auth {:?}{}",
            a.shape.protocol.title(),
            a.shape.replicas,
            a.shape.usig(),
            a.shape.batch_size,
            a.shape.service,
            a.shape.client_auth,
            wan.map(|w| format!(", WAN delay {:?} ± {:?}", w.delay, w.jitter))
                .unwrap_or_default()
        );
    }
    let rt = runtime()?;
    let mut outcome = Outcome::Held;
    for &clients in &a.clients {
        // Each run gets fresh client ids: a client's request numbers restart at 1, which
        // the replicas would take for old requests of an id already used.
        let first_client = allocate_clients(&config, clients)?;
        let opts = LoadOptions {
            clients,
            first_client,
            duration: a.duration,
            warmup: a.warmup,
            connect_timeout: Duration::from_secs(10),
            wan,
        };
        let report = rt.block_on(run_load(&config, &opts))?;
        if a.json {
            print_report(&report, true)?;
        } else {
            println!("{}", report_line(&report));
        }
        if report.completed_total == 0 {
            outcome = Outcome::Violated;
        }
    }
    drop(children);
    Ok(outcome)
}
