//! The `activities` group (AWS): idle polls, hand-off, exactly-once delivery, activity errors and liveness.
//!
//! Each check creates its own activity through `CreateActivity` (so checks never take each
//! other's tasks) and deletes it at the end. Checks that need tasks scheduled on an activity
//! need a token source with [`Capabilities::activity_tasks`](crate::check::tokens::Capabilities)
//! (the `mock` source); the others run against any AWS target.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::{expect, Check, Want};
use crate::check::context::{CheckRun, Ctx, Exchanged, Halt};
use crate::check::outcome::{Failure, Group};
use crate::check::target::{Received, TransportError};
use crate::check::tokens::LiveToken;
use crate::contract::aws::activity::{self as a, MAX_HOLD_SECONDS};
use crate::contract::aws::VALIDATION;
use crate::wire::aws::encode_raw;

pub(super) fn checks() -> Vec<Check> {
    use Group::Activities;
    vec![
        check!("aws.activities.idle-poll", Activities, a::R_IDLE, idle_poll,
            format!("a poll with no task answers 200 {{}} (no taskToken member) within {} s plus 5", MAX_HOLD_SECONDS)),
        check!("aws.activities.hand-off", Activities, a::R_EXACTLY_ONCE, hand_off,
            "a task scheduled while a poll waits reaches that poll within 500 ms, its input byte for byte"),
        check!("aws.activities.exactly-once", Activities, a::R_EXACTLY_ONCE, exactly_once,
            "N concurrent pollers and M tasks: every task reaches exactly one poll, none lost, none twice, inputs byte for byte"),
        check!("aws.activities.fifo", Activities, a::R_FIFO, fifo,
            "queued tasks are delivered first scheduled, first delivered"),
        check!("aws.activities.does-not-exist", Activities, a::R_DOES_NOT_EXIST, does_not_exist,
            "GetActivityTask and DescribeActivity on an activity never created are ActivityDoesNotExist: 'Activity Does Not Exist: '<arn>''"),
        check!("aws.activities.invalid-arn", Activities, a::R_INVALID_ARN, invalid_arn,
            "an activityArn without the arn: prefix is InvalidArn: 'Invalid Arn: 'Invalid ARN prefix: <arn>''"),
        check!("aws.activities.create-idempotent", Activities, a::R_CREATE, create_idempotent,
            "CreateActivity twice with one name answers the same activityArn and creationDate"),
        check!("aws.activities.delete-idempotent", Activities, a::R_DELETE, delete_idempotent,
            "DeleteActivity twice answers 200 {} both times; the deleted activity's polls are ActivityDoesNotExist"),
        check!("aws.activities.worker-name-length", Activities, a::R_MEMBER_LIMITS, worker_name_length,
            "a workerName of 81 characters is the Coral ValidationException, answered at once"),
        check!("aws.activities.liveness", Activities, a::R_LIVENESS, liveness,
            "with 100 polls held on an activity, DescribeActivity is still answered within 2 s"),
    ]
}

const CREATE: &str = "AWSStepFunctions.CreateActivity";
const DESCRIBE: &str = "AWSStepFunctions.DescribeActivity";
const DELETE: &str = "AWSStepFunctions.DeleteActivity";
const POLL: &str = "AWSStepFunctions.GetActivityTask";

/// How long a poll may take: AWS's longest hold and the 5 s its docs tell clients to add.
const POLL_TIMEOUT: Duration = Duration::from_secs(MAX_HOLD_SECONDS + 5);

fn request(target: &str, body: Value) -> Request<Bytes> {
    encode_raw(target, Bytes::from(body.to_string()))
}

/// The JSON body of a 200, or a failure naming what came instead.
fn ok_body(ctx: &Ctx<'_>, (req, res): &Exchanged, what: &str) -> Result<Value, Halt> {
    match res {
        Ok(r) if r.status == 200 => serde_json::from_slice(&r.body).map_err(|_| {
            Halt::Fail(ctx.failure(
                format!("{what}: a 200 whose body is not JSON"),
                "a JSON object",
                req,
                res,
            ))
        }),
        _ => Err(Halt::Fail(ctx.failure(
            format!("{what} got {}", described(res)),
            "HTTP 200",
            req,
            res,
        ))),
    }
}

fn described(res: &Result<Received, TransportError>) -> String {
    match res {
        Ok(r) => format!(
            "HTTP {} {}",
            r.status,
            String::from_utf8_lossy(&r.body[..r.body.len().min(300)])
        ),
        Err(e) => format!("no answer ({e})"),
    }
}

/// Creates an activity with a fresh name; its ARN.
fn create(ctx: &Ctx<'_>, label: &str) -> Result<String, Halt> {
    let name = format!("tasktoken-{label}-{:016x}", fastrand::u64(..));
    let exchanged = ctx.send(request(CREATE, json!({"name": name})))?;
    let body = ok_body(ctx, &exchanged, "CreateActivity")?;
    match body["activityArn"].as_str() {
        Some(arn) => Ok(arn.to_owned()),
        None => Err(Halt::Fail(ctx.failure(
            "CreateActivity answered no activityArn",
            "{\"activityArn\",\"creationDate\"}",
            &exchanged.0,
            &exchanged.1,
        ))),
    }
}

/// Deletes `arn`, ignoring the answer (clean-up).
fn delete(ctx: &Ctx<'_>, arn: &str) {
    let _ = ctx.send(request(DELETE, json!({"activityArn": arn})));
}

/// A poll under way on the runtime.
type PollHandle = tokio::task::JoinHandle<Result<Received, TransportError>>;

/// Sends a poll on the runtime without waiting: its request and a handle on its answer.
fn spawn_poll(
    ctx: &Ctx<'_>,
    arn: &str,
    worker: &str,
) -> Result<(Request<Bytes>, PollHandle), Halt> {
    let req = ctx.sign(request(POLL, json!({"activityArn": arn, "workerName": worker})))?;
    let copy = crate::check::context::clone_request(&req);
    let target = ctx.target.clone();
    let handle = ctx.runtime.spawn(async move { target.send_within(copy, POLL_TIMEOUT).await });
    Ok((req, handle))
}

fn join(ctx: &Ctx<'_>, handle: PollHandle) -> Result<Received, TransportError> {
    ctx.runtime
        .block_on(handle)
        .unwrap_or_else(|e| Err(TransportError::Connection(format!("poll task: {e}"))))
}

/// Waits (bounded) until `n` polls wait on `arn` where the source can tell; else a pause.
fn until_waiting(ctx: &Ctx<'_>, arn: &str, n: usize) -> Result<(), Halt> {
    let began = Instant::now();
    while began.elapsed() < Duration::from_secs(3) {
        match ctx.runtime.block_on(ctx.tokens.waiting_polls(arn))? {
            Some(k) if k >= n => return Ok(()),
            Some(_) => std::thread::sleep(Duration::from_millis(5)),
            None => {
                std::thread::sleep(Duration::from_millis(500));
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Whether an input arrived as sent: byte for byte where the source passes it verbatim, else
/// as the same JSON value (a state machine serialises its input again).
fn same_input(ctx: &Ctx<'_>, sent: &str, got: &str) -> bool {
    input_key(ctx, sent) == input_key(ctx, got)
}

/// What [`same_input`] compares.
fn input_key(ctx: &Ctx<'_>, input: &str) -> String {
    if ctx.can().verbatim_input {
        return input.to_owned();
    }
    serde_json::from_str::<Value>(input).map_or_else(|_| input.to_owned(), |v| v.to_string())
}

/// A failure that no single exchange shows (a history of several).
fn bare(message: String, expected: String) -> Halt {
    Halt::Fail(Failure {
        message,
        expected,
        minimal_case: None,
        exchange: None,
        transport_error: false,
    })
}

fn schedule(ctx: &Ctx<'_>, arn: &str, input: &str) -> Result<LiveToken, Halt> {
    Ok(ctx.runtime.block_on(ctx.tokens.schedule(arn, input))?)
}

fn idle_poll(ctx: &Ctx<'_>) -> CheckRun {
    let arn = create(ctx, "idle")?;
    let began = Instant::now();
    let (req, handle) = spawn_poll(ctx, &arn, "idle")?;
    let exchanged: Exchanged = (req, join(ctx, handle));
    let elapsed = began.elapsed();
    delete(ctx, &arn);
    let body = ok_body(ctx, &exchanged, "an idle GetActivityTask")?;
    let (req, res) = &exchanged;
    let fail = |message: String| Halt::Fail(ctx.failure(message, "HTTP 200, body {}", req, res));
    match body.get("taskToken") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t.is_empty() => {
            return Err(fail("an idle poll answered \"taskToken\":\"\", which boto3 and the AWS CLI take for a token".into()))
        }
        Some(other) => return Err(fail(format!("an idle poll on a new activity answered a task: {other}"))),
    }
    if !body.is_object() {
        return Err(fail("the idle answer is not a JSON object".into()));
    }
    if elapsed > POLL_TIMEOUT {
        return Err(fail(format!("the idle poll took {elapsed:?}, over {POLL_TIMEOUT:?}")));
    }
    Ok(1)
}

fn hand_off(ctx: &Ctx<'_>) -> CheckRun {
    ctx.require(ctx.can().activity_tasks, "schedule activity tasks")?;
    let arn = create(ctx, "handoff")?;
    let (req, handle) = spawn_poll(ctx, &arn, "handoff")?;
    until_waiting(ctx, &arn, 1)?;
    let input = "{\"k\": \"\\u00e9 é 😀\",\t\"n\": 1.50}";
    let scheduled = Instant::now();
    let task = schedule(ctx, &arn, input)?;
    let res = join(ctx, handle);
    let took = scheduled.elapsed();
    delete(ctx, &arn);
    let want = "HTTP 200 {\"taskToken\":<the task's>,\"input\":<its input>} within 500 ms";
    let fail = |message: String| Halt::Fail(ctx.failure(message, want, &req, &res));
    let body: Value = match &res {
        Ok(r) if r.status == 200 => serde_json::from_slice(&r.body).unwrap_or(Value::Null),
        _ => return Err(fail(format!("the waiting poll got {}", described(&res)))),
    };
    let token_ok = match body["taskToken"].as_str() {
        Some(t) => (task.token.is_empty() && !t.is_empty()) || t == task.token,
        None => false,
    };
    if !token_ok {
        return Err(fail(format!(
            "the waiting poll did not get the task scheduled {took:?} earlier: {body}"
        )));
    }
    if !body["input"].as_str().is_some_and(|got| same_input(ctx, input, got)) {
        return Err(fail(format!("the input changed on the way: {}", body["input"])));
    }
    if took > Duration::from_millis(500) {
        return Err(fail(format!("the hand-off took {took:?}")));
    }
    Ok(1)
}

/// One case of [`exactly_once`]: pollers, and the tasks' inputs.
fn exactly_once(ctx: &Ctx<'_>) -> CheckRun {
    ctx.require(ctx.can().activity_tasks, "schedule activity tasks")?;
    let input = prop_oneof![
        Just("{}".to_owned()),
        "[a-z0-9 é😀]{0,12}".prop_map(|s| json!(s).to_string()),
        (0u32..1000).prop_map(|n| format!("{{ \"n\" : {n}.50 }}")),
    ];
    let strategy = (1usize..6, proptest::collection::vec(input, 1..8));
    // Through a state machine each case costs executions and a held poll: one case there.
    let cases = if ctx.can().cheap { ctx.cases.clamp(1, 12) } else { 1 };
    ctx.property_cases(cases, strategy, |(pollers, inputs)| {
        one_exactly_once_case(ctx, *pollers, inputs)
    })
}

fn one_exactly_once_case(ctx: &Ctx<'_>, pollers: usize, inputs: &[String]) -> Result<(), Halt> {
    let arn = create(ctx, "once")?;
    let req = ctx.sign(request(POLL, json!({"activityArn": arn, "workerName": "once"})))?;
    let wanted = inputs.len();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let patience = if ctx.can().cheap { 3 } else { 30 };
    let deadline = Instant::now() + Duration::from_secs(patience);
    let workers: Vec<_> = (0..pollers)
        .map(|_| {
            let (target, got, copy) =
                (ctx.target.clone(), got.clone(), crate::check::context::clone_request(&req));
            ctx.runtime.spawn(async move {
                loop {
                    if got.lock().unwrap_or_else(|e| e.into_inner()).len() >= wanted
                        || Instant::now() > deadline
                    {
                        return Ok(());
                    }
                    let received = target
                        .send_within(crate::check::context::clone_request(&copy), POLL_TIMEOUT)
                        .await?;
                    let done = got.lock().unwrap_or_else(|e| e.into_inner()).len() >= wanted;
                    if received.status != 200 && done {
                        // The activity was deleted to release the pollers: this poll came late.
                        return Ok(());
                    }
                    if received.status != 200 {
                        return Err(TransportError::Connection(format!(
                            "a poll answered HTTP {}",
                            received.status
                        )));
                    }
                    let v: Value = serde_json::from_slice(&received.body).unwrap_or(Value::Null);
                    if let (Some(t), Some(i)) = (v["taskToken"].as_str(), v["input"].as_str()) {
                        got.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push((t.to_owned(), i.to_owned()));
                    }
                }
            })
        })
        .collect();
    let mut scheduled = Vec::new();
    for input in inputs {
        // A state machine's execution input is an object: scalars travel inside one there.
        let input =
            if ctx.can().verbatim_input { input.clone() } else { format!("{{\"v\": {input}}}") };
        schedule(ctx, &arn, &input)?;
        scheduled.push(input_key(ctx, &input));
    }
    // Wait (bounded) for every task, then release the pollers still held.
    while got.lock().unwrap_or_else(|e| e.into_inner()).len() < wanted && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    delete(ctx, &arn);
    let mut poll_error = None;
    for w in workers {
        if let Err(e) = ctx
            .runtime
            .block_on(w)
            .unwrap_or_else(|e| Err(TransportError::Connection(e.to_string())))
        {
            poll_error = Some(e);
        }
    }
    let received = got.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let want = format!("{wanted} tasks, each delivered once with its input, to {pollers} pollers");
    let fail = |message: String| bare(message, want.clone());
    if let Some(e) = poll_error {
        return Err(fail(format!("a poll failed: {e}")));
    }
    let distinct: HashSet<&str> = received.iter().map(|(t, _)| t.as_str()).collect();
    if distinct.len() != received.len() {
        return Err(fail(format!(
            "{} deliveries of {} distinct tasks: a task went to two polls",
            received.len(),
            distinct.len()
        )));
    }
    let mut received: Vec<String> = received.iter().map(|(_, i)| input_key(ctx, i)).collect();
    received.sort();
    scheduled.sort();
    if received != scheduled {
        let lost = scheduled.iter().filter(|s| !received.contains(s)).count();
        return Err(fail(format!(
            "{lost} of {wanted} tasks never arrived as scheduled (lost, or input changed)"
        )));
    }
    Ok(())
}

fn fifo(ctx: &Ctx<'_>) -> CheckRun {
    ctx.require(ctx.can().activity_tasks, "schedule activity tasks")?;
    let arn = create(ctx, "fifo")?;
    let tokens: Vec<String> = (0..5).map(|i| i.to_string()).collect();
    for input in &tokens {
        schedule(ctx, &arn, input)?;
    }
    let mut order = Vec::new();
    let mut last = None;
    for _ in 0..tokens.len() {
        let exchanged = ctx.send(request(POLL, json!({"activityArn": arn})))?;
        let body = ok_body(ctx, &exchanged, "GetActivityTask with tasks queued")?;
        order.push(body["input"].as_str().unwrap_or("(none)").to_owned());
        last = Some(exchanged);
    }
    delete(ctx, &arn);
    if order != tokens {
        let (req, res) = last.expect("five polls were sent");
        let positions: Vec<String> = order
            .iter()
            .map(|t| tokens.iter().position(|x| x == t).map_or("-".into(), |p| p.to_string()))
            .collect();
        return Err(Halt::Fail(ctx.failure(
            format!("tasks 0..4 were delivered in the order [{}]", positions.join(", ")),
            "[0, 1, 2, 3, 4]",
            &req,
            &res,
        )));
    }
    Ok(1)
}

fn does_not_exist(ctx: &Ctx<'_>) -> CheckRun {
    let arn = create(ctx, "known")?;
    delete(ctx, &arn);
    let unknown = match arn.rsplit_once(':') {
        Some((prefix, _)) => format!("{prefix}:tasktoken-never-{:016x}", fastrand::u64(..)),
        None => return Err(bare(format!("the activityArn {arn} has no ':'"), "an ARN".into())),
    };
    let message = format!("Activity Does Not Exist: '{unknown}'");
    let want = Want::Error { spec: &a::ACTIVITY_DOES_NOT_EXIST, message: Some(&message) };
    timed(ctx, request(POLL, json!({"activityArn": unknown})), want)?;
    expect(ctx, request(DESCRIBE, json!({"activityArn": unknown})), want)?;
    Ok(2)
}

/// [`expect`], and the answer must come at once (not after a hold).
fn timed(ctx: &Ctx<'_>, req: Request<Bytes>, want: Want<'_>) -> Result<(), Halt> {
    let began = Instant::now();
    expect(ctx, req, want)?;
    let took = began.elapsed();
    if took > Duration::from_secs(5) {
        return Err(bare(
            format!("the error came after {took:?}, as if the poll was held"),
            format!("{} at once", want.describe()),
        ));
    }
    Ok(())
}

fn invalid_arn(ctx: &Ctx<'_>) -> CheckRun {
    let bad = "no_an_activity_arn";
    let message = format!("Invalid Arn: 'Invalid ARN prefix: {bad}'");
    let want = Want::Error { spec: &a::INVALID_ARN, message: Some(&message) };
    timed(ctx, request(POLL, json!({"activityArn": bad})), want)?;
    expect(ctx, request(DESCRIBE, json!({"activityArn": bad})), want)?;
    Ok(2)
}

fn create_idempotent(ctx: &Ctx<'_>) -> CheckRun {
    let name = format!("tasktoken-twice-{:016x}", fastrand::u64(..));
    let first = ctx.send(request(CREATE, json!({"name": name})))?;
    let one = ok_body(ctx, &first, "CreateActivity")?;
    let second = ctx.send(request(CREATE, json!({"name": name})))?;
    let two = ok_body(ctx, &second, "a second CreateActivity with the same name")?;
    if let Some(arn) = one["activityArn"].as_str() {
        delete(ctx, arn);
    }
    let same = |k: &str| one.get(k).is_some() && one.get(k) == two.get(k);
    if !(same("activityArn") && same("creationDate")) {
        return Err(Halt::Fail(ctx.failure(
            format!("the first create answered {one}, the second {two}"),
            "the same activityArn and creationDate",
            &second.0,
            &second.1,
        )));
    }
    Ok(1)
}

fn delete_idempotent(ctx: &Ctx<'_>) -> CheckRun {
    let arn = create(ctx, "delete")?;
    for _ in 0..2 {
        let (req, res) = ctx.send(request(DELETE, json!({"activityArn": arn})))?;
        if !res.as_ref().is_ok_and(|r| r.status == 200 && r.body.as_ref() == b"{}") {
            return Err(Halt::Fail(ctx.failure(
                format!("DeleteActivity got {}", described(&res)),
                "HTTP 200 {}",
                &req,
                &res,
            )));
        }
    }
    let message = format!("Activity Does Not Exist: '{arn}'");
    let want = Want::Error { spec: &a::ACTIVITY_DOES_NOT_EXIST, message: Some(&message) };
    timed(ctx, request(POLL, json!({"activityArn": arn})), want)?;
    Ok(3)
}

fn worker_name_length(ctx: &Ctx<'_>) -> CheckRun {
    let arn = create(ctx, "worker")?;
    let message =
        "1 validation error detected: Value at 'workerName' failed to satisfy constraint: \
                   Member must have length less than or equal to 80";
    let want = Want::Error { spec: &VALIDATION, message: Some(message) };
    let result =
        timed(ctx, request(POLL, json!({"activityArn": arn, "workerName": "w".repeat(81)})), want);
    delete(ctx, &arn);
    result.map(|()| 1)
}

fn liveness(ctx: &Ctx<'_>) -> CheckRun {
    const HELD: usize = 100;
    let arn = create(ctx, "live")?;
    let polls = (0..HELD)
        .map(|i| spawn_poll(ctx, &arn, &format!("w{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    until_waiting(ctx, &arn, HELD)?;
    let mut outcome = Ok(1);
    for _ in 0..5 {
        let began = Instant::now();
        let (req, res) = ctx.send(request(DESCRIBE, json!({"activityArn": arn})))?;
        let took = began.elapsed();
        if !res.as_ref().is_ok_and(|r| r.status == 200) || took > Duration::from_secs(2) {
            outcome = Err(Halt::Fail(ctx.failure(
                format!(
                    "with {HELD} polls held, DescribeActivity got {} after {took:?}",
                    described(&res)
                ),
                "HTTP 200 within 2 s",
                &req,
                &res,
            )));
            break;
        }
    }
    delete(ctx, &arn);
    for (_, handle) in polls {
        let _ = join(ctx, handle);
    }
    outcome
}
