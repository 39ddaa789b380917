//! The thin real-network adapter: the unchanged Sans-IO replicas and clients of
//! `minlab-protocols` (MinBFT's [`Replica`] and [`Client`], MinZyzyva's), driven over TCP
//! by tokio.
//!
//! The adapter owns the sockets and the clock and nothing else: a [`node`] runs one replica
//! in a single task that turns its outputs into frames ([`frame`], [`link`]) and its timer
//! deadlines into tokio sleeps ([`timers`]); [`accept`] checks and decodes what arrives.
//! Replica-to-replica channels are authenticated ([`channel`]): a handshake proves each
//! side's identity from the key files, and every frame carries a MAC. [`load`] is a
//! closed-loop load generator. [`config`] reads the cluster file; [`usig`] opens the USIG
//! it names (software, or a TPM with the `tpm` feature); [`wan`] delays frames to emulate
//! a wide-area network. [`protocol`] is what differs between MinBFT and MinZyzyva (how to
//! open a replica and its clients, which messages clients send); the cluster file's
//! `[protocol] name` picks one, and every other module is shared.
//!
//! [`Replica`]: minlab_protocols::Replica
//! [`Client`]: minlab_protocols::Client
//!
//! ```
//! use minlab_net::wan::WanDelay;
//! let wan = WanDelay::parse("10ms", Some("10%")).unwrap();
//! assert_eq!(wan.jitter, std::time::Duration::from_millis(1));
//! ```
#![warn(missing_docs)]
// The adapter maps the wall clock onto protocol time and draws nonces from the OS: the
// one crate (with the binary) allowed to.
#![allow(clippy::disallowed_methods)]

pub mod accept;
pub mod channel;
pub mod client_link;
pub mod clock;
pub mod config;
pub mod error;
pub mod frame;
pub mod link;
pub mod load;
pub mod metrics;
pub mod node;
pub mod protocol;
pub mod service;
pub mod status;
pub mod timers;
pub mod usig;
pub mod wal;
pub mod wan;

pub use config::{ClusterConfig, ProtocolKind, ServiceKind};
pub use error::NetError;
pub use load::{LoadOptions, LoadReport, run_load};
pub use node::{NodeHandle, NodeOptions, start_node};
pub use status::NodeStatus;
