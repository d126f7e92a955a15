//! Lambda callback boundaries and properties: id length and pattern at their edges, split-then-decode, Result and ErrorObject kept as sent, one winner, timers, hostile paths.
//!
//! Every request goes through `Mock::handle` (the adapter, faults, store and journal without
//! the socket; `arbitrary_bytes` and the `lambda_request` fuzz target cover the connection).
//! Properties are bounded: at most 256 cases each, and the concurrency rounds use 8 threads.

use crate::common;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use common::lambda::*;
use proptest::prelude::*;
use rstest::rstest;
use tasktoken::contract::lambda::{LambdaOptions, PATH_PREFIX};
use tasktoken::{Mock, Provider, Status, TaskSpec};

fn mock() -> Mock {
    mock_with(LambdaOptions::default())
}

/// `id`'s path label as SDKs encode it.
fn label(id: &str) -> String {
    let path = tasktoken::wire::lambda::path(SUCCEED, id);
    path.strip_prefix(PATH_PREFIX).unwrap().strip_suffix("/succeed").unwrap().to_owned()
}

fn view_json(m: &Mock, task_id: tasktoken::TaskId) -> String {
    let r =
        m.handle(http::Request::get(format!("/_mock/tasks/{task_id}")).body(Bytes::new()).unwrap());
    assert_eq!(r.status(), 200);
    String::from_utf8(r.body().to_vec()).unwrap()
}

// ---- the id ------------------------------------------------------------------------------

#[rstest]
#[case::one(1, "", "ResourceNotFoundException")]
#[case::two(2, "", "ResourceNotFoundException")]
#[case::max(1024, "", "ResourceNotFoundException")]
#[case::max_with_padding(1022, "==", "ResourceNotFoundException")]
#[case::one_over(1025, "", "InvalidParameterValueException")]
#[case::one_over_with_padding(1023, "==", "InvalidParameterValueException")]
#[case::padding_only(0, "=", "InvalidParameterValueException")]
#[case::three_padding(4, "===", "InvalidParameterValueException")]
fn id_length_edges(#[case] body: usize, #[case] padding: &str, #[case] expected: &str) {
    let m = mock();
    let id = format!("{}{padding}", "A+/".chars().cycle().take(body).collect::<String>());
    assert_eq!(code(&m.handle(call(HEARTBEAT, &id, ""))), expected, "{} chars", id.len());
}

#[test]
fn an_empty_id_segment_is_the_validation_error() {
    let m = mock();
    for action in ["succeed", "fail", "heartbeat"] {
        let r = m.handle(raw("POST", &format!("/{action}"), ""));
        assert_eq!(code(&r), "InvalidParameterValueException");
        assert!(message(&r).contains("length greater than or equal to 1"), "{}", message(&r));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any id of the pattern within 1024 characters, encoded as SDKs do, passes validation
    /// (and names no callback); any other character anywhere makes it the validation error.
    #[test]
    fn ids_of_the_pattern_pass_and_others_do_not(
        body in "[A-Za-z0-9+/]{1,1022}",
        padding in 0usize..=2,
        bad in prop_oneof![Just(' '), Just('-'), Just('_'), Just('%'), Just('é'), Just('.'), Just('~'), Just('\n')],
        at in any::<prop::sample::Index>(),
    ) {
        let m = mock();
        let id = format!("{body}{}", "=".repeat(padding));
        prop_assert_eq!(code(&m.handle(call(HEARTBEAT, &id, ""))), "ResourceNotFoundException");
        let mut chars: Vec<char> = id.chars().collect();
        chars.insert(at.index(chars.len() + 1), bad);
        let broken: String = chars.into_iter().collect();
        prop_assert_eq!(code(&m.handle(call(HEARTBEAT, &broken, ""))), "InvalidParameterValueException");
    }
}

// ---- split, then decode once ---------------------------------------------------------------

#[test]
fn a_literal_plus_stays_a_plus_and_percent_2b_is_a_plus() {
    let m = mock();
    for encoding in ["sdk", "plus-raw", "lowercase-hex", "all-escaped"] {
        let t = callback(&m);
        let id = &t.task_token;
        assert!(id.contains('+'), "{id}");
        let segment = match encoding {
            "sdk" => label(id),
            "plus-raw" => label(id).replace("%2B", "+").replace("%3D", "="),
            // Only the escapes lowercased: the id's own letters stay as they are.
            "lowercase-hex" => {
                label(id).replace("%2B", "%2b").replace("%2F", "%2f").replace("%3D", "%3d")
            }
            _ => id.bytes().map(|b| format!("%{b:02X}")).collect(),
        };
        let r = m.handle(raw("POST", &format!("{segment}/heartbeat"), ""));
        assert_eq!(code(&r), "200", "{encoding}: {segment}");
        assert_eq!(m.task(t.task_id).unwrap().heartbeats, 1, "{encoding}");
    }
}

#[test]
fn percent_252b_is_the_text_percent_2b_not_a_plus() {
    let m = mock();
    let t = callback(&m);
    let double = label(&t.task_token).replace("%2B", "%252B");
    let r = m.handle(raw("POST", &format!("{double}/succeed"), ""));
    assert_eq!(code(&r), "InvalidParameterValueException");
    assert!(message(&r).contains("%2B"), "{}", message(&r));
    assert_eq!(m.task(t.task_id).unwrap().status, Status::Pending);
    // `%2F` decodes to a `/` inside the id; a raw `/` splits the path first.
    let raw_slash = t.task_token.replace('+', "%2B").replace('=', "%3D");
    let r = m.handle(raw("POST", &format!("{raw_slash}/succeed"), ""));
    assert_eq!(code(&r), "UnknownOperationException");
    assert_eq!(code(&m.handle(call(SUCCEED, &t.task_token, ""))), "200");
}

// ---- what is kept ----------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The Result's bytes (any bytes, UTF-8 or not, empty included) come back byte for byte
    /// as the view's `resultBase64`.
    #[test]
    fn result_bytes_round_trip(result in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let m = mock();
        let t = callback(&m);
        prop_assert_eq!(code(&m.handle(call(SUCCEED, &t.task_token, result.clone()))), "200");
        let v: serde_json::Value = serde_json::from_str(&view_json(&m, t.task_id)).unwrap();
        prop_assert_eq!(&v["status"], "SUCCEEDED");
        let shown = STANDARD.decode(v["resultBase64"].as_str().unwrap()).unwrap();
        prop_assert_eq!(shown, result);
        prop_assert!(v.get("output").is_none() && v.get("errorObject").is_none());
    }

    /// The ErrorObject comes back as sent: its members in their order, its escapes, its
    /// spacing and its unknown members, text for text.
    #[test]
    fn error_objects_are_kept_as_sent(
        members in proptest::collection::vec(
            (prop_oneof![Just("ErrorMessage"), Just("ErrorType"), Just("ErrorData"), Just("Other")],
             any::<String>(), any::<bool>()),
            0..5),
        trace in proptest::option::of(proptest::collection::vec(any::<String>(), 0..3)),
        space in prop_oneof![Just(""), Just(" "), Just("\n  ")],
    ) {
        let mut parts: Vec<String> = members
            .iter()
            .map(|(name, value, escaped)| {
                let text = if *escaped { tasktoken::wire::aws::json_string(value, true) } else { serde_json::to_string(value).unwrap() };
                format!("\"{name}\"{space}:{space}{text}")
            })
            .collect();
        if let Some(trace) = &trace {
            parts.push(format!("\"StackTrace\":{}", serde_json::to_string(trace).unwrap()));
        }
        let body = format!("{{{space}{}{space}}}", parts.join(&format!(",{space}")));
        let m = mock();
        let t = callback(&m);
        prop_assert_eq!(code(&m.handle(call(FAIL, &t.task_token, body.clone()))), "200", "{}", body);
        let view = view_json(&m, t.task_id);
        prop_assert!(view.contains(&format!("\"errorObject\":{body}")), "{} in {}", body, view);
        let v: serde_json::Value = serde_json::from_str(&view).unwrap();
        prop_assert_eq!(&v["status"], "FAILED");
        prop_assert!(v.get("error").is_none() && v.get("resultBase64").is_none());
    }
}

#[test]
fn an_empty_failure_body_is_an_empty_error_object() {
    let m = mock();
    let t = callback(&m);
    assert_eq!(code(&m.handle(call(FAIL, &t.task_token, ""))), "200");
    assert!(view_json(&m, t.task_id).contains("\"errorObject\":{}"));
}

// ---- one winner --------------------------------------------------------------------------

#[test]
fn concurrent_completions_have_exactly_one_winner() {
    let m = mock();
    for round in 0..50 {
        let t = callback(&m);
        let answers: Vec<(usize, String)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let (m, id) = (&m, t.task_token.as_str());
                    s.spawn(move || {
                        let r = match i % 3 {
                            0 => m.handle(call(SUCCEED, id, format!("winner {i}"))),
                            1 => m.handle(call(FAIL, id, format!(r#"{{"ErrorType":"{i}"}}"#))),
                            _ => m.handle(call(SUCCEED, id, format!("winner {i}"))),
                        };
                        (i, code(&r))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<usize> =
            answers.iter().filter(|(_, c)| c == "200").map(|(i, _)| *i).collect();
        assert_eq!(winners.len(), 1, "round {round}: {answers:?}");
        assert!(
            answers.iter().all(|(_, c)| c == "200" || c == "CallbackTimeoutException"),
            "{answers:?}"
        );
        let view = m.task(t.task_id).unwrap();
        let w = winners[0];
        if w % 3 == 1 {
            assert_eq!(view.status, Status::Failed);
            assert_eq!(view.error.unwrap(), format!(r#"{{"ErrorType":"{w}"}}"#));
        } else {
            assert_eq!(view.status, Status::Succeeded);
            assert_eq!(
                STANDARD.decode(view.output.unwrap()).unwrap(),
                format!("winner {w}").as_bytes()
            );
        }
    }
}

// ---- hostile paths and bodies --------------------------------------------------------------

/// Pieces of a path after the prefix: the live id encoded or raw, escapes good and bad,
/// separators, actions, and random visible ASCII.
fn path_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("$T".to_owned()),
        Just("$R".to_owned()),
        Just("/".to_owned()),
        Just("%".to_owned()),
        Just("%2B".to_owned()),
        Just("%252B".to_owned()),
        Just("%2F".to_owned()),
        Just("%zz".to_owned()),
        Just("%00".to_owned()),
        Just("%FF".to_owned()),
        Just("=".to_owned()),
        Just("+".to_owned()),
        Just("succeed".to_owned()),
        Just("fail".to_owned()),
        Just("heartbeat".to_owned()),
        "[!$&'()*+,;=:@A-Za-z0-9._~-]{0,12}",
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        Just(b"{}".to_vec()),
        Just(br#"{"ErrorType":"$T"}"#.to_vec()),
        Just(br#"{"StackTrace":[1]}"#.to_vec()),
        Just(b"[]".to_vec()),
        Just(b"\xff\xfe".to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the path under the prefix and the body: no panic, no 5xx, an error carries
    /// `x-amzn-ErrorType` and a JSON object body, and a bystander callback is never touched
    /// (it stays pending with no heartbeat, and its own success still works afterwards).
    #[test]
    fn hostile_requests_never_touch_a_bystander(
        method in prop_oneof![Just("POST"), Just("GET"), Just("PUT"), Just("DELETE")],
        pieces in proptest::collection::vec(path_piece(), 0..8),
        bodies in proptest::collection::vec(body(), 1..4),
    ) {
        let m = mock();
        let live = callback(&m);
        let bystander = callback(&m);
        let rest = pieces.concat().replace("$T", &label(&live.task_token)).replace("$R", &live.task_token);
        for body in bodies {
            let uri = format!("{PATH_PREFIX}{rest}");
            let Ok(req) = http::Request::builder().method(method).uri(&uri).body(Bytes::from(body)) else {
                continue;
            };
            let r = m.handle(req);
            prop_assert!(r.status().as_u16() < 500, "{} {}: {}", method, uri, r.status());
            if r.status() != 200 {
                prop_assert!(r.headers().contains_key("x-amzn-errortype"), "{} {}", method, uri);
                let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
                prop_assert!(v.is_object() && v["Type"] == "User", "{}", v);
            }
            prop_assert!(r.headers().contains_key("x-amzn-requestid"));
        }
        let b = m.task(bystander.task_id).unwrap();
        prop_assert_eq!((b.status, b.heartbeats), (Status::Pending, 0));
        prop_assert_eq!(code(&m.handle(call(SUCCEED, &bystander.task_token, "done"))), "200");
    }
}

// ---- timers on the virtual clock -----------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Heartbeats restart only the heartbeat timer: against a model of both deadlines, each
    /// heartbeat is 200 while both are ahead and `CallbackTimeoutException` after either, and
    /// the view names the deadline that passed first.
    #[test]
    fn heartbeats_restart_only_the_heartbeat_timer(
        timeout in 1u64..120,
        heartbeat in 1u64..40,
        gaps in proptest::collection::vec(0u64..50, 1..12),
    ) {
        let m = mock();
        let t = m.create_task(TaskSpec::new(Provider::Lambda).timeout_seconds(timeout).heartbeat_seconds(heartbeat)).unwrap();
        let (mut now, mut heartbeat_at) = (0u64, heartbeat);
        let mut closed_by: Option<&str> = None;
        for gap in gaps {
            m.advance_clock(Duration::from_secs(gap)).unwrap();
            now += gap;
            if closed_by.is_none() && now >= timeout.min(heartbeat_at) {
                // The deadline that passed first (the overall one on a tie).
                closed_by = Some(if heartbeat_at < timeout { "Callback.Heartbeat" } else { "Callback.Timeout" });
            }
            let answer = code(&m.handle(call(HEARTBEAT, &t.task_token, "")));
            match closed_by {
                None => {
                    prop_assert_eq!(answer, "200", "at {}s", now);
                    heartbeat_at = now + heartbeat;
                }
                Some(_) => prop_assert_eq!(answer, "CallbackTimeoutException", "at {}s", now),
            }
        }
        let v: serde_json::Value = serde_json::from_str(&view_json(&m, t.task_id)).unwrap();
        match closed_by {
            None => prop_assert_eq!(&v["status"], "PENDING"),
            Some(by) => {
                prop_assert_eq!(&v["status"], "TIMED_OUT");
                prop_assert_eq!(&v["timedOutBy"], by, "{}", v);
            }
        }
    }
}

#[test]
fn a_lazily_read_timeout_names_the_deadline_that_passed_first() {
    // Heartbeat deadline at 5 s, overall at 15 s, first looked at 20 s: the heartbeat timer
    // closed it.
    let m = mock();
    let t = m
        .create_task(TaskSpec::new(Provider::Lambda).timeout_seconds(15).heartbeat_seconds(5))
        .unwrap();
    m.advance_clock(Duration::from_secs(20)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&view_json(&m, t.task_id)).unwrap();
    assert_eq!(v["timedOutBy"], "Callback.Heartbeat", "{v}");
}

#[test]
fn zero_seconds_disables_a_timer_and_no_heartbeat_timer_still_takes_heartbeats() {
    let m = mock();
    let create = |body: &str| {
        let r = m.handle(
            http::Request::post("/_mock/tasks").body(Bytes::from(body.to_owned())).unwrap(),
        );
        assert_eq!(r.status(), 201, "{}", String::from_utf8_lossy(r.body()));
        let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        (
            v["taskId"].as_str().unwrap().parse::<tasktoken::TaskId>().unwrap(),
            v["callbackId"].as_str().unwrap().to_owned(),
        )
    };
    let (off, off_id) = create(r#"{"provider":"lambda","timeoutSeconds":0,"heartbeatSeconds":0}"#);
    let (none, _) = create(r#"{"provider":"lambda"}"#);
    let (one, _) = create(r#"{"provider":"lambda","timeoutSeconds":1}"#);
    let (max, _) = create(r#"{"provider":"lambda","timeoutSeconds":99999999}"#);
    m.advance_clock(Duration::from_secs(99_999_998)).unwrap();
    assert_eq!(m.task(max).unwrap().status, Status::Pending);
    m.advance_clock(Duration::from_secs(2)).unwrap();
    assert_eq!(m.task(max).unwrap().status, Status::TimedOut);
    assert_eq!(m.task(one).unwrap().status, Status::TimedOut);
    for id in [off, none] {
        let v = m.task(id).unwrap();
        assert_eq!(
            (v.status, v.timeout_seconds, v.heartbeat_seconds),
            (Status::Pending, None, None)
        );
    }
    for _ in 0..3 {
        assert_eq!(code(&m.handle(call(HEARTBEAT, &off_id, ""))), "200");
    }
    let v = m.task(off).unwrap();
    assert_eq!((v.status, v.heartbeats), (Status::Pending, 3));
    let over = m.handle(
        http::Request::post("/_mock/tasks")
            .body(Bytes::from_static(br#"{"provider":"lambda","heartbeatSeconds":100000000}"#))
            .unwrap(),
    );
    assert_eq!(over.status(), 400);
}

// ---- the ErrorObject's size and the bodies that do not matter ---------------------------------

/// An ErrorObject whose fields hold `bytes` UTF-8 bytes in all, of `width`-byte characters,
/// spread over ErrorMessage, ErrorData and two StackTrace lines.
fn error_object_of(bytes: usize, width: usize) -> String {
    let quarter = bytes / 4;
    let rest = bytes - 3 * quarter;
    let part = |n: usize| serde_json::to_string(&common::utf8_of(n, width)).unwrap();
    format!(
        r#"{{"ErrorMessage":{},"ErrorData":{},"StackTrace":[{},{}],"ErrorType":"E"}}"#,
        part(quarter),
        part(quarter),
        part(quarter),
        part(rest - 1)
    )
}

#[rstest]
#[case::at_the_limit_ascii(1_048_576, 1, "200")]
#[case::one_over_ascii(1_048_577, 1, "InvalidParameterValueException")]
#[case::at_the_limit_two_byte(1_048_576, 2, "200")]
#[case::one_over_four_byte(1_048_577, 4, "InvalidParameterValueException")]
fn the_error_object_is_limited_in_utf8_bytes_of_all_fields(
    #[case] bytes: usize,
    #[case] width: usize,
    #[case] expected: &str,
) {
    // `ErrorType` is the one byte `E`; the other fields hold the rest.
    let m = mock();
    let t = callback(&m);
    let body = error_object_of(bytes, width);
    let r = m.handle(call(FAIL, &t.task_token, body.clone()));
    assert_eq!(code(&r), expected);
    let status = m.task(t.task_id).unwrap().status;
    assert_eq!(status == Status::Failed, expected == "200");
    if expected != "200" {
        assert!(message(&r).contains("1048576 bytes"), "{}", message(&r));
    } else {
        assert_eq!(m.task(t.task_id).unwrap().error.unwrap(), body);
    }
}

#[test]
fn heartbeat_bodies_are_ignored_and_any_success_content_type_is_accepted() {
    let m = mock();
    let t = callback(&m);
    assert_eq!(code(&m.handle(call(HEARTBEAT, &t.task_token, "\u{0}not json\u{ff}"))), "200");
    assert_eq!(m.task(t.task_id).unwrap().heartbeats, 1);
    for content_type in ["application/octet-stream", "application/json", "text/plain"] {
        let t = callback(&m);
        let mut req = call(SUCCEED, &t.task_token, "raw");
        req.headers_mut().insert("content-type", content_type.parse().unwrap());
        assert_eq!(code(&m.handle(req)), "200", "{content_type}");
        assert_eq!(m.task(t.task_id).unwrap().output.unwrap(), STANDARD.encode("raw"));
    }
    // An empty Success body is a callback with no Result: shown as an empty resultBase64.
    let t = callback(&m);
    assert_eq!(code(&m.handle(call(SUCCEED, &t.task_token, ""))), "200");
    assert!(view_json(&m, t.task_id).contains(r#""resultBase64":"""#));
}
