//! The optional CPU cost model: each replica is a single server that spends virtual time on
//! every input, so queueing and saturation (and thus peak throughput) emerge in simulation.
//!
//! The cost of one input is `per_message + per_byte × (size in + sizes out) + creates ×
//! create_ui + verifies × verify_ui + MACs × mac + signatures × signature + executions ×
//! per_execute`, counted from the replica's
//! own metrics before and after the input; a broadcast's bytes count once per recipient. USIG costs default to what `minlab bench usig` measured on
//! the development machine (median, 20-byte message; see the README), so that simulated
//! throughput tracks the backend in use.

use minlab_protocols::{Metrics, Output, ProtocolMessage};
use minlab_scenarios::CpuSpec;
use minlab_usig::UsigKind;

/// `(create_ui, verify_ui)` in nanoseconds, measured with `minlab bench usig` (release
/// build, 2-core development VM, 2026-11-24).
pub fn measured_usig_cost_ns(kind: UsigKind) -> (u64, u64) {
    match kind {
        UsigKind::HmacSha1 => (149, 133),
        UsigKind::HmacSha256 => (162, 134),
        UsigKind::Ed25519 => (17_484, 30_937),
        UsigKind::Symbolic => (39, 39),
    }
}

/// One MAC (HMAC-SHA256 over a short message) and one Ed25519 signature verification in
/// nanoseconds, from the same `minlab bench usig` run: client authenticators, reply MACs
/// and PBFT's replica authenticators cost this much.
pub const MEASURED_MAC_NS: u64 = 162;
/// See [`MEASURED_MAC_NS`].
pub const MEASURED_SIGNATURE_NS: u64 = 30_937;

/// The cost table of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CostModel {
    per_message_ns: u64,
    per_byte_ns: u64,
    create_ui_ns: u64,
    verify_ui_ns: u64,
    mac_ns: u64,
    signature_ns: u64,
    per_execute_ns: u64,
}

/// What a replica did while handling one input, from its metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Work {
    creates: u64,
    verifies: u64,
    macs: u64,
    signatures: u64,
    executions: u64,
}

impl Work {
    /// The USIG calls and executions counted in `m`.
    pub fn of(m: &Metrics) -> Work {
        Work {
            creates: m.usig_creates,
            verifies: m.usig_verifies,
            macs: m.mac_ops,
            signatures: m.signature_ops,
            executions: m.requests_executed,
        }
    }

    /// What was done between `before` and `self`.
    pub fn since(self, before: Work) -> Work {
        Work {
            creates: self.creates.saturating_sub(before.creates),
            verifies: self.verifies.saturating_sub(before.verifies),
            macs: self.macs.saturating_sub(before.macs),
            signatures: self.signatures.saturating_sub(before.signatures),
            executions: self.executions.saturating_sub(before.executions),
        }
    }
}

impl CostModel {
    /// The model a scenario describes, for replicas using `usig`.
    pub fn new(spec: &CpuSpec, usig: UsigKind) -> Self {
        let (create, verify) = measured_usig_cost_ns(usig);
        CostModel {
            per_message_ns: spec.per_message.ns(),
            per_byte_ns: spec.per_byte_ns,
            create_ui_ns: spec.create_ui.map_or(create, |d| d.ns()),
            verify_ui_ns: spec.verify_ui.map_or(verify, |d| d.ns()),
            mac_ns: spec.mac.map_or(MEASURED_MAC_NS, |d| d.ns()),
            signature_ns: spec.signature.map_or(MEASURED_SIGNATURE_NS, |d| d.ns()),
            per_execute_ns: spec.per_execute.ns(),
        }
    }

    /// Virtual nanoseconds spent handling `msg` (or a timer, when `None`) doing `work`.
    pub fn cost_ns<M: ProtocolMessage>(&self, msg: Option<&M>, work: Work) -> u64 {
        let bytes = match (msg, self.per_byte_ns) {
            (Some(m), per) if per > 0 => m.encoded_len() as u64,
            _ => 0,
        };
        self.per_message_ns
            + self.per_byte_ns * bytes
            + self.create_ui_ns * work.creates
            + self.verify_ui_ns * work.verifies
            + self.mac_ns * work.macs
            + self.signature_ns * work.signatures
            + self.per_execute_ns * work.executions
    }
}

impl CostModel {
    /// Virtual nanoseconds spent sending `outputs` (per byte; a broadcast reaches
    /// `peers` replicas).
    pub fn output_cost_ns<M: ProtocolMessage>(&self, outputs: &[Output<M>], peers: u32) -> u64 {
        if self.per_byte_ns == 0 {
            return 0;
        }
        let size = |m: &M| m.encoded_len() as u64;
        let bytes: u64 = outputs
            .iter()
            .map(|o| match o {
                Output::Send { msg, .. } => size(msg),
                Output::Broadcast { msg } => size(msg) * u64::from(peers),
                _ => 0,
            })
            .sum();
        self.per_byte_ns * bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minlab_scenarios::Dur;

    #[test]
    fn cost_adds_up_from_the_table() {
        let spec = CpuSpec {
            per_message: Dur(1_000),
            per_byte_ns: 0,
            create_ui: None,
            verify_ui: Some(Dur(500)),
            mac: Some(Dur(50)),
            signature: None,
            per_execute: Dur(100),
        };
        let m = CostModel::new(&spec, UsigKind::HmacSha1);
        let w = Work {
            creates: 2,
            verifies: 3,
            macs: 5,
            signatures: 1,
            executions: 4,
        };
        let cost = 1_000 + 2 * 149 + 3 * 500 + 5 * 50 + MEASURED_SIGNATURE_NS + 4 * 100;
        assert_eq!(m.cost_ns::<minlab_protocols::Message>(None, w), cost);
    }
}
