//! Turns the runs into the report's sections: each figure or table of §7 with the
//! reproduced numbers (the mean over the seeds, with their spread), the paper's numbers
//! beside them, and where and why they differ.

mod latency;
mod saturation;
mod slots;
mod table1;
mod throughput;

pub use latency::{fig5, fig5_latency_ms, fig6, fig6_latency_ms};
pub use saturation::{
    primary_batch_mean, primary_busy, primary_cpu_us_per_request, primary_votes_per_batch,
    saturation_text,
};
pub use slots::{slots_text, window};
pub use table1::{table1, table1_points};
pub use throughput::{
    fig4, fig4_slots, table4, table4_batch, table4_latency_ms, table4_throughput, throughput,
};

use super::plan::{Experiment, Plan};
use super::results::Results;
use super::spread::Spread;
use crate::chart::{Chart, RangedPoint, Shape};
use crate::table::Table;

/// One part of the report.
#[derive(Clone, Debug)]
pub struct Section {
    /// File stem of its figure and HTML anchor, e.g. `fig5`.
    pub id: &'static str,
    /// Heading.
    pub title: String,
    /// The figure, if the section has one.
    pub chart: Option<Chart>,
    /// Tables with their captions.
    pub tables: Vec<(String, Table)>,
    /// Paragraphs: the comparison with the paper.
    pub text: Vec<String>,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// The point `x` with `s`'s mean and its min–max whisker.
fn ranged(x: f64, s: &Spread) -> RangedPoint {
    RangedPoint {
        x,
        y: s.mean(),
        low: s.min(),
        high: s.max(),
    }
}

/// The note under a figure saying what a point and a whisker are, and how long the
/// whiskers of `c` get (relative to their point).
fn seeds_note(r: &Results, c: &Chart) -> String {
    let what = if c.shape == Shape::Bars {
        "bar"
    } else {
        "point"
    };
    if r.seeds == 1 {
        return format!("each {what} is one simulation (seed 1)");
    }
    let widest = c
        .series
        .iter()
        .flat_map(|s| s.points.iter().zip(&s.whiskers))
        .filter(|((_, y), _)| *y > 0.0)
        .map(|((_, y), (lo, hi))| (hi - lo) / y)
        .fold(0.0, f64::max);
    let whiskers = if widest == 0.0 {
        "every seed gave the same value, so there are no whiskers".to_string()
    } else if widest < 0.03 {
        format!(
            "whiskers span the minimum to the maximum, at most {:.1}% of the mean (most hide behind the dots)",
            widest * 100.0
        )
    } else {
        format!(
            "whiskers span the minimum to the maximum, up to {:.0}% of the mean",
            widest * 100.0
        )
    };
    format!(
        "each {what} is the mean over seeds 1 to {}; {whiskers}",
        r.seeds
    )
}

fn with_pending(mut c: Chart, e: Experiment) -> Chart {
    if let Some(n) = crate::paper::setup::pending_note(e.compares()) {
        c.notes.push(n);
    }
    c
}

/// A table row: `label`, then each spread as `mean (min–max)` with `decimals` decimals.
fn spread_row<'a>(
    t: &mut Table,
    label: String,
    cells: impl Iterator<Item = Option<&'a Spread>>,
    decimals: usize,
) {
    t.row(
        std::iter::once(label).chain(cells.map(|s| s.map_or("-".into(), |s| s.format(decimals)))),
    );
}

/// Every section, in report order.
pub fn all(plan: &Plan, r: &Results) -> Vec<Section> {
    let mut sections = vec![fig5(plan, r), fig4(plan, r)];
    sections.extend(fig4_slots(plan, r));
    sections.extend([fig6(plan, r), table4(plan, r), table1(plan, r)]);
    sections
}
