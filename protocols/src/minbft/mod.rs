//! MinBFT (paper §4): the replica state machine, its messages, and what their UIs certify.
//!
//! Phase 1 implements the normal case, batching, checkpoints and garbage collection; the
//! view change and state transfer are defined (messages, timers) but not handled yet, see
//! [`view_change`].

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
pub mod messages;
pub mod normal;
pub mod replica;
pub mod view_change;

#[cfg(test)]
mod tests;

pub use auth::{ClientAuth, ClientDirectory, ClientKeyring};
pub use codec::{FRAME_BYTES_MAX, decode, encode, encode_into};
pub use config::Config;
pub use messages::{
    Checkpoint, Commit, Digest, LoggedMessage, Message, MessageKind, NewView, Prepare, Reply,
    ReqViewChange, Request, RequestAuth, StateReply, StateRequest, ViewChange,
};
pub use replica::{Input, Replica};
