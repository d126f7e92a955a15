//! The Alibaba CloudFlow adapter: the RPC codec, signatures and the quota in front of the task store.

use std::borrow::Cow;

use bytes::Bytes;
use http::{Request, Response};

use crate::contract::alibaba::{self as contract, Flavour, QUOTA_BUCKET, QUOTA_REFILL_PER_SECOND};
use crate::contract::Provider;
use crate::mock::adapter::{Adapter, Handled, Head, Registration, Services};
use crate::mock::faults::{Effect, Throttle};
use crate::mock::MockConfig;
use crate::tasks::{Rejection, TaskId};
use crate::wire::alibaba::{self as wire, AlibabaError, Params};

/// Host reported in `HostId` when the request has no Host header.
const DEFAULT_HOST: &str = "cn-hangzhou.fnf.aliyuncs.com";

/// Alibaba is the fallback route: RPC requests carry nothing else to recognise them by
/// before the body is read.
pub(in crate::mock) const REGISTRATION: Registration = Registration {
    provider: Provider::Alibaba,
    claims: |_| true,
    build: |config| Box::new(Alibaba::new(config)),
};

/// The Alibaba error for a store rejection of a report sent with `token`, as the contract's
/// outcome table names it.
fn rejection_error(rejection: Rejection, token: &str) -> AlibabaError {
    let outcomes = &contract::CONTRACT.outcomes;
    match rejection {
        Rejection::Closed => AlibabaError::with(outcomes.closed, &[token]),
        Rejection::InvalidToken => AlibabaError::plain(outcomes.invalid_token),
        Rejection::Deleted => AlibabaError::plain(outcomes.deleted),
        Rejection::InvalidOutput(_) => AlibabaError::plain(outcomes.invalid_output),
    }
}

/// The adapter: the flavour's limits, the quota when it is on, strict mode's keys.
#[derive(Debug)]
struct Alibaba {
    flavour: Flavour,
    throttle: Option<Throttle>,
    #[cfg(feature = "strict-auth")]
    keys: Option<crate::auth::Keys>,
    /// Strict mode's nonces seen, each until its request's window closes.
    #[cfg(feature = "strict-auth")]
    nonces: crate::auth::nonces::Nonces,
}

impl Alibaba {
    fn new(config: &MockConfig) -> Alibaba {
        let now = config.clock.now_ms();
        Alibaba {
            flavour: config.alibaba_flavour,
            throttle: config
                .throttle
                .then(|| Throttle::new(QUOTA_BUCKET, QUOTA_REFILL_PER_SECOND, now)),
            #[cfg(feature = "strict-auth")]
            keys: config.auth.as_ref().map(|a| a.alibaba.clone()),
            #[cfg(feature = "strict-auth")]
            nonces: crate::auth::nonces::Nonces::default(),
        }
    }
}

impl Adapter for Alibaba {
    fn provider(&self) -> Provider {
        Provider::Alibaba
    }

    fn too_large(&self, head: &Head<'_>, request_id: &str) -> Response<Bytes> {
        let error = wire::too_large(self.body_limit());
        let host = head.header(http::header::HOST).unwrap_or(DEFAULT_HOST);
        let mut response = wire::error_response(&error, request_id, host);
        response
            .headers_mut()
            .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
        response
    }

    fn handle<'r>(&self, services: &Services<'_>, req: &'r Request<Bytes>) -> Handled<'r> {
        let mut effect = Effect::default();
        let mut operation = None;
        let outcome = self.apply(services, req, &mut effect, &mut operation);
        let response = match &outcome {
            Ok((_, event_id)) => wire::success(*event_id, services.request_id),
            Err(e) => {
                let host = Head::of(req).header(http::header::HOST).unwrap_or(DEFAULT_HOST);
                wire::error_response(e, services.request_id, host)
            }
        };
        Handled {
            response,
            operation: operation.map(|op| match op {
                Cow::Borrowed(name) => Cow::Borrowed(name.as_bytes()),
                Cow::Owned(name) => Cow::Owned(name.into_bytes()),
            }),
            error_code: outcome.as_ref().err().map(|e| e.spec.code),
            task_id: outcome.ok().map(|(id, _)| id),
            effect,
            poll: None,
        }
    }
}

impl Alibaba {
    fn apply(
        &self,
        services: &Services<'_>,
        req: &Request<Bytes>,
        effect: &mut Effect,
        operation_name: &mut Option<Cow<'static, str>>,
    ) -> Result<(TaskId, u64), AlibabaError> {
        let params = wire::parse_params(req)?;
        let operation = match wire::parse_operation(&params, req.headers()) {
            Ok(op) => {
                *operation_name = Some(Cow::Borrowed(op.name));
                op
            }
            Err(e) => {
                // An unknown action is journalled as sent.
                *operation_name = params
                    .get("Action")
                    .or_else(|| Head::of(req).header("x-acs-action"))
                    .map(|a| Cow::Owned(a.to_owned()));
                return Err(e);
            }
        };
        if let Some(firing) = services.faults.fire(Provider::Alibaba, operation.name) {
            *effect = firing.effect;
            if let Some(code) = firing.error {
                return Err(injected(&code, &params));
            }
        }
        if let Some(throttle) = &self.throttle {
            if !throttle.allow(services.store.clock().now_ms()) {
                return Err(AlibabaError::plain(&contract::RESOURCE_THROTTLED));
            }
        }
        self.authenticate(services, req, &params)?;
        let call = wire::parse_call(operation, &params, self.flavour)?;
        services
            .store
            .apply(Provider::Alibaba, &call.task_token, call.completion(), call.output_error())
            .map(|a| (a.task_id, a.event_id))
            .map_err(|r| rejection_error(r, &call.task_token))
    }
}

/// Strict mode: RPC v1 or ACS3 signatures, judged by the mock's clock, each nonce once per
/// AccessKey ID within the window.
#[cfg(feature = "strict-auth")]
mod strict {
    use super::*;
    use crate::auth::alibaba::{self as auth, AlibabaAuthError};

    impl Alibaba {
        /// Passes everything when strict mode is off.
        pub(super) fn authenticate(
            &self,
            services: &Services<'_>,
            req: &Request<Bytes>,
            params: &Params<'_>,
        ) -> Result<(), AlibabaError> {
            let Some(keys) = &self.keys else { return Ok(()) };
            auth::verify_once(req, &params.0, keys, &self.nonces, services.now())
                .map_err(auth_error)
        }
    }

    /// Strict mode's answer to a signature that does not verify.
    fn auth_error(error: AlibabaAuthError) -> AlibabaError {
        match error {
            AlibabaAuthError::Missing(name) => wire::missing(name),
            AlibabaAuthError::InvalidAccessKeyId(id) => {
                AlibabaError::with(&contract::INVALID_ACCESS_KEY_ID, &[&id])
            }
            AlibabaAuthError::SignatureNotMatch
            | AlibabaAuthError::UnsupportedSignatureMethod(_) => {
                AlibabaError::plain(&contract::SIGNATURE_NOT_MATCH)
            }
            AlibabaAuthError::RequestTimeTooSkewed { request_time, now } => {
                AlibabaError::with(&contract::REQUEST_TIME_TOO_SKEWED, &[&request_time, &now])
            }
            AlibabaAuthError::SignatureNonceUsed => {
                AlibabaError::plain(&contract::SIGNATURE_NONCE_USED)
            }
        }
    }
}

/// Built without strict mode: nothing to verify.
#[cfg(not(feature = "strict-auth"))]
impl Alibaba {
    fn authenticate(
        &self,
        _: &Services<'_>,
        _: &Request<Bytes>,
        _: &Params<'_>,
    ) -> Result<(), AlibabaError> {
        Ok(())
    }
}

/// An injected catalogue error, its `%s` filled from the request where it can be.
fn injected(code: &str, params: &Params) -> AlibabaError {
    let spec = contract::CONTRACT.error(code).unwrap_or(&contract::INTERNAL_SERVER_ERROR);
    let p = |name: &str| params.get(name).unwrap_or("").to_owned();
    let args: Vec<String> = match code {
        "ActionNotSupported" => vec![p("Action")],
        "APIVersionNotSupported" => vec![p("Version")],
        "EntityTooLarge" => vec![contract::MAX_REQUEST_BYTES.to_string()],
        "MissingRequiredHeader" => vec!["x-acs-action".into()],
        "MissingRequiredParams" => vec!["TaskToken".into()],
        "TaskAlreadyCompleted" => vec![p("TaskToken")],
        "InvalidAccessKeyID" => vec![p("AccessKeyId")],
        "RequestTimeTooSkewed" => vec![p("Timestamp"), p("Timestamp")],
        _ => vec![],
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    AlibabaError::with(spec, &args)
}
