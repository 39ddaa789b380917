//! Agreement, exactly-once and checkpoint-agreement oracles over what correct replicas
//! report executing.

use super::{Property, Violation};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// Checks that the sequences executed by correct replicas are prefixes of one another.
///
/// Every correct replica reports the entry it executes at each position of its execution
/// order (0, 1, 2, ...; a replica that catches up by state transfer skips positions). All
/// reports must agree with one reference sequence, which grows with the longest.
#[derive(Clone, Debug)]
pub struct Agreement<E> {
    /// By position: the entry and the first replica that executed it. Positions are dense
    /// (every position is executed by some correct replica), so a vector serves.
    reference: Vec<Option<(E, u32)>>,
    filled: usize,
}

impl<E> Default for Agreement<E> {
    fn default() -> Self {
        Agreement {
            reference: Vec::new(),
            filled: 0,
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
        let slot = usize::try_from(position).map_err(|_| Violation {
            property: Property::Agreement,
            at_ns,
            detail: format!("replica {replica} reports the impossible position {position}"),
        })?;
        if slot >= self.reference.len() {
            self.reference.resize_with(slot + 1, || None);
        }
        match &self.reference[slot] {
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
                self.reference[slot] = Some((entry.clone(), replica));
                self.filled += 1;
                Ok(())
            }
        }
    }

    /// The agreed sequence so far, by position (with gaps where no correct replica executed).
    pub fn sequence(&self) -> impl Iterator<Item = (u64, &E)> {
        self.reference
            .iter()
            .enumerate()
            .filter_map(|(p, e)| e.as_ref().map(|(e, _)| (p as u64, e)))
    }

    /// Number of positions executed by at least one correct replica.
    pub fn len(&self) -> usize {
        self.filled
    }

    /// True when nothing was executed.
    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }
}

/// Checks that no correct replica executes a request twice.
///
/// Paper §4: replicas keep in `V_req` the number of the latest request executed for each
/// client and discard lower ones, so a correct replica executes each client's requests in
/// increasing order. Executing a number not above the last one executed for that client is
/// therefore a repeat (or an execution the paper forbids), and memory stays one number per
/// replica and client.
#[derive(Clone, Debug, Default)]
pub struct ExactlyOnce {
    last: BTreeMap<(u32, u32), u64>,
}

impl ExactlyOnce {
    /// Records that correct `replica` executed request `seq` of `client`.
    pub fn on_execute(
        &mut self,
        at_ns: u64,
        replica: u32,
        client: u32,
        seq: u64,
    ) -> Result<(), Violation> {
        let last = self.last.entry((replica, client)).or_insert(0);
        if seq > *last {
            *last = seq;
            Ok(())
        } else {
            Err(Violation {
                property: Property::ExactlyOnce,
                at_ns,
                detail: format!(
                    "replica {replica} executed request {seq} of client {client} after \
                     request {last}"
                ),
            })
        }
    }

    /// Forgets what `replica` executed, for a replica that restarts from its initial state
    /// and legitimately executes everything again.
    pub fn forget_after_restart(&mut self, replica: u32) {
        self.last.retain(|&(r, _), _| r != replica);
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
        e.on_execute(0, 0, 1, 1).unwrap();
        e.on_execute(0, 1, 1, 1).unwrap();
        e.on_execute(0, 0, 1, 2).unwrap();
        assert!(e.on_execute(0, 0, 1, 2).is_err());
        assert!(e.on_execute(0, 0, 1, 1).is_err());
        e.forget_after_restart(0);
        e.on_execute(0, 0, 1, 1).unwrap();
    }

    #[test]
    fn checkpoint_digests_must_match() {
        let mut c = CheckpointAgreement::default();
        c.on_checkpoint(0, 0, 64, [1; 32]).unwrap();
        c.on_checkpoint(0, 1, 64, [1; 32]).unwrap();
        assert!(c.on_checkpoint(0, 2, 64, [2; 32]).is_err());
    }
}
