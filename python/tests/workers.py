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
