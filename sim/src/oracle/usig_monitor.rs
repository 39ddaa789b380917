//! The USIG monitor: no two correct replicas may accept different messages carrying the
//! same signer and counter value. A correct USIG makes this impossible; a compromised one
//! (the "compromised trusted component" scenarios) must be caught here.

use super::{Property, Violation};
use std::collections::BTreeMap;

/// Remembers, for each `(signer, counter)`, the digest of the first message a correct
/// replica accepted with that UI.
#[derive(Clone, Debug, Default)]
pub struct UsigMonitor {
    accepted: BTreeMap<(u32, u64), ([u8; 32], u32)>,
}

impl UsigMonitor {
    /// Records that correct `replica` accepted a message with digest `digest` under the UI
    /// `(signer, counter)`.
    pub fn on_accept(
        &mut self,
        at_ns: u64,
        replica: u32,
        signer: u32,
        counter: u64,
        digest: [u8; 32],
    ) -> Result<(), Violation> {
        match self.accepted.get(&(signer, counter)) {
            Some((d, first)) if *d != digest => Err(Violation {
                property: Property::UsigUniqueness,
                at_ns,
                detail: format!(
                    "replicas {first} and {replica} accepted different messages with UI \
                     (signer {signer}, counter {counter})"
                ),
            }),
            Some(_) => Ok(()),
            None => {
                self.accepted.insert((signer, counter), (digest, replica));
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
        m.on_accept(0, 1, 0, 5, [1; 32]).unwrap();
        m.on_accept(0, 2, 0, 5, [1; 32]).unwrap();
        m.on_accept(0, 2, 0, 6, [2; 32]).unwrap();
        let v = m.on_accept(3, 2, 0, 5, [9; 32]).unwrap_err();
        assert_eq!(v.property, Property::UsigUniqueness);
    }
}
