//! The fixed table of protocol timers (one deadline per `TimerKind`), fed by the state
//! machine's `SetTimer`/`CancelTimer` outputs.

use minlab_protocols::{Instant, TimerKind};

/// Armed deadlines, one slot per timer kind.
#[derive(Clone, Debug, Default)]
pub struct Timers {
    slots: [Option<Instant>; TimerKind::ALL.len()],
}

fn slot(kind: TimerKind) -> usize {
    TimerKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

impl Timers {
    /// Arms (or moves) `kind`.
    pub fn set(&mut self, kind: TimerKind, deadline: Instant) {
        self.slots[slot(kind)] = Some(deadline);
    }

    /// Disarms `kind`.
    pub fn cancel(&mut self, kind: TimerKind) {
        self.slots[slot(kind)] = None;
    }

    /// The earliest armed deadline.
    pub fn next(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }

    /// Disarms and returns one timer due at `now`, earliest first.
    pub fn pop_due(&mut self, now: Instant) -> Option<TimerKind> {
        let (i, _) = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.filter(|d| *d <= now).map(|d| (i, d)))
            .min_by_key(|(_, d)| *d)?;
        self.slots[i] = None;
        Some(TimerKind::ALL[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_timers_pop_in_deadline_order_and_cancel_works() {
        let mut t = Timers::default();
        t.set(TimerKind::Repair, Instant(30));
        t.set(TimerKind::Batch, Instant(10));
        t.set(TimerKind::ViewChange, Instant(20));
        t.cancel(TimerKind::ViewChange);
        assert_eq!(t.next(), Some(Instant(10)));
        assert_eq!(t.pop_due(Instant(5)), None);
        assert_eq!(t.pop_due(Instant(40)), Some(TimerKind::Batch));
        assert_eq!(t.pop_due(Instant(40)), Some(TimerKind::Repair));
        assert_eq!(t.pop_due(Instant(40)), None);
        assert_eq!(t.next(), None);
    }
}
