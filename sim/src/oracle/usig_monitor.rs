//! The USIG monitor: no two different messages with *valid* UIs may carry the same signer
//! and counter value, among those that reach correct replicas. A correct USIG makes this
//! impossible; a compromised one (the "compromised trusted component" scenarios) must be
//! caught here. Messages corrupted in transit keep their UI but fail its verification, so
//! validity is checked (lazily: once per new UI, and again only on a conflict).

use super::{Property, Violation};
use std::collections::BTreeMap;

/// Remembers, for each `(signer, counter)`, the digest of the first message with a valid UI
/// that reached a correct replica.
#[derive(Clone, Debug, Default)]
pub struct UsigMonitor {
    accepted: BTreeMap<(u32, u64), ([u8; 32], u32)>,
}

impl UsigMonitor {
    /// Correct `replica` received a message with digest `digest` under the UI `(signer,
    /// counter)`; `valid` tells (when asked) whether that UI verifies for the message.
    pub fn on_delivered(
        &mut self,
        at_ns: u64,
        replica: u32,
        signer: u32,
        counter: u64,
        digest: [u8; 32],
        valid: impl FnOnce() -> bool,
    ) -> Result<(), Violation> {
        match self.accepted.get(&(signer, counter)) {
            Some((d, _)) if *d == digest => Ok(()),
            Some((_, first)) => {
                let first = *first;
                if valid() {
                    Err(Violation {
                        property: Property::UsigUniqueness,
                        at_ns,
                        detail: format!(
                            "replicas {first} and {replica} received different messages with \
                             valid UIs (signer {signer}, counter {counter})"
                        ),
                    })
                } else {
                    Ok(())
                }
            }
            None => {
                if valid() {
                    self.accepted.insert((signer, counter), (digest, replica));
                }
                Ok(())
            }
        }
    }

    /// Drops what is known about counters below `counter` of `signer` (bounded memory
    /// after a stable checkpoint).
    pub fn forget_below(&mut self, signer: u32, counter: u64) {
        self.accepted
            .retain(|&(s, c), _| s != signer || c >= counter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_messages_under_one_ui_are_caught() {
        let mut m = UsigMonitor::default();
        m.on_delivered(0, 1, 0, 5, [1; 32], || true).unwrap();
        m.on_delivered(0, 2, 0, 5, [1; 32], || unreachable!("same message"))
            .unwrap();
        m.on_delivered(0, 2, 0, 6, [2; 32], || true).unwrap();
        // A message corrupted in transit: same UI, other content, invalid certificate.
        m.on_delivered(1, 2, 0, 5, [7; 32], || false).unwrap();
        let v = m.on_delivered(3, 2, 0, 5, [9; 32], || true).unwrap_err();
        assert_eq!(v.property, Property::UsigUniqueness);
        // An invalid first message does not claim the counter value.
        m.on_delivered(0, 1, 1, 1, [3; 32], || false).unwrap();
        m.on_delivered(0, 1, 1, 1, [4; 32], || true).unwrap();
    }
}
