"""A Step Functions activity worker (boto3's GetActivityTask loop) against `tasktoken serve`.

The worker (`workers.activity_worker`) is written as the AWS guides write one and runs in a
thread, unmodified; the test schedules its tasks through the control API and asserts on what it
did. Nothing waits by sleeping: `wait_for_polls` and the helpers below poll, bounded.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import boto3
import pytest
import tasktoken
from botocore.config import Config
from botocore.exceptions import ClientError
from workers import activity_worker

#: The activity guides' advice: a read timeout above the service's 60 s long poll.
WORKER_CONFIG = Config(read_timeout=70, connect_timeout=5, retries={"mode": "standard"})
#: The mock's poll hold for the worker tests: short, so that a stopped worker ends quickly.
SHORT_HOLD = pytest.mark.tasktoken(poll_hold=2)
#: How long (real seconds) any bounded wait of these tests may take.
BOUND = 30.0
UNKNOWN_ARN = "arn:aws:states:us-east-1:123456789012:activity:never-created"


def sfn_client(server: Any) -> Any:
    return boto3.client("stepfunctions", config=WORKER_CONFIG, **server.boto3_kwargs())


def wait_until(what: str, done: Any, timeout: float = BOUND) -> None:
    """Calls `done()` every 10 ms until it is true, for at most `timeout` real seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.01)


def client_error(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**params)
    error: dict[str, Any] = raised.value.response["Error"]
    return error


@SHORT_HOLD
def test_worker_takes_scheduled_tasks_heartbeats_and_reports(tasktoken_server):
    server = tasktoken_server
    arn = server.create_activity("sum-numbers")["activityArn"]
    assert arn == "arn:aws:states:us-east-1:123456789012:activity:sum-numbers"
    sfn = sfn_client(server)
    with ThreadPoolExecutor(1) as pool:
        worker = pool.submit(activity_worker, sfn, arn, "worker-1", max_tasks=3)
        # The worker polls first; each task is handed straight to its waiting poll.
        assert server.wait_for_polls(arn, 1) == 1
        inputs = [
            '{"numbers":[1, 2,3],  "steps": 2, "note": "€😀 \\u00e9"}',
            '{"numbers": "1,2"}',
            '{"numbers": [0.5]}',
        ]
        tasks = [
            server.create_task("aws", activity_arn=arn, input=text, heartbeat_seconds=60)
            for text in inputs
        ]
        done = worker.result(timeout=BOUND)
    assert [(r["taskToken"], r["input"]) for r in done] == [
        (t["taskToken"], text) for t, text in zip(tasks, inputs, strict=True)
    ]
    views = [server.task(t["taskId"]) for t in tasks]
    for view, text in zip(views, inputs, strict=True):
        assert (view["activityArn"], view["input"]) == (arn, text)
        assert (view["delivered"], view["workerName"]) == (True, "worker-1")
    # The output is stored byte for byte as the worker sent it, non-ASCII included.
    assert views[0]["status"] == "SUCCEEDED"
    assert views[0]["output"] == '{"sum": 6, "count": 3}' == done[0]["output"]
    assert views[0]["heartbeats"] == 2
    assert (views[1]["status"], views[1]["error"]) == ("FAILED", "JobFailed")
    assert views[1]["cause"] == "numbers must be a list of numbers, not '1,2'"
    assert (views[2]["status"], views[2]["output"], views[2]["heartbeats"]) == (
        "SUCCEEDED",
        '{"sum": 0.5, "count": 1}',
        0,
    )
    operations = [e.get("operation") for e in server.journal()]
    assert operations.count("AWSStepFunctions.GetActivityTask") == 3
    assert operations.count("AWSStepFunctions.SendTaskHeartbeat") == 2
    assert server.activities() == [
        {"activityArn": arn, "name": "sum-numbers", "queuedTasks": 0, "waitingPolls": 0}
    ]


def test_output_with_non_ascii_text_is_stored_byte_for_byte(tasktoken_server):
    server = tasktoken_server
    arn = server.create_activity("echo")["activityArn"]
    task = server.create_task("aws", activity_arn=arn, input={"k": "€😀"})
    sfn = sfn_client(server)
    # A task queued before the poll is answered at once.
    got = sfn.get_activity_task(activityArn=arn, workerName="echo-worker")
    assert (got["taskToken"], got["input"]) == (task["taskToken"], '{"k": "\\u20ac\\ud83d\\ude00"}')
    output = json.dumps(json.loads(got["input"]), ensure_ascii=False, separators=(",", ":"))
    sfn.send_task_success(taskToken=got["taskToken"], output=output)
    view = server.task(task["taskId"])
    assert view["output"] == '{"k":"€😀"}'
    assert view["output"].encode("utf-8") == output.encode("utf-8")


def test_timeouts_start_when_a_worker_takes_the_task(tasktoken_server):
    server = tasktoken_server
    arn = server.create_activity("slow")["activityArn"]
    task = server.create_task("aws", activity_arn=arn, timeout_seconds=30)
    # Nobody polls: the task waits in its queue however long the clock runs.
    server.advance(3600)
    view = server.task(task["taskId"])
    assert (view["status"], view["delivered"], view.get("workerName")) == ("PENDING", False, None)
    assert server.activities()[0]["queuedTasks"] == 1
    sfn = sfn_client(server)
    got = sfn.get_activity_task(activityArn=arn, workerName="late")
    assert got["taskToken"] == task["taskToken"]
    server.advance(29)
    sfn.send_task_heartbeat(taskToken=got["taskToken"])
    server.advance(1)
    assert server.task(task["taskId"])["status"] == "TIMED_OUT"
    with pytest.raises(sfn.exceptions.TaskTimedOut):
        sfn.send_task_success(taskToken=got["taskToken"], output="{}")


@pytest.mark.tasktoken(poll_hold=60)
def test_an_idle_poll_answers_empty_when_the_virtual_clock_passes_the_hold(tasktoken_server):
    server = tasktoken_server
    arn = server.create_activity("idle")["activityArn"]
    sfn = sfn_client(server)
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        poll: Future[dict[str, Any]] = pool.submit(
            sfn.get_activity_task, activityArn=arn, workerName="idle-worker"
        )
        server.wait_for_polls(arn, 1)
        server.advance(59)
        assert server.activities()[0]["waitingPolls"] == 1
        assert not poll.done()
        server.advance(1)
        answer = poll.result(timeout=BOUND)
        elapsed = time.monotonic() - started
    assert "taskToken" not in answer and "input" not in answer
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    # The 60 s hold ended on the virtual clock, not by waiting it out.
    assert elapsed < 30, elapsed
    assert server.activities()[0]["waitingPolls"] == 0


def test_unknown_and_malformed_arns_are_the_services_errors(tasktoken_server):
    sfn = sfn_client(tasktoken_server)
    error = client_error(sfn.get_activity_task, activityArn=UNKNOWN_ARN, workerName="w")
    assert error == {
        "Code": "ActivityDoesNotExist",
        "Message": f"Activity Does Not Exist: '{UNKNOWN_ARN}'",
    }
    error = client_error(sfn.get_activity_task, activityArn="not-an-arn")
    assert error == {
        "Code": "InvalidArn",
        "Message": "Invalid Arn: 'Invalid ARN prefix: not-an-arn'",
    }
    error = client_error(sfn.describe_activity, activityArn="not-an-arn")
    assert error["Code"] == "InvalidArn"
    # A deleted activity is gone for its pollers too; deleting it again is no error.
    arn = tasktoken_server.create_activity("short-lived")["activityArn"]
    sfn.delete_activity(activityArn=arn)
    sfn.delete_activity(activityArn=arn)
    error = client_error(sfn.get_activity_task, activityArn=arn)
    assert error == {"Code": "ActivityDoesNotExist", "Message": f"Activity Does Not Exist: '{arn}'"}
    with pytest.raises(tasktoken.ControlError) as raised:
        tasktoken_server.create_task("aws", activity_arn=arn)
    assert raised.value.status == 404


def test_a_worker_name_of_81_characters_is_a_validation_error(tasktoken_server):
    server = tasktoken_server
    arn = server.create_activity("names")["activityArn"]
    sfn = sfn_client(server)
    error = client_error(sfn.get_activity_task, activityArn=arn, workerName="w" * 81)
    assert error == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value at 'workerName' failed to satisfy "
        "constraint: Member must have length less than or equal to 80",
    }
    # The refused poll took nothing; 80 characters are fine and recorded as sent.
    task = server.create_task("aws", activity_arn=arn)
    got = sfn.get_activity_task(activityArn=arn, workerName="w" * 80)
    assert got["taskToken"] == task["taskToken"]
    assert server.task(task["taskId"])["workerName"] == "w" * 80


@SHORT_HOLD
def test_concurrent_pollers_get_each_task_exactly_once(tasktoken_server):
    server = tasktoken_server
    pollers, tasks_count = 4, 40
    arn = server.create_activity("fan-out")["activityArn"]
    clients = [sfn_client(server) for _ in range(pollers)]
    all_done = threading.Event()
    with ThreadPoolExecutor(pollers) as pool:
        workers = [
            pool.submit(
                activity_worker,
                sfn,
                arn,
                f"poller-{i}",
                max_tasks=tasks_count,
                keep_polling=lambda: not all_done.is_set(),
            )
            for i, sfn in enumerate(clients)
        ]
        try:
            server.wait_for_polls(arn, pollers)
            # Inputs differ in spacing, escapes and length: each must arrive exactly as sent.
            inputs = [
                f'{{"numbers": [{i},{i}] , "pad":"{"€" * i}\\n"}}' for i in range(tasks_count)
            ]
            scheduled = [server.create_task("aws", activity_arn=arn, input=t) for t in inputs]
            wait_until(
                f"{tasks_count} tasks succeeded",
                lambda: server.stats()["succeeded"] == tasks_count,
            )
        finally:
            all_done.set()
        done = {f"poller-{i}": w.result(timeout=BOUND) for i, w in enumerate(workers)}
    delivered = [(name, r) for name, records in done.items() for r in records]
    tokens = [r["taskToken"] for _, r in delivered]
    assert len(tokens) == tasks_count and len(set(tokens)) == tasks_count  # none lost, none twice
    by_token = {r["taskToken"]: (name, r) for name, r in delivered}
    for i, (task, text) in enumerate(zip(scheduled, inputs, strict=True)):
        name, record = by_token[task["taskToken"]]
        assert record["input"] == text
        view = server.task(task["taskId"])
        assert (view["status"], view["delivered"], view["workerName"]) == ("SUCCEEDED", True, name)
        assert view["output"] == record["output"] == f'{{"sum": {2 * i}, "count": 2}}'
    assert server.stats()["pending"] == 0
    wait_until("no poll left waiting", lambda: server.activities()[0]["waitingPolls"] == 0)
    assert server.activities()[0]["queuedTasks"] == 0
