"""A Step Functions callback worker against the `tasktoken_server` fixture, through boto3."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from workers import aws_callback_worker


def sfn_client(server, **config):
    return boto3.client("stepfunctions", config=Config(**config), **server.boto3_kwargs())


def operations(server):
    return [(e.get("operation"), e["status"], e.get("errorCode")) for e in server.journal()]


def test_worker_reports_success(tasktoken_server):
    task = tasktoken_server.create_task("aws", heartbeat_seconds=60)
    sfn = sfn_client(tasktoken_server)
    assert aws_callback_worker(sfn, task["taskToken"], {"numbers": [1, 2, 3.5]}) == "succeeded"
    state = tasktoken_server.task(task["taskId"])
    assert state["status"] == "SUCCEEDED"
    assert json.loads(state["output"]) == {"sum": 6.5, "count": 3}
    assert operations(tasktoken_server) == [("AWSStepFunctions.SendTaskSuccess", 200, None)]


def test_worker_reports_failure(tasktoken_server):
    task = tasktoken_server.create_task("aws")
    sfn = sfn_client(tasktoken_server)
    assert aws_callback_worker(sfn, task["taskToken"], {"numbers": "1,2"}) == "failed"
    state = tasktoken_server.task(task["taskId"])
    assert state["status"] == "FAILED"
    assert state["error"] == "JobFailed"
    assert "numbers must be a list" in state["cause"]
    # The token is spent: a second report is refused as the real service refuses it.
    with pytest.raises(sfn.exceptions.TaskTimedOut):
        sfn.send_task_success(taskToken=task["taskToken"], output="{}")


def test_heartbeats_keep_a_task_alive_on_the_virtual_clock(tasktoken_server):
    task = tasktoken_server.create_task("aws", heartbeat_seconds=10)
    sfn = sfn_client(tasktoken_server)
    # Four slow steps of 9 s each: 36 s in all, but never 10 s without a heartbeat.
    steps = [lambda: tasktoken_server.advance(9)] * 4
    assert aws_callback_worker(sfn, task["taskToken"], {"numbers": [4]}, steps) == "succeeded"
    state = tasktoken_server.task(task["taskId"])
    assert (state["status"], state["heartbeats"]) == ("SUCCEEDED", 4)


def test_heartbeat_timeout_on_the_virtual_clock(tasktoken_server):
    task = tasktoken_server.create_task("aws", timeout_seconds=3600, heartbeat_seconds=10)
    sfn = sfn_client(tasktoken_server)
    # Two steps in time, then one that stalls for 11 s: the task times out by its heartbeat.
    steps = [
        lambda: tasktoken_server.advance(5),
        lambda: tasktoken_server.advance(5),
        lambda: tasktoken_server.advance(11),
    ]
    assert aws_callback_worker(sfn, task["taskToken"], {"numbers": [1]}, steps) == "abandoned"
    state = tasktoken_server.task(task["taskId"])
    assert state["status"] == "TIMED_OUT"
    assert state["timedOutBy"] == "heartbeat"
    assert state["error"] == "States.Timeout"
    assert state["heartbeats"] == 2
    assert operations(tasktoken_server) == [
        ("AWSStepFunctions.SendTaskHeartbeat", 200, None),
        ("AWSStepFunctions.SendTaskHeartbeat", 200, None),
        ("AWSStepFunctions.SendTaskHeartbeat", 400, "TaskTimedOut"),
    ]


def test_worker_retries_through_injected_throttling(tasktoken_server):
    task = tasktoken_server.create_task("aws")
    fault = tasktoken_server.add_fault(
        provider="aws", operation="SendTaskSuccess", error="ThrottlingException", count=2
    )
    assert [(str(f["id"]), f["fired"]) for f in tasktoken_server.faults()] == [(fault, 0)]
    sfn = sfn_client(tasktoken_server, retries={"mode": "standard", "total_max_attempts": 3})
    assert aws_callback_worker(sfn, task["taskToken"], {"numbers": [2, 2]}) == "succeeded"
    assert tasktoken_server.task(task["taskId"])["status"] == "SUCCEEDED"
    assert operations(tasktoken_server) == [
        ("AWSStepFunctions.SendTaskSuccess", 400, "ThrottlingException"),
        ("AWSStepFunctions.SendTaskSuccess", 400, "ThrottlingException"),
        ("AWSStepFunctions.SendTaskSuccess", 200, None),
    ]
    assert tasktoken_server.faults() == []  # spent after two firings, the rule retired


def test_worker_fails_when_throttling_outlasts_its_retries(tasktoken_server):
    task = tasktoken_server.create_task("aws")
    tasktoken_server.add_fault(provider="aws", error="ThrottlingException", count=5)
    sfn = sfn_client(tasktoken_server, retries={"mode": "standard", "total_max_attempts": 3})
    with pytest.raises(ClientError) as raised:
        aws_callback_worker(sfn, task["taskToken"], {"numbers": [1]})
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 2
    assert tasktoken_server.task(task["taskId"])["status"] == "PENDING"
    assert [status for _, status, _ in operations(tasktoken_server)] == [400, 400, 400]
