//! Figures and tables from minlab's simulations, and the reproduction of the paper's
//! evaluation (§7).
//!
//! A [`Chart`] says what to show (series, the paper's values as markers, event lines,
//! notes); [`render`] draws it as SVG or PNG with plotters, reading DejaVu Sans from the
//! system (or `$MINLAB_FONT`). [`Table`] writes Markdown and HTML. [`figures`] builds the
//! charts of `minlab run`/`sweep` outputs, [`sequence`] draws a message-sequence chart of
//! a `minlab run --trace` window ([`trace`]), and [`paper`] runs the paper's experiments.
//!
//! ```
//! use minlab_reports::{Chart, Table};
//!
//! let c = Chart::new("Latency vs link delay", "one-way link delay (ms)", "latency (ms)")
//!     .with_series("MinBFT f = 1", vec![(1.0, 4.2), (10.0, 40.5)]);
//! assert!(!c.is_empty());
//! let dir = std::env::temp_dir().join(format!("minlab-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! // Needs a TrueType font (fonts-dejavu-core); the error says so when there is none.
//! if minlab_reports::font::ensure_font().is_ok() {
//!     minlab_reports::render(&c, &dir.join("fig.svg")).unwrap();
//! }
//! let mut t = Table::new(["b", "ops"]);
//! t.row(["1", "5"]);
//! assert!(t.to_markdown().starts_with("| b | ops |"));
//! ```
#![warn(missing_docs)]

pub mod chart;
pub mod draw;
pub mod error;
pub mod figures;
pub mod font;
mod legend;
pub mod paper;
pub mod runs;
pub mod sequence;
pub mod table;
pub mod trace;

pub use chart::{Chart, EventLine, Legend, Marker, RangedPoint, Series, Shape};
pub use draw::{Format, render};
pub use error::ReportError;
pub use runs::{InputData, RunData, SweepData};
pub use table::Table;
