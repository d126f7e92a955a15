#!/usr/bin/env python3
# mint_callback.py: prints one fresh live callback id of AWS's durable execution emulator, for
# `tasktoken check --tokens command:...`.
#
# It starts one durable execution of `tasktoken-callback` (served by function_host.py, the
# emulator's --lambda-endpoint) with POST /start-durable-execution, then reads the execution's
# history (GET /2025-12-01/durable-executions/{arn}/history) until its CallbackStarted event
# appears and the invocation that created it has ended (InvocationCompleted), and prints that
# event's CallbackId on one line. The callback is STARTED (live) until something completes it or
# its timer fires.
#
#   TASKTOKEN_TARGET=http://127.0.0.1:PORT mint_callback.py \
#       [--timeout-seconds N] [--heartbeat-seconds N]
#
# TASKTOKEN_TARGET is what tasktoken's command token source sets; --target overrides it. The
# callback has no timeout and no heartbeat timeout unless asked for (0 = none, as in the API).
# Exit status 0 with the id on stdout; 1 with a message on stderr (no id within --deadline
# seconds, 20 by default, or an answer it cannot use). Standard library only.
import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

FUNCTION_NAME = "tasktoken-callback"


def fail(message):
    print(f"mint_callback: {message}", file=sys.stderr)
    return 1


def call(method, url, body, deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=min(left, 10)) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        text = " ".join(e.read().decode("utf-8", "replace").split())
        raise RuntimeError(f"{method} {url} answered {e.code}: {text[:300]}") from None


def main():
    p = argparse.ArgumentParser(
        description="Print one fresh live callback id of the durable execution emulator."
    )
    p.add_argument(
        "--target",
        default=os.environ.get("TASKTOKEN_TARGET"),
        help="emulator URL (default: $TASKTOKEN_TARGET)",
    )
    p.add_argument(
        "--timeout-seconds",
        type=int,
        default=int(os.environ.get("TASKTOKEN_TIMEOUT_SECONDS") or 0),
        help="the callback's TimeoutSeconds (0 = none; default: $TASKTOKEN_TIMEOUT_SECONDS, "
        "which tasktoken's command-deadlines: token source sets)",
    )
    p.add_argument(
        "--heartbeat-seconds",
        type=int,
        default=int(os.environ.get("TASKTOKEN_HEARTBEAT_SECONDS") or 0),
        help="the callback's HeartbeatTimeoutSeconds (0 = none; default: "
        "$TASKTOKEN_HEARTBEAT_SECONDS)",
    )
    p.add_argument(
        "--execution-timeout", type=int, default=3600, help="the execution's timeout in seconds"
    )
    p.add_argument("--deadline", type=float, default=20.0, help="give up after this many seconds")
    a = p.parse_args()
    if not a.target:
        return fail("no emulator URL: set TASKTOKEN_TARGET or pass --target")
    base = a.target.rstrip("/")
    deadline = time.monotonic() + a.deadline
    name = f"tasktoken-{uuid.uuid4()}"
    start = {
        "AccountId": "123456789012",
        "FunctionName": FUNCTION_NAME,
        "FunctionQualifier": "$LATEST",
        "ExecutionName": name,
        "ExecutionTimeoutSeconds": a.execution_timeout,
        "ExecutionRetentionPeriodDays": 1,
        "InvocationId": str(uuid.uuid4()),
        "Input": json.dumps(
            {"timeoutSeconds": a.timeout_seconds, "heartbeatSeconds": a.heartbeat_seconds}
        ),
    }
    try:
        _, started = call("POST", f"{base}/start-durable-execution", start, deadline)
        arn = started.get("ExecutionArn") if isinstance(started, dict) else None
        if not isinstance(arn, str) or not arn:
            return fail(f"POST /start-durable-execution gave no ExecutionArn: {started!r}")
        history = f"{base}/2025-12-01/durable-executions/{urllib.parse.quote(arn, safe='')}/history"
        pause = 0.02
        while True:
            _, doc = call("GET", history, None, deadline)
            events = doc.get("Events", []) if isinstance(doc, dict) else []
            callback_id = None
            for event in events:
                kind = event.get("EventType")
                if kind == "CallbackStarted":
                    callback_id = (event.get("CallbackStartedDetails") or {}).get("CallbackId")
                    if not (
                        isinstance(callback_id, str) and callback_id and "\n" not in callback_id
                    ):
                        return fail(f"CallbackStarted without a usable CallbackId: {event!r}")
                elif kind == "InvocationCompleted" and callback_id:
                    # The invocation that created the callback has ended: the execution is
                    # suspended on it, as a worker normally finds it.
                    print(callback_id, flush=True)
                    return 0
                if kind in (
                    "ExecutionFailed",
                    "ExecutionTimedOut",
                    "ExecutionStopped",
                ):
                    return fail(
                        f"execution {arn} ended before its callback started (is function_host.py "
                        f"the emulator's --lambda-endpoint?): {json.dumps(event)}"
                    )
            if time.monotonic() + pause >= deadline:
                return fail(
                    f"no live callback (CallbackStarted, then InvocationCompleted) in execution "
                    f"{arn} within {a.deadline:g} s (is function_host.py the emulator's "
                    f"--lambda-endpoint, and has the emulator AWS credentials?); events: "
                    f"{[e.get('EventType') for e in events]}"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.25)
    except (OSError, TimeoutError, RuntimeError, ValueError) as e:
        return fail(f"{base}: {e}")


if __name__ == "__main__":
    sys.exit(main())
