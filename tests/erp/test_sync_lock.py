"""The sync lock: renewals from the run and its renewal thread never mistake each other for
a foreign taker; a dead local process is recognised; a foreign taker is."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import pytest

from esl_controller import lease
from esl_controller.config import Settings
from esl_controller.erp.sync_lock import LockLost, SyncLock, holder_gone, sync_lock_key

STORE = Settings().store_id  # the store of the `settings` fixture
SYNC_LOCK_KEY = sync_lock_key(STORE)


def test_concurrent_renewals_of_one_holder_keep_the_lock(engine) -> None:
    lock = SyncLock(engine, "host:1:mine", seconds=60, store_id=STORE)
    lock.acquire()
    errors: list[BaseException] = []

    def renew_many() -> None:
        try:
            for _ in range(40):
                lock.renew()
        except BaseException as exc:  # recorded for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=renew_many) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and not lock.lost.is_set()
    assert lease.current(engine, SYNC_LOCK_KEY)[0] == "host:1:mine"


def test_a_foreign_taker_is_lost_for_good(engine) -> None:
    lock = SyncLock(engine, "host:1:mine", seconds=60, store_id=STORE)
    lock.acquire()
    lease.take_over(engine, SYNC_LOCK_KEY, "host:2:theirs", 60, "host:1:mine")
    with pytest.raises(LockLost, match="host:2:theirs"):
        lock.renew()
    assert lock.lost.is_set()
    lock.release()  # leaves the new holder's lease alone
    assert lease.current(engine, SYNC_LOCK_KEY)[0] == "host:2:theirs"


def test_holder_gone_only_for_a_dead_process_on_this_host() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host = socket.gethostname()
    assert holder_gone(f"{host}:{child.pid}:x")
    assert not holder_gone(f"{host}:1:x")  # alive
    assert not holder_gone(f"other-host:{child.pid}:x")  # cannot tell: expiry decides
    assert not holder_gone("no-pid-here")
