//! Incoming connections of a replica: the handshake, then a reader that checks frame
//! limits and MACs, decodes messages and hands them to the replica task (waiting when its
//! queue is full, which pushes back on the sender through TCP flow control). A client
//! connection also gets a writer for the replies.

use crate::channel::{Accepted, ChannelKeys, HANDSHAKE_BYTES_MAX, TAG_BYTES, accept};
use crate::error::NetError;
use crate::frame::read_frame;
use crate::link::{Frame, QUEUE_FRAMES, pump};
use crate::metrics::NetMetrics;
use crate::wan::WanDelay;
use minlab_protocols::minbft::FRAME_BYTES_MAX;
use minlab_protocols::{ClientId, NodeId, ProtocolMessage};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

/// Most connections a replica keeps open at once (replicas and client processes); more
/// are refused, so connections cannot exhaust memory.
pub const CONNECTIONS_MAX: usize = 256;

/// How long a peer may take to complete the handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);

/// Bytes read from a socket per system call.
const READ_BUFFER_BYTES: usize = 64 << 10;

/// Largest frame on a client connection (requests only). Client connections are not
/// authenticated at the transport, so their buffers are kept small: with
/// [`CONNECTIONS_MAX`] connections, partial frames hold at most 64 MiB.
pub const CLIENT_FRAME_BYTES_MAX: usize = 256 << 10;

/// Most bytes of received messages waiting for the replica task, over all connections
/// (in KiB permits; a reader waits for room, pushing back through TCP flow control).
pub const INBOUND_KIB_MAX: usize = 64 << 10;

fn kib(len: usize) -> u32 {
    len.div_ceil(1024).clamp(1, INBOUND_KIB_MAX) as u32
}

/// What connection tasks tell the replica task; `M` is the protocol's message.
#[derive(Debug)]
pub enum Inbound<M> {
    /// A message from an authenticated replica or one of a connection's clients.
    Message {
        /// The transport-level sender.
        from: NodeId,
        /// The message.
        msg: M,
        /// Its share of the inbound byte budget, returned when it is dropped.
        budget: OwnedSemaphorePermit,
    },
    /// A client connection opened: replies to its clients go to `tx`.
    ClientsUp {
        /// First client.
        first: ClientId,
        /// How many.
        count: u32,
        /// Connection number.
        conn: u64,
        /// Its reply queue.
        tx: mpsc::Sender<Frame>,
    },
    /// A client connection closed.
    ClientsDown {
        /// First client.
        first: ClientId,
        /// How many.
        count: u32,
        /// Connection number.
        conn: u64,
    },
}

/// What the accept loop needs.
pub struct AcceptContext<M> {
    /// Which client a message on a client connection speaks for, if clients may send it
    /// (`NetProtocol::request_client`).
    pub request_client: fn(&M) -> Option<ClientId>,
    /// The replica's channel keys.
    pub keys: Arc<ChannelKeys>,
    /// Size of the client table.
    pub client_count: u32,
    /// The replica task's queue.
    pub inbound: mpsc::Sender<Inbound<M>>,
    /// Counters.
    pub metrics: Arc<NetMetrics>,
    /// WAN emulation on replies to clients.
    pub wan: Option<WanDelay>,
    /// The inbound byte budget ([`INBOUND_KIB_MAX`] KiB).
    pub budget: Arc<Semaphore>,
}

impl<M> AcceptContext<M> {
    /// The context of a replica whose task reads `inbound`.
    pub fn new(
        request_client: fn(&M) -> Option<ClientId>,
        keys: Arc<ChannelKeys>,
        client_count: u32,
        inbound: mpsc::Sender<Inbound<M>>,
        metrics: Arc<NetMetrics>,
        wan: Option<WanDelay>,
    ) -> Self {
        AcceptContext {
            request_client,
            keys,
            client_count,
            inbound,
            metrics,
            wan,
            budget: Arc::new(Semaphore::new(INBOUND_KIB_MAX)),
        }
    }
}

/// Accepts connections until the task is aborted; aborting it closes every connection.
pub async fn accept_loop<M: ProtocolMessage + Sync>(listener: TcpListener, ctx: AcceptContext<M>) {
    let ctx = Arc::new(ctx);
    let slots = Arc::new(Semaphore::new(CONNECTIONS_MAX));
    let conn_ids = AtomicU64::new(0);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, addr) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                NetMetrics::bump(&ctx.metrics.connections_accepted);
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    NetMetrics::bump(&ctx.metrics.handshakes_refused);
                    warn!(%addr, "too many connections; refused");
                    continue;
                };
                let conn = conn_ids.fetch_add(1, Ordering::Relaxed);
                let ctx = ctx.clone();
                conns.spawn(async move {
                    let _permit = permit;
                    if let Err(e) = serve(stream, conn, &ctx).await {
                        debug!(%addr, "connection closed: {e}");
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

fn count_error(metrics: &NetMetrics, e: &NetError) {
    let c = match e {
        NetError::FrameTooLarge { .. } => &metrics.frames_oversized,
        NetError::Truncated => &metrics.frames_truncated,
        NetError::BadMac => &metrics.frames_bad_mac,
        NetError::Decode(_) => &metrics.frames_undecodable,
        _ => return,
    };
    NetMetrics::bump(c);
}

async fn serve<M: ProtocolMessage + Sync>(
    mut stream: TcpStream,
    conn: u64,
    ctx: &AcceptContext<M>,
) -> Result<(), NetError> {
    stream.set_nodelay(true)?;
    let accepted = match tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        accept(&mut stream, &ctx.keys, ctx.client_count),
    )
    .await
    {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            NetMetrics::bump(&ctx.metrics.handshakes_refused);
            match &e {
                // A port probe (e.g. `minlab cluster up` waiting for the listener).
                NetError::Handshake(m) if m.contains("closed during") => debug!("{e}"),
                _ => warn!("{e}"),
            }
            return Err(e);
        }
        Err(_) => {
            NetMetrics::bump(&ctx.metrics.handshakes_refused);
            return Err(NetError::Handshake(format!(
                "no handshake within {HANDSHAKE_TIMEOUT:?} (at most {HANDSHAKE_BYTES_MAX} bytes)"
            )));
        }
    };
    let (rd, wr) = stream.into_split();
    let mut rd = BufReader::with_capacity(READ_BUFFER_BYTES, rd);
    match accepted {
        Accepted::Replica { peer, mut mac } => {
            info!(peer, "replica connected");
            let r = read_loop(&mut rd, FRAME_BYTES_MAX + TAG_BYTES, ctx, |frame| {
                let payload = mac.open(frame)?;
                Ok(Some((NodeId::Replica(peer), M::decode(payload)?)))
            })
            .await;
            if let Err(e) = &r {
                count_error(&ctx.metrics, e);
                warn!(peer, "dropping the connection of replica: {e}");
            }
            r
        }
        Accepted::Clients { first, count } => {
            debug!(first, count, "client connection");
            let (tx, mut rx) = mpsc::channel::<Frame>(QUEUE_FRAMES);
            let metrics = ctx.metrics.clone();
            let mut wan = ctx.wan.map(|w| w.sampler());
            let writer = tokio::spawn(async move {
                let mut w = BufWriter::with_capacity(READ_BUFFER_BYTES, wr);
                let _ = pump(&mut w, &mut rx, None, &mut wan, &metrics).await;
            });
            let up = Inbound::ClientsUp {
                first,
                count,
                conn,
                tx,
            };
            if ctx.inbound.send(up).await.is_err() {
                writer.abort();
                return Ok(());
            }
            let range = u64::from(first)..u64::from(first) + u64::from(count);
            let metrics = ctx.metrics.clone();
            let r = read_loop(&mut rd, CLIENT_FRAME_BYTES_MAX, ctx, |frame| {
                let msg = M::decode(frame)?;
                match (ctx.request_client)(&msg) {
                    Some(c) if range.contains(&u64::from(c)) => Ok(Some((NodeId::Client(c), msg))),
                    _ => {
                        NetMetrics::bump(&metrics.frames_unexpected);
                        Ok(None)
                    }
                }
            })
            .await;
            if let Err(e) = &r {
                count_error(&ctx.metrics, e);
                debug!(first, count, "dropping a client connection: {e}");
            }
            let _ = ctx
                .inbound
                .send(Inbound::ClientsDown { first, count, conn })
                .await;
            writer.abort();
            r
        }
    }
}

/// Reads frames until the stream ends or a frame is bad; `open` turns a frame into the
/// message to deliver (or `None` to skip it).
async fn read_loop<R: AsyncRead + Unpin, M>(
    rd: &mut R,
    max: usize,
    ctx: &AcceptContext<M>,
    mut open: impl FnMut(&[u8]) -> Result<Option<(NodeId, M)>, NetError>,
) -> Result<(), NetError> {
    let mut buf = Vec::new();
    while read_frame(rd, max, &mut buf).await? {
        NetMetrics::add(&ctx.metrics.bytes_in, buf.len() as u64);
        if let Some((from, msg)) = open(&buf)? {
            NetMetrics::bump(&ctx.metrics.frames_in);
            let Ok(budget) = ctx.budget.clone().acquire_many_owned(kib(buf.len())).await else {
                return Ok(());
            };
            let input = Inbound::Message { from, msg, budget };
            if ctx.inbound.send(input).await.is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}
