//! The experiments' common ground: which protocols run, the USIG cost profiles, and the
//! base scenario (null operations, MAC-authenticated clients, the CPU cost model) that
//! each experiment varies.

use minlab_scenarios::{DelaySpec, Dur, Protocol, Scenario};
use minlab_sim::run::cpu::{UsigCostProfile, measured_usig_cost_ns};
use minlab_usig::UsigKind;
use serde::Serialize;

/// The protocols of the paper's comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ProtocolKind {
    /// MinBFT (paper §4), 2f + 1 replicas.
    MinBft,
    /// MinZyzyva (paper §5), 2f + 1 replicas.
    MinZyzyva,
    /// The PBFT baseline, 3f + 1 replicas.
    Pbft,
}

/// The protocols the simulator can run today; each experiment runs those of them it
/// includes ([`super::plan::Experiment::protocols`]). Add `ProtocolKind::MinZyzyva` here
/// when the simulator runs it.
pub const ENABLED: &[ProtocolKind] = &[
    ProtocolKind::MinBft,
    ProtocolKind::MinZyzyva,
    ProtocolKind::Pbft,
];

impl ProtocolKind {
    /// Every protocol of the paper's comparisons.
    pub const ALL: [ProtocolKind; 3] = [
        ProtocolKind::MinBft,
        ProtocolKind::MinZyzyva,
        ProtocolKind::Pbft,
    ];

    /// Name in legends and tables.
    pub fn name(self) -> &'static str {
        match self {
            ProtocolKind::MinBft => "MinBFT",
            ProtocolKind::MinZyzyva => "MinZyzyva",
            ProtocolKind::Pbft => "PBFT",
        }
    }

    /// Whether the protocol uses the USIG (PBFT does not: its costs do not depend on the
    /// USIG backend, so it runs once where the others run per backend).
    pub fn uses_usig(self) -> bool {
        self != ProtocolKind::Pbft
    }

    /// The scenario's protocol.
    pub fn scenario_protocol(self) -> Protocol {
        match self {
            ProtocolKind::MinBft => Protocol::Minbft,
            ProtocolKind::MinZyzyva => Protocol::Minzyzyva,
            ProtocolKind::Pbft => Protocol::Pbft,
        }
    }
}

/// The note about the protocols of `among` that the simulator does not run yet (None when
/// all run).
pub fn pending_note(among: &[ProtocolKind]) -> Option<String> {
    let pending: Vec<&str> = among
        .iter()
        .filter(|p| !ENABLED.contains(p))
        .map(|p| p.name())
        .collect();
    (!pending.is_empty()).then(|| {
        format!(
            "{}: pending (not run by the simulator yet); no series is drawn",
            pending.join(", ")
        )
    })
}

/// A USIG implementation as the experiments cost it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Backend {
    /// minlab's HMAC-SHA1 USIG, cost measured by `minlab bench usig`.
    HmacSha1,
    /// minlab's HMAC-SHA256 USIG, measured cost.
    HmacSha256,
    /// minlab's Ed25519 USIG, measured cost.
    Ed25519,
    /// The paper's ESIGN costs (Table 3), on minlab's HMAC-SHA1 USIG.
    PaperEsign,
    /// The paper's RSA-1024 costs (Table 3), on minlab's HMAC-SHA1 USIG.
    PaperRsa,
    /// minlab's TPM 2.0 USIG on swtpm (cost profile), on the HMAC-SHA1 USIG.
    Tpm20,
    /// The paper's TPM 1.2 (cost profile), on the HMAC-SHA1 USIG.
    Tpm12 {
        /// Charge the 3.5 s increment limit (see [`UsigCostProfile::create_ui_cost_ns`]).
        rate_limited: bool,
    },
}

impl Backend {
    /// Name in legends and tables.
    pub fn name(self) -> String {
        match self {
            Backend::HmacSha1 => "HMAC-SHA1".into(),
            Backend::HmacSha256 => "HMAC-SHA256".into(),
            Backend::Ed25519 => "Ed25519".into(),
            Backend::PaperEsign => "ESIGN (paper cost)".into(),
            Backend::PaperRsa => "RSA (paper cost)".into(),
            Backend::Tpm20 => "TPM 2.0 (swtpm cost)".into(),
            Backend::Tpm12 {
                rate_limited: false,
            } => "TPM 1.2 (797 ms)".into(),
            Backend::Tpm12 { rate_limited: true } => "TPM 1.2 (797 ms, 1 incr./3.5 s)".into(),
        }
    }

    /// The USIG that runs, and its `(create_ui, verify_ui)` cost in ns.
    pub fn usig_and_cost(self) -> (UsigKind, (u64, u64)) {
        match self {
            Backend::HmacSha1 => (
                UsigKind::HmacSha1,
                measured_usig_cost_ns(UsigKind::HmacSha1),
            ),
            Backend::HmacSha256 => (
                UsigKind::HmacSha256,
                measured_usig_cost_ns(UsigKind::HmacSha256),
            ),
            Backend::Ed25519 => (UsigKind::Ed25519, measured_usig_cost_ns(UsigKind::Ed25519)),
            Backend::PaperEsign => (UsigKind::HmacSha1, (1_035_000, 548_000)),
            Backend::PaperRsa => (UsigKind::HmacSha1, (10_683_000, 580_000)),
            Backend::Tpm20 => {
                let p = UsigCostProfile::TPM_2_0_SWTPM;
                (
                    UsigKind::HmacSha1,
                    (p.create_ui_cost_ns(false), p.verify_ui_ns),
                )
            }
            Backend::Tpm12 { rate_limited } => {
                let p = UsigCostProfile::TPM_1_2;
                (
                    UsigKind::HmacSha1,
                    (p.create_ui_cost_ns(rate_limited), p.verify_ui_ns),
                )
            }
        }
    }
}

/// Virtual time a replica spends per message handled (besides USIG calls): stands for the
/// paper's Java prototype's event-driven I/O and dispatch. Chosen so that MinBFT-HMAC's
/// peak throughput is of the order of the paper's Fig. 4 (tens of thousands of
/// requests/s); minlab's own Rust replica spends about 0.3 µs (`minlab bench core`).
pub const PER_MESSAGE_NS: u64 = 25_000;
/// Virtual time per null operation executed.
pub const PER_EXECUTE_NS: u64 = 1_000;
/// The LAN: constant one-way delay.
pub const LAN_DELAY_NS: u64 = 100_000;

const BASE: &str = r#"
name = "paper"
description = "paper §7 experiment"
protocol = "minbft"
f = 1
usig = "hmac-sha1"
client_auth = "mac"

[run]
duration = "10s"

[workload]
clients = 1
requests_per_client = 100
service = "null"
request_size = 0
reply_size = 0

[network]
delay = { kind = "constant", value = "100us" }

[cpu]
per_message = "25us"
per_execute = "1us"

[expect]
safety = "hold"
"#;

/// The base scenario for `protocol` with `f`, USIG `backend`, null 0/0 operations,
/// MAC-authenticated closed-loop clients on the LAN, and the CPU cost model.
pub fn base(name: &str, protocol: ProtocolKind, f: u32, backend: Backend) -> Scenario {
    let mut s = Scenario::from_toml(BASE, "paper base").expect("the base scenario is valid");
    s.name = name.to_string();
    s.protocol = protocol.scenario_protocol();
    s.f = f;
    let (usig, (create, verify)) = backend.usig_and_cost();
    // MinZyzyva's clients verify UIs, which needs a USIG whose verification is public:
    // it runs on the symbolic USIG, charged at the backend's costs like the others.
    s.usig = match protocol {
        ProtocolKind::MinZyzyva => minlab_usig::UsigKind::Symbolic,
        _ => usig,
    };
    let cpu = s.cpu.as_mut().expect("the base has a CPU model");
    cpu.per_message = Dur(PER_MESSAGE_NS);
    cpu.per_execute = Dur(PER_EXECUTE_NS);
    cpu.create_ui = Some(Dur(create));
    cpu.verify_ui = Some(Dur(verify));
    s.network.delay = DelaySpec::Constant {
        value: Dur(LAN_DELAY_NS),
    };
    s
}

/// The paper's WAN emulation: normal one-way delay with a 10% standard deviation.
pub fn wan_delay(mean_ms: f64) -> DelaySpec {
    let mean = (mean_ms * 1e6) as u64;
    DelaySpec::Normal {
        mean: Dur(mean),
        std_dev: Dur(mean / 10),
    }
}
