//! The Byzantine move `early-view-change`, shared by the MinBFT and MinZyzyva models: the
//! replica makes now the VIEW-CHANGE it would send for the next view, without leaving its
//! view, so that what it sends afterwards is missing from that VIEW-CHANGE's `O`.

use minlab_protocols::minbft::ReqViewChange;
use minlab_protocols::{Instant, NodeId, Outbox, Output, ReplicaMachine, View};
use std::sync::Arc;

/// Runs the production view-change code on a copy of `replica` (in `view`, one of `n`):
/// the copy is told that every other replica asks for view `view + 1`, which starts its
/// view change. Returns the copy (whose USIG the caller adopts: the counter values it used
/// are spent) and the VIEW-CHANGE messages it multicast (`rvc` wraps a REQ-VIEW-CHANGE in
/// the protocol's message type, `is_view_change` picks VIEW-CHANGEs out).
pub(crate) fn early_view_change<R: ReplicaMachine + Clone>(
    replica: &R,
    n: u32,
    view: View,
    now: Instant,
    rvc: impl Fn(Arc<ReqViewChange>) -> R::Message,
    is_view_change: impl Fn(&R::Message) -> bool,
) -> (R, Vec<R::Message>) {
    let mut shadow = replica.clone();
    let mut out = Outbox::new();
    for r in (0..n).filter(|r| *r != replica.id()) {
        let ask = rvc(Arc::new(ReqViewChange {
            sender: r,
            view,
            new_view: view + 1,
        }));
        shadow.on_message(now, NodeId::Replica(r), ask, &mut out);
    }
    let sent = out
        .drain()
        .filter_map(|o| match o {
            Output::Broadcast { msg } if is_view_change(&msg) => Some(msg),
            _ => None,
        })
        .collect();
    (shadow, sent)
}
