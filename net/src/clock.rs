//! The wall clock mapped onto the protocol's `Instant` (nanoseconds since this process
//! started its node or client), and back onto tokio deadlines for timers.

use minlab_protocols::Instant;

/// The origin of this process's protocol time.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: tokio::time::Instant,
}

impl Clock {
    /// A clock whose time zero is now.
    pub fn start() -> Self {
        Clock {
            origin: tokio::time::Instant::now(),
        }
    }

    /// Protocol time now.
    pub fn now(&self) -> Instant {
        Instant(self.origin.elapsed().as_nanos() as u64)
    }

    /// The tokio deadline of protocol time `t`.
    pub fn deadline(&self, t: Instant) -> tokio::time::Instant {
        self.origin + std::time::Duration::from_nanos(t.as_nanos())
    }
}
