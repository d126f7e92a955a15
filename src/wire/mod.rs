//! Wire codecs, one module per provider protocol: pure functions between bytes and calls.

pub mod activity;
pub mod alibaba;
pub mod aws;
pub mod lambda;

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};

use crate::contract::{Action, Operation};
use crate::tasks::Completion;

/// A validated task-token call, whatever the protocol; its strings borrow from the request
/// unless decoding had to copy them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call<'a> {
    /// The operation.
    pub operation: &'static Operation,
    /// The token, decoded.
    pub task_token: Cow<'a, str>,
    /// The output, decoded (success operations).
    pub output: Option<Cow<'a, str>>,
    /// The error name (failure operations).
    pub error: Option<Cow<'a, str>>,
    /// The cause (failure operations).
    pub cause: Option<Cow<'a, str>>,
}

impl Call<'_> {
    /// What the call asks of its task.
    pub fn completion(&self) -> Completion<'_> {
        match self.operation.action {
            Action::Succeed => Completion::Succeed { output: self.output.as_deref().unwrap_or("") },
            Action::Fail => {
                Completion::Fail { error: self.error.as_deref(), cause: self.cause.as_deref() }
            }
            Action::Heartbeat => Completion::Heartbeat,
        }
    }

    /// Why the output is not JSON, if it is not (checked only once the task is known open).
    pub fn output_error(&self) -> Option<String> {
        self.output.as_deref().and_then(json_error)
    }

    /// The call with its strings copied out of the request.
    pub fn into_owned(self) -> Call<'static> {
        let own = |s: Option<Cow<'_, str>>| s.map(|s| Cow::Owned(s.into_owned()));
        Call {
            operation: self.operation,
            task_token: Cow::Owned(self.task_token.into_owned()),
            output: own(self.output),
            error: own(self.error),
            cause: own(self.cause),
        }
    }
}

/// The parser's complaint about `text` as a JSON document (RFC 8259; any value, scalars
/// included; nesting deeper than 128 levels is rejected), or `None` when it is valid.
///
/// ```
/// assert_eq!(tasktoken::wire::json_error("\"x\""), None);
/// assert!(tasktoken::wire::json_error("{'a':1}").is_some());
/// ```
pub fn json_error(text: &str) -> Option<String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).err().map(|e| e.to_string())
}

/// A JSON answer with the provider's content type and its request-id header.
pub(crate) fn json_response(
    status: StatusCode,
    body: Bytes,
    content_type: &'static str,
    request_id_header: HeaderName,
    request_id: &str,
) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(request_id_header, v);
    }
    response
}
