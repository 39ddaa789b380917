//! The one error type of the network adapter, with variants a caller can act on.

use std::path::PathBuf;

/// What can go wrong in the network adapter.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A cluster file that cannot be read or does not make sense.
    #[error("cluster config {path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A frame longer than the limit (the connection is dropped).
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// Announced length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The stream ended inside a frame (the connection is dropped).
    #[error("stream ended inside a frame")]
    Truncated,
    /// A handshake that did not prove the peer's identity or was malformed.
    #[error("handshake refused: {0}")]
    Handshake(String),
    /// A frame whose MAC does not verify (the connection is dropped).
    #[error("frame failed authentication")]
    BadMac,
    /// A frame that does not decode to a protocol message.
    #[error("undecodable frame: {0}")]
    Decode(#[from] minlab_protocols::ProtocolError),
    /// The USIG or its key or counter files.
    #[error("USIG: {0}")]
    Usig(#[from] minlab_usig::UsigError),
    /// A socket or file operation failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Not enough replicas could be reached.
    #[error("unreachable: {0}")]
    Unreachable(String),
}
