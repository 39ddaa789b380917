//! The one wire format every protocol uses: postcard over serde derives, with a frame-size
//! limit. Each protocol's `codec` module names its message type; hostile bytes produce an
//! error, never a panic.

use crate::error::ProtocolError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest frame `encode_into` produces and `decode` accepts (4 MiB).
pub const FRAME_BYTES_MAX: usize = 4 << 20;

/// Encodes `msg`, appending to `buf` (reuse one buffer to avoid allocations). On error
/// `buf` is left as it was.
pub fn encode_into<T: Serialize>(msg: &T, buf: &mut Vec<u8>) -> Result<(), ProtocolError> {
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
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, ProtocolError> {
    let mut buf = Vec::new();
    encode_into(msg, &mut buf)?;
    Ok(buf)
}

/// Decodes one value occupying all of `bytes`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ProtocolError> {
    if bytes.len() > FRAME_BYTES_MAX {
        return Err(ProtocolError::FrameTooLarge {
            len: bytes.len(),
            max: FRAME_BYTES_MAX,
        });
    }
    let (msg, rest) = postcard::take_from_bytes::<T>(bytes)
        .map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(ProtocolError::TrailingBytes(rest.len()));
    }
    Ok(msg)
}
