//! The driver's network: messages in flight and the seeded faults applied to them.

use crate::minbft::messages::Message;
use crate::node::NodeId;

/// A message in flight.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Envelope {
    /// Sender.
    pub from: NodeId,
    /// Receiver; `None` for a broadcast to every replica but the sender. Broadcasts stay
    /// one queue entry when the network is fault-free (delivered to all recipients in
    /// turn, the same order as one entry per recipient), and are split per recipient when
    /// faults may drop or reorder them individually.
    pub to: Option<NodeId>,
    /// The message.
    pub msg: Message,
}

/// Network faults, all drawn from one seeded ChaCha generator.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct NetworkFaults {
    /// Probability, in thousandths, that a delivery is dropped.
    pub drop_per_mille: u32,
    /// Probability, in thousandths, that a delivery is duplicated (re-queued at the end).
    pub duplicate_per_mille: u32,
    /// Deliver a uniformly chosen message among the first `reorder_window` queued (0 or 1
    /// keeps FIFO order).
    pub reorder_window: usize,
}

impl NetworkFaults {
    pub(crate) fn any(&self) -> bool {
        self.drop_per_mille > 0 || self.duplicate_per_mille > 0 || self.reorder_window > 1
    }
}
