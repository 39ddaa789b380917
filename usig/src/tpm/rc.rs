//! Readable names for TPM and TSS response codes, so that a failed TPM call says what went
//! wrong (`0x121 TPM_RC_EXCLUSIVE`) without libtss2-rc.

/// `TPM_RC_EXCLUSIVE`: a command with `auditExclusive` found its session no longer exclusive
/// (another command ran since the audit reset).
pub const TPM_RC_EXCLUSIVE: u32 = 0x121;

const VER1: &[(u32, &str)] = &[
    (0x00, "INITIALIZE"),
    (0x01, "FAILURE"),
    (0x03, "SEQUENCE"),
    (0x0b, "PRIVATE"),
    (0x19, "HMAC"),
    (0x20, "DISABLED"),
    (0x21, "EXCLUSIVE"),
    (0x24, "AUTH_TYPE"),
    (0x25, "AUTH_MISSING"),
    (0x26, "POLICY"),
    (0x27, "PCR"),
    (0x28, "PCR_CHANGED"),
    (0x2d, "UPGRADE"),
    (0x2e, "TOO_MANY_CONTEXTS"),
    (0x2f, "AUTH_UNAVAILABLE"),
    (0x30, "REBOOT"),
    (0x31, "UNBALANCED"),
    (0x42, "COMMAND_SIZE"),
    (0x43, "COMMAND_CODE"),
    (0x44, "AUTHSIZE"),
    (0x45, "AUTH_CONTEXT"),
    (0x46, "NV_RANGE"),
    (0x47, "NV_SIZE"),
    (0x48, "NV_LOCKED"),
    (0x49, "NV_AUTHORIZATION"),
    (0x4a, "NV_UNINITIALIZED"),
    (0x4b, "NV_SPACE"),
    (0x4c, "NV_DEFINED"),
    (0x50, "BAD_CONTEXT"),
    (0x51, "CPHASH"),
    (0x52, "PARENT"),
    (0x53, "NEEDS_TEST"),
    (0x54, "NO_RESULT"),
    (0x55, "SENSITIVE"),
];

const FMT1: &[(u32, &str)] = &[
    (0x01, "ASYMMETRIC"),
    (0x02, "ATTRIBUTES"),
    (0x03, "HASH"),
    (0x04, "VALUE"),
    (0x05, "HIERARCHY"),
    (0x07, "KEY_SIZE"),
    (0x08, "MGF"),
    (0x09, "MODE"),
    (0x0a, "TYPE"),
    (0x0b, "HANDLE"),
    (0x0c, "KDF"),
    (0x0d, "RANGE"),
    (0x0e, "AUTH_FAIL"),
    (0x0f, "NONCE"),
    (0x10, "PP"),
    (0x12, "SCHEME"),
    (0x15, "SIZE"),
    (0x16, "SYMMETRIC"),
    (0x17, "TAG"),
    (0x18, "SELECTOR"),
    (0x1a, "INSUFFICIENT"),
    (0x1b, "SIGNATURE"),
    (0x1c, "KEY"),
    (0x1d, "POLICY_FAIL"),
    (0x1f, "INTEGRITY"),
    (0x20, "TICKET"),
    (0x21, "RESERVED_BITS"),
    (0x22, "BAD_AUTH"),
    (0x23, "EXPIRED"),
    (0x24, "POLICY_CC"),
    (0x25, "BINDING"),
    (0x26, "CURVE"),
    (0x27, "ECC_POINT"),
];

const WARN: &[(u32, &str)] = &[
    (0x01, "CONTEXT_GAP"),
    (0x02, "OBJECT_MEMORY"),
    (0x03, "SESSION_MEMORY"),
    (0x04, "MEMORY"),
    (0x05, "SESSION_HANDLES"),
    (0x06, "OBJECT_HANDLES"),
    (0x07, "LOCALITY"),
    (0x08, "YIELDED"),
    (0x09, "CANCELED"),
    (0x0a, "TESTING"),
    (0x20, "NV_RATE"),
    (0x21, "LOCKOUT"),
    (0x22, "RETRY"),
    (0x23, "NV_UNAVAILABLE"),
];

const TSS_BASE: &[&str] = &[
    "SUCCESS",
    "GENERAL_FAILURE",
    "NOT_IMPLEMENTED",
    "BAD_CONTEXT",
    "ABI_MISMATCH",
    "BAD_REFERENCE",
    "INSUFFICIENT_BUFFER",
    "BAD_SEQUENCE",
    "NO_CONNECTION",
    "TRY_AGAIN",
    "IO_ERROR",
    "BAD_VALUE",
    "NOT_PERMITTED",
    "INVALID_SESSIONS",
    "NO_DECRYPT_PARAM",
    "NO_ENCRYPT_PARAM",
    "BAD_SIZE",
    "MALFORMED_RESPONSE",
    "INSUFFICIENT_CONTEXT",
    "INSUFFICIENT_RESPONSE",
    "INCOMPATIBLE_TCTI",
    "NOT_SUPPORTED",
    "BAD_TCTI_STRUCTURE",
    "MEMORY",
    "BAD_TR",
    "MULTIPLE_DECRYPT_SESSIONS",
    "MULTIPLE_ENCRYPT_SESSIONS",
    "RSP_AUTH_FAILED",
];

fn lookup(table: &[(u32, &'static str)], n: u32) -> &'static str {
    table
        .iter()
        .find(|(k, _)| *k == n)
        .map_or("unknown", |(_, name)| name)
}

/// A readable name for a TSS2 response code: the TPM's own codes (`TPM_RC_EXCLUSIVE`,
/// `TPM_RC_HANDLE (handle 1)`, ...) and the library layers' (`ESAPI: IO_ERROR`).
pub fn rc_name(rc: u32) -> String {
    let layer = rc >> 16;
    let code = rc & 0xffff;
    if layer != 0 {
        let name = match layer {
            0x06 => "FAPI",
            0x07 => "ESAPI",
            0x08 => "SAPI",
            0x09 => "MU",
            0x0a => "TCTI",
            0x0b => "RESMGR",
            0x0c => "RESMGR-TPM",
            _ => "TSS",
        };
        let base = TSS_BASE.get(code as usize).copied().unwrap_or("unknown");
        return format!("{name}: {base}");
    }
    if code & 0x80 != 0 {
        let name = lookup(FMT1, code & 0x3f);
        let n = (code >> 8) & 0xf;
        return if code & 0x40 != 0 {
            format!("TPM_RC_{name} (parameter {n})")
        } else if n & 0x8 != 0 {
            format!("TPM_RC_{name} (session {})", n & 0x7)
        } else if n != 0 {
            format!("TPM_RC_{name} (handle {n})")
        } else {
            format!("TPM_RC_{name}")
        };
    }
    if code & 0x100 == 0 {
        return if code == 0 {
            "TPM_RC_SUCCESS".into()
        } else {
            "TPM 1.2 response code".into()
        };
    }
    let table = if code & 0x800 != 0 { WARN } else { VER1 };
    format!("TPM_RC_{}", lookup(table, code & 0x7f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_codes_seen_in_the_experiments() {
        assert_eq!(rc_name(TPM_RC_EXCLUSIVE), "TPM_RC_EXCLUSIVE");
        assert_eq!(rc_name(0x902), "TPM_RC_OBJECT_MEMORY");
        assert_eq!(rc_name(0x2d6), "TPM_RC_SYMMETRIC (parameter 2)");
        assert_eq!(rc_name(0x18b), "TPM_RC_HANDLE (handle 1)");
        assert_eq!(rc_name(0x98e), "TPM_RC_AUTH_FAIL (session 1)");
        assert_eq!(rc_name(0x14a), "TPM_RC_NV_UNINITIALIZED");
        assert_eq!(rc_name(0xa000a), "TCTI: IO_ERROR");
        assert_eq!(rc_name(0xffff_ffff), "TSS: unknown");
    }
}
