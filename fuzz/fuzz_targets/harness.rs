//! Shared by the fuzz targets: one mock, raw request bytes through the real hyper connection path, and the invariants every answer must keep.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

use tasktoken::{Mock, MockConfig, NewTask, Provider, Status, TaskSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Tokio's time is paused: the server's read deadlines for an incomplete request pass as soon
/// as nothing else can run, so no run waits in real time.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime")
});

static MOCK: LazyLock<Mock> = LazyLock::new(|| {
    let config = MockConfig {
        body_read_timeout: Duration::from_millis(50),
        header_read_timeout: Duration::from_millis(50),
        journal_capacity: 16,
        ..MockConfig::default()
    };
    Mock::new(config).expect("valid config")
});

static RUNS: AtomicU64 = AtomicU64::new(0);

/// A live task whose token the input may use (`$T` in the input is replaced by it), and a
/// witness task the input never sees.
pub struct Tasks {
    pub live: NewTask,
    pub witness: NewTask,
}

pub fn tasks(provider: Provider) -> Tasks {
    let mock = &*MOCK;
    if RUNS.fetch_add(1, Ordering::Relaxed) % 10_000 == 0 {
        mock.reset(); // keep memory flat over millions of runs
    }
    Tasks {
        live: mock.create_task(TaskSpec::new(provider)).expect("create"),
        witness: mock.create_task(TaskSpec::new(provider)).expect("create"),
    }
}

/// `data` with every `$T` replaced by `token`.
pub fn with_token(data: &[u8], token: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + token.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(b"$T") {
            out.extend_from_slice(token.as_bytes());
            i += 2;
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// Sends `request` on an in-memory connection and checks the invariants: the answer is a
/// well-formed HTTP/1.x response (or the connection just closes), never a 5xx, and the witness
/// task is untouched. Returns the answer's bytes (empty when the request was skipped or the
/// connection just closed).
pub fn exchange(request: Vec<u8>, tasks: &Tasks) -> Vec<u8> {
    // The control API changes the shared mock on purpose (a reset deletes the witness; a
    // clock move times it out; an injected 500 fails later runs): the targets fuzz the
    // provider APIs. First found as `\xf0POST /_mock/reset#… HTTP/1.1` deleting the witness.
    if request.windows(6).any(|w| w == b"/_mock") {
        return Vec::new();
    }
    let mock = MOCK.clone();
    let answer = RUNTIME.block_on(async move {
        let (mut client, server) = tokio::io::duplex(2 * 1024 * 1024);
        let served = tokio::spawn(tasktoken::mock::serve_connection(mock, server));
        let mut answer = Vec::new();
        let io = async {
            // No shutdown of the write half: hyper (half-close off) drops a connection whose
            // read side ends before it answers, so the request would never reach a provider.
            let _ = client.write_all(&request).await;
            let _ = client.read_to_end(&mut answer).await;
        };
        tokio::time::timeout(Duration::from_secs(2), io)
            .await
            .expect("the mock answered or closed in time");
        let _ = served.await;
        answer
    });
    if !answer.is_empty() {
        // An HTTP/1.0 request is answered in HTTP/1.0.
        assert!(
            answer.starts_with(b"HTTP/1.1 ") || answer.starts_with(b"HTTP/1.0 "),
            "not an HTTP answer: {:?}",
            String::from_utf8_lossy(&answer[..answer.len().min(64)])
        );
        let status = &answer[9..12];
        assert!(status[0] != b'5', "a 5xx answer: {}", String::from_utf8_lossy(&answer));
    }
    let witness = MOCK.task(tasks.witness.task_id).expect("the witness exists");
    assert_eq!(witness.status, Status::Pending, "the witness task changed");
    assert_eq!(witness.heartbeats, 0, "the witness task got a heartbeat");
    answer
}
