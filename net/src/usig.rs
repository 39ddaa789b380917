//! Which USIG a replica process runs, from the cluster file: a software backend over the
//! replica's durable counter file, or (cargo feature `tpm`) the TPM 2.0 USIG on the
//! replica's own TPM, whose counter lives in the chip.

use crate::config::{ClusterConfig, UsigBackend};
use crate::error::NetError;
use minlab_protocols::ReplicaId;
use minlab_usig::{AnyUsig, DurableCounter, KeySet, Ui, Usig, UsigError};

/// A replica's USIG, whichever backend the cluster file names.
#[derive(Debug)]
pub enum NodeUsig {
    /// HMAC or Ed25519 over the durable counter file.
    Software(AnyUsig<DurableCounter>),
    /// The TPM 2.0 USIG (boxed: it holds the TPM connection and every peer's identity).
    #[cfg(feature = "tpm")]
    Tpm(Box<minlab_usig::TpmUsig>),
}

impl NodeUsig {
    /// Opens replica `id`'s USIG as `config` says, with the keys of `keys`.
    pub fn open(config: &ClusterConfig, id: ReplicaId, keys: &KeySet) -> Result<Self, NetError> {
        match config.usig {
            UsigBackend::Software(kind) => {
                let counter = DurableCounter::open(config.counter_path(id), config.counter_block)?;
                Ok(NodeUsig::Software(AnyUsig::with_counter(
                    kind, id, keys, counter,
                )?))
            }
            UsigBackend::Tpm => open_tpm(config, id, keys),
        }
    }
}

#[cfg(feature = "tpm")]
fn open_tpm(config: &ClusterConfig, id: ReplicaId, keys: &KeySet) -> Result<NodeUsig, NetError> {
    use minlab_usig::tpm::TpmConfig;
    let tcti = config
        .entry(id)?
        .tcti
        .clone()
        .ok_or_else(|| NetError::Config {
            path: config.dir.join("cluster.toml"),
            reason: format!("replica {id} has no tcti"),
        })?;
    let usig = minlab_usig::TpmUsig::open(id, keys, &TpmConfig::new(tcti))?;
    Ok(NodeUsig::Tpm(Box::new(usig)))
}

#[cfg(not(feature = "tpm"))]
fn open_tpm(config: &ClusterConfig, _: ReplicaId, _: &KeySet) -> Result<NodeUsig, NetError> {
    Err(NetError::Config {
        path: config.dir.join("cluster.toml"),
        reason: "usig = \"tpm\" needs a minlab built with `--features tpm`".into(),
    })
}

impl Usig for NodeUsig {
    fn id(&self) -> ReplicaId {
        match self {
            NodeUsig::Software(u) => u.id(),
            #[cfg(feature = "tpm")]
            NodeUsig::Tpm(u) => u.id(),
        }
    }

    /// On the TPM this blocks the replica task for the chip's round trip (milliseconds on
    /// swtpm, up to hundreds on slow chips): batching amortizes it over many requests.
    fn create_ui(&mut self, message: &[u8]) -> Result<Ui, UsigError> {
        match self {
            NodeUsig::Software(u) => u.create_ui(message),
            #[cfg(feature = "tpm")]
            NodeUsig::Tpm(u) => u.create_ui(message),
        }
    }

    fn verify_ui(&self, signer: ReplicaId, ui: &Ui, message: &[u8]) -> Result<(), UsigError> {
        match self {
            NodeUsig::Software(u) => u.verify_ui(signer, ui, message),
            #[cfg(feature = "tpm")]
            NodeUsig::Tpm(u) => u.verify_ui(signer, ui, message),
        }
    }

    fn last_counter(&self) -> u64 {
        match self {
            NodeUsig::Software(u) => u.last_counter(),
            #[cfg(feature = "tpm")]
            NodeUsig::Tpm(u) => u.last_counter(),
        }
    }

    fn verification_is_public(&self) -> bool {
        match self {
            NodeUsig::Software(u) => u.verification_is_public(),
            #[cfg(feature = "tpm")]
            NodeUsig::Tpm(u) => u.verification_is_public(),
        }
    }
}
