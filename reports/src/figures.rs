//! Charts of one or several runs: the latency CDF, throughput over time with view changes
//! marked, and a sweep's throughput per seed.

use crate::ReportError;
use crate::chart::{Chart, EventLine, Legend, Shape};
use crate::runs::{RunData, SweepData};

/// Width of a throughput-timeline bucket (as `minlab_sim` reports it), in seconds.
pub const TIMELINE_BUCKET_S: f64 = 0.1;

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// The CDF of client latency, one curve per run.
pub fn latency_cdf(runs: &[(String, &RunData)]) -> Result<Chart, ReportError> {
    let mut c = Chart::new(
        "Client latency CDF",
        "latency (ms)",
        "fraction of requests at or below",
    );
    c.shape = Shape::Curve;
    c.legend = Legend::LowerRight;
    for (label, r) in runs {
        if r.latency_cdf.is_empty() {
            return Err(ReportError::Empty(format!(
                "{label}: the run has no latency distribution (no request completed, or JSON from a minlab without `latency_cdf`)"
            )));
        }
        c = c.with_series(
            label.clone(),
            r.latency_cdf.iter().map(|&(ns, q)| (ms(ns), q)).collect(),
        );
    }
    Ok(c)
}

/// Completions per second over virtual time, with a dashed line at each view change.
pub fn throughput_timeline(label: &str, r: &RunData) -> Result<Chart, ReportError> {
    if r.throughput_timeline.is_empty() {
        return Err(ReportError::Empty(format!(
            "{label}: the run completed no request, so there is no throughput over time"
        )));
    }
    let mut c = Chart::new(
        format!("Throughput over time: {label}"),
        "virtual time (s)",
        "throughput (requests/s, 100 ms buckets)",
    )
    .with_series(
        label,
        r.throughput_timeline
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                (
                    (i as f64 + 0.5) * TIMELINE_BUCKET_S,
                    n as f64 / TIMELINE_BUCKET_S,
                )
            })
            .collect(),
    );
    c.shape = Shape::Curve;
    c.legend = Legend::LowerRight;
    let mut seen = std::collections::BTreeSet::new();
    for &(at, _replica, view) in &r.view_changes {
        // One line per new view (the first replica to enter it), not one per replica.
        if seen.insert(view) {
            c.events.push(EventLine {
                x: at as f64 / 1e9,
                label: "view change".into(),
            });
        }
    }
    if !seen.is_empty() {
        c.notes.push(format!(
            "dashed lines: first replica entering views {}",
            seen.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(c)
}

/// A sweep's throughput per seed, one series per scenario.
pub fn sweep_throughput(s: &SweepData) -> Result<Chart, ReportError> {
    let mut by_scenario: std::collections::BTreeMap<&str, Vec<(f64, f64)>> = Default::default();
    for row in &s.results {
        let tput = if row.sim_time_ns == 0 {
            0.0
        } else {
            row.completed as f64 * 1e9 / row.sim_time_ns as f64
        };
        by_scenario
            .entry(row.scenario.as_str())
            .or_default()
            .push((row.seed as f64, tput));
    }
    if by_scenario.is_empty() {
        return Err(ReportError::Empty("the sweep has no results".into()));
    }
    let mut c = Chart::new(
        "Throughput per seed",
        "seed",
        "throughput (completed requests/s, virtual time)",
    );
    let failed = s.results.iter().filter(|r| !r.passed).count();
    for (name, mut pts) in by_scenario {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        c = c.with_series(name, pts);
    }
    c.legend = Legend::LowerRight;
    c.notes.push(format!(
        "{} runs, {failed} failed an expectation",
        s.results.len()
    ));
    Ok(c)
}
