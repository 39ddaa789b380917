//! Restarting a durable replica from its write-ahead log ([`super::wal`]): the stable
//! checkpoint with its state, the sent log since then, the view it was in and the
//! NEW-VIEWs it installed. No USIG call happens while replaying.

use super::auth::ClientDirectory;
use super::certify::{batch_digest, view_change_digest};
use super::clients::ClientTable;
use super::config::Config;
use super::log::Entry;
use super::messages::{LoggedMessage, NewView, ViewChange};
use super::replica::Replica;
use super::vc_check::s_base;
use super::wal::{Image, Record, decode_record};
use crate::error::ProtocolError;
use crate::node::View;
use crate::outbox::{Outbox, TimerKind};
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use std::sync::Arc;

/// What replaying the log found out, for [`Replica::resume`].
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub(crate) struct Recovered {
    /// The highest counter value among the logged messages (0 if none).
    pub(crate) last_logged: u64,
    /// Set by [`Replica::recover`], cleared by [`Replica::resume`].
    pub(crate) pending: bool,
}

fn corrupt(i: usize, what: impl std::fmt::Display) -> ProtocolError {
    ProtocolError::CorruptLog(format!("record {i}: {what}"))
}

/// The counter value of a logged message.
pub(crate) fn logged_counter(m: &LoggedMessage) -> u64 {
    match m {
        LoggedMessage::Prepare(p) => p.ui.counter,
        LoggedMessage::Commit { commit, .. } => commit.ui.counter,
        LoggedMessage::Checkpoint(c) => c.ui.counter,
        LoggedMessage::ViewChangeRecord { ui, .. } | LoggedMessage::NewViewRecord { ui, .. } => {
            ui.counter
        }
        LoggedMessage::Restart(r) => r.ui.counter,
    }
}

/// The view a logged message was sent in (for a VIEW-CHANGE, the view it moves to).
fn logged_view(m: &LoggedMessage) -> View {
    match m {
        LoggedMessage::Prepare(p) => p.view,
        LoggedMessage::Commit { commit, .. } => commit.view,
        LoggedMessage::Checkpoint(c) => c.view,
        LoggedMessage::ViewChangeRecord { new_view, .. }
        | LoggedMessage::NewViewRecord { new_view, .. } => *new_view,
        LoggedMessage::Restart(r) => r.view,
    }
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// Replica `usig.id()` restarted from its write-ahead log `records` (the payloads of
    /// the [`crate::outbox::Output::Persist`] outputs it emitted, in order; records before
    /// the last `Base` may have been dropped). `usig` is its surviving USIG and `service`
    /// the service in its initial state. Call [`Replica::resume`] before the first input.
    ///
    /// A malformed or inconsistent record is an error ([`ProtocolError::CorruptLog`]),
    /// never a panic: a torn tail must be cut off by the storage before this is called.
    pub fn recover(
        config: Arc<Config>,
        clients: Arc<ClientDirectory>,
        usig: U,
        service: S,
        records: &[Vec<u8>],
    ) -> Result<Self, ProtocolError> {
        let mut r = Replica::new(config, clients, usig, service)?;
        let mut scratch = Outbox::new();
        let mut view = 0;
        let mut last_vc: Option<Arc<ViewChange>> = None;
        for (i, bytes) in records.iter().enumerate() {
            let record = decode_record(bytes).map_err(|e| corrupt(i, e))?;
            match record {
                Record::Base(image) => {
                    r.restore_image(*image).map_err(|e| corrupt(i, e))?;
                    view = r.view;
                    last_vc = r.repair.last_view_change.clone();
                }
                Record::Sent(m) => {
                    view = view.max(logged_view(&m));
                    r.sent.insert(logged_counter(&m), m);
                }
                Record::ViewChange(vc) => {
                    view = view.max(vc.new_view);
                    r.sent.insert(
                        vc.ui.counter,
                        LoggedMessage::ViewChangeRecord {
                            new_view: vc.new_view,
                            digest: view_change_digest(&vc),
                            ui: vc.ui.clone(),
                        },
                    );
                    r.repair.last_view_change = Some(vc.clone());
                    last_vc = Some(vc);
                }
                Record::NewView(nv) => {
                    view = view.max(nv.new_view);
                    r.sent.insert(
                        nv.ui.counter,
                        LoggedMessage::NewViewRecord {
                            new_view: nv.new_view,
                            digest: super::certify::new_view_digest(&nv),
                            ui: nv.ui.clone(),
                        },
                    );
                    r.repair.last_new_view = Some(nv);
                }
                Record::Installed(nv) => {
                    view = view.max(nv.new_view);
                    r.replay_install(&nv, &mut scratch);
                    scratch.clear();
                }
            }
        }
        r.recovered.last_logged = r.sent.keys().next_back().copied().unwrap_or(0).max(
            r.checkpoints
                .stable_cert
                .iter()
                .find(|c| c.sender == r.id)
                .map_or(0, |c| c.ui.counter),
        );
        if r.recovered.last_logged > r.usig.last_counter() {
            return Err(ProtocolError::CorruptLog(format!(
                "the log holds counter value {} but the USIG is at {}: not this replica's \
                 log, or the USIG was reset",
                r.recovered.last_logged,
                r.usig.last_counter()
            )));
        }
        r.finish_recovery(view, last_vc);
        r.recovered.pending = true;
        Ok(r)
    }

    /// Restores a [`Record::Base`].
    fn restore_image(&mut self, image: Image) -> Result<(), String> {
        let first = image
            .checkpoint_cert
            .first()
            .cloned()
            .ok_or("a base without a checkpoint certificate")?;
        if !image.checkpoint_cert.iter().any(|c| c.sender == self.id) {
            return Err("a base whose certificate lacks our own CHECKPOINT".into());
        }
        let table: ClientTable =
            postcard::from_bytes(&image.client_table).map_err(|e| format!("client table: {e}"))?;
        if table.records.len() != self.table.records.len() {
            return Err("client table of another group".into());
        }
        self.service
            .restore(&image.snapshot)
            .map_err(|e| format!("snapshot: {e}"))?;
        self.table = table;
        for rec in &mut self.table.records {
            rec.in_flight = 0;
            rec.next = None;
        }
        if self.state_digest() != first.state_digest {
            return Err("the snapshot does not match the checkpoint's digest".into());
        }
        let key = (first.view, first.counter);
        self.log = Default::default();
        self.log.last_executed_view = first.view;
        self.log.last_executed = first.counter;
        self.log.executed_batch = key;
        self.checkpoints = Default::default();
        self.checkpoints.stable = first.counter;
        for c in &image.checkpoint_cert {
            if c.sender != self.id {
                self.fifo.jump(c.sender, c.ui.counter);
            }
        }
        self.checkpoints.stable_cert = image.checkpoint_cert;
        self.transfer.snapshots.clear();
        self.transfer.snapshots.insert(
            key,
            (Arc::new(image.snapshot), Arc::new(image.client_table)),
        );
        self.sent = image.sent.into_iter().collect();
        self.vc.evidence = image.evidence;
        (self.vc.installed, self.vc.installed_base) = image.installed;
        self.enter_view(image.view);
        self.repair.last_view_change = image.last_view_change;
        self.repair.last_new_view = image.last_new_view;
        Ok(())
    }

    /// Replays the installation of NEW-VIEW `nv` on the recovered state: executes its `S`
    /// where the state allows it, else waits for a state transfer, as `install` does; but
    /// creates no UI (the CHECKPOINT `install` took is in the log already).
    fn replay_install(&mut self, nv: &Arc<NewView>, scratch: &mut Outbox) {
        let base = s_base(&nv.view_changes);
        let mine = (self.log.last_executed_view, self.log.last_executed);
        let start = nv.ui.counter;
        if self.log.behind || mine < base {
            self.log.behind = true;
            self.transfer.resume = Some(super::transfer::Resume {
                view: nv.new_view,
                start,
                base,
                s: nv.prepares.clone(),
            });
        } else {
            for p in &nv.prepares {
                if (p.view, p.ui.counter) > self.log.executed_batch {
                    self.execute_batch(p, scratch);
                    self.log.last_executed_view = p.view;
                }
            }
        }
        self.enter_view(nv.new_view);
        self.vc.installed = nv.new_view;
        self.vc.installed_base = base;
        self.vc.evidence = super::evidence::evidence_of_install(nv);
        self.vc.changing = false;
        self.vc.received.retain(|_, vc| vc.new_view > nv.new_view);
        self.log.entries.clear();
        self.log.early.clear();
        self.log.unexecuted = 0;
        self.checkpoints.votes.clear();
        self.checkpoints.stable = start - 1;
        if !self.log.behind {
            self.log.last_executed = start;
            self.log.last_executed_view = nv.new_view;
            self.keep_snapshot(nv.new_view, start);
        }
    }

    /// Settles the view after replaying: in the latest view it sent anything for, still
    /// changing to it if its last VIEW-CHANGE was for that view and it installed no
    /// NEW-VIEW for it; as primary, its own PREPAREs of that view above the execution
    /// point go back into the message log (nobody else will send them to it).
    fn finish_recovery(&mut self, view: View, last_vc: Option<Arc<ViewChange>>) {
        if view > self.view {
            self.enter_view(view);
        }
        let me = self.id as usize;
        if let Some(vc) = last_vc {
            self.vc.left_view[me] = self.vc.left_view[me].max(vc.new_view);
            self.vc.requested[me] = self.vc.requested[me].max(vc.new_view);
            if vc.new_view == self.view && self.vc.installed < self.view {
                self.vc.changing = true;
                self.vc.received.insert(self.id, vc);
            }
        }
        // Our own CHECKPOINTs above the stable one certify states we reached before the
        // crash: evidence for a state transfer (not votes: we have not re-executed to them),
        // so one peer's matching CHECKPOINT is enough to fetch that state when the batches
        // up to it can no longer be retransmitted.
        let stable = self.checkpoints.stable;
        if let Some(own) = self.sent.values().rev().find_map(|m| match m {
            LoggedMessage::Checkpoint(c) if c.counter > stable => Some(c.clone()),
            _ => None,
        }) {
            self.transfer.evidence.insert(self.id, own);
        }
        if self.vc.changing || self.log.behind || self.log.last_executed_view != self.view {
            return;
        }
        let executed = self.log.last_executed;
        for (&c, m) in self.sent.range(executed + 1..) {
            if let LoggedMessage::Prepare(p) = m
                && p.view == self.view
                && p.primary == self.id
            {
                self.log.entries.insert(
                    c,
                    Entry {
                        prepare: p.clone(),
                        digest: batch_digest(&p.batch),
                        votes: 1 << self.id,
                        own_commit: None,
                    },
                );
                self.log.unexecuted += 1;
            }
        }
    }

    /// The first input after [`Replica::recover`]: arms the timers the replica's state
    /// needs (the view-change timer if it is changing views, retransmission requests) and
    /// tells its peers about counter values it consumed but never logged (see
    /// [`super::restart`]). A no-op on a replica that was not recovered.
    pub fn resume(&mut self, now: Instant, out: &mut Outbox) {
        if !self.recovered.pending {
            return;
        }
        self.recovered.pending = false;
        if self.vc.changing {
            out.set_timer(TimerKind::ViewChange, now + self.vc.timeout);
        }
        self.announce_restart(now, out);
        self.arm_repair(now, out);
    }
}
