"""The worker tests shown in README.md and python/README.md run, and pass, as printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def python_block(path: Path, heading: str) -> str:
    text = path.read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    match = re.search(r"```python\n(.*?)```\n", section, re.S)
    assert match, f"no python block under {heading} in {path}"
    return match.group(1)


@pytest.mark.parametrize(
    "path, heading",
    [
        ("README.md", "## From Python"),
        ("README.md", "### Lambda durable callbacks"),
        ("python/README.md", "## A worker test"),
    ],
)
def test_the_readme_worker_test_passes(pytester, path, heading):
    code = python_block(ROOT / path, heading)
    assert "tasktoken_server" in code and code.count("\ndef test_") >= 1
    pytester.makepyfile(test_readme_example=code)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=code.count("\ndef test_"))
