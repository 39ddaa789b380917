//! The MinZyzyva wire format: postcard over the serde derives of [`Message`], with
//! MinBFT's frame-size limit. Hostile bytes produce an error, never a panic.

use super::messages::Message;
use crate::error::ProtocolError;
use crate::wire;
pub use crate::wire::FRAME_BYTES_MAX;

/// Encodes `msg`, appending to `buf` (reuse one buffer to avoid allocations).
pub fn encode_into(msg: &Message, buf: &mut Vec<u8>) -> Result<(), ProtocolError> {
    wire::encode_into(msg, buf)
}

/// Encodes `msg` into a fresh buffer.
pub fn encode(msg: &Message) -> Result<Vec<u8>, ProtocolError> {
    wire::encode(msg)
}

/// Decodes one message occupying all of `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Message, ProtocolError> {
    wire::decode(bytes)
}
