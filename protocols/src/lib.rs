//! Sans-IO state machines of MinBFT (paper §4), its client, and the replicated services.
//!
//! A [`Replica`] is a plain value. You push inputs into it — a decoded [`Message`] from a
//! node, or a timer firing — each with the current simulated time [`Instant`], and it
//! appends what it wants done to an [`Outbox`]: messages to send or broadcast, timers to
//! set or cancel, and [`Event`]s (request executed, checkpoint stable, message rejected).
//! It never reads a clock, draws randomness or does I/O, so the same code runs in the
//! simulator, the model checker and behind a socket. [`testkit::Cluster`] is a ready-made
//! in-memory driver.
//!
//! ```
//! use std::sync::Arc;
//! use minlab_protocols::minbft::{ClientAuth, ClientDirectory, Config, Message, Replica, Request, RequestAuth};
//! use minlab_protocols::{service::NullService, Instant, NodeId, Outbox, Output};
//! use minlab_usig::SymbolicUsig;
//!
//! let config = Arc::new(Config::new(1, 1)); // f = 1: 3 replicas; 1 client
//! let clients = Arc::new(ClientDirectory::from_seed(ClientAuth::None, 0, 1, 7));
//! let mut primary = Replica::new(config, clients, SymbolicUsig::new(0, 3), NullService::new()).unwrap();
//! let mut out = Outbox::new();
//! let request = Request { client: 0, seq: 1, op: vec![], auth: RequestAuth::None };
//! primary.on_message(Instant::ZERO, NodeId::Client(0), Message::Request(Arc::new(request)), &mut out);
//! // The primary of view 0 orders the request: one PREPARE, broadcast to the backups (and
//! // a repair timer, in case the COMMITs it now waits for are lost).
//! assert!(matches!(out.as_slice()[0], Output::Broadcast { msg: Message::Prepare(_) }));
//! ```
#![warn(missing_docs)]

pub mod batching;
pub mod bench;
pub mod client;
pub mod delay;
pub mod error;
pub mod event;
pub mod machine;
pub mod metrics;
pub mod minbft;
pub mod minzyzyva;
pub mod node;
pub mod outbox;
pub mod pbft;
pub mod service;
pub mod testkit;
pub mod time;
pub mod wire;

pub use batching::BatchRule;
pub use client::Client;
pub use error::ProtocolError;
pub use event::{Event, RejectReason};
pub use machine::{ClientMachine, ProtocolMessage, ReplicaMachine, UiClaim};
pub use metrics::Metrics;
pub use minbft::{Input, Message, Replica};
pub use node::{ClientId, NodeId, ReplicaId, View};
pub use outbox::{Outbox, Output, TimerKind};
pub use time::{Duration, Instant};
