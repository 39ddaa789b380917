//! The on-disk format of a durable counter's reservation file, kept apart so that a
//! corrupt, truncated or foreign file is recognised and explained instead of trusted.
//!
//! The file is one line of ASCII text:
//!
//! ```text
//! minlab-usig-counter v1 <R> <check>\n
//! ```
//!
//! where `<R>` is the end of the current reservation in canonical decimal and `<check>` is
//! the first 8 bytes of SHA-256 over `minlab-usig-counter v1 <R>`, in lowercase hex.

use sha2::{Digest, Sha256};

/// First word of every counter file.
pub(crate) const MAGIC: &str = "minlab-usig-counter";
/// The only format version this build reads and writes.
pub(crate) const VERSION: &str = "v1";
/// A valid file is at most 65 bytes; anything longer than this is rejected unread.
pub(crate) const MAX_LEN: usize = 128;

/// The file contents recording reservation end `end`.
pub(crate) fn encode(end: u64) -> String {
    let body = format!("{MAGIC} {VERSION} {end}");
    let check = checksum(&body);
    format!("{body} {check}\n")
}

fn checksum(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Shortens untrusted text before it goes into an error message.
fn shown(s: &str) -> String {
    const KEEP: usize = 32;
    if s.chars().count() <= KEEP {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(KEEP).collect();
        format!("{head:?}...")
    }
}

/// The reservation end recorded in `bytes`, or why `bytes` is not a valid counter file.
pub(crate) fn decode(bytes: &[u8]) -> Result<u64, String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    if bytes.len() > MAX_LEN {
        return Err(format!(
            "the file is longer than {MAX_LEN} bytes; a counter file is one short line"
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text".to_string())?;
    if !text.starts_with(MAGIC) {
        if MAGIC.starts_with(text) {
            return Err("the file is truncated (it ends inside the magic word)".into());
        }
        let first_word = text.split([' ', '\n']).next().unwrap_or("");
        return Err(format!(
            "not a minlab USIG counter file (it starts with {}, expected {MAGIC:?})",
            shown(first_word)
        ));
    }
    let line = text
        .strip_suffix('\n')
        .ok_or_else(|| "the file is truncated (no final newline)".to_string())?;
    if line.contains(['\n', '\r']) {
        return Err("the file has more than one line".into());
    }
    let fields: Vec<&str> = line.split(' ').collect();
    if fields[0] != MAGIC {
        return Err(format!(
            "not a minlab USIG counter file (first word {}, expected {MAGIC:?})",
            shown(fields[0])
        ));
    }
    if fields.len() >= 2 && fields[1] != VERSION {
        return Err(format!(
            "unsupported format version {} (this build reads {VERSION})",
            shown(fields[1])
        ));
    }
    let [_, _, end, check] = fields[..] else {
        return Err(format!(
            "expected 4 space-separated fields \"{MAGIC} {VERSION} <R> <check>\", found {}",
            fields.len()
        ));
    };
    let canonical = !end.is_empty()
        && end.bytes().all(|b| b.is_ascii_digit())
        && (end == "0" || !end.starts_with('0'));
    let value = end
        .parse::<u64>()
        .ok()
        .filter(|_| canonical)
        .ok_or_else(|| {
            format!(
                "reservation end {} is not a decimal number below 2^64",
                shown(end)
            )
        })?;
    let expected = checksum(&format!("{MAGIC} {VERSION} {end}"));
    if check != expected {
        return Err(format!(
            "checksum mismatch (file says {}, contents hash to {expected})",
            shown(check)
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_at_the_edges() {
        for end in [0, 1, 1024, u64::MAX - 1, u64::MAX] {
            let text = encode(end);
            assert!(text.len() <= MAX_LEN);
            assert_eq!(decode(text.as_bytes()), Ok(end));
        }
    }

    #[test]
    fn known_encoding_is_stable() {
        // Pinned so that a change of format is a deliberate version bump.
        let text = encode(1024);
        assert!(text.starts_with("minlab-usig-counter v1 1024 "));
        assert_eq!(text.len(), "minlab-usig-counter v1 1024 ".len() + 16 + 1);
    }

    fn reason(bytes: &[u8]) -> String {
        decode(bytes).expect_err("must be rejected")
    }

    #[test]
    fn each_kind_of_damage_is_named() {
        let good = encode(4096);
        assert!(reason(b"").contains("empty"));
        assert!(reason(&[b'1'; MAX_LEN + 1]).contains("longer"));
        assert!(reason(&[0xff, 0xfe, b'\n']).contains("UTF-8"));
        assert!(reason(good.trim_end().as_bytes()).contains("truncated"));
        assert!(reason(&good.as_bytes()[..20]).contains("truncated"));
        assert!(reason(format!("{good}{good}").as_bytes()).contains("more than one line"));
        assert!(reason(b"hello world\n").contains("not a minlab USIG counter file"));
        assert!(reason(b"\x00\x01").contains("not a minlab USIG counter file"));
        assert!(reason(b"minlab-us").contains("truncated"));
        assert!(reason(b"minlab-usig-counterX v1\n").contains("first word"));
        assert!(reason(good.replace(" v1 ", " v2 ").as_bytes()).contains("version"));
        assert!(reason(b"minlab-usig-counter v1 5\n").contains("4 space-separated"));
        let fields: Vec<&str> = good.trim_end().split(' ').collect();
        let with_end = |end: &str| format!("{MAGIC} {VERSION} {end} {}\n", fields[3]);
        assert!(reason(with_end("-1").as_bytes()).contains("not a decimal"));
        assert!(reason(with_end("04096").as_bytes()).contains("not a decimal"));
        assert!(reason(with_end("18446744073709551616").as_bytes()).contains("not a decimal"));
        assert!(reason(with_end("4097").as_bytes()).contains("checksum mismatch"));
    }
}
