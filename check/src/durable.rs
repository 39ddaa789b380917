//! What survives a crash of the model's crash-recovering replica (issue "crash recovery"):
//! its write-ahead log and USIG counter (the durable part the protocol defines), plus the
//! observations the properties need across the crash. It is the actor's stateright
//! `Storage`: a crash keeps it, a recovery restarts the production replica from it.

use crate::actor::Executed;
use crate::sealed::Sealed;
use minlab_protocols::{Instant, View};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The crash-recovering replica's stable storage, as of its last step.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Durable {
    /// The write-ahead log: the records of every `Output::Persist` made durable, in order
    /// (a restart point drops the records before it).
    pub log: Vec<Vec<u8>>,
    /// Mutant `LogAfterSend` only: the last step's records, sent but not yet durable
    /// (they reach `log` at the replica's next step; a crash before it loses them).
    pub unsynced: Vec<(Vec<u8>, bool)>,
    /// The USIG counter's last value: the trusted counter survives by itself.
    pub counter: u64,
    /// Recoveries so far (the model bounds them).
    pub restarts: u32,
    /// Ghost: the observations of [`crate::actor::ReplicaState`] that must outlive the
    /// crash (what it executed, the views it installed, its clock).
    pub ghost: Ghost,
}

/// Observations that are not protocol state but must survive a crash, so the properties
/// still see what the replica did before it.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Ghost {
    /// Requests executed, by position (before and after crashes).
    pub executed: BTreeMap<u64, Executed>,
    /// The highest view installed.
    pub view_installed: View,
    /// The replica's local clock. It advances only when a timer fires (to that timer's
    /// deadline), so the replica sees every firing as expired, as in a real run where the
    /// timer fired on time; messages arrive at the current local time. It keeps running
    /// through a crash.
    pub now: Instant,
    /// It reported `StateTransferNeeded`: its history may lag behind a view it installed
    /// until the transfer completes (never within the model's bounds, where no checkpoint
    /// becomes stable).
    pub transfer_needed: bool,
    /// It executed, at a position, a request other than the one it had executed there
    /// before a crash.
    pub reexecuted_differently: bool,
    /// It executed a request after a recovery.
    pub executed_after_recovery: bool,
    /// Its recovery from this storage failed (`Replica::recover` returned an error).
    pub recovery_failed: bool,
}

/// The stateright storage of a replica actor (sealed: hashed once per change).
pub type Storage = Arc<Sealed<Durable>>;

/// Appends a step's `Persist` records `(record, restart_point)` to `log`.
pub fn append(log: &mut Vec<Vec<u8>>, records: impl IntoIterator<Item = (Vec<u8>, bool)>) {
    for (record, restart_point) in records {
        if restart_point {
            log.clear();
        }
        log.push(record);
    }
}
