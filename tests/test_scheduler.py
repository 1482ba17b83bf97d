"""The worker's scheduler: a job failing for a passing reason (the database away) is
logged once until it succeeds, without a traceback on every run; other failures keep
their traceback."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy.exc import OperationalError

from esl_controller.db import is_database_unavailable
from esl_controller.scheduler import build_scheduler

INTERVAL_S = 0.05


def run_until(outcomes: list[str], caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """A job that fails or succeeds as `outcomes` says, run until every outcome happened."""
    done = threading.Event()
    remaining = list(outcomes)

    def job() -> None:
        outcome = remaining.pop(0) if remaining else "ok"
        if not remaining:
            done.set()
        if outcome == "away":
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))
        if outcome == "bug":
            raise ValueError("a real bug")

    scheduler = build_scheduler({"flaky": (job, INTERVAL_S)}, is_database_unavailable)
    with caplog.at_level(logging.INFO, logger="apscheduler"):
        scheduler.start()
        assert done.wait(30)
        scheduler.shutdown(wait=True)
    return [r for r in caplog.records if r.name.startswith("apscheduler.executors")]


def test_an_outage_is_said_once_per_job_until_it_succeeds(caplog) -> None:
    records = run_until(["away", "away", "away", "ok", "away", "ok"], caplog)
    failures = [r for r in records if r.levelno >= logging.WARNING]
    assert len(failures) == 2  # the first of each run of failures
    for record in failures:
        assert record.levelno == logging.WARNING and record.exc_info is None
        assert "job flaky failed (OperationalError" in record.getMessage()


def test_any_other_failure_keeps_its_traceback(caplog) -> None:
    records = run_until(["bug", "bug"], caplog)
    errors = [r for r in records if r.levelno >= logging.ERROR]
    assert len(errors) == 2 and all(r.exc_info is not None for r in errors)
