//! AWS Signature Version 4 for Step Functions (`states`): verify a received request, sign one.
//!
//! Verification re-signs the request with the `aws-sigv4` crate, using the candidate secret,
//! the signing time from `X-Amz-Date`, the region and service from the credential scope and
//! only the headers the client named in `SignedHeaders`, then compares the two signatures in
//! constant time.
//!
//! The checks run in the order the shared Coral front end of AWS JSON services runs them (as
//! recorded by the DynamoDB emulator dynalite against the real service), so a request with
//! several faults gets the error the real service would give first:
//!
//! 1. no `Authorization` header, or one that does not start with `AWS4-` →
//!    [`AwsAuthError::Missing`];
//! 2. an item without `=`, then a missing `Credential` / `Signature` / `SignedHeaders` or date
//!    header → [`AwsAuthError::Incomplete`];
//! 3. a date that is not ISO 8601 basic format → `Incomplete`; a date more than 15 minutes
//!    from the clock → [`AwsAuthError::Expired`];
//! 4. `host` not signed → [`AwsAuthError::BadSignature`];
//! 5. an algorithm other than `AWS4-HMAC-SHA256`, a credential without exactly five
//!    `/`-separated parts → `Incomplete`;
//! 6. a scope for another service, terminator or day → `BadSignature` (the real service sends
//!    `InvalidSignatureException` with a more specific message there); with a region to hold
//!    to ([`verify_in_region`]), a scope for another region → [`AwsAuthError::WrongRegion`];
//! 7. an unknown access key id → [`AwsAuthError::UnknownKey`];
//! 8. a signature mismatch → `BadSignature`.
//!
//! SigV4 has no nonce: the same signed request verifies again as long as its time is within
//! the window, on AWS as here (`docs/strict-auth.md` says what it does and does not protect).

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign as sigv4_sign, SignableBody, SignableRequest, SigningInstructions, SigningParams,
    SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_sigv4::SigningOutput;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, AUTHORIZATION, DATE, HOST};
use subtle::ConstantTimeEq;
use time::format_description::FormatItem;
use time::macros::format_description;

use super::{format_unix, parse_exact, skew, system_time, unix_seconds, Keys, SignError, Skew};

/// The only signing algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The service name in the credential scope of Step Functions requests.
pub const SERVICE: &str = "states";

/// `X-Amz-Date`: ISO 8601 basic format, UTC, e.g. `20261124T033506Z`.
const AMZ_DATE: &[FormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

const X_AMZ_DATE: &str = "x-amz-date";

/// Why a request's SigV4 authentication is refused, one variant per answer of the service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsAuthError {
    /// No `Authorization` header, or one that is not SigV4 (does not start with `AWS4-`):
    /// `MissingAuthenticationTokenException`, `Request is missing Authentication Token`.
    #[error("Request is missing Authentication Token")]
    Missing,
    /// A malformed `Authorization` header or date: `IncompleteSignatureException`; the string is
    /// the exact message to send, in the real service's wording.
    #[error("{0}")]
    Incomplete(String),
    /// The access key id is not among the accepted keys: `UnrecognizedClientException`.
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    /// The signature does not match (or the scope is not one this service signs for):
    /// `InvalidSignatureException` with the standard message.
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    BadSignature,
    /// The signing time is more than 15 minutes from the clock: `InvalidSignatureException`
    /// with this exact message (`Signature expired: ...` or `Signature not yet current: ...`).
    #[error("{0}")]
    Expired(String),
    /// The credential scope names another region than the one the verifier stands for:
    /// `InvalidSignatureException`, `Credential should be scoped to a valid region. `.
    #[error("Credential should be scoped to a valid region. ")]
    WrongRegion,
}

/// The three parameters of a SigV4 `Authorization` header, plus its algorithm.
struct Authorization<'a> {
    algorithm: &'a str,
    credential: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

/// Verifies SigV4 (service `states`, any region) on a buffered request; `now` is the clock to
/// judge `X-Amz-Date` by.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use bytes::Bytes;
/// use tasktoken::auth::{aws, KeyPair, Keys};
///
/// let signed_at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
/// let mut request = http::Request::post("/")
///     .header("Host", "states.us-east-1.amazonaws.com")
///     .header("Content-Type", "application/x-amz-json-1.0")
///     .header("X-Amz-Target", "AWSStepFunctions.SendTaskHeartbeat")
///     .body(Bytes::from_static(br#"{"taskToken":"t"}"#))
///     .unwrap();
/// aws::sign(&mut request, "AKIDEXAMPLE", "secret", "us-east-1", aws::SERVICE, signed_at).unwrap();
///
/// let keys = Keys::new([KeyPair::new("AKIDEXAMPLE", "secret")]);
/// assert_eq!(aws::verify(&request, &keys, signed_at + Duration::from_secs(5)), Ok(()));
///
/// let wrong = Keys::new([KeyPair::new("AKIDEXAMPLE", "other")]);
/// assert_eq!(aws::verify(&request, &wrong, signed_at), Err(aws::AwsAuthError::BadSignature));
/// ```
pub fn verify(
    request: &http::Request<Bytes>,
    keys: &Keys,
    now: SystemTime,
) -> Result<(), AwsAuthError> {
    verify_service(request, keys, SERVICE, None, now)
}

/// [`verify`] for an endpoint of one region: a request signed for another region (its scope
/// names it, so the signature itself may be valid) is [`AwsAuthError::WrongRegion`].
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use bytes::Bytes;
/// use tasktoken::auth::{aws, KeyPair, Keys};
///
/// let signed_at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
/// let mut request = http::Request::post("/")
///     .header("Host", "states.eu-west-1.amazonaws.com")
///     .body(Bytes::from_static(b"{}"))
///     .unwrap();
/// aws::sign(&mut request, "AKIDEXAMPLE", "secret", "eu-west-1", aws::SERVICE, signed_at).unwrap();
/// let keys = Keys::new([KeyPair::new("AKIDEXAMPLE", "secret")]);
/// assert_eq!(aws::verify_in_region(&request, &keys, "eu-west-1", signed_at), Ok(()));
/// assert_eq!(
///     aws::verify_in_region(&request, &keys, "us-east-1", signed_at),
///     Err(aws::AwsAuthError::WrongRegion)
/// );
/// ```
pub fn verify_in_region(
    request: &http::Request<Bytes>,
    keys: &Keys,
    region: &str,
    now: SystemTime,
) -> Result<(), AwsAuthError> {
    verify_service(request, keys, SERVICE, Some(region), now)
}

/// [`verify`] for the AWS signing name `expected_service` (`lambda` for Lambda's durable
/// callbacks), in `expected_region` when one is given. The canonical path is the received path
/// encoded again, as every AWS SDK signs restJson1 paths (`%2B` is signed as `%252B`).
pub fn verify_service(
    request: &http::Request<Bytes>,
    keys: &Keys,
    expected_service: &str,
    expected_region: Option<&str>,
    now: SystemTime,
) -> Result<(), AwsAuthError> {
    let raw = request.headers().get(AUTHORIZATION).ok_or(AwsAuthError::Missing)?.as_bytes();
    if !raw.trim_ascii_start().starts_with(b"AWS4-") {
        return Err(AwsAuthError::Missing);
    }
    let header = std::str::from_utf8(raw).map_err(|_| {
        AwsAuthError::Incomplete(format!(
            "Authorization header is not valid UTF-8. Authorization={}",
            String::from_utf8_lossy(raw)
        ))
    })?;

    let date_header = request.headers().get(X_AMZ_DATE).or_else(|| request.headers().get(DATE));
    let auth = parse_authorization(header, date_header.is_some())?;

    // Step 3: the date, then its distance from the clock.
    let date_text =
        date_header.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).unwrap_or_default();
    let signed_at = parse_exact(&date_text, AMZ_DATE).ok_or_else(|| {
        AwsAuthError::Incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{date_text}'. See http://en.wikipedia.org/wiki/ISO_8601"
        ))
    })?;
    check_clock(&date_text, signed_at, unix_seconds(now))?;

    // Step 4: `host` must be signed.
    let signed: Vec<String> = auth.signed_headers.split(';').map(str::to_ascii_lowercase).collect();
    if !signed.iter().any(|name| name == "host") {
        return Err(AwsAuthError::BadSignature);
    }

    // Step 5: algorithm and credential shape.
    if auth.algorithm != ALGORITHM {
        return Err(AwsAuthError::Incomplete(format!(
            "Unsupported AWS 'algorithm': '{}' (only {ALGORITHM} for now). ",
            auth.algorithm
        )));
    }
    let scope: Vec<&str> = auth.credential.trim_end_matches('/').split('/').collect();
    let [access_key_id, day, region, service, terminator] = scope[..] else {
        return Err(AwsAuthError::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{}'",
            auth.credential
        )));
    };

    // Step 6: the scope must be one this service signs for.
    if region.is_empty()
        || service != expected_service
        || terminator != "aws4_request"
        || Some(day) != date_text.get(..8)
    {
        return Err(AwsAuthError::BadSignature);
    }
    if expected_region.is_some_and(|expected| expected != region) {
        return Err(AwsAuthError::WrongRegion);
    }

    // Step 7: the key.
    let secret = keys.secret(access_key_id).ok_or(AwsAuthError::UnknownKey)?;

    // Step 8: re-sign and compare.
    let expected = signature_for(
        request,
        &signed,
        Credentials::new(access_key_id, secret, None, None, "tasktoken"),
        Scope {
            region,
            service: expected_service,
            time: system_time(signed_at).ok_or(AwsAuthError::BadSignature)?,
        },
    )
    .ok_or(AwsAuthError::BadSignature)?;
    if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        Ok(())
    } else {
        Err(AwsAuthError::BadSignature)
    }
}

/// Signs `request` in place with SigV4 for `service` (the signing name in the credential
/// scope: [`SERVICE`] for Step Functions, `sqs` for SQS): sets `X-Amz-Date` and
/// `Authorization` (replacing any already there). Every header is signed except the ones the
/// AWS SDKs leave out (`User-Agent`, `X-Amzn-Trace-Id`, `Transfer-Encoding`); a `Host` header is
/// added from the URI's authority when missing.
///
/// Fails with a [`SignError`] (carrying the reason) when the request cannot be
/// signed: no `Host` header nor authority, a header value that is not UTF-8, an access key id or
/// region that cannot appear in a header, or a time outside years -9999 to 9999.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use bytes::Bytes;
/// use tasktoken::auth::aws;
///
/// let mut request = http::Request::post("http://127.0.0.1:8083/")
///     .header("X-Amz-Target", "AWSStepFunctions.SendTaskSuccess")
///     .body(Bytes::from_static(b"{}"))
///     .unwrap();
/// let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
/// aws::sign(&mut request, "AKIDEXAMPLE", "secret", "eu-west-1", aws::SERVICE, time).unwrap();
/// assert_eq!(request.headers()["x-amz-date"], "20261118T110640Z");
/// assert!(request.headers()["authorization"].to_str().unwrap().starts_with(
///     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261118/eu-west-1/states/aws4_request, \
///      SignedHeaders=host;x-amz-date;x-amz-target, Signature="
/// ));
/// ```
pub fn sign(
    request: &mut http::Request<Bytes>,
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<(), SignError> {
    let cannot = |why: &str| SignError::new(why);
    // aws-sigv4 panics on a time its calendar cannot show; keep to years -9999..=9999.
    let seconds = unix_seconds(time);
    let time = time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|_| system_time(seconds))
        .ok_or_else(|| cannot("the time is outside years -9999 to 9999"))?;

    request.headers_mut().remove(AUTHORIZATION);
    request.headers_mut().remove(X_AMZ_DATE);
    if !request.headers().contains_key(HOST) {
        let authority = request
            .uri()
            .authority()
            .ok_or_else(|| cannot("no Host header and no authority in the URI"))?;
        let host = HeaderValue::from_str(authority.as_str())
            .map_err(|_| cannot("the URI authority is not a valid header value"))?;
        request.headers_mut().insert(HOST, host);
    }

    let mut headers = Vec::with_capacity(request.headers().len());
    for (name, value) in request.headers() {
        let value = std::str::from_utf8(value.as_bytes())
            .map_err(|_| cannot(&format!("header {name} is not UTF-8")))?;
        headers.push((name.as_str(), value));
    }
    let credentials = Credentials::new(access_key_id, secret, None, None, "tasktoken");
    let scope = Scope { region, service, time };
    let (instructions, _signature) =
        run_sigv4(request, headers, credentials, scope, SigningSettings::default())
            .map_err(|e| cannot(&e))?
            .into_parts();

    // Apply by hand rather than with `apply_to_request_http1x`, which panics on a header value
    // it cannot build (an access key id or region with a newline, say).
    let mut new_headers = Vec::new();
    for (name, value) in instructions.headers() {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| cannot("aws-sigv4 produced an invalid header name"))?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            cannot("the access key id or region cannot appear in an Authorization header")
        })?;
        new_headers.push((name, value));
    }
    for (name, value) in new_headers {
        request.headers_mut().insert(name, value);
    }
    Ok(())
}

/// Parses the parameters of a SigV4 `Authorization` header the way Coral does: items separated
/// by `,` or space after the algorithm, each `key=value`; then reports every missing parameter
/// (and a missing date header) in one message.
fn parse_authorization(header: &str, has_date: bool) -> Result<Authorization<'_>, AwsAuthError> {
    let mut items = header.split([',', ' ']).filter(|item| !item.is_empty());
    let algorithm = items.next().unwrap_or_default();
    let (mut credential, mut signed_headers, mut signature) = ("", "", "");
    for item in items {
        let Some((key, value)) = item.split_once('=') else {
            return Err(AwsAuthError::Incomplete(format!(
                "'{item}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'."
            )));
        };
        match key {
            "Credential" => credential = value,
            "SignedHeaders" => signed_headers = value,
            "Signature" => signature = value,
            _ => {}
        }
    }
    let mut message = String::new();
    for (name, value) in
        [("Credential", credential), ("Signature", signature), ("SignedHeaders", signed_headers)]
    {
        if value.is_empty() {
            message.push_str(&format!("Authorization header requires '{name}' parameter. "));
        }
    }
    if !has_date {
        message.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    if !message.is_empty() {
        message.push_str("Authorization=");
        message.push_str(header);
        return Err(AwsAuthError::Incomplete(message));
    }
    Ok(Authorization { algorithm, credential, signed_headers, signature })
}

/// Refuses a signing time more than 15 minutes from the clock, with Coral's message.
fn check_clock(date_text: &str, signed_at: i64, now: i64) -> Result<(), AwsAuthError> {
    let window = super::MAX_CLOCK_SKEW_SECONDS;
    match skew(signed_at, now) {
        Skew::Within => Ok(()),
        Skew::TooOld => Err(AwsAuthError::Expired(format!(
            "Signature expired: {date_text} is now earlier than {} ({} - 15 min.)",
            format_unix(now.saturating_sub(window), AMZ_DATE),
            format_unix(now, AMZ_DATE),
        ))),
        Skew::TooNew => Err(AwsAuthError::Expired(format!(
            "Signature not yet current: {date_text} is still later than {} ({} + 15 min.)",
            format_unix(now.saturating_add(window), AMZ_DATE),
            format_unix(now, AMZ_DATE),
        ))),
    }
}

/// The hex signature aws-sigv4 computes for `request` with exactly the `signed` headers (lower
/// case), or `None` when the request cannot be canonicalised (a signed header that is absent or
/// not UTF-8, a URI aws-sigv4 refuses).
fn signature_for(
    request: &http::Request<Bytes>,
    signed: &[String],
    credentials: Credentials,
    scope: Scope<'_>,
) -> Option<String> {
    let mut headers = Vec::new();
    for name in signed {
        let mut present = false;
        for value in request.headers().get_all(name.as_str()) {
            headers.push((name.as_str(), std::str::from_utf8(value.as_bytes()).ok()?));
            present = true;
        }
        if !present {
            return None;
        }
    }
    // aws-sigv4 always adds `x-amz-date` (and `host`, which is signed by now); keep it out of
    // the signed set when the client did not sign it, and sign nothing else it would add.
    let mut settings = SigningSettings::default();
    let mut excluded = Vec::new();
    if !signed.iter().any(|name| name == X_AMZ_DATE) {
        excluded.push(X_AMZ_DATE.into());
    }
    settings.excluded_headers = Some(excluded);

    let output = run_sigv4(request, headers, credentials, scope, settings).ok()?;
    Some(output.signature().to_owned())
}

/// Where and when a signature applies: the credential scope's region and service, and the time.
struct Scope<'a> {
    region: &'a str,
    service: &'a str,
    time: SystemTime,
}

/// aws-sigv4 over `request` with exactly `headers`: the one place its parameters are built,
/// for signing and for re-signing during verification alike.
fn run_sigv4(
    request: &http::Request<Bytes>,
    headers: Vec<(&str, &str)>,
    credentials: Credentials,
    scope: Scope<'_>,
    settings: SigningSettings,
) -> Result<SigningOutput<SigningInstructions>, String> {
    let identity = credentials.into();
    let params: SigningParams<'_> = v4::SigningParams::builder()
        .identity(&identity)
        .region(scope.region)
        .name(scope.service)
        .time(scope.time)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let path_and_query = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let signable = SignableRequest::new(
        request.method().as_str(),
        path_and_query,
        headers.into_iter(),
        SignableBody::Bytes(request.body()),
    )
    .map_err(|e| e.to_string())?;
    sigv4_sign(signable, &params).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::KeyPair;
    use std::time::{Duration, UNIX_EPOCH};

    const ID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn signed_request() -> http::Request<Bytes> {
        let mut request = http::Request::post("/")
            .header("Host", "states.us-east-1.amazonaws.com")
            .header("Content-Type", "application/x-amz-json-1.0")
            .header("X-Amz-Target", "AWSStepFunctions.SendTaskSuccess")
            .body(Bytes::from_static(br#"{"taskToken":"t","output":"1"}"#))
            .unwrap();
        sign(&mut request, ID, SECRET, "us-east-1", SERVICE, at(1_800_000_000)).unwrap();
        request
    }

    fn keys() -> Keys {
        Keys::new([KeyPair::new(ID, SECRET)])
    }

    fn with_authorization(value: &str) -> http::Request<Bytes> {
        let mut request = signed_request();
        request.headers_mut().insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        request
    }

    #[test]
    fn a_request_signed_here_verifies() {
        assert_eq!(verify(&signed_request(), &keys(), at(1_800_000_000)), Ok(()));
    }

    #[test]
    fn a_non_sigv4_scheme_counts_as_missing_like_coral() {
        let request = with_authorization("Bearer abc");
        assert_eq!(verify(&request, &keys(), at(1_800_000_000)), Err(AwsAuthError::Missing));
    }

    #[test]
    fn missing_parameters_are_listed_in_corals_order_and_wording() {
        let request = with_authorization("AWS4-HMAC-SHA256 SignedHeaders=host");
        assert_eq!(
            verify(&request, &keys(), at(1_800_000_000)),
            Err(AwsAuthError::Incomplete(
                "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 SignedHeaders=host".into()
            ))
        );
    }

    #[test]
    fn an_item_without_equal_sign_is_reported_first() {
        let header = "AWS4-HMAC-SHA256 Signature=b,    Credential,    SignedHeaders";
        assert_eq!(
            verify(&with_authorization(header), &keys(), at(1_800_000_000)),
            Err(AwsAuthError::Incomplete(format!(
                "'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'."
            )))
        );
    }

    #[test]
    fn unsigned_host_is_an_invalid_signature() {
        let mut request = signed_request();
        let header = request.headers()[AUTHORIZATION].to_str().unwrap().replace(";host;", ";");
        request.headers_mut().insert(AUTHORIZATION, HeaderValue::from_str(&header).unwrap());
        assert_eq!(verify(&request, &keys(), at(1_800_000_000)), Err(AwsAuthError::BadSignature));
    }

    #[test]
    fn wrong_algorithm_and_short_credential_are_incomplete() {
        let request = signed_request();
        let header = request.headers()[AUTHORIZATION].to_str().unwrap();
        let other = header.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256");
        assert_eq!(
            verify(&with_authorization(&other), &keys(), at(1_800_000_000)),
            Err(AwsAuthError::Incomplete(
                "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256' (only AWS4-HMAC-SHA256 for now). ".into()
            ))
        );
        let short = header.replace("/us-east-1/states/", "/us-east-1/");
        let Err(AwsAuthError::Incomplete(message)) =
            verify(&with_authorization(&short), &keys(), at(1_800_000_000))
        else {
            panic!("expected Incomplete")
        };
        assert!(
            message.starts_with("Credential must have exactly 5 slash-delimited elements"),
            "{message}"
        );
    }

    #[test]
    fn another_service_in_the_scope_is_refused() {
        let request = signed_request();
        let header =
            request.headers()[AUTHORIZATION].to_str().unwrap().replace("/states/", "/dynamodb/");
        assert_eq!(
            verify(&with_authorization(&header), &keys(), at(1_800_000_000)),
            Err(AwsAuthError::BadSignature)
        );
    }

    #[test]
    fn a_malformed_date_is_incomplete() {
        let mut request = signed_request();
        request.headers_mut().insert(X_AMZ_DATE, HeaderValue::from_static("2027-01-15"));
        assert_eq!(
            verify(&request, &keys(), at(1_800_000_000)),
            Err(AwsAuthError::Incomplete(
                "Date must be in ISO-8601 'basic format'. Got '2027-01-15'. See http://en.wikipedia.org/wiki/ISO_8601".into()
            ))
        );
    }

    #[test]
    fn a_future_date_is_not_yet_current() {
        let request = signed_request(); // 20270115T080000Z
        assert_eq!(
            verify(&request, &keys(), at(1_800_000_000 - 16 * 60)),
            Err(AwsAuthError::Expired(
                "Signature not yet current: 20270115T080000Z is still later than 20270115T075900Z (20270115T074400Z + 15 min.)".into()
            ))
        );
    }

    #[test]
    fn sign_refuses_what_it_cannot_put_in_a_header() {
        let mut request = http::Request::post("/").body(Bytes::new()).unwrap();
        assert!(matches!(
            sign(&mut request, ID, SECRET, "us-east-1", SERVICE, at(0)),
            Err(SignError { .. })
        ));
        let mut request = signed_request();
        assert!(sign(&mut request, "bad\nid", SECRET, "us-east-1", SERVICE, at(0)).is_err());
        let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert!(sign(&mut request, ID, SECRET, "us-east-1", SERVICE, far).is_err());
    }
}
