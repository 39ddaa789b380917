//! What each UI certifies: compact, canonical byte strings built on the stack, so the hot
//! path never serializes a message to create or verify a UI.
//!
//! Every string starts with a tag byte naming the message type (domain separation: a
//! COMMIT's UI can never pass as a PREPARE's). The USIG itself adds the counter value and
//! the signer is implied by its key, so neither appears here. Integers are big-endian.
//!
//! | message     | certified bytes                                              | size |
//! |-------------|--------------------------------------------------------------|------|
//! | PREPARE     | `1 ‖ view ‖ batch digest`                                    | 41   |
//! | COMMIT      | `2 ‖ view ‖ prepare counter ‖ batch digest`                  | 49   |
//! | CHECKPOINT  | `3 ‖ view ‖ prepare counter ‖ state digest`                  | 49   |
//! | VIEW-CHANGE | `4 ‖ new view ‖ SHA-256 of the postcard-encoded body`        | 41   |
//! | NEW-VIEW    | `5 ‖ new view ‖ SHA-256 of the body, members by digest`      | 41   |
//! | RESTART     | `6 ‖ view ‖ last logged counter value`                       | 17   |
//!
//! The COMMIT names its PREPARE by counter value and digest; the primary is implied by the
//! view (`view mod n`), and USIG uniqueness means one counter value of one primary names
//! exactly one PREPARE.

use super::messages::{Digest, NewView, Request, ViewChange};
use crate::node::View;
use sha2::{Digest as _, Sha256};
use std::sync::Arc;

/// Tag byte of a PREPARE's certified string.
pub const TAG_PREPARE: u8 = 1;
/// Tag byte of a COMMIT's certified string.
pub const TAG_COMMIT: u8 = 2;
/// Tag byte of a CHECKPOINT's certified string.
pub const TAG_CHECKPOINT: u8 = 3;
/// Tag byte of a VIEW-CHANGE's certified string.
pub const TAG_VIEW_CHANGE: u8 = 4;
/// Tag byte of a NEW-VIEW's certified string.
pub const TAG_NEW_VIEW: u8 = 5;

/// Tag byte of a RESTART's certified string.
pub const TAG_RESTART: u8 = 6;

/// The bytes a RESTART's UI certifies.
#[inline]
pub fn restart_bytes(view: View, last_logged: u64) -> [u8; 17] {
    let mut b = [0u8; 17];
    b[0] = TAG_RESTART;
    b[1..9].copy_from_slice(&view.to_be_bytes());
    b[9..17].copy_from_slice(&last_logged.to_be_bytes());
    b
}

/// The bytes a PREPARE's UI certifies.
#[inline]
pub fn prepare_bytes(view: View, digest: &Digest) -> [u8; 41] {
    let mut b = [0u8; 41];
    b[0] = TAG_PREPARE;
    b[1..9].copy_from_slice(&view.to_be_bytes());
    b[9..41].copy_from_slice(digest);
    b
}

/// The bytes a COMMIT's UI certifies.
#[inline]
pub fn commit_bytes(view: View, prepare_counter: u64, digest: &Digest) -> [u8; 49] {
    let mut b = [0u8; 49];
    b[0] = TAG_COMMIT;
    b[1..9].copy_from_slice(&view.to_be_bytes());
    b[9..17].copy_from_slice(&prepare_counter.to_be_bytes());
    b[17..49].copy_from_slice(digest);
    b
}

/// The bytes a CHECKPOINT's UI certifies.
#[inline]
pub fn checkpoint_bytes(view: View, counter: u64, state_digest: &Digest) -> [u8; 49] {
    let mut b = [0u8; 49];
    b[0] = TAG_CHECKPOINT;
    b[1..9].copy_from_slice(&view.to_be_bytes());
    b[9..17].copy_from_slice(&counter.to_be_bytes());
    b[17..49].copy_from_slice(state_digest);
    b
}

/// The bytes the UI of a VIEW-CHANGE (`tag` = [`TAG_VIEW_CHANGE`]) or NEW-VIEW
/// ([`TAG_NEW_VIEW`]) certifies, from its view and body digest: what a record of one in
/// a VIEW-CHANGE's `O` set is verified against.
pub fn tagged_view_digest(tag: u8, view: View, digest: &Digest) -> [u8; 41] {
    let mut b = [0u8; 41];
    b[0] = tag;
    b[1..9].copy_from_slice(&view.to_be_bytes());
    b[9..41].copy_from_slice(digest);
    b
}

/// Digest of a VIEW-CHANGE's body (everything but its UI; its evidence by digest).
pub fn view_change_digest(vc: &ViewChange) -> Digest {
    let body = postcard::to_allocvec(&(
        vc.sender,
        vc.new_view,
        &vc.checkpoint_cert,
        &vc.log,
        &vc.adopted,
        vc.installed_view,
        vc.installed_base,
        vc.installed_evidence.digest(),
    ))
    .unwrap_or_default();
    sha256(&body)
}

/// Digest of a NEW-VIEW's body (everything but its UI). Its VIEW-CHANGEs enter by body
/// digest and UI, so the digest is the same when their evidence is stripped (a NEW-VIEW
/// carried as evidence, see [`super::evidence`]).
pub fn new_view_digest(nv: &NewView) -> Digest {
    let members: Vec<(Digest, &minlab_usig::Ui)> = nv
        .view_changes
        .iter()
        .map(|vc| (view_change_digest(vc), &vc.ui))
        .collect();
    let body = postcard::to_allocvec(&(nv.sender, nv.new_view, &members, &nv.prepares))
        .unwrap_or_default();
    sha256(&body)
}

/// The bytes a VIEW-CHANGE's UI certifies (cold path: hashes the encoded body).
pub fn view_change_bytes(vc: &ViewChange) -> [u8; 41] {
    tagged_view_digest(TAG_VIEW_CHANGE, vc.new_view, &view_change_digest(vc))
}

/// The bytes a NEW-VIEW's UI certifies (cold path: hashes the encoded body).
pub fn new_view_bytes(nv: &NewView) -> [u8; 41] {
    tagged_view_digest(TAG_NEW_VIEW, nv.new_view, &new_view_digest(nv))
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Digest {
    Sha256::digest(bytes).into()
}

/// The digest of a batch: SHA-256 over `len ‖ (client ‖ seq ‖ op len ‖ op)*`.
///
/// It covers what identifies each request, not its authenticator: two authenticators over
/// the same request name the same request.
pub fn batch_digest(batch: &[Arc<Request>]) -> Digest {
    // Request heads are gathered in a stack buffer and hashed 256 bytes at a time: the
    // hasher's per-call overhead dominates for the small requests of a batch.
    const HEAD: usize = 16;
    let mut h = Sha256::new();
    let mut buf = [0u8; 256];
    buf[..4].copy_from_slice(&(batch.len() as u32).to_be_bytes());
    let mut len = 4;
    for r in batch {
        if len + HEAD > buf.len() {
            h.update(&buf[..len]);
            len = 0;
        }
        let head = &mut buf[len..len + HEAD];
        head[0..4].copy_from_slice(&r.client.to_be_bytes());
        head[4..12].copy_from_slice(&r.seq.to_be_bytes());
        head[12..16].copy_from_slice(&(r.op.len() as u32).to_be_bytes());
        len += HEAD;
        if !r.op.is_empty() {
            h.update(&buf[..len]);
            len = 0;
            h.update(&r.op);
        }
    }
    h.update(&buf[..len]);
    h.finalize().into()
}

/// FNV-1a over `bytes`: a cheap, deterministic fingerprint for events (not for security).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minbft::messages::RequestAuth;

    fn req(client: u32, seq: u64, op: &[u8]) -> Arc<Request> {
        Arc::new(Request {
            client,
            seq,
            op: op.to_vec(),
            auth: RequestAuth::None,
        })
    }

    #[test]
    fn certified_strings_are_domain_separated() {
        let d = [7u8; 32];
        assert_ne!(prepare_bytes(1, &d)[0], commit_bytes(1, 1, &d)[0]);
        assert_ne!(commit_bytes(1, 2, &d), checkpoint_bytes(1, 2, &d));
    }

    #[test]
    fn batch_digest_covers_order_and_content_not_auth() {
        let a = batch_digest(&[req(1, 1, b"x"), req(2, 1, b"")]);
        let b = batch_digest(&[req(2, 1, b""), req(1, 1, b"x")]);
        assert_ne!(a, b);
        let c = batch_digest(&[req(1, 1, b"y"), req(2, 1, b"")]);
        assert_ne!(a, c);
        let mut signed = (*req(1, 1, b"x")).clone();
        signed.auth = RequestAuth::Macs(vec![[1; 16]]);
        assert_eq!(a, batch_digest(&[Arc::new(signed), req(2, 1, b"")]));
        // Op boundaries are unambiguous.
        assert_ne!(
            batch_digest(&[req(1, 1, b"ab"), req(1, 2, b"")]),
            batch_digest(&[req(1, 1, b"a"), req(1, 2, b"b")])
        );
    }
}
