"""How a base station is doing: what it still has to send, how long that will take, and
how far a large re-push has come.

The radio is the bottleneck (a 2.9" image is about 4 s of airtime), so the time a queue
takes is its length times the seconds each image really costs on that station. A station
that reports its own estimate (an OpenEPaperLink AP, from its tags' check-ins) is
believed; for the others the pace is measured from their recent confirmations, and before
there are any a nominal airtime stands in. The arithmetic is pure; `load_health` reads the
rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from statistics import median

from sqlalchemy import and_, func, select
from sqlmodel import Session

from esl_controller.esl.states import UNDELIVERED, OutboxState
from esl_controller.models import BaseStation, OutboxMessage

NOMINAL_AIRTIME_S = 4.0  # one 2.9" image on a typical sub-GHz ESL radio
PACE_SAMPLE = 20  # recent confirmations the pace is measured over


class EtaSource(StrEnum):
    STATION = "station"  # the station's own estimate (its radio schedule)
    MEASURED = "measured"  # the pace of its recent confirmations
    NOMINAL = "nominal"  # no confirmations yet: the nominal airtime per image
    EMPTY = "empty"  # nothing queued


@dataclass(frozen=True)
class QueueEta:
    seconds: float
    source: EtaSource


@dataclass(frozen=True)
class Progress:
    """Work queued since the oldest command still waiting: how much of it is done."""

    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


@dataclass(frozen=True)
class StationHealth:
    pending: int
    sent: int
    eta: QueueEta
    seconds_per_image: float | None
    progress: Progress | None  # None when nothing is waiting


@dataclass(frozen=True)
class StoreDelivery:
    """A store's queued work over all its stations: how far it has come and when it is
    through."""

    waiting: int
    progress: Progress | None  # None when nothing is waiting
    eta: QueueEta


def store_delivery(stations: Iterable[StationHealth]) -> StoreDelivery:
    """Stations send side by side, each on its own radio: the store's queue is through when
    its slowest station is, and its progress is the sum of theirs."""
    waiting = done = total = 0
    slowest = QueueEta(0.0, EtaSource.EMPTY)
    for health in stations:
        waiting += health.pending + health.sent
        if health.progress is not None:
            done += health.progress.done
            total += health.progress.total
        if health.eta.source != EtaSource.EMPTY and (
            slowest.source == EtaSource.EMPTY or health.eta.seconds > slowest.seconds
        ):
            slowest = health.eta
    return StoreDelivery(waiting, Progress(done, total) if total else None, slowest)


def seconds_per_image(confirmed_at: Sequence[datetime]) -> float | None:
    """The pace over a run of confirmation times: the median gap between neighbours, so
    one idle pause between two bursts of work does not count as airtime."""
    if len(confirmed_at) < 2:
        return None
    ordered = sorted(confirmed_at)
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(ordered)]
    pace = median(gaps)
    return pace if pace > 0 else None


def queue_eta(queued: int, reported_s: float | None, pace_s: float | None) -> QueueEta:
    if reported_s is not None:
        return QueueEta(max(reported_s, 0.0), EtaSource.STATION)
    if queued <= 0:
        return QueueEta(0.0, EtaSource.EMPTY)
    if pace_s is not None:
        return QueueEta(queued * pace_s, EtaSource.MEASURED)
    return QueueEta(queued * NOMINAL_AIRTIME_S, EtaSource.NOMINAL)


def load_health(session: Session, station_id: str, reported_eta_s: float | None) -> StationHealth:
    return _load_health_of(session, {station_id: reported_eta_s})[station_id]


def load_all_health(session: Session) -> dict[str, tuple[str, StationHealth]]:
    """`load_health` for every station with work waiting, keyed by station id and paired
    with its store: a fixed number of grouped queries however many stations a chain has."""
    waiting = select(OutboxMessage.base_station_id).where(OutboxMessage.state.in_(UNDELIVERED))
    busy = session.execute(
        select(BaseStation.id, BaseStation.store_id, BaseStation.eta_s).where(
            BaseStation.id.in_(waiting.distinct())
        )
    ).all()
    health = _load_health_of(session, {station_id: eta_s for station_id, _, eta_s in busy})
    return {station_id: (store_id, health[station_id]) for station_id, store_id, _ in busy}


def _load_health_of(
    session: Session, reported_eta_s: dict[str, float | None]
) -> dict[str, StationHealth]:
    """The health of these stations (each with the ETA it reported), grouped in SQL."""
    if not reported_eta_s:
        return {}
    stations = OutboxMessage.base_station_id.in_(sorted(reported_eta_s))
    undelivered = and_(stations, OutboxMessage.state.in_(UNDELIVERED))
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for station_id, state, count in session.execute(
        select(OutboxMessage.base_station_id, OutboxMessage.state, func.count())
        .where(undelivered)
        .group_by(OutboxMessage.base_station_id, OutboxMessage.state)
    ):
        counts[station_id][state] = count
    # the work in hand: every row since each station's oldest one still waiting
    oldest = (
        select(
            OutboxMessage.base_station_id.label("station_id"),
            func.min(OutboxMessage.created_at).label("since"),
        )
        .where(undelivered)
        .group_by(OutboxMessage.base_station_id)
        .subquery()
    )
    in_hand: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for station_id, state, count in session.execute(
        select(OutboxMessage.base_station_id, OutboxMessage.state, func.count())
        .join(
            oldest,
            and_(
                oldest.c.station_id == OutboxMessage.base_station_id,
                OutboxMessage.created_at >= oldest.c.since,
            ),
        )
        .group_by(OutboxMessage.base_station_id, OutboxMessage.state)
    ):
        in_hand[station_id].append((state, count))
    ranked = (
        select(
            OutboxMessage.base_station_id.label("station_id"),
            OutboxMessage.done_at.label("done_at"),
            func.row_number()
            .over(
                partition_by=OutboxMessage.base_station_id,
                order_by=OutboxMessage.done_at.desc(),
            )
            .label("rank"),
        )
        .where(
            stations,
            OutboxMessage.state == OutboxState.ACKED,
            OutboxMessage.done_at.is_not(None),
        )
        .subquery()
    )
    confirmed: dict[str, list[datetime]] = defaultdict(list)
    for station_id, done_at in session.execute(
        select(ranked.c.station_id, ranked.c.done_at).where(ranked.c.rank <= PACE_SAMPLE)
    ):
        confirmed[station_id].append(done_at)
    health: dict[str, StationHealth] = {}
    for station_id, reported in reported_eta_s.items():
        pending = counts[station_id].get(OutboxState.PENDING, 0)
        sent = counts[station_id].get(OutboxState.SENT, 0)
        pace = seconds_per_image(confirmed[station_id])
        health[station_id] = StationHealth(
            pending=pending,
            sent=sent,
            eta=queue_eta(pending + sent, reported, pace),
            seconds_per_image=pace,
            progress=_progress_of(in_hand[station_id]) if pending + sent else None,
        )
    return health


def _progress_of(by_state: Iterable[tuple[str, int]]) -> Progress:
    """The work since the oldest waiting command, from its count per outbox state."""
    counted = list(by_state)
    waiting = sum(count for state, count in counted if state in UNDELIVERED)
    # a superseded image was replaced, not delivered: it is no part of the work
    done = sum(
        count
        for state, count in counted
        if state not in UNDELIVERED and state != OutboxState.SUPERSEDED
    )
    return Progress(done=done, total=done + waiting)
