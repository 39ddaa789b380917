//! Run-time choice of USIG backend, for the command line, scenarios and the simulator.

use crate::counter::{Counter, VolatileCounter};
use crate::{
    Ed25519Usig, HmacSha1Usig, HmacSha256Usig, KeySet, ReplicaId, SymbolicUsig, Ui, Usig, UsigError,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The USIG backends minlab has.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UsigKind {
    /// HMAC-SHA1 (the paper's USIG-Hmac).
    HmacSha1,
    /// HMAC-SHA256.
    HmacSha256,
    /// Ed25519 signatures (a USIG-Sign).
    Ed25519,
    /// Symbolic certificates, for model checking and fast simulation.
    Symbolic,
}

impl UsigKind {
    /// Every backend, in a stable order.
    pub const ALL: [UsigKind; 4] = [
        UsigKind::HmacSha1,
        UsigKind::HmacSha256,
        UsigKind::Ed25519,
        UsigKind::Symbolic,
    ];

    /// The backend's name as used on the command line and in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            UsigKind::HmacSha1 => "hmac-sha1",
            UsigKind::HmacSha256 => "hmac-sha256",
            UsigKind::Ed25519 => "ed25519",
            UsigKind::Symbolic => "symbolic",
        }
    }
}

impl fmt::Display for UsigKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for UsigKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UsigKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown USIG backend {s:?}; expected one of: {}",
                    UsigKind::ALL.map(|k| k.name()).join(", ")
                )
            })
    }
}

/// A USIG of any backend, chosen at run time. Dispatch is a `match`, not a virtual call.
#[derive(Clone, Debug)]
pub enum AnyUsig<C: Counter = VolatileCounter> {
    /// HMAC-SHA1.
    HmacSha1(HmacSha1Usig<C>),
    /// HMAC-SHA256.
    HmacSha256(HmacSha256Usig<C>),
    /// Ed25519.
    Ed25519(Ed25519Usig<C>),
    /// Symbolic.
    Symbolic(SymbolicUsig<C>),
}

impl AnyUsig<VolatileCounter> {
    /// The USIG of replica `id` of backend `kind`, with a fresh in-memory counter.
    pub fn new(kind: UsigKind, id: ReplicaId, keys: &KeySet) -> Result<Self, UsigError> {
        Self::with_counter(kind, id, keys, VolatileCounter::default())
    }
}

impl<C: Counter> AnyUsig<C> {
    /// The USIG of replica `id` of backend `kind` over the given counter.
    pub fn with_counter(
        kind: UsigKind,
        id: ReplicaId,
        keys: &KeySet,
        counter: C,
    ) -> Result<Self, UsigError> {
        Ok(match kind {
            UsigKind::HmacSha1 => AnyUsig::HmacSha1(HmacSha1Usig::with_counter(id, keys, counter)?),
            UsigKind::HmacSha256 => {
                AnyUsig::HmacSha256(HmacSha256Usig::with_counter(id, keys, counter)?)
            }
            UsigKind::Ed25519 => AnyUsig::Ed25519(Ed25519Usig::with_counter(id, keys, counter)?),
            UsigKind::Symbolic => {
                if id >= keys.replica_count() {
                    return Err(UsigError::UnknownSigner(id));
                }
                AnyUsig::Symbolic(SymbolicUsig::with_counter(
                    id,
                    keys.replica_count(),
                    counter,
                ))
            }
        })
    }

    /// Which backend this is.
    pub fn kind(&self) -> UsigKind {
        match self {
            AnyUsig::HmacSha1(_) => UsigKind::HmacSha1,
            AnyUsig::HmacSha256(_) => UsigKind::HmacSha256,
            AnyUsig::Ed25519(_) => UsigKind::Ed25519,
            AnyUsig::Symbolic(_) => UsigKind::Symbolic,
        }
    }
}

macro_rules! dispatch {
    ($self:expr, $u:ident => $e:expr) => {
        match $self {
            AnyUsig::HmacSha1($u) => $e,
            AnyUsig::HmacSha256($u) => $e,
            AnyUsig::Ed25519($u) => $e,
            AnyUsig::Symbolic($u) => $e,
        }
    };
}

impl<C: Counter> AnyUsig<C> {
    /// The counter this USIG draws from (e.g. to inspect a durable counter's reservation).
    pub fn counter(&self) -> &C {
        dispatch!(self, u => u.counter())
    }
}

impl<C: Counter> Usig for AnyUsig<C> {
    fn id(&self) -> ReplicaId {
        dispatch!(self, u => u.id())
    }
    fn create_ui(&mut self, message: &[u8]) -> Result<Ui, UsigError> {
        dispatch!(self, u => u.create_ui(message))
    }
    fn verify_ui(&self, signer: ReplicaId, ui: &Ui, message: &[u8]) -> Result<(), UsigError> {
        dispatch!(self, u => u.verify_ui(signer, ui, message))
    }
    fn last_counter(&self) -> u64 {
        dispatch!(self, u => u.last_counter())
    }
    fn verification_is_public(&self) -> bool {
        dispatch!(self, u => u.verification_is_public())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::conformance;

    #[test]
    fn every_kind_meets_the_usig_contract_through_any() {
        let keys = KeySet::from_seed(3, 1);
        for kind in UsigKind::ALL {
            conformance(3, |id| {
                let usig = AnyUsig::new(kind, id, &keys).unwrap();
                assert_eq!(usig.kind(), kind);
                usig
            });
        }
    }

    #[test]
    fn names_parse_back_and_unknown_names_list_the_choices() {
        for kind in UsigKind::ALL {
            assert_eq!(kind.to_string().parse::<UsigKind>(), Ok(kind));
        }
        let err = "rsa".parse::<UsigKind>().unwrap_err();
        assert!(
            err.contains("hmac-sha1, hmac-sha256, ed25519, symbolic"),
            "{err}"
        );
    }

    #[test]
    fn out_of_group_id_is_an_error_for_every_kind() {
        let keys = KeySet::from_seed(3, 1);
        for kind in UsigKind::ALL {
            assert!(matches!(
                AnyUsig::new(kind, 3, &keys),
                Err(UsigError::UnknownSigner(3))
            ));
        }
    }

    #[test]
    fn public_verification_only_for_signature_kinds() {
        let keys = KeySet::from_seed(3, 1);
        let public: Vec<bool> = UsigKind::ALL
            .iter()
            .map(|&k| AnyUsig::new(k, 0, &keys).unwrap().verification_is_public())
            .collect();
        assert_eq!(public, [false, false, true, true]);
    }
}
