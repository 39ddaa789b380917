//! Key files: how a [`KeySet`] is written to and read from disk (TOML, keys in hex), and
//! the checks that turn a damaged or mismatched file into a clear error.
//!
//! ```toml
//! format = "minlab-usig-keys v1"
//! replica_count = 3
//! hmac = ["<64 hex digits>", "...", "..."]        # empty in a client's file
//! ed25519_public = ["<64 hex digits>", "...", "..."]
//!
//! [[ed25519_secret]]                                # only the owner's, in a replica's file
//! replica = 0
//! key = "<64 hex digits>"
//!
//! [[tpm]]                                           # optional: replicas with a TPM USIG
//! replica = 0
//! key = "<130 hex digits: SEC1 uncompressed P-256>"
//! signer_name = "<68 hex digits>"
//! nv_name = "<68 hex digits>"
//! counter_base = 1
//! ```

use super::KeySet;
use crate::{ReplicaId, TpmIdentity, UsigError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

const FORMAT: &str = "minlab-usig-keys v1";

/// A key file larger than this is rejected unread (a 1000-replica file is ~150 KB).
const MAX_FILE_LEN: u64 = 16 << 20;

const SECRET_HEADER: &str = "\
# minlab USIG key file. SECRET: whoever reads it can forge this group's USIG certificates.
# Keys are hex. Keep it readable by its owner only (mode 0600).
";

const PUBLIC_HEADER: &str = "\
# minlab USIG key file: public keys only (Ed25519, TPM), for clients and verifiers. Not secret.
";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileForm {
    format: String,
    replica_count: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    hmac: Vec<String>,
    ed25519_public: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ed25519_secret: Vec<SecretForm>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tpm: Vec<TpmForm>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TpmForm {
    replica: ReplicaId,
    key: String,
    signer_name: String,
    nv_name: String,
    counter_base: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretForm {
    replica: ReplicaId,
    key: String,
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]])
        .map(char::from)
        .collect()
}

/// Decodes 64 hex digits; `what` names the field in the error.
fn from_hex(what: &str, text: &str) -> Result<[u8; 32], String> {
    from_hex_n(what, text)
}

/// Decodes `2 * N` hex digits; `what` names the field in the error.
fn from_hex_n<const N: usize>(what: &str, text: &str) -> Result<[u8; N], String> {
    if let Some((i, c)) = text.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(format!("{what}: invalid hex digit {c:?} at position {i}"));
    }
    if text.len() != 2 * N {
        return Err(format!(
            "{what}: {} hex digits, expected {} (a {N}-byte value)",
            text.len(),
            2 * N
        ));
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
        *byte = digit(pair[0]) << 4 | digit(pair[1]);
    }
    Ok(out)
}

impl KeySet {
    fn to_form(&self) -> KeyFileForm {
        KeyFileForm {
            format: FORMAT.into(),
            replica_count: self.replica_count,
            hmac: self.hmac.iter().map(|k| to_hex(k)).collect(),
            ed25519_public: self.ed25519_public.iter().map(|k| to_hex(k)).collect(),
            ed25519_secret: self
                .ed25519_secret
                .iter()
                .map(|(&replica, key)| SecretForm {
                    replica,
                    key: to_hex(key),
                })
                .collect(),
            tpm: self
                .tpm
                .iter()
                .map(|(&replica, id)| TpmForm {
                    replica,
                    key: to_hex(&id.key_sec1),
                    signer_name: to_hex(&id.signer_name),
                    nv_name: to_hex(&id.nv_name),
                    counter_base: id.counter_base,
                })
                .collect(),
        }
    }

    fn from_form(form: KeyFileForm) -> Result<KeySet, String> {
        if form.format != FORMAT {
            return Err(format!(
                "format is {:?}, expected {FORMAT:?}",
                form.format.chars().take(40).collect::<String>()
            ));
        }
        let n = form.replica_count;
        if n == 0 {
            return Err("replica_count must be at least 1".into());
        }
        if !form.hmac.is_empty() && form.hmac.len() != n as usize {
            return Err(format!(
                "hmac lists {} keys but replica_count is {n} (list all of them, or none in a \
                 client's file)",
                form.hmac.len()
            ));
        }
        if form.ed25519_public.len() != n as usize {
            return Err(format!(
                "ed25519_public lists {} keys but replica_count is {n}",
                form.ed25519_public.len()
            ));
        }
        let hmac = form
            .hmac
            .iter()
            .enumerate()
            .map(|(i, h)| from_hex(&format!("hmac[{i}]"), h))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ed25519_public = Vec::with_capacity(n as usize);
        for (i, h) in form.ed25519_public.iter().enumerate() {
            let what = format!("ed25519_public[{i}]");
            let key = from_hex(&what, h)?;
            ed25519_dalek::VerifyingKey::from_bytes(&key)
                .map_err(|_| format!("{what}: not a valid Ed25519 public key"))?;
            ed25519_public.push(key);
        }
        let mut ed25519_secret = BTreeMap::new();
        for s in &form.ed25519_secret {
            let r = s.replica;
            if r >= n {
                return Err(format!(
                    "ed25519_secret for replica {r}, but replica_count is {n}"
                ));
            }
            let key = from_hex(&format!("ed25519_secret for replica {r}"), &s.key)?;
            let public = ed25519_dalek::SigningKey::from_bytes(&key)
                .verifying_key()
                .to_bytes();
            if public != ed25519_public[r as usize] {
                return Err(format!(
                    "ed25519_secret for replica {r} does not match ed25519_public[{r}]"
                ));
            }
            if ed25519_secret.insert(r, key).is_some() {
                return Err(format!("ed25519_secret for replica {r} is listed twice"));
            }
        }
        let mut tpm = BTreeMap::new();
        for t in &form.tpm {
            let r = t.replica;
            if r >= n {
                return Err(format!(
                    "tpm identity for replica {r}, but replica_count is {n}"
                ));
            }
            let identity = TpmIdentity {
                key_sec1: from_hex_n(&format!("tpm key for replica {r}"), &t.key)?,
                signer_name: from_hex_n(
                    &format!("tpm signer_name for replica {r}"),
                    &t.signer_name,
                )?,
                nv_name: from_hex_n(&format!("tpm nv_name for replica {r}"), &t.nv_name)?,
                counter_base: t.counter_base,
            };
            identity
                .verifying_key()
                .map_err(|e| format!("tpm key for replica {r}: {e}"))?;
            if tpm.insert(r, identity).is_some() {
                return Err(format!("tpm identity for replica {r} is listed twice"));
            }
        }
        Ok(KeySet {
            replica_count: n,
            hmac,
            ed25519_public,
            ed25519_secret,
            tpm,
        })
    }

    /// This key set as the text of a key file.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(&self.to_form())
            .unwrap_or_else(|e| unreachable!("a key file form always serializes: {e}"));
        let header = if self.hmac.is_empty() && self.ed25519_secret.is_empty() {
            PUBLIC_HEADER
        } else {
            SECRET_HEADER
        };
        format!("{header}{body}")
    }

    /// Parses the text of a key file, checking every key (see [`KeySet::load`]). The error
    /// is the reason only; [`KeySet::load`] adds the path.
    pub fn from_toml(text: &str) -> Result<KeySet, String> {
        // The parser's own rendering quotes the offending line, which may hold a secret
        // key: report its message and the line number only.
        let form: KeyFileForm = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| {
                let before = &text.as_bytes()[..span.start.min(text.len())];
                before.iter().filter(|&&b| b == b'\n').count() + 1
            });
            let message = e.message().trim_end();
            match line {
                Some(line) => format!("not a valid key file: line {line}: {message}"),
                None => format!("not a valid key file: {message}"),
            }
        })?;
        KeySet::from_form(form)
    }

    /// Writes this key set to `path` (replacing any file there) with owner-only
    /// permissions (0600 on Unix), via a temporary file renamed into place.
    ///
    /// To give each party only its share, save [`KeySet::for_replica`] or
    /// [`KeySet::public_only`], as `minlab keygen` does.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), UsigError> {
        let path = path.as_ref();
        let fail = |what: &str, e: std::io::Error| UsigError::KeyFile {
            path: path.display().to_string(),
            reason: format!("{what}: {e}"),
        };
        let mut tmp_name = path
            .file_name()
            .ok_or_else(|| UsigError::KeyFile {
                path: path.display().to_string(),
                reason: "the path does not name a file".into(),
            })?
            .to_os_string();
        tmp_name.push(".tmp");
        let tmp = path.with_file_name(tmp_name);
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(fail("removing a stale temporary file", e));
            }
            _ => {}
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&tmp)
            .map_err(|e| fail("creating the temporary file", e))?;
        let written = file
            .write_all(self.to_toml().as_bytes())
            .and_then(|()| file.sync_all());
        drop(file);
        if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail("writing", e));
        }
        Ok(())
    }

    /// Reads a key file written by [`KeySet::save`] (or `minlab keygen`).
    ///
    /// Every key is checked: hex digits and lengths, list lengths against
    /// `replica_count`, Ed25519 public keys being valid points, and each Ed25519 secret
    /// matching its public key. Any problem is a [`UsigError::KeyFile`] naming the path
    /// and what is wrong.
    pub fn load(path: impl AsRef<Path>) -> Result<KeySet, UsigError> {
        let path = path.as_ref();
        let fail = |reason: String| UsigError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let len = std::fs::metadata(path)
            .map_err(|e| fail(format!("reading: {e}")))?
            .len();
        if len > MAX_FILE_LEN {
            return Err(fail(format!(
                "{len} bytes is too large for a key file (limit {MAX_FILE_LEN})"
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| fail(format!("reading: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text".into()))?;
        KeySet::from_toml(&text).map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_case() {
        let key: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        let hex = to_hex(&key);
        assert_eq!(hex.len(), 64);
        assert_eq!(from_hex("k", &hex), Ok(key));
        assert_eq!(from_hex("k", &hex.to_uppercase()), Ok(key));
        assert!(
            from_hex("k", &hex[..62])
                .unwrap_err()
                .contains("62 hex digits")
        );
        assert!(
            from_hex("k", "zz")
                .unwrap_err()
                .contains("invalid hex digit 'z'")
        );
        assert!(
            from_hex("k", "é")
                .unwrap_err()
                .contains("invalid hex digit")
        );
    }

    #[test]
    fn toml_round_trip_of_every_share() {
        let keys = KeySet::from_seed(4, 9);
        for share in [keys.clone(), keys.for_replica(2), keys.public_only()] {
            assert_eq!(KeySet::from_toml(&share.to_toml()), Ok(share));
        }
    }

    #[test]
    fn header_says_whether_the_file_is_secret() {
        let keys = KeySet::from_seed(3, 1);
        assert!(keys.for_replica(0).to_toml().contains("SECRET"));
        let public = keys.public_only().to_toml();
        assert!(
            !public.contains("SECRET") && !public.contains("hmac"),
            "{public}"
        );
    }
}
