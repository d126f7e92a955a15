//! The checker's side of the wire: provider-neutral calls encoded into requests, answers read back into observations, and request signing.

use std::time::SystemTime;

use bytes::Bytes;
use http::Request;

use super::context::Credentials;
use super::target::{Received, Target, TransportError};
use crate::contract::{alibaba as ali_contract, aws as aws_contract, Provider};
use crate::wire::{alibaba, aws};

/// A call on a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call<'a> {
    /// Success with an output.
    Succeed {
        /// Token.
        token: &'a str,
        /// Output.
        output: &'a str,
    },
    /// Failure.
    Fail {
        /// Token.
        token: &'a str,
        /// Error.
        error: Option<&'a str>,
        /// Cause.
        cause: Option<&'a str>,
    },
    /// Heartbeat (AWS only).
    Heartbeat {
        /// Token.
        token: &'a str,
    },
}

/// The request for `call` on `provider`'s wire; `escape` sends AWS strings with non-ASCII
/// characters as `\uXXXX` escapes (as botocore does).
pub fn request(provider: Provider, call: Call<'_>, escape: bool) -> Request<Bytes> {
    match (provider, call) {
        (Provider::Aws, Call::Succeed { token, output }) => aws::encode(
            &aws_contract::SEND_TASK_SUCCESS,
            &[("taskToken", token), ("output", output)],
            escape,
        ),
        (Provider::Aws, Call::Fail { token, error, cause }) => {
            let mut members = vec![("taskToken", token)];
            members.extend(error.map(|e| ("error", e)));
            members.extend(cause.map(|c| ("cause", c)));
            aws::encode(&aws_contract::SEND_TASK_FAILURE, &members, escape)
        }
        (Provider::Aws, Call::Heartbeat { token }) => {
            aws::encode(&aws_contract::SEND_TASK_HEARTBEAT, &[("taskToken", token)], escape)
        }
        (Provider::Alibaba, Call::Succeed { token, output }) => alibaba::encode(
            &ali_contract::REPORT_TASK_SUCCEEDED,
            &[("TaskToken", token)],
            &[("Output", output)],
        ),
        (Provider::Alibaba, Call::Fail { token, error, cause }) => {
            let mut form = Vec::new();
            form.extend(error.map(|e| ("Error", e)));
            form.extend(cause.map(|c| ("Cause", c)));
            alibaba::encode(&ali_contract::REPORT_TASK_FAILED, &[("TaskToken", token)], &form)
        }
        (Provider::Alibaba, Call::Heartbeat { token }) => {
            // No such operation: the nearest thing a client could send.
            alibaba::encode(&ali_contract::REPORT_TASK_SUCCEEDED, &[("TaskToken", token)], &[])
        }
    }
}

/// What an answer says, provider-neutral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Success.
    Ok,
    /// An error: HTTP status, code as the SDKs read it, message.
    Error {
        /// Status.
        status: u16,
        /// Code (`TaskTimedOut`, `TaskAlreadyCompleted`); `None` if unreadable.
        code: Option<String>,
        /// Message.
        message: Option<String>,
    },
    /// No usable answer.
    Transport(String),
}

impl Seen {
    /// The code, `"200"` for success, or a description of what came back.
    pub fn code(&self) -> String {
        match self {
            Seen::Ok => "200".into(),
            Seen::Error { code: Some(c), .. } => c.clone(),
            Seen::Error { status, code: None, .. } => {
                format!("HTTP {status} without a readable code")
            }
            Seen::Transport(e) => format!("transport error ({e})"),
        }
    }

    /// The message, if any.
    pub fn message(&self) -> Option<&str> {
        match self {
            Seen::Error { message, .. } => message.as_deref(),
            _ => None,
        }
    }
}

/// Reads an answer the way the provider's SDKs do.
pub fn observe(provider: Provider, result: &Result<Received, TransportError>) -> Seen {
    let received = match result {
        Ok(r) => r,
        Err(e) => return Seen::Transport(e.to_string()),
    };
    match provider {
        Provider::Aws => match aws::decode_response(received.status, &received.body) {
            aws::Observed::Success => Seen::Ok,
            aws::Observed::Error { status, code, raw_type, message } => {
                Seen::Error { status, code: raw_type.map(|_| code), message }
            }
        },
        Provider::Alibaba => match alibaba::decode_response(received.status, &received.body) {
            alibaba::Observed::Success { .. } => Seen::Ok,
            alibaba::Observed::Error { status, code, message, .. } => {
                Seen::Error { status, code, message }
            }
        },
    }
}

/// The code a call on a closed task gets.
pub fn closed_code(provider: Provider) -> &'static str {
    match provider {
        Provider::Aws => aws_contract::TASK_TIMED_OUT.code,
        Provider::Alibaba => ali_contract::TASK_ALREADY_COMPLETED.code,
    }
}

/// The code a token the service never issued gets.
pub fn invalid_token_code(provider: Provider) -> &'static str {
    match provider {
        Provider::Aws => aws_contract::INVALID_TOKEN.code,
        Provider::Alibaba => ali_contract::INVALID_ARGUMENT.code,
    }
}

/// Signs `request` for `provider` with `credentials` at the current time.
pub fn sign(
    provider: Provider,
    target: &Target,
    mut request: Request<Bytes>,
    credentials: &Credentials,
) -> Request<Bytes> {
    let now = SystemTime::now();
    match provider {
        Provider::Aws => {
            if let Ok(host) = http::HeaderValue::from_str(target.authority()) {
                request.headers_mut().insert(http::header::HOST, host);
            }
            let _ = crate::auth::aws::sign(
                &mut request,
                &credentials.access_key_id,
                &credentials.secret,
                &credentials.region,
                now,
            );
            request
        }
        Provider::Alibaba => sign_rpc(request, credentials, now),
    }
}

/// Adds the RPC v1 common parameters and `Signature` to the query.
fn sign_rpc(request: Request<Bytes>, credentials: &Credentials, now: SystemTime) -> Request<Bytes> {
    let Ok(params) = alibaba::parse_params(&request) else { return request };
    let timestamp = time::OffsetDateTime::from(now)
        .format(time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
        .unwrap_or_default();
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let added = [
        ("AccessKeyId", credentials.access_key_id.as_str()),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", nonce.as_str()),
        ("Timestamp", timestamp.as_str()),
    ];
    let mut all = params.0.clone();
    all.extend(
        added.iter().map(|(k, v)| (std::borrow::Cow::Borrowed(*k), std::borrow::Cow::Borrowed(*v))),
    );
    let signature =
        crate::auth::alibaba::sign_rpc(request.method().as_str(), &all, &credentials.secret);
    let (mut parts, body) = request.into_parts();
    let mut query = parts.uri.query().unwrap_or("").to_owned();
    let extra = alibaba::encode_params(
        added.iter().copied().chain(std::iter::once(("Signature", signature.as_str()))),
    );
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str(&extra);
    if let Ok(uri) = format!("{}?{query}", parts.uri.path()).parse() {
        parts.uri = uri;
    }
    Request::from_parts(parts, body)
}
