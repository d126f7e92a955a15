//! Token sources: how the checker gets live tokens from a target, and what else each can do.
//!
//! Each source declares its [`Capabilities`] (read task state, make deadlines, move the
//! clock). One module per source: [`mock`] (the control API), [`command`] (a shell command),
//! [`aws`] (a state machine on an AWS-compatible target, through [`aws_api`]).

mod aws;
pub mod aws_api;
mod command;
mod mock;

use std::str::FromStr;
use std::sync::Arc;

use serde::Deserialize;

use self::aws::{AwsKind, AwsSource};
use super::target::Target;
use crate::auth::Credentials;
use crate::contract::Provider;
use crate::tasks::Status;

pub use self::aws::{CLEANUP_TIMEOUT, SQS_CALLBACK_RESOURCE};

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
    /// `command-deadlines:CMD`: a shell command as [`TokenSourceSpec::Command`] that also
    /// honours the deadlines a check asks for, given to it as `TASKTOKEN_TIMEOUT_SECONDS` and
    /// `TASKTOKEN_HEARTBEAT_SECONDS` (unset when the check asks for none), so the timeout
    /// checks run on its tokens, in real time.
    CommandWithDeadlines(String),
    /// `aws-sqs-callback`: a state machine whose one Task state is
    /// `arn:aws:states:::sqs:sendMessage.waitForTaskToken` sends `$$.Task.Token` to an SQS
    /// queue the source creates; the token is read back with `ReceiveMessage` (real AWS,
    /// LocalStack, moto with its execution engine on).
    AwsSqsCallback,
    /// `aws-activity`: a state machine whose one Task state runs an activity the source
    /// creates; the token comes from `GetActivityTask` (real AWS, LocalStack).
    AwsActivity,
}

/// A `--tokens` value that names no token source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown token source {0:?}: expected mock, aws-sqs-callback, aws-activity, command:CMD or command-deadlines:CMD")]
pub struct UnknownTokenSource(pub String);

impl FromStr for TokenSourceSpec {
    type Err = UnknownTokenSource;
    fn from_str(s: &str) -> Result<Self, UnknownTokenSource> {
        match s {
            "mock" => Ok(TokenSourceSpec::Mock),
            "aws-sqs-callback" => Ok(TokenSourceSpec::AwsSqsCallback),
            "aws-activity" => Ok(TokenSourceSpec::AwsActivity),
            _ => {
                let command = |prefix: &str| {
                    s.strip_prefix(prefix).filter(|c| !c.trim().is_empty()).map(str::to_owned)
                };
                if let Some(cmd) = command("command:") {
                    Ok(TokenSourceSpec::Command(cmd))
                } else if let Some(cmd) = command("command-deadlines:") {
                    Ok(TokenSourceSpec::CommandWithDeadlines(cmd))
                } else {
                    Err(UnknownTokenSource(s.to_owned()))
                }
            }
        }
    }
}

impl std::fmt::Display for TokenSourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSourceSpec::Mock => f.write_str("mock"),
            TokenSourceSpec::Command(c) => write!(f, "command:{c}"),
            TokenSourceSpec::CommandWithDeadlines(c) => write!(f, "command-deadlines:{c}"),
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
    /// Schedule tasks with a given input on an activity.
    pub activity_tasks: bool,
    /// Scheduled activity inputs arrive byte for byte (the mock's control API); through a
    /// state machine they arrive as the same JSON value, serialised again.
    pub verbatim_input: bool,
}

/// A task to mint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskRequest {
    /// Overall timeout.
    pub timeout_seconds: Option<u64>,
    /// Heartbeat timeout.
    pub heartbeat_seconds: Option<u64>,
    /// Token length asked for, where the source can mint it: the `mock` source only. AWS
    /// tokens are minted at exactly this length (the mock's default, when `None`, is 680, as
    /// real ones; it mints 40 to 2048, multiples of 4). Alibaba tokens grow with the flow name,
    /// so the source asks for a flow name long enough to come near it: at most 128 characters,
    /// the longest the mock takes, which gives tokens of about 268 characters (128 by default).
    /// The other sources mint what the target issues and ignore it.
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
    pub status: Status,
    /// Stored output.
    pub output: Option<String>,
    /// Stored error.
    pub error: Option<String>,
    /// Stored cause.
    pub cause: Option<String>,
    /// Heartbeats accepted.
    #[serde(default)]
    pub heartbeats: u32,
    /// A Lambda callback's Result, in standard base64.
    #[serde(default)]
    pub result_base64: Option<String>,
    /// A Lambda callback's ErrorObject, as sent.
    #[serde(default)]
    pub error_object: Option<serde_json::Value>,
    /// Which deadline closed it (`task`, `heartbeat`; Lambda `Callback.Timeout`,
    /// `Callback.Heartbeat`).
    #[serde(default)]
    pub timed_out_by: Option<String>,
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

impl SourceError {
    fn new(spec: &TokenSourceSpec, message: String) -> SourceError {
        SourceError { source_name: spec.to_string(), message }
    }
}

/// Where a connected source gets its tokens.
#[derive(Debug, Clone)]
enum Backend {
    /// The tasktoken control API on the target.
    Mock,
    /// A shell command; `deadlines` when it honours the deadlines asked for.
    Command { cmd: String, deadlines: bool },
    /// A state machine on the target, with what the source created there.
    Aws(Arc<AwsSource>),
}

/// A token source bound to a target and provider.
#[derive(Debug, Clone)]
pub struct TokenSource {
    backend: Backend,
    target: Target,
    provider: Provider,
    capabilities: Capabilities,
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
            backend: Backend::Mock,
            target,
            provider,
            capabilities: Capabilities::default(),
        };
        match spec {
            TokenSourceSpec::Mock => source.capabilities = mock::capabilities(&source).await?,
            TokenSourceSpec::Command(cmd) => {
                source.backend = Backend::Command { cmd, deadlines: false }
            }
            TokenSourceSpec::CommandWithDeadlines(cmd) => {
                source.backend = Backend::Command { cmd, deadlines: true };
                source.capabilities.deadlines = true;
            }
            TokenSourceSpec::AwsSqsCallback | TokenSourceSpec::AwsActivity => {
                let kind = if spec == TokenSourceSpec::AwsSqsCallback {
                    AwsKind::SqsCallback
                } else {
                    AwsKind::Activity
                };
                let error = |e: &dyn std::fmt::Display| SourceError::new(&spec, e.to_string());
                if provider != Provider::Aws {
                    return Err(error(&format_args!(
                        "mints AWS Step Functions tokens: use it with --provider aws, not {}",
                        provider.name()
                    )));
                }
                let api = aws_api::AwsApi::new(source.target.base(), credentials)
                    .map_err(|e| error(&e))?;
                let aws = Arc::new(AwsSource::create(kind, api).await.map_err(|e| error(&e))?);
                source.backend = Backend::Aws(aws.clone());
                match aws.mint(&TaskRequest::default()).await {
                    Ok(token) => *aws.spare.lock().unwrap_or_else(|e| e.into_inner()) = Some(token),
                    Err(e) => {
                        let _ = source.cleanup().await;
                        return Err(error(&format_args!("the first token: {e}")));
                    }
                }
                source.capabilities = Capabilities {
                    read_state: false,
                    deadlines: true,
                    advance_clock: false,
                    cheap: false,
                    activity_tasks: kind == AwsKind::Activity,
                    verbatim_input: false,
                };
            }
        }
        Ok(source)
    }

    /// What it can do.
    pub fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    /// Its name as `--tokens` spells it.
    pub fn name(&self) -> String {
        self.spec().to_string()
    }

    /// The spec it was connected from.
    pub fn spec(&self) -> TokenSourceSpec {
        match &self.backend {
            Backend::Mock => TokenSourceSpec::Mock,
            Backend::Command { cmd, deadlines: false } => TokenSourceSpec::Command(cmd.clone()),
            Backend::Command { cmd, deadlines: true } => {
                TokenSourceSpec::CommandWithDeadlines(cmd.clone())
            }
            Backend::Aws(aws) => match aws.kind {
                AwsKind::SqsCallback => TokenSourceSpec::AwsSqsCallback,
                AwsKind::Activity => TokenSourceSpec::AwsActivity,
            },
        }
    }

    /// A fresh live token.
    pub async fn mint(&self, request: &TaskRequest) -> Result<LiveToken, SourceError> {
        match &self.backend {
            Backend::Mock => mock::mint(self, request).await,
            Backend::Command { cmd, deadlines } => {
                command::run(self, cmd, deadlines.then_some(request)).await
            }
            Backend::Aws(aws) => aws.mint(request).await.map_err(|e| self.error(e.to_string())),
        }
    }

    /// The task's state, where the source can read it.
    pub async fn state(&self, token: &LiveToken) -> Result<Option<TaskState>, SourceError> {
        match (&self.backend, &token.task_id) {
            (Backend::Mock, Some(id)) => mock::state(self, id).await.map(Some),
            _ => Ok(None),
        }
    }

    /// Schedules a task with `input` on the activity `arn` (sources with
    /// [`Capabilities::activity_tasks`]); its token (empty where only a poll learns it, as
    /// through a state machine) and task id.
    pub async fn schedule(&self, arn: &str, input: &str) -> Result<LiveToken, SourceError> {
        match &self.backend {
            Backend::Mock if self.capabilities.activity_tasks => {
                mock::schedule(self, arn, input).await
            }
            Backend::Aws(aws) if self.capabilities.activity_tasks => {
                aws.schedule(arn, input).await.map_err(|e| self.error(e.to_string()))
            }
            _ => Err(self.error("this source cannot schedule activity tasks".into())),
        }
    }

    /// How many polls wait on the activity `arn`, where the source can tell.
    pub async fn waiting_polls(&self, arn: &str) -> Result<Option<usize>, SourceError> {
        match &self.backend {
            Backend::Mock if self.capabilities.activity_tasks => {
                mock::waiting_polls(self, arn).await
            }
            _ => Ok(None),
        }
    }

    /// Moves the target's clock forward.
    pub async fn advance(&self, seconds: u64) -> Result<(), SourceError> {
        if !self.capabilities.advance_clock {
            return Err(self.error("this source cannot move the clock".into()));
        }
        mock::advance(self, seconds).await
    }

    /// Removes what the source created on the target, within [`CLEANUP_TIMEOUT`].
    ///
    /// The AWS sources stop the executions they started (tokens not completed would otherwise
    /// keep theirs running) and delete their state machines and their queue or activity. The
    /// mock and command sources create nothing to remove. Safe to call more than once.
    pub async fn cleanup(&self) -> Result<(), SourceError> {
        let Backend::Aws(aws) = &self.backend else { return Ok(()) };
        match tokio::time::timeout(CLEANUP_TIMEOUT, aws.cleanup()).await {
            Ok(result) => result.map_err(|e| self.error(format!("cleanup: {e}"))),
            Err(_) => Err(self.error(format!("cleanup took longer than {CLEANUP_TIMEOUT:?}"))),
        }
    }

    fn error(&self, message: String) -> SourceError {
        SourceError::new(&self.spec(), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn specs_round_trip() {
        for text in
            ["mock", "aws-sqs-callback", "aws-activity", "command:echo x", "command-deadlines:m x"]
        {
            let spec: TokenSourceSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!("aws-activity".parse(), Ok(TokenSourceSpec::AwsActivity));
        let e = "aws".parse::<TokenSourceSpec>().unwrap_err();
        let e = e.to_string();
        assert!(e.contains("aws-sqs-callback") && e.contains("aws-activity"), "{e}");
        assert!("command:  ".parse::<TokenSourceSpec>().is_err());
    }

    #[tokio::test]
    async fn only_command_deadlines_hands_the_command_its_deadlines() {
        let target = Target::new("http://127.0.0.1:9", Duration::from_secs(1)).unwrap();
        let cmd = "echo \"t${TASKTOKEN_TIMEOUT_SECONDS}-h${TASKTOKEN_HEARTBEAT_SECONDS}\"";
        let request = TaskRequest {
            timeout_seconds: Some(3),
            heartbeat_seconds: Some(2),
            ..TaskRequest::default()
        };
        for (spec, want, deadlines) in [
            (TokenSourceSpec::CommandWithDeadlines(cmd.into()), "t3-h2", true),
            (TokenSourceSpec::Command(cmd.into()), "t-h", false),
        ] {
            let source =
                TokenSource::connect(spec, target.clone(), Provider::Lambda, None).await.unwrap();
            assert_eq!(source.capabilities().deadlines, deadlines);
            assert_eq!(source.mint(&request).await.unwrap().token, want);
        }
        let source = TokenSource::connect(
            TokenSourceSpec::CommandWithDeadlines(cmd.into()),
            target,
            Provider::Lambda,
            None,
        )
        .await
        .unwrap();
        assert_eq!(source.mint(&TaskRequest::default()).await.unwrap().token, "t-h");
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
