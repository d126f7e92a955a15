#!/usr/bin/env python3
# function_host.py: the Lambda endpoint that AWS's durable execution emulator invokes, serving one
# durable function, `tasktoken-callback`, that creates a callback and waits for it.
#
# The emulator (`dex-local-runner start-server`, package aws-durable-execution-sdk-python-testing)
# does not run handlers itself: it sends Lambda `Invoke` calls
# (POST /2015-03-31/functions/{name}/invocations) to its --lambda-endpoint, as SAM's
# `sam local start-lambda` does for it. This is that endpoint, on 127.0.0.1 only, with the real
# `aws_durable_execution_sdk_python` handler code; its checkpoint calls go back to the emulator.
#
#   function_host.py --port PORT --emulator http://127.0.0.1:EMULATOR_PORT
#
# The function reads {"timeoutSeconds": n, "heartbeatSeconds": n} (both optional, 0 or absent =
# none) from its input, creates one callback with them (`context.create_callback`) and waits for
# its result: the first invocation checkpoints the callback START and suspends (PENDING); the
# emulator invokes it again once the callback is closed, and it then returns the result, or the
# error of a failed or timed-out callback (so those end the execution SUCCEEDED, without a
# traceback in the log: the execution's end is not what the checks look at).
import argparse
import json
import logging
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
from aws_durable_execution_sdk_python.config import CallbackConfig, Duration
from aws_durable_execution_sdk_python.exceptions import CallbackError
from aws_durable_execution_sdk_python.execution import durable_execution
from aws_durable_execution_sdk_python_testing.invoker import create_test_lambda_context
from botocore.config import Config

FUNCTION_NAME = "tasktoken-callback"
INVOKE_PREFIX = "/2015-03-31/functions/"

log = logging.getLogger("function_host")


def make_handler(emulator_url):
    # The SDK's client for CheckpointDurableExecution / GetDurableExecutionState: the emulator,
    # with dummy credentials (botocore signs every call; the emulator checks no signature).
    client = boto3.client(
        "lambda",
        endpoint_url=emulator_url,
        region_name="us-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2}),
    )

    @durable_execution(boto3_client=client)
    def handler(event, context):
        event = event if isinstance(event, dict) else {}
        config = CallbackConfig(
            timeout=Duration.from_seconds(int(event.get("timeoutSeconds") or 0)),
            heartbeat_timeout=Duration.from_seconds(int(event.get("heartbeatSeconds") or 0)),
        )
        callback = context.create_callback(name="tasktoken", config=config)
        try:
            return {"callbackId": callback.callback_id, "result": callback.result()}
        except CallbackError as e:  # failed or timed out: a normal end here, not a crash to log
            return {
                "callbackId": callback.callback_id,
                "error": type(e).__name__,
                "message": str(e),
            }

    return handler


class InvokeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tasktoken-function-host"

    def log_message(self, fmt, *args):
        log.info("%s %s", self.address_string(), fmt % args)

    def reply(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            self.reply(200, {"status": "ok", "function": FUNCTION_NAME})
        else:
            self.reply(404, {"Type": "User", "Message": f"no route {self.path}"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        if not (path.startswith(INVOKE_PREFIX) and path.endswith("/invocations")):
            self.reply(
                404,
                {"Type": "User", "Message": f"no route {self.path}"},
                [("x-amzn-ErrorType", "ResourceNotFoundException")],
            )
            return
        name = path[len(INVOKE_PREFIX) : -len("/invocations")].split(":", 1)[0]
        if name != FUNCTION_NAME:
            self.reply(
                404,
                {"Type": "User", "Message": f"Function not found: {name}"},
                [("x-amzn-ErrorType", "ResourceNotFoundException")],
            )
            return
        try:
            event = json.loads(payload or b"{}")
            context = create_test_lambda_context(function_name=FUNCTION_NAME)
            output = self.server.handler(event, context)
        except Exception as e:  # the function failed: Lambda answers 200 + X-Amz-Function-Error
            log.exception("handler raised")
            self.reply(
                200,
                {"errorMessage": str(e), "errorType": type(e).__name__},
                [("X-Amz-Function-Error", "Unhandled")],
            )
            return
        self.reply(200, output, [("X-Amz-Executed-Version", "$LATEST")])


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--emulator", required=True, help="the emulator's URL, for checkpoints")
    p.add_argument("--log-level", default="WARNING")
    a = p.parse_args()
    logging.basicConfig(
        level=a.log_level, format="%(asctime)s function_host %(levelname)s %(message)s"
    )
    server = ThreadingHTTPServer(("127.0.0.1", a.port), InvokeHandler)
    server.daemon_threads = True
    server.handler = make_handler(a.emulator.rstrip("/"))
    print(
        f"function_host: serving {FUNCTION_NAME} on http://127.0.0.1:{a.port}",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
