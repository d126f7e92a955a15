"""The package and its plugin as installed from the wheel: binary, fixtures, flags, reports."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig

import boto3
import pytest
import tasktoken
from botocore.exceptions import ClientError


def test_the_package_and_the_binary_come_from_the_installed_wheel():
    site = sysconfig.get_path("purelib")
    assert os.path.dirname(os.path.dirname(tasktoken.__file__)) == site, tasktoken.__file__
    binary = tasktoken.find_binary()
    assert binary == os.path.join(sysconfig.get_path("scripts"), "tasktoken")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.split() == ["tasktoken", tasktoken.__version__]
    via_module = subprocess.run(
        [sys.executable, "-m", "tasktoken", "--version"], capture_output=True, text=True
    )
    assert (via_module.returncode, via_module.stdout) == (0, version.stdout)


def test_serve_outside_pytest_maps_flags_and_stops_the_process():
    with tasktoken.serve(token_length=1024, journal_capacity=2) as server:
        assert server.running
        assert server.clock()["mode"] == "virtual"
        task = server.create_task("aws")
        assert len(task["taskToken"]) == 1024
        before = server.clock()["nowMs"]
        assert server.advance(0.25)["nowMs"] == before + 250
        assert server.stats()["pending"] == 1
        sfn = boto3.client("stepfunctions", **server.boto3_kwargs())
        for _ in range(3):
            sfn.send_task_heartbeat(taskToken=task["taskToken"])
        assert [e["seq"] for e in server.journal()] == [2, 3]  # capacity 2
    assert not server.running
    assert server.process.returncode == 0  # SIGTERM is a clean stop
    with pytest.raises(tasktoken.TasktokenError):
        server.health()


def test_a_bad_flag_fails_with_the_servers_own_words():
    with pytest.raises(tasktoken.TasktokenError) as raised:
        tasktoken.serve(no_such_flag=True)
    assert "exited with status 2" in str(raised.value)
    assert "--no-such-flag" in str(raised.value)


def test_control_api_errors_carry_status_and_message(tasktoken_server):
    with pytest.raises(tasktoken.ControlError) as raised:
        tasktoken_server.task("no-such-task")
    assert raised.value.status == 404
    with pytest.raises(tasktoken.ControlError) as raised:
        tasktoken_server.add_fault(provider="aws", error="NoSuchError")
    assert raised.value.status == 400 and "NoSuchError" in raised.value.message


@pytest.mark.tasktoken(strict_auth=True, aws_key="AKIDPYTEST:s3cret-py")
def test_the_marker_passes_flags_and_boto3_kwargs_follow_them(tasktoken_server):
    kwargs = tasktoken_server.boto3_kwargs()
    assert (kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"]) == (
        "AKIDPYTEST",
        "s3cret-py",
    )
    task = tasktoken_server.create_task("aws")
    wrong = {**kwargs, "aws_secret_access_key": "wrong"}
    with pytest.raises(ClientError):
        boto3.client("stepfunctions", **wrong).send_task_success(
            taskToken=task["taskToken"], output="{}"
        )
    assert tasktoken_server.task(task["taskId"])["status"] == "PENDING"
    boto3.client("stepfunctions", **kwargs).send_task_success(
        taskToken=task["taskToken"], output="{}"
    )
    assert tasktoken_server.task(task["taskId"])["status"] == "SUCCEEDED"


def test_reset_forgets_tasks(tasktoken_server_session):
    server = tasktoken_server_session
    task = server.create_task("aws")
    server.reset()
    assert server.stats()["pending"] == 0
    with pytest.raises(tasktoken.ControlError):
        server.task(task["taskId"])


INNER_TESTS = """
import boto3, pytest

SEEN = []

def test_function_scope_is_fresh_a(tasktoken_server):
    tasktoken_server.create_task("aws")
    assert tasktoken_server.stats()["pending"] == 1
    SEEN.append(tasktoken_server.process.pid)

def test_function_scope_is_fresh_b(tasktoken_server):
    tasktoken_server.create_task("aws")
    assert tasktoken_server.stats()["pending"] == 1
    SEEN.append(tasktoken_server.process.pid)
    assert SEEN[0] != SEEN[1]

def test_session_scope_is_shared_a(tasktoken_server_session):
    tasktoken_server_session.create_task("aws")

def test_session_scope_is_shared_b(tasktoken_server_session):
    assert tasktoken_server_session.stats()["pending"] == 1

def test_failing_worker(tasktoken_server):
    sfn = boto3.client("stepfunctions", **tasktoken_server.boto3_kwargs())
    try:
        sfn.send_task_heartbeat(taskToken="AQ" + "A" * 98)
    except sfn.exceptions.InvalidToken:
        pass
    assert False, "the worker under test got it wrong"
"""


def test_the_entry_point_registers_the_fixtures_and_failures_get_the_log(pytester):
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=1)
    out = result.stdout.str()
    assert "tasktoken log (http://127.0.0.1:" in out
    assert "tasktoken journal (http://127.0.0.1:" in out
    assert '"operation": "AWSStepFunctions.SendTaskHeartbeat"' in out
    assert '"errorCode": "InvalidToken"' in out
    # Only the failed test's report carries the sections.
    assert out.count("tasktoken journal (") == 1


def test_a_server_that_dies_during_a_test_fails_its_teardown(pytester):
    pytester.makepyfile(
        test_inner="""
def test_kills_its_server(tasktoken_server):
    tasktoken_server.process.kill()
    tasktoken_server.process.wait()

def test_stops_its_server(tasktoken_server):
    tasktoken_server.stop()
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    out = result.stdout.str()
    assert "ERROR at teardown of test_kills_its_server" in out
    assert "exited with status -9 before teardown" in out
    assert "tasktoken listening on http://127.0.0.1:" in out
