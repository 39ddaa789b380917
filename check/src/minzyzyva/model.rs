//! The stateright `ActorModel` of a MinZyzyva group and its properties (paper §5): what a
//! client completed is never rolled back and is in the history of every correct replica
//! that installed a later view; committed prefixes agree; no request runs twice; the
//! client history is linearizable. With a crashing replica (`--crash`), which counts as
//! correct, the same properties must hold, and its recovery from its write-ahead log must
//! succeed.

use super::actor::{ZClientState, ZNode, ZNodeState, ZReplicaState};
use crate::config::{CheckConfig, ConfigError};
use crate::model::{
    History, agree_by_position, clients_of, correct_of, names as common, record_out,
};
use minlab_protocols::ClientId;
use minlab_protocols::minbft::Config;
use stateright::Expectation;
use stateright::actor::{ActorModel, ActorModelState, LossyNetwork, Network};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The model type.
pub type MinzyzyvaModel = ActorModel<ZNode, CheckConfig, History>;

/// A state of the model.
pub type MinzyzyvaState = ActorModelState<ZNode, History>;

/// Property names of the MinZyzyva model, as reported (shared ones are in
/// [`crate::model::names`]).
pub mod names {
    /// `always`: correct replicas' committed histories agree position by position, and no
    /// correct replica changes or rolls back a committed position.
    pub const COMMITTED_AGREE: &str = "committed prefixes agree";
    /// `always`: a request a client completed is in the current history of some correct
    /// replica, and of every correct replica that installed a view above the one it
    /// completed in (paper §5: it is never rolled back).
    pub const COMPLETED_NEVER_ROLLED_BACK: &str = "completed requests are never rolled back";
    /// `always`: correct replicas that installed the same view have executed the same
    /// sequence, one a prefix of the other (paper §5: replicas execute speculatively in
    /// the primary's FIFO order, and a new view's history replaces, by rollback, what it
    /// leaves out).
    pub const SPECULATIVE_AGREEMENT: &str = "histories in one view agree";
    /// `sometimes`: a request completes through a commit certificate and LOCAL-COMMITs.
    pub const COMPLETES_VIA_COMMIT: &str = "a request completes with a commit certificate";
    /// `sometimes`: a correct replica rolls back a speculative execution. Registered with
    /// view changes unless the Byzantine replica is silent (a silent primary orders
    /// nothing a new view could leave out).
    pub const ROLLBACK_HAPPENS: &str = "a speculative execution is rolled back";
}

/// Correct replicas' states.
pub fn correct_replicas<'a>(
    cfg: &'a CheckConfig,
    state: &'a MinzyzyvaState,
) -> impl Iterator<Item = &'a ZReplicaState> + 'a {
    correct_of(cfg, state, |s| match s {
        ZNodeState::Replica(r) => Some(&**r),
        ZNodeState::Client(_) => None,
    })
}

/// Client states, by client id.
pub fn clients<'a>(
    cfg: &'a CheckConfig,
    state: &'a MinzyzyvaState,
) -> impl Iterator<Item = (ClientId, &'a ZClientState)> + 'a {
    clients_of(cfg, state, |s| match s {
        ZNodeState::Client(c) => Some((c.client.id(), &**c)),
        ZNodeState::Replica(_) => None,
    })
}

fn committed_agree(m: &MinzyzyvaModel, s: &MinzyzyvaState) -> bool {
    let rs: Vec<&ZReplicaState> = correct_replicas(&m.cfg, s).collect();
    !rs.iter().any(|r| r.ghost.committed_changed)
        && rs.iter().enumerate().all(|(i, a)| {
            rs[i + 1..]
                .iter()
                .all(|b| agree_by_position(&a.ghost.committed, &b.ghost.committed))
        })
}

fn speculative_agreement(m: &MinzyzyvaModel, s: &MinzyzyvaState) -> bool {
    let rs: Vec<&ZReplicaState> = correct_replicas(&m.cfg, s).collect();
    rs.iter().enumerate().all(|(i, a)| {
        rs[i + 1..]
            .iter()
            .filter(|b| b.replica.installed_view() == a.replica.installed_view())
            .all(|b| agree_by_position(&a.ghost.history, &b.ghost.history))
    })
}

fn no_duplicate(m: &MinzyzyvaModel, s: &MinzyzyvaState) -> bool {
    correct_replicas(&m.cfg, s).all(|r| {
        let mut current = BTreeSet::new();
        let mut committed = BTreeSet::new();
        r.ghost
            .history
            .values()
            .all(|e| current.insert((e.client, e.seq)))
            && r.ghost
                .committed
                .values()
                .all(|e| committed.insert((e.client, e.seq)))
    })
}

fn linearizable(_: &MinzyzyvaModel, s: &MinzyzyvaState) -> bool {
    s.history.linearizable
}

fn completed_never_rolled_back(m: &MinzyzyvaModel, s: &MinzyzyvaState) -> bool {
    let rs: Vec<&ZReplicaState> = correct_replicas(&m.cfg, s).collect();
    let holds = |r: &ZReplicaState, c: ClientId, seq: u64| {
        r.ghost
            .history
            .values()
            .any(|e| e.client == c && e.seq == seq)
    };
    clients(&m.cfg, s).all(|(c, st)| {
        st.completed.iter().all(|done| {
            rs.iter().any(|r| holds(r, c, done.seq))
                && rs
                    .iter()
                    .filter(|r| r.ghost.view_installed > done.view)
                    .all(|r| holds(r, c, done.seq))
        })
    })
}

fn request_completes(m: &MinzyzyvaModel, s: &MinzyzyvaState) -> bool {
    clients(&m.cfg, s).any(|(_, c)| !c.completed.is_empty())
}

fn completes_via_commit(m: &MinzyzyvaModel, s: &MinzyzyvaState) -> bool {
    clients(&m.cfg, s).any(|(_, c)| c.completed.iter().any(|d| d.via_commit))
}

fn view_change_completes(m: &MinzyzyvaModel, s: &MinzyzyvaState) -> bool {
    correct_replicas(&m.cfg, s).any(|r| r.ghost.view_installed > 0)
}

fn completes_after_view_change(m: &MinzyzyvaModel, s: &MinzyzyvaState) -> bool {
    clients(&m.cfg, s).any(|(_, c)| c.completed.iter().any(|d| d.view > 0))
}

/// Recovery replays the log without error and rebuilds the history the replica had. (The
/// driver mutants lose the log on purpose: there the second half is left to the other
/// properties, which must catch what the lost history leads to.)
fn recovery_succeeds(m: &MinzyzyvaModel, s: &MinzyzyvaState) -> bool {
    let lossy_driver = crate::durable::driver_mutant(&m.cfg);
    correct_replicas(&m.cfg, s)
        .all(|r| !r.ghost.recovery_failed && (lossy_driver || !r.ghost.recovered_other_history))
}

fn recovered_executes(m: &MinzyzyvaModel, s: &MinzyzyvaState) -> bool {
    correct_replicas(&m.cfg, s).any(|r| r.ghost.executed_after_recovery)
}

fn rollback_happens(m: &MinzyzyvaModel, s: &MinzyzyvaState) -> bool {
    correct_replicas(&m.cfg, s).any(|r| r.ghost.rolled_back)
}

/// The group configuration of a MinZyzyva check: `f = (replicas - 1) / 2`, the given
/// clients and batch size, no client authentication (the symbolic USIG still certifies
/// every UI); every replica durable when one may crash.
pub fn group_config(cfg: &CheckConfig) -> Config {
    let mut config = Config::new((cfg.replicas - 1) / 2, cfg.clients).with_fixed_waits();
    config.durable = cfg.crash_replica.is_some();
    config.batch_size_max = cfg.batch_size as usize;
    #[cfg(feature = "mutants")]
    {
        config.mutant = cfg.mutant;
    }
    config
}

/// Builds the MinZyzyva model of `cfg`: replica actors `0..n` (the Byzantine one following
/// its menu), then client actors `n..n + C`.
pub fn minzyzyva_model(cfg: &CheckConfig) -> Result<MinzyzyvaModel, ConfigError> {
    super::validate(cfg)?;
    let shared = Arc::new(cfg.clone());
    let config = Arc::new(group_config(cfg));
    let byz = cfg.byzantine_replica();
    let mut model = ActorModel::new(cfg.clone(), History::default())
        .actors((0..cfg.replicas).map(|id| ZNode::Replica {
            id,
            byzantine: byz == Some(id),
            cfg: shared.clone(),
            config: config.clone(),
        }))
        .actors((0..cfg.clients).map(|id| ZNode::Client {
            id,
            cfg: shared.clone(),
            config: config.clone(),
        }))
        .init_network(if cfg.duplicating {
            Network::new_unordered_duplicating([])
        } else {
            Network::new_unordered_nonduplicating([])
        })
        .lossy_network(if cfg.lossy {
            LossyNetwork::Yes
        } else {
            LossyNetwork::No
        })
        .record_msg_out(record_out)
        .max_crashes(usize::from(cfg.crash_replica.is_some()))
        .within_boundary(crate::durable::within_crash_bounds)
        .property(Expectation::Always, names::COMMITTED_AGREE, committed_agree)
        .property(
            Expectation::Always,
            names::SPECULATIVE_AGREEMENT,
            speculative_agreement,
        )
        .property(Expectation::Always, common::NO_DUPLICATE, no_duplicate)
        .property(Expectation::Always, common::LINEARIZABLE, linearizable)
        .property(
            Expectation::Always,
            names::COMPLETED_NEVER_ROLLED_BACK,
            completed_never_rolled_back,
        )
        .property(
            Expectation::Sometimes,
            common::REQUEST_COMPLETES,
            request_completes,
        );
    if cfg.retransmits > 0 {
        model = model.property(
            Expectation::Sometimes,
            names::COMPLETES_VIA_COMMIT,
            completes_via_commit,
        );
    }
    if cfg.view_changes > 0 {
        model = model
            .property(
                Expectation::Sometimes,
                common::VIEW_CHANGE_COMPLETES,
                view_change_completes,
            )
            .property(
                Expectation::Sometimes,
                common::COMPLETES_AFTER_VIEW_CHANGE,
                completes_after_view_change,
            );
    }
    if cfg.crash_replica.is_some() {
        model = model
            .property(
                Expectation::Always,
                common::RECOVERY_SUCCEEDS,
                recovery_succeeds,
            )
            .property(
                Expectation::Sometimes,
                common::RECOVERED_EXECUTES,
                recovered_executes,
            );
    }
    if cfg.view_changes > 0 && !cfg.has_move(crate::config::ByzMove::Silent) {
        model = model.property(
            Expectation::Sometimes,
            names::ROLLBACK_HAPPENS,
            rollback_happens,
        );
    }
    Ok(model)
}
