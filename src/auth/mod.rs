//! Request signature checking for the mock's strict mode: AWS SigV4, Alibaba RPC v1 and ACS3.
//!
//! Everything here but [`nonces`] is a pure function of a buffered request, accepted [`Keys`] and a
//! clock reading: no I/O, no global state, no panics on any input. The verifiers return an
//! error value naming what the real service would answer; mapping it to an HTTP response is the
//! mock's job.
//!
//! - [`aws::verify`] / [`aws::sign`]: SigV4 (`AWS4-HMAC-SHA256`, service `states`), re-signed
//!   with the `aws-sigv4` crate and compared in constant time.
//! - [`alibaba::verify_rpc`] / [`alibaba::sign_rpc`]: RPC v1 (`HMAC-SHA1`, `SignatureVersion`
//!   `1.0`) over the merged query and form parameters.
//! - [`alibaba::verify_acs3`]: the `ACS3-HMAC-SHA256` `Authorization` header.
//! - [`alibaba::sign_request`]: the checker's side, adding the RPC common parameters and the
//!   signature to a request; [`aws::sign`] serves the checker and its AWS token sources too.
//! - [`alibaba::verify_once`] with [`nonces::Nonces`]: strict mode's replay protection, each
//!   `SignatureNonce` once per AccessKey ID within the window (the one piece of state here,
//!   owned by the caller).
//!
//! [`Credentials`], [`KeyPair`] and [`Secret`] never show a secret through `Debug` or `Display`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

pub mod alibaba;
pub mod aws;
pub mod nonces;

/// How far (in seconds, either way) a request's signing time may be from the verifier's clock
/// before it is refused: 15 minutes, as AWS documents for SigV4 and as the mock assumes for
/// Alibaba.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 15 * 60;

/// One access key pair.
///
/// `Debug` shows the access key id but never the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPair {
    /// The public half, sent on the wire (`AKIA...`, `LTAI...`).
    pub access_key_id: String,
    /// The secret half, never sent; it keys the signature.
    pub secret: String,
}

impl KeyPair {
    /// A key pair from its two halves.
    pub fn new(access_key_id: impl Into<String>, secret: impl Into<String>) -> KeyPair {
        KeyPair { access_key_id: access_key_id.into(), secret: secret.into() }
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &REDACTED)
            .finish()
    }
}

/// `ID:<redacted>`: the access key id, never the secret.
impl fmt::Display for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{REDACTED}", self.access_key_id)
    }
}

/// What `Debug` and `Display` show instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// A secret on its own (a command-line `--secret-key`, say): `Debug` and `Display` redact it,
/// and [`Secret::expose`] is the one way to read it.
///
/// ```
/// use tasktoken::auth::Secret;
///
/// let secret: Secret = "hunter2".parse().unwrap();
/// assert_eq!(format!("{secret} {secret:?}"), "<redacted> <redacted>");
/// assert_eq!(secret.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret from its text.
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }

    /// The secret itself, for signing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Secret, Self::Err> {
        Ok(Secret::new(s))
    }
}

/// Credentials a client signs requests with: a key pair and, for SigV4 scopes, a region.
///
/// `Debug` shows the access key id and region, never the secret (see [`KeyPair`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The key pair.
    pub key: KeyPair,
    /// AWS region for SigV4 credential scopes (Alibaba RPC signatures do not use it).
    pub region: String,
}

impl Credentials {
    /// Credentials from a key pair's halves and a region.
    pub fn new(
        access_key_id: impl Into<String>,
        secret: impl Into<String>,
        region: impl Into<String>,
    ) -> Credentials {
        Credentials { key: KeyPair::new(access_key_id, secret), region: region.into() }
    }
}

/// A request that cannot be signed (credentials that cannot appear in a header, a time the
/// calendar cannot show, parameters that do not parse).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot sign the request: {reason}")]
pub struct SignError {
    /// Why.
    pub reason: String,
}

impl SignError {
    pub(crate) fn new(reason: impl Into<String>) -> SignError {
        SignError { reason: reason.into() }
    }
}

/// Why a string is not an `ID:SECRET` key pair.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseKeyPairError {
    /// There is no `:` between the access key id and the secret.
    #[error("expected ACCESS_KEY_ID:SECRET, but there is no ':'")]
    MissingColon,
    /// Nothing before the first `:`.
    #[error("the access key id (before the first ':') is empty")]
    EmptyAccessKeyId,
    /// Nothing after the first `:`.
    #[error("the secret (after the first ':') is empty")]
    EmptySecret,
}

impl FromStr for KeyPair {
    type Err = ParseKeyPairError;

    /// Parses `ID:SECRET`, split at the first `:` (secrets may contain `:`, ids may not).
    ///
    /// ```
    /// use tasktoken::auth::KeyPair;
    ///
    /// let pair: KeyPair = "AKIDEXAMPLE:wJal/rXUt:nFEMI".parse().unwrap();
    /// assert_eq!(pair.access_key_id, "AKIDEXAMPLE");
    /// assert_eq!(pair.secret, "wJal/rXUt:nFEMI");
    /// assert!("no-colon".parse::<KeyPair>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<KeyPair, ParseKeyPairError> {
        let (id, secret) = s.split_once(':').ok_or(ParseKeyPairError::MissingColon)?;
        if id.is_empty() {
            return Err(ParseKeyPairError::EmptyAccessKeyId);
        }
        if secret.is_empty() {
            return Err(ParseKeyPairError::EmptySecret);
        }
        Ok(KeyPair::new(id, secret))
    }
}

/// The accepted key pairs of one provider.
///
/// `Debug` lists the access key ids but never the secrets.
#[derive(Clone, Debug, Default)]
pub struct Keys {
    by_id: BTreeMap<String, KeyPair>,
}

impl Keys {
    /// The given pairs; when an access key id appears twice, the later pair wins.
    ///
    /// ```
    /// use tasktoken::auth::{KeyPair, Keys};
    ///
    /// let keys = Keys::new([KeyPair::new("id", "old"), KeyPair::new("id", "new")]);
    /// assert_eq!(keys.secret("id"), Some("new"));
    /// assert_eq!(keys.secret("other"), None);
    /// ```
    pub fn new(pairs: impl IntoIterator<Item = KeyPair>) -> Keys {
        let mut by_id = BTreeMap::new();
        for pair in pairs {
            by_id.insert(pair.access_key_id.clone(), pair);
        }
        Keys { by_id }
    }

    /// The secret of `access_key_id`, if that id is accepted.
    pub fn secret(&self, access_key_id: &str) -> Option<&str> {
        self.by_id.get(access_key_id).map(|pair| pair.secret.as_str())
    }

    /// Whether no key is accepted at all.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// How many distinct access key ids are accepted.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }
}

impl FromIterator<KeyPair> for Keys {
    fn from_iter<I: IntoIterator<Item = KeyPair>>(pairs: I) -> Keys {
        Keys::new(pairs)
    }
}

/// Where a request's signing time falls relative to the verifier's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skew {
    /// Within [`MAX_CLOCK_SKEW_SECONDS`] either way.
    Within,
    /// More than the allowed skew in the past.
    TooOld,
    /// More than the allowed skew in the future.
    TooNew,
}

/// Whole seconds since the Unix epoch (floored; negative before 1970, saturating far out).
pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let before = before.duration();
            let whole = before.as_secs().saturating_add(u64::from(before.subsec_nanos() > 0));
            i64::try_from(whole).map_or(i64::MIN, |s| -s)
        }
    }
}

/// The `SystemTime` of whole Unix seconds, if the platform can represent it.
pub(crate) fn system_time(seconds: i64) -> Option<SystemTime> {
    let magnitude = Duration::from_secs(seconds.unsigned_abs());
    if seconds >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
}

/// Compares a request time with the clock, both in Unix seconds.
pub(crate) fn skew(request: i64, now: i64) -> Skew {
    if request < now.saturating_sub(MAX_CLOCK_SKEW_SECONDS) {
        Skew::TooOld
    } else if request > now.saturating_add(MAX_CLOCK_SKEW_SECONDS) {
        Skew::TooNew
    } else {
        Skew::Within
    }
}

/// Formats Unix seconds with `format`; a time the calendar cannot represent (beyond year 9999)
/// is shown as `@<seconds>` instead of failing.
pub(crate) fn format_unix(
    seconds: i64,
    format: &[time::format_description::FormatItem<'_>],
) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| format!("@{seconds}"))
}

/// Parses `text` as a UTC time in exactly `format` (it must format back to the same text, so
/// signs, padding variants and the like are refused); returns Unix seconds.
pub(crate) fn parse_exact(
    text: &str,
    format: &[time::format_description::FormatItem<'_>],
) -> Option<i64> {
    let parsed = time::PrimitiveDateTime::parse(text, format).ok()?.assume_utc();
    let again = parsed.format(format).ok()?;
    (again == text).then(|| parsed.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_pair_splits_at_the_first_colon() {
        let pair: KeyPair = "a:b:c".parse().unwrap();
        assert_eq!(pair, KeyPair::new("a", "b:c"));
        assert_eq!(":x".parse::<KeyPair>(), Err(ParseKeyPairError::EmptyAccessKeyId));
        assert_eq!("x:".parse::<KeyPair>(), Err(ParseKeyPairError::EmptySecret));
        assert_eq!("x".parse::<KeyPair>(), Err(ParseKeyPairError::MissingColon));
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let keys = Keys::new([KeyPair::new("visible-id", "hidden-secret")]);
        let pair = KeyPair::new("i", "hidden-secret");
        let credentials = Credentials::new("i", "hidden-secret", "r");
        let secret = Secret::new("hidden-secret");
        let shown = format!("{keys:?} {pair:?} {pair} {credentials:?} {secret} {secret:?}");
        assert!(shown.contains("visible-id"));
        assert!(!shown.contains("hidden-secret"));
    }

    #[test]
    fn unix_seconds_floors_before_the_epoch() {
        assert_eq!(unix_seconds(UNIX_EPOCH + Duration::from_millis(1500)), 1);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_millis(1500)), -2);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(2)), -2);
    }

    #[test]
    fn skew_allows_exactly_fifteen_minutes_each_way() {
        assert_eq!(skew(1000, 1000 + 900), Skew::Within);
        assert_eq!(skew(1000, 1000 + 901), Skew::TooOld);
        assert_eq!(skew(1000 + 900, 1000), Skew::Within);
        assert_eq!(skew(1000 + 901, 1000), Skew::TooNew);
        assert_eq!(skew(i64::MIN, i64::MAX), Skew::TooOld);
        assert_eq!(skew(i64::MAX, i64::MIN), Skew::TooNew);
    }

    #[test]
    fn parse_exact_refuses_anything_that_does_not_round_trip() {
        let basic = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
        assert_eq!(parse_exact("19700101T000001Z", basic), Some(1));
        for bad in [
            "",
            "19700101T000001",
            "19700101T000001Z ",
            "+1970010T000001Z",
            "19701301T000000Z",
            "19700101T240000Z",
            "19700101T000060Z",
        ] {
            assert_eq!(parse_exact(bad, basic), None, "{bad:?}");
        }
        assert_eq!(format_unix(1, basic), "19700101T000001Z");
        assert_eq!(format_unix(i64::MAX, basic), format!("@{}", i64::MAX));
    }
}
