//! MinBFT (paper §4): the replica state machine, its messages, and what their UIs certify.
//!
//! Implemented: the normal case, batching, checkpoints and garbage collection, the view
//! change ([`view_change`]), retransmission of lost messages ([`repair`]) and state
//! transfer (module `transfer`), and crash recovery from a write-ahead log ([`wal`],
//! [`restart`]).

pub mod auth;
pub mod certify;
pub mod checkpoint;
mod clients;
pub mod codec;
pub mod config;
mod delivery;
pub mod evidence;
mod execute;
mod fifo;
mod log;
mod machine_impl;
pub mod messages;
pub(crate) mod mutant;
mod new_view;
pub mod normal;
mod recover;
pub mod repair;
pub mod replica;
pub mod restart;
mod transfer;
pub mod vc_check;
pub mod view_change;
pub mod wal;

#[cfg(test)]
mod evidence_tests;
#[cfg(test)]
mod recover_tests;
#[cfg(test)]
mod relay_tests;
#[cfg(test)]
mod repair_tests;
#[cfg(test)]
mod slots_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vc_tests;

pub use auth::{ClientAuth, ClientDirectory, ClientKeyring};
pub use codec::{FRAME_BYTES_MAX, decode, encode, encode_into};
pub use config::Config;
pub use messages::{
    Checkpoint, Commit, Digest, FillHole, LoggedMessage, Message, MessageKind, NewView, Prepare,
    Reply, ReqViewChange, Request, RequestAuth, Restart, StateReply, StateRequest, ViewChange,
};
#[cfg(feature = "mutants")]
pub use mutant::Mutant;
pub use replica::{Input, Replica};
