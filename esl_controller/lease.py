"""Named leases in `schema_meta`: one holder at a time, expiring by themselves after a crash.

A lease is a row `key -> "holder|expires-iso"`. Taking it is one transaction, so two
processes racing for the same key cannot both win. The worker lease (one worker per
database) and the sync lock (one ERP sync at a time) are both leases.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine

from esl_controller.clock import utcnow


class LeaseHeld(RuntimeError):
    """Another holder has the lease and it has not expired; `.holder` and `.until` say who."""

    def __init__(self, key: str, holder: str, until: str) -> None:
        super().__init__(f"{key} is held by {holder} until {until} UTC")
        self.key = key
        self.holder = holder
        self.until = until


def holder_name() -> str:
    """`host:pid:token`: unique per holder even for two holders in one process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_gone(holder: str) -> bool:
    """True when `holder` ran on this host in a process that no longer exists; False when it
    lives or ran elsewhere (then only its lease's expiry tells)."""
    host, _, rest = holder.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def acquire(
    engine: Engine, key: str, holder: str, seconds: float, now: datetime | None = None
) -> None:
    """Take or renew the lease `key` for `seconds`; raise LeaseHeld if another holder has it."""
    now = now or utcnow()
    value = f"{holder}|{(now + timedelta(seconds=seconds)).isoformat()}"
    with engine.begin() as conn:
        row = conn.execute(text("SELECT value FROM schema_meta WHERE key = :k"), {"k": key}).first()
        if row is None:
            conn.execute(
                text("INSERT INTO schema_meta (key, value) VALUES (:k, :v)"), {"k": key, "v": value}
            )
            return
        other, _, until = row[0].rpartition("|")
        if other != holder and datetime.fromisoformat(until) > now:
            raise LeaseHeld(key, other, until)
        # The guard on the old value makes the takeover atomic even without row locks.
        taken = conn.execute(
            text("UPDATE schema_meta SET value = :v WHERE key = :k AND value = :old"),
            {"k": key, "v": value, "old": row[0]},
        )
        if taken.rowcount != 1:
            raise LeaseHeld(key, "a concurrent taker", "now")


def release(engine: Engine, key: str, holder: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM schema_meta WHERE key = :k AND value LIKE :v"),
            {"k": key, "v": f"{holder}|%"},
        )


def current(engine: Engine, key: str) -> tuple[str, datetime] | None:
    """(holder, expiry) of the lease `key`, or None when nobody holds it."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT value FROM schema_meta WHERE key = :k"), {"k": key}).first()
    if row is None:
        return None
    holder, _, until = row[0].rpartition("|")
    return holder, datetime.fromisoformat(until)


def take_over(
    engine: Engine,
    key: str,
    holder: str,
    seconds: float,
    from_holder: str,
    now: datetime | None = None,
) -> None:
    """Take `key` from `from_holder` (known to be dead) even before it expires; LeaseHeld
    if someone else holds it by now."""
    now = now or utcnow()
    value = f"{holder}|{(now + timedelta(seconds=seconds)).isoformat()}"
    with engine.begin() as conn:
        taken = conn.execute(
            text("UPDATE schema_meta SET value = :v WHERE key = :k AND value LIKE :old"),
            {"k": key, "v": value, "old": f"{from_holder}|%"},
        )
        if taken.rowcount == 1:
            return
    acquire(engine, key, holder, seconds, now)
