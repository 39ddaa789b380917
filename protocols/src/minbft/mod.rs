//! MinBFT (paper §4): the replica state machine, its messages, and what their UIs certify.
//!
//! Implemented: the normal case, batching, checkpoints and garbage collection, the view
//! change ([`view_change`]), retransmission of lost messages ([`repair`]) and state
//! transfer (module `transfer`).

pub mod auth;
pub mod certify;
pub mod checkpoint;
mod clients;
pub mod codec;
pub mod config;
mod delivery;
mod execute;
mod fifo;
mod log;
mod machine_impl;
pub mod messages;
mod new_view;
pub mod normal;
pub mod repair;
pub mod replica;
mod transfer;
pub mod vc_check;
pub mod view_change;

#[cfg(test)]
mod repair_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vc_tests;

pub use auth::{ClientAuth, ClientDirectory, ClientKeyring};
pub use codec::{FRAME_BYTES_MAX, decode, encode, encode_into};
pub use config::Config;
pub use messages::{
    Checkpoint, Commit, Digest, FillHole, LoggedMessage, Message, MessageKind, NewView, Prepare,
    Reply, ReqViewChange, Request, RequestAuth, StateReply, StateRequest, ViewChange,
};
pub use replica::{Input, Replica};
