//! The AWS Step Functions adapter: the awsJson1_0 codec and SigV4 in front of the task store.

use std::borrow::Cow;

use bytes::Bytes;
use http::{Request, Response};

use crate::contract::aws::{self as contract, activity};
use crate::contract::{ActivityOperation, Provider};
use crate::mock::activities::{ActivityInfo, Delivery, HeldPoll, Polled, Take};
use crate::mock::adapter::{Adapter, Handled, Head, Registration, Services};
use crate::mock::faults::Effect;
use crate::tasks::{Rejection, TaskId};
use crate::wire::activity::{self as activity_wire, ActivityCall};
use crate::wire::aws::{self as wire, AwsError};

/// AWS claims requests with an `X-Amz-Target` header, an `application/x-amz-json-*` content
/// type or a SigV4 `Authorization`.
pub(in crate::mock) const REGISTRATION: Registration = Registration {
    provider: Provider::Aws,
    claims: |head| {
        head.headers.contains_key(&wire::TARGET)
            || head
                .header(http::header::CONTENT_TYPE)
                .is_some_and(|c| c.starts_with("application/x-amz-json"))
            || head.header(http::header::AUTHORIZATION).is_some_and(|a| a.starts_with("AWS4-"))
    },
    #[cfg_attr(not(feature = "strict-auth"), allow(unused_variables))]
    build: |config| {
        Box::new(Aws {
            #[cfg(feature = "strict-auth")]
            keys: config.auth.as_ref().map(|a| a.aws.clone()),
            #[cfg(feature = "strict-auth")]
            region: config.aws_region.clone(),
        })
    },
};

/// The AWS error for a store rejection, as the contract's outcome table names it.
fn rejection_error(rejection: Rejection) -> AwsError {
    let outcomes = &contract::CONTRACT.outcomes;
    match rejection {
        Rejection::InvalidToken => AwsError::plain(outcomes.invalid_token),
        Rejection::Closed => AwsError::plain(outcomes.closed),
        Rejection::Deleted => AwsError::plain(outcomes.deleted),
        Rejection::InvalidOutput(detail) => AwsError::with(outcomes.invalid_output, &[&detail]),
    }
}

/// The adapter; `keys` are strict mode's (off when `None`), `region` the one SigV4 region
/// it accepts (any when `None`).
#[derive(Debug)]
struct Aws {
    #[cfg(feature = "strict-auth")]
    keys: Option<crate::auth::Keys>,
    #[cfg(feature = "strict-auth")]
    region: Option<String>,
}

impl Adapter for Aws {
    fn provider(&self) -> Provider {
        Provider::Aws
    }

    fn too_large(&self, _head: &Head<'_>, _request_id: &str) -> Response<Bytes> {
        wire::too_large()
    }

    fn handle<'r>(&self, services: &Services<'_>, req: &'r Request<Bytes>) -> Handled<'r> {
        // Looked up once: routing, the journal and the envelope all read it.
        let target = req.headers().get(&wire::TARGET);
        let target_text = target.and_then(|t| t.to_str().ok());
        if let Some(operation) = target_text.and_then(activity_wire::operation_named) {
            return self.activity(services, req, operation, target);
        }
        let mut effect = Effect::default();
        let outcome = self.apply(services, req, target_text, &mut effect);
        let response = match &outcome {
            Ok(_) => wire::success(services.request_id),
            Err(e) => wire::error_response(e, services.request_id),
        };
        Handled {
            response,
            operation: target.map(|t| Cow::Borrowed(t.as_bytes())),
            error_code: outcome.as_ref().err().map(|e| e.spec.code),
            task_id: outcome.ok(),
            effect,
            poll: None,
        }
    }
}

/// What an activity call answers when it succeeds.
struct ActivityAnswer {
    response: Response<Bytes>,
    task_id: Option<TaskId>,
    poll: Option<Polled>,
}

impl ActivityAnswer {
    fn plain(response: Response<Bytes>) -> ActivityAnswer {
        ActivityAnswer { response, task_id: None, poll: None }
    }
}

impl Aws {
    /// The activity API: the same envelope, faults and strict mode, then the activities.
    fn activity<'r>(
        &self,
        services: &Services<'_>,
        req: &'r Request<Bytes>,
        operation: &'static ActivityOperation,
        target: Option<&'r http::HeaderValue>,
    ) -> Handled<'r> {
        let mut effect = Effect::default();
        let (response, error_code, task_id, poll) =
            match self.activity_call(services, req, operation, &mut effect) {
                Ok(answer) => (answer.response, None, answer.task_id, answer.poll),
                Err(e) => {
                    (wire::error_response(&e, services.request_id), Some(e.spec.code), None, None)
                }
            };
        Handled {
            response,
            operation: target.map(|t| Cow::Borrowed(t.as_bytes())),
            error_code,
            task_id,
            effect,
            poll,
        }
    }

    fn activity_call(
        &self,
        services: &Services<'_>,
        req: &Request<Bytes>,
        operation: &'static ActivityOperation,
        effect: &mut Effect,
    ) -> Result<ActivityAnswer, AwsError> {
        let envelope = activity_wire::parse_envelope(req, operation)?;
        if let Some(firing) = services.faults.fire(Provider::Aws, operation.name) {
            *effect = firing.effect;
            if let Some(code) = firing.error {
                return Err(injected(&code));
            }
        }
        self.authenticate(services, req)?;
        let call = activity_wire::parse_call(&envelope)?;
        let desk = &services.activities;
        let rid = services.request_id;
        let missing = |arn: &str| AwsError::with(&activity::ACTIVITY_DOES_NOT_EXIST, &[arn]);
        Ok(match call {
            ActivityCall::Create { name } => {
                if !activity::valid_name(&name) {
                    return Err(AwsError::with(&activity::INVALID_NAME, &[&name]));
                }
                let created = desk.create(&name, &activity::arn(region(req), &name));
                ActivityAnswer::plain(activity_wire::created(&item(&created), rid))
            }
            ActivityCall::Describe { arn } => {
                activity_wire::check_arn(&arn)?;
                let found = desk.get(&arn).ok_or_else(|| missing(&arn))?;
                ActivityAnswer::plain(activity_wire::described(&item(&found), rid))
            }
            ActivityCall::List { max_results, next_token } => {
                let all = desk.list();
                let start = next_token.map(|t| activity_wire::page_start(&t)).transpose()?;
                let start = start.unwrap_or(0).min(all.len());
                let end = start.saturating_add(max_results).min(all.len());
                let items: Vec<_> = all[start..end].iter().map(item).collect();
                let next = (end < all.len()).then(|| activity_wire::page_token(end));
                ActivityAnswer::plain(activity_wire::listed(&items, next.as_deref(), rid))
            }
            ActivityCall::Delete { arn } => {
                activity_wire::check_arn(&arn)?;
                desk.delete(&arn);
                ActivityAnswer::plain(wire::success(rid))
            }
            ActivityCall::Poll { arn, worker_name } => {
                activity_wire::check_arn(&arn)?;
                let worker_name = worker_name.map(Cow::into_owned);
                match desk.poll(&arn).map_err(|_| missing(&arn))? {
                    Take::Now(offer) => ActivityAnswer {
                        response: activity_wire::polled(Some(offer.task()), rid),
                        task_id: Some(offer.task().task_id),
                        poll: Some(Polled::Got(Delivery::new(offer, worker_name))),
                    },
                    Take::Wait(waiting) => ActivityAnswer {
                        response: activity_wire::polled(None, rid),
                        task_id: None,
                        poll: Some(Polled::Held(Box::new(HeldPoll {
                            waiting,
                            worker_name,
                            request_id: rid.to_owned(),
                            render: activity_wire::polled,
                            journal: None,
                        }))),
                    },
                }
            }
        })
    }
}

/// An activity as the codec writes it.
fn item(a: &ActivityInfo) -> activity_wire::ActivityItem<'_> {
    activity_wire::ActivityItem { arn: &a.activity_arn, name: &a.name, created_ms: a.created_ms }
}

/// The region a request's SigV4 scope names (`Credential=AKID/date/<region>/states/…`), else
/// `us-east-1`.
fn region(req: &Request<Bytes>) -> &str {
    req.headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|a| a.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(2))
        .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .unwrap_or(activity::DEFAULT_REGION)
}

impl Aws {
    fn apply(
        &self,
        services: &Services<'_>,
        req: &Request<Bytes>,
        target: Option<&str>,
        effect: &mut Effect,
    ) -> Result<TaskId, AwsError> {
        let envelope = wire::parse_envelope_with(req.body(), target)?;
        if let Some(firing) = services.faults.fire(Provider::Aws, envelope.operation.name) {
            *effect = firing.effect;
            if let Some(code) = firing.error {
                return Err(injected(&code));
            }
        }
        self.authenticate(services, req)?;
        let call = wire::parse_call(envelope)?;
        services
            .store
            .apply(Provider::Aws, &call.task_token, call.completion(), call.output_error())
            .map(|applied| applied.task_id)
            .map_err(rejection_error)
    }
}

/// Strict mode: SigV4, judged by the mock's clock, for one region when one is set.
#[cfg(feature = "strict-auth")]
mod strict {
    use super::*;
    use crate::auth::aws::AwsAuthError;

    impl Aws {
        /// Passes everything when strict mode is off.
        pub(super) fn authenticate(
            &self,
            services: &Services<'_>,
            req: &Request<Bytes>,
        ) -> Result<(), AwsError> {
            let Some(keys) = &self.keys else { return Ok(()) };
            let now = services.now();
            match &self.region {
                Some(region) => crate::auth::aws::verify_in_region(req, keys, region, now),
                None => crate::auth::aws::verify(req, keys, now),
            }
            .map_err(auth_error)
        }
    }

    /// Strict mode's answer to a signature that does not verify.
    fn auth_error(error: AwsAuthError) -> AwsError {
        match error {
            AwsAuthError::Missing => AwsError::plain(&contract::MISSING_AUTHENTICATION_TOKEN),
            AwsAuthError::Incomplete(message) => {
                AwsError::with(&contract::INCOMPLETE_SIGNATURE, &[&message])
            }
            AwsAuthError::UnknownKey => AwsError::plain(&contract::UNRECOGNIZED_CLIENT),
            AwsAuthError::BadSignature => AwsError::plain(&contract::INVALID_SIGNATURE),
            AwsAuthError::Expired(message) => AwsError {
                spec: &contract::INVALID_SIGNATURE,
                message: Some(message),
                extra: Vec::new(),
            },
            AwsAuthError::WrongRegion => AwsError {
                spec: &contract::INVALID_SIGNATURE,
                message: Some(AwsAuthError::WrongRegion.to_string()),
                extra: Vec::new(),
            },
        }
    }
}

/// Built without strict mode: nothing to verify.
#[cfg(not(feature = "strict-auth"))]
impl Aws {
    fn authenticate(&self, _: &Services<'_>, _: &Request<Bytes>) -> Result<(), AwsError> {
        Ok(())
    }
}

/// An injected catalogue error, `%s` filled with a fixed detail.
fn injected(code: &str) -> AwsError {
    let spec = contract::CONTRACT.error(code).unwrap_or(&contract::THROTTLING);
    let mut error = AwsError::with(spec, &["injected fault"]);
    if std::ptr::eq(spec, &contract::KMS_INVALID_STATE) {
        error.extra.push(("kmsKeyState", "DISABLED".to_owned()));
    }
    error
}
