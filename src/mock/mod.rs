//! The reference mock: one engine ([`Mock`]) that turns requests into responses, and thin adapters that serve it.
//!
//! [`Mock::handle`] is the whole behaviour: a buffered HTTP request in, the provider's exact
//! response out. [`MockServer`] serves it over HTTP on loopback; [`ContractResponder`]
//! mounts it on a `wiremock::MockServer`.

mod alibaba;
mod aws;
pub mod control;
mod deadline;
pub mod faults;
pub mod journal;
mod respond;
mod server;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};

pub use alibaba::rejection_error as alibaba_rejection_error;
pub use aws::rejection_error as aws_rejection_error;
pub use faults::{ActiveFault, Effect, FaultSpec, Faults, Throttle};
pub use journal::{Journal, JournalEntry, JournalSnapshot};
pub use respond::ContractResponder;
pub use server::{bind, serve, serve_connection, MockServer, LISTEN_BACKLOG};

use crate::contract::alibaba::{Flavour, QUOTA_BUCKET, QUOTA_REFILL_PER_SECOND};
use crate::contract::Provider;
use crate::tasks::token::{check_token_length, DEFAULT_AWS_TOKEN_LEN};
use crate::tasks::{
    Clock, NewTask, NotVirtual, Stats, Store, StoreError, TaskId, TaskSpec, TaskView, TokenCodec,
    TokenLengthError,
};
use crate::wire::alibaba::{AlibabaError, Params};
use crate::wire::aws::AwsError;

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
    /// Most tasks held at once (default 5,000,000, about 210 MB while pending).
    pub max_tasks: usize,
    /// Token key; random when `None`.
    pub token_key: Option<Vec<u8>>,
    /// How long a client may take to send a request body once its headers are in.
    pub body_read_timeout: Duration,
    /// How long a client may take to send a request head; also how long a keep-alive
    /// connection may sit idle.
    pub header_read_timeout: Duration,
    /// Most connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Which Alibaba service's limits apply (default CloudFlow: `Output` up to 65536 bytes).
    pub alibaba_flavour: Flavour,
    /// Apply the documented Alibaba quota (bucket of 10, refilled at 2 per second).
    pub throttle: bool,
    /// Strict mode: verify request signatures with these keys (off when `None`).
    pub auth: Option<StrictAuth>,
}

/// The key pairs strict mode accepts, per provider; signatures are judged by the mock's clock.
#[derive(Debug, Clone, Default)]
pub struct StrictAuth {
    /// AWS access keys (SigV4, signing name `states`).
    pub aws: crate::auth::Keys,
    /// Alibaba AccessKey pairs (RPC v1 HMAC-SHA1 or ACS3-HMAC-SHA256).
    pub alibaba: crate::auth::Keys,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            clock: Clock::virtual_now(),
            token_length: DEFAULT_AWS_TOKEN_LEN,
            journal_capacity: 1000,
            max_tasks: 5_000_000,
            token_key: None,
            body_read_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(30),
            max_connections: 16_384,
            alibaba_flavour: Flavour::CloudFlow,
            throttle: false,
            auth: None,
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

    /// Sets the Alibaba flavour.
    pub fn alibaba_flavour(mut self, flavour: Flavour) -> Self {
        self.alibaba_flavour = flavour;
        self
    }

    /// Turns strict signature checking on with these keys.
    pub fn strict_auth(mut self, auth: StrictAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Turns the documented Alibaba quota on or off.
    pub fn throttle(mut self, on: bool) -> Self {
        self.throttle = on;
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
    faults: Faults,
    throttle: Option<Throttle>,
    alibaba_flavour: Flavour,
    auth: Option<StrictAuth>,
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
        let throttle = config
            .throttle
            .then(|| Throttle::new(QUOTA_BUCKET, QUOTA_REFILL_PER_SECOND, config.clock.now_ms()));
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
                throttle,
                alibaba_flavour: config.alibaba_flavour,
                auth: config.auth,
                limits: Limits {
                    body_read_timeout: config.body_read_timeout,
                    header_read_timeout: config.header_read_timeout,
                    max_connections: config.max_connections.max(1),
                },
            }),
        })
    }

    /// Answers one buffered request: the control API under `/_mock/`, else the provider API.
    pub fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        if control::is_control_path(req.uri().path()) {
            return control::handle(self, req);
        }
        match route(req.headers()) {
            Provider::Aws => aws::handle(self, req),
            Provider::Alibaba => alibaba::handle(self, req),
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
    pub fn add_fault(&self, spec: FaultSpec) -> Result<u64, String> {
        self.inner.faults.add(spec)
    }

    /// The Alibaba flavour in force.
    pub fn alibaba_flavour(&self) -> Flavour {
        self.inner.alibaba_flavour
    }

    /// Whether the quota lets a request for `provider` through now (always, with throttling off).
    pub fn throttle_allows(&self, provider: Provider) -> bool {
        match (&self.inner.throttle, provider) {
            (Some(t), Provider::Alibaba) => t.allow(self.clock().now_ms()),
            _ => true,
        }
    }

    /// The clock as a `SystemTime`, for judging signature dates.
    fn now(&self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + Duration::from_millis(self.clock().now_ms())
    }

    /// Strict mode's SigV4 check; passes everything when strict mode is off.
    pub(crate) fn authenticate_aws(&self, req: &Request<Bytes>) -> Result<(), AwsError> {
        use crate::auth::aws::AwsAuthError as E;
        use crate::contract::aws as c;
        let Some(auth) = &self.inner.auth else { return Ok(()) };
        crate::auth::aws::verify(req, &auth.aws, self.now()).map_err(|e| match e {
            E::Missing => AwsError::plain(&c::MISSING_AUTHENTICATION_TOKEN),
            E::Incomplete(message) => AwsError::with(&c::INCOMPLETE_SIGNATURE, &[&message]),
            E::UnknownKey => AwsError::plain(&c::UNRECOGNIZED_CLIENT),
            E::BadSignature => AwsError::plain(&c::INVALID_SIGNATURE),
            E::Expired(message) => {
                AwsError { spec: &c::INVALID_SIGNATURE, message: Some(message), extra: Vec::new() }
            }
        })
    }

    /// Strict mode's RPC v1 or ACS3 check; passes everything when strict mode is off.
    pub(crate) fn authenticate_alibaba(
        &self,
        req: &Request<Bytes>,
        params: &Params,
    ) -> Result<(), AlibabaError> {
        use crate::auth::alibaba::{self as auth, AlibabaAuthError as E};
        use crate::contract::alibaba as c;
        let Some(strict) = &self.inner.auth else { return Ok(()) };
        let keys = &strict.alibaba;
        let verdict = if auth::is_acs3(req) {
            auth::verify_acs3(req, keys, self.now())
        } else {
            auth::verify_rpc(req.method().as_str(), &params.0, keys, self.now())
        };
        verdict.map_err(|e| match e {
            E::Missing(name) => crate::wire::alibaba::missing(name),
            E::InvalidAccessKeyId(id) => AlibabaError::with(&c::INVALID_ACCESS_KEY_ID, &[&id]),
            E::SignatureNotMatch | E::UnsupportedSignatureMethod(_) => {
                AlibabaError::plain(&c::SIGNATURE_NOT_MATCH)
            }
            E::RequestTimeTooSkewed { request_time, now } => {
                AlibabaError::with(&c::REQUEST_TIME_TOO_SKEWED, &[&request_time, &now])
            }
        })
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
        route(headers).contract().max_request_bytes
    }

    /// The answer to a body over [`Mock::body_limit`], by route.
    pub fn too_large(&self, path: &str, headers: &http::HeaderMap) -> Response<Bytes> {
        if control::is_control_path(path) {
            return control::too_large();
        }
        match route(headers) {
            Provider::Aws => crate::wire::aws::too_large(),
            Provider::Alibaba => {
                let id = request_id();
                let host = headers.get(http::header::HOST).and_then(|v| v.to_str().ok());
                let error = crate::wire::alibaba::too_large(self.body_limit(path, headers));
                let mut response =
                    crate::wire::alibaba::error_response(&error, &id, host.unwrap_or(""));
                response
                    .headers_mut()
                    .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
                response
            }
        }
    }

    /// The transport limits.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Appends a provider request to the journal.
    pub(crate) fn record(
        &self,
        provider: Provider,
        req: &Request<Bytes>,
        alibaba_action: Option<&str>,
        status: u16,
        error_code: Option<&'static str>,
        task_id: Option<TaskId>,
    ) {
        let journal = &self.inner.journal;
        if !journal.enabled() {
            return;
        }
        let target = req.headers().get(&crate::wire::aws::TARGET);
        journal.record(&journal::Record {
            at_ms: self.clock().now_ms(),
            provider,
            method: req.method(),
            uri: req.uri(),
            operation: target.map(|t| t.as_bytes()).or(alibaba_action.map(str::as_bytes)),
            body: req.body(),
            status,
            error_code,
            task_id,
        });
    }
}

/// A request id as both providers write them: a lowercase UUID v4, from a fast generator
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

/// Which provider API a request is for, from its head alone (the body may not be read yet):
/// AWS when it has an `X-Amz-Target` header, an `application/x-amz-json-*` content type or a
/// SigV4 `Authorization`; Alibaba (RPC, `Action` parameter) otherwise.
pub fn route(headers: &http::HeaderMap) -> Provider {
    let header = |name| headers.get(name).and_then(|v: &http::HeaderValue| v.to_str().ok());
    let aws = headers.contains_key(&crate::wire::aws::TARGET)
        || header(http::header::CONTENT_TYPE)
            .is_some_and(|c| c.starts_with("application/x-amz-json"))
        || header(http::header::AUTHORIZATION).is_some_and(|a| a.starts_with("AWS4-"));
    if aws {
        Provider::Aws
    } else {
        Provider::Alibaba
    }
}
