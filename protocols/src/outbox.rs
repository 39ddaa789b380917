//! What a state machine wants done, as data: messages, timers and events the caller drains.

use crate::event::Event;
use crate::minbft::messages::Message;
use crate::node::NodeId;
use crate::time::Instant;
use serde::{Deserialize, Serialize};

/// The fixed table of timers. A node has at most one armed timer of each kind; setting it
/// again moves its deadline.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TimerKind {
    /// Client: no `f + 1` matching replies yet, resend the request (paper §4, Clients).
    Retransmit,
    /// Primary: the open batch waited long enough, send its PREPARE even if not full.
    Batch,
    /// Backup: `T_exec`, a request it saw was not accepted in time; suspect the primary
    /// (paper §4, view change).
    RequestTimeout,
    /// `T_vc`: a VIEW-CHANGE got no NEW-VIEW in time; try the next view.
    ViewChange,
    /// Replica: no progress for a while with messages missing; ask for retransmissions.
    Repair,
}

impl TimerKind {
    /// Every timer kind, in a stable order.
    pub const ALL: [TimerKind; 5] = [
        TimerKind::Retransmit,
        TimerKind::Batch,
        TimerKind::RequestTimeout,
        TimerKind::ViewChange,
        TimerKind::Repair,
    ];
}

/// One effect requested by a replica or a client. `M` is the protocol's message type
/// (MinBFT's [`Message`] unless said otherwise; PBFT and MinZyzyva have their own).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Output<M = Message> {
    /// Send `msg` to one node (replies to clients are sends to a client node).
    Send {
        /// Destination.
        to: NodeId,
        /// The message; large messages share their body through an `Arc`.
        msg: M,
    },
    /// Send `msg` to every replica except the sender (for a client: to every replica).
    /// Cloning the message for each recipient is cheap (an `Arc` increment).
    Broadcast {
        /// The message.
        msg: M,
    },
    /// Arm (or re-arm) the timer `kind` to fire at `deadline`.
    SetTimer {
        /// Which timer.
        kind: TimerKind,
        /// When it fires.
        deadline: Instant,
    },
    /// Disarm the timer `kind` if it is armed.
    CancelTimer {
        /// Which timer.
        kind: TimerKind,
    },
    /// Something observable happened (for oracles, traces and reports).
    Event(Event),
    /// Append this record to the node's write-ahead log (only replicas configured as
    /// durable emit it). The driver makes every record of a step durable (one `fdatasync`
    /// for the step: group commit) **before** it performs any send of that step, and hands
    /// the records back, in order, when the replica restarts.
    Persist {
        /// The record, opaque to the driver.
        record: Vec<u8>,
        /// True when the record is a restart point: it replaces every earlier record,
        /// which the driver may then drop (log compaction).
        restart_point: bool,
    },
}

/// The buffer a caller passes to every input and drains afterwards.
///
/// Keeping it outside the state machine lets a caller reuse one allocation for a whole
/// run, and keeps the state machine free of I/O.
#[derive(Clone, Debug)]
pub struct Outbox<M = Message> {
    outputs: Vec<Output<M>>,
}

impl<M> Default for Outbox<M> {
    fn default() -> Self {
        Outbox {
            outputs: Vec::new(),
        }
    }
}

impl<M> Outbox<M> {
    /// An empty outbox.
    pub fn new() -> Self {
        Outbox::default()
    }

    /// Appends one output.
    #[inline]
    pub fn push(&mut self, o: Output<M>) {
        self.outputs.push(o);
    }

    /// Sends `msg` to `to`.
    #[inline]
    pub fn send(&mut self, to: NodeId, msg: M) {
        self.push(Output::Send { to, msg });
    }

    /// Sends `msg` to every other replica.
    #[inline]
    pub fn broadcast(&mut self, msg: M) {
        self.push(Output::Broadcast { msg });
    }

    /// Arms timer `kind` at `deadline`.
    #[inline]
    pub fn set_timer(&mut self, kind: TimerKind, deadline: Instant) {
        self.push(Output::SetTimer { kind, deadline });
    }

    /// Disarms timer `kind`.
    #[inline]
    pub fn cancel_timer(&mut self, kind: TimerKind) {
        self.push(Output::CancelTimer { kind });
    }

    /// Records an event.
    #[inline]
    pub fn event(&mut self, e: Event) {
        self.push(Output::Event(e));
    }

    /// Asks for `record` to be made durable before this step's sends; a `restart_point`
    /// replaces every earlier record.
    #[inline]
    pub fn persist(&mut self, record: Vec<u8>, restart_point: bool) {
        self.push(Output::Persist {
            record,
            restart_point,
        });
    }

    /// Removes and yields every output, in the order they were produced.
    #[inline]
    pub fn drain(&mut self) -> std::vec::Drain<'_, Output<M>> {
        self.outputs.drain(..)
    }

    /// The outputs produced so far.
    #[inline]
    pub fn as_slice(&self) -> &[Output<M>] {
        &self.outputs
    }

    /// The events among the outputs.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.outputs.iter().filter_map(|o| match o {
            Output::Event(e) => Some(e),
            _ => None,
        })
    }

    /// Number of outputs.
    pub fn len(&self) -> usize {
        self.outputs.len()
    }

    /// True when there is nothing to drain.
    pub fn is_empty(&self) -> bool {
        self.outputs.is_empty()
    }

    /// Drops every output.
    pub fn clear(&mut self) {
        self.outputs.clear();
    }
}
