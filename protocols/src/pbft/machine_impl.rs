//! PBFT's replica, client and message behind the driver-facing traits of
//! [`crate::machine`], so the simulator runs PBFT through the same code path as MinBFT.

use super::client::Client;
use super::codec;
use super::messages::Message;
use super::replica::Replica;
use crate::error::ProtocolError;
use crate::machine::{ClientMachine, ProtocolMessage, ReplicaMachine};
use crate::metrics::Metrics;
use crate::minbft::messages::MessageKind;
use crate::node::{ClientId, NodeId, ReplicaId};
use crate::outbox::{Outbox, TimerKind};
use crate::service::Service;
use crate::time::Instant;

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
}

impl<S: Service> ReplicaMachine for Replica<S> {
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
