"""The web writes a row, the worker polls for it: the one way signage rows reach the worker.

The web process never talks to players; it writes rows (a manual override, a trigger it
accepted over HTTP, a player registered or archived) and the worker's signage loop reads
them at its own cadence. A `RowPoll` names one such flow, how often it is read, and the
query; `Cadence` spaces out jobs of the loop that have no rows behind them (retention).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sqlmodel import Session

T = TypeVar("T")


@dataclass
class Cadence:
    """Due at most every `every_s` seconds of the loop's clock (due at once the first time)."""

    every_s: float
    _next: datetime | None = None

    def due(self, now: datetime) -> bool:
        if self._next is not None and now < self._next:
            return False
        self._next = now + timedelta(seconds=self.every_s)
        return True


@dataclass
class RowPoll(Generic[T]):
    """Rows the web wrote, read with `fetch` at most every `every_s` seconds."""

    name: str
    every_s: float
    fetch: Callable[[Session, datetime], Sequence[T]]
    _cadence: Cadence = field(init=False)

    def __post_init__(self) -> None:
        self._cadence = Cadence(self.every_s)

    def due(self, now: datetime) -> bool:
        return self._cadence.due(now)

    def poll(self, session: Session, now: datetime) -> Sequence[T]:
        """The rows, or nothing when it is not time yet."""
        return self.fetch(session, now) if self._cadence.due(now) else ()
