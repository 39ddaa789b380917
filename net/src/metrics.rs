//! The adapter's own counters (frames, bytes, rejections, drops, reconnections): shared
//! atomics written by connection tasks, read as a serializable snapshot.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

macro_rules! net_metrics {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Live counters of one node or client process.
        #[derive(Debug, Default)]
        pub struct NetMetrics {
            $($(#[$doc])* pub $name: AtomicU64,)*
        }

        /// A copy of [`NetMetrics`] at one moment.
        #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct NetMetricsSnapshot {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl NetMetrics {
            /// The current values.
            pub fn snapshot(&self) -> NetMetricsSnapshot {
                NetMetricsSnapshot { $($name: self.$name.load(Relaxed),)* }
            }
        }
    };
}

net_metrics! {
    /// Frames received and passed to the protocol.
    frames_in,
    /// Frames written to sockets.
    frames_out,
    /// Payload bytes received.
    bytes_in,
    /// Payload bytes written.
    bytes_out,
    /// Connections accepted (before the handshake).
    connections_accepted,
    /// Connections refused: too many open, failed or timed-out handshakes, unknown peers.
    handshakes_refused,
    /// Frames whose MAC did not verify (dropped, connection closed).
    frames_bad_mac,
    /// Frames that did not decode to a message (dropped, connection closed).
    frames_undecodable,
    /// Length prefixes above the frame limit (connection closed).
    frames_oversized,
    /// Streams that ended inside a frame.
    frames_truncated,
    /// Client-connection frames that were not a request of one of its clients (dropped).
    frames_unexpected,
    /// Outgoing messages dropped because a peer's bounded queue was full (the protocol
    /// recovers them by retransmission).
    queue_full_drops,
    /// Outgoing messages for a client with no open connection (dropped).
    no_route_drops,
    /// Outgoing connections established after the first one (reconnections).
    reconnects,
    /// Failed connection attempts (refused, timed out, handshake failed).
    connect_failures,
}

impl NetMetrics {
    /// Adds one to `c`.
    #[inline]
    pub fn bump(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }

    /// Adds `n` to `c`.
    #[inline]
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Relaxed);
    }
}
