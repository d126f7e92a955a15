"""A `tasktoken serve` process and a typed client of its control API, standard library only.

`serve(**flags)` starts the binary on an ephemeral loopback port with a virtual clock, waits for
the address it prints, and returns a `TasktokenServer`; leaving its `with` block (or `stop()`)
ends the process. Keyword flags become `tasktoken serve` options: `strict_auth=True` is
`--strict-auth`, `poll_hold=5` is `--poll-hold 5`, a list repeats the option, a dict is sent as
JSON (`fault={"provider": "aws", "error": "ThrottlingException", "count": 1}`).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

#: The environment variable that names the binary to run instead of the installed one.
BIN_ENV = "TASKTOKEN_BIN"
#: What `tasktoken serve` prints on stdout once it listens, before the URL.
READY_PREFIX = "tasktoken listening on "
#: The credentials the mock accepts for both providers unless started with other keys.
TEST_ACCESS_KEY_ID = "test"
TEST_SECRET = "test"
#: The regions the helpers configure the SDKs with (the mock accepts any).
AWS_REGION = "us-east-1"
ALIBABA_REGION = "cn-hangzhou"

JsonValue = Any
#: A value of a keyword flag of `serve()`.
Flag = bool | int | float | str | list[Any] | tuple[Any, ...] | dict[str, Any] | None


class TasktokenError(Exception):
    """The server could not start, stopped, or a control API call could not be made."""


class ControlError(TasktokenError):
    """The control API answered with an error status.

    `status` is the HTTP status, `message` the text of the `{"error": ...}` body.
    """

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {message}")
        self.method = method
        self.path = path
        self.status = status
        self.message = message


def find_binary() -> str:
    """The `tasktoken` executable to run.

    `$TASKTOKEN_BIN` when set; else the one the wheel installed into this environment's scripts
    directory (found even when the environment is not activated); else `tasktoken` on `PATH`.
    """
    override = os.environ.get(BIN_ENV)
    if override:
        if not os.path.isfile(override) or not os.access(override, os.X_OK):
            raise TasktokenError(f"${BIN_ENV}={override} is not an executable file")
        return override
    exe = "tasktoken.exe" if sys.platform == "win32" else "tasktoken"
    scripts = sysconfig.get_path("scripts")
    candidates = [os.path.join(scripts, exe)] if scripts else []
    user_scheme = f"{os.name}_user"
    if user_scheme in sysconfig.get_scheme_names():
        user_scripts = sysconfig.get_path("scripts", user_scheme)
        if user_scripts:
            candidates.append(os.path.join(user_scripts, exe))
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which(exe)
    if on_path:
        return on_path
    raise TasktokenError(
        f"no tasktoken binary: install the wheel (pip install tasktoken), put it on PATH, "
        f"or set ${BIN_ENV}"
    )


def serve_args(flags: Mapping[str, Flag]) -> list[str]:
    """The `tasktoken serve` options for keyword flags (snake_case to --kebab-case).

    True is a bare switch, False and None leave the option out, a list or tuple repeats it, a
    dict is passed as compact JSON, anything else as `str(value)`.
    """
    args: list[str] = []
    for name, value in flags.items():
        option = "--" + name.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            args.append(option)
            continue
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        for item in values:
            args += [option, _flag_value(name, item)]
    return args


def _flag_value(name: str, value: Any) -> str:
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool) or value is None:
        raise TypeError(f"flag {name}: {value!r} cannot be one of several values")
    return str(value)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _key_pair(flag: Flag) -> tuple[str, str] | None:
    """The first ID:SECRET of an `aws_key` / `alibaba_key` flag."""
    first = flag[0] if isinstance(flag, (list, tuple)) and flag else flag
    if isinstance(first, str) and ":" in first:
        key_id, secret = first.split(":", 1)
        return key_id, secret
    return None


class TasktokenServer:
    """A running `tasktoken serve` and its control API.

    Made by `serve()` (or the pytest fixtures `tasktoken_server` and
    `tasktoken_server_session`). Every method that talks to the server raises `ControlError`
    when the control API answers an error, `TasktokenError` when it cannot be reached.
    """

    #: Seconds one control API call may take.
    request_timeout: float = 10.0

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        endpoint: str,
        log_path: str,
        flags: Mapping[str, Flag],
    ) -> None:
        parts = urlsplit(endpoint)
        if parts.hostname is None or parts.port is None:
            raise TasktokenError(
                f"tasktoken printed an address without a host and port: {endpoint}"
            )
        host = parts.hostname
        # A wildcard bind is reached through loopback.
        if host == "0.0.0.0":
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        self.host: str = host
        self.port: int = parts.port
        #: The base URL of both provider APIs and the control API, e.g. `http://127.0.0.1:40123`.
        self.endpoint: str = f"http://{'[' + host + ']' if ':' in host else host}:{self.port}"
        #: The `tasktoken serve` process.
        self.process = process
        #: The file that holds the process's stdout and stderr (removed by `stop()`).
        self.log_path = log_path
        self.flags: dict[str, Flag] = dict(flags)
        self._final_log: str | None = None
        self._stop_requested = False

    # ---- lifecycle ------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        *,
        binary: str | None = None,
        startup_timeout: float = 30.0,
        env: Mapping[str, str] | None = None,
        **flags: Flag,
    ) -> TasktokenServer:
        """Starts `tasktoken serve` and waits until it listens; see `serve()`."""
        flags.setdefault("port", 0)
        flags.setdefault("clock", "virtual")
        command = [binary or find_binary(), "serve", *serve_args(flags)]
        fd, log_path = tempfile.mkstemp(prefix="tasktoken-", suffix=".log")
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=subprocess.STDOUT,
                env=None if env is None else {**os.environ, **env},
            )
        except OSError as e:
            os.close(fd)
            os.unlink(log_path)
            raise TasktokenError(f"cannot run {command[0]}: {e}") from e
        os.close(fd)
        deadline = time.monotonic() + startup_timeout
        while True:
            with open(log_path, encoding="utf-8", errors="replace") as log:
                for line in log:
                    if line.startswith(READY_PREFIX) and line.endswith("\n"):
                        return cls(process, line[len(READY_PREFIX) :].strip(), log_path, flags)
            code = process.poll()
            if code is not None or time.monotonic() > deadline:
                if code is None:
                    process.kill()
                    process.wait()
                with open(log_path, encoding="utf-8", errors="replace") as log:
                    text = log.read()
                os.unlink(log_path)
                what = (
                    f"exited with status {code}"
                    if code is not None
                    else f"printed no address within {startup_timeout} s"
                )
                raise TasktokenError(f"{' '.join(command)} {what}; its output:\n{text}")
            time.sleep(0.01)

    @property
    def running(self) -> bool:
        """Whether the process is still running."""
        return self.process.poll() is None

    @property
    def exited_unasked(self) -> bool:
        """Whether the process ended without `stop()` being called (a crash, a signal)."""
        return not self._stop_requested and self.process.poll() is not None

    def stop(self, timeout: float = 5.0) -> int | None:
        """Stops the process (SIGTERM, then SIGKILL after `timeout` s); returns its exit status.

        The log stays readable through `log()`. Calling it again does nothing.
        """
        if self.process.poll() is None:
            self._stop_requested = True
            try:
                self.process.send_signal(signal.SIGTERM)
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._final_log is None:
            self._final_log = self._read_log()
            try:
                os.unlink(self.log_path)
            except FileNotFoundError:
                pass
        return self.process.returncode

    def log(self) -> str:
        """What the process wrote to stdout and stderr so far."""
        return self._final_log if self._final_log is not None else self._read_log()

    def _read_log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as log:
                return log.read()
        except FileNotFoundError:
            return ""

    def __enter__(self) -> TasktokenServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else f"stopped ({self.process.returncode})"
        return f"<TasktokenServer {self.endpoint} {state}>"

    # ---- the control API ------------------------------------------------------------------

    def create_task(
        self,
        provider: str = "aws",
        *,
        timeout_seconds: int | None = None,
        heartbeat_seconds: int | None = None,
        activity_arn: str | None = None,
        input: str | JsonValue = None,
        token_length: int | None = None,
        flow_name: str | None = None,
    ) -> dict[str, Any]:
        """Mints a task (`POST /_mock/tasks`); returns `{"taskToken": ..., "taskId": ...}`.

        `provider` is `"aws"` (Step Functions), `"alibaba"` (CloudFlow) or `"lambda"` (a Lambda
        durable execution callback: the answer adds `callbackId`, the same text as
        `taskToken`, for `send_durable_execution_callback_*(CallbackId=...)`). Only the
        arguments given are sent. With `activity_arn` (an activity made by
        `create_activity`) it schedules an activity task instead: queued on that activity, or
        handed at once to the longest-waiting `GetActivityTask`; `input` is the JSON text the
        worker receives byte for byte (default `"{}"`, at most 262144 UTF-8 bytes; anything
        but a `str` is sent as `json.dumps(input)`), and the task's timeouts start when a
        worker takes it. An unknown activity is a 404 `ControlError`.
        """
        fields = {
            "timeout_seconds": timeout_seconds,
            "heartbeat_seconds": heartbeat_seconds,
            "activity_arn": activity_arn,
            "input": input if input is None or isinstance(input, str) else json.dumps(input),
            "token_length": token_length,
            "flow_name": flow_name,
        }
        body: dict[str, Any] = {"provider": provider}
        body.update({_camel(k): v for k, v in fields.items() if v is not None})
        answer: dict[str, Any] = self._call("POST", "/_mock/tasks", body)
        return answer

    def task(self, task_id: str) -> dict[str, Any]:
        """The task's state (`GET /_mock/tasks/{id}`): `status`, `output`, `error`, ...

        A Lambda callback names them as Lambda does: `resultBase64` (the Result's bytes, in
        standard base64; `callback_result()` decodes it), `errorObject` (the ErrorObject as
        sent, a dict) and `timedOutBy` `Callback.Timeout` or `Callback.Heartbeat`. An
        activity task adds `activityArn`, `input`, `delivered` (whether a worker took it)
        and `workerName` (the `workerName` of the poll that took it, if it sent one).
        """
        answer: dict[str, Any] = self._call("GET", "/_mock/tasks/" + quote(str(task_id), safe=""))
        return answer

    def callback_result(self, task_id: str) -> bytes | None:
        """A Lambda callback's Result as the bytes sent (its `resultBase64`, decoded).

        `None` while the callback has no Result (pending, failed, timed out); `b""` for a
        success sent without one.
        """
        encoded = self.task(task_id).get("resultBase64")
        return None if encoded is None else base64.b64decode(encoded, validate=True)

    def create_activity(self, name: str) -> dict[str, Any]:
        """Creates the activity `name` (`POST /_mock/activities`), or returns the existing one.

        Answers `{"activityArn", "name", "queuedTasks", "waitingPolls"}`; the ARN is
        `arn:aws:states:us-east-1:123456789012:activity:<name>`. As `CreateActivity`, it is
        idempotent by name; an invalid name is a 400 `ControlError`.
        """
        answer: dict[str, Any] = self._call("POST", "/_mock/activities", {"name": name})
        return answer

    def activities(self) -> list[dict[str, Any]]:
        """Every activity (`GET /_mock/activities`), in creation order.

        Each is `{"activityArn", "name", "queuedTasks", "waitingPolls"}`: tasks scheduled and
        not yet taken, and `GetActivityTask` calls waiting for one now.
        """
        answer = self._call("GET", "/_mock/activities")
        activities: list[dict[str, Any]] = answer["activities"]
        return activities

    def wait_for_polls(self, activity_arn: str, n: int = 1, timeout: float = 10.0) -> int:
        """Waits until at least `n` `GetActivityTask` calls wait on `activity_arn`.

        Reads `activities()` every 10 ms for at most `timeout` seconds of real time; returns
        the `waitingPolls` seen. Raises `TasktokenError` when the activity does not exist or
        the count stays below `n` (with the last count in the message). Use it before
        scheduling a task that must be handed to a waiting worker, or before advancing the
        clock past an idle poll's hold.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = [a for a in self.activities() if a["activityArn"] == activity_arn]
            if not found:
                raise TasktokenError(f"no activity {activity_arn}")
            waiting = int(found[0]["waitingPolls"])
            if waiting >= n:
                return waiting
            if time.monotonic() >= deadline:
                raise TasktokenError(
                    f"{waiting} polls wait on {activity_arn} after {timeout} s, not {n}"
                )
            time.sleep(0.01)

    def delete_task(self, task_id: str) -> None:
        """Forgets a task (`DELETE /_mock/tasks/{id}`): its token then gets `TaskDoesNotExist`."""
        self._call("DELETE", "/_mock/tasks/" + quote(str(task_id), safe=""))

    def advance(self, seconds: float) -> dict[str, Any]:
        """Moves the virtual clock forward (`POST /_mock/clock`); returns `{"mode", "nowMs"}`.

        Whole seconds are sent as `advanceSeconds`, fractions as `advanceMillis`.
        """
        if seconds < 0:
            raise ValueError(f"the clock only moves forward, not by {seconds} s")
        if float(seconds).is_integer():
            body = {"advanceSeconds": int(seconds)}
        else:
            body = {"advanceMillis": round(seconds * 1000)}
        answer: dict[str, Any] = self._call("POST", "/_mock/clock", body)
        return answer

    def clock(self) -> dict[str, Any]:
        """The clock (`GET /_mock/clock`): `{"mode": "virtual"|"real", "nowMs": ...}`."""
        answer: dict[str, Any] = self._call("GET", "/_mock/clock")
        return answer

    def journal(self) -> list[dict[str, Any]]:
        """The provider requests received, oldest first (`GET /_mock/journal`, its `entries`).

        Each entry has `seq`, `method`, `path`, `operation`, `body`, `status`, `errorCode`,
        `taskId` (the last three when they apply).
        """
        answer = self._call("GET", "/_mock/journal")
        entries: list[dict[str, Any]] = answer["entries"]
        return entries

    def clear_journal(self) -> None:
        """Empties the journal (`DELETE /_mock/journal`)."""
        self._call("DELETE", "/_mock/journal")

    def add_fault(self, **spec: Any) -> str:
        """Adds a fault rule (`POST /_mock/faults`); returns its id.

        Keywords are the rule's fields in snake_case: `provider`, `operation`, `error`,
        `latency_ms`, `reset`, `count`, `probability`; e.g.
        `add_fault(provider="aws", error="ThrottlingException", count=2)`.
        """
        body = {_camel(k): v for k, v in spec.items() if v is not None}
        answer = self._call("POST", "/_mock/faults", body)
        return str(answer["faultId"])

    def faults(self) -> list[dict[str, Any]]:
        """The active fault rules and how often each fired (`GET /_mock/faults`)."""
        answer = self._call("GET", "/_mock/faults")
        faults: list[dict[str, Any]] = answer["faults"]
        return faults

    def clear_faults(self) -> None:
        """Removes every fault rule (`DELETE /_mock/faults`)."""
        self._call("DELETE", "/_mock/faults")

    def stats(self) -> dict[str, Any]:
        """Counts of tasks by status (`GET /_mock/stats`)."""
        answer: dict[str, Any] = self._call("GET", "/_mock/stats")
        return answer

    def reset(self) -> None:
        """Clears tasks, journal and faults (`POST /_mock/reset`); old tokens become invalid."""
        self._call("POST", "/_mock/reset")

    def health(self) -> dict[str, Any]:
        """`GET /_mock/health`: `{"status": "ok"}`."""
        answer: dict[str, Any] = self._call("GET", "/_mock/health")
        return answer

    # ---- SDK settings ---------------------------------------------------------------------

    def boto3_kwargs(self) -> dict[str, str]:
        """Keywords for `boto3.client("stepfunctions", **server.boto3_kwargs())`, or `"lambda"`.

        The endpoint, a region, and the credentials the mock accepts: the first `aws_key` the
        server was started with, else `test`/`test`.
        """
        key_id, secret = _key_pair(self.flags.get("aws_key")) or (TEST_ACCESS_KEY_ID, TEST_SECRET)
        return {
            "endpoint_url": self.endpoint,
            "region_name": AWS_REGION,
            "aws_access_key_id": key_id,
            "aws_secret_access_key": secret,
        }

    def alibaba_config_kwargs(self) -> dict[str, str]:
        """Keywords for the Tea SDK's `alibabacloud_tea_openapi.models.Config(**...)`.

        The endpoint as host:port with `protocol="http"`, a region, and the AccessKey pair the
        mock accepts: the first `alibaba_key` the server was started with, else `test`/`test`.
        """
        key_id, secret = _key_pair(self.flags.get("alibaba_key")) or (
            TEST_ACCESS_KEY_ID,
            TEST_SECRET,
        )
        return {
            "endpoint": self.endpoint.split("://", 1)[1],
            "protocol": "http",
            "region_id": ALIBABA_REGION,
            "access_key_id": key_id,
            "access_key_secret": secret,
        }

    # ---- plumbing -------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {} if data is None else {"Content-Type": "application/json"}
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.request_timeout)
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as e:
            state = "" if self.running else f" (the process exited with {self.process.returncode})"
            raise TasktokenError(f"{method} {self.endpoint}{path}: {e}{state}") from e
        finally:
            connection.close()
        if response.status >= 300:
            try:
                message = str(json.loads(raw)["error"])
            except (ValueError, KeyError, TypeError):
                message = raw.decode("utf-8", "replace")
            raise ControlError(method, path, response.status, message)
        return json.loads(raw) if raw else None


def serve(
    *,
    binary: str | None = None,
    startup_timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
    **flags: Flag,
) -> TasktokenServer:
    """Starts `tasktoken serve --port 0 --clock virtual` plus `flags`; use it in a `with` block.

    `with tasktoken.serve(strict_auth=True) as server:` ... Flags map to options (see the
    module's documentation); `port` and `clock` may be overridden. `binary` names the
    executable (default: `find_binary()`), `startup_timeout` bounds the wait for the address,
    `env` adds environment variables. Raises `TasktokenError` when the server does not start.
    """
    return TasktokenServer.start(binary=binary, startup_timeout=startup_timeout, env=env, **flags)
