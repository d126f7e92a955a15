//! Arbitrary bytes through the mock's real HTTP connection path never panic, never get a 5xx, never hang, and never touch a task they do not name.
//!
//! The client writes and then reads without shutting its write half: hyper (half-close off)
//! drops a connection whose read side ends before it answers, so a client that half-closes
//! gets no answer and the request never reaches a provider. Tokio's time is paused, so the
//! server's read deadlines for an incomplete request pass at once.

use std::time::Duration;

use proptest::prelude::*;
use tasktoken::{Mock, MockConfig, Provider, Status, TaskSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn exchange(runtime: &tokio::runtime::Runtime, mock: &Mock, request: Vec<u8>) -> Vec<u8> {
    let mock = mock.clone();
    runtime.block_on(async move {
        let (mut client, server) = tokio::io::duplex(4 * 1024 * 1024);
        let served = tokio::spawn(tasktoken::mock::serve_connection(mock, server));
        let mut answer = Vec::new();
        let io = async {
            let _ = client.write_all(&request).await;
            let _ = client.read_to_end(&mut answer).await;
        };
        tokio::time::timeout(Duration::from_secs(5), io).await.expect("answered or closed in time");
        let _ = served.await;
        answer
    })
}

fn shaped(shape: u8, bytes: &[u8], token: &str) -> Vec<u8> {
    let body: Vec<u8> = String::from_utf8_lossy(bytes).replace("$T", token).into_bytes();
    let head = match shape % 4 {
        0 => return bytes.to_vec(),
        1 => "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.SendTaskSuccess\r\n"
            .to_owned(),
        2 => "POST /?Action=ReportTaskSucceeded&Version=2019-03-15 HTTP/1.1\r\nHost: x\r\n\
              Content-Type: application/x-www-form-urlencoded\r\n"
            .to_owned(),
        _ => {
            use tasktoken::contract::lambda::CONTRACT;
            let op = CONTRACT.operations[usize::from(shape / 4) % CONTRACT.operations.len()];
            format!("POST {} HTTP/1.1\r\nHost: x\r\n", tasktoken::wire::lambda::path(op, token))
        }
    };
    let mut request =
        format!("{head}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
    request.extend_from_slice(&body);
    request
}

fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        Just(b"{\"taskToken\":\"$T\",\"output\":".to_vec()),
        Just(b"TaskToken=$T&Output=".to_vec()),
        Just(b"%zz%e2%82\xff\xfe".to_vec()),
        Just(b"\"\\ud800\"}".to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_requests_get_a_clean_answer_and_leave_other_tasks_alone(
        shape in any::<u8>(),
        pieces in proptest::collection::vec(piece(), 0..6),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        let config = MockConfig {
            body_read_timeout: Duration::from_millis(100),
            header_read_timeout: Duration::from_millis(100),
            ..MockConfig::default()
        };
        let mock = Mock::new(config).unwrap();
        let provider = match shape % 4 {
            2 => Provider::Alibaba,
            3 => Provider::Lambda,
            _ => Provider::Aws,
        };
        let live = mock.create_task(TaskSpec::new(provider)).unwrap();
        let witness = mock.create_task(TaskSpec::new(provider)).unwrap();
        let bytes = pieces.concat();
        let answer = exchange(&runtime, &mock, shaped(shape, &bytes, &live.task_token));
        // A well-formed head with its whole body always gets an answer from its provider.
        prop_assert!(shape % 4 == 0 || !answer.is_empty(), "no answer to a well-formed request");
        if !answer.is_empty() {
            let http = answer.starts_with(b"HTTP/1.1 ") || answer.starts_with(b"HTTP/1.0 ");
            prop_assert!(http, "{:?}", String::from_utf8_lossy(&answer));
            prop_assert!(answer[9] != b'5', "{}", String::from_utf8_lossy(&answer));
        }
        let w = mock.task(witness.task_id).unwrap();
        prop_assert_eq!((w.status, w.heartbeats), (Status::Pending, 0));
    }
}
