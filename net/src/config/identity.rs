//! The USIG public identities a cluster file lists for MinZyzyva's clients, who verify the
//! replicas' UIs with them: an Ed25519 key (`usig_public_key`) or, with `usig = "tpm"`, a
//! TPM identity (`[replica.usig_tpm_identity]`), both in hex.

use minlab_usig::TpmIdentity;
use minlab_usig::tpm::attest::NAME_LEN;
use serde::{Deserialize, Serialize};

/// A replica's TPM USIG identity as a cluster file writes it: the fields of
/// [`TpmIdentity`], byte strings in hex (the same spelling as a key file's `[[tpm]]` entry).
///
/// ```toml
/// [replica.usig_tpm_identity]
/// key = "<130 hex digits: SEC1 uncompressed P-256>"
/// signer_name = "<68 hex digits>"
/// nv_name = "<68 hex digits>"
/// counter_base = 1
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TpmIdentityEntry {
    /// The TPM's restricted ECDSA P-256 signing key, SEC1 uncompressed.
    pub key: String,
    /// The key's qualified name.
    pub signer_name: String,
    /// The NV counter index's name.
    pub nv_name: String,
    /// The counter's value at provisioning.
    pub counter_base: u64,
}

impl TpmIdentityEntry {
    /// The entry for `identity`.
    pub fn new(identity: &TpmIdentity) -> Self {
        TpmIdentityEntry {
            key: hex::encode(identity.key_sec1),
            signer_name: hex::encode(identity.signer_name),
            nv_name: hex::encode(identity.nv_name),
            counter_base: identity.counter_base,
        }
    }

    /// The identity, checked: every field of the right length in hex, and the key a
    /// P-256 point. Errors name the field.
    pub fn identity(&self) -> Result<TpmIdentity, String> {
        let identity = TpmIdentity {
            key_sec1: field("key", &self.key)?,
            signer_name: field::<NAME_LEN>("signer_name", &self.signer_name)?,
            nv_name: field::<NAME_LEN>("nv_name", &self.nv_name)?,
            counter_base: self.counter_base,
        };
        identity.verifying_key()?;
        Ok(identity)
    }
}

/// `N` bytes from `2 * N` hex digits, or an error naming `what`.
fn field<const N: usize>(what: &str, hex: &str) -> Result<[u8; N], String> {
    parse_hex(hex).ok_or_else(|| {
        format!(
            "{what} = {:?} is not {} hex digits",
            hex.chars().take(16).collect::<String>(),
            2 * N
        )
    })
}

/// `N` bytes from exactly `2 * N` hex digits.
pub(super) fn parse_hex<const N: usize>(digits: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out).ok()?;
    Some(out)
}

/// A well-formed identity for tests: the P-256 generator as the key.
#[cfg(test)]
pub(crate) fn sample_identity(counter_base: u64) -> TpmIdentity {
    let key = parse_hex::<65>(
        "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296\
         4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
    )
    .expect("the generator in hex");
    TpmIdentity {
        key_sec1: key,
        signer_name: [0x0b; NAME_LEN],
        nv_name: [0x0c; NAME_LEN],
        counter_base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> TpmIdentity {
        sample_identity(9)
    }

    #[test]
    fn entries_round_trip_and_bad_fields_are_named() {
        let entry = TpmIdentityEntry::new(&identity());
        assert_eq!(entry.identity(), Ok(identity()));
        let check = |e: TpmIdentityEntry, expected: &str| {
            let got = e.identity().unwrap_err();
            assert!(got.contains(expected), "{got}");
        };
        check(
            TpmIdentityEntry {
                key: entry.key[2..].into(),
                ..entry.clone()
            },
            "key = \"6b17d1f2e12c4247\" is not 130 hex digits",
        );
        check(
            TpmIdentityEntry {
                signer_name: "zz".repeat(NAME_LEN),
                ..entry.clone()
            },
            "signer_name",
        );
        check(
            TpmIdentityEntry {
                nv_name: String::new(),
                ..entry.clone()
            },
            "nv_name = \"\" is not 68 hex digits",
        );
        // 65 bytes in hex, but not a point of the curve.
        check(
            TpmIdentityEntry {
                key: format!("05{}", &entry.key[2..]),
                ..entry
            },
            "key is not an uncompressed P-256 point",
        );
    }

    #[test]
    fn hex_needs_exactly_the_digits() {
        assert_eq!(parse_hex::<2>("0aFf"), Some([0x0a, 0xff]));
        for bad in ["0a", "0aff00", "+aff", "0a f", "ééé"] {
            assert_eq!(parse_hex::<2>(bad), None, "{bad}");
        }
    }
}
