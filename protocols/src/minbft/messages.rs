//! The MinBFT messages of paper §4 (REQUEST, REPLY, PREPARE, COMMIT, CHECKPOINT,
//! REQ-VIEW-CHANGE, VIEW-CHANGE, NEW-VIEW) plus state transfer, already decoded.
//!
//! Messages that go to many replicas (PREPARE, COMMIT, CHECKPOINT, ...) and client
//! requests (sent to all replicas, then carried inside a PREPARE) hold their body in an
//! [`Arc`], so a broadcast costs one reference-count increment per recipient and a request
//! is never copied. What each UI certifies is defined in [`super::certify`].

use crate::node::{ClientId, ReplicaId, View};
use minlab_usig::Ui;
use serde::{Deserialize, Serialize};
use serde_big_array::BigArray;
use std::sync::Arc;

/// A SHA-256 digest.
pub type Digest = [u8; 32];

/// A truncated HMAC-SHA256 tag (128 bits), as used by client authenticators and replies.
pub type MacTag = [u8; 16];

/// An Ed25519 signature (64 bytes).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Ed25519Signature(#[serde(with = "BigArray")] pub [u8; 64]);

/// How a request proves which client sent it; see [`super::auth`] for what each protects.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum RequestAuth {
    /// No authentication (benchmarks, model checking).
    None,
    /// An Ed25519 signature by the client over the request (paper §4: `σ_c`), boxed so
    /// that unsigned requests stay small.
    Ed25519(Box<Ed25519Signature>),
    /// A MAC authenticator: one tag per replica, under the key that client shares with
    /// that replica (as in PBFT).
    Macs(Vec<MacTag>),
}

/// `⟨REQUEST, c, seq, op⟩σc`: client `c` asks for `op`; `seq` gives exactly-once semantics.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Request {
    /// The requesting client.
    pub client: ClientId,
    /// The client's request number, increasing from 1.
    pub seq: u64,
    /// The operation, opaque to the protocol (see [`crate::service`]).
    pub op: Vec<u8>,
    /// The client's authenticator over `(client, seq, op)`.
    pub auth: RequestAuth,
}

/// `⟨REPLY, s, seq, res⟩`: replica `s`'s result for the client's request `seq`. As in
/// the paper it carries no view: clients send every request to all replicas, so they
/// never need to know the primary.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Reply {
    /// The replying replica.
    pub replica: ReplicaId,
    /// The client.
    pub client: ClientId,
    /// The request number.
    pub seq: u64,
    /// The result of the operation.
    pub result: Vec<u8>,
    /// A MAC under the key the client shares with this replica; `None` when client
    /// authentication is off.
    pub auth: Option<MacTag>,
}

/// `⟨PREPARE, v, s_p, m, UI_p⟩`: the primary of view `v` orders a batch of requests; the
/// counter value in `ui` is the batch's sequence number.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Prepare {
    /// The view.
    pub view: View,
    /// The primary of `view` (`view mod n`), who sends this.
    pub primary: ReplicaId,
    /// The ordered requests, 1..=`batch_size_max` of them.
    pub batch: Vec<Arc<Request>>,
    /// The primary's UI over `(PREPARE, view, digest(batch))`.
    pub ui: Ui,
}

/// `⟨COMMIT, v, s_j, s_p, d, UI_p, UI_j⟩`: replica `s_j` vouches for the PREPARE with UI
/// `UI_p`. It carries the batch digest `d`, not the batch (see the crate docs for how a
/// COMMIT that arrives before its PREPARE is handled).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Commit {
    /// The view.
    pub view: View,
    /// The committing replica.
    pub sender: ReplicaId,
    /// The primary of `view`.
    pub primary: ReplicaId,
    /// The UI of the PREPARE being committed.
    pub prepare_ui: Ui,
    /// The digest of the PREPARE's batch.
    pub digest: Digest,
    /// The sender's UI over `(COMMIT, view, prepare counter, digest)`.
    pub ui: Ui,
}

/// `⟨CHECKPOINT, s_j, UI_latest, d, UI_j⟩`: replica `s_j`'s state digest after executing
/// the PREPARE of view `view` with counter value `counter`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The sender.
    pub sender: ReplicaId,
    /// View of the PREPARE.
    pub view: View,
    /// Counter value of the latest executed PREPARE (the paper's `UI_latest`).
    pub counter: u64,
    /// Digest of the replicated state (service plus client table) at that point.
    pub state_digest: Digest,
    /// The sender's UI over `(CHECKPOINT, view, counter, state_digest)`.
    pub ui: Ui,
}

/// `⟨REQ-VIEW-CHANGE, s_i, v, v'⟩`: `s_i` suspects the primary of `v`. Carries no UI.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct ReqViewChange {
    /// The suspecting replica.
    pub sender: ReplicaId,
    /// Its current view.
    pub view: View,
    /// The view it asks for.
    pub new_view: View,
}

/// `⟨RESTART, s_i, v, c_log, UI_i⟩`: replica `s_i` restarted from its write-ahead log in
/// view `v`; its USIG consumed counter values `c_log + 1 .. UI_i` that it never logged,
/// hence never sent. Sent only when that range is not empty; see [`super::restart`].
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Restart {
    /// The restarted replica.
    pub sender: ReplicaId,
    /// The view it recovered into.
    pub view: View,
    /// The highest counter value in its log: everything up to it was (or may have been)
    /// sent; nothing between it and `ui` was.
    pub last_logged: u64,
    /// Its UI over `(RESTART, view, last_logged)`.
    pub ui: Ui,
}

/// An entry of a VIEW-CHANGE's `O` set: a message the sender sent since its last
/// checkpoint. Earlier VIEW-CHANGE and NEW-VIEW messages appear as records (UI plus body
/// digest), which keeps the type non-recursive, so decoding hostile bytes needs bounded
/// stack.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum LoggedMessage {
    /// A PREPARE it sent (as primary).
    Prepare(Arc<Prepare>),
    /// A COMMIT it sent, with the PREPARE it names: a COMMIT carries only the batch
    /// digest, and the new primary must be able to re-propose the batch (see
    /// [`super::view_change`] for why this makes every accepted batch recoverable).
    Commit {
        /// The COMMIT.
        commit: Arc<Commit>,
        /// The PREPARE it voted for.
        prepare: Arc<Prepare>,
    },
    /// A CHECKPOINT it sent.
    Checkpoint(Arc<Checkpoint>),
    /// A VIEW-CHANGE it sent for `new_view`, by UI and body digest.
    ViewChangeRecord {
        /// The view it asked for.
        new_view: View,
        /// Digest of the VIEW-CHANGE body.
        digest: Digest,
        /// Its UI.
        ui: Ui,
    },
    /// A RESTART it sent: accounts for the counter values it declared never sent.
    Restart(Arc<Restart>),
    /// A NEW-VIEW it sent for `new_view`, by UI and body digest.
    NewViewRecord {
        /// The view it started.
        new_view: View,
        /// Digest of the NEW-VIEW body.
        digest: Digest,
        /// Its UI.
        ui: Ui,
    },
}

/// `⟨VIEW-CHANGE, s_i, v', C_latest, O, UI_i⟩`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct ViewChange {
    /// The sender.
    pub sender: ReplicaId,
    /// The view it moves to.
    pub new_view: View,
    /// `C_latest`: its latest stable checkpoint certificate (`f + 1` CHECKPOINTs).
    pub checkpoint_cert: Vec<Arc<Checkpoint>>,
    /// `O`: every UI message it sent since that checkpoint.
    pub log: Vec<LoggedMessage>,
    /// The batches it executed through NEW-VIEWs (their `S`) above that checkpoint, so
    /// that a later `S` keeps what an earlier one decided even when no member of the
    /// later `V_vc` voted for them (see [`super::view_change`]). Each carries its
    /// primary's UI, which is verified.
    pub adopted: Vec<Arc<Prepare>>,
    /// The last view whose NEW-VIEW the sender installed (0 before any): `S` keeps
    /// batches of older views only if that view's `S` (`adopted`) kept them.
    pub installed_view: View,
    /// The `(view, counter)` of the checkpoint that installed view's `S` started after:
    /// batches at or below it are covered by a stable checkpoint (state transfer).
    pub installed_base: (View, u64),
    /// What proves `installed_view`, `installed_base` and `adopted`: the installed
    /// NEW-VIEW (see [`super::evidence`]); empty when `C_latest` is of `installed_view` or
    /// later. The UI covers its digest.
    pub installed_evidence: super::evidence::InstalledEvidence,
    /// Its UI over `(VIEW-CHANGE, new_view, digest of the body)`.
    pub ui: Ui,
}

/// `⟨NEW-VIEW, s_i, v', V_vc, S, UI_i⟩`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct NewView {
    /// The new primary.
    pub sender: ReplicaId,
    /// The view it starts.
    pub new_view: View,
    /// `V_vc`: the `f + 1` VIEW-CHANGE messages (the new-view certificate).
    pub view_changes: Vec<Arc<ViewChange>>,
    /// `S`: the PREPAREs (batches) prepared or accepted since the chosen checkpoint, in
    /// execution order `(view, counter)`.
    pub prepares: Vec<Arc<Prepare>>,
    /// Its UI over `(NEW-VIEW, new_view, digest of the body)`.
    pub ui: Ui,
}

/// Asks replica `to` to resend its UI messages from counter value `from` on (paper §3:
/// messages are kept in a log to be retransmitted). See [`super::repair`].
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct FillHole {
    /// The asking replica.
    pub sender: ReplicaId,
    /// The first counter value of the receiver's it misses.
    pub from: u64,
    /// The asker's view.
    pub view: View,
    /// The first counter value of `view`'s primary it misses: every other replica relays
    /// the primary's PREPAREs and CHECKPOINTs it holds from there on (their UI proves the
    /// primary made them), so one lost on the way from a primary that then crashed is not
    /// lost for good.
    pub primary_from: u64,
}

/// Asks a replica for the state at a stable checkpoint (state transfer, phase 2).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct StateRequest {
    /// The asking replica.
    pub sender: ReplicaId,
    /// Counter value of the stable checkpoint wanted.
    pub counter: u64,
    /// Its view.
    pub view: View,
}

/// A state snapshot at a stable checkpoint, with the certificate proving it (phase 2).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct StateReply {
    /// The answering replica.
    pub sender: ReplicaId,
    /// The stable checkpoint certificate.
    pub checkpoint_cert: Vec<Arc<Checkpoint>>,
    /// The service snapshot (see [`crate::service::Service::snapshot`]).
    pub snapshot: Vec<u8>,
    /// The client table (`V_req` and cached replies), encoded.
    pub client_table: Vec<u8>,
}

/// Any MinBFT message, decoded.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Message {
    /// Client to replicas.
    Request(Arc<Request>),
    /// Replica to client (boxed, so that every message is two words and moving messages
    /// through queues stays cheap).
    Reply(Box<Reply>),
    /// Primary to backups.
    Prepare(Arc<Prepare>),
    /// Replica to replicas.
    Commit(Arc<Commit>),
    /// Replica to replicas.
    Checkpoint(Arc<Checkpoint>),
    /// Replica to replicas (phase 2).
    ReqViewChange(Arc<ReqViewChange>),
    /// Replica to replicas (phase 2).
    ViewChange(Arc<ViewChange>),
    /// New primary to replicas (phase 2).
    NewView(Arc<NewView>),
    /// State transfer request (phase 2).
    StateRequest(Arc<StateRequest>),
    /// State transfer reply (phase 2).
    StateReply(Arc<StateReply>),
    /// Replica to replica: resend your UI messages from a counter value on.
    FillHole(Arc<FillHole>),
    /// A restarted replica to replicas: counter values it will never send.
    Restart(Arc<Restart>),
}

/// The type of a message, for counters and events.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MessageKind {
    /// REQUEST.
    Request,
    /// REPLY.
    Reply,
    /// PREPARE.
    Prepare,
    /// COMMIT.
    Commit,
    /// CHECKPOINT.
    Checkpoint,
    /// REQ-VIEW-CHANGE.
    ReqViewChange,
    /// VIEW-CHANGE.
    ViewChange,
    /// NEW-VIEW.
    NewView,
    /// State transfer request.
    StateRequest,
    /// State transfer reply.
    StateReply,
    /// Retransmission request.
    FillHole,
    /// PBFT's PRE-PREPARE (the PBFT baseline, [`crate::pbft`]).
    PrePrepare,
    /// MinZyzyva's ORDER-REQ (paper §5): the primary's UI_p on a request.
    OrderReq,
    /// MinZyzyva's RESPONSE (paper §5): a speculative result with UI_p and UI_s.
    Response,
    /// MinZyzyva's LOCAL-COMMIT (paper §5): a replica acknowledges a commit certificate.
    LocalCommit,
    /// MinBFT's RESTART: a restarted replica's lost counter values.
    Restart,
}

impl MessageKind {
    /// Number of kinds (size of per-kind counter tables).
    pub const COUNT: usize = 16;

    /// Every kind, in declaration order.
    pub const ALL: [MessageKind; Self::COUNT] = [
        MessageKind::Request,
        MessageKind::Reply,
        MessageKind::Prepare,
        MessageKind::Commit,
        MessageKind::Checkpoint,
        MessageKind::ReqViewChange,
        MessageKind::ViewChange,
        MessageKind::NewView,
        MessageKind::StateRequest,
        MessageKind::StateReply,
        MessageKind::FillHole,
        MessageKind::PrePrepare,
        MessageKind::OrderReq,
        MessageKind::Response,
        MessageKind::LocalCommit,
        MessageKind::Restart,
    ];

    /// Index into per-kind tables.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The paper's name of the message.
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Request => "REQUEST",
            MessageKind::Reply => "REPLY",
            MessageKind::Prepare => "PREPARE",
            MessageKind::Commit => "COMMIT",
            MessageKind::Checkpoint => "CHECKPOINT",
            MessageKind::ReqViewChange => "REQ-VIEW-CHANGE",
            MessageKind::ViewChange => "VIEW-CHANGE",
            MessageKind::NewView => "NEW-VIEW",
            MessageKind::StateRequest => "STATE-REQUEST",
            MessageKind::StateReply => "STATE-REPLY",
            MessageKind::FillHole => "FILL-HOLE",
            MessageKind::PrePrepare => "PRE-PREPARE",
            MessageKind::OrderReq => "ORDER-REQ",
            MessageKind::Response => "RESPONSE",
            MessageKind::LocalCommit => "LOCAL-COMMIT",
            MessageKind::Restart => "RESTART",
        }
    }
}

impl Message {
    /// The message's type.
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Request(_) => MessageKind::Request,
            Message::Reply(_) => MessageKind::Reply,
            Message::Prepare(_) => MessageKind::Prepare,
            Message::Commit(_) => MessageKind::Commit,
            Message::Checkpoint(_) => MessageKind::Checkpoint,
            Message::ReqViewChange(_) => MessageKind::ReqViewChange,
            Message::ViewChange(_) => MessageKind::ViewChange,
            Message::NewView(_) => MessageKind::NewView,
            Message::StateRequest(_) => MessageKind::StateRequest,
            Message::StateReply(_) => MessageKind::StateReply,
            Message::FillHole(_) => MessageKind::FillHole,
            Message::Restart(_) => MessageKind::Restart,
        }
    }

    /// The UI the message carries as its sender's own identifier, if it has one.
    pub fn ui(&self) -> Option<&Ui> {
        match self {
            Message::Prepare(m) => Some(&m.ui),
            Message::Commit(m) => Some(&m.ui),
            Message::Checkpoint(m) => Some(&m.ui),
            Message::ViewChange(m) => Some(&m.ui),
            Message::NewView(m) => Some(&m.ui),
            Message::Restart(m) => Some(&m.ui),
            _ => None,
        }
    }
}
