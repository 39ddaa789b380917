//! The liveness oracle: once the network has healed (after GST and the last scheduled
//! fault), every request a correct client has outstanding must complete within the bound
//! the scenario states. VOPR-style: a faulty phase where anything may stall, then a healed
//! phase that must converge.

use super::{Property, Violation};
use std::collections::BTreeMap;

/// Tracks outstanding requests of correct clients.
#[derive(Clone, Debug)]
pub struct Liveness {
    healed_at_ns: u64,
    bound_ns: u64,
    outstanding: BTreeMap<(u32, u64), u64>,
}

impl Liveness {
    /// Requests must complete within `bound_ns` of `max(invocation, healed_at_ns)`.
    pub fn new(healed_at_ns: u64, bound_ns: u64) -> Self {
        Liveness {
            healed_at_ns,
            bound_ns,
            outstanding: BTreeMap::new(),
        }
    }

    /// A correct client invoked request `seq`.
    pub fn on_invoke(&mut self, at_ns: u64, client: u32, seq: u64) {
        self.outstanding.insert((client, seq), at_ns);
    }

    /// A correct client completed request `seq`.
    pub fn on_complete(&mut self, client: u32, seq: u64) {
        self.outstanding.remove(&(client, seq));
    }

    /// The deadline of a request invoked at `invoked_ns`.
    fn deadline(&self, invoked_ns: u64) -> u64 {
        invoked_ns
            .max(self.healed_at_ns)
            .saturating_add(self.bound_ns)
    }

    /// The earliest deadline among outstanding requests, so the simulator can check then.
    pub fn next_deadline(&self) -> Option<u64> {
        self.outstanding.values().map(|&t| self.deadline(t)).min()
    }

    /// Reports a request whose deadline has passed at `now_ns`.
    pub fn check(&self, now_ns: u64) -> Result<(), Violation> {
        for (&(client, seq), &t) in &self.outstanding {
            let deadline = self.deadline(t);
            if now_ns > deadline {
                return Err(Violation {
                    property: Property::Liveness,
                    at_ns: now_ns,
                    detail: format!(
                        "client {client} request {seq}, invoked at {:.3} ms, did not complete \
                         by {:.3} ms (network healed at {:.3} ms, bound {:.3} ms)",
                        t as f64 / 1e6,
                        deadline as f64 / 1e6,
                        self.healed_at_ns as f64 / 1e6,
                        self.bound_ns as f64 / 1e6
                    ),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_must_complete_within_the_bound_after_healing() {
        let mut l = Liveness::new(1_000, 100);
        l.on_invoke(0, 1, 1);
        l.on_invoke(1_050, 2, 1);
        assert_eq!(l.next_deadline(), Some(1_100));
        assert!(l.check(1_100).is_ok());
        assert!(l.check(1_101).is_err());
        l.on_complete(1, 1);
        assert!(l.check(1_150).is_ok());
        assert!(l.check(1_151).is_err());
    }
}
