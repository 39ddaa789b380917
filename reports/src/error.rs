//! The one error type of the reports crate: what can go wrong drawing or writing a report.

use std::path::PathBuf;

/// Why a figure, table or report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No usable TrueType font was found for the labels.
    #[error(
        "no font for chart labels: none of {tried} exists (install fonts-dejavu-core, or set MINLAB_FONT to a .ttf file)"
    )]
    NoFont {
        /// The paths that were tried.
        tried: String,
    },
    /// The font file exists but could not be parsed.
    #[error("{path}: not a usable TrueType font")]
    BadFont {
        /// The font file.
        path: PathBuf,
    },
    /// An input file (a `minlab run`/`sweep` JSON output) cannot be used.
    #[error("{path}: {message}")]
    Input {
        /// The input file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The output file's extension names no format we write.
    #[error("{path}: unknown image format; use a .svg or .png file name")]
    UnknownFormat {
        /// The output path.
        path: PathBuf,
    },
    /// There is nothing to draw.
    #[error("nothing to plot: {0}")]
    Empty(String),
    /// The drawing backend failed.
    #[error("drawing {path}: {message}")]
    Draw {
        /// The output path.
        path: PathBuf,
        /// The backend's message.
        message: String,
    },
    /// A file could not be written.
    #[error("cannot write {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The reproduction was asked for something it cannot run (e.g. 0 seeds).
    #[error("bad reproduction plan: {0}")]
    Plan(String),
    /// A simulation of an experiment could not be built.
    #[error("experiment {experiment}: {message}")]
    Simulation {
        /// The experiment.
        experiment: String,
        /// What the simulator said.
        message: String,
    },
}
