//! The conformance suite: named checks run against any endpoint implementing a provider's API.
//!
//! Modules depend on each other in one direction: `outcome` ← `target` ← `call` and
//! `tokens` ← `context` ← `checks` ← `run`; signing and [`Credentials`] live in
//! [`crate::auth`].
//!
//! `tasktoken check` is [`run_blocking`] with options from the command line; a Rust project
//! (an emulator written in Rust, say) can call [`run`] from its own tests:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use tasktoken::check::{run, CheckConfig};
//!
//! let mut config = CheckConfig::new(tasktoken::Provider::Alibaba);
//! config.select = vec!["state".into()];
//! config.cases = 8;
//! let report = run(config).await.unwrap();   // no target: the embedded mock
//! assert!(report.conformant());
//! # });
//! ```

mod call;
mod checks;
mod context;
pub mod history;
pub mod model;
mod outcome;
pub mod report;
mod run;
pub(crate) mod strategies;
mod target;
mod tokens;

pub use crate::auth::Credentials;
pub use checks::{catalogue, Check};
pub use context::{Halt, SetupError, SkipReason};
pub use outcome::{CheckResult, Exchange, Failure, Group, Profile, Report, Verdict};
pub use run::{run, run_blocking, selected, CheckConfig, CheckError};
pub use tokens::{SourceError, TokenSourceSpec};

/// What the crate's own tests reach of the checker's internals (see [`crate::testing`]).
#[doc(hidden)]
pub mod internals {
    pub use super::context::clone_request;
    pub use super::strategies::{fill, pattern};
    pub use super::target::Target;
    pub use super::tokens::{LiveToken, TaskRequest, TokenSource, SQS_CALLBACK_RESOURCE};
}
