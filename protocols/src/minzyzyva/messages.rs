//! The MinZyzyva messages of paper §5 (REQUEST, ORDER-REQ, RESPONSE, COMMIT, LOCAL-COMMIT,
//! FILL-HOLE, CHECKPOINT, REQ-VIEW-CHANGE, VIEW-CHANGE, NEW-VIEW) and the state transfer's
//! STATE-REQUEST and STATE-REPLY, already decoded. What each UI certifies is
//! defined in [`super::certify`].
//!
//! Requests are MinBFT's [`Request`] (same fields, same client authenticators), so events
//! and oracles see one request type for both protocols.

use crate::minbft::messages::{Digest, MacTag, MessageKind, ReqViewChange, Request};
use crate::node::{ClientId, ReplicaId, View};
use minlab_usig::Ui;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `⟨ORDER-REQ, v, s_p, m, UI_p⟩`: the primary of view `v` gives the batch of requests `m`
/// the sequence number in `ui` (paper §5, gracious execution step 2; batched as the
/// paper's prototype did, §7).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct OrderReq {
    /// The view.
    pub view: View,
    /// The primary of `view`, who sends this.
    pub primary: ReplicaId,
    /// The ordered requests, executed in this order: `1 ..= batch_size_max` of them.
    pub batch: Vec<Arc<Request>>,
    /// `UI_p`: the primary's UI over `(ORDER-REQ, view, order root)`, the root over the
    /// batch's request digests (see [`super::certify::order_digest`]).
    pub ui: Ui,
}

/// Where a request sits in its ORDER-REQ's batch, and the Merkle paths that tie it to
/// what the two UIs certify (see [`super::batch`]): empty paths for a batch of one.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct InBatch {
    /// Number of requests in the batch.
    pub len: u32,
    /// This request's index in it.
    pub index: u32,
    /// From the request's digest to the order root that `UI_p` certifies.
    pub order_path: Vec<Digest>,
    /// From the result's digest to the outcome root that a backup's `UI_s` certifies.
    pub outcome_path: Vec<Digest>,
}

/// `⟨RESPONSE, v, s, c, seq, res, UI_p, UI_s, h⟩`: replica `s`'s speculative result for
/// the request ordered with `UI_p` (paper §5, step 3).
///
/// `history` is the digest of the sender's history up to and including this request's
/// ORDER-REQ (as in Zyzyva): two responses match only if the histories that produced them
/// are the same.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Response {
    /// The view of the ORDER-REQ.
    pub view: View,
    /// The responding replica.
    pub replica: ReplicaId,
    /// The client.
    pub client: ClientId,
    /// The request number.
    pub seq: u64,
    /// The result of the operation.
    pub result: Vec<u8>,
    /// Digest of the responder's history up to this request's ORDER-REQ.
    pub history: Digest,
    /// `UI_p`, copied from the ORDER-REQ.
    pub order_ui: Ui,
    /// The request's place in the batch.
    pub in_batch: InBatch,
    /// `UI_s`: the responder's UI over its answer to the whole batch (see
    /// [`super::certify::response_bytes`]).
    /// `None` for the primary of `view`, whose `UI_p` already binds it to this order (its
    /// counter must stay gap-free for the backups' FIFO check, so it creates no second UI).
    pub ui: Option<Ui>,
    /// A MAC under the key the client shares with the responder, over the response digest
    /// (see [`super::certify::response_auth_bytes`]); `None` when client authentication is
    /// off. It is what authenticates the primary's result, which carries no `UI_s`.
    pub auth: Option<MacTag>,
}

/// One response inside a commit certificate: who sent it and its `UI_s` (`None` for the
/// primary of the certificate's view, whose `UI_p` stands for it).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct CertifiedResponse {
    /// The responder.
    pub replica: ReplicaId,
    /// Its `UI_s`.
    pub ui: Option<Ui>,
}

/// `⟨COMMIT, c, CC⟩`: a client's commit certificate, `f + 1` matching responses from
/// distinct replicas (paper §5, non-gracious execution). Everything the responses agree on
/// appears once; each response contributes its sender and `UI_s`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Commit {
    /// The client.
    pub client: ClientId,
    /// The request (its digest and `in_batch.order_path` lead to what `UI_p` certifies).
    pub request: Arc<Request>,
    /// View of the ORDER-REQ.
    pub view: View,
    /// `UI_p`.
    pub order_ui: Ui,
    /// The request's place in the batch, as the matching responses gave it.
    pub in_batch: InBatch,
    /// SHA-256 of the agreed result.
    pub result_digest: Digest,
    /// The agreed history digest.
    pub history: Digest,
    /// The matching responses.
    pub responses: Vec<CertifiedResponse>,
}

/// `⟨LOCAL-COMMIT, s, c, seq, v, cv⟩`: replica `s` holds the commit certificate for the
/// request ordered at `(view, counter)` and committed its history up to it.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct LocalCommit {
    /// The acknowledging replica.
    pub replica: ReplicaId,
    /// The client.
    pub client: ClientId,
    /// The request number.
    pub seq: u64,
    /// View of the ORDER-REQ.
    pub view: View,
    /// Counter value of its `UI_p`.
    pub counter: u64,
    /// A MAC under the key the client shares with `replica` (see
    /// [`super::certify::local_commit_auth_bytes`]); `None` when authentication is off.
    pub auth: Option<MacTag>,
}

/// `⟨REPLY, s, c, seq, res, v⟩`: replica `s` answers a client's retransmitted request
/// whose execution lies at or below its stable checkpoint with the result recorded there.
/// Not in the paper: a replica that reached that checkpoint by state transfer never
/// executed the request and has no RESPONSE (its `UI_s` would be another replica's), so
/// with `f` replicas down the client could never gather `f + 1` matching RESPONSEs. A
/// stable checkpoint is committed, so `f + 1` matching REPLYs (one from a correct replica)
/// complete the request as `f + 1` LOCAL-COMMITs do.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct StableReply {
    /// The answering replica.
    pub replica: ReplicaId,
    /// The client.
    pub client: ClientId,
    /// The request number.
    pub seq: u64,
    /// The result recorded at the stable checkpoint.
    pub result: Vec<u8>,
    /// The replica's current view: where the client's next request should go.
    pub view: View,
    /// A MAC under the key the client shares with `replica` (see
    /// [`super::certify::stable_reply_auth_bytes`]); `None` when authentication is off.
    pub auth: Option<MacTag>,
}

/// `⟨FILL-HOLE, s_i, v, max_cv + 1, cv⟩`: replica `s_i` misses the primary's UI messages
/// with counter values `from..=to` in view `view` (paper §5).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct FillHole {
    /// The asking replica.
    pub sender: ReplicaId,
    /// The view.
    pub view: View,
    /// First missing counter value of the primary.
    pub from: u64,
    /// Last missing counter value.
    pub to: u64,
}

/// `⟨CHECKPOINT, s_j, n, d, UI_j⟩`: replica `s_j`'s state digest after the `slot`-th
/// ORDER-REQ of its history (paper §5, garbage collection and checkpoints).
///
/// Unlike MinBFT, checkpoints are taken by history length (every `cp` ORDER-REQs), not by
/// the primary's counter value: backups' counters also advance with every `UI_s`, and a
/// history spans views, so its length is the one sequence number all correct replicas
/// share. `last` names the ORDER-REQ at `slot`, so that a view change can tell which
/// ordered requests a checkpoint certificate covers; `view` is the sender's view, which
/// says whether the CHECKPOINT belongs to the counter stream of that view's primary.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The sender.
    pub sender: ReplicaId,
    /// The sender's view when it took the checkpoint.
    pub view: View,
    /// History length (ORDER-REQs processed) at the checkpoint.
    pub slot: u64,
    /// `(view, UI_p counter)` of the ORDER-REQ at `slot` (`(0, 0)` at slot 0).
    pub last: (View, u64),
    /// Digest of the replicated state: service, client table and history digest.
    pub state_digest: Digest,
    /// The sender's UI over `(CHECKPOINT, slot, state_digest)`.
    pub ui: Ui,
}

/// One UI message a replica created, as its VIEW-CHANGE lists it in `O` (paper §5: "a set
/// of ordered requests since `C_latest` that were executed by the replica. Each ordered
/// request has `UI_p` signed by the primary and `UI_i` signed by the replica"). Earlier
/// VIEW-CHANGEs and NEW-VIEWs appear as records (body digest and UI), which keeps the type
/// non-recursive.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Sent {
    /// An ORDER-REQ it sent as primary: its UI is the `UI_p`.
    Order(Arc<OrderReq>),
    /// The RESPONSEs it sent as a backup for one ORDER-REQ: the ORDER-REQ answered and
    /// what its `UI_s` covers.
    Response {
        /// The ORDER-REQ (its order root and `UI_p` are part of what `ui` covers).
        order: Arc<OrderReq>,
        /// The outcome root: over the result digests of the batch (see
        /// [`super::certify::outcome_tree`]).
        outcome: Digest,
        /// The history digest after the request.
        history: Digest,
        /// `UI_s`.
        ui: Ui,
    },
    /// A CHECKPOINT.
    Checkpoint(Arc<Checkpoint>),
    /// A VIEW-CHANGE: its target view, body digest and UI.
    ViewChangeRecord {
        /// The view it moved to.
        new_view: View,
        /// Digest of its body.
        digest: Digest,
        /// Its UI.
        ui: Ui,
    },
    /// A NEW-VIEW: its view, body digest and UI.
    NewViewRecord {
        /// The view it started.
        new_view: View,
        /// Digest of its body.
        digest: Digest,
        /// Its UI.
        ui: Ui,
    },
}

impl Sent {
    /// The UI of the entry (its sender's).
    pub fn ui(&self) -> &Ui {
        match self {
            Sent::Order(o) => &o.ui,
            Sent::Response { ui, .. } => ui,
            Sent::Checkpoint(c) => &c.ui,
            Sent::ViewChangeRecord { ui, .. } | Sent::NewViewRecord { ui, .. } => ui,
        }
    }
}

/// `⟨VIEW-CHANGE, s_i, v', C_latest, O, UI_i⟩` (paper §5, as §4).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct ViewChange {
    /// The sender.
    pub sender: ReplicaId,
    /// The view it moves to.
    pub new_view: View,
    /// `C_latest`: its latest stable checkpoint certificate (`f + 1` matching CHECKPOINTs,
    /// its own among them), empty at genesis.
    pub checkpoint_cert: Vec<Arc<Checkpoint>>,
    /// `O`: every UI message it created after its own CHECKPOINT in `C_latest` (from
    /// counter value 1 when `C_latest` is empty), gap-free, up to `ui - 1`.
    pub log: Vec<Sent>,
    /// Its history above `C_latest`, in history order: every ORDER-REQ it processed,
    /// including those it executed through a NEW-VIEW or skipped as already executed
    /// (which created no UI of its own, so `log` cannot show them).
    pub history: Vec<Arc<OrderReq>>,
    /// The last view whose NEW-VIEW it installed (0 before any): a new `S` keeps ordered
    /// requests of older views only as the histories of the members that installed the
    /// latest such view show them.
    pub installed_view: View,
    /// Its UI over `(VIEW-CHANGE, new_view, digest of the body)`.
    pub ui: Ui,
}

/// `⟨NEW-VIEW, s_i, v', V_vc, S, UI_i⟩` (paper §5, as §4).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct NewView {
    /// The new primary.
    pub sender: ReplicaId,
    /// The view it starts.
    pub new_view: View,
    /// `V_vc`: `f + 1` VIEW-CHANGEs for `new_view` from different replicas, its own among
    /// them (the new-view certificate).
    pub view_changes: Vec<Arc<ViewChange>>,
    /// `S`: the ordered requests above the most recent checkpoint certificate of `V_vc`, in
    /// history order (see [`super::vc_check::compute_s`]).
    pub orders: Vec<Arc<OrderReq>>,
    /// Its UI over `(NEW-VIEW, new_view, digest of the body)`.
    pub ui: Ui,
}

/// `⟨STATE-REQUEST, s_i, n⟩`: replica `s_i` is behind the stable checkpoint at history
/// slot `slot` and asks for the state there (see the `transfer` module).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct StateRequest {
    /// The asking replica.
    pub sender: ReplicaId,
    /// Slot of the stable checkpoint it wants (or any later one).
    pub slot: u64,
}

/// One client's record in a transferred state: `V_req[c]` and the result of that request
/// (what [`super::Replica::state_digest`] covers; a cached RESPONSE carries its sender's
/// `UI_s` and is not transferred).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct ClientState {
    /// The last request number executed (0 = none).
    pub last_seq: u64,
    /// Its result.
    pub last_result: Vec<u8>,
}

/// `⟨STATE-REPLY, s_j, C, state⟩`: the state at replica `s_j`'s latest stable checkpoint,
/// with the certificate (`f + 1` matching CHECKPOINTs) whose digest it must match.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct StateReply {
    /// The answering replica.
    pub sender: ReplicaId,
    /// The stable checkpoint certificate.
    pub checkpoint_cert: Vec<Arc<Checkpoint>>,
    /// The service snapshot (see [`crate::service::Service::snapshot`]).
    pub snapshot: Vec<u8>,
    /// One record per client.
    pub clients: Vec<ClientState>,
    /// Requests executed up to the checkpoint (the next position).
    pub executed_count: u64,
    /// ORDER-REQs in the history up to the checkpoint (its slot).
    pub slots: u64,
    /// The history digest at the checkpoint.
    pub history: Digest,
}

/// Any MinZyzyva message, decoded.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Message {
    /// Client to the primary (or to all, on retransmission); replica to primary (forward).
    Request(Arc<Request>),
    /// Primary to backups.
    OrderReq(Arc<OrderReq>),
    /// Replica to client.
    Response(Arc<Response>),
    /// Client to replicas.
    Commit(Arc<Commit>),
    /// Replica to client.
    LocalCommit(Arc<LocalCommit>),
    /// Replica to primary (then to all).
    FillHole(Arc<FillHole>),
    /// Replica to replicas.
    Checkpoint(Arc<Checkpoint>),
    /// Replica to replicas.
    ReqViewChange(Arc<ReqViewChange>),
    /// Replica to replicas.
    ViewChange(Arc<ViewChange>),
    /// New primary to replicas.
    NewView(Arc<NewView>),
    /// Replica behind a stable checkpoint to the certificate's signers.
    StateRequest(Arc<StateRequest>),
    /// Replica to the replica that asked.
    StateReply(Arc<StateReply>),
    /// Replica to client (a retransmitted request below its stable checkpoint).
    StableReply(Arc<StableReply>),
}

impl Message {
    /// The message's type.
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Request(_) => MessageKind::Request,
            Message::OrderReq(_) => MessageKind::OrderReq,
            Message::Response(_) => MessageKind::Response,
            Message::Commit(_) => MessageKind::Commit,
            Message::LocalCommit(_) => MessageKind::LocalCommit,
            Message::FillHole(_) => MessageKind::FillHole,
            Message::Checkpoint(_) => MessageKind::Checkpoint,
            Message::ReqViewChange(_) => MessageKind::ReqViewChange,
            Message::ViewChange(_) => MessageKind::ViewChange,
            Message::NewView(_) => MessageKind::NewView,
            Message::StateRequest(_) => MessageKind::StateRequest,
            Message::StateReply(_) => MessageKind::StateReply,
            Message::StableReply(_) => MessageKind::Reply,
        }
    }
}
