"""The web writes a row, the worker polls for it: the one way the web hands work over.

The web process never talks to a device, an ERP or a broker. Whatever a person asks for
there becomes a row, and the worker reads those rows at its own cadence. A `RowPoll` names
one such flow, how often it is read and the query, so every hand-over is declared the same
way and can be found by name:

| flow | rows | read by |
| --- | --- | --- |
| `base_stations` | a station added, changed or removed | `esl.station_links.StationLinks` |
| `sync_requests` | "Sync now" (a `requested` sync run) | `erp.runner.SyncRunner` |
| `players` | a screen registered or archived | `signage.presence` |
| `web_triggers` | a trigger accepted over HTTP (`pending`) | `signage.trigger_pipeline` |
| `manual_overrides` | an override a manager started or ended | `signage.overrides` |

The outbox is the one hand-over that is not polled on a cadence of its own: the
dispatcher re-reads it whenever it has waited `ESL_OUTBOX_POLL` seconds for its links, so
a re-push from the dashboard is on air within that time.

`Cadence` spaces out loop jobs that have no rows behind them (retention).
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
