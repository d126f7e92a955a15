//! proptest strategies for conformance cases: strings of exact lengths, lengths around limits.
//!
//! Strings have an exact UTF-8 byte (or character) length, built from random mixes of 1- to
//! 4-byte characters; token lengths cluster around the limits.

use proptest::prelude::*;

/// A character of `width` UTF-8 bytes (1 to 4) picked by `pick`, never `"` or `\` (so it
/// needs no JSON escaping) nor a control character.
pub fn char_of_width(width: u8, pick: u32) -> char {
    let (lo, hi) = match width {
        1 => (0x20u32, 0x7e),
        2 => (0xa1, 0x7ff),
        3 => (0x800, 0xfffd),
        _ => (0x1_0000, 0x10_fffd),
    };
    let span = hi - lo + 1;
    (0..span)
        .map(|k| lo + (pick.wrapping_add(k)) % span)
        .filter_map(char::from_u32)
        .find(|c| *c != '"' && *c != '\\' && c.len_utf8() == usize::from(width) && !c.is_control())
        .unwrap_or('a')
}

/// A short pattern of mixed-width characters.
pub fn pattern() -> impl Strategy<Value = Vec<char>> {
    proptest::collection::vec((1u8..=4, any::<u32>()), 1..32)
        .prop_map(|v| v.into_iter().map(|(w, p)| char_of_width(w, p)).collect())
}

/// `pattern` repeated to exactly `bytes` UTF-8 bytes, padded with ASCII `a`.
pub fn fill(pattern: &[char], bytes: usize) -> String {
    let mut s = String::with_capacity(bytes);
    if !pattern.is_empty() {
        'outer: loop {
            for c in pattern {
                if s.len() + c.len_utf8() > bytes {
                    break 'outer;
                }
                s.push(*c);
            }
        }
    }
    while s.len() < bytes {
        s.push('a');
    }
    s
}

/// `pattern` repeated to exactly `chars` characters.
pub fn fill_chars(pattern: &[char], chars: usize) -> String {
    if pattern.is_empty() {
        return "a".repeat(chars);
    }
    pattern.iter().cycle().take(chars).collect()
}

/// A JSON document (a string literal) of exactly `bytes` UTF-8 bytes once decoded.
pub fn json_string_of_bytes(pattern: &[char], bytes: usize) -> String {
    format!("\"{}\"", fill(pattern, bytes.saturating_sub(2)))
}

/// Lengths around `1` and around `max`, and a few anywhere up to `max + 1000`.
pub fn length_around(max: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => 0usize..=3,
        4 => (max - 3)..=(max + 3),
        1 => 0usize..=(max + 1000),
    ]
}

/// Printable text of up to `n` characters, any script.
pub fn text(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec((1u8..=4, any::<u32>()), 0..=n)
        .prop_map(|v| v.into_iter().map(|(w, p)| char_of_width(w, p)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest! {
        #[test]
        fn fill_is_exact(p in pattern(), n in 0usize..5000) {
            prop_assert_eq!(fill(&p, n).len(), n);
            prop_assert_eq!(fill_chars(&p, n).chars().count(), n);
        }
    }
}
