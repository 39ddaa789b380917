//! The simulator's event queue: events ordered by virtual time, ties broken by insertion
//! order, so that the same inputs always pop in the same order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The queue is full: the run has more pending events than its stated bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("event queue bound of {bound} pending events exceeded")]
pub struct QueueFull {
    /// The configured bound.
    pub bound: usize,
}

#[derive(Debug)]
struct Entry<E> {
    at: u64,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A bounded min-queue of events keyed by virtual time in nanoseconds.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Entry<E>>>,
    next_seq: u64,
    bound: usize,
}

impl<E> EventQueue<E> {
    /// An empty queue that holds at most `bound` pending events.
    pub fn new(bound: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
            bound,
        }
    }

    /// Schedules `event` at virtual time `at`. Events at the same time pop in the order
    /// they were pushed.
    pub fn push(&mut self, at: u64, event: E) -> Result<(), QueueFull> {
        if self.heap.len() >= self.bound {
            return Err(QueueFull { bound: self.bound });
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse(Entry { at, seq, event }));
        Ok(())
    }

    /// Removes and returns the earliest event with its time.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        self.heap.pop().map(|Reverse(e)| (e.at, e.event))
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_insertion_order() {
        let mut q = EventQueue::new(10);
        q.push(5, "b").unwrap();
        q.push(3, "a").unwrap();
        q.push(5, "c").unwrap();
        q.push(5, "d").unwrap();
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![(3, "a"), (5, "b"), (5, "c"), (5, "d")]);
    }

    #[test]
    fn bound_is_enforced() {
        let mut q = EventQueue::new(2);
        q.push(1, ()).unwrap();
        q.push(1, ()).unwrap();
        assert_eq!(q.push(1, ()), Err(QueueFull { bound: 2 }));
        q.pop();
        assert!(q.push(1, ()).is_ok());
    }
}
