//! MinZyzyva (paper §5) behind the adapter. Its clients verify the replicas' UIs, so the
//! cluster must run a USIG whose UIs anyone can check (Ed25519 or the TPM) and list each
//! replica's public identity (checked when the file is loaded); clients build a
//! verify-only USIG ([`ClientUsig`]) from those identities.
//!
//! **No restart.** minlab's MinZyzyva keeps no write-ahead log and has no state transfer,
//! so a replica that lost its history cannot rejoin soundly, and a fresh USIG counter
//! would certify new messages with counter values it already used. A replica that ran
//! before under these keys therefore refuses to start: its USIG counter file or its
//! `minzyzyva.started` mark exists, or its TPM counter moved past the identity's base. A
//! new cluster (`minlab cluster init`: new keys, hence new USIG identities) starts clean.

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
        // The software USIG's counter file, or the mark of an earlier start (a TPM USIG
        // keeps its counter in the chip).
        let started = config.data_dir(id).join(STARTED_MARK);
        if let Some(found) = [config.counter_path(id), started.clone()]
            .into_iter()
            .find(|p| p.exists())
        {
            return Err(cannot_restart(
                config,
                id,
                &format!("{} exists", found.display()),
            ));
        }
        listed_identities_match(config, id, keys)?;
        let protocol = Arc::new(
            config
                .protocol_config()
                .map_err(|r| config_error(config, r))?,
        );
        let directory = Arc::new(ClientDirectory::from_seed(
            config.client_auth,
            id,
            config.client_count,
            config.client_key_seed,
        ));
        let usig = NodeUsig::open(config, id, keys)?;
        // A TPM counter above the identity's base: this TPM issued UIs for the replica
        // already, whatever became of its data directory.
        if usig.last_counter() > 0 && config.usig == UsigBackend::Tpm {
            return Err(cannot_restart(
                config,
                id,
                &format!(
                    "its TPM counter is {} values past its identity's base",
                    usig.last_counter()
                ),
            ));
        }
        let replica = Replica::new(protocol, directory, usig, AnyService::new(config.service))
            .map_err(|e| config_error(config, e.to_string()))?;
        std::fs::write(&started, b"")?;
        Ok(Opened { replica, wal: None })
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

/// Why replica `id` refuses to start again (`evidence`: how it knows it ran before).
fn cannot_restart(config: &ClusterConfig, id: ReplicaId, evidence: &str) -> NetError {
    config_error(
        config,
        format!(
            "replica {id} of this MinZyzyva cluster ran before ({evidence}) and cannot \
             restart: MinZyzyva replicas keep no history across restarts (no write-ahead \
             log, no state transfer), and one rejoining with an empty history is not sound. \
             Start a new cluster: `minlab cluster init --protocol minzyzyva --out NEW_DIR` \
             (new keys, new USIG identities)",
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
