from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from esl_controller import lease, worker_lease
from esl_controller.clock import utcnow


def test_second_worker_for_a_store_is_refused_while_the_lease_is_fresh(engine) -> None:
    worker_lease.acquire(engine, "store-1", "host:1")
    with pytest.raises(worker_lease.WorkerAlreadyRunning, match=r"host:1.*store 'store-1'"):
        worker_lease.acquire(engine, "store-1", "host:2")


def test_workers_of_different_stores_share_one_database(engine) -> None:
    worker_lease.acquire(engine, "store-1", "host:1")
    worker_lease.acquire(engine, "store-2", "host:2")
    assert lease.current(engine, worker_lease.lease_key("store-2"))[0] == "host:2"
    with pytest.raises(worker_lease.WorkerAlreadyRunning):
        worker_lease.acquire(engine, "store-2", "host:3")


def test_holder_renews_its_own_lease(engine) -> None:
    worker_lease.acquire(engine, "store-1", "host:1")
    worker_lease.acquire(engine, "store-1", "host:1")  # no error: renewal


def test_expired_lease_of_a_crashed_worker_is_taken_over(engine) -> None:
    long_ago = utcnow() - timedelta(seconds=worker_lease.LEASE_SECONDS * 3)
    worker_lease.acquire(engine, "store-1", "crashed:1", now=long_ago)
    worker_lease.acquire(engine, "store-1", "host:2")
    with pytest.raises(worker_lease.WorkerAlreadyRunning, match="host:2"):
        worker_lease.acquire(engine, "store-1", "host:3")


def test_a_fresh_lease_of_a_dead_process_on_this_host_is_taken_back(engine) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    dead_holder = f"{lease.holder_name().split(':')[0]}:{gone.stdout.strip()}:cafe"
    worker_lease.acquire(engine, "store-1", dead_holder)
    worker_lease.acquire(engine, "store-1", "host:2")
    assert lease.current(engine, worker_lease.lease_key("store-1"))[0] == "host:2"


def test_released_lease_lets_the_next_worker_start(engine) -> None:
    worker_lease.acquire(engine, "store-1", "host:1")
    worker_lease.release(engine, "store-1", "host:1")
    worker_lease.acquire(engine, "store-1", "host:2")


def test_one_worker_of_the_chain_runs_the_chain_wide_jobs_until_it_is_gone(engine) -> None:
    assert worker_lease.runs_chain_jobs(engine, "host:1")
    assert not worker_lease.runs_chain_jobs(engine, "host:2")
    assert worker_lease.runs_chain_jobs(engine, "host:1")  # renewed by its holder
    later = utcnow() + timedelta(seconds=worker_lease.CHAIN_JOBS_SECONDS + 1)
    assert worker_lease.runs_chain_jobs(engine, "host:2", now=later)


def test_a_worker_that_stops_hands_the_chain_wide_jobs_on(engine) -> None:
    worker_lease.acquire(engine, "store-1", "host:1")
    assert worker_lease.runs_chain_jobs(engine, "host:1")
    worker_lease.release(engine, "store-1", "host:1")
    assert worker_lease.runs_chain_jobs(engine, "host:2")


def test_a_worker_whose_lease_another_took_says_so_to_its_command(engine, settings) -> None:
    from esl_controller.worker import Worker

    lost: list[str] = []
    worker = Worker(settings, engine, on_lease_lost=lost.append)
    worker_lease.acquire(engine, settings.store_id, worker.holder)
    worker._renew_lease()
    assert lost == []
    key = worker_lease.lease_key(settings.store_id)
    lease.take_over(engine, key, "elsewhere:7:new", worker_lease.LEASE_SECONDS, worker.holder)
    worker._renew_lease()
    assert len(lost) == 1 and "elsewhere:7:new" in lost[0]
