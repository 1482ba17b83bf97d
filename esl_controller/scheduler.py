"""Scheduled jobs. Started only by the worker process, never by web processes.

Every job coalesces (a backlog of missed runs runs once), allows one instance at a time
(a slow run is never overlapped by the next), and has a misfire grace so a busy moment
does not silently drop a run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
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

PassingFailure = Callable[[BaseException], bool]


class _PassingFailures(logging.Filter):
    """A job failing for a reason that passes by itself (the database away for a restart)
    fails on every run until it passes. APScheduler logs a traceback each time; instead
    the first failure of a job says so in one line and the rest wait for a success."""

    def __init__(self) -> None:
        super().__init__()
        self.kinds: set[PassingFailure] = set()
        self.failing: set[str] = set()  # ids of jobs told about since their last success
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is None or not any(passing(error) for passing in list(self.kinds)):
            return True
        job = record.args[0] if isinstance(record.args, tuple) and record.args else None
        job_id = str(getattr(job, "id", job))
        with self._lock:
            first = job_id not in self.failing
            self.failing.add(job_id)
        record.msg = "job %s failed (%s: %s); it runs again on its schedule"
        record.args = (job_id, type(error).__name__, str(error).splitlines()[0][:200])
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return first

    def succeeded(self, event: JobExecutionEvent) -> None:
        with self._lock:
            self.failing.discard(event.job_id)


_PASSING = _PassingFailures()
logging.getLogger("apscheduler.executors.default").addFilter(_PASSING)


def build_scheduler(
    jobs: dict[str, tuple[Callable[[], object], float]],
    passing_failure: PassingFailure | None = None,
) -> BackgroundScheduler:
    """`jobs`: name -> (function, interval in seconds). `passing_failure(error)`: True for an
    error that passes by itself, logged once per job until the job succeeds again."""
    scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    if passing_failure is not None:
        _PASSING.kinds.add(passing_failure)
        scheduler.add_listener(_PASSING.succeeded, EVENT_JOB_EXECUTED)
    for name, (function, seconds) in jobs.items():
        scheduler.add_job(function, "interval", seconds=seconds, id=name, name=name)
    return scheduler
