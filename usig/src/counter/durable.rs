//! A counter that survives process restarts: values are reserved ahead in a file
//! (write a temporary file, fsync, rename, fsync the directory), so the hot path does not
//! touch the disk on every `create_ui`.

use crate::counter::Counter;
use crate::UsigError;
use std::path::{Path, PathBuf};

/// A durable monotonic counter backed by a reservation file.
///
/// The file holds the highest value that may have been handed out (the end of the current
/// reservation). On open, the counter resumes *after* that value: values handed out before
/// a crash are never reused (uniqueness, monotonicity), but the values reserved and not
/// used before the crash are skipped, which peers see as a gap in sequentiality.
#[derive(Debug)]
pub struct DurableCounter {
    path: PathBuf,
    last: u64,
    reserved_until: u64,
    block: u64,
}

impl DurableCounter {
    /// Default number of values reserved per file write.
    pub const DEFAULT_BLOCK: u64 = 1024;

    /// Opens (or creates) the counter file at `path`, reserving `block` values per write.
    pub fn open(path: impl AsRef<Path>, block: u64) -> Result<Self, UsigError> {
        let _ = (path, block);
        Err(UsigError::CounterStore {
            path: String::new(),
            reason: "not yet written".into(),
        })
    }
}

impl Counter for DurableCounter {
    fn advance(&mut self) -> Result<u64, UsigError> {
        let _ = (&self.path, self.reserved_until, self.block);
        Err(UsigError::CounterExhausted)
    }
    fn last(&self) -> u64 {
        self.last
    }
}
