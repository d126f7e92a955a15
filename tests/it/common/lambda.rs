//! Lambda durable callback helpers: minting callbacks, building requests as botocore sends them, reading answers.

use bytes::Bytes;
use http::{Request, Response};
use tasktoken::contract::lambda::{
    LambdaOptions, PATH_PREFIX, SEND_CALLBACK_FAILURE, SEND_CALLBACK_HEARTBEAT,
    SEND_CALLBACK_SUCCESS,
};
use tasktoken::contract::Operation;
use tasktoken::{Mock, MockConfig, NewTask, Provider, TaskSpec};

pub const SUCCEED: &Operation = &SEND_CALLBACK_SUCCESS;
pub const FAIL: &Operation = &SEND_CALLBACK_FAILURE;
pub const HEARTBEAT: &Operation = &SEND_CALLBACK_HEARTBEAT;

/// A mock with these Lambda options, on a virtual clock.
pub fn mock_with(options: LambdaOptions) -> Mock {
    Mock::new(MockConfig::default().lambda(options)).unwrap()
}

/// A pending callback with no timers.
pub fn callback(mock: &Mock) -> NewTask {
    mock.create_task(TaskSpec::new(Provider::Lambda)).unwrap()
}

/// A request for `operation` on `id`, percent-encoded and framed as botocore sends it.
pub fn call(operation: &Operation, id: &str, body: impl Into<Bytes>) -> Request<Bytes> {
    tasktoken::wire::lambda::encode(operation, id, body.into())
}

/// A request to the raw path `PATH_PREFIX` + `rest` (nothing encoded for the caller).
pub fn raw(method: &str, rest: &str, body: impl Into<Bytes>) -> Request<Bytes> {
    Request::builder().method(method).uri(format!("{PATH_PREFIX}{rest}")).body(body.into()).unwrap()
}

/// The `x-amzn-ErrorType` of an answer, or "200" for a 200 (which must have an empty body
/// and no error header).
pub fn code(response: &Response<Bytes>) -> String {
    if response.status() == 200 {
        assert!(response.body().is_empty(), "a 200 with a body");
        assert!(!response.headers().contains_key("x-amzn-errortype"));
        return "200".into();
    }
    response
        .headers()
        .get("x-amzn-errortype")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_else(|| format!("{} without x-amzn-ErrorType", response.status()))
}

/// The message member (`message` or `Message`) of an error answer.
pub fn message(response: &Response<Bytes>) -> String {
    let v: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    v.get("message").or_else(|| v.get("Message")).and_then(|m| m.as_str()).unwrap().to_owned()
}
