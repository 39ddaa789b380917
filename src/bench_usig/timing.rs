//! Interleaved wall-clock timing: every measured operation runs one batch per round, in
//! turn, so slow drifts of the machine (other jobs, frequency changes, a noisy VM
//! neighbour) hit all of them alike and comparisons between rows stay fair.

use std::time::{Duration, Instant};

/// Untimed calls before measuring, to warm caches, branch predictors and CPU clocks, and to
/// size the batches.
pub const WARMUP: Duration = Duration::from_millis(60);
/// Target length of one timed batch when the batch length is not given.
pub const BATCH_TARGET: Duration = Duration::from_millis(5);

/// The wall clock: what a benchmark measures. The only place the binary reads it.
#[allow(clippy::disallowed_methods)] // Instant::now is banned outside src/ and net/.
fn now() -> Instant {
    Instant::now()
}

/// The measurements of one operation.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Calls per timed batch.
    pub batch_len: u64,
    /// Nanoseconds per call, one entry per timed batch, in time order.
    pub per_call_ns: Vec<f64>,
    /// Timed calls and their total time.
    pub timed_calls: u64,
    pub timed: Duration,
    /// All calls made, warm-up included.
    pub calls: u64,
    /// Calls that failed.
    pub failures: u64,
}

impl Series {
    /// Median over batches of the time per call.
    pub fn median_ns(&self) -> f64 {
        median(&self.per_call_ns)
    }

    /// Total timed time over timed calls: unlike the median, it includes rare slow calls
    /// (e.g. a durable counter's reservation writes).
    pub fn mean_ns(&self) -> f64 {
        self.timed.as_nanos() as f64 / self.timed_calls.max(1) as f64
    }
}

/// The median of `values` (0 if empty).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// Warms up and sizes operations `0..ops`, then times `batches` rounds in which each
/// operation runs one batch. `run(op, n)` makes `n` calls of operation `op` and returns how
/// many failed. `batch_len` fixes the calls per batch; by default each operation's batch
/// lasts about [`BATCH_TARGET`]. `on_round` is told each finished round.
pub fn measure_interleaved(
    ops: usize,
    batch_len: Option<u64>,
    batches: u32,
    mut run: impl FnMut(usize, u64) -> u64,
    mut on_round: impl FnMut(u32),
) -> Vec<Series> {
    let mut series: Vec<Series> = (0..ops)
        .map(|op| {
            let mut s = Series::default();
            let start = now();
            while now() - start < WARMUP {
                s.failures += run(op, 16);
                s.calls += 16;
            }
            let per_call = WARMUP.as_secs_f64() / s.calls as f64;
            s.batch_len = batch_len
                .unwrap_or_else(|| ((BATCH_TARGET.as_secs_f64() / per_call) as u64).max(1));
            s
        })
        .collect();
    for round in 0..batches {
        for (op, s) in series.iter_mut().enumerate() {
            let start = now();
            s.failures += run(op, s.batch_len);
            let elapsed = now() - start;
            s.calls += s.batch_len;
            s.timed_calls += s.batch_len;
            s.timed += elapsed;
            s.per_call_ns
                .push(elapsed.as_nanos() as f64 / s.batch_len as f64);
        }
        on_round(round + 1);
    }
    series
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 3.0);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn every_operation_gets_every_round() {
        let mut calls = [0u64; 2];
        let mut rounds = 0;
        let series = measure_interleaved(
            2,
            Some(10),
            3,
            |op, n| {
                calls[op] += n;
                if op == 1 { n } else { 0 } // operation 1 always fails
            },
            |r| rounds = r,
        );
        assert_eq!(rounds, 3);
        assert_eq!(series[0].per_call_ns.len(), 3);
        assert_eq!(series[0].timed_calls, 30);
        assert_eq!(series[0].failures, 0);
        assert_eq!(series[1].failures, series[1].calls);
        assert_eq!(calls, [series[0].calls, series[1].calls]);
    }
}
