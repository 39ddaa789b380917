//! MinBFT's replica, client and message behind the driver-facing traits of
//! [`crate::machine`].

use super::certify;
use super::codec;
use super::messages::{Message, MessageKind};
use super::replica::Replica;
use crate::client::Client;
use crate::error::ProtocolError;
use crate::machine::{ClientMachine, ProtocolMessage, ReplicaMachine, UiClaim};
use crate::metrics::Metrics;
use crate::node::{ClientId, NodeId, ReplicaId};
use crate::outbox::{Outbox, TimerKind};
use crate::service::Service;
use crate::time::Instant;
use minlab_usig::Usig;

impl ProtocolMessage for Message {
    fn kind(&self) -> MessageKind {
        Message::kind(self)
    }

    fn encode_into(&self, buf: &mut Vec<u8>) -> Result<(), ProtocolError> {
        codec::encode_into(self, buf)
    }

    fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        codec::decode(bytes)
    }

    fn ui_claim(&self) -> Option<UiClaim<'_>> {
        let (signer, ui, bytes) = match self {
            Message::Prepare(p) => (
                p.primary,
                &p.ui,
                certify::prepare_bytes(p.view, &certify::batch_digest(&p.batch)).to_vec(),
            ),
            Message::Commit(c) => (
                c.sender,
                &c.ui,
                certify::commit_bytes(c.view, c.prepare_ui.counter, &c.digest).to_vec(),
            ),
            Message::Checkpoint(c) => (
                c.sender,
                &c.ui,
                certify::checkpoint_bytes(c.view, c.counter, &c.state_digest).to_vec(),
            ),
            Message::ViewChange(v) => (v.sender, &v.ui, certify::view_change_bytes(v).to_vec()),
            Message::NewView(v) => (v.sender, &v.ui, certify::new_view_bytes(v).to_vec()),
            Message::Restart(r) => (
                r.sender,
                &r.ui,
                certify::restart_bytes(r.view, r.last_logged).to_vec(),
            ),
            _ => return None,
        };
        Some(UiClaim { signer, ui, bytes })
    }
}

impl<U: Usig, S: Service> ReplicaMachine for Replica<U, S> {
    type Message = Message;

    fn id(&self) -> ReplicaId {
        Replica::id(self)
    }

    fn on_message(&mut self, now: Instant, from: NodeId, msg: Message, out: &mut Outbox) {
        Replica::on_message(self, now, from, msg, out)
    }

    fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Outbox) {
        Replica::on_timer(self, now, kind, out)
    }

    fn metrics(&self) -> &Metrics {
        Replica::metrics(self)
    }

    fn usig_last_counter(&self) -> u64 {
        self.usig().last_counter()
    }

    fn resume(&mut self, now: Instant, out: &mut Outbox) {
        Replica::resume(self, now, out);
    }
}

impl ClientMachine for Client {
    type Message = Message;

    fn id(&self) -> ClientId {
        Client::id(self)
    }

    fn is_idle(&self) -> bool {
        Client::is_idle(self)
    }

    fn submit(
        &mut self,
        now: Instant,
        op: Vec<u8>,
        out: &mut Outbox,
    ) -> Result<u64, ProtocolError> {
        Client::submit(self, now, op, out)
    }

    fn on_message(&mut self, now: Instant, from: NodeId, msg: Message, out: &mut Outbox) {
        Client::on_message(self, now, from, msg, out)
    }

    fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Outbox) {
        Client::on_timer(self, now, kind, out)
    }

    fn metrics(&self) -> &Metrics {
        Client::metrics(self)
    }
}
