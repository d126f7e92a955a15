//! Random mixes of 1- to 4-byte characters around the output limit, raw or `\u`-escaped on the wire: accepted exactly when the decoded string is at most 262144 UTF-8 bytes.

use crate::common;

use bytes::Bytes;
use common::*;
use proptest::prelude::*;
use tasktoken::testing::{fill, pattern};
use tasktoken::Status;

const LIMIT: usize = 262_144;

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn output_is_measured_in_decoded_utf8_bytes(
        pattern in pattern(),
        delta in -6i64..=6,
        escaped in any::<bool>(),
    ) {
        let total = (LIMIT as i64 + delta) as usize;
        let content = fill(&pattern, total - 2);
        let output = format!("\"{content}\"");
        prop_assert_eq!(output.len(), total);
        let m = mock();
        let t = task(&m);
        let output_json = if escaped { tasktoken::wire::aws::json_string(&output, true) } else { serde_json::to_string(&output).unwrap() };
        let body = format!(
            "{{\"taskToken\":{},\"output\":{}}}",
            serde_json::to_string(&t.task_token).unwrap(),
            output_json
        );
        let response = m.handle(aws(SUCCESS, Bytes::from(body)));
        if total <= LIMIT {
            prop_assert_eq!(code(&response), "200");
            let view = m.task(t.task_id).unwrap();
            prop_assert_eq!(view.status, Status::Succeeded);
            prop_assert_eq!(view.output.unwrap(), output);
        } else {
            prop_assert_eq!(code(&response), "ValidationException");
            prop_assert_eq!(m.task(t.task_id).unwrap().status, Status::Pending);
        }
    }
}
