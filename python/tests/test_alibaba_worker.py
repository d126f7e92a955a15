"""A CloudFlow callback worker against the `tasktoken_server` fixture, through the Tea SDK."""

from __future__ import annotations

import json

import pytest
from alibabacloud_fnf20190315 import models
from alibabacloud_fnf20190315.client import Client
from alibabacloud_tea_openapi.models import Config
from Tea.exceptions import TeaException
from workers import alibaba_callback_worker


def fnf_client(server):
    return Client(Config(**server.alibaba_config_kwargs()))


def test_tea_worker_reports_success(tasktoken_server):
    task = tasktoken_server.create_task("alibaba", timeout_seconds=600)
    client = fnf_client(tasktoken_server)
    assert alibaba_callback_worker(client, task["taskToken"], {"numbers": [10, 20]}) == "succeeded"
    state = tasktoken_server.task(task["taskId"])
    assert state["status"] == "SUCCEEDED"
    assert json.loads(state["output"]) == {"sum": 30, "count": 2}
    [entry] = tasktoken_server.journal()
    assert (entry["provider"], entry["status"]) == ("alibaba", 200)
    assert "ReportTaskSucceeded" in (entry.get("operation") or "") + entry["path"] + entry["body"]


def test_tea_worker_reports_failure_and_a_second_report_is_refused(tasktoken_server):
    task = tasktoken_server.create_task("alibaba")
    client = fnf_client(tasktoken_server)
    assert alibaba_callback_worker(client, task["taskToken"], {"numbers": None}) == "failed"
    state = tasktoken_server.task(task["taskId"])
    assert (state["status"], state["error"]) == ("FAILED", "JobFailed")
    with pytest.raises(TeaException) as raised:
        client.report_task_succeeded(
            models.ReportTaskSucceededRequest(task_token=task["taskToken"], output="{}")
        )
    assert raised.value.code == "TaskAlreadyCompleted"


def test_tea_worker_sees_a_timed_out_task(tasktoken_server):
    task = tasktoken_server.create_task("alibaba", timeout_seconds=30)
    tasktoken_server.advance(30)
    client = fnf_client(tasktoken_server)
    with pytest.raises(TeaException) as raised:
        alibaba_callback_worker(client, task["taskToken"], {"numbers": [1]})
    assert raised.value.code == "TaskAlreadyCompleted"
    assert tasktoken_server.task(task["taskId"])["timedOutBy"] == "task"
