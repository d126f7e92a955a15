//! The reference mock: one engine ([`Mock`]) that turns requests into responses, and thin adapters that serve it.
//!
//! [`Mock::handle`] is the whole behaviour: a buffered HTTP request in, the provider's exact
//! response out. [`MockServer`] serves it over HTTP on loopback; [`ContractResponder`]
//! mounts it on a `wiremock::MockServer`.

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
use adapter::{Adapter, Handled, Head, Services};
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
            }),
        })
    }

    /// Answers one buffered request: the control API under `/_mock/`, else the provider API
    /// its head is routed to. A fault's transport effect (latency, reset) is not applied here;
    /// [`MockServer`] and [`ContractResponder`] apply it.
    pub fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        let route = self.route(&Head::of(&req));
        self.answer(route, req).0
    }

    /// Where a request with this head goes. Decided once per request.
    pub(crate) fn route(&self, head: &Head<'_>) -> Route<'_> {
        if control::is_control_path(head.uri.path()) {
            return Route::Control;
        }
        let adapter = &self.inner.adapters[adapter::registered(head)];
        Route::Provider(adapter.as_ref())
    }

    /// The answer to a whole request on `route`, with the transport effect of any fault.
    pub(crate) fn answer(
        &self,
        route: Route<'_>,
        req: Request<Bytes>,
    ) -> (Response<Bytes>, Effect) {
        let adapter = match route {
            Route::Control => return (control::handle(self, req), Effect::default()),
            Route::Provider(adapter) => adapter,
        };
        let request_id = request_id();
        let services = Services {
            store: &self.inner.store,
            faults: &self.inner.faults,
            request_id: &request_id,
        };
        let handled = adapter.handle(&services, &req);
        self.record(adapter, &req, &handled);
        (handled.response, handled.effect)
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

    /// Forgets every task, clears the journal and removes every fault.
    pub fn reset(&self) {
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
            uri: req.uri(),
            operation: handled.operation.as_deref(),
            body: req.body(),
            status: handled.response.status().as_u16(),
            error_code: handled.error_code,
            task_id: handled.task_id,
        });
    }
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
