//! The reference mock: one engine ([`Mock`]) that turns requests into responses, and thin adapters that serve it.
//!
//! [`Mock::handle`] is the whole behaviour: a buffered HTTP request in, the provider's exact
//! response out. [`MockServer`] serves it over HTTP on loopback; [`ContractResponder`]
//! mounts it on a `wiremock::MockServer`.

mod activities;
mod adapter;
mod config;
mod control;
mod deadline;
mod faults;
mod journal;
mod linger;
mod providers;
#[cfg(feature = "wiremock")]
mod respond;
mod server;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};

pub use activities::{ActivityInfo, NoSuchActivity};
#[doc(hidden)]
pub use adapter::route;
pub use config::MockConfig;
#[cfg(feature = "strict-auth")]
pub use config::StrictAuth;
#[doc(hidden)]
pub use control::is_control_path;
pub use faults::{ActiveFault, Effect, FaultError, FaultSpec, Faults};
pub use journal::{Journal, JournalEntry, JournalSnapshot, BODY_PREFIX_BYTES};
#[cfg(feature = "wiremock")]
pub use respond::ContractResponder;
pub use server::{bind, serve, serve_connection, MockServer, LISTEN_BACKLOG};

use crate::tasks::token::check_token_length;
use crate::tasks::{
    Clock, NewTask, NotVirtual, Stats, Store, StoreError, TaskId, TaskSpec, TaskView, TokenCodec,
    TokenLengthError,
};
use activities::{Activities, Polled};
use adapter::{Adapter, Desk, Handled, Head, Services};
use providers::PROVIDERS;

/// The mock engine: task store, journal, and the request handler. Cheap to clone (shared).
///
/// ```
/// use bytes::Bytes;
/// use tasktoken::{Mock, MockConfig, Provider, TaskSpec};
///
/// let mock = Mock::new(MockConfig::default()).unwrap();
/// let task = mock.create_task(TaskSpec::new(Provider::Aws)).unwrap();
/// let body = serde_json::json!({"taskToken": task.task_token, "output": "{\"ok\":true}"});
/// let request = http::Request::post("/")
///     .header("X-Amz-Target", "AWSStepFunctions.SendTaskSuccess")
///     .header("Content-Type", "application/x-amz-json-1.0")
///     .body(Bytes::from(body.to_string()))
///     .unwrap();
/// let response = mock.handle(request);
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.body().as_ref(), b"{}");
/// assert_eq!(mock.task(task.task_id).unwrap().output.as_deref(), Some("{\"ok\":true}"));
/// ```
#[derive(Debug, Clone)]
pub struct Mock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    journal: Journal,
    faults: Faults,
    /// One adapter per registered provider, in the registry's order.
    adapters: Vec<Box<dyn Adapter>>,
    limits: Limits,
    activities: Activities,
    /// How long an idle GetActivityTask is held.
    poll_hold: Duration,
}

/// The transport limits of a running mock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// See [`MockConfig::body_read_timeout`].
    pub body_read_timeout: Duration,
    /// See [`MockConfig::header_read_timeout`].
    pub header_read_timeout: Duration,
    /// See [`MockConfig::max_connections`].
    pub max_connections: usize,
}

impl Mock {
    /// A mock with `config`.
    pub fn new(config: MockConfig) -> Result<Mock, TokenLengthError> {
        check_token_length(config.token_length)?;
        let codec = match &config.token_key {
            Some(key) => TokenCodec::with_key(key),
            None => TokenCodec::random(),
        };
        let adapters = PROVIDERS.iter().map(|r| (r.build)(&config)).collect();
        Ok(Mock {
            inner: Arc::new(Inner {
                store: Store::with_options(
                    config.clock,
                    codec,
                    config.token_length,
                    config.max_tasks,
                ),
                journal: Journal::new(config.journal_capacity),
                faults: Faults::default(),
                adapters,
                limits: Limits {
                    body_read_timeout: config.body_read_timeout,
                    header_read_timeout: config.header_read_timeout,
                    max_connections: config.max_connections.max(1),
                },
                activities: Activities::default(),
                poll_hold: config.poll_hold,
            }),
        })
    }

    /// Answers one buffered request: the control API under `/_mock/`, else the provider API
    /// its head is routed to. A fault's transport effect (latency, reset) is not applied here;
    /// [`MockServer`] and [`ContractResponder`] apply it. This synchronous path cannot hold a
    /// `GetActivityTask`: a poll with no task queued answers `{}` at once.
    pub fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        let route = self.route(&Head::of(&req));
        self.answer_now(route, req).0
    }

    /// Where a request with this head goes. Decided once per request.
    pub(crate) fn route(&self, head: &Head<'_>) -> Route<'_> {
        if control::is_control_path(head.uri.path()) {
            return Route::Control;
        }
        let adapter = &self.inner.adapters[adapter::registered(head)];
        Route::Provider(adapter.as_ref())
    }

    /// The answer to a whole request on `route`, with the transport effect of any fault and
    /// what a poll holds (a task to settle once written, or its place in line).
    pub(crate) fn answer(&self, route: Route<'_>, req: Request<Bytes>) -> Answered {
        let adapter = match route {
            Route::Control => {
                let response = control::handle(self, req);
                return Answered { response, effect: Effect::default(), poll: None };
            }
            Route::Provider(adapter) => adapter,
        };
        let request_id = request_id();
        let services = Services {
            store: &self.inner.store,
            faults: &self.inner.faults,
            request_id: &request_id,
            activities: Desk(self),
        };
        let mut handled = adapter.handle(&services, &req);
        match &mut handled.poll {
            // Journalled when the hold ends, with the task it got.
            Some(Polled::Held(held)) if self.inner.journal.enabled() => {
                held.journal = Some(activities::PollRecord {
                    at_ms: self.clock().now_ms(),
                    provider: adapter.provider(),
                    method: req.method().clone(),
                    // Copies, not views: a view would keep hyper's read buffer for the
                    // request alive through the hold, and hyper would take another.
                    path: path_of(req.uri()).to_owned(),
                    operation: handled.operation.as_deref().map(<[u8]>::to_vec),
                    body_prefix: journal::body_prefix(req.body()).to_vec(),
                    body_bytes: req.body().len(),
                });
            }
            Some(Polled::Held(_)) => {}
            _ => self.record(adapter, &req, &handled),
        }
        Answered { response: handled.response, effect: handled.effect, poll: handled.poll }
    }

    /// [`Mock::answer`] without holding: a waiting poll ends at once, a task is settled at once.
    pub(crate) fn answer_now(
        &self,
        route: Route<'_>,
        req: Request<Bytes>,
    ) -> (Response<Bytes>, Effect) {
        let Answered { response, effect, poll } = self.answer(route, req);
        match poll {
            None => (response, effect),
            Some(Polled::Got(delivery)) => {
                delivery.commit();
                (response, effect)
            }
            Some(Polled::Held(held)) => {
                let (response, delivery) = held.now(self);
                if let Some(delivery) = delivery {
                    delivery.commit();
                }
                (response, effect)
            }
        }
    }

    /// Creates the activity `name` (idempotent by name, as CreateActivity is) in region
    /// `us-east-1`; returns it.
    ///
    /// ```
    /// use tasktoken::{Mock, MockConfig, TaskSpec, Provider};
    ///
    /// let mock = Mock::new(MockConfig::default()).unwrap();
    /// let activity = mock.create_activity("resize").unwrap();
    /// assert_eq!(activity.activity_arn, "arn:aws:states:us-east-1:123456789012:activity:resize");
    /// let task = mock
    ///     .schedule_activity_task(&activity.activity_arn, TaskSpec::new(Provider::Aws), r#"{"w":640}"#)
    ///     .unwrap();
    /// let view = mock.task(task.task_id).unwrap();
    /// assert_eq!(view.activity.unwrap().delivered, false);
    /// assert_eq!(mock.waiting_polls(&activity.activity_arn), Some(0));
    /// ```
    pub fn create_activity(&self, name: &str) -> Result<ActivityInfo, StoreError> {
        use crate::contract::aws::activity as contract;
        if !contract::valid_name(name) {
            return Err(StoreError::InvalidSpec(format!("invalid activity name {name:?}")));
        }
        let arn = contract::arn(contract::DEFAULT_REGION, name);
        Ok(self.inner.activities.create(name, &arn, self.clock().now_ms()))
    }

    /// Schedules a task on the activity `arn` with `input` (JSON text, at most 262144 UTF-8
    /// bytes): the longest-waiting poll gets it at once, or it is queued. Its deadlines start
    /// when a poll takes it.
    pub fn schedule_activity_task(
        &self,
        arn: &str,
        spec: TaskSpec,
        input: &str,
    ) -> Result<NewTask, ScheduleError> {
        use crate::contract::aws::activity::MAX_INPUT_BYTES;
        if input.len() > MAX_INPUT_BYTES {
            return Err(ScheduleError::Input(format!(
                "input is {} UTF-8 bytes; the limit is {MAX_INPUT_BYTES}",
                input.len()
            )));
        }
        if let Some(e) = crate::wire::json_error(input) {
            return Err(ScheduleError::Input(format!("input is not JSON: {e}")));
        }
        let (index, arn) = self.inner.activities.resolve(arn)?;
        let task = self.inner.store.create_activity_task(&spec, arn, input.to_owned())?;
        let handover = self.inner.store.handover(task.task_id).ok_or(ScheduleError::Vanished)?;
        self.inner.activities.enqueue(self, index, handover);
        Ok(task)
    }

    /// Polls waiting on the activity `arn` now; `None` if there is no such activity.
    pub fn waiting_polls(&self, arn: &str) -> Option<usize> {
        self.inner.activities.waiting_polls(arn)
    }

    /// Every activity, in creation order, with its queued tasks and waiting polls.
    pub fn activities(&self) -> Vec<ActivityInfo> {
        self.inner.activities.list()
    }

    /// Creates a pending task and returns its token and id.
    pub fn create_task(&self, spec: TaskSpec) -> Result<NewTask, StoreError> {
        self.inner.store.create(&spec)
    }

    /// The task's state now (deadlines applied); `None` if unknown or deleted.
    pub fn task(&self, id: TaskId) -> Option<TaskView> {
        self.inner.store.view(id)
    }

    /// Deletes a task; its token then gets the provider's "does not exist" error.
    pub fn delete_task(&self, id: TaskId) -> bool {
        self.inner.store.delete(id)
    }

    /// Advances the virtual clock; returns the new time in ms since the Unix epoch.
    pub fn advance_clock(&self, by: Duration) -> Result<u64, NotVirtual> {
        self.inner.store.clock().advance(by)
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        self.inner.store.clock()
    }

    /// The request journal.
    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// Counts of tasks by status.
    pub fn stats(&self) -> Stats {
        self.inner.store.stats()
    }

    /// Forgets every task, clears the journal and removes every fault. Activities stay;
    /// their queues empty and their waiting polls answer `{}`.
    pub fn reset(&self) {
        self.inner.activities.reset();
        self.inner.store.reset();
        self.inner.journal.clear();
        self.inner.faults.clear();
    }

    /// The fault rules.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// Adds a fault rule; returns its id.
    pub fn add_fault(&self, spec: FaultSpec) -> Result<u64, FaultError> {
        self.inner.faults.add(spec)
    }

    /// A wiremock responder serving this mock.
    #[cfg(feature = "wiremock")]
    pub fn responder(&self) -> ContractResponder {
        ContractResponder::new(self.clone())
    }

    /// The transport limits.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Appends a provider request and its answer to the journal.
    fn record(&self, adapter: &dyn Adapter, req: &Request<Bytes>, handled: &Handled<'_>) {
        let journal = &self.inner.journal;
        if !journal.enabled() {
            return;
        }
        journal.record(&journal::Record {
            at_ms: self.clock().now_ms(),
            provider: adapter.provider(),
            method: req.method(),
            path: path_of(req.uri()),
            operation: handled.operation.as_deref(),
            body: req.body(),
            body_bytes: req.body().len(),
            status: handled.response.status().as_u16(),
            error_code: handled.error_code,
            task_id: handled.task_id,
        });
    }
}

/// The request target's path and query, as the journal keeps it.
fn path_of(uri: &http::Uri) -> &str {
    uri.path_and_query().map_or("", |p| p.as_str())
}

/// An engine's answer: the response, a fault's transport effect, and what a poll holds.
pub(crate) struct Answered {
    pub(crate) response: Response<Bytes>,
    pub(crate) effect: Effect,
    pub(crate) poll: Option<Polled>,
}

/// Why an activity task could not be scheduled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// No such activity.
    #[error(transparent)]
    NoActivity(#[from] NoSuchActivity),
    /// The input is not JSON, or too large.
    #[error("{0}")]
    Input(String),
    /// The task spec does not fit.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The task was closed before it could be queued (deleted or reset at once).
    #[error("the task was closed before it was queued")]
    Vanished,
}

/// Where a request goes: the control API, or one provider's adapter.
#[derive(Clone, Copy)]
pub(crate) enum Route<'m> {
    /// `/_mock/…`.
    Control,
    /// A provider API.
    Provider(&'m dyn Adapter),
}

impl Route<'_> {
    /// Largest body accepted on this route.
    pub(crate) fn body_limit(self) -> usize {
        match self {
            Route::Control => control::MAX_BODY_BYTES,
            Route::Provider(adapter) => adapter.body_limit(),
        }
    }

    /// The answer to a body over [`Route::body_limit`].
    pub(crate) fn too_large(self, head: &Head<'_>) -> Response<Bytes> {
        match self {
            Route::Control => control::too_large(),
            Route::Provider(adapter) => adapter.too_large(head, &request_id()),
        }
    }
}

/// A request id as the providers write them: a lowercase UUID v4, from a fast generator
/// (no system call per request), formatted on the stack.
pub(crate) fn request_id() -> RequestId {
    let uuid = uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid.hyphenated().encode_lower(&mut text);
    RequestId(text)
}

/// A formatted request id.
#[derive(Clone, Copy)]
pub(crate) struct RequestId([u8; uuid::fmt::Hyphenated::LENGTH]);

impl std::ops::Deref for RequestId {
    type Target = str;
    fn deref(&self) -> &str {
        // Hyphenated lowercase hex: always ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}
