//! The key material USIGs of a group need: shared HMAC keys and Ed25519 key pairs,
//! derived from a seed (simulation) or loaded from key files (deployment).

use crate::ReplicaId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Keys known to one party of a group of `replica_count` replicas.
///
/// - `hmac[r]`: the HMAC key of replica `r`'s USIG. In USIG-Hmac every USIG knows every
///   key (the paper's design), so a replica's key file holds all of them.
/// - `ed25519_public[r]`: the Ed25519 verifying key of replica `r`'s USIG.
/// - `ed25519_secret`: the signing keys this party holds (only its own in a key file; all
///   of them in a seed-derived set used by the simulator).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct KeySet {
    pub(crate) replica_count: u32,
    pub(crate) hmac: Vec<[u8; 32]>,
    pub(crate) ed25519_public: Vec<[u8; 32]>,
    pub(crate) ed25519_secret: BTreeMap<ReplicaId, [u8; 32]>,
}

impl KeySet {
    /// Every key of a group of `replica_count` replicas, derived deterministically from
    /// `seed` with ChaCha20. For simulation and tests only: anyone with the seed has the keys.
    pub fn from_seed(replica_count: u32, seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x5553_4947_4b45_5953); // "USIGKEYS"
        let mut hmac = Vec::with_capacity(replica_count as usize);
        let mut ed25519_public = Vec::with_capacity(replica_count as usize);
        let mut ed25519_secret = BTreeMap::new();
        for r in 0..replica_count {
            let mut k = [0u8; 32];
            rng.fill_bytes(&mut k);
            hmac.push(k);
            let mut s = [0u8; 32];
            rng.fill_bytes(&mut s);
            let sk = ed25519_dalek::SigningKey::from_bytes(&s);
            ed25519_public.push(sk.verifying_key().to_bytes());
            ed25519_secret.insert(r, s);
        }
        KeySet {
            replica_count,
            hmac,
            ed25519_public,
            ed25519_secret,
        }
    }

    /// Number of replicas in the group.
    pub fn replica_count(&self) -> u32 {
        self.replica_count
    }

    /// The HMAC key of replica `r`'s USIG, if this set holds it.
    pub fn hmac_key(&self, r: ReplicaId) -> Option<&[u8; 32]> {
        self.hmac.get(r as usize)
    }

    /// The Ed25519 public key of replica `r`'s USIG.
    pub fn ed25519_public(&self, r: ReplicaId) -> Option<&[u8; 32]> {
        self.ed25519_public.get(r as usize)
    }

    /// The Ed25519 secret key of replica `r`'s USIG, if this set holds it.
    pub fn ed25519_secret(&self, r: ReplicaId) -> Option<&[u8; 32]> {
        self.ed25519_secret.get(&r)
    }

    /// The subset of keys replica `r` may hold: all HMAC keys and public keys, and only
    /// its own signing key. This is what `minlab keygen` writes into replica `r`'s file.
    pub fn for_replica(&self, r: ReplicaId) -> KeySet {
        let mut own = self.clone();
        own.ed25519_secret.retain(|&k, _| k == r);
        own
    }

    /// The public part only (no HMAC keys, no secrets): what a client needs to verify
    /// Ed25519 UIs.
    pub fn public_only(&self) -> KeySet {
        KeySet {
            replica_count: self.replica_count,
            hmac: Vec::new(),
            ed25519_public: self.ed25519_public.clone(),
            ed25519_secret: BTreeMap::new(),
        }
    }
}
