//! # tasktoken
//!
//! The reference mock and conformance suite for the task-token callback APIs of workflow
//! services: AWS Step Functions `SendTaskSuccess`, `SendTaskFailure` and
//! `SendTaskHeartbeat`, and Alibaba Cloud CloudFlow / Serverless Workflow
//! `ReportTaskSucceeded` and `ReportTaskFailed`.
//!
//! A worker that finishes a long task reports back with the token it was given. This crate
//! encodes exactly what the service does with that report (token lengths, output limits
//! counted in UTF-8 bytes, the exact error for a reused or expired token, one winner among
//! racing completions) as one contract model ([`contract`]), one task state machine
//! ([`tasks`]) and thin adapters: wire codecs ([`wire`]), signature checks ([`auth`]), an
//! HTTP server ([`MockServer`]), a wiremock responder ([`ContractResponder`]), the
//! conformance suite ([`check`]) and the contract as Markdown ([`docs`]).
//!
//! ## In-process use from tests
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use tasktoken::{MockServer, Provider, Status, TaskSpec};
//!
//! let server = MockServer::start().await; // 127.0.0.1, ephemeral port, virtual clock
//! let task = server.create_task(TaskSpec::new(Provider::Aws).heartbeat_seconds(10)).unwrap();
//!
//! // The worker under test calls SendTaskSuccess on server.uri() with task.task_token:
//! let response = reqwest::Client::new()
//!     .post(server.uri())
//!     .header("X-Amz-Target", "AWSStepFunctions.SendTaskSuccess")
//!     .header("Content-Type", "application/x-amz-json-1.0")
//!     .body(serde_json::json!({"taskToken": task.task_token, "output": "[1,2]"}).to_string())
//!     .send()
//!     .await
//!     .unwrap();
//! assert_eq!(response.status(), 200);
//!
//! let view = server.task(task.task_id).unwrap();
//! assert_eq!(view.status, Status::Succeeded);
//! assert_eq!(view.output.as_deref(), Some("[1,2]"));
//! # });
//! ```
//!
//! ## Running the conformance suite from Rust
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let mut config = tasktoken::check::CheckConfig::new(tasktoken::Provider::Aws);
//! config.select = vec!["state".into()]; // a group; no target: the embedded mock
//! let report = tasktoken::check::run(config).await.unwrap();
//! assert!(report.conformant());
//! # });
//! ```
//!
//! Exit codes of the binary are listed in [`exit_code`].
//!
//! ## Where things live
//!
//! | layer | module | what it is |
//! | --- | --- | --- |
//! | contract | [`contract`] | every rule, limit, error and check step as data, with provenance |
//! | codecs | [`wire`] | pure functions between a provider's bytes and a [`wire::Call`] |
//! | store | [`tasks`] | the one task state machine: tokens, deadlines, one winner per task |
//! | signatures | `auth` | SigV4 and Alibaba RPC/ACS3, verifying and signing (feature `strict-auth`) |
//! | mock | [`Mock`], [`MockServer`] | a neutral engine; one adapter per provider in `mock/providers/` |
//! | checker | `check` | the named checks, token sources and reports (feature `check`) |
//!
//! A request to the mock: [`MockServer`] reads the head, the engine routes it once to the
//! provider whose adapter claims it and takes that adapter's body limit, the body is read
//! within it, and the adapter runs the codec, the fault rules, strict mode and the store,
//! and hands back its response with what the journal keeps. A check: `check::run` selects
//! the catalogue entries, mints live tokens from its token source, sends requests built by
//! the codecs to the target and compares what comes back with the contract's rule.
//!
//! ## Features
//!
//! `default` is everything (`cli`). A test crate that embeds only the mock takes
//! `default-features = false, features = ["mock"]`; add `wiremock` for
//! [`ContractResponder`] and `strict-auth` for signature checking.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "strict-auth")]
pub mod auth;
#[cfg(feature = "check")]
pub mod check;
pub mod contract;
pub mod docs;
pub mod exit_code;
#[cfg(feature = "mock")]
pub mod mock;
pub mod tasks;
pub mod wire;

pub use contract::{Contract, Provenance, Provider, Rule, Unit};
#[cfg(feature = "wiremock")]
pub use mock::ContractResponder;
#[cfg(feature = "strict-auth")]
pub use mock::StrictAuth;
#[cfg(feature = "mock")]
pub use mock::{FaultSpec, Mock, MockConfig, MockServer};
pub use tasks::{Clock, NewTask, Status, TaskId, TaskSpec, TaskView};

/// Internals that this crate's own tests, benches and fuzz targets reach into. Not part of
/// the API: anything here may change in any release.
#[doc(hidden)]
pub mod testing {
    #[cfg(feature = "check")]
    pub use crate::check::internals::*;
    #[cfg(feature = "mock")]
    pub use crate::mock::{is_control_path, route};
}
