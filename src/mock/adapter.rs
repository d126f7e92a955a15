//! What a provider plugs into the engine, and the registry of the providers it serves.
//!
//! The engine ([`Mock`](super::Mock)) routes a request by its head to the first registered
//! provider that claims it, takes that provider's body limit once, hands the adapter the
//! services it may use ([`Services`]) and journals what the adapter reports ([`Handled`]).
//! An adapter never calls back into the engine. Adding a provider adds its module and one
//! line in `providers.rs`.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, Uri};

use super::activities::{ActivityInfo, NoSuchActivity, Polled, Take};
use super::faults::{Effect, Faults};
use super::providers::PROVIDERS;
use super::{Mock, MockConfig};
use crate::contract::Provider;
use crate::tasks::{Store, TaskId};

/// One provider's entry in the registry (`providers.rs`).
#[derive(Debug)]
pub(crate) struct Registration {
    /// The provider.
    pub(crate) provider: Provider,
    /// Whether a request with this head is for the provider.
    pub(crate) claims: fn(&Head<'_>) -> bool,
    /// Builds the provider's adapter for a mock with this configuration.
    pub(crate) build: fn(&MockConfig) -> Box<dyn Adapter>,
}

/// The head of a request: what routing may look at before the body is read.
#[derive(Clone, Copy)]
pub(crate) struct Head<'a> {
    /// The request target.
    pub(crate) uri: &'a Uri,
    /// The headers.
    pub(crate) headers: &'a HeaderMap,
}

impl<'a> Head<'a> {
    /// The head of `req`.
    pub(crate) fn of<B>(req: &'a Request<B>) -> Head<'a> {
        Head { uri: req.uri(), headers: req.headers() }
    }

    /// A header's value, when it is visible ASCII.
    pub(crate) fn header(&self, name: impl http::header::AsHeaderName) -> Option<&'a str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What the engine lends an adapter for one request.
pub(crate) struct Services<'a> {
    /// The one task store.
    pub(crate) store: &'a Store,
    /// The fault rules.
    pub(crate) faults: &'a Faults,
    /// This request's id, as the provider writes it into its answer.
    pub(crate) request_id: &'a str,
    /// The activities: queues of tasks that workers poll for.
    pub(crate) activities: Desk<'a>,
}

/// What an adapter may do with activities: create, read, delete, poll.
#[derive(Clone, Copy)]
pub(crate) struct Desk<'a>(pub(super) &'a Mock);

impl Desk<'_> {
    /// See [`Mock::create_activity`].
    pub(crate) fn create(&self, name: &str, arn: &str) -> ActivityInfo {
        self.0.inner.activities.create(name, arn, self.0.clock().now_ms())
    }

    /// The live activity `arn`.
    pub(crate) fn get(&self, arn: &str) -> Option<ActivityInfo> {
        self.0.inner.activities.get(arn)
    }

    /// Every live activity, in creation order.
    pub(crate) fn list(&self) -> Vec<ActivityInfo> {
        self.0.inner.activities.list()
    }

    /// Deletes `arn` (idempotent).
    pub(crate) fn delete(&self, arn: &str) {
        self.0.inner.activities.delete(arn)
    }

    /// A poll on `arn`: a task now, or a place in line.
    pub(crate) fn poll(&self, arn: &str) -> Result<Take, NoSuchActivity> {
        let (index, _) = self.0.inner.activities.resolve(arn)?;
        self.0.inner.activities.poll(self.0, index)
    }
}

impl Services<'_> {
    /// The mock's clock as a `SystemTime`, for judging signature dates.
    #[cfg(feature = "strict-auth")]
    pub(crate) fn now(&self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(self.store.clock().now_ms())
    }
}

/// An adapter's answer, with what the journal keeps of it.
pub(crate) struct Handled<'r> {
    /// The response.
    pub(crate) response: Response<Bytes>,
    /// The operation as the request named it, for the journal.
    pub(crate) operation: Option<Cow<'r, [u8]>>,
    /// The error code answered, if any.
    pub(crate) error_code: Option<&'static str>,
    /// The task the request reached, if any.
    pub(crate) task_id: Option<TaskId>,
    /// An injected fault's effect on the transport (latency, reset).
    pub(crate) effect: Effect,
    /// A GetActivityTask's task, or its place in line.
    pub(crate) poll: Option<Polled>,
}

/// A provider's side of the mock: its codec in front of the store.
pub(crate) trait Adapter: Send + Sync + fmt::Debug {
    /// The provider it serves.
    fn provider(&self) -> Provider;

    /// Largest body accepted, in bytes on the wire.
    fn body_limit(&self) -> usize {
        self.provider().contract().max_request_bytes
    }

    /// The answer to a body over [`Adapter::body_limit`]; it closes the connection.
    fn too_large(&self, head: &Head<'_>, request_id: &str) -> Response<Bytes>;

    /// The answer to a whole request.
    fn handle<'r>(&self, services: &Services<'_>, req: &'r Request<Bytes>) -> Handled<'r>;
}

/// Which provider a request with this head is for, by the registry's routing.
///
/// ```
/// let aws = http::Request::post("/").header("X-Amz-Target", "AWSStepFunctions.SendTaskSuccess");
/// let aws = aws.body(()).unwrap();
/// assert_eq!(tasktoken::mock::route(aws.uri(), aws.headers()), tasktoken::Provider::Aws);
/// ```
pub fn route(uri: &Uri, headers: &HeaderMap) -> Provider {
    PROVIDERS[registered(&Head { uri, headers })].provider
}

/// The index in the registry of the provider that answers a request with this head: the
/// first that claims it, else the last.
pub(crate) fn registered(head: &Head<'_>) -> usize {
    PROVIDERS.iter().position(|r| (r.claims)(head)).unwrap_or(PROVIDERS.len() - 1)
}
