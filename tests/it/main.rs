//! The integration tests, as one test binary: one module per former `tests/*.rs` file.
//!
//! One binary links the crate and the dev-dependencies once instead of once per file (as
//! cargo-nextest's `integration-tests/tests/integration/main.rs` does). `common` holds the
//! shared request and snapshot helpers, `faulty` the faulty targets used by `faulty_targets`.
//! Snapshots stay in the top-level `snapshots/` folder (see `common::snapshot_settings`).

mod common;
mod faulty;

mod activities;
mod alibaba_boundaries;
mod alibaba_responses;
mod arbitrary_bytes;
mod aws_boundaries;
mod aws_responses;
mod aws_token_sources;
mod captures;
mod check_order;
mod cli_check;
mod cli_serve;
mod contract_docs;
mod faulty_activities;
mod faulty_lambda;
mod faulty_targets;
mod hostile_targets;
mod http_server;
mod lambda_boundaries;
mod lambda_responses;
mod oversized_bodies;
mod races;
#[cfg(feature = "sdk-tests")] // the official AWS SDK: `cargo test --features sdk-tests`
mod real_sdk;
#[cfg(feature = "sdk-tests")] // aws-sdk-lambda: the durable callbacks
mod real_sdk_lambda;
mod report_formats;
mod shared_clock;
mod signatures;
mod state_machine;
mod strict_auth;
mod utf8_sizes;
