//! The reproduction of the paper's evaluation (§7): Figs. 4–7 and Tables 1 and 4,
//! simulated with the CPU cost model for every protocol the simulator runs, written as
//! SVG/PNG figures and `index.md`/`index.html` beside the paper's numbers.

pub mod page;
pub mod plan;
pub mod published;
pub mod results;
pub mod sections;
pub mod setup;
pub mod spread;

pub use plan::{Job, JobKey, Plan};
pub use results::{Results, run_jobs};
pub use setup::{Backend, ENABLED, ProtocolKind};
pub use spread::Spread;

use crate::ReportError;
use std::path::{Path, PathBuf};

/// Runs every point of `plan` under seeds 1..=`plan.seeds`, calling `progress(done,
/// total)` as simulations finish, and writes the report (means with their min–max) into
/// `dir`. Returns the files written and the runs that failed an expectation.
pub fn reproduce(
    plan: &Plan,
    dir: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(Vec<PathBuf>, Vec<String>), ReportError> {
    let jobs = plan.jobs();
    let points = jobs.len();
    let total = points * plan.seeds as usize;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results = run_jobs(jobs, plan.seeds, &|_| {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(n, total);
    })?;
    let failures = results.failures();
    let mut header = vec![format!(
        "{total} simulations: {points} points, each under seeds 1 to {}; every figure and table \
         shows the mean over the seeds with the minimum and maximum (whiskers in figures, \
         \"mean (min–max)\" in tables, the mean alone where every seed gave the same value). \
         Protocols: {}. {}",
        plan.seeds,
        ENABLED
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(", "),
        setup::pending_note(&ProtocolKind::ALL).unwrap_or_default()
    )];
    if !failures.is_empty() {
        header.push(format!(
            "Runs that failed an expectation: {}",
            failures.join(" | ")
        ));
    }
    let view_changes = results.view_changes();
    if !view_changes.is_empty() {
        header.push(format!(
            "Fault-free runs that changed view (their points include the view change's \
             latency): {}",
            view_changes.join(", ")
        ));
    }
    let sections = sections::all(plan, &results);
    let files = page::write_report(dir, &sections, &header)?;
    Ok((files, failures))
}
