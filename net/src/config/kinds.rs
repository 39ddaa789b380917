//! What a cluster runs, by name in the cluster file and on the command line: the
//! replicated service, the protocol and the USIG backend.

use minlab_usig::UsigKind;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The replicated service.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceKind {
    /// The null service of the paper's micro-benchmarks (0-byte operations).
    Null,
    /// The key-value store.
    Kv,
}

/// The protocol a cluster runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolKind {
    /// MinBFT (paper §4).
    #[default]
    MinBft,
    /// MinZyzyva (paper §5), speculative; needs `usig = "ed25519"` or `"tpm"`.
    MinZyzyva,
}

impl ProtocolKind {
    /// The name in cluster files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ProtocolKind::MinBft => "minbft",
            ProtocolKind::MinZyzyva => "minzyzyva",
        }
    }

    /// The paper's spelling, for people.
    pub fn title(self) -> &'static str {
        match self {
            ProtocolKind::MinBft => "MinBFT",
            ProtocolKind::MinZyzyva => "MinZyzyva",
        }
    }
}

impl fmt::Display for ProtocolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ProtocolKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "minbft" => Ok(ProtocolKind::MinBft),
            "minzyzyva" => Ok(ProtocolKind::MinZyzyva),
            _ => Err(format!(
                "unknown protocol {s:?}; expected minbft or minzyzyva"
            )),
        }
    }
}

/// The USIG every replica of a cluster runs: a software backend over the replica's
/// durable counter file, or the TPM 2.0 USIG on the replica's own TPM.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum UsigBackend {
    /// HMAC or Ed25519 (or, refused by validation, symbolic).
    Software(UsigKind),
    /// The TPM 2.0 USIG (`minlab_usig::TpmUsig`); each replica entry names its TPM.
    Tpm,
}

impl UsigBackend {
    /// The name in cluster files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            UsigBackend::Software(kind) => kind.name(),
            UsigBackend::Tpm => "tpm",
        }
    }
}

impl From<UsigKind> for UsigBackend {
    fn from(kind: UsigKind) -> Self {
        UsigBackend::Software(kind)
    }
}

impl fmt::Display for UsigBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for UsigBackend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "tpm" {
            return Ok(UsigBackend::Tpm);
        }
        s.parse::<UsigKind>()
            .map(UsigBackend::Software)
            .map_err(|e| format!("{e}, tpm"))
    }
}

impl TryFrom<String> for UsigBackend {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<UsigBackend> for String {
    fn from(b: UsigBackend) -> String {
        b.name().to_string()
    }
}
