//! Helpers shared by the integration tests: building AWS requests and rendering responses for snapshots.

pub mod captures;
pub mod lambda;

use bytes::Bytes;
use http::{Request, Response};
use tasktoken::{Mock, MockConfig, NewTask, Provider, TaskSpec};

pub const SUCCESS: &str = "AWSStepFunctions.SendTaskSuccess";
pub const FAILURE: &str = "AWSStepFunctions.SendTaskFailure";
pub const HEARTBEAT: &str = "AWSStepFunctions.SendTaskHeartbeat";

/// A mock on a virtual clock.
pub fn mock() -> Mock {
    Mock::new(MockConfig::default()).unwrap()
}

/// A pending AWS task.
pub fn task(mock: &Mock) -> NewTask {
    mock.create_task(TaskSpec::new(Provider::Aws)).unwrap()
}

/// Asserts that `server` still answers a heartbeat on a fresh task with 200, over HTTP.
pub async fn heartbeat_works(server: &tasktoken::MockServer) {
    let t = task(server);
    let r = reqwest::Client::new()
        .post(server.uri())
        .header("X-Amz-Target", HEARTBEAT)
        .body(serde_json::json!({"taskToken": t.task_token}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// An awsJson1_0 request as the SDKs send it.
pub fn aws(target: &str, body: impl Into<Bytes>) -> Request<Bytes> {
    Request::post("/")
        .header("Host", "states.us-east-1.amazonaws.com")
        .header("X-Amz-Target", target)
        .header("Content-Type", "application/x-amz-json-1.0")
        .body(body.into())
        .unwrap()
}

/// A JSON body from a `serde_json::Value`.
pub fn json(value: serde_json::Value) -> Bytes {
    Bytes::from(value.to_string())
}

/// The `__type` shape name of an error response, or "200".
pub fn code(response: &Response<Bytes>) -> String {
    if response.status() == 200 {
        return "200".into();
    }
    let v: serde_json::Value = serde_json::from_slice(response.body()).unwrap_or_default();
    v["__type"].as_str().map(|t| t.rsplit('#').next().unwrap().to_owned()).unwrap_or_else(|| {
        format!("{} {}", response.status().as_u16(), String::from_utf8_lossy(response.body()))
    })
}

/// The message member of an error response.
pub fn message(response: &Response<Bytes>) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(response.body()).ok()?;
    v["message"].as_str().map(str::to_owned)
}

/// Whether `s` is a lowercase UUID v4, as AWS request ids are.
pub fn is_lowercase_uuid_v4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
        && parts[2].starts_with('4')
        && matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b')
}

/// Status, every header (request id checked then redacted), and the exact body (the request
/// id redacted there too), for a snapshot.
pub fn render(response: &Response<Bytes>) -> String {
    let mut out = format!("HTTP {}\n", response.status().as_u16());
    let mut headers: Vec<_> = response.headers().iter().collect();
    headers.sort_by_key(|(k, _)| k.as_str());
    let mut request_id = None;
    for (name, value) in headers {
        let value = value.to_str().unwrap();
        let shown = if name == "x-amzn-requestid" || name == "x-acs-request-id" {
            assert!(is_lowercase_uuid_v4(value), "request id {value}");
            request_id = Some(value.to_owned());
            "[lowercase uuid v4]"
        } else {
            value
        };
        out.push_str(&format!("{name}: {shown}\n"));
    }
    out.push('\n');
    let body = String::from_utf8_lossy(response.body()).into_owned();
    match request_id {
        Some(id) => out.push_str(&body.replace(&id, "[request id]")),
        None => out.push_str(&body),
    }
    out
}

// ---- Alibaba -----------------------------------------------------------------------------

pub const SUCCEEDED: &str = "ReportTaskSucceeded";
pub const FAILED: &str = "ReportTaskFailed";

/// A pending Alibaba task.
pub fn ali_task(mock: &Mock) -> NewTask {
    mock.create_task(TaskSpec::new(Provider::Alibaba)).unwrap()
}

/// An RPC request as the Tea SDK sends it: common parameters and `TaskToken` in the query,
/// `body` form-encoded.
pub fn ali(action: &str, query: &[(&str, &str)], body: &[(&str, &str)]) -> Request<Bytes> {
    let mut q = vec![("Action", action), ("Format", "json"), ("Version", "2019-03-15")];
    q.extend_from_slice(query);
    Request::post(format!("/?{}", tasktoken::wire::alibaba::encode_params(q)))
        .header("Host", "cn-hangzhou.fnf.aliyuncs.com")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(Bytes::from(tasktoken::wire::alibaba::encode_params(body.iter().copied())))
        .unwrap()
}

/// ReportTaskSucceeded.
pub fn ali_succeed(token: &str, output: &str) -> Request<Bytes> {
    ali(SUCCEEDED, &[("TaskToken", token)], &[("Output", output)])
}

/// ReportTaskFailed.
pub fn ali_fail(token: &str, error: &str, cause: Option<&str>) -> Request<Bytes> {
    let mut body = vec![("Error", error)];
    if let Some(c) = cause {
        body.push(("Cause", c));
    }
    ali(FAILED, &[("TaskToken", token)], &body)
}

/// `Code` of an Alibaba answer, or "200" for a success (which must carry `EventId` and no `Code`).
pub fn ali_code(response: &Response<Bytes>) -> String {
    let v: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    if response.status() == 200 {
        assert!(v.get("Code").is_none(), "a success with Code: {v}");
        assert!(v["EventId"].is_i64(), "{v}");
        return "200".into();
    }
    assert_eq!(v["RequestId"].as_str().map(is_lowercase_uuid_v4), Some(true), "{v}");
    v["Code"].as_str().unwrap().to_owned()
}

/// `Message` of an Alibaba error.
pub fn ali_message(response: &Response<Bytes>) -> String {
    let v: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    v["Message"].as_str().unwrap().to_owned()
}

/// insta settings that keep snapshots in the top-level `snapshots/` folder.
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// A string of exactly `bytes` UTF-8 bytes made of `width`-byte characters, padded with ASCII.
pub fn utf8_of(bytes: usize, width: usize) -> String {
    let ch = match width {
        1 => 'a',
        2 => 'é',
        3 => '€',
        4 => '😀',
        _ => panic!("width {width}"),
    };
    let mut s = String::with_capacity(bytes);
    for _ in 0..bytes / width {
        s.push(ch);
    }
    for _ in 0..bytes % width {
        s.push('a');
    }
    assert_eq!(s.len(), bytes);
    s
}
