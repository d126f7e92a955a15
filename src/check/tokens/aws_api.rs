//! A small client for the AWS JSON-protocol calls of the AWS token sources (SQS, Step Functions).
//!
//! Calls are signed with SigV4 per service through [`crate::auth::aws::sign`] when credentials
//! are given, and every call is bounded in time.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::HOST;
use http::Request;
use serde_json::Value;

use crate::auth::Credentials;
use crate::check::target::{Target, TargetError, TransportError};
use crate::contract::aws::CONTENT_TYPE as JSON_1_0;

/// Limit for one ordinary API call (create, start, delete).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// Limit for one long poll: `GetActivityTask` holds a request for up to 60 s on AWS.
pub const POLL_TIMEOUT: Duration = Duration::from_secs(75);

/// The AWS services the token sources talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Amazon SQS, JSON protocol (`X-Amz-Target: AmazonSQS.<Operation>`), signing name `sqs`.
    Sqs,
    /// AWS Step Functions, awsJson1_0 (`AWSStepFunctions.<Operation>`), signing name `states`.
    StepFunctions,
}

impl Service {
    /// The prefix of `X-Amz-Target`.
    pub fn target_prefix(self) -> &'static str {
        match self {
            Service::Sqs => "AmazonSQS",
            Service::StepFunctions => "AWSStepFunctions",
        }
    }

    /// The service name in the SigV4 credential scope (emulators route on it).
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::Sqs => "sqs",
            Service::StepFunctions => crate::auth::aws::SERVICE,
        }
    }
}

/// A call that did not give a usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The request could not be signed (credentials that cannot appear in a header, say).
    #[error("{operation}: cannot sign the request: {reason}")]
    Sign {
        /// `AmazonSQS.CreateQueue` and the like.
        operation: String,
        /// Why.
        reason: String,
    },
    /// No answer: refused, reset, or over the time limit.
    #[error("{operation}: {source}")]
    Transport {
        /// The operation.
        operation: String,
        /// What happened.
        source: TransportError,
    },
    /// The service answered with an error.
    #[error("{operation} answered HTTP {status}: {code}{}", with_colon(.message))]
    Service {
        /// The operation.
        operation: String,
        /// HTTP status.
        status: u16,
        /// The error code (`__type` without its namespace), or the raw body when there is none.
        code: String,
        /// The message, if any.
        message: String,
    },
    /// A 200 whose body is not the JSON expected.
    #[error("{operation}: unexpected answer: {detail}")]
    Decode {
        /// The operation.
        operation: String,
        /// What was wrong, with the body.
        detail: String,
    },
}

/// `": message"`, or nothing for an empty message.
fn with_colon(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// Builds the awsJson1_0 request for `service.operation` with `body`, addressed to
/// `authority` and signed with `credentials` at `now` when they are given.
pub fn build_request(
    service: Service,
    operation: &str,
    body: &Value,
    authority: &str,
    credentials: Option<&Credentials>,
    now: SystemTime,
) -> Result<Request<Bytes>, ApiError> {
    let target = format!("{}.{operation}", service.target_prefix());
    let sign_error = |reason: String| ApiError::Sign { operation: target.clone(), reason };
    let mut request = Request::post("/")
        .header(HOST, authority)
        .header("content-type", JSON_1_0)
        .header("x-amz-target", &target)
        .body(Bytes::from(body.to_string()))
        .map_err(|e| sign_error(e.to_string()))?;
    if let Some(c) = credentials {
        crate::auth::aws::sign(
            &mut request,
            &c.key.access_key_id,
            &c.key.secret,
            &c.region,
            service.signing_name(),
            now,
        )
        .map_err(|e| sign_error(e.reason))?;
    }
    Ok(request)
}

/// Reads an answer: the JSON object of a 200, or the error it carries.
pub fn read_answer(operation: &str, status: u16, body: &[u8]) -> Result<Value, ApiError> {
    // A body that is not JSON (an HTML error page, say) on one line, cut short.
    let text = || {
        let text = String::from_utf8_lossy(body).split_whitespace().collect::<Vec<_>>().join(" ");
        match text.char_indices().nth(300) {
            Some((end, _)) => format!("{}…", &text[..end]),
            None => text,
        }
    };
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    if status == 200 {
        return match parsed {
            Some(v @ Value::Object(_)) => Ok(v),
            // An empty 200 (DeleteMessage on some emulators) is an empty object.
            None if body.iter().all(u8::is_ascii_whitespace) => {
                Ok(Value::Object(Default::default()))
            }
            _ => Err(ApiError::Decode {
                operation: operation.to_owned(),
                detail: format!("not a JSON object: {}", text()),
            }),
        };
    }
    let field = |v: &Value, names: &[&str]| {
        names.iter().find_map(|n| v.get(*n).and_then(Value::as_str)).map(str::to_owned)
    };
    let (code, message) = match &parsed {
        Some(v) => (
            field(v, &["__type", "code", "Code"])
                .map(|t| t.rsplit('#').next().unwrap_or(&t).to_owned())
                .unwrap_or_else(text),
            field(v, &["message", "Message"]).unwrap_or_default(),
        ),
        None => (text(), String::new()),
    };
    Err(ApiError::Service { operation: operation.to_owned(), status, code, message })
}

/// The client: the target twice (ordinary calls and long polls have different limits) and the
/// credentials (whose `Debug` redacts the secret).
#[derive(Debug, Clone)]
pub struct AwsApi {
    quick: Target,
    poll: Target,
    credentials: Option<Credentials>,
}

impl AwsApi {
    /// A client for the endpoint at `base`.
    pub fn new(base: &str, credentials: Option<Credentials>) -> Result<AwsApi, TargetError> {
        Ok(AwsApi {
            quick: Target::new(base, CALL_TIMEOUT)?,
            poll: Target::new(base, POLL_TIMEOUT)?,
            credentials,
        })
    }

    /// An ordinary call, limited to [`CALL_TIMEOUT`].
    pub async fn call(
        &self,
        service: Service,
        operation: &str,
        body: Value,
    ) -> Result<Value, ApiError> {
        self.send(&self.quick, service, operation, body).await
    }

    /// A long poll, limited to [`POLL_TIMEOUT`].
    pub async fn long_poll(
        &self,
        service: Service,
        operation: &str,
        body: Value,
    ) -> Result<Value, ApiError> {
        self.send(&self.poll, service, operation, body).await
    }

    async fn send(
        &self,
        target: &Target,
        service: Service,
        operation: &str,
        body: Value,
    ) -> Result<Value, ApiError> {
        let name = format!("{}.{operation}", service.target_prefix());
        let request = build_request(
            service,
            operation,
            &body,
            target.authority(),
            self.credentials.as_ref(),
            SystemTime::now(),
        )?;
        let received = target
            .send(request)
            .await
            .map_err(|source| ApiError::Transport { operation: name.clone(), source })?;
        read_answer(&name, received.status, &received.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{aws as sigv4, KeyPair, Keys};
    use serde_json::json;

    fn creds() -> Credentials {
        Credentials::new("testing", "secret", "eu-west-1")
    }

    #[test]
    fn unsigned_requests_carry_target_content_type_and_body() {
        let body = json!({"QueueName": "q"});
        let r = build_request(
            Service::Sqs,
            "CreateQueue",
            &body,
            "127.0.0.1:5000",
            None,
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(r.method(), "POST");
        assert_eq!(r.uri(), "/");
        assert_eq!(r.headers()["x-amz-target"], "AmazonSQS.CreateQueue");
        assert_eq!(r.headers()["content-type"], JSON_1_0);
        assert_eq!(r.headers()["host"], "127.0.0.1:5000");
        assert!(!r.headers().contains_key("authorization"));
        assert_eq!(serde_json::from_slice::<Value>(r.body()).unwrap(), body);
    }

    #[test]
    fn each_service_is_signed_under_its_own_scope() {
        let now = SystemTime::now();
        for (service, scope) in [
            (Service::Sqs, "/eu-west-1/sqs/aws4_request"),
            (Service::StepFunctions, "/eu-west-1/states/aws4_request"),
        ] {
            let r = build_request(service, "X", &json!({}), "h:1", Some(&creds()), now).unwrap();
            let auth = r.headers()["authorization"].to_str().unwrap();
            assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=testing/"), "{auth}");
            assert!(auth.contains(scope), "{auth}");
            assert!(r.headers().contains_key("x-amz-date"));
        }
    }

    #[test]
    fn step_functions_signatures_verify() {
        let now = SystemTime::now();
        let r = build_request(
            Service::StepFunctions,
            "StartExecution",
            &json!({"stateMachineArn": "arn"}),
            "127.0.0.1:1",
            Some(&creds()),
            now,
        )
        .unwrap();
        let keys = Keys::new([KeyPair::new("testing", "secret")]);
        assert_eq!(sigv4::verify(&r, &keys, now), Ok(()));
        let wrong = Keys::new([KeyPair::new("testing", "other")]);
        assert!(sigv4::verify(&r, &wrong, now).is_err());
    }

    #[test]
    fn unsignable_credentials_are_an_error_not_a_panic() {
        let bad = Credentials { region: "eu\nwest".into(), ..creds() };
        let e = build_request(Service::Sqs, "X", &json!({}), "h", Some(&bad), SystemTime::now());
        assert!(matches!(e, Err(ApiError::Sign { .. })), "{e:?}");
    }

    #[test]
    fn answers_are_read_as_objects_or_errors() {
        assert_eq!(read_answer("op", 200, br#"{"a":1}"#), Ok(json!({"a":1})));
        assert_eq!(read_answer("op", 200, b""), Ok(json!({})));
        assert!(matches!(read_answer("op", 200, b"[1]"), Err(ApiError::Decode { .. })));
        let e = read_answer(
            "AmazonSQS.ReceiveMessage",
            400,
            br#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"gone"}"#,
        )
        .unwrap_err();
        assert_eq!(
            e,
            ApiError::Service {
                operation: "AmazonSQS.ReceiveMessage".into(),
                status: 400,
                code: "QueueDoesNotExist".into(),
                message: "gone".into()
            }
        );
        let e = read_answer("op", 500, b"<html>\n <h1>Internal  Server Error</h1>\n</html>")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "op answered HTTP 500: <html> <h1>Internal Server Error</h1> </html>"
        );
        let long = read_answer("op", 500, "é".repeat(1000).as_bytes()).unwrap_err().to_string();
        assert!(long.ends_with('…') && long.chars().count() < 400, "{long}");
    }
}
