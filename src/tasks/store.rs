//! The task state machine, provider-neutral: PENDING until the first completion, deadlines on the injected clock, exactly one winner.
//!
//! Tasks live in shards of dense vectors. A task id encodes its shard and slot, so a lookup
//! is one lock and one index; completions on one task serialise on its shard's lock, which
//! makes every operation linearizable: of N concurrent completions exactly one sees PENDING.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde::Serialize;

use super::clock::Clock;
use super::token::{TokenCodec, TokenLengthError, DEFAULT_AWS_TOKEN_LEN};
use crate::contract::Provider;

const SHARDS: usize = 64;
/// Flow name of Alibaba tokens when the spec gives none.
pub const DEFAULT_FLOW_NAME: &str = "tasktoken-flow";

/// A task's id, as the control API shows it (a decimal number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub u64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for TaskId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(TaskId)
    }
}

impl Serialize for TaskId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Waiting for a completion.
    Pending,
    /// Completed by a success report.
    Succeeded,
    /// Completed by a failure report.
    Failed,
    /// Passed its overall or heartbeat deadline.
    TimedOut,
}

/// Which deadline closed a timed-out task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeoutKind {
    /// The overall `TimeoutSeconds`.
    Task,
    /// `HeartbeatSeconds` without a heartbeat.
    Heartbeat,
}

/// What a new task looks like.
///
/// ```
/// use tasktoken::{Provider, TaskSpec};
/// let spec = TaskSpec::new(Provider::Aws).timeout_seconds(60).heartbeat_seconds(10);
/// assert_eq!(spec.timeout_seconds, Some(60));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSpec {
    /// Which provider's token to mint.
    pub provider: Provider,
    /// Overall deadline, from creation.
    pub timeout_seconds: Option<u64>,
    /// Heartbeat deadline, restarted by each heartbeat.
    pub heartbeat_seconds: Option<u64>,
    /// AWS token length in characters; the store's default when `None`.
    pub token_length: Option<usize>,
    /// Alibaba flow name written into the token (default `tasktoken-flow`).
    pub flow_name: Option<String>,
}

impl TaskSpec {
    /// A task with no deadlines and a default-length token.
    pub fn new(provider: Provider) -> TaskSpec {
        TaskSpec {
            provider,
            timeout_seconds: None,
            heartbeat_seconds: None,
            token_length: None,
            flow_name: None,
        }
    }

    /// Sets the overall timeout.
    pub fn timeout_seconds(mut self, s: u64) -> Self {
        self.timeout_seconds = Some(s);
        self
    }

    /// Sets the heartbeat timeout.
    pub fn heartbeat_seconds(mut self, s: u64) -> Self {
        self.heartbeat_seconds = Some(s);
        self
    }

    /// Sets the AWS token length.
    pub fn token_length(mut self, len: usize) -> Self {
        self.token_length = Some(len);
        self
    }

    /// Sets the Alibaba flow name.
    pub fn flow_name(mut self, name: impl Into<String>) -> Self {
        self.flow_name = Some(name.into());
        self
    }
}

/// A freshly created task: its id and its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTask {
    /// The token a worker reports with.
    pub task_token: String,
    /// The id the control API reads the task by.
    pub task_id: TaskId,
    /// A Lambda callback's id: the same text as `task_token`, under the name Lambda gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<String>,
}

/// What a caller asks of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion<'a> {
    /// Report success with this output (already decoded from the wire).
    Succeed {
        /// The output, exactly as it will be stored.
        output: &'a str,
    },
    /// Report failure.
    Fail {
        /// Error name, if any.
        error: Option<&'a str>,
        /// Cause, if any.
        cause: Option<&'a str>,
    },
    /// Keep the task alive.
    Heartbeat,
}

/// Why the store refused a completion; each provider maps these to its own error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Not a token this store issued (garbage, forged, other provider, before a reset).
    #[error("token not issued by this mock")]
    InvalidToken,
    /// The task is closed: succeeded, failed or timed out.
    #[error("task already closed")]
    Closed,
    /// The task was deleted through the control API.
    #[error("task deleted")]
    Deleted,
    /// The task is live but the output is invalid; the detail comes from the output check.
    #[error("invalid output: {0}")]
    InvalidOutput(String),
}

/// A completion that took effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The task it applied to.
    pub task_id: TaskId,
    /// The task's status afterwards.
    pub status: Status,
    /// Id of the history event the call wrote (increasing across the mock, hence within
    /// any execution); 0 for a heartbeat, which writes none.
    pub event_id: u64,
}

/// A task as the control API shows it.
///
/// A Lambda callback's view names things as Lambda does: `output` (its Result, base64) is
/// shown as `resultBase64`, `error` (the ErrorObject as sent) as the JSON object
/// `errorObject`, and `timedOutBy` is `Callback.Timeout` or `Callback.Heartbeat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    /// Its id.
    pub task_id: TaskId,
    /// Its provider.
    pub provider: Provider,
    /// Its status now (deadlines evaluated on read).
    pub status: Status,
    /// The winning success's output, byte for byte (Lambda: the Result's bytes in standard
    /// base64).
    pub output: Option<String>,
    /// The winning failure's error (Lambda: the ErrorObject's JSON as sent), or the
    /// provider's timeout error (`States.Timeout`, `FnF.TaskTimeout`, `Callback.Timeout`,
    /// `Callback.Heartbeat`) for a timed-out task.
    pub error: Option<String>,
    /// The winning failure's cause.
    pub cause: Option<String>,
    /// Which deadline closed it, when timed out.
    pub timed_out_by: Option<TimeoutKind>,
    /// Accepted heartbeats.
    pub heartbeats: u32,
    /// The overall timeout it was created with.
    pub timeout_seconds: Option<u64>,
    /// The heartbeat timeout it was created with.
    pub heartbeat_seconds: Option<u64>,
    /// For an activity task: its activity, its input and whether a worker has taken it.
    pub activity: Option<ActivityView>,
}

impl Serialize for TaskView {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            task_id: TaskId,
            provider: Provider,
            status: Status,
            #[serde(skip_serializing_if = "Option::is_none")]
            output: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            result_base64: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error_object: Option<&'a serde_json::value::RawValue>,
            #[serde(skip_serializing_if = "Option::is_none")]
            cause: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            timed_out_by: Option<&'static str>,
            heartbeats: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            timeout_seconds: Option<u64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            heartbeat_seconds: Option<u64>,
            #[serde(flatten, skip_serializing_if = "Option::is_none")]
            activity: Option<&'a ActivityView>,
        }
        let lambda = self.provider == Provider::Lambda;
        let labels = &self.provider.contract().timed_out_by;
        let (output, result_base64) = match lambda {
            true => (None, self.output.as_deref()),
            false => (self.output.as_deref(), None),
        };
        let (error, error_object) = match (lambda, self.status) {
            (true, Status::Failed) => {
                let raw = self.error.as_deref().unwrap_or("{}");
                (None, serde_json::from_str::<&serde_json::value::RawValue>(raw).ok())
            }
            (true, _) => (None, None),
            (false, _) => (self.error.as_deref(), None),
        };
        Wire {
            task_id: self.task_id,
            provider: self.provider,
            status: self.status,
            output,
            result_base64,
            error,
            error_object,
            cause: self.cause.as_deref(),
            timed_out_by: self.timed_out_by.map(|kind| match kind {
                TimeoutKind::Task => labels.task,
                TimeoutKind::Heartbeat => labels.heartbeat,
            }),
            heartbeats: self.heartbeats,
            timeout_seconds: self.timeout_seconds,
            heartbeat_seconds: self.heartbeat_seconds,
            activity: self.activity.as_ref(),
        }
        .serialize(s)
    }
}

/// What the view of an activity task adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityView {
    /// The activity it was scheduled on.
    pub activity_arn: String,
    /// Its input, byte for byte.
    pub input: String,
    /// Whether a worker's poll has received it (its deadlines run from then).
    pub delivered: bool,
    /// The `workerName` of the poll that received it, if it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_name: Option<String>,
}

/// An activity task as the store keeps it beside the record.
#[derive(Debug)]
struct ActivityTask {
    /// The activity's ARN (shared with the activity registry).
    arn: std::sync::Arc<str>,
    /// Its token, handed over on delivery.
    token: String,
    /// Its input, byte for byte.
    input: String,
    /// Set once a poll's answer carrying it has been written.
    delivered: bool,
    /// The `workerName` of that poll.
    worker_name: Option<String>,
}

/// A queued activity task's token and input, for the poll that takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    /// The task.
    pub task_id: TaskId,
    /// Its token.
    pub task_token: String,
    /// Its input, byte for byte.
    pub input: String,
}

/// Counts of tasks by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Pending tasks.
    pub pending: u64,
    /// Succeeded tasks.
    pub succeeded: u64,
    /// Failed tasks.
    pub failed: u64,
    /// Timed-out tasks.
    pub timed_out: u64,
    /// Deleted tasks.
    pub deleted: u64,
}

/// A store error outside the task state machine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The requested token length cannot be minted.
    #[error(transparent)]
    TokenLength(#[from] TokenLengthError),
    /// The task spec does not fit its provider.
    #[error("{0}")]
    InvalidSpec(String),
    /// The store holds its configured maximum of tasks.
    #[error("the mock holds its maximum of {0} tasks; reset it or raise the limit")]
    Full(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Succeeded,
    Failed,
    TimedOut(TimeoutKind),
    Deleted,
}

/// What a record keeps off its 40 bytes, in its shard's [`Results`] side table: a failure's
/// error and cause, an activity task's delivery state and result, and an output too long for
/// the shard's text chunks. 56 bytes, its members boxed.
#[derive(Debug, Default)]
struct Outcome {
    output: Option<Box<str>>,
    error: Option<Box<str>>,
    cause: Option<Box<str>>,
    activity: Option<Box<ActivityTask>>,
}

impl Outcome {
    fn activity_queued(&self) -> bool {
        self.activity.as_ref().is_some_and(|a| !a.delivered)
    }
}

/// Where a record's result is kept, in its shard's [`Results`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kept {
    /// No result (pending, timed out, deleted).
    Nothing,
    /// A success's output, at this offset of the shard's text chunks.
    Output(u32),
    /// An [`Outcome`], at this index of the shard's side table.
    Outcome(u32),
}

/// Bytes in one text chunk.
const TEXT_CHUNK: usize = 64 * 1024;
/// Longest output kept in the text chunks; a longer one gets a box of its own.
const MAX_CHUNKED_TEXT: usize = TEXT_CHUNK / 4;

/// The results of one shard's tasks. A success's output is appended to fixed-size text chunks
/// (a 4-byte length, then its bytes) rather than given an allocation of its own: most tasks end
/// in a success, and the store never frees a result while the task is known, so a heap
/// allocation per success (two, with its outcome) grew the heap by about 96 bytes each, and
/// the page faults of that growth were a large part of the mock's cost per SendTaskSuccess.
/// Anything else goes in a side table of [`Outcome`]s. Like the records, both only grow until
/// a reset.
#[derive(Debug, Default)]
struct Results {
    texts: Vec<Vec<u8>>,
    outcomes: Vec<Outcome>,
}

impl Results {
    /// The outcome `kept` names, if it names one.
    fn outcome(&self, kept: Kept) -> Option<&Outcome> {
        match kept {
            Kept::Outcome(i) => self.outcomes.get(i as usize),
            _ => None,
        }
    }

    /// The outcome `kept` names, if it names one, to change.
    fn existing_mut(&mut self, kept: Kept) -> Option<&mut Outcome> {
        match kept {
            Kept::Outcome(i) => self.outcomes.get_mut(i as usize),
            _ => None,
        }
    }

    /// The outcome `kept` names, made first (with any output already kept) if it names none.
    fn outcome_mut(&mut self, kept: &mut Kept) -> Option<&mut Outcome> {
        if !matches!(kept, Kept::Outcome(_)) {
            let output = self.output(*kept).map(Box::from);
            let index = u32::try_from(self.outcomes.len()).ok()?;
            self.outcomes.push(Outcome { output, ..Outcome::default() });
            *kept = Kept::Outcome(index);
        }
        self.existing_mut(*kept)
    }

    /// Keeps `output` as the result `kept` names.
    fn keep_output(&mut self, kept: &mut Kept, output: &str) {
        if *kept == Kept::Nothing {
            if let Some(at) = self.push_text(output) {
                *kept = Kept::Output(at);
                return;
            }
        }
        if let Some(outcome) = self.outcome_mut(kept) {
            outcome.output = Some(output.into());
        }
    }

    /// The output `kept` names, if any.
    fn output(&self, kept: Kept) -> Option<&str> {
        match kept {
            Kept::Nothing => None,
            Kept::Output(at) => self.text(at),
            Kept::Outcome(i) => self.outcomes.get(i as usize)?.output.as_deref(),
        }
    }

    /// Appends `text` to the chunks; its offset, or `None` when it is too long or the
    /// offsets (4 GiB a shard) are used up.
    fn push_text(&mut self, text: &str) -> Option<u32> {
        if text.len() > MAX_CHUNKED_TEXT {
            return None;
        }
        let need = 4 + text.len();
        if self.texts.last().is_none_or(|chunk| chunk.len() + need > TEXT_CHUNK) {
            if (self.texts.len() + 1) * TEXT_CHUNK > 1 << 32 {
                return None;
            }
            self.texts.push(Vec::with_capacity(TEXT_CHUNK));
        }
        let index = self.texts.len() - 1;
        let chunk = self.texts.last_mut()?;
        let at = u32::try_from(index * TEXT_CHUNK + chunk.len()).ok()?;
        chunk.extend_from_slice(&u32::try_from(text.len()).ok()?.to_le_bytes());
        chunk.extend_from_slice(text.as_bytes());
        Some(at)
    }

    fn text(&self, at: u32) -> Option<&str> {
        let at = at as usize;
        let chunk = self.texts.get(at / TEXT_CHUNK)?;
        let from = at % TEXT_CHUNK;
        let len = u32::from_le_bytes(chunk.get(from..from + 4)?.try_into().ok()?) as usize;
        std::str::from_utf8(chunk.get(from + 4..from + 4 + len)?).ok()
    }
}

/// One task: 40 bytes while pending.
#[derive(Debug)]
struct Record {
    timeout_at: u64,
    heartbeat_at: u64,
    timeout_secs: u32,
    heartbeat_secs: u32,
    heartbeats: u32,
    provider: Provider,
    state: State,
    kept: Kept,
}

const NEVER: u64 = u64::MAX;

impl Record {
    /// Applies a deadline that has passed, named by the one that passed first (the overall
    /// one on a tie): read late, a task past both deadlines still shows which closed it.
    fn refresh(&mut self, now: u64) {
        if self.state == State::Pending && now >= self.timeout_at.min(self.heartbeat_at) {
            self.state = State::TimedOut(if self.heartbeat_at < self.timeout_at {
                TimeoutKind::Heartbeat
            } else {
                TimeoutKind::Task
            });
        }
    }
}

#[derive(Debug, Default)]
struct Shard {
    /// Global slot number of `tasks[0]`; raised by a reset so old ids never match.
    first_slot: u64,
    tasks: Vec<Record>,
    results: Results,
}

/// The task store: the only state of the mock.
///
/// ```
/// use tasktoken::tasks::{Completion, Status, Store};
/// use tasktoken::{Clock, Provider, TaskSpec};
///
/// let store = Store::new(Clock::virtual_at(0));
/// let task = store.create(&TaskSpec::new(Provider::Aws)).unwrap();
/// let ok = store.apply(Provider::Aws, &task.task_token, Completion::Succeed { output: "{}" }, None);
/// assert_eq!(ok.unwrap().status, Status::Succeeded);
/// let again = store.apply(Provider::Aws, &task.task_token, Completion::Heartbeat, None);
/// assert_eq!(again, Err(tasktoken::tasks::Rejection::Closed));
/// ```
#[derive(Debug)]
pub struct Store {
    shards: Box<[Padded]>,
    next_shard: AtomicUsize,
    live: AtomicUsize,
    events: AtomicU64,
    max_tasks: usize,
    codec: TokenCodec,
    clock: Clock,
    default_token_length: usize,
}

impl Store {
    /// A store on `clock` with a random token key, default token length and no task cap.
    pub fn new(clock: Clock) -> Store {
        Store::with_options(clock, TokenCodec::random(), DEFAULT_AWS_TOKEN_LEN, usize::MAX)
    }

    /// A store with every option given.
    pub fn with_options(
        clock: Clock,
        codec: TokenCodec,
        default_token_length: usize,
        max_tasks: usize,
    ) -> Store {
        Store {
            shards: (0..SHARDS).map(|_| Padded(Mutex::new(Shard::default()))).collect(),
            next_shard: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            events: AtomicU64::new(1),
            max_tasks,
            codec,
            clock,
            default_token_length,
        }
    }

    /// The clock deadlines run on.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The token codec.
    pub fn codec(&self) -> &TokenCodec {
        &self.codec
    }

    /// Creates a pending task and mints its token.
    pub fn create(&self, spec: &TaskSpec) -> Result<NewTask, StoreError> {
        self.create_record(spec, None)
    }

    /// Creates an activity task on the activity `arn` with `input`: pending, and queued until
    /// a poll takes it ([`Store::deliver`]); its deadlines start then.
    pub fn create_activity_task(
        &self,
        spec: &TaskSpec,
        arn: std::sync::Arc<str>,
        input: String,
    ) -> Result<NewTask, StoreError> {
        if spec.provider != Provider::Aws {
            return Err(StoreError::InvalidSpec("activity tasks are aws tasks".into()));
        }
        self.create_record(spec, Some((arn, input)))
    }

    fn create_record(
        &self,
        spec: &TaskSpec,
        activity: Option<(std::sync::Arc<str>, String)>,
    ) -> Result<NewTask, StoreError> {
        let queued = activity.is_some();
        let len = spec.token_length.unwrap_or(self.default_token_length);
        let flow = spec.flow_name.as_deref().unwrap_or(DEFAULT_FLOW_NAME);
        match spec.provider {
            Provider::Aws => {
                super::token::check_token_length(len)?;
                if spec.flow_name.is_some() {
                    return Err(StoreError::InvalidSpec("flowName is for alibaba tasks".into()));
                }
            }
            Provider::Lambda => {
                if spec.token_length.is_some() || spec.flow_name.is_some() {
                    return Err(StoreError::InvalidSpec(
                        "tokenLength is for aws tasks and flowName for alibaba tasks".into(),
                    ));
                }
                let max = crate::contract::lambda::MAX_TIMEOUT_SECONDS;
                if [spec.timeout_seconds, spec.heartbeat_seconds].iter().flatten().any(|s| *s > max)
                {
                    return Err(StoreError::InvalidSpec(format!(
                        "lambda timeouts are 0 to {max} seconds (0 disables the timer)"
                    )));
                }
            }
            Provider::Alibaba => {
                if spec.heartbeat_seconds.is_some() {
                    return Err(StoreError::InvalidSpec(
                        "alibaba has no heartbeat operation; heartbeatSeconds is for aws tasks"
                            .into(),
                    ));
                }
                if spec.token_length.is_some() {
                    return Err(StoreError::InvalidSpec("tokenLength is for aws tasks".into()));
                }
                if flow.is_empty() || flow.chars().count() > 128 || flow.contains('#') {
                    return Err(StoreError::InvalidSpec(
                        "flowName must be 1 to 128 characters without '#'".into(),
                    ));
                }
            }
        }
        if self.live.fetch_add(1, Ordering::AcqRel) >= self.max_tasks {
            self.live.fetch_sub(1, Ordering::AcqRel);
            return Err(StoreError::Full(self.max_tasks));
        }
        let now = self.clock.now_ms();
        // Lambda's CallbackOptions: 0 disables a timer.
        let disabled = |s: Option<u64>| spec.provider == Provider::Lambda && s == Some(0);
        let deadline = |s: Option<u64>| match s {
            _ if disabled(s) => NEVER,
            Some(s) if !queued => now.saturating_add(s.saturating_mul(1000)),
            _ => NEVER,
        };
        let record = Record {
            timeout_at: deadline(spec.timeout_seconds),
            heartbeat_at: deadline(spec.heartbeat_seconds),
            timeout_secs: secs32(spec.timeout_seconds),
            heartbeat_secs: secs32(spec.heartbeat_seconds),
            heartbeats: 0,
            provider: spec.provider,
            state: State::Pending,
            kept: Kept::Nothing,
        };
        let shard_index = self.next_shard.fetch_add(1, Ordering::Relaxed) % SHARDS;
        let id = {
            let mut shard = self.lock(shard_index);
            let slot = shard.first_slot + shard.tasks.len() as u64;
            shard.tasks.push(record);
            slot * SHARDS as u64 + shard_index as u64
        };
        let token = match spec.provider {
            Provider::Aws => self.codec.mint_aws(id, len)?,
            Provider::Alibaba => {
                let scheduled = self.events.fetch_add(1, Ordering::Relaxed);
                self.codec.mint_alibaba(id, flow, scheduled)
            }
            Provider::Lambda => self.codec.mint_lambda(id),
        };
        if let Some((arn, input)) = activity {
            let task = ActivityTask {
                arn,
                token: token.clone(),
                input,
                delivered: false,
                worker_name: None,
            };
            self.with_record(TaskId(id), |r, results| {
                if let Some(outcome) = results.outcome_mut(&mut r.kept) {
                    outcome.activity = Some(Box::new(task));
                }
            });
        }
        let callback_id = (spec.provider == Provider::Lambda).then(|| token.clone());
        Ok(NewTask { task_token: token, task_id: TaskId(id), callback_id })
    }

    /// Applies a completion or heartbeat sent with `token` through `provider`'s API.
    ///
    /// Checks in the contract's order: token, then task state, then `output_error` (the
    /// provider's verdict on the output, computed by its wire layer before the lock).
    pub fn apply(
        &self,
        provider: Provider,
        token: &str,
        completion: Completion<'_>,
        output_error: Option<String>,
    ) -> Result<Applied, Rejection> {
        let (token_provider, id) = self.codec.verify(token).ok_or(Rejection::InvalidToken)?;
        if token_provider != provider {
            return Err(Rejection::InvalidToken);
        }
        let now = self.clock.now_ms();
        self.with_record(TaskId(id), |record, results| {
            if record.provider != provider {
                return Err(Rejection::InvalidToken);
            }
            record.refresh(now);
            match record.state {
                State::Deleted => return Err(Rejection::Deleted),
                State::Pending => {}
                _ => return Err(Rejection::Closed),
            }
            match completion {
                Completion::Heartbeat => {
                    record.heartbeats = record.heartbeats.saturating_add(1);
                    // A queued activity task's deadlines start only when a worker takes it.
                    let queued = results.outcome(record.kept).is_some_and(Outcome::activity_queued);
                    if record.heartbeat_secs > 0 && !queued {
                        record.heartbeat_at =
                            now.saturating_add(u64::from(record.heartbeat_secs) * 1000);
                    }
                }
                Completion::Succeed { output } => {
                    if let Some(detail) = output_error {
                        return Err(Rejection::InvalidOutput(detail));
                    }
                    record.state = State::Succeeded;
                    results.keep_output(&mut record.kept, output);
                }
                Completion::Fail { error, cause } => {
                    record.state = State::Failed;
                    if let Some(outcome) = results.outcome_mut(&mut record.kept) {
                        outcome.error = error.map(Box::from);
                        outcome.cause = cause.map(Box::from);
                    }
                }
            }
            let event_id = match completion {
                Completion::Heartbeat => 0,
                _ => self.events.fetch_add(1, Ordering::Relaxed),
            };
            Ok(Applied { task_id: TaskId(id), status: view_status(record.state), event_id })
        })
        .unwrap_or(Err(Rejection::InvalidToken))
    }

    /// The task as it is now, deadlines applied; `None` if unknown or deleted.
    pub fn view(&self, id: TaskId) -> Option<TaskView> {
        let now = self.clock.now_ms();
        self.with_record(id, |r, results| {
            r.refresh(now);
            if r.state == State::Deleted {
                return None;
            }
            let outcome = results.outcome(r.kept);
            let timed_out_by = match r.state {
                State::TimedOut(kind) => Some(kind),
                _ => None,
            };
            Some(TaskView {
                task_id: id,
                provider: r.provider,
                status: view_status(r.state),
                output: results.output(r.kept).map(str::to_owned),
                error: match timed_out_by {
                    Some(TimeoutKind::Heartbeat) if r.provider == Provider::Lambda => {
                        Some(r.provider.contract().timed_out_by.heartbeat.to_owned())
                    }
                    Some(_) => Some(r.provider.timeout_error().to_owned()),
                    None => outcome.and_then(|o| o.error.as_deref()).map(str::to_owned),
                },
                cause: outcome.and_then(|o| o.cause.as_deref()).map(str::to_owned),
                timed_out_by,
                heartbeats: r.heartbeats,
                timeout_seconds: (r.timeout_secs > 0).then_some(u64::from(r.timeout_secs)),
                heartbeat_seconds: (r.heartbeat_secs > 0).then_some(u64::from(r.heartbeat_secs)),
                activity: outcome.and_then(|o| o.activity.as_deref()).map(|a| ActivityView {
                    activity_arn: a.arn.to_string(),
                    input: a.input.clone(),
                    delivered: a.delivered,
                    worker_name: a.worker_name.clone(),
                }),
            })
        })
        .flatten()
    }

    /// A queued activity task's token and input, if it can still be delivered: pending and
    /// not yet taken (a task completed, timed out or deleted first is never delivered).
    pub fn handover(&self, id: TaskId) -> Option<Handover> {
        let now = self.clock.now_ms();
        self.with_record(id, |r, results| {
            r.refresh(now);
            let activity = results.outcome(r.kept)?.activity.as_ref()?;
            (r.state == State::Pending && !activity.delivered).then(|| Handover {
                task_id: id,
                task_token: activity.token.clone(),
                input: activity.input.clone(),
            })
        })
        .flatten()
    }

    /// Marks a queued activity task delivered to a poll by `worker_name` and starts its
    /// deadlines. Returns false (and changes nothing) if it was not queued.
    pub fn deliver(&self, id: TaskId, worker_name: Option<&str>) -> bool {
        let now = self.clock.now_ms();
        self.with_record(id, |r, results| {
            // Only an activity task has an outcome from its creation on.
            let Some(outcome) = results.existing_mut(r.kept) else { return false };
            if !outcome.activity_queued() {
                return false;
            }
            if let Some(activity) = outcome.activity.as_mut() {
                activity.delivered = true;
                activity.worker_name = worker_name.map(str::to_owned);
            }
            let from = |secs: u32| match secs {
                0 => NEVER,
                s => now.saturating_add(u64::from(s) * 1000),
            };
            r.timeout_at = from(r.timeout_secs);
            r.heartbeat_at = from(r.heartbeat_secs);
            true
        })
        .unwrap_or(false)
    }

    /// Deletes a task: its token then gets the provider's "does not exist" error.
    pub fn delete(&self, id: TaskId) -> bool {
        self.with_record(id, |r, _| {
            if r.state == State::Deleted {
                return false;
            }
            r.state = State::Deleted;
            // What it kept stays in the shard's results until a reset, as the record does.
            r.kept = Kept::Nothing;
            true
        })
        .unwrap_or(false)
    }

    /// Forgets every task; tokens minted before stay unrecognised (`InvalidToken`).
    pub fn reset(&self) {
        for i in 0..SHARDS {
            let mut shard = self.lock(i);
            shard.first_slot += shard.tasks.len() as u64;
            shard.tasks = Vec::new();
            shard.results = Results::default();
        }
        self.live.store(0, Ordering::Release);
    }

    /// Counts of tasks by status, deadlines applied.
    pub fn stats(&self) -> Stats {
        let now = self.clock.now_ms();
        let mut stats = Stats::default();
        for i in 0..SHARDS {
            let mut shard = self.lock(i);
            for r in shard.tasks.iter_mut() {
                r.refresh(now);
                match r.state {
                    State::Pending => stats.pending += 1,
                    State::Succeeded => stats.succeeded += 1,
                    State::Failed => stats.failed += 1,
                    State::TimedOut(_) => stats.timed_out += 1,
                    State::Deleted => stats.deleted += 1,
                }
            }
        }
        stats
    }

    fn with_record<T>(
        &self,
        id: TaskId,
        f: impl FnOnce(&mut Record, &mut Results) -> T,
    ) -> Option<T> {
        let shard_index = (id.0 % SHARDS as u64) as usize;
        let slot = id.0 / SHARDS as u64;
        let mut shard = self.lock(shard_index);
        let index = slot.checked_sub(shard.first_slot)?;
        let Shard { tasks, results, .. } = &mut *shard;
        let record = tasks.get_mut(usize::try_from(index).ok()?)?;
        Some(f(record, results))
    }

    fn lock(&self, i: usize) -> MutexGuard<'_, Shard> {
        // A panic while holding a shard lock cannot leave a record half-written (every
        // update is a few plain stores), so a poisoned lock is safe to keep using.
        self.shards[i].0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A shard on cache lines of its own: consecutive tasks live in consecutive shards, and two
/// cores completing neighbours would otherwise take turns owning the line both locks share
/// (128 bytes: the adjacent-line prefetcher moves lines in pairs).
#[derive(Debug)]
#[repr(align(128))]
struct Padded(Mutex<Shard>);

fn view_status(state: State) -> Status {
    match state {
        State::Pending | State::Deleted => Status::Pending,
        State::Succeeded => Status::Succeeded,
        State::Failed => Status::Failed,
        State::TimedOut(_) => Status::TimedOut,
    }
}

fn secs32(s: Option<u64>) -> u32 {
    s.map(|s| u32::try_from(s).unwrap_or(u32::MAX)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn record_stays_small() {
        assert!(std::mem::size_of::<Record>() <= 40, "{}", std::mem::size_of::<Record>());
        assert!(std::mem::size_of::<Outcome>() <= 56, "{}", std::mem::size_of::<Outcome>());
    }

    #[test]
    fn outputs_come_back_byte_for_byte_across_chunks_and_past_the_chunked_limit() {
        let mut results = Results::default();
        let long = "é".repeat(MAX_CHUNKED_TEXT); // twice the limit in bytes
        let mut texts: Vec<String> = (0..40_000)
            .map(|n| format!("{{\"n\":{n},\"s\":\"{}\"}}", "😀".repeat(n % 7)))
            .collect();
        texts.extend([String::new(), long.clone(), "x".repeat(MAX_CHUNKED_TEXT)]);
        let mut kept = Vec::new();
        for text in &texts {
            let mut k = Kept::Nothing;
            results.keep_output(&mut k, text);
            kept.push(k);
        }
        assert!(results.texts.len() > 2, "the outputs span several chunks");
        assert!(results.texts.iter().all(|c| c.len() <= TEXT_CHUNK && c.capacity() == TEXT_CHUNK));
        for (text, k) in texts.iter().zip(&kept) {
            assert_eq!(results.output(*k), Some(text.as_str()));
        }
        assert!(matches!(kept[texts.len() - 2], Kept::Outcome(_)), "a long output is boxed");
        assert!(matches!(kept[texts.len() - 1], Kept::Output(_)), "the limit itself is chunked");
        // Failing a task that kept an output moves the output into its outcome.
        let mut k = kept[0];
        results.outcome_mut(&mut k).unwrap().error = Some("E".into());
        assert_eq!(results.output(k), Some(texts[0].as_str()));
        assert_eq!(results.outcome(k).unwrap().error.as_deref(), Some("E"));
    }

    #[test]
    fn completions_keep_their_results_through_the_store() {
        let store = Store::new(Clock::virtual_at(0));
        let ok = store.create(&TaskSpec::new(Provider::Aws)).unwrap();
        let failed = store.create(&TaskSpec::new(Provider::Aws)).unwrap();
        let output = format!("{{\"k\":\"{}\"}}", "€".repeat(100));
        store
            .apply(Provider::Aws, &ok.task_token, Completion::Succeed { output: &output }, None)
            .unwrap();
        let fail = Completion::Fail { error: Some("E"), cause: Some("ç") };
        store.apply(Provider::Aws, &failed.task_token, fail, None).unwrap();
        assert_eq!(store.view(ok.task_id).unwrap().output.as_deref(), Some(output.as_str()));
        let view = store.view(failed.task_id).unwrap();
        assert_eq!(
            (view.output, view.error.as_deref(), view.cause.as_deref()),
            (None, Some("E"), Some("ç"))
        );
        assert!(store.delete(ok.task_id));
        assert!(store.view(ok.task_id).is_none());
    }

    #[test]
    fn heartbeat_restarts_only_the_heartbeat_deadline() {
        let clock = Clock::virtual_at(0);
        let store = Store::new(clock.clone());
        let t = store
            .create(&TaskSpec::new(Provider::Aws).timeout_seconds(10).heartbeat_seconds(4))
            .unwrap();
        for _ in 0..2 {
            clock.advance(Duration::from_secs(3)).unwrap();
            store.apply(Provider::Aws, &t.task_token, Completion::Heartbeat, None).unwrap();
        }
        // t = 6 s: heartbeat deadline is 10 s, overall deadline 10 s.
        clock.advance(Duration::from_secs(3)).unwrap();
        assert_eq!(store.view(t.task_id).unwrap().status, Status::Pending);
        clock.advance(Duration::from_secs(1)).unwrap();
        let v = store.view(t.task_id).unwrap();
        assert_eq!((v.status, v.timed_out_by), (Status::TimedOut, Some(TimeoutKind::Task)));
        assert_eq!(
            store.apply(Provider::Aws, &t.task_token, Completion::Heartbeat, None),
            Err(Rejection::Closed)
        );
    }

    #[test]
    fn missed_heartbeat_times_out() {
        let clock = Clock::virtual_at(0);
        let store = Store::new(clock.clone());
        let t = store.create(&TaskSpec::new(Provider::Aws).heartbeat_seconds(5)).unwrap();
        clock.advance(Duration::from_millis(4_999)).unwrap();
        assert_eq!(store.view(t.task_id).unwrap().status, Status::Pending);
        clock.advance(Duration::from_millis(1)).unwrap();
        assert_eq!(store.view(t.task_id).unwrap().timed_out_by, Some(TimeoutKind::Heartbeat));
    }

    #[test]
    fn a_late_read_names_the_deadline_that_passed_first() {
        let clock = Clock::virtual_at(0);
        let store = Store::new(clock.clone());
        let spec = TaskSpec::new(Provider::Aws).timeout_seconds(15).heartbeat_seconds(5);
        let t = store.create(&spec).unwrap();
        let tie =
            store.create(&TaskSpec::new(Provider::Aws).timeout_seconds(5).heartbeat_seconds(5));
        clock.advance(Duration::from_secs(20)).unwrap();
        assert_eq!(store.view(t.task_id).unwrap().timed_out_by, Some(TimeoutKind::Heartbeat));
        let tie = store.view(tie.unwrap().task_id).unwrap();
        assert_eq!(tie.timed_out_by, Some(TimeoutKind::Task));
    }

    #[test]
    fn reset_and_delete_and_cap() {
        let store = Store::with_options(Clock::virtual_at(0), TokenCodec::random(), 680, 2);
        let a = store.create(&TaskSpec::new(Provider::Aws)).unwrap();
        let b = store.create(&TaskSpec::new(Provider::Aws)).unwrap();
        assert!(matches!(store.create(&TaskSpec::new(Provider::Aws)), Err(StoreError::Full(2))));
        assert!(store.delete(b.task_id));
        assert_eq!(
            store.apply(Provider::Aws, &b.task_token, Completion::Heartbeat, None),
            Err(Rejection::Deleted)
        );
        store.reset();
        assert_eq!(
            store.apply(Provider::Aws, &a.task_token, Completion::Heartbeat, None),
            Err(Rejection::InvalidToken)
        );
        let c = store.create(&TaskSpec::new(Provider::Aws)).unwrap();
        assert_ne!(c.task_id, a.task_id);
        assert!(store.view(a.task_id).is_none());
    }
}
