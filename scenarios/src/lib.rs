//! Scenario files for minlab: the TOML schema, its validation, and (in `catalog/`) the
//! scenarios that ship with minlab.
//!
//! A scenario says which protocol runs with which faults, network and workload, and what
//! the run must show. Errors name the file, the line and the field:
//!
//! ```
//! use minlab_scenarios::Scenario;
//!
//! let src = r#"
//! name = "tiny"
//! protocol = "minbft"
//! f = 1
//! run = { duration = "2s" }
//! workload = { clients = 2, requests_per_client = 10 }
//! expect = { safety = "hold" }
//! "#;
//! let s = Scenario::from_toml(src, "tiny.toml").unwrap();
//! assert_eq!(s.replica_count(), 3);
//!
//! let err = Scenario::from_toml(&src.replace("f = 1", "f = 0"), "bad.toml").unwrap_err();
//! assert!(err.to_string().contains("bad.toml: field f"));
//! ```
#![warn(missing_docs)]

pub mod adversary;
pub mod duration;
pub mod replay;
pub mod schema;
pub mod validate;

pub use duration::Dur;
pub use schema::*;

/// A scenario file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or does not match the schema (unknown or missing field, wrong
    /// type); the message has the line and column.
    #[error("{origin}: {message}")]
    Syntax {
        /// Where the text came from.
        origin: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The TOML matches the schema but a value is out of range or inconsistent.
    #[error("{origin}{}: field {field}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// Where the text came from.
        origin: String,
        /// The line of the offending table, when known.
        line: Option<usize>,
        /// The field, as a path (`faults[2]`, `network.loss`).
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl Scenario {
    /// Parses and validates a scenario. `origin` names the source in error messages.
    pub fn from_toml(src: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml::from_str(src).map_err(|e| ScenarioError::Syntax {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        validate::validate(&s, src, origin)?;
        Ok(s)
    }

    /// Reads, parses and validates a scenario file.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let src = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Scenario::from_toml(&src, &path.display().to_string())
    }

    /// Writes the scenario back as TOML (used by `minlab shrink`).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a scenario always serializes")
    }

    /// Number of replicas: `2f + 1` for MinBFT and MinZyzyva, `3f + 1` for PBFT.
    pub fn replica_count(&self) -> u32 {
        match self.protocol {
            Protocol::Pbft => 3 * self.f + 1,
            _ => 2 * self.f + 1,
        }
    }
}

#[cfg(test)]
mod tests;
