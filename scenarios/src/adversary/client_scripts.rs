//! Scripts for Byzantine clients: badly authenticated requests, reused sequence numbers,
//! and floods. A Byzantine client has only its own keys.

use super::params::Params;
use super::{Adversary, ScriptError, TICK};
use crate::Dur;
use minlab_protocols::minbft::messages::{Request, RequestAuth};
use minlab_protocols::minbft::{ClientAuth, ClientKeyring};
use minlab_protocols::service::KvOp;
use minlab_protocols::{ClientId, Instant, Message, NodeId, Outbox, TimerKind};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

enum Script {
    BadSignature,
    ReuseSeq,
    Flood,
}

struct ByzClient {
    id: ClientId,
    keys: ClientKeyring,
    script: Script,
    every: Dur,
    next_seq: u64,
    rng: ChaCha8Rng,
}

/// Builds the client script `name` for client `id`, holding `keys`.
pub fn build_client(
    name: &str,
    params: &toml::Table,
    id: ClientId,
    keys: ClientKeyring,
    seed: u64,
) -> Result<Box<dyn Adversary>, ScriptError> {
    let p = Params {
        script: name,
        table: params,
    };
    p.only(&["every"])?;
    let every = p.duration("every", Dur(1_000_000))?;
    let script = match name {
        "bad-signature" => {
            if keys.mode() == ClientAuth::None {
                return Err(ScriptError {
                    script: name.into(),
                    reason: "needs client_auth = \"ed25519\" or \"mac\": without \
                             authentication there is no signature to break"
                        .into(),
                });
            }
            Script::BadSignature
        }
        "reuse-seq" => Script::ReuseSeq,
        "flood" => Script::Flood,
        other => {
            return Err(ScriptError {
                script: other.into(),
                reason: "unknown client script".into(),
            });
        }
    };
    Ok(Box::new(ByzClient {
        id,
        keys,
        script,
        every,
        next_seq: 1,
        rng: ChaCha8Rng::seed_from_u64(seed),
    }))
}

impl ByzClient {
    fn request(&mut self) -> Request {
        let seq = match self.script {
            // Cycles through 1, 2, 3 with a different operation each time.
            Script::ReuseSeq => (self.next_seq - 1) % 3 + 1,
            _ => self.next_seq,
        };
        self.next_seq += 1;
        let op = KvOp::Put {
            key: u64::from(self.rng.random_range(0..4u8)),
            value: vec![self.rng.random_range(100..200u8)],
        }
        .encode();
        let mut req = Request {
            client: self.id,
            seq,
            auth: RequestAuth::None,
            op,
        };
        req.auth = self.keys.authenticate(&req);
        if let Script::BadSignature = self.script {
            match &mut req.auth {
                RequestAuth::Ed25519(sig) => sig.0[7] ^= 0x40,
                RequestAuth::Macs(tags) => {
                    for t in tags.iter_mut() {
                        t[0] ^= 1;
                    }
                }
                RequestAuth::None => {}
            }
        }
        req
    }
}

impl Adversary for ByzClient {
    fn start(&mut self, now: Instant, out: &mut Outbox) {
        out.set_timer(TICK, Instant(now.0 + self.every.ns()));
    }

    fn on_message(&mut self, _now: Instant, _from: NodeId, _msg: Message, _out: &mut Outbox) {
        // Replies are of no interest to these scripts.
    }

    fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Outbox) {
        if kind == TICK {
            let req = self.request();
            out.broadcast(Message::Request(Arc::new(req)));
            out.set_timer(TICK, Instant(now.0 + self.every.ns()));
        }
    }
}
