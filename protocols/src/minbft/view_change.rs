//! The view change of paper §4: `T_exec` on backups, REQ-VIEW-CHANGE, moving to a new view
//! on `f + 1` of them, VIEW-CHANGE with `C_latest` and `O`, and `T_vc` with exponential
//! backoff. Validity checks and `S` live in [`super::vc_check`], NEW-VIEW in
//! the `new_view` module.
//!
//! **Execution order across views.** Sequence numbers are counter values of each view's
//! primary, so a batch is identified by `(view, counter)` and batches execute in that
//! lexicographic order. A checkpoint names the `(view, counter)` of the last batch it
//! covers; the first sequence number of view `v'` is the NEW-VIEW's counter value plus one.
//!
//! **`O`: what a replica sent.** Every UI message a replica creates (PREPARE, COMMIT,
//! CHECKPOINT, and records of its VIEW-CHANGEs and NEW-VIEWs) goes into its sent log,
//! keyed by its own counter value; a COMMIT is logged with the PREPARE it names, so that
//! `O` carries every batch the replica voted for, not just its digest. When a checkpoint
//! becomes stable (its certificate always holds the replica's own CHECKPOINT), the sent
//! log drops everything up to that CHECKPOINT's counter value. A correct replica never
//! votes for a batch above a checkpoint before it sent that CHECKPOINT: a PREPARE past an
//! unexecuted checkpoint boundary waits (see [`super::normal`]), so every vote for a batch
//! above `C_latest` has a counter value above the replica's own CHECKPOINT and is in `O`.
//! Validity (checked by everyone): `O` holds exactly the counter values from just after
//! the sender's CHECKPOINT in `C_latest` (or from 1) to `UI - 1`, each UI verified, each
//! PREPARE's UI by its primary verified too.
//!
//! **Why an accepted batch is in `S`.** Let a correct replica accept batch `B` of view
//! `v`: `f + 1` replicas voted (the PREPARE and `f` COMMITs), processed in FIFO order. The
//! new primary's `V_vc` holds VIEW-CHANGEs of `f + 1` replicas; with `n = 2f + 1` the two
//! sets share a replica `r`. If `r` is correct it voted while in view `v`, hence before
//! its VIEW-CHANGE (it stops processing `v` once it sends one), so its vote's counter value
//! is below the VIEW-CHANGE's. If `r` is faulty, the acceptor processed `r`'s vote in
//! `r`'s counter order, and a replica ignores `r`'s normal-case messages of a view below
//! one `r` already asked to leave (`left_view`): so no VIEW-CHANGE of `r` for a view above
//! `v` precedes the vote, and again the vote's counter value is below the VIEW-CHANGE's.
//! Either `B` is at or below `r`'s checkpoint, hence covered by the most recent
//! certificate (where `S` starts), or `r`'s vote is above `r`'s CHECKPOINT in `C_latest`
//! and therefore in `r`'s gap-free, verified `O`, together with the PREPARE. `S` takes
//! every verified PREPARE above the most recent certificate, so `B` is in `S`, at its
//! original `(view, counter)`. USIG uniqueness makes `(view, counter)` name one batch, so
//! no two correct replicas execute different batches at the same position. `S` is a
//! deterministic function of `V_vc`, which every backup recomputes.
//!
//! **Across several view changes.** `S` may hold batches that were only prepared; once a
//! replica installs view `w` it has executed exactly `S_w`, so a later `S` must neither
//! drop a batch of `S_w` nor resurrect an older prepared batch that `S_w` left out. A
//! VIEW-CHANGE therefore also reports the last view its sender installed
//! (`installed_view`), where that view's `S` started (`installed_base`), and the batches of
//! that `S` (`adopted`, each verified by its primary's UI). With `w` the latest installed
//! view in `V_vc`, `S` starts at the later of the most recent certificate and `w`'s start,
//! keeps batches of views below `w` only if adopted by a member that installed `w`, and
//! takes batches of views `w` and above from the `O` sets. Replicas that installed `w`
//! installed the same NEW-VIEW (its UI and the FIFO rule), so they report the same `S_w`.
//!
//! **What backs the claim.** `installed_view`, `installed_base` and `adopted` are not
//! covered by the sender's earlier UIs, so a faulty member of `V_vc` could claim an
//! installation that never happened and make `S` drop batches that replicas executed
//! (issue 3). [`Replica::check_view_change`] therefore accepts a claim above the sender's
//! `C_latest` only with the installed NEW-VIEW as evidence (signed by that view's primary,
//! its `V_vc` valid, `S` and the base recomputed, `adopted` equal to that `S`), as the
//! paper does by carrying NEW-VIEW messages in `O`; see [`super::evidence`] for the rules
//! and their limit. A claim of a view whose checkpoint is in `C_latest` is harmless and
//! needs none.
//!
//! **Behind.** A replica whose state is behind `S`'s start stops executing, reports
//! `StateTransferNeeded`, fetches the checkpoint's state, and executes `S` after it. Its
//! VIEW-CHANGEs meanwhile carry the NEW-VIEW it installed, so they are valid before the
//! state transfer ends.

use super::evidence::InstalledEvidence;
use super::messages::{LoggedMessage, Message, MessageKind, ReqViewChange, ViewChange};
use super::replica::Replica;
use crate::event::{Event, RejectReason};
use crate::node::{ClientId, NodeId, ReplicaId, View};
use crate::outbox::{Outbox, TimerKind};
use crate::service::Service;
use crate::time::{Duration, Instant};
use minlab_usig::Usig;
use std::collections::BTreeMap;
use std::sync::Arc;

/// View-change state.
///
/// Bound: one REQ-VIEW-CHANGE view and one VIEW-CHANGE per replica, one watched request
/// per client.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ViewChangeState {
    /// True between sending a VIEW-CHANGE for `view` and installing its NEW-VIEW.
    pub(crate) changing: bool,
    /// Per replica (self included), the highest view it asked for (REQ-VIEW-CHANGE or
    /// VIEW-CHANGE).
    pub(crate) requested: Vec<View>,
    /// Per replica, the highest view it sent a processed VIEW-CHANGE for: its normal-case
    /// messages of lower views are ignored from then on.
    pub(crate) left_view: Vec<View>,
    /// The latest valid VIEW-CHANGE from each replica (self included).
    pub(crate) received: BTreeMap<ReplicaId, Arc<ViewChange>>,
    /// Current `T_vc`, doubled on each expiry, reset when a view is installed.
    pub(crate) timeout: Duration,
    /// `T_exec`: requests this backup saw and has not executed, with when it saw them.
    pub(crate) watched: Watched,
    /// Whether the `T_exec` timer is armed.
    pub(crate) exec_timer_armed: bool,
    /// The last view whose NEW-VIEW this replica installed (0 initially).
    pub(crate) installed: View,
    /// Where that view's `S` started (see [`ViewChange::installed_base`]).
    pub(crate) installed_base: (View, u64),
    /// That view's NEW-VIEW (stripped) and the NEW-VIEWs proving its members' claims: the
    /// evidence of our VIEW-CHANGEs while `C_latest` is of an older view (see
    /// [`super::evidence`]). Bound: [`super::evidence::EVIDENCE_NEW_VIEWS_MAX`].
    pub(crate) evidence: Vec<Arc<super::messages::NewView>>,
}

/// `T_exec` bookkeeping: per client, the request seen and not executed, with when it was
/// seen. A flat table (touched on every request at every backup). Bound: one per client.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Watched {
    slots: Vec<Option<(u64, Instant)>>,
    count: usize,
}

impl Watched {
    fn new(client_count: u32) -> Self {
        Watched {
            slots: vec![None; client_count as usize],
            count: 0,
        }
    }

    /// Watches `client`'s request `seq` seen at `now` (a newer one replaces an older one).
    fn insert(&mut self, client: ClientId, seq: u64, now: Instant) {
        let Some(slot) = self.slots.get_mut(client as usize) else {
            return;
        };
        match slot {
            Some((s, _)) if *s >= seq => {}
            Some(_) => *slot = Some((seq, now)),
            None => {
                *slot = Some((seq, now));
                self.count += 1;
            }
        }
    }

    /// Stops watching `client` if its watched request is at most `seq`; true if it did.
    fn remove_up_to(&mut self, client: ClientId, seq: u64) -> bool {
        match self.slots.get_mut(client as usize) {
            Some(slot @ Some(_)) if slot.is_some_and(|(s, _)| s <= seq) => {
                *slot = None;
                self.count -= 1;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn oldest(&self) -> Option<Instant> {
        if self.count == 0 {
            return None;
        }
        self.slots.iter().flatten().map(|&(_, t)| t).min()
    }

    /// Restarts every watch at `now` (a new view gives its primary a full `T_exec`).
    pub(crate) fn restart(&mut self, now: Instant) {
        for (_, t) in self.slots.iter_mut().flatten() {
            *t = now;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
        self.count = 0;
    }
}

impl ViewChangeState {
    pub(crate) fn new(replica_count: u32, client_count: u32, timeout: Duration) -> Self {
        ViewChangeState {
            changing: false,
            requested: vec![0; replica_count as usize],
            left_view: vec![0; replica_count as usize],
            received: BTreeMap::new(),
            timeout,
            watched: Watched::new(client_count),
            exec_timer_armed: false,
            installed: 0,
            installed_base: (0, 0),
            evidence: Vec::new(),
        }
    }
}

impl<U: Usig, S: Service> Replica<U, S> {
    /// Records a UI message this replica created, for `O` and retransmission, and (when
    /// durable) in the write-ahead log; VIEW-CHANGEs and NEW-VIEWs are logged whole by
    /// their creators.
    pub(crate) fn log_sent(&mut self, counter: u64, m: LoggedMessage, out: &mut Outbox) {
        if !matches!(
            m,
            LoggedMessage::ViewChangeRecord { .. } | LoggedMessage::NewViewRecord { .. }
        ) {
            self.persist(out, || super::wal::Record::Sent(m.clone()));
        }
        self.sent.insert(counter, m);
    }

    /// Paper §4: a backup that receives a request arms `T_exec` for it.
    pub(crate) fn watch_request(
        &mut self,
        now: Instant,
        client: ClientId,
        seq: u64,
        out: &mut Outbox,
    ) {
        self.vc.watched.insert(client, seq, now);
        if !self.vc.exec_timer_armed {
            self.arm_exec_timer(out);
        }
        self.arm_repair(now, out);
    }

    /// Arms `T_exec` for the oldest watched request, or disarms it when none is left.
    pub(crate) fn arm_exec_timer(&mut self, out: &mut Outbox) {
        let oldest = self.vc.watched.oldest();
        match oldest {
            Some(t) if !self.vc.changing && !self.is_primary() => {
                self.vc.exec_timer_armed = true;
                out.set_timer(TimerKind::RequestTimeout, t + self.config.request_timeout);
            }
            _ if self.vc.exec_timer_armed => {
                self.vc.exec_timer_armed = false;
                out.cancel_timer(TimerKind::RequestTimeout);
            }
            _ => {}
        }
    }

    /// A request executed: stop watching it; disarm `T_exec` when nothing is watched (a
    /// deadline left for a removed request is re-evaluated when it fires).
    pub(crate) fn unwatch(&mut self, client: ClientId, seq: u64, out: &mut Outbox) {
        if self.vc.watched.remove_up_to(client, seq)
            && self.vc.watched.is_empty()
            && self.vc.exec_timer_armed
        {
            self.vc.exec_timer_armed = false;
            out.cancel_timer(TimerKind::RequestTimeout);
        }
    }

    /// `T_exec` expired: if a watched request really waited that long, suspect the primary
    /// and send REQ-VIEW-CHANGE(v, v + 1); else re-arm for the oldest one.
    pub(crate) fn on_request_timeout(&mut self, now: Instant, out: &mut Outbox) {
        self.vc.exec_timer_armed = false;
        let expired = self
            .vc
            .watched
            .oldest()
            .is_some_and(|t| t + self.config.request_timeout <= now);
        if !expired || self.vc.changing || self.is_primary() {
            return self.arm_exec_timer(out);
        }
        let target = self.view + 1;
        self.request_view_change(now, target, out);
    }

    /// Sends REQ-VIEW-CHANGE for `target` and counts our own.
    pub(crate) fn request_view_change(&mut self, now: Instant, target: View, out: &mut Outbox) {
        self.broadcast_req_view_change(target, out);
        self.check_move(now, out);
    }

    /// Multicasts REQ-VIEW-CHANGE(v, `target`) and records our own request.
    fn broadcast_req_view_change(&mut self, target: View, out: &mut Outbox) {
        let me = self.id as usize;
        self.vc.requested[me] = self.vc.requested[me].max(target);
        let m = ReqViewChange {
            sender: self.id,
            view: self.view,
            new_view: target,
        };
        self.metrics.count_sent(MessageKind::ReqViewChange);
        out.broadcast(Message::ReqViewChange(Arc::new(m)));
    }

    /// A REQ-VIEW-CHANGE arrives (it carries no UI).
    pub(crate) fn on_req_view_change(
        &mut self,
        now: Instant,
        from: NodeId,
        m: Arc<ReqViewChange>,
        out: &mut Outbox,
    ) {
        let kind = MessageKind::ReqViewChange;
        if let Some(reason) = self.peer_rejection(from, m.sender) {
            return self.reject(from, kind, reason, out);
        }
        if m.new_view <= self.view || m.new_view <= m.view {
            return self.reject(from, kind, RejectReason::StaleView, out);
        }
        let r = &mut self.vc.requested[m.sender as usize];
        *r = (*r).max(m.new_view);
        self.check_move(now, out);
    }

    /// Paper §4: with `f + 1` replicas (self included) asking for a view above ours, move
    /// to the highest such view that `f + 1` of them support.
    pub(crate) fn check_move(&mut self, now: Instant, out: &mut Outbox) {
        let quorum = self.config.quorum() as usize;
        let mut asked: Vec<View> = self.vc.requested.clone();
        asked.sort_unstable_by(|a, b| b.cmp(a));
        let target = asked[quorum - 1];
        if target > self.view {
            self.start_view_change(now, target, out);
        }
    }

    /// Moves to view `target` and multicasts VIEW-CHANGE(`target`, `C_latest`, `O`); stops
    /// normal-case processing of the old view and resets primary-only state.
    pub(crate) fn start_view_change(&mut self, now: Instant, target: View, out: &mut Outbox) {
        debug_assert!(target > self.view);
        self.enter_view(target);
        self.vc.changing = true;
        let me = self.id as usize;
        self.vc.requested[me] = self.vc.requested[me].max(target);
        self.arm_exec_timer(out);
        out.set_timer(TimerKind::ViewChange, now + self.vc.timeout);
        self.send_view_change(now, target, out);
    }

    /// Multicasts VIEW-CHANGE(`target`, `C_latest`, `O`) for the view this replica is
    /// changing to (again, when it created another UI message since its last one).
    pub(crate) fn send_view_change(&mut self, now: Instant, target: View, out: &mut Outbox) {
        let me = self.id as usize;
        let (adopted, installed_evidence) = self.installed_claim();
        let mut vc = ViewChange {
            sender: self.id,
            new_view: target,
            checkpoint_cert: self.checkpoints.stable_cert.clone(),
            log: self
                .sent
                .range(self.o_start()..)
                .map(|(_, m)| m.clone())
                .collect(),
            adopted,
            installed_view: self.vc.installed,
            installed_base: self.vc.installed_base,
            installed_evidence,
            ui: minlab_usig::Ui {
                counter: 0,
                cert: minlab_usig::Certificate::Symbolic(0),
            },
        };
        let digest = super::certify::view_change_digest(&vc);
        self.metrics.usig_creates += 1;
        let bytes =
            super::certify::tagged_view_digest(super::certify::TAG_VIEW_CHANGE, target, &digest);
        match self.usig.create_ui(&bytes) {
            Ok(ui) => vc.ui = ui,
            Err(error) => {
                return out.event(Event::UsigFailed {
                    error: Box::new(error),
                });
            }
        }
        let counter = vc.ui.counter;
        self.log_sent(
            counter,
            LoggedMessage::ViewChangeRecord {
                new_view: target,
                digest,
                ui: vc.ui.clone(),
            },
            out,
        );
        let vc = Arc::new(vc);
        self.persist(out, || super::wal::Record::ViewChange(vc.clone()));
        if !self.uncounted(&vc) {
            self.vc.received.insert(self.id, vc.clone());
        }
        self.repair.last_view_change = Some(vc.clone());
        self.arm_repair(now, out);
        self.vc.left_view[me] = target;
        self.metrics.count_sent(MessageKind::ViewChange);
        out.broadcast(Message::ViewChange(vc));
        self.maybe_new_view(now, out);
    }

    /// `adopted` and the evidence of our next VIEW-CHANGE: none while our stable
    /// certificate is of the installed view or later (the claim is harmless), else that
    /// view's `S` above the certificate, shown by its NEW-VIEW.
    fn installed_claim(&self) -> (Vec<Arc<super::messages::Prepare>>, InstalledEvidence) {
        let cert = super::vc_check::cert_key(&self.checkpoints.stable_cert);
        if self.vc.installed <= cert.0 {
            return (Vec::new(), InstalledEvidence::default());
        }
        let adopted = self
            .vc
            .evidence
            .first()
            .filter(|nv| nv.new_view == self.vc.installed)
            .map_or_else(Vec::new, |nv| super::evidence::adopted_from(nv, cert));
        (
            adopted,
            InstalledEvidence::Carried(self.vc.evidence.clone()),
        )
    }

    /// The first counter value of `O`: just after our own CHECKPOINT in the stable
    /// certificate, or 1.
    fn o_start(&self) -> u64 {
        self.checkpoints
            .stable_cert
            .iter()
            .find(|c| c.sender == self.id)
            .map_or(1, |c| c.ui.counter + 1)
    }

    /// Switches the view number and drops what belonged to the old primary's role.
    pub(crate) fn enter_view(&mut self, view: View) {
        self.view = view;
        self.primary = self.config.primary_of(view);
        self.pending.clear();
        self.batch_timer_armed = false;
        for r in &mut self.table.records {
            r.in_flight = 0;
            r.next = None;
        }
    }

    /// `T_vc` expired without a valid NEW-VIEW: double it and go for the next view
    /// (paper §4: `v + 2` when the first attempt was `v + 1`).
    pub(crate) fn on_view_change_timeout(&mut self, now: Instant, out: &mut Outbox) {
        if !self.vc.changing {
            return;
        }
        self.vc.timeout = Duration(self.vc.timeout.0.saturating_mul(2));
        let target = self.view + 1;
        self.broadcast_req_view_change(target, out);
        self.start_view_change(now, target, out);
    }

    /// The current `T_vc`.
    pub fn view_change_timeout(&self) -> Duration {
        self.vc.timeout
    }

    /// True between sending a VIEW-CHANGE and installing the NEW-VIEW.
    pub fn is_changing_view(&self) -> bool {
        self.vc.changing
    }

    /// The sent log: every UI message this replica created since its stable checkpoint
    /// (the `O` of its next VIEW-CHANGE).
    pub fn sent_log(&self) -> impl Iterator<Item = (&u64, &LoggedMessage)> {
        self.sent.iter()
    }
}
