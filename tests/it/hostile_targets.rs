//! The checker against targets that misbehave: never answering, answering a byte a second, resetting mid-response, sending a gigabyte, or answering garbage yields failed checks with clear messages, within the time limits and bounded memory.

use std::time::{Duration, Instant};

use tasktoken::check::{run, CheckConfig, Verdict};
use tasktoken::Provider;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy)]
enum Hostility {
    NeverAnswers,
    OneByteASecond,
    ResetsMidResponse,
    SendsAGigabyte,
    AnswersGarbage,
}

/// Reads what the client sends until it pauses, so closing later sends no reset.
async fn read_some(stream: &mut TcpStream) {
    let mut buf = [0u8; 64 * 1024];
    while let Ok(Ok(n)) =
        tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await
    {
        if n == 0 {
            break;
        }
    }
}

async fn misbehave(mut stream: TcpStream, how: Hostility) {
    read_some(&mut stream).await;
    match how {
        Hostility::NeverAnswers => tokio::time::sleep(Duration::from_secs(60)).await,
        Hostility::OneByteASecond => {
            for b in b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}" {
                if stream.write_all(&[*b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Hostility::ResetsMidResponse => {
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz")
                .await;
        }
        Hostility::SendsAGigabyte => {
            let head = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 1073741824\r\n\r\n";
            if stream.write_all(head).await.is_err() {
                return;
            }
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..16_384 {
                if stream.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        }
        Hostility::AnswersGarbage => {
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/html\r\nconnection: close\r\ncontent-length: 17\r\n\r\n<html>oops</html>")
                .await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}

/// A loopback server that misbehaves on every connection; stops when the test ends.
async fn hostile(how: Hostility) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(misbehave(stream, how));
        }
    });
    format!("http://{address}")
}

fn resident_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// One hostile run at a time, so each one's memory reading is its own.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn check_against(how: Hostility) {
    let _alone = ONE_AT_A_TIME.lock().await;
    let target = hostile(how).await;
    let mut config = CheckConfig::new(Provider::Aws);
    config.target = Some(target);
    // The token source must not depend on the target: a command printing a fixed token.
    config.tokens = "command:echo AQCDxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyz".parse().unwrap();
    config.select = vec![
        "aws.wire.error-envelope".into(),
        "aws.wire.unknown-operation".into(),
        "aws.validation.invalid-token".into(),
        "aws.validation.token-length".into(),
    ];
    config.cases = 8;
    config.seed = Some(7);
    config.request_timeout = Duration::from_millis(800);
    config.check_timeout = Duration::from_secs(6);
    let before = resident_mb();
    let started = Instant::now();
    let report = run(config).await.unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(20), "{how:?}: the run took {elapsed:?}");
    assert!(resident_mb() - before < 96.0, "{how:?}: memory grew by {} MB", resident_mb() - before);
    assert_eq!(report.results.len(), 4);
    for result in &report.results {
        let Verdict::Fail(failure) = &result.verdict else {
            panic!("{how:?}: {} did not fail: {:?}", result.id, result.verdict)
        };
        assert!(!failure.message.is_empty());
        let exchange = failure.exchange.as_ref().expect("the exchange is shown");
        assert!(!exchange.request.is_empty());
        match how {
            Hostility::NeverAnswers | Hostility::OneByteASecond => {
                assert!(
                    exchange.response.contains("no complete response within"),
                    "{how:?}: {}",
                    exchange.response
                )
            }
            Hostility::SendsAGigabyte => assert!(
                exchange.response.contains("larger than")
                    || exchange.response.contains("no complete response"),
                "{how:?}: {}",
                exchange.response
            ),
            Hostility::ResetsMidResponse => {
                assert!(exchange.response.contains("transport error"), "{}", exchange.response)
            }
            Hostility::AnswersGarbage => {
                assert!(exchange.response.contains("<html>"), "{}", exchange.response)
            }
        }
    }
    assert!(!report.conformant());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_never_answers_fails_within_the_timeouts() {
    check_against(Hostility::NeverAnswers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_answering_a_byte_a_second_fails_within_the_timeouts() {
    check_against(Hostility::OneByteASecond).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_resets_mid_response_fails_cleanly() {
    check_against(Hostility::ResetsMidResponse).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_sending_a_gigabyte_is_cut_off_with_bounded_memory() {
    check_against(Hostility::SendsAGigabyte).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_answering_html_fails_with_the_answer_shown() {
    check_against(Hostility::AnswersGarbage).await;
}

#[test]
fn an_unreachable_target_is_a_setup_error_exit_2() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tasktoken"))
        .args([
            "check",
            "--provider",
            "aws",
            "--no-progress",
            "--target",
            &format!("http://127.0.0.1:{port}"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error"));
}
