from __future__ import annotations

from datetime import timedelta

import pytest

from esl_controller import lease
from esl_controller.clock import utcnow


def test_a_held_lease_refuses_another_holder_and_names_the_holder(engine) -> None:
    lease.acquire(engine, "sync_lock", "host:1", 60)
    with pytest.raises(lease.LeaseHeld, match="sync_lock is held by host:1") as held:
        lease.acquire(engine, "sync_lock", "host:2", 60)
    assert held.value.holder == "host:1"


def test_leases_with_different_keys_are_independent(engine) -> None:
    lease.acquire(engine, "sync_lock", "host:1", 60)
    lease.acquire(engine, "worker_lease", "host:2", 60)


def test_an_expired_lease_is_taken_over_and_a_released_one_is_free(engine) -> None:
    lease.acquire(engine, "k", "old:1", 60, now=utcnow() - timedelta(seconds=120))
    lease.acquire(engine, "k", "new:1", 60)
    lease.release(engine, "k", "old:1")  # not its lease any more: no effect
    with pytest.raises(lease.LeaseHeld):
        lease.acquire(engine, "k", "other:1", 60)
    lease.release(engine, "k", "new:1")
    lease.acquire(engine, "k", "other:1", 60)
