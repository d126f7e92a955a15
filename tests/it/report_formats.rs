//! The three renderings of a conformance report (human, JUnit, JSON), pinned on one fabricated run.

use std::time::Duration;

use tasktoken::check::report::{human, json, junit, replay_command, Progress};
use tasktoken::check::{CheckResult, Exchange, Failure, Group, Profile, Report, Verdict};
use tasktoken::{Provenance, Provider};

/// One run with a pass, a failure (minimal case and exchange), a warning, a skip and an
/// information (a target that differs from one of the mock's decisions).
fn fabricated() -> Report {
    let result = |id: &str, group, provenance, verdict, elapsed_ms| CheckResult {
        id: id.to_owned(),
        group,
        description: String::new(),
        rule_id: String::new(),
        provenance,
        rule_summary: String::new(),
        rule_source: String::new(),
        verdict,
        cases: 1,
        seed: 0,
        elapsed: Duration::from_millis(elapsed_ms),
    };
    let pass = CheckResult {
        description: "SendTaskSuccess on a live token answers 200 with the body {}".into(),
        rule_id: "aws.wire.success-body".into(),
        rule_summary: "Success is HTTP 200 with the body exactly `{}` (2 bytes).".into(),
        rule_source: "erlcloud PR #531; faasshell real-AWS tests (§1.3)".into(),
        seed: 11_400_714_819_323_198_485,
        ..result("aws.wire.success-body", Group::Wire, Provenance::Observed, Verdict::Pass, 12)
    };
    let fail = CheckResult {
        description: "an output over 262144 UTF-8 bytes is refused with a ValidationException"
            .into(),
        rule_id: "aws.limit.output".into(),
        rule_summary: "`output` is at most 262144 bytes of the decoded string encoded as UTF-8."
            .into(),
        rule_source: "API reference: \"expressed as bytes in UTF-8 encoding\" (§2.1, §5)".into(),
        cases: 64,
        seed: 7_046_029_254_386_353_131,
        ..result(
            "aws.validation.output-limit",
            Group::Validation,
            Provenance::Documented,
            Verdict::Fail(Failure {
                message: "an output of 262145 UTF-8 bytes (131073 characters) was accepted: HTTP 200"
                    .into(),
                expected: "HTTP 400 ValidationException: 1 validation error detected: Value at 'output' failed to satisfy constraint: Member must have length less than or equal to 262144".into(),
                minimal_case: Some("OutputCase { ascii: 1, two_byte_chars: 131072 }".into()),
                exchange: Some(Box::new(Exchange {
                    request: "POST / HTTP/1.1\n\
                              content-type: application/x-amz-json-1.0\n\
                              x-amz-target: AWSStepFunctions.SendTaskSuccess\n\
                              content-length: 524371\n\
                              \n\
                              {\"taskToken\":\"AAAAKgAAAAIAAAAAAAAAAQ==\",\"output\":\"\\\"aéééé … 524,300 bytes elided … éééé\\\"\"}"
                        .into(),
                    response: "HTTP/1.1 200 OK\n\
                               content-type: application/x-amz-json-1.0\n\
                               x-amzn-requestid: 0b7e6f1c-3c1a-4d51-9a53-2f3e8d2c1a90\n\
                               \n\
                               {}"
                    .into(),
                })),
                transport_error: false,
            }),
            1_840,
        )
    };
    let warn = CheckResult {
        description: "a success carries the JSON content type and a lowercase request id".into(),
        rule_id: "aws.wire.success-headers".into(),
        rule_summary: "Success carries `Content-Type: application/x-amz-json-1.0` and `x-amzn-RequestId: <lowercase UUID v4>`.".into(),
        rule_source: "inferred from real error header dumps and Coral convention (§1.4, §7.12)"
            .into(),
        seed: 2_654_435_769,
        ..result(
            "aws.wire.success-headers",
            Group::Wire,
            Provenance::Inferred,
            Verdict::Warn(Failure {
                message: "x-amzn-RequestId is missing from a 200 answer".into(),
                expected: "x-amzn-RequestId: <lowercase UUID v4>".into(),
                minimal_case: None,
                exchange: None,
                transport_error: false,
            }),
            9,
        )
    };
    let skip = CheckResult {
        description: "a heartbeat after the heartbeat timeout is TaskTimedOut".into(),
        rule_id: "aws.error.task-timed-out".into(),
        rule_summary: "A token whose task is closed is `TaskTimedOut` for every operation.".into(),
        rule_source: "andybalham blog; amazon-mwaa-examples #61; boto3 #4044 (§3.2, §3.3)".into(),
        seed: 1,
        ..result(
            "aws.timeouts.heartbeat-expired",
            Group::Timeouts,
            Provenance::Observed,
            Verdict::Skip { reason: "the token source cannot make deadlines".into(), setup: false },
            0,
        )
    };
    let info = CheckResult {
        description: "a closed task with a non-JSON output is TaskTimedOut, not InvalidOutput"
            .into(),
        rule_id: "aws.order.state-before-output".into(),
        rule_summary:
            "The task state is checked after the token and before the output's JSON validity."
                .into(),
        rule_source:
            "our decision: a closed task has no output to validate (docs/sources.md#aws-uncertain)"
                .into(),
        seed: 3,
        ..result(
            "aws.validation.state-before-output",
            Group::Validation,
            Provenance::Decision,
            Verdict::Info(Failure {
                message: "InvalidOutput came back for a closed task".into(),
                expected: "TaskTimedOut".into(),
                minimal_case: None,
                exchange: None,
                transport_error: false,
            }),
            4,
        )
    };
    Report {
        provider: Provider::Aws,
        target: "http://127.0.0.1:4566/".into(),
        tokens: "mock".into(),
        profile: Profile::Relaxed,
        seed: 42,
        cases: 64,
        results: vec![pass, fail, warn, skip, info],
        elapsed: Duration::from_millis(4_230),
    }
}

fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn human_report() {
    let report = fabricated();
    let text = human::render(&report, false);
    assert!(!text.contains('\x1b'), "colour codes without colour:\n{text}");
    assert!(text.lines().any(|l| l == "1 passed, 1 failed, 1 skipped"), "{text}");
    assert!(text.contains("INFO  aws.validation.state-before-output"), "{text}");
    assert!(
        text.contains("  rule: aws.order.state-before-output [decision] The task state"),
        "{text}"
    );
    assert!(text.contains(
        "replay: tasktoken check --provider aws --seed 7046029254386353131 \
         --check aws.validation.output-limit --target http://127.0.0.1:4566/"
    ));
    snapshot("report_human", &text);
}

#[test]
fn human_report_in_colour() {
    let report = fabricated();
    let coloured = human::render(&report, true);
    assert!(coloured.contains('\x1b'));
    assert!(coloured.contains("\x1b[32mPASS"), "PASS is green");
    assert!(coloured.contains("\x1b[1m\x1b[31mFAIL") || coloured.contains("\x1b[1;31mFAIL"));
    // The same text once the escapes are taken out.
    let plain = human::render(&report, false);
    assert_eq!(strip_ansi(&coloured), plain);
}

#[test]
fn replay_names_the_target_only_when_it_is_not_the_embedded_mock() {
    let mut report = fabricated();
    report.target = "embedded mock".into();
    let line = replay_command(&report, &report.results[1]);
    assert_eq!(
        line,
        "tasktoken check --provider aws --seed 7046029254386353131 --check aws.validation.output-limit"
    );
    let text = human::render(&report, false);
    assert!(text.contains("target embedded mock"));
    assert!(!text.contains("--target"));
}

#[test]
fn conformant_run_says_so() {
    let mut report = fabricated();
    report.results.retain(|r| !matches!(r.verdict, Verdict::Fail(_)));
    let text = human::render(&report, false);
    assert!(
        text.contains(
            "aws: 1 passed, 0 failed, 1 warning, 1 skipped, 1 info in 4.2 s — CONFORMANT\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("\n1 passed, 0 failed, 1 skipped\n"));
}

#[test]
fn junit_report() {
    let report = fabricated();
    let xml = junit::render(&report).unwrap();
    assert_eq!(xml.matches("<testcase").count(), 5);
    assert_eq!(xml.matches("<failure").count(), 1);
    assert_eq!(xml.matches("<skipped").count(), 1);

    let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(parsed.name.as_ref().map(|n| n.as_str()), Some("tasktoken"));
    assert_eq!((parsed.tests, parsed.failures, parsed.skipped), (5, 1, 1));
    let suite = &parsed.test_suites[0];
    assert_eq!(suite.name.as_str(), "tasktoken aws");
    let property = |name: &str| {
        suite.properties.iter().find(|p| p.name.as_str() == name).map(|p| p.value.as_str())
    };
    assert_eq!(property("seed"), Some("42"));
    assert_eq!(property("target"), Some("http://127.0.0.1:4566/"));
    let failed = &suite.test_cases[1];
    assert_eq!(failed.name.as_str(), "aws.validation.output-limit");
    assert_eq!(failed.classname.as_ref().map(|c| c.as_str()), Some("aws.validation"));
    assert_eq!(failed.time, Some(Duration::from_millis(1_840)));
    let warned = &suite.test_cases[2];
    assert!(matches!(warned.status, quick_junit::TestCaseStatus::Success { .. }));
    assert!(warned.system_out.as_ref().unwrap().as_str().contains("x-amzn-RequestId is missing"));
    let informed = &suite.test_cases[4];
    assert!(matches!(informed.status, quick_junit::TestCaseStatus::Success { .. }));
    assert!(informed.system_out.as_ref().unwrap().as_str().contains("[decision]"));

    snapshot("report_junit", &xml);
}

#[test]
fn json_report() {
    let report = fabricated();
    let text = json::render(&report);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["schema"], "tasktoken-report/1");
    assert_eq!(value["conformant"], false);
    assert_eq!(value["failed"], 1);
    assert_eq!(value["passed"], 1);
    assert_eq!(value["warnings"], 1);
    assert_eq!(value["skipped"], 1);
    assert_eq!(value["info"], 1);
    assert_eq!(value["results"][4]["verdict"], "info");
    assert_eq!(value["elapsed"], 4_230);
    assert_eq!(value["results"][1]["verdict"], "fail");
    assert_eq!(
        value["results"][1]["minimal_case"],
        "OutputCase { ascii: 1, two_byte_chars: 131072 }"
    );
    snapshot("report_json", &text);
}

#[test]
fn write_creates_the_files() {
    let report = fabricated();
    let dir = std::env::temp_dir().join(format!("tasktoken-report-{}", std::process::id()));
    let xml_path = dir.join("nested/junit.xml");
    let json_path = dir.join("nested/report.json");
    junit::write(&report, &xml_path).unwrap();
    json::write(&report, &json_path).unwrap();
    assert_eq!(std::fs::read_to_string(&xml_path).unwrap(), junit::render(&report).unwrap());
    assert_eq!(std::fs::read_to_string(&json_path).unwrap(), json::render(&report));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn disabled_progress_draws_nothing_and_is_shareable() {
    let report = fabricated();
    let progress = Progress::new(report.results.len() as u64, false);
    std::thread::scope(|scope| {
        for result in &report.results {
            let progress = &progress;
            scope.spawn(move || {
                progress.started(&result.id);
                progress.finished(result);
            });
        }
    });
    progress.finish();
}

/// Removes `ESC [ … m` sequences.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
