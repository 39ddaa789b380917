//! Scripts for Byzantine replicas. Most wrap a correct replica and distort what it does
//! (drop, redirect, replay, alter); each is limited to the replica's own USIG and keys.

use super::params::Params;
use super::{Adversary, ScriptError, TICK};
use crate::Dur;
use minlab_protocols::minbft::ClientDirectory;
use minlab_protocols::minbft::certify;
use minlab_protocols::minbft::messages::{
    Commit, LoggedMessage, NewView, Prepare, Reply, ReqViewChange, Request, ViewChange,
};
use minlab_protocols::service::Service;
use minlab_protocols::{Instant, Message, NodeId, Outbox, Output, Replica, TimerKind, View};
use minlab_usig::{Ui, Usig};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// Mints a UI with a chosen counter value for the certified bytes: only a compromised
/// trusted component can do this.
pub type Mint = Box<dyn FnMut(u64, &[u8]) -> Option<Ui>>;

/// What a script may know besides its own replica.
pub struct ReplicaContext {
    /// Size of the group.
    pub replica_count: u32,
    /// Seed of the script's own random choices.
    pub seed: u64,
    /// The replica's own client keys (to authenticate replies it alters).
    pub clients: Arc<ClientDirectory>,
    /// For `compromised-usig` only: the broken trusted component.
    pub mint: Option<Mint>,
}

/// Most messages a replaying replica remembers.
const REPLAY_MEMORY: usize = 256;

enum Script {
    Silent,
    PrepareSubset { to: Vec<u32> },
    Replay { probability: f64 },
    WrongReplies,
    ReqViewChangeStorm { every: Dur },
    BurnCounter { every: u64 },
    Equivocate,
    ForgedRequest,
    CommitUnprepared { every: Dur },
    CompromisedUsig,
    ViewChangeAlteredO,
    NewViewWrongS,
}

struct Wrapped<U, S> {
    inner: Replica<U, S>,
    script: Script,
    n: u32,
    rng: ChaCha8Rng,
    clients: Arc<ClientDirectory>,
    scratch: Outbox,
    memory: VecDeque<Message>,
    prepares_sent: u64,
    mint: Option<Mint>,
    /// VIEW-CHANGEs seen (and sent) per target view, by sender (new-view-wrong-s).
    view_changes: BTreeMap<View, BTreeMap<u32, Arc<ViewChange>>>,
    /// Views for which this replica already sent its own (wrong) NEW-VIEW.
    new_views_forged: BTreeSet<View>,
}

/// Builds the script `name` around the correct replica `inner`.
pub fn build_replica<U, S>(
    name: &str,
    params: &toml::Table,
    inner: Replica<U, S>,
    ctx: ReplicaContext,
) -> Result<Box<dyn Adversary>, ScriptError>
where
    U: Usig + 'static,
    S: Service + 'static,
{
    let p = Params {
        script: name,
        table: params,
    };
    let n = ctx.replica_count;
    let me = inner.id();
    let script = match name {
        "silent" => {
            p.only(&[])?;
            Script::Silent
        }
        "prepare-subset" => {
            p.only(&["to"])?;
            let others: Vec<u32> = (0..n).filter(|&r| r != me).collect();
            let to = p.replicas("to", n, others[..1].to_vec())?;
            Script::PrepareSubset { to }
        }
        "replay" => {
            p.only(&["probability"])?;
            Script::Replay {
                probability: p.probability("probability", 0.2)?,
            }
        }
        "wrong-replies" => {
            p.only(&[])?;
            Script::WrongReplies
        }
        "req-view-change-storm" => {
            p.only(&["every"])?;
            Script::ReqViewChangeStorm {
                every: p.duration("every", Dur(1_000_000))?,
            }
        }
        "burn-counter" => {
            p.only(&["every"])?;
            Script::BurnCounter {
                every: p.count("every", 3)?,
            }
        }
        "equivocate" => {
            p.only(&[])?;
            Script::Equivocate
        }
        "forged-request" => {
            p.only(&[])?;
            Script::ForgedRequest
        }
        "commit-unprepared" => {
            p.only(&["every"])?;
            Script::CommitUnprepared {
                every: p.duration("every", Dur(2_000_000))?,
            }
        }
        "compromised-usig" => {
            p.only(&[])?;
            if ctx.mint.is_none() {
                return Err(ScriptError {
                    script: name.into(),
                    reason: "the simulator gave no compromised trusted component".into(),
                });
            }
            Script::CompromisedUsig
        }
        "view-change-altered-o" => {
            p.only(&[])?;
            Script::ViewChangeAlteredO
        }
        "new-view-wrong-s" => {
            p.only(&[])?;
            Script::NewViewWrongS
        }
        other => {
            return Err(ScriptError {
                script: other.to_string(),
                reason: "unknown replica script".into(),
            });
        }
    };
    Ok(Box::new(Wrapped {
        inner,
        script,
        n,
        rng: ChaCha8Rng::seed_from_u64(ctx.seed),
        clients: ctx.clients,
        scratch: Outbox::new(),
        memory: VecDeque::new(),
        prepares_sent: 0,
        mint: ctx.mint,
        view_changes: BTreeMap::new(),
        new_views_forged: BTreeSet::new(),
    }))
}

impl<U: Usig, S: Service> Wrapped<U, S> {
    fn remember(&mut self, msg: &Message) {
        if matches!(self.script, Script::Replay { .. }) {
            if self.memory.len() == REPLAY_MEMORY {
                self.memory.pop_front();
            }
            self.memory.push_back(msg.clone());
        }
    }

    /// The other replicas, split in two halves (the first half is never empty).
    fn halves(&self) -> (Vec<u32>, Vec<u32>) {
        let others: Vec<u32> = (0..self.n).filter(|&r| r != self.inner.id()).collect();
        let mid = others.len().div_ceil(2);
        (others[..mid].to_vec(), others[mid..].to_vec())
    }

    /// A PREPARE like `p` but with batch `batch`, under a fresh UI from the replica's own
    /// USIG (a correct USIG gives it the next counter value: the other is skipped).
    fn fresh_prepare(&mut self, p: &Prepare, batch: Vec<Arc<Request>>) -> Option<Prepare> {
        let bytes = certify::prepare_bytes(p.view, &certify::batch_digest(&batch));
        let ui = self.inner.usig_mut().create_ui(&bytes).ok()?;
        Some(Prepare {
            view: p.view,
            primary: p.primary,
            batch,
            ui,
        })
    }

    /// The batch of `p` with something changed: reversed, or the first request's operation
    /// altered (keeping its now-invalid authenticator) when there is one request.
    fn altered_batch(p: &Prepare) -> Vec<Arc<Request>> {
        let mut batch = p.batch.clone();
        if batch.len() > 1 {
            batch.reverse();
        } else if let Some(first) = batch.first_mut() {
            let mut forged = (**first).clone();
            forged.op.push(0x42);
            *first = Arc::new(forged);
        }
        batch
    }

    /// Distorts one PREPARE the inner primary broadcast. Returns false to pass it through.
    fn on_own_prepare(&mut self, p: &Arc<Prepare>, out: &mut Outbox) -> bool {
        self.prepares_sent += 1;
        match self.script {
            Script::BurnCounter { every } => {
                out.broadcast(Message::Prepare(p.clone()));
                if self.prepares_sent.is_multiple_of(every) {
                    // A value consumed and never sent: a hole in the primary's sequence.
                    let _ = self.inner.usig_mut().create_ui(b"burnt");
                }
                true
            }
            Script::Equivocate => {
                let (a, b) = self.halves();
                for r in a {
                    out.send(NodeId::Replica(r), Message::Prepare(p.clone()));
                }
                let batch = Self::altered_batch(p);
                if let Some(other) = self.fresh_prepare(p, batch) {
                    let other = Arc::new(other);
                    for r in b {
                        out.send(NodeId::Replica(r), Message::Prepare(other.clone()));
                    }
                }
                true
            }
            Script::ForgedRequest => {
                // The genuine PREPARE, then one carrying a forged request under the next
                // counter value (condition 2 must reject it).
                out.broadcast(Message::Prepare(p.clone()));
                let mut forged = (*p.batch[0]).clone();
                forged.op.push(0x42);
                if let Some(f) = self.fresh_prepare(p, vec![Arc::new(forged)]) {
                    out.broadcast(Message::Prepare(Arc::new(f)));
                }
                true
            }
            Script::CompromisedUsig => {
                // Two different PREPAREs under one counter value, one per half.
                let (a, b) = self.halves();
                for r in a {
                    out.send(NodeId::Replica(r), Message::Prepare(p.clone()));
                }
                let batch = Self::altered_batch(p);
                let bytes = certify::prepare_bytes(p.view, &certify::batch_digest(&batch));
                let twin = self.mint.as_mut().and_then(|m| m(p.ui.counter, &bytes));
                if let Some(ui) = twin {
                    let twin = Arc::new(Prepare {
                        view: p.view,
                        primary: p.primary,
                        batch,
                        ui,
                    });
                    for r in b {
                        out.send(NodeId::Replica(r), Message::Prepare(twin.clone()));
                    }
                }
                true
            }
            _ => false,
        }
    }

    /// A COMMIT for a PREPARE that was never sent, under a fresh UI of this replica.
    fn commit_unprepared(&mut self, out: &mut Outbox) {
        let view = self.inner.view();
        let primary = self.inner.config().primary_of(view);
        let mut digest = [0u8; 32];
        self.rng.fill(&mut digest[..]);
        let prepare_counter = self.inner.accepted_counter(primary) + 1_000;
        let fake_prepare_ui = Ui {
            counter: prepare_counter,
            cert: minlab_usig::Certificate::Symbolic(self.rng.random()),
        };
        let bytes = certify::commit_bytes(view, prepare_counter, &digest);
        if let Ok(ui) = self.inner.usig_mut().create_ui(&bytes) {
            let commit = Commit {
                view,
                sender: self.inner.id(),
                primary,
                prepare_ui: fake_prepare_ui,
                digest,
                ui,
            };
            out.broadcast(Message::Commit(Arc::new(commit)));
        }
    }

    /// view-change-altered-o: the genuine VIEW-CHANGE to one half; to the other, a copy
    /// whose O set lost its newest entry, re-signed. The USIG gives the copy a fresh counter
    /// value, so that half sees a hole before it and never processes it.
    fn on_own_view_change(&mut self, vc: &Arc<ViewChange>, out: &mut Outbox) {
        let (a, b) = self.halves();
        for r in a {
            out.send(NodeId::Replica(r), Message::ViewChange(vc.clone()));
        }
        let mut altered = (**vc).clone();
        altered.log.pop();
        if let Ok(ui) = self
            .inner
            .usig_mut()
            .create_ui(&certify::view_change_bytes(&altered))
        {
            altered.ui = ui;
            let altered = Arc::new(altered);
            for r in b {
                out.send(NodeId::Replica(r), Message::ViewChange(altered.clone()));
            }
        }
    }

    /// new-view-wrong-s: once `f + 1` VIEW-CHANGEs for a view this replica leads are in,
    /// and before the inner replica builds its NEW-VIEW, send a NEW-VIEW of its own whose S
    /// lacks the newest PREPARE. It takes the next counter value, so it passes the FIFO rule;
    /// backups must recompute S and reject it. The inner replica's genuine NEW-VIEW is
    /// suppressed.
    fn maybe_forge_new_view(&mut self, out: &mut Outbox) {
        let me = self.inner.id();
        let quorum = self.inner.config().quorum() as usize;
        let ready: Vec<View> = self
            .view_changes
            .iter()
            .filter(|(v, vcs)| {
                self.inner.config().primary_of(**v) == me
                    && vcs.len() >= quorum
                    && vcs.contains_key(&me)
                    && !self.new_views_forged.contains(v)
            })
            .map(|(v, _)| *v)
            .collect();
        for v in ready {
            self.new_views_forged.insert(v);
            let vcs: Vec<Arc<ViewChange>> = self.view_changes[&v]
                .values()
                .take(quorum)
                .cloned()
                .collect();
            let mut prepares: BTreeMap<(View, u64), Arc<Prepare>> = BTreeMap::new();
            for vc in &vcs {
                for entry in &vc.log {
                    match entry {
                        LoggedMessage::Prepare(p) | LoggedMessage::Commit { prepare: p, .. } => {
                            prepares.insert((p.view, p.ui.counter), p.clone());
                        }
                        _ => {}
                    }
                }
            }
            let mut wrong_s: Vec<Arc<Prepare>> = prepares.into_values().collect();
            wrong_s.pop();
            let mut nv = NewView {
                sender: me,
                new_view: v,
                view_changes: vcs,
                prepares: wrong_s,
                ui: Ui {
                    counter: 0,
                    cert: minlab_usig::Certificate::Symbolic(0),
                },
            };
            if let Ok(ui) = self
                .inner
                .usig_mut()
                .create_ui(&certify::new_view_bytes(&nv))
            {
                nv.ui = ui;
                out.broadcast(Message::NewView(Arc::new(nv)));
            }
        }
    }

    /// Passes the inner replica's outputs through the script.
    fn distort(&mut self, now: Instant, out: &mut Outbox) {
        let mut scratch = std::mem::take(&mut self.scratch);
        for o in scratch.drain() {
            if let Output::Broadcast {
                msg: Message::Prepare(p),
            } = &o
                && !matches!(self.script, Script::Silent)
                && self.on_own_prepare(p, out)
            {
                continue;
            }
            if let Output::Broadcast {
                msg: Message::ViewChange(vc),
            } = &o
            {
                match self.script {
                    Script::ViewChangeAlteredO => {
                        self.on_own_view_change(vc, out);
                        continue;
                    }
                    Script::NewViewWrongS => {
                        self.view_changes
                            .entry(vc.new_view)
                            .or_default()
                            .insert(vc.sender, vc.clone());
                    }
                    _ => {}
                }
            }
            if let (
                Script::NewViewWrongS,
                Output::Broadcast {
                    msg: Message::NewView(_),
                },
            ) = (&self.script, &o)
            {
                continue;
            }
            match (&self.script, o) {
                (Script::Silent, _) => {}
                (
                    Script::PrepareSubset { to },
                    Output::Broadcast {
                        msg: Message::Prepare(p),
                    },
                ) => {
                    for &r in to {
                        out.send(NodeId::Replica(r), Message::Prepare(p.clone()));
                    }
                }
                (
                    Script::WrongReplies,
                    Output::Send {
                        to,
                        msg: Message::Reply(r),
                    },
                ) => {
                    let mut result = r.result.clone();
                    result.push(0xEE);
                    let auth = self.clients.reply_auth(r.client, r.seq, &result);
                    let wrong = Reply {
                        result,
                        auth,
                        ..(*r).clone()
                    };
                    out.send(to, Message::Reply(Box::new(wrong)));
                }
                (_, o) => {
                    if let Output::Send { msg, .. } | Output::Broadcast { msg } = &o {
                        self.remember(msg);
                    }
                    out.push(o);
                }
            }
        }
        self.scratch = scratch;
        if let Script::Replay { probability } = self.script
            && !self.memory.is_empty()
            && self.rng.random_bool(probability)
        {
            let i = self.rng.random_range(0..self.memory.len());
            let to = self.rng.random_range(0..self.n);
            if to != self.inner.id() {
                out.send(NodeId::Replica(to), self.memory[i].clone());
            }
        }
        let _ = now;
    }
}

impl<U: Usig, S: Service> Adversary for Wrapped<U, S> {
    fn start(&mut self, now: Instant, out: &mut Outbox) {
        if let Script::ReqViewChangeStorm { every } | Script::CommitUnprepared { every } =
            self.script
        {
            out.set_timer(TICK, Instant(now.0 + every.ns()));
        }
    }

    fn on_message(&mut self, now: Instant, from: NodeId, msg: Message, out: &mut Outbox) {
        if matches!(self.script, Script::Silent) {
            return;
        }
        self.remember(&msg);
        if let (Script::NewViewWrongS, Message::ViewChange(vc)) = (&self.script, &msg)
            && from == NodeId::Replica(vc.sender)
            && vc.sender < self.n
        {
            self.view_changes
                .entry(vc.new_view)
                .or_default()
                .insert(vc.sender, vc.clone());
            self.maybe_forge_new_view(out);
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        self.inner.on_message(now, from, msg, &mut scratch);
        self.scratch = scratch;
        self.distort(now, out);
    }

    fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Outbox) {
        if matches!(self.script, Script::Silent) {
            return;
        }
        if kind == TICK {
            if let Script::ReqViewChangeStorm { every } = self.script {
                let view = self.inner.view();
                let rvc = ReqViewChange {
                    sender: self.inner.id(),
                    view,
                    new_view: view + 1,
                };
                out.broadcast(Message::ReqViewChange(Arc::new(rvc)));
                out.set_timer(TICK, Instant(now.0 + every.ns()));
            }
            if let Script::CommitUnprepared { every } = self.script {
                self.commit_unprepared(out);
                out.set_timer(TICK, Instant(now.0 + every.ns()));
            }
            return;
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        self.inner.on_timer(now, kind, &mut scratch);
        self.scratch = scratch;
        self.distort(now, out);
    }
}
