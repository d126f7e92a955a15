//! A bounded journal of the provider requests the mock received, oldest dropped first.

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

/// Slots are reused oldest first: once the ring is full, recording copies into buffers that
/// are already allocated, and nothing is freed on the request path.
#[derive(Debug, Default)]
struct Ring {
    next_seq: u64,
    dropped: u64,
    slots: Vec<Slot>,
    /// Index of the oldest slot once the ring is full.
    oldest: usize,
}

/// One journalled request, in one buffer of its own (never sharing the connection's read
/// buffer): method, path, operation and body prefix back to back, so that recording writes
/// consecutive memory.
#[derive(Debug, Default)]
struct Slot {
    seq: u64,
    at_ms: u64,
    provider: Option<Provider>,
    /// Method, path, operation, body prefix.
    text: Vec<u8>,
    /// Where the path, the operation and the body prefix start in `text`.
    path_at: u32,
    operation_at: u32,
    body_at: u32,
    has_operation: bool,
    body_bytes: usize,
    status: u16,
    error_code: Option<&'static str>,
    task_id: Option<TaskId>,
}

/// As much of `body` as an entry keeps.
pub(crate) fn body_prefix(body: &[u8]) -> &[u8] {
    &body[..body.len().min(BODY_PREFIX_BYTES)]
}

/// What the hot path hands over: borrowed views of the request, copied into a slot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    pub(crate) at_ms: u64,
    pub(crate) provider: Provider,
    pub(crate) method: &'a http::Method,
    /// The request target's path and query.
    pub(crate) path: &'a str,
    /// The operation as sent (`X-Amz-Target`, or Alibaba's `Action`).
    pub(crate) operation: Option<&'a [u8]>,
    /// The body, or at least its first [`BODY_PREFIX_BYTES`].
    pub(crate) body: &'a [u8],
    /// The body's full length in bytes.
    pub(crate) body_bytes: usize,
    pub(crate) status: u16,
    pub(crate) error_code: Option<&'static str>,
    pub(crate) task_id: Option<TaskId>,
}

impl Slot {
    fn fill(&mut self, seq: u64, record: &Record<'_>) {
        let text = &mut self.text;
        text.clear();
        text.extend_from_slice(record.method.as_str().as_bytes());
        self.path_at = offset(text);
        text.extend_from_slice(record.path.as_bytes());
        self.operation_at = offset(text);
        text.extend_from_slice(record.operation.unwrap_or_default());
        self.body_at = offset(text);
        text.extend_from_slice(body_prefix(record.body));
        self.has_operation = record.operation.is_some();
        self.seq = seq;
        self.at_ms = record.at_ms;
        self.provider = Some(record.provider);
        self.body_bytes = record.body_bytes;
        self.status = record.status;
        self.error_code = record.error_code;
        self.task_id = record.task_id;
    }

    fn entry(&self) -> JournalEntry {
        let part = |from: u32, to: u32| {
            let (from, to) = (from as usize, to as usize);
            String::from_utf8_lossy(self.text.get(from..to).unwrap_or_default()).into_owned()
        };
        JournalEntry {
            seq: self.seq,
            at_ms: self.at_ms,
            provider: self.provider.unwrap_or(Provider::Aws),
            method: part(0, self.path_at),
            path: part(self.path_at, self.operation_at),
            operation: self.has_operation.then(|| part(self.operation_at, self.body_at)),
            body: part(self.body_at, offset(&self.text)),
            body_bytes: self.body_bytes,
            status: self.status,
            error_code: self.error_code.map(str::to_owned),
            task_id: self.task_id,
        }
    }
}

/// The end of `text` as an offset (a slot holds well under 4 GiB: a method, a URI, a header
/// value and at most [`BODY_PREFIX_BYTES`]).
fn offset(text: &[u8]) -> u32 {
    u32::try_from(text.len()).unwrap_or(u32::MAX)
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
    pub(crate) fn record(&self, record: &Record<'_>) {
        if self.capacity == 0 {
            return;
        }
        let mut ring = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let seq = ring.next_seq;
        ring.next_seq += 1;
        if ring.slots.len() < self.capacity {
            let mut slot = Slot::default();
            slot.fill(seq, record);
            ring.slots.push(slot);
        } else {
            let oldest = ring.oldest;
            ring.slots[oldest].fill(seq, record);
            ring.oldest = (oldest + 1) % self.capacity;
            ring.dropped += 1;
        }
    }

    /// A copy of the entries.
    pub fn snapshot(&self) -> JournalSnapshot {
        let ring = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (newer, older) = ring.slots.split_at(ring.oldest);
        JournalSnapshot {
            dropped: ring.dropped,
            entries: older.iter().chain(newer).map(Slot::entry).collect(),
        }
    }

    /// Empties the journal and restarts numbering.
    pub fn clear(&self) {
        let mut ring = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *ring = Ring { next_seq: 1, ..Ring::default() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'a>(method: &'a http::Method, uri: &'a http::Uri, body: &'a [u8]) -> Record<'a> {
        Record {
            at_ms: 7,
            provider: Provider::Aws,
            method,
            path: uri.path_and_query().map_or("", |p| p.as_str()),
            operation: Some(b"AWSStepFunctions.SendTaskSuccess"),
            body,
            body_bytes: body.len(),
            status: 200,
            error_code: None,
            task_id: None,
        }
    }

    #[test]
    fn a_full_ring_keeps_the_newest_entries_in_order_with_their_own_bytes() {
        let journal = Journal::new(3);
        let (post, uri) = (http::Method::POST, http::Uri::from_static("/?a=1"));
        let long = vec![b'x'; BODY_PREFIX_BYTES + 10];
        for n in 1..=5u8 {
            let body: Vec<u8> = if n == 4 { long.clone() } else { vec![b'0' + n] };
            journal.record(&record(&post, &uri, &body));
        }
        let snapshot = journal.snapshot();
        assert_eq!(snapshot.dropped, 2);
        let seqs: Vec<u64> = snapshot.entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
        let bodies: Vec<usize> = snapshot.entries.iter().map(|e| e.body.len()).collect();
        assert_eq!(bodies, [1, BODY_PREFIX_BYTES, 1]);
        assert_eq!(snapshot.entries[1].body_bytes, BODY_PREFIX_BYTES + 10);
        assert_eq!(snapshot.entries[2].body, "5");
        assert_eq!(snapshot.entries[2].path, "/?a=1");
        assert_eq!(snapshot.entries[2].method, "POST");
        assert_eq!(
            snapshot.entries[2].operation.as_deref(),
            Some("AWSStepFunctions.SendTaskSuccess")
        );
        journal.clear();
        journal.record(&record(&post, &uri, b"again"));
        let snapshot = journal.snapshot();
        assert_eq!((snapshot.dropped, snapshot.entries.len(), snapshot.entries[0].seq), (0, 1, 1));
    }
}
