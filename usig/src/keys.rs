//! The key material USIGs of a group need: shared HMAC keys and Ed25519 key pairs,
//! derived from a seed (simulation), drawn from the OS (deployment) or loaded from key
//! files.

mod file;

use crate::{ReplicaId, TpmIdentity, UsigError};
use rand::{Rng, SeedableRng, TryRng};
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
/// - `tpm[r]`: the public identity of replica `r`'s TPM USIG, for replicas that have one
///   (added after provisioning with [`KeySet::set_tpm_identity`]).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct KeySet {
    pub(crate) replica_count: u32,
    pub(crate) hmac: Vec<[u8; 32]>,
    pub(crate) ed25519_public: Vec<[u8; 32]>,
    pub(crate) ed25519_secret: BTreeMap<ReplicaId, [u8; 32]>,
    #[serde(default)]
    pub(crate) tpm: BTreeMap<ReplicaId, TpmIdentity>,
}

impl KeySet {
    /// Every key of a group of `replica_count` replicas, derived deterministically from
    /// `seed` with ChaCha20. For simulation and tests only: anyone with the seed has the keys.
    pub fn from_seed(replica_count: u32, seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x5553_4947_4b45_5953); // "USIGKEYS"
        Self::derive(replica_count, &mut rng)
    }

    /// Fresh keys for a real deployment of `replica_count` replicas, from the operating
    /// system's entropy source (getrandom). Fails with [`UsigError::Entropy`] only if the
    /// OS cannot provide randomness.
    ///
    /// This is the one place in the crate that is nondeterministic on purpose; simulations
    /// and tests use [`KeySet::from_seed`].
    pub fn generate(replica_count: u32) -> Result<Self, UsigError> {
        let mut seed = [0u8; 32];
        rand::rngs::SysRng
            .try_fill_bytes(&mut seed)
            .map_err(|e| UsigError::Entropy(e.to_string()))?;
        let mut rng = ChaCha20Rng::from_seed(seed);
        seed.fill(0);
        Ok(Self::derive(replica_count, &mut rng))
    }

    /// Draws every key of the group from `rng`, replica by replica.
    fn derive(replica_count: u32, rng: &mut impl Rng) -> Self {
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
            tpm: BTreeMap::new(),
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
    /// Ed25519 and TPM UIs.
    pub fn public_only(&self) -> KeySet {
        KeySet {
            replica_count: self.replica_count,
            hmac: Vec::new(),
            ed25519_public: self.ed25519_public.clone(),
            ed25519_secret: BTreeMap::new(),
            tpm: self.tpm.clone(),
        }
    }

    /// A public-only set holding the Ed25519 public keys of replicas `0..keys.len()`: what
    /// a client that knows those keys (e.g. from a cluster file) needs to verify UIs.
    pub fn from_ed25519_public(keys: Vec<[u8; 32]>) -> KeySet {
        KeySet {
            replica_count: keys.len() as u32,
            hmac: Vec::new(),
            ed25519_public: keys,
            ed25519_secret: BTreeMap::new(),
            tpm: BTreeMap::new(),
        }
    }

    /// The public identity of replica `r`'s TPM USIG, if it has one.
    pub fn tpm_identity(&self, r: ReplicaId) -> Option<&TpmIdentity> {
        self.tpm.get(&r)
    }

    /// Records replica `r`'s TPM identity (as exported by provisioning), replacing any
    /// earlier one. Fails for a replica outside the group.
    pub fn set_tpm_identity(
        &mut self,
        r: ReplicaId,
        identity: TpmIdentity,
    ) -> Result<(), UsigError> {
        if r >= self.replica_count {
            return Err(UsigError::UnknownSigner(r));
        }
        self.tpm.insert(r, identity);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_keys_are_reproducible_and_distinct() {
        let a = KeySet::from_seed(4, 7);
        assert_eq!(a, KeySet::from_seed(4, 7));
        assert_ne!(a, KeySet::from_seed(4, 8));
        let hmac: std::collections::BTreeSet<_> = a.hmac.iter().collect();
        assert_eq!(hmac.len(), 4);
    }

    #[test]
    fn generated_keys_are_fresh_and_complete() {
        let a = KeySet::generate(3).unwrap();
        let b = KeySet::generate(3).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.replica_count(), 3);
        for r in 0..3 {
            let secret = a.ed25519_secret(r).unwrap();
            let public = ed25519_dalek::SigningKey::from_bytes(secret).verifying_key();
            assert_eq!(public.to_bytes(), *a.ed25519_public(r).unwrap());
        }
    }

    #[test]
    fn shares_hold_only_what_their_owner_may_know() {
        let keys = KeySet::from_seed(3, 1);
        let share = keys.for_replica(1);
        assert_eq!(share.ed25519_secret.keys().collect::<Vec<_>>(), [&1]);
        assert_eq!(share.hmac, keys.hmac);
        let public = keys.public_only();
        assert!(public.hmac.is_empty() && public.ed25519_secret.is_empty());
        assert_eq!(public.ed25519_public, keys.ed25519_public);
        let rebuilt = KeySet::from_ed25519_public(keys.ed25519_public.clone());
        assert_eq!(
            rebuilt,
            KeySet {
                tpm: BTreeMap::new(),
                ..public
            }
        );
    }
}
