//! Fuzzes the AWS request path: raw request bytes (or a fuzzed JSON body behind a valid head) through the mock's HTTP connection.
#![no_main]

#[path = "harness.rs"]
mod harness;

use libfuzzer_sys::fuzz_target;
use tasktoken::Provider;

const TARGETS: [&str; 4] = [
    "AWSStepFunctions.SendTaskSuccess",
    "AWSStepFunctions.SendTaskFailure",
    "AWSStepFunctions.SendTaskHeartbeat",
    "AWSStepFunctions.StartExecution",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let tasks = harness::tasks(Provider::Aws);
    let body = harness::with_token(rest, &tasks.live.task_token);
    let request = if selector >= 0xf0 {
        // Entirely raw bytes: request line, headers and body all fuzzed.
        body
    } else {
        let target = TARGETS[usize::from(selector) % TARGETS.len()];
        let mut r = format!(
            "POST / HTTP/1.1\r\nHost: states.us-east-1.amazonaws.com\r\nX-Amz-Target: {target}\r\n\
             Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(&body);
        r
    };
    harness::exchange(request, &tasks);
});
