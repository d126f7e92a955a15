"""Callback workers as a team writes them: the code these tests put under test.

Nothing here knows about tasktoken: each worker gets an SDK client and a task token, does its
work, heartbeats, and reports the outcome, exactly as it would against the real cloud.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

Step = Callable[[], None]


class JobFailed(Exception):
    """The job could not be done: the worker reports a task failure."""


def sum_job(payload: dict[str, Any]) -> dict[str, Any]:
    """The work itself: sums `payload["numbers"]`; fails on anything but a list of numbers."""
    numbers = payload.get("numbers")
    if not isinstance(numbers, list) or not all(isinstance(n, (int, float)) for n in numbers):
        raise JobFailed(f"numbers must be a list of numbers, not {numbers!r}")
    return {"sum": sum(numbers), "count": len(numbers)}


def aws_callback_worker(
    sfn: Any, token: str, payload: dict[str, Any], steps: Iterable[Step] = ()
) -> str:
    """Runs a job for a Step Functions `.waitForTaskToken` task; returns what it reported.

    Between `steps` (the slow parts of the job) it sends a heartbeat; when the heartbeat says the
    task timed out it gives up without reporting ("abandoned"). Otherwise it reports success with
    the job's result or failure with the job's error.
    """
    for step in steps:
        step()
        try:
            sfn.send_task_heartbeat(taskToken=token)
        except sfn.exceptions.TaskTimedOut:
            return "abandoned"
    try:
        result = sum_job(payload)
    except JobFailed as e:
        sfn.send_task_failure(taskToken=token, error="JobFailed", cause=str(e))
        return "failed"
    sfn.send_task_success(taskToken=token, output=json.dumps(result))
    return "succeeded"


def alibaba_callback_worker(client: Any, token: str, payload: dict[str, Any]) -> str:
    """The same job for a CloudFlow task, reported with the Tea SDK (fnf 2019-03-15)."""
    from alibabacloud_fnf20190315 import models

    try:
        result = sum_job(payload)
    except JobFailed as e:
        client.report_task_failed(
            models.ReportTaskFailedRequest(task_token=token, error="JobFailed", cause=str(e))
        )
        return "failed"
    client.report_task_succeeded(
        models.ReportTaskSucceededRequest(task_token=token, output=json.dumps(result))
    )
    return "succeeded"


def activity_worker(
    sfn: Any,
    activity_arn: str,
    worker_name: str,
    *,
    max_tasks: int,
    keep_polling: Callable[[], bool] = lambda: True,
) -> list[dict[str, Any]]:
    """A Step Functions activity worker, written the way the AWS guides write one.

    It long-polls `GetActivityTask` with its name, parses the task's input, sends a heartbeat
    before each of the job's `steps` (`payload["steps"]`, default none), and reports success
    with the job's result or failure with its error. It stops after `max_tasks` tasks, or
    when `keep_polling()` turns false after an empty poll (the long poll ran out with no task).
    Returns what it did, one record per task: `taskToken`, the raw `input`, `outcome`, and
    the `output` it sent (or the `cause`).

    `sfn` must be made with a read timeout above the service's 60 s hold, as the guides say
    (`Config(read_timeout=70)`), or a long poll is cut off by the client.
    """
    done: list[dict[str, Any]] = []
    while len(done) < max_tasks:
        task = sfn.get_activity_task(activityArn=activity_arn, workerName=worker_name)
        token = task.get("taskToken")
        if not token:
            # The poll ran out with no task: poll again, unless told to stop.
            if not keep_polling():
                break
            continue
        record: dict[str, Any] = {"taskToken": token, "input": task["input"]}
        try:
            payload = json.loads(task["input"])
            for _ in range(int(payload.get("steps", 0))):
                sfn.send_task_heartbeat(taskToken=token)
            result = sum_job(payload)
        except (JobFailed, ValueError) as e:
            record.update(outcome="failed", cause=str(e))
            sfn.send_task_failure(taskToken=token, error="JobFailed", cause=str(e))
        else:
            output = json.dumps(result, ensure_ascii=False)
            record.update(outcome="succeeded", output=output)
            sfn.send_task_success(taskToken=token, output=output)
        done.append(record)
    return done


def lambda_callback_worker(
    client: Any, callback_id: str, payload: dict[str, Any], steps: Iterable[Step] = ()
) -> str:
    """The same job for a Lambda durable execution callback (`context.create_callback`).

    The external system gets a callback id; between `steps` it sends heartbeats (giving up,
    "abandoned", when the callback has closed), then reports the job's result as the
    callback's `Result` (JSON bytes) or its error as the `Error` object.
    """
    for step in steps:
        step()
        try:
            client.send_durable_execution_callback_heartbeat(CallbackId=callback_id)
        except client.exceptions.CallbackTimeoutException:
            return "abandoned"
    try:
        result = sum_job(payload)
    except JobFailed as e:
        client.send_durable_execution_callback_failure(
            CallbackId=callback_id,
            Error={"ErrorType": "JobFailed", "ErrorMessage": str(e)},
        )
        return "failed"
    client.send_durable_execution_callback_success(
        CallbackId=callback_id, Result=json.dumps(result).encode("utf-8")
    )
    return "succeeded"
