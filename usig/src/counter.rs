//! The monotonic counter inside a USIG: volatile (simulation, model checking) or durable
//! (real deployments, survives process restarts).

use crate::UsigError;

/// A monotonic counter source for a USIG.
pub trait Counter {
    /// Advances the counter and returns the new value. A returned value is never returned
    /// again, by this instance or by any later instance over the same durable store.
    fn advance(&mut self) -> Result<u64, UsigError>;

    /// The last value returned by [`Counter::advance`] (or the value the counter resumed
    /// from), 0 for a fresh counter.
    fn last(&self) -> u64;
}

/// An in-memory counter starting at 0; the first value handed out is 1.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct VolatileCounter {
    last: u64,
}

impl VolatileCounter {
    /// A counter whose next value will be `last + 1`.
    pub fn starting_after(last: u64) -> Self {
        VolatileCounter { last }
    }
}

impl Counter for VolatileCounter {
    fn advance(&mut self) -> Result<u64, UsigError> {
        self.last = self.last.checked_add(1).ok_or(UsigError::CounterExhausted)?;
        Ok(self.last)
    }

    fn last(&self) -> u64 {
        self.last
    }
}

mod durable;
pub use durable::DurableCounter;
