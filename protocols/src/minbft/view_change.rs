//! Placeholder for the view change and state transfer of paper §4 (phase 2).
//!
//! The messages are defined in [`super::messages`] and the timers in
//! [`crate::outbox::TimerKind`]; a phase-1 replica rejects REQ-VIEW-CHANGE, VIEW-CHANGE,
//! NEW-VIEW and state-transfer messages with [`crate::event::RejectReason::Unsupported`]
//! and reports `T_exec`/`T_vc` firings as [`crate::event::Event::TimerIgnored`]. Phase 2
//! will:
//!
//! - arm `T_exec` in `Replica::watch_request` and stop it when the request executes;
//! - on expiry send REQ-VIEW-CHANGE; on `f + 1` of them move to `v + 1` and send a
//!   VIEW-CHANGE with the stable certificate (`Replica::stable_checkpoint`) and `O` (the
//!   log's PREPAREs and own COMMITs since it, plus own CHECKPOINTs);
//! - validate VIEW-CHANGEs (certificate, `cv_i = cv + 1`, no holes in `O`), compute `S`,
//!   send and check NEW-VIEW, fetch missing commit certificates or transfer state.
