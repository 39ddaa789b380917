//! Who is who: replica and client identifiers, and the address of any node.

use serde::{Deserialize, Serialize};

pub use minlab_usig::ReplicaId;

/// Identifier of a client, `0..client_count`.
pub type ClientId = u32;

/// A view number. The primary of view `v` is replica `v mod n` (paper §4).
pub type View = u64;

/// The address of any node: a replica or a client.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Serialize, Deserialize)]
pub enum NodeId {
    /// Replica `0..n`.
    Replica(ReplicaId),
    /// Client `0..client_count`.
    Client(ClientId),
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeId::Replica(r) => write!(f, "r{r}"),
            NodeId::Client(c) => write!(f, "c{c}"),
        }
    }
}
