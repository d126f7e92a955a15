//! A bounded journal of the provider requests the mock received, oldest dropped first.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

use crate::contract::Provider;
use crate::tasks::TaskId;

/// How many bytes of each request body the journal keeps.
pub const BODY_PREFIX_BYTES: usize = 8192;

/// One received provider request and what the mock answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// Position since start (or the last journal clear), from 1.
    pub seq: u64,
    /// Mock clock time of receipt, ms since the Unix epoch.
    pub at_ms: u64,
    /// The provider API it was routed to.
    pub provider: Provider,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The operation it named (`X-Amz-Target` value), as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The body (lossy UTF-8), cut at [`BODY_PREFIX_BYTES`].
    pub body: String,
    /// The body's full length in bytes.
    pub body_bytes: usize,
    /// HTTP status answered.
    pub status: u16,
    /// Error code answered, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The task a successful call applied to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<TaskId>,
}

/// A ring of the last `capacity` entries.
#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    inner: Mutex<Ring>,
}

#[derive(Debug, Default)]
struct Ring {
    next_seq: u64,
    dropped: u64,
    entries: VecDeque<Record>,
}

/// What the hot path stores: cheap clones of the request's own buffers, turned into text only
/// when the journal is read.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) seq: u64,
    pub(crate) at_ms: u64,
    pub(crate) provider: Provider,
    pub(crate) method: http::Method,
    pub(crate) uri: http::Uri,
    pub(crate) operation: Option<http::HeaderValue>,
    pub(crate) alibaba_action: Option<std::borrow::Cow<'static, str>>,
    pub(crate) body: bytes::Bytes,
    pub(crate) body_bytes: usize,
    pub(crate) status: u16,
    pub(crate) error_code: Option<&'static str>,
    pub(crate) task_id: Option<TaskId>,
}

impl Record {
    fn entry(&self) -> JournalEntry {
        JournalEntry {
            seq: self.seq,
            at_ms: self.at_ms,
            provider: self.provider,
            method: self.method.to_string(),
            path: self.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
            operation: self
                .operation
                .as_ref()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .or_else(|| self.alibaba_action.as_deref().map(str::to_owned)),
            body: String::from_utf8_lossy(&self.body).into_owned(),
            body_bytes: self.body_bytes,
            status: self.status,
            error_code: self.error_code.map(str::to_owned),
            task_id: self.task_id,
        }
    }
}

/// The journal's contents.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalSnapshot {
    /// Entries dropped because the journal was full.
    pub dropped: u64,
    /// Entries kept, oldest first.
    pub entries: Vec<JournalEntry>,
}

impl Journal {
    /// A journal keeping at most `capacity` entries (0 turns it off).
    pub fn new(capacity: usize) -> Journal {
        Journal { capacity, inner: Mutex::new(Ring { next_seq: 1, ..Ring::default() }) }
    }

    /// Whether entries are kept at all.
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Appends a record, giving it its sequence number.
    pub(crate) fn record(&self, mut record: Record) {
        if self.capacity == 0 {
            return;
        }
        let mut ring = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        record.seq = ring.next_seq;
        ring.next_seq += 1;
        if ring.entries.len() == self.capacity {
            ring.entries.pop_front();
            ring.dropped += 1;
        }
        ring.entries.push_back(record);
    }

    /// A copy of the entries.
    pub fn snapshot(&self) -> JournalSnapshot {
        let ring = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        JournalSnapshot {
            dropped: ring.dropped,
            entries: ring.entries.iter().map(Record::entry).collect(),
        }
    }

    /// Empties the journal and restarts numbering.
    pub fn clear(&self) {
        let mut ring = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *ring = Ring { next_seq: 1, ..Ring::default() };
    }
}

/// The first [`BODY_PREFIX_BYTES`] of `body`, sharing its buffer.
pub(crate) fn body_prefix(body: &bytes::Bytes) -> bytes::Bytes {
    body.slice(..body.len().min(BODY_PREFIX_BYTES))
}
