//! The write-ahead log of a durable MinBFT replica (issue "crash recovery"): what a
//! replica must remember across a crash so that it never contradicts what it sent, and
//! the records it emits for the driver to make durable before the step's sends.
//!
//! **What is durable, and when.** A replica with [`super::Config::durable`] set emits one
//! [`Record`] per event below, as an [`crate::outbox::Output::Persist`] in the same step
//! that sends the message; the driver writes a step's records (one `fdatasync`: group
//! commit) before it performs the step's sends.
//!
//! | record          | emitted when                                   | why                        |
//! |-----------------|------------------------------------------------|----------------------------|
//! | `Sent`          | a PREPARE, COMMIT (with its PREPARE), CHECKPOINT or RESTART is created | `O` of later VIEW-CHANGEs, retransmission |
//! | `ViewChange`    | a VIEW-CHANGE is created                       | the view it left; resend   |
//! | `NewView`       | a NEW-VIEW is created                          | resend                     |
//! | `Installed`     | a NEW-VIEW is installed                        | the claim and evidence of later VIEW-CHANGEs |
//! | `Base`          | a checkpoint with our own CHECKPOINT becomes stable | a restart point: earlier records are garbage |
//!
//! Without the log a restarted replica would send VIEW-CHANGEs that omit its earlier votes
//! (amnesia); its USIG counter survives, so such a VIEW-CHANGE fails the gap check and the
//! replica cannot take part in view changes until its next stable checkpoint. With it, the
//! replica rebuilds its sent log, its view and its stable checkpoint (with the state) and
//! resumes where it stopped; what it executed after the checkpoint it executes again after
//! fetching the messages again (retransmission) or by state transfer.
//!
//! Counter values consumed by the USIG in a step whose records never became durable were
//! never sent: see [`super::restart`] for how peers learn that they never will be.

use super::messages::{Checkpoint, LoggedMessage, NewView, ViewChange};
use super::replica::Replica;
use crate::node::View;
use crate::outbox::Outbox;
use crate::service::Service;
use minlab_usig::Usig;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One write-ahead log record (postcard-encoded in [`crate::outbox::Output::Persist`]).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Record {
    /// A PREPARE, COMMIT (with its PREPARE), CHECKPOINT or RESTART this replica created.
    Sent(LoggedMessage),
    /// A VIEW-CHANGE this replica created.
    ViewChange(Arc<ViewChange>),
    /// A NEW-VIEW this replica created.
    NewView(Arc<NewView>),
    /// A NEW-VIEW this replica installed (its own or a primary's).
    Installed(Arc<NewView>),
    /// A restart point at a stable checkpoint: replaces every earlier record.
    Base(Box<Image>),
}

/// Everything a replica needs to restart from its latest stable checkpoint.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Image {
    /// The stable checkpoint certificate (holds our own CHECKPOINT).
    pub checkpoint_cert: Vec<Arc<Checkpoint>>,
    /// The service snapshot at that checkpoint.
    pub snapshot: Vec<u8>,
    /// The client table (`V_req`, cached replies) at that checkpoint, postcard-encoded.
    pub client_table: Vec<u8>,
    /// The sent log from our own CHECKPOINT in the certificate on, by counter value.
    pub sent: Vec<(u64, LoggedMessage)>,
    /// The view the replica was in.
    pub view: View,
    /// The last view whose NEW-VIEW it installed, and where that view's `S` started.
    pub installed: (View, (View, u64)),
    /// The evidence of its installed view (see [`super::evidence`]).
    pub evidence: Vec<Arc<NewView>>,
    /// The last VIEW-CHANGE and NEW-VIEW it sent, for retransmission.
    pub last_view_change: Option<Arc<ViewChange>>,
    /// See `last_view_change`.
    pub last_new_view: Option<Arc<NewView>>,
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
    pub(crate) fn persist(&self, out: &mut Outbox, record: impl FnOnce() -> Record) {
        if self.config.durable {
            out.persist(encode_record(&record()), false);
        }
    }

    /// Emits a [`Record::Base`] for the stable checkpoint whose certificate holds our own
    /// CHECKPOINT `own_key`, if we kept the state at that checkpoint.
    pub(crate) fn persist_base(&self, own_key: (View, u64), out: &mut Outbox) {
        if !self.config.durable {
            return;
        }
        let Some((snapshot, table)) = self.transfer.snapshots.get(&own_key) else {
            return;
        };
        let image = Image {
            checkpoint_cert: self.checkpoints.stable_cert.clone(),
            snapshot: snapshot.as_ref().clone(),
            client_table: table.as_ref().clone(),
            sent: self.sent.iter().map(|(&c, m)| (c, m.clone())).collect(),
            view: self.view,
            installed: (self.vc.installed, self.vc.installed_base),
            evidence: self.vc.evidence.clone(),
            last_view_change: self.repair.last_view_change.clone(),
            last_new_view: self.repair.last_new_view.clone(),
        };
        out.persist(encode_record(&Record::Base(Box::new(image))), true);
    }
}
