//! Replays the wire captures of official SDKs (`fixtures/captures/`): every AWS capture parses to its decoded members, gets `InvalidToken` in-process and over a raw socket, and succeeds once its token is one the mock minted; every Alibaba capture parses.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request};
use serde_json::Value;
use tasktoken::wire::aws::{parse_call, parse_envelope};
use tasktoken::{Mock, MockConfig, MockServer, Provider, Status, TaskSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const INVALID_TOKEN_BODY: &str = r#"{"__type":"com.amazonaws.swf.service.v2.model#InvalidToken","message":"Invalid Token: 'Invalid token'"}"#;
const RAW_MARKER: &str = "## Raw request";
const DECODED_MARKER: &str = "\n\n## Decoded\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Aws,
    Alibaba,
}

/// One capture file, split into its parts.
#[derive(Debug)]
struct Capture {
    name: String,
    kind: Kind,
    /// The request line, as in the file.
    request_line: String,
    /// Header lines in arrival order, name and value as in the file.
    header_lines: Vec<(String, String)>,
    /// The body, byte for byte.
    body: Bytes,
    /// The text under "## Decoded".
    decoded: String,
    /// The parsed request.
    request: Request<Bytes>,
}

impl Capture {
    /// The request as it went over the wire: CRLF line ends (the files store LF), the body as is.
    fn wire_bytes(&self) -> Vec<u8> {
        head_bytes(&self.request_line, &self.header_lines, "\r\n", &self.body)
    }

    /// The file's raw request section exactly: LF line ends, the body as is.
    fn file_bytes(&self) -> Vec<u8> {
        head_bytes(&self.request_line, &self.header_lines, "\n", &self.body)
    }

    /// The value of the `<key>: ` line of the decoded view.
    fn decoded_field(&self, key: &str) -> &str {
        let prefix = format!("{key}: ");
        self.decoded
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("{}: no `{key}:` line under ## Decoded", self.name))
    }

    /// `(name, value)` of the `  <kind> NAME = 'VALUE'` lines of the decoded view, in order.
    fn decoded_pairs(&self, kind: &str) -> Vec<(String, String)> {
        let prefix = format!("  {kind} ");
        self.decoded
            .lines()
            .filter_map(|l| l.strip_prefix(prefix.as_str()))
            .map(|l| {
                let (name, value) = l
                    .split_once(" = ")
                    .unwrap_or_else(|| panic!("{}: malformed line {l:?}", self.name));
                let value = value
                    .strip_prefix('\'')
                    .and_then(|v| v.strip_suffix('\''))
                    .unwrap_or_else(|| panic!("{}: unquoted value in {l:?}", self.name));
                (name.to_owned(), value.to_owned())
            })
            .collect()
    }

    /// The decoded JSON body of an AWS capture.
    fn decoded_json(&self) -> Value {
        serde_json::from_str(self.decoded_field("  json body"))
            .unwrap_or_else(|e| panic!("{}: decoded json body does not parse: {e}", self.name))
    }
}

fn head_bytes(request_line: &str, headers: &[(String, String)], eol: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024 + body.len());
    out.extend_from_slice(request_line.as_bytes());
    out.extend_from_slice(eol.as_bytes());
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}{eol}").as_bytes());
    }
    out.extend_from_slice(eol.as_bytes());
    out.extend_from_slice(body);
    out
}

fn captures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/captures")
}

/// The capture file names (every file but the README), sorted.
fn capture_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(captures_dir())
        .expect("fixtures/captures exists")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "README.md")
        .collect();
    names.sort();
    names
}

fn kind_of(name: &str) -> Kind {
    if name.starts_with("boto3-") || name.starts_with("awscli-") {
        Kind::Aws
    } else if name.starts_with("alibaba-") {
        Kind::Alibaba
    } else {
        panic!("capture {name}: unknown client prefix; teach tests/it/captures.rs about it")
    }
}

/// Parses a capture file; panics with the file name on anything unexpected.
fn parse_capture(name: &str, text: &str) -> Capture {
    let kind = kind_of(name);
    let marker =
        text.find(RAW_MARKER).unwrap_or_else(|| panic!("{name}: no `{RAW_MARKER}` section"));
    let start = marker + text[marker..].find('\n').expect("marker line ends") + 1;
    let end = start
        + text[start..]
            .find(DECODED_MARKER)
            .unwrap_or_else(|| panic!("{name}: no blank line + `## Decoded` after the request"));
    let raw = &text[start..end];
    let decoded = text[end + DECODED_MARKER.len()..].to_owned();

    let (head, body) = raw
        .split_once("\n\n")
        .unwrap_or_else(|| panic!("{name}: no blank line between head and body"));
    let mut lines = head.lines().map(|l| l.trim_end_matches('\r'));
    let request_line = lines.next().expect("request line").to_owned();
    let header_lines: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) =
                l.split_once(':').unwrap_or_else(|| panic!("{name}: malformed header line {l:?}"));
            (n.to_owned(), v.trim().to_owned())
        })
        .collect();

    let mut parts = request_line.split(' ');
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    assert_eq!(version, Some("HTTP/1.1"), "{name}: request line {request_line:?}");
    assert_eq!(parts.next(), None, "{name}: request line {request_line:?}");
    let mut builder = Request::builder()
        .method(Method::from_bytes(method.unwrap().as_bytes()).unwrap())
        .uri(target.unwrap())
        .version(http::Version::HTTP_11);
    for (n, v) in &header_lines {
        builder = builder.header(n.as_str(), v.as_str());
    }
    let body = Bytes::copy_from_slice(body.as_bytes());
    let request = builder
        .body(body.clone())
        .unwrap_or_else(|e| panic!("{name}: not a valid HTTP request: {e}"));

    let content_length: usize = request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .unwrap_or_else(|| panic!("{name}: no Content-Length header"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{name}: bad Content-Length: {e}"));
    assert_eq!(
        body.len(),
        content_length,
        "{name}: the body extracted from the file is {} bytes but Content-Length says {}; the \
         capture or this parser is wrong",
        body.len(),
        content_length
    );

    Capture { name: name.to_owned(), kind, request_line, header_lines, body, decoded, request }
}

fn captures() -> Vec<Capture> {
    capture_files()
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(captures_dir().join(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            parse_capture(name, &text)
        })
        .collect()
}

fn aws_captures() -> Vec<Capture> {
    let all = captures();
    let aws: Vec<Capture> = all.into_iter().filter(|c| c.kind == Kind::Aws).collect();
    assert!(!aws.is_empty(), "no AWS capture found");
    aws
}

/// A clone of the capture's request (http::Request is not Clone).
fn clone_request(req: &Request<Bytes>) -> Request<Bytes> {
    let mut builder = Request::builder()
        .method(req.method().clone())
        .uri(req.uri().clone())
        .version(req.version());
    for (n, v) in req.headers() {
        builder = builder.header(n, v);
    }
    builder.body(req.body().clone()).unwrap()
}

/// A response read off the socket.
#[derive(Debug)]
struct RawResponse {
    status_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn status(&self) -> u16 {
        self.status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {:?}", self.status_line))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Writes `bytes` on a fresh connection and reads one response (head, then Content-Length bytes).
async fn exchange(server: &MockServer, bytes: &[u8]) -> RawResponse {
    let work = async {
        let mut stream = TcpStream::connect(server.address()).await.unwrap();
        stream.write_all(bytes).await.unwrap();
        stream.flush().await.unwrap();
        let mut buf = Vec::new();
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before the response head ended: {buf:?}");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = std::str::from_utf8(&buf[..head_end]).expect("ASCII head");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap().to_owned();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l.split_once(':').expect("header line");
                (n.to_owned(), v.trim().to_owned())
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().unwrap())
            .expect("the response has a Content-Length");
        let mut body = buf[head_end + 4..].to_vec();
        while body.len() < length {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed inside the body");
            body.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(body.len(), length, "more bytes than Content-Length");
        RawResponse { status_line, headers, body }
    };
    tokio::time::timeout(Duration::from_secs(10), work)
        .await
        .expect("the mock answered within 10 s")
}

/// The capture's request with its `taskToken` replaced and Content-Length fixed, as wire bytes.
fn with_token(capture: &Capture, token: &str) -> Vec<u8> {
    let mut json: Value = serde_json::from_slice(&capture.body).unwrap();
    json["taskToken"] = Value::String(token.to_owned());
    let body = serde_json::to_vec(&json).unwrap();
    let headers: Vec<(String, String)> = capture
        .header_lines
        .iter()
        .map(|(n, v)| {
            if n.eq_ignore_ascii_case("content-length") {
                (n.clone(), body.len().to_string())
            } else {
                (n.clone(), v.clone())
            }
        })
        .collect();
    head_bytes(&capture.request_line, &headers, "\r\n", &body)
}

#[test]
fn every_capture_file_is_parsed_and_its_body_length_matches_content_length() {
    let files = capture_files();
    let parsed = captures();
    let aws = parsed.iter().filter(|c| c.kind == Kind::Aws).count();
    let alibaba = parsed.iter().filter(|c| c.kind == Kind::Alibaba).count();
    // Every file is tested by one of the per-kind tests below; none can be skipped silently.
    assert_eq!(aws + alibaba, files.len(), "{files:?}");
    assert_eq!((aws, alibaba), (4, 3), "a capture was added or removed: {files:?}");
    for c in &parsed {
        assert_eq!(c.decoded_field("body length"), format!("{} bytes", c.body.len()), "{}", c.name);
        assert_eq!(c.decoded_field("method"), c.request.method().as_str());
        assert_eq!(c.decoded_field("path"), c.request.uri().path(), "{}", c.name);
        assert_eq!(
            c.decoded_field("raw query"),
            format!("'{}'", c.request.uri().query().unwrap_or("")),
            "{}",
            c.name
        );
        assert!(c.request.headers().contains_key(http::header::HOST));
    }
}

#[test]
fn the_readme_is_copied_beside_the_captures() {
    let readme = std::fs::read_to_string(captures_dir().join("README.md")).unwrap();
    assert!(readme.starts_with("# Wire captures from official SDKs"));
}

#[test]
fn aws_captures_parse_to_their_decoded_members() {
    let captures = aws_captures();
    for c in &captures {
        let envelope = parse_envelope(&c.request)
            .unwrap_or_else(|e| panic!("{}: parse_envelope failed: {e:?}", c.name));
        let target = c.request.headers()["x-amz-target"].to_str().unwrap();
        assert_eq!(format!("AWSStepFunctions.{}", envelope.operation.name), target, "{}", c.name);
        let call =
            parse_call(envelope).unwrap_or_else(|e| panic!("{}: parse_call failed: {e:?}", c.name));
        let decoded = c.decoded_json();
        let member = |k: &str| decoded.get(k).map(|v| v.as_str().unwrap().to_owned());
        let owned = |s: &Option<std::borrow::Cow<'_, str>>| s.as_deref().map(str::to_owned);
        assert_eq!(Some(call.task_token.to_string()), member("taskToken"), "{}", c.name);
        assert_eq!(owned(&call.output), member("output"), "{}", c.name);
        assert_eq!(owned(&call.error), member("error"), "{}", c.name);
        assert_eq!(owned(&call.cause), member("cause"), "{}", c.name);
        // The decoded view is what a JSON parser makes of the raw body.
        let raw: Value = serde_json::from_slice(&c.body).unwrap();
        assert_eq!(raw, decoded, "{}", c.name);
    }
    assert_eq!(captures.len(), 4);
}

#[test]
fn surrogate_pair_escapes_in_the_boto3_success_capture_decode_to_utf8() {
    let c = aws_captures()
        .into_iter()
        .find(|c| c.name == "boto3-send_task_success.txt")
        .expect("the boto3 success capture");
    let raw = std::str::from_utf8(&c.body).unwrap();
    assert!(raw.contains(r"\u20ac\ud83d\ude00"), "escapes on the wire");
    assert!(raw.is_ascii(), "botocore sends ASCII only");
    let call = parse_envelope(&c.request).and_then(parse_call).unwrap();
    assert_eq!(call.output.as_deref(), Some("{\"k\":\"€😀\"}"));
    assert_eq!(call.output.unwrap().as_bytes(), b"{\"k\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"}");

    let cli = aws_captures()
        .into_iter()
        .find(|c| c.name == "awscli-send-task-success.txt")
        .expect("the awscli capture");
    let call = parse_envelope(&cli.request).and_then(parse_call).unwrap();
    assert_eq!(call.output.as_deref(), Some("{\"cli\":\"€\"}"));
}

#[test]
fn aws_captures_get_invalid_token_from_mock_handle() {
    let mock = Mock::new(MockConfig::default()).unwrap();
    let captures = aws_captures();
    for c in &captures {
        let response = mock.handle(clone_request(&c.request));
        assert_eq!(response.status(), 400, "{}", c.name);
        assert_eq!(std::str::from_utf8(response.body()).unwrap(), INVALID_TOKEN_BODY, "{}", c.name);
        assert_eq!(response.headers()["content-type"], "application/x-amz-json-1.0", "{}", c.name);
        assert!(response.headers().contains_key("x-amzn-requestid"));
    }
    assert_eq!(captures.len(), 4);
}

#[tokio::test]
async fn aws_captures_written_raw_on_a_socket_get_the_invalid_token_400() {
    let server = MockServer::start().await;
    let captures = aws_captures();
    for c in &captures {
        // The Host header still names the capture's port, not the mock's: the mock ignores it.
        let response = exchange(&server, &c.wire_bytes()).await;
        assert!(
            response.status_line.starts_with("HTTP/1.1 400"),
            "{}: {:?}",
            c.name,
            response.status_line
        );
        assert_eq!(
            String::from_utf8(response.body.clone()).unwrap(),
            INVALID_TOKEN_BODY,
            "{}",
            c.name
        );
        assert_eq!(
            response.header("content-type"),
            Some("application/x-amz-json-1.0"),
            "{}",
            c.name
        );
        assert_eq!(response.header("x-amzn-errortype"), None, "{}", c.name);
    }
    assert_eq!(captures.len(), 4);
}

#[tokio::test]
async fn aws_captures_with_bare_lf_line_ends_as_stored_get_the_same_answer() {
    // The files store the head with LF line ends; a lenient HTTP/1.1 parser accepts them too.
    let server = MockServer::start().await;
    for c in &aws_captures() {
        let response = exchange(&server, &c.file_bytes()).await;
        assert_eq!(response.status(), 400, "{}", c.name);
        assert_eq!(response.body, INVALID_TOKEN_BODY.as_bytes(), "{}", c.name);
    }
}

#[tokio::test]
async fn aws_captures_with_a_minted_token_succeed_and_store_the_decoded_members() {
    let server = MockServer::start().await;
    let captures = aws_captures();
    for c in &captures {
        let task = server.create_task(TaskSpec::new(Provider::Aws)).unwrap();
        let response = exchange(&server, &with_token(c, &task.task_token)).await;
        assert!(
            response.status_line.starts_with("HTTP/1.1 200"),
            "{}: {:?} {}",
            c.name,
            response.status_line,
            String::from_utf8_lossy(&response.body)
        );
        assert_eq!(response.body, b"{}", "{}", c.name);

        let decoded = c.decoded_json();
        let member = |k: &str| decoded.get(k).map(|v| v.as_str().unwrap().to_owned());
        let view = server.task(task.task_id).unwrap();
        let target = c.request.headers()["x-amz-target"].to_str().unwrap();
        match target {
            "AWSStepFunctions.SendTaskSuccess" => {
                assert_eq!(view.status, Status::Succeeded, "{}", c.name);
                assert_eq!(view.output, member("output"), "{}", c.name);
            }
            "AWSStepFunctions.SendTaskFailure" => {
                assert_eq!(view.status, Status::Failed, "{}", c.name);
                assert_eq!(view.error, member("error"), "{}", c.name);
                assert_eq!(view.cause, member("cause"), "{}", c.name);
            }
            "AWSStepFunctions.SendTaskHeartbeat" => {
                assert_eq!(view.status, Status::Pending, "{}", c.name);
                assert_eq!(view.heartbeats, 1, "{}", c.name);
            }
            other => panic!("{}: unexpected target {other}", c.name),
        }

        // Replayed (a client retry): a completion is now TaskTimedOut; a heartbeat is counted.
        let again = exchange(&server, &with_token(c, &task.task_token)).await;
        if target == "AWSStepFunctions.SendTaskHeartbeat" {
            assert_eq!(again.status(), 200, "{}", c.name);
            assert_eq!(server.task(task.task_id).unwrap().heartbeats, 2);
        } else {
            assert_eq!(again.status(), 400, "{}", c.name);
            assert_eq!(
                String::from_utf8(again.body).unwrap(),
                r#"{"__type":"com.amazonaws.swf.service.v2.model#TaskTimedOut","message":"Task Timed Out: 'Provided task does not exist anymore'"}"#,
                "{}",
                c.name
            );
        }
    }
    assert_eq!(captures.len(), 4);
}

#[test]
fn alibaba_captures_parse_to_their_decoded_query_and_form() {
    let captures: Vec<Capture> =
        captures().into_iter().filter(|c| c.kind == Kind::Alibaba).collect();
    for c in &captures {
        let query = c.request.uri().query().unwrap_or("");
        let query_pairs: Vec<(String, String)> = reqwest::Url::parse(&format!("http://x/?{query}"))
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(query_pairs, c.decoded_pairs("query"), "{}", c.name);
        assert!(
            query_pairs.iter().any(|(k, _)| k == "TaskToken"),
            "{}: the token travels in the query",
            c.name
        );

        let body = std::str::from_utf8(&c.body).expect("a form body is ASCII");
        let form_pairs: Vec<(String, String)> = reqwest::Url::parse(&format!("http://x/?{body}"))
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let expected_form = c.decoded_pairs("form");
        assert!(!expected_form.is_empty(), "{}: no form lines", c.name);
        assert_eq!(form_pairs, expected_form, "{}", c.name);
        assert_eq!(
            c.request.headers()["content-type"],
            "application/x-www-form-urlencoded",
            "{}",
            c.name
        );
    }
    let failed = captures
        .iter()
        .find(|c| c.name == "alibaba-ReportTaskFailed.txt")
        .expect("the ReportTaskFailed capture");
    assert!(failed.decoded_pairs("form").contains(&("Cause".to_owned(), "why €".to_owned())));
    assert_eq!(captures.len(), 3);
}
