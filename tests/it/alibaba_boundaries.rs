//! Alibaba limits at their maximum and one past it, in UTF-8 bytes for `Output` and characters for `Error`/`Cause`, and every way a token can travel (query, form body, JSON body, GET).

use crate::common;

use bytes::Bytes;
use common::*;
use rstest::rstest;
use tasktoken::contract::alibaba::Flavour;
use tasktoken::wire::alibaba::encode_params;
use tasktoken::{Mock, MockConfig, Status};

#[rstest]
fn output_at_the_byte_limit(
    #[values(Flavour::CloudFlow, Flavour::ServerlessWorkflow)] flavour: Flavour,
    #[values(1, 2, 3, 4)] width: usize,
    #[values(0, 1)] over: usize,
) {
    let m = Mock::new(MockConfig::default().alibaba_flavour(flavour)).unwrap();
    let t = ali_task(&m);
    let bytes = flavour.output_max() + over;
    let output = format!("\"{}\"", utf8_of(bytes - 2, width));
    assert_eq!(output.len(), bytes);
    let r = m.handle(ali_succeed(&t.task_token, &output));
    if over == 0 {
        assert_eq!(ali_code(&r), "200");
        assert_eq!(m.task(t.task_id).unwrap().output.unwrap(), output);
    } else {
        assert_eq!(ali_code(&r), "EntityTooLarge");
        assert_eq!(
            ali_message(&r),
            format!(
                "The payload size exceeds maximum allowed size ({} bytes).",
                flavour.output_max()
            )
        );
        assert_eq!(m.task(t.task_id).unwrap().status, Status::Pending);
    }
}

#[rstest]
#[case::error_empty(0, 1, None, "InvalidArgument")]
#[case::error_one(1, 1, None, "200")]
#[case::error_max(128, 1, None, "200")]
#[case::error_max_multibyte(128, 4, None, "200")]
#[case::error_over(129, 1, None, "InvalidArgument")]
#[case::error_over_multibyte(129, 3, None, "InvalidArgument")]
#[case::cause_empty(1, 1, Some((0, 1)), "InvalidArgument")]
#[case::cause_max(1, 1, Some((4096, 1)), "200")]
#[case::cause_max_multibyte(1, 1, Some((4096, 3)), "200")]
#[case::cause_over(1, 1, Some((4097, 1)), "InvalidArgument")]
#[case::cause_over_multibyte(1, 1, Some((4097, 2)), "InvalidArgument")]
fn error_and_cause_count_characters(
    #[case] error_chars: usize,
    #[case] error_width: usize,
    #[case] cause: Option<(usize, usize)>,
    #[case] expected: &str,
) {
    let m = mock();
    let t = ali_task(&m);
    let error = utf8_of(error_chars * error_width, error_width);
    let cause = cause.map(|(n, w)| utf8_of(n * w, w));
    let r = m.handle(ali_fail(&t.task_token, &error, cause.as_deref()));
    assert_eq!(ali_code(&r), expected);
    let view = m.task(t.task_id).unwrap();
    if expected == "200" {
        assert_eq!((view.status, view.error, view.cause), (Status::Failed, Some(error), cause));
    } else {
        assert_eq!(view.status, Status::Pending);
    }
}

/// Every placement a real client uses carries the token (with its `+`, `/`, `=`) intact.
#[rstest]
#[case::tea_sdk_query_and_form("tea")]
#[case::node_pop_core_all_in_body("body")]
#[case::get_all_in_query("get")]
#[case::json_body("json")]
fn token_placements(#[case] placement: &str) {
    let m = mock();
    let t = ali_task(&m);
    let token = t.task_token.as_str();
    let common = [("Action", "ReportTaskSucceeded"), ("Version", "2019-03-15"), ("Format", "JSON")];
    let request = match placement {
        "tea" => ali_succeed(token, "{\"a\":\"b c\"}"),
        "body" => {
            let mut all = common.to_vec();
            all.extend([("TaskToken", token), ("Output", "{\"a\":\"b c\"}")]);
            http::Request::post("/")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Bytes::from(encode_params(all)))
                .unwrap()
        }
        "get" => {
            let mut all = common.to_vec();
            all.extend([("TaskToken", token), ("Output", "{\"a\":\"b c\"}")]);
            http::Request::get(format!("/?{}", encode_params(all))).body(Bytes::new()).unwrap()
        }
        _ => http::Request::post("/?Action=ReportTaskSucceeded&Version=2019-03-15")
            .header("content-type", "application/json; charset=utf-8")
            .body(Bytes::from(
                serde_json::json!({"TaskToken": token, "Output": "{\"a\":\"b c\"}"}).to_string(),
            ))
            .unwrap(),
    };
    assert_eq!(ali_code(&m.handle(request)), "200", "{placement}");
    assert_eq!(m.task(t.task_id).unwrap().output.as_deref(), Some("{\"a\":\"b c\"}"));
}

#[rstest]
#[case::empty("")]
#[case::garbage("not-a-token")]
#[case::truncated("TRUNCATE")]
#[case::aws_token_on_alibaba("AWS")]
fn token_variants_that_are_invalid_argument(#[case] variant: &str) {
    let m = mock();
    let t = ali_task(&m);
    let aws_task = task(&m);
    let token = match variant {
        "TRUNCATE" => t.task_token[..t.task_token.len() - 4].to_owned(),
        "AWS" => aws_task.task_token.clone(),
        other => other.to_owned(),
    };
    assert_eq!(ali_code(&m.handle(ali_succeed(&token, "1"))), "InvalidArgument", "{variant}");
    assert_eq!(m.task(t.task_id).unwrap().status, Status::Pending);
}

#[test]
fn a_plus_sent_unencoded_arrives_as_a_space() {
    let m = mock();
    // Tokens are base64 of ASCII text, where `+` is rare: vary the flow name until one has it.
    let t = (0..2000)
        .map(|i| {
            let spec = tasktoken::TaskSpec::new(tasktoken::Provider::Alibaba)
                .flow_name(format!("Flow~{i}>"));
            m.create_task(spec).unwrap()
        })
        .find(|t| t.task_token.contains('+'))
        .expect("a token with +");
    let encoded = encode_params([("TaskToken", t.task_token.as_str())]);
    let raw_plus = encoded.replace("%2B", "+");
    let query = format!("/?Action=ReportTaskSucceeded&Version=2019-03-15&Output=1&{raw_plus}");
    let r = m.handle(http::Request::post(query).body(Bytes::new()).unwrap());
    assert_eq!(ali_code(&r), "InvalidArgument");
    let query = format!("/?Action=ReportTaskSucceeded&Version=2019-03-15&Output=1&{encoded}");
    assert_eq!(ali_code(&m.handle(http::Request::post(query).body(Bytes::new()).unwrap())), "200");
}

#[test]
fn an_alibaba_token_on_the_aws_api_is_invalid_token() {
    let m = mock();
    let t = ali_task(&m);
    let r = m.handle(aws(FAILURE, json(serde_json::json!({"taskToken": t.task_token}))));
    assert_eq!(code(&r), "InvalidToken");
}

#[test]
fn output_must_be_json() {
    let m = mock();
    for (output, expected) in
        [("{}", "200"), ("\"s\"", "200"), ("{'a':1}", "InvalidArgument"), ("", "InvalidArgument")]
    {
        let t = ali_task(&m);
        assert_eq!(ali_code(&m.handle(ali_succeed(&t.task_token, output))), expected, "{output:?}");
    }
}
