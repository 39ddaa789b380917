//! MinZyzyva's replica, client and message behind the driver-facing traits of
//! [`crate::machine`].

use super::certify::{
    checkpoint_bytes, new_view_bytes, new_view_digest, order_bytes, order_digest,
    view_change_bytes, view_change_digest,
};
use super::client::Client;
use super::codec;
use super::messages::Message;
use super::replica::Replica;
use crate::error::ProtocolError;
use crate::machine::{ClientMachine, ProtocolMessage, ReplicaMachine, UiClaim};
use crate::metrics::Metrics;
use crate::minbft::messages::MessageKind;
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

    /// ORDER-REQ (`UI_p`), CHECKPOINT, VIEW-CHANGE and NEW-VIEW. A backup's RESPONSE carries a `UI_s` too, but
    /// what it certifies includes the request digest, which only the client knows, so it
    /// makes no claim here (the replica's UI log still shows its counter values).
    fn ui_claim(&self) -> Option<UiClaim<'_>> {
        match self {
            Message::OrderReq(o) => Some(UiClaim {
                signer: o.primary,
                ui: &o.ui,
                bytes: order_bytes(o.view, &order_digest(&o.batch)).to_vec(),
            }),
            Message::Checkpoint(c) => Some(UiClaim {
                signer: c.sender,
                ui: &c.ui,
                bytes: checkpoint_bytes(c).to_vec(),
            }),
            Message::ViewChange(vc) => Some(UiClaim {
                signer: vc.sender,
                ui: &vc.ui,
                bytes: view_change_bytes(vc.new_view, &view_change_digest(vc)).to_vec(),
            }),
            Message::NewView(nv) => Some(UiClaim {
                signer: nv.sender,
                ui: &nv.ui,
                bytes: new_view_bytes(nv.new_view, &new_view_digest(nv)).to_vec(),
            }),
            _ => None,
        }
    }
}

impl<U: Usig, S: Service> ReplicaMachine for Replica<U, S> {
    type Message = Message;

    fn id(&self) -> ReplicaId {
        Replica::id(self)
    }

    fn on_message(&mut self, now: Instant, from: NodeId, msg: Message, out: &mut Outbox<Message>) {
        Replica::on_message(self, now, from, msg, out)
    }

    fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Outbox<Message>) {
        Replica::on_timer(self, now, kind, out)
    }

    fn metrics(&self) -> &Metrics {
        Replica::metrics(self)
    }

    fn usig_last_counter(&self) -> u64 {
        self.usig().last_counter()
    }

    fn resume(&mut self, now: Instant, out: &mut Outbox<Message>) {
        Replica::resume(self, now, out);
    }
}

impl<V: Usig> ClientMachine for Client<V> {
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
        out: &mut Outbox<Message>,
    ) -> Result<u64, ProtocolError> {
        Client::submit(self, now, op, out)
    }

    fn on_message(&mut self, now: Instant, from: NodeId, msg: Message, out: &mut Outbox<Message>) {
        Client::on_message(self, now, from, msg, out)
    }

    fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Outbox<Message>) {
        Client::on_timer(self, now, kind, out)
    }

    fn metrics(&self) -> &Metrics {
        Client::metrics(self)
    }
}
