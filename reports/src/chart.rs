//! What a figure shows, independent of how it is drawn: series of points (with the range
//! each stands for, e.g. min–max over seeds), the paper's values as markers, vertical event
//! lines, and a note. [`crate::draw`] renders it.

use serde::{Deserialize, Serialize};

/// One line of a chart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Legend text, e.g. `MinBFT f = 1`.
    pub label: String,
    /// `(x, y)` points, in the order they are joined.
    pub points: Vec<(f64, f64)>,
    /// `(low, high)` of each point, in the order of `points`, drawn as a whisker (e.g. the
    /// minimum and maximum over seeds of a mean); empty when the points have no range.
    #[serde(default)]
    pub whiskers: Vec<(f64, f64)>,
}

/// A point that stands for a range of values, e.g. the mean over seeds and their minimum
/// and maximum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RangedPoint {
    /// Position on the x axis.
    pub x: f64,
    /// The value drawn (e.g. the mean).
    pub y: f64,
    /// Bottom of the whisker.
    pub low: f64,
    /// Top of the whisker.
    pub high: f64,
}

/// A value published in the paper, drawn as a distinct marker so the reader compares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    /// Legend text, e.g. `paper: MinBFT-Hmac (Table 2)`.
    pub label: String,
    /// Where.
    pub x: f64,
    /// Where.
    pub y: f64,
    /// The series (by index) whose colour the marker takes; black when `None`.
    pub series: Option<usize>,
}

/// A vertical line at an instant, e.g. a view change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventLine {
    /// Position on the x axis.
    pub x: f64,
    /// Legend text (lines with the same label share one legend entry).
    pub label: String,
}

/// How a chart joins its points.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shape {
    /// Straight segments with a dot at every point.
    #[default]
    Lines,
    /// Straight segments, no dots (dense data such as a CDF).
    Curve,
    /// One bar per point, series side by side (x values are category indices).
    Bars,
}

/// Where a chart's legend sits (away from where its data is dense).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Legend {
    /// Top left.
    #[default]
    UpperLeft,
    /// Top right.
    UpperRight,
    /// Bottom right.
    LowerRight,
    /// Beside the plot, on the right (for many series).
    Right,
}

/// A complete figure.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// Title above the plot.
    pub title: String,
    /// X axis label, with its unit.
    pub x_label: String,
    /// Y axis label, with its unit.
    pub y_label: String,
    /// The data.
    pub series: Vec<Series>,
    /// The paper's values.
    pub markers: Vec<Marker>,
    /// Vertical lines.
    pub events: Vec<EventLine>,
    /// Lines of small text under the plot (what is pending, how it was made).
    pub notes: Vec<String>,
    /// Where the legend goes.
    pub legend: Legend,
    /// Top of the y axis as a multiple of the largest value (room for the legend); 0 or
    /// less means the default 1.05.
    pub y_headroom: f64,
    /// How points are joined.
    pub shape: Shape,
    /// Category names for [`Shape::Bars`] (x = 0, 1, ...).
    pub categories: Vec<String>,
}

impl Chart {
    /// A chart with a title and axis labels and nothing in it yet.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Chart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            ..Chart::default()
        }
    }

    /// Adds a series.
    pub fn with_series(mut self, label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        self.series.push(Series {
            label: label.into(),
            points,
            whiskers: Vec::new(),
        });
        self
    }

    /// Adds a series whose points each carry a range, drawn as whiskers.
    pub fn with_ranged_series(mut self, label: impl Into<String>, points: &[RangedPoint]) -> Self {
        self.series.push(Series {
            label: label.into(),
            points: points.iter().map(|p| (p.x, p.y)).collect(),
            whiskers: points.iter().map(|p| (p.low, p.high)).collect(),
        });
        self
    }

    /// Adds a note line under the plot.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Every finite `(x, y)` the chart draws (series, markers), for the axis ranges.
    pub(crate) fn all_points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.series
            .iter()
            .flat_map(|s| {
                let ends = s
                    .points
                    .iter()
                    .zip(&s.whiskers)
                    .flat_map(|(&(x, _), &(lo, hi))| [(x, lo), (x, hi)]);
                s.points.iter().copied().chain(ends)
            })
            .chain(self.markers.iter().map(|m| (m.x, m.y)))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    }

    /// True when there is no finite point to draw.
    pub fn is_empty(&self) -> bool {
        self.all_points().next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whisker_ends_widen_the_axes() {
        let p = RangedPoint {
            x: 1.0,
            y: 2.0,
            low: 0.5,
            high: 5.0,
        };
        let c = Chart::new("t", "x", "y").with_ranged_series("s", &[p]);
        let ys: Vec<f64> = c.all_points().map(|p| p.1).collect();
        assert_eq!(ys, [2.0, 0.5, 5.0]);
        assert_eq!(c.series[0].points, [(1.0, 2.0)]);
    }
}
