"""The pytest plugin (entry point `pytest11`): fixtures that run `tasktoken serve` for tests.

`tasktoken_server` starts one server per test, `tasktoken_server_session` one per session (call
`reset()` between tests that must not see each other's tasks). Both run `tasktoken serve --port 0
--clock virtual` and yield a `tasktoken.TasktokenServer`; the process is stopped at teardown.
Flags for the per-test server come from the marker `@pytest.mark.tasktoken(strict_auth=True)`
(on the test, its class or its module; the closest wins).

A server that exits on its own (a crash) fails the test's teardown with its output. When a
test fails, its report gets a section `tasktoken log (<endpoint>)` with the server's
output, and `tasktoken journal (<endpoint>)` with the last requests it received, for every
`TasktokenServer` among the test's fixtures (yours included).
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from ._server import TasktokenError, TasktokenServer, serve

#: At most this many trailing characters of a server's log go into a failed test's report.
LOG_TAIL_CHARS = 20_000
#: At most this many of the latest journal entries go into a failed test's report.
JOURNAL_TAIL_ENTRIES = 50


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "tasktoken(**flags): `tasktoken serve` flags for the tasktoken_server fixture "
        "(strict_auth=True, throttle=True, fault={...}, ...)",
    )


def _marker_flags(request: pytest.FixtureRequest) -> dict[str, Any]:
    flags: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("tasktoken"))):
        if marker.args:
            raise pytest.UsageError("@pytest.mark.tasktoken takes keyword flags only")
        flags.update(marker.kwargs)
    return flags


@pytest.fixture
def tasktoken_server(request: pytest.FixtureRequest) -> Iterator[TasktokenServer]:
    """A `tasktoken serve` of this test's own, on an ephemeral port with a virtual clock."""
    with serve(**_marker_flags(request)) as server:
        yield server
        _fail_if_it_died(server)


@pytest.fixture(scope="session")
def tasktoken_server_session() -> Iterator[TasktokenServer]:
    """One `tasktoken serve` for the whole session, on an ephemeral port with a virtual clock."""
    with serve() as server:
        yield server
        _fail_if_it_died(server)


def _fail_if_it_died(server: TasktokenServer) -> None:
    """A server that ended on its own during the tests fails the teardown, with its log."""
    if server.exited_unasked:
        pytest.fail(
            f"tasktoken serve ({server.endpoint}) exited with status "
            f"{server.process.returncode} before teardown; its output:\n{server.log()}",
            pytrace=False,
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.failed:
        return
    funcargs: dict[str, Any] = getattr(item, "funcargs", None) or {}
    seen: set[int] = set()
    for value in funcargs.values():
        if not isinstance(value, TasktokenServer) or id(value) in seen:
            continue
        seen.add(id(value))
        for title, text in _sections(value):
            report.sections.append((f"{title} ({value.endpoint})", text))


def _sections(server: TasktokenServer) -> list[tuple[str, str]]:
    log = server.log()
    if len(log) > LOG_TAIL_CHARS:
        log = f"[... {len(log) - LOG_TAIL_CHARS} characters before ...]\n" + log[-LOG_TAIL_CHARS:]
    state = "" if server.running else f"[exited with status {server.process.returncode}]\n"
    sections = [("tasktoken log", state + (log or "(no output)\n"))]
    if server.running:
        try:
            entries = server.journal()
        except TasktokenError as e:
            sections.append(("tasktoken journal", f"(unavailable: {e})\n"))
        else:
            skipped = max(0, len(entries) - JOURNAL_TAIL_ENTRIES)
            lines = [f"[... {skipped} earlier entries ...]"] if skipped else []
            lines += [json.dumps(e, ensure_ascii=False) for e in entries[skipped:]]
            sections.append(("tasktoken journal", "\n".join(lines or ["(empty)"]) + "\n"))
    return sections
