//! The reference mock: one engine ([`Mock`]) that turns requests into responses, and thin adapters that serve it.
//!
//! [`Mock::handle`] is the whole behaviour: a buffered HTTP request in, the provider's exact
//! response out. [`MockServer`] serves it over HTTP on loopback; [`ContractResponder`]
//! mounts it on a `wiremock::MockServer`.

mod aws;
pub mod control;
pub mod journal;
mod respond;
mod server;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};

pub use aws::rejection_error;
pub use journal::{Journal, JournalEntry, JournalSnapshot};
pub use respond::ContractResponder;
pub use server::{serve, MockServer};

use crate::contract::Provider;
use crate::tasks::token::{check_token_length, DEFAULT_AWS_TOKEN_LEN};
use crate::tasks::{
    Clock, NewTask, NotVirtual, Stats, Store, StoreError, TaskId, TaskSpec, TaskView, TokenCodec,
    TokenLengthError,
};

/// How a mock is set up.
///
/// ```
/// use tasktoken::{Clock, MockConfig};
/// let config = MockConfig::default().token_length(2048).clock(Clock::real());
/// assert_eq!(config.token_length, 2048);
/// ```
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// The clock deadlines run on (default: virtual, starting now).
    pub clock: Clock,
    /// Length of minted AWS tokens (default 680).
    pub token_length: usize,
    /// Entries the journal keeps (default 1000; 0 turns it off).
    pub journal_capacity: usize,
    /// Most tasks held at once (default: no cap).
    pub max_tasks: usize,
    /// Token key; random when `None`.
    pub token_key: Option<Vec<u8>>,
    /// How long a client may take to send a request body once its headers are in.
    pub body_read_timeout: Duration,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            clock: Clock::virtual_now(),
            token_length: DEFAULT_AWS_TOKEN_LEN,
            journal_capacity: 1000,
            max_tasks: usize::MAX,
            token_key: None,
            body_read_timeout: Duration::from_secs(30),
        }
    }
}

impl MockConfig {
    /// Sets the clock.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the default token length.
    pub fn token_length(mut self, len: usize) -> Self {
        self.token_length = len;
        self
    }

    /// Sets the journal capacity.
    pub fn journal_capacity(mut self, n: usize) -> Self {
        self.journal_capacity = n;
        self
    }

    /// Caps the number of tasks held.
    pub fn max_tasks(mut self, n: usize) -> Self {
        self.max_tasks = n;
        self
    }
}

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
    body_read_timeout: Duration,
}

impl Mock {
    /// A mock with `config`.
    pub fn new(config: MockConfig) -> Result<Mock, TokenLengthError> {
        check_token_length(config.token_length)?;
        let codec = match &config.token_key {
            Some(key) => TokenCodec::with_key(key),
            None => TokenCodec::random(),
        };
        Ok(Mock {
            inner: Arc::new(Inner {
                store: Store::with_options(
                    config.clock,
                    codec,
                    config.token_length,
                    config.max_tasks,
                ),
                journal: Journal::new(config.journal_capacity),
                body_read_timeout: config.body_read_timeout,
            }),
        })
    }

    /// Answers one buffered request: the control API under `/_mock/`, else the provider API.
    pub fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        if control::is_control_path(req.uri().path()) {
            return control::handle(self, req);
        }
        match route(&req) {
            Provider::Aws => aws::handle(self, req),
        }
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

    /// Forgets every task and clears the journal.
    pub fn reset(&self) {
        self.inner.store.reset();
        self.inner.journal.clear();
    }

    /// A wiremock responder serving this mock.
    pub fn responder(&self) -> ContractResponder {
        ContractResponder::new(self.clone())
    }

    /// The task store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Largest body accepted on a request with these head parts, by route.
    pub fn body_limit(&self, path: &str, headers: &http::HeaderMap) -> usize {
        if control::is_control_path(path) {
            return control::MAX_BODY_BYTES;
        }
        match route_head(headers) {
            Provider::Aws => Provider::Aws.contract().max_request_bytes,
        }
    }

    /// The answer to a body over [`Mock::body_limit`], by route.
    pub fn too_large(&self, path: &str, headers: &http::HeaderMap) -> Response<Bytes> {
        if control::is_control_path(path) {
            return control::too_large();
        }
        match route_head(headers) {
            Provider::Aws => crate::wire::aws::too_large(),
        }
    }

    pub(crate) fn body_read_timeout(&self) -> Duration {
        self.inner.body_read_timeout
    }
}

/// Which provider API a request is for, from its shape.
fn route(req: &Request<Bytes>) -> Provider {
    route_head(req.headers())
}

fn route_head(_headers: &http::HeaderMap) -> Provider {
    Provider::Aws
}
