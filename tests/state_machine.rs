//! Random sequences of calls on several tokens, sent through the AWS wire format, end exactly as an independent sequential model says.

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use serde_json::json;
use tasktoken::{Mock, Provider, Status, TaskSpec};

#[derive(Debug, Clone)]
enum Op {
    Success {
        task: usize,
        output: String,
        valid_json: bool,
    },
    Failure {
        task: usize,
        error: Option<String>,
        cause: Option<String>,
    },
    Heartbeat {
        task: usize,
    },
    Advance {
        seconds: u64,
    },
    Delete {
        task: usize,
    },
    GarbageToken {
        target: usize,
    },
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
        let heartbeat = self
            .plan
            .heartbeat
            .is_some_and(|h| now >= self.last_heartbeat + h);
        if overall || heartbeat {
            self.status = ModelStatus::TimedOut;
        }
    }

    /// The expected answer to `op` (an operation on this task) at time `now`.
    fn apply(&mut self, op: &Op, now: u64) -> &'static str {
        self.refresh(now);
        match self.status {
            ModelStatus::Deleted => return "TaskDoesNotExist",
            ModelStatus::Pending => {}
            _ => return "TaskTimedOut",
        }
        match op {
            Op::Success {
                output, valid_json, ..
            } => {
                if !valid_json {
                    return "InvalidOutput";
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
        "200"
    }
}

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn op(tasks: usize) -> impl Strategy<Value = Op> {
    let t = 0..tasks;
    prop_oneof![
        4 => (t.clone(), text(), any::<bool>()).prop_map(|(task, s, valid_json)| {
            let output = if valid_json { serde_json::to_string(&s).unwrap() } else { format!("{{{s}") };
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

fn plan() -> impl Strategy<Value = TaskPlan> {
    (
        proptest::option::of(1u64..30),
        proptest::option::of(1u64..12),
    )
        .prop_map(|(timeout, heartbeat)| TaskPlan { timeout, heartbeat })
}

fn scenario() -> impl Strategy<Value = (Vec<TaskPlan>, Vec<Op>)> {
    (1usize..5).prop_flat_map(|n| {
        (
            proptest::collection::vec(plan(), n),
            proptest::collection::vec(op(n), 1..40),
        )
    })
}

fn run(plans: &[TaskPlan], ops: &[Op]) -> Result<(), TestCaseError> {
    run_tampered(plans, ops, |_, _| {})
}

/// Runs the scenario; `tamper` acts on the mock behind the model's back before the first op.
fn run_tampered(
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
        let mut spec = TaskSpec::new(Provider::Aws);
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
                let target = [SUCCESS, FAILURE, HEARTBEAT][*target];
                let body = json!({"taskToken": "AQ-not-a-token", "output": "1"});
                (aws(target, json(body)), "InvalidToken")
            }
            Op::Success { task, output, .. } => {
                let body = json!({"taskToken": tokens[*task], "output": output});
                (aws(SUCCESS, json(body)), model[*task].apply(op, now))
            }
            Op::Failure { task, error, cause } => {
                let mut body = json!({"taskToken": tokens[*task]});
                if let Some(e) = error {
                    body["error"] = json!(e);
                }
                if let Some(c) = cause {
                    body["cause"] = json!(c);
                }
                (aws(FAILURE, json(body)), model[*task].apply(op, now))
            }
            Op::Heartbeat { task } => (
                aws(HEARTBEAT, json(json!({"taskToken": tokens[*task]}))),
                model[*task].apply(op, now),
            ),
        };
        let response = m.handle(request);
        prop_assert_eq!(code(&response), expected, "step {}: {:?}", step, op);
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
                        (Status::TimedOut, None, Some("States.Timeout".into()), None)
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
    fn any_sequence_ends_as_the_model_says((plans, ops) in scenario()) {
        run(&plans, &ops)?;
    }
}

#[test]
fn the_model_comparison_can_fail() {
    let plans = vec![TaskPlan {
        timeout: None,
        heartbeat: Some(5),
    }];
    let ops = vec![
        Op::Heartbeat { task: 0 },
        Op::Success {
            task: 0,
            output: "2".into(),
            valid_json: true,
        },
    ];
    assert!(run(&plans, &ops).is_ok());
    // A mock that completed the task behind the model's back is caught at the first call.
    let completed_elsewhere = |m: &Mock, tokens: &[String]| {
        let body = json!({"taskToken": tokens[0], "output": "1"});
        assert_eq!(code(&m.handle(aws(SUCCESS, json(body)))), "200");
    };
    let err = run_tampered(&plans, &ops, completed_elsewhere).unwrap_err();
    assert!(err.to_string().contains("TaskTimedOut"), "{err}");
    // A mock whose clock moved without the model is caught too.
    let clock_moved = |m: &Mock, _: &[String]| {
        m.advance_clock(Duration::from_secs(5)).unwrap();
    };
    assert!(run_tampered(&plans, &ops, clock_moved).is_err());
}
