//! Drives the mock with the official AWS SDK for Rust (`aws-sdk-sfn`): every outcome of SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat as the SDK parses it.

use aws_sdk_sfn::config::retry::RetryConfig;
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::operation::send_task_failure::SendTaskFailureError;
use aws_sdk_sfn::operation::send_task_heartbeat::SendTaskHeartbeatError;
use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessError;
use aws_sdk_sfn::operation::RequestId;
use aws_sdk_sfn::Client;
use tasktoken::{MockServer, NewTask, Provider, Status, TaskSpec};

const INVALID_TOKEN_MESSAGE: &str = "Invalid Token: 'Invalid token'";
const TASK_TIMED_OUT_MESSAGE: &str = "Task Timed Out: 'Provided task does not exist anymore'";
/// A token the mock never minted (right shape, wrong MAC).
const GARBAGE_TOKEN: &str = "AAAAKgAAAAIAAAAAAAAAAExampleCaptureToken==";

/// An SDK client pointed at `server`: static credentials, no aws-config, no retries.
fn client(server: &MockServer) -> Client {
    let config = aws_sdk_sfn::Config::builder()
        .endpoint_url(server.uri())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(RetryConfig::disabled())
        .behavior_version(BehaviorVersion::latest())
        .build();
    Client::from_conf(config)
}

async fn start() -> (MockServer, Client, NewTask) {
    let server = MockServer::start().await;
    let client = client(&server);
    let task = server.create_task(TaskSpec::new(Provider::Aws)).unwrap();
    (server, client, task)
}

/// Whether `s` is a lowercase UUID v4, as AWS request ids are.
fn is_lowercase_uuid_v4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
        && parts[2].starts_with('4')
        && matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b')
}

/// Whether a SendTaskSuccess error is none of the operation's modelled errors (`Unhandled`).
fn is_unmodelled(err: &SendTaskSuccessError) -> bool {
    !(err.is_invalid_output()
        || err.is_invalid_token()
        || err.is_kms_access_denied_exception()
        || err.is_kms_invalid_state_exception()
        || err.is_kms_throttling_exception()
        || err.is_task_does_not_exist()
        || err.is_task_timed_out())
}

#[tokio::test]
async fn send_task_success_is_accepted_and_the_output_is_stored_byte_for_byte() {
    let (server, client, task) = start().await;
    let output = r#"{"k":"€😀","n":[1,2.5,null],"s":"tab\tquote\"slash\\"}"#;
    client
        .send_task_success()
        .task_token(&task.task_token)
        .output(output)
        .send()
        .await
        .expect("SendTaskSuccess on a live token succeeds");
    let view = server.task(task.task_id).unwrap();
    assert_eq!(view.status, Status::Succeeded);
    assert_eq!(view.output.as_deref(), Some(output));
    assert_eq!(view.output.unwrap().as_bytes(), output.as_bytes());
}

#[tokio::test]
async fn send_task_success_stores_non_ascii_output_exactly() {
    let (server, client, task) = start().await;
    client
        .send_task_success()
        .task_token(&task.task_token)
        .output(r#"{"k":"€😀"}"#)
        .send()
        .await
        .expect("SendTaskSuccess on a live token succeeds");
    let view = server.task(task.task_id).unwrap();
    assert_eq!(view.status, Status::Succeeded);
    assert_eq!(
        view.output.as_deref().map(str::as_bytes),
        Some("{\"k\":\"\u{20ac}\u{1f600}\"}".as_bytes())
    );
}

#[tokio::test]
async fn send_task_failure_with_error_and_cause_marks_the_task_failed_with_both() {
    let (server, client, task) = start().await;
    client
        .send_task_failure()
        .task_token(&task.task_token)
        .error("Worker.Crashed")
        .cause("disk full: /var €")
        .send()
        .await
        .expect("SendTaskFailure on a live token succeeds");
    let view = server.task(task.task_id).unwrap();
    assert_eq!(view.status, Status::Failed);
    assert_eq!(view.error.as_deref(), Some("Worker.Crashed"));
    assert_eq!(view.cause.as_deref(), Some("disk full: /var €"));
    assert_eq!(view.output, None);
}

#[tokio::test]
async fn send_task_failure_with_neither_error_nor_cause_is_accepted() {
    let (server, client, task) = start().await;
    client
        .send_task_failure()
        .task_token(&task.task_token)
        .send()
        .await
        .expect("SendTaskFailure without error and cause succeeds");
    let view = server.task(task.task_id).unwrap();
    assert_eq!(view.status, Status::Failed);
    assert_eq!(view.error, None);
    assert_eq!(view.cause, None);
}

#[tokio::test]
async fn send_task_heartbeat_is_accepted_and_counted_and_the_task_stays_pending() {
    let (server, client, task) = start().await;
    assert_eq!(server.task(task.task_id).unwrap().heartbeats, 0);
    for expected in 1..=3 {
        client
            .send_task_heartbeat()
            .task_token(&task.task_token)
            .send()
            .await
            .expect("SendTaskHeartbeat on a live token succeeds");
        let view = server.task(task.task_id).unwrap();
        assert_eq!(view.heartbeats, expected);
        assert_eq!(view.status, Status::Pending);
    }
}

#[tokio::test]
async fn a_second_send_task_success_on_the_same_token_is_the_typed_task_timed_out() {
    let (server, client, task) = start().await;
    client
        .send_task_success()
        .task_token(&task.task_token)
        .output("[1]")
        .send()
        .await
        .expect("the first SendTaskSuccess succeeds");
    // Same output: a client retry after an applied success (observed: TaskTimedOut).
    let err = client
        .send_task_success()
        .task_token(&task.task_token)
        .output("[1]")
        .send()
        .await
        .expect_err("the second SendTaskSuccess is rejected")
        .into_service_error();
    assert_eq!(err.code(), Some("TaskTimedOut"));
    assert_eq!(err.message(), Some(TASK_TIMED_OUT_MESSAGE));
    assert!(
        matches!(err, SendTaskSuccessError::TaskTimedOut(_)),
        "expected TaskTimedOut, got {err:?}"
    );
    assert_eq!(server.task(task.task_id).unwrap().output.as_deref(), Some("[1]"));
}

#[tokio::test]
async fn send_task_heartbeat_after_completion_is_the_typed_task_timed_out() {
    let (server, client, task) = start().await;
    client
        .send_task_failure()
        .task_token(&task.task_token)
        .error("E")
        .send()
        .await
        .expect("SendTaskFailure succeeds");
    let err = client
        .send_task_heartbeat()
        .task_token(&task.task_token)
        .send()
        .await
        .expect_err("heartbeat on a closed task is rejected")
        .into_service_error();
    assert_eq!(err.message(), Some(TASK_TIMED_OUT_MESSAGE));
    assert!(
        matches!(err, SendTaskHeartbeatError::TaskTimedOut(_)),
        "expected TaskTimedOut, got {err:?}"
    );
    let view = server.task(task.task_id).unwrap();
    assert_eq!((view.status, view.heartbeats), (Status::Failed, 0));
}

#[tokio::test]
async fn send_task_failure_after_success_is_the_typed_task_timed_out() {
    let (server, client, task) = start().await;
    client
        .send_task_success()
        .task_token(&task.task_token)
        .output("{}")
        .send()
        .await
        .expect("SendTaskSuccess succeeds");
    let err = client
        .send_task_failure()
        .task_token(&task.task_token)
        .error("Late")
        .send()
        .await
        .expect_err("a failure after a success is rejected")
        .into_service_error();
    assert!(
        matches!(err, SendTaskFailureError::TaskTimedOut(_)),
        "expected TaskTimedOut, got {err:?}"
    );
    assert_eq!(server.task(task.task_id).unwrap().status, Status::Succeeded);
}

#[tokio::test]
async fn a_garbage_token_is_the_typed_invalid_token_for_every_operation() {
    let (server, client, task) = start().await;

    let err = client
        .send_task_success()
        .task_token(GARBAGE_TOKEN)
        .output("{}")
        .send()
        .await
        .expect_err("SendTaskSuccess with a garbage token is rejected")
        .into_service_error();
    assert_eq!(err.message(), Some(INVALID_TOKEN_MESSAGE));
    assert!(
        matches!(err, SendTaskSuccessError::InvalidToken(_)),
        "expected InvalidToken, got {err:?}"
    );

    let err = client
        .send_task_failure()
        .task_token(GARBAGE_TOKEN)
        .error("E")
        .cause("C")
        .send()
        .await
        .expect_err("SendTaskFailure with a garbage token is rejected")
        .into_service_error();
    assert_eq!(err.message(), Some(INVALID_TOKEN_MESSAGE));
    assert!(
        matches!(err, SendTaskFailureError::InvalidToken(_)),
        "expected InvalidToken, got {err:?}"
    );

    let err = client
        .send_task_heartbeat()
        .task_token(GARBAGE_TOKEN)
        .send()
        .await
        .expect_err("SendTaskHeartbeat with a garbage token is rejected")
        .into_service_error();
    assert_eq!(err.message(), Some(INVALID_TOKEN_MESSAGE));
    assert!(
        matches!(err, SendTaskHeartbeatError::InvalidToken(_)),
        "expected InvalidToken, got {err:?}"
    );

    // A real token with one character changed is garbage too.
    let mut altered = task.task_token.clone().into_bytes();
    altered[10] = if altered[10] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let err = client
        .send_task_heartbeat()
        .task_token(altered)
        .send()
        .await
        .expect_err("an altered token is rejected")
        .into_service_error();
    assert!(
        matches!(err, SendTaskHeartbeatError::InvalidToken(_)),
        "expected InvalidToken, got {err:?}"
    );
    let view = server.task(task.task_id).unwrap();
    assert_eq!((view.status, view.heartbeats), (Status::Pending, 0));
}

#[tokio::test]
async fn non_json_output_on_a_live_token_is_the_typed_invalid_output_and_the_task_stays_pending() {
    let (server, client, task) = start().await;
    let err = client
        .send_task_success()
        .task_token(&task.task_token)
        .output("{not json")
        .send()
        .await
        .expect_err("a non-JSON output is rejected")
        .into_service_error();
    assert_eq!(err.code(), Some("InvalidOutput"));
    let message = err.message().expect("InvalidOutput carries a message");
    assert!(
        message.starts_with("Invalid Output: '") && message.ends_with('\''),
        "message {message:?}"
    );
    assert!(
        matches!(err, SendTaskSuccessError::InvalidOutput(_)),
        "expected InvalidOutput, got {err:?}"
    );
    let view = server.task(task.task_id).unwrap();
    assert_eq!(view.status, Status::Pending);
    assert_eq!(view.output, None);

    // The task is still live: a valid output now wins.
    client
        .send_task_success()
        .task_token(&task.task_token)
        .output("\"x\"")
        .send()
        .await
        .expect("a scalar JSON output on the still-live token succeeds");
    assert_eq!(server.task(task.task_id).unwrap().status, Status::Succeeded);
}

#[tokio::test]
async fn a_2049_character_token_is_an_unhandled_validation_exception_with_the_contract_message() {
    let (_server, client, _task) = start().await;
    let token = "A".repeat(2049);
    let expected = "1 validation error detected: Value at 'taskToken' failed to satisfy \
                    constraint: Member must have length less than or equal to 2048";

    let err = client
        .send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .expect_err("a 2049-character token is rejected")
        .into_service_error();
    assert_eq!(err.code(), Some("ValidationException"));
    assert_eq!(err.message(), Some(expected));
    // ValidationException is not a modelled error of SendTaskHeartbeat: it lands in the
    // (deprecated to match on) `Unhandled` variant, so no typed predicate holds.
    assert!(
        !(err.is_invalid_token() || err.is_task_timed_out() || err.is_task_does_not_exist()),
        "{err:?}"
    );

    let err = client
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .expect_err("a 2049-character token is rejected")
        .into_service_error();
    assert_eq!(err.code(), Some("ValidationException"));
    assert_eq!(err.message(), Some(expected));
    assert!(is_unmodelled(&err), "{err:?}");
}

#[tokio::test]
async fn a_262145_byte_output_is_an_unhandled_validation_exception_with_the_contract_message() {
    let (server, client, task) = start().await;
    // A JSON string of 262145 bytes: 262143 ASCII letters between two quotes.
    let output = format!("\"{}\"", "a".repeat(262_143));
    assert_eq!(output.len(), 262_145);
    let err = client
        .send_task_success()
        .task_token(&task.task_token)
        .output(output)
        .send()
        .await
        .expect_err("an output over 262144 bytes is rejected")
        .into_service_error();
    assert_eq!(err.code(), Some("ValidationException"));
    assert_eq!(
        err.message(),
        Some(
            "1 validation error detected: Value at 'output' failed to satisfy constraint: \
             Member must have length less than or equal to 262144"
        )
    );
    assert!(is_unmodelled(&err), "{err:?}");
    assert_eq!(server.task(task.task_id).unwrap().status, Status::Pending);

    // Bytes, not characters: 87381 euro signs are 87383 characters but 262145 UTF-8 bytes.
    let euros = format!("\"{}\"", "€".repeat(87_381));
    assert_eq!((euros.len(), euros.chars().count()), (262_145, 87_383));
    let err = client
        .send_task_success()
        .task_token(&task.task_token)
        .output(euros)
        .send()
        .await
        .expect_err("an output over 262144 UTF-8 bytes is rejected")
        .into_service_error();
    assert_eq!(err.code(), Some("ValidationException"));
    assert_eq!(server.task(task.task_id).unwrap().status, Status::Pending);

    // Exactly 262144 bytes is accepted.
    let at_limit = format!("\"{}aa\"", "€".repeat(87_380));
    assert_eq!(at_limit.len(), 262_144);
    client
        .send_task_success()
        .task_token(&task.task_token)
        .output(&at_limit)
        .send()
        .await
        .expect("an output of exactly 262144 UTF-8 bytes is accepted");
    assert_eq!(server.task(task.task_id).unwrap().output.as_deref(), Some(at_limit.as_str()));
}

#[tokio::test]
async fn the_request_id_of_successes_and_errors_reaches_the_sdk() {
    let (_server, client, task) = start().await;
    let first = client
        .send_task_heartbeat()
        .task_token(&task.task_token)
        .send()
        .await
        .expect("heartbeat succeeds");
    let first_id = first.request_id().expect("the success carries a request id");
    assert!(is_lowercase_uuid_v4(first_id), "request id {first_id}");

    let second = client
        .send_task_heartbeat()
        .task_token(&task.task_token)
        .send()
        .await
        .expect("heartbeat succeeds");
    let second_id = second.request_id().expect("the success carries a request id");
    assert!(is_lowercase_uuid_v4(second_id), "request id {second_id}");
    assert_ne!(first_id, second_id, "each response has its own request id");

    let err = client
        .send_task_heartbeat()
        .task_token(GARBAGE_TOKEN)
        .send()
        .await
        .expect_err("a garbage token is rejected");
    let sdk_error_id = err.request_id().expect("the error carries a request id").to_owned();
    assert!(is_lowercase_uuid_v4(&sdk_error_id), "{sdk_error_id}");
    let service_error = err.into_service_error();
    assert_eq!(service_error.request_id(), Some(sdk_error_id.as_str()));
}

/// An activity worker's loop with the SDK: create the activity, poll (held until a task is
/// scheduled), heartbeat, succeed; an idle poll is `None`; the activity errors are typed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_worker_runs_unmodified_with_the_sdk() {
    let server = MockServer::start().await;
    let client = client(&server);
    let created = client.create_activity().name("resize").send().await.unwrap();
    let arn = created.activity_arn().to_owned();
    assert_eq!(arn, "arn:aws:states:us-east-1:123456789012:activity:resize");
    let again = client.create_activity().name("resize").send().await.unwrap();
    assert_eq!(
        (again.activity_arn(), again.creation_date()),
        (arn.as_str(), created.creation_date())
    );
    let listed = client.list_activities().send().await.unwrap();
    assert_eq!(listed.activities().len(), 1);

    let poll = tokio::spawn({
        let (client, arn) = (client.clone(), arn.clone());
        async move {
            client.get_activity_task().activity_arn(arn).worker_name("rust-worker").send().await
        }
    });
    while server.waiting_polls(&arn) != Some(1) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let input = "{\"width\": 640, \"name\": \"é\"}";
    let task = server
        .schedule_activity_task(&arn, TaskSpec::new(Provider::Aws).heartbeat_seconds(30), input)
        .unwrap();
    let got = poll.await.unwrap().unwrap();
    assert_eq!((got.task_token(), got.input()), (Some(task.task_token.as_str()), Some(input)));
    client.send_task_heartbeat().task_token(&task.task_token).send().await.unwrap();
    client
        .send_task_success()
        .task_token(&task.task_token)
        .output("{\"ok\":true}")
        .send()
        .await
        .unwrap();
    let view = server.task(task.task_id).unwrap();
    assert_eq!((view.status, view.heartbeats), (Status::Succeeded, 1));
    assert_eq!(view.activity.unwrap().worker_name.as_deref(), Some("rust-worker"));

    // Idle: the SDK sees no token (the answer is `{}`); the virtual clock ends the hold.
    let idle = tokio::spawn({
        let (client, arn) = (client.clone(), arn.clone());
        async move { client.get_activity_task().activity_arn(arn).send().await }
    });
    while server.waiting_polls(&arn) != Some(1) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.advance_clock(std::time::Duration::from_secs(60)).unwrap();
    let idle = idle.await.unwrap().unwrap();
    assert_eq!((idle.task_token(), idle.input()), (None, None));

    let unknown = "arn:aws:states:us-east-1:123456789012:activity:nope";
    let e = client.get_activity_task().activity_arn(unknown).send().await.unwrap_err();
    let e = e.into_service_error();
    assert!(e.is_activity_does_not_exist(), "{e:?}");
    assert_eq!(e.message(), Some(format!("Activity Does Not Exist: '{unknown}'").as_str()));
    let e = client.describe_activity().activity_arn("no_an_activity_arn").send().await.unwrap_err();
    let e = e.into_service_error();
    assert!(e.is_invalid_arn(), "{e:?}");
    assert_eq!(e.message(), Some("Invalid Arn: 'Invalid ARN prefix: no_an_activity_arn'"));
    let e = client.create_activity().name("a b").send().await.unwrap_err().into_service_error();
    assert!(e.is_invalid_name(), "{e:?}");
    client.delete_activity().activity_arn(&arn).send().await.unwrap();
    client.delete_activity().activity_arn(&arn).send().await.unwrap();
}
