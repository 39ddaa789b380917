//! The write-ahead log of a durable MinZyzyva replica (issue "real-network adapter",
//! durability): what a replica must remember across a crash so that it never contradicts
//! what it sent, as records the driver makes durable before the step's sends.
//!
//! **Why a MinZyzyva replica needs more than MinBFT's sent log.** MinZyzyva's votes are the
//! RESPONSEs a backup sends clients (one `UI_s` per batch), and a VIEW-CHANGE must list
//! them all (`O`, checked gap-free) together with the sender's *history*: a new `S` takes
//! ordered requests of views below the latest installed view `w` only from the histories
//! of members that installed `w` (see [`super::vc_check::compute_s`]). A replica that came
//! back with its sent log but without the history it had adopted through NEW-VIEWs could
//! send a valid VIEW-CHANGE that drops requests a client completed. So the log records the
//! history as it grows and shrinks, and recovery rebuilds it exactly (execution is
//! deterministic), without any USIG call.
//!
//! | record          | emitted when                                              |
//! |-----------------|-----------------------------------------------------------|
//! | `Sent`          | a UI is created (ORDER-REQ, `UI_s`, CHECKPOINT, VIEW-CHANGE, NEW-VIEW): `O` |
//! | `Executed`      | an ORDER-REQ is appended to the history                    |
//! | `RolledBack`    | the speculative history is cut back (a NEW-VIEW's rollback) |
//! | `View`          | the replica moves to a view (view change, or joining one)  |
//! | `Installed`     | a view's NEW-VIEW is installed: where the primary's counter stream starts |
//! | `Accepted`      | a backup processed the primary's CHECKPOINT in FIFO order  |
//! | `OwnViewChange`, `OwnNewView` | its VIEW-CHANGE / NEW-VIEW, to resend and to count its own |
//! | `Base`          | a checkpoint holding its own CHECKPOINT becomes stable, or a state transfer installs one: a restart point |
//!
//! **Lost counter values.** A crash after `create_ui` and before the step's records are
//! durable consumes counter values whose messages were never sent (and a software
//! counter that reserves blocks resumes past its block). Peers never skip a value: the
//! restarted replica's VIEW-CHANGEs fail the gap check on `O` until its next stable
//! checkpoint (where `O` starts again), and as primary its ORDER-REQ stream has a hole no
//! FILL-HOLE can fill, so it asks for a view change at once ([`Replica::resume`]). Both cost
//! liveness only: no message a correct replica sent is contradicted, so the restarted
//! replica is a correct replica that was slow, not one of the `f` faulty ones. (MinBFT
//! needs its RESTART message because its peers process *every* UI message of a replica in
//! FIFO order; MinZyzyva's follow only the current primary's stream and check `O`.)

use super::history::{ClientRecord, ReplicatedState};
use super::messages::{Checkpoint, NewView, OrderReq, Sent, ViewChange};
use super::replica::{Replica, ZOutbox};
use crate::minbft::messages::Digest;
use crate::node::View;
use crate::service::Service;
use minlab_usig::Usig;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One write-ahead log record (postcard-encoded in [`crate::outbox::Output::Persist`]).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Record {
    /// A UI this replica created: an entry of its sent log (`O`).
    Sent(Sent),
    /// An ORDER-REQ appended to the history and executed.
    Executed(Arc<OrderReq>),
    /// The speculative history cut back to this slot.
    RolledBack(u64),
    /// The replica moved to this view (its NEW-VIEW not installed yet).
    View(View),
    /// The current view's NEW-VIEW was installed; the primary's counter stream continues
    /// from `start`.
    Installed {
        /// The view installed.
        view: View,
        /// The counter value the primary's stream continues from.
        start: u64,
    },
    /// A backup processed the current primary's CHECKPOINT with this counter value.
    Accepted(u64),
    /// The VIEW-CHANGE this replica sent.
    OwnViewChange(Arc<ViewChange>),
    /// The NEW-VIEW this replica sent as a new primary.
    OwnNewView(Arc<NewView>),
    /// A restart point: replaces every earlier record.
    Base(Box<Image>),
}

/// The replicated state at a restart point, without cached RESPONSEs (their `UI_s` are
/// spent; a client that misses one gets the others' or retries).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StateImage {
    /// Per client: `V_req[c]` and its result.
    pub records: Vec<(u64, Vec<u8>)>,
    /// Requests executed.
    pub executed_count: u64,
    /// History slots.
    pub slots: u64,
    /// History digest.
    pub history: Digest,
}

impl StateImage {
    pub(crate) fn of(s: &ReplicatedState) -> Self {
        StateImage {
            records: s
                .records
                .iter()
                .map(|r| (r.last_seq, r.last_result.clone()))
                .collect(),
            executed_count: s.executed_count,
            slots: s.slots,
            history: s.history,
        }
    }

    pub(crate) fn to_state(&self) -> ReplicatedState {
        ReplicatedState {
            records: self
                .records
                .iter()
                .map(|(last_seq, last_result)| ClientRecord {
                    last_seq: *last_seq,
                    last_result: last_result.clone(),
                    last_response: None,
                })
                .collect(),
            executed_count: self.executed_count,
            slots: self.slots,
            history: self.history,
        }
    }
}

/// Everything a replica needs to restart from its latest stable checkpoint.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Image {
    /// The stable checkpoint certificate (holds our own CHECKPOINT).
    pub checkpoint_cert: Vec<Arc<Checkpoint>>,
    /// The service snapshot there.
    pub service: Vec<u8>,
    /// The replicated state there.
    pub state: StateImage,
    /// The history above it, in order.
    pub orders: Vec<Arc<OrderReq>>,
    /// The sent log from our own CHECKPOINT in the certificate on.
    pub sent: Vec<Sent>,
    /// The view the replica was in.
    pub view: View,
    /// The last view it installed.
    pub installed: View,
    /// True if it had left `view - 1` without installing `view` yet.
    pub changing: bool,
    /// `V_acc` of the current primary.
    pub accepted: u64,
    /// Its VIEW-CHANGE for `view`, if it sent one.
    pub own_view_change: Option<Arc<ViewChange>>,
    /// Its NEW-VIEW for `view`, if it sent one.
    pub own_new_view: Option<Arc<NewView>>,
}

/// Encodes a record as the bytes of an [`crate::outbox::Output::Persist`].
pub fn encode_record(r: &Record) -> Vec<u8> {
    postcard::to_allocvec(r).expect("in-memory records always encode")
}

/// Decodes one record; `Err` on malformed bytes (a corrupt log, never a panic).
pub fn decode_record(bytes: &[u8]) -> Result<Record, postcard::Error> {
    postcard::from_bytes(bytes)
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// Emits `record` for the write-ahead log when this replica is durable.
    pub(crate) fn persist(&self, out: &mut ZOutbox, record: impl FnOnce() -> Record) {
        if self.config.durable {
            out.persist(encode_record(&record()), false);
        }
    }

    /// Emits a [`Record::Base`] for the current stable checkpoint, which must hold our own
    /// CHECKPOINT and whose state must be the history's base snapshot.
    pub(crate) fn persist_base(&self, out: &mut ZOutbox) {
        if !self.config.durable {
            return;
        }
        let Some(base) = self.history.snapshots.get(&self.history.base_slot) else {
            return;
        };
        let me = self.id as usize;
        let image = Image {
            checkpoint_cert: self.checkpoints.stable_cert.clone(),
            service: base.service.clone(),
            state: StateImage::of(&base.state),
            orders: self
                .history
                .entries
                .iter()
                .map(|e| e.order.clone())
                .collect(),
            sent: self.sent.values().cloned().collect(),
            view: self.view,
            installed: self.vc.installed,
            changing: self.vc.changing,
            accepted: self.accepted,
            own_view_change: self
                .vc
                .received
                .get(&self.id)
                .filter(|vc| vc.new_view == self.view && self.vc.left[me].0 == self.view)
                .cloned(),
            own_new_view: self.vc.last_new_view.clone(),
        };
        out.persist(encode_record(&Record::Base(Box::new(image))), true);
    }
}
