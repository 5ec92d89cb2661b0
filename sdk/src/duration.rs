//! [`Duration`]: a span of host-clock time in milliseconds, written in
//! params the way the host's config writes them (`"90s"`, `"10m"`, `"1h"`,
//! `"1h 30m"`; parsed by `humantime`).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A span of time, in whole milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(u64);

impl Duration {
    pub const ZERO: Duration = Duration(0);

    pub const fn from_ms(ms: u64) -> Duration {
        Duration(ms)
    }
    pub const fn from_secs(secs: u64) -> Duration {
        Duration(secs * 1000)
    }
    pub const fn from_mins(mins: u64) -> Duration {
        Duration(mins * 60_000)
    }
    pub const fn as_ms(self) -> u64 {
        self.0
    }
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses `"10m"`, `"90s"`, `"1h 30m"`, `"250ms"`, `"2d"`.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let parsed = humantime::parse_duration(text.trim())
            .map_err(|e| format!("invalid duration `{text}`: {e}"))?;
        u64::try_from(parsed.as_millis())
            .map(Duration)
            .map_err(|_| format!("invalid duration `{text}`: too long"))
    }
}

/// Compact, largest units first: `1h30m`, `10m`, `90s` → `1m30s`, `250ms`.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        const UNITS: [(u64, &str); 5] =
            [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s"), (1, "ms")];
        let mut rest = self.0;
        for (size, unit) in UNITS {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"90s\", \"10m\" or \"1h\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
                Duration::parse(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_config_spellings() {
        assert_eq!(Duration::parse("10m").unwrap().as_ms(), 600_000);
        assert_eq!(Duration::parse("90s").unwrap().as_ms(), 90_000);
        assert_eq!(Duration::parse("1h").unwrap().as_ms(), 3_600_000);
        assert_eq!(Duration::parse("1h 30m").unwrap().as_ms(), 5_400_000);
        assert_eq!(Duration::parse("250ms").unwrap().as_ms(), 250);
        assert!(Duration::parse("10x").unwrap_err().starts_with("invalid duration `10x`"));
        assert!(Duration::parse("").is_err());
    }

    #[test]
    fn displays_compactly() {
        assert_eq!(Duration::from_mins(10).to_string(), "10m");
        assert_eq!(Duration::from_secs(90).to_string(), "1m30s");
        assert_eq!(Duration::from_ms(5_400_000).to_string(), "1h30m");
        assert_eq!(Duration::from_ms(250).to_string(), "250ms");
        assert_eq!(Duration::ZERO.to_string(), "0s");
    }

    #[test]
    fn deserializes_only_from_strings() {
        let d: Duration = serde_json::from_str("\"5m\"").unwrap();
        assert_eq!(d, Duration::from_mins(5));
        let err = serde_json::from_str::<Duration>("300").unwrap_err().to_string();
        assert!(err.contains("expected a duration such as"), "{err}");
    }
}
