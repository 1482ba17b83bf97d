"""Scheduled jobs. Started only by the worker process, never by web processes.

Every job coalesces (a backlog of missed runs runs once), allows one instance at a time
(a slow run is never overlapped by the next), and has a misfire grace so a busy moment
does not silently drop a run.
"""

from __future__ import annotations

from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}


def build_scheduler(jobs: dict[str, tuple[Callable[[], object], float]]) -> BackgroundScheduler:
    """`jobs`: name -> (function, interval in seconds)."""
    scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    for name, (function, seconds) in jobs.items():
        scheduler.add_job(function, "interval", seconds=seconds, id=name, name=name)
    return scheduler
