"""An example activity-worker test, run against `tasktoken serve --poll-hold 5 --clock virtual`.

The "worker" here is the loop the AWS guides show for activity workers, in boto3; yours is your
real code, pointed at the mock through the standard AWS_ENDPOINT_URL_SFN variable. The test
schedules tasks through the control API (TASKTOKEN_URL) on the activity the CI step created
(ACTIVITY_ARN) and asserts on what the worker did. No sleeps: it waits by polling, bounded.
See docs/ci.md, recipe 4.
"""

import json
import os
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

MOCK = os.environ.get("TASKTOKEN_URL", "http://127.0.0.1:4599")
ACTIVITY_ARN = os.environ.get(
    "ACTIVITY_ARN", "arn:aws:states:us-east-1:123456789012:activity:sum-numbers"
)


def control(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(MOCK + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text else None


def waiting_polls(arn):
    for activity in control("GET", "/_mock/activities")["activities"]:
        if activity["activityArn"] == arn:
            return activity["waitingPolls"]
    raise AssertionError(f"no activity {arn}")


def wait_for_polls(arn, n=1, timeout=10.0):
    deadline = time.monotonic() + timeout
    while waiting_polls(arn) < n:
        assert time.monotonic() < deadline, f"fewer than {n} polls on {arn} after {timeout} s"
        time.sleep(0.01)


def sfn_client():
    # The guides' advice: a read timeout above the service's 60 s long poll.
    return boto3.client("stepfunctions", config=Config(read_timeout=70), region_name="us-east-1")


def run_worker(sfn, activity_arn, worker_name, max_tasks):
    """The code under test: poll, work (heartbeating), report; returns the outcomes."""
    outcomes = []
    while len(outcomes) < max_tasks:
        task = sfn.get_activity_task(activityArn=activity_arn, workerName=worker_name)
        if "taskToken" not in task:
            continue  # the long poll ended with no task: poll again
        token = task["taskToken"]
        job = json.loads(task["input"])
        sfn.send_task_heartbeat(taskToken=token)
        numbers = job.get("numbers")
        if isinstance(numbers, list):
            sfn.send_task_success(taskToken=token, output=json.dumps({"sum": sum(numbers)}))
            outcomes.append("succeeded")
        else:
            sfn.send_task_failure(taskToken=token, error="BadInput", cause=repr(numbers))
            outcomes.append("failed")
    return outcomes


def test_the_worker_takes_scheduled_tasks_and_reports():
    sfn = sfn_client()
    with ThreadPoolExecutor(1) as pool:
        worker = pool.submit(run_worker, sfn, ACTIVITY_ARN, "ci-worker", 2)
        wait_for_polls(ACTIVITY_ARN)
        good = control(
            "POST",
            "/_mock/tasks",
            {"provider": "aws", "activityArn": ACTIVITY_ARN, "input": '{"numbers": [1, 2, 3]}'},
        )
        bad = control(
            "POST",
            "/_mock/tasks",
            {"provider": "aws", "activityArn": ACTIVITY_ARN, "input": '{"numbers": "€"}'},
        )
        assert worker.result(timeout=30) == ["succeeded", "failed"]
    state = control("GET", "/_mock/tasks/" + good["taskId"])
    assert (state["status"], state["output"], state["heartbeats"]) == ("SUCCEEDED", '{"sum": 6}', 1)
    assert (state["delivered"], state["workerName"]) == (True, "ci-worker")
    state = control("GET", "/_mock/tasks/" + bad["taskId"])
    assert (state["status"], state["error"], state["cause"]) == ("FAILED", "BadInput", "'€'")
    assert state["input"] == '{"numbers": "€"}'


def test_an_idle_poll_ends_when_the_clock_passes_the_hold():
    sfn = sfn_client()
    with ThreadPoolExecutor(1) as pool:
        poll = pool.submit(sfn.get_activity_task, activityArn=ACTIVITY_ARN, workerName="idle")
        wait_for_polls(ACTIVITY_ARN)
        control("POST", "/_mock/clock", {"advanceSeconds": 5})  # the --poll-hold
        answer = poll.result(timeout=30)
    assert "taskToken" not in answer


def test_an_unknown_activity_is_the_services_error():
    arn = ACTIVITY_ARN.rsplit(":", 1)[0] + ":never-created"
    with pytest.raises(ClientError) as raised:
        sfn_client().get_activity_task(activityArn=arn)
    assert raised.value.response["Error"] == {
        "Code": "ActivityDoesNotExist",
        "Message": f"Activity Does Not Exist: '{arn}'",
    }


def test_several_workers_share_the_tasks_each_exactly_once():
    clients = [sfn_client() for _ in range(3)]
    # 12 tasks for 3 workers that stop after 4 each: each takes exactly 4, none twice.
    with ThreadPoolExecutor(3) as pool:
        workers = [
            pool.submit(run_worker, sfn, ACTIVITY_ARN, f"w{i}", 4) for i, sfn in enumerate(clients)
        ]
        wait_for_polls(ACTIVITY_ARN, 3)
        tasks = [
            control(
                "POST",
                "/_mock/tasks",
                {
                    "provider": "aws",
                    "activityArn": ACTIVITY_ARN,
                    "input": json.dumps({"numbers": [i]}),
                },
            )
            for i in range(12)
        ]
        outcomes = [w.result(timeout=30) for w in workers]
    assert outcomes == [["succeeded"] * 4] * 3
    states = [control("GET", "/_mock/tasks/" + t["taskId"]) for t in tasks]
    assert [s["output"] for s in states] == [json.dumps({"sum": i}) for i in range(12)]
    assert sorted(s["workerName"] for s in states) == ["w0"] * 4 + ["w1"] * 4 + ["w2"] * 4
