//! The client table: `V_req` (last executed request per client), the reply cache for
//! retransmissions, and which request the primary has in flight, for exactly-once
//! semantics (paper §4, Clients).

use super::messages::Digest;
use crate::node::ClientId;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// What a replica remembers about one client.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
pub(crate) struct ClientRecord {
    /// `V_req[c]`: the last request number executed (0 = none).
    pub(crate) last_seq: u64,
    /// Its result, resent if the client retransmits.
    pub(crate) last_result: Vec<u8>,
    /// Primary only: a request number queued or prepared but not executed (0 = none).
    pub(crate) in_flight: u64,
    /// Primary only: the client's next request, received while `in_flight` was being
    /// processed; queued for ordering once it executes. Bound: one per client. Not
    /// replicated state (not digested, not transferred).
    #[serde(skip)]
    pub(crate) next: Option<std::sync::Arc<super::messages::Request>>,
    /// The client's latest request whose authenticator this replica checked itself when
    /// the client sent it. A PREPARE carrying the same `(seq, op)` needs no second check:
    /// this saves a MAC (or signature) per request at backups, and lets a backup order a
    /// request whose authenticator entry for it was corrupted on the way to the primary
    /// (PBFT's authenticator problem). Bound: one per client. Not replicated state.
    #[serde(skip)]
    pub(crate) verified: Option<std::sync::Arc<super::messages::Request>>,
}

/// One record per client. Bound: `client_count` records, one cached result each.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub(crate) struct ClientTable {
    pub(crate) records: Vec<ClientRecord>,
    /// Requests executed so far: the position of the next one in the agreed order. It is
    /// replicated state (digested by checkpoints, restored by state transfer).
    pub(crate) executed_count: u64,
}

impl ClientTable {
    pub(crate) fn new(client_count: u32) -> Self {
        ClientTable {
            records: vec![ClientRecord::default(); client_count as usize],
            executed_count: 0,
        }
    }

    #[inline]
    pub(crate) fn get(&self, c: ClientId) -> &ClientRecord {
        &self.records[c as usize]
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, c: ClientId) -> &mut ClientRecord {
        &mut self.records[c as usize]
    }

    /// Digest of what a checkpoint must agree on: the execution count, `V_req` and the
    /// cached results.
    pub(crate) fn digest(&self) -> Digest {
        let mut h = Sha256::new();
        h.update(self.executed_count.to_be_bytes());
        for r in &self.records {
            h.update(r.last_seq.to_be_bytes());
            h.update((r.last_result.len() as u32).to_be_bytes());
            h.update(&r.last_result);
        }
        h.finalize().into()
    }
}
