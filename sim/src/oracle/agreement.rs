//! Agreement, exactly-once and checkpoint-agreement oracles over what correct replicas
//! report executing.

use super::{Property, Violation};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

/// Checks that the sequences executed by correct replicas are prefixes of one another.
///
/// Every correct replica reports the entry it executes at each position of its execution
/// order (0, 1, 2, ...; a replica that catches up by state transfer skips positions). All
/// reports must agree with one reference sequence, which grows with the longest.
#[derive(Clone, Debug)]
pub struct Agreement<E> {
    reference: BTreeMap<u64, (E, u32)>,
}

impl<E> Default for Agreement<E> {
    fn default() -> Self {
        Agreement {
            reference: BTreeMap::new(),
        }
    }
}

impl<E: Clone + Eq + Debug> Agreement<E> {
    /// Records that correct `replica` executed `entry` at `position`.
    pub fn on_execute(
        &mut self,
        at_ns: u64,
        replica: u32,
        position: u64,
        entry: &E,
    ) -> Result<(), Violation> {
        match self.reference.get(&position) {
            Some((e, first)) if e != entry => Err(Violation {
                property: Property::Agreement,
                at_ns,
                detail: format!(
                    "at position {position} replica {replica} executed {entry:?} but replica \
                     {first} executed {e:?}"
                ),
            }),
            Some(_) => Ok(()),
            None => {
                self.reference.insert(position, (entry.clone(), replica));
                Ok(())
            }
        }
    }

    /// The agreed sequence so far, by position (with gaps where no correct replica executed).
    pub fn sequence(&self) -> impl Iterator<Item = (u64, &E)> {
        self.reference.iter().map(|(p, (e, _))| (*p, e))
    }

    /// Number of positions executed by at least one correct replica.
    pub fn len(&self) -> usize {
        self.reference.len()
    }

    /// True when nothing was executed.
    pub fn is_empty(&self) -> bool {
        self.reference.is_empty()
    }
}

/// Checks that no correct replica executes the same request twice.
#[derive(Clone, Debug)]
pub struct ExactlyOnce<K> {
    seen: BTreeMap<u32, BTreeSet<K>>,
}

impl<K> Default for ExactlyOnce<K> {
    fn default() -> Self {
        ExactlyOnce {
            seen: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone + Debug> ExactlyOnce<K> {
    /// Records that correct `replica` executed the request identified by `request`.
    pub fn on_execute(&mut self, at_ns: u64, replica: u32, request: &K) -> Result<(), Violation> {
        if self
            .seen
            .entry(replica)
            .or_default()
            .insert(request.clone())
        {
            Ok(())
        } else {
            Err(Violation {
                property: Property::ExactlyOnce,
                at_ns,
                detail: format!("replica {replica} executed {request:?} twice"),
            })
        }
    }

    /// Forgets what `replica` executed, for a replica that restarts from a snapshot and
    /// legitimately re-executes the log after it.
    pub fn forget_after_restart(&mut self, replica: u32, keep: impl Fn(&K) -> bool) {
        if let Some(s) = self.seen.get_mut(&replica) {
            s.retain(|k| keep(k));
        }
    }
}

/// Checks that correct replicas' checkpoints at the same position carry the same digest.
#[derive(Clone, Debug, Default)]
pub struct CheckpointAgreement {
    digests: BTreeMap<u64, ([u8; 32], u32)>,
}

impl CheckpointAgreement {
    /// Records that correct `replica` took a checkpoint with `digest` at `position`.
    pub fn on_checkpoint(
        &mut self,
        at_ns: u64,
        replica: u32,
        position: u64,
        digest: [u8; 32],
    ) -> Result<(), Violation> {
        match self.digests.get(&position) {
            Some((d, first)) if *d != digest => Err(Violation {
                property: Property::CheckpointAgreement,
                at_ns,
                detail: format!(
                    "checkpoint at position {position}: replica {replica} has digest {} but \
                     replica {first} has {}",
                    hex8(&digest),
                    hex8(d)
                ),
            }),
            Some(_) => Ok(()),
            None => {
                self.digests.insert(position, (digest, replica));
                Ok(())
            }
        }
    }
}

fn hex8(d: &[u8; 32]) -> String {
    d[..4].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_agree_and_divergence_is_caught() {
        let mut a = Agreement::default();
        a.on_execute(0, 0, 0, &"x").unwrap();
        a.on_execute(0, 0, 1, &"y").unwrap();
        a.on_execute(0, 1, 0, &"x").unwrap();
        // Replica 2 skipped position 0 by state transfer.
        a.on_execute(0, 2, 1, &"y").unwrap();
        let v = a.on_execute(7, 1, 1, &"z").unwrap_err();
        assert_eq!(v.property, Property::Agreement);
        assert_eq!(v.at_ns, 7);
        assert!(
            v.detail.contains("replica 1 executed \"z\""),
            "{}",
            v.detail
        );
    }

    #[test]
    fn double_execution_is_caught_per_replica() {
        let mut e = ExactlyOnce::default();
        e.on_execute(0, 0, &(1u32, 1u64)).unwrap();
        e.on_execute(0, 1, &(1u32, 1u64)).unwrap();
        assert!(e.on_execute(0, 0, &(1u32, 1u64)).is_err());
    }

    #[test]
    fn checkpoint_digests_must_match() {
        let mut c = CheckpointAgreement::default();
        c.on_checkpoint(0, 0, 64, [1; 32]).unwrap();
        c.on_checkpoint(0, 1, 64, [1; 32]).unwrap();
        assert!(c.on_checkpoint(0, 2, 64, [2; 32]).is_err());
    }
}
