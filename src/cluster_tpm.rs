//! The TPM side of `minlab cluster`: provisioning one TPM per replica into the cluster's
//! key files, and, for `cluster bench --usig tpm`, a private swtpm per replica.

use anyhow::Result;
use minlab_usig::KeySet;
use std::path::Path;

/// The swtpm processes of a benchmark; they stop when this is dropped.
pub struct PrivateTpms {
    #[cfg(feature = "tpm")]
    _tpms: Vec<minlab_usig::tpm::swtpm::Swtpm>,
}

/// Starts `n` swtpm processes with their state under `dir`; returns them and their TCTIs.
#[cfg(feature = "tpm")]
pub fn start_swtpms(n: u32, dir: &Path) -> Result<(PrivateTpms, Vec<String>)> {
    use minlab_usig::tpm::swtpm::{self, Swtpm};
    if !swtpm::available() {
        anyhow::bail!(
            "--usig tpm without --tcti starts one swtpm per replica, but swtpm is not \
             installed (scripts/setup installs it)"
        );
    }
    let tpms = (0..n)
        .map(|i| Swtpm::start(&dir.join(format!("swtpm-{i}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let tctis = tpms.iter().map(Swtpm::tcti).collect();
    Ok((PrivateTpms { _tpms: tpms }, tctis))
}

/// Starts `n` swtpm processes (needs the tpm feature).
#[cfg(not(feature = "tpm"))]
pub fn start_swtpms(_n: u32, _dir: &Path) -> Result<(PrivateTpms, Vec<String>)> {
    anyhow::bail!("{NOT_BUILT}")
}

#[cfg(not(feature = "tpm"))]
const NOT_BUILT: &str = "--usig tpm needs a minlab built with `--features tpm` (and \
                         libtss2-dev, which scripts/setup installs)";

/// Provisions replica `i`'s TPM at `tctis[i]` (key and counter created, or reused) and
/// records every replica's TPM identity in `keys`.
#[cfg(feature = "tpm")]
pub fn provision_all(keys: &mut KeySet, tctis: &[String]) -> Result<()> {
    use anyhow::Context;
    use minlab_usig::tpm::{TpmConfig, provision};
    for (id, tcti) in (0..).zip(tctis) {
        let identity = provision(&TpmConfig::new(tcti.clone()))
            .with_context(|| format!("provisioning replica {id}'s TPM at {tcti}"))?;
        keys.set_tpm_identity(id, identity)?;
    }
    Ok(())
}

/// Provisions every replica's TPM (needs the tpm feature).
#[cfg(not(feature = "tpm"))]
pub fn provision_all(_keys: &mut KeySet, _tctis: &[String]) -> Result<()> {
    anyhow::bail!("{NOT_BUILT}")
}
