//! Pins the exact bytes (status, headers, body) of every response the Alibaba mock can produce: success and each catalogue error.

use crate::common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use tasktoken::contract::alibaba::{Flavour, CONTRACT};
use tasktoken::{Mock, MockConfig, Provider, TaskSpec};

fn snap(name: &str, response: http::Response<Bytes>) {
    snap_redacted(name, response, &[]);
}

/// Snapshots with unstable values (tokens) replaced by placeholders.
fn snap_redacted(name: &str, response: http::Response<Bytes>, redact: &[(&str, &str)]) {
    let mut text = render(&response);
    for (value, placeholder) in redact {
        text = text.replace(value, placeholder);
    }
    snapshot_settings().bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn success_has_event_id_and_request_id_and_no_code() {
    let m = mock();
    let t = ali_task(&m);
    snap("alibaba_success", m.handle(ali_succeed(&t.task_token, r#"{"k":"€"}"#)));
}

#[test]
fn event_ids_increase() {
    let m = mock();
    let ids: Vec<i64> = (0..5)
        .map(|_| {
            let t = ali_task(&m);
            let r = m.handle(ali_fail(&t.task_token, "E", None));
            serde_json::from_slice::<serde_json::Value>(r.body()).unwrap()["EventId"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[test]
fn parameter_and_operation_errors() {
    let m = mock();
    let t = ali_task(&m);
    let token = t.task_token.as_str();
    snap(
        "alibaba_action_not_supported",
        m.handle(ali("ReportTaskHeartbeat", &[("TaskToken", token)], &[])),
    );
    let mut wrong_version = ali_succeed(token, "{}");
    *wrong_version.uri_mut() =
        wrong_version.uri().to_string().replace("2019-03-15", "2020-01-01").parse().unwrap();
    snap("alibaba_api_version_not_supported", m.handle(wrong_version));
    snap("alibaba_missing_token", m.handle(ali(SUCCEEDED, &[], &[("Output", "{}")])));
    snap("alibaba_missing_output", m.handle(ali(SUCCEEDED, &[("TaskToken", token)], &[])));
    snap(
        "alibaba_missing_error",
        m.handle(ali(FAILED, &[("TaskToken", token)], &[("Cause", "c")])),
    );
    let no_action = http::Request::post("/?Version=2019-03-15").body(Bytes::new()).unwrap();
    snap("alibaba_missing_action", m.handle(no_action));
    let no_version = http::Request::post("/?Action=ReportTaskFailed").body(Bytes::new()).unwrap();
    assert_eq!(ali_message(&m.handle(no_version)), "The HTTP query 'Version' must be specified.");
    snap(
        "alibaba_invalid_argument_garbage_token",
        m.handle(ali_succeed("djEjbm90LWEtdG9rZW4=", "{}")),
    );
    let mut xml = ali_succeed(token, "{}");
    xml.headers_mut().insert("content-type", "application/xml".parse().unwrap());
    snap("alibaba_unsupported_media_type", m.handle(xml));
    assert_eq!(m.task(t.task_id).unwrap().status, tasktoken::Status::Pending);
}

#[test]
fn size_errors() {
    let m = mock();
    let t = ali_task(&m);
    let big = "a".repeat(65_537);
    snap("alibaba_entity_too_large_output", m.handle(ali_succeed(&t.task_token, &big)));
    let huge = Bytes::from(vec![b'a'; 1_048_577]);
    let req = http::Request::post("/?Action=ReportTaskSucceeded&Version=2019-03-15")
        .header("Host", "fnf.example")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(huge)
        .unwrap();
    snap("alibaba_entity_too_large_request", m.handle(req));
}

#[test]
fn reports_on_closed_tasks_are_task_already_completed() {
    let m = mock();
    let t = ali_task(&m);
    assert_eq!(ali_code(&m.handle(ali_succeed(&t.task_token, "1"))), "200");
    let again = m.handle(ali_fail(&t.task_token, "E", None));
    assert_eq!(ali_message(&again), format!("Task {} has already completed.", t.task_token));
    snap_redacted("alibaba_task_already_completed", again, &[(&t.task_token, "[task token]")]);
    let timed = m.create_task(TaskSpec::new(Provider::Alibaba).timeout_seconds(3)).unwrap();
    m.advance_clock(Duration::from_secs(3)).unwrap();
    assert_eq!(ali_code(&m.handle(ali_succeed(&timed.task_token, "1"))), "TaskAlreadyCompleted");
    let view = m.task(timed.task_id).unwrap();
    assert_eq!(view.error.as_deref(), Some("FnF.TaskTimeout"));
}

#[test]
fn the_quota_throttles_with_resource_throttled() {
    let m = Mock::new(MockConfig::default().throttle(true)).unwrap();
    let t = ali_task(&m);
    let codes: Vec<String> = (0..11).map(|_| ali_code(&m.handle(ali_succeed("x", "1")))).collect();
    assert_eq!(codes.iter().filter(|c| *c == "InvalidArgument").count(), 10, "{codes:?}");
    snap("alibaba_resource_throttled", m.handle(ali_succeed(&t.task_token, "1")));
    m.advance_clock(Duration::from_millis(500)).unwrap();
    assert_eq!(ali_code(&m.handle(ali_succeed(&t.task_token, "1"))), "200");
    // AWS is not throttled by the Alibaba quota.
    let aws_task = task(&m);
    let r = m.handle(aws(HEARTBEAT, json(serde_json::json!({"taskToken": aws_task.task_token}))));
    assert_eq!(code(&r), "200");
}

#[test]
fn every_catalogue_error_can_be_injected() {
    for spec in CONTRACT.errors {
        let m = mock();
        let t = ali_task(&m);
        m.add_fault(
            serde_json::from_value(
                serde_json::json!({"provider": "alibaba", "error": spec.code, "count": 1}),
            )
            .unwrap(),
        )
        .unwrap();
        let r = m.handle(ali_succeed(&t.task_token, "1"));
        assert_eq!(r.status().as_u16(), spec.status, "{}", spec.code);
        assert_eq!(ali_code(&r), spec.code);
        // Not applied: the task is still pending, and the next report goes through.
        assert_eq!(m.task(t.task_id).unwrap().status, tasktoken::Status::Pending);
        assert_eq!(ali_code(&m.handle(ali_succeed(&t.task_token, "1"))), "200");
        if ["AccessDenied", "TaskInvalidState", "InternalServerError", "MissingRequiredHeader"]
            .contains(&spec.code)
        {
            let m = mock();
            let t = ali_task(&m);
            m.add_fault(
                serde_json::from_value(
                    serde_json::json!({"provider": "alibaba", "error": spec.code}),
                )
                .unwrap(),
            )
            .unwrap();
            snap(
                &format!("alibaba_injected_{}", spec.code),
                m.handle(ali_succeed(&t.task_token, "1")),
            );
        }
    }
}

#[test]
fn serverless_workflow_flavour_limits_output_to_32768_bytes() {
    let m = Mock::new(MockConfig::default().alibaba_flavour(Flavour::ServerlessWorkflow)).unwrap();
    let t = ali_task(&m);
    let r = m.handle(ali_succeed(&t.task_token, &format!("\"{}\"", "a".repeat(32_767))));
    assert_eq!(ali_message(&r), "The payload size exceeds maximum allowed size (32768 bytes).");
}
