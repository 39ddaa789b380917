//! One quantity measured under each seed of a point (mean, min, max), so every figure
//! and table shows the mean over seeds with the spread beside it.

/// The values one quantity took under the seeds of a point, seed 1 first.
#[derive(Clone, Debug, PartialEq)]
pub struct Spread {
    values: Vec<f64>,
}

impl Spread {
    /// The spread of `values` (seed 1 first); `None` when there is none.
    pub fn of(values: Vec<f64>) -> Option<Spread> {
        (!values.is_empty()).then_some(Spread { values })
    }

    /// The value under each seed, seed 1 first.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Arithmetic mean over the seeds.
    pub fn mean(&self) -> f64 {
        self.values.iter().sum::<f64>() / self.values.len() as f64
    }

    /// Smallest value.
    pub fn min(&self) -> f64 {
        self.values.iter().copied().fold(f64::INFINITY, f64::min)
    }

    /// Largest value.
    pub fn max(&self) -> f64 {
        self.values
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// Whether every seed gave the same value.
    pub fn is_constant(&self) -> bool {
        self.max() == self.min()
    }

    /// Whether every value is below every value of `other` (the ranges do not overlap).
    pub fn all_below(&self, other: &Spread) -> bool {
        self.max() < other.min()
    }

    /// The same spread with every value mapped by `f`.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Spread {
        Spread {
            values: self.values.iter().map(|&v| f(v)).collect(),
        }
    }

    /// `mean (min–max)` with `decimals` decimals, or the mean alone when the seeds agree
    /// to that precision.
    pub fn format(&self, decimals: usize) -> String {
        let mean = format!("{:.*}", decimals, self.mean());
        let (lo, hi) = (
            format!("{:.*}", decimals, self.min()),
            format!("{:.*}", decimals, self.max()),
        );
        if lo == hi {
            mean
        } else {
            format!("{mean} ({lo}–{hi})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_min_max_and_text() {
        let s = Spread::of(vec![3.0, 1.0, 2.0, 6.0]).unwrap();
        assert_eq!((s.mean(), s.min(), s.max()), (3.0, 1.0, 6.0));
        assert_eq!(s.format(1), "3.0 (1.0–6.0)");
        assert_eq!(s.values(), [3.0, 1.0, 2.0, 6.0]);
        assert!(!s.is_constant());
        let c = Spread::of(vec![2.001, 2.002]).unwrap();
        assert_eq!(c.format(2), "2.00");
        assert_eq!(c.format(3), "2.002 (2.001–2.002)");
        assert!(Spread::of(vec![]).is_none());
        assert!(c.all_below(&Spread::of(vec![2.5, 9.0]).unwrap()));
        assert!(!c.all_below(&Spread::of(vec![2.0015, 9.0]).unwrap()));
        assert_eq!(s.map(|v| v * 2.0).max(), 12.0);
    }
}
