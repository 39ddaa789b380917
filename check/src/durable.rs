//! What survives a crash of the model's crash-recovering replica (issue "crash recovery"):
//! its write-ahead log and USIG counter (the durable part the protocol defines), plus the
//! observations the properties need across the crash. It is the actor's stateright
//! `Storage`: a crash keeps it, a recovery restarts the production replica from it. Shared
//! by the MinBFT and MinZyzyva models, which differ only in their ghost observations.

use crate::actor::Executed;
use crate::config::CheckConfig;
use crate::sealed::Sealed;
use minlab_protocols::{Instant, View};
use stateright::actor::{Actor, ActorModelState, Out};
use std::collections::BTreeMap;
use std::hash::Hash;
use std::sync::Arc;

/// The crash-recovering replica's stable storage, as of its last step. `G` holds the
/// model's ghost observations ([`Ghost`] for MinBFT).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Durable<G = Ghost> {
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
    /// Ghost: the observations of the replica actor that must outlive the crash.
    pub ghost: G,
}

/// Observations of a MinBFT replica that are not protocol state but must survive a crash,
/// so the properties still see what the replica did before it.
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
pub type Storage<G = Ghost> = Arc<Sealed<Durable<G>>>;

/// Appends a step's `Persist` records `(record, restart_point)` to `log`.
pub fn append(log: &mut Vec<Vec<u8>>, records: impl IntoIterator<Item = (Vec<u8>, bool)>) {
    for (record, restart_point) in records {
        if restart_point {
            log.clear();
        }
        log.push(record);
    }
}

/// The seeded bugs of crash recovery that live in the driver (the checker's actor), not
/// in the replica: see `minlab_protocols::minbft::Mutant`.
#[derive(Clone, Copy)]
pub(crate) enum DriverMutant {
    /// Recovery from an empty log.
    Amnesia,
    /// A step's records become durable after its sends.
    LogAfterSend,
}

/// True when the check runs driver mutant `m` (always false without feature `mutants`).
pub(crate) fn mutant_on(cfg: &CheckConfig, m: DriverMutant) -> bool {
    #[cfg(feature = "mutants")]
    {
        use minlab_protocols::minbft::Mutant;
        cfg.mutant
            == Some(match m {
                DriverMutant::Amnesia => Mutant::Amnesia,
                DriverMutant::LogAfterSend => Mutant::LogAfterSend,
            })
    }
    #[cfg(not(feature = "mutants"))]
    {
        let _ = (cfg, m);
        false
    }
}

/// True when the check runs one of the driver mutants (the log is lost on purpose).
pub(crate) fn driver_mutant(cfg: &CheckConfig) -> bool {
    mutant_on(cfg, DriverMutant::Amnesia) || mutant_on(cfg, DriverMutant::LogAfterSend)
}

impl<G: Clone + Hash> Durable<G> {
    /// The storage a recovery starts from: one more restart, the unsynced records lost,
    /// the USIG counter past `lost_counter_values` more values (a crash inside the
    /// write-ahead window), and (mutant `Amnesia`) no log at all.
    pub fn recovering(&self, cfg: &CheckConfig) -> Self {
        let mut d = self.clone();
        d.restarts += 1;
        d.unsynced.clear();
        d.counter += cfg.lost_counter_values;
        if mutant_on(cfg, DriverMutant::Amnesia) {
            d.log.clear();
        }
        d
    }

    /// The storage after a step that emitted the write-ahead records `persisted` and left
    /// the USIG at `counter`: the records become durable (mutant `LogAfterSend`: at the
    /// next step instead), with the counter and the observations `ghost`.
    pub fn after_step(
        &self,
        cfg: &CheckConfig,
        persisted: Vec<(Vec<u8>, bool)>,
        counter: u64,
        ghost: G,
    ) -> Self {
        let mut next = self.clone();
        let synced = std::mem::take(&mut next.unsynced);
        append(&mut next.log, synced);
        if mutant_on(cfg, DriverMutant::LogAfterSend) {
            next.unsynced = persisted;
        } else {
            append(&mut next.log, persisted);
        }
        next.counter = counter;
        next.ghost = ghost;
        next
    }
}

/// Makes `next` the replica's storage (`current`) and saves it with stateright when it
/// changed (`force`: always, as a recovery must).
pub fn save<A, G>(current: &mut Option<Storage<G>>, next: Durable<G>, o: &mut Out<A>, force: bool)
where
    A: Actor<Storage = Storage<G>>,
    G: Hash + Eq,
{
    if force || current.as_ref().is_none_or(|d| ***d != next) {
        let next = Arc::new(Sealed::new(next));
        *current = Some(next.clone());
        o.save(next);
    }
}

/// The model boundary with a crashing replica: only it ever crashes (stateright offers a
/// crash of every actor; the others' are pruned here), at most `restarts` times.
pub fn within_crash_bounds<A, H, G>(cfg: &CheckConfig, s: &ActorModelState<A, H>) -> bool
where
    A: Actor<Storage = Storage<G>>,
{
    let Some(r) = cfg.crash_replica else {
        return true;
    };
    let r = r as usize;
    let others_up = s
        .crashed
        .iter()
        .enumerate()
        .all(|(i, down)| !down || i == r);
    let restarts = s
        .actor_storages
        .get(r)
        .and_then(|d| d.as_ref())
        .map_or(0, |d| d.restarts);
    others_up && restarts + u32::from(s.crashed[r]) <= cfg.restarts
}
