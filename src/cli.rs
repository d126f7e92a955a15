//! The command line: `tasktoken check`, `docs` and `serve`, parsed with clap.
//!
//! Every subcommand returns `Result<(), Error>`; [`main`] prints an error once and exits with
//! [`Error::exit_code`], the one place the codes of [`tasktoken::exit_code`] are chosen.

use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use tasktoken::auth::{Credentials, KeyPair, Keys, Secret};
use tasktoken::check::report::{human, json, junit, progress_wanted, Progress};
use tasktoken::check::{run_blocking, CheckConfig, CheckError, Profile, TokenSourceSpec};
use tasktoken::contract::alibaba::Flavour;
use tasktoken::contract::lambda::{self, LambdaOptions};
use tasktoken::contract::Provider;
use tasktoken::exit_code;
use tasktoken::mock::{serve, FaultSpec, Mock, MockConfig, StrictAuth};
use tasktoken::tasks::token::{TokenLengthError, DEFAULT_AWS_TOKEN_LEN};
use tasktoken::tasks::Clock;

/// The log filter when `--log` is not given.
const DEFAULT_LOG: &str = "warn";
/// The SigV4 region when `--region` is not given.
const DEFAULT_REGION: &str = "us-east-1";
/// The port `serve` binds when `--port` is not given.
const DEFAULT_PORT: u16 = 4599;

/// Reference mock and conformance suite for task-token callback APIs.
#[derive(Debug, Parser)]
#[command(name = "tasktoken", version, about, long_about = None)]
pub struct Cli {
    /// Log filter (tracing syntax: warn, info, trace, tasktoken=debug, ...). Logs go to stderr.
    #[arg(long, global = true, env = "TASKTOKEN_LOG", default_value = DEFAULT_LOG)]
    pub log: String,
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the conformance suite against a target (or, with no --target, the embedded mock).
    Check(CheckArgs),
    /// Print the contract as Markdown, generated from the contract model.
    Docs(DocsArgs),
    /// Serve the mock: the provider API and the control API on one port.
    Serve(ServeArgs),
}

/// Options of `tasktoken docs`.
#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Write to this file instead of stdout (docs/CONTRACT.md in this repository).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

/// Options of `tasktoken check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Which provider's contract to check (repeatable or comma-separated; all three by default).
    #[arg(long, value_delimiter = ',', default_values = ["aws", "alibaba", "lambda"])]
    pub provider: Vec<Provider>,
    /// The endpoint to check, e.g. http://127.0.0.1:4566; without it the embedded mock is
    /// started in-process and checked.
    #[arg(long, value_name = "URL", env = "TASKTOKEN_TARGET")]
    pub target: Option<String>,
    /// Where live tokens come from: `mock` (the tasktoken control API on the target),
    /// `command:CMD` (a shell command printing one fresh token per run),
    /// `command-deadlines:CMD` (the same, given the deadlines a check asks for as
    /// TASKTOKEN_TIMEOUT_SECONDS and TASKTOKEN_HEARTBEAT_SECONDS), `aws-sqs-callback`
    /// (a state machine with an SQS .waitForTaskToken task; moto, LocalStack) or
    /// `aws-activity` (an activity task; real AWS, LocalStack).
    #[arg(long, value_name = "SOURCE", default_value = "mock")]
    pub tokens: TokenSourceSpec,
    /// `strict`: a broken inferred rule fails; `relaxed`: it warns.
    #[arg(long, value_enum, default_value_t = ProfileArg::Strict)]
    pub profile: ProfileArg,
    /// Cases per property.
    #[arg(long, value_name = "N", default_value_t = CheckConfig::DEFAULT_CASES)]
    pub cases: u32,
    /// Seed for exact replay (printed with every failure).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Run only this check or group (repeatable; ids with or without the provider prefix).
    #[arg(long = "check", value_name = "ID|GROUP")]
    pub select: Vec<String>,
    /// Skip this check or group (repeatable).
    #[arg(long, value_name = "ID|GROUP")]
    pub exclude: Vec<String>,
    /// Seconds one request may take.
    #[arg(
        long = "timeout",
        value_name = "SECONDS",
        default_value_t = CheckConfig::DEFAULT_REQUEST_TIMEOUT_SECS as f64
    )]
    pub request_timeout: f64,
    /// Seconds one check may take.
    #[arg(long, value_name = "SECONDS", default_value_t = CheckConfig::DEFAULT_CHECK_TIMEOUT_SECS as f64)]
    pub check_timeout: f64,
    /// Checks run at once.
    #[arg(long, value_name = "N", default_value_t = CheckConfig::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Access key id to sign requests with (SigV4 for AWS, RPC v1 for Alibaba).
    #[arg(long, env = "TASKTOKEN_ACCESS_KEY_ID", requires = "secret_key")]
    pub access_key_id: Option<String>,
    /// Secret to sign requests with (never printed, logged or written to a report).
    #[arg(long, env = "TASKTOKEN_SECRET_KEY", requires = "access_key_id", hide_env_values = true)]
    pub secret_key: Option<Secret>,
    /// Region for SigV4 scopes.
    #[arg(long, env = "TASKTOKEN_REGION", default_value = DEFAULT_REGION)]
    pub region: String,
    /// Which Alibaba service's limits the target applies: `cloud-flow` or
    /// `serverless-workflow` (the embedded mock is started with the same).
    #[arg(long, value_enum, default_value_t = FlavourArg::CloudFlow)]
    pub alibaba_flavour: FlavourArg,
    /// Lambda's answers the target gives where the sources leave a choice (the embedded mock
    /// is started with the same).
    #[command(flatten)]
    pub lambda: LambdaArgs,
    /// Write a JUnit XML report here (one testcase per check).
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Colour in the report: auto (terminals, and not when NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// No progress bar (it is off anyway when stderr is not a terminal or CI is set).
    #[arg(long)]
    pub no_progress: bool,
    /// List the checks with their rules and exit.
    #[arg(long)]
    pub list: bool,
}

/// The profiles, as flags spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// Inferred rules are binding.
    Strict,
    /// Inferred rules only warn.
    Relaxed,
}

/// When to colour the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// On a terminal without NO_COLOR.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Options of `tasktoken serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to bind.
    #[arg(long, env = "TASKTOKEN_HOST", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// Port to bind; 0 picks a free one (the bound address is printed on stdout).
    #[arg(long, env = "TASKTOKEN_PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// `real` runs deadlines on wall-clock time; `virtual` moves only through `POST /_mock/clock`.
    #[arg(long, env = "TASKTOKEN_CLOCK", value_enum, default_value_t = ClockMode::Real)]
    pub clock: ClockMode,
    /// Length of minted AWS tokens: a multiple of 4 from 40 to 2048.
    #[arg(long, env = "TASKTOKEN_TOKEN_LENGTH", default_value_t = DEFAULT_AWS_TOKEN_LEN)]
    pub token_length: usize,
    /// Requests the journal keeps (0 turns it off).
    #[arg(long, env = "TASKTOKEN_JOURNAL_CAPACITY", default_value_t = MockConfig::DEFAULT_JOURNAL_CAPACITY)]
    pub journal_capacity: usize,
    /// Most tasks held at once (about 42 bytes each while pending); creating more answers 409
    /// until a reset.
    #[arg(long, env = "TASKTOKEN_MAX_TASKS", default_value_t = MockConfig::DEFAULT_MAX_TASKS)]
    pub max_tasks: usize,
    /// Most connections open at once; more are answered 503 and closed.
    #[arg(long, env = "TASKTOKEN_MAX_CONNECTIONS", default_value_t = MockConfig::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Seconds a client may take to send a request head; also how long a keep-alive
    /// connection may sit idle before it is closed.
    #[arg(long, env = "TASKTOKEN_HEADER_TIMEOUT", default_value_t = MockConfig::DEFAULT_READ_TIMEOUT_SECS)]
    pub header_timeout: u64,
    /// Seconds a client may take to send a request body (answered 408 and closed after).
    #[arg(long, env = "TASKTOKEN_BODY_TIMEOUT", default_value_t = MockConfig::DEFAULT_READ_TIMEOUT_SECS)]
    pub body_timeout: u64,
    /// Which Alibaba service's limits apply: `cloud-flow` (the larger Output limit) or
    /// `serverless-workflow` (the smaller one; see `tasktoken docs`).
    #[arg(long, env = "TASKTOKEN_ALIBABA_FLAVOUR", value_enum, default_value_t = FlavourArg::CloudFlow)]
    pub alibaba_flavour: FlavourArg,
    /// Apply the documented Alibaba quota: a bucket of 10 requests, refilled at 2 per second.
    #[arg(long, env = "TASKTOKEN_THROTTLE")]
    pub throttle: bool,
    /// Lambda's answers where the sources leave a choice.
    #[command(flatten)]
    pub lambda: LambdaArgs,
    /// Seconds an idle GetActivityTask is held before it answers `{}` (AWS: 60). Measured
    /// on the mock's clock; CI runs want a few seconds, and clients' read timeouts must be
    /// longer than this.
    #[arg(long, value_name = "SECONDS", env = "TASKTOKEN_POLL_HOLD", default_value_t = MockConfig::DEFAULT_POLL_HOLD_SECS)]
    pub poll_hold: u64,
    /// Strict mode: verify request signatures (AWS SigV4; Alibaba RPC v1 or ACS3). Without
    /// keys, each provider accepts the pair test:test.
    #[arg(long, env = "TASKTOKEN_STRICT_AUTH")]
    pub strict_auth: bool,
    /// An AWS key pair strict mode accepts, as ACCESS_KEY_ID:SECRET (repeatable).
    #[arg(
        long = "aws-key",
        value_name = "ID:SECRET",
        env = "TASKTOKEN_AWS_KEYS",
        value_delimiter = ','
    )]
    pub aws_keys: Vec<KeyPair>,
    /// An Alibaba AccessKey pair strict mode accepts, as ACCESS_KEY_ID:SECRET (repeatable).
    #[arg(
        long = "alibaba-key",
        value_name = "ID:SECRET",
        env = "TASKTOKEN_ALIBABA_KEYS",
        value_delimiter = ','
    )]
    pub alibaba_keys: Vec<KeyPair>,
    /// A fault rule to start with, as the JSON `POST /_mock/faults` takes (repeatable), e.g.
    /// '{"provider":"alibaba","error":"InternalServerError","count":2}'.
    #[arg(long = "fault", value_name = "JSON")]
    pub faults: Vec<String>,
}

/// Lambda's choices, as flags spell them (`tasktoken docs` says why each is a choice).
#[derive(Debug, Clone, Copy, Args)]
pub struct LambdaArgs {
    /// The Lambda `Result` limit in bytes: 1048576 (botocore 1.44.5) or 262144 (the model
    /// from launch to August 2026, and the API reference pages).
    #[arg(long, value_name = "BYTES", env = "TASKTOKEN_LAMBDA_RESULT_LIMIT", default_value_t = lambda::RESULT_MAX, value_parser = parse_result_limit)]
    pub lambda_result_limit: usize,
    /// The error for an invalid Lambda callback id, Result or ErrorObject.
    #[arg(long, value_enum, env = "TASKTOKEN_LAMBDA_VALIDATION", default_value_t = LambdaValidationArg::InvalidParameterValue)]
    pub lambda_validation: LambdaValidationArg,
    /// The error for a well-formed Lambda callback id that names no callback.
    #[arg(long, value_enum, env = "TASKTOKEN_LAMBDA_UNKNOWN_ID", default_value_t = LambdaUnknownIdArg::ResourceNotFound)]
    pub lambda_unknown_id: LambdaUnknownIdArg,
}

fn parse_result_limit(text: &str) -> Result<usize, String> {
    text.parse::<usize>()
        .ok()
        .filter(|n| lambda::ResultLimit::from_bytes(*n).is_some())
        .ok_or_else(|| format!("expected {} or {}", lambda::RESULT_MAX, lambda::RESULT_MAX_2025))
}

impl From<LambdaArgs> for LambdaOptions {
    fn from(args: LambdaArgs) -> LambdaOptions {
        LambdaOptions {
            result_limit: lambda::ResultLimit::from_bytes(args.lambda_result_limit)
                .unwrap_or_default(),
            validation: match args.lambda_validation {
                LambdaValidationArg::InvalidParameterValue => {
                    lambda::ValidationCode::InvalidParameterValue
                }
                LambdaValidationArg::ValidationException => {
                    lambda::ValidationCode::ValidationException
                }
            },
            unknown_id: match args.lambda_unknown_id {
                LambdaUnknownIdArg::ResourceNotFound => lambda::UnknownId::ResourceNotFound,
                LambdaUnknownIdArg::CallbackTimeout => lambda::UnknownId::CallbackTimeout,
                LambdaUnknownIdArg::InvalidParameterValue => {
                    lambda::UnknownId::InvalidParameterValue
                }
            },
        }
    }
}

/// `--lambda-validation` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LambdaValidationArg {
    /// `InvalidParameterValueException` 400, the model's error.
    InvalidParameterValue,
    /// `ValidationException` 400, Lambda's framework error.
    ValidationException,
}

/// `--lambda-unknown-id` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LambdaUnknownIdArg {
    /// `ResourceNotFoundException` 404, as both emulators answer.
    ResourceNotFound,
    /// `CallbackTimeoutException` 400.
    CallbackTimeout,
    /// `InvalidParameterValueException` 400.
    InvalidParameterValue,
}

/// The Alibaba flavours, as flags spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlavourArg {
    /// CloudFlow.
    CloudFlow,
    /// Serverless Workflow.
    ServerlessWorkflow,
}

impl From<FlavourArg> for Flavour {
    fn from(arg: FlavourArg) -> Flavour {
        match arg {
            FlavourArg::CloudFlow => Flavour::CloudFlow,
            FlavourArg::ServerlessWorkflow => Flavour::ServerlessWorkflow,
        }
    }
}

/// Which clock the mock runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockMode {
    /// Wall-clock time.
    Real,
    /// A clock that only the control API moves.
    Virtual,
}

/// Why a command did not succeed; [`Error::exit_code`] picks its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--log` is not a tracing filter.
    #[error("--log {filter:?} is not a log filter: {reason}")]
    LogFilter {
        /// The filter given.
        filter: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A file could not be written (`docs --out`, `--junit`, `--json`).
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A time limit that is not a positive number of seconds.
    #[error("{flag} must be a positive number of seconds")]
    Timeout {
        /// The flag.
        flag: &'static str,
    },
    /// The suite could not run.
    #[error(transparent)]
    Check(#[from] CheckError),
    /// Some checks could not run: the token source or the harness failed.
    #[error(
        "{count} check(s) could not run (token source or harness failure), first {first}; \
         see the report"
    )]
    SetupErrors {
        /// How many.
        count: usize,
        /// The first, as `id: reason`.
        first: String,
    },
    /// The target broke at least one checked rule.
    #[error("the target is not conformant: {failed} check(s) failed")]
    NonConformant {
        /// How many checks failed.
        failed: usize,
    },
    /// The mock's configuration is refused.
    #[error(transparent)]
    MockConfig(#[from] TokenLengthError),
    /// A `--fault` that does not parse or is refused.
    #[error("--fault {fault}: {reason}")]
    Fault {
        /// The rule as given.
        fault: String,
        /// Why.
        reason: String,
    },
    /// The address cannot be bound.
    #[error("cannot bind {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A stop-signal handler cannot be installed.
    #[error("cannot install the {signal} handler: {source}")]
    Signal {
        /// `SIGINT` or `SIGTERM`.
        signal: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server failed.
    #[error("the server failed: {0}")]
    Serve(#[source] std::io::Error),
}

impl Error {
    /// The process exit code for this error (see [`tasktoken::exit_code`]); every variant is
    /// listed, so a new one cannot get a code by accident.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::NonConformant { .. } => exit_code::NON_CONFORMANT,
            Error::LogFilter { .. }
            | Error::Runtime(_)
            | Error::Write { .. }
            | Error::Timeout { .. }
            | Error::Check(_)
            | Error::SetupErrors { .. }
            | Error::MockConfig(_)
            | Error::Fault { .. }
            | Error::Bind { .. }
            | Error::Signal { .. }
            | Error::Serve(_) => exit_code::SETUP_ERROR,
        }
    }
}

/// Parses the process arguments, runs, prints an error once, and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = init_logging(&cli.log).and_then(|()| run(cli));
    match outcome {
        Ok(()) => ExitCode::from(exit_code::OK),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Serve(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(Error::Runtime)?
            .block_on(run_serve(args)),
        Command::Docs(args) => run_docs(&args),
        Command::Check(args) => run_check(args),
    }
}

fn run_docs(args: &DocsArgs) -> Result<(), Error> {
    let markdown = tasktoken::docs::render();
    match &args.out {
        None => {
            print!("{markdown}");
            Ok(())
        }
        Some(path) => std::fs::write(path, markdown)
            .map_err(|source| Error::Write { path: path.clone(), source }),
    }
}

fn positive_seconds(seconds: f64, flag: &'static str) -> Result<Duration, Error> {
    if seconds.is_finite() && seconds > 0.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(Error::Timeout { flag })
    }
}

fn run_check(args: CheckArgs) -> Result<(), Error> {
    let mut providers = args.provider.clone();
    providers.dedup();
    if args.list {
        for provider in &providers {
            for check in tasktoken::check::catalogue(*provider) {
                println!(
                    "{:<44} {:<11} {} [{}] {}",
                    check.id,
                    check.group.name(),
                    check.rule.id,
                    check.rule.provenance,
                    check.description
                );
            }
        }
        return Ok(());
    }
    let request_timeout = positive_seconds(args.request_timeout, "--timeout")?;
    let check_timeout = positive_seconds(args.check_timeout, "--check-timeout")?;
    let color = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let credentials = match (&args.access_key_id, &args.secret_key) {
        (Some(id), Some(secret)) => {
            Some(Credentials::new(id.clone(), secret.expose(), args.region.clone()))
        }
        _ => None,
    };
    let mut reports = Vec::new();
    for provider in providers {
        let config = CheckConfig {
            provider,
            target: args.target.clone(),
            tokens: args.tokens.clone(),
            profile: match args.profile {
                ProfileArg::Strict => Profile::Strict,
                ProfileArg::Relaxed => Profile::Relaxed,
            },
            cases: args.cases,
            seed: args.seed,
            select: args.select.clone(),
            exclude: args.exclude.clone(),
            request_timeout,
            check_timeout,
            concurrency: args.concurrency,
            credentials: credentials.clone(),
            alibaba_flavour: args.alibaba_flavour.into(),
            lambda: args.lambda.into(),
        };
        let total = tasktoken::check::selected(&config)?.len() as u64;
        let progress = Progress::new(total, !args.no_progress && progress_wanted());
        let report = run_blocking(&config, &progress)?;
        print!("{}", human::render(&report, color));
        println!();
        reports.push(report);
    }
    if let Some(path) = &args.junit {
        junit::write_all(&reports, path)
            .map_err(|source| Error::Write { path: path.clone(), source })?;
    }
    if let Some(path) = &args.json {
        json::write_all(&reports, path)
            .map_err(|source| Error::Write { path: path.clone(), source })?;
    }
    let setup_errors: Vec<String> = reports
        .iter()
        .flat_map(|r| r.setup_errors())
        .map(|r| match &r.verdict {
            tasktoken::check::Verdict::Skip { reason, .. } => format!("{}: {reason}", r.id),
            other => format!("{}: {}", r.id, other.label()),
        })
        .collect();
    if let Some(first) = setup_errors.first() {
        return Err(Error::SetupErrors { count: setup_errors.len(), first: first.clone() });
    }
    let failed: usize = reports.iter().map(|r| r.counts().1).sum();
    if failed == 0 {
        Ok(())
    } else {
        Err(Error::NonConformant { failed })
    }
}

async fn run_serve(args: ServeArgs) -> Result<(), Error> {
    let config = MockConfig {
        clock: match args.clock {
            ClockMode::Real => Clock::real(),
            ClockMode::Virtual => Clock::virtual_now(),
        },
        token_length: args.token_length,
        journal_capacity: args.journal_capacity,
        max_tasks: args.max_tasks,
        max_connections: args.max_connections,
        header_read_timeout: Duration::from_secs(args.header_timeout.max(1)),
        body_read_timeout: Duration::from_secs(args.body_timeout.max(1)),
        alibaba_flavour: args.alibaba_flavour.into(),
        throttle: args.throttle,
        lambda: args.lambda.into(),
        poll_hold: Duration::from_secs(args.poll_hold),
        auth: args.strict_auth.then(|| {
            let keys = |pairs: &[KeyPair]| {
                if pairs.is_empty() {
                    Keys::new([KeyPair::new("test", "test")])
                } else {
                    Keys::new(pairs.iter().cloned())
                }
            };
            StrictAuth { aws: keys(&args.aws_keys), alibaba: keys(&args.alibaba_keys) }
        }),
        ..MockConfig::default()
    };
    let mock = Mock::new(config)?;
    for fault in &args.faults {
        let added = serde_json::from_str::<FaultSpec>(fault)
            .map_err(|e| e.to_string())
            .and_then(|spec| mock.add_fault(spec).map_err(|e| e.to_string()));
        if let Err(reason) = added {
            return Err(Error::Fault { fault: fault.clone(), reason });
        }
    }
    let address = SocketAddr::new(args.host, args.port);
    let listener =
        tasktoken::mock::bind(address).await.map_err(|source| Error::Bind { address, source })?;
    let bound = listener.local_addr().map_err(|source| Error::Bind { address, source })?;
    // The handlers are in place before the line that tells a supervisor the server is up, so
    // a signal sent right after it stops the server cleanly instead of killing the process.
    let stop = stop_signal()?;
    println!("tasktoken listening on http://{bound}");
    serve(mock, listener, stop).await.map_err(Error::Serve)
}

/// Installs the SIGINT and (on Unix) SIGTERM handlers now, and returns a future that
/// completes on either.
fn stop_signal() -> Result<impl std::future::Future<Output = ()>, Error> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt())
            .map_err(|source| Error::Signal { signal: "SIGINT", source })?;
        let mut terminate = signal(SignalKind::terminate())
            .map_err(|source| Error::Signal { signal: "SIGTERM", source })?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
            tracing::info!("stopping");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("stopping");
        })
    }
}

fn init_logging(filter: &str) -> Result<(), Error> {
    let parsed = tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| Error::LogFilter { filter: filter.to_owned(), reason: e.to_string() })?;
    let _ =
        tracing_subscriber::fmt().with_env_filter(parsed).with_writer(std::io::stderr).try_init();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;
    use tasktoken::check::SourceError;

    /// One of each variant, with made-up details.
    fn every_error() -> Vec<Error> {
        let io = || std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied");
        let address = SocketAddr::from(([127, 0, 0, 1], 4599));
        vec![
            Error::LogFilter { filter: "[".into(), reason: "invalid filter".into() },
            Error::Runtime(io()),
            Error::Write { path: "report.xml".into(), source: io() },
            Error::Timeout { flag: "--timeout" },
            Error::Check(CheckError::NoMatch { provider: Provider::Aws, pattern: "nope".into() }),
            Error::Check(CheckError::TokenSource {
                source: SourceError {
                    source_name: "mock".into(),
                    message: "GET /_mock/clock answered 404".into(),
                },
                target: "http://127.0.0.1:9".into(),
            }),
            Error::Check(CheckError::Sign(tasktoken::auth::SignError {
                reason: "the access key id or region cannot appear in an Authorization header"
                    .into(),
            })),
            Error::SetupErrors {
                count: 3,
                first: "aws.state.sequences: token source mock: …".into(),
            },
            Error::NonConformant { failed: 2 },
            Error::MockConfig(TokenLengthError(3)),
            Error::Fault { fault: "{}".into(), reason: "missing field `provider`".into() },
            Error::Bind { address, source: io() },
            Error::Signal { signal: "SIGTERM", source: io() },
            Error::Serve(io()),
        ]
    }

    #[test]
    fn every_error_has_its_message_and_exit_code() {
        let mut table = String::new();
        for error in every_error() {
            let _ = writeln!(table, "{}  error: {error}", error.exit_code());
        }
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("../snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!("cli_errors", table));
    }

    #[test]
    fn only_a_non_conformant_target_exits_1() {
        for error in every_error() {
            let want = if matches!(error, Error::NonConformant { .. }) {
                exit_code::NON_CONFORMANT
            } else {
                exit_code::SETUP_ERROR
            };
            assert_eq!(error.exit_code(), want, "{error}");
        }
    }

    #[test]
    fn the_secret_key_never_shows_in_the_parsed_command_line() {
        let cli = Cli::parse_from([
            "tasktoken",
            "check",
            "--access-key-id",
            "AKID",
            "--secret-key",
            "marker-secret-0123",
        ]);
        let shown = format!("{cli:?}");
        assert!(shown.contains("AKID"), "{shown}");
        assert!(!shown.contains("marker-secret-0123"), "{shown}");
    }

    #[test]
    fn defaults_come_from_the_library_constants() {
        let Command::Check(check) = Cli::parse_from(["tasktoken", "check"]).command else {
            panic!("not check")
        };
        let config = CheckConfig::new(Provider::Aws);
        assert_eq!(check.cases, config.cases);
        assert_eq!(positive_seconds(check.request_timeout, "").unwrap(), config.request_timeout);
        assert_eq!(positive_seconds(check.check_timeout, "").unwrap(), config.check_timeout);
        assert_eq!(check.concurrency, config.concurrency);
        let Command::Serve(serve) = Cli::parse_from(["tasktoken", "serve"]).command else {
            panic!("not serve")
        };
        let mock = MockConfig::default();
        assert_eq!(serve.journal_capacity, mock.journal_capacity);
        assert_eq!(serve.max_tasks, mock.max_tasks);
        assert_eq!(serve.max_connections, mock.max_connections);
        assert_eq!(Duration::from_secs(serve.header_timeout), mock.header_read_timeout);
        assert_eq!(Duration::from_secs(serve.body_timeout), mock.body_read_timeout);
        assert_eq!(serve.token_length, mock.token_length);
    }
}
