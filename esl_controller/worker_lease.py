"""Exactly one worker per store, enforced by a lease row per store.

The worker owns its store's MQTT session, scheduler and outbox; two of them would send
every image twice and fight over sequence numbers. Many workers share one database (a
chain), each holding the lease of its own store. A second worker for the same store
refuses to start while the first one's lease is fresh; a crashed worker's lease runs out
by itself.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from esl_controller import lease
from esl_controller.lease import holder_name

__all__ = [
    "LEASE_SECONDS",
    "WorkerAlreadyRunning",
    "acquire",
    "holder_name",
    "lease_key",
    "release",
    "runs_chain_jobs",
]

LEASE_SECONDS = 30.0


class WorkerAlreadyRunning(RuntimeError):
    pass


def lease_key(store_id: str) -> str:
    return f"worker_lease:{store_id}"


def acquire(engine: Engine, store_id: str, holder: str, now: datetime | None = None) -> None:
    """Take or renew the store's lease; raise WorkerAlreadyRunning if another holder has it.

    A holder whose process on this host is gone (a worker killed and restarted by systemd)
    is taken over at once rather than after its lease runs out."""
    key = lease_key(store_id)
    try:
        try:
            lease.acquire(engine, key, holder, LEASE_SECONDS, now=now)
        except lease.LeaseHeld as held:
            if not lease.holder_gone(held.holder):
                raise
            lease.take_over(engine, key, holder, LEASE_SECONDS, held.holder, now=now)
    except lease.LeaseHeld as held:
        raise WorkerAlreadyRunning(
            f"another worker ({held.holder}) is running store {store_id!r} until "
            f"{held.until} UTC; run exactly one worker per store (stop that one, or wait "
            "for its lease to run out with --wait-for-lease)"
        ) from held


def release(engine: Engine, store_id: str, holder: str) -> None:
    lease.release(engine, lease_key(store_id), holder)
    lease.release(engine, CHAIN_JOBS_KEY, holder)


# The jobs over the whole database rather than one store (report deliveries to buyers, the
# impression roll-up and its checkpoints) run in one worker of the chain at a time:
# whichever holds this lease, renewed each time it runs one; another takes over once the
# holder has been gone for a term.
CHAIN_JOBS_KEY = "chain_jobs"
CHAIN_JOBS_SECONDS = 180.0


def runs_chain_jobs(engine: Engine, holder: str, now: datetime | None = None) -> bool:
    """Take or renew the chain-jobs lease; False while another worker of the chain has it."""
    try:
        lease.acquire(engine, CHAIN_JOBS_KEY, holder, CHAIN_JOBS_SECONDS, now=now)
    except lease.LeaseHeld as held:
        if not lease.holder_gone(held.holder):
            return False
        try:
            lease.take_over(engine, CHAIN_JOBS_KEY, holder, CHAIN_JOBS_SECONDS, held.holder, now)
        except lease.LeaseHeld:
            return False
    return True
