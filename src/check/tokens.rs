//! Token sources: how the checker gets live tokens from a target, each declaring what else it can do (read task state, make deadlines, move the clock).

use std::process::Stdio;
use std::str::FromStr;
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use super::target::Target;
use crate::contract::Provider;

/// How long a `command:` token source may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A token source, as `--tokens` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSourceSpec {
    /// The tasktoken mock's control API on the target (`POST /_mock/tasks` …).
    Mock,
    /// A shell command that prints one fresh live token per run.
    Command(String),
}

impl FromStr for TokenSourceSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mock" => Ok(TokenSourceSpec::Mock),
            _ => match s.strip_prefix("command:") {
                Some(cmd) if !cmd.trim().is_empty() => Ok(TokenSourceSpec::Command(cmd.to_owned())),
                _ => Err(format!("unknown token source {s:?}: expected mock or command:CMD")),
            },
        }
    }
}

impl std::fmt::Display for TokenSourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSourceSpec::Mock => f.write_str("mock"),
            TokenSourceSpec::Command(c) => write!(f, "command:{c}"),
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

/// A token source bound to a target and provider.
#[derive(Debug, Clone)]
pub struct TokenSource {
    spec: TokenSourceSpec,
    target: Target,
    provider: Provider,
    capabilities: Capabilities,
}

impl TokenSource {
    /// Connects `spec` to `target` and finds out what it can do.
    pub async fn connect(
        spec: TokenSourceSpec,
        target: Target,
        provider: Provider,
    ) -> Result<TokenSource, SourceError> {
        let mut source =
            TokenSource { spec, target, provider, capabilities: Capabilities::default() };
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
                "{method} {path} answered {}: {} (is the target a tasktoken mock? use --tokens command:CMD otherwise)",
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
