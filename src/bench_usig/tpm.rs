//! The TPM row of `minlab bench usig`: the TPM 2.0 USIG on the TPM given by `--tpm`, or on
//! a private swtpm started for the run; when neither is possible the row is left out with
//! the reason, so the software rows still get measured.

#[cfg(feature = "tpm")]
use super::subject::MESSAGE;
use super::subject::Subject;
use minlab_usig::KeySet;

/// Where the TPM row's TPM comes from.
pub enum Source<'a> {
    /// A TPM named by the user (`--tpm TCTI`): it is provisioned (key and counter reused
    /// when present) and any failure is an error.
    Given(&'a str),
    /// A swtpm started for this run, if swtpm is installed.
    PrivateSwtpm,
}

/// Builds the TPM row's subject, or says why there is none: `Ok(Err(reason))` when the row
/// is skipped, `Err` when a TPM the user asked for fails.
#[cfg(not(feature = "tpm"))]
pub fn build(
    _keys: &KeySet,
    source: Source<'_>,
) -> anyhow::Result<Result<Box<dyn Subject>, String>> {
    let why =
        "this minlab was built without the tpm feature (cargo build --release --features tpm)";
    match source {
        Source::Given(tcti) => anyhow::bail!("--tpm {tcti}: {why}"),
        Source::PrivateSwtpm => Ok(Err(why.into())),
    }
}

/// Builds the TPM row's subject, or says why there is none: `Ok(Err(reason))` when the row
/// is skipped, `Err` when a TPM the user asked for fails.
#[cfg(feature = "tpm")]
pub fn build(
    keys: &KeySet,
    source: Source<'_>,
) -> anyhow::Result<Result<Box<dyn Subject>, String>> {
    use anyhow::Context;
    use minlab_usig::tpm::swtpm::{self, Swtpm};
    use minlab_usig::tpm::{TpmConfig, provision};
    use minlab_usig::{TpmUsig, TpmVerifier, Usig};

    let (config, private) = match source {
        Source::Given(tcti) => (TpmConfig::new(tcti), None),
        Source::PrivateSwtpm => {
            if !swtpm::available() {
                return Ok(Err(
                    "swtpm is not installed (scripts/setup installs it); or pass --tpm TCTI".into(),
                ));
            }
            let dir = tempfile::Builder::new()
                .prefix("minlab-bench-swtpm-")
                .tempdir()
                .context("creating swtpm's state directory")?;
            let tpm = Swtpm::start(dir.path())?;
            (TpmConfig::new(tpm.tcti()), Some((tpm, dir)))
        }
    };
    let identity = provision(&config).with_context(|| format!("TPM at {}", config.tcti))?;
    let mut keys = keys.clone();
    keys.set_tpm_identity(0, identity)?;
    let mut usig = TpmUsig::open(0, &keys, &config)?;
    let verifier = TpmVerifier::new(&keys.public_only())?;
    let ui = usig.create_ui(&MESSAGE)?;
    Ok(Ok(Box::new(TpmSubject {
        start: usig.last_counter(),
        usig,
        verifier,
        ui,
        tcti: config.tcti,
        _private: private,
    })))
}

/// The TPM USIG under measurement; dropped before the swtpm it may talk to.
#[cfg(feature = "tpm")]
struct TpmSubject {
    usig: minlab_usig::TpmUsig,
    /// A verifier that holds only public keys, as a backup or client would.
    verifier: minlab_usig::TpmVerifier,
    ui: minlab_usig::Ui,
    start: u64,
    tcti: String,
    _private: Option<(minlab_usig::tpm::swtpm::Swtpm, tempfile::TempDir)>,
}

#[cfg(feature = "tpm")]
impl Subject for TpmSubject {
    fn create(&mut self, n: u64) -> u64 {
        use minlab_usig::Usig;
        (0..n)
            .map(|_| u64::from(std::hint::black_box(self.usig.create_ui(&MESSAGE)).is_err()))
            .sum()
    }

    fn verify(&mut self, n: u64) -> u64 {
        (0..n)
            .map(|_| {
                let ok = self
                    .verifier
                    .verify_ui(0, std::hint::black_box(&self.ui), &MESSAGE);
                u64::from(ok.is_err())
            })
            .sum()
    }

    fn check(&mut self, create_calls: u64) -> Result<(), String> {
        use minlab_usig::Usig;
        // Nothing else talks to this TPM, so no attempt was interleaved: no skipped value.
        let moved = self.usig.last_counter() - self.start;
        if moved != create_calls {
            return Err(format!(
                "tpm: {create_calls} create_ui calls moved the counter by {moved}"
            ));
        }
        let ui = self
            .usig
            .create_ui(&MESSAGE)
            .map_err(|e| format!("tpm: create_ui failed: {e}"))?;
        if ui.counter != self.start + create_calls + 1 {
            return Err(format!(
                "tpm: counter {} after {create_calls} calls from {}",
                ui.counter, self.start
            ));
        }
        if let Err(e) = self.verifier.verify_ui(0, &ui, &MESSAGE) {
            return Err(format!("tpm: a fresh UI was rejected: {e}"));
        }
        if self.verifier.verify_ui(0, &ui, b"another message").is_ok() {
            return Err("tpm: a UI verified for a message it was not created for".into());
        }
        Ok(())
    }

    fn durable(&self) -> Option<(u64, u64)> {
        None
    }

    fn describe(&self) -> Option<String> {
        Some(format!("tpm: TPM 2.0 USIG on {}", self.tcti))
    }
}
