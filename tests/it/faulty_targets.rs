//! Every conformance check can fail: each named check is run against a faulty target (the reference mock on wiremock with one realistic defect) and must fail with an exchange, while the faithful mock passes them all.
//!
//! The table below maps each [`Defect`] to the checks that must catch it. One test per
//! defect runs those checks alone, then the provider's whole suite, and asserts that every
//! named check fails, carrying the exchange that shows it (and, for property checks, the
//! shrunk minimal case); a check of one of the mock's own decisions must report the defect as
//! information instead. `every_check_is_caught_by_some_defect` proves the table covers the
//! catalogue, so a new check without a faulty target fails the build.

use crate::faulty;

use std::collections::BTreeSet;
use std::time::Instant;

use faulty::{Defect, FaultyResponder};
use tasktoken::check::{catalogue, run, CheckConfig, Profile, Report, Verdict};
use tasktoken::{Mock, MockConfig, Provenance, Provider};
use wiremock::Respond;

/// Cases per property: enough for every defect below to show, small enough to run in seconds.
const CASES: u32 = 16;
/// A fixed seed, so a failure here replays exactly (`tasktoken check --seed`).
const SEED: u64 = 0x7A5C_70CE_2026_0001;

/// Checks built on `ctx.property`: their failures must carry a shrunk minimal case.
const PROPERTY_CHECKS: &[&str] = &[
    "aws.validation.token-length",
    "aws.validation.output-bytes",
    "aws.validation.error-length",
    "aws.validation.cause-length",
    "aws.state.result-stored",
    "aws.state.sequences",
    "aws.races.one-winner",
    "aws.robustness.random-bodies",
    "aws.validation.altered-token-positions",
    "aws.state.result-byte-exact",
    "alibaba.validation.altered-token-positions",
    "alibaba.state.result-byte-exact",
    "alibaba.validation.output-bytes",
    "alibaba.validation.error-length",
    "alibaba.validation.cause-length",
    "alibaba.state.result-stored",
    "alibaba.state.sequences",
    "alibaba.races.one-winner",
    "alibaba.robustness.random-parameters",
];

/// Checks no defect in the table can make fail (each explained in the report that came with
/// this file); the completeness test tolerates exactly these.
const NOT_CAUGHT: &[&str] = &[];

/// One row of the table.
struct Entry {
    provider: Provider,
    defect: Defect,
    checks: &'static [&'static str],
}

/// The table of defects and, for each, a test running its checks against it.
macro_rules! defects {
    ($( $test:ident: $provider:ident, $defect:ident => [$($check:literal),+ $(,)?]; )+) => {
        fn table() -> Vec<Entry> {
            vec![$(Entry {
                provider: Provider::$provider,
                defect: Defect::$defect,
                checks: &[$($check),+],
            }),+]
        }
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                assert_caught(Provider::$provider, Defect::$defect, &[$($check),+]).await;
            }
        )+
    };
}

defects! {
    // ---- AWS: task state ----
    aws_all_completions_ok: Aws, AllCompletionsOk =>
        ["aws.races.one-winner", "aws.state.duplicate-success"];
    aws_reused_token_invalid: Aws, ReusedTokenInvalid =>
        ["aws.state.duplicate-success", "aws.timeouts.task-timeout"];
    aws_step_functions_local_timed_out_message: Aws, StepFunctionsLocalTimedOutMessage =>
        ["aws.state.duplicate-success", "aws.timeouts.task-timeout"];
    aws_failure_accepted_after_success: Aws, FailureAcceptedAfterSuccess =>
        ["aws.state.failure-after-success"];
    aws_success_accepted_after_failure: Aws, SuccessAcceptedAfterFailure =>
        ["aws.state.success-after-failure"];
    aws_second_completion_overwrites: Aws, SecondCompletionOverwrites =>
        ["aws.state.sequences", "aws.state.duplicate-success"];
    aws_heartbeat_after_completion_ok: Aws, HeartbeatAfterCompletionOk =>
        ["aws.state.heartbeat-after-completion"];
    aws_cause_dropped: Aws, CauseDropped => ["aws.state.result-stored"];
    aws_failure_requires_error: Aws, FailureRequiresError => ["aws.state.failure-without-error"];
    aws_timeouts_ignored: Aws, TimeoutsIgnored =>
        ["aws.timeouts.task-timeout", "aws.timeouts.heartbeat-timeout"];
    aws_heartbeat_does_not_extend: Aws, HeartbeatDoesNotExtend =>
        ["aws.timeouts.heartbeat-keeps-alive"];
    // ---- AWS: validation ----
    aws_non_json_output_accepted: Aws, NonJsonOutputAccepted => ["aws.validation.invalid-output"];
    aws_scalars_rejected: Aws, ScalarsRejected => ["aws.validation.json-scalars"];
    aws_no_length_checks: Aws, NoLengthChecks => [
        "aws.validation.token-length",
        "aws.validation.output-bytes",
        "aws.validation.error-length",
        "aws.validation.cause-length",
    ];
    aws_output_counted_in_chars: Aws, OutputCountedInChars => ["aws.validation.output-bytes"];
    aws_output_counted_on_the_wire: Aws, OutputCountedOnTheWire => ["aws.validation.output-bytes"];
    aws_lengths_counted_in_bytes: Aws, LengthsCountedInBytes =>
        ["aws.validation.error-length", "aws.validation.cause-length"];
    aws_token_limit_1024: Aws, TokenLimit1024 => ["aws.validation.token-length"];
    aws_localstack_invalid_token_message: Aws, LocalStackInvalidTokenMessage =>
        ["aws.validation.invalid-token"];
    aws_unknown_token_task_does_not_exist: Aws, UnknownTokenTaskDoesNotExist =>
        ["aws.validation.invalid-token"];
    aws_only_first_violation: Aws, OnlyFirstViolation => ["aws.validation.several-violations"];
    aws_violations_reversed: Aws, ViolationsReversed => ["aws.validation.several-violations"];
    aws_output_checked_before_token: Aws, OutputCheckedBeforeToken =>
        ["aws.validation.token-before-output"];
    aws_missing_member_value_null: Aws, MissingMemberValueNull => ["aws.validation.missing-member"];
    // ---- AWS: wire ----
    aws_bare_error_type: Aws, BareErrorType => ["aws.wire.namespaced-type", "aws.wire.error-envelope"];
    aws_empty_success_body: Aws, EmptySuccessBody => ["aws.wire.success-body"];
    aws_uppercase_request_id: Aws, UppercaseRequestId => ["aws.wire.success-headers"];
    aws_missing_request_id: Aws, MissingRequestId =>
        ["aws.wire.success-headers", "aws.wire.error-envelope"];
    aws_moto_request_id: Aws, MotoRequestId => ["aws.wire.success-headers"];
    aws_unknown_operation_404: Aws, UnknownOperation404 => ["aws.wire.unknown-operation"];
    aws_unknown_operation_with_message: Aws, UnknownOperationWithMessage =>
        ["aws.wire.unknown-operation"];
    aws_too_large_as_validation: Aws, TooLargeAsValidation => ["aws.wire.request-too-large"];
    // ---- AWS: robustness ----
    aws_malformed_json_500: Aws, MalformedJson500 =>
        ["aws.robustness.malformed-json", "aws.robustness.random-bodies"];
    aws_wrong_types_coerced: Aws, WrongTypesCoerced => ["aws.robustness.wrong-types"];

    // ---- Alibaba: wire ----
    alibaba_xml_errors: Alibaba, XmlErrors => ["alibaba.wire.error-envelope"];
    alibaba_code_in_success_body: Alibaba, CodeInSuccessBody => ["alibaba.wire.success-body"];
    alibaba_query_only: Alibaba, QueryOnly => ["alibaba.wire.parameter-placement"];
    alibaba_format_json_refused: Alibaba, FormatJsonRefused => ["alibaba.wire.format-case"];
    alibaba_too_large_as_nginx_413: Alibaba, TooLargeAsNginx413 => ["alibaba.wire.request-too-large"];
    // ---- Alibaba: validation ----
    alibaba_unknown_action_not_found: Alibaba, UnknownActionNotFound =>
        ["alibaba.validation.action-not-supported"];
    alibaba_any_version_accepted: Alibaba, AnyVersionAccepted => ["alibaba.validation.api-version"];
    alibaba_missing_params_as_invalid_argument: Alibaba, MissingParamsAsInvalidArgument =>
        ["alibaba.validation.missing-params"];
    alibaba_invalid_argument_500: Alibaba, InvalidArgument500 =>
        ["alibaba.validation.invalid-token", "alibaba.robustness.random-parameters"];
    alibaba_serverless_workflow_limits: Alibaba, ServerlessWorkflowLimits =>
        ["alibaba.validation.output-bytes"];
    alibaba_output_counted_in_chars: Alibaba, OutputCountedInChars =>
        ["alibaba.validation.output-bytes"];
    alibaba_lengths_counted_in_bytes: Alibaba, LengthsCountedInBytes =>
        ["alibaba.validation.error-length", "alibaba.validation.cause-length"];
    alibaba_non_json_output_accepted: Alibaba, NonJsonOutputAccepted =>
        ["alibaba.validation.invalid-output"];
    alibaba_scalars_rejected: Alibaba, ScalarsRejected => ["alibaba.validation.json-scalars"];
    alibaba_xml_body_accepted: Alibaba, XmlBodyAccepted => ["alibaba.validation.media-type"];
    alibaba_duplicate_params_last_wins: Alibaba, DuplicateParamsLastWins =>
        ["alibaba.validation.parameter-syntax"];
    // ---- Alibaba: task state ----
    alibaba_reused_token_invalid: Alibaba, ReusedTokenInvalid =>
        ["alibaba.state.duplicate-report", "alibaba.timeouts.task-timeout"];
    alibaba_completed_message_without_token: Alibaba, CompletedMessageWithoutToken =>
        ["alibaba.state.already-completed-message"];
    alibaba_all_completions_ok: Alibaba, AllCompletionsOk =>
        ["alibaba.races.one-winner", "alibaba.state.duplicate-report"];
    alibaba_failure_accepted_after_success: Alibaba, FailureAcceptedAfterSuccess =>
        ["alibaba.state.failure-after-success"];
    alibaba_success_accepted_after_failure: Alibaba, SuccessAcceptedAfterFailure =>
        ["alibaba.state.success-after-failure"];
    alibaba_cause_dropped: Alibaba, CauseDropped => ["alibaba.state.result-stored"];
    alibaba_second_completion_overwrites: Alibaba, SecondCompletionOverwrites =>
        ["alibaba.state.sequences", "alibaba.state.duplicate-report"];
    alibaba_timeouts_ignored: Alibaba, TimeoutsIgnored => ["alibaba.timeouts.task-timeout"];

    // ---- status codes, unknown members, deadlines, token shapes, body encodings ----
    aws_closed_error_as_500: Aws, ClosedErrorAs500 => ["aws.state.duplicate-success"];
    alibaba_closed_error_as_500: Alibaba, ClosedErrorAs500 => ["alibaba.state.duplicate-report"];
    alibaba_closed_error_as_200: Alibaba, ClosedErrorAs200 => ["alibaba.state.duplicate-report"];
    aws_unknown_member_rejected: Aws, UnknownMemberRejected => ["aws.wire.unknown-members"];
    aws_heartbeat_extends_timeout: Aws, HeartbeatExtendsTimeout =>
        ["aws.timeouts.heartbeat-does-not-extend-timeout"];
    aws_empty_error_rejected: Aws, EmptyErrorRejected => ["aws.validation.error-length"];
    aws_uuid_tokens: Aws, UuidTokens => ["aws.wire.token-shape"];
    alibaba_uuid_tokens: Alibaba, UuidTokens => ["alibaba.wire.token-shape"];
    alibaba_json_body_refused: Alibaba, JsonBodyRefused => ["alibaba.wire.json-body"];
    alibaba_plus_kept_in_form: Alibaba, PlusKeptInForm => ["alibaba.wire.parameter-placement"];

    // ---- token identity and stored results ----
    aws_prefix_index_255: Aws, PrefixIndex255 =>
        ["aws.validation.altered-tokens", "aws.validation.altered-token-positions"];
    aws_prefix_index_64: Aws, PrefixIndex64 =>
        ["aws.validation.altered-tokens", "aws.validation.altered-token-positions"];
    aws_case_folding_index: Aws, CaseFoldingIndex =>
        ["aws.validation.altered-tokens", "aws.validation.altered-token-positions"];
    alibaba_prefix_index_255: Alibaba, PrefixIndex255 => ["alibaba.validation.altered-tokens"];
    alibaba_prefix_index_64: Alibaba, PrefixIndex64 =>
        ["alibaba.validation.altered-tokens", "alibaba.validation.altered-token-positions"];
    alibaba_case_folding_index: Alibaba, CaseFoldingIndex =>
        ["alibaba.validation.altered-tokens", "alibaba.validation.altered-token-positions"];
    aws_json_round_trip_store: Aws, JsonRoundTripStore => ["aws.state.result-byte-exact"];
    alibaba_json_round_trip_store: Alibaba, JsonRoundTripStore => ["alibaba.state.result-byte-exact"];
    aws_escape_normalising_store: Aws, EscapeNormalisingStore => ["aws.state.result-byte-exact"];
    alibaba_escape_normalising_store: Alibaba, EscapeNormalisingStore =>
        ["alibaba.state.result-byte-exact"];
    aws_trimmed_text_store: Aws, TrimmedTextStore => ["aws.state.result-byte-exact"];
    alibaba_trimmed_text_store: Alibaba, TrimmedTextStore => ["alibaba.state.result-byte-exact"];
}

/// Serves `responder` on a fresh wiremock server.
async fn serve(responder: impl Respond + 'static) -> wiremock::MockServer {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any()).respond_with(responder).mount(&server).await;
    server
}

/// Runs `select` (all checks when empty) against `server` with the fixed seed.
async fn check(provider: Provider, server: &wiremock::MockServer, select: &[&str]) -> Report {
    let mut config = CheckConfig::new(provider);
    config.target = Some(server.uri());
    config.select = select.iter().map(|s| s.to_string()).collect();
    config.cases = CASES;
    config.seed = Some(SEED);
    config.profile = Profile::Strict;
    // wiremock answers synchronously, so it cannot hold a poll: the activity checks run
    // against the async proxy of `faulty_activities` instead.
    if provider == Provider::Aws {
        config.exclude = vec!["activities".into()];
    }
    run(config).await.unwrap_or_else(|e| panic!("the run could not happen: {e}"))
}

/// Checks run against wiremock: the whole catalogue but the activity group.
fn suite_size(provider: Provider) -> usize {
    catalogue(provider).iter().filter(|c| c.group != tasktoken::check::Group::Activities).count()
}

/// The checks that caught something: failures, and information on the mock's decisions.
fn failed(report: &Report) -> Vec<&str> {
    report
        .results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Fail(_) | Verdict::Info(_)))
        .map(|r| r.id.as_str())
        .collect()
}

/// Asserts that each of `checks` fails against `defect`, alone and in the whole suite, with
/// an exchange (and a minimal case for properties).
async fn assert_caught(provider: Provider, defect: Defect, checks: &[&str]) {
    let started = Instant::now();
    let server = serve(FaultyResponder::new(defect)).await;
    let named = check(provider, &server, checks).await;
    assert_eq!(named.results.len(), checks.len(), "{defect:?}: one result per named check");
    for id in checks {
        let failure = crate::faulty::caught(&named, &defect, id);
        let exchange = failure
            .exchange
            .as_ref()
            .unwrap_or_else(|| panic!("{defect:?}: the failure of {id} has no exchange"));
        assert!(
            !exchange.request.is_empty() && !exchange.response.is_empty(),
            "{defect:?}: {id} has an empty exchange: {exchange:?}"
        );
        if PROPERTY_CHECKS.contains(id) {
            assert!(
                failure.minimal_case.is_some(),
                "{defect:?}: the failure of property {id} has no minimal case"
            );
        }
    }
    let decisions = named.results.iter().all(|r| r.provenance == Provenance::Decision);
    assert!(
        !decisions || named.conformant(),
        "{defect:?}: differing from the mock's decisions alone must leave the target conformant"
    );
    let full = check(provider, &server, &[]).await;
    assert_eq!(full.results.len(), suite_size(provider));
    let caught = failed(&full);
    for id in checks {
        assert!(caught.contains(id), "{defect:?}: {id} passed in the full-suite run");
    }
    println!(
        "DEFECT {provider} {defect:?}: caught by {} of {}: {caught:?} ({:?})",
        caught.len(),
        full.results.len(),
        started.elapsed()
    );
}

/// The property over random positions shrinks to the first position a prefix index drops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_index_shrinks_to_the_first_position_past_it() {
    for (defect, cut) in [(Defect::PrefixIndex255, 255), (Defect::PrefixIndex64, 64)] {
        let server = serve(FaultyResponder::new(defect)).await;
        let id = "aws.validation.altered-token-positions";
        let report = check(Provider::Aws, &server, &[id]).await;
        let Verdict::Fail(failure) = &report.results[0].verdict else {
            panic!("{defect:?}: {:?}", report.results[0].verdict);
        };
        let case = failure.minimal_case.as_deref().unwrap_or_default();
        assert!(case.starts_with(&format!("(\n    {cut},\n")), "{defect:?}: {case}");
        assert!(failure.message.contains(&format!("character {cut} ")), "{}", failure.message);
    }
}

#[test]
fn every_check_is_caught_by_some_defect() {
    let table = table();
    let activity_rows =
        crate::faulty_activities::TABLE.iter().flat_map(|(_, checks)| checks.iter());
    let lambda_rows = crate::faulty_lambda::TABLE.iter().flat_map(|(_, checks)| checks.iter());
    let covered: BTreeSet<&str> = table
        .iter()
        .flat_map(|e| e.checks.iter().copied())
        .chain(activity_rows.copied())
        .chain(lambda_rows.copied())
        .collect();
    let mut all = BTreeSet::new();
    for provider in Provider::ALL {
        for check in catalogue(provider) {
            all.insert(check.id);
        }
    }
    let missing: Vec<&str> = all
        .iter()
        .copied()
        .filter(|id| !covered.contains(id) && !NOT_CAUGHT.contains(id))
        .collect();
    assert!(missing.is_empty(), "checks without a faulty target: {missing:?}");
    let unknown: Vec<&str> = covered.iter().copied().filter(|id| !all.contains(id)).collect();
    assert!(unknown.is_empty(), "the table names checks the catalogue lacks: {unknown:?}");
    for id in NOT_CAUGHT {
        assert!(all.contains(id) && !covered.contains(id), "stale NOT_CAUGHT entry {id}");
    }
    for entry in &table {
        let prefix = format!("{}.", entry.provider.name());
        assert!(
            entry.checks.iter().all(|c| c.starts_with(&prefix)),
            "{:?}: checks of another provider",
            entry.defect
        );
    }
    for (defect, checks) in crate::faulty_lambda::TABLE {
        assert!(checks.iter().all(|c| c.starts_with("lambda.")), "{defect:?}: not lambda checks");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_mock_on_wiremock_passes_every_check() {
    for provider in Provider::ALL {
        let mock = Mock::new(MockConfig::default()).expect("the default config is valid");
        let server = serve(mock.responder()).await;
        let report = check(provider, &server, &[]).await;
        assert_eq!(report.results.len(), suite_size(provider));
        let not_passed: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.verdict != Verdict::Pass)
            .map(|r| (r.id.as_str(), &r.verdict))
            .collect();
        assert!(not_passed.is_empty(), "{provider}: {not_passed:#?}");
        assert!(report.conformant());
        assert_eq!(report.counts(), (suite_size(provider), 0, 0, 0));
        assert_eq!(report.infos(), 0);
    }
}
