//! Every limit at its maximum and one past it, in the right unit: characters for tokens, errors and causes; UTF-8 bytes of the decoded string for outputs, escaped or not.

use crate::common;

use bytes::Bytes;
use common::*;
use rstest::rstest;
use serde_json::json;
use tasktoken::{Provider, TaskSpec};

const OUTPUT_MAX: usize = 262_144;

/// A SendTaskSuccess body whose `output` is the JSON string of `content`, sent raw or with
/// every non-ASCII character escaped.
fn success_body(token: &str, content: &str, escaped: bool) -> Bytes {
    let output = serde_json::to_string(content).unwrap();
    if escaped {
        Bytes::from(format!(
            "{{\"taskToken\":{},\"output\":{}}}",
            serde_json::to_string(token).unwrap(),
            tasktoken::wire::aws::json_string(&output, true)
        ))
    } else {
        json(json!({"taskToken": token, "output": output}))
    }
}

#[rstest]
#[case::empty(0, "ValidationException")]
#[case::one(1, "InvalidToken")]
#[case::max(2048, "InvalidToken")]
#[case::one_over(2049, "ValidationException")]
fn token_length(#[case] len: usize, #[case] expected: &str) {
    let m = mock();
    let token = "A".repeat(len);
    assert_eq!(code(&m.handle(aws(HEARTBEAT, json(json!({"taskToken": token}))))), expected);
}

#[rstest]
#[case::shortest(40)]
#[case::real_size(680)]
#[case::longest(2048)]
fn minted_tokens_of_every_length_work(#[case] len: usize) {
    let m = mock();
    let t = m.create_task(TaskSpec::new(Provider::Aws).token_length(len)).unwrap();
    assert_eq!(t.task_token.len(), len);
    assert_eq!(code(&m.handle(aws(HEARTBEAT, json(json!({"taskToken": t.task_token}))))), "200");
}

#[rstest]
fn output_at_the_byte_limit_raw_utf8(
    #[values(1, 2, 3, 4)] width: usize,
    #[values(OUTPUT_MAX, OUTPUT_MAX + 1)] bytes: usize,
) {
    check_output_limit(width, false, bytes);
}

/// botocore escapes every non-ASCII character as `\uXXXX` (surrogate pairs for astral ones).
#[rstest]
fn output_at_the_byte_limit_escaped(
    #[values(2, 3, 4)] width: usize,
    #[values(OUTPUT_MAX, OUTPUT_MAX + 1)] bytes: usize,
) {
    check_output_limit(width, true, bytes);
}

fn check_output_limit(width: usize, escaped: bool, bytes: usize) {
    let m = mock();
    let t = task(&m);
    // The output is a JSON string literal: two quote bytes plus the content.
    let content = utf8_of(bytes - 2, width);
    let response = m.handle(aws(SUCCESS, success_body(&t.task_token, &content, escaped)));
    if bytes <= OUTPUT_MAX {
        assert_eq!(code(&response), "200", "width {width} escaped {escaped}");
        let stored = m.task(t.task_id).unwrap().output.unwrap();
        assert_eq!(stored.len(), bytes);
        assert_eq!(stored, serde_json::to_string(&content).unwrap());
    } else {
        assert_eq!(code(&response), "ValidationException");
        assert_eq!(
            message(&response).unwrap(),
            "1 validation error detected: Value at 'output' failed to satisfy constraint: \
             Member must have length less than or equal to 262144"
        );
    }
}

#[test]
fn characters_are_not_bytes_for_the_output_limit() {
    // 65536 four-byte characters are exactly 262144 bytes; 65537 are over, though far
    // under 262144 characters.
    let m = mock();
    let t = task(&m);
    let over = format!("\"{}\"", "😀".repeat(65_536));
    let r = m.handle(aws(SUCCESS, json(json!({"taskToken": t.task_token, "output": over}))));
    assert_eq!(code(&r), "ValidationException");
}

#[rstest]
#[case::error_max("error", 256, 1, "200")]
#[case::error_over("error", 257, 1, "ValidationException")]
#[case::error_max_multibyte("error", 256, 4, "200")]
#[case::error_over_multibyte("error", 257, 3, "ValidationException")]
#[case::cause_max("cause", 32_768, 1, "200")]
#[case::cause_over("cause", 32_769, 1, "ValidationException")]
#[case::cause_max_multibyte("cause", 32_768, 3, "200")]
#[case::cause_over_multibyte("cause", 32_769, 2, "ValidationException")]
fn failure_members_count_characters(
    #[case] member: &str,
    #[case] chars: usize,
    #[case] width: usize,
    #[case] expected: &str,
) {
    let m = mock();
    let t = task(&m);
    let value = utf8_of(chars * width, width);
    assert_eq!(value.chars().count(), chars);
    let r = m.handle(aws(FAILURE, json(json!({"taskToken": t.task_token, member: value}))));
    assert_eq!(code(&r), expected);
    if expected == "200" {
        let view = m.task(t.task_id).unwrap();
        let stored = if member == "error" { view.error } else { view.cause };
        assert_eq!(stored.unwrap(), value);
    }
}

#[rstest]
#[case::empty_output_is_not_json("", "InvalidOutput")]
#[case::string_scalar("\"x\"", "200")]
#[case::number_scalar("1", "200")]
#[case::null("null", "200")]
#[case::whitespace_around(" {} ", "200")]
#[case::trailing_document("{}{}", "InvalidOutput")]
#[case::single_quotes("{'a':1}", "InvalidOutput")]
#[case::deep_but_allowed(&format!("{}{}", "[".repeat(100), "]".repeat(100)), "200")]
fn output_must_be_json(#[case] output: &str, #[case] expected: &str) {
    let m = mock();
    let t = task(&m);
    let r = m.handle(aws(SUCCESS, json(json!({"taskToken": t.task_token, "output": output}))));
    assert_eq!(code(&r), expected);
    let status = m.task(t.task_id).unwrap().status;
    assert_eq!(status == tasktoken::Status::Succeeded, expected == "200");
}
