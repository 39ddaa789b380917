//! Length-prefixed frames on a byte stream: a 4-byte big-endian length, then that many
//! bytes. A length above the limit, or a stream that ends inside a frame, is an error; the
//! reader buffers only the bytes that actually arrived, never the announced length.

use crate::error::NetError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bytes of the length prefix.
pub const PREFIX_BYTES: usize = 4;

/// A receive buffer larger than this is released after its frame, so one large frame
/// (a state transfer) does not pin megabytes per connection.
const KEEP_CAPACITY_MAX: usize = 256 << 10;

/// Reads one frame into `buf` (replacing its contents). `Ok(false)` means the stream ended
/// cleanly between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
    buf: &mut Vec<u8>,
) -> Result<bool, NetError> {
    if buf.capacity() > KEEP_CAPACITY_MAX {
        *buf = Vec::new();
    }
    buf.clear();
    let mut prefix = [0u8; PREFIX_BYTES];
    let mut got = 0;
    while got < PREFIX_BYTES {
        let n = r.read(&mut prefix[got..]).await?;
        if n == 0 {
            return if got == 0 {
                Ok(false)
            } else {
                Err(NetError::Truncated)
            };
        }
        got += n;
    }
    let len = u32::from_be_bytes(prefix) as usize;
    if len > max {
        return Err(NetError::FrameTooLarge { len, max });
    }
    // `take` + `read_to_end` grows the buffer as bytes arrive: a peer that announces a large
    // frame and stalls costs only what it sent.
    let read = (&mut *r).take(len as u64).read_to_end(buf).await?;
    if read < len {
        return Err(NetError::Truncated);
    }
    Ok(true)
}

/// Writes one frame made of `parts` (concatenated) to `w`, without flushing.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    parts: &[&[u8]],
) -> Result<(), NetError> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let len = u32::try_from(len).map_err(|_| NetError::FrameTooLarge {
        len,
        max: u32::MAX as usize,
    })?;
    w.write_all(&len.to_be_bytes()).await?;
    for p in parts {
        w.write_all(p).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(bytes: &[u8], max: usize) -> Vec<Result<Vec<u8>, String>> {
        let mut r = bytes;
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            match read_frame(&mut r, max, &mut buf).await {
                Ok(true) => out.push(Ok(buf.clone())),
                Ok(false) => return out,
                Err(e) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
            }
        }
    }

    #[tokio::test]
    async fn frames_round_trip_and_bad_streams_are_errors() {
        let mut w = Vec::new();
        write_frame(&mut w, &[b"ab", b"c"]).await.unwrap();
        write_frame(&mut w, &[]).await.unwrap();
        let frames = read_all(&w, 16).await;
        assert_eq!(frames, vec![Ok(b"abc".to_vec()), Ok(vec![])]);
        // Truncated inside the prefix and inside the body.
        assert_eq!(
            read_all(&w[..2], 16).await,
            vec![Err("stream ended inside a frame".into())]
        );
        assert_eq!(
            read_all(&w[..5], 16).await,
            vec![Err("stream ended inside a frame".into())]
        );
        // Over the limit: refused before reading the body.
        let frames = read_all(&[0xff, 0xff, 0xff, 0xff], 16).await;
        assert!(
            frames[0]
                .as_ref()
                .unwrap_err()
                .contains("exceeds the maximum")
        );
    }
}
