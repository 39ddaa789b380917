//! The cluster file (`cluster.toml`): who the replicas are, where they listen, their key
//! files, the USIG backend, the service and the protocol parameters; and where each
//! replica keeps its durable files (counter, status, logs) under the file's directory.
//!
//! ```toml
//! format = "minlab-cluster v1"
//! usig = "hmac-sha1"              # hmac-sha1 | hmac-sha256 | ed25519 | tpm
//! service = "null"                # null | kv
//! client_count = 256              # size of the client table; clients are 0..client_count
//! client_auth = "mac-authenticator"
//! client_key_seed = 1234          # SECRET shared by clients and replicas (see below)
//! counter_block = 1048576         # durable USIG counter reservation block
//!
//! [protocol]                      # optional; defaults are minbft::Config::new's
//! name = "minbft"                 # minbft (the default) | minzyzyva
//! batch_size_max = 64
//! batch_timeout = "200us"
//! batch_rule = "timer"            # timer (the default) | slots (the paper's §7 rule)
//!
//! [[replica]]
//! id = 0
//! addr = "127.0.0.1:7100"
//! keys = "keys/replica-0.toml"    # relative to this file's directory
//! tcti = "device:/dev/tpmrm0"     # usig = "tpm" only: how this replica reaches its TPM
//! usig_public_key = "<64 hex>"    # name = "minzyzyva", usig = "ed25519": its USIG's key
//!
//! [replica.usig_tpm_identity]     # name = "minzyzyva", usig = "tpm": its TPM USIG's identity
//! key = "<130 hex>"
//! signer_name = "<68 hex>"
//! nv_name = "<68 hex>"
//! counter_base = 1
//! ```
//!
//! MinZyzyva (`[protocol] name = "minzyzyva"`) needs a USIG whose UIs anyone can verify,
//! `usig = "ed25519"` or `"tpm"`: its clients verify replicas' UIs themselves, which an
//! HMAC UI does not allow (only a USIG holding the key can check it). So every replica
//! entry carries its USIG's public identity (`usig_public_key`, or `usig_tpm_identity`
//! with the TPM) and a client needs nothing but this file. Its replicas restart only from
//! their write-ahead log (`durable = true`; see [`crate::protocol`]).
//!
//! With `usig = "tpm"` each replica runs the TPM 2.0 USIG on its own TPM (one chip, or one
//! swtpm, per replica), provisioned with `minlab tpm provision`, and every key file lists
//! every replica's TPM identity (`[[tpm]]` entries): `minlab cluster init --usig tpm` does
//! both. Such a cluster needs a minlab built with `--features tpm`.
//!
//! Client keys: the protocol crate derives client keys from a seed only
//! (`ClientKeyring::from_seed`), so the seed is a secret every client and replica holds;
//! the file is written with mode 0600.

use crate::error::NetError;
use minlab_protocols::ReplicaId;
use minlab_protocols::minbft::{ClientAuth, Config};
use minlab_protocols::{BatchRule, Duration};
use minlab_usig::{TpmIdentity, UsigKind};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

mod identity;
mod kinds;
pub use identity::TpmIdentityEntry;
pub use kinds::{ProtocolKind, ServiceKind, UsigBackend};

/// The format tag of cluster files.
pub const FORMAT: &str = "minlab-cluster v1";

/// A cluster file larger than this is refused unread.
const FILE_BYTES_MAX: u64 = 1 << 20;

/// One replica's entry.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaEntry {
    /// Its id, `0..n`, in order.
    pub id: ReplicaId,
    /// Where it listens for replicas and clients.
    pub addr: SocketAddr,
    /// Its key file (relative paths are relative to the cluster file's directory).
    pub keys: PathBuf,
    /// With `usig = "tpm"`: the TCTI of its TPM (`device:/dev/tpmrm0`,
    /// `swtpm:host=127.0.0.1,port=2321`); the USIG's key and counter are at the default
    /// handles of `minlab tpm provision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcti: Option<String>,
    /// With MinZyzyva: the Ed25519 public key of its USIG (64 hex digits), which clients
    /// verify its UIs with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usig_public_key: Option<String>,
    /// With MinZyzyva and `usig = "tpm"`: the public identity of its TPM USIG, which
    /// clients verify its UIs with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usig_tpm_identity: Option<TpmIdentityEntry>,
}

/// Protocol parameters; absent ones take `minbft::Config::new`'s defaults. Durations are
/// humantime strings (`"500us"`, `"1s"`).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolParams {
    /// The protocol (MinBFT when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<ProtocolKind>,
    /// Most requests per PREPARE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size_max: Option<usize>,
    /// How long the primary waits to fill a batch (`batch_rule = "timer"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_timeout: Option<String>,
    /// When the primary starts an agreement: `"timer"` (minlab's rule, the default) or
    /// `"slots"` (the paper's §7 rule: whatever is queued, whenever fewer than
    /// `outstanding_batches_max` agreements are outstanding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_rule: Option<BatchRule>,
    /// Most PREPAREs in flight at the primary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outstanding_batches_max: Option<u64>,
    /// `cp`, the checkpoint period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_period: Option<u64>,
    /// `L`, the log window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_window: Option<u64>,
    /// The FIFO window per sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fifo_window: Option<u64>,
    /// `T_exec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout: Option<String>,
    /// `T_vc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_change_timeout: Option<String>,
    /// The repair interval (the shortest wait before asking for lost messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair_interval: Option<String>,
    /// The longest wait before asking for lost messages (the wait follows observed
    /// delays in between; equal to `repair_interval` for a fixed wait).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair_interval_max: Option<String>,
    /// The client's retransmission timeout (the shortest wait before resending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retransmit_timeout: Option<String>,
    /// The client's longest wait before resending (the wait follows its observed
    /// latencies in between; equal to `retransmit_timeout` for a fixed wait).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retransmit_timeout_max: Option<String>,
    /// Replicas keep a write-ahead log (`data/replica-I/wal.log`, one `fdatasync` per
    /// step) and restart from it (see `minlab_protocols::minbft::wal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durable: Option<bool>,
}

/// A parsed, checked cluster file.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Always [`FORMAT`].
    pub format: String,
    /// The USIG backend of every replica.
    pub usig: UsigBackend,
    /// The replicated service.
    pub service: ServiceKind,
    /// Clients `0..client_count`.
    pub client_count: u32,
    /// How clients authenticate requests.
    pub client_auth: ClientAuth,
    /// The seed client keys are derived from (a shared secret).
    pub client_key_seed: u64,
    /// Values reserved per write of the durable USIG counter.
    pub counter_block: u64,
    /// Protocol parameters.
    #[serde(default)]
    pub protocol: ProtocolParams,
    /// The replicas, by id.
    pub replica: Vec<ReplicaEntry>,
    /// The directory relative paths are resolved against (not in the file).
    #[serde(skip)]
    pub dir: PathBuf,
}

fn duration(field: &str, v: &Option<String>, default: Duration) -> Result<Duration, String> {
    match v {
        None => Ok(default),
        Some(s) => humantime::parse_duration(s)
            .map(|d| Duration::from_nanos(d.as_nanos().min(u128::from(u64::MAX)) as u64))
            .map_err(|e| format!("protocol.{field} = {s:?}: {e}")),
    }
}

impl ClusterConfig {
    /// Reads and checks `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, NetError> {
        let path = path.as_ref();
        let bad = |reason: String| NetError::Config {
            path: path.to_path_buf(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
        if meta.len() > FILE_BYTES_MAX {
            return Err(bad(format!("larger than {FILE_BYTES_MAX} bytes")));
        }
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let mut c: ClusterConfig = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        c.dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        c.validate().map_err(bad)?;
        Ok(c)
    }

    /// Writes the file to `path` (mode 0600: it holds the client key seed).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), NetError> {
        let path = path.as_ref();
        let text = toml::to_string(self).map_err(|e| NetError::Config {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        use std::io::Write;
        let mut f = opts.open(path)?;
        f.write_all(b"# minlab cluster file. SECRET: client_key_seed authenticates clients.\n")?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        Ok(())
    }

    /// Checks everything that does not need the key files.
    pub fn validate(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("format {:?}, expected {FORMAT:?}", self.format));
        }
        if self.usig == UsigBackend::Software(UsigKind::Symbolic) {
            return Err(
                "usig = \"symbolic\" is for simulation only; use hmac-sha1, hmac-sha256, \
                 ed25519 or tpm"
                    .into(),
            );
        }
        for (i, r) in self.replica.iter().enumerate() {
            if r.id as usize != i {
                return Err(format!(
                    "replica entries must be listed by id 0..n; entry {i} has id {}",
                    r.id
                ));
            }
            match (self.usig, &r.tcti) {
                (UsigBackend::Tpm, None) => {
                    return Err(format!(
                        "usig = \"tpm\" but replica {} has no tcti (how it reaches its TPM)",
                        r.id
                    ));
                }
                (UsigBackend::Software(kind), Some(_)) => {
                    return Err(format!(
                        "replica {} has a tcti, but usig = {:?} does not use a TPM",
                        r.id,
                        kind.name()
                    ));
                }
                _ => {}
            }
            if r.usig_tpm_identity.is_some() && self.usig != UsigBackend::Tpm {
                return Err(format!(
                    "replica {} has a usig_tpm_identity, but usig = {:?} does not use a TPM",
                    r.id,
                    self.usig.name()
                ));
            }
            if self.replica[..i].iter().any(|o| o.addr == r.addr) {
                return Err(format!(
                    "replicas {} and another share the address {}",
                    r.id, r.addr
                ));
            }
        }
        if self.client_count == 0 {
            return Err("client_count must be at least 1".into());
        }
        if self.counter_block == 0 {
            return Err("counter_block must be at least 1".into());
        }
        if self.protocol_kind() == ProtocolKind::MinZyzyva {
            self.check_minzyzyva()?;
        }
        self.protocol_config()?
            .validate()
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// The protocol the cluster runs.
    pub fn protocol_kind(&self) -> ProtocolKind {
        self.protocol.name.unwrap_or_default()
    }

    /// What MinZyzyva needs beyond MinBFT: a signature USIG whose public identities the
    /// file lists.
    fn check_minzyzyva(&self) -> Result<(), String> {
        minzyzyva_usig(self.usig)?;
        match self.usig {
            UsigBackend::Tpm => {
                if let Some(r) = self.replica.iter().find(|r| r.usig_public_key.is_some()) {
                    return Err(format!(
                        "replica {} has a usig_public_key, but with usig = \"tpm\" clients \
                         verify UIs with its usig_tpm_identity",
                        r.id
                    ));
                }
                self.usig_tpm_identities().map(|_| ())
            }
            UsigBackend::Software(_) => self.usig_public_keys().map(|_| ()),
        }
    }

    /// Every replica's Ed25519 USIG public key, from the `usig_public_key` entries.
    pub fn usig_public_keys(&self) -> Result<Vec<[u8; 32]>, String> {
        self.replica
            .iter()
            .map(|r| {
                let hex = r.usig_public_key.as_deref().ok_or_else(|| {
                    format!(
                        "replica {} has no usig_public_key (clients of protocol minzyzyva \
                         verify UIs with it; `minlab cluster init --protocol minzyzyva` \
                         writes it)",
                        r.id
                    )
                })?;
                identity::parse_hex(hex).ok_or_else(|| {
                    format!(
                        "replica {}: usig_public_key {hex:?} is not 64 hex digits",
                        r.id
                    )
                })
            })
            .collect()
    }

    /// Every replica's TPM USIG identity, from the `usig_tpm_identity` entries.
    pub fn usig_tpm_identities(&self) -> Result<Vec<TpmIdentity>, String> {
        self.replica
            .iter()
            .map(|r| {
                let entry = r.usig_tpm_identity.as_ref().ok_or_else(|| {
                    format!(
                        "replica {} has no usig_tpm_identity (clients of protocol minzyzyva \
                         verify its TPM's UIs with it; `minlab cluster init --protocol \
                         minzyzyva --usig tpm` writes it)",
                        r.id
                    )
                })?;
                entry
                    .identity()
                    .map_err(|e| format!("replica {}: usig_tpm_identity: {e}", r.id))
            })
            .collect()
    }

    /// Number of replicas.
    pub fn replica_count(&self) -> u32 {
        self.replica.len() as u32
    }

    /// The protocol configuration every replica and client of this cluster uses.
    pub fn protocol_config(&self) -> Result<Config, String> {
        let n = self.replica_count();
        if n < 3 || n.is_multiple_of(2) {
            return Err(format!(
                "{n} replicas; {} needs n = 2f + 1 >= 3",
                self.protocol_kind().title()
            ));
        }
        let mut c = Config::new((n - 1) / 2, self.client_count);
        let p = &self.protocol;
        c.client_auth = self.client_auth;
        if let Some(v) = p.batch_size_max {
            c.batch_size_max = v;
        }
        if let Some(v) = p.outstanding_batches_max {
            c.outstanding_batches_max = v;
        }
        if let Some(v) = p.batch_rule {
            c.batch_rule = v;
        }
        if let Some(v) = p.checkpoint_period {
            c.checkpoint_period = v;
        }
        if let Some(v) = p.log_window {
            c.log_window = v;
        }
        if let Some(v) = p.fifo_window {
            c.fifo_window = v;
        }
        c.durable = p.durable.unwrap_or(false);
        c.batch_timeout = duration("batch_timeout", &p.batch_timeout, c.batch_timeout)?;
        c.request_timeout = duration("request_timeout", &p.request_timeout, c.request_timeout)?;
        c.view_change_timeout = duration(
            "view_change_timeout",
            &p.view_change_timeout,
            c.view_change_timeout,
        )?;
        c.repair_interval = duration("repair_interval", &p.repair_interval, c.repair_interval)?;
        c.repair_interval_max = duration(
            "repair_interval_max",
            &p.repair_interval_max,
            c.repair_interval_max,
        )?;
        c.retransmit_timeout = duration(
            "retransmit_timeout",
            &p.retransmit_timeout,
            c.retransmit_timeout,
        )?;
        c.retransmit_timeout_max = duration(
            "retransmit_timeout_max",
            &p.retransmit_timeout_max,
            c.retransmit_timeout_max,
        )?;
        Ok(c)
    }

    /// Replica `id`'s entry.
    pub fn entry(&self, id: ReplicaId) -> Result<&ReplicaEntry, NetError> {
        self.replica
            .get(id as usize)
            .ok_or_else(|| NetError::Config {
                path: self.dir.join("cluster.toml"),
                reason: format!("no replica {id} (the cluster has {})", self.replica.len()),
            })
    }

    /// Replica `id`'s key file.
    pub fn keys_path(&self, id: ReplicaId) -> Result<PathBuf, NetError> {
        Ok(self.dir.join(&self.entry(id)?.keys))
    }

    /// Replica `id`'s directory of durable files (counter, status, pid, log).
    pub fn data_dir(&self, id: ReplicaId) -> PathBuf {
        self.dir.join("data").join(format!("replica-{id}"))
    }

    /// Replica `id`'s durable USIG counter file.
    pub fn counter_path(&self, id: ReplicaId) -> PathBuf {
        self.data_dir(id).join("usig.counter")
    }

    /// Replica `id`'s status file (JSON, rewritten periodically and at shutdown).
    pub fn status_path(&self, id: ReplicaId) -> PathBuf {
        self.data_dir(id).join("status.json")
    }
}

/// The USIGs MinZyzyva runs over TCP: Ed25519 and the TPM, whose UIs anyone with the
/// public identity verifies (its clients verify replicas' UIs). Checked by [`ClusterConfig`]
/// validation, and by `cluster init` before it writes or provisions anything.
pub fn minzyzyva_usig(usig: UsigBackend) -> Result<(), String> {
    match usig {
        UsigBackend::Software(UsigKind::Ed25519) | UsigBackend::Tpm => Ok(()),
        UsigBackend::Software(kind) => Err(format!(
            "protocol minzyzyva needs usig = \"ed25519\" or \"tpm\", not {:?}: its clients \
             verify replicas' UIs, and an HMAC UI can only be checked by a USIG holding the \
             secret key",
            kind.name()
        )),
    }
}

#[cfg(test)]
pub(crate) mod tests;
