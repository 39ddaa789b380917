//! Builds the simulated world a scenario describes, whatever the protocol: node counts,
//! keys, the service and the network model (protocol-specific parts: `protocol.rs`).

use super::service::AnyService;
use crate::network::{Cut, Delay, LinkModel, Network, Partition};
use minlab_protocols::minbft::{ClientAuth, Config};
use minlab_protocols::service::{KvStore, NullService};
use minlab_protocols::{Duration, NodeId};
use minlab_scenarios::{ClientAuthKind, DelaySpec, NodeRef, PartitionKind, Scenario, ServiceKind};
use minlab_usig::KeySet;
use std::collections::BTreeSet;

/// Why a scenario cannot be simulated.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The scenario asks for something the simulator does not have yet.
    #[error("scenario {scenario}: {what} is not supported by the simulator yet")]
    Unsupported {
        /// The scenario.
        scenario: String,
        /// What is missing.
        what: String,
    },
    /// A Byzantine script cannot be built as the scenario asks.
    #[error("scenario {scenario}: {reason}")]
    Script {
        /// The scenario.
        scenario: String,
        /// Why.
        reason: String,
    },
    /// A step of a scripted run (`[replay]`) cannot be applied: the replay diverged
    /// from the run it recorded, or the schedule is wrong.
    #[error("scenario {scenario}: the replay diverged at step {step}: {reason}")]
    Diverged {
        /// The scenario.
        scenario: String,
        /// The step, numbered from 1 (0: before the first step).
        step: usize,
        /// What could not be applied.
        reason: String,
    },
    /// The scenario's seeded bug (test-only) cannot run in this build.
    #[error("scenario {scenario}: {reason}")]
    Mutant {
        /// The scenario.
        scenario: String,
        /// Why.
        reason: String,
    },
    /// The protocol rejected the configuration derived from the scenario.
    #[error("scenario {scenario}: invalid protocol configuration: {reason}")]
    Config {
        /// The scenario.
        scenario: String,
        /// Why.
        reason: String,
    },
}

/// Everything derived from the scenario and the seed before the first event, whatever the
/// protocol.
pub struct World {
    /// USIG keys of the group.
    pub keys: KeySet,
    /// Seed of the client keys.
    pub client_key_seed: u64,
    /// Number of replicas.
    pub replica_count: u32,
    /// Number of clients (correct first, then Byzantine).
    pub client_count: u32,
}

fn ns(d: minlab_scenarios::Dur) -> Duration {
    Duration::from_nanos(d.ns())
}

/// The protocol configuration a scenario asks for.
pub fn config_of(s: &Scenario) -> Config {
    let clients = s.workload.clients + s.byzantine_clients.len() as u32;
    let mut c = Config::new(s.f, clients);
    c.batch_size_max = s.params.batch_size_max as usize;
    c.batch_timeout = ns(s.params.batch_timeout);
    c.batch_rule = s.params.batch_rule;
    c.outstanding_batches_max = s.params.outstanding_batches_max;
    c.checkpoint_period = s.params.checkpoint_period;
    c.log_window = s.params.log_size.max(2 * s.params.checkpoint_period);
    c.fifo_window = c.fifo_window.max(c.log_window);
    c.request_timeout = ns(s.params.exec_timeout);
    c.view_change_timeout = ns(s.params.view_change_timeout);
    c.retransmit_timeout = ns(s.params.client_retry);
    c.client_auth = World::client_auth(s);
    c.durable = s.params.durable;
    if let Some(r) = &s.replay {
        if let Some(d) = r.repair_interval_max {
            c.repair_interval_max = ns(d);
        }
        if let Some(d) = r.client_retry_max {
            c.retransmit_timeout_max = ns(d);
        }
    }
    #[cfg(feature = "mutants")]
    if s.replay.is_some() {
        // An unknown name is refused before the build (`scripted::check_mutant`).
        c.mutant = super::scripted::replay_mutant(s).ok().flatten();
    }
    c
}

impl World {
    /// Derives the world of `scenario` for the run seeded with `seeds`.
    pub fn new(s: &Scenario, seeds: &crate::seed::SubSeeds) -> World {
        World {
            replica_count: s.replica_count(),
            client_count: s.workload.clients + s.byzantine_clients.len() as u32,
            keys: KeySet::from_seed(s.replica_count(), seeds.sub_seed("usig-keys")),
            client_key_seed: seeds.sub_seed("client-keys"),
        }
    }

    /// The replicated service the scenario asks for, in its initial state.
    pub fn service(&self, s: &Scenario) -> AnyService {
        match s.workload.service {
            ServiceKind::Kv => AnyService::Kv(KvStore::new()),
            ServiceKind::Null => AnyService::Null(NullService::new(), s.workload.reply_size),
        }
    }

    /// The client-authentication mode the scenario asks for.
    pub fn client_auth(s: &Scenario) -> ClientAuth {
        match s.client_auth {
            ClientAuthKind::None => ClientAuth::None,
            ClientAuthKind::Ed25519 => ClientAuth::Ed25519,
            ClientAuthKind::Mac => ClientAuth::MacAuthenticator,
        }
    }

    /// The network model of the scenario.
    pub fn network(&self, s: &Scenario) -> Network<NodeId> {
        let n = &s.network;
        let mut net = Network::new(LinkModel {
            delay: delay(n.delay),
            loss: n.loss,
            duplicate: n.duplicate,
            reorder: n.reorder,
            reorder_window_ns: n.reorder_window.ns(),
        });
        net.gst_ns = n.gst.map(|g| g.ns());
        for l in &n.links {
            let l = l.get_ref();
            let mut model = net.default_link;
            model.delay = delay(l.delay);
            model.loss = l.loss;
            for from in self.nodes(&l.from) {
                for to in self.nodes(&l.to) {
                    net.links.insert((from, to), model);
                }
            }
        }
        for p in &n.partitions {
            let p = p.get_ref();
            let a: BTreeSet<NodeId> = p.a.iter().flat_map(|r| self.nodes(r)).collect();
            let b: Option<BTreeSet<NodeId>> =
                p.b.as_ref()
                    .map(|b| b.iter().flat_map(|r| self.nodes(r)).collect());
            let cut = match p.kind {
                PartitionKind::TwoWay => Cut::TwoWay { a, b },
                PartitionKind::OneWay => Cut::OneWay {
                    to: b.unwrap_or_else(|| self.all_nodes().filter(|x| !a.contains(x)).collect()),
                    from: a,
                },
            };
            net.partitions.push(Partition {
                start_ns: p.start.ns(),
                end_ns: p.end.ns(),
                cut,
            });
        }
        net
    }

    fn all_nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.replica_count)
            .map(NodeId::Replica)
            .chain((0..self.client_count).map(NodeId::Client))
    }

    /// The nodes a scenario's node reference names.
    pub fn nodes(&self, r: &NodeRef) -> Vec<NodeId> {
        match *r {
            NodeRef::Replica(i) => vec![NodeId::Replica(i)],
            NodeRef::Client(i) => vec![NodeId::Client(i)],
            NodeRef::AllClients => (0..self.client_count).map(NodeId::Client).collect(),
        }
    }
}

/// The engine's delay distribution for a scenario's.
pub fn delay(d: DelaySpec) -> Delay {
    match d {
        DelaySpec::Constant { value } => Delay::Constant(value.ns()),
        DelaySpec::Uniform { min, max } => Delay::Uniform {
            min: min.ns(),
            max: max.ns(),
        },
        DelaySpec::Normal { mean, std_dev } => Delay::Normal {
            mean: mean.ns(),
            std_dev: std_dev.ns(),
        },
    }
}
