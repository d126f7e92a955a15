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

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod check;
pub mod contract;
pub mod docs;
pub mod exit_code;
pub mod mock;
pub mod tasks;
pub mod wire;

pub use contract::{Contract, Provenance, Provider, Rule, Unit};
pub use mock::{ContractResponder, FaultSpec, Mock, MockConfig, MockServer, StrictAuth};
pub use tasks::{Clock, NewTask, Status, TaskId, TaskSpec, TaskView};
