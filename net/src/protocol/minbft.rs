//! MinBFT (paper §4) behind the adapter: durable replicas restart from their write-ahead
//! log; non-durable ones start fresh and catch up by state transfer.

use super::{NetProtocol, Opened, common_status, config_error};
use crate::config::{ClusterConfig, ProtocolKind};
use crate::error::NetError;
use crate::service::AnyService;
use crate::status::{NodeStatus, hex};
use crate::usig::NodeUsig;
use minlab_protocols::minbft::{ClientDirectory, ClientKeyring, Config};
use minlab_protocols::service::Service;
use minlab_protocols::{Client, ClientId, Message, Replica, ReplicaId};
use minlab_usig::KeySet;
use std::sync::Arc;
use tracing::info;

/// MinBFT over TCP.
pub struct MinBft;

impl NetProtocol for MinBft {
    const KIND: ProtocolKind = ProtocolKind::MinBft;
    type Message = Message;
    type Replica = Replica<NodeUsig, AnyService>;
    type Client = Client;

    fn open_replica(
        config: &ClusterConfig,
        id: ReplicaId,
        keys: &KeySet,
    ) -> Result<Opened<Self::Replica>, NetError> {
        let usig = NodeUsig::open(config, id, keys)?;
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
        let service = AnyService::new(config.service);
        // A durable replica always restarts through `recover` (an empty log too): a counter
        // that resumed past its reservation before anything was logged is then announced
        // with RESTART instead of leaving peers waiting for its first values.
        if protocol.durable {
            let (wal, records) = crate::wal::WalFile::open(&config.data_dir(id).join("wal.log"))?;
            info!(
                id,
                records = records.len(),
                "recovering from the write-ahead log"
            );
            let replica = Replica::recover(protocol, directory, usig, service, &records)?;
            Ok(Opened {
                replica,
                wal: Some(wal),
            })
        } else {
            Ok(Opened {
                replica: Replica::new(protocol, directory, usig, service)?,
                wal: None,
            })
        }
    }

    fn clients(
        config: &ClusterConfig,
        protocol: &Arc<Config>,
        first: ClientId,
        count: u32,
    ) -> Result<Vec<Client>, NetError> {
        Ok((first..first + count)
            .map(|c| {
                let keys = ClientKeyring::from_seed(
                    config.client_auth,
                    c,
                    config.replica_count(),
                    config.client_key_seed,
                );
                Client::new(c, protocol.clone(), Arc::new(keys))
            })
            .collect())
    }

    fn next_seq(client: &Client) -> u64 {
        client.next_seq()
    }

    fn reply_client(msg: &Message) -> Option<ClientId> {
        match msg {
            Message::Reply(r) => Some(r.client),
            _ => None,
        }
    }

    fn request_client(msg: &Message) -> Option<ClientId> {
        match msg {
            Message::Request(r) => Some(r.client),
            _ => None,
        }
    }

    fn fill_status(r: &Self::Replica, s: &mut NodeStatus) {
        s.view = r.view();
        s.primary = r.is_primary();
        s.last_executed = r.last_executed();
        s.service_digest = hex(&r.service().state_digest());
        s.low_water_mark = r.low_water_mark();
        s.last_executed_by_client = (0..r.config().client_count)
            .map(|c| r.last_executed_by_client(c))
            .collect();
        // Every executed request's place is final.
        s.committed_requests = s.executed_requests;
        common_status(r, s);
    }
}
