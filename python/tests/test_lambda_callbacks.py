"""Lambda durable execution callbacks with a real boto3 `lambda` client against `tasktoken serve`.

SendDurableExecutionCallbackSuccess, Failure and Heartbeat as botocore sends them (restJson1,
the callback id a percent-encoded path label, the Result a raw blob) and the errors as it
decodes them: `ClientError` codes and the client's typed exception classes.
"""

from __future__ import annotations

import json

import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from workers import lambda_callback_worker

OPERATIONS = (
    "SendDurableExecutionCallbackSuccess",
    "SendDurableExecutionCallbackFailure",
    "SendDurableExecutionCallbackHeartbeat",
)
PREFIX = "/2025-12-01/durable-execution-callbacks/"


def lambda_client(server, key_id="test", secret="test", **config):
    """A boto3 `lambda` client as a user writes one for the mock: `endpoint_url` and test keys."""
    return boto3.client(
        "lambda",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(**{"retries": {"mode": "standard", "total_max_attempts": 1}, **config}),
    )


def operations(server):
    return [(e.get("operation"), e["status"], e.get("errorCode")) for e in server.journal()]


def error_of(raised):
    error = raised.value.response["Error"]
    return error["Code"], raised.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_the_installed_botocore_has_the_durable_callback_operations():
    major, minor = (int(part) for part in botocore.__version__.split(".")[:2])
    assert (major, minor) >= (1, 42), botocore.__version__
    names = boto3.client("lambda", region_name="us-east-1").meta.service_model.operation_names
    assert set(OPERATIONS) <= set(names)


def test_creating_a_lambda_task_returns_a_callback_id(tasktoken_server):
    task = tasktoken_server.create_task("lambda", timeout_seconds=300, heartbeat_seconds=60)
    assert set(task) == {"taskToken", "callbackId", "taskId"}
    assert task["callbackId"] == task["taskToken"]
    assert len(task["callbackId"]) == 212
    assert "+" in task["callbackId"] and "/" in task["callbackId"]
    assert task["callbackId"].endswith("==")
    state = tasktoken_server.task(task["taskId"])
    assert (state["provider"], state["status"], state["heartbeats"]) == ("lambda", "PENDING", 0)
    assert (state["timeoutSeconds"], state["heartbeatSeconds"]) == (300, 60)
    assert "resultBase64" not in state and "errorObject" not in state
    assert tasktoken_server.callback_result(task["taskId"]) is None


def test_worker_reports_success_with_its_result_bytes(tasktoken_server):
    task = tasktoken_server.create_task("lambda", heartbeat_seconds=60)
    client = lambda_client(tasktoken_server)
    outcome = lambda_callback_worker(client, task["callbackId"], {"numbers": [1, 2, 3.5]})
    assert outcome == "succeeded"
    state = tasktoken_server.task(task["taskId"])
    assert state["status"] == "SUCCEEDED"
    result = tasktoken_server.callback_result(task["taskId"])
    assert result == json.dumps({"sum": 6.5, "count": 3}).encode()
    assert operations(tasktoken_server) == [("SendDurableExecutionCallbackSuccess", 200, None)]


def test_a_raw_result_blob_round_trips_byte_for_byte(tasktoken_server):
    task = tasktoken_server.create_task("lambda")
    client = lambda_client(tasktoken_server)
    blob = b"\x00\xff\xfe\x80 not UTF-8 \xe2\x82"
    response = client.send_durable_execution_callback_success(
        CallbackId=task["callbackId"], Result=blob
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert len(response["ResponseMetadata"]["RequestId"]) == 36
    assert tasktoken_server.callback_result(task["taskId"]) == blob


def test_worker_reports_failure_and_the_error_object_is_kept_as_sent(tasktoken_server):
    task = tasktoken_server.create_task("lambda")
    client = lambda_client(tasktoken_server)
    assert lambda_callback_worker(client, task["callbackId"], {"numbers": "1,2"}) == "failed"
    state = tasktoken_server.task(task["taskId"])
    assert state["status"] == "FAILED"
    assert state["errorObject"] == {
        "ErrorType": "JobFailed",
        "ErrorMessage": "numbers must be a list of numbers, not '1,2'",
    }
    assert "resultBase64" not in state

    # All four members, a stack trace and non-ASCII text: stored exactly as botocore sent them.
    other = tasktoken_server.create_task("lambda")
    error = {
        "ErrorMessage": "card expired: 12/26 €",
        "ErrorType": "Payment.Declined",
        "ErrorData": json.dumps({"retry": False}),
        "StackTrace": ["at charge (pay.py:10)", "at main (pay.py:99)"],
    }
    client.send_durable_execution_callback_failure(CallbackId=other["callbackId"], Error=error)
    assert tasktoken_server.task(other["taskId"])["errorObject"] == error


def test_a_second_completion_is_callback_timeout_exception(tasktoken_server):
    task = tasktoken_server.create_task("lambda")
    client = lambda_client(tasktoken_server)
    client.send_durable_execution_callback_success(CallbackId=task["callbackId"], Result=b"[1]")

    with pytest.raises(ClientError) as raised:
        client.send_durable_execution_callback_success(CallbackId=task["callbackId"], Result=b"[1]")
    assert error_of(raised) == ("CallbackTimeoutException", 400)
    assert raised.value.response["Error"]["Message"] == (
        "The callback ID token has either expired or the callback associated with the token "
        "has already been closed."
    )
    # The typed catch, as a worker writes it.
    with pytest.raises(client.exceptions.CallbackTimeoutException):
        client.send_durable_execution_callback_failure(
            CallbackId=task["callbackId"], Error={"ErrorType": "Late"}
        )
    with pytest.raises(client.exceptions.CallbackTimeoutException):
        client.send_durable_execution_callback_heartbeat(CallbackId=task["callbackId"])

    state = tasktoken_server.task(task["taskId"])
    assert (state["status"], state["heartbeats"]) == ("SUCCEEDED", 0)
    assert tasktoken_server.callback_result(task["taskId"]) == b"[1]"
    assert [status for _, status, _ in operations(tasktoken_server)] == [200, 400, 400, 400]


def test_heartbeats_keep_a_callback_alive_on_the_virtual_clock(tasktoken_server):
    task = tasktoken_server.create_task("lambda", timeout_seconds=3600, heartbeat_seconds=10)
    client = lambda_client(tasktoken_server)
    steps = [lambda: tasktoken_server.advance(9)] * 4
    outcome = lambda_callback_worker(client, task["callbackId"], {"numbers": [4]}, steps)
    assert outcome == "succeeded"
    state = tasktoken_server.task(task["taskId"])
    assert (state["status"], state["heartbeats"]) == ("SUCCEEDED", 4)
    assert [op for op, _, _ in operations(tasktoken_server)] == [
        "SendDurableExecutionCallbackHeartbeat"
    ] * 4 + ["SendDurableExecutionCallbackSuccess"]


def test_a_missed_heartbeat_times_the_callback_out(tasktoken_server):
    task = tasktoken_server.create_task("lambda", timeout_seconds=3600, heartbeat_seconds=10)
    client = lambda_client(tasktoken_server)
    steps = [lambda: tasktoken_server.advance(5), lambda: tasktoken_server.advance(11)]
    outcome = lambda_callback_worker(client, task["callbackId"], {"numbers": [1]}, steps)
    assert outcome == "abandoned"
    state = tasktoken_server.task(task["taskId"])
    assert (state["status"], state["timedOutBy"], state["heartbeats"]) == (
        "TIMED_OUT",
        "Callback.Heartbeat",
        1,
    )
    assert tasktoken_server.callback_result(task["taskId"]) is None


def test_the_overall_timeout_is_callback_timeout(tasktoken_server):
    task = tasktoken_server.create_task("lambda", timeout_seconds=30)
    tasktoken_server.advance(30)
    state = tasktoken_server.task(task["taskId"])
    assert (state["status"], state["timedOutBy"]) == ("TIMED_OUT", "Callback.Timeout")
    client = lambda_client(tasktoken_server)
    with pytest.raises(client.exceptions.CallbackTimeoutException):
        client.send_durable_execution_callback_success(CallbackId=task["callbackId"], Result=b"")


def test_an_unknown_callback_id_is_resource_not_found(tasktoken_server):
    task = tasktoken_server.create_task("lambda")
    client = lambda_client(tasktoken_server)
    known = task["callbackId"]
    unknown = known[:20] + ("B" if known[20] == "A" else "A") + known[21:]
    with pytest.raises(ClientError) as raised:
        client.send_durable_execution_callback_success(CallbackId=unknown, Result=b"{}")
    assert error_of(raised) == ("ResourceNotFoundException", 404)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.send_durable_execution_callback_heartbeat(CallbackId=unknown)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.send_durable_execution_callback_failure(CallbackId=unknown, Error={})
    assert tasktoken_server.task(task["taskId"])["status"] == "PENDING"


@pytest.mark.parametrize(
    "bad, detail",
    [
        ("A" * 1025, "length less than or equal to 1024"),
        ("ab cd", "regular expression pattern"),
        ("abc===", "regular expression pattern"),
    ],
    ids=["1025-characters", "a-space", "three-equals"],
)
def test_ids_botocore_sends_but_the_model_forbids_are_invalid_parameter_value(
    tasktoken_server, bad, detail
):
    client = lambda_client(tasktoken_server)
    with pytest.raises(ClientError) as raised:
        client.send_durable_execution_callback_heartbeat(CallbackId=bad)
    assert error_of(raised) == ("InvalidParameterValueException", 400)
    # The shape's member is lowercase `message`; botocore reads it into "Message".
    message = raised.value.response["Error"]["Message"]
    assert message.startswith("One of the parameters in the request is not valid."), message
    assert detail in message
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.send_durable_execution_callback_success(CallbackId=bad, Result=b"{}")
    # botocore checks only the minimum length: these reached the wire.
    assert [status for _, status, _ in operations(tasktoken_server)] == [400, 400]


def test_botocore_refuses_an_empty_id_before_sending(tasktoken_server):
    client = lambda_client(tasktoken_server)
    with pytest.raises(ParamValidationError):
        client.send_durable_execution_callback_heartbeat(CallbackId="")
    assert tasktoken_server.journal() == []


def test_a_result_over_one_mebibyte_is_invalid_parameter_value(tasktoken_server):
    task = tasktoken_server.create_task("lambda")
    client = lambda_client(tasktoken_server)
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.send_durable_execution_callback_success(
            CallbackId=task["callbackId"], Result=b"x" * (1_048_576 + 1)
        )
    assert tasktoken_server.task(task["taskId"])["status"] == "PENDING"
    client.send_durable_execution_callback_success(
        CallbackId=task["callbackId"], Result=b"x" * 1_048_576
    )
    assert tasktoken_server.callback_result(task["taskId"]) == b"x" * 1_048_576


def test_ids_with_plus_slash_and_equals_are_percent_encoded_by_botocore(tasktoken_server):
    client = lambda_client(tasktoken_server)
    for _ in range(3):
        task = tasktoken_server.create_task("lambda")
        client.send_durable_execution_callback_heartbeat(CallbackId=task["callbackId"])
        assert tasktoken_server.task(task["taskId"])["heartbeats"] == 1
        path = tasktoken_server.journal()[-1]["path"]
        encoded = task["callbackId"].replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
        assert path == PREFIX + encoded + "/heartbeat"


def test_injected_throttling_is_retried_by_botocore(tasktoken_server):
    task = tasktoken_server.create_task("lambda")
    tasktoken_server.add_fault(
        provider="lambda",
        operation="SendDurableExecutionCallbackSuccess",
        error="TooManyRequestsException",
        count=2,
    )
    client = lambda_client(tasktoken_server, retries={"mode": "standard", "total_max_attempts": 3})
    lambda_callback_worker(client, task["callbackId"], {"numbers": [2, 2]})
    assert tasktoken_server.callback_result(task["taskId"]) == b'{"sum": 4, "count": 2}'
    assert operations(tasktoken_server) == [
        ("SendDurableExecutionCallbackSuccess", 429, "TooManyRequestsException"),
        ("SendDurableExecutionCallbackSuccess", 429, "TooManyRequestsException"),
        ("SendDurableExecutionCallbackSuccess", 200, None),
    ]


@pytest.mark.tasktoken(strict_auth=True)
def test_strict_mode_verifies_botocores_sigv4(tasktoken_server):
    client = lambda_client(tasktoken_server)
    task = tasktoken_server.create_task("lambda")
    client.send_durable_execution_callback_heartbeat(CallbackId=task["callbackId"])
    client.send_durable_execution_callback_success(CallbackId=task["callbackId"], Result=b"ok")
    assert tasktoken_server.callback_result(task["taskId"]) == b"ok"

    other = tasktoken_server.create_task("lambda")
    wrong_secret = lambda_client(tasktoken_server, secret="not-the-secret")
    with pytest.raises(ClientError) as raised:
        wrong_secret.send_durable_execution_callback_heartbeat(CallbackId=other["callbackId"])
    assert error_of(raised) == ("InvalidSignatureException", 403)
    unknown_key = lambda_client(tasktoken_server, key_id="AKIDUNKNOWN")
    with pytest.raises(ClientError) as raised:
        unknown_key.send_durable_execution_callback_heartbeat(CallbackId=other["callbackId"])
    assert error_of(raised) == ("UnrecognizedClientException", 403)
    assert tasktoken_server.task(other["taskId"])["heartbeats"] == 0
