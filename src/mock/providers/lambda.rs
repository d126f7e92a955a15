//! The Lambda durable callback adapter: the restJson1 codec and SigV4 (`lambda`) in front of the task store.

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use http::{Request, Response};

use crate::contract::lambda::{self as contract, LambdaOptions, PATH_PREFIX};
use crate::contract::{Action, Provider};
use crate::mock::adapter::{Adapter, Handled, Head, Registration, Services};
use crate::mock::faults::Effect;
use crate::tasks::{Completion, Rejection, TaskId};
use crate::wire::lambda::{self as wire, LambdaError};

/// Lambda claims every path under its prefix (without the trailing `/` too): it is listed
/// before AWS, which claims any SigV4-signed request.
pub(in crate::mock) const REGISTRATION: Registration = Registration {
    provider: Provider::Lambda,
    claims: |head| head.uri.path().starts_with(PATH_PREFIX.trim_end_matches('/')),
    build: |config| {
        Box::new(Lambda {
            options: config.lambda,
            #[cfg(feature = "strict-auth")]
            keys: config.auth.as_ref().map(|a| a.aws.clone()),
            #[cfg(feature = "strict-auth")]
            region: config.aws_region.clone(),
        })
    },
};

/// The adapter: the options in force; strict mode's keys and region.
#[derive(Debug)]
struct Lambda {
    options: LambdaOptions,
    #[cfg(feature = "strict-auth")]
    keys: Option<crate::auth::Keys>,
    #[cfg(feature = "strict-auth")]
    region: Option<String>,
}

impl Adapter for Lambda {
    fn provider(&self) -> Provider {
        Provider::Lambda
    }

    fn too_large(&self, _head: &Head<'_>, request_id: &str) -> Response<Bytes> {
        let limit = self.body_limit();
        let detail = format!("The request body must be at most {limit} bytes");
        let mut response =
            wire::error_response(&wire::validation(&self.options, &detail), request_id);
        response
            .headers_mut()
            .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
        response
    }

    fn handle<'r>(&self, services: &Services<'_>, req: &'r Request<Bytes>) -> Handled<'r> {
        let mut effect = Effect::default();
        let mut operation: Option<Cow<'r, [u8]>> = None;
        let outcome = self.apply(services, req, &mut effect, &mut operation);
        let response = match &outcome {
            Ok(_) => wire::success(services.request_id),
            Err(e) => wire::error_response(e, services.request_id),
        };
        Handled {
            response,
            operation,
            error_code: outcome.as_ref().err().map(|e| e.spec.code),
            task_id: outcome.ok(),
            effect,
            poll: None,
        }
    }
}

impl Lambda {
    fn apply<'r>(
        &self,
        services: &Services<'_>,
        req: &'r Request<Bytes>,
        effect: &mut Effect,
        operation_name: &mut Option<Cow<'r, [u8]>>,
    ) -> Result<TaskId, LambdaError> {
        let path = req.uri().path();
        let route = match wire::route(req.method(), path, &self.options) {
            Ok(route) => route,
            Err(e) => {
                // Journalled as the path's last segment, as sent.
                *operation_name = path.rsplit('/').next().map(|s| Cow::Borrowed(s.as_bytes()));
                return Err(e);
            }
        };
        let operation = route.operation;
        *operation_name = Some(Cow::Borrowed(operation.name.as_bytes()));
        if let Some(firing) = services.faults.fire(Provider::Lambda, operation.name) {
            *effect = firing.effect;
            if let Some(code) = firing.error {
                return Err(injected(&code));
            }
        }
        self.authenticate(services, req)?;
        let id = wire::validate_id(&route.id, &self.options)?;
        let body = req.body();
        let result;
        let completion = match operation.action {
            Action::Succeed => {
                wire::check_result(body, &self.options)?;
                result = STANDARD.encode(body);
                Completion::Succeed { output: &result }
            }
            Action::Fail => Completion::Fail {
                error: Some(wire::parse_failure(body, &self.options)?),
                cause: None,
            },
            Action::Heartbeat => Completion::Heartbeat,
        };
        services
            .store
            .apply(Provider::Lambda, id, completion, None)
            .map(|applied| applied.task_id)
            .map_err(|r| self.rejection_error(r))
    }

    /// The Lambda error for a store rejection, as the contract's outcome table and the
    /// unknown-id option name it.
    fn rejection_error(&self, rejection: Rejection) -> LambdaError {
        let outcomes = &contract::CONTRACT.outcomes;
        match rejection {
            Rejection::InvalidToken => LambdaError::plain(self.options.unknown_id.spec()),
            Rejection::Closed => LambdaError::plain(outcomes.closed),
            Rejection::Deleted => LambdaError::plain(outcomes.deleted),
            Rejection::InvalidOutput(detail) => wire::validation(&self.options, &detail),
        }
    }
}

/// An injected catalogue error, `%s` filled with a fixed detail.
fn injected(code: &str) -> LambdaError {
    let spec = contract::CONTRACT.error(code).unwrap_or(&contract::SERVICE);
    LambdaError::with(spec, &["injected fault"])
}

/// Strict mode: SigV4 with signing name `lambda`, judged by the mock's clock, for one region
/// when one is set.
#[cfg(feature = "strict-auth")]
mod strict {
    use super::*;
    use crate::auth::aws::AwsAuthError;

    impl Lambda {
        /// Passes everything when strict mode is off.
        pub(super) fn authenticate(
            &self,
            services: &Services<'_>,
            req: &Request<Bytes>,
        ) -> Result<(), LambdaError> {
            let Some(keys) = &self.keys else { return Ok(()) };
            let region = self.region.as_deref();
            crate::auth::aws::verify_service(
                req,
                keys,
                contract::SIGNING_NAME,
                region,
                services.now(),
            )
            .map_err(auth_error)
        }
    }

    /// Strict mode's answer to a signature that does not verify.
    fn auth_error(error: AwsAuthError) -> LambdaError {
        let message = error.to_string();
        let spec = match error {
            // The catalogue's own texts (Step Functions' wording differs for a missing one).
            AwsAuthError::Missing => {
                return LambdaError::plain(&contract::MISSING_AUTHENTICATION_TOKEN)
            }
            AwsAuthError::UnknownKey => return LambdaError::plain(&contract::UNRECOGNIZED_CLIENT),
            AwsAuthError::Incomplete(_) => &contract::INCOMPLETE_SIGNATURE,
            AwsAuthError::BadSignature | AwsAuthError::Expired(_) | AwsAuthError::WrongRegion => {
                &contract::INVALID_SIGNATURE
            }
        };
        LambdaError { spec, message }
    }
}

/// Built without strict mode: nothing to verify.
#[cfg(not(feature = "strict-auth"))]
impl Lambda {
    fn authenticate(&self, _: &Services<'_>, _: &Request<Bytes>) -> Result<(), LambdaError> {
        Ok(())
    }
}
