//! Fuzzes the Alibaba RPC request path: a fuzzed query string and form body (or raw request bytes) through the mock's HTTP connection.
#![no_main]

#[path = "harness.rs"]
mod harness;

use libfuzzer_sys::fuzz_target;
use tasktoken::Provider;

/// Bytes that cannot stand in a request target are percent-encoded, so the fuzzer spends its
/// time in parameter handling rather than in hyper's URI parser.
fn query_safe(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if (0x21..=0x7e).contains(&b) && !b"#\"<>\\^`{|}".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const CONTENT_TYPES: [&str; 4] = [
    "application/x-www-form-urlencoded",
    "application/json",
    "application/x-www-form-urlencoded; charset=utf-8",
    "text/xml",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let tasks = harness::tasks(Provider::Alibaba);
    let rest = harness::with_token(rest, &tasks.live.task_token);
    let request = if selector >= 0xf0 {
        rest
    } else {
        let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let (query, body) = (&rest[..split], rest.get(split + 1..).unwrap_or(&[]));
        let method = if selector & 1 == 0 { "POST" } else { "GET" };
        let content_type = CONTENT_TYPES[usize::from(selector >> 1) % CONTENT_TYPES.len()];
        let mut r = format!(
            "{method} /?{} HTTP/1.1\r\nHost: cn-hangzhou.fnf.aliyuncs.com\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            query_safe(query),
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    };
    harness::exchange(request, &tasks);
});
