//! A private swtpm for each test (the crate's own launcher, over a temporary state
//! directory removed after the test), and a timeout wrapper so that no test can hang on
//! the TPM.

#![allow(dead_code)]

use std::sync::mpsc;
use std::time::Duration;

/// A running swtpm over its own temporary state; killed, and the state removed, on drop.
pub struct Swtpm {
    // Declared first: the process stops before its state directory is removed.
    tpm: minlab_usig::tpm::swtpm::Swtpm,
    _state: tempfile::TempDir,
}

impl Swtpm {
    /// A fresh TPM (empty state).
    pub fn start() -> Self {
        let state = tempfile::tempdir().expect("temporary directory");
        let tpm = minlab_usig::tpm::swtpm::Swtpm::start(state.path())
            .expect("start swtpm (install it with scripts/setup)");
        Swtpm { tpm, _state: state }
    }

    /// The TCTI string that reaches it.
    pub fn tcti(&self) -> String {
        self.tpm.tcti()
    }

    /// Kills the process and starts a new one over the same state (a power cycle).
    pub fn restart(&mut self) {
        self.tpm.restart().expect("restart swtpm");
    }
}

/// Runs `f` on another thread and fails the test if it takes longer than `secs` (a TPM
/// call that blocks forever must not hang the suite; the Swtpm guard, owned by the caller,
/// still kills the simulator).
pub fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("TPM test step did not finish within {secs} s"),
    }
}
