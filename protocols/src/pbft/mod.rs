//! A PBFT baseline (Castro and Liskov, OSDI 1999), so that every comparison the paper's §7
//! draws against PBFT can be drawn here: `n = 3f + 1` replicas, the normal case with
//! PRE-PREPARE, PREPARE and COMMIT, MAC authenticators between replicas and for clients,
//! batching, checkpoints and garbage collection.
//!
//! **What it does not implement**, like the paper's JPBFT ("PBFT's normal case operation",
//! §7): no view change (a backup's [`TimerKind::RequestTimeout`](crate::TimerKind) only
//! emits [`Event::TimerIgnored`](crate::Event)), no retransmission of protocol messages,
//! no state transfer (a replica that misses a PRE-PREPARE or enough votes stays behind;
//! up to `f` such replicas do not stop the others), and no tentative execution (so five
//! communication steps from request to reply, as JPBFT). Clients send to the primary of
//! view 0 and to every replica on retransmission.
//!
//! It emits the same [`Event`](crate::Event)s as MinBFT (`RequestExecuted` with dense
//! positions, `CheckpointTaken`, `CheckpointStable`, `MessageRejected`, `Completed`), so the
//! simulator's oracles apply unchanged; `counter` in those events is PBFT's sequence number.
//!
//! ```
//! use std::sync::Arc;
//! use minlab_protocols::pbft::{Config, Message, Replica};
//! use minlab_protocols::minbft::{ClientKeyring, Request};
//! use minlab_protocols::{service::NullService, Instant, NodeId, Outbox, Output};
//!
//! let config = Arc::new(Config::new(1, 1)); // f = 1: 4 replicas; 1 client
//! let mut primary = Replica::from_seed(config.clone(), 0, 7, NullService::new()).unwrap();
//! let keys = ClientKeyring::from_seed(config.client_auth, 0, 4, 7);
//! let mut request = Request { client: 0, seq: 1, op: vec![], auth: minlab_protocols::minbft::RequestAuth::None };
//! request.auth = keys.authenticate(&request);
//! let mut out = Outbox::new();
//! primary.on_message(Instant::ZERO, NodeId::Client(0), Message::Request(Arc::new(request)), &mut out);
//! // The primary assigns sequence number 1: one PRE-PREPARE, broadcast to the backups.
//! assert!(matches!(out.as_slice(), [Output::Broadcast { msg: Message::PrePrepare(pp) }] if pp.seq == 1));
//! ```

pub mod auth;
pub mod client;
mod clients;
pub mod codec;
pub mod config;
mod execute;
mod log;
mod machine_impl;
pub mod messages;
mod normal;
pub mod replica;

#[cfg(test)]
mod cluster;
#[cfg(test)]
mod slots_tests;
#[cfg(test)]
mod tests;

pub use auth::ReplicaKeys;
pub use client::Client;
pub use codec::{decode, encode, encode_into};
pub use config::Config;
pub use messages::{Authenticator, Checkpoint, Commit, Message, PrePrepare, Prepare};
pub use replica::Replica;
