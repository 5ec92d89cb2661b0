//! Splitting a Telegram message longer than the 4096-character limit.
//!
//! Cuts go between lines, so entities (which the stock formatter keeps on
//! one line) stay whole. Only a single line longer than the limit is cut
//! inside, and never between a MarkdownV2 `\` and the character it escapes,
//! nor inside an HTML tag or `&entity;`. Length is counted in UTF-16 code
//! units of the raw text, which is never less than what Telegram counts
//! after parsing entities, so every part fits.

use crate::alert::Markup;

/// Telegram's limit on `text`.
pub const MAX_UNITS: usize = 4096;

fn units(s: &str) -> usize {
    s.encode_utf16().count()
}

/// `text` in parts of at most `max` UTF-16 units each, none empty.
pub fn split(text: &str, max: usize, markup: Markup) -> Vec<String> {
    if units(text) <= max {
        return vec![text.to_owned()];
    }
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut current_units = 0;
    for line in text.split_inclusive('\n') {
        let n = units(line);
        if current_units + n <= max {
            current.push_str(line);
            current_units += n;
            continue;
        }
        push_part(&mut parts, std::mem::take(&mut current));
        if n <= max {
            current.push_str(line);
            current_units = n;
            continue;
        }
        let mut pieces = hard_split(line, max, markup);
        let last = pieces.pop().unwrap_or_default();
        for piece in pieces {
            push_part(&mut parts, piece);
        }
        current_units = units(&last);
        current = last;
    }
    push_part(&mut parts, current);
    parts
}

/// A part without its trailing line break; blank parts are dropped
/// (Telegram rejects empty text).
fn push_part(parts: &mut Vec<String>, part: String) {
    let trimmed = part.trim_end_matches(['\n', '\r']);
    if !trimmed.trim().is_empty() {
        parts.push(trimmed.to_owned());
    }
}

/// Cut one over-long line at the last safe point before each limit.
fn hard_split(line: &str, max: usize, markup: Markup) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut start = 0; // byte offset of the current piece
    let mut used = 0; // its UTF-16 units so far
    let mut safe: Option<usize> = None; // last byte offset we may cut at
    let mut escaped = false; // the previous char was an unescaped `\`
    let mut in_tag = false;
    let mut in_entity = false;
    for (i, c) in line.char_indices() {
        let n = c.len_utf16();
        if used + n > max {
            // No safe point (pathological input): cut here rather than loop.
            let cut = safe.filter(|&s| s > start).unwrap_or(i);
            pieces.push(line[start..cut].to_owned());
            used = units(&line[cut..i]);
            start = cut;
            safe = None;
        }
        used += n;
        match markup {
            Markup::MarkdownV2 => {
                escaped = !escaped && c == '\\';
            }
            Markup::Html => match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                '&' => in_entity = true,
                ';' => in_entity = false,
                _ => {}
            },
            Markup::Plain | Markup::Markdown => {}
        }
        if !escaped && !in_tag && !in_entity {
            safe = Some(i + c.len_utf8());
        }
    }
    pieces.push(line[start..].to_owned());
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_part() {
        assert_eq!(split("a\nb", 10, Markup::Plain), ["a\nb"]);
    }

    #[test]
    fn splits_on_line_boundaries() {
        let parts = split("aaaa\nbbbb\ncccc\n", 10, Markup::Plain);
        assert_eq!(parts, ["aaaa\nbbbb", "cccc"]);
    }

    #[test]
    fn never_cuts_between_a_backslash_and_what_it_escapes() {
        // 9 chars then `\.`: a naive cut at 10 would leave a lone `\`.
        let line = "aaaaaaaaa\\.bbb";
        let parts = split(line, 10, Markup::MarkdownV2);
        assert_eq!(parts, ["aaaaaaaaa", "\\.bbb"]);
        for p in &parts {
            assert!(!p.ends_with('\\'), "{p}");
        }
    }

    #[test]
    fn never_cuts_inside_html_tags_or_entities() {
        let parts = split("aaaaaa<b>x</b>&amp;y", 8, Markup::Html);
        assert!(parts.iter().all(|p| units(p) <= 8), "{parts:?}");
        assert_eq!(parts.concat(), "aaaaaa<b>x</b>&amp;y");
        assert!(parts.iter().all(|p| p.matches('<').count() == p.matches('>').count()));
    }

    #[test]
    fn counts_utf16_units() {
        // 🔴 is two UTF-16 units.
        let parts = split("🔴🔴🔴", 4, Markup::Plain);
        assert_eq!(parts, ["🔴🔴", "🔴"]);
    }

    #[test]
    fn every_part_fits_a_real_limit() {
        let text: String =
            (0..500).map(|i| format!("*line {i}* price 61234\\.5 \\- ok\n")).collect();
        let parts = split(&text, MAX_UNITS, Markup::MarkdownV2);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| units(p) <= MAX_UNITS));
        assert_eq!(parts.join("\n"), text.trim_end());
    }
}
