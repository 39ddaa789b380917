//! Builds the simulated world a scenario describes: the protocol configuration, keys,
//! replicas, clients and the network model.

use super::service::AnyService;
use crate::network::{Cut, Delay, LinkModel, Network, Partition};
use minlab_protocols::minbft::{ClientAuth, ClientDirectory, ClientKeyring, Config};
use minlab_protocols::service::{KvStore, NullService};
use minlab_protocols::{Client, Duration, NodeId, Replica};
use minlab_scenarios::adversary::replica_scripts::{Mint, ReplicaContext};
use minlab_scenarios::adversary::{Adversary, build_client, build_replica};
use minlab_scenarios::{
    ByzantineClientSpec, ByzantineSpec, ClientAuthKind, DelaySpec, NodeRef, PartitionKind,
    Protocol, Scenario, ServiceKind,
};
use minlab_usig::{AnyUsig, KeySet, Usig, VolatileCounter};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A correct MinBFT replica as the simulator runs it.
pub type SimReplica = Replica<AnyUsig, AnyService>;

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
    /// The protocol rejected the configuration derived from the scenario.
    #[error("scenario {scenario}: invalid protocol configuration: {reason}")]
    Config {
        /// The scenario.
        scenario: String,
        /// Why.
        reason: String,
    },
}

/// Everything derived from the scenario and the seed before the first event.
pub struct World {
    /// The group's configuration.
    pub config: Arc<Config>,
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
    c.checkpoint_period = s.params.checkpoint_period;
    c.log_window = s.params.log_size.max(2 * s.params.checkpoint_period);
    c.fifo_window = c.fifo_window.max(c.log_window);
    c.request_timeout = ns(s.params.exec_timeout);
    c.view_change_timeout = ns(s.params.view_change_timeout);
    c.retransmit_timeout = ns(s.params.client_retry);
    c.client_auth = match s.client_auth {
        ClientAuthKind::None => ClientAuth::None,
        ClientAuthKind::Ed25519 => ClientAuth::Ed25519,
        ClientAuthKind::Mac => ClientAuth::MacAuthenticator,
    };
    c
}

impl World {
    /// Derives the world of `scenario` for the run seeded with `seeds`.
    pub fn new(s: &Scenario, seeds: &crate::seed::SubSeeds) -> Result<World, BuildError> {
        if s.protocol != Protocol::Minbft {
            return Err(BuildError::Unsupported {
                scenario: s.name.clone(),
                what: format!("protocol {:?}", s.protocol),
            });
        }
        let config = config_of(s);
        config.validate().map_err(|e| BuildError::Config {
            scenario: s.name.clone(),
            reason: e.to_string(),
        })?;
        Ok(World {
            replica_count: config.replica_count,
            client_count: config.client_count,
            config: Arc::new(config),
            keys: KeySet::from_seed(s.replica_count(), seeds.sub_seed("usig-keys")),
            client_key_seed: seeds.sub_seed("client-keys"),
        })
    }

    /// A fresh correct replica `id` whose USIG counter resumes after `counter_last`.
    pub fn replica(
        &self,
        s: &Scenario,
        id: u32,
        counter_last: u64,
    ) -> Result<SimReplica, BuildError> {
        let err = |reason: String| BuildError::Config {
            scenario: s.name.clone(),
            reason,
        };
        let usig = AnyUsig::with_counter(
            s.usig,
            id,
            &self.keys,
            VolatileCounter::starting_after(counter_last),
        )
        .map_err(|e| err(e.to_string()))?;
        let clients = Arc::new(ClientDirectory::from_seed(
            self.config.client_auth,
            id,
            self.client_count,
            self.client_key_seed,
        ));
        let service = match s.workload.service {
            ServiceKind::Kv => AnyService::Kv(KvStore::new()),
            ServiceKind::Null => AnyService::Null(NullService::new(), s.workload.reply_size),
        };
        Replica::new(self.config.clone(), clients, usig, service).map_err(|e| err(e.to_string()))
    }

    /// The Byzantine replica `b` describes, wrapping the correct replica `inner`.
    pub fn byzantine_replica(
        &self,
        s: &Scenario,
        b: &ByzantineSpec,
        inner: SimReplica,
        seeds: &crate::seed::SubSeeds,
    ) -> Result<Box<dyn Adversary>, BuildError> {
        // Only the "compromised trusted component" experiment gets a USIG that can be made
        // to repeat a counter value.
        let mint = (b.script == "compromised-usig").then(|| {
            let (keys, kind, id) = (self.keys.clone(), s.usig, b.replica);
            Box::new(move |counter: u64, bytes: &[u8]| {
                let rewound = VolatileCounter::starting_after(counter.checked_sub(1)?);
                let mut usig = AnyUsig::with_counter(kind, id, &keys, rewound).ok()?;
                usig.create_ui(bytes).ok()
            }) as Mint
        });
        let ctx = ReplicaContext {
            mint,
            replica_count: self.replica_count,
            seed: seeds.sub_seed(&format!("adversary-r{}", b.replica)),
            clients: Arc::new(ClientDirectory::from_seed(
                self.config.client_auth,
                b.replica,
                self.client_count,
                self.client_key_seed,
            )),
        };
        build_replica(&b.script, &b.params, inner, ctx).map_err(|e| BuildError::Script {
            scenario: s.name.clone(),
            reason: e.to_string(),
        })
    }

    /// The Byzantine client `id` that `b` describes.
    pub fn byzantine_client(
        &self,
        s: &Scenario,
        b: &ByzantineClientSpec,
        id: u32,
        seeds: &crate::seed::SubSeeds,
    ) -> Result<Box<dyn Adversary>, BuildError> {
        let keys = ClientKeyring::from_seed(
            self.config.client_auth,
            id,
            self.replica_count,
            self.client_key_seed,
        );
        let seed = seeds.sub_seed(&format!("adversary-c{id}"));
        build_client(&b.script, &b.params, id, keys, seed).map_err(|e| BuildError::Script {
            scenario: s.name.clone(),
            reason: e.to_string(),
        })
    }

    /// Client `id`.
    pub fn client(&self, id: u32) -> Client {
        let keys = Arc::new(ClientKeyring::from_seed(
            self.config.client_auth,
            id,
            self.replica_count,
            self.client_key_seed,
        ));
        Client::new(id, self.config.clone(), keys)
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
