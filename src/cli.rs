//! The command line: `tasktoken serve` (and the commands that follow), parsed with clap and mapped to exit codes.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::auth::{KeyPair, Keys};
use crate::contract::alibaba::Flavour;
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
    /// Serve the mock: the provider API and the control API on one port.
    Serve(ServeArgs),
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
    /// Most tasks held at once; creating more answers 409 until a reset.
    #[arg(long, env = "TASKTOKEN_MAX_TASKS")]
    pub max_tasks: Option<usize>,
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
        max_tasks: args.max_tasks.unwrap_or(usize::MAX),
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
            .and_then(|spec| mock.add_fault(spec));
        if let Err(e) = added {
            eprintln!("error: --fault {fault}: {e}");
            return exit_code::SETUP_ERROR;
        }
    }
    let address = SocketAddr::new(args.host, args.port);
    let listener = match tokio::net::TcpListener::bind(address).await {
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
