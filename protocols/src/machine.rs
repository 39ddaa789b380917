//! The driver-facing interface of every protocol: what the simulator, the model checker
//! and the network adapter need from a replica, a client and a message, so that MinBFT,
//! PBFT and MinZyzyva run through one driver code path.

use crate::error::ProtocolError;
use crate::metrics::Metrics;
use crate::minbft::messages::MessageKind;
use crate::node::{ClientId, NodeId, ReplicaId};
use crate::outbox::{Outbox, TimerKind};
use crate::time::Instant;
use minlab_usig::Ui;

/// What a UI-carrying message claims: that `signer`'s USIG gave counter value
/// `ui.counter` to exactly `bytes`. Oracles check such claims (a correct USIG never
/// certifies two byte strings with one value).
#[derive(Clone, Debug)]
pub struct UiClaim<'a> {
    /// The replica whose USIG created the UI.
    pub signer: ReplicaId,
    /// The UI.
    pub ui: &'a Ui,
    /// The bytes the UI certifies.
    pub bytes: Vec<u8>,
}

/// A protocol's wire message: a kind for counting, and a bounded, panic-free codec.
pub trait ProtocolMessage: Clone + std::fmt::Debug + Send + 'static {
    /// The paper's name of this message, for counters and traces.
    fn kind(&self) -> MessageKind;

    /// Appends the encoding of `self` to `buf`.
    fn encode_into(&self, buf: &mut Vec<u8>) -> Result<(), ProtocolError>;

    /// Decodes one message occupying all of `bytes`; hostile bytes give an error.
    fn decode(bytes: &[u8]) -> Result<Self, ProtocolError>;

    /// The UI this message carries as its own identifier and what it certifies, if it
    /// carries one (protocols without a USIG: never).
    fn ui_claim(&self) -> Option<UiClaim<'_>> {
        None
    }

    /// Encoded size in bytes (0 if it cannot be encoded).
    fn encoded_len(&self) -> usize {
        let mut buf = Vec::new();
        self.encode_into(&mut buf).map_or(0, |()| buf.len())
    }
}

/// A replica of some protocol, as a driver sees it: inputs in, effects out.
pub trait ReplicaMachine {
    /// The protocol's messages.
    type Message: ProtocolMessage;

    /// This replica's identifier.
    fn id(&self) -> ReplicaId;

    /// Handles a message from `from` at `now`.
    fn on_message(
        &mut self,
        now: Instant,
        from: NodeId,
        msg: Self::Message,
        out: &mut Outbox<Self::Message>,
    );

    /// Handles the firing of timer `kind` at `now`.
    fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Outbox<Self::Message>);

    /// Counters of what this replica did.
    fn metrics(&self) -> &Metrics;

    /// The last value of the replica's trusted counter (0 for protocols without a USIG),
    /// so a driver can restart a replica whose counter survives a crash.
    fn usig_last_counter(&self) -> u64 {
        0
    }

    /// The first input of a replica restarted from its write-ahead log (arms its timers,
    /// announces lost counter values); a no-op by default.
    fn resume(&mut self, now: Instant, out: &mut Outbox<Self::Message>) {
        let _ = (now, out);
    }
}

/// A client of some protocol, as a driver sees it.
pub trait ClientMachine {
    /// The protocol's messages.
    type Message: ProtocolMessage;

    /// This client's identifier.
    fn id(&self) -> ClientId;

    /// True when no request is outstanding (a new one may be submitted).
    fn is_idle(&self) -> bool;

    /// Starts operation `op`; returns its request number. Fails if one is outstanding.
    fn submit(
        &mut self,
        now: Instant,
        op: Vec<u8>,
        out: &mut Outbox<Self::Message>,
    ) -> Result<u64, ProtocolError>;

    /// Handles a message from `from` at `now`.
    fn on_message(
        &mut self,
        now: Instant,
        from: NodeId,
        msg: Self::Message,
        out: &mut Outbox<Self::Message>,
    );

    /// Handles the firing of timer `kind` at `now`.
    fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Outbox<Self::Message>);

    /// Counters of what this client did.
    fn metrics(&self) -> &Metrics;
}
