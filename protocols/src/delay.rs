//! How long to wait before deciding a message was lost: a smoothed estimate of the
//! delays a node observes, so its retransmission timers follow the network (a 50 ms WAN
//! link needs longer than a LAN) instead of one fixed interval.
//!
//! The estimator is the classic one for retransmission timeouts (Jacobson and Karels,
//! as in RFC 6298): a smoothed mean `srtt` and mean deviation `rttvar` of the samples,
//! and a timeout of `srtt + 4 * rttvar`, kept between a floor and a ceiling, doubled per
//! unanswered retransmission until the next clean sample (Karn's rule: a reply to a
//! resent message says nothing about the delay, so the timer backs off instead).
//! Integer nanoseconds only, so it is deterministic.

use crate::time::Duration;

/// A smoothed delay estimate. `Default` is "no sample yet".
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct DelayEstimate {
    /// Smoothed mean of the samples, in nanoseconds (0: no sample yet).
    srtt_ns: u64,
    /// Smoothed mean deviation of the samples, in nanoseconds.
    rttvar_ns: u64,
    /// Doublings since the last sample (at most [`BACKOFF_MAX`]).
    backoff: u8,
}

/// Most doublings of the timeout (it is kept under the ceiling anyway).
pub const BACKOFF_MAX: u8 = 6;

impl DelayEstimate {
    /// Folds in one observed delay.
    pub fn sample(&mut self, d: Duration) {
        let s = d.as_nanos();
        self.backoff = 0;
        if self.srtt_ns == 0 {
            self.srtt_ns = s;
            self.rttvar_ns = s / 2;
        } else {
            let dev = self.srtt_ns.abs_diff(s);
            self.rttvar_ns = self.rttvar_ns - self.rttvar_ns / 4 + dev / 4;
            self.srtt_ns = self.srtt_ns - self.srtt_ns / 8 + s / 8;
        }
    }

    /// A retransmission went unanswered: the next timeouts double until a sample.
    pub fn back_off(&mut self) {
        self.backoff = (self.backoff + 1).min(BACKOFF_MAX);
    }

    /// Ends the back-off without a sample.
    fn end_back_off(&mut self) {
        self.backoff = 0;
    }

    /// `srtt + 4 * rttvar` (at least `floor`), doubled per back-off, at most `ceiling`;
    /// `floor` alone when `ceiling <= floor` (a fixed timeout).
    pub fn timeout(&self, floor: Duration, ceiling: Duration) -> Duration {
        if ceiling <= floor {
            return floor;
        }
        let t = self
            .srtt_ns
            .saturating_add(self.rttvar_ns.saturating_mul(4))
            .max(floor.as_nanos())
            .saturating_mul(1 << self.backoff);
        Duration(t.min(ceiling.as_nanos()))
    }

    /// The smoothed mean delay (zero before any sample).
    pub fn mean(&self) -> Duration {
        Duration(self.srtt_ns)
    }
}

/// A client's retransmission timer: waits [`DelayEstimate::timeout`] of the latencies of
/// requests answered without a resend, backs off on each resend (Karn's rule). With
/// `ceiling <= floor` it is a fixed `floor` and never changes (the model checker's case).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct RetransmitTimer {
    floor: Duration,
    ceiling: Duration,
    estimate: DelayEstimate,
    /// Whether the current request was resent (its latency is then no sample).
    resent: bool,
    /// Whether latencies are samples (else only the back-off moves the wait).
    learns: bool,
}

impl RetransmitTimer {
    /// A timer waiting between `floor` and `ceiling`.
    pub fn new(floor: Duration, ceiling: Duration) -> Self {
        RetransmitTimer {
            floor,
            ceiling,
            estimate: DelayEstimate::default(),
            resent: false,
            learns: true,
        }
    }

    /// A timer whose wait is `floor` doubled per back-off, never learning from latencies:
    /// for a timer that also decides when to stop waiting for more replies (MinZyzyva's
    /// `2f + 1` responses), where a latency stretched by one slow replica is no reason to
    /// wait longer next time.
    pub fn backoff_only(floor: Duration, ceiling: Duration) -> Self {
        RetransmitTimer {
            learns: false,
            ..RetransmitTimer::new(floor, ceiling)
        }
    }

    fn adaptive(&self) -> bool {
        self.ceiling > self.floor
    }

    /// A new request is sent: how long to wait for it.
    pub fn start(&mut self) -> Duration {
        if self.adaptive() {
            self.resent = false;
        }
        self.wait()
    }

    /// The timer fired (the request is resent, or another recovery step taken): how long
    /// to wait now. `back_off` doubles the wait until the next sample (a resend that went
    /// unanswered); either way this request's latency is no longer a sample.
    pub fn fired(&mut self, back_off: bool) -> Duration {
        if self.adaptive() {
            self.resent = true;
            if back_off {
                self.estimate.back_off();
            }
        }
        self.wait()
    }

    /// The group answered a recovery step (for MinZyzyva, `f + 1` LOCAL-COMMITs for a
    /// commit certificate): it is reachable, so the back-off ends even without a sample
    /// (with a replica silent for good no request completes without the timer, and the
    /// back-off would otherwise stay at its ceiling).
    pub fn answered(&mut self) {
        if self.adaptive() {
            self.estimate.end_back_off();
        }
    }

    /// The request completed after `latency`.
    pub fn completed(&mut self, latency: Duration) {
        if !self.resent && self.learns && self.adaptive() {
            self.estimate.sample(latency);
        }
    }

    /// The current wait.
    pub fn wait(&self) -> Duration {
        self.estimate.timeout(self.floor, self.ceiling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn no_sample_gives_the_floor() {
        let e = DelayEstimate::default();
        assert_eq!(
            e.timeout(Duration(50 * MS), Duration(500 * MS)),
            Duration(50 * MS)
        );
    }

    #[test]
    fn steady_samples_converge_to_the_mean_plus_a_margin() {
        let mut e = DelayEstimate::default();
        for i in 0..100 {
            // 100 ms +- 5 ms.
            e.sample(Duration((95 + (i % 2) * 10) * MS));
        }
        let t = e.timeout(Duration(50 * MS), Duration(500 * MS)).as_nanos();
        assert!(e.mean().as_nanos().abs_diff(100 * MS) < 5 * MS);
        assert!((100 * MS..=140 * MS).contains(&t), "{t}");
    }

    #[test]
    fn timeout_stays_within_its_bounds() {
        let mut e = DelayEstimate::default();
        e.sample(Duration(1000));
        assert_eq!(
            e.timeout(Duration(50 * MS), Duration(500 * MS)),
            Duration(50 * MS)
        );
        e.sample(Duration(10_000 * MS));
        assert_eq!(
            e.timeout(Duration(50 * MS), Duration(500 * MS)),
            Duration(500 * MS)
        );
        // A ceiling at or below the floor turns the estimate off.
        assert_eq!(
            e.timeout(Duration(50 * MS), Duration(50 * MS)),
            Duration(50 * MS)
        );
    }

    #[test]
    fn backing_off_doubles_until_a_sample() {
        let (floor, ceiling) = (Duration(100 * MS), Duration(1000 * MS));
        let mut e = DelayEstimate::default();
        e.back_off();
        assert_eq!(e.timeout(floor, ceiling), Duration(200 * MS));
        for _ in 0..10 {
            e.back_off();
        }
        assert_eq!(e.timeout(floor, ceiling), ceiling);
        e.sample(Duration(10 * MS));
        assert_eq!(e.timeout(floor, ceiling), floor);
        // A fixed timeout ignores back-offs.
        e.back_off();
        assert_eq!(e.timeout(floor, floor), floor);
    }

    #[test]
    fn a_retransmit_timer_learns_only_from_requests_answered_without_a_resend() {
        let (floor, ceiling) = (Duration(100 * MS), Duration(1000 * MS));
        let mut t = RetransmitTimer::new(floor, ceiling);
        assert_eq!(t.start(), floor);
        // Resent once: backs off, and the (ambiguous) latency is not sampled.
        assert_eq!(t.fired(true), Duration(200 * MS));
        t.completed(Duration(150 * MS));
        // The next request keeps the backed-off wait, and is answered without a resend.
        assert_eq!(t.start(), Duration(200 * MS));
        t.completed(Duration(150 * MS));
        // 150 + 4 * 75 ms.
        assert_eq!(t.start(), Duration(450 * MS));
        // Backed off, then a recovery step answered: the back-off ends without a sample.
        t.fired(true);
        assert_eq!(t.wait(), Duration(900 * MS));
        t.answered();
        assert_eq!(t.wait(), Duration(450 * MS));
        // A fixed timer never moves.
        let mut fixed = RetransmitTimer::new(floor, floor);
        fixed.fired(true);
        fixed.completed(Duration(150 * MS));
        assert_eq!(fixed, RetransmitTimer::new(floor, floor));
    }

    #[test]
    fn a_backoff_only_timer_ignores_latencies() {
        let (floor, ceiling) = (Duration(100 * MS), Duration(1000 * MS));
        let mut t = RetransmitTimer::backoff_only(floor, ceiling);
        t.start();
        t.completed(Duration(300 * MS));
        assert_eq!(t.start(), floor);
        assert_eq!(t.fired(true), Duration(200 * MS));
        // A clean completion is no sample either: the back-off stays until answered.
        assert_eq!(t.start(), Duration(200 * MS));
        t.completed(Duration(150 * MS));
        assert_eq!(t.start(), Duration(200 * MS));
        t.answered();
        assert_eq!(t.start(), floor);
    }

    #[test]
    fn a_first_sample_of_zero_keeps_the_estimate_empty() {
        let mut e = DelayEstimate::default();
        e.sample(Duration(0));
        assert_eq!(e, DelayEstimate::default());
    }
}
