//! Exhaustive model checking of MinBFT with stateright, over the very same Sans-IO
//! replica and client the simulator runs (no re-written model).
//!
//! A [`CheckConfig`] describes a small group (replicas, clients, requests, a bound on
//! view changes, an optional Byzantine replica with a menu of [`ByzMove`]s, the network);
//! [`check_minbft`] builds the stateright `ActorModel` ([`model::minbft_model`]),
//! explores it and returns a [`CheckReport`]: state counts and, per property, whether it
//! holds, with a counterexample or example as readable steps. The library reads no clock:
//! the caller passes one.
//!
//! ```
//! use minlab_check::{CheckConfig, check_minbft, model::names};
//! use std::time::Duration;
//!
//! // 3 replicas, 1 client with 1 request, all correct, BFS.
//! let report = check_minbft(&CheckConfig::default(), || Duration::ZERO).unwrap();
//! assert!(report.exhaustive && report.all_hold());
//! assert!(report.property(names::REQUEST_COMPLETES).is_some());
//! ```
#![warn(missing_docs)]

pub mod actor;
pub mod cli;
pub mod config;
pub mod durable;
mod early;
pub mod explore;
mod lie;
pub mod minzyzyva;
pub mod model;
pub mod msg;
pub mod replay;
pub mod report;
pub mod sealed;
pub mod walk;

pub use config::{ByzMove, ByzantineRole, CheckConfig, ConfigError, Mode};
pub use explore::{Explorer, explore, explore_minzyzyva};
pub use report::{CheckReport, Kind, Outcome, PropertyResult, ReplayScenario, check_minbft};
