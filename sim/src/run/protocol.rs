//! The protocols the simulator can run, behind one trait: how to build a protocol's
//! replicas, clients and Byzantine scripts from a scenario. The event loop is generic over
//! it, so every protocol gets the same network, faults, oracles and reports.

use super::service::AnyService;
use super::world::{BuildError, World, config_of};
use minlab_protocols::minbft::{ClientDirectory, ClientKeyring, Config};
use minlab_protocols::{Client, ClientMachine, Message, ProtocolMessage, Replica, ReplicaMachine};
use minlab_protocols::{ReplicaId, minzyzyva, pbft};
use minlab_scenarios::adversary::replica_scripts::{Mint, ReplicaContext};
use minlab_scenarios::adversary::{
    Adversary, build_client, build_minzyzyva_replica, build_replica,
};
use minlab_scenarios::{ByzantineClientSpec, ByzantineSpec, Scenario};
use minlab_usig::{AnyUsig, Ed25519Usig, SymbolicUsig, Usig, UsigKind, VolatileCounter};
use std::sync::Arc;

/// A protocol the simulator runs: its message, replica and client types, and how to build
/// them for a scenario.
pub trait SimProtocol: Sized {
    /// Wire messages.
    type Message: ProtocolMessage;
    /// A correct replica.
    type Replica: ReplicaMachine<Message = Self::Message>;
    /// A correct client.
    type Client: ClientMachine<Message = Self::Message>;

    /// The protocol's configuration for `s` (checked).
    fn build(s: &Scenario, world: &World) -> Result<Self, BuildError>;

    /// A fresh correct replica `id` whose USIG counter (if any) resumes after
    /// `counter_last`.
    fn replica(
        &self,
        s: &Scenario,
        world: &World,
        id: u32,
        counter_last: u64,
    ) -> Result<Self::Replica, BuildError>;

    /// Correct replica `id` restarted after a crash: its USIG counter resumes after
    /// `counter_last`, and `wal` holds the write-ahead log records it emitted (by
    /// default the protocol keeps none and the replica starts fresh).
    fn recover(
        &self,
        s: &Scenario,
        world: &World,
        id: u32,
        counter_last: u64,
        wal: &[Vec<u8>],
    ) -> Result<Self::Replica, BuildError> {
        let _ = wal;
        self.replica(s, world, id, counter_last)
    }

    /// Correct client `id`.
    fn client(&self, world: &World, id: u32) -> Self::Client;

    /// The Byzantine replica `b` describes, wrapping the correct replica `inner` (by
    /// default: this protocol has no scripts yet).
    fn byzantine_replica(
        &self,
        s: &Scenario,
        world: &World,
        b: &ByzantineSpec,
        inner: Self::Replica,
        seeds: &crate::seed::SubSeeds,
    ) -> Result<Box<dyn Adversary<Self::Message>>, BuildError> {
        let _ = (world, b, inner, seeds);
        Err(no_scripts(s))
    }

    /// The Byzantine client `id` that `b` describes (by default: no scripts yet).
    fn byzantine_client(
        &self,
        s: &Scenario,
        world: &World,
        b: &ByzantineClientSpec,
        id: u32,
        seeds: &crate::seed::SubSeeds,
    ) -> Result<Box<dyn Adversary<Self::Message>>, BuildError> {
        let _ = (world, b, id, seeds);
        Err(no_scripts(s))
    }
}

/// Byzantine scripts exist for MinBFT only so far.
fn no_scripts(s: &Scenario) -> BuildError {
    BuildError::Unsupported {
        scenario: s.name.clone(),
        what: format!("Byzantine scripts for {:?}", s.protocol),
    }
}

fn config_error(s: &Scenario, reason: String) -> BuildError {
    BuildError::Config {
        scenario: s.name.clone(),
        reason,
    }
}

/// Replica `id`'s USIG of the scenario's backend, its counter resuming after
/// `counter_last` (it survives crashes: it lives in the trusted component).
fn replica_usig(
    s: &Scenario,
    world: &World,
    id: u32,
    counter_last: u64,
) -> Result<AnyUsig, BuildError> {
    let counter = VolatileCounter::starting_after(counter_last);
    AnyUsig::with_counter(s.usig, id, &world.keys, counter)
        .map_err(|e| config_error(s, e.to_string()))
}

/// What replica `id` knows of the clients' keys.
fn client_directory(config: &Config, world: &World, id: u32) -> Arc<ClientDirectory> {
    Arc::new(ClientDirectory::from_seed(
        config.client_auth,
        id,
        world.client_count,
        world.client_key_seed,
    ))
}

/// Client `id`'s keys.
fn client_keyring(config: &Config, world: &World, id: u32) -> Arc<ClientKeyring> {
    Arc::new(ClientKeyring::from_seed(
        config.client_auth,
        id,
        world.replica_count,
        world.client_key_seed,
    ))
}

/// A correct MinBFT replica as the simulator runs it.
pub type SimReplica = Replica<AnyUsig, AnyService>;

/// MinBFT (paper §4) in the simulator.
pub struct MinBft {
    /// The group's configuration.
    pub config: Arc<Config>,
}

impl MinBft {
    /// Replica `id`'s USIG (counter resuming after `counter_last`) and client directory.
    fn parts(
        &self,
        s: &Scenario,
        world: &World,
        id: u32,
        counter_last: u64,
    ) -> Result<(AnyUsig, Arc<ClientDirectory>), BuildError> {
        Ok((
            replica_usig(s, world, id, counter_last)?,
            client_directory(&self.config, world, id),
        ))
    }
}

impl SimProtocol for MinBft {
    type Message = Message;
    type Replica = SimReplica;
    type Client = Client;

    fn build(s: &Scenario, _world: &World) -> Result<Self, BuildError> {
        let config = config_of(s);
        config
            .validate()
            .map_err(|e| config_error(s, e.to_string()))?;
        Ok(MinBft {
            config: Arc::new(config),
        })
    }

    fn replica(
        &self,
        s: &Scenario,
        world: &World,
        id: u32,
        counter_last: u64,
    ) -> Result<SimReplica, BuildError> {
        let (usig, clients) = self.parts(s, world, id, counter_last)?;
        Replica::new(self.config.clone(), clients, usig, world.service(s))
            .map_err(|e| config_error(s, e.to_string()))
    }

    /// A durable replica restarts from its log; any other from its initial state.
    fn recover(
        &self,
        s: &Scenario,
        world: &World,
        id: u32,
        counter_last: u64,
        wal: &[Vec<u8>],
    ) -> Result<SimReplica, BuildError> {
        if !self.config.durable {
            return self.replica(s, world, id, counter_last);
        }
        let (usig, clients) = self.parts(s, world, id, counter_last)?;
        Replica::recover(self.config.clone(), clients, usig, world.service(s), wal)
            .map_err(|e| config_error(s, e.to_string()))
    }

    fn byzantine_replica(
        &self,
        s: &Scenario,
        world: &World,
        b: &ByzantineSpec,
        inner: SimReplica,
        seeds: &crate::seed::SubSeeds,
    ) -> Result<Box<dyn Adversary<Message>>, BuildError> {
        // Only the "compromised trusted component" experiment gets a USIG that can be made
        // to repeat a counter value.
        let mint = (b.script == "compromised-usig").then(|| {
            let (keys, kind, id) = (world.keys.clone(), s.usig, b.replica);
            Box::new(move |counter: u64, bytes: &[u8]| {
                let rewound = VolatileCounter::starting_after(counter.checked_sub(1)?);
                let mut usig = AnyUsig::with_counter(kind, id, &keys, rewound).ok()?;
                usig.create_ui(bytes).ok()
            }) as Mint
        });
        let ctx = ReplicaContext {
            mint,
            replica_count: world.replica_count,
            seed: seeds.sub_seed(&format!("adversary-r{}", b.replica)),
            clients: client_directory(&self.config, world, b.replica),
        };
        build_replica(&b.script, &b.params, inner, ctx).map_err(|e| BuildError::Script {
            scenario: s.name.clone(),
            reason: e.to_string(),
        })
    }

    fn byzantine_client(
        &self,
        s: &Scenario,
        world: &World,
        b: &ByzantineClientSpec,
        id: u32,
        seeds: &crate::seed::SubSeeds,
    ) -> Result<Box<dyn Adversary<Message>>, BuildError> {
        let keys = (*client_keyring(&self.config, world, id)).clone();
        let seed = seeds.sub_seed(&format!("adversary-c{id}"));
        build_client(&b.script, &b.params, id, keys, seed).map_err(|e| BuildError::Script {
            scenario: s.name.clone(),
            reason: e.to_string(),
        })
    }

    fn client(&self, world: &World, id: u32) -> Client {
        Client::new(
            id,
            self.config.clone(),
            client_keyring(&self.config, world, id),
        )
    }
}

/// A correct PBFT replica as the simulator runs it.
pub type SimPbftReplica = pbft::Replica<AnyService>;

/// The PBFT baseline (3f + 1 replicas, normal case only) in the simulator.
pub struct Pbft {
    /// The group's configuration.
    pub config: Arc<pbft::Config>,
}

/// PBFT's configuration for a scenario: the same parameters MinBFT takes from it.
pub fn pbft_config_of(s: &Scenario) -> pbft::Config {
    let m = config_of(s);
    let mut c = pbft::Config::new(s.f, m.client_count);
    c.batch_size_max = m.batch_size_max;
    c.batch_timeout = m.batch_timeout;
    c.batch_rule = m.batch_rule;
    c.outstanding_batches_max = m.outstanding_batches_max;
    c.checkpoint_period = m.checkpoint_period;
    c.log_window = m.log_window;
    c.request_timeout = m.request_timeout;
    c.retransmit_timeout = m.retransmit_timeout;
    c.client_auth = m.client_auth;
    c
}

impl SimProtocol for Pbft {
    type Message = pbft::Message;
    type Replica = SimPbftReplica;
    type Client = pbft::Client;

    fn build(s: &Scenario, _world: &World) -> Result<Self, BuildError> {
        let config = pbft_config_of(s);
        config
            .validate()
            .map_err(|e| config_error(s, e.to_string()))?;
        Ok(Pbft {
            config: Arc::new(config),
        })
    }

    fn replica(
        &self,
        s: &Scenario,
        world: &World,
        id: u32,
        _counter_last: u64,
    ) -> Result<SimPbftReplica, BuildError> {
        pbft::Replica::from_seed(
            self.config.clone(),
            id,
            world.client_key_seed,
            world.service(s),
        )
        .map_err(|e| config_error(s, e.to_string()))
    }

    fn client(&self, world: &World, id: u32) -> pbft::Client {
        pbft::Client::from_seed(id, self.config.clone(), world.client_key_seed)
    }
}

/// A correct MinZyzyva replica as the simulator runs it.
pub type SimZyzyvaReplica = minzyzyva::Replica<AnyUsig, AnyService>;

/// A MinZyzyva client: it verifies replicas' UIs itself.
pub type SimZyzyvaClient = minzyzyva::Client<AnyUsig>;

/// MinZyzyva (paper §5) in the simulator. Clients check UIs, so the USIG must be one whose
/// verification is public (Ed25519, or the symbolic one in simulation).
pub struct MinZyzyva {
    /// The group's configuration (MinBFT's parameters, as MinZyzyva reads them).
    pub config: Arc<Config>,
    /// What clients check UIs with: public keys only.
    verifier: AnyUsig,
}

impl SimProtocol for MinZyzyva {
    type Message = minzyzyva::Message;
    type Replica = SimZyzyvaReplica;
    type Client = SimZyzyvaClient;

    fn build(s: &Scenario, world: &World) -> Result<Self, BuildError> {
        let err = |reason: String| config_error(s, reason);
        // Clients check UIs: only a verify-only Ed25519 instance or the symbolic USIG do.
        let verifier = match s.usig {
            UsigKind::Ed25519 => AnyUsig::Ed25519(
                Ed25519Usig::verifier(&world.keys).map_err(|e| err(e.to_string()))?,
            ),
            UsigKind::Symbolic => {
                AnyUsig::Symbolic(SymbolicUsig::new(ReplicaId::MAX, world.replica_count))
            }
            other => {
                return Err(err(format!(
                    "MinZyzyva clients verify UIs, so usig must be ed25519 or symbolic, not {}",
                    other.name()
                )));
            }
        };
        let config = config_of(s);
        config
            .validate()
            .map_err(|e| config_error(s, e.to_string()))?;
        Ok(MinZyzyva {
            config: Arc::new(config),
            verifier,
        })
    }

    fn replica(
        &self,
        s: &Scenario,
        world: &World,
        id: u32,
        counter_last: u64,
    ) -> Result<SimZyzyvaReplica, BuildError> {
        let usig = replica_usig(s, world, id, counter_last)?;
        let clients = client_directory(&self.config, world, id);
        minzyzyva::Replica::new(self.config.clone(), clients, usig, world.service(s))
            .map_err(|e| config_error(s, e.to_string()))
    }

    /// A durable replica restarts from its write-ahead log; any other from its initial
    /// state (and counts among the faulty: it forgot what it sent).
    fn recover(
        &self,
        s: &Scenario,
        world: &World,
        id: u32,
        counter_last: u64,
        wal: &[Vec<u8>],
    ) -> Result<SimZyzyvaReplica, BuildError> {
        if !self.config.durable {
            return self.replica(s, world, id, counter_last);
        }
        let usig = replica_usig(s, world, id, counter_last)?;
        let clients = client_directory(&self.config, world, id);
        minzyzyva::Replica::recover(self.config.clone(), clients, usig, world.service(s), wal)
            .map_err(|e| config_error(s, e.to_string()))
    }

    fn client(&self, world: &World, id: u32) -> SimZyzyvaClient {
        let keys = client_keyring(&self.config, world, id);
        minzyzyva::Client::new(id, self.config.clone(), keys, self.verifier.clone())
            .expect("build admitted only verifiers whose verification is public")
    }

    fn byzantine_replica(
        &self,
        s: &Scenario,
        _world: &World,
        b: &ByzantineSpec,
        inner: SimZyzyvaReplica,
        _seeds: &crate::seed::SubSeeds,
    ) -> Result<Box<dyn Adversary<minzyzyva::Message>>, BuildError> {
        build_minzyzyva_replica(&b.script, &b.params, inner).map_err(|e| BuildError::Script {
            scenario: s.name.clone(),
            reason: e.to_string(),
        })
    }
}
