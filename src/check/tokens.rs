//! Token sources: how the checker gets live tokens from a target, each declaring what else it can do (read task state, make deadlines, move the clock).

use std::collections::HashMap;
use std::process::Stdio;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use super::aws_api::{AwsApi, Service};
use super::context::Credentials;
use super::target::Target;
use crate::contract::Provider;

/// How long a `command:` token source may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A token source, as `--tokens` names it.
///
/// ```
/// use tasktoken::check::TokenSourceSpec;
///
/// let spec: TokenSourceSpec = "aws-sqs-callback".parse().unwrap();
/// assert_eq!(spec, TokenSourceSpec::AwsSqsCallback);
/// assert_eq!(spec.to_string(), "aws-sqs-callback");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSourceSpec {
    /// The tasktoken mock's control API on the target (`POST /_mock/tasks` …).
    Mock,
    /// A shell command that prints one fresh live token per run.
    Command(String),
    /// `aws-sqs-callback`: a state machine whose one Task state is
    /// `arn:aws:states:::sqs:sendMessage.waitForTaskToken` sends `$$.Task.Token` to an SQS
    /// queue the source creates; the token is read back with `ReceiveMessage` (real AWS,
    /// LocalStack, moto with its execution engine on).
    AwsSqsCallback,
    /// `aws-activity`: a state machine whose one Task state runs an activity the source
    /// creates; the token comes from `GetActivityTask` (real AWS, LocalStack).
    AwsActivity,
}

impl FromStr for TokenSourceSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mock" => Ok(TokenSourceSpec::Mock),
            "aws-sqs-callback" => Ok(TokenSourceSpec::AwsSqsCallback),
            "aws-activity" => Ok(TokenSourceSpec::AwsActivity),
            _ => match s.strip_prefix("command:") {
                Some(cmd) if !cmd.trim().is_empty() => Ok(TokenSourceSpec::Command(cmd.to_owned())),
                _ => Err(format!(
                    "unknown token source {s:?}: expected mock, aws-sqs-callback, aws-activity or command:CMD"
                )),
            },
        }
    }
}

impl std::fmt::Display for TokenSourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSourceSpec::Mock => f.write_str("mock"),
            TokenSourceSpec::Command(c) => write!(f, "command:{c}"),
            TokenSourceSpec::AwsSqsCallback => f.write_str("aws-sqs-callback"),
            TokenSourceSpec::AwsActivity => f.write_str("aws-activity"),
        }
    }
}

/// What a token source can do besides minting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Read a task's status and stored output.
    pub read_state: bool,
    /// Mint tokens whose tasks have a timeout and a heartbeat timeout.
    pub deadlines: bool,
    /// Move the target's clock instead of waiting.
    pub advance_clock: bool,
    /// Mint many tokens cheaply (property checks consume one or more per case).
    pub cheap: bool,
}

/// A task to mint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskRequest {
    /// Overall timeout.
    pub timeout_seconds: Option<u64>,
    /// Heartbeat timeout.
    pub heartbeat_seconds: Option<u64>,
    /// Token length (AWS, mock source only).
    pub token_length: Option<usize>,
}

/// A live token and, where the source knows it, the task it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveToken {
    /// The token.
    pub token: String,
    /// The task id, for reading state.
    pub task_id: Option<String>,
}

/// A task's state as the source reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskState {
    /// `PENDING`, `SUCCEEDED`, `FAILED` or `TIMED_OUT`.
    pub status: String,
    /// Stored output.
    pub output: Option<String>,
    /// Stored error.
    pub error: Option<String>,
    /// Stored cause.
    pub cause: Option<String>,
    /// Heartbeats accepted.
    #[serde(default)]
    pub heartbeats: u32,
}

/// A token source failed: the run cannot go on (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token source {source_name}: {message}")]
pub struct SourceError {
    /// Which source.
    pub source_name: String,
    /// What happened.
    pub message: String,
}

/// How long minting one token from an AWS source may take, from `StartExecution` to the token.
pub const AWS_MINT_TIMEOUT: Duration = Duration::from_secs(90);

/// How long [`TokenSource::cleanup`] may take.
pub const CLEANUP_TIMEOUT: Duration = Duration::from_secs(60);

/// `WaitTimeSeconds` of each SQS `ReceiveMessage` long poll.
pub const RECEIVE_WAIT_SECONDS: u64 = 5;

/// The role the AWS sources' state machines name (emulators do not check it; on real AWS it
/// must exist in the account and may send to the queue).
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/tasktoken";

/// The Task resource of the SQS callback route.
pub const SQS_CALLBACK_RESOURCE: &str = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";

/// Which AWS route a source takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AwsKind {
    SqsCallback,
    Activity,
}

/// The state machine definition an AWS source runs: one Task state that waits for its token,
/// with the deadlines asked for. The execution input carries a `nonce` that comes back with the
/// token (in the SQS message, or as the activity task's input), so concurrent mints each get
/// their own token.
fn definition(
    kind: AwsKind,
    endpoint: &str,
    timeout_seconds: Option<u64>,
    heartbeat_seconds: Option<u64>,
) -> serde_json::Value {
    let mut task = match kind {
        AwsKind::SqsCallback => json!({
            "Type": "Task",
            "Resource": SQS_CALLBACK_RESOURCE,
            "Parameters": {
                "QueueUrl": endpoint,
                "MessageBody": {"token.$": "$$.Task.Token", "nonce.$": "$.nonce"}
            },
            "End": true
        }),
        AwsKind::Activity => json!({"Type": "Task", "Resource": endpoint, "End": true}),
    };
    if let Some(t) = timeout_seconds {
        task["TimeoutSeconds"] = json!(t);
    }
    if let Some(h) = heartbeat_seconds {
        task["HeartbeatSeconds"] = json!(h);
    }
    json!({
        "Comment": "tasktoken check: one task that waits for its token",
        "StartAt": "Wait",
        "States": {"Wait": task}
    })
}

/// The deadlines a state machine gets for `request`.
///
/// The States Language requires `HeartbeatSeconds` to be smaller than `TimeoutSeconds`, and
/// Step Functions and the emulators refuse the definition otherwise. A heartbeat deadline that
/// is not before the overall one can never fire first, so such a request gets the task it
/// describes without `HeartbeatSeconds` (it still accepts heartbeats on AWS).
fn deadlines(request: &TaskRequest) -> Deadlines {
    match (request.timeout_seconds, request.heartbeat_seconds) {
        (Some(t), Some(h)) if h >= t => (Some(t), None),
        pair => pair,
    }
}

/// The name of the state machine for one pair of deadlines (at most 80 characters).
fn machine_name(
    stem: &str,
    timeout_seconds: Option<u64>,
    heartbeat_seconds: Option<u64>,
) -> String {
    let part =
        |prefix: char, v: Option<u64>| v.map(|v| format!("-{prefix}{v}")).unwrap_or_default();
    format!("{stem}{}{}", part('t', timeout_seconds), part('h', heartbeat_seconds))
}

/// The `ReceiveMessage` request body.
fn receive_message_body(queue_url: &str) -> serde_json::Value {
    json!({
        "QueueUrl": queue_url,
        "MaxNumberOfMessages": 10,
        "WaitTimeSeconds": RECEIVE_WAIT_SECONDS,
        "VisibilityTimeout": 60
    })
}

/// `(nonce, token)` from the body of an SQS message the state machine sent.
fn read_message(body: &str) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    // Some engines send a JSON string holding the JSON object.
    let v = match v {
        serde_json::Value::String(inner) => serde_json::from_str(&inner).ok()?,
        other => other,
    };
    let token = v.get("token")?.as_str().filter(|t| !t.is_empty())?;
    let nonce = v.get("nonce")?.as_str()?;
    Some((nonce.to_owned(), token.to_owned()))
}

/// `(nonce, token)` from a `GetActivityTask` answer; `None` when the poll found no task.
fn read_activity_task(answer: &serde_json::Value) -> Option<(String, String)> {
    let token = answer.get("taskToken")?.as_str().filter(|t| !t.is_empty())?;
    let input: serde_json::Value = serde_json::from_str(answer.get("input")?.as_str()?).ok()?;
    let nonce = input.get("nonce")?.as_str()?;
    Some((nonce.to_owned(), token.to_owned()))
}

/// A pair of deadlines: (TimeoutSeconds, HeartbeatSeconds).
type Deadlines = (Option<u64>, Option<u64>);

/// The state of an AWS source: what it created, and tokens received for other mints.
struct AwsSource {
    kind: AwsKind,
    api: AwsApi,
    /// Name stem of everything it creates (`tasktoken-<12 hex>`).
    stem: String,
    /// The queue URL or the activity ARN.
    endpoint: String,
    /// State machine ARNs by (timeout, heartbeat).
    machines: tokio::sync::Mutex<HashMap<Deadlines, String>>,
    /// Tokens received but not yet claimed, by nonce. Held while polling, so one mint polls at
    /// a time and the others find their tokens here.
    mailbox: tokio::sync::Mutex<HashMap<String, String>>,
    /// Executions started, for cleanup.
    executions: Mutex<Vec<String>>,
    /// The token minted at connect time, handed to the first mint without deadlines.
    spare: Mutex<Option<LiveToken>>,
}

impl std::fmt::Debug for AwsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the client: it holds the secret.
        f.debug_struct("AwsSource")
            .field("kind", &self.kind)
            .field("stem", &self.stem)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl AwsSource {
    /// Creates the queue (SQS route) or the activity.
    async fn create(kind: AwsKind, api: AwsApi) -> Result<AwsSource, String> {
        let stem = format!("tasktoken-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let endpoint = match kind {
            AwsKind::SqsCallback => {
                let v = api
                    .call(Service::Sqs, "CreateQueue", json!({"QueueName": stem}))
                    .await
                    .map_err(|e| e.to_string())?;
                match v["QueueUrl"].as_str() {
                    Some(url) => url.to_owned(),
                    None => {
                        let v = api
                            .call(Service::Sqs, "GetQueueUrl", json!({"QueueName": stem}))
                            .await
                            .map_err(|e| e.to_string())?;
                        v["QueueUrl"]
                            .as_str()
                            .ok_or_else(|| format!("GetQueueUrl answered without QueueUrl: {v}"))?
                            .to_owned()
                    }
                }
            }
            AwsKind::Activity => {
                let v = api
                    .call(Service::StepFunctions, "CreateActivity", json!({"name": stem}))
                    .await
                    .map_err(|e| e.to_string())?;
                v["activityArn"]
                    .as_str()
                    .ok_or_else(|| format!("CreateActivity answered without activityArn: {v}"))?
                    .to_owned()
            }
        };
        Ok(AwsSource {
            kind,
            api,
            stem,
            endpoint,
            machines: Default::default(),
            mailbox: Default::default(),
            executions: Mutex::new(Vec::new()),
            spare: Mutex::new(None),
        })
    }

    /// The state machine for these deadlines, created on first use.
    async fn machine(
        &self,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
    ) -> Result<String, String> {
        let mut machines = self.machines.lock().await;
        if let Some(arn) = machines.get(&(timeout, heartbeat)) {
            return Ok(arn.clone());
        }
        let body = json!({
            "name": machine_name(&self.stem, timeout, heartbeat),
            "definition": definition(self.kind, &self.endpoint, timeout, heartbeat).to_string(),
            "roleArn": ROLE_ARN,
            "type": "STANDARD"
        });
        let v = self
            .api
            .call(Service::StepFunctions, "CreateStateMachine", body)
            .await
            .map_err(|e| e.to_string())?;
        let arn = v["stateMachineArn"]
            .as_str()
            .ok_or_else(|| format!("CreateStateMachine answered without stateMachineArn: {v}"))?
            .to_owned();
        machines.insert((timeout, heartbeat), arn.clone());
        Ok(arn)
    }

    /// Starts an execution and waits for its token, all within [`AWS_MINT_TIMEOUT`].
    async fn mint(&self, request: &TaskRequest) -> Result<LiveToken, String> {
        let (timeout, heartbeat) = deadlines(request);
        if timeout.is_none() && heartbeat.is_none() {
            if let Some(spare) = self.spare.lock().unwrap_or_else(|e| e.into_inner()).take() {
                return Ok(spare);
            }
        }
        let work = async {
            let machine = self.machine(timeout, heartbeat).await?;
            let nonce = uuid::Uuid::new_v4().simple().to_string();
            let body = json!({
                "stateMachineArn": machine,
                "name": format!("tt-{nonce}"),
                "input": json!({"nonce": nonce}).to_string()
            });
            let v = self
                .api
                .call(Service::StepFunctions, "StartExecution", body)
                .await
                .map_err(|e| e.to_string())?;
            let execution = v["executionArn"].as_str().map(str::to_owned);
            if let Some(arn) = &execution {
                self.executions.lock().unwrap_or_else(|e| e.into_inner()).push(arn.clone());
            }
            let token = self.await_token(&nonce).await?;
            Ok(LiveToken { token, task_id: execution })
        };
        match tokio::time::timeout(AWS_MINT_TIMEOUT, work).await {
            Ok(result) => result,
            Err(_) => Err(match self.kind {
                AwsKind::SqsCallback => format!(
                    "no token arrived on {} within {AWS_MINT_TIMEOUT:?} (does the target run \
                     state machines? moto runs them only after POST /moto-api/config \
                     {{\"stepfunctions\":{{\"execute_state_machine\":true}}}})",
                    self.endpoint
                ),
                AwsKind::Activity => format!(
                    "GetActivityTask on {} gave no task within {AWS_MINT_TIMEOUT:?}",
                    self.endpoint
                ),
            }),
        }
    }

    /// Polls until the token for `nonce` has arrived (the caller bounds the time).
    async fn await_token(&self, nonce: &str) -> Result<String, String> {
        loop {
            let mut mailbox = self.mailbox.lock().await;
            if let Some(token) = mailbox.remove(nonce) {
                return Ok(token);
            }
            let began = Instant::now();
            let received = self.poll_once(&mut mailbox).await?;
            if let Some(token) = mailbox.remove(nonce) {
                return Ok(token);
            }
            drop(mailbox);
            // An emulator that does not hold long polls must not be hammered.
            if received == 0 && began.elapsed() < Duration::from_millis(200) {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// One long poll; files what arrived in `mailbox` and returns how many tokens did.
    async fn poll_once(&self, mailbox: &mut HashMap<String, String>) -> Result<usize, String> {
        match self.kind {
            AwsKind::SqsCallback => {
                let v = self
                    .api
                    .long_poll(Service::Sqs, "ReceiveMessage", receive_message_body(&self.endpoint))
                    .await
                    .map_err(|e| e.to_string())?;
                let messages = v["Messages"].as_array().cloned().unwrap_or_default();
                let mut received = 0;
                for m in &messages {
                    if let Some(handle) = m["ReceiptHandle"].as_str() {
                        let body = json!({"QueueUrl": self.endpoint, "ReceiptHandle": handle});
                        if let Err(e) = self.api.call(Service::Sqs, "DeleteMessage", body).await {
                            tracing::warn!("token source: {e}");
                        }
                    }
                    match m["Body"].as_str().and_then(read_message) {
                        Some((nonce, token)) => {
                            mailbox.insert(nonce, token);
                            received += 1;
                        }
                        None => {
                            tracing::warn!("token source: ignoring a message without a token: {m}")
                        }
                    }
                }
                Ok(received)
            }
            AwsKind::Activity => {
                let body = json!({"activityArn": self.endpoint, "workerName": "tasktoken"});
                let v = self
                    .api
                    .long_poll(Service::StepFunctions, "GetActivityTask", body)
                    .await
                    .map_err(|e| e.to_string())?;
                match read_activity_task(&v) {
                    Some((nonce, token)) => {
                        mailbox.insert(nonce, token);
                        Ok(1)
                    }
                    None => {
                        if v.get("taskToken")
                            .and_then(|t| t.as_str())
                            .is_some_and(|t| !t.is_empty())
                        {
                            tracing::warn!(
                                "token source: ignoring an activity task without a nonce: {v}"
                            );
                        }
                        Ok(0)
                    }
                }
            }
        }
    }

    /// Stops the executions started, deletes the state machines and the queue or activity.
    async fn cleanup(&self) -> Result<(), String> {
        let executions =
            std::mem::take(&mut *self.executions.lock().unwrap_or_else(|e| e.into_inner()));
        for arn in executions {
            // Most have ended already; their answers do not matter.
            let body = json!({"executionArn": arn, "error": "tasktoken.Cleanup"});
            let _ = self.api.call(Service::StepFunctions, "StopExecution", body).await;
        }
        self.spare.lock().unwrap_or_else(|e| e.into_inner()).take();
        let machines: Vec<String> =
            self.machines.lock().await.drain().map(|(_, arn)| arn).collect();
        let mut failures = Vec::new();
        for arn in machines {
            let body = json!({"stateMachineArn": arn});
            if let Err(e) = self.api.call(Service::StepFunctions, "DeleteStateMachine", body).await
            {
                failures.push(e.to_string());
            }
        }
        let deleted = match self.kind {
            AwsKind::SqsCallback => {
                self.api.call(Service::Sqs, "DeleteQueue", json!({"QueueUrl": self.endpoint})).await
            }
            AwsKind::Activity => {
                let body = json!({"activityArn": self.endpoint});
                self.api.call(Service::StepFunctions, "DeleteActivity", body).await
            }
        };
        if let Err(e) = deleted {
            failures.push(e.to_string());
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; "))
        }
    }
}

/// A token source bound to a target and provider.
#[derive(Debug, Clone)]
pub struct TokenSource {
    spec: TokenSourceSpec,
    target: Target,
    provider: Provider,
    capabilities: Capabilities,
    aws: Option<Arc<AwsSource>>,
}

impl TokenSource {
    /// Connects `spec` to `target` and finds out what it can do.
    ///
    /// The AWS sources (`aws-sqs-callback`, `aws-activity`) send their SQS and Step Functions
    /// calls to the same target, SigV4-signed with `credentials` when given. They create their
    /// queue or activity here and mint one token, so a target that never delivers tokens is a
    /// setup error now rather than in every check.
    pub async fn connect(
        spec: TokenSourceSpec,
        target: Target,
        provider: Provider,
        credentials: Option<Credentials>,
    ) -> Result<TokenSource, SourceError> {
        let mut source = TokenSource {
            spec,
            target,
            provider,
            capabilities: Capabilities::default(),
            aws: None,
        };
        source.capabilities = match &source.spec {
            TokenSourceSpec::Mock => {
                let clock: serde_json::Value = source.control("GET", "/_mock/clock", None).await?;
                Capabilities {
                    read_state: true,
                    deadlines: true,
                    advance_clock: clock["mode"] == "virtual",
                    cheap: true,
                }
            }
            TokenSourceSpec::Command(_) => Capabilities::default(),
            TokenSourceSpec::AwsSqsCallback | TokenSourceSpec::AwsActivity => {
                if provider != Provider::Aws {
                    return Err(source.error(format!(
                        "mints AWS Step Functions tokens: use it with --provider aws, not {}",
                        provider.name()
                    )));
                }
                let kind = if source.spec == TokenSourceSpec::AwsSqsCallback {
                    AwsKind::SqsCallback
                } else {
                    AwsKind::Activity
                };
                let api =
                    AwsApi::new(source.target.base(), credentials).map_err(|e| source.error(e))?;
                let aws = AwsSource::create(kind, api).await.map_err(|e| source.error(e))?;
                let aws = Arc::new(aws);
                source.aws = Some(aws.clone());
                match aws.mint(&TaskRequest::default()).await {
                    Ok(token) => *aws.spare.lock().unwrap_or_else(|e| e.into_inner()) = Some(token),
                    Err(e) => {
                        let _ = source.cleanup().await;
                        return Err(source.error(format!("the first token: {e}")));
                    }
                }
                Capabilities {
                    read_state: false,
                    deadlines: true,
                    advance_clock: false,
                    cheap: false,
                }
            }
        };
        Ok(source)
    }

    /// What it can do.
    pub fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    /// Its name as `--tokens` spells it.
    pub fn name(&self) -> String {
        self.spec.to_string()
    }

    /// A fresh live token.
    pub async fn mint(&self, request: &TaskRequest) -> Result<LiveToken, SourceError> {
        if let Some(aws) = &self.aws {
            return aws.mint(request).await.map_err(|e| self.error(e));
        }
        match &self.spec {
            TokenSourceSpec::Mock => {
                let mut body = json!({"provider": self.provider.name()});
                if let Some(t) = request.timeout_seconds {
                    body["timeoutSeconds"] = json!(t);
                }
                if let Some(h) = request.heartbeat_seconds {
                    body["heartbeatSeconds"] = json!(h);
                }
                if let Some(l) = request.token_length {
                    body["tokenLength"] = json!(l);
                }
                let v: serde_json::Value = self.control("POST", "/_mock/tasks", Some(body)).await?;
                match (v["taskToken"].as_str(), v["taskId"].as_str()) {
                    (Some(token), Some(id)) => {
                        Ok(LiveToken { token: token.to_owned(), task_id: Some(id.to_owned()) })
                    }
                    _ => Err(self.error(format!("unexpected answer to POST /_mock/tasks: {v}"))),
                }
            }
            TokenSourceSpec::Command(cmd) => self.run_command(cmd).await,
            TokenSourceSpec::AwsSqsCallback | TokenSourceSpec::AwsActivity => {
                Err(self.error("not connected".into()))
            }
        }
    }

    /// The task's state, where the source can read it.
    pub async fn state(&self, token: &LiveToken) -> Result<Option<TaskState>, SourceError> {
        match (&self.spec, &token.task_id) {
            (TokenSourceSpec::Mock, Some(id)) => {
                let v: serde_json::Value =
                    self.control("GET", &format!("/_mock/tasks/{id}"), None).await?;
                serde_json::from_value(v).map(Some).map_err(|e| self.error(e.to_string()))
            }
            _ => Ok(None),
        }
    }

    /// Moves the target's clock forward.
    pub async fn advance(&self, seconds: u64) -> Result<(), SourceError> {
        if !self.capabilities.advance_clock {
            return Err(self.error("this source cannot move the clock".into()));
        }
        let _: serde_json::Value =
            self.control("POST", "/_mock/clock", Some(json!({"advanceSeconds": seconds}))).await?;
        Ok(())
    }

    /// Removes what the source created on the target, within [`CLEANUP_TIMEOUT`].
    ///
    /// The AWS sources stop the executions they started (tokens not completed would otherwise
    /// keep theirs running) and delete their state machines and their queue or activity. The
    /// mock and command sources create nothing to remove. Safe to call more than once.
    pub async fn cleanup(&self) -> Result<(), SourceError> {
        let Some(aws) = &self.aws else { return Ok(()) };
        match tokio::time::timeout(CLEANUP_TIMEOUT, aws.cleanup()).await {
            Ok(result) => result.map_err(|e| self.error(format!("cleanup: {e}"))),
            Err(_) => Err(self.error(format!("cleanup took longer than {CLEANUP_TIMEOUT:?}"))),
        }
    }

    async fn control(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, SourceError> {
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(body.map(|b| Bytes::from(b.to_string())).unwrap_or_default())
            .map_err(|e| self.error(e.to_string()))?;
        let response = self.target.send(request).await.map_err(|e| self.error(e.to_string()))?;
        if !(200..300).contains(&response.status) {
            return Err(self.error(format!(
                "{method} {path} answered {}: {} (is the target a tasktoken mock? use --tokens aws-sqs-callback, aws-activity or command:CMD otherwise)",
                response.status,
                String::from_utf8_lossy(&response.body)
            )));
        }
        serde_json::from_slice(&response.body)
            .map_err(|e| self.error(format!("{method} {path}: {e}")))
    }

    async fn run_command(&self, cmd: &str) -> Result<LiveToken, SourceError> {
        let child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .env("TASKTOKEN_PROVIDER", self.provider.name())
            .env("TASKTOKEN_TARGET", self.target.base())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| self.error(format!("cannot run: {e}")))?;
        let output = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
            .await
            .map_err(|_| self.error(format!("no token within {COMMAND_TIMEOUT:?}")))?
            .map_err(|e| self.error(e.to_string()))?;
        if !output.status.success() {
            return Err(self.error(format!(
                "exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if token.is_empty() || token.contains('\n') {
            return Err(self.error("must print exactly one token on one line".into()));
        }
        Ok(LiveToken { token, task_id: None })
    }

    fn error(&self, message: String) -> SourceError {
        SourceError { source_name: self.name(), message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip() {
        for text in ["mock", "aws-sqs-callback", "aws-activity", "command:echo x"] {
            let spec: TokenSourceSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!("aws-activity".parse(), Ok(TokenSourceSpec::AwsActivity));
        let e = "aws".parse::<TokenSourceSpec>().unwrap_err();
        assert!(e.contains("aws-sqs-callback") && e.contains("aws-activity"), "{e}");
        assert!("command:  ".parse::<TokenSourceSpec>().is_err());
    }

    #[test]
    fn sqs_definition_sends_the_token_and_the_nonce() {
        let url = "http://localhost:5000/123456789012/q";
        let d = definition(AwsKind::SqsCallback, url, None, None);
        let task = &d["States"][d["StartAt"].as_str().unwrap()];
        assert_eq!(task["Type"], "Task");
        assert_eq!(task["Resource"], SQS_CALLBACK_RESOURCE);
        assert_eq!(task["Parameters"]["QueueUrl"], url);
        assert_eq!(task["Parameters"]["MessageBody"]["token.$"], "$$.Task.Token");
        assert_eq!(task["Parameters"]["MessageBody"]["nonce.$"], "$.nonce");
        assert_eq!(task["End"], true);
        assert!(task.get("TimeoutSeconds").is_none() && task.get("HeartbeatSeconds").is_none());
    }

    #[test]
    fn definitions_carry_the_deadlines() {
        let arn = "arn:aws:states:us-east-1:123456789012:activity:a";
        let d = definition(AwsKind::Activity, arn, Some(7), Some(3));
        let task = &d["States"]["Wait"];
        assert_eq!(task["Resource"], arn);
        assert_eq!(task["TimeoutSeconds"], 7);
        assert_eq!(task["HeartbeatSeconds"], 3);
        assert!(task.get("Parameters").is_none());
        let d = definition(AwsKind::SqsCallback, "u", None, Some(2));
        assert_eq!(d["States"]["Wait"]["HeartbeatSeconds"], 2);
        assert!(d["States"]["Wait"].get("TimeoutSeconds").is_none());
    }

    #[test]
    fn a_heartbeat_deadline_not_before_the_timeout_is_left_out() {
        let pair = |t, h| {
            deadlines(&TaskRequest { timeout_seconds: t, heartbeat_seconds: h, token_length: None })
        };
        assert_eq!(pair(Some(2), Some(10)), (Some(2), None));
        assert_eq!(pair(Some(2), Some(2)), (Some(2), None));
        assert_eq!(pair(Some(3), Some(2)), (Some(3), Some(2)));
        assert_eq!(pair(None, Some(2)), (None, Some(2)));
        assert_eq!(pair(Some(1), None), (Some(1), None));
    }

    #[test]
    fn machine_names_differ_per_deadline_pair_and_stay_short() {
        let stem = "tasktoken-0123456789ab";
        let names: Vec<_> = [(None, None), (Some(1), None), (None, Some(1)), (Some(1), Some(1))]
            .iter()
            .map(|(t, h)| machine_name(stem, *t, *h))
            .collect();
        assert_eq!(names[0], stem);
        assert_eq!(names[3], "tasktoken-0123456789ab-t1-h1");
        let unique: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), 4);
        assert!(machine_name(stem, Some(u64::MAX), Some(u64::MAX)).len() <= 80);
    }

    #[test]
    fn receive_requests_are_long_polls() {
        let b = receive_message_body("u");
        assert_eq!(b["QueueUrl"], "u");
        assert_eq!(b["WaitTimeSeconds"], RECEIVE_WAIT_SECONDS);
        assert!(RECEIVE_WAIT_SECONDS < crate::check::aws_api::POLL_TIMEOUT.as_secs());
        assert_eq!(b["MaxNumberOfMessages"], 10);
    }

    #[test]
    fn messages_yield_nonce_and_token() {
        assert_eq!(
            read_message(r#"{"token":"AAAA","nonce":"n1"}"#),
            Some(("n1".into(), "AAAA".into()))
        );
        // A body that is a JSON string holding the object.
        assert_eq!(
            read_message(r#""{\"token\":\"t\",\"nonce\":\"n\"}""#),
            Some(("n".into(), "t".into()))
        );
        assert_eq!(read_message(r#"{"token":"","nonce":"n"}"#), None);
        assert_eq!(read_message(r#"{"token":"t"}"#), None);
        assert_eq!(read_message("plain text"), None);
    }

    #[test]
    fn activity_tasks_yield_nonce_and_token() {
        let v = json!({"taskToken": "tok", "input": "{\"nonce\":\"n9\"}"});
        assert_eq!(read_activity_task(&v), Some(("n9".into(), "tok".into())));
        // An empty long poll: AWS answers without a token (or with an empty one).
        assert_eq!(read_activity_task(&json!({})), None);
        assert_eq!(read_activity_task(&json!({"taskToken": "", "input": "{}"})), None);
        assert_eq!(read_activity_task(&json!({"taskToken": "t", "input": "{}"})), None);
    }

    #[tokio::test]
    async fn aws_sources_need_the_aws_provider() {
        let target = Target::new("http://127.0.0.1:9", Duration::from_secs(1)).unwrap();
        let e =
            TokenSource::connect(TokenSourceSpec::AwsSqsCallback, target, Provider::Alibaba, None)
                .await
                .unwrap_err();
        assert!(e.message.contains("--provider aws"), "{e}");
    }

    #[tokio::test]
    async fn an_unreachable_target_is_a_source_error() {
        let target = Target::new("http://127.0.0.1:9", Duration::from_secs(1)).unwrap();
        let e = TokenSource::connect(TokenSourceSpec::AwsActivity, target, Provider::Aws, None)
            .await
            .unwrap_err();
        assert_eq!(e.source_name, "aws-activity");
        assert!(e.message.contains("AWSStepFunctions.CreateActivity"), "{e}");
    }
}
