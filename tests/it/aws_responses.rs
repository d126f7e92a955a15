//! Pins the exact bytes (status, headers, body) of every response the AWS mock can produce.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tasktoken::TaskSpec;

fn snap(name: &str, response: http::Response<bytes::Bytes>) {
    snapshot_settings().bind(|| insta::assert_snapshot!(name, render(&response)));
}

#[test]
fn success_is_200_with_an_empty_object() {
    let m = mock();
    let t = task(&m);
    snap("aws_success", m.handle(aws(HEARTBEAT, json(json!({"taskToken": t.task_token})))));
}

#[test]
fn body_over_1049600_bytes_is_the_plain_text_413() {
    let m = mock();
    let big = vec![b' '; 1_049_601];
    snap("aws_413_request_too_large", m.handle(aws(SUCCESS, big)));
    // 1049600 bytes exactly is read and parsed.
    let mut body = br#"{"taskToken":"x","output":"1"}"#.to_vec();
    body.resize(1_049_600, b' ');
    assert_eq!(code(&m.handle(aws(SUCCESS, body))), "InvalidToken");
}

#[test]
fn bodies_that_are_not_json_objects_are_serialization_exceptions() {
    let m = mock();
    snap("aws_serialization_not_json", m.handle(aws(SUCCESS, "not json")));
    for body in ["", "[]", "\"s\"", "null", "{\"taskToken\":\"a\"", "{}{}"] {
        assert_eq!(code(&m.handle(aws(SUCCESS, body))), "SerializationException", "{body:?}");
    }
    let invalid_utf8 = b"{\"taskToken\":\"\xff\xfe\",\"output\":\"1\"}".to_vec();
    assert_eq!(code(&m.handle(aws(SUCCESS, invalid_utf8))), "SerializationException");
}

#[test]
fn a_member_of_the_wrong_type_is_a_serialization_exception() {
    let m = mock();
    snap(
        "aws_serialization_wrong_type",
        m.handle(aws(SUCCESS, json(json!({"taskToken": 5, "output": "1"})))),
    );
    for body in [
        json!({"taskToken": "t", "output": {"a": 1}}),
        json!({"taskToken": ["t"], "output": "1"}),
        json!({"taskToken": true}),
    ] {
        assert_eq!(
            code(&m.handle(aws(SUCCESS, json(body.clone())))),
            "SerializationException",
            "{body}"
        );
    }
    let failure = json!({"taskToken": "t", "cause": 1});
    assert_eq!(code(&m.handle(aws(FAILURE, json(failure)))), "SerializationException");
}

#[test]
fn unknown_or_missing_target_is_unknown_operation() {
    let m = mock();
    snap("aws_unknown_operation", m.handle(aws("AWSStepFunctions.SendTaskSucess", "{}")));
    let mut no_target = aws(SUCCESS, "{}");
    no_target.headers_mut().remove("x-amz-target");
    assert_eq!(code(&m.handle(no_target)), "UnknownOperationException");
    // The JSON parse comes first.
    assert_eq!(code(&m.handle(aws("Nope.Nope", "nope"))), "SerializationException");
}

#[test]
fn validation_messages() {
    let m = mock();
    let long_token = "a".repeat(2049);
    let cases = [
        ("aws_validation_missing_output", SUCCESS, json!({"taskToken": "t"})),
        ("aws_validation_missing_token", HEARTBEAT, json!({})),
        ("aws_validation_null_token", FAILURE, json!({"taskToken": null})),
        ("aws_validation_empty_token", HEARTBEAT, json!({"taskToken": ""})),
        ("aws_validation_token_too_long", HEARTBEAT, json!({"taskToken": long_token})),
        (
            "aws_validation_output_too_long",
            SUCCESS,
            json!({"taskToken": "t", "output": "a".repeat(262_145)}),
        ),
        (
            "aws_validation_error_too_long",
            FAILURE,
            json!({"taskToken": "t", "error": "e".repeat(257)}),
        ),
        (
            "aws_validation_cause_too_long",
            FAILURE,
            json!({"taskToken": "t", "cause": "c".repeat(32_769)}),
        ),
        ("aws_validation_two_violations", SUCCESS, json!({"taskToken": ""})),
        (
            "aws_validation_three_violations",
            FAILURE,
            json!({"taskToken": long_token, "error": "e".repeat(257), "cause": "c".repeat(32_769)}),
        ),
    ];
    for (name, target, body) in cases {
        snap(name, m.handle(aws(target, json(body))));
    }
}

#[test]
fn token_errors() {
    let m = mock();
    snap(
        "aws_invalid_token",
        m.handle(aws(SUCCESS, json(json!({"taskToken": "bad_token", "output": "{}"})))),
    );
    let t = task(&m);
    assert_eq!(
        code(&m.handle(aws(SUCCESS, json(json!({"taskToken": t.task_token, "output": "1"}))))),
        "200"
    );
    snap(
        "aws_task_timed_out",
        m.handle(aws(SUCCESS, json(json!({"taskToken": t.task_token, "output": "1"})))),
    );
    let live = task(&m);
    snap(
        "aws_invalid_output",
        m.handle(aws(SUCCESS, json(json!({"taskToken": live.task_token, "output": "{\"a\":"})))),
    );
    let deleted = task(&m);
    assert!(m.delete_task(deleted.task_id));
    snap(
        "aws_task_does_not_exist",
        m.handle(aws(HEARTBEAT, json(json!({"taskToken": deleted.task_token})))),
    );
}

#[test]
fn timed_out_task_gives_task_timed_out() {
    let m = mock();
    let t = m.create_task(TaskSpec::new(tasktoken::Provider::Aws).timeout_seconds(5)).unwrap();
    m.advance_clock(Duration::from_secs(5)).unwrap();
    let r = m.handle(aws(FAILURE, json(json!({"taskToken": t.task_token}))));
    assert_eq!(code(&r), "TaskTimedOut");
    assert_eq!(message(&r).unwrap(), "Task Timed Out: 'Provided task does not exist anymore'");
}

#[test]
fn control_api_errors() {
    let m = mock();
    let control = |method: &str, path: &str, body: &'static str| {
        m.handle(
            http::Request::builder()
                .method(method)
                .uri(path)
                .body(bytes::Bytes::from(body))
                .unwrap(),
        )
    };
    snap("control_unknown_task", control("GET", "/_mock/tasks/999999", ""));
    snap("control_bad_task_request", control("POST", "/_mock/tasks", r#"{"provider":"gcp"}"#));
    snap(
        "control_bad_token_length",
        control("POST", "/_mock/tasks", r#"{"provider":"aws","tokenLength":30}"#),
    );
    snap("control_method_not_allowed", control("PUT", "/_mock/clock", ""));
    snap("control_unknown_endpoint", control("GET", "/_mock/nothing", ""));
}

#[test]
fn fault_injected_errors() {
    // The KMS errors go on SendTaskSuccess: SendTaskHeartbeat lists none, and a rule without an
    // operation passes over an operation that cannot answer its error.
    for (code, target) in [
        ("KmsAccessDeniedException", SUCCESS),
        ("KmsInvalidStateException", SUCCESS),
        ("KmsThrottlingException", SUCCESS),
        ("ThrottlingException", HEARTBEAT),
    ] {
        let m = mock();
        let t = task(&m);
        let fault = json!({"provider": "aws", "error": code, "count": 1});
        m.add_fault(serde_json::from_value(fault).unwrap()).unwrap();
        let body = json!({"taskToken": t.task_token, "output": "{}"});
        let response = m.handle(aws(target, json(body)));
        let view = m.task(t.task_id).unwrap();
        assert_eq!(
            (view.heartbeats, view.status),
            (0, tasktoken::Status::Pending),
            "a faulted call does not touch the task"
        );
        snap(&format!("aws_injected_{code}"), response);
    }
    // Without the rule's error in its list, a heartbeat is answered as usual (and the rule
    // stays for the next success).
    let m = mock();
    let t = task(&m);
    let fault = json!({"provider": "aws", "error": "KmsThrottlingException", "count": 1});
    m.add_fault(serde_json::from_value(fault).unwrap()).unwrap();
    let heartbeat = m.handle(aws(HEARTBEAT, json(json!({"taskToken": t.task_token}))));
    assert_eq!(heartbeat.status(), 200);
    let success = json!({"taskToken": t.task_token, "output": "{}"});
    assert_eq!(m.handle(aws(SUCCESS, json(success))).status(), 400);
}
