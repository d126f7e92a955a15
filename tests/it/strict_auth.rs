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
    let replayed = strict_for(&rpc, &rpc.secret);
    replayed.handle(clone(&rpc.request));
    snap("alibaba_auth_signature_nonce_used", replayed.handle(clone(&rpc.request)));
}

/// A strict mock with one key per provider, on a virtual clock.
fn strict_mock(config: MockConfig) -> Mock {
    let auth = StrictAuth {
        aws: Keys::new([KeyPair::new("AKIDTEST", "s3cr3t")]),
        alibaba: Keys::new([
            KeyPair::new("LTAITEST", "s3cr3t"),
            KeyPair::new("LTAIOTHER", "0th3r"),
        ]),
    };
    Mock::new(config.strict_auth(auth)).unwrap()
}

fn mock_now(mock: &Mock) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_millis(mock.clock().now_ms())
}

/// A ReportTaskSucceeded on `token`, RPC v1-signed by `key` at `at` with `nonce`.
fn rpc_report(
    token: &str,
    key: (&str, &str),
    nonce: &str,
    at: std::time::SystemTime,
) -> http::Request<Bytes> {
    let timestamp = time::OffsetDateTime::from(at)
        .format(time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
        .unwrap();
    let mut params: Vec<(String, String)> = [
        ("Action", "ReportTaskSucceeded"),
        ("Version", "2019-03-15"),
        ("Format", "JSON"),
        ("AccessKeyId", key.0),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", nonce),
        ("Timestamp", timestamp.as_str()),
        ("TaskToken", token),
        ("Output", "{}"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let signature = tasktoken::auth::alibaba::sign_rpc("POST", &params, key.1);
    params.push(("Signature".into(), signature));
    let body = tasktoken::wire::alibaba::encode_params(
        params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    http::Request::post("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(body))
        .unwrap()
}

/// The code and message of an Alibaba answer, with its status.
fn ali_answer(response: &http::Response<Bytes>) -> (u16, String, String) {
    let v: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    (response.status().as_u16(), text("Code"), text("Message"))
}

fn nonce_used() -> (u16, String, String) {
    (400, "SignatureNonceUsed".into(), "Specified signature nonce was used already.".into())
}

#[test]
fn every_alibaba_capture_replayed_within_the_window_is_signature_nonce_used() {
    for capture in captures().iter().filter(|c| c.kind != Kind::AwsSigV4) {
        let mock = strict_for(capture, &capture.secret);
        // The first passes authentication (then meets a token this mock never issued).
        assert_eq!(any_code(&mock.handle(clone(&capture.request))), "InvalidArgument");
        // The very same bytes again, a minute later: a replay.
        mock.advance_clock(Duration::from_secs(60)).unwrap();
        assert_eq!(
            ali_answer(&mock.handle(clone(&capture.request))),
            nonce_used(),
            "{}",
            capture.name
        );
    }
}

#[test]
fn a_replayed_report_is_refused_and_the_task_is_reported_once() {
    let mock = strict_mock(MockConfig::default());
    let t = ali_task(&mock);
    let report = rpc_report(&t.task_token, ("LTAITEST", "s3cr3t"), "n-1", mock_now(&mock));
    assert_eq!(ali_code(&mock.handle(clone(&report))), "200");
    assert_eq!(ali_answer(&mock.handle(clone(&report))), nonce_used());
    // The same nonce on a different request of the same key is a replay too.
    let other = ali_task(&mock);
    let reused = rpc_report(&other.task_token, ("LTAITEST", "s3cr3t"), "n-1", mock_now(&mock));
    assert_eq!(ali_answer(&mock.handle(reused)), nonce_used());
    assert_eq!(mock.task(other.task_id).unwrap().status, tasktoken::Status::Pending);
    // Another AccessKey may use the same nonce.
    let theirs = rpc_report(&other.task_token, ("LTAIOTHER", "0th3r"), "n-1", mock_now(&mock));
    assert_eq!(ali_code(&mock.handle(theirs)), "200");
}

#[test]
fn a_nonce_is_forgotten_once_its_request_could_no_longer_verify() {
    let mock = strict_mock(MockConfig::default());
    let signed_at = mock_now(&mock);
    let first = ali_task(&mock);
    let report = rpc_report(&first.task_token, ("LTAITEST", "s3cr3t"), "n-2", signed_at);
    assert_eq!(ali_code(&mock.handle(clone(&report))), "200");
    // 15 minutes on, the first request would still verify: its nonce is still held.
    mock.advance_clock(Duration::from_secs(15 * 60)).unwrap();
    let t = ali_task(&mock);
    let again = rpc_report(&t.task_token, ("LTAITEST", "s3cr3t"), "n-2", mock_now(&mock));
    assert_eq!(ali_answer(&mock.handle(again)), nonce_used());
    // A second later it would not (too skewed): the nonce is free, the old request is stale.
    mock.advance_clock(Duration::from_secs(1)).unwrap();
    assert_eq!(ali_code(&mock.handle(clone(&report))), "RequestTimeTooSkewed");
    let fresh = rpc_report(&t.task_token, ("LTAITEST", "s3cr3t"), "n-2", mock_now(&mock));
    assert_eq!(ali_code(&mock.handle(fresh)), "200");
}

#[test]
fn a_request_that_does_not_verify_does_not_use_up_its_nonce() {
    let mock = strict_mock(MockConfig::default());
    let t = ali_task(&mock);
    let forged = rpc_report(&t.task_token, ("LTAITEST", "wrong"), "n-3", mock_now(&mock));
    assert_eq!(ali_code(&mock.handle(forged)), "SignatureNotMatch");
    let real = rpc_report(&t.task_token, ("LTAITEST", "s3cr3t"), "n-3", mock_now(&mock));
    assert_eq!(ali_code(&mock.handle(real)), "200");
}

/// A SigV4-signed SendTaskHeartbeat on `token`.
fn sigv4_heartbeat(
    token: &str,
    region: &str,
    service: &str,
    at: std::time::SystemTime,
) -> http::Request<Bytes> {
    let mut req = aws(HEARTBEAT, json(serde_json::json!({"taskToken": token})));
    req.headers_mut().insert("host", format!("states.{region}.amazonaws.com").parse().unwrap());
    tasktoken::auth::aws::sign(&mut req, "AKIDTEST", "s3cr3t", region, service, at).unwrap();
    req
}

/// The `__type` tail and message of an AWS answer.
fn aws_answer(response: &http::Response<Bytes>) -> (String, String) {
    (code(response), message(response).unwrap_or_default())
}

#[test]
fn sigv4_signed_for_another_service_is_refused() {
    let mock = strict_mock(MockConfig::default());
    let t = task(&mock);
    for service in ["lambda", "sqs", "execute-api"] {
        let req = sigv4_heartbeat(&t.task_token, "us-east-1", service, mock_now(&mock));
        assert_eq!(code(&mock.handle(req)), "InvalidSignatureException", "{service}");
    }
    let right = sigv4_heartbeat(&t.task_token, "us-east-1", "states", mock_now(&mock));
    assert_eq!(code(&mock.handle(right)), "200");
}

#[test]
fn sigv4_signed_for_another_region_is_refused_when_the_mock_has_a_region() {
    let mock = strict_mock(MockConfig::default().aws_region("eu-west-1"));
    let t = task(&mock);
    let wrong = sigv4_heartbeat(&t.task_token, "us-east-1", "states", mock_now(&mock));
    assert_eq!(
        aws_answer(&mock.handle(wrong)),
        (
            "InvalidSignatureException".to_owned(),
            "Credential should be scoped to a valid region. ".to_owned()
        )
    );
    let right = sigv4_heartbeat(&t.task_token, "eu-west-1", "states", mock_now(&mock));
    assert_eq!(code(&mock.handle(right)), "200");
    // Without a region the mock stands for every one.
    let anywhere = strict_mock(MockConfig::default());
    let t = task(&anywhere);
    let req = sigv4_heartbeat(&t.task_token, "ap-southeast-2", "states", mock_now(&anywhere));
    assert_eq!(code(&anywhere.handle(req)), "200");
}

#[test]
fn sigv4_signed_outside_the_window_is_refused_either_way() {
    let mock = strict_mock(MockConfig::default());
    let t = task(&mock);
    let now = mock_now(&mock);
    for (at, starts) in [
        (now - Duration::from_secs(16 * 60), "Signature expired: "),
        (now + Duration::from_secs(16 * 60), "Signature not yet current: "),
    ] {
        let (code, message) =
            aws_answer(&mock.handle(sigv4_heartbeat(&t.task_token, "us-east-1", "states", at)));
        assert_eq!(code, "InvalidSignatureException");
        assert!(message.starts_with(starts), "{message}");
    }
    for at in [now - Duration::from_secs(14 * 60), now + Duration::from_secs(14 * 60)] {
        let req = sigv4_heartbeat(&t.task_token, "us-east-1", "states", at);
        assert_eq!(code(&mock.handle(req)), "200");
    }
}

#[test]
fn sigv4_has_no_nonce_a_replay_within_the_window_is_accepted_as_on_aws() {
    // What SigV4 does not protect against (docs/strict-auth.md): the same signed request,
    // sent again within the window, verifies again.
    let mock = strict_mock(MockConfig::default());
    let t = task(&mock);
    let req = sigv4_heartbeat(&t.task_token, "us-east-1", "states", mock_now(&mock));
    assert_eq!(code(&mock.handle(clone(&req))), "200");
    mock.advance_clock(Duration::from_secs(60)).unwrap();
    assert_eq!(code(&mock.handle(clone(&req))), "200");
}

// ---- Lambda durable callbacks: SigV4 with signing name `lambda` ------------------------------

/// A Lambda call on `id` as botocore sends it, to a `lambda` host.
fn lambda_call(
    operation: &tasktoken::contract::Operation,
    id: &str,
    body: &str,
) -> http::Request<Bytes> {
    let mut req = common::lambda::call(operation, id, body.to_owned());
    req.headers_mut().insert("host", "lambda.us-east-1.amazonaws.com".parse().unwrap());
    req
}

fn lambda_signed(mock: &Mock, req: &mut http::Request<Bytes>, service: &str) {
    let now = mock_now(mock);
    tasktoken::auth::aws::sign(req, "AKIDTEST", "s3cr3t", "us-east-1", service, now).unwrap();
}

#[test]
fn a_lambda_call_signed_for_lambda_verifies_over_the_double_encoded_path() {
    use common::lambda::{code, FAIL, HEARTBEAT, SUCCEED};
    let mock = strict_mock(MockConfig::default());
    let t = mock.create_task(tasktoken::TaskSpec::new(tasktoken::Provider::Lambda)).unwrap();
    let id = t.task_token.as_str();
    assert!(id.contains('+') && id.contains('/') && id.ends_with("=="), "{id}");
    let mut heartbeat = lambda_call(HEARTBEAT, id, "");
    assert!(heartbeat.uri().path().contains("%2B") && heartbeat.uri().path().contains("%3D"));
    lambda_signed(&mock, &mut heartbeat, "lambda");
    assert_eq!(code(&mock.handle(heartbeat)), "200");
    let mut success = lambda_call(SUCCEED, id, "\u{1F600} result");
    lambda_signed(&mock, &mut success, "lambda");
    assert_eq!(code(&mock.handle(success)), "200");
    assert_eq!(mock.task(t.task_id).unwrap().status, tasktoken::Status::Succeeded);

    // The canonical path is the path as received: the same id with a raw `+` (which the mock
    // reads as the same callback) no longer matches the signature over `%2B`.
    let t = mock.create_task(tasktoken::TaskSpec::new(tasktoken::Provider::Lambda)).unwrap();
    let mut req = lambda_call(FAIL, &t.task_token, "{}");
    lambda_signed(&mock, &mut req, "lambda");
    let plus = req.uri().path().replace("%2B", "+");
    *req.uri_mut() = plus.parse().unwrap();
    assert_eq!(code(&mock.handle(req)), "InvalidSignatureException");
    assert_eq!(mock.task(t.task_id).unwrap().status, tasktoken::Status::Pending);
}

#[test]
fn lambda_auth_errors() {
    use common::lambda::{code, HEARTBEAT};
    let snap = |name: &str, response: http::Response<Bytes>| {
        snapshot_settings().bind(|| insta::assert_snapshot!(name, render(&response)));
    };
    let mock = strict_mock(MockConfig::default());
    let t = mock.create_task(tasktoken::TaskSpec::new(tasktoken::Provider::Lambda)).unwrap();
    let mut states = lambda_call(HEARTBEAT, &t.task_token, "");
    lambda_signed(&mock, &mut states, "states");
    let r = mock.handle(states);
    assert_eq!((r.status().as_u16(), code(&r)), (403, "InvalidSignatureException".into()));
    snap("lambda_auth_signed_for_states", r);
    let r = mock.handle(lambda_call(HEARTBEAT, &t.task_token, ""));
    assert_eq!(
        (r.status().as_u16(), code(&r)),
        (403, "MissingAuthenticationTokenException".into())
    );
    snap("lambda_auth_missing", r);
    let mut wrong_secret = lambda_call(HEARTBEAT, &t.task_token, "");
    let now = mock_now(&mock);
    tasktoken::auth::aws::sign(&mut wrong_secret, "AKIDTEST", "wrong", "us-east-1", "lambda", now)
        .unwrap();
    assert_eq!(code(&mock.handle(wrong_secret)), "InvalidSignatureException");
    let mut unknown_key = lambda_call(HEARTBEAT, &t.task_token, "");
    tasktoken::auth::aws::sign(&mut unknown_key, "AKIDOTHER", "s3cr3t", "us-east-1", "lambda", now)
        .unwrap();
    assert_eq!(code(&mock.handle(unknown_key)), "UnrecognizedClientException");
    // Authentication comes before the id's length and pattern (the contract's order).
    let r = mock.handle(lambda_call(HEARTBEAT, "abc===", ""));
    assert_eq!(code(&r), "MissingAuthenticationTokenException");
    let r = mock.handle(lambda_call(HEARTBEAT, &"A".repeat(1025), ""));
    assert_eq!(code(&r), "MissingAuthenticationTokenException");
    assert_eq!(mock.task(t.task_id).unwrap().heartbeats, 0);
}
