from __future__ import annotations

from datetime import timedelta

import pytest

from esl_controller import worker_lease
from esl_controller.clock import utcnow


def test_second_worker_is_refused_while_the_lease_is_fresh(engine) -> None:
    worker_lease.acquire(engine, "host:1")
    with pytest.raises(worker_lease.WorkerAlreadyRunning, match="host:1"):
        worker_lease.acquire(engine, "host:2")


def test_holder_renews_its_own_lease(engine) -> None:
    worker_lease.acquire(engine, "host:1")
    worker_lease.acquire(engine, "host:1")  # no error: renewal


def test_expired_lease_of_a_crashed_worker_is_taken_over(engine) -> None:
    long_ago = utcnow() - timedelta(seconds=worker_lease.LEASE_SECONDS * 3)
    worker_lease.acquire(engine, "crashed:1", now=long_ago)
    worker_lease.acquire(engine, "host:2")
    with pytest.raises(worker_lease.WorkerAlreadyRunning, match="host:2"):
        worker_lease.acquire(engine, "host:3")


def test_released_lease_lets_the_next_worker_start(engine) -> None:
    worker_lease.acquire(engine, "host:1")
    worker_lease.release(engine, "host:1")
    worker_lease.acquire(engine, "host:2")
