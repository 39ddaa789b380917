//! Setting a TPM up for the USIG: the restricted signing key at a persistent handle and the
//! NV counter index, created when absent and reused when present, and the public
//! [`TpmIdentity`] that every verifier of this replica's UIs needs.

use super::TpmIdentity;
use super::attest::NAME_LEN;
use super::esys::{COUNTER_ATTRIBUTES, ESYS_TR, Esys, NO_SESSION, NV_TYPE_MASK, NV_WRITTEN};
use crate::UsigError;

/// Where the USIG's key and counter live on a TPM, and how to reach it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TpmConfig {
    /// The TCTI: `swtpm:host=127.0.0.1,port=2321` for swtpm, `device:/dev/tpmrm0` for a
    /// TPM behind the kernel's resource manager.
    pub tcti: String,
    /// Persistent handle of the signing key (owner range, `0x81000000..=0x817fffff`).
    pub key_handle: u32,
    /// Handle of the NV counter index (`0x01000000..=0x01ffffff`).
    pub nv_index: u32,
}

impl TpmConfig {
    /// The signing key's default persistent handle.
    pub const DEFAULT_KEY_HANDLE: u32 = 0x8100_0010;
    /// The counter's default NV index.
    pub const DEFAULT_NV_INDEX: u32 = 0x0150_0020;

    /// Default handles on the TPM reached through `tcti`.
    pub fn new(tcti: impl Into<String>) -> Self {
        TpmConfig {
            tcti: tcti.into(),
            key_handle: Self::DEFAULT_KEY_HANDLE,
            nv_index: Self::DEFAULT_NV_INDEX,
        }
    }

    /// Default handles, with the TCTI taken from `TPM2TOOLS_TCTI`, else `TCTI`, else
    /// `device:/dev/tpmrm0` (the variables tpm2-tools users already set).
    pub fn from_env() -> Self {
        let tcti = std::env::var("TPM2TOOLS_TCTI")
            .or_else(|_| std::env::var("TCTI"))
            .unwrap_or_else(|_| "device:/dev/tpmrm0".into());
        Self::new(tcti)
    }
}

/// True when `e` says the TPM has no object at the handle asked for.
fn is_missing(e: &UsigError) -> bool {
    // TPM_RC_HANDLE in format one (any handle number), straight from the TPM (layer 0).
    matches!(e, UsigError::Tpm { rc, .. } if rc >> 16 == 0 && rc & 0x80 != 0 && rc & 0x3f == 0x0b)
}

fn name34(what: &str, name: &[u8]) -> Result<[u8; NAME_LEN], UsigError> {
    name.try_into().map_err(|_| {
        UsigError::TpmSetup(format!(
            "{what} is {} bytes, expected a SHA-256 name",
            name.len()
        ))
    })
}

/// The signing key at `config.key_handle`, created (as an endorsement primary) and
/// persisted if absent; checked to be a restricted ECDSA P-256 key if present.
fn ensure_key(esys: &mut Esys, config: &TpmConfig) -> Result<ESYS_TR, UsigError> {
    let key = match esys.tr_from_public(config.key_handle) {
        Ok(key) => key,
        Err(e) if is_missing(&e) => {
            let transient = esys.create_signing_primary()?;
            let persistent = esys.evict_control(transient, config.key_handle);
            esys.flush(transient)?;
            persistent?
        }
        Err(e) => return Err(e),
    };
    if !esys.read_public(key)?.is_usig_key() {
        return Err(UsigError::TpmSetup(format!(
            "the object at {:#010x} is not a restricted ECDSA-SHA256 P-256 signing key; \
             choose another key handle or evict it",
            config.key_handle
        )));
    }
    Ok(key)
}

/// The counter index at `config.nv_index`, defined and written once if absent; checked to
/// be an 8-byte counter with the USIG's attributes if present.
fn ensure_counter(esys: &mut Esys, config: &TpmConfig) -> Result<ESYS_TR, UsigError> {
    let nv = match esys.tr_from_public(config.nv_index) {
        Ok(nv) => nv,
        Err(e) if is_missing(&e) => esys.nv_define_counter(config.nv_index)?,
        Err(e) => return Err(e),
    };
    let (attributes, size, _) = esys.nv_read_public(nv)?;
    if attributes & !NV_WRITTEN != COUNTER_ATTRIBUTES || size != 8 {
        return Err(UsigError::TpmSetup(format!(
            "NV index {:#010x} has attributes {attributes:#010x} (type {}), size {size}; the \
             USIG needs a counter with attributes {COUNTER_ATTRIBUTES:#010x}",
            config.nv_index,
            (attributes & NV_TYPE_MASK) >> 4
        )));
    }
    if attributes & NV_WRITTEN == 0 {
        // A counter can be read only once written; its first increment sets it to the
        // highest value any counter on this TPM ever had, plus one.
        esys.nv_increment(nv, NO_SESSION)?;
        // The name covers TPMA_NV_WRITTEN: look the index up afresh.
        esys.tr_close(nv);
        return esys.tr_from_public(config.nv_index);
    }
    Ok(nv)
}

/// Reads the public identity of an already provisioned TPM, with `counter_base` as given.
pub(crate) fn read_identity(
    esys: &mut Esys,
    key: ESYS_TR,
    nv: ESYS_TR,
    counter_base: u64,
) -> Result<TpmIdentity, UsigError> {
    let public = esys.read_public(key)?;
    let key_sec1 = public
        .sec1
        .ok_or_else(|| UsigError::TpmSetup("the signing key is not a P-256 key".into()))?;
    let (_, _, nv_name) = esys.nv_read_public(nv)?;
    Ok(TpmIdentity {
        key_sec1,
        signer_name: name34("the key's qualified name", &public.qualified_name)?,
        nv_name: name34("the counter's name", &nv_name)?,
        counter_base,
    })
}

/// Provisions the TPM reached through `config.tcti` for the USIG, reusing a key and counter
/// already there, and returns the identity to publish (e.g. with
/// [`crate::KeySet::set_tpm_identity`] and [`crate::KeySet::save`]).
///
/// The identity's `counter_base` is the counter's current value, so UIs made under it
/// count 1, 2, 3, ...; provisioning again yields a new identity (a new base), which peers
/// must adopt like a new key.
pub fn provision(config: &TpmConfig) -> Result<TpmIdentity, UsigError> {
    let mut esys = Esys::connect(&config.tcti)?;
    let key = ensure_key(&mut esys, config)?;
    let nv = ensure_counter(&mut esys, config)?;
    let base = esys.nv_read(nv, NO_SESSION)?;
    read_identity(&mut esys, key, nv, base)
}
