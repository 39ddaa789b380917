//! Which simulations the reproduction runs: one [`Job`] per point of every figure and
//! table, for each protocol the [`Experiment`] includes, sized by a [`Plan`] (full or
//! `--quick`), each run under the plan's seeds 1..=K.

use super::setup::{Backend, ENABLED, ProtocolKind, base, wan_delay};
use minlab_scenarios::{BatchRule, Dur, LoopKind, Scenario};

/// The experiments of §7.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Experiment {
    /// Fig. 5: latency vs link delay.
    Fig5,
    /// Figs. 4 and 7: throughput vs clients.
    Throughput,
    /// Fig. 6: latency by USIG backend.
    Fig6,
    /// Table 4: the TPM 1.2 USIG.
    Table4,
    /// Table 1: work per request at the bottleneck replica.
    Table1,
}

impl Experiment {
    /// Every experiment, in report order.
    pub const ALL: [Experiment; 5] = [
        Experiment::Fig5,
        Experiment::Throughput,
        Experiment::Fig6,
        Experiment::Table4,
        Experiment::Table1,
    ];

    /// The protocols the paper compares in this experiment. Fig. 6 and Table 4 vary the
    /// USIG backend, which PBFT does not have, so they leave it out.
    pub fn compares(self) -> &'static [ProtocolKind] {
        match self {
            Experiment::Fig5 | Experiment::Throughput | Experiment::Table1 => &ProtocolKind::ALL,
            Experiment::Fig6 | Experiment::Table4 => {
                &[ProtocolKind::MinBft, ProtocolKind::MinZyzyva]
            }
        }
    }

    /// The protocols this experiment runs: those it compares that the simulator runs
    /// ([`ENABLED`]), in [`ProtocolKind::ALL`] order.
    pub fn protocols(self) -> Vec<ProtocolKind> {
        self.compares()
            .iter()
            .copied()
            .filter(|p| ENABLED.contains(p))
            .collect()
    }
}

/// What one simulation stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobKey {
    /// Fig. 5: mean latency at one one-way link delay.
    Fig5 {
        /// Protocol.
        protocol: ProtocolKind,
        /// Faults tolerated.
        f: u32,
        /// Mean one-way link delay, ms.
        delay_ms: u32,
    },
    /// Figs. 4 and 7: throughput with `clients` closed-loop clients.
    Throughput {
        /// When the primary starts an agreement (minlab's timer rule, or the paper's slot
        /// rule with the protocols' default window of 32).
        rule: BatchRule,
        /// Protocol.
        protocol: ProtocolKind,
        /// USIG (None for a protocol without one, see [`ProtocolKind::uses_usig`]).
        backend: Option<Backend>,
        /// Clients.
        clients: u32,
    },
    /// Fig. 6: latency of one client on the LAN.
    Fig6 {
        /// Protocol.
        protocol: ProtocolKind,
        /// USIG.
        backend: Backend,
    },
    /// Table 4: latency of one client with the TPM 1.2 profile.
    Table4Latency {
        /// Protocol.
        protocol: ProtocolKind,
        /// Whether the increment limit is charged.
        rate_limited: bool,
    },
    /// Table 4: throughput with batches of `batch` requests (as many clients).
    Table4Throughput {
        /// Protocol.
        protocol: ProtocolKind,
        /// Batch size and clients.
        batch: u32,
    },
    /// Table 1: per-replica work with batch size `b`.
    Table1 {
        /// Protocol.
        protocol: ProtocolKind,
        /// Faults tolerated.
        f: u32,
        /// Batch size.
        b: u32,
    },
}

/// One simulation to run.
#[derive(Clone, Debug)]
pub struct Job {
    /// What it stands for.
    pub key: JobKey,
    /// The scenario.
    pub scenario: Scenario,
}

/// The sizes of the experiments.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Seeds each point runs under (seeds 1..=`seeds`); figures and tables show the mean
    /// and the spread.
    pub seeds: u64,
    /// Fig. 5's one-way link delays, ms.
    pub delays_ms: Vec<u32>,
    /// Fig. 5's values of f.
    pub fig5_f: Vec<u32>,
    /// Requests of Fig. 5's (and Fig. 6's) one client.
    pub latency_requests: u64,
    /// Client counts of Figs. 4/7.
    pub clients: Vec<u32>,
    /// Virtual duration of each throughput run, ms.
    pub throughput_ms: u64,
    /// Backends of Figs. 4/7.
    pub throughput_backends: Vec<Backend>,
    /// The batch rules Figs. 4/7 run under, each with every backend and client count.
    pub throughput_rules: Vec<BatchRule>,
    /// Backends of Fig. 6.
    pub latency_backends: Vec<Backend>,
    /// Table 4's batch sizes.
    pub tpm_batches: Vec<u32>,
    /// Virtual duration of each Table 4 throughput run, s.
    pub tpm_duration_s: u64,
    /// Table 1's batch sizes.
    pub table1_b: Vec<u32>,
    /// Table 1's values of f.
    pub table1_f: Vec<u32>,
    /// Requests of each Table 1 run (rounded to whole batches).
    pub table1_requests: u64,
}

impl Plan {
    /// The full reproduction (minutes on 2 cores).
    pub fn full() -> Plan {
        Plan {
            seeds: 5,
            delays_ms: vec![1, 2, 5, 10, 20, 30, 40, 50],
            fig5_f: vec![1, 2],
            latency_requests: 200,
            clients: vec![1, 10, 20, 40, 60, 80, 100, 120],
            throughput_ms: 2_000,
            throughput_backends: vec![
                Backend::HmacSha1,
                Backend::HmacSha256,
                Backend::Ed25519,
                Backend::PaperEsign,
                Backend::PaperRsa,
                Backend::Tpm20,
            ],
            throughput_rules: vec![BatchRule::Timer, BatchRule::Slots],
            latency_backends: vec![
                Backend::HmacSha1,
                Backend::HmacSha256,
                Backend::Ed25519,
                Backend::PaperEsign,
                Backend::PaperRsa,
                Backend::Tpm20,
            ],
            tpm_batches: vec![1, 10, 100, 1_000, 10_000, 20_000],
            tpm_duration_s: 60,
            table1_b: vec![1, 10],
            table1_f: vec![1, 2],
            table1_requests: 400,
        }
    }

    /// `--quick`: fewer points and shorter runs (well under a minute).
    pub fn quick() -> Plan {
        Plan {
            seeds: 3,
            delays_ms: vec![1, 10, 25, 50],
            latency_requests: 40,
            clients: vec![1, 20, 60, 120],
            throughput_ms: 300,
            throughput_backends: vec![Backend::HmacSha1, Backend::Ed25519, Backend::PaperRsa],
            tpm_batches: vec![1, 100, 1_000],
            tpm_duration_s: 30,
            table1_requests: 200,
            ..Plan::full()
        }
    }

    /// Every point of the plan: each experiment for each protocol it includes (each runs
    /// under [`Plan::seeds`] seeds).
    pub fn jobs(&self) -> Vec<Job> {
        let mut jobs = Vec::new();
        for e in Experiment::ALL {
            for protocol in e.protocols() {
                match e {
                    Experiment::Fig5 => self.fig5_jobs(protocol, &mut jobs),
                    Experiment::Throughput => self.throughput_jobs(protocol, &mut jobs),
                    Experiment::Fig6 => self.fig6_jobs(protocol, &mut jobs),
                    Experiment::Table4 => self.table4_jobs(protocol, &mut jobs),
                    Experiment::Table1 => self.table1_jobs(protocol, &mut jobs),
                }
            }
        }
        jobs
    }

    /// The backends a throughput run of `protocol` varies: one run without a USIG for a
    /// protocol that has none.
    pub fn throughput_backends_of(&self, protocol: ProtocolKind) -> Vec<Option<Backend>> {
        if protocol.uses_usig() {
            self.throughput_backends.iter().copied().map(Some).collect()
        } else {
            vec![None]
        }
    }

    fn table4_jobs(&self, protocol: ProtocolKind, jobs: &mut Vec<Job>) {
        let p = protocol.name();
        for &b in &self.tpm_batches {
            let mut s = base(
                &format!("table4-{p}-b{b}"),
                protocol,
                1,
                Backend::Tpm12 { rate_limited: true },
            );
            s.workload.clients = b;
            s.workload.requests_per_client = u64::MAX / 2;
            s.params.batch_size_max = b;
            s.params.exec_timeout = Dur::from_ms(120_000);
            s.params.view_change_timeout = Dur::from_ms(120_000);
            s.params.client_retry = Dur::from_ms(120_000);
            s.run.duration = Dur::from_ms(self.tpm_duration_s * 1000);
            jobs.push(Job {
                key: JobKey::Table4Throughput { protocol, batch: b },
                scenario: s,
            });
        }
        for rate_limited in [false, true] {
            let mut s = base(
                &format!("table4-{p}-latency"),
                protocol,
                1,
                Backend::Tpm12 { rate_limited },
            );
            s.workload.requests_per_client = 5;
            s.params.exec_timeout = Dur::from_ms(120_000);
            s.params.view_change_timeout = Dur::from_ms(120_000);
            s.params.client_retry = Dur::from_ms(120_000);
            s.run.duration = Dur::from_ms(300_000);
            jobs.push(Job {
                key: JobKey::Table4Latency {
                    protocol,
                    rate_limited,
                },
                scenario: s,
            });
        }
    }

    fn throughput_jobs(&self, protocol: ProtocolKind, jobs: &mut Vec<Job>) {
        let p = protocol.name();
        for &rule in &self.throughput_rules {
            // The timer rule's runs keep their names; the slot rule's say so.
            let suffix = match rule {
                BatchRule::Timer => String::new(),
                _ => format!("-{}", rule.name()),
            };
            for backend in self.throughput_backends_of(protocol) {
                for &clients in &self.clients {
                    let name = match backend {
                        Some(b) => format!("throughput-{p}-{}-c{clients}{suffix}", b.name()),
                        None => format!("throughput-{p}-c{clients}{suffix}"),
                    };
                    // A protocol without a USIG ignores the backend's costs.
                    let mut s = base(&name, protocol, 1, backend.unwrap_or(Backend::HmacSha1));
                    s.workload.clients = clients;
                    s.workload.requests_per_client = u64::MAX / 2;
                    s.workload.mode = LoopKind::Closed;
                    s.params.batch_size_max = 200;
                    // The window W stays the protocols' default (32), set long before
                    // this comparison; it is not chosen here.
                    s.params.batch_rule = rule;
                    s.run.duration = Dur::from_ms(self.throughput_ms);
                    jobs.push(Job {
                        key: JobKey::Throughput {
                            rule,
                            protocol,
                            backend,
                            clients,
                        },
                        scenario: s,
                    });
                }
            }
        }
    }

    fn fig5_jobs(&self, protocol: ProtocolKind, jobs: &mut Vec<Job>) {
        let p = protocol.name();
        for &f in &self.fig5_f {
            for &d in &self.delays_ms {
                let mut s = base(
                    &format!("fig5-{p}-f{f}-{d}ms"),
                    protocol,
                    f,
                    Backend::HmacSha1,
                );
                s.network.delay = wan_delay(f64::from(d));
                s.workload.requests_per_client = self.latency_requests;
                s.params.exec_timeout = Dur::from_ms(2_000);
                s.params.view_change_timeout = Dur::from_ms(4_000);
                s.params.client_retry = Dur::from_ms(2_000);
                s.run.duration =
                    Dur::from_ms(self.latency_requests * (10 * u64::from(d) + 10) + 1_000);
                jobs.push(Job {
                    key: JobKey::Fig5 {
                        protocol,
                        f,
                        delay_ms: d,
                    },
                    scenario: s,
                });
            }
        }
    }

    fn fig6_jobs(&self, protocol: ProtocolKind, jobs: &mut Vec<Job>) {
        let p = protocol.name();
        for &backend in &self.latency_backends {
            let mut s = base(
                &format!("fig6-{p}-{}", backend.name()),
                protocol,
                1,
                backend,
            );
            s.workload.requests_per_client = self.latency_requests;
            s.run.duration = Dur::from_ms(60_000);
            jobs.push(Job {
                key: JobKey::Fig6 { protocol, backend },
                scenario: s,
            });
        }
    }

    fn table1_jobs(&self, protocol: ProtocolKind, jobs: &mut Vec<Job>) {
        for &f in &self.table1_f {
            for &b in &self.table1_b {
                jobs.push(Job {
                    key: JobKey::Table1 { protocol, f, b },
                    scenario: table1_scenario(protocol, f, b, self.table1_requests),
                });
            }
        }
    }
}

/// Table 1's run: `b` closed-loop clients and batches of `b` on a constant-delay LAN (so
/// every batch fills), no CPU model, checkpoints beyond the run (Table 1 leaves them out).
pub fn table1_scenario(protocol: ProtocolKind, f: u32, b: u32, requests: u64) -> Scenario {
    let mut s = base(
        &format!("table1-{}-f{f}-b{b}", protocol.name()),
        protocol,
        f,
        Backend::HmacSha1,
    );
    s.cpu = None;
    s.workload.clients = b;
    s.workload.requests_per_client = requests.div_ceil(u64::from(b)).max(1);
    s.params.batch_size_max = b;
    s.params.batch_timeout = Dur::from_ms(10);
    s.params.checkpoint_period = 1 << 20;
    s.params.log_size = 1 << 21;
    s.run.duration = Dur::from_ms(60_000);
    s
}
