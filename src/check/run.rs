//! Running a suite: start the embedded mock when no target is given, connect the token source, select checks, run them (in parallel), and collect verdicts under the profile.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::checks::{catalogue, Check};
use super::context::{Credentials, Ctx, Halt};
use super::outcome::{CheckResult, Profile, Report, Verdict};
use super::report::{Progress, EMBEDDED_MOCK};
use super::target::Target;
use super::tokens::{TokenSource, TokenSourceSpec};
use crate::contract::{Provenance, Provider};
use crate::mock::{Mock, MockConfig, MockServer};

/// What to check and how.
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
}

impl CheckConfig {
    /// Defaults: embedded mock, mock token source, strict, 32 cases, random seed, 10 s per
    /// request, 120 s per check, 2 checks at once.
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
            cases: 32,
            seed: None,
            select: Vec::new(),
            exclude: Vec::new(),
            request_timeout: Duration::from_secs(10),
            check_timeout: Duration::from_secs(120),
            concurrency: 2,
            credentials: None,
        }
    }
}

/// A run that could not happen: exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// Bad options.
    #[error("{0}")]
    Usage(String),
    /// The target or the token source cannot be reached or used.
    #[error("{0}")]
    Setup(String),
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
            return Err(CheckError::Usage(format!(
                "no {} check or group matches {pattern:?} (see tasktoken check --list)",
                config.provider
            )));
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
        .map_err(|e| CheckError::Setup(format!("cannot start the async runtime: {e}")))?;
    let seed = config.seed.unwrap_or_else(|| fastrand::u64(..));
    // The embedded mock lives as long as the run.
    let (_server, base) = match &config.target {
        Some(url) => (None, url.clone()),
        None => {
            let server = runtime.block_on(async {
                let mock = Mock::new(MockConfig::default()).expect("the default config is valid");
                MockServer::start_with(mock).await
            });
            let server = server
                .map_err(|e| CheckError::Setup(format!("cannot start the embedded mock: {e}")))?;
            let uri = server.uri();
            (Some(server), uri)
        }
    };
    let target = Target::new(&base, config.request_timeout).map_err(CheckError::Usage)?;
    let tokens = runtime
        .block_on(TokenSource::connect(
            config.tokens.clone(),
            target.clone(),
            config.provider,
            config.credentials.clone(),
        ))
        .map_err(|e| CheckError::Setup(format!("{e} (target {base})")))?;
    let target_name = if config.target.is_some() { base.clone() } else { EMBEDDED_MOCK.to_owned() };

    let handle = runtime.handle().clone();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CheckResult>>> = Mutex::new(vec![None; checks.len()]);
    std::thread::scope(|scope| {
        for _ in 0..config.concurrency.clamp(1, 16) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(check) = checks.get(i) else { break };
                progress.started(check.id);
                let ctx = Ctx::new(
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
                let began = Instant::now();
                let outcome = (check.run)(&ctx);
                let (verdict, cases) = match outcome {
                    Ok(cases) => (Verdict::Pass, cases),
                    Err(Halt::Fail(f)) => {
                        let advisory = check.rule.provenance == Provenance::Inferred
                            && config.profile == Profile::Relaxed;
                        (if advisory { Verdict::Warn(f) } else { Verdict::Fail(f) }, 0)
                    }
                    Err(Halt::Skip(reason)) => (Verdict::Skip { reason }, 0),
                    Err(Halt::Setup(message)) => {
                        (Verdict::Skip { reason: format!("setup error: {message}") }, 0)
                    }
                };
                let result = CheckResult {
                    id: check.id.to_owned(),
                    group: check.group,
                    description: check.description.to_owned(),
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
    // A check whose token could not be minted is reported as skipped with "setup error"; the
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
        .map_err(|e| CheckError::Setup(format!("the check thread failed: {e}")))?
}
