//! Bounds on what a row may carry, applied once, where an [`Alert`] or a
//! delivery becomes a row (`AlertRecord::from_alert`,
//! `DeliveryRecord::pending`), so no plugin-chosen text reaches SQL unbounded.
//!
//! Why here as well as at the plugin call point: the call point enforces the
//! template's limits (issue 8, part 1), but the database has limits of its
//! own that no config may raise. Postgres refuses a btree index entry over
//! ~2704 bytes (`alert_key` and `event_id` are indexed) and any text holding
//! NUL; a refused row used to take its whole batch down. These bounds are
//! set above the call-point defaults, so they only bite when something got
//! past them, and they are the same on SQLite and Postgres so both backends
//! hold the same rows.
//!
//! * Keys (`alert_key`, `event_id`) are looked up and deduplicated, so an
//!   over-long key keeps a prefix and gains a hash of the whole key:
//!   distinct long keys stay distinct, and the same key always bounds to the
//!   same value.
//! * Texts (title, body, reason, field names and values) are cut on a char
//!   boundary and end with [`CUT`], so a reader sees they were cut.
//! * NUL becomes U+FFFD everywhere (Postgres TEXT cannot hold it).
//!
//! [`Alert`]: crate::alert::Alert

use std::borrow::Cow;

use sha2::{Digest, Sha256};

/// Longest alert key or event id, in bytes. With the template name and a
/// BIGINT it stays far below Postgres' 2704-byte index entry.
pub const MAX_KEY_BYTES: usize = 512;
/// Longest alert title or message title.
pub const MAX_TITLE_BYTES: usize = 4 * 1024;
/// Longest suppress reason.
pub const MAX_REASON_BYTES: usize = 2 * 1024;
/// Longest formatted message body (sinks cut further to their service's limit).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest field name.
pub const MAX_FIELD_NAME_BYTES: usize = 256;
/// Longest field value.
pub const MAX_FIELD_VALUE_BYTES: usize = 4 * 1024;
/// Most bytes of field names and values one row keeps; later fields are
/// replaced by one [`CUT`] field saying how many were left out.
pub const MAX_FIELDS_BYTES: usize = 16 * 1024;

/// Marks text that was cut.
pub const CUT: &str = "…";

/// Hex digits of the key hash (128 bits: collisions are not a concern).
const HASH_HEX: usize = 32;

/// `s` with NUL replaced, cut to at most `max` bytes (ending in [`CUT`]).
pub fn text(s: &str, max: usize) -> Cow<'_, str> {
    let s = clean(s);
    if s.len() <= max {
        return s;
    }
    let mut out = prefix(&s, max.saturating_sub(CUT.len())).to_owned();
    out.push_str(CUT);
    Cow::Owned(out)
}

/// `s` with NUL replaced, or, if longer than [`MAX_KEY_BYTES`], its prefix,
/// [`CUT`], `#` and the first 32 hex digits of the SHA-256 of all of `s`.
pub fn key(s: &str) -> Cow<'_, str> {
    let clean = clean(s);
    if clean.len() <= MAX_KEY_BYTES {
        return clean;
    }
    let digest = hex::encode(Sha256::digest(s.as_bytes()));
    let keep = MAX_KEY_BYTES - CUT.len() - 1 - HASH_HEX;
    Cow::Owned(format!("{}{CUT}#{}", prefix(&clean, keep), &digest[..HASH_HEX]))
}

/// `fields` with every name and value bounded, and at most
/// [`MAX_FIELDS_BYTES`] of them kept, in order.
pub fn fields(fields: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(fields.len());
    let mut used = 0;
    for (i, (name, value)) in fields.iter().enumerate() {
        let name = text(name, MAX_FIELD_NAME_BYTES);
        let value = text(value, MAX_FIELD_VALUE_BYTES);
        used += name.len() + value.len();
        if used > MAX_FIELDS_BYTES {
            out.push((CUT.to_owned(), format!("{} more fields cut", fields.len() - i)));
            break;
        }
        out.push((name.into_owned(), value.into_owned()));
    }
    out
}

/// `s` with NUL replaced, for text that is bounded elsewhere (config names).
pub fn clean(s: &str) -> Cow<'_, str> {
    if s.contains('\0') { Cow::Owned(s.replace('\0', "\u{FFFD}")) } else { Cow::Borrowed(s) }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn prefix(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_and_keys_pass_unchanged() {
        assert!(matches!(text("Whale buy", MAX_TITLE_BYTES), Cow::Borrowed("Whale buy")));
        assert!(matches!(key("BTCUSDT"), Cow::Borrowed("BTCUSDT")));
        let exact = "k".repeat(MAX_KEY_BYTES);
        assert_eq!(key(&exact), exact);
    }

    #[test]
    fn nul_is_replaced_everywhere() {
        assert_eq!(text("a\0b", 10), "a\u{FFFD}b");
        assert_eq!(key("a\0b"), "a\u{FFFD}b");
        assert_eq!(
            fields(&[("n\0".into(), "v\0".into())]),
            [("n\u{FFFD}".into(), "v\u{FFFD}".into())]
        );
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary_with_a_marker() {
        // 'é' is two bytes: a cut at an odd byte must step back.
        let long = "é".repeat(100);
        let cut = text(&long, 11);
        assert_eq!(cut, format!("{}{CUT}", "é".repeat(4)));
        assert!(cut.len() <= 11);
    }

    #[test]
    fn long_keys_keep_a_prefix_and_a_hash_of_the_whole_key() {
        let a = format!("{}a", "x".repeat(8 * 1024));
        let b = format!("{}b", "x".repeat(8 * 1024));
        let (ka, kb) = (key(&a), key(&b));
        assert_eq!(ka.len(), MAX_KEY_BYTES);
        assert!(ka.starts_with(&"x".repeat(400)) && ka.contains(&format!("{CUT}#")), "{ka}");
        assert_ne!(ka, kb, "keys differing only past the prefix stay distinct");
        assert_eq!(ka, key(&a), "the same key always bounds the same way");
        // Multi-byte chars at the cut point still leave valid UTF-8.
        let wide = "€".repeat(1000);
        assert!(key(&wide).len() <= MAX_KEY_BYTES);
    }

    #[test]
    fn fields_are_bounded_one_by_one_and_in_total() {
        let long = "v".repeat(MAX_FIELD_VALUE_BYTES * 2);
        let many: Vec<(String, String)> =
            (0..10).map(|i| (format!("f{i}"), long.clone())).collect();
        let out = fields(&many);
        assert!(out[0].1.ends_with(CUT) && out[0].1.len() <= MAX_FIELD_VALUE_BYTES);
        let kept = out.len() - 1;
        assert_eq!(
            out.last().unwrap(),
            &(CUT.to_owned(), format!("{} more fields cut", 10 - kept))
        );
        let total: usize = out[..kept].iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(total <= MAX_FIELDS_BYTES, "{total}");
        let few = vec![("notional".to_owned(), "$1.2M".to_owned())];
        assert_eq!(fields(&few), few);
    }
}
