//! The checker's calls: provider-neutral calls encoded into requests, and answers read back.
//!
//! Signing goes through [`crate::auth`]; a request that cannot be signed is an error, never
//! sent unsigned.

use std::time::SystemTime;

use bytes::Bytes;
use http::Request;

use super::target::{Received, Target, TransportError};
use crate::auth::{Credentials, SignError};
use crate::contract::{
    alibaba as ali_contract, aws as aws_contract, lambda as lambda_contract, ErrorSpec, Provider,
};
use crate::wire::{alibaba, aws, lambda};

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
        (Provider::Lambda, Call::Succeed { token, output }) => lambda::encode(
            &lambda_contract::SEND_CALLBACK_SUCCESS,
            token,
            Bytes::copy_from_slice(output.as_bytes()),
        ),
        (Provider::Lambda, Call::Fail { token, error, cause }) => {
            // The error name is the ErrorObject's ErrorType, the cause its ErrorMessage.
            let mut object = serde_json::Map::new();
            object.extend(error.map(|e| ("ErrorType".to_owned(), e.into())));
            object.extend(cause.map(|c| ("ErrorMessage".to_owned(), c.into())));
            let body = serde_json::to_vec(&object).unwrap_or_default();
            lambda::encode(&lambda_contract::SEND_CALLBACK_FAILURE, token, Bytes::from(body))
        }
        (Provider::Lambda, Call::Heartbeat { token }) => {
            lambda::encode(&lambda_contract::SEND_CALLBACK_HEARTBEAT, token, Bytes::new())
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
    /// What came back, in a few words, for failure messages: `200`, the code, or a
    /// description of an unreadable answer.
    pub fn describe(&self) -> String {
        match self {
            Seen::Ok => "200".into(),
            Seen::Error { code: Some(c), .. } => c.clone(),
            Seen::Error { status, code: None, .. } => {
                format!("HTTP {status} without a readable code")
            }
            Seen::Transport(e) => format!("transport error ({e})"),
        }
    }

    /// Whether this is the error `spec`: its code with its catalogue status.
    pub fn is(&self, spec: &ErrorSpec) -> bool {
        matches!(self, Seen::Error { status, code: Some(c), .. } if c == spec.code && *status == spec.status)
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
        Provider::Lambda => {
            match lambda::decode_response(received.status, &received.headers, &received.body) {
                lambda::Observed::Success => Seen::Ok,
                lambda::Observed::Error { status, code, message, .. } => {
                    Seen::Error { status, code, message }
                }
            }
        }
    }
}

/// Signs `request` for `provider` with `credentials` at `now`: SigV4 for AWS and Lambda (with
/// the target's `Host`), RPC v1 with its common parameters for Alibaba.
pub fn sign(
    provider: Provider,
    target: &Target,
    request: Request<Bytes>,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<Request<Bytes>, SignError> {
    let key = &credentials.key;
    let sigv4 = |mut request: Request<Bytes>, service: &str| {
        let host = http::HeaderValue::from_str(target.authority())
            .map_err(|_| SignError::new("the target's authority is not a valid Host header"))?;
        request.headers_mut().insert(http::header::HOST, host);
        crate::auth::aws::sign(
            &mut request,
            &key.access_key_id,
            &key.secret,
            &credentials.region,
            service,
            now,
        )?;
        Ok(request)
    };
    match provider {
        Provider::Aws => sigv4(request, crate::auth::aws::SERVICE),
        Provider::Lambda => sigv4(request, lambda_contract::SIGNING_NAME),
        Provider::Alibaba => crate::auth::alibaba::sign_request(request, key, now),
    }
}
