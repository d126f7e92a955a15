//! Alibaba Cloud request signatures for CloudFlow (`fnf`): RPC v1 HMAC-SHA1 and ACS3-HMAC-SHA256.
//!
//! RPC v1 is what the `fnf` SDKs send by default: the signature is a parameter computed over
//! every other parameter, query and form body alike. ACS3 is what a client forced onto the V3
//! path sends: an `Authorization` header over the method, path, query, chosen headers and a
//! SHA-256 of the body. Both are checked in constant time. [`verify_once`] adds replay
//! protection with a caller's [`Nonces`]: a valid signature whose nonce was already used with
//! the same AccessKey ID within the window is refused.
//!
//! The checks run in this order: missing signing parameters, signature method, access key,
//! clock skew, signature, nonce (only a request that verifies uses up its nonce).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::header::AUTHORIZATION;
use percent_encoding::{percent_decode_str, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::time::SystemTime;
use time::format_description::FormatItem;
use time::macros::format_description;

use super::nonces::Nonces;
use super::{format_unix, parse_exact, skew, unix_seconds, KeyPair, Keys, SignError, Skew};

/// The RPC v1 `SignatureMethod` accepted.
pub const RPC_SIGNATURE_METHOD: &str = "HMAC-SHA1";

/// The RPC v1 `SignatureVersion` accepted.
pub const RPC_SIGNATURE_VERSION: &str = "1.0";

/// The ACS3 algorithm accepted (the first word of the `Authorization` header).
pub const ACS3_ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// RFC 3986 percent-encoding as Alibaba signs: everything but `A-Za-z0-9-_.~` is escaped, so a
/// space is `%20`, `*` is `%2A` and `~` stays.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `Timestamp` and `x-acs-date`: ISO 8601 extended format, UTC, whole seconds.
const TIMESTAMP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// Why a request's Alibaba authentication is refused. `Display` is the message the service
/// sends with the matching code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlibabaAuthError {
    /// A required signing parameter (or ACS3 header / `Authorization` item) is absent or empty;
    /// the name is as the client should have sent it, e.g. `Signature`, `AccessKeyId`,
    /// `Timestamp`, `SignatureNonce`, `x-acs-date`: `MissingRequiredParams` (400).
    #[error("The HTTP query '{0}' must be specified.")]
    Missing(&'static str),
    /// The access key id (as sent) is not accepted: `InvalidAccessKeyID` (403).
    #[error("The AccessKey ID {0} is invalid.")]
    InvalidAccessKeyId(String),
    /// The signature does not match: `SignatureNotMatch` (403).
    #[error("The request signature we calculated does not match the signature you provided. Check your access key and signing method.")]
    SignatureNotMatch,
    /// The signing time is more than 15 minutes from the clock: `RequestTimeTooSkewed` (403).
    /// Both times are `YYYY-MM-DDThh:mm:ssZ`; a `Timestamp` that is not in that format at all is
    /// reported here too, as sent.
    #[error("The difference between the request time {request_time} and the current time {now} is too large.")]
    RequestTimeTooSkewed {
        /// The request's `Timestamp` / `x-acs-date`.
        request_time: String,
        /// The verifier's clock.
        now: String,
    },
    /// A `SignatureMethod` other than `HMAC-SHA1`, a `SignatureVersion` other than `1.0`, or an
    /// ACS3 algorithm other than `ACS3-HMAC-SHA256` (the value as sent). The mock answers it
    /// as `SignatureNotMatch`, so it displays that message.
    #[error("The request signature we calculated does not match the signature you provided. Check your access key and signing method.")]
    UnsupportedSignatureMethod(String),
    /// A valid signature whose nonce (`SignatureNonce`, `x-acs-signature-nonce`) was already
    /// used with the same AccessKey ID within the window: `SignatureNonceUsed` (400), the
    /// gateway's answer to a replay.
    #[error("Specified signature nonce was used already.")]
    SignatureNonceUsed,
}

/// What a verified signature vouches for: who signed, with which nonce, when.
struct Signed<'a> {
    access_key_id: &'a str,
    nonce: &'a str,
    /// Unix seconds.
    signed_at: i64,
}

/// Strict mode's check of a buffered request: [`verify_acs3`] if it carries an ACS3
/// `Authorization` header, else [`verify_rpc`] over `params` (all its parameters, query and
/// form merged); then the nonce, claimed in `nonces` once the signature verified, so that the
/// same signed request sent again within the window is [`AlibabaAuthError::SignatureNonceUsed`].
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use tasktoken::auth::alibaba::{self, AlibabaAuthError};
/// use tasktoken::auth::nonces::Nonces;
/// use tasktoken::auth::{KeyPair, Keys};
///
/// let request = http::Request::post("/?Action=ReportTaskSucceeded&Version=2019-03-15")
///     .header("content-type", "application/x-www-form-urlencoded")
///     .body(bytes::Bytes::from_static(b"TaskToken=t&Output=1"))
///     .unwrap();
/// let key = KeyPair::new("LTAIexample", "secret");
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
/// let signed = alibaba::sign_request(request, &key, now).unwrap();
/// let params = tasktoken::wire::alibaba::parse_params(&signed).unwrap();
/// let (keys, nonces) = (Keys::new([key]), Nonces::default());
/// assert_eq!(alibaba::verify_once(&signed, &params.0, &keys, &nonces, now), Ok(()));
/// assert_eq!(
///     alibaba::verify_once(&signed, &params.0, &keys, &nonces, now + Duration::from_secs(60)),
///     Err(AlibabaAuthError::SignatureNonceUsed)
/// );
/// ```
pub fn verify_once<K: AsRef<str>, V: AsRef<str>>(
    request: &http::Request<Bytes>,
    params: &[(K, V)],
    keys: &Keys,
    nonces: &Nonces,
    now: SystemTime,
) -> Result<(), AlibabaAuthError> {
    let signed = if is_acs3(request) {
        check_acs3(request, keys, now)?
    } else {
        check_rpc(request.method().as_str(), params, keys, now)?
    };
    nonces
        .claim(signed.access_key_id, signed.nonce, signed.signed_at, unix_seconds(now))
        .map_err(|_| AlibabaAuthError::SignatureNonceUsed)
}

/// RPC v1: `params` are ALL request parameters, query and form-urlencoded body merged, already
/// decoded (as (key, value) pairs, duplicates kept in arrival order); `method` is the HTTP
/// method. Verifies HMAC-SHA1: every parameter but `Signature`, sorted by key, RFC 3986
/// percent-encoded (`A-Za-z0-9-_.~` kept), string to sign `METHOD&%2F&` + encoded canonical
/// string, key secret + `&`.
///
/// `SignatureMethod` and `SignatureVersion` may be absent (taken as `HMAC-SHA1` and `1.0`);
/// `Signature`, `AccessKeyId`, `Timestamp` and `SignatureNonce` are required.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use tasktoken::auth::alibaba::{self, AlibabaAuthError};
/// use tasktoken::auth::{KeyPair, Keys};
///
/// let mut params: Vec<(String, String)> = [
///     ("Action", "ReportTaskSucceeded"), ("Version", "2019-03-15"), ("Format", "json"),
///     ("AccessKeyId", "LTAIexample"), ("SignatureMethod", "HMAC-SHA1"),
///     ("SignatureVersion", "1.0"), ("SignatureNonce", "0d3cf73c"),
///     ("Timestamp", "2026-11-24T03:26:41Z"), ("TaskToken", "tok"), ("Output", "{\"a\":1}"),
/// ]
/// .map(|(k, v)| (k.to_owned(), v.to_owned()))
/// .to_vec();
/// let signature = alibaba::sign_rpc("POST", &params, "secret");
/// params.push(("Signature".to_owned(), signature));
///
/// let keys = Keys::new([KeyPair::new("LTAIexample", "secret")]);
/// // 2026-11-24T03:26:41Z plus 3 seconds.
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_490_804);
/// assert_eq!(alibaba::verify_rpc("POST", &params, &keys, now), Ok(()));
/// assert_eq!(
///     alibaba::verify_rpc("GET", &params, &keys, now),
///     Err(AlibabaAuthError::SignatureNotMatch)
/// );
/// ```
pub fn verify_rpc<K: AsRef<str>, V: AsRef<str>>(
    method: &str,
    params: &[(K, V)],
    keys: &Keys,
    now: SystemTime,
) -> Result<(), AlibabaAuthError> {
    check_rpc(method, params, keys, now).map(|_| ())
}

/// [`verify_rpc`], returning what the signature vouches for.
fn check_rpc<'p, K: AsRef<str>, V: AsRef<str>>(
    method: &str,
    params: &'p [(K, V)],
    keys: &Keys,
    now: SystemTime,
) -> Result<Signed<'p>, AlibabaAuthError> {
    let get = |name: &str| {
        params.iter().find(|(key, _)| key.as_ref() == name).map(|(_, value)| value.as_ref())
    };
    let required = |name: &'static str| {
        get(name).filter(|value| !value.is_empty()).ok_or(AlibabaAuthError::Missing(name))
    };
    let signature = required("Signature")?;
    let access_key_id = required("AccessKeyId")?;
    let timestamp = required("Timestamp")?;
    let nonce = required("SignatureNonce")?;
    for (name, accepted) in
        [("SignatureMethod", RPC_SIGNATURE_METHOD), ("SignatureVersion", RPC_SIGNATURE_VERSION)]
    {
        match get(name) {
            Some(value) if value != accepted => {
                return Err(AlibabaAuthError::UnsupportedSignatureMethod(value.to_owned()))
            }
            _ => {}
        }
    }
    let secret = keys
        .secret(access_key_id)
        .ok_or_else(|| AlibabaAuthError::InvalidAccessKeyId(access_key_id.to_owned()))?;
    let signed_at = check_clock(timestamp, now)?;

    let sent = BASE64.decode(signature).map_err(|_| AlibabaAuthError::SignatureNotMatch)?;
    rpc_mac(method, params, secret)
        .and_then(|mac| mac.verify_slice(&sent).ok())
        .ok_or(AlibabaAuthError::SignatureNotMatch)?;
    Ok(Signed { access_key_id, nonce, signed_at })
}

/// Signs params with RPC v1 and returns the `Signature` value (base64 of the HMAC-SHA1), for
/// the conformance checker to build signed requests. A `Signature` among `params` is ignored.
///
/// The test vector of the Tea SDK capture (its string to sign is in the research notes):
///
/// ```
/// use tasktoken::auth::alibaba;
///
/// let params: Vec<(String, String)> = [
///     ("Action", "ReportTaskFailed"), ("Format", "json"), ("Version", "2019-03-15"),
///     ("Timestamp", "2026-11-24T03:35:07Z"), ("SignatureNonce", "a98c8d258e2164605405026c31fc42c5"),
///     ("TaskToken", "example-capture-token-0001"), ("SignatureMethod", "HMAC-SHA1"),
///     ("SignatureVersion", "1.0"), ("AccessKeyId", "LTAIexample000000000"),
///     ("Cause", "why \u{20ac}"), ("Error", "Example.Error"),
/// ]
/// .map(|(k, v)| (k.to_owned(), v.to_owned()))
/// .to_vec();
/// assert_eq!(
///     alibaba::sign_rpc("POST", &params, "exampleSecret000000000000000000"),
///     "H4uNo1Y7OdDS/uCNmPKk1YG/VCk="
/// );
/// ```
pub fn sign_rpc<K: AsRef<str>, V: AsRef<str>>(
    method: &str,
    params: &[(K, V)],
    secret: &str,
) -> String {
    // HMAC accepts keys of any length, so `rpc_mac` never returns `None`.
    rpc_mac(method, params, secret)
        .map(|mac| BASE64.encode(mac.finalize().into_bytes()))
        .unwrap_or_default()
}

/// Signs a checker's RPC request: adds the common parameters (`AccessKeyId`,
/// `SignatureMethod`, `SignatureVersion`, a fresh `SignatureNonce`, `Timestamp` at `now`) and
/// the `Signature` over them and the request's own query and form parameters, to the query.
///
/// Fails when the request's parameters do not parse (it is then not sent unsigned).
///
/// ```
/// use std::time::SystemTime;
/// use tasktoken::auth::{alibaba, KeyPair, Keys};
///
/// let request = http::Request::post("/?Action=ReportTaskSucceeded&Version=2019-03-15")
///     .header("content-type", "application/x-www-form-urlencoded")
///     .body(bytes::Bytes::from_static(b"TaskToken=t&Output=1"))
///     .unwrap();
/// let key = KeyPair::new("LTAIexample", "secret");
/// let now = SystemTime::now();
/// let signed = alibaba::sign_request(request, &key, now).unwrap();
/// let params = tasktoken::wire::alibaba::parse_params(&signed).unwrap();
/// assert_eq!(alibaba::verify_rpc("POST", &params.0, &Keys::new([key]), now), Ok(()));
/// ```
pub fn sign_request(
    request: http::Request<Bytes>,
    key: &KeyPair,
    now: SystemTime,
) -> Result<http::Request<Bytes>, SignError> {
    use std::borrow::Cow;

    use crate::wire::alibaba::{encode_params, parse_params};

    let params = parse_params(&request).map_err(|e| {
        SignError::new(format!("its parameters do not parse: {}: {}", e.spec.code, e.message))
    })?;
    let timestamp = time::OffsetDateTime::from(now)
        .format(TIMESTAMP)
        .map_err(|e| SignError::new(format!("the time cannot be formatted: {e}")))?;
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let added = [
        ("AccessKeyId", key.access_key_id.as_str()),
        ("SignatureMethod", RPC_SIGNATURE_METHOD),
        ("SignatureVersion", RPC_SIGNATURE_VERSION),
        ("SignatureNonce", nonce.as_str()),
        ("Timestamp", timestamp.as_str()),
    ];
    let mut all = params.0.clone();
    all.extend(added.iter().map(|(k, v)| (Cow::Borrowed(*k), Cow::Borrowed(*v))));
    let signature = sign_rpc(request.method().as_str(), &all, &key.secret);
    let (mut parts, body) = request.into_parts();
    let mut query = parts.uri.query().unwrap_or("").to_owned();
    let extra = encode_params(
        added.iter().copied().chain(std::iter::once(("Signature", signature.as_str()))),
    );
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str(&extra);
    parts.uri = format!("{}?{query}", parts.uri.path())
        .parse()
        .map_err(|e| SignError::new(format!("the signed URI does not parse: {e}")))?;
    Ok(http::Request::from_parts(parts, body))
}

/// The RPC v1 string to sign: `METHOD&%2F&` + percent-encode(sorted, encoded `k=v&...`), over
/// every parameter but `Signature`.
pub fn rpc_string_to_sign<K: AsRef<str>, V: AsRef<str>>(method: &str, params: &[(K, V)]) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(key, value)| (key.as_ref(), value.as_ref()))
        .filter(|(key, _)| *key != "Signature")
        .collect();
    // Stable: duplicates keep their arrival order.
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let canonical = pairs
        .iter()
        .map(|(key, value)| format!("{}={}", encode(key.as_bytes()), encode(value.as_bytes())))
        .collect::<Vec<_>>()
        .join("&");
    format!("{method}&%2F&{}", encode(canonical.as_bytes()))
}

/// Whether the request carries an ACS3 `Authorization` header (one starting with `ACS3-`), so
/// the mock knows to call [`verify_acs3`] rather than [`verify_rpc`].
pub fn is_acs3(request: &http::Request<Bytes>) -> bool {
    request
        .headers()
        .get(AUTHORIZATION)
        .is_some_and(|value| value.as_bytes().trim_ascii_start().starts_with(b"ACS3-"))
}

/// ACS3-HMAC-SHA256 from the `Authorization` header: canonical request
/// `METHOD\n/path\ncanonicalQuery\ncanonicalHeaders\nsignedHeaders\nhexSHA256(body)` (query
/// pairs decoded, re-encoded per RFC 3986 and sorted; each signed header as `name:value\n`);
/// string to sign `ACS3-HMAC-SHA256\n` + hex(SHA-256(canonical request)); signature hex
/// HMAC-SHA256 keyed with the raw secret. The time comes from `x-acs-date`, which must be
/// signed; an `x-acs-content-sha256` header must equal the body's SHA-256.
///
/// The capture of the Tea SDK forced onto the V3 path verifies:
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use bytes::Bytes;
/// use tasktoken::auth::alibaba;
/// use tasktoken::auth::{KeyPair, Keys};
///
/// let request = http::Request::post("/?TaskToken=example-capture-token-0001")
///     .header("host", "127.0.0.1:39593")
///     .header("x-acs-version", "2019-03-15")
///     .header("x-acs-action", "ReportTaskSucceeded")
///     .header("user-agent", "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2")
///     .header("x-acs-date", "2026-11-24T03:35:07Z")
///     .header("x-acs-signature-nonce", "57e35fb8ce86a14b54f6956db85f3074")
///     .header("accept", "application/json")
///     .header("content-type", "application/x-www-form-urlencoded")
///     .header("x-acs-content-sha256", "f6490a4c8ab920e46dd5fe06602826c222aa5360a930e26cea993b5eebd4f34a")
///     .header("x-acs-credentials-provider", "static_ak")
///     .header("Authorization", "ACS3-HMAC-SHA256 Credential=LTAIexample000000000,\
///         SignedHeaders=accept;content-type;host;user-agent;x-acs-action;x-acs-content-sha256;\
///         x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,\
///         Signature=7da5a66488a48172c896ba767bb6dff0196e82d04f814a0a56d9e7366839b555")
///     .body(Bytes::from_static(b"Output=%7B%22k%22%3A%22%E2%82%AC%22%7D"))
///     .unwrap();
/// assert!(alibaba::is_acs3(&request));
///
/// let keys = Keys::new([KeyPair::new("LTAIexample000000000", "exampleSecret000000000000000000")]);
/// // 2026-11-24T03:35:07Z plus 2 seconds.
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_491_309);
/// assert_eq!(alibaba::verify_acs3(&request, &keys, now), Ok(()));
/// ```
pub fn verify_acs3(
    request: &http::Request<Bytes>,
    keys: &Keys,
    now: SystemTime,
) -> Result<(), AlibabaAuthError> {
    check_acs3(request, keys, now).map(|_| ())
}

/// [`verify_acs3`], returning what the signature vouches for.
fn check_acs3<'r>(
    request: &'r http::Request<Bytes>,
    keys: &Keys,
    now: SystemTime,
) -> Result<Signed<'r>, AlibabaAuthError> {
    let header =
        request.headers().get(AUTHORIZATION).ok_or(AlibabaAuthError::Missing("Authorization"))?;
    let header = std::str::from_utf8(header.as_bytes())
        .map_err(|_| AlibabaAuthError::SignatureNotMatch)?
        .trim();
    let (algorithm, rest) = header.split_once(' ').unwrap_or((header, ""));
    let (mut credential, mut signed_headers, mut signature) = ("", "", "");
    for item in rest.split(',') {
        match item.trim().split_once('=') {
            Some(("Credential", value)) => credential = value,
            Some(("SignedHeaders", value)) => signed_headers = value,
            Some(("Signature", value)) => signature = value,
            _ => {}
        }
    }
    for (name, value) in
        [("Credential", credential), ("SignedHeaders", signed_headers), ("Signature", signature)]
    {
        if value.is_empty() {
            return Err(AlibabaAuthError::Missing(name));
        }
    }
    let date = header_str(request, "x-acs-date")
        .filter(|date| !date.is_empty())
        .ok_or(AlibabaAuthError::Missing("x-acs-date"))?;
    let nonce = header_str(request, "x-acs-signature-nonce")
        .filter(|nonce| !nonce.is_empty())
        .ok_or(AlibabaAuthError::Missing("x-acs-signature-nonce"))?;
    if algorithm != ACS3_ALGORITHM {
        return Err(AlibabaAuthError::UnsupportedSignatureMethod(algorithm.to_owned()));
    }
    let secret = keys
        .secret(credential)
        .ok_or_else(|| AlibabaAuthError::InvalidAccessKeyId(credential.to_owned()))?;
    let signed_at = check_clock(date, now)?;

    let payload_hash = hex::encode(Sha256::digest(request.body()));
    if header_str(request, "x-acs-content-sha256").is_some_and(|claimed| claimed != payload_hash) {
        return Err(AlibabaAuthError::SignatureNotMatch);
    }
    let names: Vec<String> = signed_headers.split(';').map(str::to_ascii_lowercase).collect();
    if !names.iter().any(|name| name == "x-acs-date") {
        return Err(AlibabaAuthError::SignatureNotMatch);
    }
    let canonical = acs3_canonical_request(request, &names, signed_headers, &payload_hash)
        .ok_or(AlibabaAuthError::SignatureNotMatch)?;
    let string_to_sign =
        format!("{ACS3_ALGORITHM}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let sent = hex::decode(signature).map_err(|_| AlibabaAuthError::SignatureNotMatch)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| AlibabaAuthError::SignatureNotMatch)?;
    mac.update(string_to_sign.as_bytes());
    mac.verify_slice(&sent).map_err(|_| AlibabaAuthError::SignatureNotMatch)?;
    Ok(Signed { access_key_id: credential, nonce, signed_at })
}

/// The ACS3 canonical request, or `None` when a signed header is absent or not UTF-8.
fn acs3_canonical_request(
    request: &http::Request<Bytes>,
    names: &[String],
    signed_headers: &str,
    payload_hash: &str,
) -> Option<String> {
    let mut query: Vec<(String, String)> = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let reencode = |text: &str| encode(&percent_decode_str(text).collect::<Vec<u8>>());
            (reencode(key), reencode(value))
        })
        .collect();
    query.sort();
    let query =
        query.iter().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join("&");

    let mut headers = String::new();
    for name in names {
        let mut values = Vec::new();
        for value in request.headers().get_all(name.as_str()) {
            values.push(std::str::from_utf8(value.as_bytes()).ok()?.trim());
        }
        if values.is_empty() {
            return None;
        }
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&values.join(","));
        headers.push('\n');
    }
    Some(format!(
        "{}\n{}\n{query}\n{headers}\n{signed_headers}\n{payload_hash}",
        request.method(),
        request.uri().path(),
    ))
}

/// The HMAC-SHA1 over the RPC v1 string to sign, keyed with secret + `&`; `None` never happens
/// (HMAC takes keys of any length) but is handled rather than unwrapped.
fn rpc_mac<K: AsRef<str>, V: AsRef<str>>(
    method: &str,
    params: &[(K, V)],
    secret: &str,
) -> Option<Hmac<Sha1>> {
    let mut mac = Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes()).ok()?;
    mac.update(rpc_string_to_sign(method, params).as_bytes());
    Some(mac)
}

/// Refuses a `Timestamp` / `x-acs-date` that is malformed or more than 15 minutes from `now`;
/// returns it in Unix seconds.
fn check_clock(request_time: &str, now: SystemTime) -> Result<i64, AlibabaAuthError> {
    let now = unix_seconds(now);
    let skewed = |request_time: String| AlibabaAuthError::RequestTimeTooSkewed {
        request_time,
        now: format_unix(now, TIMESTAMP),
    };
    let at = parse_exact(request_time, TIMESTAMP).ok_or_else(|| skewed(request_time.to_owned()))?;
    match skew(at, now) {
        Skew::Within => Ok(at),
        Skew::TooOld | Skew::TooNew => Err(skewed(format_unix(at, TIMESTAMP))),
    }
}

/// RFC 3986 percent-encoding of raw bytes.
fn encode(bytes: &[u8]) -> String {
    percent_encode(bytes, RFC3986).to_string()
}

/// The first value of a header, if present and UTF-8.
fn header_str<'a>(request: &'a http::Request<Bytes>, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|value| std::str::from_utf8(value.as_bytes()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_to_sign_matches_the_research_notes() {
        let params: Vec<(String, String)> = [
            ("AccessKeyId", "testid"),
            ("Action", "ReportTaskSucceeded"),
            ("Format", "json"),
            ("Output", "{\"a\":\"b c\"}"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "0d3cf73c00a9f00e5f741e542ae2fd6b"),
            ("SignatureVersion", "1.0"),
            ("TaskToken", "tok+/=&x"),
            ("Timestamp", "2026-11-24T03:26:41Z"),
            ("Version", "2019-03-15"),
            ("Signature", "ignored"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec();
        assert_eq!(
            rpc_string_to_sign("POST", &params),
            "POST&%2F&AccessKeyId%3Dtestid%26Action%3DReportTaskSucceeded%26Format%3Djson%26Output%3D%257B%2522a%2522%253A%2522b%2520c%2522%257D%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D0d3cf73c00a9f00e5f741e542ae2fd6b%26SignatureVersion%3D1.0%26TaskToken%3Dtok%252B%252F%253D%2526x%26Timestamp%3D2026-11-24T03%253A26%253A41Z%26Version%3D2019-03-15"
        );
    }

    #[test]
    fn rfc3986_keeps_only_unreserved_characters() {
        assert_eq!(encode(b"A-z_0.9~ *+/%"), "A-z_0.9~%20%2A%2B%2F%25");
        assert_eq!(encode("\u{20ac}".as_bytes()), "%E2%82%AC");
    }

    #[test]
    fn a_malformed_timestamp_is_reported_as_sent() {
        let now = SystemTime::UNIX_EPOCH;
        assert_eq!(
            check_clock("2026-11-24 03:26:41", now),
            Err(AlibabaAuthError::RequestTimeTooSkewed {
                request_time: "2026-11-24 03:26:41".into(),
                now: "1970-01-01T00:00:00Z".into()
            })
        );
    }

    #[test]
    fn is_acs3_looks_only_at_the_authorization_scheme() {
        let with = |value: &'static str| {
            http::Request::post("/").header("Authorization", value).body(Bytes::new()).unwrap()
        };
        assert!(is_acs3(&with("ACS3-HMAC-SHA256 Credential=x")));
        assert!(!is_acs3(&with("AWS4-HMAC-SHA256 Credential=x")));
        assert!(!is_acs3(&http::Request::new(Bytes::new())));
    }
}
