//! A state with a cached digest: stateright fingerprints every generated state by hashing
//! all of it, although a step changes one actor; sealing each actor's state after the
//! step that changed it makes an unchanged actor cost one word to hash.

use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

/// Fixed keys, so digests (and with them state counts and paths) do not vary between runs.
const SEEDS: [u64; 4] = [
    0x6d69_6e6c_6162_0001,
    0x7365_616c_6564_0002,
    0x6368_6563_6b00_0003,
    0x7374_6174_6500_0004,
];

/// `T` (boxed) with a digest of it. Whoever mutates it through [`DerefMut`] must call
/// [`Sealed::seal`] before it is hashed again (the actor does, after every step).
#[derive(Clone, Debug)]
pub struct Sealed<T> {
    value: Box<T>,
    digest: u64,
}

impl<T: Hash> Sealed<T> {
    /// Seals `value`.
    pub fn new(value: T) -> Self {
        let mut s = Sealed {
            value: Box::new(value),
            digest: 0,
        };
        s.seal();
        s
    }

    /// Recomputes the digest (aHash with fixed keys: the same in every run of a build).
    pub fn seal(&mut self) {
        let keys = ahash::RandomState::with_seeds(SEEDS[0], SEEDS[1], SEEDS[2], SEEDS[3]);
        self.digest = keys.hash_one(&*self.value);
    }

    /// The digest as of the last [`Sealed::seal`].
    pub fn digest(&self) -> u64 {
        self.digest
    }
}

impl<T> Deref for Sealed<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Sealed<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T> Hash for Sealed<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.digest);
    }
}

impl<T: PartialEq> PartialEq for Sealed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest && self.value == other.value
    }
}

impl<T: Eq> Eq for Sealed<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_follows_the_value_once_resealed() {
        let a = Sealed::new(vec![1u8, 2]);
        let mut b = Sealed::new(vec![1u8]);
        assert_ne!(a.digest(), b.digest());
        b.push(2);
        assert_ne!(a, b, "stale digest: not equal until resealed");
        b.seal();
        assert_eq!((a.digest(), &a), (b.digest(), &b));
    }
}
