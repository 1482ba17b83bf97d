"""The sync lock: one ERP sync at a time per store, held only while its run is alive.

A lease (`esl_controller.lease`) renewed by a background thread every quarter of its term,
so a run that waits on a slow ERP (a long Retry-After, a slow page) keeps it, and a run whose
process died loses it within one term. A holder is "host:pid:token"; on its own host the
controller can also tell that a holder's process is gone and take its run over at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from sqlalchemy.engine import Engine

from esl_controller import lease
from esl_controller.clock import utcnow
from esl_controller.lease import holder_gone

log = logging.getLogger(__name__)


def sync_lock_key(store_id: str) -> str:
    """Each store of a chain syncs its own feed, so each has its own lock."""
    return f"sync_lock:{store_id}"


SYNC_LOCK_SECONDS = 120.0


class LockLost(RuntimeError):
    """Another holder took the sync lock (this run was presumed dead); stop writing."""


def new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class SyncLock:
    """The lock for one run: `acquire` (or `take_over`), then `renewing()` around the run."""

    def __init__(
        self, engine: Engine, holder: str, seconds: float = SYNC_LOCK_SECONDS, *, store_id: str
    ) -> None:
        self.key = sync_lock_key(store_id)
        self.engine = engine
        self.holder = holder
        self.seconds = seconds
        self.lost = threading.Event()
        # The run's thread renews after each page and the renewal thread on its tick; two
        # renewals at once would each see the other's write as a foreign taker.
        self._renewing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> None:
        lease.acquire(self.engine, self.key, self.holder, self.seconds)

    def take_over(self) -> None:
        """Take the lock from a dead holder; LeaseHeld when a live one has it after all."""
        held = lease.current(self.engine, self.key)
        if held is None or held[1] <= utcnow() or not holder_gone(held[0]):
            self.acquire()
            return
        lease.take_over(self.engine, self.key, self.holder, self.seconds, held[0])

    def renew(self) -> None:
        """Extend the lease now; LockLost when another holder has taken it."""
        with self._renewing:
            if self.lost.is_set():
                raise LockLost(f"{self.holder} lost the sync lock")
            try:
                self.acquire()
            except lease.LeaseHeld as held:
                current = lease.current(self.engine, self.key)
                if current is not None and current[0] == self.holder:
                    return  # a racing write of our own; the lease is still ours
                self.lost.set()
                raise LockLost(f"{self.holder} lost the sync lock to {held.holder}") from None

    def start_renewing(self) -> None:
        self._thread = threading.Thread(
            target=self._renew_loop, name="sync-lock-renewal", daemon=True
        )
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not self.lost.is_set():
            lease.release(self.engine, self.key, self.holder)

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.seconds / 4):
            try:
                self.renew()
            except LockLost:
                log.error("%s lost the sync lock; the run stops at its next page", self.holder)
                return
            except Exception:  # a database hiccup: try again at the next tick
                log.exception("renewing the sync lock failed")
