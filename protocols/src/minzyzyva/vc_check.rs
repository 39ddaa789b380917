//! The validity checks on a MinZyzyva VIEW-CHANGE (paper §5, "exactly as in MinBFT") and
//! the computation of the base and `S` of a new-view certificate, shared by the new
//! primary and the backups that recompute it.

use super::certify::{
    checkpoint_bytes, new_view_bytes, order_bytes, order_digest, response_bytes, view_change_bytes,
    view_change_digest,
};
use super::messages::{Checkpoint, OrderReq, Sent, ViewChange};
use super::replica::Replica;
use crate::event::RejectReason;
use crate::node::View;
use crate::service::Service;
use minlab_usig::Usig;
use std::collections::BTreeMap;
use std::sync::Arc;

/// An ordered request's place in the order: `(view, UI_p counter)`. Correct replicas'
/// histories are sorted by it (FIFO order within a view; a view's `S` holds only older
/// views).
pub type OrderKey = (View, u64);

/// Where a history is cut: `slot` ORDER-REQs, the last of them `last`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Base {
    /// History length.
    pub slot: u64,
    /// Key of the ORDER-REQ at `slot` (`(0, 0)` at slot 0).
    pub last: OrderKey,
}

/// The base a checkpoint certificate proves: genesis for the empty certificate.
pub fn cert_base(cert: &[Arc<Checkpoint>]) -> Base {
    cert.first().map_or(Base::default(), |c| Base {
        slot: c.slot,
        last: c.last,
    })
}

/// Where `S` starts: the most recent checkpoint certificate in `V_vc`.
pub fn s_base(vcs: &[Arc<ViewChange>]) -> Base {
    vcs.iter()
        .map(|vc| cert_base(&vc.checkpoint_cert))
        .max()
        .unwrap_or_default()
}

/// The key of an ORDER-REQ.
pub fn key_of(o: &OrderReq) -> OrderKey {
    (o.view, o.ui.counter)
}

/// `S` from a new-view certificate (paper §4, which §5 reuses): the ORDER-REQs above the
/// most recent checkpoint certificate, once each, in history order. With `w` the latest
/// view a member installed, requests of views below `w` come only from the histories of
/// members that installed `w` (what `S_w` kept); requests of views `w` and above come from
/// every member's `O` and history. Each member must have passed
/// [`Replica::check_view_change`].
pub fn compute_s(vcs: &[Arc<ViewChange>]) -> Vec<Arc<OrderReq>> {
    let base = s_base(vcs);
    let w = vcs.iter().map(|vc| vc.installed_view).max().unwrap_or(0);
    let mut s: BTreeMap<OrderKey, Arc<OrderReq>> = BTreeMap::new();
    let mut add = |o: &Arc<OrderReq>| {
        let key = key_of(o);
        if key > base.last {
            s.entry(key).or_insert_with(|| o.clone());
        }
    };
    for vc in vcs {
        for o in &vc.history {
            if vc.installed_view == w || o.view >= w {
                add(o);
            }
        }
        for m in &vc.log {
            if let Sent::Order(o) | Sent::Response { order: o, .. } = m
                && o.view >= w
            {
                add(o);
            }
        }
    }
    s.into_values().collect()
}

/// UI_p verifications already done while checking one message (a request appears both in
/// `O` and in the history). Keyed by the ORDER-REQ's key; an entry counts only for an
/// identical ORDER-REQ.
struct Verified<'a>(BTreeMap<OrderKey, &'a Arc<OrderReq>>);

impl<U: Usig, S: Service> Replica<U, S> {
    /// Checks an ORDER-REQ carried in a VIEW-CHANGE: sent by the primary of its view, for
    /// a view below `new_view`, with a valid `UI_p`.
    fn check_carried_order<'a>(
        &self,
        o: &'a Arc<OrderReq>,
        new_view: View,
        done: &mut Verified<'a>,
    ) -> bool {
        if o.view >= new_view
            || o.primary != self.config.primary_of(o.view)
            || self.check_batch(&o.batch).is_err()
        {
            return false;
        }
        if done.0.get(&key_of(o)).is_some_and(|v| ***v == **o) {
            return true;
        }
        let ok = self
            .usig
            .verify_ui(
                o.primary,
                &o.ui,
                &order_bytes(o.view, &order_digest(&o.batch)),
            )
            .is_ok();
        if ok {
            done.0.insert(key_of(o), o);
        }
        ok
    }

    /// The validity checks on `⟨VIEW-CHANGE, s_i, v', C_latest, O, UI_i⟩` (paper §4, which
    /// §5 reuses):
    /// 1. `C_latest` holds `f + 1` valid matching CHECKPOINTs from different replicas, the
    ///    sender's among them (or is empty: the initial state);
    /// 2. `UI_i`'s counter value is one above the highest of the sender's UIs in `O`, or
    ///    above its own CHECKPOINT in `C_latest` when `O` is empty;
    /// 3. `O` has no holes: it holds exactly the sender's counter values from just after
    ///    that CHECKPOINT (or from 1) up to `UI_i - 1`, each UI verified (and the `UI_p`
    ///    of each ordered request).
    ///
    /// The history must be sorted, above `C_latest`, of views below `v'`, each `UI_p`
    /// valid; `installed_view` below `v'`; and `UI_i` valid over the body.
    pub fn check_view_change(&self, vc: &ViewChange) -> Result<(), RejectReason> {
        let bad = Err(RejectReason::InvalidViewChange);
        let n = self.config.replica_count;
        let s = vc.sender;
        if s >= n {
            return Err(RejectReason::UnknownReplica);
        }
        if vc.installed_view >= vc.new_view {
            return bad;
        }
        // 1. The checkpoint certificate.
        let mut start = 1;
        if let Some(first) = vc.checkpoint_cert.first() {
            let mut signers = 0u64;
            for c in &vc.checkpoint_cert {
                if c.sender >= n
                    || signers & (1 << c.sender) != 0
                    || (c.slot, c.last, c.state_digest)
                        != (first.slot, first.last, first.state_digest)
                    || self
                        .usig
                        .verify_ui(c.sender, &c.ui, &checkpoint_bytes(c))
                        .is_err()
                {
                    return bad;
                }
                signers |= 1 << c.sender;
                if c.sender == s {
                    start = c.ui.counter + 1;
                }
            }
            if vc.checkpoint_cert.len() < self.config.quorum() as usize || start == 1 {
                return bad;
            }
        }
        let base = cert_base(&vc.checkpoint_cert);
        // 2 and 3: O is exactly start..UI_i, each entry verified.
        if vc.ui.counter != start + vc.log.len() as u64 {
            return bad;
        }
        let mut done = Verified(BTreeMap::new());
        for (expected, m) in (start..).zip(&vc.log) {
            if m.ui().counter != expected {
                return bad;
            }
            let ok = match m {
                Sent::Order(o) => {
                    o.primary == s && self.check_carried_order(o, vc.new_view, &mut done)
                }
                Sent::Response {
                    order,
                    outcome,
                    history,
                    ui,
                } => {
                    self.check_carried_order(order, vc.new_view, &mut done)
                        && self
                            .usig
                            .verify_ui(
                                s,
                                ui,
                                &response_bytes(
                                    order.view,
                                    order.ui.counter,
                                    &order_digest(&order.batch),
                                    outcome,
                                    history,
                                ),
                            )
                            .is_ok()
                }
                Sent::Checkpoint(c) => {
                    c.sender == s && self.usig.verify_ui(s, &c.ui, &checkpoint_bytes(c)).is_ok()
                }
                Sent::ViewChangeRecord {
                    new_view,
                    digest,
                    ui,
                } => self
                    .usig
                    .verify_ui(s, ui, &view_change_bytes(*new_view, digest))
                    .is_ok(),
                Sent::NewViewRecord {
                    new_view,
                    digest,
                    ui,
                } => self
                    .usig
                    .verify_ui(s, ui, &new_view_bytes(*new_view, digest))
                    .is_ok(),
            };
            if !ok {
                return bad;
            }
        }
        // The history: sorted, above the certificate, each UI_p valid.
        let mut previous = base.last;
        for o in &vc.history {
            if key_of(o) <= previous || !self.check_carried_order(o, vc.new_view, &mut done) {
                return bad;
            }
            previous = key_of(o);
        }
        if self
            .usig
            .verify_ui(
                s,
                &vc.ui,
                &view_change_bytes(vc.new_view, &view_change_digest(vc)),
            )
            .is_err()
        {
            return Err(RejectReason::BadUi);
        }
        Ok(())
    }
}
