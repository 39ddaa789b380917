//! The client table: last executed request and cached reply per client (exactly-once
//! semantics), and which request the primary has in flight.

use crate::minbft::messages::{Digest, Request};
use crate::node::ClientId;
use sha2::{Digest as _, Sha256};
use std::sync::Arc;

/// What a replica remembers about one client.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub(crate) struct ClientRecord {
    /// The last request number executed (0 = none).
    pub(crate) last_seq: u64,
    /// Its result, resent if the client retransmits.
    pub(crate) last_result: Vec<u8>,
    /// Primary only: a request number queued or pre-prepared but not executed (0 = none).
    pub(crate) in_flight: u64,
    /// Primary only: the client's next request, received while `in_flight` was being
    /// ordered (its reply quorum may run ahead of the primary); queued once that executes.
    /// Bound: one per client. Not replicated state.
    pub(crate) next: Option<Arc<Request>>,
}

/// One record per client. Bound: `client_count` records.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ClientTable {
    pub(crate) records: Vec<ClientRecord>,
    /// Requests executed so far: the position of the next one in the agreed order.
    pub(crate) executed_count: u64,
}

impl ClientTable {
    pub(crate) fn new(client_count: u32) -> Self {
        ClientTable {
            records: vec![ClientRecord::default(); client_count as usize],
            executed_count: 0,
        }
    }

    pub(crate) fn get(&self, c: ClientId) -> &ClientRecord {
        &self.records[c as usize]
    }

    pub(crate) fn get_mut(&mut self, c: ClientId) -> &mut ClientRecord {
        &mut self.records[c as usize]
    }

    /// Digest of what a checkpoint agrees on: execution count, last request numbers and
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
