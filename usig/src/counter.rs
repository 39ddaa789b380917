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
    #[inline]
    fn advance(&mut self) -> Result<u64, UsigError> {
        if self.last == u64::MAX {
            return Err(UsigError::CounterExhausted);
        }
        self.last += 1;
        Ok(self.last)
    }

    fn last(&self) -> u64 {
        self.last
    }
}

mod durable;
#[doc(hidden)]
pub use durable::CrashPoint;
pub use durable::DurableCounter;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_counts_from_one_and_stops_at_the_top() {
        let mut c = VolatileCounter::default();
        assert_eq!((c.advance(), c.advance()), (Ok(1), Ok(2)));
        let mut c = VolatileCounter::starting_after(u64::MAX - 1);
        assert_eq!(c.advance(), Ok(u64::MAX));
        assert_eq!(c.advance(), Err(UsigError::CounterExhausted));
        assert_eq!(c.last(), u64::MAX);
    }
}
