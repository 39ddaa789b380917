//! What each MinZyzyva UI and MAC certifies: compact, domain-separated byte strings
//! (tags 16.. so that no MinZyzyva UI can pass for a MinBFT one), and the history digest.
//!
//! | message        | certified bytes                                                        |
//! |----------------|------------------------------------------------------------------------|
//! | ORDER-REQ      | `16 ‖ view ‖ order root`                                               |
//! | RESPONSE       | `17 ‖ view ‖ UI_p counter ‖ order root ‖ outcome root ‖ history`      |
//! | CHECKPOINT     | `18 ‖ view ‖ slot ‖ last view ‖ last counter ‖ state digest`           |
//! | VIEW-CHANGE    | `19 ‖ new view ‖ SHA-256 of the body`                                  |
//! | NEW-VIEW       | `20 ‖ new view ‖ SHA-256 of the body`                                  |
//!
//! The order root is over the batch's request digests, the outcome root over its result
//! digests ([`super::batch`]); a RESPONSE's Merkle paths lead a client from its request
//! and result to them, so a client can check `UI_p` and `UI_s` itself.

use super::batch::{BatchTree, TAG_ORDER_ROOT, TAG_OUTCOME_ROOT, root_from_path};
use super::messages::{Checkpoint, InBatch, NewView, ViewChange};
use crate::minbft::certify::{batch_digest, sha256, tagged_view_digest};
use crate::minbft::messages::{Digest, Request};
use crate::node::View;
use sha2::{Digest as _, Sha256};
use std::sync::Arc;

/// Tag byte of an ORDER-REQ's certified string.
pub const TAG_ORDER_REQ: u8 = 16;
/// Tag byte of a RESPONSE's certified string.
pub const TAG_RESPONSE: u8 = 17;
/// Tag byte of a CHECKPOINT's certified string.
pub const TAG_CHECKPOINT: u8 = 18;
/// Tag byte of a VIEW-CHANGE's certified string.
pub const TAG_VIEW_CHANGE: u8 = 19;
/// Tag byte of a NEW-VIEW's certified string.
pub const TAG_NEW_VIEW: u8 = 20;

/// The digest of one request: MinBFT's batch digest of the one-request batch (covers the
/// client, its request number and the operation, not the authenticator).
pub fn request_digest(request: &Arc<Request>) -> Digest {
    batch_digest(std::slice::from_ref(request))
}

/// The Merkle tree over a batch's request digests (its digest is the order root).
pub fn order_tree(batch: &[Arc<Request>]) -> BatchTree {
    BatchTree::new(TAG_ORDER_ROOT, batch.iter().map(request_digest).collect())
}

/// The order root of a batch: what `UI_p` certifies, besides the view.
pub fn order_digest(batch: &[Arc<Request>]) -> Digest {
    order_tree(batch).digest()
}

/// The Merkle tree over a batch's result digests, one per request in batch order (the
/// zero digest for a request not executed because it already was): its digest is the
/// outcome root a backup's `UI_s` certifies.
pub fn outcome_tree(result_digests: Vec<Digest>) -> BatchTree {
    BatchTree::new(TAG_OUTCOME_ROOT, result_digests)
}

/// The order root that a request and its place in the batch lead to (`None` if the
/// place does not fit).
pub fn order_root_of(request_digest: &Digest, place: &InBatch) -> Option<Digest> {
    root_from_path(
        TAG_ORDER_ROOT,
        place.len,
        place.index,
        request_digest,
        &place.order_path,
    )
}

/// The outcome root that a result digest and its place in the batch lead to.
pub fn outcome_root_of(result_digest: &Digest, place: &InBatch) -> Option<Digest> {
    root_from_path(
        TAG_OUTCOME_ROOT,
        place.len,
        place.index,
        result_digest,
        &place.outcome_path,
    )
}

/// The bytes `UI_p` certifies.
pub fn order_bytes(view: View, order_root: &Digest) -> [u8; 41] {
    let mut b = [0u8; 41];
    b[0] = TAG_ORDER_REQ;
    b[1..9].copy_from_slice(&view.to_be_bytes());
    b[9..41].copy_from_slice(order_root);
    b
}

/// The bytes a backup's `UI_s` certifies: its answer to a whole ORDER-REQ.
pub fn response_bytes(
    view: View,
    order_counter: u64,
    order_root: &Digest,
    outcome_root: &Digest,
    history: &Digest,
) -> [u8; 113] {
    let mut b = [0u8; 113];
    b[0] = TAG_RESPONSE;
    b[1..9].copy_from_slice(&view.to_be_bytes());
    b[9..17].copy_from_slice(&order_counter.to_be_bytes());
    b[17..49].copy_from_slice(order_root);
    b[49..81].copy_from_slice(outcome_root);
    b[81..113].copy_from_slice(history);
    b
}

/// What a RESPONSE's MAC covers, passed as the "result" of MinBFT's reply MAC (which adds
/// the replica, client and request number): the response bytes without the tag.
pub fn response_auth_bytes(
    view: View,
    order_counter: u64,
    result_digest: &Digest,
    history: &Digest,
) -> [u8; 80] {
    let mut b = [0u8; 80];
    b[0..8].copy_from_slice(&view.to_be_bytes());
    b[8..16].copy_from_slice(&order_counter.to_be_bytes());
    b[16..48].copy_from_slice(result_digest);
    b[48..80].copy_from_slice(history);
    b
}

/// What a LOCAL-COMMIT's MAC covers (as the "result" of MinBFT's reply MAC).
pub fn local_commit_auth_bytes(view: View, counter: u64) -> [u8; 19] {
    let mut b = [0u8; 19];
    b[0..3].copy_from_slice(b"LCM");
    b[3..11].copy_from_slice(&view.to_be_bytes());
    b[11..19].copy_from_slice(&counter.to_be_bytes());
    b
}

/// What a REPLY's MAC covers (as the "result" of MinBFT's reply MAC): a tag, the
/// replica's view and the result's digest, so it can be mistaken for neither a RESPONSE's
/// (80 bytes, untagged) nor a LOCAL-COMMIT's.
pub fn stable_reply_auth_bytes(view: View, result_digest: &Digest) -> [u8; 43] {
    let mut b = [0u8; 43];
    b[0..3].copy_from_slice(b"SRP");
    b[3..11].copy_from_slice(&view.to_be_bytes());
    b[11..43].copy_from_slice(result_digest);
    b
}

/// The bytes a CHECKPOINT's UI certifies.
pub fn checkpoint_bytes(c: &Checkpoint) -> [u8; 65] {
    let mut b = [0u8; 65];
    b[0] = TAG_CHECKPOINT;
    b[1..9].copy_from_slice(&c.view.to_be_bytes());
    b[9..17].copy_from_slice(&c.slot.to_be_bytes());
    b[17..25].copy_from_slice(&c.last.0.to_be_bytes());
    b[25..33].copy_from_slice(&c.last.1.to_be_bytes());
    b[33..65].copy_from_slice(&c.state_digest);
    b
}

/// Digest of a VIEW-CHANGE's body (everything but its UI).
pub fn view_change_digest(vc: &ViewChange) -> Digest {
    let body = postcard::to_allocvec(&(
        vc.sender,
        vc.new_view,
        &vc.checkpoint_cert,
        &vc.log,
        &vc.history,
        vc.installed_view,
    ))
    .unwrap_or_default();
    sha256(&body)
}

/// The bytes a VIEW-CHANGE's UI certifies, given its body digest.
pub fn view_change_bytes(new_view: View, digest: &Digest) -> [u8; 41] {
    tagged_view_digest(TAG_VIEW_CHANGE, new_view, digest)
}

/// Digest of a NEW-VIEW's body (everything but its UI).
pub fn new_view_digest(nv: &NewView) -> Digest {
    let body = postcard::to_allocvec(&(nv.sender, nv.new_view, &nv.view_changes, &nv.orders))
        .unwrap_or_default();
    sha256(&body)
}

/// The bytes a NEW-VIEW's UI certifies, given its body digest.
pub fn new_view_bytes(new_view: View, digest: &Digest) -> [u8; 41] {
    tagged_view_digest(TAG_NEW_VIEW, new_view, digest)
}

/// The history digest after appending the ORDER-REQ `(view, counter, order root)` to
/// a history whose digest is `previous` (Zyzyva's `h_n = H(h_{n-1}, d)`, with the order's
/// identity included so that one request ordered twice gives two different histories).
pub fn extend_history(previous: &Digest, view: View, counter: u64, order_root: &Digest) -> Digest {
    let mut h = Sha256::new();
    h.update(previous);
    h.update(view.to_be_bytes());
    h.update(counter.to_be_bytes());
    h.update(order_root);
    h.finalize().into()
}

/// SHA-256 of a result.
pub fn result_digest(result: &[u8]) -> Digest {
    sha256(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minbft::certify as minbft;
    use crate::minbft::messages::RequestAuth;

    #[test]
    fn strings_are_domain_separated_from_minbft_and_each_other() {
        let d = [3u8; 32];
        assert_ne!(order_bytes(1, &d)[0], minbft::prepare_bytes(1, &d)[0]);
        let c = Checkpoint {
            sender: 0,
            view: 1,
            slot: 1,
            last: (0, 0),
            state_digest: d,
            ui: minlab_usig::Ui {
                counter: 1,
                cert: minlab_usig::Certificate::Symbolic(0),
            },
        };
        assert_ne!(order_bytes(1, &d)[0], checkpoint_bytes(&c)[0]);
        assert_ne!(view_change_bytes(1, &d)[0], new_view_bytes(1, &d)[0]);
        assert_ne!(view_change_bytes(1, &d)[0], minbft::prepare_bytes(1, &d)[0]);
        assert_ne!(response_bytes(1, 1, &d, &d, &d)[0], TAG_CHECKPOINT);
    }

    #[test]
    fn history_depends_on_order_identity() {
        let r = Arc::new(Request {
            client: 0,
            seq: 1,
            op: b"x".to_vec(),
            auth: RequestAuth::None,
        });
        let d = request_digest(&r);
        let h0 = [0u8; 32];
        assert_ne!(extend_history(&h0, 0, 1, &d), extend_history(&h0, 0, 2, &d));
        assert_ne!(extend_history(&h0, 0, 1, &d), extend_history(&h0, 1, 1, &d));
        assert_eq!(extend_history(&h0, 0, 1, &d), extend_history(&h0, 0, 1, &d));
    }
}
