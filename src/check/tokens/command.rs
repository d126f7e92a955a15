//! The `command:CMD` token sources: a shell command that prints one fresh live token per run.
//!
//! `command-deadlines:CMD` also hands the command the deadlines a check asks for, as
//! `TASKTOKEN_TIMEOUT_SECONDS` and `TASKTOKEN_HEARTBEAT_SECONDS`.

use std::process::Stdio;
use std::time::Duration;

use super::{LiveToken, SourceError, TaskRequest, TokenSource};

/// How long a `command:` token source may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `cmd` with `sh -c` (`TASKTOKEN_PROVIDER` and `TASKTOKEN_TARGET` set, and the
/// deadlines of `request` when given) and reads the one line it prints.
pub(super) async fn run(
    source: &TokenSource,
    cmd: &str,
    request: Option<&TaskRequest>,
) -> Result<LiveToken, SourceError> {
    let mut command = tokio::process::Command::new("sh");
    command.env_remove("TASKTOKEN_TIMEOUT_SECONDS").env_remove("TASKTOKEN_HEARTBEAT_SECONDS");
    if let Some(seconds) = request.and_then(|r| r.timeout_seconds) {
        command.env("TASKTOKEN_TIMEOUT_SECONDS", seconds.to_string());
    }
    if let Some(seconds) = request.and_then(|r| r.heartbeat_seconds) {
        command.env("TASKTOKEN_HEARTBEAT_SECONDS", seconds.to_string());
    }
    let child = command
        .arg("-c")
        .arg(cmd)
        .env("TASKTOKEN_PROVIDER", source.provider.name())
        .env("TASKTOKEN_TARGET", source.target.base())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| source.error(format!("cannot run: {e}")))?;
    let output = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| source.error(format!("no token within {COMMAND_TIMEOUT:?}")))?
        .map_err(|e| source.error(e.to_string()))?;
    if !output.status.success() {
        return Err(source.error(format!(
            "exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if token.is_empty() || token.contains('\n') {
        return Err(source.error("must print exactly one token on one line".into()));
    }
    Ok(LiveToken { token, task_id: None })
}
