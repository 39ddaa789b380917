//! MAC authenticators between PBFT replicas: every pair of replicas shares a key, and a
//! message to all carries one HMAC-SHA256 tag (truncated to 128 bits) per replica.
//!
//! Keys are derived from a seed with SHA-256 (as [`crate::minbft::ClientDirectory`] does
//! for clients), for simulation and tests. Creating an authenticator costs `n - 1` MACs;
//! checking one costs 1 (the receiver's own entry), and both are counted in
//! [`Metrics::mac_ops`](crate::metrics::Metrics).

use super::messages::Authenticator;
use crate::minbft::messages::{Digest, MacTag};
use crate::node::{ReplicaId, View};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest as _, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Message tags of the authenticated bytes, so a MAC of one kind never verifies another.
const TAG_PRE_PREPARE: u8 = 1;
const TAG_PREPARE: u8 = 2;
const TAG_COMMIT: u8 = 3;
const TAG_CHECKPOINT: u8 = 4;

fn pair_key(seed: u64, a: ReplicaId, b: ReplicaId) -> [u8; 32] {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut h = Sha256::new();
    h.update(b"minlab pbft replica mac");
    h.update(seed.to_be_bytes());
    h.update(lo.to_be_bytes());
    h.update(hi.to_be_bytes());
    h.finalize().into()
}

/// The keys replica `id` shares with every replica of its group.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ReplicaKeys {
    id: ReplicaId,
    keys: Vec<[u8; 32]>,
}

impl ReplicaKeys {
    /// Replica `id`'s keys in a group of `replica_count`, derived from `seed`.
    pub fn from_seed(id: ReplicaId, replica_count: u32, seed: u64) -> Self {
        ReplicaKeys {
            id,
            keys: (0..replica_count).map(|r| pair_key(seed, id, r)).collect(),
        }
    }

    /// The replica these keys belong to.
    pub fn id(&self) -> ReplicaId {
        self.id
    }

    /// Number of replicas keys are held for.
    pub fn replica_count(&self) -> u32 {
        self.keys.len() as u32
    }

    /// An authenticator of `bytes` for every other replica: `n - 1` MACs.
    pub fn authenticate(&self, bytes: &[u8]) -> Authenticator {
        Authenticator(
            self.keys
                .iter()
                .enumerate()
                .map(|(r, k)| {
                    if r as ReplicaId == self.id {
                        [0; 16]
                    } else {
                        mac(k, bytes)
                    }
                })
                .collect(),
        )
    }

    /// Checks this replica's entry of `auth`, made by `sender` over `bytes`: one MAC.
    pub fn verify(&self, sender: ReplicaId, bytes: &[u8], auth: &Authenticator) -> bool {
        match (self.keys.get(sender as usize), auth.0.get(self.id as usize)) {
            (Some(k), Some(tag)) if sender != self.id => mac(k, bytes) == *tag,
            _ => false,
        }
    }
}

fn mac(key: &[u8; 32], bytes: &[u8]) -> MacTag {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    m.update(bytes);
    let full: [u8; 32] = m.finalize().into_bytes().into();
    let mut t = [0u8; 16];
    t.copy_from_slice(&full[..16]);
    t
}

fn bytes(tag: u8, a: u64, b: u64, digest: &Digest) -> [u8; 49] {
    let mut out = [0u8; 49];
    out[0] = tag;
    out[1..9].copy_from_slice(&a.to_be_bytes());
    out[9..17].copy_from_slice(&b.to_be_bytes());
    out[17..].copy_from_slice(digest);
    out
}

/// What a PRE-PREPARE's authenticator covers.
pub fn pre_prepare_bytes(view: View, seq: u64, digest: &Digest) -> [u8; 49] {
    bytes(TAG_PRE_PREPARE, view, seq, digest)
}

/// What a PREPARE's authenticator covers.
pub fn prepare_bytes(view: View, seq: u64, digest: &Digest) -> [u8; 49] {
    bytes(TAG_PREPARE, view, seq, digest)
}

/// What a COMMIT's authenticator covers.
pub fn commit_bytes(view: View, seq: u64, digest: &Digest) -> [u8; 49] {
    bytes(TAG_COMMIT, view, seq, digest)
}

/// What a CHECKPOINT's authenticator covers.
pub fn checkpoint_bytes(seq: u64, state_digest: &Digest) -> [u8; 49] {
    bytes(TAG_CHECKPOINT, 0, seq, state_digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_keys_are_symmetric_and_bind_sender_receiver_and_kind() {
        let k: Vec<ReplicaKeys> = (0..4).map(|r| ReplicaKeys::from_seed(r, 4, 5)).collect();
        let b = prepare_bytes(0, 3, &[7; 32]);
        let auth = k[1].authenticate(&b);
        for r in [0, 2, 3] {
            assert!(k[r].verify(1, &b, &auth), "replica {r}");
            // Claimed from someone else: fails.
            assert!(!k[r].verify(if r == 2 { 3 } else { 2 }, &b, &auth));
        }
        // Its own slot is not a valid MAC for itself.
        assert!(!k[1].verify(1, &b, &auth));
        // Another kind or another seed does not verify.
        assert!(!k[0].verify(1, &commit_bytes(0, 3, &[7; 32]), &auth));
        let other = ReplicaKeys::from_seed(0, 4, 6);
        assert!(!other.verify(1, &b, &auth));
        // A truncated authenticator does not verify for the missing entries.
        let short = Authenticator(auth.0[..2].to_vec());
        assert!(!k[3].verify(1, &b, &short));
        assert!(k[0].verify(1, &b, &short));
    }
}
