//! Random sequences of calls on several tokens, sent through each provider's wire format, end exactly as an independent sequential model says.

use crate::common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use serde_json::json;
use tasktoken::{Mock, Provider, Status, TaskSpec};

#[derive(Debug, Clone)]
enum Op {
    Success { task: usize, output: String, valid_json: bool },
    Failure { task: usize, error: Option<String>, cause: Option<String> },
    Heartbeat { task: usize },
    Advance { seconds: u64 },
    Delete { task: usize },
    GarbageToken { target: usize },
}

#[derive(Debug, Clone)]
struct TaskPlan {
    timeout: Option<u64>,
    heartbeat: Option<u64>,
}

/// The sequential model: what one task is, written independently of the store.
#[derive(Debug, Clone, PartialEq)]
enum ModelStatus {
    Pending,
    Succeeded(String),
    Failed(Option<String>, Option<String>),
    TimedOut,
    Deleted,
}

#[derive(Debug, Clone)]
struct ModelTask {
    plan: TaskPlan,
    created: u64,
    last_heartbeat: u64,
    heartbeats: u32,
    status: ModelStatus,
}

impl ModelTask {
    fn refresh(&mut self, now: u64) {
        if self.status != ModelStatus::Pending {
            return;
        }
        let overall = self.plan.timeout.is_some_and(|t| now >= self.created + t);
        let heartbeat = self.plan.heartbeat.is_some_and(|h| now >= self.last_heartbeat + h);
        if overall || heartbeat {
            self.status = ModelStatus::TimedOut;
        }
    }

    /// The expected outcome of `op` (an operation on this task) at time `now`.
    fn apply(&mut self, op: &Op, now: u64) -> Outcome {
        self.refresh(now);
        match self.status {
            ModelStatus::Deleted => return Outcome::Deleted,
            ModelStatus::Pending => {}
            _ => return Outcome::Closed,
        }
        match op {
            Op::Success { output, valid_json, .. } => {
                if !valid_json {
                    return Outcome::InvalidOutput;
                }
                self.status = ModelStatus::Succeeded(output.clone());
            }
            Op::Failure { error, cause, .. } => {
                self.status = ModelStatus::Failed(error.clone(), cause.clone());
            }
            Op::Heartbeat { .. } => {
                self.heartbeats += 1;
                self.last_heartbeat = now;
            }
            _ => unreachable!(),
        }
        Outcome::Ok
    }
}

/// What the model says a call does.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Ok,
    Closed,
    Deleted,
    InvalidOutput,
    InvalidToken,
}

/// The provider under test: how a call goes on the wire and how an outcome reads back.
#[derive(Debug, Clone, Copy)]
enum Wire {
    Aws,
    Alibaba,
}

impl Wire {
    fn provider(self) -> Provider {
        match self {
            Wire::Aws => Provider::Aws,
            Wire::Alibaba => Provider::Alibaba,
        }
    }

    fn code(self, outcome: Outcome) -> &'static str {
        match (self, outcome) {
            (_, Outcome::Ok) => "200",
            (Wire::Aws, Outcome::Closed) => "TaskTimedOut",
            (Wire::Aws, Outcome::Deleted) => "TaskDoesNotExist",
            (Wire::Aws, Outcome::InvalidOutput) => "InvalidOutput",
            (Wire::Aws, Outcome::InvalidToken) => "InvalidToken",
            (Wire::Alibaba, Outcome::Closed) => "TaskAlreadyCompleted",
            (Wire::Alibaba, _) => "InvalidArgument",
        }
    }

    fn request(self, op: &Op, token: &str) -> http::Request<bytes::Bytes> {
        match (self, op) {
            (Wire::Aws, Op::Success { output, .. }) => {
                aws(SUCCESS, json(json!({"taskToken": token, "output": output})))
            }
            (Wire::Aws, Op::Failure { error, cause, .. }) => {
                let mut body = json!({"taskToken": token});
                if let Some(e) = error {
                    body["error"] = json!(e);
                }
                if let Some(c) = cause {
                    body["cause"] = json!(c);
                }
                aws(FAILURE, json(body))
            }
            (Wire::Aws, Op::Heartbeat { .. }) => aws(HEARTBEAT, json(json!({"taskToken": token}))),
            (Wire::Alibaba, Op::Success { output, .. }) => ali_succeed(token, output),
            (Wire::Alibaba, Op::Failure { error, cause, .. }) => {
                ali_fail(token, error.as_deref().unwrap_or("E"), cause.as_deref())
            }
            _ => unreachable!("{op:?} on {self:?}"),
        }
    }

    fn read(self, response: &http::Response<bytes::Bytes>) -> String {
        match self {
            Wire::Aws => code(response),
            Wire::Alibaba => ali_code(response),
        }
    }
}

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn op(wire: Wire, tasks: usize) -> BoxedStrategy<Op> {
    match wire {
        Wire::Aws => aws_op(tasks).boxed(),
        Wire::Alibaba => alibaba_op(tasks).boxed(),
    }
}

/// Alibaba has no heartbeat, and `Error` is required, 1 to 128 characters; `Cause` 1 to 4096.
fn alibaba_op(tasks: usize) -> impl Strategy<Value = Op> {
    let t = 0..tasks;
    prop_oneof![
        4 => (t.clone(), text(), any::<bool>()).prop_map(|(task, s, valid_json)| {
            let output = if valid_json { serde_json::to_string(&s).unwrap() } else { format!("not json {s}") };
            Op::Success { task, output, valid_json }
        }),
        3 => (t.clone(), "\\PC{1,12}", proptest::option::of("\\PC{1,12}"))
            .prop_map(|(task, error, cause)| Op::Failure { task, error: Some(error), cause }),
        3 => (0u64..8).prop_map(|seconds| Op::Advance { seconds }),
        1 => t.prop_map(|task| Op::Delete { task }),
        1 => (0usize..2).prop_map(|target| Op::GarbageToken { target }),
    ]
}

fn aws_op(tasks: usize) -> impl Strategy<Value = Op> {
    let t = 0..tasks;
    prop_oneof![
        4 => (t.clone(), text(), any::<bool>()).prop_map(|(task, s, valid_json)| {
            let output = if valid_json { serde_json::to_string(&s).unwrap() } else { format!("not json {s}") };
            Op::Success { task, output, valid_json }
        }),
        3 => (t.clone(), proptest::option::of(text()), proptest::option::of(text()))
            .prop_map(|(task, error, cause)| Op::Failure { task, error, cause }),
        4 => t.clone().prop_map(|task| Op::Heartbeat { task }),
        3 => (0u64..8).prop_map(|seconds| Op::Advance { seconds }),
        1 => t.prop_map(|task| Op::Delete { task }),
        1 => (0usize..3).prop_map(|target| Op::GarbageToken { target }),
    ]
}

fn plan(wire: Wire) -> impl Strategy<Value = TaskPlan> {
    let heartbeat = match wire {
        Wire::Aws => proptest::option::of(1u64..12).boxed(),
        Wire::Alibaba => Just(None).boxed(),
    };
    (proptest::option::of(1u64..30), heartbeat)
        .prop_map(|(timeout, heartbeat)| TaskPlan { timeout, heartbeat })
}

fn scenario(wire: Wire) -> impl Strategy<Value = (Vec<TaskPlan>, Vec<Op>)> {
    (1usize..5).prop_flat_map(move |n| {
        (proptest::collection::vec(plan(wire), n), proptest::collection::vec(op(wire, n), 1..40))
    })
}

fn run(wire: Wire, plans: &[TaskPlan], ops: &[Op]) -> Result<(), TestCaseError> {
    run_tampered(wire, plans, ops, |_, _| {})
}

/// Runs the scenario; `tamper` acts on the mock behind the model's back before the first op.
fn run_tampered(
    wire: Wire,
    plans: &[TaskPlan],
    ops: &[Op],
    tamper: impl Fn(&Mock, &[String]),
) -> Result<(), TestCaseError> {
    let m: Mock = mock();
    let start = m.clock().now_ms() / 1000 * 1000;
    let mut now = 0u64;
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    let mut model = Vec::new();
    for p in plans {
        let mut spec = TaskSpec::new(wire.provider());
        spec.timeout_seconds = p.timeout;
        spec.heartbeat_seconds = p.heartbeat;
        let t = m.create_task(spec).unwrap();
        tokens.push(t.task_token);
        ids.push(t.task_id);
        model.push(ModelTask {
            plan: p.clone(),
            created: 0,
            last_heartbeat: 0,
            heartbeats: 0,
            status: ModelStatus::Pending,
        });
    }
    let _ = start;
    tamper(&m, &tokens);
    for (step, op) in ops.iter().enumerate() {
        let (request, expected) = match op {
            Op::Advance { seconds } => {
                m.advance_clock(Duration::from_secs(*seconds)).unwrap();
                now += seconds;
                continue;
            }
            Op::Delete { task } => {
                model[*task].refresh(now);
                let existed = model[*task].status != ModelStatus::Deleted;
                prop_assert_eq!(m.delete_task(ids[*task]), existed, "step {}", step);
                model[*task].status = ModelStatus::Deleted;
                continue;
            }
            Op::GarbageToken { target } => {
                let garbage = match wire {
                    Wire::Aws => "AQ-not-a-token",
                    Wire::Alibaba => "djEjbm90LWEtdG9rZW4=",
                };
                let op = match target {
                    0 => Op::Success { task: 0, output: "1".into(), valid_json: true },
                    1 => Op::Failure { task: 0, error: Some("E".into()), cause: None },
                    _ => Op::Heartbeat { task: 0 },
                };
                (wire.request(&op, garbage), wire.code(Outcome::InvalidToken))
            }
            Op::Success { task, .. } | Op::Failure { task, .. } | Op::Heartbeat { task } => {
                (wire.request(op, &tokens[*task]), wire.code(model[*task].apply(op, now)))
            }
        };
        let response = m.handle(request);
        prop_assert_eq!(wire.read(&response), expected, "step {}: {:?}", step, op);
    }
    for (i, task) in model.iter_mut().enumerate() {
        task.refresh(now);
        let view = m.task(ids[i]);
        match &task.status {
            ModelStatus::Deleted => prop_assert!(view.is_none()),
            status => {
                let view = view.unwrap();
                prop_assert_eq!(view.heartbeats, task.heartbeats, "task {}", i);
                let (expected_status, output, error, cause) = match status {
                    ModelStatus::Pending => (Status::Pending, None, None, None),
                    ModelStatus::Succeeded(o) => (Status::Succeeded, Some(o.clone()), None, None),
                    ModelStatus::Failed(e, c) => (Status::Failed, None, e.clone(), c.clone()),
                    ModelStatus::TimedOut => {
                        (Status::TimedOut, None, Some(wire.provider().timeout_error().into()), None)
                    }
                    ModelStatus::Deleted => unreachable!(),
                };
                prop_assert_eq!(view.status, expected_status, "task {}", i);
                prop_assert_eq!(view.output, output, "task {}", i);
                prop_assert_eq!(view.error, error, "task {}", i);
                prop_assert_eq!(view.cause, cause, "task {}", i);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_aws_sequence_ends_as_the_model_says((plans, ops) in scenario(Wire::Aws)) {
        run(Wire::Aws, &plans, &ops)?;
    }

    #[test]
    fn any_alibaba_sequence_ends_as_the_model_says((plans, ops) in scenario(Wire::Alibaba)) {
        run(Wire::Alibaba, &plans, &ops)?;
    }
}

#[test]
fn the_model_comparison_can_fail() {
    let plans = vec![TaskPlan { timeout: None, heartbeat: Some(5) }];
    let ops = vec![
        Op::Heartbeat { task: 0 },
        Op::Success { task: 0, output: "2".into(), valid_json: true },
    ];
    assert!(run(Wire::Aws, &plans, &ops).is_ok());
    // A mock that completed the task behind the model's back is caught at the first call.
    let completed_elsewhere = |m: &Mock, tokens: &[String]| {
        let body = json!({"taskToken": tokens[0], "output": "1"});
        assert_eq!(code(&m.handle(aws(SUCCESS, json(body)))), "200");
    };
    let err = run_tampered(Wire::Aws, &plans, &ops, completed_elsewhere).unwrap_err();
    assert!(err.to_string().contains("TaskTimedOut"), "{err}");
    // A mock whose clock moved without the model is caught too.
    let clock_moved = |m: &Mock, _: &[String]| {
        m.advance_clock(Duration::from_secs(5)).unwrap();
    };
    assert!(run_tampered(Wire::Aws, &plans, &ops, clock_moved).is_err());
}
