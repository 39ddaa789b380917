//! What the adapter needs from a protocol, so that sockets, framing, channel
//! authentication, timers, the status file and the load generator are one implementation
//! for MinBFT ([`MinBft`]) and MinZyzyva ([`MinZyzyva`]): how to open a replica and its
//! clients from the cluster file, which messages clients may send and receive, and what a
//! replica reports about itself. Everything else a driver needs is in the protocol crate's
//! [`ReplicaMachine`] and [`ClientMachine`] traits, which the simulator uses too.

mod minbft;
mod minzyzyva;

pub use minbft::MinBft;
pub use minzyzyva::MinZyzyva;

use crate::config::{ClusterConfig, ProtocolKind};
use crate::error::NetError;
use crate::status::NodeStatus;
use crate::wal::WalFile;
use minlab_protocols::minbft::Config;
use minlab_protocols::{ClientId, ClientMachine, ProtocolMessage, ReplicaId, ReplicaMachine};
use minlab_usig::KeySet;
use std::sync::Arc;

/// A replica ready to run, and the write-ahead log it appends to (durable MinBFT only).
pub struct Opened<R> {
    /// The replica (restarted from its log when durable): the node calls `resume` first.
    pub replica: R,
    /// Its write-ahead log.
    pub wal: Option<WalFile>,
}

/// A protocol the adapter runs: its message, replica and client types and how to build
/// them from a cluster file.
pub trait NetProtocol: 'static {
    /// Which protocol this is (its name in cluster files).
    const KIND: ProtocolKind;
    /// Wire messages.
    type Message: ProtocolMessage + Sync;
    /// A correct replica over the node's USIG and service.
    type Replica: ReplicaMachine<Message = Self::Message> + Send + 'static;
    /// A correct client.
    type Client: ClientMachine<Message = Self::Message> + Send + 'static;

    /// Replica `id` of `config`, with `keys` (its key file, already checked against the
    /// cluster size), its USIG and its durable files opened.
    fn open_replica(
        config: &ClusterConfig,
        id: ReplicaId,
        keys: &KeySet,
    ) -> Result<Opened<Self::Replica>, NetError>;

    /// Clients `first..first + count` of `config`, configured by `protocol`.
    fn clients(
        config: &ClusterConfig,
        protocol: &Arc<Config>,
        first: ClientId,
        count: u32,
    ) -> Result<Vec<Self::Client>, NetError>;

    /// The number `client`'s next request will get.
    fn next_seq(client: &Self::Client) -> u64;

    /// The client a replica's message is for, if it is one clients handle (replies).
    fn reply_client(msg: &Self::Message) -> Option<ClientId>;

    /// The client a message arriving on a client connection speaks for, if clients may
    /// send it (requests, and MinZyzyva's COMMIT); anything else is dropped and counted.
    fn request_client(msg: &Self::Message) -> Option<ClientId>;

    /// Writes what `replica` knows of itself (view, position, digests, counters) into `s`.
    fn fill_status(replica: &Self::Replica, s: &mut NodeStatus);
}

/// The replica-side facts both protocols report alike.
pub(crate) fn common_status<M: ProtocolMessage>(
    replica: &impl ReplicaMachine<Message = M>,
    s: &mut NodeStatus,
) {
    s.usig_counter_last = replica.usig_last_counter();
    let m = replica.metrics();
    s.requests_executed = m.requests_executed;
    s.batches_executed = m.batches_executed;
    s.rejections = minlab_protocols::RejectReason::ALL
        .iter()
        .filter(|k| m.rejections(**k) > 0)
        .map(|k| (format!("{k:?}"), m.rejections(*k)))
        .collect();
}

/// An error about `config`'s cluster file.
pub(crate) fn config_error(config: &ClusterConfig, reason: impl Into<String>) -> NetError {
    NetError::Config {
        path: config.dir.join("cluster.toml"),
        reason: reason.into(),
    }
}
