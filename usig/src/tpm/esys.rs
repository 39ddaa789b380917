//! A minimal safe wrapper over the raw ESYS (TSS2 Enhanced System API) calls the TPM USIG
//! needs, because `tss-esapi` 7.7 wraps no `TPM2_GetSessionAuditDigest` and keeps its raw
//! context private. [`Esys`] owns the ESYS context and its TCTI and frees both; every
//! output the library allocates is freed by a guard; every failure is a [`UsigError::Tpm`].

use crate::UsigError;
use std::ffi::{CString, c_void};
use std::ptr::{null, null_mut};
use tss_esapi::tss2_esys as sys;

pub use sys::ESYS_TR;

/// `TSS2_TCTI_RC_IO_ERROR`: the TCTI could not talk to the TPM (connection refused or reset).
const TCTI_RC_IO_ERROR: u32 = 0x000A_000A;
/// Connection attempts before an I/O error is final (20 ms apart).
const CONNECT_ATTEMPTS_MAX: u32 = 50;
/// `TPMA_SESSION_CONTINUESESSION`.
pub const CONTINUE_SESSION: u8 = 0x01;
/// `TPMA_SESSION_AUDITEXCLUSIVE`.
pub const AUDIT_EXCLUSIVE: u8 = 0x02;
/// `TPMA_SESSION_AUDITRESET`.
pub const AUDIT_RESET: u8 = 0x04;
/// `TPMA_SESSION_DECRYPT`.
pub const DECRYPT: u8 = 0x20;
/// `TPMA_SESSION_ENCRYPT`.
pub const ENCRYPT: u8 = 0x40;
/// `TPMA_SESSION_AUDIT`.
pub const AUDIT: u8 = 0x80;
/// `ESYS_TR_NONE`: no session in this slot.
pub const NO_SESSION: ESYS_TR = sys::ESYS_TR_NONE;

const ALG_SHA256: u16 = 0x000b;
const ALG_NULL: u16 = 0x0010;
const ALG_ECDSA: u16 = 0x0018;
const ALG_ECC: u16 = 0x0023;
const ALG_AES: u16 = 0x0006;
const ALG_CFB: u16 = 0x0043;
const ECC_NIST_P256: u16 = 0x0003;
const SE_HMAC: u8 = 0x00;

/// `fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | restricted | sign`.
pub const SIGNING_KEY_ATTRIBUTES: u32 = 0x0000_0002 | 0x10 | 0x20 | 0x40 | 0x1_0000 | 0x4_0000;
/// `TPMA_NV_WRITTEN`.
pub const NV_WRITTEN: u32 = 0x2000_0000;
/// The counter index's attributes: `TPM_NT_COUNTER`, owner and auth read/write, `NO_DA`.
pub const COUNTER_ATTRIBUTES: u32 = (1 << 4) | 0x2 | 0x4 | 0x0002_0000 | 0x0004_0000 | 0x0200_0000;
/// Mask of `TPMA_NV`'s type field (`TPM_NT`).
pub const NV_TYPE_MASK: u32 = 0xf0;

/// An ESYS context connected to one TPM through a TCTI (e.g. `swtpm:host=127.0.0.1,port=2321`
/// or `device:/dev/tpmrm0`). Not `Sync`: one caller at a time, as the TPM requires anyway.
pub struct Esys {
    ctx: *mut sys::ESYS_CONTEXT,
    tcti: *mut sys::TSS2_TCTI_CONTEXT,
}

// SAFETY: the context is only reached through `&mut self`/`&self` of this owner; ESYS
// contexts may move between threads as long as they are not used concurrently.
unsafe impl Send for Esys {}

/// An output buffer allocated by ESYS, freed with `Esys_Free` on drop.
struct Out<T>(*mut T);

impl<T> Out<T> {
    fn new() -> Self {
        Out(null_mut())
    }
    fn slot(&mut self) -> *mut *mut T {
        &mut self.0
    }
    fn get(&self, op: &'static str) -> Result<&T, UsigError> {
        // SAFETY: ESYS either left the pointer null or set it to a valid allocation of T.
        unsafe { self.0.as_ref() }
            .ok_or_else(|| UsigError::TpmSetup(format!("{op} returned no output")))
    }
}

impl<T> Drop for Out<T> {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: allocated by ESYS (calloc); freed exactly once.
            unsafe { sys::Esys_Free(self.0.cast::<c_void>()) }
        }
    }
}

fn check(op: &'static str, rc: u32) -> Result<(), UsigError> {
    if rc == 0 {
        Ok(())
    } else {
        Err(UsigError::Tpm { op, rc })
    }
}

/// Copies a `TPM2B` payload, bounds-checked against its buffer.
fn tpm2b(size: u16, buffer: &[u8]) -> Result<Vec<u8>, UsigError> {
    buffer
        .get(..usize::from(size))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| UsigError::TpmSetup(format!("TPM2B size {size} exceeds its buffer")))
}

/// A 32-byte big-endian scalar from a `TPM2B_ECC_PARAMETER` (left-padded if the TPM
/// dropped leading zeros).
fn scalar32(p: &sys::TPM2B_ECC_PARAMETER) -> Result<[u8; 32], UsigError> {
    let bytes = tpm2b(p.size, &p.buffer)?;
    if bytes.len() > 32 {
        return Err(UsigError::TpmSetup(format!(
            "{}-byte P-256 scalar",
            bytes.len()
        )));
    }
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    Ok(out)
}

/// A `TPM2_GetSessionAuditDigest` result: the `TPMS_ATTEST` bytes and the signature's
/// `r` and `s`.
pub type SignedAttest = (Vec<u8>, [u8; 32], [u8; 32]);

/// What `TPM2_ReadPublic` says about a key.
#[derive(Clone, Debug)]
pub struct KeyPublic {
    /// `TPMT_PUBLIC.type`.
    pub kind: u16,
    /// `objectAttributes`.
    pub attributes: u32,
    /// The ECC scheme (`TPM_ALG_ECDSA` expected) and its hash.
    pub scheme: (u16, u16),
    /// The curve.
    pub curve: u16,
    /// SEC1 uncompressed point, if the key is a P-256 key.
    pub sec1: Option<[u8; 65]>,
    /// The key's qualified name.
    pub qualified_name: Vec<u8>,
}

impl KeyPublic {
    /// True for a restricted ECDSA-SHA256 P-256 signing key that never leaves the TPM.
    pub fn is_usig_key(&self) -> bool {
        self.kind == ALG_ECC
            && self.attributes & SIGNING_KEY_ATTRIBUTES == SIGNING_KEY_ATTRIBUTES
            && self.scheme == (ALG_ECDSA, ALG_SHA256)
            && self.curve == ECC_NIST_P256
            && self.sec1.is_some()
    }
}

impl Esys {
    /// Connects to the TPM named by `tcti` (a `Tss2_TctiLdr` name-conf string).
    pub fn connect(tcti: &str) -> Result<Self, UsigError> {
        let conf = CString::new(tcti)
            .map_err(|_| UsigError::TpmSetup("TCTI string contains a NUL byte".into()))?;
        let mut t = null_mut();
        // A TPM simulator (swtpm) or resource manager serves one connection at a time and
        // may refuse the next one while the previous is being torn down: retry an I/O error
        // for up to a second before giving up.
        let mut attempts = 0;
        loop {
            // SAFETY: conf is a valid C string; t receives an allocated TCTI or stays null.
            let rc = unsafe { sys::Tss2_TctiLdr_Initialize(conf.as_ptr(), &mut t) };
            attempts += 1;
            if rc == TCTI_RC_IO_ERROR && attempts < CONNECT_ATTEMPTS_MAX {
                std::thread::sleep(std::time::Duration::from_millis(20));
                continue;
            }
            check("Tss2_TctiLdr_Initialize", rc)?;
            break;
        }
        let mut ctx = null_mut();
        // SAFETY: t is a live TCTI; a null ABI version asks for the library's default.
        let rc = unsafe { sys::Esys_Initialize(&mut ctx, t, null_mut()) };
        if rc != 0 {
            // SAFETY: t was allocated above and is not used after this.
            unsafe { sys::Tss2_TctiLdr_Finalize(&mut t) };
            return Err(UsigError::Tpm {
                op: "Esys_Initialize",
                rc,
            });
        }
        Ok(Esys { ctx, tcti: t })
    }

    /// An ESYS handle for the TPM object at `handle` (persistent key or NV index).
    pub fn tr_from_public(&mut self, handle: u32) -> Result<ESYS_TR, UsigError> {
        let mut tr = sys::ESYS_TR_NONE;
        // SAFETY: self.ctx is live; tr is a valid out-pointer.
        check("Esys_TR_FromTPMPublic", unsafe {
            sys::Esys_TR_FromTPMPublic(
                self.ctx, handle, NO_SESSION, NO_SESSION, NO_SESSION, &mut tr,
            )
        })?;
        Ok(tr)
    }

    /// Forgets an ESYS handle without touching the TPM object.
    pub fn tr_close(&mut self, mut tr: ESYS_TR) {
        // SAFETY: closing an unknown handle only returns an error, ignored here.
        let _ = unsafe { sys::Esys_TR_Close(self.ctx, &mut tr) };
    }

    /// Flushes a transient object or session from the TPM.
    pub fn flush(&mut self, tr: ESYS_TR) -> Result<(), UsigError> {
        // SAFETY: self.ctx is live.
        check("Esys_FlushContext", unsafe {
            sys::Esys_FlushContext(self.ctx, tr)
        })
    }

    /// Starts an unbound, unsalted HMAC session with SHA-256. With `aes_cfb`, the session
    /// can encrypt parameters (used only by the tests' attacks).
    pub fn start_hmac_session(&mut self, aes_cfb: bool) -> Result<ESYS_TR, UsigError> {
        // SAFETY: plain-old-data C structs; all-zero is a valid value.
        let mut sym: sys::TPMT_SYM_DEF = unsafe { std::mem::zeroed() };
        if aes_cfb {
            sym.algorithm = ALG_AES;
            sym.keyBits.aes = 128;
            sym.mode.aes = ALG_CFB;
        } else {
            sym.algorithm = ALG_NULL;
        }
        let mut session = sys::ESYS_TR_NONE;
        // SAFETY: sym lives across the call; a null nonceCaller makes ESYS draw one.
        check("Esys_StartAuthSession", unsafe {
            sys::Esys_StartAuthSession(
                self.ctx,
                sys::ESYS_TR_NONE,
                sys::ESYS_TR_NONE,
                NO_SESSION,
                NO_SESSION,
                NO_SESSION,
                null(),
                SE_HMAC,
                &sym,
                ALG_SHA256,
                &mut session,
            )
        })?;
        Ok(session)
    }

    /// Sets all of `session`'s attributes for its next use.
    pub fn set_session_attributes(&mut self, session: ESYS_TR, flags: u8) -> Result<(), UsigError> {
        // SAFETY: self.ctx is live.
        check("Esys_TRSess_SetAttributes", unsafe {
            sys::Esys_TRSess_SetAttributes(self.ctx, session, flags, 0xff)
        })
    }

    /// `TPM2_NV_Read(owner, nv, 8, 0)`, owner authorized by password, with `extra` (an audit
    /// session, or [`NO_SESSION`]) in the second session slot. Returns the counter value.
    pub fn nv_read(&mut self, nv: ESYS_TR, extra: ESYS_TR) -> Result<u64, UsigError> {
        let mut data = Out::<sys::TPM2B_MAX_NV_BUFFER>::new();
        // SAFETY: self.ctx is live; data receives an ESYS allocation.
        check("TPM2_NV_Read", unsafe {
            sys::Esys_NV_Read(
                self.ctx,
                sys::ESYS_TR_RH_OWNER,
                nv,
                sys::ESYS_TR_PASSWORD,
                extra,
                NO_SESSION,
                8,
                0,
                data.slot(),
            )
        })?;
        let data = data.get("TPM2_NV_Read")?;
        let bytes: [u8; 8] = tpm2b(data.size, &data.buffer)?
            .try_into()
            .map_err(|_| UsigError::TpmSetup("NV_Read did not return 8 bytes".into()))?;
        Ok(u64::from_be_bytes(bytes))
    }

    /// `TPM2_NV_Increment(owner, nv)`, with `extra` in the second session slot.
    pub fn nv_increment(&mut self, nv: ESYS_TR, extra: ESYS_TR) -> Result<(), UsigError> {
        // SAFETY: self.ctx is live.
        check("TPM2_NV_Increment", unsafe {
            sys::Esys_NV_Increment(
                self.ctx,
                sys::ESYS_TR_RH_OWNER,
                nv,
                sys::ESYS_TR_PASSWORD,
                extra,
                NO_SESSION,
            )
        })
    }

    /// `TPM2_GetSessionAuditDigest(endorsement, key, session, qualifying)`: the attestation
    /// bytes and the ECDSA signature `(r, s)`.
    pub fn session_audit_digest(
        &mut self,
        key: ESYS_TR,
        session: ESYS_TR,
        qualifying: &[u8; 32],
    ) -> Result<SignedAttest, UsigError> {
        // SAFETY: plain-old-data C structs; all-zero is a valid value.
        let mut q: sys::TPM2B_DATA = unsafe { std::mem::zeroed() };
        q.size = 32;
        q.buffer[..32].copy_from_slice(qualifying);
        // SAFETY: as above; scheme NULL means "the key's own scheme".
        let mut scheme: sys::TPMT_SIG_SCHEME = unsafe { std::mem::zeroed() };
        scheme.scheme = ALG_NULL;
        let mut attest = Out::<sys::TPM2B_ATTEST>::new();
        let mut sig = Out::<sys::TPMT_SIGNATURE>::new();
        // SAFETY: inputs live across the call; outputs receive ESYS allocations.
        check("TPM2_GetSessionAuditDigest", unsafe {
            sys::Esys_GetSessionAuditDigest(
                self.ctx,
                sys::ESYS_TR_RH_ENDORSEMENT,
                key,
                session,
                sys::ESYS_TR_PASSWORD,
                sys::ESYS_TR_PASSWORD,
                NO_SESSION,
                &q,
                &scheme,
                attest.slot(),
                sig.slot(),
            )
        })?;
        let attest = attest.get("TPM2_GetSessionAuditDigest")?;
        let bytes = tpm2b(attest.size, &attest.attestationData)?;
        let sig = sig.get("TPM2_GetSessionAuditDigest")?;
        if sig.sigAlg != ALG_ECDSA {
            return Err(UsigError::TpmSetup(format!(
                "signature algorithm {:#06x}, expected ECDSA",
                sig.sigAlg
            )));
        }
        // SAFETY: sigAlg is ECDSA, so the union holds the ecdsa member.
        let ecdsa = unsafe { &sig.signature.ecdsa };
        Ok((
            bytes,
            scalar32(&ecdsa.signatureR)?,
            scalar32(&ecdsa.signatureS)?,
        ))
    }

    /// `TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES)` from property `first` on: the
    /// `(property, value)` pairs the TPM reports, at most `count` of them (a TPM omits
    /// properties it does not implement).
    pub fn tpm_properties(&mut self, first: u32, count: u32) -> Result<Vec<(u32, u32)>, UsigError> {
        const TPM2_CAP_TPM_PROPERTIES: u32 = 6;
        let mut more = 0u8;
        let mut data = Out::<sys::TPMS_CAPABILITY_DATA>::new();
        // SAFETY: self.ctx is live; `data` receives an ESYS allocation.
        check("TPM2_GetCapability", unsafe {
            sys::Esys_GetCapability(
                self.ctx,
                NO_SESSION,
                NO_SESSION,
                NO_SESSION,
                TPM2_CAP_TPM_PROPERTIES,
                first,
                count,
                &mut more,
                data.slot(),
            )
        })?;
        let data = data.get("TPM2_GetCapability")?;
        if data.capability != TPM2_CAP_TPM_PROPERTIES {
            return Err(UsigError::TpmSetup(format!(
                "TPM2_GetCapability answered capability {}",
                data.capability
            )));
        }
        // SAFETY: for TPM_CAP_TPM_PROPERTIES the union holds `tpmProperties`.
        let list = unsafe { &data.data.tpmProperties };
        let n = usize::try_from(list.count).unwrap_or(usize::MAX);
        let listed = list.tpmProperty.get(..n).ok_or_else(|| {
            UsigError::TpmSetup(format!("TPM2_GetCapability listed {n} properties"))
        })?;
        Ok(listed.iter().map(|p| (p.property, p.value)).collect())
    }

    /// `TPM2_GetRandom(n)` (the tests' interfering command).
    pub fn get_random(&mut self, n: u16) -> Result<Vec<u8>, UsigError> {
        let mut out = Out::<sys::TPM2B_DIGEST>::new();
        // SAFETY: self.ctx is live.
        check("TPM2_GetRandom", unsafe {
            sys::Esys_GetRandom(self.ctx, NO_SESSION, NO_SESSION, NO_SESSION, n, out.slot())
        })?;
        let out = out.get("TPM2_GetRandom")?;
        tpm2b(out.size, &out.buffer)
    }

    /// `TPM2_ReadPublic` of a key.
    pub fn read_public(&mut self, key: ESYS_TR) -> Result<KeyPublic, UsigError> {
        let mut public = Out::<sys::TPM2B_PUBLIC>::new();
        let mut name = Out::<sys::TPM2B_NAME>::new();
        let mut qualified = Out::<sys::TPM2B_NAME>::new();
        // SAFETY: self.ctx is live; outputs receive ESYS allocations.
        check("TPM2_ReadPublic", unsafe {
            sys::Esys_ReadPublic(
                self.ctx,
                key,
                NO_SESSION,
                NO_SESSION,
                NO_SESSION,
                public.slot(),
                name.slot(),
                qualified.slot(),
            )
        })?;
        let area = &public.get("TPM2_ReadPublic")?.publicArea;
        let qualified = qualified.get("TPM2_ReadPublic")?;
        let qualified_name = tpm2b(qualified.size, &qualified.name)?;
        let mut out = KeyPublic {
            kind: area.type_,
            attributes: area.objectAttributes,
            scheme: (0, 0),
            curve: 0,
            sec1: None,
            qualified_name,
        };
        if area.type_ == ALG_ECC {
            // SAFETY: type is ECC, so the union holds the ECC members.
            let (params, point) = unsafe { (&area.parameters.eccDetail, &area.unique.ecc) };
            // SAFETY: the scheme's details are a hash for every signing scheme.
            out.scheme = (params.scheme.scheme, unsafe {
                params.scheme.details.anySig.hashAlg
            });
            out.curve = params.curveID;
            if let (Ok(x), Ok(y)) = (scalar32(&point.x), scalar32(&point.y)) {
                let mut sec1 = [4u8; 65];
                sec1[1..33].copy_from_slice(&x);
                sec1[33..].copy_from_slice(&y);
                out.sec1 = Some(sec1);
            }
        }
        Ok(out)
    }

    /// `TPM2_NV_ReadPublic`: the index's attributes, data size and name.
    pub fn nv_read_public(&mut self, nv: ESYS_TR) -> Result<(u32, u16, Vec<u8>), UsigError> {
        let mut public = Out::<sys::TPM2B_NV_PUBLIC>::new();
        let mut name = Out::<sys::TPM2B_NAME>::new();
        // SAFETY: self.ctx is live; outputs receive ESYS allocations.
        check("TPM2_NV_ReadPublic", unsafe {
            sys::Esys_NV_ReadPublic(
                self.ctx,
                nv,
                NO_SESSION,
                NO_SESSION,
                NO_SESSION,
                public.slot(),
                name.slot(),
            )
        })?;
        let p = &public.get("TPM2_NV_ReadPublic")?.nvPublic;
        let name = name.get("TPM2_NV_ReadPublic")?;
        Ok((p.attributes, p.dataSize, tpm2b(name.size, &name.name)?))
    }

    /// `TPM2_CreatePrimary` in the endorsement hierarchy of a restricted ECDSA-SHA256 P-256
    /// signing key (deterministic: the same key every time, from the endorsement seed).
    pub fn create_signing_primary(&mut self) -> Result<ESYS_TR, UsigError> {
        // SAFETY: plain-old-data C structs; all-zero is a valid value (empty auth/data,
        // empty unique, empty policy).
        let sensitive: sys::TPM2B_SENSITIVE_CREATE = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut public: sys::TPM2B_PUBLIC = unsafe { std::mem::zeroed() };
        let area = &mut public.publicArea;
        area.type_ = ALG_ECC;
        area.nameAlg = ALG_SHA256;
        area.objectAttributes = SIGNING_KEY_ATTRIBUTES;
        // SAFETY: writing union members of plain-old-data.
        unsafe {
            let ecc = &mut area.parameters.eccDetail;
            ecc.symmetric.algorithm = ALG_NULL;
            ecc.scheme.scheme = ALG_ECDSA;
            ecc.scheme.details.ecdsa.hashAlg = ALG_SHA256;
            ecc.curveID = ECC_NIST_P256;
            ecc.kdf.scheme = ALG_NULL;
        }
        // SAFETY: as above.
        let outside: sys::TPM2B_DATA = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let pcrs: sys::TPML_PCR_SELECTION = unsafe { std::mem::zeroed() };
        let mut handle = sys::ESYS_TR_NONE;
        let mut out_public = Out::<sys::TPM2B_PUBLIC>::new();
        let mut creation_data = Out::<sys::TPM2B_CREATION_DATA>::new();
        let mut creation_hash = Out::<sys::TPM2B_DIGEST>::new();
        let mut ticket = Out::<sys::TPMT_TK_CREATION>::new();
        // SAFETY: inputs live across the call; outputs receive ESYS allocations.
        check("TPM2_CreatePrimary", unsafe {
            sys::Esys_CreatePrimary(
                self.ctx,
                sys::ESYS_TR_RH_ENDORSEMENT,
                sys::ESYS_TR_PASSWORD,
                NO_SESSION,
                NO_SESSION,
                &sensitive,
                &public,
                &outside,
                &pcrs,
                &mut handle,
                out_public.slot(),
                creation_data.slot(),
                creation_hash.slot(),
                ticket.slot(),
            )
        })?;
        Ok(handle)
    }

    /// `TPM2_EvictControl(owner, object, persistent)`: makes a transient object persistent.
    pub fn evict_control(
        &mut self,
        object: ESYS_TR,
        persistent: u32,
    ) -> Result<ESYS_TR, UsigError> {
        let mut out = sys::ESYS_TR_NONE;
        // SAFETY: self.ctx is live.
        check("TPM2_EvictControl", unsafe {
            sys::Esys_EvictControl(
                self.ctx,
                sys::ESYS_TR_RH_OWNER,
                object,
                sys::ESYS_TR_PASSWORD,
                NO_SESSION,
                NO_SESSION,
                persistent,
                &mut out,
            )
        })?;
        Ok(out)
    }

    /// `TPM2_NV_DefineSpace(owner)` of an 8-byte counter index at `index` with
    /// [`COUNTER_ATTRIBUTES`] and an empty auth value.
    pub fn nv_define_counter(&mut self, index: u32) -> Result<ESYS_TR, UsigError> {
        // SAFETY: plain-old-data C structs; all-zero is a valid value.
        let auth: sys::TPM2B_AUTH = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut public: sys::TPM2B_NV_PUBLIC = unsafe { std::mem::zeroed() };
        public.nvPublic.nvIndex = index;
        public.nvPublic.nameAlg = ALG_SHA256;
        public.nvPublic.attributes = COUNTER_ATTRIBUTES;
        public.nvPublic.dataSize = 8;
        let mut nv = sys::ESYS_TR_NONE;
        // SAFETY: inputs live across the call.
        check("TPM2_NV_DefineSpace", unsafe {
            sys::Esys_NV_DefineSpace(
                self.ctx,
                sys::ESYS_TR_RH_OWNER,
                sys::ESYS_TR_PASSWORD,
                NO_SESSION,
                NO_SESSION,
                &auth,
                &public,
                &mut nv,
            )
        })?;
        Ok(nv)
    }
}

impl Drop for Esys {
    fn drop(&mut self) {
        // SAFETY: both were allocated in `connect` and are freed exactly once; Finalize
        // tolerates the context having open handles.
        unsafe {
            sys::Esys_Finalize(&mut self.ctx);
            sys::Tss2_TctiLdr_Finalize(&mut self.tcti);
        }
    }
}

impl std::fmt::Debug for Esys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Esys { .. }")
    }
}
