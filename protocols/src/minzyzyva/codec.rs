//! The MinZyzyva wire format: postcard over the serde derives of [`Message`], with
//! MinBFT's frame-size limit. Hostile bytes produce an error, never a panic.

use super::messages::Message;
use crate::error::ProtocolError;
use crate::minbft::codec::FRAME_BYTES_MAX;

/// Encodes `msg`, appending to `buf`.
pub fn encode_into(msg: &Message, buf: &mut Vec<u8>) -> Result<(), ProtocolError> {
    let start = buf.len();
    let taken = std::mem::take(buf);
    *buf = postcard::to_extend(msg, taken).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    let len = buf.len() - start;
    if len > FRAME_BYTES_MAX {
        buf.truncate(start);
        return Err(ProtocolError::FrameTooLarge {
            len,
            max: FRAME_BYTES_MAX,
        });
    }
    Ok(())
}

/// Encodes `msg` into a fresh buffer.
pub fn encode(msg: &Message) -> Result<Vec<u8>, ProtocolError> {
    let mut buf = Vec::new();
    encode_into(msg, &mut buf)?;
    Ok(buf)
}

/// Decodes one message occupying all of `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Message, ProtocolError> {
    if bytes.len() > FRAME_BYTES_MAX {
        return Err(ProtocolError::FrameTooLarge {
            len: bytes.len(),
            max: FRAME_BYTES_MAX,
        });
    }
    let (msg, rest) = postcard::take_from_bytes::<Message>(bytes)
        .map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(ProtocolError::TrailingBytes(rest.len()));
    }
    Ok(msg)
}
