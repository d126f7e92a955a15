//! The control API under `/_mock/`: mint tasks, read their state, move the virtual clock, read the journal, reset.
//!
//! | method and path | body | answer |
//! | --- | --- | --- |
//! | `POST /_mock/tasks` | `{"provider":"aws","timeoutSeconds":n?,"heartbeatSeconds":n?,"tokenLength":n?}` or `{"provider":"alibaba","timeoutSeconds":n?,"flowName":"…"?}` | 201 `{"taskToken","taskId"}` |
//! | `POST /_mock/tasks` | `{"provider":"aws","activityArn":ARN,"input":TEXT?,"timeoutSeconds":n?,"heartbeatSeconds":n?}`: an activity task (input default `"{}"`) | 201 `{"taskToken","taskId"}`; 404 unknown activity |
//! | `POST /_mock/tasks` | `{"provider":"lambda","timeoutSeconds":n?,"heartbeatSeconds":n?}`: a durable callback (0 disables a timer) | 201 `{"taskToken","callbackId","taskId"}` (`callbackId` is `taskToken`) |
//! | `GET /_mock/tasks/{taskId}` | | 200 task view (activity tasks add `activityArn`, `input`, `delivered`, `workerName`; lambda callbacks show `resultBase64`, `errorObject` and `timedOutBy` `Callback.Timeout` or `Callback.Heartbeat`), 404 unknown |
//! | `POST /_mock/activities` | `{"name":"…"}` | 201 the activity (as CreateActivity, idempotent) |
//! | `GET /_mock/activities` | | 200 `{"activities":[{"activityArn","name","queuedTasks","waitingPolls"}]}` |
//! | `DELETE /_mock/tasks/{taskId}` | | 204; its token then gets `TaskDoesNotExist` |
//! | `GET /_mock/clock` | | 200 `{"mode","nowMs"}` |
//! | `POST /_mock/clock` | `{"advanceSeconds":n}` or `{"advanceMillis":n}` | 200 `{"mode","nowMs"}`; 409 on a real clock |
//! | `GET /_mock/journal` | | 200 `{"dropped","entries":[…]}` |
//! | `DELETE /_mock/journal` | | 204 |
//! | `POST /_mock/faults` | a [`FaultSpec`](super::FaultSpec): `{"provider","operation"?,"error"?,"latencyMs"?,"reset"?,"count"?,"probability"?}` | 201 `{"faultId"}` |
//! | `GET /_mock/faults` | | 200 `{"faults":[…]}` with how often each fired |
//! | `DELETE /_mock/faults` | | 204 |
//! | `GET /_mock/stats` | | 200 counts of tasks by status |
//! | `POST /_mock/reset` | | 204: tasks and journal cleared, old tokens become `InvalidToken` |
//! | `GET /_mock/health` | | 200 `{"status":"ok"}` |
//!
//! Errors are `{"error":"<text>"}` with 400, 404, 405 or 409.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::{Mock, ScheduleError};
use crate::contract::Provider;
use crate::tasks::{StoreError, TaskId, TaskSpec};

/// Path prefix of the control API.
pub const PREFIX: &str = "/_mock";
/// Largest control request body: room for an activity input of 262144 UTF-8 bytes, escaped.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateTask {
    provider: Provider,
    timeout_seconds: Option<u64>,
    heartbeat_seconds: Option<u64>,
    token_length: Option<usize>,
    flow_name: Option<String>,
    activity_arn: Option<String>,
    input: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateActivity {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AdvanceClock {
    advance_seconds: Option<u64>,
    advance_millis: Option<u64>,
}

/// Whether `path` belongs to the control API.
pub fn is_control_path(path: &str) -> bool {
    path == PREFIX || path.starts_with("/_mock/")
}

pub(super) fn handle(mock: &Mock, req: Request<Bytes>) -> Response<Bytes> {
    let path = req.uri().path().trim_end_matches('/');
    let rest = path.strip_prefix(PREFIX).unwrap_or("");
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let method = req.method();
    match (segments.as_slice(), method) {
        (["tasks"], &Method::POST) => create_task(mock, req.body()),
        (["tasks", id], &Method::GET) => {
            match id.parse::<TaskId>().ok().and_then(|id| mock.task(id)) {
                Some(view) => json_response(StatusCode::OK, &view),
                None => error(StatusCode::NOT_FOUND, &format!("no task {id}")),
            }
        }
        (["tasks", id], &Method::DELETE) => match id.parse::<TaskId>() {
            Ok(id) if mock.delete_task(id) => empty(StatusCode::NO_CONTENT),
            _ => error(StatusCode::NOT_FOUND, &format!("no task {id}")),
        },
        (["activities"], &Method::GET) => {
            json_response(StatusCode::OK, &json!({"activities": mock.activities()}))
        }
        (["activities"], &Method::POST) => {
            match serde_json::from_slice::<CreateActivity>(req.body()) {
                Ok(a) => match mock.create_activity(&a.name) {
                    Ok(activity) => json_response(StatusCode::CREATED, &activity),
                    Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
                },
                Err(e) => error(StatusCode::BAD_REQUEST, &format!("invalid activity request: {e}")),
            }
        }
        (["clock"], &Method::GET) => clock(mock),
        (["clock"], &Method::POST) => advance_clock(mock, req.body()),
        (["journal"], &Method::GET) => json_response(StatusCode::OK, &mock.journal().snapshot()),
        (["journal"], &Method::DELETE) => {
            mock.journal().clear();
            empty(StatusCode::NO_CONTENT)
        }
        (["faults"], &Method::POST) => add_fault(mock, req.body()),
        (["faults"], &Method::GET) => {
            json_response(StatusCode::OK, &json!({"faults": mock.faults().list()}))
        }
        (["faults"], &Method::DELETE) => {
            mock.faults().clear();
            empty(StatusCode::NO_CONTENT)
        }
        (["stats"], &Method::GET) => json_response(StatusCode::OK, &mock.stats()),
        (["reset"], &Method::POST) => {
            mock.reset();
            empty(StatusCode::NO_CONTENT)
        }
        (["health"], &Method::GET) => json_response(StatusCode::OK, &json!({"status": "ok"})),
        (
            ["tasks"]
            | ["tasks", _]
            | ["activities"]
            | ["clock"]
            | ["journal"]
            | ["faults"]
            | ["stats"]
            | ["reset"]
            | ["health"],
            _,
        ) => error(StatusCode::METHOD_NOT_ALLOWED, &format!("{method} is not allowed on {path}")),
        _ => error(StatusCode::NOT_FOUND, &format!("no control endpoint {path}")),
    }
}

fn create_task(mock: &Mock, body: &[u8]) -> Response<Bytes> {
    let spec: CreateTask = match serde_json::from_slice(body) {
        Ok(spec) => spec,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid task request: {e}")),
    };
    let (arn, input) = (spec.activity_arn, spec.input);
    let spec = TaskSpec {
        provider: spec.provider,
        timeout_seconds: spec.timeout_seconds,
        heartbeat_seconds: spec.heartbeat_seconds,
        token_length: spec.token_length,
        flow_name: spec.flow_name,
    };
    if let Some(arn) = arn {
        return match mock.schedule_activity_task(&arn, spec, input.as_deref().unwrap_or("{}")) {
            Ok(task) => json_response(StatusCode::CREATED, &task),
            Err(e @ ScheduleError::NoActivity(_)) => error(StatusCode::NOT_FOUND, &e.to_string()),
            Err(e @ ScheduleError::Store(StoreError::Full(_))) => {
                error(StatusCode::CONFLICT, &e.to_string())
            }
            Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
        };
    }
    if input.is_some() {
        return error(StatusCode::BAD_REQUEST, "input is for activity tasks: give activityArn");
    }
    match mock.create_task(spec) {
        Ok(task) => json_response(StatusCode::CREATED, &task),
        Err(e @ StoreError::Full(_)) => error(StatusCode::CONFLICT, &e.to_string()),
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

fn add_fault(mock: &Mock, body: &[u8]) -> Response<Bytes> {
    let spec: super::FaultSpec = match serde_json::from_slice(body) {
        Ok(spec) => spec,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid fault: {e}")),
    };
    match mock.add_fault(spec) {
        Ok(id) => json_response(StatusCode::CREATED, &json!({ "faultId": id })),
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

fn clock(mock: &Mock) -> Response<Bytes> {
    let clock = mock.clock();
    let mode = if clock.is_virtual() { "virtual" } else { "real" };
    json_response(StatusCode::OK, &json!({"mode": mode, "nowMs": clock.now_ms()}))
}

fn advance_clock(mock: &Mock, body: &[u8]) -> Response<Bytes> {
    let by = match serde_json::from_slice::<AdvanceClock>(body) {
        Ok(AdvanceClock { advance_seconds: Some(s), advance_millis: None }) => {
            Duration::from_secs(s)
        }
        Ok(AdvanceClock { advance_seconds: None, advance_millis: Some(ms) }) => {
            Duration::from_millis(ms)
        }
        Ok(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "give exactly one of advanceSeconds, advanceMillis",
            )
        }
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid clock request: {e}")),
    };
    match mock.advance_clock(by) {
        Ok(_) => clock(mock),
        Err(e) => error(StatusCode::CONFLICT, &e.to_string()),
    }
}

fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response<Bytes> {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error(status: StatusCode, message: &str) -> Response<Bytes> {
    json_response(status, &json!({ "error": message }))
}

fn empty(status: StatusCode) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    response
}

/// The control API's answer to a body over [`MAX_BODY_BYTES`].
pub fn too_large() -> Response<Bytes> {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("control requests are limited to {MAX_BODY_BYTES} bytes"),
    )
}
