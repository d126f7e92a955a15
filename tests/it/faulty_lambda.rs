//! Every `lambda` check can fail: each runs against a proxy in front of the real mock that injects one defect modelled on a real peer.
//!
//! [`TABLE`] maps each [`LambdaDefect`] to the checks that must catch it (a failure, or
//! information where the check's rule is one of the mock's decisions); the completeness test
//! in `faulty_targets` counts these rows with the others, so a new lambda check without a
//! faulty target fails the build.

use crate::faulty::lambda::{self, LambdaDefect};

use std::time::Instant;

use tasktoken::check::{catalogue, run, CheckConfig, Profile, Report, Verdict};
use tasktoken::Provider;

/// The defects and the checks that must catch each.
pub const TABLE: &[(LambdaDefect, &[&str])] = &[
    // ---- the error envelope ----
    (
        LambdaDefect::NoErrorTypeHeader,
        &[
            "lambda.wire.error-header",
            "lambda.state.duplicate-success",
            "lambda.robustness.random-requests",
        ],
    ),
    (LambdaDefect::CodeInBodyOnly, &["lambda.wire.error-header"]),
    (
        LambdaDefect::ErrorsAs500EmptyBody,
        &["lambda.wire.error-decodable", "lambda.robustness.random-requests"],
    ),
    (LambdaDefect::SamProxyErrors, &["lambda.wire.statuses", "lambda.state.duplicate-success"]),
    (LambdaDefect::TextErrorBody, &["lambda.wire.error-decodable"]),
    (LambdaDefect::TypeIsExceptionName, &["lambda.wire.error-type"]),
    (LambdaDefect::LowercaseMessage, &["lambda.wire.message-key"]),
    (LambdaDefect::NoRequestId, &["lambda.wire.request-id"]),
    (LambdaDefect::NonEmptySuccessBody, &["lambda.wire.success-body"]),
    (
        LambdaDefect::CallbackTimeout408,
        &["lambda.wire.statuses", "lambda.state.success-after-failure"],
    ),
    (
        LambdaDefect::UnknownRouteAs500,
        &["lambda.wire.unknown-route", "lambda.robustness.random-requests"],
    ),
    // ---- the callback's state ----
    (
        LambdaDefect::ClosedIsResourceNotFound,
        &[
            "lambda.state.duplicate-success",
            "lambda.state.failure-after-success",
            "lambda.state.heartbeat-after-completion",
            "lambda.timeouts.callback-timeout",
        ],
    ),
    (
        LambdaDefect::SecondCompletionAccepted,
        &["lambda.state.duplicate-success", "lambda.state.sequences", "lambda.races.one-winner"],
    ),
    (LambdaDefect::TwoWinners, &["lambda.races.one-winner"]),
    (LambdaDefect::HeartbeatNeedsTimer, &["lambda.state.heartbeat-without-timer"]),
    (LambdaDefect::UnknownIdAsInvalidParameter, &["lambda.validation.unknown-id"]),
    (
        LambdaDefect::PrefixIndex128,
        &["lambda.state.altered-ids", "lambda.state.altered-id-positions"],
    ),
    (LambdaDefect::CaseFoldingIndex, &["lambda.state.altered-ids"]),
    // ---- the id on the wire ----
    (
        LambdaDefect::DecodeBeforeSplit,
        &["lambda.wire.success-body", "lambda.robustness.id-encoding"],
    ),
    (LambdaDefect::PlusAsSpace, &["lambda.robustness.id-encoding"]),
    (LambdaDefect::DoubleDecode, &["lambda.robustness.decode-once"]),
    (LambdaDefect::NoIdLengthCheck, &["lambda.validation.id-length"]),
    (LambdaDefect::UnanchoredPattern, &["lambda.validation.id-pattern"]),
    (LambdaDefect::BadEscapeCrash, &["lambda.robustness.bad-escape"]),
    // ---- the Result and the ErrorObject ----
    (LambdaDefect::LaunchResultLimit, &["lambda.validation.result-bytes"]),
    (LambdaDefect::ResultCountedInChars, &["lambda.validation.result-bytes"]),
    (LambdaDefect::ResultStoredLossily, &["lambda.state.result-byte-exact"]),
    (
        LambdaDefect::SamResultDropped,
        &["lambda.state.result-byte-exact", "lambda.state.result-stored"],
    ),
    (LambdaDefect::EmptyResultRefused, &["lambda.validation.empty-result"]),
    (LambdaDefect::ErrorObjectReduced, &["lambda.state.error-object-as-sent"]),
    (LambdaDefect::ErrorObjectUnvalidated, &["lambda.validation.error-object"]),
    (LambdaDefect::ErrorObjectSizeUnchecked, &["lambda.validation.error-object-size"]),
    // ---- timers ----
    (
        LambdaDefect::TimeoutsIgnored,
        &[
            "lambda.timeouts.callback-timeout",
            "lambda.timeouts.heartbeat-timeout",
            "lambda.timeouts.timed-out-by",
        ],
    ),
    (LambdaDefect::HeartbeatExtendsTimeout, &["lambda.timeouts.heartbeat-does-not-extend-timeout"]),
    (LambdaDefect::HeartbeatDoesNotReset, &["lambda.timeouts.heartbeat-keeps-alive"]),
    (LambdaDefect::TimedOutByOverall, &["lambda.timeouts.timed-out-by"]),
];

/// Checks built on `ctx.property`: their failures must carry a shrunk minimal case.
const PROPERTY_CHECKS: &[&str] = &[
    "lambda.validation.id-length",
    "lambda.validation.id-pattern",
    "lambda.validation.result-bytes",
    "lambda.validation.error-object-size",
    "lambda.state.result-stored",
    "lambda.state.result-byte-exact",
    "lambda.state.error-object-as-sent",
    "lambda.state.altered-id-positions",
    "lambda.state.sequences",
    "lambda.races.one-winner",
    "lambda.robustness.random-requests",
];

async fn check(target: &lambda::LambdaTarget, select: &[&str]) -> Report {
    let mut config = CheckConfig::new(Provider::Lambda);
    config.target = Some(target.uri());
    config.select = select.iter().map(|s| s.to_string()).collect();
    config.cases = 8;
    config.seed = Some(0x7A5C_70CE_2026_0011);
    config.profile = Profile::Strict;
    config.request_timeout = std::time::Duration::from_secs(10);
    run(config).await.unwrap_or_else(|e| panic!("the run could not happen: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_defect_is_caught_by_its_checks() {
    for (defect, checks) in TABLE {
        let started = Instant::now();
        let target = lambda::serve(*defect).await;
        let report = check(&target, checks).await;
        assert_eq!(report.results.len(), checks.len(), "{defect:?}: one result per named check");
        for id in *checks {
            let failure = crate::faulty::caught(&report, defect, id);
            assert!(!failure.message.is_empty(), "{defect:?}: {id} failed without saying why");
            assert!(failure.exchange.is_some(), "{defect:?}: {id} failed without an exchange");
            if PROPERTY_CHECKS.contains(id) {
                assert!(failure.minimal_case.is_some(), "{defect:?}: {id} has no minimal case");
            }
            println!(
                "DEFECT lambda {defect:?}: {id} failed: {} ({:?})",
                failure.message,
                started.elapsed()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_faithful_proxy_passes_every_lambda_check() {
    let target = lambda::serve(LambdaDefect::Faithful).await;
    let report = check(&target, &[]).await;
    let not_passed: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| (r.id.as_str(), &r.verdict))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    assert_eq!(report.results.len(), catalogue(Provider::Lambda).len());
}
