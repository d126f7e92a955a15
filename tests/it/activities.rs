//! The Step Functions activity API on the mock: exact error bytes, held polls, exactly-once hand-off, hang-ups.

use crate::common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tasktoken::{Clock, Mock, MockConfig, MockServer, Provider, Status, TaskSpec};
use tokio::io::AsyncWriteExt;

const CREATE: &str = "AWSStepFunctions.CreateActivity";
const DESCRIBE: &str = "AWSStepFunctions.DescribeActivity";
const LIST: &str = "AWSStepFunctions.ListActivities";
const DELETE: &str = "AWSStepFunctions.DeleteActivity";
const POLL: &str = "AWSStepFunctions.GetActivityTask";

fn snap(name: &str, response: http::Response<bytes::Bytes>) {
    snapshot_settings().bind(|| insta::assert_snapshot!(name, render(&response)));
}

fn body(response: &http::Response<bytes::Bytes>) -> Value {
    serde_json::from_slice(response.body()).unwrap()
}

/// A mock with one activity `work`; its ARN.
fn with_activity(config: MockConfig) -> (Mock, String) {
    let mock = Mock::new(config).unwrap();
    let arn = mock.create_activity("work").unwrap().activity_arn;
    (mock, arn)
}

#[test]
fn errors_have_the_exact_aws_texts() {
    let (m, _) = with_activity(MockConfig::default());
    snap(
        "aws_activity_invalid_arn",
        m.handle(aws(POLL, json(json!({"activityArn": "no_an_activity_arn"})))),
    );
    let unknown = "arn:aws:states:us-east-1:123456789012:activity:nope";
    snap("aws_activity_does_not_exist", m.handle(aws(POLL, json(json!({"activityArn": unknown})))));
    snap("aws_activity_invalid_name", m.handle(aws(CREATE, json(json!({"name": "a b"})))));
    let long = json!({"activityArn": unknown, "workerName": "w".repeat(81)});
    snap("aws_activity_worker_name_too_long", m.handle(aws(POLL, json(long))));
    snap("aws_activity_poll_without_body", m.handle(aws(POLL, "")));
    assert_eq!(
        message(&m.handle(aws(DESCRIBE, json(json!({"activityArn": unknown}))))).unwrap(),
        format!("Activity Does Not Exist: '{unknown}'")
    );
    for bad in [
        json!({"activityArn": 5}),
        json!({"activityArn": ["a"]}),
        json!({"activityArn": "arn:x", "workerName": {}}),
    ] {
        assert_eq!(
            code(&m.handle(aws(POLL, json(bad.clone())))),
            "SerializationException",
            "{bad}"
        );
    }
    assert_eq!(code(&m.handle(aws(POLL, "{}"))), "ValidationException");
    let arn_too_long = format!("arn:{}", "a".repeat(253));
    assert_eq!(
        code(&m.handle(aws(POLL, json(json!({"activityArn": arn_too_long}))))),
        "ValidationException"
    );
    assert_eq!(
        code(&m.handle(aws(CREATE, json(json!({"name": "n".repeat(81)}))))),
        "ValidationException"
    );
    assert_eq!(code(&m.handle(aws(DELETE, json(json!({"activityArn": "x"}))))), "InvalidArn");
    assert_eq!(code(&m.handle(aws(LIST, json(json!({"nextToken": "forged"}))))), "InvalidToken");
}

#[test]
fn create_is_idempotent_delete_too_and_list_pages_in_creation_order() {
    let m = mock();
    let first = body(&m.handle(aws(CREATE, json(json!({"name": "b"})))));
    let again = body(
        &m.handle(aws(CREATE, json(json!({"name": "b", "tags": [{"key": "k", "value": "v"}]})))),
    );
    assert_eq!(first, again);
    assert_eq!(first["activityArn"], "arn:aws:states:us-east-1:123456789012:activity:b");
    for name in ["a", "c"] {
        m.handle(aws(CREATE, json(json!({"name": name}))));
    }
    let described =
        body(&m.handle(aws(DESCRIBE, json(json!({"activityArn": first["activityArn"]})))));
    assert_eq!(described["encryptionConfiguration"], json!({"type": "AWS_OWNED_KEY"}));
    assert_eq!(described["creationDate"], first["creationDate"]);
    let mut names = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..5 {
        let mut request = json!({"maxResults": 1});
        if let Some(t) = &next {
            request["nextToken"] = json!(t);
        }
        let page = body(&m.handle(aws(LIST, json(request))));
        names.extend(
            page["activities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_owned()),
        );
        match page["nextToken"].as_str() {
            Some(t) => next = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(names, ["b", "a", "c"]);
    for _ in 0..2 {
        let deleted = m.handle(aws(DELETE, json(json!({"activityArn": first["activityArn"]}))));
        assert_eq!((deleted.status().as_u16(), deleted.body().as_ref()), (200, &b"{}"[..]));
    }
    assert_eq!(
        code(&m.handle(aws(POLL, json(json!({"activityArn": first["activityArn"]}))))),
        "ActivityDoesNotExist"
    );
}

#[test]
fn the_region_of_the_sigv4_scope_names_the_arn() {
    let m = mock();
    let mut request = aws(CREATE, json(json!({"name": "r"})));
    request.headers_mut().insert(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=test/20261201/eu-west-3/states/aws4_request, SignedHeaders=host, Signature=00"
            .parse()
            .unwrap(),
    );
    assert_eq!(
        body(&m.handle(request))["activityArn"],
        "arn:aws:states:eu-west-3:123456789012:activity:r"
    );
}

#[test]
fn a_queued_task_is_delivered_byte_for_byte_and_its_timers_start_then() {
    let (m, arn) = with_activity(MockConfig::default());
    let input = "{ \"k\" : \"\\u00e9 é 😀\",\t\"n\": 1.50 }";
    let t = m
        .schedule_activity_task(&arn, TaskSpec::new(Provider::Aws).timeout_seconds(10), input)
        .unwrap();
    // Nobody takes it: it stays queued however long.
    m.advance_clock(Duration::from_secs(3600)).unwrap();
    let view = m.task(t.task_id).unwrap();
    assert_eq!((view.status, view.activity.as_ref().unwrap().delivered), (Status::Pending, false));
    let got = m.handle(aws(POLL, json(json!({"activityArn": arn, "workerName": "w-1"}))));
    let expected = format!(r#"{{"taskToken":"{}","input":{}}}"#, t.task_token, json!(input));
    assert_eq!(std::str::from_utf8(got.body()).unwrap(), expected);
    let view = m.task(t.task_id).unwrap();
    let activity = view.activity.unwrap();
    assert!(activity.delivered);
    assert_eq!((activity.input.as_str(), activity.worker_name.as_deref()), (input, Some("w-1")));
    m.advance_clock(Duration::from_secs(9)).unwrap();
    assert_eq!(m.task(t.task_id).unwrap().status, Status::Pending);
    m.advance_clock(Duration::from_secs(1)).unwrap();
    assert_eq!(m.task(t.task_id).unwrap().status, Status::TimedOut);
    // The next poll finds nothing: the synchronous engine answers `{}` at once.
    assert_eq!(m.handle(aws(POLL, json(json!({"activityArn": arn})))).body().as_ref(), b"{}");
}

#[test]
fn first_scheduled_first_delivered_and_closed_tasks_are_skipped() {
    let (m, arn) = with_activity(MockConfig::default());
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            m.schedule_activity_task(&arn, TaskSpec::new(Provider::Aws), &i.to_string()).unwrap()
        })
        .collect();
    let hb = m.handle(aws(SUCCESS, json(json!({"taskToken": tasks[1].task_token, "output": "1"}))));
    assert_eq!(hb.status(), 200);
    assert!(m.delete_task(tasks[2].task_id));
    let inputs: Vec<Value> = (0..3)
        .map(|_| body(&m.handle(aws(POLL, json(json!({"activityArn": arn}))))))
        .map(|b| b.get("input").cloned().unwrap_or(Value::Null))
        .collect();
    assert_eq!(inputs, [json!("0"), json!("3"), Value::Null]);
}

#[test]
fn scheduling_checks_the_activity_and_the_input() {
    let (m, arn) = with_activity(MockConfig::default());
    let spec = || TaskSpec::new(Provider::Aws);
    assert!(m
        .schedule_activity_task("arn:aws:states:us-east-1:123456789012:activity:x", spec(), "{}")
        .is_err());
    assert!(m.schedule_activity_task(&arn, spec(), "not json").is_err());
    let max = format!("\"{}\"", "é".repeat((262_144 - 2) / 2));
    assert!(m.schedule_activity_task(&arn, spec(), &max).is_ok());
    let over = format!("\"{}\"", "é".repeat((262_144 - 2) / 2 + 1));
    assert!(m.schedule_activity_task(&arn, spec(), &over).is_err());
    assert!(m.schedule_activity_task(&arn, TaskSpec::new(Provider::Alibaba), "{}").is_err());
}

async fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

async fn post(client: &reqwest::Client, uri: &str, target: &str, body: Value) -> (u16, Value) {
    let response = client
        .post(uri)
        .header("X-Amz-Target", target)
        .header("Content-Type", "application/x-amz-json-1.0")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.bytes().await.unwrap()).unwrap())
}

/// Waits (bounded) until `n` polls wait on `arn`.
async fn until_waiting(mock: &Mock, arn: &str, n: usize) {
    for _ in 0..1000 {
        if mock.waiting_polls(arn) == Some(n) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{n} polls never waited; {:?} do", mock.waiting_polls(arn));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_poll_ends_when_the_virtual_clock_passes_the_hold() {
    let mock = Mock::new(MockConfig::default().poll_hold(Duration::from_secs(60))).unwrap();
    let arn = mock.create_activity("idle").unwrap().activity_arn;
    let server = MockServer::start_with(mock.clone()).await.unwrap();
    let c = client().await;
    let poll = tokio::spawn({
        let (c, uri, arn) = (c.clone(), server.uri(), arn.clone());
        async move { post(&c, &uri, POLL, json!({"activityArn": arn})).await }
    });
    until_waiting(&mock, &arn, 1).await;
    mock.advance_clock(Duration::from_secs(59)).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!poll.is_finished(), "the poll ended before its hold");
    mock.advance_clock(Duration::from_secs(1)).unwrap();
    let (status, answer) =
        tokio::time::timeout(Duration::from_secs(10), poll).await.unwrap().unwrap();
    assert_eq!((status, answer), (200, json!({})));
    assert_eq!(mock.waiting_polls(&arn), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_scheduled_while_a_poll_waits_is_handed_over_at_once() {
    let (mock, arn) = with_activity(MockConfig::default());
    let server = MockServer::start_with(mock.clone()).await.unwrap();
    let c = client().await;
    let poll = tokio::spawn({
        let (c, uri, arn) = (c.clone(), server.uri(), arn.clone());
        async move { post(&c, &uri, POLL, json!({"activityArn": arn, "workerName": "w"})).await }
    });
    until_waiting(&mock, &arn, 1).await;
    let t = mock
        .schedule_activity_task(&arn, TaskSpec::new(Provider::Aws).heartbeat_seconds(5), "[1, 2]")
        .unwrap();
    let (status, answer) =
        tokio::time::timeout(Duration::from_secs(10), poll).await.unwrap().unwrap();
    assert_eq!((status, answer), (200, json!({"taskToken": t.task_token, "input": "[1, 2]"})));
    let activity = mock.task(t.task_id).unwrap().activity.unwrap();
    assert!(activity.delivered);
    assert_eq!(activity.worker_name.as_deref(), Some("w"));
    // The delivered token works as any other: heartbeat, then success.
    let (s, _) = post(&c, &server.uri(), HEARTBEAT, json!({"taskToken": t.task_token})).await;
    assert_eq!(s, 200);
    let (s, _) =
        post(&c, &server.uri(), SUCCESS, json!({"taskToken": t.task_token, "output": "{}"})).await;
    assert_eq!(s, 200);
    assert_eq!(mock.task(t.task_id).unwrap().heartbeats, 1);
    // The held poll is journalled when its hold ends, from copies of what it sent.
    let entries = mock.journal().snapshot().entries;
    let polled = entries.iter().find(|e| e.operation.as_deref() == Some(POLL)).unwrap();
    let sent = json!({"activityArn": arn, "workerName": "w"}).to_string();
    assert_eq!(
        (polled.method.as_str(), polled.path.as_str(), polled.body.as_str(), polled.body_bytes),
        ("POST", "/", sent.as_str(), sent.len())
    );
    assert_eq!((polled.status, polled.task_id), (200, Some(t.task_id)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_whose_client_hung_up_loses_no_task() {
    let (mock, arn) = with_activity(MockConfig::default());
    let server = MockServer::start_with(mock.clone()).await.unwrap();
    let body = json!({"activityArn": arn}).to_string();
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {POLL}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    for _ in 0..3 {
        let mut stream = tokio::net::TcpStream::connect(server.address()).await.unwrap();
        stream.write_all(raw.as_bytes()).await.unwrap();
        until_waiting(&mock, &arn, 1).await;
        drop(stream);
        // The server sees the hang-up and takes the poll out of the line.
        until_waiting(&mock, &arn, 0).await;
    }
    let t = mock.schedule_activity_task(&arn, TaskSpec::new(Provider::Aws), "\"x\"").unwrap();
    assert!(!mock.task(t.task_id).unwrap().activity.unwrap().delivered);
    assert_eq!(mock.activities()[0].queued_tasks, 1);
    let (_, answer) = post(&client().await, &server.uri(), POLL, json!({"activityArn": arn})).await;
    assert_eq!(answer["taskToken"], json!(t.task_token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_by_fault_puts_the_task_back_at_the_head_of_the_queue() {
    let (mock, arn) = with_activity(MockConfig::default());
    let server = MockServer::start_with(mock.clone()).await.unwrap();
    let first = mock.schedule_activity_task(&arn, TaskSpec::new(Provider::Aws), "1").unwrap();
    let _second = mock.schedule_activity_task(&arn, TaskSpec::new(Provider::Aws), "2").unwrap();
    let spec = serde_json::from_value(
        json!({"provider": "aws", "operation": "GetActivityTask", "reset": true, "count": 1}),
    )
    .unwrap();
    mock.add_fault(spec).unwrap();
    let c = client().await;
    let lost = c
        .post(server.uri())
        .header("X-Amz-Target", POLL)
        .body(json!({"activityArn": arn}).to_string())
        .send()
        .await;
    assert!(lost.is_err(), "the fault drops the connection");
    let (_, answer) = post(&c, &server.uri(), POLL, json!({"activityArn": arn})).await;
    assert_eq!(answer["taskToken"], json!(first.task_token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_or_resetting_answers_waiting_polls_at_once() {
    let (mock, arn) = with_activity(MockConfig::default());
    let server = MockServer::start_with(mock.clone()).await.unwrap();
    let c = client().await;
    for action in ["reset", "delete"] {
        let polls: Vec<_> = (0..3)
            .map(|_| {
                let (c, uri, arn) = (c.clone(), server.uri(), arn.clone());
                tokio::spawn(async move { post(&c, &uri, POLL, json!({"activityArn": arn})).await })
            })
            .collect();
        until_waiting(&mock, &arn, 3).await;
        match action {
            "reset" => mock.reset(),
            _ => {
                post(&c, &server.uri(), DELETE, json!({"activityArn": arn})).await;
            }
        }
        for poll in polls {
            let answer =
                tokio::time::timeout(Duration::from_secs(10), poll).await.unwrap().unwrap();
            assert_eq!(answer, (200, json!({})), "{action}");
        }
    }
    let (status, answer) = post(&c, &server.uri(), POLL, json!({"activityArn": arn})).await;
    assert_eq!(
        (status, answer["__type"].as_str()),
        (400, Some("com.amazonaws.swf.service.v2.model#ActivityDoesNotExist"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_polls_outlive_the_read_timeouts_and_do_not_starve_other_requests() {
    let config = MockConfig {
        clock: Clock::real(),
        header_read_timeout: Duration::from_millis(300),
        body_read_timeout: Duration::from_millis(300),
        ..MockConfig::default()
    }
    .poll_hold(Duration::from_millis(1500));
    let (mock, arn) = with_activity(config);
    let server = MockServer::start_with(mock.clone()).await.unwrap();
    let c = client().await;
    let polls: Vec<_> = (0..100)
        .map(|_| {
            let (c, uri, arn) = (c.clone(), server.uri(), arn.clone());
            tokio::spawn(async move { post(&c, &uri, POLL, json!({"activityArn": arn})).await })
        })
        .collect();
    until_waiting(&mock, &arn, 100).await;
    // With 100 polls held, other calls are answered (each well inside the hold).
    let t = task(&mock);
    for _ in 0..20 {
        let (s, _) = post(&c, &server.uri(), HEARTBEAT, json!({"taskToken": t.task_token})).await;
        assert_eq!(s, 200);
    }
    assert_eq!(mock.waiting_polls(&arn), Some(100), "the heartbeats ran while the polls were held");
    // Past the 300 ms read timeouts, every held poll still gets its `{}`.
    for poll in polls {
        let answer = tokio::time::timeout(Duration::from_secs(20), poll).await.unwrap().unwrap();
        assert_eq!(answer, (200, json!({})));
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 12, ..Default::default() })]

    /// N pollers, M tasks scheduled while they poll: every task reaches exactly one poll,
    /// with its input byte for byte.
    #[test]
    fn every_task_goes_to_exactly_one_poll(pollers in 1usize..12, tasks in 0usize..40, seed in 0u64..1000) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(exactly_once(pollers, tasks, seed));
    }
}

async fn exactly_once(pollers: usize, tasks: usize, seed: u64) {
    let config = MockConfig { clock: Clock::real(), ..MockConfig::default() }
        .poll_hold(Duration::from_millis(100));
    let (mock, arn) = with_activity(config);
    let server = MockServer::start_with(mock.clone()).await.unwrap();
    let c = client().await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..pollers)
        .map(|i| {
            let (c, uri, arn, done) = (c.clone(), server.uri(), arn.clone(), done.clone());
            tokio::spawn(async move {
                let mut got = Vec::new();
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    let (status, answer) = post(
                        &c,
                        &uri,
                        POLL,
                        json!({"activityArn": arn, "workerName": format!("w{i}")}),
                    )
                    .await;
                    assert_eq!(status, 200);
                    if let Some(token) = answer["taskToken"].as_str() {
                        got.push((token.to_owned(), answer["input"].as_str().unwrap().to_owned()));
                    }
                }
                got
            })
        })
        .collect();
    let mut rng = seed;
    let mut scheduled = Vec::new();
    let mut ids = Vec::new();
    for i in 0..tasks {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        if rng >> 62 == 0 {
            tokio::time::sleep(Duration::from_millis(rng % 7)).await;
        }
        let input = format!("{{\"i\": {i}, \"s\": \"é\"}}");
        let t = mock.schedule_activity_task(&arn, TaskSpec::new(Provider::Aws), &input).unwrap();
        ids.push(t.task_id);
        scheduled.push((t.task_token, input));
    }
    for _ in 0..2000 {
        let delivered = ids
            .iter()
            .filter(|id| mock.task(**id).is_some_and(|v| v.activity.is_some_and(|a| a.delivered)));
        if delivered.count() == tasks {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    done.store(true, std::sync::atomic::Ordering::Release);
    let mut received = Vec::new();
    for w in workers {
        received.extend(w.await.unwrap());
    }
    let unique: HashSet<_> = received.iter().map(|(t, _)| t.clone()).collect();
    assert_eq!(unique.len(), received.len(), "a task was delivered twice");
    received.sort();
    scheduled.sort();
    assert_eq!(received, scheduled, "lost or altered tasks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_still_holds_while_polls_are_held() {
    let config = MockConfig { max_connections: 4, ..MockConfig::default() };
    let (mock, arn) = with_activity(config);
    let server = MockServer::start_with(mock.clone()).await.unwrap();
    let body = json!({"activityArn": arn}).to_string();
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {POLL}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = tokio::net::TcpStream::connect(server.address()).await.unwrap();
        stream.write_all(raw.as_bytes()).await.unwrap();
        held.push(stream);
    }
    until_waiting(&mock, &arn, 4).await;
    // A fifth connection is over the cap: a 503, and the held polls are untouched.
    let mut extra = tokio::net::TcpStream::connect(server.address()).await.unwrap();
    extra.write_all(raw.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut extra, &mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert_eq!(mock.waiting_polls(&arn), Some(4));
    // Each held poll still gets its task.
    for i in 0..4 {
        mock.schedule_activity_task(&arn, TaskSpec::new(Provider::Aws), &i.to_string()).unwrap();
    }
    for mut stream in held {
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::io::AsyncReadExt::read(&mut stream, &mut buf),
        )
        .await
        .unwrap()
        .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.starts_with("HTTP/1.1 200") && text.contains("taskToken"), "{text}");
    }
}
