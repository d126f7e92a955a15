//! The conformance suite: named checks run against any endpoint implementing a provider's API.
//!
//! Modules depend on each other in one direction: [`outcome`] ← [`target`] ← [`call`] and
//! [`tokens`] ← [`context`] ← `checks` ← `run`; signing and [`Credentials`] live in
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

pub mod call;
mod checks;
pub mod context;
pub mod history;
pub mod model;
pub mod outcome;
pub mod report;
mod run;
pub mod strategies;
pub mod target;
pub mod tokens;

pub use crate::auth::Credentials;
pub use checks::{catalogue, Check};
pub use context::{Halt, SetupError, SkipReason};
pub use outcome::{CheckResult, Group, Profile, Report, Verdict};
pub use run::{run, run_blocking, selected, CheckConfig, CheckError};
pub use tokens::TokenSourceSpec;
