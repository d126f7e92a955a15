//! Checks that run the same way on both providers' wires, expectations read from the contract.
//!
//! Single-use tokens, stored results, member limits, random sequences against the model,
//! deadlines and races; which error means "closed" or "invalid token" is the contract's
//! [`crate::contract::Outcomes`].

use std::sync::Arc;
use std::time::Instant;

use proptest::prelude::*;

use super::{expect, expect_ok, Want};
use crate::check::call::{observe, request, Call, Seen};
use crate::check::context::{CheckRun, Ctx, Halt, SetupError, SkipReason};
use crate::check::history::{self, CallKind, CallResult, Stored};
use crate::check::model::{Expect, ModelCall, ModelTask};
use crate::check::outcome::Failure;
use crate::check::strategies::{fill, fill_chars, json_string_of_bytes, pattern, text};
use crate::check::target::exchange;
use crate::check::tokens::TaskRequest;
use crate::contract::{
    alibaba, aws, lambda, Action, Bound, ErrorSpec, Limit, Member, Operation, Provenance, Provider,
    Unit,
};
use crate::tasks::Status;

/// The closed-task error, with its message when the rule pins it (an inferred message is left
/// to the check that tests it).
fn closed(ctx: &Ctx<'_>, token: &str) -> (&'static ErrorSpec, Option<String>) {
    let spec = ctx.provider.contract().outcomes.closed;
    let pinned = matches!(spec.rule.provenance, Provenance::Observed | Provenance::Documented);
    (spec, spec.render_message(&[token]).filter(|_| pinned))
}

/// Sends `request` and demands the closed error for `token`.
fn expect_closed(ctx: &Ctx<'_>, request: http::Request<bytes::Bytes>, token: &str) -> CheckRun {
    let (spec, message) = closed(ctx, token);
    expect(ctx, request, Want::Error { spec, message: message.as_deref() })?;
    Ok(1)
}

/// Completes a live token, then sends `second`: it must get the closed error.
fn closed_after(ctx: &Ctx<'_>, first_fails: bool, second: impl Fn(&str) -> Call<'_>) -> CheckRun {
    let t = ctx.live()?;
    let first = if first_fails {
        Call::Fail { token: &t.token, error: Some("Check.Error"), cause: Some("first") }
    } else {
        Call::Succeed { token: &t.token, output: "{\"first\":true}" }
    };
    expect_ok(ctx, request(ctx.provider, first, false))?;
    expect_closed(ctx, request(ctx.provider, second(&t.token), false), &t.token)
}

/// A second identical success on a completed task gets the closed error.
pub fn duplicate_success(ctx: &Ctx<'_>) -> CheckRun {
    closed_after(ctx, false, |token| Call::Succeed { token, output: "{\"first\":true}" })
}

/// A failure after a success gets the closed error.
pub fn failure_after_success(ctx: &Ctx<'_>) -> CheckRun {
    closed_after(ctx, false, |token| Call::Fail { token, error: Some("Late"), cause: None })
}

/// A success after a failure gets the closed error.
pub fn success_after_failure(ctx: &Ctx<'_>) -> CheckRun {
    closed_after(ctx, true, |token| Call::Succeed { token, output: "{}" })
}

/// A heartbeat after a completion gets the closed error (AWS).
pub fn heartbeat_after_completion(ctx: &Ctx<'_>) -> CheckRun {
    closed_after(ctx, false, |token| Call::Heartbeat { token })
}

/// The closed error's exact message on Alibaba names the token as sent (inferred).
pub fn closed_message_names_token(ctx: &Ctx<'_>) -> CheckRun {
    let t = ctx.live()?;
    expect_ok(ctx, request(ctx.provider, Call::Succeed { token: &t.token, output: "1" }, false))?;
    let spec = ctx.provider.contract().outcomes.closed;
    let message = spec.render_message(&[&t.token]);
    let again = request(ctx.provider, Call::Succeed { token: &t.token, output: "1" }, false);
    expect(ctx, again, Want::Error { spec, message: message.as_deref() })?;
    Ok(1)
}

/// Garbage tokens get the provider's invalid-token error.
pub fn invalid_token(ctx: &Ctx<'_>) -> CheckRun {
    let garbage = match ctx.provider {
        Provider::Aws => "AQCDnot-a-real-token",
        Provider::Alibaba => "djEjbm90LWEtcmVhbC10b2tlbg==",
        // Well-formed (the id pattern), never issued.
        Provider::Lambda => "AAAAbm90LWEtcmVhbC1jYWxsYmFjaw==",
    };
    let spec = ctx.provider.contract().outcomes.invalid_token;
    let calls = [
        Call::Succeed { token: garbage, output: "{}" },
        Call::Fail { token: garbage, error: Some("E"), cause: None },
    ];
    for call in calls {
        expect(
            ctx,
            request(ctx.provider, call, false),
            Want::Error { spec, message: spec.message },
        )?;
    }
    Ok(2)
}

/// A live token with a non-JSON output gets the invalid-output error, and the task stays open.
pub fn invalid_output(ctx: &Ctx<'_>) -> CheckRun {
    let t = ctx.live()?;
    let bad = request(ctx.provider, Call::Succeed { token: &t.token, output: "{not json" }, false);
    expect(ctx, bad, Want::error(ctx.provider.contract().outcomes.invalid_output))?;
    expect_ok(ctx, request(ctx.provider, Call::Succeed { token: &t.token, output: "{}" }, false))?;
    Ok(1)
}

/// JSON scalars are valid outputs.
pub fn json_scalars(ctx: &Ctx<'_>) -> CheckRun {
    for output in ["\"x\"", "1", "null", "[]", " {\"a\":[1,2]} "] {
        let t = ctx.live()?;
        expect_ok(ctx, request(ctx.provider, Call::Succeed { token: &t.token, output }, false))?;
    }
    Ok(5)
}

/// The stored result is the winner's, byte for byte.
pub fn result_stored(ctx: &Ctx<'_>) -> CheckRun {
    ctx.require(ctx.can().read_state, "read task state")?;
    let strategy = (text(60), text(20), text(60), any::<bool>());
    ctx.property(strategy, |(value, error, cause, fail)| {
        let t = ctx.live()?;
        let output = serde_json::to_string(value).unwrap_or_default();
        let error = if error.is_empty() { "E".to_owned() } else { error.clone() };
        let cause = if cause.is_empty() { "C".to_owned() } else { cause.clone() };
        let call = if *fail {
            Call::Fail { token: &t.token, error: Some(&error), cause: Some(&cause) }
        } else {
            Call::Succeed { token: &t.token, output: &output }
        };
        let (req, res) = ctx.send(request(ctx.provider, call, false))?;
        if observe(ctx.provider, &res) != Seen::Ok {
            return Err(Halt::Fail(ctx.failure("the completion was refused", "200", &req, &res)));
        }
        let state = ctx.state(&t)?.ok_or(Halt::Skip(SkipReason::NoState))?;
        let (want_status, want) = if *fail {
            (Status::Failed, (None, Some(error.clone()), Some(cause.clone())))
        } else {
            (Status::Succeeded, (Some(output.clone()), None, None))
        };
        let got = (state.output.clone(), state.error.clone(), state.cause.clone());
        if state.status != want_status || got != want {
            return Err(Halt::Fail(ctx.failure(
                format!("the task shows {:?} {:?}", state.status, got),
                format!("{want_status:?} {want:?}"),
                &req,
                &res,
            )));
        }
        Ok(())
    })
}

#[derive(Debug, Clone)]
enum SeqOp {
    Succeed { task: usize, valid_json: bool },
    Fail { task: usize },
    Heartbeat { task: usize },
}

/// Random sequences of calls on several tokens answer exactly as the sequential model says.
pub fn sequences(ctx: &Ctx<'_>) -> CheckRun {
    ctx.require(ctx.can().cheap, "mint many tokens cheaply")?;
    let contract = ctx.provider.contract();
    let heartbeats = contract.operations.iter().any(|o| o.action == Action::Heartbeat);
    let json_checked = contract.output_is_json;
    let op = move |n: usize| {
        let t = 0..n;
        let hb = if heartbeats { 3 } else { 0 };
        prop_oneof![
            3 => (t.clone(), any::<bool>()).prop_map(|(task, valid_json)| SeqOp::Succeed { task, valid_json }),
            2 => t.clone().prop_map(|task| SeqOp::Fail { task }),
            hb => t.prop_map(|task| SeqOp::Heartbeat { task }),
        ]
    };
    let strategy =
        (1usize..4).prop_flat_map(move |n| (Just(n), proptest::collection::vec(op(n), 1..16)));
    ctx.property(strategy, |(n, ops)| {
        let tokens: Vec<_> = (0..*n).map(|_| ctx.live()).collect::<Result<_, _>>()?;
        let mut model = vec![ModelTask::default(); *n];
        for (step, op) in ops.iter().enumerate() {
            let (task, call, model_call) = match op {
                SeqOp::Succeed { task, valid_json } => {
                    let output = if *valid_json { "{\"step\":1}" } else { "not json" };
                    let call = Call::Succeed { token: &tokens[*task].token, output };
                    // Where outputs are opaque, any output is a valid one.
                    let valid_json = *valid_json || !json_checked;
                    (*task, call, ModelCall::Succeed { valid_json })
                }
                SeqOp::Fail { task } => {
                    let call =
                        Call::Fail { token: &tokens[*task].token, error: Some("E"), cause: None };
                    (*task, call, ModelCall::Fail)
                }
                SeqOp::Heartbeat { task } => {
                    (*task, Call::Heartbeat { token: &tokens[*task].token }, ModelCall::Heartbeat)
                }
            };
            let outcomes = &ctx.provider.contract().outcomes;
            let want = match model[task].apply(&model_call) {
                Expect::Ok => Want::Ok,
                Expect::Closed => Want::error(outcomes.closed),
                Expect::InvalidOutput => Want::error(outcomes.invalid_output),
            };
            let (req, res) = ctx.send(request(ctx.provider, call, false))?;
            let seen = observe(ctx.provider, &res);
            if !want.matches(&seen) {
                return Err(Halt::Fail(ctx.failure(
                    format!("step {step} ({op:?}) got {}", seen.describe()),
                    want.describe(),
                    &req,
                    &res,
                )));
            }
        }
        Ok(())
    })
}

/// A task past its timeout answers every call with the closed error.
pub fn task_timeout(ctx: &Ctx<'_>) -> CheckRun {
    ctx.require(ctx.can().deadlines, "mint tasks with deadlines")?;
    let t = ctx.mint(TaskRequest { timeout_seconds: Some(1), ..TaskRequest::default() })?;
    ctx.wait(2)?;
    let call = Call::Succeed { token: &t.token, output: "{}" };
    expect_closed(ctx, request(ctx.provider, call, false), &t.token)
}

/// A task whose heartbeat deadline passed answers with the closed error (AWS).
pub fn heartbeat_timeout(ctx: &Ctx<'_>) -> CheckRun {
    ctx.require(ctx.can().deadlines, "mint tasks with deadlines")?;
    let t = ctx.mint(TaskRequest { heartbeat_seconds: Some(1), ..TaskRequest::default() })?;
    ctx.wait(2)?;
    let call = Call::Heartbeat { token: &t.token };
    expect_closed(ctx, request(ctx.provider, call, false), &t.token)
}

/// Heartbeats do not extend the overall timeout (AWS). HeartbeatSeconds must be below
/// TimeoutSeconds (States Language), so: timeout 3 s, heartbeat 2 s, heartbeats at 1 s and
/// 2 s, and at 3 s the task is timed out all the same.
pub fn heartbeat_does_not_extend_timeout(ctx: &Ctx<'_>) -> CheckRun {
    ctx.require(ctx.can().deadlines, "mint tasks with deadlines")?;
    let deadlines = TaskRequest {
        timeout_seconds: Some(3),
        heartbeat_seconds: Some(2),
        ..TaskRequest::default()
    };
    let t = ctx.mint(deadlines)?;
    for _ in 0..2 {
        ctx.wait(1)?;
        expect_ok(ctx, request(ctx.provider, Call::Heartbeat { token: &t.token }, false))?;
    }
    ctx.wait(1)?;
    let call = Call::Succeed { token: &t.token, output: "{}" };
    expect_closed(ctx, request(ctx.provider, call, false), &t.token)
}

/// Heartbeats keep a task with a heartbeat deadline alive (AWS).
pub fn heartbeat_keeps_alive(ctx: &Ctx<'_>) -> CheckRun {
    ctx.require(ctx.can().deadlines, "mint tasks with deadlines")?;
    let t = ctx.mint(TaskRequest { heartbeat_seconds: Some(2), ..TaskRequest::default() })?;
    for _ in 0..3 {
        ctx.wait(1)?;
        expect_ok(ctx, request(ctx.provider, Call::Heartbeat { token: &t.token }, false))?;
    }
    ctx.wait(1)?;
    expect_ok(ctx, request(ctx.provider, Call::Succeed { token: &t.token, output: "{}" }, false))?;
    Ok(1)
}

#[derive(Debug, Clone)]
enum RaceCall {
    Succeed(String),
    Fail(String, String),
    Heartbeat,
}

/// N concurrent calls on one token, fired behind a barrier: the history is linearizable.
pub fn races(ctx: &Ctx<'_>) -> CheckRun {
    let has_heartbeat =
        ctx.provider.contract().operations.iter().any(|o| o.action == Action::Heartbeat);
    let heartbeats = if has_heartbeat { 1 } else { 0 };
    let call = prop_oneof![
        3 => text(24).prop_map(|s| RaceCall::Succeed(serde_json::to_string(&s).unwrap_or_default())),
        2 => (text(12), text(24)).prop_map(|(e, c)| RaceCall::Fail(format!("E{e}"), format!("C{c}"))),
        heartbeats => Just(RaceCall::Heartbeat),
    ];
    let strategy = proptest::collection::vec(call, 2..=64);
    ctx.property_cases(ctx.cases.clamp(1, 16), strategy, |calls| race_once(ctx, calls))
}

fn race_once(ctx: &Ctx<'_>, calls: &[RaceCall]) -> Result<(), Halt> {
    let t = ctx.live()?;
    let requests: Vec<http::Request<bytes::Bytes>> = calls
        .iter()
        .map(|c| {
            let call = match c {
                RaceCall::Succeed(o) => Call::Succeed { token: &t.token, output: o },
                RaceCall::Fail(e, cause) => {
                    Call::Fail { token: &t.token, error: Some(e), cause: Some(cause) }
                }
                RaceCall::Heartbeat => Call::Heartbeat { token: &t.token },
            };
            ctx.sign(request(ctx.provider, call, false))
        })
        .collect::<Result<_, _>>()?;
    let start = Instant::now();
    let barrier = Arc::new(tokio::sync::Barrier::new(requests.len()));
    let target = ctx.target.clone();
    let results = ctx.runtime.block_on(async {
        let mut handles = Vec::new();
        for req in &requests {
            let (barrier, target) = (barrier.clone(), target.clone());
            let req = crate::check::context::clone_request(req);
            handles.push(tokio::spawn(async move {
                barrier.wait().await;
                let invoked = start.elapsed().as_nanos() as u64;
                let result = target.send(req).await;
                (invoked, start.elapsed().as_nanos() as u64, result)
            }));
        }
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await);
        }
        out
    });
    let closed = ctx.provider.contract().outcomes.closed;
    let mut history_calls = Vec::new();
    let mut exchanges = Vec::new();
    for ((call, req), joined) in calls.iter().zip(&requests).zip(results) {
        let Ok((invoked, returned, result)) = joined else {
            return Err(Halt::Setup(SetupError::Panicked));
        };
        let seen = observe(ctx.provider, &result);
        let outcome = match &seen {
            Seen::Ok => CallResult::Ok,
            seen if seen.is(closed) => CallResult::Closed,
            Seen::Transport(_) => CallResult::Unknown,
            other => {
                return Err(Halt::Fail(ctx.failure(
                    format!("a racing call got {}", other.describe()),
                    format!("200 or {}", closed.code),
                    req,
                    &result,
                )))
            }
        };
        let kind = match call {
            RaceCall::Succeed(o) => CallKind::Complete(Stored::Succeeded(o.clone())),
            RaceCall::Fail(e, c) => {
                CallKind::Complete(Stored::Failed(Some(e.clone()), Some(c.clone())))
            }
            RaceCall::Heartbeat => CallKind::Heartbeat,
        };
        exchanges.push(exchange(req, &result));
        history_calls.push(history::Call { kind, invoked, returned, result: outcome });
    }
    let observed = match ctx.state(&t)? {
        Some(state) => Some(match state.status {
            Status::Succeeded => Some(Stored::Succeeded(state.output.unwrap_or_default())),
            Status::Failed => Some(Stored::Failed(state.error, state.cause)),
            Status::Pending | Status::TimedOut => None,
        }),
        None => None,
    };
    match history::check(&history_calls, observed.as_ref()) {
        Ok(_) => Ok(()),
        Err(reason) => {
            let winners: Vec<_> = history_calls
                .iter()
                .zip(&exchanges)
                .filter(|(c, _)| {
                    c.result == CallResult::Ok && matches!(c.kind, CallKind::Complete(_))
                })
                .collect();
            Err(Halt::Fail(Failure {
                message: format!("not linearizable: {reason}"),
                expected:
                    "at most one completion answered 200, every other call the closed error, \
                           and the stored result is the winner's"
                        .into(),
                minimal_case: None,
                exchange: winners
                    .get(1)
                    .or(winners.first())
                    .map(|(_, e)| (*e).clone())
                    .or(exchanges.first().cloned())
                    .map(Box::new),
                transport_error: false,
            }))
        }
    }
}

/// The positions where the identity checks cut and alter a token, for descriptions: `64, 128,
/// 255, 256, 512 and 1024 (where the token is that long)`.
pub(super) fn cuts() -> String {
    let cuts: Vec<String> = super::identity::CUTS.iter().map(usize::to_string).collect();
    let (last, rest) = cuts.split_last().map_or(("", &[][..]), |(l, r)| (l.as_str(), r));
    format!("{} and {last} (where the token is that long)", rest.join(", "))
}

/// The Coral validation message for one violation.
pub(super) fn aws_violation(member: &str, constraint: &str) -> String {
    format!(
        "1 validation error detected: Value at '{member}' failed to satisfy constraint: {constraint}"
    )
}

/// What a value of `member` off `bound` of `limit` gets: the member's own error when it has
/// one (Alibaba's `EntityTooLarge` for `Output`), else the provider's validation error.
pub(super) fn limit_error(
    provider: Provider,
    member: &Member,
    limit: Limit,
    bound: Bound,
) -> (&'static ErrorSpec, Option<String>) {
    if let (Bound::TooLong, Some(spec)) = (bound, member.too_long) {
        return (spec, spec.render_message(&[&limit.max.to_string()]));
    }
    match provider {
        Provider::Aws => {
            let constraint = match bound {
                Bound::TooLong => {
                    format!("Member must have length less than or equal to {}", limit.max)
                }
                Bound::TooShort => {
                    format!("Member must have length greater than or equal to {}", limit.min)
                }
            };
            (&aws::VALIDATION, Some(aws_violation(member.name, &constraint)))
        }
        Provider::Alibaba => {
            (&alibaba::INVALID_ARGUMENT, alibaba::INVALID_ARGUMENT.message.map(str::to_owned))
        }
        // The detail after the model's sentence is the mock's own wording: not pinned.
        Provider::Lambda => (&lambda::INVALID_PARAMETER_VALUE, None),
    }
}

/// `operation`'s member `name`'s limit, for catalogue descriptions (a name the contract lacks
/// shows as 0 to 0; the check itself then reports a setup error).
pub(super) fn limit(operation: &'static Operation, name: &str) -> Limit {
    operation.member(name).map_or(Limit { min: 0, max: 0, unit: Unit::Characters }, |m| m.limit)
}

/// `operation`'s member `name`, or a setup error naming it (a catalogue mistake).
pub(super) fn member(operation: &'static Operation, name: &str) -> Result<&'static Member, Halt> {
    operation.member(name).ok_or_else(|| {
        Halt::Setup(SetupError::Catalogue(format!("{} has no member {name}", operation.name)))
    })
}

/// Lengths just inside and just outside `limit`: below the minimum (when there is one), the
/// minimum, the maximum and one past it; a JSON output is never shorter than `""`.
fn lengths(limit: Limit, json: bool) -> Vec<usize> {
    let floor = if json { 2 } else { 0 };
    let mut lengths: Vec<usize> = [limit.min.checked_sub(1), Some(limit.min), Some(limit.max)]
        .into_iter()
        .flatten()
        .chain(limit.max.checked_add(1))
        .filter(|n| *n >= floor)
        .collect();
    lengths.dedup();
    lengths
}

/// `operation`'s member `name` at lengths on and around its limit (the target's, for
/// Alibaba's flavours), in characters of mixed UTF-8 widths: inside, a success (and the output
/// stored byte for byte where the source reads state); outside, the contract's rejection.
pub fn member_limit(ctx: &Ctx<'_>, operation: &'static Operation, name: &str) -> CheckRun {
    let member = member(operation, name)?;
    let limit = ctx.limit(member);
    let json = operation.action == Action::Succeed;
    let lengths = lengths(limit, json);
    let strategy = (pattern(), proptest::sample::select(lengths), any::<bool>());
    ctx.property(strategy, |(pattern, n, escaped)| {
        let value = match (limit.unit, json) {
            (Unit::Utf8Bytes | Unit::WireBytes, true) => json_string_of_bytes(pattern, *n),
            (Unit::Utf8Bytes | Unit::WireBytes, false) => fill(pattern, *n),
            (Unit::Characters, _) => fill_chars(pattern, *n),
        };
        let t = ctx.live()?;
        let error_required =
            operation.members.iter().any(|m| m.name.eq_ignore_ascii_case("error") && m.required);
        let call = match operation.action {
            Action::Succeed => Call::Succeed { token: &t.token, output: &value },
            Action::Fail if member.name.eq_ignore_ascii_case("error") => {
                Call::Fail { token: &t.token, error: Some(&value), cause: None }
            }
            Action::Fail => Call::Fail {
                token: &t.token,
                error: error_required.then_some("E"),
                cause: Some(&value),
            },
            Action::Heartbeat => Call::Heartbeat { token: &t.token },
        };
        let req = request(ctx.provider, call, *escaped);
        let bound = if *n < limit.min {
            Some(Bound::TooShort)
        } else if *n > limit.max {
            Some(Bound::TooLong)
        } else {
            None
        };
        if let Some(bound) = bound {
            let (spec, message) = limit_error(ctx.provider, member, limit, bound);
            return expect(ctx, req, Want::Error { spec, message: message.as_deref() }).map(|_| ());
        }
        let (req, res) = ctx.send(req)?;
        let seen = observe(ctx.provider, &res);
        if seen != Seen::Ok {
            return Err(Halt::Fail(ctx.failure(
                format!(
                    "{} of exactly {n} {} got {}",
                    member.name,
                    limit.unit.label(),
                    seen.describe()
                ),
                "200",
                &req,
                &res,
            )));
        }
        if json {
            if let Some(state) = ctx.state(&t)? {
                if state.output.as_deref() != Some(value.as_str()) {
                    return Err(Halt::Fail(ctx.failure(
                        "the stored output differs from the one sent",
                        "the output stored byte for byte",
                        &req,
                        &res,
                    )));
                }
            }
        }
        Ok(())
    })
}
