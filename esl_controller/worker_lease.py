"""Exactly one worker per store database, enforced by a lease row.

The worker owns the MQTT session, the scheduler and the outbox; two of them would send
every image twice and fight over sequence numbers. A second worker refuses to start
while the first one's lease is fresh; a crashed worker's lease runs out by itself.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine

from esl_controller.clock import utcnow

LEASE_KEY = "worker_lease"
LEASE_SECONDS = 30.0


class WorkerAlreadyRunning(RuntimeError):
    pass


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire(engine: Engine, holder: str, now: datetime | None = None) -> None:
    """Take or renew the lease; raise WorkerAlreadyRunning if another holder has it."""
    now = now or utcnow()
    expires = (now + timedelta(seconds=LEASE_SECONDS)).isoformat()
    with engine.begin() as conn:
        row = conn.execute(
            text("SELECT value FROM schema_meta WHERE key = :k"), {"k": LEASE_KEY}
        ).first()
        if row:
            other, _, until = row[0].rpartition("|")
            if other != holder and datetime.fromisoformat(until) > now:
                raise WorkerAlreadyRunning(
                    f"another worker ({other}) holds this database until {until} UTC; "
                    "run exactly one worker per store database"
                )
            conn.execute(
                text("UPDATE schema_meta SET value = :v WHERE key = :k"),
                {"k": LEASE_KEY, "v": f"{holder}|{expires}"},
            )
        else:
            conn.execute(
                text("INSERT INTO schema_meta (key, value) VALUES (:k, :v)"),
                {"k": LEASE_KEY, "v": f"{holder}|{expires}"},
            )


def release(engine: Engine, holder: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM schema_meta WHERE key = :k AND value LIKE :v"),
            {"k": LEASE_KEY, "v": f"{holder}|%"},
        )
