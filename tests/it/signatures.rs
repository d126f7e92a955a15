//! Signature verification against the official-SDK wire captures in `fixtures/captures/`.
//!
//! Each capture is parsed back into the `http::Request` the SDK sent; the credentials and the
//! clock come from the capture itself, so these are test vectors computed by the real clients.

use crate::common;

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use common::captures::*;
use http::header::{HeaderName, HeaderValue, AUTHORIZATION};
use proptest::prelude::*;
use tasktoken::auth::alibaba::{self, AlibabaAuthError};
use tasktoken::auth::aws::{self, AwsAuthError};
use tasktoken::auth::{KeyPair, Keys};

const MINUTE: Duration = Duration::from_secs(60);

fn set_header(request: &mut http::Request<Bytes>, name: &str, value: &str) {
    request.headers_mut().insert(
        HeaderName::from_bytes(name.as_bytes()).unwrap(),
        HeaderValue::from_str(value).unwrap(),
    );
}

fn with_body_byte_flipped(request: &http::Request<Bytes>, at: usize) -> http::Request<Bytes> {
    let mut body = request.body().to_vec();
    body[at] ^= 0x01;
    let mut changed = request.clone();
    *changed.body_mut() = Bytes::from(body);
    changed
}

// ---------------------------------------------------------------------------------------------
// The captures themselves.

#[test]
fn there_are_four_sigv4_two_rpc_and_one_acs3_captures_with_bodies_matching_content_length() {
    let kinds: Vec<Kind> = captures().iter().map(|c| c.kind).collect();
    let count = |kind| kinds.iter().filter(|k| **k == kind).count();
    assert_eq!(
        (count(Kind::AwsSigV4), count(Kind::AlibabaRpc), count(Kind::AlibabaAcs3)),
        (4, 2, 1)
    );
}

#[test]
fn every_capture_verifies_with_its_own_credentials_a_few_seconds_after_it_was_signed() {
    for capture in captures() {
        assert_eq!(
            capture.verify_as_captured(&capture.keys(), capture.now()),
            Ok(()),
            "{}",
            capture.name
        );
    }
}

#[test]
fn every_capture_is_refused_with_a_wrong_secret() {
    for capture in captures() {
        let keys =
            Keys::new([KeyPair::new(&capture.access_key_id, format!("{}x", capture.secret))]);
        let expected = match capture.kind {
            Kind::AwsSigV4 => format!("{:?}", AwsAuthError::BadSignature),
            _ => format!("{:?}", AlibabaAuthError::SignatureNotMatch),
        };
        assert_eq!(
            capture.verify_as_captured(&keys, capture.now()),
            Err(expected),
            "{}",
            capture.name
        );
    }
}

#[test]
fn every_capture_is_refused_when_its_access_key_id_is_unknown() {
    for capture in captures() {
        let keys = Keys::new([KeyPair::new("SOMEONE-ELSE", &capture.secret)]);
        let expected = match capture.kind {
            Kind::AwsSigV4 => format!("{:?}", AwsAuthError::UnknownKey),
            _ => {
                format!("{:?}", AlibabaAuthError::InvalidAccessKeyId(capture.access_key_id.clone()))
            }
        };
        assert_eq!(
            capture.verify_as_captured(&keys, capture.now()),
            Err(expected),
            "{}",
            capture.name
        );
        assert!(
            capture.verify_as_captured(&Keys::default(), capture.now()).is_err(),
            "{}",
            capture.name
        );
    }
}

#[test]
fn every_capture_still_verifies_14_minutes_either_side_of_its_signing_time() {
    for capture in captures() {
        for now in [
            capture.signed_at + 14 * MINUTE,
            capture.signed_at - 14 * MINUTE,
            capture.signed_at + 15 * MINUTE,
        ] {
            assert_eq!(
                capture.verify_as_captured(&capture.keys(), now),
                Ok(()),
                "{}",
                capture.name
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AWS SigV4.

#[test]
fn sigv4_captures_16_minutes_late_are_expired_with_corals_message() {
    for capture in of_kind(Kind::AwsSigV4) {
        let date = capture.header("x-amz-date").to_owned();
        assert_eq!(date, "20261124T033506Z", "{}", capture.name);
        let late = capture.signed_at + 16 * MINUTE;
        assert_eq!(
            aws::verify(&capture.request, &capture.keys(), late),
            Err(AwsAuthError::Expired(
                "Signature expired: 20261124T033506Z is now earlier than 20261124T033606Z (20261124T035106Z - 15 min.)".into()
            )),
            "{}",
            capture.name
        );
        let early = capture.signed_at - 16 * MINUTE;
        assert_eq!(
            aws::verify(&capture.request, &capture.keys(), early),
            Err(AwsAuthError::Expired(
                "Signature not yet current: 20261124T033506Z is still later than 20261124T033406Z (20261124T031906Z + 15 min.)".into()
            )),
            "{}",
            capture.name
        );
    }
}

#[test]
fn sigv4_captures_without_an_authorization_header_or_with_a_non_sigv4_one_are_missing() {
    for capture in of_kind(Kind::AwsSigV4) {
        let mut request = capture.request.clone();
        request.headers_mut().remove(AUTHORIZATION);
        assert_eq!(
            aws::verify(&request, &capture.keys(), capture.now()),
            Err(AwsAuthError::Missing),
            "{}",
            capture.name
        );
        set_header(&mut request, "authorization", "Bearer abc.def");
        assert_eq!(
            aws::verify(&request, &capture.keys(), capture.now()),
            Err(AwsAuthError::Missing),
            "{}",
            capture.name
        );
    }
}

#[test]
fn sigv4_captures_with_mangled_authorization_are_incomplete_with_corals_messages() {
    for capture in of_kind(Kind::AwsSigV4) {
        let original = capture.header("authorization").to_owned();
        let signature_item = format!(", Signature={}", between(&original, "Signature=", "\n"));
        let cases: Vec<(String, String)> = vec![
            (
                original.replace(&signature_item, ""),
                format!("Authorization header requires 'Signature' parameter. Authorization={}", original.replace(&signature_item, "")),
            ),
            (
                "AWS4-HMAC-SHA256".into(),
                "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. \
                 Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256"
                    .into(),
            ),
            (
                original.replace("Credential=", "Credential "),
                format!(
                    "'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: '{}'.",
                    original.replace("Credential=", "Credential ")
                ),
            ),
            (
                original.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
                "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). ".into(),
            ),
            (
                original.replace("/us-east-1/states/", "/states/"),
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIAEXAMPLE000000000/20261124/states/aws4_request'".into(),
            ),
        ];
        for (header, message) in cases {
            let mut request = capture.request.clone();
            set_header(&mut request, "authorization", &header);
            assert_eq!(
                aws::verify(&request, &capture.keys(), capture.now()),
                Err(AwsAuthError::Incomplete(message)),
                "{}: {header}",
                capture.name
            );
        }
    }
}

#[test]
fn sigv4_captures_without_or_with_a_malformed_x_amz_date_are_incomplete() {
    for capture in of_kind(Kind::AwsSigV4) {
        let mut request = capture.request.clone();
        request.headers_mut().remove("x-amz-date");
        assert_eq!(
            aws::verify(&request, &capture.keys(), capture.now()),
            Err(AwsAuthError::Incomplete(format!(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={}",
                capture.header("authorization")
            ))),
            "{}",
            capture.name
        );
        set_header(&mut request, "x-amz-date", "2026-11-24T03:35:06Z");
        assert_eq!(
            aws::verify(&request, &capture.keys(), capture.now()),
            Err(AwsAuthError::Incomplete(
                "Date must be in ISO-8601 'basic format'. Got '2026-11-24T03:35:06Z'. See http://en.wikipedia.org/wiki/ISO_8601".into()
            )),
            "{}",
            capture.name
        );
    }
}

#[test]
fn sigv4_captures_with_any_body_byte_altered_are_bad_signatures() {
    for capture in of_kind(Kind::AwsSigV4) {
        let len = capture.request.body().len();
        for at in [0, len / 2, len - 1] {
            let request = with_body_byte_flipped(&capture.request, at);
            assert_eq!(
                aws::verify(&request, &capture.keys(), capture.now()),
                Err(AwsAuthError::BadSignature),
                "{} byte {at}",
                capture.name
            );
        }
    }
}

#[test]
fn sigv4_captures_with_a_signed_header_altered_are_bad_signatures_but_unsigned_headers_do_not_matter(
) {
    for capture in of_kind(Kind::AwsSigV4) {
        let target = format!("{}x", capture.header("x-amz-target"));
        for (name, value) in [
            ("content-type", "application/x-amz-json-1.1"),
            ("host", "127.0.0.1:40736"),
            ("x-amz-target", target.as_str()),
            ("x-amz-date", "20261124T033507Z"),
        ] {
            assert_ne!(capture.header(name), value, "{}", capture.name);
            let mut request = capture.request.clone();
            set_header(&mut request, name, value);
            assert_eq!(
                aws::verify(&request, &capture.keys(), capture.now()),
                Err(AwsAuthError::BadSignature),
                "{} {name}",
                capture.name
            );
        }
        let mut request = capture.request.clone();
        set_header(&mut request, "user-agent", "something/else");
        request.headers_mut().remove("amz-sdk-request");
        assert_eq!(
            aws::verify(&request, &capture.keys(), capture.now()),
            Ok(()),
            "{}",
            capture.name
        );
    }
}

#[test]
fn sigv4_captures_with_a_tampered_scope_or_signature_are_bad_signatures() {
    for capture in of_kind(Kind::AwsSigV4) {
        let original = capture.header("authorization").to_owned();
        let signature = between(&original, "Signature=", "\n").to_owned();
        let mut flipped = signature.clone().into_bytes();
        flipped[63] = if flipped[63] == b'0' { b'1' } else { b'0' };
        for header in [
            original.replace("/states/", "/lambda/"),
            original.replace("/us-east-1/", "/us-west-2/"),
            original.replace("/20261124/", "/20261123/"),
            original.replace("/aws4_request", "/aws5_request"),
            original.replace("host;", ""),
            original.replace(&signature, &signature.to_uppercase()),
            original.replace(&signature, &signature[..63]),
            original.replace(&signature, std::str::from_utf8(&flipped).unwrap()),
        ] {
            let mut request = capture.request.clone();
            set_header(&mut request, "authorization", &header);
            assert_eq!(
                aws::verify(&request, &capture.keys(), capture.now()),
                Err(AwsAuthError::BadSignature),
                "{}: {header}",
                capture.name
            );
        }
    }
}

#[test]
fn sigv4_sign_then_verify_round_trips_and_binds_region_method_path_and_query() {
    let signed_at = UNIX_EPOCH + Duration::from_secs(1_795_491_306);
    for (region, method, uri) in [
        ("us-east-1", "POST", "/"),
        ("ap-southeast-2", "POST", "/a/b?z=1&a=%20x"),
        ("eu-west-1", "GET", "/?x"),
    ] {
        let mut request = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("Host", "states.example.com")
            .header("Content-Type", "application/x-amz-json-1.0")
            .header("X-Amz-Target", "AWSStepFunctions.SendTaskSuccess")
            .body(Bytes::from("{\"output\":\"\u{20ac}\"}"))
            .unwrap();
        aws::sign(
            &mut request,
            "AKIDROUNDTRIP",
            "round/trip+secret",
            region,
            aws::SERVICE,
            signed_at,
        )
        .unwrap();
        let keys = Keys::new([KeyPair::new("AKIDROUNDTRIP", "round/trip+secret")]);
        assert_eq!(
            aws::verify(&request, &keys, signed_at + Duration::from_secs(1)),
            Ok(()),
            "{region} {method} {uri}"
        );

        let mut moved = request.clone();
        *moved.uri_mut() =
            format!("{uri}{}", if uri.contains('?') { "&extra=1" } else { "?extra=1" })
                .parse()
                .unwrap();
        assert_eq!(aws::verify(&moved, &keys, signed_at), Err(AwsAuthError::BadSignature), "{uri}");
        let mut other_method = request.clone();
        *other_method.method_mut() = http::Method::PUT;
        assert_eq!(
            aws::verify(&other_method, &keys, signed_at),
            Err(AwsAuthError::BadSignature),
            "{uri}"
        );
    }
}

#[test]
fn sigv4_resigning_a_capture_with_its_own_credentials_verifies() {
    for capture in of_kind(Kind::AwsSigV4) {
        let mut request = capture.request.clone();
        aws::sign(
            &mut request,
            &capture.access_key_id,
            &capture.secret,
            "us-east-1",
            aws::SERVICE,
            capture.signed_at,
        )
        .unwrap();
        assert_eq!(request.headers()["x-amz-date"], capture.header("x-amz-date"));
        assert_eq!(
            aws::verify(&request, &capture.keys(), capture.now()),
            Ok(()),
            "{}",
            capture.name
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Alibaba RPC v1.

#[test]
fn rpc_sign_reproduces_each_captured_signature() {
    for capture in of_kind(Kind::AlibabaRpc) {
        let params = capture.rpc_params();
        let sent = &params.iter().find(|(k, _)| k == "Signature").unwrap().1;
        assert_eq!(&alibaba::sign_rpc("POST", &params, &capture.secret), sent, "{}", capture.name);
    }
}

#[test]
fn rpc_over_query_parameters_only_fails_because_the_form_body_is_signed() {
    for capture in of_kind(Kind::AlibabaRpc) {
        assert!(!capture.request.body().is_empty());
        assert_eq!(
            capture.verify_rpc(&capture.query_params(), &capture.keys(), capture.now()),
            Err(AlibabaAuthError::SignatureNotMatch),
            "{}",
            capture.name
        );
    }
}

#[test]
fn rpc_captures_16_minutes_either_side_are_too_skewed_with_both_times_shown() {
    for capture in of_kind(Kind::AlibabaRpc) {
        let params = capture.rpc_params();
        for (now, shown) in [
            (capture.signed_at + 16 * MINUTE, "2026-11-24T03:51:07Z"),
            (capture.signed_at - 16 * MINUTE, "2026-11-24T03:19:07Z"),
        ] {
            assert_eq!(
                capture.verify_rpc(&params, &capture.keys(), now),
                Err(AlibabaAuthError::RequestTimeTooSkewed {
                    request_time: "2026-11-24T03:35:07Z".into(),
                    now: shown.into()
                }),
                "{}",
                capture.name
            );
        }
    }
}

#[test]
fn rpc_captures_missing_a_signing_parameter_name_it() {
    for capture in of_kind(Kind::AlibabaRpc) {
        for name in ["Signature", "AccessKeyId", "Timestamp", "SignatureNonce"] {
            let params: Vec<_> =
                capture.rpc_params().into_iter().filter(|(k, _)| k != name).collect();
            assert_eq!(
                capture.verify_rpc(&params, &capture.keys(), capture.now()),
                Err(AlibabaAuthError::Missing(name)),
                "{}",
                capture.name
            );
        }
    }
}

#[test]
fn rpc_captures_with_another_signature_method_or_version_are_unsupported() {
    for capture in of_kind(Kind::AlibabaRpc) {
        for (name, value) in [("SignatureMethod", "HMAC-SHA256"), ("SignatureVersion", "2.0")] {
            let params: Vec<_> = capture
                .rpc_params()
                .into_iter()
                .map(|(k, v)| if k == name { (k, value.to_owned()) } else { (k, v) })
                .collect();
            assert_eq!(
                capture.verify_rpc(&params, &capture.keys(), capture.now()),
                Err(AlibabaAuthError::UnsupportedSignatureMethod(value.into())),
                "{}",
                capture.name
            );
        }
    }
}

#[test]
fn rpc_captures_with_any_body_byte_or_parameter_altered_do_not_match() {
    for capture in of_kind(Kind::AlibabaRpc) {
        let body = std::str::from_utf8(capture.request.body()).unwrap();
        // Flip the case of each letter of the body (staying valid form encoding), one at a
        // time; hex digits of `%XX` escapes are skipped, as their case does not change the
        // decoded parameter.
        let in_escape = |at: usize| body.as_bytes()[at.saturating_sub(2)..at].contains(&b'%');
        for (at, byte) in
            body.bytes().enumerate().filter(|&(at, b)| b.is_ascii_alphabetic() && !in_escape(at))
        {
            let mut changed = body.as_bytes().to_vec();
            changed[at] = byte ^ 0x20;
            let mut request = capture.request.clone();
            *request.body_mut() = Bytes::from(changed);
            let altered =
                Capture { request, name: capture.name.clone(), ..parse_capture_again(&capture) };
            assert_eq!(
                altered.verify_rpc(&altered.rpc_params(), &capture.keys(), capture.now()),
                Err(AlibabaAuthError::SignatureNotMatch),
                "{} body byte {at}",
                capture.name
            );
        }
        for name in ["Action", "TaskToken", "Version", "Format", "SignatureNonce"] {
            let params: Vec<_> = capture
                .rpc_params()
                .into_iter()
                .map(|(k, v)| {
                    if k == name {
                        let v = format!("{v}x");
                        (k, v)
                    } else {
                        (k, v)
                    }
                })
                .collect();
            assert_eq!(
                capture.verify_rpc(&params, &capture.keys(), capture.now()),
                Err(AlibabaAuthError::SignatureNotMatch),
                "{} {name}",
                capture.name
            );
        }
        let mut params = capture.rpc_params();
        params.push(("RegionId".into(), "cn-hangzhou".into()));
        assert_eq!(
            capture.verify_rpc(&params, &capture.keys(), capture.now()),
            Err(AlibabaAuthError::SignatureNotMatch),
            "{} added",
            capture.name
        );
        assert_eq!(
            alibaba::verify_rpc("GET", &capture.rpc_params(), &capture.keys(), capture.now()),
            Err(AlibabaAuthError::SignatureNotMatch),
            "{} method",
            capture.name
        );
    }
}

/// A copy of `capture` (re-read from disk: `http::Request` clones but `Capture` does not).
fn parse_capture_again(capture: &Capture) -> Capture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("fixtures/captures/{}.txt", capture.name));
    parse_capture(&path)
}

#[test]
fn rpc_sign_then_verify_round_trips() {
    let now = UNIX_EPOCH + Duration::from_secs(1_795_491_307);
    let mut params: Vec<(String, String)> = [
        ("Action", "ReportTaskSucceeded"),
        ("Version", "2019-03-15"),
        ("AccessKeyId", "LTAIround"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", "n"),
        ("Timestamp", "2026-11-24T03:35:07Z"),
        ("SignatureType", ""),
        ("TaskToken", "a+b/c=d&e f*~"),
        ("Output", "{\"k\":\"\u{1F600}\"}"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec();
    let signature = alibaba::sign_rpc("POST", &params, "s3cr&t");
    params.push(("Signature".into(), signature));
    let keys = Keys::new([KeyPair::new("LTAIround", "s3cr&t")]);
    assert_eq!(alibaba::verify_rpc("POST", &params, &keys, now), Ok(()));
    params.reverse();
    assert_eq!(
        alibaba::verify_rpc("POST", &params, &keys, now),
        Ok(()),
        "order of arrival does not matter"
    );
}

// ---------------------------------------------------------------------------------------------
// Alibaba ACS3.

#[test]
fn only_the_acs3_capture_is_recognised_as_acs3() {
    for capture in captures() {
        assert_eq!(
            alibaba::is_acs3(&capture.request),
            capture.kind == Kind::AlibabaAcs3,
            "{}",
            capture.name
        );
    }
}

#[test]
fn acs3_capture_16_minutes_late_is_too_skewed() {
    for capture in of_kind(Kind::AlibabaAcs3) {
        assert_eq!(
            alibaba::verify_acs3(
                &capture.request,
                &capture.keys(),
                capture.signed_at + 16 * MINUTE
            ),
            Err(AlibabaAuthError::RequestTimeTooSkewed {
                request_time: "2026-11-24T03:35:07Z".into(),
                now: "2026-11-24T03:51:07Z".into()
            })
        );
    }
}

#[test]
fn acs3_capture_without_authorization_or_with_mangled_authorization_is_refused() {
    for capture in of_kind(Kind::AlibabaAcs3) {
        let original = capture.header("authorization").to_owned();
        let signature = between(&original, "Signature=", "\n").to_owned();
        let mut request = capture.request.clone();
        request.headers_mut().remove(AUTHORIZATION);
        assert_eq!(
            alibaba::verify_acs3(&request, &capture.keys(), capture.now()),
            Err(AlibabaAuthError::Missing("Authorization"))
        );
        for (header, expected) in [
            (
                original.replace(&format!(",Signature={signature}"), ""),
                AlibabaAuthError::Missing("Signature"),
            ),
            (
                original.replace("Credential=LTAIexample000000000,", ""),
                AlibabaAuthError::Missing("Credential"),
            ),
            (
                original.replace("SignedHeaders=", "Signed="),
                AlibabaAuthError::Missing("SignedHeaders"),
            ),
            (
                original.replace("ACS3-HMAC-SHA256", "ACS3-HMAC-SM3"),
                AlibabaAuthError::UnsupportedSignatureMethod("ACS3-HMAC-SM3".into()),
            ),
            (original.replace(&signature, "zz"), AlibabaAuthError::SignatureNotMatch),
            (original.replace(&signature, &signature[..62]), AlibabaAuthError::SignatureNotMatch),
            (original.replace(";x-acs-date", ""), AlibabaAuthError::SignatureNotMatch),
        ] {
            let mut request = capture.request.clone();
            set_header(&mut request, "authorization", &header);
            assert_eq!(
                alibaba::verify_acs3(&request, &capture.keys(), capture.now()),
                Err(expected),
                "{header}"
            );
        }
        for name in ["x-acs-date", "x-acs-signature-nonce"] {
            let mut request = capture.request.clone();
            request.headers_mut().remove(name);
            assert_eq!(
                alibaba::verify_acs3(&request, &capture.keys(), capture.now()),
                Err(AlibabaAuthError::Missing(name))
            );
        }
    }
}

#[test]
fn acs3_capture_with_body_query_or_a_signed_header_altered_does_not_match() {
    for capture in of_kind(Kind::AlibabaAcs3) {
        let keys = capture.keys();
        let len = capture.request.body().len();
        for at in [0, len / 2, len - 1] {
            let request = with_body_byte_flipped(&capture.request, at);
            assert_eq!(
                alibaba::verify_acs3(&request, &keys, capture.now()),
                Err(AlibabaAuthError::SignatureNotMatch),
                "byte {at}"
            );
            // Even when the claimed body hash is updated to match: that header is signed.
            let mut request = request;
            let hash = sha256_hex(request.body());
            set_header(&mut request, "x-acs-content-sha256", &hash);
            assert_eq!(
                alibaba::verify_acs3(&request, &keys, capture.now()),
                Err(AlibabaAuthError::SignatureNotMatch),
                "byte {at} rehashed"
            );
        }
        for (name, value) in [
            ("x-acs-action", "ReportTaskFailed"),
            ("host", "127.0.0.1:39594"),
            ("accept", "application/xml"),
            ("x-acs-signature-nonce", "57e35fb8ce86a14b54f6956db85f3075"),
            ("x-acs-date", "2026-11-24T03:35:08Z"),
        ] {
            let mut request = capture.request.clone();
            set_header(&mut request, name, value);
            assert_eq!(
                alibaba::verify_acs3(&request, &keys, capture.now()),
                Err(AlibabaAuthError::SignatureNotMatch),
                "{name}"
            );
        }
        let mut request = capture.request.clone();
        *request.uri_mut() = "/?TaskToken=example-capture-token-0002".parse().unwrap();
        assert_eq!(
            alibaba::verify_acs3(&request, &keys, capture.now()),
            Err(AlibabaAuthError::SignatureNotMatch),
            "query"
        );
        // Unsigned headers do not matter.
        let mut request = capture.request.clone();
        set_header(&mut request, "accept-encoding", "gzip");
        assert_eq!(alibaba::verify_acs3(&request, &keys, capture.now()), Ok(()));
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

// ---------------------------------------------------------------------------------------------
// No input makes a verifier panic.

fn a_capture(kind: Kind) -> Capture {
    of_kind(kind).remove(0)
}

proptest! {
    #[test]
    fn sigv4_verify_never_panics_on_any_authorization_header(raw in proptest::collection::vec(any::<u8>(), 0..200), tail in "[ -~]{0,120}") {
        let capture = a_capture(Kind::AwsSigV4);
        for value in [raw.clone(), format!("AWS4-HMAC-SHA256 {tail}").into_bytes()] {
            if let Ok(value) = HeaderValue::from_bytes(&value) {
                let mut request = capture.request.clone();
                request.headers_mut().insert(AUTHORIZATION, value);
                let _ = aws::verify(&request, &capture.keys(), capture.now());
            }
        }
    }

    #[test]
    fn sigv4_verify_never_panics_on_any_signed_headers_date_or_path(
        signed in "[a-zA-Z0-9;:. _-]{0,60}",
        date in "[0-9TZ:+-]{0,20}",
        path in "/[a-zA-Z0-9/%._~-]{0,30}(\\?[a-zA-Z0-9=&%+._~-]{0,30})?",
    ) {
        let capture = a_capture(Kind::AwsSigV4);
        let header = capture.header("authorization");
        let header = format!(
            "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE000000000/20261124/us-east-1/states/aws4_request, SignedHeaders={signed}, Signature={}",
            between(header, "Signature=", "\n")
        );
        let mut request = capture.request.clone();
        if let (Ok(value), Ok(uri)) = (HeaderValue::from_str(&header), path.parse()) {
            request.headers_mut().insert(AUTHORIZATION, value);
            *request.uri_mut() = uri;
            let _ = aws::verify(&request, &capture.keys(), capture.now());
            set_header(&mut request, "x-amz-date", &date);
            let _ = aws::verify(&request, &capture.keys(), capture.now());
        }
    }

    #[test]
    fn rpc_verify_never_panics_on_any_parameters(
        params in proptest::collection::vec(("[A-Za-z]{0,16}", any::<String>()), 0..12),
        method in "[A-Z]{0,7}",
        now in any::<u64>(),
    ) {
        let params: Vec<(String, String)> = params;
        let keys = Keys::new([KeyPair::new("LTAIexample000000000", "s")]);
        let _ = alibaba::verify_rpc(&method, &params, &keys, UNIX_EPOCH + Duration::from_secs(now >> 1));
        let _ = alibaba::sign_rpc(&method, &params, "s");
    }

    #[test]
    fn rpc_verify_never_panics_on_any_value_of_a_signing_parameter(
        name in prop::sample::select(vec!["Signature", "AccessKeyId", "Timestamp", "SignatureNonce", "SignatureMethod", "SignatureVersion"]),
        value in any::<String>(),
    ) {
        let capture = a_capture(Kind::AlibabaRpc);
        let params: Vec<_> = capture
            .rpc_params()
            .into_iter()
            .map(|(k, v)| if k == name { (k, value.clone()) } else { (k, v) })
            .collect();
        let _ = capture.verify_rpc(&params, &capture.keys(), capture.now());
    }

    #[test]
    fn rpc_signature_covers_every_parameter(
        extra in proptest::collection::btree_map("[A-Za-z][A-Za-z0-9]{0,10}", any::<String>(), 1..6),
        victim in any::<prop::sample::Index>(),
    ) {
        let now = UNIX_EPOCH + Duration::from_secs(1_795_491_307);
        let reserved = ["Signature", "AccessKeyId", "Timestamp", "SignatureNonce", "SignatureMethod", "SignatureVersion"];
        let mut params: Vec<(String, String)> = extra.into_iter().filter(|(k, _)| !reserved.contains(&k.as_str())).collect();
        prop_assume!(!params.is_empty());
        let altered_at = victim.index(params.len());
        params.extend([("AccessKeyId", "id"), ("Timestamp", "2026-11-24T03:35:07Z"), ("SignatureNonce", "n")].map(|(k, v)| (k.to_owned(), v.to_owned())));
        let signature = alibaba::sign_rpc("POST", &params, "secret");
        params.push(("Signature".into(), signature));
        let keys = Keys::new([KeyPair::new("id", "secret")]);
        prop_assert_eq!(alibaba::verify_rpc("POST", &params, &keys, now), Ok(()));
        params[altered_at].1.push('x');
        prop_assert_eq!(alibaba::verify_rpc("POST", &params, &keys, now), Err(AlibabaAuthError::SignatureNotMatch));
    }

    #[test]
    fn acs3_verify_never_panics_on_any_authorization_header(raw in proptest::collection::vec(any::<u8>(), 0..200), tail in "[ -~]{0,160}") {
        let capture = a_capture(Kind::AlibabaAcs3);
        for value in [raw.clone(), format!("ACS3-HMAC-SHA256 {tail}").into_bytes()] {
            if let Ok(value) = HeaderValue::from_bytes(&value) {
                let mut request = capture.request.clone();
                request.headers_mut().insert(AUTHORIZATION, value);
                let _ = alibaba::is_acs3(&request);
                let _ = alibaba::verify_acs3(&request, &capture.keys(), capture.now());
            }
        }
    }

    #[test]
    fn sigv4_sign_then_verify_accepts_any_body_and_refuses_it_altered(body in proptest::collection::vec(any::<u8>(), 1..300), flip in any::<prop::sample::Index>()) {
        let at = UNIX_EPOCH + Duration::from_secs(1_795_491_306);
        let mut request = http::Request::post("/")
            .header("Host", "localhost:8083")
            .header("X-Amz-Target", "AWSStepFunctions.SendTaskHeartbeat")
            .body(Bytes::from(body))
            .unwrap();
        aws::sign(&mut request, "AKID", "secret", "us-east-1", aws::SERVICE, at).unwrap();
        let keys = Keys::new([KeyPair::new("AKID", "secret")]);
        prop_assert_eq!(aws::verify(&request, &keys, at), Ok(()));
        let altered = with_body_byte_flipped(&request, flip.index(request.body().len()));
        prop_assert_eq!(aws::verify(&altered, &keys, at), Err(AwsAuthError::BadSignature));
    }
}
