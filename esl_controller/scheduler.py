"""Scheduled jobs. Started only by the worker process, never by web processes.

Every job coalesces (a backlog of missed runs runs once), allows one instance at a time
(a slow run is never overlapped by the next), and has a misfire grace so a busy moment
does not silently drop a run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}


class _ExpectedSkips(logging.Filter):
    """A tick that finds its job still running is skipped by design (max_instances=1: the
    label refresh of a full re-price outlasts its 2 s interval). APScheduler logs each such
    skip as a warning; they are noise in an operator's log, so they go to debug level.
    Its other warnings (a missed run) and errors stay as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances reached" in record.getMessage():
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


logging.getLogger("apscheduler.scheduler").addFilter(_ExpectedSkips())


def build_scheduler(jobs: dict[str, tuple[Callable[[], object], float]]) -> BackgroundScheduler:
    """`jobs`: name -> (function, interval in seconds)."""
    scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    for name, (function, seconds) in jobs.items():
        scheduler.add_job(function, "interval", seconds=seconds, id=name, name=name)
    return scheduler
