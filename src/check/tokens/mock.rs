//! The `mock` token source: tasks made and read through the tasktoken control API on the target.

use bytes::Bytes;
use serde_json::json;

use super::{Capabilities, LiveToken, SourceError, TaskRequest, TaskState, TokenSource};
use crate::contract::Provider;

/// What the mock source can do: everything, and move the clock when the target's is virtual.
pub(super) async fn capabilities(source: &TokenSource) -> Result<Capabilities, SourceError> {
    let clock = control(source, "GET", "/_mock/clock", None).await?;
    // A mock from before the activity API answers 404 here.
    let activities = control(source, "GET", "/_mock/activities", None).await.is_ok();
    Ok(Capabilities {
        read_state: true,
        deadlines: true,
        advance_clock: clock["mode"] == "virtual",
        cheap: true,
        activity_tasks: activities && source.provider == Provider::Aws,
        verbatim_input: true,
    })
}

/// `POST /_mock/tasks` with the deadlines and token length asked for.
pub(super) async fn mint(
    source: &TokenSource,
    request: &TaskRequest,
) -> Result<LiveToken, SourceError> {
    let mut body = json!({"provider": source.provider.name()});
    if let Some(t) = request.timeout_seconds {
        body["timeoutSeconds"] = json!(t);
    }
    if let Some(h) = request.heartbeat_seconds {
        body["heartbeatSeconds"] = json!(h);
    }
    match (source.provider, request.token_length) {
        (Provider::Aws, Some(l)) => body["tokenLength"] = json!(l),
        (Provider::Alibaba, Some(l)) => body["flowName"] = json!(alibaba_flow_name(l)),
        // Lambda callback ids have one length.
        (Provider::Lambda, Some(_)) | (_, None) => {}
    }
    created(source, body).await
}

/// `POST /_mock/tasks` with an activity and an input.
pub(super) async fn schedule(
    source: &TokenSource,
    arn: &str,
    input: &str,
) -> Result<LiveToken, SourceError> {
    let body = json!({"provider": "aws", "activityArn": arn, "input": input});
    created(source, body).await
}

/// `waitingPolls` of `arn` in `GET /_mock/activities`.
pub(super) async fn waiting_polls(
    source: &TokenSource,
    arn: &str,
) -> Result<Option<usize>, SourceError> {
    let v = control(source, "GET", "/_mock/activities", None).await?;
    let activities = v["activities"].as_array().cloned().unwrap_or_default();
    Ok(activities
        .iter()
        .find(|a| a["activityArn"] == arn)
        .and_then(|a| a["waitingPolls"].as_u64())
        .map(|n| n as usize))
}

/// `POST /_mock/tasks` with `body`: the task's token and id.
async fn created(source: &TokenSource, body: serde_json::Value) -> Result<LiveToken, SourceError> {
    let v = control(source, "POST", "/_mock/tasks", Some(body)).await?;
    match (v["taskToken"].as_str(), v["taskId"].as_str()) {
        (Some(token), Some(id)) => {
            Ok(LiveToken { token: token.to_owned(), task_id: Some(id.to_owned()) })
        }
        _ => Err(source.error(format!("unexpected answer to POST /_mock/tasks: {v}"))),
    }
}

/// Longest flow name the mock accepts.
const MAX_FLOW_NAME: usize = 128;
/// Characters of an Alibaba token's plain text besides the flow name: `v1#`, `#<execution
/// uuid>#<event id>#` and the base64 of a 20-byte MAC.
const ALIBABA_TOKEN_OVERHEAD: usize = 3 + 1 + 36 + 1 + 1 + 1 + 28;

/// A flow name that makes the mock's Alibaba tokens about `token_length` characters long, as
/// near as the 128-character flow name limit allows.
fn alibaba_flow_name(token_length: usize) -> String {
    let plain = token_length / 4 * 3;
    let n = plain.saturating_sub(ALIBABA_TOKEN_OVERHEAD).clamp(1, MAX_FLOW_NAME);
    // A name of mixed case, so that a case-folding lookup shows on the flow name's characters.
    "CheckFlow".chars().cycle().take(n).collect()
}

/// `GET /_mock/tasks/{id}`. A Lambda callback's view names its result `resultBase64` and its
/// error `errorObject`: they are also read into the neutral `output` (the Result's bytes as
/// UTF-8, lossily), `error` (the ErrorType) and `cause` (the ErrorMessage).
pub(super) async fn state(source: &TokenSource, id: &str) -> Result<TaskState, SourceError> {
    use base64::Engine as _;
    let v = control(source, "GET", &format!("/_mock/tasks/{id}"), None).await?;
    let mut state: TaskState =
        serde_json::from_value(v).map_err(|e| source.error(e.to_string()))?;
    if source.provider == Provider::Lambda {
        if let Some(b64) = &state.result_base64 {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| source.error(format!("resultBase64: {e}")))?;
            state.output = Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        if let Some(object) = &state.error_object {
            let member = |name: &str| object.get(name).and_then(|v| v.as_str()).map(str::to_owned);
            state.error = member("ErrorType");
            state.cause = member("ErrorMessage");
        }
    }
    Ok(state)
}

/// `POST /_mock/clock` moving the clock forward.
pub(super) async fn advance(source: &TokenSource, seconds: u64) -> Result<(), SourceError> {
    let body = json!({"advanceSeconds": seconds});
    control(source, "POST", "/_mock/clock", Some(body)).await.map(|_| ())
}

async fn control(
    source: &TokenSource,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<serde_json::Value, SourceError> {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.map(|b| Bytes::from(b.to_string())).unwrap_or_default())
        .map_err(|e| source.error(e.to_string()))?;
    let response = source.target.send(request).await.map_err(|e| source.error(e.to_string()))?;
    if !(200..300).contains(&response.status) {
        return Err(source.error(format!(
            "{method} {path} answered {}: {} (is the target a tasktoken mock? use --tokens aws-sqs-callback, aws-activity or command:CMD otherwise)",
            response.status,
            String::from_utf8_lossy(&response.body)
        )));
    }
    serde_json::from_slice(&response.body)
        .map_err(|e| source.error(format!("{method} {path}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alibaba_flow_names_follow_the_length_asked_for_up_to_the_limit() {
        assert_eq!(alibaba_flow_name(2048).len(), MAX_FLOW_NAME);
        assert_eq!(alibaba_flow_name(200).len(), 150 - ALIBABA_TOKEN_OVERHEAD);
        assert_eq!(alibaba_flow_name(0), "C");
        let codec = crate::tasks::TokenCodec::random();
        let token = codec.mint_alibaba(1, &alibaba_flow_name(2048), 2);
        assert!((260..=272).contains(&token.len()), "{}", token.len());
    }
}
