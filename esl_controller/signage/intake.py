"""The signage core's inbox: channels report from their own threads, the service drains.

Reporting never touches the database; it stamps a trigger with when it arrived (its age
and the per-sensor rate limit are judged from that, not from when the worker got to it)
and queues it. `drain` hands one turn of the loop what arrived, sorted by kind.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from esl_controller.clock import utcnow
from esl_controller.signage.channel import (
    ChannelReport,
    MalformedReported,
    PlaysReported,
    PresenceReported,
    TriggerReported,
)

MAX_PER_TURN = 2000


@dataclass(frozen=True)
class TriggerArrival:
    sensor: str
    payload: bytes
    received_at: datetime
    received_mono: float  # for the rate limit: monotonic, immune to clock steps


@dataclass
class Arrivals:
    """One turn's reports. Presence and plays keep their order of arrival."""

    triggers: list[TriggerArrival] = field(default_factory=list)
    presence: list[PresenceReported] = field(default_factory=list)
    plays: list[PlaysReported] = field(default_factory=list)
    malformed: list[MalformedReported] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.triggers) + len(self.presence) + len(self.plays) + len(self.malformed)


class Intake:
    """Implements `ChannelReports` for every channel of the service."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()

    def report(self, report: ChannelReport) -> None:
        if isinstance(report, TriggerReported):
            self._queue.put(
                TriggerArrival(report.sensor, report.payload, self.clock(), time.monotonic())
            )
        else:
            self._queue.put(report)

    def drain(self, wait: float = 0.0) -> Arrivals:
        """What arrived, waiting up to `wait` seconds for the first report."""
        arrivals = Arrivals()
        try:
            first = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
        except queue.Empty:
            return arrivals
        _sort(arrivals, first)
        for _ in range(MAX_PER_TURN - 1):
            try:
                _sort(arrivals, self._queue.get_nowait())
            except queue.Empty:
                break
        return arrivals


def _sort(arrivals: Arrivals, item: object) -> None:
    if isinstance(item, TriggerArrival):
        arrivals.triggers.append(item)
    elif isinstance(item, PresenceReported):
        arrivals.presence.append(item)
    elif isinstance(item, PlaysReported):
        arrivals.plays.append(item)
    elif isinstance(item, MalformedReported):
        arrivals.malformed.append(item)
