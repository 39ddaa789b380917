//! A load client's connection to one replica: the client handshake naming the client ids
//! it speaks for, a reader forwarding replies, a writer sending queued requests, and
//! reconnection with back-off.

use crate::channel::connect_clients;
use crate::error::NetError;
use crate::frame::read_frame;
use crate::link::{BACKOFF_MAX, BACKOFF_MIN, CONNECT_TIMEOUT, Frame, pump};
use crate::metrics::NetMetrics;
use crate::wan::WanDelay;
use minlab_protocols::minbft::FRAME_BYTES_MAX;
use minlab_protocols::{ClientId, ProtocolMessage, ReplicaId};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::io::{BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::debug;

/// One client connection's fixed parts; `M` is the protocol's message.
pub struct ClientLink<M> {
    /// The replica.
    pub replica: ReplicaId,
    /// Its address.
    pub addr: SocketAddr,
    /// First client id spoken for.
    pub first: ClientId,
    /// How many.
    pub count: u32,
    /// Where replies go.
    pub inbound: mpsc::Sender<(ReplicaId, M)>,
    /// Counters.
    pub metrics: Arc<NetMetrics>,
    /// Number of links currently connected (shared).
    pub connected: Arc<AtomicU32>,
    /// WAN emulation on requests.
    pub wan: Option<WanDelay>,
}

/// One client connection to replica `replica`: forwards replies to `inbound`, sends the
/// frames of `rx`, reconnects with back-off.
pub async fn client_link<M: ProtocolMessage>(link: ClientLink<M>, mut rx: mpsc::Receiver<Frame>) {
    let ClientLink {
        replica,
        addr,
        first,
        count,
        inbound,
        metrics,
        connected,
        wan,
    } = link;
    let mut backoff = BACKOFF_MIN;
    let mut wan = wan.map(|w| w.sampler());
    let mut connected_before = false;
    loop {
        let attempt = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let mut s = TcpStream::connect(addr).await?;
            s.set_nodelay(true)?;
            connect_clients(&mut s, replica, first, count).await?;
            Ok::<_, NetError>(s)
        })
        .await;
        match attempt {
            Ok(Ok(s)) => {
                if connected_before {
                    NetMetrics::bump(&metrics.reconnects);
                }
                connected_before = true;
                backoff = BACKOFF_MIN;
                connected.fetch_add(1, Ordering::Relaxed);
                debug!(replica, "client connection up");
                let (rd, wr) = s.into_split();
                let mut w = BufWriter::with_capacity(64 << 10, wr);
                let mut rd = BufReader::with_capacity(64 << 10, rd);
                let reader = async {
                    let mut buf = Vec::new();
                    loop {
                        match read_frame(&mut rd, FRAME_BYTES_MAX, &mut buf).await {
                            Ok(true) => {}
                            Ok(false) => return Ok(()),
                            Err(e) => return Err(e),
                        }
                        NetMetrics::add(&metrics.bytes_in, buf.len() as u64);
                        let msg = M::decode(&buf)?;
                        NetMetrics::bump(&metrics.frames_in);
                        if inbound.send((replica, msg)).await.is_err() {
                            return Ok(());
                        }
                    }
                };
                let done = tokio::select! {
                    r = reader => { if let Err(e) = r { debug!(replica, "client connection: {e}"); } false }
                    r = pump(&mut w, &mut rx, None, &mut wan, &metrics) => r.is_ok(),
                };
                connected.fetch_sub(1, Ordering::Relaxed);
                if done || inbound.is_closed() {
                    return;
                }
            }
            _ => NetMetrics::bump(&metrics.connect_failures),
        }
        if rx.is_closed() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}
