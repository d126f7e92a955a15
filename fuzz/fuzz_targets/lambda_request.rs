//! Fuzzes the Lambda durable callback path: a fuzzed id segment, action and body (or raw request bytes) through the mock's HTTP connection.
//!
//! The input is a selector byte, then the id segment up to the first NUL byte, then the body.
//! In the segment `$T` stands for the live callback id percent-encoded as SDKs send it and `$R`
//! for it raw (its `/` then splits the path); in the body `$T` is the raw id. Besides the
//! harness's invariants, an error answer to a well-formed request under the prefix must carry
//! `x-amzn-ErrorType`, the only place the code travels.
#![no_main]

#[path = "harness.rs"]
mod harness;

use libfuzzer_sys::fuzz_target;
use tasktoken::contract::lambda::{PATH_PREFIX, SEND_CALLBACK_SUCCESS};
use tasktoken::Provider;

const ACTIONS: [&str; 5] = ["succeed", "fail", "heartbeat", "complete", ""];
const CONTENT_TYPES: [&str; 4] =
    ["", "application/json", "application/octet-stream", "application/x-amz-json-1.1"];

/// The segment as a request target can carry it: `/` and `%` kept raw (the interesting
/// cases), `?`, `#` and what `http::Uri` refuses percent-encoded, so the fuzzer spends its time
/// in the adapter rather than in hyper's parser.
fn path_safe(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if (0x21..=0x7e).contains(&b) && !b"?#\"<>\\^`{|}".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `segment` with `$T` as the encoded id and `$R` as the raw one.
fn segment(template: &[u8], id: &str) -> String {
    let encoded = tasktoken::wire::lambda::path(&SEND_CALLBACK_SUCCESS, id);
    let encoded = encoded
        .strip_prefix(PATH_PREFIX)
        .and_then(|rest| rest.strip_suffix("/succeed"))
        .expect("the codec's path");
    path_safe(template).replace("$T", encoded).replace("$R", id)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let tasks = harness::tasks(Provider::Lambda);
    let id = tasks.live.task_token.clone();
    if selector >= 0xf0 {
        // Entirely raw bytes: request line, headers and body all fuzzed.
        harness::exchange(harness::with_token(rest, &id), &tasks);
        return;
    }
    let split = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let (template, body) = (&rest[..split], rest.get(split + 1..).unwrap_or_default());
    let body = harness::with_token(body, &id);
    let action = ACTIONS[usize::from(selector) % ACTIONS.len()];
    let method = if selector & 0x40 == 0 { "POST" } else { "GET" };
    let content_type = CONTENT_TYPES[usize::from(selector >> 4) % CONTENT_TYPES.len()];
    let content_type = match content_type {
        "" => String::new(),
        c => format!("Content-Type: {c}\r\n"),
    };
    let mut request = format!(
        "{method} {PATH_PREFIX}{}/{action} HTTP/1.1\r\nHost: lambda.us-east-1.amazonaws.com\r\n\
         {content_type}Content-Length: {}\r\nConnection: close\r\n\r\n",
        segment(template, &id),
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let answer = harness::exchange(request, &tasks);
    if answer.is_empty() || answer[9] == b'2' {
        return;
    }
    let head_end = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(answer.len());
    let head = String::from_utf8_lossy(&answer[..head_end]).to_ascii_lowercase();
    assert!(
        head.contains("\r\nx-amzn-errortype: "),
        "an error without x-amzn-ErrorType: {}",
        String::from_utf8_lossy(&answer)
    );
});
