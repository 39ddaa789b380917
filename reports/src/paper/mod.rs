//! The reproduction of the paper's evaluation (§7): Figs. 4–7 and Tables 1 and 4,
//! simulated with the CPU cost model for every protocol the simulator runs, written as
//! SVG/PNG figures and `index.md`/`index.html` beside the paper's numbers.

pub mod page;
pub mod plan;
pub mod published;
pub mod results;
pub mod sections;
pub mod setup;

pub use plan::{Job, JobKey, Plan};
pub use results::{Results, run_jobs};
pub use setup::{Backend, ENABLED, ProtocolKind};

use crate::ReportError;
use std::path::{Path, PathBuf};

/// Runs `plan`, calling `progress(done, total)` as runs finish, and writes the report into
/// `dir`. Returns the files written and the runs that failed an expectation.
pub fn reproduce(
    plan: &Plan,
    dir: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(Vec<PathBuf>, Vec<String>), ReportError> {
    let jobs = plan.jobs();
    let total = jobs.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results = run_jobs(jobs, &|_| {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(n, total);
    })?;
    let failures = results.failures();
    let mut header = vec![format!(
        "{} simulations (seed {}), protocols: {}. {}",
        total,
        results::SEED,
        ENABLED
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(", "),
        setup::pending_note().unwrap_or_default()
    )];
    if !failures.is_empty() {
        header.push(format!(
            "Runs that failed an expectation: {}",
            failures.join(" | ")
        ));
    }
    let sections = sections::all(plan, &results);
    let files = page::write_report(dir, &sections, &header)?;
    Ok((files, failures))
}
