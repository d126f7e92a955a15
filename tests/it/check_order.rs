//! The mock applies its checks in the order the contract's `check_order` table gives: a request that breaks every rule from step k on gets step k's error.

use crate::common;

use bytes::Bytes;
use common::*;
use serde_json::json;
use tasktoken::contract::{aws, CheckStep};
use tasktoken::Mock;

/// A request that passes every step before `step` and breaks `step` and (where it can) every
/// later one, with the error code `step` must produce.
fn breaking_from(m: &Mock, step: CheckStep) -> Option<(http::Request<Bytes>, &'static str)> {
    let not_json_output = "{not json";
    Some(match step {
        CheckStep::BodySize => {
            let mut body = b"not json ".repeat(200_000);
            body.truncate(1_049_601);
            (aws("Bad.Target", body), "413")
        }
        CheckStep::Parse => (aws("Bad.Target", "not json"), "SerializationException"),
        CheckStep::Operation => (
            aws("Bad.Target", json(json!({"taskToken": 5, "output": not_json_output}))),
            "UnknownOperationException",
        ),
        // Strict authentication is off by default; with it off the step is a no-op.
        CheckStep::Authentication => return None,
        CheckStep::MemberTypes => (
            aws(SUCCESS, json(json!({"taskToken": 5, "output": "x".repeat(262_145)}))),
            "SerializationException",
        ),
        CheckStep::Validation => (
            aws(SUCCESS, json(json!({"taskToken": "garbage", "output": "{".repeat(262_145)}))),
            "ValidationException",
        ),
        CheckStep::Token => (
            aws(SUCCESS, json(json!({"taskToken": "garbage", "output": not_json_output}))),
            "InvalidToken",
        ),
        CheckStep::TaskState => {
            let t = task(m);
            let first = json(json!({"taskToken": t.task_token, "output": "1"}));
            assert_eq!(code(&m.handle(aws(SUCCESS, first))), "200");
            (
                aws(SUCCESS, json(json!({"taskToken": t.task_token, "output": not_json_output}))),
                "TaskTimedOut",
            )
        }
        CheckStep::Output => {
            let t = task(m);
            (
                aws(SUCCESS, json(json!({"taskToken": t.task_token, "output": not_json_output}))),
                "InvalidOutput",
            )
        }
    })
}

#[test]
fn every_step_wins_over_all_later_ones() {
    let m = mock();
    let mut checked = 0;
    for (step, rule) in aws::CONTRACT.check_order {
        let Some((request, expected)) = breaking_from(&m, *step) else {
            continue;
        };
        let response = m.handle(request);
        let got = if response.status() == 413 { "413".to_owned() } else { code(&response) };
        assert_eq!(got, expected, "step {} (rule {})", step.label(), rule.id);
        checked += 1;
    }
    assert_eq!(checked, aws::CONTRACT.check_order.len() - 1);
}

#[test]
fn the_order_table_lists_each_step_once() {
    let steps: Vec<_> = aws::CONTRACT.check_order.iter().map(|(s, _)| *s).collect();
    for (i, s) in steps.iter().enumerate() {
        assert!(!steps[i + 1..].contains(s), "{} twice", s.label());
    }
}
