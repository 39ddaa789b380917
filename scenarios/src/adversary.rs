//! Byzantine adversary scripts. A script controls one faulty replica or client: it holds
//! only that node's own USIG and keys, so it can lie, stay silent or replay, but it cannot
//! mint another replica's UI (the USIG's guarantee). The simulator drives a script like any
//! other node.

mod client_scripts;
pub mod minzyzyva_scripts;
mod params;
pub mod replica_scripts;

pub use client_scripts::build_client;
pub use minzyzyva_scripts::build_minzyzyva_replica;
pub use replica_scripts::build_replica;

use minlab_protocols::{Instant, Message, NodeId, Outbox, TimerKind};

/// A Byzantine node, driven by the simulator like a correct one. `M` is the protocol's
/// message type (MinBFT's unless said otherwise).
pub trait Adversary<M = Message> {
    /// Called once at time 0, before any other input.
    fn start(&mut self, now: Instant, out: &mut Outbox<M>) {
        let _ = (now, out);
    }
    /// A message arrived from `from`.
    fn on_message(&mut self, now: Instant, from: NodeId, msg: M, out: &mut Outbox<M>);
    /// Timer `kind` fired.
    fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Outbox<M>);
}

/// The timer a script uses for its own periodic actions. Clients alone use it among
/// correct nodes, so a script wrapping a replica never collides with the replica's timers.
pub const TICK: TimerKind = TimerKind::Retransmit;

/// A script that cannot be built as the scenario asks.
#[derive(Debug, thiserror::Error)]
#[error("Byzantine script {script}: {reason}")]
pub struct ScriptError {
    /// The script.
    pub script: String,
    /// What is wrong.
    pub reason: String,
}
