//! The `command:CMD` token source: a shell command that prints one fresh live token per run.

use std::process::Stdio;
use std::time::Duration;

use super::{LiveToken, SourceError, TokenSource};

/// How long a `command:` token source may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `cmd` with `sh -c` (`TASKTOKEN_PROVIDER` and `TASKTOKEN_TARGET` set) and reads the
/// one line it prints.
pub(super) async fn run(source: &TokenSource, cmd: &str) -> Result<LiveToken, SourceError> {
    let child = tokio::process::Command::new("sh")
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
