//! proptest strategies for conformance cases: strings of exact lengths, lengths around limits.
//!
//! Strings have an exact UTF-8 byte (or character) length, built from random mixes of 1- to
//! 4-byte characters; token lengths cluster around the limits. [`json_document`] and
//! [`untrimmed_text`] make values that a store normalising JSON or text would change.

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

/// Insignificant JSON whitespace: nothing first (what shrinking lands on), then spaces, tabs,
/// CR LF and LF.
fn ws() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec!["", " ", "\t", "\r\n", "\n", " \t "])
}

/// A JSON number as written: forms a round trip rewrites (`1.50`, `1e2`, `-0`, `1E+2`, a
/// 30-digit integer) after the plain `0`.
fn number() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        "0",
        "1.50",
        "1e2",
        "-0",
        "1E+2",
        "-1.0e-3",
        "0.10",
        "123456789012345678901234567890",
    ])
}

/// A JSON string literal from pieces: plain text, raw non-ASCII, `\u` escapes of ASCII and
/// non-ASCII characters, an escaped surrogate pair, and the short escapes.
fn string_literal() -> impl Strategy<Value = String> {
    let piece = proptest::sample::select(vec![
        "a",
        "é",
        "\\u00e9",
        "\\u0041",
        "\\ud83d\\ude00",
        "😀",
        "\\\"",
        "\\\\",
        "\\/",
        "\\n",
        "\\t",
        " ",
        "\\u2028",
    ]);
    proptest::collection::vec(piece, 0..6).prop_map(|p| format!("\"{}\"", p.concat()))
}

/// An object key: `"a"` and `"\u0061"` are the same key, so some objects repeat a key.
fn key() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec!["\"a\"", "\"b\"", "\"\\u0061\"", "\"é\"", "\"a\""])
}

/// A JSON text that a parse and re-serialise would change: insignificant whitespace around
/// every token, escapes, number forms, keys out of order and repeated, and nesting up to 48
/// deep; valid JSON, at most a few kilobytes.
pub fn json_document() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        number().prop_map(str::to_owned),
        string_literal(),
        proptest::sample::select(vec!["true", "false", "null"]).prop_map(str::to_owned),
    ];
    let value = leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec((ws(), inner.clone(), ws()), 0..4).prop_map(|items| {
                let items: Vec<String> =
                    items.into_iter().map(|(a, v, b)| format!("{a}{v}{b}")).collect();
                format!("[{}]", items.join(","))
            }),
            proptest::collection::vec((ws(), key(), ws(), ws(), inner, ws()), 0..4).prop_map(
                |members| {
                    let members: Vec<String> = members
                        .into_iter()
                        .map(|(a, k, b, c, v, d)| format!("{a}{k}{b}:{c}{v}{d}"))
                        .collect();
                    format!("{{{}}}", members.join(","))
                }
            ),
        ]
    });
    let nested = (0usize..=48, any::<bool>(), value).prop_map(|(depth, arrays, v)| {
        let (open, close) = if arrays { ("[", "]") } else { ("{\"d\":", "}") };
        format!("{}{v}{}", open.repeat(depth), close.repeat(depth))
    });
    (ws(), nested, ws()).prop_map(|(a, v, b)| format!("{a}{v}{b}"))
}

/// Free text of 1 to `max_chars` characters that a text column would normalise: leading and
/// trailing spaces, tabs, CR LF, non-ASCII and astral characters, a literal `\u00e9` and
/// quotes.
pub fn untrimmed_text(max_chars: usize) -> impl Strategy<Value = String> {
    let piece = proptest::sample::select(vec![
        "E", " ", "\t", "\r\n", "\n", "é", "😀", "\\u00e9", "\"", "  ", "\u{2028}",
    ]);
    proptest::collection::vec(piece, 1..12).prop_map(move |p| {
        let s: String = p.concat();
        s.chars().take(max_chars.max(1)).collect()
    })
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

        #[test]
        fn json_documents_are_valid_json(doc in json_document()) {
            prop_assert!(crate::wire::json_error(&doc).is_none(), "{}", doc);
            prop_assert!(doc.len() < 16 * 1024, "{} bytes", doc.len());
        }

        #[test]
        fn untrimmed_text_is_never_empty(text in untrimmed_text(40)) {
            prop_assert!((1..=40).contains(&text.chars().count()));
        }
    }
}
