//! MinZyzyva (paper §5) behind the adapter. Its clients verify the replicas' UIs, so the
//! cluster must run a USIG whose UIs anyone can check (Ed25519 or the TPM) and list each
//! replica's public identity (checked when the file is loaded); clients build a
//! verify-only USIG ([`ClientUsig`]) from those identities.
//!
//! **Restart only with the write-ahead log.** A durable replica (`durable = true`, `cluster
//! init --durable`) keeps MinZyzyva's write-ahead log (`minlab_protocols::minzyzyva::wal`)
//! in `wal.log` and restarts from it: its history, sent log and view come back, its USIG
//! counter (file or TPM) resumes above every value it used, and counter values lost in the
//! crash are handled as the protocol crate describes (re-certified checkpoint; a primary
//! hands its view over). Without the log a replica that lost its history cannot rejoin
//! soundly (forgotten RESPONSEs would be votes it can no longer account for in a
//! VIEW-CHANGE), so a replica that ran before refuses to start: its counter file or its
//! `minzyzyva.started` mark exists, or its TPM counter moved past the identity's base. The
//! same refusal protects a durable replica whose log was deleted. A new cluster (`minlab
//! cluster init`: new keys, new USIG identities) starts clean.

use super::{NetProtocol, Opened, common_status, config_error};
use crate::config::{ClusterConfig, ProtocolKind, UsigBackend};
use crate::error::NetError;
use crate::service::AnyService;
use crate::status::{HistoryStatus, NodeStatus, hex};
use crate::usig::{ClientUsig, NodeUsig};
use minlab_protocols::minbft::{ClientDirectory, ClientKeyring, Config};
use minlab_protocols::minzyzyva::{Client, Message, Replica};
use minlab_protocols::service::Service;
use minlab_protocols::{ClientId, ReplicaId};
use minlab_usig::{KeySet, Usig};
use std::sync::Arc;
use tracing::info;

/// MinZyzyva over TCP.
pub struct MinZyzyva;

impl NetProtocol for MinZyzyva {
    const KIND: ProtocolKind = ProtocolKind::MinZyzyva;
    type Message = Message;
    type Replica = Replica<NodeUsig, AnyService>;
    type Client = Client<ClientUsig>;

    fn open_replica(
        config: &ClusterConfig,
        id: ReplicaId,
        keys: &KeySet,
    ) -> Result<Opened<Self::Replica>, NetError> {
        let protocol = Arc::new(
            config
                .protocol_config()
                .map_err(|r| config_error(config, r))?,
        );
        let wal_path = config.data_dir(id).join(WAL_FILE);
        // The software USIG's counter file, or the mark of an earlier start (a TPM USIG
        // keeps its counter in the chip). A durable replica may restart from its log.
        let started = config.data_dir(id).join(STARTED_MARK);
        let may_restart = protocol.durable && wal_path.exists();
        let ran_before = [config.counter_path(id), started.clone()]
            .into_iter()
            .find(|p| p.exists());
        if let Some(found) = &ran_before
            && !may_restart
        {
            return Err(cannot_restart(
                config,
                id,
                &format!("{} exists", found.display()),
                protocol.durable,
            ));
        }
        listed_identities_match(config, id, keys)?;
        let directory = Arc::new(ClientDirectory::from_seed(
            config.client_auth,
            id,
            config.client_count,
            config.client_key_seed,
        ));
        let usig = NodeUsig::open(config, id, keys)?;
        // A TPM counter above the identity's base: this TPM issued UIs for the replica
        // already, whatever became of its data directory.
        let tpm_used = usig.last_counter() > 0 && config.usig == UsigBackend::Tpm;
        if tpm_used && !may_restart {
            return Err(cannot_restart(
                config,
                id,
                &format!(
                    "its TPM counter is {} values past its identity's base",
                    usig.last_counter()
                ),
                protocol.durable,
            ));
        }
        let service = AnyService::new(config.service);
        let opened = if protocol.durable {
            let (wal, records) = crate::wal::WalFile::open(&wal_path)?;
            info!(
                id,
                records = records.len(),
                "recovering from the write-ahead log"
            );
            let replica = Replica::recover(protocol, directory, usig, service, &records)?;
            Opened {
                replica,
                wal: Some(wal),
            }
        } else {
            let replica = Replica::new(protocol, directory, usig, service)
                .map_err(|e| config_error(config, e.to_string()))?;
            Opened { replica, wal: None }
        };
        std::fs::write(&started, b"")?;
        Ok(opened)
    }

    fn clients(
        config: &ClusterConfig,
        protocol: &Arc<Config>,
        first: ClientId,
        count: u32,
    ) -> Result<Vec<Self::Client>, NetError> {
        let verifier = ClientUsig::from_config(config)?;
        (first..first + count)
            .map(|c| {
                let keys = ClientKeyring::from_seed(
                    config.client_auth,
                    c,
                    config.replica_count(),
                    config.client_key_seed,
                );
                Client::new(c, protocol.clone(), Arc::new(keys), verifier.clone())
                    .map_err(|e| config_error(config, e.to_string()))
            })
            .collect()
    }

    fn next_seq(client: &Self::Client) -> u64 {
        client.next_seq()
    }

    fn reply_client(msg: &Message) -> Option<ClientId> {
        match msg {
            Message::Response(r) => Some(r.client),
            Message::LocalCommit(l) => Some(l.client),
            Message::StableReply(r) => Some(r.client),
            _ => None,
        }
    }

    fn request_client(msg: &Message) -> Option<ClientId> {
        match msg {
            Message::Request(r) => Some(r.client),
            Message::Commit(c) => Some(c.client),
            _ => None,
        }
    }

    fn fill_status(r: &Self::Replica, s: &mut NodeStatus) {
        s.view = r.view();
        s.primary = r.is_primary();
        // The primary's last counter value processed in FIFO order (`max_cv`).
        s.last_executed = r.accepted_counter();
        // Speculative executions included; `committed_requests` comes from the events.
        s.executed_requests = r.executed_count();
        s.service_digest = hex(&r.service().state_digest());
        s.low_water_mark = r.low_water_mark();
        s.last_executed_by_client = (0..r.config().client_count)
            .map(|c| r.last_executed_by_client(c))
            .collect();
        s.history = Some(HistoryStatus {
            len: r.history_len(),
            committed_len: r.committed_len(),
            digest: hex(&r.history_digest()),
        });
        common_status(r, s);
    }
}

/// Marks a replica's data directory once it started (see the module's "No restart").
const STARTED_MARK: &str = "minzyzyva.started";

/// Where a durable replica keeps its write-ahead log.
const WAL_FILE: &str = "wal.log";

/// Why replica `id` refuses to start again (`evidence`: how it knows it ran before).
fn cannot_restart(
    config: &ClusterConfig,
    id: ReplicaId,
    evidence: &str,
    durable: bool,
) -> NetError {
    let why = if durable {
        "its write-ahead log (wal.log) is gone, and one rejoining without the history it \
         had is not sound"
    } else {
        "it keeps no write-ahead log (the cluster is not durable), and one rejoining with an \
         empty history is not sound"
    };
    config_error(
        config,
        format!(
            "replica {id} of this MinZyzyva cluster ran before ({evidence}) and cannot \
             restart: {why}. Start a new cluster: `minlab cluster init --protocol minzyzyva \
             --out NEW_DIR` (new keys, new USIG identities; `--durable` for restartable \
             replicas)",
        ),
    )
}

/// Clients verify UIs with the cluster file's identities, replicas with their key files':
/// replica `id` starts only if the two agree for every replica, so that whatever the
/// replicas accept, clients accept too.
fn listed_identities_match(
    config: &ClusterConfig,
    id: ReplicaId,
    keys: &KeySet,
) -> Result<(), NetError> {
    let mismatch = |r: usize, field: &str| {
        config_error(
            config,
            format!("replica {r}'s {field} does not match the key file of replica {id}"),
        )
    };
    match config.usig {
        UsigBackend::Tpm => {
            let listed = config
                .usig_tpm_identities()
                .map_err(|r| config_error(config, r))?;
            for (r, identity) in listed.iter().enumerate() {
                if keys.tpm_identity(r as ReplicaId) != Some(identity) {
                    return Err(mismatch(r, "usig_tpm_identity"));
                }
            }
        }
        UsigBackend::Software(_) => {
            let listed = config
                .usig_public_keys()
                .map_err(|r| config_error(config, r))?;
            for (r, key) in listed.iter().enumerate() {
                if keys.ed25519_public(r as ReplicaId) != Some(key) {
                    return Err(mismatch(r, "usig_public_key"));
                }
            }
        }
    }
    Ok(())
}
