//! Which USIG a replica process runs, from the cluster file: a software backend over the
//! replica's durable counter file, or (cargo feature `tpm`) the TPM 2.0 USIG on the
//! replica's own TPM, whose counter lives in the chip. And what a MinZyzyva client checks
//! the replicas' UIs with: a verify-only USIG over the identities the cluster file lists.

use crate::config::{ClusterConfig, UsigBackend};
use crate::error::NetError;
use minlab_protocols::ReplicaId;
use minlab_usig::{
    AnyUsig, DurableCounter, Ed25519Usig, KeySet, TpmVerifier, Ui, Usig, UsigError, UsigKind,
};

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

/// What a MinZyzyva client verifies `UI_p` and `UI_s` with: a verify-only USIG over the
/// replicas' public identities from the cluster file. Checking a TPM UI is pure Rust
/// ([`TpmVerifier`]): a client needs neither a TPM nor the `tpm` feature.
///
/// The backend is the cluster's, never the certificate's: a TPM cluster's client accepts
/// only TPM UIs, so a replica cannot bypass its TPM by signing with another key.
#[derive(Clone, Debug)]
pub enum ClientUsig {
    /// The replicas' Ed25519 public keys (`usig_public_key`).
    Ed25519(Ed25519Usig),
    /// The replicas' TPM identities (`usig_tpm_identity`).
    Tpm(TpmVerifier),
}

impl ClientUsig {
    /// The verifier for `config`'s USIG backend, from the identities the file lists.
    /// Fails (with the file's path) if the backend's UIs cannot be checked by a client
    /// (HMAC) or an identity is missing or malformed.
    pub fn from_config(config: &ClusterConfig) -> Result<Self, NetError> {
        let bad = |reason: String| NetError::Config {
            path: config.dir.join("cluster.toml"),
            reason,
        };
        match config.usig {
            UsigBackend::Software(UsigKind::Ed25519) => {
                let keys = config.usig_public_keys().map_err(bad)?;
                Ok(ClientUsig::Ed25519(Ed25519Usig::verifier(
                    &KeySet::from_ed25519_public(keys),
                )?))
            }
            UsigBackend::Tpm => {
                let identities = config.usig_tpm_identities().map_err(bad)?;
                Ok(ClientUsig::Tpm(TpmVerifier::from_identities(identities)?))
            }
            UsigBackend::Software(kind) => Err(bad(crate::config::minzyzyva_usig(config.usig)
                .err()
                .unwrap_or_else(|| format!("usig = {:?} has no verify-only USIG", kind.name())))),
        }
    }
}

impl Usig for ClientUsig {
    fn id(&self) -> ReplicaId {
        match self {
            ClientUsig::Ed25519(u) => u.id(),
            ClientUsig::Tpm(u) => Usig::id(u),
        }
    }

    /// Always fails: a client creates no UI.
    fn create_ui(&mut self, message: &[u8]) -> Result<Ui, UsigError> {
        match self {
            ClientUsig::Ed25519(u) => u.create_ui(message),
            ClientUsig::Tpm(u) => u.create_ui(message),
        }
    }

    fn verify_ui(&self, signer: ReplicaId, ui: &Ui, message: &[u8]) -> Result<(), UsigError> {
        match self {
            ClientUsig::Ed25519(u) => u.verify_ui(signer, ui, message),
            ClientUsig::Tpm(u) => u.verify_ui(signer, ui, message),
        }
    }

    fn last_counter(&self) -> u64 {
        match self {
            ClientUsig::Ed25519(u) => u.last_counter(),
            ClientUsig::Tpm(u) => u.last_counter(),
        }
    }

    fn verification_is_public(&self) -> bool {
        match self {
            ClientUsig::Ed25519(u) => u.verification_is_public(),
            ClientUsig::Tpm(u) => u.verification_is_public(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{minzyzyva, minzyzyva_tpm, sample};

    // Paper §5: MinZyzyva clients check UI_p and UI_s themselves, with public identities.
    #[test]
    fn clients_verify_with_the_cluster_backend_only() {
        // `minzyzyva()` lists the Ed25519 keys of `KeySet::from_seed(3, 3)`.
        let keys = KeySet::from_seed(3, 3);
        let ui = Ed25519Usig::new(1, &keys).unwrap().create_ui(b"m").unwrap();
        let mut ed25519 = ClientUsig::from_config(&minzyzyva()).unwrap();
        assert!(ed25519.verification_is_public());
        assert_eq!(ed25519.verify_ui(1, &ui, b"m"), Ok(()));
        assert!(ed25519.verify_ui(2, &ui, b"m").is_err());
        assert!(ed25519.create_ui(b"m").is_err());
        // A TPM cluster's client takes no Ed25519 UI, even one a replica's key file could
        // sign: only the TPM's certificate binds the counter.
        let mut tpm = ClientUsig::from_config(&minzyzyva_tpm()).unwrap();
        assert!(matches!(tpm, ClientUsig::Tpm(_)) && tpm.verification_is_public());
        assert_eq!(
            tpm.verify_ui(1, &ui, b"m"),
            Err(UsigError::WrongCertificateKind {
                expected: "tpm",
                found: "ed25519"
            })
        );
        assert!(tpm.create_ui(b"m").is_err());
        // Paper §6: an HMAC UI cannot be checked by a client.
        let e = ClientUsig::from_config(&sample()).unwrap_err().to_string();
        assert!(e.contains("an HMAC UI can only be checked"), "{e}");
    }
}
