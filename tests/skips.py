"""Skips: allowed where this machine lacks something, a failure when ``CI`` is set.

``unavailable(reason)`` is how a test says "this machine cannot run me" (no PostgreSQL, nginx,
Chromium...): a skip with the reason locally, a failure in CI, where ``.ci/run`` installs
everything. The hook below holds every other skip to the same rule, so a skip added later
(``pytest.skip`` anywhere, ``importorskip``, a fixture that skips) cannot hide a test in CI
either; a test that must be allowed to skip even there says so with
``@pytest.mark.skip_allowed_in_ci(reason=...)``.

Loaded by ``tests/conftest.py`` as a plugin.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest

ALLOWED_MARK = "skip_allowed_in_ci"


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def unavailable(reason: str) -> NoReturn:
    """Skip for ``reason`` (something to install); fail instead when ``CI`` is set."""
    if in_ci():
        pytest.fail(f"CI is set, so this is required: {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{ALLOWED_MARK}(reason): the test may skip even when CI is set (say why)",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome: Any = yield
    report: pytest.TestReport = outcome.get_result()
    if not (report.skipped and in_ci()) or hasattr(report, "wasxfail"):
        return
    allowed = item.get_closest_marker(ALLOWED_MARK)
    if allowed is not None:
        assert allowed.kwargs.get("reason"), f"{ALLOWED_MARK} needs a reason="
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"CI is set, so this test may not skip ({reason}). Install what it needs, or mark it "
        f"@pytest.mark.{ALLOWED_MARK}(reason=...) if it must skip even in CI."
    )
