//! One benchmarked USIG with everything its row needs: the signer, a verifier at another
//! replica, a UI to verify, and the checks that the run kept the USIG's properties.

use super::Row;
use anyhow::{Context, Result};
use minlab_usig::{AnyUsig, Counter, DurableCounter, KeySet, Ui, Usig, UsigKind};
use std::hint::black_box;
use std::path::Path;

/// The paper's message size: a request digest.
pub const MESSAGE: [u8; 20] = [0x42; 20];

/// A USIG under measurement, whatever its counter.
pub trait Subject {
    /// Makes `n` `create_ui` calls; returns how many failed.
    fn create(&mut self, n: u64) -> u64;
    /// Makes `n` `verify_ui` calls on a valid UI; returns how many rejected it.
    fn verify(&mut self, n: u64) -> u64;
    /// After `create_calls` calls to `create`: checks the USIG's properties still hold.
    fn check(&mut self, create_calls: u64) -> Result<(), String>;
    /// For a durable counter: reservation writes so far and the block size.
    fn durable(&self) -> Option<(u64, u64)>;
    /// A line for the table's notes (e.g. which TPM was measured).
    fn describe(&self) -> Option<String> {
        None
    }
}

struct UsigSubject<C: Counter> {
    row: Row,
    usig: AnyUsig<C>,
    verifier: AnyUsig,
    ui: Ui,
    start: u64,
    durable: fn(&C) -> Option<(u64, u64)>,
    /// Keeps the durable counter's directory alive as long as the counter.
    _dir: Option<tempfile::TempDir>,
}

/// Builds the subject for `row`; a durable counter goes in a fresh directory under
/// `durable_parent`, removed when the subject is dropped.
pub fn build(
    row: Row,
    keys: &KeySet,
    durable_parent: &Path,
    durable_block: u64,
) -> Result<Box<dyn Subject>> {
    Ok(match row {
        Row::Volatile(kind) => {
            let usig = AnyUsig::new(kind, 0, keys).context("building the USIG")?;
            Box::new(UsigSubject::new(row, usig, keys, |_| None, None)?)
        }
        Row::Tpm => anyhow::bail!("the TPM row is built by bench_usig::tpm::build"),
        Row::HmacSha1Durable => {
            let dir = tempfile::Builder::new()
                .prefix("minlab-bench-usig-")
                .tempdir_in(durable_parent)
                .with_context(|| format!("creating a directory in {}", durable_parent.display()))?;
            let counter =
                DurableCounter::open(dir.path().join("replica-0.counter"), durable_block)?;
            let usig = AnyUsig::with_counter(UsigKind::HmacSha1, 0, keys, counter)?;
            let info = |c: &DurableCounter| Some((c.reservation_writes(), c.block()));
            Box::new(UsigSubject::new(row, usig, keys, info, Some(dir))?)
        }
    })
}

impl<C: Counter> UsigSubject<C> {
    fn new(
        row: Row,
        mut usig: AnyUsig<C>,
        keys: &KeySet,
        durable: fn(&C) -> Option<(u64, u64)>,
        dir: Option<tempfile::TempDir>,
    ) -> Result<Self> {
        let verifier = AnyUsig::new(usig.kind(), 1, keys).context("building the verifier")?;
        let ui = usig.create_ui(&MESSAGE)?;
        Ok(UsigSubject {
            row,
            start: usig.last_counter(),
            usig,
            verifier,
            ui,
            durable,
            _dir: dir,
        })
    }
}

impl<C: Counter> Subject for UsigSubject<C> {
    fn create(&mut self, n: u64) -> u64 {
        let mut failed = 0;
        for _ in 0..n {
            failed += u64::from(black_box(self.usig.create_ui(black_box(&MESSAGE))).is_err());
        }
        failed
    }

    fn verify(&mut self, n: u64) -> u64 {
        let mut failed = 0;
        for _ in 0..n {
            let result =
                self.verifier
                    .verify_ui(black_box(0), black_box(&self.ui), black_box(&MESSAGE));
            failed += u64::from(result.is_err());
        }
        failed
    }

    fn check(&mut self, create_calls: u64) -> Result<(), String> {
        let name = self.row.name();
        // Paper §2: one new, sequential identifier per call.
        let moved = self.usig.last_counter() - self.start;
        if moved != create_calls {
            return Err(format!(
                "{name}: {create_calls} create_ui calls moved the counter by {moved}"
            ));
        }
        let ui = self
            .usig
            .create_ui(&MESSAGE)
            .map_err(|e| format!("{name}: create_ui failed: {e}"))?;
        if ui.counter != self.start + create_calls + 1 {
            return Err(format!(
                "{name}: counter {} after {create_calls} calls from {}",
                ui.counter, self.start
            ));
        }
        if let Err(e) = self.verifier.verify_ui(0, &ui, &MESSAGE) {
            return Err(format!("{name}: a fresh UI was rejected: {e}"));
        }
        if self.verifier.verify_ui(0, &ui, b"another message").is_ok() {
            return Err(format!(
                "{name}: a UI verified for a message it was not created for"
            ));
        }
        Ok(())
    }

    fn durable(&self) -> Option<(u64, u64)> {
        (self.durable)(self.usig.counter())
    }
}
