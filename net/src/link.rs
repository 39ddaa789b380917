//! Outgoing connections: bounded per-peer queues of encoded frames, a writer that batches
//! whatever is queued into one flush, and reconnection with exponential back-off.

use crate::channel::{ChannelKeys, FrameMac, connect_replica};
use crate::error::NetError;
use crate::frame::write_frame;
use crate::metrics::NetMetrics;
use crate::wan::WanSampler;
use minlab_protocols::ReplicaId;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::{debug, info};

/// An encoded message, shared by every queue it is broadcast to.
pub type Frame = Arc<Vec<u8>>;

/// Frames one outgoing queue holds; when full, new frames are dropped and counted (the
/// protocol's retransmission recovers them), so a slow or dead peer never blocks the replica.
pub const QUEUE_FRAMES: usize = 4096;

/// First retry delay after a failed connection; doubled up to [`BACKOFF_MAX`].
pub const BACKOFF_MIN: Duration = Duration::from_millis(20);
/// Longest retry delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// How long connecting and the handshake may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Bytes buffered before a write system call.
const WRITE_BUFFER_BYTES: usize = 64 << 10;

/// Queues `frame` on `tx`, dropping it (counted) if the queue is full.
pub fn enqueue(tx: &mpsc::Sender<Frame>, frame: Frame, metrics: &NetMetrics) {
    if tx.try_send(frame).is_err() {
        NetMetrics::bump(&metrics.queue_full_drops);
    }
}

async fn write_one<W: AsyncWrite + Unpin>(
    w: &mut W,
    f: &Frame,
    mac: &mut Option<FrameMac>,
    metrics: &NetMetrics,
) -> Result<(), NetError> {
    match mac {
        Some(m) => {
            let tag = m.tag(f);
            write_frame(w, &[f, &tag]).await?
        }
        None => write_frame(w, &[f]).await?,
    }
    NetMetrics::bump(&metrics.frames_out);
    NetMetrics::add(&metrics.bytes_out, f.len() as u64);
    Ok(())
}

/// Writes the frames of `rx` to `w` until `rx` closes (`Ok`) or a write fails. With a WAN
/// sampler, each frame waits for its sampled delay first (bounded by [`QUEUE_FRAMES`]).
pub async fn pump<W: AsyncWrite + Unpin>(
    w: &mut BufWriter<W>,
    rx: &mut mpsc::Receiver<Frame>,
    mut mac: Option<FrameMac>,
    wan: &mut Option<WanSampler>,
    metrics: &NetMetrics,
) -> Result<(), NetError> {
    let Some(sampler) = wan else {
        while let Some(f) = rx.recv().await {
            write_one(w, &f, &mut mac, metrics).await?;
            while let Ok(f) = rx.try_recv() {
                write_one(w, &f, &mut mac, metrics).await?;
            }
            w.flush().await?;
        }
        return Ok(());
    };
    let mut pending: VecDeque<(tokio::time::Instant, Frame)> = VecDeque::new();
    let mut last_due = tokio::time::Instant::now();
    loop {
        let next_due = pending.front().map(|(d, _)| *d);
        tokio::select! {
            f = rx.recv(), if pending.len() < QUEUE_FRAMES => {
                let Some(f) = f else { return Ok(()) };
                let due = (tokio::time::Instant::now() + sampler.sample()).max(last_due);
                last_due = due;
                pending.push_back((due, f));
            }
            _ = tokio::time::sleep_until(next_due.unwrap_or_else(tokio::time::Instant::now)), if next_due.is_some() => {
                let now = tokio::time::Instant::now();
                while pending.front().is_some_and(|(d, _)| *d <= now) {
                    if let Some((_, f)) = pending.pop_front() {
                        write_one(w, &f, &mut mac, metrics).await?;
                    }
                }
                w.flush().await?;
            }
        }
    }
}

/// The link from replica `keys.me()` to replica `peer` at `addr`: connects, proves its
/// identity, sends the queued frames with MACs, and reconnects with back-off when the
/// connection fails. Ends when every sender of `rx` is gone.
pub async fn peer_link(
    keys: Arc<ChannelKeys>,
    peer: ReplicaId,
    addr: SocketAddr,
    mut rx: mpsc::Receiver<Frame>,
    metrics: Arc<NetMetrics>,
    mut wan: Option<WanSampler>,
) {
    let mut backoff = BACKOFF_MIN;
    let mut connected_before = false;
    loop {
        let attempt = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let mut s = TcpStream::connect(addr).await?;
            s.set_nodelay(true)?;
            let mac = connect_replica(&mut s, &keys, peer).await?;
            Ok::<_, NetError>((s, mac))
        })
        .await;
        match attempt {
            Ok(Ok((s, mac))) => {
                if connected_before {
                    NetMetrics::bump(&metrics.reconnects);
                }
                connected_before = true;
                backoff = BACKOFF_MIN;
                info!(peer, %addr, "connected to replica");
                let mut w = BufWriter::with_capacity(WRITE_BUFFER_BYTES, s);
                match pump(&mut w, &mut rx, Some(mac), &mut wan, &metrics).await {
                    Ok(()) => return,
                    Err(e) => info!(peer, "link to replica lost: {e}"),
                }
            }
            Ok(Err(e)) => {
                NetMetrics::bump(&metrics.connect_failures);
                debug!(peer, %addr, "connecting failed: {e}");
            }
            Err(_) => {
                NetMetrics::bump(&metrics.connect_failures);
                debug!(peer, %addr, "connecting timed out");
            }
        }
        if rx.is_closed() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}
