//! Scripts for Byzantine replicas. Most wrap a correct replica and distort what it does
//! (drop, redirect, replay, alter); each is limited to the replica's own USIG and keys.

use super::params::Params;
use super::{Adversary, ScriptError, TICK};
use crate::Dur;
use minlab_protocols::minbft::ClientDirectory;
use minlab_protocols::minbft::messages::{Reply, ReqViewChange};
use minlab_protocols::service::Service;
use minlab_protocols::{Instant, Message, NodeId, Outbox, Output, Replica, TimerKind};
use minlab_usig::Usig;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;
use std::sync::Arc;

/// What a script may know besides its own replica.
pub struct ReplicaContext {
    /// Size of the group.
    pub replica_count: u32,
    /// Seed of the script's own random choices.
    pub seed: u64,
    /// The replica's own client keys (to authenticate replies it alters).
    pub clients: Arc<ClientDirectory>,
}

/// Most messages a replaying replica remembers.
const REPLAY_MEMORY: usize = 256;

enum Script {
    Silent,
    PrepareSubset { to: Vec<u32> },
    Replay { probability: f64 },
    WrongReplies,
    ReqViewChangeStorm { every: Dur },
}

struct Wrapped<U, S> {
    inner: Replica<U, S>,
    script: Script,
    n: u32,
    rng: ChaCha8Rng,
    clients: Arc<ClientDirectory>,
    scratch: Outbox,
    memory: VecDeque<Message>,
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
        other => {
            return Err(ScriptError {
                script: other.to_string(),
                reason: "this script is not implemented in the simulator yet".into(),
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

    /// Passes the inner replica's outputs through the script.
    fn distort(&mut self, now: Instant, out: &mut Outbox) {
        let mut scratch = std::mem::take(&mut self.scratch);
        for o in scratch.drain() {
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
        if let Script::ReqViewChangeStorm { every } = self.script {
            out.set_timer(TICK, Instant(now.0 + every.ns()));
        }
    }

    fn on_message(&mut self, now: Instant, from: NodeId, msg: Message, out: &mut Outbox) {
        if matches!(self.script, Script::Silent) {
            return;
        }
        self.remember(&msg);
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
            return;
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        self.inner.on_timer(now, kind, &mut scratch);
        self.scratch = scratch;
        self.distort(now, out);
    }
}
