//! The three validity checks on a VIEW-CHANGE (paper §4) and the computation of `S` from
//! a new-view certificate, shared by the new primary and the backups that recompute it.

use super::certify::{
    TAG_NEW_VIEW, TAG_VIEW_CHANGE, batch_digest, checkpoint_bytes, commit_bytes, prepare_bytes,
    restart_bytes, tagged_view_digest,
};
use super::messages::{Checkpoint, LoggedMessage, Prepare, ViewChange};
use super::replica::Replica;
use crate::event::RejectReason;
use crate::node::View;
use crate::service::Service;
use minlab_usig::Usig;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where a checkpoint certificate stands in the execution order: `(view, counter)` of the
/// last batch it covers; `(0, 0)` for the empty certificate of the initial state.
pub fn cert_key(cert: &[Arc<Checkpoint>]) -> (View, u64) {
    cert.first().map_or((0, 0), |c| (c.view, c.counter))
}

/// Where `S` starts: the most recent checkpoint certificate in `V_vc`, or the start of
/// the latest installed view's `S` if that is more recent (what lies below it is covered
/// by a stable checkpoint that view's `V_vc` showed).
pub fn s_base(vcs: &[Arc<ViewChange>]) -> (View, u64) {
    let w = vcs.iter().map(|vc| vc.installed_view).max().unwrap_or(0);
    vcs.iter()
        .map(|vc| {
            let cert = cert_key(&vc.checkpoint_cert);
            if vc.installed_view == w {
                cert.max(vc.installed_base)
            } else {
                cert
            }
        })
        .max()
        .unwrap_or((0, 0))
}

/// `S` from a new-view certificate: the PREPAREs (sent by a primary, or carried with a
/// COMMIT, or adopted from an installed NEW-VIEW) above the most recent checkpoint
/// certificate, once each, in execution order `(view, counter)`. Let `w` be the latest
/// view any member installed: a batch of a view below `w` is kept only if the `S` of
/// `w` kept it (it is adopted by a member that installed `w`), since replicas that
/// installed `w` have executed exactly that `S` and moved on. Each member must have
/// passed [`Replica::check_view_change`].
pub fn compute_s(vcs: &[Arc<ViewChange>]) -> Vec<Arc<Prepare>> {
    let base = s_base(vcs);
    let w = vcs.iter().map(|vc| vc.installed_view).max().unwrap_or(0);
    let mut s: BTreeMap<(View, u64), Arc<Prepare>> = BTreeMap::new();
    let mut add = |p: &Arc<Prepare>| {
        let key = (p.view, p.ui.counter);
        if key > base {
            s.entry(key).or_insert_with(|| p.clone());
        }
    };
    for vc in vcs {
        if vc.installed_view == w {
            vc.adopted.iter().for_each(&mut add);
        }
        for m in &vc.log {
            let p = match m {
                LoggedMessage::Prepare(p) => p,
                LoggedMessage::Commit { prepare, .. } => prepare,
                _ => continue,
            };
            if p.view >= w {
                add(p);
            }
        }
    }
    s.into_values().collect()
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// Paper §4, the validity checks on `⟨VIEW-CHANGE, s_i, v', C_latest, O, UI_i⟩`
    /// ([`Self::check_view_change_body`]), and its claim about the last view its sender
    /// installed: harmless, or proven by the NEW-VIEWs of its evidence (see
    /// [`super::evidence`]); else `InvalidViewChange`.
    pub fn check_view_change(&self, vc: &ViewChange) -> Result<(), RejectReason> {
        self.check_view_change_body(vc)?;
        if !self.check_claim(vc) {
            return Err(RejectReason::InvalidViewChange);
        }
        Ok(())
    }

    /// Paper §4, the validity checks on `⟨VIEW-CHANGE, s_i, v', C_latest, O, UI_i⟩`:
    /// 1. `C_latest` holds `f + 1` valid matching CHECKPOINTs from different replicas
    ///    (or is empty: the initial state);
    /// 2. `UI_i`'s counter value is one above the highest of `s_i`'s UIs in `O`, or above
    ///    `s_i`'s own CHECKPOINT in `C_latest` when `O` is empty;
    /// 3. `O` has no holes: it holds exactly `s_i`'s counter values from just after that
    ///    CHECKPOINT (or from 1) up to `UI_i - 1`.
    ///
    /// Every UI in `O` is verified (so a faulty sender cannot hide a vote behind a forged
    /// entry), and so is the primary's UI of every PREPARE it carries. The VIEW-CHANGE's
    /// own UI is verified too. What `installed_view`, `installed_base` and `adopted` claim
    /// is not checked here beyond its form.
    pub fn check_view_change_body(&self, vc: &ViewChange) -> Result<(), RejectReason> {
        let bad = Err(RejectReason::InvalidViewChange);
        let n = self.config.replica_count;
        let s = vc.sender;
        if s >= n {
            return Err(RejectReason::UnknownReplica);
        }
        // 1. The checkpoint certificate.
        let mut start = 1;
        if let Some(first) = vc.checkpoint_cert.first() {
            let mut signers = 0u64;
            for c in &vc.checkpoint_cert {
                if c.sender >= n
                    || signers & (1 << c.sender) != 0
                    || (c.view, c.counter, c.state_digest)
                        != (first.view, first.counter, first.state_digest)
                {
                    return bad;
                }
                signers |= 1 << c.sender;
                let bytes = checkpoint_bytes(c.view, c.counter, &c.state_digest);
                if self.usig.verify_ui(c.sender, &c.ui, &bytes).is_err() {
                    return bad;
                }
                if c.sender == s {
                    start = c.ui.counter + 1;
                }
            }
            if vc.checkpoint_cert.len() < self.config.quorum() as usize || start == 1 {
                // A correct replica's stable certificate always holds its own CHECKPOINT.
                return bad;
            }
        }
        // 2 and 3: O is exactly start..UI_i, each entry verified (a RESTART accounts for
        // the counter values it declares never sent, see `super::restart`).
        let mut expected = start;
        for m in &vc.log {
            let ok = match m {
                LoggedMessage::Prepare(p) => {
                    let d = batch_digest(&p.batch);
                    p.primary == s
                        && self.config.primary_of(p.view) == s
                        && p.ui.counter == expected
                        && self
                            .usig
                            .verify_ui(s, &p.ui, &prepare_bytes(p.view, &d))
                            .is_ok()
                }
                LoggedMessage::Commit { commit, prepare } => {
                    let d = batch_digest(&prepare.batch);
                    let primary = self.config.primary_of(prepare.view);
                    commit.sender == s
                        && commit.ui.counter == expected
                        && commit.view == prepare.view
                        && commit.primary == primary
                        && prepare.primary == primary
                        && commit.prepare_ui == prepare.ui
                        && commit.digest == d
                        && self
                            .usig
                            .verify_ui(
                                s,
                                &commit.ui,
                                &commit_bytes(commit.view, prepare.ui.counter, &d),
                            )
                            .is_ok()
                        && self
                            .usig
                            .verify_ui(primary, &prepare.ui, &prepare_bytes(prepare.view, &d))
                            .is_ok()
                }
                LoggedMessage::Checkpoint(c) => {
                    c.sender == s
                        && c.ui.counter == expected
                        && self
                            .usig
                            .verify_ui(
                                s,
                                &c.ui,
                                &checkpoint_bytes(c.view, c.counter, &c.state_digest),
                            )
                            .is_ok()
                }
                LoggedMessage::ViewChangeRecord {
                    new_view,
                    digest,
                    ui,
                } => {
                    ui.counter == expected
                        && self
                            .usig
                            .verify_ui(
                                s,
                                ui,
                                &tagged_view_digest(TAG_VIEW_CHANGE, *new_view, digest),
                            )
                            .is_ok()
                }
                LoggedMessage::NewViewRecord {
                    new_view,
                    digest,
                    ui,
                } => {
                    ui.counter == expected
                        && self
                            .usig
                            .verify_ui(s, ui, &tagged_view_digest(TAG_NEW_VIEW, *new_view, digest))
                            .is_ok()
                }
                LoggedMessage::Restart(r) => {
                    r.sender == s
                        && r.last_logged + 1 == expected
                        && r.ui.counter >= expected
                        && self
                            .usig
                            .verify_ui(s, &r.ui, &restart_bytes(r.view, r.last_logged))
                            .is_ok()
                }
            };
            if !ok {
                return bad;
            }
            expected = match m {
                LoggedMessage::Restart(r) => r.ui.counter + 1,
                _ => expected + 1,
            };
        }
        if vc.ui.counter != expected {
            return bad;
        }
        for p in &vc.adopted {
            let d = batch_digest(&p.batch);
            let primary = self.config.primary_of(p.view);
            if p.primary != primary
                || self
                    .usig
                    .verify_ui(primary, &p.ui, &prepare_bytes(p.view, &d))
                    .is_err()
            {
                return bad;
            }
        }
        if vc.installed_view >= vc.new_view || vc.installed_base.0 >= vc.new_view {
            return bad;
        }
        if self
            .usig
            .verify_ui(s, &vc.ui, &super::certify::view_change_bytes(vc))
            .is_err()
        {
            return Err(RejectReason::BadUi);
        }
        Ok(())
    }
}
