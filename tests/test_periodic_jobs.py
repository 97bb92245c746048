"""Periodic jobs: Celery beat's schedule with a broker, a thread per web process without one."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from celery import shared_task
from flask import Flask

from penpress.jobs import (
    PeriodicRunner,
    celery_settings,
    runs_periodic_jobs_in_process,
    start_periodic_runner,
)

PROBE = "tests.periodic_probe"
ran = threading.Event()
runs: list[str] = []


@shared_task(name=PROBE)
def periodic_probe() -> None:
    """Records that it ran, in an app context like every task."""
    from flask import current_app

    runs.append(current_app.name)
    ran.set()


@pytest.fixture(autouse=True)
def _fresh_probe() -> None:
    runs.clear()
    ran.clear()
    return


def test_with_a_broker_celery_beat_gets_the_schedule(build_app: Callable[..., Flask]) -> None:
    app = build_app(
        schema=False, CELERY_BROKER_URL="redis://127.0.0.1:1/0", PERIODIC_JOBS={PROBE: 30}
    )
    assert celery_settings(app)["beat_schedule"] == {PROBE: {"task": PROBE, "schedule": 30.0}}
    assert runs_periodic_jobs_in_process(app) is False


def test_without_a_broker_web_processes_run_them_but_never_in_tests(
    build_app: Callable[..., Flask],
) -> None:
    assert runs_periodic_jobs_in_process(build_app(schema=False)) is False  # a test app
    app = build_app(schema=False, PERIODIC_JOBS_IN_PROCESS=True)
    assert runs_periodic_jobs_in_process(app) is True


def test_the_runner_runs_what_is_due_and_schedules_it_again(app: Flask) -> None:
    runner = PeriodicRunner(app, {PROBE: 60})
    start = min(runner.due.values())
    assert runner.run_due(start - 1) == []
    assert runner.run_due(start) == [PROBE]
    assert runs == [app.name]
    assert runner.due[PROBE] == start + 60
    assert runner.run_due(start + 30) == []


def test_a_process_starts_one_runner_and_it_runs_by_itself(
    build_app: Callable[..., Flask],
) -> None:
    app = build_app(schema=False, PERIODIC_JOBS_IN_PROCESS=True, PERIODIC_JOBS={PROBE: 0.2})
    runner = start_periodic_runner(app)
    assert runner is not None
    try:
        assert start_periodic_runner(app) is runner  # every request asks; one thread
        assert ran.wait(10), "the periodic job never ran"
    finally:
        runner.stop()
        runner.join(5)
    assert runs
    assert set(runs) == {app.name}


def test_no_runner_without_periodic_jobs(build_app: Callable[..., Flask]) -> None:
    app = build_app(schema=False, PERIODIC_JOBS_IN_PROCESS=True, PERIODIC_JOBS={})
    assert start_periodic_runner(app) is None
