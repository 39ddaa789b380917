//! The seeded discrete-event simulator of minlab.
//!
//! One `u64` seed drives a whole run. [`seed::SubSeeds`] splits it into named, independent
//! ChaCha streams (network, clients, faults, adversary), [`queue::EventQueue`] orders events
//! by virtual time with a deterministic tie-break, and [`network::Network`] decides, for each
//! message, whether and when it arrives (delays, loss, duplication, partitions, GST).
//!
//! ```
//! use minlab_sim::network::{Delay, LinkModel, Network};
//! use minlab_sim::queue::EventQueue;
//! use minlab_sim::seed::SubSeeds;
//!
//! let seeds = SubSeeds::new(7);
//! let mut net: Network<u32> = Network::new(LinkModel::new(Delay::Constant(1_000_000)));
//! let mut rng = seeds.rng("network");
//! let mut queue = EventQueue::new(1_000);
//! for t in net.transmit(&mut rng, 0, 0, 1) {
//!     queue.push(t, "deliver 0 -> 1").unwrap();
//! }
//! assert_eq!(queue.pop(), Some((1_000_000, "deliver 0 -> 1")));
//! ```
#![warn(missing_docs)]

pub mod network;
pub mod oracle;
pub mod queue;
pub mod run;
pub mod seed;
