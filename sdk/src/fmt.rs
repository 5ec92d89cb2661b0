//! Formatting helpers for titles, fields and messages: compact USD
//! (`$1.23M`), signed percentages, prices, UTC timestamps, shortened
//! addresses, and Telegram MarkdownV2 escaping.

use std::fmt::Write;

/// Compact USD: `$950`, `$12.3K`, `$1.23M`, `$4.56B`, `-$2.10K`.
/// Three significant digits from a thousand up; non-finite input reads `$?`.
pub fn usd(value: f64) -> String {
    if !value.is_finite() {
        return "$?".to_owned();
    }
    let mut out = String::with_capacity(12);
    if value < 0.0 {
        out.push('-');
    }
    out.push('$');
    let v = value.abs();
    const UNITS: [(f64, &str); 4] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")];
    for (i, (size, unit)) in UNITS.iter().enumerate() {
        // Compare after rounding, so 999_999 reads `$1.00M`, not `$1000K`.
        let scaled = v / size;
        if scaled >= 0.9995 || (i == UNITS.len() - 1 && v >= 999.5) {
            let decimals = if scaled >= 99.95 {
                0
            } else if scaled >= 9.995 {
                1
            } else {
                2
            };
            push_fixed(&mut out, scaled, decimals);
            out.push_str(unit);
            return out;
        }
    }
    push_fixed(&mut out, v, if v >= 1.0 || v == 0.0 { 0 } else { 2 });
    out
}

/// A signed percentage with two decimals: `+5.12%`, `-0.40%`.
pub fn pct(value: f64) -> String {
    let mut out = String::with_capacity(8);
    out.push(if value < 0.0 { '-' } else { '+' });
    push_fixed(&mut out, value.abs(), 2);
    out.push('%');
    out
}

/// A price with enough precision for its magnitude: `64250.5`, `1.2345`,
/// `0.00001234`.
pub fn price(value: f64) -> String {
    let v = value.abs();
    let decimals = if v >= 1000.0 {
        2
    } else if v >= 1.0 {
        4
    } else if v == 0.0 {
        0
    } else {
        // Four significant digits below 1.
        (4 - v.log10().floor() as i32 - 1).clamp(4, 12) as u32
    };
    let mut out = String::with_capacity(16);
    if value < 0.0 {
        out.push('-');
    }
    push_fixed(&mut out, v, decimals);
    if out.contains('.') {
        let trimmed = out.trim_end_matches('0').trim_end_matches('.').len();
        out.truncate(trimmed);
    }
    out
}

/// Appends `value` (≥ 0) rounded to `decimals` places. Integer arithmetic:
/// core's exact float formatting falls back to bignum code that costs tens
/// of thousands of instructions in wasm.
fn push_fixed(out: &mut String, value: f64, decimals: u32) {
    let factor = 10u64.pow(decimals);
    let scaled = (value * factor as f64).round();
    if scaled.is_nan() || scaled >= 1e18 {
        let _ = write!(out, "{value:.prec$}", prec = decimals as usize);
        return;
    }
    let scaled = scaled as u64;
    let _ = write!(out, "{}", scaled / factor);
    if decimals > 0 {
        let _ = write!(out, ".{:0width$}", scaled % factor, width = decimals as usize);
    }
}

/// `0x1234…abcd` for long addresses; short strings unchanged.
pub fn short_address(address: &str) -> String {
    let chars: Vec<char> = address.chars().collect();
    if chars.len() <= 13 {
        return address.to_owned();
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// `2021-10-11 12:34:56 UTC` from unix milliseconds.
pub fn time_utc(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (y, m, d).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Escapes text for Telegram MarkdownV2 outside code spans: every one of
/// `_*[]()~`>#+-=|{}.!` and `\` gets a backslash.
pub fn escape_markdown_v2(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(
            c,
            '_' | '*'
                | '['
                | ']'
                | '('
                | ')'
                | '~'
                | '`'
                | '>'
                | '#'
                | '+'
                | '-'
                | '='
                | '|'
                | '{'
                | '}'
                | '.'
                | '!'
                | '\\'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes text for inside a MarkdownV2 code span (`` `…` ``): only `` ` ``
/// and `\` need a backslash there.
pub fn escape_markdown_v2_code(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if c == '`' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Appends `name: value` lines; a helper for plain bodies.
pub fn push_field_lines<'a>(
    out: &mut String,
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
) {
    for (name, value) in fields {
        let _ = writeln!(out, "{name}: {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usd_is_compact() {
        assert_eq!(usd(0.0), "$0");
        assert_eq!(usd(0.5), "$0.50");
        assert_eq!(usd(950.0), "$950");
        assert_eq!(usd(999.4), "$999");
        assert_eq!(usd(999.6), "$1.00K");
        assert_eq!(usd(12_345.0), "$12.3K");
        assert_eq!(usd(123_456.0), "$123K");
        assert_eq!(usd(999_999.0), "$1.00M");
        assert_eq!(usd(1_234_567.0), "$1.23M");
        assert_eq!(usd(4_560_000_000.0), "$4.56B");
        assert_eq!(usd(-2_100.0), "-$2.10K");
        assert_eq!(usd(f64::NAN), "$?");
        assert_eq!(usd(2e30), "$2000000000000000000T");
    }

    #[test]
    fn pct_and_price() {
        assert_eq!(pct(5.123), "+5.12%");
        assert_eq!(pct(-0.4), "-0.40%");
        assert_eq!(price(64_250.5), "64250.5");
        assert_eq!(price(1.23456), "1.2346");
        assert_eq!(price(0.00001234), "0.00001234");
        assert_eq!(price(2.0), "2");
        assert_eq!(price(-0.5), "-0.5");
        assert_eq!(price(0.0), "0");
        assert_eq!(pct(0.0), "+0.00%");
        assert_eq!(pct(-12.345), "-12.35%");
    }

    #[test]
    fn time_and_address() {
        assert_eq!(time_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(time_utc(1_633_955_696_000), "2021-10-11 12:34:56 UTC");
        assert_eq!(time_utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(short_address("0x1234567890abcdef1234"), "0x1234…1234");
        assert_eq!(short_address("alice"), "alice");
    }

    #[test]
    fn markdown_v2_escapes_every_special() {
        assert_eq!(
            escape_markdown_v2(r"a_b*c[d]e(f)g~h`i>j#k+l-m=n|o{p}q.r!s\t"),
            r"a\_b\*c\[d\]e\(f\)g\~h\`i\>j\#k\+l\-m\=n\|o\{p\}q\.r\!s\\t"
        );
        assert_eq!(escape_markdown_v2("BTCUSDT $1.23M"), r"BTCUSDT $1\.23M");
        assert_eq!(escape_markdown_v2_code(r"a`b\c.d"), r"a\`b\\c.d");
    }
}
