"""An example test of a Lambda durable-callback worker, run against `tasktoken serve` (docs/ci.md).

The "worker" is the external system a durable function waits on: it gets a callback id and
reports with boto3's `lambda` client (botocore 1.42 or later). Yours is your real code; point
its client at the mock with `endpoint_url`, or with the standard AWS_ENDPOINT_URL_LAMBDA.
"""
import base64
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


def lambda_client():
    return boto3.client(
        "lambda",
        endpoint_url=MOCK,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def worker(client, callback_id, order):
    """The code under test: heartbeats once, then completes the callback with its result."""
    client.send_durable_execution_callback_heartbeat(CallbackId=callback_id)
    if order.get("qty", 0) <= 0:
        client.send_durable_execution_callback_failure(
            CallbackId=callback_id,
            Error={"ErrorType": "Order.Invalid", "ErrorMessage": f"bad qty {order.get('qty')}"},
        )
        return
    result = {"order": order["id"], "status": "shipped", "note": "€😀"}
    client.send_durable_execution_callback_success(
        CallbackId=callback_id, Result=json.dumps(result).encode()
    )


def test_worker_completes_the_callback():
    task = control("POST", "/_mock/tasks", {"provider": "lambda", "heartbeatSeconds": 60})
    worker(lambda_client(), task["callbackId"], {"id": "o-1", "qty": 2})
    state = control("GET", "/_mock/tasks/" + task["taskId"])
    assert (state["status"], state["heartbeats"]) == ("SUCCEEDED", 1)
    result = json.loads(base64.b64decode(state["resultBase64"]))
    assert result == {"order": "o-1", "status": "shipped", "note": "€😀"}


def test_worker_reports_failure_with_its_error_object():
    task = control("POST", "/_mock/tasks", {"provider": "lambda"})
    worker(lambda_client(), task["callbackId"], {"id": "o-2", "qty": 0})
    state = control("GET", "/_mock/tasks/" + task["taskId"])
    assert state["status"] == "FAILED"
    assert state["errorObject"] == {"ErrorType": "Order.Invalid", "ErrorMessage": "bad qty 0"}


def test_a_retried_completion_gets_callback_timeout_exception():
    task = control("POST", "/_mock/tasks", {"provider": "lambda"})
    client = lambda_client()
    worker(client, task["callbackId"], {"id": "o-3", "qty": 1})
    with pytest.raises(client.exceptions.CallbackTimeoutException):
        worker(client, task["callbackId"], {"id": "o-3", "qty": 1})


def test_the_standard_endpoint_variable_reaches_the_mock_too():
    # No endpoint_url: boto3 reads AWS_ENDPOINT_URL_LAMBDA (set by the CI step).
    assert os.environ.get("AWS_ENDPOINT_URL_LAMBDA") == MOCK
    task = control("POST", "/_mock/tasks", {"provider": "lambda", "timeoutSeconds": 30})
    client = boto3.client("lambda", region_name="us-east-1")
    client.send_durable_execution_callback_heartbeat(CallbackId=task["callbackId"])
    control("POST", "/_mock/clock", {"advanceSeconds": 30})
    state = control("GET", "/_mock/tasks/" + task["taskId"])
    assert (state["status"], state["timedOutBy"]) == ("TIMED_OUT", "Callback.Timeout")
    with pytest.raises(client.exceptions.CallbackTimeoutException):
        client.send_durable_execution_callback_heartbeat(CallbackId=task["callbackId"])
