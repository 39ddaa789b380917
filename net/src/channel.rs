//! Authenticated replica-to-replica channels: the handshake that proves who is at the
//! other end of a TCP connection, and the MAC on every frame after it.
//!
//! Pair keys: replicas `a` and `b` share `K_ab = SHA-256("minlab-net pair" ‖ X25519(a, b) ‖
//! min ‖ max)`, a static Diffie-Hellman of their Ed25519 key pairs from the key files
//! (`minlab keygen`), so only `a` and `b` know it (not the other replicas, unlike the
//! USIG-Hmac keys every replica holds).
//!
//! Handshake (connector `a`, acceptor `b`, each frame at most [`HANDSHAKE_BYTES_MAX`]):
//! 1. `a → b`: [`Hello`] naming `a` (or a range of clients) and a fresh nonce `N_a`;
//! 2. `b → a`: [`Welcome`] naming `b`, a fresh nonce `N_b` and, for a replica,
//!    `HMAC(K_ab, "accept" ‖ T)` with transcript `T = a ‖ b ‖ N_a ‖ N_b`;
//! 3. `a → b` (replicas only): `HMAC(K_ab, "connect" ‖ T)`.
//!
//! Frames from `a` then carry `HMAC(K_s, seq ‖ payload)` truncated to 16 bytes, with the
//! session key `K_s = HMAC(K_ab, "frames" ‖ T)` and `seq` counting frames from 0, so frames
//! cannot be forged, altered, replayed or reordered within or across connections.
//! Client connections carry no channel MAC: requests are authenticated by the protocol's
//! client authentication, and a connection may only speak for the clients it named.

use crate::error::NetError;
use crate::frame::{read_frame, write_frame};
use ed25519_dalek::{SigningKey, VerifyingKey};
use hmac::{Hmac, KeyInit, Mac};
use minlab_protocols::{ClientId, ReplicaId};
use minlab_usig::KeySet;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

type HmacSha256 = Hmac<Sha256>;

/// Largest handshake frame accepted: before authentication, a peer gets no big buffers.
pub const HANDSHAKE_BYTES_MAX: usize = 256;

/// Bytes of a frame MAC.
pub const TAG_BYTES: usize = 16;

/// Protocol tag and version of the handshake.
const MAGIC: [u8; 8] = *b"minlab1\0";

/// Who opens a connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Peer {
    /// Replica `id` (must prove it).
    Replica(ReplicaId),
    /// A client process speaking for clients `first..first + count`.
    Clients {
        /// First client id.
        first: ClientId,
        /// How many.
        count: u32,
    },
}

/// Step 1 of the handshake.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Hello {
    magic: [u8; 8],
    /// Who is connecting.
    pub from: Peer,
    nonce: [u8; 32],
}

/// Step 2 of the handshake.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Welcome {
    /// The acceptor's replica id.
    pub replica: ReplicaId,
    nonce: [u8; 32],
    proof: Option<[u8; 32]>,
}

/// Step 3 of the handshake (replicas only).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
struct Confirm {
    proof: [u8; 32],
}

/// A replica's channel keys: the pair key it shares with every other replica.
#[derive(Clone)]
pub struct ChannelKeys {
    me: ReplicaId,
    pair: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ChannelKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChannelKeys {{ me: {}, .. }}", self.me)
    }
}

impl ChannelKeys {
    /// Replica `me`'s pair keys, from its key file (which holds its Ed25519 secret and every
    /// replica's public key).
    pub fn derive(me: ReplicaId, keys: &KeySet) -> Result<Self, NetError> {
        let secret = keys
            .ed25519_secret(me)
            .ok_or_else(|| NetError::Handshake(format!("no Ed25519 secret for replica {me}")))?;
        let scalar = SigningKey::from_bytes(secret).to_scalar_bytes();
        let pair = (0..keys.replica_count())
            .map(|r| {
                let public = keys
                    .ed25519_public(r)
                    .and_then(|p| VerifyingKey::from_bytes(p).ok())
                    .ok_or_else(|| NetError::Handshake(format!("bad public key of replica {r}")))?;
                let shared = public.to_montgomery().mul_clamped(scalar).to_bytes();
                let mut h = Sha256::new();
                h.update(b"minlab-net pair");
                h.update(shared);
                h.update(me.min(r).to_be_bytes());
                h.update(me.max(r).to_be_bytes());
                Ok(h.finalize().into())
            })
            .collect::<Result<Vec<[u8; 32]>, NetError>>()?;
        Ok(ChannelKeys { me, pair })
    }

    /// This replica's id.
    pub fn me(&self) -> ReplicaId {
        self.me
    }

    /// Number of replicas in the group.
    pub fn replica_count(&self) -> u32 {
        self.pair.len() as u32
    }

    fn pair(&self, peer: ReplicaId) -> Option<&[u8; 32]> {
        self.pair.get(peer as usize)
    }
}

/// Computes and checks the MACs of one direction of an authenticated connection.
#[derive(Clone)]
pub struct FrameMac {
    keyed: HmacSha256,
    seq: u64,
}

impl FrameMac {
    fn new(key: &[u8; 32]) -> Self {
        FrameMac {
            keyed: HmacSha256::new_from_slice(key).expect("HMAC takes any key length"),
            seq: 0,
        }
    }

    /// The tag of the next frame, `payload`; advances the frame number.
    pub fn tag(&mut self, payload: &[u8]) -> [u8; TAG_BYTES] {
        let mut m = self.keyed.clone();
        m.update(&self.seq.to_be_bytes());
        m.update(payload);
        self.seq += 1;
        let full: [u8; 32] = m.finalize().into_bytes().into();
        let mut t = [0u8; TAG_BYTES];
        t.copy_from_slice(&full[..TAG_BYTES]);
        t
    }

    /// Splits a received frame into its payload and checks its tag; advances the frame
    /// number only on success.
    pub fn open<'a>(&mut self, frame: &'a [u8]) -> Result<&'a [u8], NetError> {
        let Some(split) = frame.len().checked_sub(TAG_BYTES) else {
            return Err(NetError::BadMac);
        };
        let (payload, tag) = frame.split_at(split);
        let mut m = self.keyed.clone();
        m.update(&self.seq.to_be_bytes());
        m.update(payload);
        m.verify_truncated_left(tag).map_err(|_| NetError::BadMac)?;
        self.seq += 1;
        Ok(payload)
    }
}

fn fresh_nonce() -> Result<[u8; 32], NetError> {
    use rand::TryRng;
    let mut n = [0u8; 32];
    rand::rngs::SysRng
        .try_fill_bytes(&mut n)
        .map_err(|e| NetError::Io(std::io::Error::other(e.to_string())))?;
    Ok(n)
}

fn transcript_mac(
    pair: &[u8; 32],
    label: &[u8],
    a: ReplicaId,
    b: ReplicaId,
    na: &[u8; 32],
    nb: &[u8; 32],
) -> [u8; 32] {
    let mut m = HmacSha256::new_from_slice(pair).expect("HMAC takes any key length");
    m.update(label);
    m.update(&a.to_be_bytes());
    m.update(&b.to_be_bytes());
    m.update(na);
    m.update(nb);
    m.finalize().into_bytes().into()
}

fn proofs_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    // Constant time: no early exit on the first differing byte.
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn send<W: AsyncWrite + Unpin, T: Serialize>(w: &mut W, msg: &T) -> Result<(), NetError> {
    let bytes = postcard::to_allocvec(msg).map_err(|e| NetError::Handshake(e.to_string()))?;
    write_frame(w, &[&bytes]).await?;
    w.flush().await?;
    Ok(())
}

async fn receive<R: AsyncRead + Unpin, T: for<'de> Deserialize<'de>>(
    r: &mut R,
) -> Result<T, NetError> {
    let mut buf = Vec::new();
    if !read_frame(r, HANDSHAKE_BYTES_MAX, &mut buf).await? {
        return Err(NetError::Handshake(
            "connection closed during the handshake".into(),
        ));
    }
    let (msg, rest) = postcard::take_from_bytes::<T>(&buf)
        .map_err(|e| NetError::Handshake(format!("malformed handshake frame: {e}")))?;
    if !rest.is_empty() {
        return Err(NetError::Handshake(
            "trailing bytes in a handshake frame".into(),
        ));
    }
    Ok(msg)
}

/// Replica `keys.me()` connects to replica `peer`: returns the MAC state for the frames it
/// will send.
pub async fn connect_replica<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    keys: &ChannelKeys,
    peer: ReplicaId,
) -> Result<FrameMac, NetError> {
    let me = keys.me;
    let pair = keys
        .pair(peer)
        .ok_or_else(|| NetError::Handshake(format!("unknown replica {peer}")))?;
    let na = fresh_nonce()?;
    send(
        stream,
        &Hello {
            magic: MAGIC,
            from: Peer::Replica(me),
            nonce: na,
        },
    )
    .await?;
    let w: Welcome = receive(stream).await?;
    if w.replica != peer {
        return Err(NetError::Handshake(format!(
            "expected replica {peer}, reached {}",
            w.replica
        )));
    }
    let expected = transcript_mac(pair, b"accept", me, peer, &na, &w.nonce);
    if !w.proof.is_some_and(|p| proofs_equal(&p, &expected)) {
        return Err(NetError::Handshake(format!(
            "replica {peer} failed to prove its identity"
        )));
    }
    let proof = transcript_mac(pair, b"connect", me, peer, &na, &w.nonce);
    send(stream, &Confirm { proof }).await?;
    Ok(FrameMac::new(&transcript_mac(
        pair, b"frames", me, peer, &na, &w.nonce,
    )))
}

/// A client process connects to replica `replica`, speaking for `first..first + count`.
pub async fn connect_clients<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    replica: ReplicaId,
    first: ClientId,
    count: u32,
) -> Result<(), NetError> {
    let nonce = fresh_nonce()?;
    send(
        stream,
        &Hello {
            magic: MAGIC,
            from: Peer::Clients { first, count },
            nonce,
        },
    )
    .await?;
    let w: Welcome = receive(stream).await?;
    if w.replica != replica {
        return Err(NetError::Handshake(format!(
            "expected replica {replica}, reached {}",
            w.replica
        )));
    }
    Ok(())
}

/// What an accepted connection turned out to be.
#[derive(Debug)]
pub enum Accepted {
    /// Replica `peer`, proven; its frames carry MACs checked by the [`FrameMac`].
    Replica {
        /// Who.
        peer: ReplicaId,
        /// Checks its frames.
        mac: FrameMac,
    },
    /// A client process speaking for `first..first + count` (checked against
    /// `client_count`).
    Clients {
        /// First client id.
        first: ClientId,
        /// How many.
        count: u32,
    },
}

impl std::fmt::Debug for FrameMac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FrameMac {{ seq: {} }}", self.seq)
    }
}

/// Replica `keys.me()` runs the acceptor's side of the handshake. Unknown replicas, failed
/// proofs, client ranges outside `0..client_count` and malformed frames are refused.
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    keys: &ChannelKeys,
    client_count: u32,
) -> Result<Accepted, NetError> {
    let me = keys.me;
    let hello: Hello = receive(stream).await?;
    if hello.magic != MAGIC {
        return Err(NetError::Handshake("not a minlab peer (bad magic)".into()));
    }
    let nb = fresh_nonce()?;
    match hello.from {
        Peer::Replica(a) => {
            if a == me {
                return Err(NetError::Handshake(
                    "a replica cannot connect to itself".into(),
                ));
            }
            let pair = keys
                .pair(a)
                .ok_or_else(|| NetError::Handshake(format!("unknown replica {a}")))?;
            let proof = transcript_mac(pair, b"accept", a, me, &hello.nonce, &nb);
            send(
                stream,
                &Welcome {
                    replica: me,
                    nonce: nb,
                    proof: Some(proof),
                },
            )
            .await?;
            let c: Confirm = receive(stream).await?;
            let expected = transcript_mac(pair, b"connect", a, me, &hello.nonce, &nb);
            if !proofs_equal(&c.proof, &expected) {
                return Err(NetError::Handshake(format!(
                    "replica {a} failed to prove its identity"
                )));
            }
            let mac = FrameMac::new(&transcript_mac(pair, b"frames", a, me, &hello.nonce, &nb));
            Ok(Accepted::Replica { peer: a, mac })
        }
        Peer::Clients { first, count } => {
            if count == 0 || u64::from(first) + u64::from(count) > u64::from(client_count) {
                return Err(NetError::Handshake(format!(
                    "clients {first}..{} outside 0..{client_count}",
                    u64::from(first) + u64::from(count)
                )));
            }
            send(
                stream,
                &Welcome {
                    replica: me,
                    nonce: nb,
                    proof: None,
                },
            )
            .await?;
            Ok(Accepted::Clients { first, count })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u32, r: ReplicaId, seed: u64) -> ChannelKeys {
        ChannelKeys::derive(r, &KeySet::from_seed(n, seed).for_replica(r)).unwrap()
    }

    #[test]
    fn pair_keys_are_symmetric_and_distinct() {
        let k: Vec<ChannelKeys> = (0..3).map(|r| keys(3, r, 1)).collect();
        assert_eq!(k[0].pair(1), k[1].pair(0));
        assert_eq!(k[1].pair(2), k[2].pair(1));
        assert_ne!(k[0].pair(1), k[0].pair(2));
        assert_ne!(k[0].pair(1), keys(3, 0, 2).pair(1));
    }

    #[tokio::test]
    async fn replicas_authenticate_and_frames_are_bound_to_the_session() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let (ka, kb) = (keys(3, 0, 1), keys(3, 1, 1));
        let (sa, sb) = tokio::join!(connect_replica(&mut a, &ka, 1), accept(&mut b, &kb, 4));
        let mut send = sa.unwrap();
        let Accepted::Replica { peer: 0, mut mac } = sb.unwrap() else {
            panic!("not replica 0")
        };
        let t = send.tag(b"hello");
        let mut frame = b"hello".to_vec();
        frame.extend_from_slice(&t);
        // A tampered frame fails and does not advance the frame number.
        let mut bad = frame.clone();
        bad[0] ^= 1;
        assert!(matches!(mac.open(&bad), Err(NetError::BadMac)));
        assert!(matches!(mac.open(&frame[..3]), Err(NetError::BadMac)));
        assert_eq!(mac.open(&frame).unwrap(), b"hello");
        // A replay of the same frame fails (the frame number moved on).
        assert!(matches!(mac.open(&frame), Err(NetError::BadMac)));
    }

    #[tokio::test]
    async fn impostors_and_unknown_peers_are_refused() {
        // Replica 0 of another key set claims to be replica 0.
        // Each side owns its end, so a side that gives up closes it and the other one sees
        // the end of the stream instead of waiting.
        let kb = keys(3, 1, 1);
        let (a, b) = tokio::io::duplex(1024);
        let ka = keys(3, 0, 9);
        let (ra, rb) = tokio::join!(
            async move { connect_replica(&mut { a }, &ka, 1).await },
            accept_owned(b, &kb)
        );
        assert!(ra.is_err() && rb.is_err());
        // An id outside the group, and clients outside the table.
        let (a, b) = tokio::io::duplex(1024);
        let ka = keys(5, 4, 1);
        let (_, rb) = tokio::join!(
            async move { connect_replica(&mut { a }, &ka, 1).await },
            accept_owned(b, &kb)
        );
        assert!(rb.unwrap_err().to_string().contains("unknown replica 4"));
        let (a, b) = tokio::io::duplex(1024);
        let (_, rb) = tokio::join!(
            async move { connect_clients(&mut { a }, 1, 3, 2).await },
            accept_owned(b, &kb)
        );
        assert!(rb.unwrap_err().to_string().contains("outside 0..4"));
    }

    async fn accept_owned(
        mut b: tokio::io::DuplexStream,
        kb: &ChannelKeys,
    ) -> Result<Accepted, NetError> {
        accept(&mut b, kb, 4).await
    }
}
