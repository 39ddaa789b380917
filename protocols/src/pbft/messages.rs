//! PBFT's normal-case messages (PRE-PREPARE, PREPARE, COMMIT, CHECKPOINT), already
//! decoded, with their MAC authenticators. REQUEST and REPLY are MinBFT's: a client's
//! request authenticator and a replica's reply MAC are the same idea in both protocols.
//!
//! Messages sent to many replicas hold their body in an [`Arc`], so a broadcast costs a
//! reference-count increment per recipient.

use crate::minbft::messages::{Digest, MacTag, MessageKind, Reply, Request};
use crate::node::{ReplicaId, View};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A MAC authenticator: one tag per replica, indexed by replica id, each under the key
/// the sender shares with that replica (the sender's own slot is all zeros). A receiver
/// can check only its own entry.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Authenticator(pub Vec<MacTag>);

/// `⟨PRE-PREPARE, v, n, d⟩_αp` with the batch inline: the primary of view `v` assigns
/// sequence number `seq` to a batch of requests.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct PrePrepare {
    /// The view.
    pub view: View,
    /// The sequence number assigned.
    pub seq: u64,
    /// The primary of `view`, who sends this.
    pub primary: ReplicaId,
    /// The ordered requests, 1..=`batch_size_max` of them.
    pub batch: Vec<Arc<Request>>,
    /// The primary's authenticator over `(PRE-PREPARE, view, seq, digest(batch))`.
    pub auth: Authenticator,
}

/// `⟨PREPARE, v, n, d, i⟩_αi`: backup `i` accepted the PRE-PREPARE `(v, n, d)`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Prepare {
    /// The view.
    pub view: View,
    /// The sequence number.
    pub seq: u64,
    /// The batch digest.
    pub digest: Digest,
    /// The sending backup.
    pub sender: ReplicaId,
    /// Its authenticator over `(PREPARE, view, seq, digest)`.
    pub auth: Authenticator,
}

/// `⟨COMMIT, v, n, d, i⟩_αi`: replica `i` holds a prepared certificate for `(v, n, d)`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Commit {
    /// The view.
    pub view: View,
    /// The sequence number.
    pub seq: u64,
    /// The batch digest.
    pub digest: Digest,
    /// The sender.
    pub sender: ReplicaId,
    /// Its authenticator over `(COMMIT, view, seq, digest)`.
    pub auth: Authenticator,
}

/// `⟨CHECKPOINT, n, d, i⟩_αi`: replica `i`'s state digest after executing sequence
/// number `seq`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The sequence number of the last executed batch.
    pub seq: u64,
    /// Digest of the replicated state (service plus client table).
    pub state_digest: Digest,
    /// The sender.
    pub sender: ReplicaId,
    /// Its authenticator over `(CHECKPOINT, seq, state_digest)`.
    pub auth: Authenticator,
}

/// Any PBFT message, decoded.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Message {
    /// Client to replicas.
    Request(Arc<Request>),
    /// Replica to client.
    Reply(Box<Reply>),
    /// Primary to backups.
    PrePrepare(Arc<PrePrepare>),
    /// Backup to replicas.
    Prepare(Arc<Prepare>),
    /// Replica to replicas.
    Commit(Arc<Commit>),
    /// Replica to replicas.
    Checkpoint(Arc<Checkpoint>),
}

impl Message {
    /// The message's type.
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Request(_) => MessageKind::Request,
            Message::Reply(_) => MessageKind::Reply,
            Message::PrePrepare(_) => MessageKind::PrePrepare,
            Message::Prepare(_) => MessageKind::Prepare,
            Message::Commit(_) => MessageKind::Commit,
            Message::Checkpoint(_) => MessageKind::Checkpoint,
        }
    }
}
