//! Durations in scenario files are written the way people say them (`"10ms"`, `"1s 500ms"`,
//! `"250us"`) and held as virtual nanoseconds.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A span of virtual time in nanoseconds, read from strings such as `"10ms"` or `"2s"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dur(pub u64);

impl Dur {
    /// From milliseconds.
    pub const fn from_ms(ms: u64) -> Self {
        Dur(ms * 1_000_000)
    }

    /// The value in nanoseconds.
    pub const fn ns(self) -> u64 {
        self.0
    }

    /// Parses a duration such as `"10ms"`, `"1s 500ms"`, `"250us"` or `"0s"`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let d = humantime::parse_duration(s.trim()).map_err(|e| {
            format!("invalid duration {s:?} ({e}); write e.g. \"10ms\", \"250us\" or \"2s\"")
        })?;
        u64::try_from(d.as_nanos())
            .map(Dur)
            .map_err(|_| format!("duration {s:?} is too long"))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            humantime::format_duration(std::time::Duration::from_nanos(self.0))
        )
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Dur::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(Dur::parse("10ms"), Ok(Dur(10_000_000)));
        assert_eq!(Dur::parse("250us"), Ok(Dur(250_000)));
        assert_eq!(Dur::parse("1s 500ms"), Ok(Dur(1_500_000_000)));
        assert_eq!(Dur::parse("0s"), Ok(Dur(0)));
        assert!(Dur::parse("ten ms").is_err());
        assert!(Dur::parse("").is_err());
    }

    #[test]
    fn display_round_trips() {
        for d in [Dur(1), Dur(10_000_000), Dur(1_500_000_000)] {
            assert_eq!(Dur::parse(&d.to_string()), Ok(d));
        }
    }
}
