//! The AWS token sources (`aws-sqs-callback`, `aws-activity`) against a wiremock fake of the SQS and Step Functions APIs whose executions mint real tokens on a tasktoken mock, up to a whole `tasktoken::check::run`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tasktoken::check::{run, CheckConfig, Credentials, TokenSourceSpec, Verdict};
use tasktoken::testing::{TaskRequest, TokenSource, SQS_CALLBACK_RESOURCE};
use tasktoken::{Clock, ContractResponder, Mock, MockConfig, Provider, TaskSpec};
use wiremock::{Request, Respond, ResponseTemplate};

const ACCOUNT: &str = "123456789012";

/// One execution the fake started: its deadlines as the definition gave them, and its token.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Started {
    arn: String,
    timeout: Option<u64>,
    heartbeat: Option<u64>,
    token: String,
}

#[derive(Debug, Default)]
struct FakeState {
    /// Queue URL -> message bodies not yet received.
    queues: HashMap<String, VecDeque<String>>,
    /// State machine ARN -> definition.
    machines: HashMap<String, Value>,
    /// Activity ARN -> tasks (`{taskToken, input}`) not yet handed out.
    activities: HashMap<String, VecDeque<Value>>,
    executions: Vec<Started>,
    /// Every SQS and Step Functions management call: (X-Amz-Target, credential scope service).
    calls: Vec<(String, Option<String>)>,
    /// What the fake was asked to stop or delete.
    removed: Vec<String>,
    /// Receipt handles deleted.
    deleted_messages: usize,
}

/// A fake of the SQS and Step Functions management APIs. `StartExecution` creates a task on a
/// real tasktoken mock and delivers its token as Step Functions would: as an SQS message built
/// from the Task state's `MessageBody`, or as an activity task. Every other request
/// (`SendTaskSuccess` and friends, and the checks' malformed requests) goes to the mock.
#[derive(Clone)]
struct FakeAws {
    base: String,
    mock: Mock,
    responder: ContractResponder,
    state: Arc<Mutex<FakeState>>,
    /// Answer `CreateStateMachine` with an error.
    refuse_state_machines: bool,
}

/// A JSON answer.
fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/x-amz-json-1.0")
}

/// An awsJson1_0 error.
fn error(code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_raw(
        json!({"__type": code, "message": message}).to_string(),
        "application/x-amz-json-1.0",
    )
}

/// Evaluates a Parameters template the way the JSONPath engine does for the paths used here.
fn evaluate(template: &Value, input: &Value, token: &str) -> Value {
    match template {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match (k.strip_suffix(".$"), v.as_str()) {
                    (Some(key), Some("$$.Task.Token")) => (key.to_owned(), json!(token)),
                    (Some(key), Some(path)) => {
                        let field = path.strip_prefix("$.").unwrap_or(path);
                        (key.to_owned(), input[field].clone())
                    }
                    _ => (k.clone(), evaluate(v, input, token)),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

impl FakeAws {
    fn new(base: String) -> FakeAws {
        let mock = Mock::new(MockConfig::default().clock(Clock::real())).unwrap();
        FakeAws {
            base,
            responder: mock.responder(),
            mock,
            state: Arc::default(),
            refuse_state_machines: false,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap()
    }

    fn start_execution(&self, body: &Value) -> ResponseTemplate {
        let mut state = self.state();
        let Some(definition) = state.machines.get(body["stateMachineArn"].as_str().unwrap_or(""))
        else {
            return error("StateMachineDoesNotExist", "no such state machine");
        };
        let task = definition["States"][definition["StartAt"].as_str().unwrap()].clone();
        let (timeout, heartbeat) =
            (task["TimeoutSeconds"].as_u64(), task["HeartbeatSeconds"].as_u64());
        let mut spec = TaskSpec::new(Provider::Aws);
        if let Some(t) = timeout {
            spec = spec.timeout_seconds(t);
        }
        if let Some(h) = heartbeat {
            spec = spec.heartbeat_seconds(h);
        }
        let token = self.mock.create_task(spec).unwrap().task_token;
        let input_text = body["input"].as_str().unwrap_or("{}").to_owned();
        let input: Value = serde_json::from_str(&input_text).unwrap();
        let resource = task["Resource"].as_str().unwrap();
        if resource == SQS_CALLBACK_RESOURCE {
            let parameters = evaluate(&task["Parameters"], &input, &token);
            let url = parameters["QueueUrl"].as_str().unwrap().to_owned();
            // Step Functions sends a MessageBody object as its JSON text.
            let message = parameters["MessageBody"].to_string();
            state.queues.get_mut(&url).expect("the queue exists").push_back(message);
        } else {
            let task = json!({"taskToken": token, "input": input_text});
            state.activities.get_mut(resource).expect("the activity exists").push_back(task);
        }
        let arn = format!(
            "arn:aws:states:us-east-1:{ACCOUNT}:execution:m:{}",
            body["name"].as_str().unwrap_or("unnamed")
        );
        state.executions.push(Started { arn: arn.clone(), timeout, heartbeat, token });
        ok(json!({"executionArn": arn, "startDate": 1.8e9}))
    }
}

impl Respond for FakeAws {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let target = request
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let managed = [
            "AmazonSQS.CreateQueue",
            "AmazonSQS.GetQueueUrl",
            "AmazonSQS.ReceiveMessage",
            "AmazonSQS.DeleteMessage",
            "AmazonSQS.DeleteQueue",
            "AWSStepFunctions.CreateStateMachine",
            "AWSStepFunctions.StartExecution",
            "AWSStepFunctions.CreateActivity",
            "AWSStepFunctions.GetActivityTask",
            "AWSStepFunctions.StopExecution",
            "AWSStepFunctions.DeleteStateMachine",
            "AWSStepFunctions.DeleteActivity",
        ];
        if !managed.contains(&target.as_str()) {
            return self.responder.respond(request);
        }
        let scope = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').nth(3))
            .map(str::to_owned);
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        self.state().calls.push((target.clone(), scope));
        let operation = target.split_once('.').map(|(_, op)| op).unwrap_or_default();
        let mut state = self.state();
        match operation {
            "CreateQueue" => {
                let url =
                    format!("{}/{ACCOUNT}/{}", self.base, body["QueueName"].as_str().unwrap());
                state.queues.insert(url.clone(), VecDeque::new());
                ok(json!({"QueueUrl": url}))
            }
            "GetQueueUrl" => ok(
                json!({"QueueUrl": format!("{}/{ACCOUNT}/{}", self.base, body["QueueName"].as_str().unwrap())}),
            ),
            "ReceiveMessage" => {
                let max = body["MaxNumberOfMessages"].as_u64().unwrap_or(1) as usize;
                let Some(queue) = state.queues.get_mut(body["QueueUrl"].as_str().unwrap_or(""))
                else {
                    return error("com.amazonaws.sqs#QueueDoesNotExist", "no such queue");
                };
                let n = queue.len().min(max);
                let messages: Vec<Value> = queue
                    .drain(..n)
                    .enumerate()
                    .map(|(i, b)| json!({"MessageId": format!("m{i}"), "ReceiptHandle": format!("r{i}"), "Body": b}))
                    .collect();
                if messages.is_empty() {
                    // A short stand-in for the long poll.
                    ok(json!({})).set_delay(Duration::from_millis(50))
                } else {
                    ok(json!({"Messages": messages}))
                }
            }
            "DeleteMessage" => {
                state.deleted_messages += 1;
                ok(json!({}))
            }
            "CreateStateMachine" if self.refuse_state_machines => {
                error("AccessDeniedException", "not allowed to create state machines")
            }
            "CreateStateMachine" => {
                let arn = format!(
                    "arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{}",
                    body["name"].as_str().unwrap()
                );
                assert_eq!(body["roleArn"], "arn:aws:iam::123456789012:role/tasktoken");
                let definition: Value =
                    serde_json::from_str(body["definition"].as_str().unwrap()).unwrap();
                // The States Language: HeartbeatSeconds must be smaller than TimeoutSeconds.
                for task in definition["States"].as_object().unwrap().values() {
                    if let (Some(t), Some(h)) =
                        (task["TimeoutSeconds"].as_u64(), task["HeartbeatSeconds"].as_u64())
                    {
                        if h >= t {
                            return error(
                                "InvalidDefinition",
                                "HeartbeatSeconds >= TimeoutSeconds",
                            );
                        }
                    }
                }
                if state.machines.insert(arn.clone(), definition).is_some() {
                    return error("StateMachineAlreadyExists", &arn);
                }
                ok(json!({"stateMachineArn": arn, "creationDate": 1.8e9}))
            }
            "StartExecution" => {
                drop(state);
                self.start_execution(&body)
            }
            "CreateActivity" => {
                let arn = format!(
                    "arn:aws:states:us-east-1:{ACCOUNT}:activity:{}",
                    body["name"].as_str().unwrap()
                );
                state.activities.insert(arn.clone(), VecDeque::new());
                ok(json!({"activityArn": arn, "creationDate": 1.8e9}))
            }
            "GetActivityTask" => {
                let Some(tasks) =
                    state.activities.get_mut(body["activityArn"].as_str().unwrap_or(""))
                else {
                    return error("ActivityDoesNotExist", "no such activity");
                };
                match tasks.pop_front() {
                    Some(task) => ok(task),
                    None => ok(json!({})).set_delay(Duration::from_millis(50)),
                }
            }
            "StopExecution" => {
                state.removed.push(body["executionArn"].as_str().unwrap_or("").to_owned());
                ok(json!({"stopDate": 1.8e9}))
            }
            "DeleteStateMachine" => {
                let arn = body["stateMachineArn"].as_str().unwrap_or("").to_owned();
                state.machines.remove(&arn);
                state.removed.push(arn);
                ok(json!({}))
            }
            "DeleteQueue" => {
                let url = body["QueueUrl"].as_str().unwrap_or("").to_owned();
                state.queues.remove(&url);
                state.removed.push(url);
                ok(json!({}))
            }
            "DeleteActivity" => {
                let arn = body["activityArn"].as_str().unwrap_or("").to_owned();
                state.activities.remove(&arn);
                state.removed.push(arn);
                ok(json!({}))
            }
            _ => unreachable!("{operation}"),
        }
    }
}

async fn fake(refuse_state_machines: bool) -> (wiremock::MockServer, FakeAws) {
    let server = wiremock::MockServer::start().await;
    let mut fake = FakeAws::new(server.uri());
    fake.refuse_state_machines = refuse_state_machines;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    (server, fake)
}

fn credentials() -> Credentials {
    Credentials::new("testing", "testing", "us-east-1")
}

async fn connect(server: &wiremock::MockServer, spec: TokenSourceSpec) -> TokenSource {
    let target = tasktoken::testing::Target::new(&server.uri(), Duration::from_secs(10)).unwrap();
    TokenSource::connect(spec, target, Provider::Aws, Some(credentials())).await.unwrap()
}

/// SendTaskSuccess on the fake (forwarded to the mock): the HTTP status.
async fn succeed(server: &wiremock::MockServer, token: &str) -> u16 {
    reqwest::Client::new()
        .post(server.uri())
        .header("X-Amz-Target", "AWSStepFunctions.SendTaskSuccess")
        .header("Content-Type", "application/x-amz-json-1.0")
        .body(json!({"taskToken": token, "output": "{}"}).to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn deadlines(timeout: Option<u64>, heartbeat: Option<u64>) -> TaskRequest {
    TaskRequest { timeout_seconds: timeout, heartbeat_seconds: heartbeat, token_length: None }
}

#[tokio::test]
async fn sqs_callback_source_mints_live_tokens_with_their_deadlines() {
    let (server, fake) = fake(false).await;
    let source = connect(&server, TokenSourceSpec::AwsSqsCallback).await;
    let can = source.capabilities();
    assert!(can.deadlines && !can.read_state && !can.cheap && !can.advance_clock, "{can:?}");
    assert_eq!(source.name(), "aws-sqs-callback");

    // Concurrent mints with different deadlines each get the token of their own execution.
    let requests = [
        deadlines(None, None),
        deadlines(Some(30), None),
        deadlines(None, Some(20)),
        deadlines(Some(40), Some(10)),
    ];
    let minted = futures_join(&source, &requests).await;
    let started = fake.state().executions.clone();
    for (request, token) in requests.iter().zip(&minted) {
        let execution =
            started.iter().find(|e| e.token == token.token).expect("a started execution");
        assert_eq!(
            (execution.timeout, execution.heartbeat),
            (request.timeout_seconds, request.heartbeat_seconds)
        );
        assert_eq!(token.task_id.as_deref(), Some(execution.arn.as_str()));
        assert_eq!(succeed(&server, &token.token).await, 200);
    }
    // The no-deadline mint took the token minted at connect time: one execution per token.
    assert_eq!(started.len(), requests.len());

    // One state machine per pair of deadlines, reused.
    source.mint(&deadlines(Some(30), None)).await.unwrap();
    let state = fake.state();
    assert_eq!(state.machines.len(), 4);
    let targets: Vec<&str> = state.calls.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(targets.iter().filter(|t| **t == "AmazonSQS.CreateQueue").count(), 1);
    assert_eq!(targets.iter().filter(|t| **t == "AWSStepFunctions.CreateStateMachine").count(), 4);
    assert_eq!(targets.iter().filter(|t| **t == "AWSStepFunctions.StartExecution").count(), 5);
    assert!(targets.contains(&"AmazonSQS.ReceiveMessage"));
    assert_eq!(state.deleted_messages, 5, "every received message is deleted");
    // Each service's calls are signed under its own credential scope.
    for (target, scope) in &state.calls {
        let want = if target.starts_with("AmazonSQS.") { "sqs" } else { "states" };
        assert_eq!(scope.as_deref(), Some(want), "{target}");
    }
    // The definitions: one Task state on the SQS callback route carrying the token.
    for definition in state.machines.values() {
        let task = &definition["States"][definition["StartAt"].as_str().unwrap()];
        assert_eq!(task["Resource"], SQS_CALLBACK_RESOURCE);
        assert_eq!(task["Parameters"]["MessageBody"]["token.$"], "$$.Task.Token");
    }
}

/// Mints `requests` at once.
async fn futures_join(
    source: &TokenSource,
    requests: &[TaskRequest],
) -> Vec<tasktoken::testing::LiveToken> {
    let mut set = tokio::task::JoinSet::new();
    for (i, request) in requests.iter().enumerate() {
        let (source, request) = (source.clone(), *request);
        set.spawn(async move { (i, source.mint(&request).await.unwrap()) });
    }
    let mut out = set.join_all().await;
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, t)| t).collect()
}

#[tokio::test]
async fn deadlines_reach_the_task() {
    let (server, _fake) = fake(false).await;
    let source = connect(&server, TokenSourceSpec::AwsSqsCallback).await;
    let token = source.mint(&deadlines(Some(1), None)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(succeed(&server, &token.token).await, 400, "the task timed out");
}

#[tokio::test]
async fn a_heartbeat_deadline_past_the_timeout_is_left_out_of_the_definition() {
    let (server, fake) = fake(false).await;
    let source = connect(&server, TokenSourceSpec::AwsSqsCallback).await;
    let token = source.mint(&deadlines(Some(2), Some(10))).await.unwrap();
    let state = fake.state();
    let started = state.executions.iter().find(|e| e.token == token.token).unwrap();
    assert_eq!((started.timeout, started.heartbeat), (Some(2), None));
}

#[tokio::test]
async fn cleanup_stops_executions_and_deletes_what_was_created() {
    let (server, fake) = fake(false).await;
    let source = connect(&server, TokenSourceSpec::AwsSqsCallback).await;
    source.mint(&deadlines(Some(60), None)).await.unwrap();
    source.cleanup().await.unwrap();
    {
        let state = fake.state();
        for arn in state.executions.iter().map(|e| &e.arn) {
            assert!(state.removed.contains(arn), "{arn} not stopped");
        }
        assert!(state.machines.is_empty(), "{:?}", state.machines.keys());
        assert!(state.queues.is_empty());
    }
    // A second cleanup has nothing left to do.
    source.cleanup().await.unwrap();
}

#[tokio::test]
async fn activity_source_mints_tokens_from_get_activity_task() {
    let (server, fake) = fake(false).await;
    let source = connect(&server, TokenSourceSpec::AwsActivity).await;
    assert_eq!(source.name(), "aws-activity");
    assert!(source.capabilities().deadlines);
    let minted =
        futures_join(&source, &[deadlines(Some(50), Some(5)), deadlines(None, None)]).await;
    {
        let state = fake.state();
        let activity = state.activities.keys().next().unwrap().clone();
        for definition in state.machines.values() {
            assert_eq!(definition["States"]["Wait"]["Resource"], activity.as_str());
        }
        let first = state.executions.iter().find(|e| e.token == minted[0].token).unwrap();
        assert_eq!((first.timeout, first.heartbeat), (Some(50), Some(5)));
        assert!(state.calls.iter().any(|(t, _)| t == "AWSStepFunctions.GetActivityTask"));
    }
    for token in &minted {
        assert_eq!(succeed(&server, &token.token).await, 200);
    }
    source.cleanup().await.unwrap();
    assert!(fake.state().activities.is_empty());
}

#[tokio::test]
async fn a_failing_setup_call_is_a_source_error_naming_it() {
    let (server, fake) = fake(true).await;
    let target = tasktoken::testing::Target::new(&server.uri(), Duration::from_secs(10)).unwrap();
    let e = TokenSource::connect(TokenSourceSpec::AwsSqsCallback, target, Provider::Aws, None)
        .await
        .unwrap_err();
    assert!(e.message.contains("AWSStepFunctions.CreateStateMachine"), "{e}");
    assert!(e.message.contains("AccessDeniedException"), "{e}");
    // The queue it had created is removed again.
    assert!(fake.state().queues.is_empty());
}

#[tokio::test]
async fn the_whole_aws_suite_runs_on_sqs_callback_tokens() {
    let (server, fake) = fake(false).await;
    let mut config = CheckConfig::new(Provider::Aws);
    config.target = Some(server.uri());
    config.tokens = TokenSourceSpec::AwsSqsCallback;
    // The fake implements the set-up calls of the token sources, not the activity API.
    config.exclude = vec!["activities".into()];
    config.cases = 4;
    config.seed = Some(7);
    config.credentials = Some(credentials());
    let report = run(config).await.unwrap();
    assert_eq!(report.tokens, "aws-sqs-callback");
    assert!(report.conformant(), "{report:#?}");
    let verdict = |id: &str| &report.results.iter().find(|r| r.id == id).unwrap().verdict;
    // Deadlines run on the fake's real clock.
    for id in [
        "aws.timeouts.task-timeout",
        "aws.timeouts.heartbeat-timeout",
        "aws.timeouts.heartbeat-keeps-alive",
    ] {
        assert_eq!(verdict(id), &Verdict::Pass, "{id}");
    }
    // What this source cannot do is skipped, not failed.
    assert!(matches!(verdict("aws.state.result-stored"), Verdict::Skip { .. }));
    assert!(matches!(verdict("aws.state.sequences"), Verdict::Skip { .. }));
    assert!(matches!(verdict("aws.races.one-winner"), Verdict::Pass));
    // Tokens came from executions, each delivered through the queue.
    let state = fake.state();
    assert!(state.executions.len() > 10, "{}", state.executions.len());
    assert!(state.calls.iter().any(|(t, _)| t == "AmazonSQS.ReceiveMessage"));
}
