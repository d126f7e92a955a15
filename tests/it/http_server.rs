//! The HTTP adapter: the 413 is decided from the head without reading the body, bad or half-sent requests end cleanly, the control API works over HTTP, and the server keeps serving.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tasktoken::{Mock, MockConfig, MockServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads one HTTP/1.1 response (head and Content-Length body); `None` if the peer closed first.
async fn read_response(stream: &mut TcpStream) -> Option<(u16, String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status = head[9..12].parse().unwrap();
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(|v| v.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed mid-body");
        body.extend_from_slice(&chunk[..n]);
    }
    Some((status, head, body))
}

async fn closed(stream: &mut TcpStream) -> bool {
    let mut b = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_secs(10), stream.read(&mut b)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn oversized_content_length_is_answered_413_before_the_body_is_sent() {
    let server = MockServer::start().await;
    let mut s = TcpStream::connect(server.address()).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {SUCCESS}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 100000000\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // Not one body byte sent: the answer comes from the head alone.
    let (status, head, body) = read_response(&mut s).await.expect("a response");
    assert_eq!(status, 413);
    assert!(head.to_ascii_lowercase().contains("content-type: text; charset=utf-8"), "{head}");
    assert!(head.to_ascii_lowercase().contains("connection: close"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("x-amzn-requestid"), "{head}");
    assert_eq!(body, b"HTTP content length exceeded 1049600 bytes.");
    assert!(closed(&mut s).await);
    heartbeat_works(&server).await;
}

#[tokio::test]
async fn content_length_at_the_limit_is_read() {
    let server = MockServer::start().await;
    let mut body = br#"{"taskToken":"x","output":"1"}"#.to_vec();
    body.resize(1_049_600, b' ');
    let r = reqwest::Client::new()
        .post(server.uri())
        .header("X-Amz-Target", SUCCESS)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("#InvalidToken"));
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_cut_off_with_413() {
    let server = MockServer::start().await;
    let mut s = TcpStream::connect(server.address()).await.unwrap();
    let head = format!("POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {SUCCESS}\r\nTransfer-Encoding: chunked\r\n\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let mut answer = None;
    for _ in 0..40 {
        // 40 x 64 KiB = 2.5 MiB offered; the server stops reading past 1049600 bytes.
        let frame =
            [format!("{:x}\r\n", chunk.len()).into_bytes(), chunk.clone(), b"\r\n".to_vec()]
                .concat();
        if s.write_all(&frame).await.is_err() {
            break;
        }
        let mut probe = [0u8; 1];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(5), s.peek(&mut probe)).await
        {
            if n > 0 {
                answer = read_response(&mut s).await;
                break;
            }
        }
    }
    let answer = match answer {
        Some(a) => Some(a),
        None => read_response(&mut s).await,
    };
    let (status, _, body) = answer.expect("a 413 before the body ended");
    assert_eq!(status, 413);
    assert_eq!(body, b"HTTP content length exceeded 1049600 bytes.");
    heartbeat_works(&server).await;
}

#[tokio::test]
async fn a_half_sent_body_times_out_and_closes() {
    let config =
        MockConfig { body_read_timeout: Duration::from_millis(300), ..MockConfig::default() };
    let server = MockServer::start_with(Mock::new(config).unwrap()).await.unwrap();
    let mut s = TcpStream::connect(server.address()).await.unwrap();
    let head = format!("POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {SUCCESS}\r\nContent-Length: 100\r\n\r\n{{\"taskT");
    s.write_all(head.as_bytes()).await.unwrap();
    let (status, _, _) = read_response(&mut s).await.expect("a response");
    assert_eq!(status, 408);
    assert!(closed(&mut s).await);
    heartbeat_works(&server).await;
}

/// A server whose header (and idle) timeout is 300 ms.
async fn short_header_timeout() -> MockServer {
    let config =
        MockConfig { header_read_timeout: Duration::from_millis(300), ..MockConfig::default() };
    MockServer::start_with(Mock::new(config).unwrap()).await.unwrap()
}

#[tokio::test]
async fn a_head_sent_one_byte_at_a_time_is_cut_off_at_the_header_timeout() {
    let server = short_header_timeout().await;
    let mut s = TcpStream::connect(server.address()).await.unwrap();
    let started = std::time::Instant::now();
    let head = format!("POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {HEARTBEAT}\r\n");
    let mut cut_off = false;
    for byte in head.as_bytes() {
        if s.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        if started.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    // Each byte arrives well within the timeout, yet the head as a whole does not.
    assert!(cut_off || closed(&mut s).await, "the slow head was not cut off");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(250), "cut off too early: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "cut off too late: {elapsed:?}");
    heartbeat_works(&server).await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_header_timeout_and_a_busy_one_is_not() {
    let server = short_header_timeout().await;
    let token = task(&server).task_token;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {HEARTBEAT}\r\nContent-Length: {}\r\n\r\n{}",
        json!({ "taskToken": token }).to_string().len(),
        json!({ "taskToken": token })
    );
    let mut s = TcpStream::connect(server.address()).await.unwrap();
    // A request every 150 ms for 1.5 s: five header timeouts long, never idle for one.
    for _ in 0..10 {
        s.write_all(request.as_bytes()).await.unwrap();
        let (status, _, _) = read_response(&mut s).await.expect("still open");
        assert_eq!(status, 200);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let idle_since = std::time::Instant::now();
    assert!(closed(&mut s).await, "the idle connection was not closed");
    let idle = idle_since.elapsed();
    assert!(idle >= Duration::from_millis(100), "closed too early: {idle:?}");
    assert!(idle < Duration::from_secs(2), "closed too late: {idle:?}");
}

#[tokio::test]
async fn a_connection_that_never_sends_is_closed_at_the_header_timeout() {
    let server = short_header_timeout().await;
    let started = std::time::Instant::now();
    let mut silent = TcpStream::connect(server.address()).await.unwrap();
    assert!(closed(&mut silent).await, "the silent connection was not closed");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(250), "closed too early: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "closed too late: {elapsed:?}");
}

#[tokio::test]
async fn stopping_the_server_closes_connections_that_sent_nothing() {
    let server = MockServer::start().await; // header timeout 30 s
    let mut silent = TcpStream::connect(server.address()).await.unwrap();
    heartbeat_works(&server).await; // the silent connection has been accepted by now
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(3), server.shutdown())
        .await
        .expect("the server stopped in time")
        .unwrap();
    assert!(closed(&mut silent).await);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn stopping_the_server_answers_the_request_in_flight_and_closes_idle_keep_alives() {
    let server = MockServer::start().await;
    server
        .add_fault(tasktoken::FaultSpec {
            provider: tasktoken::Provider::Aws,
            operation: Some("SendTaskHeartbeat".into()),
            error: None,
            latency_ms: Some(400),
            reset: false,
            count: None,
            probability: None,
        })
        .unwrap();
    let heartbeat = |token: &str| {
        let body = json!({ "taskToken": token }).to_string();
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {HEARTBEAT}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    // An idle keep-alive connection: one answered request, then nothing.
    let mut idle = TcpStream::connect(server.address()).await.unwrap();
    let health = "GET /_mock/health HTTP/1.1\r\nHost: x\r\n\r\n";
    idle.write_all(health.as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut idle).await.unwrap().0, 200);
    // A request the mock is still answering (the fault holds it 400 ms) when the stop comes.
    let t = task(&server);
    let mut busy = TcpStream::connect(server.address()).await.unwrap();
    busy.write_all(heartbeat(&t.task_token).as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let stopped = tokio::spawn(server.shutdown());
    assert!(closed(&mut idle).await, "the idle keep-alive connection stayed open");
    let (status, head, _) =
        read_response(&mut busy).await.expect("the request in flight was answered");
    assert_eq!(status, 200);
    assert!(head.to_ascii_lowercase().contains("connection: close"), "{head}");
    assert!(closed(&mut busy).await);
    tokio::time::timeout(Duration::from_secs(3), stopped)
        .await
        .expect("the server stopped in time")
        .unwrap()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn garbage_bytes_get_a_clean_close_and_the_server_keeps_serving() {
    let server = MockServer::start().await;
    for garbage in
        [&b"\x00\x01\x02 not http\r\n\r\n"[..], b"POST / HTTP/9.9\r\n\r\n", b"GET\r\n\r\n"]
    {
        let mut s = TcpStream::connect(server.address()).await.unwrap();
        s.write_all(garbage).await.unwrap();
        // hyper answers 400 or just closes; either way the connection ends.
        let _ = read_response(&mut s).await;
        assert!(closed(&mut s).await);
    }
    let mut s = TcpStream::connect(server.address()).await.unwrap();
    s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.SendTaskHeartbeat\r\nContent-Length: 5\r\n\r\n\xff\xfe\xfd{}").await.unwrap();
    let (status, _, body) = read_response(&mut s).await.unwrap();
    assert_eq!(
        (status, body.as_slice()),
        (400, &b"{\"__type\":\"com.amazon.coral.service#SerializationException\"}"[..])
    );
    heartbeat_works(&server).await;
}

#[tokio::test]
async fn control_api_over_http() {
    let server = MockServer::start().await;
    let client = reqwest::Client::new();
    let base = server.uri();
    let created = client
        .post(format!("{base}/_mock/tasks"))
        .body(r#"{"provider":"aws","timeoutSeconds":60,"heartbeatSeconds":10,"tokenLength":2048}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = serde_json::from_str(&created.text().await.unwrap()).unwrap();
    let token = created["taskToken"].as_str().unwrap().to_owned();
    let id = created["taskId"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 2048);

    let heartbeat = client
        .post(&base)
        .header("X-Amz-Target", HEARTBEAT)
        .body(json!({"taskToken": token}).to_string());
    assert_eq!(heartbeat.send().await.unwrap().status(), 200);
    let view: Value =
        client.get(format!("{base}/_mock/tasks/{id}")).send().await.unwrap().json_text().await;
    assert_eq!(
        view,
        json!({"taskId": id, "provider": "aws", "status": "PENDING", "heartbeats": 1, "timeoutSeconds": 60, "heartbeatSeconds": 10})
    );

    let clock: Value = client
        .post(format!("{base}/_mock/clock"))
        .body(r#"{"advanceSeconds":10}"#)
        .send()
        .await
        .unwrap()
        .json_text()
        .await;
    assert_eq!(clock["mode"], "virtual");
    let view: Value =
        client.get(format!("{base}/_mock/tasks/{id}")).send().await.unwrap().json_text().await;
    assert_eq!(
        (view["status"].as_str(), view["timedOutBy"].as_str()),
        (Some("TIMED_OUT"), Some("heartbeat"))
    );

    let journal: Value =
        client.get(format!("{base}/_mock/journal")).send().await.unwrap().json_text().await;
    let entries = journal["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["operation"], HEARTBEAT);
    assert_eq!(entries[0]["status"], 200);
    assert_eq!(entries[0]["taskId"], id.as_str());

    let stats: Value =
        client.get(format!("{base}/_mock/stats")).send().await.unwrap().json_text().await;
    assert_eq!(stats["timedOut"], 1);
    assert_eq!(client.post(format!("{base}/_mock/reset")).send().await.unwrap().status(), 204);
    assert_eq!(client.get(format!("{base}/_mock/tasks/{id}")).send().await.unwrap().status(), 404);
    let journal: Value =
        client.get(format!("{base}/_mock/journal")).send().await.unwrap().json_text().await;
    assert_eq!(journal["entries"], json!([]));
    let health: Value =
        client.get(format!("{base}/_mock/health")).send().await.unwrap().json_text().await;
    assert_eq!(health, json!({"status": "ok"}));
}

#[tokio::test]
async fn a_real_clock_cannot_be_advanced() {
    let mock = Mock::new(MockConfig::default().clock(tasktoken::Clock::real())).unwrap();
    let server = MockServer::start_with(mock).await.unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/_mock/clock", server.uri()))
        .body(r#"{"advanceSeconds":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
}

#[tokio::test]
async fn the_journal_is_bounded() {
    let mock = Mock::new(MockConfig::default().journal_capacity(3)).unwrap();
    for _ in 0..5 {
        mock.handle(aws(HEARTBEAT, "{}"));
    }
    let snapshot = mock.journal().snapshot();
    assert_eq!(snapshot.dropped, 2);
    assert_eq!(snapshot.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
}

trait JsonText {
    async fn json_text(self) -> Value;
}

impl JsonText for reqwest::Response {
    async fn json_text(self) -> Value {
        serde_json::from_str(&self.text().await.unwrap()).unwrap()
    }
}

/// Regression (found by the `aws_request` fuzz target): an HTTP/1.0 request is answered in
/// HTTP/1.0 with the provider's error, and the connection then closes.
#[tokio::test]
async fn an_http_1_0_request_gets_an_http_1_0_answer() {
    let server = MockServer::start().await;
    let mut s = TcpStream::connect(server.address()).await.unwrap();
    let body = r#"{"taskToken":"AQCDx"}"#;
    let request = format!(
        "POWT / HTTP/1.0\r\nHost: x\r\nX-Amz-Target: {HEARTBEAT}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.0 400 "), "{text}");
    assert!(text.ends_with(r#"{"__type":"com.amazonaws.swf.service.v2.model#InvalidToken","message":"Invalid Token: 'Invalid token'"}"#), "{text}");
}
