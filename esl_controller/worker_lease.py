"""Exactly one worker per store database, enforced by a lease row.

The worker owns the MQTT session, the scheduler and the outbox; two of them would send
every image twice and fight over sequence numbers. A second worker refuses to start
while the first one's lease is fresh; a crashed worker's lease runs out by itself.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from esl_controller import lease
from esl_controller.lease import holder_name

__all__ = [
    "LEASE_KEY",
    "LEASE_SECONDS",
    "WorkerAlreadyRunning",
    "acquire",
    "holder_name",
    "release",
]

LEASE_KEY = "worker_lease"
LEASE_SECONDS = 30.0


class WorkerAlreadyRunning(RuntimeError):
    pass


def acquire(engine: Engine, holder: str, now: datetime | None = None) -> None:
    """Take or renew the lease; raise WorkerAlreadyRunning if another holder has it."""
    try:
        lease.acquire(engine, LEASE_KEY, holder, LEASE_SECONDS, now=now)
    except lease.LeaseHeld as held:
        raise WorkerAlreadyRunning(
            f"another worker ({held.holder}) holds this database until {held.until} UTC; "
            "run exactly one worker per store database"
        ) from held


def release(engine: Engine, holder: str) -> None:
    lease.release(engine, LEASE_KEY, holder)
