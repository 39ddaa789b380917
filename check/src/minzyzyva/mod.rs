//! Model checking of MinZyzyva (paper §5) with stateright, over the very same Sans-IO
//! replica and client the simulator runs: speculative execution, the commit path, FILL-HOLE,
//! view change and rollback, with an optional Byzantine replica limited by its USIG, and
//! optionally a correct replica that crashes and recovers from its write-ahead log.
//!
//! The same [`CheckConfig`] as MinBFT describes a check, crash recovery included
//! (`crash_replica`, `restarts`, `lost_counter_values`; see [`crate::durable`]); the
//! Byzantine menu is the subset of moves that mean something here ([`MOVES`]).
//!
//! ```
//! use minlab_check::{CheckConfig, minzyzyva::check_minzyzyva};
//! use std::time::Duration;
//!
//! // 3 replicas, 1 client with 1 request, all correct: gracious execution.
//! let report = check_minzyzyva(&CheckConfig::default(), || Duration::ZERO).unwrap();
//! assert!(report.exhaustive && report.all_hold());
//! ```

pub mod actor;
pub mod model;

use crate::config::{ByzMove, CheckConfig, ConfigError};
use crate::report::{CheckReport, describe_with, format_steps};
use minlab_protocols::minzyzyva::Message;
use minlab_protocols::service::kv::KvOp;
use model::{MinzyzyvaModel, minzyzyva_model};
use stateright::Model;
use std::time::Duration;

/// The Byzantine moves the MinZyzyva model offers.
pub const MOVES: [ByzMove; 6] = [
    ByzMove::Silent,
    ByzMove::Subset,
    ByzMove::BurnCounter,
    ByzMove::Equivocate,
    ByzMove::ReqViewChange,
    ByzMove::EarlyViewChange,
];

/// Checks what the MinZyzyva model needs beyond [`CheckConfig::validate`].
pub fn validate(cfg: &CheckConfig) -> Result<(), ConfigError> {
    cfg.validate()?;
    if cfg.lie_installed_view {
        return Err(ConfigError(
            "Byzantine move lie-installed-view is MinBFT only (a MinZyzyva VIEW-CHANGE has \
             no installed_view)"
                .into(),
        ));
    }
    if let Some(m) = cfg.byzantine_moves.iter().find(|m| !MOVES.contains(m))
        && cfg.byzantine_replica().is_some()
    {
        let known: Vec<&str> = MOVES.iter().map(|m| m.name()).collect();
        return Err(ConfigError(format!(
            "Byzantine move {} is not offered for MinZyzyva (offered: {})",
            m.name(),
            known.join(", ")
        )));
    }
    Ok(())
}

/// Model-checks MinZyzyva as configured. `clock` returns the time elapsed since any fixed
/// moment (the library reads no clock itself); it is called once before and once after.
pub fn check_minzyzyva(
    cfg: &CheckConfig,
    clock: impl FnMut() -> Duration,
) -> Result<CheckReport, ConfigError> {
    let model = minzyzyva_model(cfg)?;
    Ok(crate::report::run_model_with(
        cfg,
        model,
        format_actions,
        Some(scenario_toml),
        clock,
    ))
}

/// Writes a counterexample as a scenario the simulator replays (see [`crate::replay`]).
fn scenario_toml(
    model: &MinzyzyvaModel,
    property: &'static str,
    actions: &[<MinzyzyvaModel as Model>::Action],
) -> Result<String, String> {
    crate::replay::minzyzyva_scenario(model, property, actions)
        .map(|s| s.to_toml())
        .map_err(|e| e.to_string())
}

/// Actions of the MinZyzyva model as readable steps.
pub fn format_actions(
    model: &MinzyzyvaModel,
    actions: Vec<<MinzyzyvaModel as Model>::Action>,
) -> Vec<String> {
    format_steps(model.cfg.replicas, actions, |m| {
        describe_with(m, describe_message)
    })
}

/// A one-line description of a MinZyzyva message, in the paper's words.
pub fn describe_message(m: &Message) -> String {
    match m {
        Message::Request(r) => match KvOp::decode(&r.op) {
            Some(op) => format!("REQUEST c{}#{} {op:?}", r.client, r.seq),
            None => format!("REQUEST c{}#{}", r.client, r.seq),
        },
        Message::OrderReq(o) => format!(
            "ORDER-REQ v{} r{} cv{} [{}]",
            o.view,
            o.primary,
            o.ui.counter,
            o.batch
                .iter()
                .map(|r| format!("c{}#{}", r.client, r.seq))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Message::Response(r) => format!(
            "RESPONSE v{} r{} c{}#{} = {:?} (UI_p cv{})",
            r.view, r.replica, r.client, r.seq, r.result, r.order_ui.counter
        ),
        Message::Commit(c) => format!(
            "COMMIT c{} v{} (UI_p cv{}, {} responses)",
            c.client,
            c.view,
            c.order_ui.counter,
            c.responses.len()
        ),
        Message::LocalCommit(l) => format!(
            "LOCAL-COMMIT r{} c{}#{} v{}",
            l.replica, l.client, l.seq, l.view
        ),
        Message::StableReply(r) => format!(
            "REPLY r{} c{}#{} v{} = {:?} (from the stable checkpoint)",
            r.replica, r.client, r.seq, r.view, r.result
        ),
        Message::FillHole(f) => format!(
            "FILL-HOLE r{} v{} cv{}..={}",
            f.sender, f.view, f.from, f.to
        ),
        Message::Checkpoint(c) => format!("CHECKPOINT r{} (ui cv{})", c.sender, c.ui.counter),
        Message::ReqViewChange(r) => format!(
            "REQ-VIEW-CHANGE r{} v{} -> v{}",
            r.sender, r.view, r.new_view
        ),
        Message::ViewChange(v) => format!(
            "VIEW-CHANGE r{} to v{} |O|={} |history|={} (ui cv{})",
            v.sender,
            v.new_view,
            v.log.len(),
            v.history.len(),
            v.ui.counter
        ),
        Message::NewView(v) => format!(
            "NEW-VIEW r{} v{} |orders|={} (ui cv{})",
            v.sender,
            v.new_view,
            v.orders.len(),
            v.ui.counter
        ),
        Message::StateRequest(r) => format!("STATE-REQUEST r{} slot {}", r.sender, r.slot),
        Message::StateReply(r) => format!(
            "STATE-REPLY r{} slot {} ({} snapshot bytes)",
            r.sender,
            r.slots,
            r.snapshot.len()
        ),
    }
}
