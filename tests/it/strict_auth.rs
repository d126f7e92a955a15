//! Strict mode: the mock verifies signatures with configured keys on its own clock; every SDK capture passes with its credentials and fails with another secret, and each auth error's bytes are pinned.

use crate::common;

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use common::captures::{captures, Capture, Kind};
use common::*;
use tasktoken::auth::{KeyPair, Keys};
use tasktoken::{Clock, Mock, MockConfig, StrictAuth};

/// A strict mock whose clock reads a few seconds after `capture` was signed.
fn strict_for(capture: &Capture, secret: &str) -> Mock {
    let keys = Keys::new([KeyPair::new(&capture.access_key_id, secret)]);
    let at = capture.now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let auth = StrictAuth { aws: keys.clone(), alibaba: keys };
    Mock::new(MockConfig::default().clock(Clock::virtual_at(at)).strict_auth(auth)).unwrap()
}

fn clone(req: &http::Request<Bytes>) -> http::Request<Bytes> {
    let mut b = http::Request::builder().method(req.method().clone()).uri(req.uri().clone());
    *b.headers_mut().unwrap() = req.headers().clone();
    b.body(req.body().clone()).unwrap()
}

/// The error code of an answer of either provider.
fn any_code(response: &http::Response<Bytes>) -> String {
    let v: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    match v.get("Code").and_then(|c| c.as_str()) {
        Some(code) => code.to_owned(),
        None => code(response),
    }
}

#[test]
fn every_capture_passes_authentication_with_its_credentials() {
    let all = captures();
    assert_eq!(all.len(), 7);
    for capture in &all {
        let mock = strict_for(capture, &capture.secret);
        let answer = any_code(&mock.handle(clone(&capture.request)));
        // Past authentication, the capture's token is one this mock never issued.
        let expected =
            if capture.kind == Kind::AwsSigV4 { "InvalidToken" } else { "InvalidArgument" };
        assert_eq!(answer, expected, "{}", capture.name);
    }
}

#[test]
fn every_capture_fails_authentication_with_another_secret() {
    for capture in &captures() {
        let mock = strict_for(capture, "not-the-secret");
        let answer = any_code(&mock.handle(clone(&capture.request)));
        let expected = if capture.kind == Kind::AwsSigV4 {
            "InvalidSignatureException"
        } else {
            "SignatureNotMatch"
        };
        assert_eq!(answer, expected, "{}", capture.name);
    }
}

#[test]
fn signatures_are_judged_by_the_mock_clock() {
    for capture in &captures() {
        let mock = strict_for(capture, &capture.secret);
        mock.advance_clock(Duration::from_secs(16 * 60)).unwrap();
        let answer = any_code(&mock.handle(clone(&capture.request)));
        let expected = if capture.kind == Kind::AwsSigV4 {
            "InvalidSignatureException"
        } else {
            "RequestTimeTooSkewed"
        };
        assert_eq!(answer, expected, "{}", capture.name);
    }
}

#[test]
fn a_signed_call_on_a_minted_token_succeeds_in_strict_mode() {
    let auth = StrictAuth {
        aws: Keys::new([KeyPair::new("AKIDTEST", "s3cr3t")]),
        alibaba: Keys::new([KeyPair::new("LTAITEST", "s3cr3t")]),
    };
    let mock = Mock::new(MockConfig::default().strict_auth(auth)).unwrap();
    let now = UNIX_EPOCH + Duration::from_millis(mock.clock().now_ms());
    let t = task(&mock);
    let mut req = aws(HEARTBEAT, json(serde_json::json!({"taskToken": t.task_token})));
    tasktoken::auth::aws::sign(&mut req, "AKIDTEST", "s3cr3t", "us-east-1", "states", now).unwrap();
    assert_eq!(code(&mock.handle(req)), "200");

    let t = ali_task(&mock);
    let timestamp = time::OffsetDateTime::from(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let timestamp = format!("{}Z", &timestamp[..19]);
    let mut params: Vec<(String, String)> = [
        ("Action", "ReportTaskSucceeded"),
        ("Version", "2019-03-15"),
        ("Format", "JSON"),
        ("AccessKeyId", "LTAITEST"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", "n-1"),
        ("Timestamp", timestamp.as_str()),
        ("TaskToken", t.task_token.as_str()),
        ("Output", "{}"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let signature = tasktoken::auth::alibaba::sign_rpc("POST", &params, "s3cr3t");
    params.push(("Signature".into(), signature));
    let body = tasktoken::wire::alibaba::encode_params(
        params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let req = http::Request::post("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(body))
        .unwrap();
    assert_eq!(ali_code(&mock.handle(req)), "200");
}

#[test]
fn auth_error_responses() {
    let snap = |name: &str, response: http::Response<Bytes>| {
        snapshot_settings().bind(|| insta::assert_snapshot!(name, render(&response)));
    };
    let by_kind = |kind: Kind| captures().into_iter().find(|c| c.kind == kind).unwrap();
    let aws_capture = by_kind(Kind::AwsSigV4);
    let mock = strict_for(&aws_capture, &aws_capture.secret);
    let mut unsigned = clone(&aws_capture.request);
    unsigned.headers_mut().remove("authorization");
    snap("aws_auth_missing", mock.handle(unsigned));
    let mut mangled = clone(&aws_capture.request);
    mangled
        .headers_mut()
        .insert("authorization", "AWS4-HMAC-SHA256 Credential=AKID".parse().unwrap());
    snap("aws_auth_incomplete", mock.handle(mangled));
    snap(
        "aws_auth_unknown_key",
        strict_for(&Capture { access_key_id: "OTHER".into(), ..by_kind(Kind::AwsSigV4) }, "x")
            .handle(clone(&aws_capture.request)),
    );
    snap(
        "aws_auth_bad_signature",
        strict_for(&aws_capture, "wrong").handle(clone(&aws_capture.request)),
    );
    let late = strict_for(&aws_capture, &aws_capture.secret);
    late.advance_clock(Duration::from_secs(20 * 60)).unwrap();
    snap("aws_auth_expired", late.handle(clone(&aws_capture.request)));

    let rpc = by_kind(Kind::AlibabaRpc);
    snap("alibaba_auth_signature_not_match", strict_for(&rpc, "wrong").handle(clone(&rpc.request)));
    snap(
        "alibaba_auth_invalid_access_key_id",
        strict_for(&Capture { access_key_id: "OTHER".into(), ..by_kind(Kind::AlibabaRpc) }, "x")
            .handle(clone(&rpc.request)),
    );
    let late = strict_for(&rpc, &rpc.secret);
    late.advance_clock(Duration::from_secs(20 * 60)).unwrap();
    snap("alibaba_auth_request_time_too_skewed", late.handle(clone(&rpc.request)));
}
