//! Running a suite: the embedded mock or a target, the token source, the checks, the verdicts.
//!
//! With no target the embedded mock is started; then the token source is connected, the
//! checks selected and run (in parallel), and verdicts collected under the profile.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::checks::{catalogue, Check};
use super::context::{Ctx, Halt};
use super::outcome::{CheckResult, Group, Profile, Report, Verdict};
use super::report::{Progress, EMBEDDED_MOCK};
use super::target::{Target, TargetError};
use super::tokens::{SourceError, TokenSource, TokenSourceSpec};
use crate::auth::{Credentials, SignError};
use crate::contract::alibaba::Flavour;
use crate::contract::lambda::LambdaOptions;
use crate::contract::Provider;
use crate::mock::{Mock, MockConfig, MockServer};

/// What to check and how.
///
/// `Debug` shows the credentials' access key id, never the secret.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// Which provider's contract.
    pub provider: Provider,
    /// The endpoint; `None` starts the embedded mock in-process and checks that.
    pub target: Option<String>,
    /// Where live tokens come from.
    pub tokens: TokenSourceSpec,
    /// Whether inferred rules are binding.
    pub profile: Profile,
    /// Cases per property.
    pub cases: u32,
    /// Seed for exact replay; random when `None`.
    pub seed: Option<u64>,
    /// Only these checks (ids, ids without the provider prefix, or group names); all when empty.
    pub select: Vec<String>,
    /// Not these checks (same forms).
    pub exclude: Vec<String>,
    /// Limit for one request.
    pub request_timeout: Duration,
    /// Limit for one check.
    pub check_timeout: Duration,
    /// Checks run at once.
    pub concurrency: usize,
    /// Signing credentials.
    pub credentials: Option<Credentials>,
    /// Which Alibaba service's limits the target applies (they differ in `Output`); the
    /// embedded mock is started with the same.
    pub alibaba_flavour: Flavour,
    /// Lambda's answers the target gives where the sources leave a choice (the Result limit,
    /// the validation error, the error for an unknown id); the embedded mock is started with
    /// the same.
    pub lambda: LambdaOptions,
}

impl CheckConfig {
    /// Cases per property by default.
    pub const DEFAULT_CASES: u32 = 32;
    /// Seconds one request may take by default.
    pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 10;
    /// Seconds one check may take by default.
    pub const DEFAULT_CHECK_TIMEOUT_SECS: u64 = 120;
    /// Checks run at once by default.
    pub const DEFAULT_CONCURRENCY: usize = 2;

    /// Defaults: embedded mock, mock token source, strict, [`Self::DEFAULT_CASES`] cases,
    /// random seed, the default time limits and concurrency, no credentials, CloudFlow.
    ///
    /// ```
    /// let config = tasktoken::check::CheckConfig::new(tasktoken::Provider::Aws);
    /// assert!(config.target.is_none());
    /// ```
    pub fn new(provider: Provider) -> CheckConfig {
        CheckConfig {
            provider,
            target: None,
            tokens: TokenSourceSpec::Mock,
            profile: Profile::Strict,
            cases: Self::DEFAULT_CASES,
            seed: None,
            select: Vec::new(),
            exclude: Vec::new(),
            request_timeout: Duration::from_secs(Self::DEFAULT_REQUEST_TIMEOUT_SECS),
            check_timeout: Duration::from_secs(Self::DEFAULT_CHECK_TIMEOUT_SECS),
            concurrency: Self::DEFAULT_CONCURRENCY,
            credentials: None,
            alibaba_flavour: Flavour::default(),
            lambda: LambdaOptions::default(),
        }
    }
}

/// A run that could not happen: exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// `--check` or `--exclude` names nothing in the catalogue.
    #[error("no {provider} check or group matches {pattern:?} (see tasktoken check --list)")]
    NoMatch {
        /// The provider whose catalogue was searched.
        provider: Provider,
        /// The pattern.
        pattern: String,
    },
    /// The target URL cannot be used.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The embedded mock could not start.
    #[error("cannot start the embedded mock: {0}")]
    EmbeddedMock(String),
    /// The token source cannot be connected.
    #[error("{source} (target {target})")]
    TokenSource {
        /// Why.
        source: SourceError,
        /// The target's base URL.
        target: String,
    },
    /// The credentials cannot sign a request.
    #[error("the credentials given cannot sign requests: {0}")]
    Sign(#[from] SignError),
    /// The thread running the suite failed.
    #[error("the check thread failed: {0}")]
    Thread(String),
}

/// The ids of the checks `config` selects, in run order.
pub fn selected(config: &CheckConfig) -> Result<Vec<Check>, CheckError> {
    let all = catalogue(config.provider);
    let matches = |check: &Check, pattern: &str| {
        check.id == pattern
            || check.group.name() == pattern
            || check.id.split_once('.').is_some_and(|(_, rest)| rest == pattern)
    };
    for pattern in config.select.iter().chain(&config.exclude) {
        if !all.iter().any(|c| matches(c, pattern)) {
            return Err(CheckError::NoMatch {
                provider: config.provider,
                pattern: pattern.clone(),
            });
        }
    }
    Ok(all
        .into_iter()
        .filter(|c| config.select.is_empty() || config.select.iter().any(|p| matches(c, p)))
        .filter(|c| !config.exclude.iter().any(|p| matches(c, p)))
        .collect())
}

/// Runs the suite from a thread that is not inside an async runtime (the CLI does this).
pub fn run_blocking(config: &CheckConfig, progress: &Progress) -> Result<Report, CheckError> {
    let started = Instant::now();
    let checks = selected(config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CheckError::Runtime)?;
    let seed = config.seed.unwrap_or_else(|| fastrand::u64(..));
    // The embedded mock lives as long as the run.
    let (_server, base) = match &config.target {
        Some(url) => (None, url.clone()),
        None => {
            // Idle activity polls are held 1 s, not AWS's 60, so the suite stays quick.
            let config = MockConfig {
                alibaba_flavour: config.alibaba_flavour,
                lambda: config.lambda,
                poll_hold: Duration::from_secs(1),
                ..MockConfig::default()
            };
            let mock = Mock::new(config).map_err(|e| CheckError::EmbeddedMock(e.to_string()))?;
            let server = runtime
                .block_on(MockServer::start_with(mock))
                .map_err(|e| CheckError::EmbeddedMock(e.to_string()))?;
            let uri = server.uri();
            (Some(server), uri)
        }
    };
    let target = Target::new(&base, config.request_timeout)?;
    if let Some(credentials) = &config.credentials {
        // Credentials that cannot sign fail the run here, once, with the reason.
        let probe = super::call::request(
            config.provider,
            super::call::Call::Succeed { token: "probe", output: "{}" },
            false,
        );
        super::call::sign(config.provider, &target, probe, credentials, SystemTime::now())?;
    }
    let tokens = runtime
        .block_on(TokenSource::connect(
            config.tokens.clone(),
            target.clone(),
            config.provider,
            config.credentials.clone(),
        ))
        .map_err(|source| CheckError::TokenSource { source, target: base.clone() })?;
    let target_name = if config.target.is_some() { base.clone() } else { EMBEDDED_MOCK.to_owned() };

    let handle = runtime.handle().clone();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CheckResult>>> = Mutex::new(vec![None; checks.len()]);
    // Where the source moves one clock for the whole target (the tasktoken control API),
    // checks that let time pass run one at a time: another one's advance would expire this
    // one's deadlines early.
    let shared_clock = tokens.capabilities().advance_clock;
    let clock = Mutex::new(());
    std::thread::scope(|scope| {
        for _ in 0..config.concurrency.clamp(1, 16) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(check) = checks.get(i) else { break };
                progress.started(check.id);
                let mut ctx = Ctx::new(
                    config.provider,
                    &handle,
                    &target,
                    &tokens,
                    config.cases,
                    seed,
                    check.id,
                    config.credentials.as_ref(),
                    config.check_timeout,
                );
                ctx.alibaba_flavour = config.alibaba_flavour;
                ctx.lambda = config.lambda;
                let _clock = (shared_clock && check.group == Group::Timeouts)
                    .then(|| clock.lock().unwrap_or_else(|e| e.into_inner()));
                let began = Instant::now();
                let outcome = (check.run)(&ctx);
                let (verdict, cases) = match outcome {
                    Ok(cases) => (Verdict::Pass, cases),
                    Err(Halt::Fail(f)) => (config.profile.verdict(check.rule.provenance, f), 0),
                    Err(Halt::Skip(reason)) => {
                        (Verdict::Skip { reason: reason.to_string(), setup: false }, 0)
                    }
                    Err(Halt::Setup(error)) => {
                        (Verdict::Skip { reason: error.to_string(), setup: true }, 0)
                    }
                };
                let result = CheckResult {
                    id: check.id.to_owned(),
                    group: check.group,
                    description: check.description.clone(),
                    rule_id: check.rule.id.to_owned(),
                    provenance: check.rule.provenance,
                    rule_summary: check.rule.summary.to_owned(),
                    rule_source: check.rule.source.to_owned(),
                    verdict,
                    cases,
                    seed,
                    elapsed: began.elapsed(),
                };
                progress.finished(&result);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
            });
        }
    });
    progress.finish();
    // Leave the target as it was (queues, state machines, activities a source made).
    let _ = runtime.block_on(tokens.cleanup());
    // A check whose token could not be minted is reported as a skip marked `setup`; the
    // report is kept, and the CLI exits 2 (see `Report::setup_errors`).
    let results =
        results.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().flatten().collect();
    Ok(Report {
        provider: config.provider,
        target: target_name,
        tokens: tokens.name(),
        profile: config.profile,
        seed,
        cases: config.cases,
        results,
        elapsed: started.elapsed(),
    })
}

/// Runs the suite from async code (a `#[tokio::test]`, say), on a blocking thread.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tasktoken::check::{run, CheckConfig};
///
/// let mut config = CheckConfig::new(tasktoken::Provider::Aws);
/// config.select = vec!["wire".into()];
/// let report = run(config).await.unwrap();
/// assert!(report.conformant(), "{report:#?}");
/// # });
/// ```
pub async fn run(config: CheckConfig) -> Result<Report, CheckError> {
    tokio::task::spawn_blocking(move || run_blocking(&config, &Progress::new(0, false)))
        .await
        .map_err(|e| CheckError::Thread(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_of_a_config_never_shows_the_secret() {
        let mut config = CheckConfig::new(Provider::Aws);
        config.credentials =
            Some(Credentials::new("AKIDVISIBLE", "hidden-secret-value", "eu-west-1"));
        let shown = format!("{config:?} {config:#?}");
        assert!(shown.contains("AKIDVISIBLE"), "{shown}");
        assert!(!shown.contains("hidden-secret-value"), "{shown}");
    }

    #[test]
    fn a_selection_that_matches_nothing_is_a_typed_error() {
        let mut config = CheckConfig::new(Provider::Alibaba);
        config.select = vec!["no-such-group".into()];
        let e = selected(&config).unwrap_err();
        assert!(
            matches!(&e, CheckError::NoMatch { pattern, .. } if pattern == "no-such-group"),
            "{e}"
        );
    }

    #[test]
    fn the_alibaba_output_limit_is_the_flavour_s() {
        let mut config = CheckConfig::new(Provider::Alibaba);
        config.select = vec!["alibaba.validation.output-bytes".into()];
        config.cases = 16;
        config.seed = Some(7);
        config.alibaba_flavour = Flavour::ServerlessWorkflow;
        // The embedded mock runs the same flavour: conformant.
        let report = run_blocking(&config, &Progress::new(0, false)).unwrap();
        assert!(report.conformant(), "{report:#?}");
        assert_eq!(report.results[0].verdict, Verdict::Pass);
        // A CloudFlow mock accepts what Serverless Workflow refuses: the check fails.
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let mock = Mock::new(MockConfig::default()).unwrap();
        let server = runtime.block_on(MockServer::start_with(mock)).unwrap();
        config.target = Some(server.uri());
        let report = run_blocking(&config, &Progress::new(0, false)).unwrap();
        assert!(matches!(report.results[0].verdict, Verdict::Fail(_)), "{report:#?}");
    }
}
