//! Drives the mock with the official AWS SDK for Rust (`aws-sdk-lambda`): the durable callbacks.
//!
//! SendDurableExecutionCallbackSuccess, Failure and Heartbeat as the SDK sends and parses them:
//! the Result blob's bytes, the ErrorObject as sent, heartbeats on the virtual clock, the typed
//! errors (`CallbackTimeoutException`, `ResourceNotFoundException`,
//! `InvalidParameterValueException`, `TooManyRequestsException`), callback ids with `+`, `/`
//! and `=` through the SDK's label encoding, and strict mode's SigV4 (signing name `lambda`).

use std::time::Duration;

use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::send_durable_execution_callback_failure::SendDurableExecutionCallbackFailureError as FailureError;
use aws_sdk_lambda::operation::send_durable_execution_callback_heartbeat::SendDurableExecutionCallbackHeartbeatError as HeartbeatError;
use aws_sdk_lambda::operation::send_durable_execution_callback_success::SendDurableExecutionCallbackSuccessError as SuccessError;
use aws_sdk_lambda::operation::RequestId;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::ErrorObject;
use aws_sdk_lambda::Client;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use tasktoken::auth::{KeyPair, Keys};
use tasktoken::tasks::TimeoutKind;
use tasktoken::{FaultSpec, Mock, MockConfig, MockServer, NewTask, Provider, Status, StrictAuth};
use tasktoken::{TaskSpec, TaskView};

const CALLBACK_TIMEOUT_MESSAGE: &str = "The callback ID token has either expired or the callback \
                                        associated with the token has already been closed.";
const NOT_FOUND_MESSAGE: &str = "The resource specified in the request does not exist.";
const INVALID_PARAMETER_PREFIX: &str = "One of the parameters in the request is not valid. ";

/// An SDK client pointed at `server` with these credentials: no aws-config, no retries.
fn client_with(server: &MockServer, key_id: &str, secret: &str) -> Client {
    let config = aws_sdk_lambda::Config::builder()
        .endpoint_url(server.uri())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key_id, secret, None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(RetryConfig::disabled())
        .behavior_version(BehaviorVersion::latest())
        .build();
    Client::from_conf(config)
}

fn client(server: &MockServer) -> Client {
    client_with(server, "test", "test")
}

async fn start() -> (MockServer, Client, NewTask) {
    let server = MockServer::start().await;
    let client = client(&server);
    let task = server.create_task(TaskSpec::new(Provider::Lambda)).unwrap();
    (server, client, task)
}

/// The callback id of a minted Lambda task (the same text as its token).
fn id(task: &NewTask) -> &str {
    let id = task.callback_id.as_deref().expect("a Lambda task has a callback id");
    assert_eq!(id, task.task_token);
    id
}

fn view(server: &MockServer, task: &NewTask) -> TaskView {
    server.task(task.task_id).expect("the task exists")
}

/// The Result bytes the mock stored (the view shows them in standard base64).
fn result_bytes(view: &TaskView) -> Option<Vec<u8>> {
    view.output.as_deref().map(|b64| STANDARD.decode(b64).expect("resultBase64 is base64"))
}

/// The path and status of the journal's last entry: what reached the wire and its answer.
fn last_request(server: &MockServer) -> (String, u16, Option<String>) {
    let entry = server.journal().snapshot().entries.pop().expect("a request was journalled");
    (entry.path, entry.status, entry.error_code)
}

/// A well-formed callback id the mock never minted: right pattern, wrong MAC.
fn unknown_id(task: &NewTask) -> String {
    let mut bytes = id(task).as_bytes().to_vec();
    bytes[20] = if bytes[20] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn success_stores_the_result_blob_byte_for_byte() {
    let (server, client, task) = start().await;
    // Not UTF-8, with NUL and every high byte the SDK could mangle: a raw blob payload.
    let result: Vec<u8> =
        [b"{\"k\":\"\xe2\x82\xac\"}".as_slice(), &[0, 0xff, 0xfe, 0x80, b'\n']].concat();
    let output = client
        .send_durable_execution_callback_success()
        .callback_id(id(&task))
        .result(Blob::new(result.clone()))
        .send()
        .await
        .expect("success on a live callback is accepted");
    assert!(output.request_id().is_some_and(|r| r.len() == 36), "{output:?}");
    let view = view(&server, &task);
    assert_eq!(view.status, Status::Succeeded);
    assert_eq!(result_bytes(&view), Some(result));
    assert_eq!((view.error, view.heartbeats), (None, 0));
}

#[tokio::test]
async fn success_without_a_result_stores_an_empty_result() {
    let (server, client, task) = start().await;
    client
        .send_durable_execution_callback_success()
        .callback_id(id(&task))
        .send()
        .await
        .expect("success without a Result is accepted");
    let view = view(&server, &task);
    assert_eq!(view.status, Status::Succeeded);
    assert_eq!(view.output.as_deref(), Some(""));
}

#[tokio::test]
async fn failure_stores_the_error_object_as_the_sdk_sent_it() {
    let (server, client, task) = start().await;
    let error = ErrorObject::builder()
        .error_type("Payment.Declined")
        .error_message("card expired: 12/26 €")
        .error_data("{\"retry\":false}")
        .stack_trace("at charge (pay.py:10)")
        .stack_trace("at main (pay.py:99)")
        .build();
    client
        .send_durable_execution_callback_failure()
        .callback_id(id(&task))
        .error(error)
        .send()
        .await
        .expect("failure on a live callback is accepted");
    let view = view(&server, &task);
    assert_eq!(view.status, Status::Failed);
    assert_eq!(view.output, None);
    let stored = view.error.expect("the ErrorObject is stored");
    let expected = serde_json::json!({
        "ErrorType": "Payment.Declined",
        "ErrorMessage": "card expired: 12/26 €",
        "ErrorData": "{\"retry\":false}",
        "StackTrace": ["at charge (pay.py:10)", "at main (pay.py:99)"],
    });
    assert_eq!(serde_json::from_str::<serde_json::Value>(&stored).unwrap(), expected);
    // As sent: the text is the request body itself, not a re-serialization.
    let entry = server.journal().snapshot().entries.pop().unwrap();
    assert_eq!(entry.operation.as_deref(), Some("SendDurableExecutionCallbackFailure"));
    assert_eq!(entry.body, stored);
}

#[tokio::test]
async fn failure_without_an_error_object_is_accepted_as_an_empty_object() {
    let (server, client, task) = start().await;
    client
        .send_durable_execution_callback_failure()
        .callback_id(id(&task))
        .send()
        .await
        .expect("failure without an ErrorObject is accepted");
    let view = view(&server, &task);
    assert_eq!(view.status, Status::Failed);
    assert_eq!(view.error.as_deref(), Some("{}"));
}

#[tokio::test]
async fn heartbeats_are_counted_and_restart_the_heartbeat_timer() {
    let server = MockServer::start().await;
    let client = client(&server);
    let task = server
        .create_task(TaskSpec::new(Provider::Lambda).timeout_seconds(3600).heartbeat_seconds(10))
        .unwrap();
    for expected in 1..=3 {
        server.advance_clock(Duration::from_secs(8)).unwrap();
        client
            .send_durable_execution_callback_heartbeat()
            .callback_id(id(&task))
            .send()
            .await
            .expect("heartbeat on a live callback is accepted");
        let view = view(&server, &task);
        assert_eq!((view.status, view.heartbeats), (Status::Pending, expected));
    }
    // 24 s since creation but never 10 s without a heartbeat; now 10 s of silence.
    server.advance_clock(Duration::from_secs(10)).unwrap();
    let view = view(&server, &task);
    assert_eq!(view.status, Status::TimedOut);
    assert_eq!(view.timed_out_by, Some(TimeoutKind::Heartbeat));
    assert_eq!(view.error.as_deref(), Some("Callback.Heartbeat"));
    let err = client
        .send_durable_execution_callback_heartbeat()
        .callback_id(id(&task))
        .send()
        .await
        .expect_err("a heartbeat after the heartbeat timeout is rejected")
        .into_service_error();
    assert!(err.is_callback_timeout_exception(), "{err:?}");
    assert_eq!(view.heartbeats, 3);
}

#[tokio::test]
async fn the_overall_timeout_closes_the_callback_for_the_sdk() {
    let server = MockServer::start().await;
    let client = client(&server);
    let task = server.create_task(TaskSpec::new(Provider::Lambda).timeout_seconds(30)).unwrap();
    server.advance_clock(Duration::from_secs(30)).unwrap();
    let err = client
        .send_durable_execution_callback_success()
        .callback_id(id(&task))
        .result(Blob::new("late"))
        .send()
        .await
        .expect_err("a success after the timeout is rejected")
        .into_service_error();
    assert!(matches!(err, SuccessError::CallbackTimeoutException(_)), "{err:?}");
    let view = view(&server, &task);
    assert_eq!((view.status, view.timed_out_by), (Status::TimedOut, Some(TimeoutKind::Task)));
    assert_eq!(view.error.as_deref(), Some("Callback.Timeout"));
}

#[tokio::test]
async fn every_call_on_a_closed_callback_is_the_typed_callback_timeout() {
    let (server, client, task) = start().await;
    client
        .send_durable_execution_callback_success()
        .callback_id(id(&task))
        .result(Blob::new("[1]"))
        .send()
        .await
        .expect("the first success wins");

    let err = client
        .send_durable_execution_callback_success()
        .callback_id(id(&task))
        .result(Blob::new("[1]"))
        .send()
        .await
        .expect_err("a second success is rejected")
        .into_service_error();
    assert!(matches!(err, SuccessError::CallbackTimeoutException(_)), "{err:?}");
    assert_eq!(err.code(), Some("CallbackTimeoutException"));
    assert_eq!(err.message(), Some(CALLBACK_TIMEOUT_MESSAGE));
    assert_eq!(last_request(&server).1, 400);

    let err = client
        .send_durable_execution_callback_failure()
        .callback_id(id(&task))
        .error(ErrorObject::builder().error_type("Late").build())
        .send()
        .await
        .expect_err("a failure after the success is rejected")
        .into_service_error();
    assert!(matches!(err, FailureError::CallbackTimeoutException(_)), "{err:?}");
    assert_eq!(err.message(), Some(CALLBACK_TIMEOUT_MESSAGE));

    let err = client
        .send_durable_execution_callback_heartbeat()
        .callback_id(id(&task))
        .send()
        .await
        .expect_err("a heartbeat after the success is rejected")
        .into_service_error();
    assert!(matches!(err, HeartbeatError::CallbackTimeoutException(_)), "{err:?}");

    let view = view(&server, &task);
    assert_eq!((view.status, view.heartbeats), (Status::Succeeded, 0));
    assert_eq!(result_bytes(&view).as_deref(), Some(b"[1]".as_slice()));
}

#[tokio::test]
async fn an_unknown_well_formed_id_is_the_typed_resource_not_found_for_every_operation() {
    let (server, client, task) = start().await;
    let unknown = unknown_id(&task);

    let err = client
        .send_durable_execution_callback_success()
        .callback_id(&unknown)
        .send()
        .await
        .expect_err("an unknown id is rejected")
        .into_service_error();
    assert!(matches!(err, SuccessError::ResourceNotFoundException(_)), "{err:?}");
    assert_eq!(err.message(), Some(NOT_FOUND_MESSAGE));
    assert_eq!(last_request(&server).1, 404);

    let err = client
        .send_durable_execution_callback_failure()
        .callback_id(&unknown)
        .send()
        .await
        .expect_err("an unknown id is rejected")
        .into_service_error();
    assert!(matches!(err, FailureError::ResourceNotFoundException(_)), "{err:?}");

    let err = client
        .send_durable_execution_callback_heartbeat()
        .callback_id(&unknown)
        .send()
        .await
        .expect_err("an unknown id is rejected")
        .into_service_error();
    assert!(matches!(err, HeartbeatError::ResourceNotFoundException(_)), "{err:?}");

    // Exactly 1024 characters is still a well-formed id: not found, not invalid.
    let longest = format!("{}==", "A".repeat(1022));
    let err = client
        .send_durable_execution_callback_heartbeat()
        .callback_id(&longest)
        .send()
        .await
        .expect_err("an unknown 1024-character id is rejected")
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");

    assert_eq!(view(&server, &task).status, Status::Pending);
}

#[tokio::test]
async fn ids_the_sdk_sends_but_the_model_forbids_are_the_typed_invalid_parameter_value() {
    let (server, client, task) = start().await;
    // The SDK checks neither length nor pattern: each of these reaches the wire (journalled).
    let too_long = "A".repeat(1025);
    let cases: [(&str, &str, &str); 4] = [
        (&too_long, "Member must have length less than or equal to 1024", "AAAA"),
        ("ab cd", "Member must satisfy regular expression pattern", "ab%20cd"),
        ("abc===", "Member must satisfy regular expression pattern", "abc%3D%3D%3D"),
        ("a-b_c", "Member must satisfy regular expression pattern", "a-b_c"),
    ];
    for (bad, detail, on_the_wire) in cases {
        let err = client
            .send_durable_execution_callback_success()
            .callback_id(bad)
            .result(Blob::new("{}"))
            .send()
            .await
            .expect_err("an invalid id is rejected")
            .into_service_error();
        assert!(matches!(err, SuccessError::InvalidParameterValueException(_)), "{bad}: {err:?}");
        assert_eq!(err.code(), Some("InvalidParameterValueException"));
        // The shape spells its member `message`; the SDK reads it all the same.
        let message = err.message().expect("a message");
        assert!(message.starts_with(INVALID_PARAMETER_PREFIX), "{message}");
        assert!(message.contains(detail), "{bad}: {message}");
        let (path, status, code) = last_request(&server);
        assert!(path.contains(on_the_wire), "{path}");
        assert_eq!((status, code.as_deref()), (400, Some("InvalidParameterValueException")));

        let err = client
            .send_durable_execution_callback_heartbeat()
            .callback_id(bad)
            .send()
            .await
            .expect_err("an invalid id is rejected")
            .into_service_error();
        assert!(matches!(err, HeartbeatError::InvalidParameterValueException(_)), "{err:?}");
        let err = client
            .send_durable_execution_callback_failure()
            .callback_id(bad)
            .send()
            .await
            .expect_err("an invalid id is rejected")
            .into_service_error();
        assert!(matches!(err, FailureError::InvalidParameterValueException(_)), "{err:?}");
    }
    // The path label: 1025 characters of the id itself on the wire.
    let paths: Vec<String> =
        server.journal().snapshot().entries.into_iter().map(|e| e.path).collect();
    assert!(paths.iter().any(|p| p.contains(&format!("/{too_long}/succeed"))), "{paths:?}");
    assert_eq!(view(&server, &task).status, Status::Pending);
}

#[tokio::test]
async fn the_sdk_refuses_an_empty_id_before_sending() {
    let (server, client, _task) = start().await;
    let err = client
        .send_durable_execution_callback_heartbeat()
        .callback_id("")
        .send()
        .await
        .expect_err("an empty id is refused");
    assert!(matches!(err, SdkError::ConstructionFailure(_)), "{err:?}");
    assert!(server.journal().snapshot().entries.is_empty(), "nothing reached the wire");
}

#[tokio::test]
async fn a_result_over_one_mebibyte_is_the_typed_invalid_parameter_value() {
    let (server, client, task) = start().await;
    let err = client
        .send_durable_execution_callback_success()
        .callback_id(id(&task))
        .result(Blob::new(vec![0xA5u8; 1_048_577]))
        .send()
        .await
        .expect_err("a Result of 1 MiB + 1 byte is rejected")
        .into_service_error();
    assert!(matches!(err, SuccessError::InvalidParameterValueException(_)), "{err:?}");
    assert!(err.message().unwrap().starts_with(INVALID_PARAMETER_PREFIX), "{err:?}");
    assert_eq!(view(&server, &task).status, Status::Pending);

    let at_limit = vec![0x5Au8; 1_048_576];
    client
        .send_durable_execution_callback_success()
        .callback_id(id(&task))
        .result(Blob::new(at_limit.clone()))
        .send()
        .await
        .expect("a Result of exactly 1 MiB is accepted");
    assert_eq!(result_bytes(&view(&server, &task)), Some(at_limit));
}

#[tokio::test]
async fn an_error_object_over_one_mebibyte_is_the_typed_invalid_parameter_value() {
    let (server, client, task) = start().await;
    // The combined size of the fields: 1,048,576 - 1 bytes of data plus two bytes of type.
    let error = ErrorObject::builder().error_type("Ab").error_data("d".repeat(1_048_575)).build();
    let err = client
        .send_durable_execution_callback_failure()
        .callback_id(id(&task))
        .error(error)
        .send()
        .await
        .expect_err("an ErrorObject over 1 MiB is rejected")
        .into_service_error();
    assert!(matches!(err, FailureError::InvalidParameterValueException(_)), "{err:?}");
    assert!(err.message().unwrap().contains("combined size"), "{err:?}");
    assert_eq!(view(&server, &task).status, Status::Pending);
}

#[tokio::test]
async fn ids_with_plus_slash_and_equals_travel_through_the_sdks_label_encoding() {
    let (server, client, _) = start().await;
    for n in 0..5 {
        let task = server.create_task(TaskSpec::new(Provider::Lambda)).unwrap();
        let callback = id(&task);
        assert_eq!(callback.len(), 212);
        assert!(callback.contains('+') && callback.contains('/'), "{callback}");
        assert!(callback.ends_with("=="), "{callback}");
        match n % 3 {
            0 => {
                client
                    .send_durable_execution_callback_heartbeat()
                    .callback_id(callback)
                    .send()
                    .await
                    .expect("a heartbeat with a minted id is accepted");
                assert_eq!(view(&server, &task).heartbeats, 1);
            }
            1 => {
                client
                    .send_durable_execution_callback_failure()
                    .callback_id(callback)
                    .send()
                    .await
                    .expect("a failure with a minted id is accepted");
                assert_eq!(view(&server, &task).status, Status::Failed);
            }
            _ => {
                client
                    .send_durable_execution_callback_success()
                    .callback_id(callback)
                    .result(Blob::new(callback.as_bytes()))
                    .send()
                    .await
                    .expect("a success with a minted id is accepted");
                let view = view(&server, &task);
                assert_eq!(result_bytes(&view).as_deref(), Some(callback.as_bytes()));
            }
        }
        // On the wire the label is percent-encoded once: `+` %2B, `/` %2F, `=` %3D.
        let (path, status, _) = last_request(&server);
        assert_eq!(status, 200, "{path}");
        let label = path
            .strip_prefix("/2025-12-01/durable-execution-callbacks/")
            .and_then(|rest| rest.rsplit_once('/'))
            .map(|(label, _)| label)
            .unwrap_or_else(|| panic!("unexpected path {path}"));
        let encoded = callback.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
        assert_eq!(label, encoded);
    }
}

#[tokio::test]
async fn injected_throttling_is_the_typed_too_many_requests_with_retry_after() {
    let (server, client, task) = start().await;
    server
        .add_fault(FaultSpec {
            provider: Provider::Lambda,
            operation: Some("SendDurableExecutionCallbackHeartbeat".into()),
            error: Some("TooManyRequestsException".into()),
            latency_ms: None,
            reset: false,
            count: Some(1),
            probability: None,
        })
        .unwrap();
    let err = client
        .send_durable_execution_callback_heartbeat()
        .callback_id(id(&task))
        .send()
        .await
        .expect_err("the injected fault answers")
        .into_service_error();
    match &err {
        HeartbeatError::TooManyRequestsException(e) => {
            assert_eq!(e.retry_after_seconds(), Some("1"));
        }
        other => panic!("expected TooManyRequestsException, got {other:?}"),
    }
    client
        .send_durable_execution_callback_heartbeat()
        .callback_id(id(&task))
        .send()
        .await
        .expect("the fault is spent after one firing");
    assert_eq!(view(&server, &task).heartbeats, 1);
}

/// A strict mock (SigV4 checked with `test`/`test`) on a loopback port.
async fn strict_server() -> MockServer {
    let auth = StrictAuth { aws: Keys::new([KeyPair::new("test", "test")]), ..Default::default() };
    let mock = Mock::new(MockConfig::default().strict_auth(auth)).unwrap();
    MockServer::start_with(mock).await.unwrap()
}

#[tokio::test]
async fn strict_mode_verifies_the_sdks_sigv4_over_the_double_encoded_path() {
    let server = strict_server().await;
    let client = client(&server);
    for action in ["succeed", "fail", "heartbeat"] {
        let task = server.create_task(TaskSpec::new(Provider::Lambda)).unwrap();
        let callback = id(&task);
        assert!(callback.contains('+') && callback.contains('/') && callback.contains('='));
        match action {
            "succeed" => {
                client
                    .send_durable_execution_callback_success()
                    .callback_id(callback)
                    .result(Blob::new(vec![0u8, 1, 2, 0xff]))
                    .send()
                    .await
                    .expect("a signed success verifies");
                let view = view(&server, &task);
                assert_eq!(result_bytes(&view), Some(vec![0u8, 1, 2, 0xff]));
            }
            "fail" => {
                client
                    .send_durable_execution_callback_failure()
                    .callback_id(callback)
                    .error(ErrorObject::builder().error_message("m").stack_trace("s").build())
                    .send()
                    .await
                    .expect("a signed failure verifies");
                assert_eq!(view(&server, &task).status, Status::Failed);
            }
            _ => {
                client
                    .send_durable_execution_callback_heartbeat()
                    .callback_id(callback)
                    .send()
                    .await
                    .expect("a signed heartbeat verifies");
                assert_eq!(view(&server, &task).heartbeats, 1);
            }
        }
    }
}

#[tokio::test]
async fn strict_mode_rejects_wrong_keys_with_codes_the_sdk_reports() {
    let server = strict_server().await;
    let task = server.create_task(TaskSpec::new(Provider::Lambda)).unwrap();

    let wrong_secret = client_with(&server, "test", "not-the-secret");
    let err = wrong_secret
        .send_durable_execution_callback_success()
        .callback_id(id(&task))
        .result(Blob::new("{}"))
        .send()
        .await
        .expect_err("a wrong secret is rejected")
        .into_service_error();
    assert_eq!(err.code(), Some("InvalidSignatureException"), "{err:?}");
    assert!(err.message().is_some_and(|m| !m.is_empty()), "{err:?}");
    assert_eq!(last_request(&server).1, 403);

    let unknown_key = client_with(&server, "AKIDUNKNOWN", "test");
    let err = unknown_key
        .send_durable_execution_callback_heartbeat()
        .callback_id(id(&task))
        .send()
        .await
        .expect_err("an unknown access key is rejected")
        .into_service_error();
    assert_eq!(err.code(), Some("UnrecognizedClientException"), "{err:?}");
    assert_eq!(err.message(), Some("The security token included in the request is invalid."));

    let view = view(&server, &task);
    assert_eq!((view.status, view.heartbeats), (Status::Pending, 0));
}

/// The README's Rust example (notes/readme-lambda.md), as printed there.
#[tokio::test]
async fn readme_example_callback_worker_reports_success() {
    use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_lambda::primitives::Blob;
    use tasktoken::{MockServer, Provider, Status, TaskSpec};

    let server = MockServer::start().await; // 127.0.0.1, ephemeral port, virtual clock
    let task = server.create_task(TaskSpec::new(Provider::Lambda).heartbeat_seconds(60)).unwrap();
    let config = aws_sdk_lambda::Config::builder()
        .endpoint_url(server.uri())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .http_client(aws_smithy_http_client::Builder::new().build_http()) // plain HTTP
        .behavior_version(BehaviorVersion::latest())
        .build();
    let lambda = aws_sdk_lambda::Client::from_conf(config);
    let callback_id = task.callback_id.unwrap(); // base64 with `+`, `/` and `==`
    lambda
        .send_durable_execution_callback_success()
        .callback_id(&callback_id)
        .result(Blob::new(r#"{"ok":true}"#))
        .send()
        .await
        .unwrap();
    let view = server.task(task.task_id).unwrap();
    assert_eq!(view.status, Status::Succeeded);
    assert_eq!(view.output.as_deref(), Some("eyJvayI6dHJ1ZX0=")); // the Result, base64
    let again = lambda.send_durable_execution_callback_heartbeat().callback_id(&callback_id);
    let err = again.send().await.unwrap_err().into_service_error();
    assert!(err.is_callback_timeout_exception()); // the first completion won
}
