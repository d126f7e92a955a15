//! Pins the exact bytes (status, headers, body) of every answer the Lambda durable callback mock can give, and of its control-API views.
//!
//! Each snapshot is the status, every header (the request id checked to be a lowercase UUID
//! v4, then redacted) and the body. Minted callback ids are random, so they are redacted as
//! `[callback id]` where an answer shows one. The 2 MB body goes through the HTTP server,
//! the only path that answers from the head.

use crate::common;

use std::time::Duration;

use bytes::Bytes;
use common::lambda::*;
use common::{render, snapshot_settings};
use serde_json::json;
use tasktoken::contract::lambda::{
    LambdaOptions, ResultLimit, UnknownId, ValidationCode, MAX_REQUEST_BYTES, PATH_PREFIX,
};
use tasktoken::{Mock, MockServer, Provider, TaskSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn snap(name: &str, response: http::Response<Bytes>) {
    snap_text(name, render(&response));
}

fn snap_text(name: &str, text: String) {
    snapshot_settings().bind(|| insta::assert_snapshot!(name, text));
}

fn mock() -> Mock {
    mock_with(LambdaOptions::default())
}

#[test]
fn success_on_each_operation_is_200_with_an_empty_body() {
    let m = mock();
    let t = callback(&m);
    snap("lambda_success_heartbeat", m.handle(call(HEARTBEAT, &t.task_token, "")));
    snap("lambda_success_succeed", m.handle(call(SUCCEED, &t.task_token, r#"{"a":1}"#)));
    let t = callback(&m);
    let error =
        json!({"ErrorMessage": "m", "ErrorType": "T", "ErrorData": "d", "StackTrace": ["a"]});
    snap("lambda_success_fail", m.handle(call(FAIL, &t.task_token, error.to_string())));
}

#[test]
fn closed_callbacks_answer_callback_timeout_exception() {
    let m = mock();
    let t = callback(&m);
    assert_eq!(code(&m.handle(call(SUCCEED, &t.task_token, "1"))), "200");
    snap("lambda_callback_timeout_second_success", m.handle(call(SUCCEED, &t.task_token, "2")));
    snap(
        "lambda_callback_timeout_failure_after_success",
        m.handle(call(FAIL, &t.task_token, "{}")),
    );
    snap(
        "lambda_callback_timeout_heartbeat_after_close",
        m.handle(call(HEARTBEAT, &t.task_token, "")),
    );
    // The first Result stays.
    let view = m.task(t.task_id).unwrap();
    assert_eq!(view.output.as_deref(), Some("MQ=="));

    let t = m.create_task(TaskSpec::new(Provider::Lambda).timeout_seconds(5)).unwrap();
    m.advance_clock(Duration::from_millis(4_999)).unwrap();
    assert_eq!(code(&m.handle(call(HEARTBEAT, &t.task_token, ""))), "200");
    m.advance_clock(Duration::from_millis(1)).unwrap();
    snap("lambda_callback_timeout_after_timeout", m.handle(call(SUCCEED, &t.task_token, "")));

    let t = m.create_task(TaskSpec::new(Provider::Lambda).heartbeat_seconds(3)).unwrap();
    m.advance_clock(Duration::from_secs(3)).unwrap();
    snap(
        "lambda_callback_timeout_after_heartbeat_timeout",
        m.handle(call(HEARTBEAT, &t.task_token, "")),
    );
}

#[test]
fn unknown_and_deleted_callbacks_are_resource_not_found() {
    let m = mock();
    // Well-formed, 212 characters like a minted id, never issued.
    let unknown = format!("{}==", "A".repeat(210));
    snap("lambda_not_found_unknown_id", m.handle(call(SUCCEED, &unknown, "")));
    let t = callback(&m);
    let deleted = m.handle(
        http::Request::delete(format!("/_mock/tasks/{}", t.task_id)).body(Bytes::new()).unwrap(),
    );
    assert_eq!(deleted.status(), 204);
    snap("lambda_not_found_deleted", m.handle(call(HEARTBEAT, &t.task_token, "")));
}

#[test]
fn invalid_parameter_values() {
    let m = mock();
    let t = callback(&m);
    let id = t.task_token.as_str();
    snap("lambda_ipve_id_1025_characters", m.handle(call(HEARTBEAT, &"A".repeat(1025), "")));
    snap("lambda_ipve_id_pattern", m.handle(call(HEARTBEAT, "abc===", "")));
    for bad in ["a b", "a-b", "=", "a=b", "a%2Bb", "é", "a\u{0}b", "abc=="] {
        let expected = if bad == "abc==" {
            "ResourceNotFoundException"
        } else {
            "InvalidParameterValueException"
        };
        assert_eq!(code(&m.handle(call(HEARTBEAT, bad, ""))), expected, "{bad:?}");
    }
    snap("lambda_ipve_bad_percent_escape", m.handle(raw("POST", "ab%zz/heartbeat", "")));
    for bad in ["ab%", "ab%2", "%g0", "%%"] {
        let r = m.handle(raw("POST", &format!("{bad}/heartbeat"), ""));
        assert_eq!(code(&r), "InvalidParameterValueException", "{bad}");
    }
    snap("lambda_ipve_empty_id_segment", m.handle(raw("POST", "/succeed", "")));
    snap("lambda_ipve_result_over_1_mib", m.handle(call(SUCCEED, id, vec![b'x'; 1_048_577])));
    // 1 MiB exactly is a Result.
    assert_eq!(code(&m.handle(call(SUCCEED, id, vec![b'x'; 1_048_576]))), "200");

    let launch =
        mock_with(LambdaOptions { result_limit: ResultLimit::Launch, ..Default::default() });
    let t = callback(&launch);
    snap(
        "lambda_ipve_result_over_launch_limit",
        launch.handle(call(SUCCEED, &t.task_token, vec![b'x'; 262_145])),
    );
    assert_eq!(code(&launch.handle(call(SUCCEED, &t.task_token, vec![b'x'; 262_144]))), "200");

    let t = callback(&m);
    let id = t.task_token.as_str();
    snap("lambda_ipve_failure_not_an_object", m.handle(call(FAIL, id, "[]")));
    for bad in ["1", "\"x\"", "null", "{", "{}{}", "\u{ff}"] {
        assert_eq!(code(&m.handle(call(FAIL, id, bad))), "InvalidParameterValueException", "{bad}");
    }
    snap("lambda_ipve_failure_member_wrong_type", m.handle(call(FAIL, id, r#"{"ErrorType":1}"#)));
    for bad in [r#"{"StackTrace":"x"}"#, r#"{"StackTrace":[1]}"#, r#"{"ErrorData":{}}"#] {
        assert_eq!(code(&m.handle(call(FAIL, id, bad))), "InvalidParameterValueException", "{bad}");
    }
    // None of these touched the callback.
    let view = m.task(t.task_id).unwrap();
    assert_eq!((view.status, view.heartbeats), (tasktoken::Status::Pending, 0));
}

#[test]
fn routes_outside_the_contract_are_unknown_operations() {
    let m = mock();
    let t = callback(&m);
    assert!(t.task_token.contains('/'), "minted ids contain '/'");
    let r = m.handle(raw("POST", &format!("{}/succeed", t.task_token), ""));
    snap_text(
        "lambda_unknown_operation_raw_slash",
        render(&r).replace(&t.task_token, "[callback id]"),
    );
    snap("lambda_unknown_operation_get", m.handle(raw("GET", "abc/succeed", "")));
    snap("lambda_unknown_operation_unknown_action", m.handle(raw("POST", "abc/complete", "")));
    for (method, rest) in
        [("PUT", "abc/fail"), ("POST", "abc"), ("POST", ""), ("POST", "abc/succeed/")]
    {
        assert_eq!(
            code(&m.handle(raw(method, rest, ""))),
            "UnknownOperationException",
            "{method} {rest}"
        );
    }
    let bare = http::Request::post(PATH_PREFIX.trim_end_matches('/')).body(Bytes::new()).unwrap();
    assert_eq!(code(&m.handle(bare)), "UnknownOperationException");
    assert_eq!(m.task(t.task_id).unwrap().status, tasktoken::Status::Pending);
}

#[test]
fn the_validation_exception_variant() {
    let m = mock_with(LambdaOptions {
        validation: ValidationCode::ValidationException,
        ..Default::default()
    });
    snap("lambda_validation_exception_id_pattern", m.handle(call(HEARTBEAT, "abc===", "")));
    let t = callback(&m);
    snap(
        "lambda_validation_exception_result_too_large",
        m.handle(call(SUCCEED, &t.task_token, vec![b'x'; 1_048_577])),
    );
    assert_eq!(code(&m.handle(raw("POST", "%zz/fail", ""))), "ValidationException");
    assert_eq!(code(&m.handle(call(FAIL, &t.task_token, "[]"))), "ValidationException");
    // Not a validation error: still the model's codes.
    assert_eq!(code(&m.handle(call(HEARTBEAT, "AAAA", ""))), "ResourceNotFoundException");
}

#[test]
fn the_unknown_id_variants() {
    let unknown = "AAAA";
    let m =
        mock_with(LambdaOptions { unknown_id: UnknownId::CallbackTimeout, ..Default::default() });
    snap("lambda_unknown_id_callback_timeout", m.handle(call(SUCCEED, unknown, "")));
    let m = mock_with(LambdaOptions {
        unknown_id: UnknownId::InvalidParameterValue,
        ..Default::default()
    });
    snap("lambda_unknown_id_invalid_parameter_value", m.handle(call(SUCCEED, unknown, "")));
    // A deleted callback stays ResourceNotFoundException whatever the unknown-id choice.
    let t = callback(&m);
    assert!(m.delete_task(t.task_id));
    assert_eq!(code(&m.handle(call(HEARTBEAT, &t.task_token, ""))), "ResourceNotFoundException");
}

fn fault(m: &Mock, spec: serde_json::Value) {
    m.add_fault(serde_json::from_value(spec).unwrap()).unwrap();
}

#[test]
fn injected_faults() {
    for (operation, error) in [
        (HEARTBEAT, "TooManyRequestsException"),
        (HEARTBEAT, "ServiceException"),
        (SUCCEED, "KMSAccessDeniedException"),
        (FAIL, "KMSDisabledException"),
    ] {
        let m = mock();
        let t = callback(&m);
        fault(&m, json!({"provider": "lambda", "error": error, "count": 1}));
        let r = m.handle(call(operation, &t.task_token, "{}"));
        let view = m.task(t.task_id).unwrap();
        assert_eq!((view.status, view.heartbeats), (tasktoken::Status::Pending, 0), "{error}");
        snap(&format!("lambda_injected_{error}"), r);
        // Retired after one firing: the retry goes through.
        assert_eq!(code(&m.handle(call(operation, &t.task_token, "{}"))), "200");
    }
}

#[test]
fn a_fault_on_heartbeat_by_operation_name_spares_the_other_operations() {
    let m = mock();
    fault(
        &m,
        json!({"provider": "lambda", "operation": "SendDurableExecutionCallbackHeartbeat",
               "error": "TooManyRequestsException"}),
    );
    let t = callback(&m);
    snap("lambda_injected_heartbeat_by_operation", m.handle(call(HEARTBEAT, &t.task_token, "")));
    assert_eq!(m.task(t.task_id).unwrap().heartbeats, 0);
    assert_eq!(code(&m.handle(call(SUCCEED, &t.task_token, "ok"))), "200");
    let t = callback(&m);
    assert_eq!(code(&m.handle(call(FAIL, &t.task_token, "{}"))), "200");
    // An AWS fault never fires on Lambda, and a Lambda one never on AWS.
    let aws = common::task(&m);
    let r = m
        .handle(common::aws(common::HEARTBEAT, common::json(json!({"taskToken": aws.task_token}))));
    assert_eq!(common::code(&r), "200");
    assert_eq!(m.faults().list()[0].fired, 1);
}

/// The raw answer of `server` to `head` with no body sent, and whether the server closed.
async fn head_only(server: &MockServer, head: &str) -> (Vec<u8>, bool) {
    let mut s = tokio::net::TcpStream::connect(server.address()).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (bytes, true),
            Ok(Ok(n)) => bytes.extend_from_slice(&buf[..n]),
            Err(_) => return (bytes, false),
        }
    }
}

/// Raw HTTP/1.1 answer bytes as an `http::Response` (the `date` header dropped).
fn parse_answer(bytes: &[u8]) -> http::Response<Bytes> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("a whole head");
    let head = std::str::from_utf8(&bytes[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let mut builder = http::Response::builder().status(status);
    for line in lines {
        let (name, value) = line.split_once(": ").unwrap();
        if !name.eq_ignore_ascii_case("date") {
            builder = builder.header(name, value);
        }
    }
    builder.body(Bytes::copy_from_slice(&bytes[end + 4..])).unwrap()
}

#[tokio::test]
async fn a_body_over_2_mib_is_answered_from_its_head_and_the_connection_closes() {
    let server = MockServer::start().await;
    let t = callback(&server);
    let path = tasktoken::wire::lambda::path(SUCCEED, &t.task_token);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: lambda.us-east-1.amazonaws.com\r\nContent-Length: {}\r\n\r\n",
        MAX_REQUEST_BYTES + 1
    );
    let (bytes, closed) = head_only(&server, &head).await;
    assert!(closed, "the connection stays open: {}", String::from_utf8_lossy(&bytes));
    let response = parse_answer(&bytes);
    assert_eq!(response.headers()["connection"], "close");
    snap("lambda_request_too_large", response);
    assert_eq!(server.task(t.task_id).unwrap().status, tasktoken::Status::Pending);
}

/// A control-API call's answer.
fn control(m: &Mock, method: &str, path: &str, body: &str) -> http::Response<Bytes> {
    let req = http::Request::builder().method(method).uri(path);
    m.handle(req.body(Bytes::from(body.to_owned())).unwrap())
}

#[test]
fn control_api_create_and_views() {
    let m = mock();
    let created = control(
        &m,
        "POST",
        "/_mock/tasks",
        r#"{"provider":"lambda","timeoutSeconds":60,"heartbeatSeconds":10}"#,
    );
    assert_eq!(created.status(), 201);
    let v: serde_json::Value = serde_json::from_slice(created.body()).unwrap();
    let id = v["callbackId"].as_str().unwrap().to_owned();
    assert_eq!(v["taskToken"], v["callbackId"]);
    assert_eq!(id.len(), 212);
    assert!(id.ends_with("==") && id.contains('+') && id.contains('/'), "{id}");
    snap_text("lambda_control_create", render(&created).replace(&id, "[callback id]"));
    let task_id = v["taskId"].as_str().unwrap().to_owned();
    snap("lambda_control_view_pending", control(&m, "GET", &format!("/_mock/tasks/{task_id}"), ""));

    // Succeeded, with a Result that is not UTF-8.
    let result: &[u8] = b"\xff\x00\xfe{\"a\":1}\x80";
    assert_eq!(code(&m.handle(call(SUCCEED, &id, result))), "200");
    let view = control(&m, "GET", &format!("/_mock/tasks/{task_id}"), "");
    let v: serde_json::Value = serde_json::from_slice(view.body()).unwrap();
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(v["resultBase64"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, result);
    snap("lambda_control_view_succeeded", view);

    // Failed, with the ErrorObject kept as sent: member order, spacing, escapes, extras.
    let t = callback(&m);
    let error = r#"{ "StackTrace": ["at f (x.js:1)", "\u00e9"], "ErrorType" : "E",  "Extra": {"n": 1.50}, "ErrorMessage": "m\n" }"#;
    assert_eq!(code(&m.handle(call(FAIL, &t.task_token, error))), "200");
    let view = control(&m, "GET", &format!("/_mock/tasks/{}", t.task_id), "");
    let text = String::from_utf8(view.body().to_vec()).unwrap();
    assert!(text.contains(&format!("\"errorObject\":{error}")), "{text}");
    snap("lambda_control_view_failed", view);

    // Timed out by its heartbeat timer.
    let t = m
        .create_task(TaskSpec::new(Provider::Lambda).timeout_seconds(60).heartbeat_seconds(10))
        .unwrap();
    m.advance_clock(Duration::from_secs(8)).unwrap();
    assert_eq!(code(&m.handle(call(HEARTBEAT, &t.task_token, ""))), "200");
    m.advance_clock(Duration::from_secs(10)).unwrap();
    snap(
        "lambda_control_view_heartbeat_timed_out",
        control(&m, "GET", &format!("/_mock/tasks/{}", t.task_id), ""),
    );

    // And by its overall timer.
    let t = m.create_task(TaskSpec::new(Provider::Lambda).timeout_seconds(5)).unwrap();
    m.advance_clock(Duration::from_secs(5)).unwrap();
    snap(
        "lambda_control_view_timed_out",
        control(&m, "GET", &format!("/_mock/tasks/{}", t.task_id), ""),
    );
}

#[test]
fn the_journal_names_the_provider_and_the_operation() {
    let m = mock();
    let t = callback(&m);
    m.handle(call(HEARTBEAT, &t.task_token, ""));
    m.handle(call(SUCCEED, &t.task_token, "r"));
    m.handle(call(FAIL, &t.task_token, "{}"));
    m.handle(raw("POST", "abc/complete", ""));
    fault(
        &m,
        json!({"provider": "lambda", "operation": "SendDurableExecutionCallbackHeartbeat", "error": "ServiceException"}),
    );
    m.handle(call(HEARTBEAT, &t.task_token, ""));
    let journal = control(&m, "GET", "/_mock/journal", "");
    let v: serde_json::Value = serde_json::from_slice(journal.body()).unwrap();
    let entries = v["entries"].as_array().unwrap();
    let seen: Vec<_> = entries
        .iter()
        .map(|e| {
            assert_eq!(e["provider"], "lambda", "{e}");
            assert_eq!(e["method"], "POST");
            (
                e["operation"].as_str().unwrap().to_owned(),
                e["status"].as_u64().unwrap(),
                e["errorCode"].as_str().unwrap_or("").to_owned(),
                e["taskId"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let task = Some(t.task_id.to_string());
    assert_eq!(
        seen,
        [
            ("SendDurableExecutionCallbackHeartbeat".into(), 200, "".into(), task.clone()),
            ("SendDurableExecutionCallbackSuccess".into(), 200, "".into(), task),
            (
                "SendDurableExecutionCallbackFailure".into(),
                400,
                "CallbackTimeoutException".into(),
                None
            ),
            ("complete".into(), 404, "UnknownOperationException".into(), None),
            ("SendDurableExecutionCallbackHeartbeat".into(), 500, "ServiceException".into(), None),
        ]
    );
    assert!(entries[0]["path"].as_str().unwrap().contains("%2B"), "the path as sent");
    assert_eq!(entries[1]["body"], "r");
}
