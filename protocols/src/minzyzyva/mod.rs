//! MinZyzyva (paper §5): speculative BFT with `2f + 1` replicas and the USIG.
//!
//! The client sends its REQUEST to the primary, which gives it (in a batch of up to
//! `batch_size_max` requests, see [`batch`]) a unique identifier `UI_p` and forwards it in
//! an ORDER-REQ; every replica checks `UI_p` and FIFO order on the primary's counter,
//! executes the batch speculatively, and answers each client directly with a RESPONSE
//! carrying `UI_p`, its own `UI_s` (one per batch) and the request's Merkle paths. Three communication steps: the
//! client completes on `2f + 1` matching responses (gracious execution). Otherwise its
//! timer leads to a COMMIT with a commit certificate (`f + 1` matching responses),
//! acknowledged by LOCAL-COMMITs, or to resending the request to every replica, which
//! forward it to the primary under a timer. Replicas fill holes in the primary's counter
//! with FILL-HOLE, take checkpoints every `cp` ORDER-REQs, and keep a history whose
//! prefix is committed (by a commit certificate or a stable checkpoint) and whose suffix
//! is speculative.
//!
//! **Events.** Speculative executions are reported with
//! [`Event::SpeculativelyExecuted`](crate::Event); only when the prefix holding one commits
//! is it reported with [`Event::RequestExecuted`](crate::Event), at the same dense
//! position, so oracles checking agreement on `RequestExecuted` check committed prefixes.
//! A checkpoint is reported ([`Event::CheckpointTaken`](crate::Event)) when it is stable.
//!
//! **Deviations from the paper, each with its reason.**
//! - The primary's own RESPONSE carries no `UI_s` (its `UI_p` binds it to the order, and a
//!   second UI would put a gap into the counter stream backups follow in FIFO order); its
//!   result is authenticated by a MAC as in MinBFT's REPLY.
//! - Checkpoints are taken every `cp` history slots, not at the primary's counter values:
//!   every UI of a replica consumes a counter value, so only the history length is a
//!   sequence number all correct replicas share across views.
//! - Backups' CHECKPOINTs are not processed in FIFO order of their counters: those
//!   counters also advance with every `UI_s` sent to a client, which other replicas never
//!   see. The current primary's ORDER-REQs and CHECKPOINTs are.
//!
//! **View change** (paper §5, as MinBFT's §4): `f + 1` REQ-VIEW-CHANGEs lead to
//! VIEW-CHANGE (`C_latest`, a gap-free `O`, the sender's history) and NEW-VIEW, whose
//! history `C + S` every replica adopts, rolling back the speculative executions it leaves
//! out (see [`view_change`], `new_view`).
//!
//! **State transfer** (see `transfer`): a replica whose missing ORDER-REQs were
//! garbage-collected by everyone, or whose history ends below a NEW-VIEW's base, fetches the
//! state of a stable checkpoint (STATE-REQUEST / STATE-REPLY), checks it against the
//! certificate's digest, and continues from there ([`Event::StateTransferred`](crate::Event)
//! gives the restored position; committed executions resume at it).
//!
//! **Not implemented yet** (see the README's MinZyzyva section): restarting a replica.
//!
//! ```
//! use std::sync::Arc;
//! use minlab_protocols::minbft::{ClientAuth, ClientDirectory, Config, Request, RequestAuth};
//! use minlab_protocols::minzyzyva::{Message, Replica};
//! use minlab_protocols::{service::NullService, Instant, NodeId, Outbox, Output};
//! use minlab_usig::SymbolicUsig;
//!
//! let config = Arc::new(Config::new(1, 1)); // f = 1: 3 replicas; 1 client
//! let clients = Arc::new(ClientDirectory::from_seed(ClientAuth::None, 0, 1, 7));
//! let mut primary = Replica::new(config, clients, SymbolicUsig::new(0, 3), NullService::new()).unwrap();
//! let mut out = Outbox::new();
//! let request = Request { client: 0, seq: 1, op: vec![], auth: RequestAuth::None };
//! primary.on_message(Instant::ZERO, NodeId::Client(0), Message::Request(Arc::new(request)), &mut out);
//! // The primary orders the request (ORDER-REQ to the backups) and answers speculatively.
//! assert!(matches!(out.as_slice()[0], Output::Broadcast { msg: Message::OrderReq(_) }));
//! assert!(out.as_slice().iter().any(|o| matches!(o, Output::Send { msg: Message::Response(_), .. })));
//! ```

pub mod batch;
pub mod certify;
mod checkpoint;
pub mod client;
pub mod codec;
mod commit;
mod history;
mod machine_impl;
pub mod messages;
mod new_view;
mod order;
mod recover;
mod repair;
pub mod replica;
mod rollback;
mod transfer;
pub mod vc_check;
pub mod view_change;
pub mod wal;

#[cfg(test)]
mod cluster;
#[cfg(test)]
mod recover_tests;
#[cfg(test)]
mod resend_tests;
#[cfg(test)]
mod slots_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod transfer_tests;

pub use client::Client;
pub use codec::{decode, encode, encode_into};
pub use messages::{
    CertifiedResponse, Checkpoint, ClientState, Commit, FillHole, InBatch, LocalCommit, Message,
    NewView, OrderReq, Response, Sent, StateReply, StateRequest, ViewChange,
};
pub use replica::Replica;
