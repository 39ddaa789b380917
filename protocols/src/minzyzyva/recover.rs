//! Restarting a durable MinZyzyva replica from its write-ahead log ([`super::wal`]): the
//! stable checkpoint with its state, then the history, sent log, views and NEW-VIEWs as the
//! records tell them, rebuilt by deterministic re-execution. No USIG call and no output
//! happens while replaying; [`Replica::resume`] is the first input afterwards.

use super::certify::checkpoint_bytes;
use super::history::{Entry, History, Outcome, Snapshot};
use super::messages::{Checkpoint, OrderReq, Sent};
use super::replica::{PrimaryMsg, Replica, ZOutbox};
use super::vc_check::cert_base;
use super::wal::{Image, Record, decode_record};
use crate::error::ProtocolError;
use crate::event::Event;
use crate::minbft::auth::ClientDirectory;
use crate::minbft::certify::fnv1a;
use crate::minbft::config::Config;
use crate::outbox::TimerKind;
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What replaying the log found out, for [`Replica::resume`].
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub(crate) struct Recovered {
    /// The highest counter value this replica is known to have used (0 if none).
    pub(crate) last_logged: u64,
    /// Counter values the USIG was past `last_logged` when the replica resumed.
    pub(crate) lost: u64,

    /// Set by [`Replica::recover`], cleared by [`Replica::resume`].
    pub(crate) pending: bool,
}

fn corrupt(i: usize, what: impl std::fmt::Display) -> ProtocolError {
    ProtocolError::CorruptLog(format!("record {i}: {what}"))
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// Replica `usig.id()` restarted from its write-ahead log `records` (the payloads of
    /// the [`crate::outbox::Output::Persist`] outputs it emitted, in order; records before
    /// the last restart point may have been dropped). `usig` is its surviving USIG and
    /// `service` the service in its initial state. Call [`Replica::resume`] before the
    /// first input.
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
        let decoded = records
            .iter()
            .enumerate()
            .map(|(i, b)| decode_record(b).map_err(|e| corrupt(i, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let start = decoded
            .iter()
            .rposition(|rec| matches!(rec, Record::Base(_)))
            .unwrap_or(0);
        for (i, record) in decoded.into_iter().enumerate().skip(start) {
            r.apply(record).map_err(|e| corrupt(i, e))?;
        }
        r.rebuild_order_log();
        let own_cp = r
            .checkpoints
            .stable_cert
            .iter()
            .find(|c| c.sender == r.id)
            .map_or(0, |c| c.ui.counter);
        r.recovered = Recovered {
            last_logged: r.sent.keys().next_back().copied().unwrap_or(0).max(own_cp),
            lost: 0,
            pending: true,
        };
        Ok(r)
    }

    /// The first input after [`Replica::recover`]: arms the view-change timer of a view
    /// change in progress. When the USIG is past the last logged counter value (values
    /// consumed in the crash, never sent), `O` would have a hole from there on: the replica
    /// certifies its stable checkpoint again under a fresh UI, so that `O` starts after
    /// the hole, and if it leads the view it asks for a view change (its ORDER-REQ stream
    /// has a hole no FILL-HOLE can fill). A no-op for a replica that was not recovered.
    pub fn resume(&mut self, now: Instant, out: &mut ZOutbox) {
        if !self.recovered.pending {
            return;
        }
        self.recovered.pending = false;
        if self.vc.changing {
            out.set_timer(TimerKind::ViewChange, now + self.vc.timeout);
        }
        self.recovered.lost = self
            .usig
            .last_counter()
            .saturating_sub(self.recovered.last_logged);
        if self.recovered.lost > 0 {
            self.recertify_own_checkpoints(out);
            self.persist_base(out);
            if self.is_primary() && !self.vc.changing {
                self.abdicate(now, out);
            }
        }
    }

    /// Counter values lost in the last crash: consumed by the USIG, never logged nor sent
    /// (known once the replica resumed; 0 for a replica never recovered).
    pub fn lost_counter_values(&self) -> u64 {
        self.recovered.lost
    }

    /// After a hole of lost counter values, an `O` starting at any of our CHECKPOINTs
    /// created before the crash would show the hole. So our CHECKPOINT in the stable
    /// certificate and our votes for later checkpoints are replaced by new ones of the same
    /// states (slot, last ORDER-REQ, state digest) under fresh UIs, oldest first; `O` then
    /// starts after the first. Sound for the same reason as after a state transfer: what we
    /// sent before for slots above the checkpoint is in our history, which the log rebuilt,
    /// and a VIEW-CHANGE carries the history. Before the first stable checkpoint our
    /// VIEW-CHANGEs still fail the gap check until one forms (a liveness cost only).
    fn recertify_own_checkpoints(&mut self, out: &mut ZOutbox) {
        let me = self.id;
        if let Some(i) = self
            .checkpoints
            .stable_cert
            .iter()
            .position(|c| c.sender == me)
        {
            let Some(cp) = self.resign_checkpoint(&self.checkpoints.stable_cert[i].clone(), out)
            else {
                return;
            };
            self.sent = self.sent.split_off(&(cp.ui.counter + 1));
            self.checkpoints.stable_cert[i] = cp;
        }
        let slots: Vec<u64> = self.checkpoints.votes.keys().copied().collect();
        for slot in slots {
            let Some(old) = self.checkpoints.votes[&slot].get(&me).cloned() else {
                continue;
            };
            let Some(cp) = self.resign_checkpoint(&old, out) else {
                return;
            };
            self.log_sent(Sent::Checkpoint(cp.clone()), out);
            if let Some(v) = self.checkpoints.votes.get_mut(&slot) {
                v.insert(me, cp);
            }
        }
    }

    /// Our CHECKPOINT `old` again, in the current view, under a fresh UI.
    fn resign_checkpoint(
        &mut self,
        old: &Arc<Checkpoint>,
        out: &mut ZOutbox,
    ) -> Option<Arc<Checkpoint>> {
        let mut cp = (**old).clone();
        cp.view = self.view;
        self.metrics.usig_creates += 1;
        match self.usig.create_ui(&checkpoint_bytes(&cp)) {
            Ok(ui) => {
                cp.ui = ui;
                Some(Arc::new(cp))
            }
            Err(error) => {
                out.event(Event::UsigFailed {
                    error: Box::new(error),
                });
                None
            }
        }
    }

    /// Applies one record.
    fn apply(&mut self, record: Record) -> Result<(), String> {
        match record {
            Record::Base(image) => self.restore_image(*image)?,
            Record::Sent(m) => self.replay_sent(m),
            Record::Executed(o) => self.replay_executed(&o)?,
            Record::RolledBack(slot) => {
                if slot < self.history.base_slot || slot >= self.history.head() {
                    return Err(format!(
                        "rollback to slot {slot} outside the history ({}..{})",
                        self.history.base_slot,
                        self.history.head()
                    ));
                }
                let mut scratch = ZOutbox::new();
                self.rollback_to(slot, &mut scratch)
                    .map_err(|e| e.to_string())?;
            }
            Record::View(v) => {
                if v < self.view {
                    return Err(format!("view {v} after view {}", self.view));
                }
                self.view = v;
                self.primary = self.config.primary_of(v);
                self.vc.changing = true;
                self.vc.last_new_view = None;
                let me = self.id as usize;
                self.vc.requested[me] = self.vc.requested[me].max(v);
            }
            Record::Installed { view, start } => {
                if view != self.view {
                    return Err(format!("installed view {view} while in view {}", self.view));
                }
                self.vc.installed = view;
                self.vc.changing = false;
                self.vc.received.retain(|_, vc| vc.new_view > view);
                self.accepted = start;
            }
            Record::Accepted(c) => self.accepted = self.accepted.max(c),
            Record::OwnViewChange(vc) => {
                let me = self.id as usize;
                self.vc.left[me] = (vc.new_view, vc.ui.counter);
                self.vc.received.insert(self.id, vc);
            }
            Record::OwnNewView(nv) => self.vc.last_new_view = Some(nv),
        }
        Ok(())
    }

    /// Starts over from a restart point.
    fn restore_image(&mut self, img: Image) -> Result<(), String> {
        let base = cert_base(&img.checkpoint_cert);
        if base.slot != img.state.slots {
            return Err(format!(
                "restart point at slot {} holds the state of slot {}",
                base.slot, img.state.slots
            ));
        }
        self.service
            .restore(&img.service)
            .map_err(|e| e.to_string())?;
        let state = img.state.to_state();
        if state.records.len() != self.config.client_count as usize {
            return Err("restart point for another number of clients".into());
        }
        self.state = state.clone();
        self.history = History::based_at(
            base.slot,
            Snapshot {
                service: img.service,
                state,
            },
        );
        self.checkpoints = Default::default();
        self.checkpoints.stable = base.slot;
        self.checkpoints.stable_cert = img.checkpoint_cert;
        self.view = img.view;
        self.primary = self.config.primary_of(img.view);
        self.vc.installed = img.installed;
        self.vc.changing = img.changing;
        let me = self.id as usize;
        self.vc.requested[me] = img.view;
        self.vc.received.clear();
        if let Some(vc) = img.own_view_change {
            self.vc.left[me] = (vc.new_view, vc.ui.counter);
            self.vc.received.insert(self.id, vc);
        }
        self.vc.last_new_view = img.own_new_view;
        self.sent = BTreeMap::new();
        let own_checkpoints: Vec<Arc<Checkpoint>> = img
            .sent
            .iter()
            .filter_map(|m| match m {
                Sent::Checkpoint(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        for m in img.sent {
            self.sent.insert(m.ui().counter, m);
        }
        for o in &img.orders {
            self.replay_executed(o)?;
            let slot = self.state.slots;
            for c in own_checkpoints.iter().filter(|c| c.slot == slot) {
                self.replay_own_checkpoint(c);
            }
        }
        self.accepted = self.accepted.max(img.accepted);
        Ok(())
    }

    /// A sent-log record: into `O`; an own CHECKPOINT of the current state also restores
    /// the snapshot and vote it came with.
    fn replay_sent(&mut self, m: Sent) {
        if let Sent::Checkpoint(c) = &m {
            self.replay_own_checkpoint(c);
        }
        if let Sent::Order(o) = &m
            && o.view == self.view
        {
            self.accepted = self.accepted.max(o.ui.counter);
        }
        self.sent.insert(m.ui().counter, m);
    }

    /// Our CHECKPOINT `c`, if it is of the state we are at: its snapshot and vote, and
    /// its place in our counter stream when we lead the view.
    fn replay_own_checkpoint(&mut self, c: &Arc<Checkpoint>) {
        if c.sender != self.id
            || c.slot != self.state.slots
            || c.last != self.head_key()
            || c.state_digest != self.state_digest()
        {
            return;
        }
        self.history.snapshots.insert(
            c.slot,
            Snapshot {
                service: self.service.snapshot(),
                state: self.state.clone(),
            },
        );
        self.checkpoints
            .votes
            .entry(c.slot)
            .or_default()
            .insert(self.id, c.clone());
        if self.is_primary() && !self.vc.changing {
            self.accepted = self.accepted.max(c.ui.counter);
        }
    }

    /// Re-executes one ORDER-REQ appended to the history, as `execute_order` did, without
    /// creating a UI or sending anything.
    fn replay_executed(&mut self, o: &Arc<OrderReq>) -> Result<(), String> {
        if let Some(r) = o
            .batch
            .iter()
            .find(|r| r.client >= self.config.client_count)
        {
            return Err(format!("an ORDER-REQ holds unknown client {}", r.client));
        }
        self.state.append_order(o);
        let outcomes = self
            .execute_batch(&o.batch)
            .into_iter()
            .map(|executed| Outcome {
                position: executed.as_ref().map(|(p, _)| *p),
                result_fnv: executed.as_ref().map_or(0, |(_, r)| fnv1a(r)),
                response: None,
            })
            .collect();
        if o.view == self.view && o.primary == self.primary {
            self.accepted = self.accepted.max(o.ui.counter);
        }
        self.history.push(Entry {
            order: o.clone(),
            outcomes,
            history: self.state.history,
        });
        Ok(())
    }

    /// The current view's primary messages we hold, for FILL-HOLE answers: the ORDER-REQs
    /// of the view in our history and, if we lead it, our CHECKPOINTs since.
    fn rebuild_order_log(&mut self) {
        self.order_log.clear();
        if self.vc.changing {
            return;
        }
        for e in &self.history.entries {
            if e.order.view == self.view && e.order.primary == self.primary {
                self.order_log
                    .insert(e.order.ui.counter, PrimaryMsg::Order(e.order.clone()));
            }
        }
        if self.is_primary() {
            for (&c, m) in &self.sent {
                if let Sent::Checkpoint(cp) = m
                    && cp.view == self.view
                    && cp.slot >= self.checkpoints.stable
                {
                    self.order_log.insert(c, PrimaryMsg::Checkpoint(cp.clone()));
                }
            }
        }
    }
}
