"""The signage core's inbox: channels report from their own threads, the loop drains and
routes what arrived.

Reporting never touches the database; it stamps a trigger with when it arrived (its age
and the per-sensor rate limit are judged from that, not from when the worker got to it)
and queues it. `drain` hands one turn of the loop what arrived, sorted by kind; triggers
go to the trigger pipeline, and `route` applies the rest in the loop's transaction:
presence to the roster (and held overrides to a player that came back), proof of play to
the ads ingest, unreadable messages to incidents.
"""

from __future__ import annotations

import queue
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.incidents import record_incident
from esl_controller.models import Player
from esl_controller.signage.channel import (
    ChannelReport,
    MalformedReported,
    PlaysReported,
    PresenceReported,
    TriggerReported,
)
from esl_controller.signage.channel_router import ChannelRouter
from esl_controller.signage.overrides import OverrideBook
from esl_controller.signage.play_store import PlayStore
from esl_controller.signage.presence import Roster

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

    def waiting(self) -> int:
        """Reports queued and not yet drained."""
        return self._queue.qsize()

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


class ReportRouting:
    """Where each kind of report goes, in the loop's transaction."""

    def __init__(
        self,
        router: ChannelRouter,
        roster: Roster,
        overrides: OverrideBook,
        ingestor: PlayStore,
        stats: Counter[str],
    ) -> None:
        self.router = router
        self.roster = roster
        self.overrides = overrides
        self.ingestor = ingestor
        self.stats = stats

    def route(self, session: Session, arrivals: Arrivals, now: datetime) -> int:
        """Apply presence, plays and malformed reports; returns messages sent to players."""
        sent = 0
        for report in arrivals.presence:
            self.router.seen_on(report.player, report.channel)
            zone = self.roster.apply(session, report, now)
            if zone is not None:
                sent += self.overrides.came_online(report.player, zone, now)
        for batch in arrivals.plays:
            self._plays(session, batch, now)
        for malformed in arrivals.malformed:
            self.stats[malformed.kind] += 1
            record_incident(
                session,
                malformed.kind,
                malformed.subject,
                malformed.error,
                store_id=self.roster.store_id,
            )
        return sent

    def _plays(self, session: Session, batch: PlaysReported, now: datetime) -> None:
        if not batch.plays:
            return
        row = session.get(Player, batch.player)
        if row is not None:
            row.last_pop_at = now
            session.add(row)
        self.stats["plays"] += len(batch.plays)
        # The channel authenticated the player (its topic, its credential): plays it reports
        # for another player are refused by the ingest's rules.
        result = self.ingestor.ingest_in(
            session, batch.plays, batch.channel, authenticated_player=batch.player
        )
        self.stats["plays_accepted"] += result.accepted
        self.stats["plays_duplicate"] += result.duplicates
        self.stats["plays_rejected"] += len(result.rejected)


def _sort(arrivals: Arrivals, item: object) -> None:
    if isinstance(item, TriggerArrival):
        arrivals.triggers.append(item)
    elif isinstance(item, PresenceReported):
        arrivals.presence.append(item)
    elif isinstance(item, PlaysReported):
        arrivals.plays.append(item)
    elif isinstance(item, MalformedReported):
        arrivals.malformed.append(item)
