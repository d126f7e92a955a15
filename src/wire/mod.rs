//! Wire codecs, one module per provider protocol: pure functions between bytes and calls.

pub mod alibaba;
pub mod aws;

/// The parser's complaint about `text` as a JSON document (RFC 8259; any value, scalars
/// included; nesting deeper than 128 levels is rejected), or `None` when it is valid.
///
/// ```
/// assert_eq!(tasktoken::wire::json_error("\"x\""), None);
/// assert!(tasktoken::wire::json_error("{'a':1}").is_some());
/// ```
pub fn json_error(text: &str) -> Option<String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).err().map(|e| e.to_string())
}
