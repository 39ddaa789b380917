//! Batches (paper §7: "adaptive batching"; Table 1's `2 + sign/b`): one ORDER-REQ orders
//! up to `batch_size_max` requests under one `UI_p`, and each backup answers the whole
//! batch with one `UI_s`. A client sees only its own request and result, so what the two
//! UIs certify are Merkle roots: `UI_p` the root over the batch's request digests,
//! `UI_s` the root over their result digests, each bound to the batch length. A RESPONSE
//! carries its request's two Merkle paths ([`super::messages::InBatch`]), `⌈log2 b⌉`
//! digests each, so that it can be checked without the other requests of the batch.
//!
//! The tree: leaves are the digests themselves; an inner node is
//! `SHA-256(0x01 ‖ left ‖ right)`; a node without a right sibling moves up unchanged. The
//! length is bound by hashing it with the root (`SHA-256(tag ‖ len ‖ root)`), so the
//! shape, hence the meaning of every path, is fixed by what the UI certifies. (A few lines
//! of our own instead of a Merkle crate: the one we looked at, `rs_merkle`, would bring a
//! second `sha2` and allocate per layer to check a path, which a replica does per request.)

use crate::minbft::messages::Digest;
use sha2::{Digest as _, Sha256};

/// Domain tag of the root that `UI_p` certifies (the batch's requests).
pub const TAG_ORDER_ROOT: u8 = 0x21;
/// Domain tag of the root that a backup's `UI_s` certifies (the batch's results).
pub const TAG_OUTCOME_ROOT: u8 = 0x22;

fn node(left: &Digest, right: &Digest) -> Digest {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root bound to the tag and the number of leaves.
fn bind(tag: u8, len: u32, root: &Digest) -> Digest {
    let mut h = Sha256::new();
    h.update([tag]);
    h.update(len.to_be_bytes());
    h.update(root);
    h.finalize().into()
}

/// A Merkle tree over a batch's digests, every level kept to give paths.
#[derive(Clone, Debug)]
pub struct BatchTree {
    tag: u8,
    /// `levels[0]` the leaves, the last the root alone. Never empty.
    levels: Vec<Vec<Digest>>,
}

impl BatchTree {
    /// The tree over `leaves`, for the root tagged `tag`. A correct batch has at least one
    /// leaf; an empty one (refused by every check, but a digest may be asked of it) has
    /// the zero root.
    pub fn new(tag: u8, leaves: Vec<Digest>) -> Self {
        let mut levels = vec![leaves];
        while let Some(last) = levels.last()
            && last.len() > 1
        {
            let up = last
                .chunks(2)
                .map(|pair| match pair {
                    [l, r] => node(l, r),
                    [l] => *l,
                    _ => unreachable!("chunks(2) yields one or two"),
                })
                .collect();
            levels.push(up);
        }
        BatchTree { tag, levels }
    }

    /// Number of leaves.
    pub fn len(&self) -> u32 {
        self.levels[0].len() as u32
    }

    /// True for the tree of an empty batch.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The tagged, length-bound root: what a UI certifies.
    pub fn digest(&self) -> Digest {
        let root = self
            .levels
            .last()
            .and_then(|top| top.first())
            .copied()
            .unwrap_or([0; 32]);
        bind(self.tag, self.len(), &root)
    }

    /// The siblings from leaf `index` up to the root (none where a node moves up alone).
    pub fn path(&self, index: u32) -> Vec<Digest> {
        let mut i = index as usize;
        let mut path = Vec::new();
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = i ^ 1;
            if sibling < level.len() {
                path.push(level[sibling]);
            }
            i /= 2;
        }
        path
    }
}

/// The tagged, length-bound root that leaf `leaf` at `index` of `len` leaves and its
/// `path` lead to; `None` when the path does not fit the shape (`index >= len`, `len == 0`,
/// too few or too many siblings). No allocation: a replica checks paths per request.
pub fn root_from_path(
    tag: u8,
    len: u32,
    index: u32,
    leaf: &Digest,
    path: &[Digest],
) -> Option<Digest> {
    if index >= len {
        return None;
    }
    let (mut i, mut width, mut cur, mut used) = (index, len, *leaf, 0usize);
    while width > 1 {
        if i % 2 == 1 {
            cur = node(path.get(used)?, &cur);
            used += 1;
        } else if i + 1 < width {
            cur = node(&cur, path.get(used)?);
            used += 1;
        }
        i /= 2;
        width = width.div_ceil(2);
    }
    (used == path.len()).then(|| bind(tag, len, &cur))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u32) -> Vec<Digest> {
        (0..n).map(|i| [i as u8 + 1; 32]).collect()
    }

    #[test]
    fn every_path_of_every_shape_leads_to_the_root() {
        for n in 1..=20 {
            let t = BatchTree::new(TAG_ORDER_ROOT, leaves(n));
            for i in 0..n {
                let leaf = [i as u8 + 1; 32];
                assert_eq!(
                    root_from_path(TAG_ORDER_ROOT, n, i, &leaf, &t.path(i)),
                    Some(t.digest()),
                    "n = {n}, i = {i}"
                );
            }
        }
    }

    #[test]
    fn a_single_leaf_has_an_empty_path() {
        let t = BatchTree::new(TAG_OUTCOME_ROOT, leaves(1));
        assert!(t.path(0).is_empty());
        assert_eq!(
            root_from_path(TAG_OUTCOME_ROOT, 1, 0, &[1; 32], &[]),
            Some(t.digest())
        );
    }

    #[test]
    fn wrong_leaves_indices_lengths_tags_and_paths_do_not_lead_to_the_root() {
        let t = BatchTree::new(TAG_ORDER_ROOT, leaves(5));
        let root = t.digest();
        let leaf = [3u8; 32]; // leaf 2
        let path = t.path(2);
        let ok = |tag, len, index, leaf: &Digest, path: &[Digest]| {
            root_from_path(tag, len, index, leaf, path) == Some(root)
        };
        assert!(ok(TAG_ORDER_ROOT, 5, 2, &leaf, &path));
        assert!(!ok(TAG_ORDER_ROOT, 5, 3, &leaf, &path), "another index");
        assert!(!ok(TAG_ORDER_ROOT, 5, 2, &[9; 32], &path), "another leaf");
        assert!(!ok(TAG_ORDER_ROOT, 6, 2, &leaf, &path), "another length");
        assert!(!ok(TAG_OUTCOME_ROOT, 5, 2, &leaf, &path), "another tag");
        let mut longer = path.clone();
        longer.push([0; 32]);
        assert_eq!(root_from_path(TAG_ORDER_ROOT, 5, 2, &leaf, &longer), None);
        assert_eq!(
            root_from_path(TAG_ORDER_ROOT, 5, 2, &leaf, &path[1..]),
            None
        );
        assert_eq!(root_from_path(TAG_ORDER_ROOT, 5, 5, &leaf, &path), None);
        assert_eq!(root_from_path(TAG_ORDER_ROOT, 0, 0, &leaf, &[]), None);
        assert_eq!(
            root_from_path(TAG_ORDER_ROOT, u32::MAX, u32::MAX - 1, &leaf, &[]),
            None
        );
    }

    #[test]
    fn an_empty_batch_has_a_digest_and_no_paths() {
        let t = BatchTree::new(TAG_ORDER_ROOT, Vec::new());
        assert!(t.is_empty());
        assert_ne!(
            t.digest(),
            BatchTree::new(TAG_ORDER_ROOT, vec![[0; 32]]).digest()
        );
        assert!(t.path(0).is_empty());
    }

    #[test]
    fn the_root_depends_on_the_order_of_the_leaves() {
        let mut swapped = leaves(4);
        swapped.swap(0, 1);
        assert_ne!(
            BatchTree::new(TAG_ORDER_ROOT, leaves(4)).digest(),
            BatchTree::new(TAG_ORDER_ROOT, swapped).digest()
        );
    }
}
