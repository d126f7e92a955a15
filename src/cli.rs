//! The command line: `tasktoken check` and `tasktoken serve`, parsed with clap and mapped to the exit codes of [`crate::exit_code`].

use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::auth::{KeyPair, Keys};
use crate::check::report::{human, json, junit, progress_wanted, Progress};
use crate::check::{run_blocking, CheckConfig, Credentials, Profile, TokenSourceSpec};
use crate::contract::alibaba::Flavour;
use crate::contract::Provider;
use crate::exit_code;
use crate::mock::{serve, FaultSpec, Mock, MockConfig, StrictAuth};
use crate::tasks::token::DEFAULT_AWS_TOKEN_LEN;
use crate::tasks::Clock;

/// Reference mock and conformance suite for task-token callback APIs.
#[derive(Debug, Parser)]
#[command(name = "tasktoken", version, about, long_about = None)]
pub struct Cli {
    /// Log filter (tracing syntax: warn, info, tasktoken=debug, ...). Logs go to stderr.
    #[arg(long, global = true, env = "TASKTOKEN_LOG", default_value = "warn")]
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
    /// Which provider's contract to check (repeatable or comma-separated; both by default).
    #[arg(long, value_delimiter = ',', default_values = ["aws", "alibaba"])]
    pub provider: Vec<Provider>,
    /// The endpoint to check, e.g. http://127.0.0.1:4566; without it the embedded mock is
    /// started in-process and checked.
    #[arg(long, value_name = "URL", env = "TASKTOKEN_TARGET")]
    pub target: Option<String>,
    /// Where live tokens come from: `mock` (the tasktoken control API on the target),
    /// `command:CMD` (a shell command printing one fresh token per run), `aws-sqs-callback`
    /// (a state machine with an SQS .waitForTaskToken task; moto, LocalStack) or
    /// `aws-activity` (an activity task; real AWS, LocalStack).
    #[arg(long, value_name = "SOURCE", default_value = "mock")]
    pub tokens: TokenSourceSpec,
    /// `strict`: a broken inferred rule fails; `relaxed`: it warns.
    #[arg(long, value_enum, default_value_t = ProfileArg::Strict)]
    pub profile: ProfileArg,
    /// Cases per property.
    #[arg(long, value_name = "N", default_value_t = 32)]
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
    #[arg(long = "timeout", value_name = "SECONDS", default_value_t = 10.0)]
    pub request_timeout: f64,
    /// Seconds one check may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 120.0)]
    pub check_timeout: f64,
    /// Checks run at once.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub concurrency: usize,
    /// Access key id to sign requests with (SigV4 for AWS, RPC v1 for Alibaba).
    #[arg(long, env = "TASKTOKEN_ACCESS_KEY_ID", requires = "secret_key")]
    pub access_key_id: Option<String>,
    /// Secret to sign requests with.
    #[arg(long, env = "TASKTOKEN_SECRET_KEY", requires = "access_key_id", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Region for SigV4 scopes.
    #[arg(long, env = "TASKTOKEN_REGION", default_value = "us-east-1")]
    pub region: String,
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
    #[arg(long, env = "TASKTOKEN_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to bind; 0 picks a free one (the bound address is printed on stdout).
    #[arg(long, env = "TASKTOKEN_PORT", default_value_t = 4599)]
    pub port: u16,
    /// `real` runs deadlines on wall-clock time; `virtual` moves only through `POST /_mock/clock`.
    #[arg(long, env = "TASKTOKEN_CLOCK", value_enum, default_value_t = ClockMode::Real)]
    pub clock: ClockMode,
    /// Length of minted AWS tokens: a multiple of 4 from 40 to 2048.
    #[arg(long, env = "TASKTOKEN_TOKEN_LENGTH", default_value_t = DEFAULT_AWS_TOKEN_LEN)]
    pub token_length: usize,
    /// Requests the journal keeps (0 turns it off).
    #[arg(long, env = "TASKTOKEN_JOURNAL_CAPACITY", default_value_t = 1000)]
    pub journal_capacity: usize,
    /// Most tasks held at once (about 42 bytes each while pending); creating more answers 409
    /// until a reset.
    #[arg(long, env = "TASKTOKEN_MAX_TASKS", default_value_t = 5_000_000)]
    pub max_tasks: usize,
    /// Most connections open at once; more are answered 503 and closed.
    #[arg(long, env = "TASKTOKEN_MAX_CONNECTIONS", default_value_t = 16_384)]
    pub max_connections: usize,
    /// Seconds a client may take to send a request head; also how long a keep-alive
    /// connection may sit idle before it is closed.
    #[arg(long, env = "TASKTOKEN_HEADER_TIMEOUT", default_value_t = 30)]
    pub header_timeout: u64,
    /// Seconds a client may take to send a request body (answered 408 and closed after).
    #[arg(long, env = "TASKTOKEN_BODY_TIMEOUT", default_value_t = 30)]
    pub body_timeout: u64,
    /// Which Alibaba service's limits apply: `cloud-flow` (Output up to 65536 bytes) or
    /// `serverless-workflow` (32768 bytes).
    #[arg(long, env = "TASKTOKEN_ALIBABA_FLAVOUR", value_enum, default_value_t = FlavourArg::CloudFlow)]
    pub alibaba_flavour: FlavourArg,
    /// Apply the documented Alibaba quota: a bucket of 10 requests, refilled at 2 per second.
    #[arg(long, env = "TASKTOKEN_THROTTLE")]
    pub throttle: bool,
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

/// The Alibaba flavours, as flags spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlavourArg {
    /// CloudFlow.
    CloudFlow,
    /// Serverless Workflow.
    ServerlessWorkflow,
}

/// Which clock the mock runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockMode {
    /// Wall-clock time.
    Real,
    /// A clock that only the control API moves.
    Virtual,
}

/// Parses the process arguments, runs, and returns the documented exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log);
    ExitCode::from(run(cli))
}

/// Runs a parsed command line; returns an exit code from [`crate::exit_code`].
pub fn run(cli: Cli) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit_code::SETUP_ERROR;
        }
    };
    match cli.command {
        Command::Serve(args) => runtime.block_on(run_serve(args)),
        Command::Docs(args) => run_docs(&args),
        Command::Check(args) => {
            drop(runtime);
            run_check(args)
        }
    }
}

fn run_docs(args: &DocsArgs) -> u8 {
    let markdown = crate::docs::render();
    match &args.out {
        None => {
            print!("{markdown}");
            exit_code::OK
        }
        Some(path) => match std::fs::write(path, markdown) {
            Ok(()) => exit_code::OK,
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                exit_code::SETUP_ERROR
            }
        },
    }
}

fn run_check(args: CheckArgs) -> u8 {
    let mut providers = args.provider.clone();
    providers.dedup();
    if args.list {
        for provider in &providers {
            for check in crate::check::catalogue(*provider) {
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
        return exit_code::OK;
    }
    let timeout = |s: f64, flag: &str| {
        if s.is_finite() && s > 0.0 {
            Ok(Duration::from_secs_f64(s))
        } else {
            Err(format!("{flag} must be a positive number of seconds"))
        }
    };
    let (request_timeout, check_timeout) = match (
        timeout(args.request_timeout, "--timeout"),
        timeout(args.check_timeout, "--check-timeout"),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return exit_code::SETUP_ERROR;
        }
    };
    let color = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
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
            credentials: match (&args.access_key_id, &args.secret_key) {
                (Some(id), Some(secret)) => Some(Credentials {
                    access_key_id: id.clone(),
                    secret: secret.clone(),
                    region: args.region.clone(),
                }),
                _ => None,
            },
        };
        let total = match crate::check::selected(&config) {
            Ok(checks) => checks.len() as u64,
            Err(e) => {
                eprintln!("error: {e}");
                return exit_code::SETUP_ERROR;
            }
        };
        let progress = Progress::new(total, !args.no_progress && progress_wanted());
        match run_blocking(&config, &progress) {
            Ok(report) => {
                print!("{}", human::render(&report, color));
                println!();
                reports.push(report);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return exit_code::SETUP_ERROR;
            }
        }
    }
    if let Some(path) = &args.junit {
        if let Err(e) = junit::write_all(&reports, path) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return exit_code::SETUP_ERROR;
        }
    }
    if let Some(path) = &args.json {
        if let Err(e) = json::write_all(&reports, path) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return exit_code::SETUP_ERROR;
        }
    }
    let setup_errors: Vec<String> = reports
        .iter()
        .flat_map(|r| r.setup_errors())
        .map(|r| format!("{}: {}", r.id, r.verdict.label()))
        .collect();
    if !setup_errors.is_empty() {
        eprintln!(
            "error: {} check(s) could not run (token source or harness failure); see the report",
            setup_errors.len()
        );
        return exit_code::SETUP_ERROR;
    }
    if reports.iter().all(|r| r.conformant()) {
        exit_code::OK
    } else {
        exit_code::NON_CONFORMANT
    }
}

async fn run_serve(args: ServeArgs) -> u8 {
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
        alibaba_flavour: match args.alibaba_flavour {
            FlavourArg::CloudFlow => Flavour::CloudFlow,
            FlavourArg::ServerlessWorkflow => Flavour::ServerlessWorkflow,
        },
        throttle: args.throttle,
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
    let mock = match Mock::new(config) {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("error: {e}");
            return exit_code::SETUP_ERROR;
        }
    };
    for fault in &args.faults {
        let added = serde_json::from_str::<FaultSpec>(fault)
            .map_err(|e| e.to_string())
            .and_then(|spec| mock.add_fault(spec).map_err(|e| e.to_string()));
        if let Err(e) = added {
            eprintln!("error: --fault {fault}: {e}");
            return exit_code::SETUP_ERROR;
        }
    }
    let address = SocketAddr::new(args.host, args.port);
    let listener = match crate::mock::bind(address).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot bind {address}: {e}");
            return exit_code::SETUP_ERROR;
        }
    };
    match listener.local_addr() {
        Ok(bound) => println!("tasktoken listening on http://{bound}"),
        Err(e) => {
            eprintln!("error: {e}");
            return exit_code::SETUP_ERROR;
        }
    }
    match serve(mock, listener, stop_signal()).await {
        Ok(()) => exit_code::OK,
        Err(e) => {
            eprintln!("error: {e}");
            exit_code::SETUP_ERROR
        }
    }
}

/// Completes on SIGINT or (on Unix) SIGTERM.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("stopping");
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
