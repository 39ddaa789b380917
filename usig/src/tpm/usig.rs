//! [`TpmUsig`]: the [`Usig`] whose counter and signing key are inside a TPM 2.0 chip; the
//! creating half of the construction described in [`crate::tpm`].

use super::attest::message_digest;
use super::esys::{AUDIT, AUDIT_EXCLUSIVE, AUDIT_RESET, CONTINUE_SESSION, ESYS_TR, Esys};
use super::provision::{TpmConfig, read_identity};
use super::rc::TPM_RC_EXCLUSIVE;
use super::{Rejection, TpmIdentity, TpmVerifier};
use crate::{Certificate, KeySet, ReplicaId, Ui, Usig, UsigError};

/// The points between `create_ui`'s TPM commands, where a test hook may interfere.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Step {
    /// After the first `NV_Read` (the audit reset).
    AfterRead,
    /// After `NV_Increment`.
    AfterIncrement,
    /// After the second `NV_Read`, before `GetSessionAuditDigest`.
    AfterReread,
}

/// How one attempt at `create_ui` ended badly.
enum Failed {
    /// Another command broke the session's exclusivity: try again.
    Interfered(UsigError),
    /// Anything else: give up.
    Fatal(UsigError),
}

impl From<UsigError> for Failed {
    fn from(e: UsigError) -> Self {
        match e {
            UsigError::Tpm { rc, .. } if rc == TPM_RC_EXCLUSIVE => Failed::Interfered(e),
            e => Failed::Fatal(e),
        }
    }
}

/// A USIG backed by a TPM 2.0: the counter is an NV counter index, certificates are
/// signatures by a restricted TPM key over an exclusive session audit.
///
/// Not `Clone`: it owns the connection to one physical TPM.
#[derive(Debug)]
pub struct TpmUsig {
    id: ReplicaId,
    esys: Esys,
    key: ESYS_TR,
    nv: ESYS_TR,
    session: ESYS_TR,
    own: TpmIdentity,
    verifier: TpmVerifier,
    last: u64,
}

impl TpmUsig {
    /// How many times `create_ui` starts over when another TPM command interleaves.
    pub const MAX_ATTEMPTS: u32 = 3;

    /// Opens replica `id`'s USIG on the TPM of `config`, checking that the key and counter
    /// there are the ones of `keys`' TPM identity for `id`.
    pub fn open(id: ReplicaId, keys: &KeySet, config: &TpmConfig) -> Result<Self, UsigError> {
        if id >= keys.replica_count() {
            return Err(UsigError::UnknownSigner(id));
        }
        let own = keys
            .tpm_identity(id)
            .ok_or(UsigError::MissingKey {
                kind: "tpm identity",
                replica: id,
            })?
            .clone();
        let verifier = TpmVerifier::new(keys)?;
        let mut esys = Esys::connect(&config.tcti)?;
        let key = esys.tr_from_public(config.key_handle)?;
        let nv = esys.tr_from_public(config.nv_index)?;
        let found = read_identity(&mut esys, key, nv, own.counter_base)?;
        if !esys.read_public(key)?.is_usig_key() || found != own {
            return Err(UsigError::TpmSetup(format!(
                "the key at {:#010x} or the counter at {:#010x} is not the one in replica \
                 {id}'s TPM identity",
                config.key_handle, config.nv_index
            )));
        }
        let value = esys.nv_read(nv, super::esys::NO_SESSION)?;
        let last = value.checked_sub(own.counter_base).ok_or_else(|| {
            UsigError::TpmSetup(format!(
                "the counter is at {value}, below the identity's base {}",
                own.counter_base
            ))
        })?;
        let session = esys.start_hmac_session(false)?;
        Ok(TpmUsig {
            id,
            esys,
            key,
            nv,
            session,
            own,
            verifier,
            last,
        })
    }

    /// This replica's TPM identity.
    pub fn identity(&self) -> &TpmIdentity {
        &self.own
    }

    /// The raw ESYS connection, for diagnostics and for tests that play the malicious
    /// host. Any command sent through it between `create_ui`'s steps breaks exclusivity.
    pub fn esys(&mut self) -> &mut Esys {
        &mut self.esys
    }

    /// `create_ui` with `hook` called between the TPM commands (tests use it to interleave
    /// commands as a malicious host would).
    #[doc(hidden)]
    pub fn create_ui_with_hook(
        &mut self,
        message: &[u8],
        mut hook: impl FnMut(Step, &mut Esys),
    ) -> Result<Ui, UsigError> {
        let mut last_error = None;
        for _ in 0..Self::MAX_ATTEMPTS {
            match self.attempt(message, &mut hook) {
                Ok(ui) => return Ok(ui),
                Err(Failed::Interfered(e)) => last_error = Some(e),
                Err(Failed::Fatal(e)) => return Err(e),
            }
        }
        Err(last_error.unwrap_or(UsigError::CounterExhausted))
    }

    /// One run of the read / increment / read / attest chain.
    fn attempt(
        &mut self,
        message: &[u8],
        hook: &mut impl FnMut(Step, &mut Esys),
    ) -> Result<Ui, Failed> {
        let (s, nv) = (self.session, self.nv);
        let esys = &mut self.esys;
        esys.set_session_attributes(s, AUDIT | CONTINUE_SESSION | AUDIT_RESET)?;
        let v = esys.nv_read(nv, s)?;
        hook(Step::AfterRead, esys);
        esys.set_session_attributes(s, AUDIT | CONTINUE_SESSION | AUDIT_EXCLUSIVE)?;
        esys.nv_increment(nv, s)?;
        // From here on the TPM counter is at least v + 1: whatever fails, the value is
        // spent, and `last_counter` must say so.
        if let Some(spent) = v
            .checked_add(1)
            .and_then(|c| c.checked_sub(self.own.counter_base))
        {
            self.last = self.last.max(spent);
        }
        hook(Step::AfterIncrement, esys);
        esys.set_session_attributes(s, AUDIT | CONTINUE_SESSION | AUDIT_EXCLUSIVE)?;
        let w = esys.nv_read(nv, s)?;
        hook(Step::AfterReread, esys);
        let (attest, r, sig_s) =
            esys.session_audit_digest(self.key, s, &message_digest(message))?;
        let counter = w
            .checked_sub(self.own.counter_base)
            .filter(|&c| c >= 1 && Some(w) == v.checked_add(1))
            .ok_or_else(|| {
                Failed::Fatal(UsigError::TpmSetup(format!(
                    "counter read {v} then {w} (base {})",
                    self.own.counter_base
                )))
            })?;
        self.last = self.last.max(counter);
        match self
            .own
            .check_attestation(counter, message, &attest, &r, &sig_s)
        {
            Ok(cert) => Ok(Ui {
                counter,
                cert: Certificate::Tpm(Box::new(cert)),
            }),
            Err(Rejection::NotExclusive) => Err(Failed::Interfered(UsigError::TpmSetup(
                "another TPM command ran inside the audit session".into(),
            ))),
            Err(rejection) => Err(Failed::Fatal(UsigError::TpmSetup(format!(
                "the TPM's attestation does not verify: {rejection:?}"
            )))),
        }
    }
}

impl Usig for TpmUsig {
    fn id(&self) -> ReplicaId {
        self.id
    }

    /// Runs the exclusive audit chain; if another command interleaves, starts over (up to
    /// [`TpmUsig::MAX_ATTEMPTS`] times). An interleaving after the increment spends a
    /// counter value, so the next UI skips one. Every returned UI has been verified.
    fn create_ui(&mut self, message: &[u8]) -> Result<Ui, UsigError> {
        self.create_ui_with_hook(message, |_, _| {})
    }

    fn verify_ui(&self, signer: ReplicaId, ui: &Ui, message: &[u8]) -> Result<(), UsigError> {
        self.verifier.verify_ui(signer, ui, message)
    }

    fn last_counter(&self) -> u64 {
        self.last
    }

    fn verification_is_public(&self) -> bool {
        true
    }
}

impl Drop for TpmUsig {
    fn drop(&mut self) {
        // Best effort: a TPM has few session slots. The connection is closed after this.
        let _ = self.esys.flush(self.session);
    }
}
