//! What backs a VIEW-CHANGE's claim about the last view its sender installed (issue 3):
//! the NEW-VIEW of that view itself, which only its primary can sign and from which
//! anyone recomputes `S`, so a faulty replica cannot claim an installation it cannot show.
//!
//! **The claim.** `installed_view` `w`, `installed_base` and `adopted` decide what a later
//! `S` keeps of the views below `w` (see [`super::view_change`]), yet no earlier UI of
//! the sender covers them. A claim is *harmless* when the sender's own `C_latest` lies in
//! view `w` or later: every batch of a view below `w` is then at or below that certificate,
//! hence below where `S` starts, whatever `adopted` says. Such a claim needs no evidence;
//! it must carry `installed_base` at or below `C_latest` and an empty `adopted`. Any other
//! claim is proven by a NEW-VIEW `N` of view `w` in the VIEW-CHANGE's evidence with
//! `s_base(N.V_vc) = installed_base` and `adopted` = the batches of `N`'s `S` above
//! `C_latest`.
//!
//! **Evidence.** A NEW-VIEW in the evidence is valid when it is signed by the primary of
//! its view (UI verified), its `V_vc` holds `f + 1` VIEW-CHANGEs for that view from
//! different replicas, each passing the validity checks of paper §4 with the primary's own
//! right before the NEW-VIEW in its counter order, every claim among them is harmless or
//! proven by another valid NEW-VIEW of the evidence (of a lower view, so this ends), and
//! `S` recomputes. A faulty replica holds only its own USIG: it can sign a NEW-VIEW only
//! for a view it leads, and even then only from `f + 1` VIEW-CHANGEs that pass the same
//! checks a correct replica applies to a NEW-VIEW it installs, so the `S` it can show is
//! one correct replicas would have installed from it. A self-signed CHECKPOINT proves
//! nothing any more.
//!
//! **Size.** The VIEW-CHANGEs inside an evidence NEW-VIEW carry their own evidence only as
//! a digest ([`InstalledEvidence::Stripped`]): a VIEW-CHANGE's UI covers that digest, and a
//! NEW-VIEW's UI covers its members' digests, so stripping keeps every UI verifiable; the
//! NEW-VIEWs the stripped members needed are carried beside, in one flat list (at most
//! [`EVIDENCE_NEW_VIEWS_MAX`]). The wire types below are not recursive, so decoding hostile
//! bytes needs bounded stack.
//!
//! **Limits.** A faulty primary of `w` may hold several valid NEW-VIEWs of `w` (from
//! different `f + 1` VIEW-CHANGEs), or one it never sent, and show any of them: the claim
//! is then as good as a NEW-VIEW correct replicas would have installed, not necessarily
//! the one they did install (the same choice it has when it sends NEW-VIEW). A replica
//! whose claim needs more than [`EVIDENCE_NEW_VIEWS_MAX`] NEW-VIEWs (installs stacked that
//! deep above its stable checkpoint) has its VIEW-CHANGEs rejected until a checkpoint
//! becomes stable: liveness, not safety. Evidence NEW-VIEWs are not checked against the
//! receiver's record of revoked primaries (see [`super::restart`]).

use super::certify::{new_view_bytes, sha256};
use super::messages::{Checkpoint, Digest, LoggedMessage, NewView, Prepare, ViewChange};
use super::replica::Replica;
use super::vc_check::{cert_key, s_base};
use crate::node::{ReplicaId, View};
use crate::service::Service;
use minlab_usig::{Ui, Usig};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Arc;

/// The most NEW-VIEWs one VIEW-CHANGE's evidence may carry (a correct replica carries
/// one per installed view it needs to show, and each nested claim is of a lower view).
pub const EVIDENCE_NEW_VIEWS_MAX: usize = 32;

/// A VIEW-CHANGE's evidence for its `installed_view` claim.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum InstalledEvidence {
    /// NEW-VIEWs (their VIEW-CHANGEs stripped), the one of `installed_view` among them;
    /// empty when the claim is harmless.
    Carried(Vec<Arc<NewView>>),
    /// Only the digest of the evidence: a VIEW-CHANGE inside an evidence NEW-VIEW.
    Stripped(Digest),
}

impl Default for InstalledEvidence {
    fn default() -> Self {
        InstalledEvidence::Carried(Vec::new())
    }
}

impl InstalledEvidence {
    /// The digest a VIEW-CHANGE's UI covers: all zero for no evidence, else SHA-256 of
    /// the encoded NEW-VIEWs.
    pub fn digest(&self) -> Digest {
        match self {
            InstalledEvidence::Stripped(d) => *d,
            InstalledEvidence::Carried(v) if v.is_empty() => [0; 32],
            InstalledEvidence::Carried(v) => {
                let wire: Vec<NewViewOut<'_>> = v.iter().map(|nv| NewViewOut::of(nv)).collect();
                sha256(&postcard::to_allocvec(&wire).unwrap_or_default())
            }
        }
    }

    /// The carried NEW-VIEWs (none when stripped).
    pub fn new_views(&self) -> &[Arc<NewView>] {
        match self {
            InstalledEvidence::Carried(v) => v,
            InstalledEvidence::Stripped(_) => &[],
        }
    }
}

/// `nv` as evidence: each of its VIEW-CHANGEs with its own evidence replaced by the
/// digest (every UI still verifies).
pub fn strip(nv: &NewView) -> Arc<NewView> {
    let view_changes = nv
        .view_changes
        .iter()
        .map(|vc| match vc.installed_evidence {
            InstalledEvidence::Stripped(_) => vc.clone(),
            InstalledEvidence::Carried(_) => {
                let mut s = (**vc).clone();
                s.installed_evidence = InstalledEvidence::Stripped(vc.installed_evidence.digest());
                Arc::new(s)
            }
        })
        .collect();
    Arc::new(NewView {
        view_changes,
        ..nv.clone()
    })
}

/// Whether `vc`'s claim needs evidence: its installed view is above its `C_latest`'s.
pub fn claim_needs_evidence(vc: &ViewChange) -> bool {
    vc.installed_view > cert_key(&vc.checkpoint_cert).0
}

/// The `adopted` a claim proven by `nv` carries: `nv`'s `S` above `cert`.
pub fn adopted_from(nv: &NewView, cert: (View, u64)) -> Vec<Arc<Prepare>> {
    nv.prepares
        .iter()
        .filter(|p| (p.view, p.ui.counter) > cert)
        .cloned()
        .collect()
}

/// Whether `nv` proves `vc`'s claim (`nv` itself is checked elsewhere).
fn proves(nv: &NewView, vc: &ViewChange) -> bool {
    let cert = cert_key(&vc.checkpoint_cert);
    nv.new_view == vc.installed_view
        && s_base(&nv.view_changes) == vc.installed_base
        && nv
            .prepares
            .iter()
            .filter(|p| (p.view, p.ui.counter) > cert)
            .eq(vc.adopted.iter())
}

/// Whether `vc`'s claim is harmless and well-formed, or proven by one of `valid`.
fn claim_holds(vc: &ViewChange, valid: &[&NewView]) -> bool {
    if !claim_needs_evidence(vc) {
        return vc.installed_base <= cert_key(&vc.checkpoint_cert) && vc.adopted.is_empty();
    }
    valid.iter().any(|nv| proves(nv, vc))
}

/// The evidence a replica that installs `nv` carries from then on: `nv` stripped, and
/// the NEW-VIEWs that prove the claims of its members (taken from their evidence).
pub fn evidence_of_install(nv: &NewView) -> Vec<Arc<NewView>> {
    let pool: Vec<&Arc<NewView>> = nv
        .view_changes
        .iter()
        .flat_map(|vc| vc.installed_evidence.new_views())
        .collect();
    let mut chain = vec![strip(nv)];
    let mut i = 0;
    while i < chain.len() && chain.len() < EVIDENCE_NEW_VIEWS_MAX {
        let members = chain[i].view_changes.clone();
        for vc in members.iter().filter(|vc| claim_needs_evidence(vc)) {
            if chain.iter().any(|e| proves(e, vc)) {
                continue;
            }
            if let Some(e) = pool.iter().find(|e| proves(e, vc)) {
                chain.push((*e).clone());
            }
        }
        i += 1;
    }
    chain
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// Whether `vc`'s `installed_view`, `installed_base` and `adopted` are harmless or
    /// proven by its evidence, every NEW-VIEW of which must be valid (module docs).
    pub(crate) fn check_claim(&self, vc: &ViewChange) -> bool {
        let evidence = vc.installed_evidence.new_views();
        if evidence.len() > EVIDENCE_NEW_VIEWS_MAX {
            return false;
        }
        let mut sorted: Vec<&NewView> = evidence.iter().map(|nv| &**nv).collect();
        sorted.sort_by_key(|nv| nv.new_view);
        let mut valid: Vec<&NewView> = Vec::with_capacity(sorted.len());
        for nv in sorted {
            if !self.evidence_valid(nv, &valid) {
                return false;
            }
            valid.push(nv);
        }
        claim_holds(vc, &valid)
    }

    /// Whether `nv` is a NEW-VIEW its view's primary signed from a valid `V_vc` whose
    /// claims hold by `below` (valid NEW-VIEWs of lower or equal views), with `S`
    /// recomputed.
    fn evidence_valid(&self, nv: &NewView, below: &[&NewView]) -> bool {
        let n = self.config.replica_count;
        if nv.sender >= n
            || self.config.primary_of(nv.new_view) != nv.sender
            || nv.view_changes.len() != self.config.quorum() as usize
            || self
                .usig
                .verify_ui(nv.sender, &nv.ui, &new_view_bytes(nv))
                .is_err()
        {
            return false;
        }
        let mut senders = 0u64;
        let mut own_counter = None;
        for vc in &nv.view_changes {
            if vc.new_view != nv.new_view
                || vc.sender >= n
                || senders & (1 << vc.sender) != 0
                || self.uncounted(vc)
                || self.check_view_change_body(vc).is_err()
                || !claim_holds(vc, below)
            {
                return false;
            }
            senders |= 1 << vc.sender;
            if vc.sender == nv.sender {
                own_counter = Some(vc.ui.counter);
            }
        }
        own_counter.map(|c| c + 1) == Some(nv.ui.counter)
            && self.s_of(&nv.view_changes) == nv.prepares
    }
}

// The wire form: evidence NEW-VIEWs hold VIEW-CHANGEs whose evidence is a digest only,
// so the types do not nest.

/// A stripped VIEW-CHANGE, borrowed for encoding (field order as in [`ViewChange`]).
#[derive(Serialize)]
struct ViewChangeOut<'a> {
    sender: ReplicaId,
    new_view: View,
    checkpoint_cert: &'a [Arc<Checkpoint>],
    log: &'a [LoggedMessage],
    adopted: &'a [Arc<Prepare>],
    installed_view: View,
    installed_base: (View, u64),
    evidence: Digest,
    ui: &'a Ui,
}

/// An evidence NEW-VIEW, borrowed for encoding.
#[derive(Serialize)]
struct NewViewOut<'a> {
    sender: ReplicaId,
    new_view: View,
    view_changes: Vec<ViewChangeOut<'a>>,
    prepares: &'a [Arc<Prepare>],
    ui: &'a Ui,
}

impl<'a> NewViewOut<'a> {
    fn of(nv: &'a NewView) -> Self {
        NewViewOut {
            sender: nv.sender,
            new_view: nv.new_view,
            view_changes: nv
                .view_changes
                .iter()
                .map(|vc| ViewChangeOut {
                    sender: vc.sender,
                    new_view: vc.new_view,
                    checkpoint_cert: &vc.checkpoint_cert,
                    log: &vc.log,
                    adopted: &vc.adopted,
                    installed_view: vc.installed_view,
                    installed_base: vc.installed_base,
                    evidence: vc.installed_evidence.digest(),
                    ui: &vc.ui,
                })
                .collect(),
            prepares: &nv.prepares,
            ui: &nv.ui,
        }
    }
}

/// A stripped VIEW-CHANGE, decoded.
#[derive(Deserialize)]
struct ViewChangeIn {
    sender: ReplicaId,
    new_view: View,
    checkpoint_cert: Vec<Arc<Checkpoint>>,
    log: Vec<LoggedMessage>,
    adopted: Vec<Arc<Prepare>>,
    installed_view: View,
    installed_base: (View, u64),
    evidence: Digest,
    ui: Ui,
}

/// An evidence NEW-VIEW, decoded.
#[derive(Deserialize)]
struct NewViewIn {
    sender: ReplicaId,
    new_view: View,
    view_changes: Vec<ViewChangeIn>,
    prepares: Vec<Arc<Prepare>>,
    ui: Ui,
}

impl From<NewViewIn> for NewView {
    fn from(nv: NewViewIn) -> Self {
        NewView {
            sender: nv.sender,
            new_view: nv.new_view,
            view_changes: nv
                .view_changes
                .into_iter()
                .map(|vc| {
                    Arc::new(ViewChange {
                        sender: vc.sender,
                        new_view: vc.new_view,
                        checkpoint_cert: vc.checkpoint_cert,
                        log: vc.log,
                        adopted: vc.adopted,
                        installed_view: vc.installed_view,
                        installed_base: vc.installed_base,
                        installed_evidence: InstalledEvidence::Stripped(vc.evidence),
                        ui: vc.ui,
                    })
                })
                .collect(),
            prepares: nv.prepares,
            ui: nv.ui,
        }
    }
}

#[derive(Serialize)]
enum EvidenceOut<'a> {
    Carried(Vec<NewViewOut<'a>>),
    Stripped(&'a Digest),
}

#[derive(Deserialize)]
enum EvidenceIn {
    Carried(Vec<NewViewIn>),
    Stripped(Digest),
}

impl Serialize for InstalledEvidence {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        match self {
            InstalledEvidence::Carried(v) => {
                EvidenceOut::Carried(v.iter().map(|nv| NewViewOut::of(nv)).collect())
            }
            InstalledEvidence::Stripped(d) => EvidenceOut::Stripped(d),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for InstalledEvidence {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match EvidenceIn::deserialize(d)? {
            EvidenceIn::Carried(v) => InstalledEvidence::Carried(
                v.into_iter()
                    .map(|nv| Arc::new(NewView::from(nv)))
                    .collect(),
            ),
            EvidenceIn::Stripped(d) => InstalledEvidence::Stripped(d),
        })
    }
}
