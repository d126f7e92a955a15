//! Concurrent completions on one token, fired over HTTP behind a barrier: exactly one 200, every other call `TaskTimedOut`, and the stored result is the winner's, byte for byte.

use crate::common;

use std::sync::Arc;

use common::*;
use proptest::prelude::*;
use serde_json::json;
use tasktoken::{MockServer, Status};
use tokio::sync::Barrier;

#[derive(Debug, Clone)]
enum Call {
    Success(String),
    Failure(String, String),
    Heartbeat,
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![
        3 => "\\PC{0,40}".prop_map(|s| Call::Success(serde_json::to_string(&s).unwrap())),
        2 => ("\\PC{0,20}", "\\PC{0,40}").prop_map(|(e, c)| Call::Failure(e, c)),
        1 => Just(Call::Heartbeat),
    ]
}

/// The request for `call` on `token`, on the provider's wire.
fn request(alibaba: bool, call: &Call, token: &str) -> http::Request<bytes::Bytes> {
    match (alibaba, call) {
        (false, Call::Success(o)) => aws(SUCCESS, json(json!({"taskToken": token, "output": o}))),
        (false, Call::Failure(e, cause)) => {
            aws(FAILURE, json(json!({"taskToken": token, "error": e, "cause": cause})))
        }
        (false, Call::Heartbeat) => aws(HEARTBEAT, json(json!({"taskToken": token}))),
        (true, Call::Success(o)) => ali_succeed(token, o),
        (true, Call::Failure(e, cause)) => ali_fail(token, e, Some(cause)),
        (true, Call::Heartbeat) => unreachable!("alibaba has no heartbeat"),
    }
}

async fn race(calls: Vec<Call>) -> Result<(), TestCaseError> {
    race_on(false, calls).await
}

async fn race_on(alibaba: bool, calls: Vec<Call>) -> Result<(), TestCaseError> {
    let server = MockServer::start().await;
    let task = if alibaba { ali_task(&server) } else { task(&server) };
    let client = reqwest::Client::new();
    let barrier = Arc::new(Barrier::new(calls.len()));
    let mut handles = Vec::new();
    for c in calls.clone() {
        let (client, barrier, uri, token) =
            (client.clone(), barrier.clone(), server.uri(), task.task_token.clone());
        handles.push(tokio::spawn(async move {
            let (parts, body) = request(alibaba, &c, &token).into_parts();
            let mut request = client.request(parts.method, format!("{uri}{}", parts.uri));
            for (name, value) in &parts.headers {
                request = request.header(name, value);
            }
            let request = request.body(body);
            barrier.wait().await;
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            (c, status, text)
        }));
    }
    let mut winners = Vec::new();
    for h in handles {
        let (c, status, body) = h.await.unwrap();
        match (&c, status) {
            (Call::Heartbeat, 200) => {}
            (_, 200) => {
                if !alibaba {
                    prop_assert_eq!(body.as_str(), "{}");
                }
                winners.push(c);
            }
            (_, 400) if alibaba => {
                prop_assert!(body.contains("\"Code\":\"TaskAlreadyCompleted\""), "{}", body)
            }
            (_, 400) => prop_assert!(body.contains("#TaskTimedOut\""), "{}", body),
            (_, s) => prop_assert!(false, "status {} body {}", s, body),
        }
    }
    let completions = calls.iter().filter(|c| !matches!(c, Call::Heartbeat)).count();
    prop_assert_eq!(winners.len(), usize::from(completions > 0), "winners {:?}", winners);
    let view = server.task(task.task_id).unwrap();
    match winners.first() {
        Some(Call::Success(o)) => {
            prop_assert_eq!(view.status, Status::Succeeded);
            prop_assert_eq!(view.output.as_deref(), Some(o.as_str()));
        }
        Some(Call::Failure(e, c)) => {
            prop_assert_eq!(view.status, Status::Failed);
            prop_assert_eq!(view.error.as_deref(), Some(e.as_str()));
            prop_assert_eq!(view.cause.as_deref(), Some(c.as_str()));
        }
        _ => prop_assert_eq!(view.status, Status::Pending),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn concurrent_completions_have_exactly_one_winner(calls in proptest::collection::vec(call(), 1..=64)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(race(calls))?;
    }
}

fn alibaba_call() -> impl Strategy<Value = Call> {
    prop_oneof![
        "\\PC{0,40}".prop_map(|s| Call::Success(serde_json::to_string(&s).unwrap())),
        ("\\PC{1,20}", "\\PC{1,40}").prop_map(|(e, c)| Call::Failure(e, c)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn concurrent_alibaba_reports_have_exactly_one_winner(calls in proptest::collection::vec(alibaba_call(), 1..=64)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(race_on(true, calls))?;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_identical_successes_have_one_winner() {
    let calls = vec![Call::Success("{\"same\":true}".into()); 64];
    race(calls).await.unwrap();
}
