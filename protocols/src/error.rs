//! The crate's error type: what a caller of `minlab-protocols` can get wrong or run into.

/// Errors returned by this crate's fallible entry points. Protocol-level problems with
/// untrusted messages are not errors but [`crate::event::Event::MessageRejected`] events.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// A frame exceeds [`crate::minbft::codec::FRAME_BYTES_MAX`].
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// Size of the frame.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not a valid encoding of a message.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// The bytes decode to a message followed by garbage.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A client was asked to submit while a request is outstanding (paper §4: one at a time).
    #[error("client {0} already has an outstanding request")]
    ClientBusy(u32),
    /// A service snapshot could not be restored.
    #[error("bad snapshot: {0}")]
    BadSnapshot(String),
    /// A write-ahead log record is malformed or inconsistent (see [`crate::minbft::wal`]).
    #[error("corrupt write-ahead log: {0}")]
    CorruptLog(String),
    /// The USIG failed while setting up a replica.
    #[error("USIG: {0}")]
    Usig(#[from] minlab_usig::UsigError),
}
