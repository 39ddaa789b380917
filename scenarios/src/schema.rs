//! The scenario file format: what a user writes in TOML, as plain serde types. Semantic
//! checks (indices in range, probabilities in [0, 1], ...) live in `validate`.

use crate::duration::Dur;
pub use minlab_protocols::BatchRule;
use minlab_usig::UsigKind;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use toml::Spanned;

/// A whole scenario: one simulated experiment and what it must show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used in reports and reproduction commands.
    pub name: String,
    /// What the scenario exercises, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// Which protocol runs.
    pub protocol: Protocol,
    /// Faults tolerated; the group has `2f + 1` replicas (MinBFT, MinZyzyva).
    pub f: u32,
    /// The USIG backend of every replica.
    #[serde(default = "default_usig")]
    pub usig: UsigKind,
    /// How clients authenticate requests.
    #[serde(default)]
    pub client_auth: ClientAuthKind,
    /// The seed used when none is given on the command line.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// How long to run.
    pub run: RunSpec,
    /// Protocol parameters (timeouts, batching, checkpoints).
    #[serde(default)]
    pub params: ParamsSpec,
    /// The clients and what they ask.
    pub workload: WorkloadSpec,
    /// The network between all nodes.
    #[serde(default)]
    pub network: NetworkSpec,
    /// Optional CPU cost model: replicas spend virtual time on what they do.
    #[serde(default)]
    pub cpu: Option<CpuSpec>,
    /// Scheduled node faults.
    #[serde(default)]
    pub faults: Vec<Spanned<FaultSpec>>,
    /// Byzantine replicas and the scripts they follow.
    #[serde(default)]
    pub byzantine: Vec<Spanned<ByzantineSpec>>,
    /// Byzantine clients and the scripts they follow.
    #[serde(default)]
    pub byzantine_clients: Vec<Spanned<ByzantineClientSpec>>,
    /// What the run must show.
    pub expect: ExpectSpec,
    /// A recorded schedule to replay instead of a random run (see [`crate::replay`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<crate::replay::ReplaySpec>,
}

fn default_usig() -> UsigKind {
    UsigKind::HmacSha1
}

fn default_seed() -> u64 {
    1
}

/// The replication protocols minlab simulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// MinBFT (paper §4).
    Minbft,
    /// MinZyzyva (paper §5).
    Minzyzyva,
    /// The PBFT baseline (3f + 1 replicas).
    Pbft,
}

/// Client request authentication.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientAuthKind {
    /// No authentication (core benchmarks and model checking only).
    #[default]
    None,
    /// Ed25519 signatures, as §4 says.
    Ed25519,
    /// A vector of per-replica HMACs (an authenticator), as the paper's prototype did.
    Mac,
}

/// How long a run lasts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Simulated time limit.
    pub duration: Dur,
    /// Bound on processed events (a run that reaches it stops and says so).
    #[serde(default = "default_max_events")]
    pub max_events: u64,
}

fn default_max_events() -> u64 {
    50_000_000
}

/// Protocol parameters; every field has a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParamsSpec {
    /// Most requests per PREPARE.
    pub batch_size_max: u32,
    /// How long the primary waits to fill a batch (`batch_rule = "timer"`).
    pub batch_timeout: Dur,
    /// When the primary starts an agreement: `"timer"` (a full batch, or a partial one
    /// when `batch_timeout` fires) or `"slots"` (the paper's §7 rule: whatever is queued,
    /// whenever fewer than `outstanding_batches_max` agreements are outstanding).
    pub batch_rule: BatchRule,
    /// `W`: most agreements the primary keeps outstanding (MinBFT, PBFT; MinZyzyva's
    /// speculative primary waits for none).
    pub outstanding_batches_max: u64,
    /// Checkpoint period `cp`, in sequence numbers.
    pub checkpoint_period: u64,
    /// Log size `L` (high water mark `H = h + L`).
    pub log_size: u64,
    /// `T_exec`: how long a backup waits for a request to execute before suspecting the
    /// primary.
    pub exec_timeout: Dur,
    /// `T_vc`: how long to wait for NEW-VIEW (doubled at each further view change).
    pub view_change_timeout: Dur,
    /// How long a client waits before retransmitting.
    pub client_retry: Dur,
    /// MinBFT and MinZyzyva: replicas keep a write-ahead log, and a crash-restart recovers from it
    /// (durable state: the log, the stable checkpoint and the USIG counter); without it a
    /// restarted replica starts from its initial state with its USIG counter.
    pub durable: bool,
}

impl Default for ParamsSpec {
    fn default() -> Self {
        ParamsSpec {
            batch_size_max: 16,
            batch_timeout: Dur(200_000),
            batch_rule: BatchRule::Timer,
            // The protocols' own default (32), so a scenario that does not set it runs as before.
            outstanding_batches_max: minlab_protocols::minbft::Config::new(1, 1)
                .outstanding_batches_max,
            checkpoint_period: 64,
            log_size: 256,
            exec_timeout: Dur::from_ms(200),
            view_change_timeout: Dur::from_ms(400),
            client_retry: Dur::from_ms(100),
            durable: false,
        }
    }
}

/// The service the replicas run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceKind {
    /// A key-value store with get, put and compare-and-swap.
    #[default]
    Kv,
    /// Null operations with the given request and reply sizes (the paper's microbenchmarks).
    Null,
}

/// Closed loop (each client waits for its reply) or open loop (requests at a rate).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoopKind {
    /// One outstanding request per client, the next after a think time.
    #[default]
    Closed,
    /// Requests offered at `rate_per_client`, queued at the client while one is
    /// outstanding.
    Open,
}

/// The clients and their requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Number of correct clients.
    pub clients: u32,
    /// Requests each client issues (the run may end earlier).
    pub requests_per_client: u64,
    /// Closed or open loop.
    #[serde(default)]
    pub mode: LoopKind,
    /// Pause between a reply and the next request (closed loop).
    #[serde(default)]
    pub think_time: Dur,
    /// Requests per second per client (open loop).
    #[serde(default)]
    pub rate_per_client: Option<u64>,
    /// Which service the replicas run.
    #[serde(default)]
    pub service: ServiceKind,
    /// Number of distinct keys (key-value service).
    #[serde(default = "default_keys")]
    pub keys: u32,
    /// Operation mix (key-value service), as relative weights.
    #[serde(default)]
    pub mix: MixSpec,
    /// Value size in bytes (key-value), or request payload size (null service).
    #[serde(default = "default_value_size")]
    pub request_size: u32,
    /// Result size in bytes (null service; the key-value store's results are what they are).
    #[serde(default)]
    pub reply_size: u32,
}

fn default_keys() -> u32 {
    8
}

fn default_value_size() -> u32 {
    8
}

/// Relative weights of key-value operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MixSpec {
    /// Weight of `get`.
    pub get: u32,
    /// Weight of `put`.
    pub put: u32,
    /// Weight of compare-and-swap.
    pub cas: u32,
}

impl Default for MixSpec {
    fn default() -> Self {
        MixSpec {
            get: 50,
            put: 40,
            cas: 10,
        }
    }
}

/// A one-way delay distribution.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DelaySpec {
    /// Always `value`.
    Constant {
        /// The delay.
        value: Dur,
    },
    /// Uniform between `min` and `max`.
    Uniform {
        /// Smallest delay.
        min: Dur,
        /// Largest delay.
        max: Dur,
    },
    /// Normal with `mean` and `std_dev` (the paper's netem setting: 10% of the mean).
    Normal {
        /// Mean delay.
        mean: Dur,
        /// Standard deviation.
        std_dev: Dur,
    },
}

impl Default for DelaySpec {
    fn default() -> Self {
        DelaySpec::Uniform {
            min: Dur(50_000),
            max: Dur(150_000),
        }
    }
}

/// A node named in a scenario: `"r0"` (replica 0), `"c3"` (client 3) or `"clients"`
/// (every client).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeRef {
    /// A replica by index.
    Replica(u32),
    /// A client by index.
    Client(u32),
    /// Every client.
    AllClients,
}

impl FromStr for NodeRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid node {s:?}; write \"r0\", \"c3\" or \"clients\"");
        if s == "clients" {
            return Ok(NodeRef::AllClients);
        }
        let (kind, num) = s.split_at(s.len().min(1));
        let n: u32 = num.parse().map_err(|_| bad())?;
        match kind {
            "r" => Ok(NodeRef::Replica(n)),
            "c" => Ok(NodeRef::Client(n)),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRef::Replica(i) => write!(f, "r{i}"),
            NodeRef::Client(i) => write!(f, "c{i}"),
            NodeRef::AllClients => f.write_str("clients"),
        }
    }
}

impl Serialize for NodeRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NodeRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The network: a default link model, per-link overrides, partitions and GST.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSpec {
    /// One-way delay of every link without an override.
    pub delay: DelaySpec,
    /// Probability that a message is lost (before GST).
    pub loss: f64,
    /// Probability that a message is duplicated (before GST).
    pub duplicate: f64,
    /// Probability that a message is held back so later ones overtake it (before GST).
    pub reorder: f64,
    /// Largest extra delay of a reordered message.
    pub reorder_window: Dur,
    /// Probability that a message's bytes are corrupted in transit (before GST); the
    /// receiver must reject it.
    pub corrupt: f64,
    /// Global stabilization time: after it the network is synchronous and loss-free.
    pub gst: Option<Dur>,
    /// Per-link overrides.
    pub links: Vec<Spanned<LinkSpec>>,
    /// Scheduled partitions.
    pub partitions: Vec<Spanned<PartitionSpec>>,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec {
            delay: DelaySpec::default(),
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_window: Dur(0),
            corrupt: 0.0,
            gst: None,
            links: Vec::new(),
            partitions: Vec::new(),
        }
    }
}

/// A directed link with its own delay and loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// Sender.
    pub from: NodeRef,
    /// Receiver.
    pub to: NodeRef,
    /// Its one-way delay.
    pub delay: DelaySpec,
    /// Its loss probability (before GST).
    #[serde(default)]
    pub loss: f64,
}

/// One-way or two-way partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionKind {
    /// Nothing crosses between the two sides.
    TwoWay,
    /// Messages from `a` to `b` are lost; `b` to `a` works.
    OneWay,
}

/// A partition active from `start` to `end`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionSpec {
    /// When it starts.
    pub start: Dur,
    /// When it heals.
    pub end: Dur,
    /// Two-way or one-way.
    pub kind: PartitionKind,
    /// One side (the senders, for one-way).
    pub a: Vec<NodeRef>,
    /// The other side (the receivers, for one-way); every other node when absent.
    #[serde(default)]
    pub b: Option<Vec<NodeRef>>,
}

/// CPU cost model: each replica is a single server that spends this much virtual time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuSpec {
    /// Per message handled.
    pub per_message: Dur,
    /// Per byte of message handled, in nanoseconds.
    #[serde(default)]
    pub per_byte_ns: u64,
    /// Per `create_ui`; the backend's measured cost when absent.
    #[serde(default)]
    pub create_ui: Option<Dur>,
    /// Per `verify_ui`; the backend's measured cost when absent.
    #[serde(default)]
    pub verify_ui: Option<Dur>,
    /// Per MAC computed or checked outside the USIG (client authenticators, reply MACs,
    /// PBFT's authenticators); a measured HMAC-SHA256 when absent.
    #[serde(default)]
    pub mac: Option<Dur>,
    /// Per signature created or verified outside the USIG (Ed25519 client requests); a
    /// measured Ed25519 verification when absent.
    #[serde(default)]
    pub signature: Option<Dur>,
    /// Per request executed.
    #[serde(default)]
    pub per_execute: Dur,
}

/// What a scheduled fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// The replica stops for good.
    Crash,
    /// The replica stops and restarts after `duration`; its USIG counter survives.
    CrashRestart,
    /// The replica stops processing for `duration`, then goes on with what queued up.
    Pause,
    /// The replica's processing takes `factor` times longer for `duration`.
    Slow,
}

/// A fault scheduled at a virtual time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// When it strikes.
    pub at: Dur,
    /// What it does.
    pub kind: FaultKind,
    /// Which replica.
    pub replica: u32,
    /// How long (crash-restart, pause, slow).
    #[serde(default)]
    pub duration: Option<Dur>,
    /// Slowdown factor (slow).
    #[serde(default)]
    pub factor: Option<u32>,
    /// Crash-restart: whether volatile state survives (a process restart with state kept).
    #[serde(default)]
    pub keep_volatile_state: bool,
    /// Crash-restart of a durable replica: the crash hit after its USIG consumed this many
    /// counter values and before their messages were logged (so they were never sent).
    #[serde(default)]
    pub lost_counter_values: u64,
}

/// A Byzantine replica and its script.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByzantineSpec {
    /// Which replica is faulty.
    pub replica: u32,
    /// The script's name (see the catalog README for the list).
    pub script: String,
    /// Script parameters.
    #[serde(default)]
    pub params: toml::Table,
}

/// A Byzantine client and its script.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByzantineClientSpec {
    /// The script's name. Byzantine clients are numbered after the correct ones
    /// (`c{clients}`, `c{clients + 1}`, ...).
    pub script: String,
    /// Script parameters.
    #[serde(default)]
    pub params: toml::Table,
}

/// Whether safety is expected to hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SafetyExpectation {
    /// No oracle may report a violation.
    Hold,
    /// Some safety oracle must report a violation (e.g. a compromised USIG).
    Violated,
}

/// What the run must show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectSpec {
    /// Safety must hold, or must be violated.
    pub safety: SafetyExpectation,
    /// After the network heals (GST, and the last fault's end), every request of a correct
    /// client completes within this bound. Absent: no liveness check.
    #[serde(default)]
    pub liveness_bound: Option<Dur>,
    /// At least this many requests complete over the run.
    #[serde(default)]
    pub min_completed: Option<u64>,
}
