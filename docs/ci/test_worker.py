"""An example callback-worker test, run against `tasktoken serve` (see docs/ci.md).

The "worker" here is a few lines of boto3; yours is your real code, pointed at the mock
through the standard AWS_ENDPOINT_URL_SFN variable.
"""
import json
import os
import urllib.request

import boto3
import pytest

MOCK = os.environ.get("TASKTOKEN_URL", "http://127.0.0.1:4599")


def control(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(MOCK + path, data=data, method=method)
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else None


def worker(token, result):
    """The code under test: reports a result with the token it was given."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    sfn.send_task_success(taskToken=token, output=json.dumps(result))


def test_worker_reports_success_once():
    task = control("POST", "/_mock/tasks", {"provider": "aws", "heartbeatSeconds": 60})
    worker(task["taskToken"], {"k": "€😀"})
    state = control("GET", "/_mock/tasks/" + task["taskId"])
    assert state["status"] == "SUCCEEDED"
    assert json.loads(state["output"]) == {"k": "€😀"}


def test_a_retried_report_gets_task_timed_out():
    task = control("POST", "/_mock/tasks", {"provider": "aws"})
    worker(task["taskToken"], {"n": 1})
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with pytest.raises(sfn.exceptions.TaskTimedOut):
        worker(task["taskToken"], {"n": 1})


def test_a_task_times_out_on_the_virtual_clock():
    task = control("POST", "/_mock/tasks", {"provider": "aws", "timeoutSeconds": 30})
    control("POST", "/_mock/clock", {"advanceSeconds": 30})
    assert control("GET", "/_mock/tasks/" + task["taskId"])["status"] == "TIMED_OUT"
