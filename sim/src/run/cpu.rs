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

/// The cost of a USIG known from a measurement elsewhere (a hardware TPM, the paper's
/// tables) rather than from this machine's backends: set as `[cpu] create_ui`/`verify_ui`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsigCostProfile {
    /// Short name for tables and legends.
    pub name: &'static str,
    /// Virtual time of one `create_ui`, ns.
    pub create_ui_ns: u64,
    /// Virtual time of one `verify_ui`, ns.
    pub verify_ui_ns: u64,
    /// Shortest time between two counter increments, ns (0: no limit).
    pub increment_interval_ns: u64,
    /// Where the numbers come from.
    pub source: &'static str,
}

impl UsigCostProfile {
    /// The TPM 1.2 USIG of paper §7.4: `create_ui` 797 ms (counter increment and an RSA
    /// signature in the TPM), `verify_ui` 0.07 ms (outside the TPM), and at most one
    /// monotonic-counter increment every 3.5 s.
    pub const TPM_1_2: UsigCostProfile = UsigCostProfile {
        name: "TPM 1.2",
        create_ui_ns: 797_000_000,
        verify_ui_ns: 70_000,
        increment_interval_ns: 3_500_000_000,
        source: "paper §7.4 and Table 4 (Atmel TPM 1.2)",
    };
    /// minlab's TPM 2.0 USIG on swtpm (README: about 13 ms per `create_ui`, 0.3 ms per
    /// `verify_ui`, release build, local socket); swtpm has no increment rate limit.
    pub const TPM_2_0_SWTPM: UsigCostProfile = UsigCostProfile {
        name: "TPM 2.0 (swtpm)",
        create_ui_ns: 13_000_000,
        verify_ui_ns: 300_000,
        increment_interval_ns: 0,
        source: "minlab tpm bench on swtpm (README)",
    };

    /// The `create_ui` cost the single-server CPU model should charge. The model charges
    /// a fixed cost per call and keeps no per-replica clock for the TPM, so with
    /// `rate_limited` an increment limit is charged as a cost of `max(create_ui,
    /// interval)` per call: exact when calls come back to back (a saturated replica),
    /// pessimistic for isolated calls, which a real TPM may serve in `create_ui` alone.
    pub fn create_ui_cost_ns(&self, rate_limited: bool) -> u64 {
        if rate_limited {
            self.create_ui_ns.max(self.increment_interval_ns)
        } else {
            self.create_ui_ns
        }
    }
}

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

    #[test]
    fn a_tpm_increment_limit_costs_the_interval_only_when_asked() {
        let t = UsigCostProfile::TPM_1_2;
        assert_eq!(t.create_ui_cost_ns(false), 797_000_000);
        assert_eq!(t.create_ui_cost_ns(true), 3_500_000_000);
        let s = UsigCostProfile::TPM_2_0_SWTPM;
        assert_eq!(s.create_ui_cost_ns(true), s.create_ui_ns);
    }
}
