"""tasktoken from Python: run the task-token mock as a process and drive its control API.

The wheel installs the `tasktoken` binary (the mock `tasktoken serve` and the conformance suite
`tasktoken check`) and this standard-library-only package. In pytest, request the fixture
`tasktoken_server` (one server per test) or `tasktoken_server_session` (one per session);
elsewhere:

    with tasktoken.serve() as server:
        task = server.create_task("aws", heartbeat_seconds=10)
        sfn = boto3.client("stepfunctions", **server.boto3_kwargs())
        sfn.send_task_success(taskToken=task["taskToken"], output="{}")
        assert server.task(task["taskId"])["status"] == "SUCCEEDED"

A Lambda durable callback the same way: `create_task("lambda")` adds a `callbackId` for
`boto3.client("lambda", **server.boto3_kwargs())`, and `server.callback_result(task_id)` gives
the Result's bytes.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._server import (
    BIN_ENV,
    ControlError,
    TasktokenError,
    TasktokenServer,
    find_binary,
    serve,
    serve_args,
)

try:
    __version__ = version("tasktoken")
except PackageNotFoundError:  # imported from a source tree, not installed
    __version__ = "0+unknown"

__all__ = [
    "BIN_ENV",
    "ControlError",
    "TasktokenError",
    "TasktokenServer",
    "__version__",
    "find_binary",
    "serve",
    "serve_args",
]
