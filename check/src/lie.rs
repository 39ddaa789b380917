//! The Byzantine move `lie-installed-view`: a VIEW-CHANGE whose `installed_view` claims a
//! view its sender never installed and whose `adopted` is empty. Those two fields are not
//! covered by any earlier UI of the sender; a claim above its `C_latest` must be shown by
//! the installed NEW-VIEW (see `minlab_protocols::minbft::evidence`), which the liar does
//! not have (it keeps whatever evidence its real VIEW-CHANGE carried). With `forge` it
//! also signs a CHECKPOINT of the claimed view, the evidence an earlier check accepted.

use crate::actor::ModelReplica;
use minlab_protocols::Message;
use minlab_protocols::minbft::certify::{checkpoint_bytes, view_change_bytes, view_change_digest};
use minlab_protocols::minbft::{Checkpoint, LoggedMessage, ViewChange};
use minlab_usig::Usig;
use std::sync::Arc;

/// `vc` rewritten with `installed_view` raised to `vc.new_view - 1` and `adopted`
/// emptied, under a fresh UI of the sender's own USIG. Its `O` is `vc`'s plus the record
/// of `vc` itself (which is never sent) and, with `forge`, a CHECKPOINT of
/// `(claimed view, 1)` on made-up state signed right after it: the lie's UI follows, so
/// `O` stays gap-free and only the claim is false. `None` when there is nothing to lie
/// about (the sender really installed `new_view - 1`) or the USIG fails.
pub(crate) fn lie_installed_view(
    replica: &mut ModelReplica,
    vc: &Arc<ViewChange>,
    forge: bool,
) -> Option<Message> {
    let claim = vc.new_view.checked_sub(1)?;
    if claim <= vc.installed_view {
        return None;
    }
    let mut lie = (**vc).clone();
    lie.log.push(LoggedMessage::ViewChangeRecord {
        new_view: vc.new_view,
        digest: view_change_digest(vc),
        ui: vc.ui.clone(),
    });
    if forge {
        let state_digest = [0xfa; 32];
        let ui = replica
            .usig_mut()
            .create_ui(&checkpoint_bytes(claim, 1, &state_digest))
            .ok()?;
        lie.log.push(LoggedMessage::Checkpoint(Arc::new(Checkpoint {
            sender: vc.sender,
            view: claim,
            counter: 1,
            state_digest,
            ui,
        })));
    }
    lie.installed_view = claim;
    lie.adopted.clear();
    lie.ui = replica
        .usig_mut()
        .create_ui(&view_change_bytes(&lie))
        .ok()?;
    Some(Message::ViewChange(Arc::new(lie)))
}
