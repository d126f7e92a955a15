//! Every `activities` check can fail: each runs against a proxy in front of the real mock that injects one defect (long polls need an async target, which wiremock is not).
//!
//! [`TABLE`] maps each [`ActivityDefect`] to the checks that must catch it; the completeness
//! test in `faulty_targets` counts these rows with the wiremock ones, so a new activity check
//! without a faulty target fails the build.

use crate::faulty::activity::{self, ActivityDefect};

use std::time::Instant;

use tasktoken::check::{run, CheckConfig, Profile, Report, Verdict};
use tasktoken::Provider;

/// The defects and the checks that must catch each.
pub const TABLE: &[(ActivityDefect, &[&str])] = &[
    (ActivityDefect::EmptyTokenWhenIdle, &["aws.activities.idle-poll"]),
    (ActivityDefect::NoLongPoll, &["aws.activities.hand-off"]),
    (ActivityDefect::Redelivered, &["aws.activities.exactly-once"]),
    (ActivityDefect::EveryThirdLost, &["aws.activities.exactly-once"]),
    (ActivityDefect::SwappedPairs, &["aws.activities.fifo"]),
    (
        ActivityDefect::NotExistWithoutArn,
        &["aws.activities.does-not-exist", "aws.activities.delete-idempotent"],
    ),
    (ActivityDefect::InvalidArnAsValidation, &["aws.activities.invalid-arn"]),
    (ActivityDefect::CreateNotIdempotent, &["aws.activities.create-idempotent"]),
    (ActivityDefect::DeleteNotIdempotent, &["aws.activities.delete-idempotent"]),
    (ActivityDefect::WorkerNameUnchecked, &["aws.activities.worker-name-length"]),
    (ActivityDefect::Serialized, &["aws.activities.liveness"]),
];

async fn check(target: &activity::ActivityTarget, select: &[&str]) -> Report {
    let mut config = CheckConfig::new(Provider::Aws);
    config.target = Some(target.uri());
    config.select = select.iter().map(|s| s.to_string()).collect();
    config.cases = 8;
    config.seed = Some(0x7A5C_70CE_2026_0010);
    config.profile = Profile::Strict;
    config.request_timeout = std::time::Duration::from_secs(5);
    run(config).await.unwrap_or_else(|e| panic!("the run could not happen: {e}"))
}

/// The defects run side by side, each on its own proxy and mock: most of a run is waiting (a
/// lost task is only declared lost after the check's patience), so one after another took 19 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_defect_is_caught_by_its_checks() {
    let runs: Vec<_> = TABLE
        .iter()
        .map(|(defect, checks)| {
            tokio::spawn(async move {
                let started = Instant::now();
                let target = activity::serve(*defect).await;
                (check(&target, checks).await, started.elapsed())
            })
        })
        .collect();
    for ((defect, checks), run) in TABLE.iter().zip(runs) {
        let (report, took) = run.await.expect("a defect's run panicked");
        for id in *checks {
            let failure = crate::faulty::caught(&report, defect, id);
            assert!(!failure.message.is_empty(), "{defect:?}: {id} failed without saying why");
            println!("DEFECT aws {defect:?}: {id} failed: {} ({took:?})", failure.message);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_faithful_proxy_passes_every_activity_check() {
    let target = activity::serve(ActivityDefect::Faithful).await;
    let report = check(&target, &["activities"]).await;
    let not_passed: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| (r.id.as_str(), &r.verdict))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    assert_eq!(report.results.len(), 10);
}
