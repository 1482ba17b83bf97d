"""The dispatcher: the one loop that hands the outbox to station links and books what comes back.

It runs in the worker only, in one thread that owns every write about delivery, so SQLite
sees a single writer for the hot path. Links (one per base station, whatever its driver)
report through the `LinkEvents` methods below, from any thread; those only queue.

Rules it enforces, the same for every driver:
- each online base station has at most its window of commands holding a slot, most urgent
  first: the radio stays busy, and a manager's action waits behind at most that many;
- a confirmation counts only from the station the command went to, matched by (label,
  sequence number); an image is marked shown only if it is still the newest one queued
  for the label (a stale ack never marks a newer image);
- a command that holds its slot longer than `slot_timeout_s` frees it (a label that never
  answers must not stall its station) but still waits for its confirmation;
- no confirmation within the ack timeout, or a refusal: retry with exponential backoff,
  and after `max_attempts` mark it failed with the reason, for the manager to see; a
  station that says "come back later" is retried without counting an attempt;
- a station going offline gets its on-air commands back in the queue, held until it
  returns; a station that announces itself online again gets them re-sent;
- a failure inside a step never loses what is on air: in-flight state is rebuilt from the
  outbox rows, and the step's events are then applied one by one, so a poisonous event
  costs only itself.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, TextClause, bindparam, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime

from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.db import is_database_unavailable, session_scope
from esl_controller.esl.link import (
    Command,
    CommandKind,
    CommandNotSupported,
    HeardLabel,
    LinkUnavailable,
    StationInfo,
    StationLink,
    Telemetry,
)
from esl_controller.esl.outbox import command_from_row, retry_delay
from esl_controller.esl.states import ACKABLE, LabelState, OutboxState
from esl_controller.incidents import record_incident
from esl_controller.models import BaseStation, Label, OutboxMessage
from esl_controller.topic_levels import TopicLevelError, validate_id

log = logging.getLogger(__name__)
DATABASE_RETRY_S = 1.0  # how often a paused dispatcher tries the database again


@dataclass
class InFlight:
    outbox_id: int
    label_id: str
    station: str
    kind: str
    seq: int
    content_hash: str | None
    attempts: int
    sent_at: datetime
    holds_slot: bool = True


# -- events, as the links report them ------------------------------------------------------


@dataclass(frozen=True)
class _Confirmed:
    station: str
    label: str
    seq: int
    telemetry: Telemetry | None
    refusal: str | None = None  # set: the station refused the command


@dataclass(frozen=True)
class _Busy:
    station: str
    label: str
    seq: int
    retry_after_s: float


@dataclass(frozen=True)
class _Online:
    station: str
    info: StationInfo


@dataclass(frozen=True)
class _StatusUpdate:
    station: str
    info: StationInfo


@dataclass(frozen=True)
class _Offline:
    station: str
    reason: str


@dataclass(frozen=True)
class _Heard:
    station: str
    labels: tuple[HeardLabel, ...]


@dataclass(frozen=True)
class _Malformed:
    kind: str
    subject: str
    error: str


@dataclass(frozen=True)
class _Unsendable:
    outbox_id: int
    label: str
    reason: str


@dataclass
class DispatchStats:
    counts: Counter[str] = field(default_factory=Counter)

    def __getitem__(self, key: str) -> int:
        return self.counts[key]


_TIME_PARAMS = ("now", "at", "next_checkin")
_TEXT_PARAMS = ("hash", "label", "station", "reason", "kind")


def _sql(statement: str) -> TextClause:
    """Raw SQL for executemany hot paths, with datetimes bound as the ORM stores them and
    text typed, so PostgreSQL reads a parameter used twice (`shown_hash = :hash ...
    content_hash = :hash`) as one type instead of refusing the statement."""
    clause = text(statement)
    typed = [
        bindparam(name, type_=UTCDateTime()) for name in _TIME_PARAMS if f":{name}" in statement
    ]
    typed += [bindparam(name, type_=String()) for name in _TEXT_PARAMS if f":{name}" in statement]
    return clause.bindparams(*typed)


_MARK_SHOWN = _sql(
    "UPDATE label SET shown_hash = :hash, shown_seq = :seq, last_error = NULL, "
    "state = CASE WHEN content_hash = :hash THEN 'acked' ELSE state END "
    "WHERE id = :label AND shown_seq < :seq"
)
_TELEMETRY = _sql(
    "UPDATE label SET battery = COALESCE(:battery, battery), "
    "battery_mv = COALESCE(:battery_mv, battery_mv), signal = COALESCE(:signal, signal), "
    "lqi = COALESCE(:lqi, lqi), temperature = COALESCE(:temperature, temperature), "
    "next_checkin = COALESCE(:next_checkin, next_checkin), last_seen = :now "
    "WHERE id = :label AND base_station_id = :station"
)
_BOOK_ACKED = _sql(
    "UPDATE outbox SET state = 'acked', done_at = :now "
    f"WHERE id = :id AND state IN ({', '.join(repr(str(s)) for s in ACKABLE)})"
)


def _telemetry_row(station: str, label: str, telemetry: Telemetry, now: datetime) -> dict:
    return {
        "label": label,
        "station": station,
        "battery": telemetry.battery_percent,
        "battery_mv": telemetry.battery_mv,
        "signal": telemetry.signal_dbm,
        "lqi": telemetry.lqi,
        "temperature": telemetry.temperature_c,
        "next_checkin": telemetry.next_checkin,
        "now": telemetry.last_seen or now,
    }


class Dispatcher:
    """Owns delivery for every station link of one store; implements `LinkEvents`."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.stats = DispatchStats()
        self._links: dict[str, StationLink] = {}
        self._events: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._inflight: dict[int, InFlight] = {}
        self._by_label_seq: dict[tuple[str, int], int] = {}
        self._on_air: Counter[str] = Counter()
        self._online: set[str] = set()
        self._reported: set[tuple[str, str]] = set()  # (kind, subject) already recorded
        self._last_expiry = utcnow()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # While the database is unreachable, station events wait here in order; nothing is
        # sent, since nothing sent could be booked.
        self._held: list[object] = []
        self._database_down = False

    # -- links ---------------------------------------------------------------------------

    def attach(self, link: StationLink) -> None:
        self._links[link.station_id] = link

    def detach(self, station_id: str) -> StationLink | None:
        """Forget a link (its station was removed or re-configured); its commands are held."""
        link = self._links.pop(station_id, None)
        self._events.put(_Offline(station_id, "link closed"))
        return link

    @property
    def links(self) -> dict[str, StationLink]:
        return dict(self._links)

    # -- LinkEvents: called from link threads; only queue --------------------------------

    def delivered(
        self, station_id: str, label_id: str, seq: int, telemetry: Telemetry | None = None
    ) -> None:
        self._events.put(_Confirmed(station_id, label_id, seq, telemetry))

    def refused(self, station_id: str, label_id: str, seq: int, reason: str) -> None:
        self._events.put(_Confirmed(station_id, label_id, seq, None, refusal=reason))

    def busy(self, station_id: str, label_id: str, seq: int, retry_after_s: float) -> None:
        self._events.put(_Busy(station_id, label_id, seq, retry_after_s))

    def station_online(self, station_id: str, info: StationInfo) -> None:
        self._events.put(_Online(station_id, info))

    def station_offline(self, station_id: str, reason: str) -> None:
        self._events.put(_Offline(station_id, reason))

    def station_status(self, station_id: str, info: StationInfo) -> None:
        self._events.put(_StatusUpdate(station_id, info))

    def labels_heard(self, station_id: str, labels: list[HeardLabel]) -> None:
        self._events.put(_Heard(station_id, tuple(labels)))

    def malformed(self, station_id: str, kind: str, detail: str) -> None:
        self._events.put(_Malformed(kind, station_id, detail))

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Dispatcher:
        self.recover()
        self._thread = threading.Thread(target=self._run, name="dispatcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def recover(self) -> None:
        """After a restart nothing is on air as far as we know: re-queue, forget presence.
        Only this store's: the other stores of a chain have workers of their own."""
        store = self.settings.store_id
        with session_scope(self.engine) as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.state == OutboxState.SENT, OutboxMessage.store_id == store)
                .values(state=OutboxState.PENDING, attempts=OutboxMessage.attempts - 1)
            )
            session.execute(
                update(BaseStation).where(BaseStation.store_id == store).values(online=False)
            )
            session.execute(
                update(Label)
                .where(Label.state == LabelState.SENT, Label.store_id == store)
                .values(state=LabelState.PENDING)
            )
        self._online.clear()
        self._forget_inflight()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step(self.settings.outbox_poll_s)
            except Exception:  # the loop must survive anything; step already recovered
                self.stats.counts["loop_errors"] += 1
                log.exception("dispatcher step failed")
                self._stop.wait(1.0)
            if self._database_down:
                self._stop.wait(DATABASE_RETRY_S)

    @property
    def waiting_for_database(self) -> bool:
        return self._database_down

    # -- one turn of the loop (public for tests and benchmarks) ---------------------------

    def step(self, wait: float = 0.0) -> int:
        """Apply what arrived, expire what timed out, fill the stations; return sends."""
        events = self._drain(wait)
        now = utcnow()
        try:
            if self._database_down:
                self._reload_inflight()  # the failed step may have changed memory, not rows
            with session_scope(self.engine) as session:
                self._apply(session, events, now)
                if (now - self._last_expiry).total_seconds() >= 0.5:
                    self._expire(session, now)
                    self._last_expiry = now
                claimed = self._claim(session, now)
        except Exception as exc:
            if is_database_unavailable(exc):
                self._hold_for_database(events, exc)
                return 0
            self.stats.counts["step_errors"] += 1
            log.exception("dispatcher step failed; applying its %d events one by one", len(events))
            self._recover_step(events, now)
            return 0
        if self._database_down:
            self._database_down = False
            log.warning("database reachable again: %d held station events applied", len(events))
        return self._send(claimed)

    def _hold_for_database(self, events: list[object], error: BaseException) -> None:
        """Keep the step's events, in order, for the step that finds the database again."""
        self._held = events + self._held
        self.stats.counts["database_waits"] += 1
        if not self._database_down:
            self._database_down = True
            log.warning(
                "database unreachable (%s); delivery paused, station events held until it "
                "answers again",
                type(error).__name__,
            )

    def _drain(self, wait: float) -> list[object]:
        events, self._held = self._held, []
        try:
            if events or wait <= 0:
                events.append(self._events.get_nowait())
            else:
                events.append(self._events.get(timeout=wait))
        except queue.Empty:
            return events
        while len(events) < 5000:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                break
        return events

    def _recover_step(self, events: list[object], now: datetime) -> None:
        """The step's transaction rolled back: memory may disagree with the rows. Rebuild
        what is on air from the outbox, then give every event its own transaction."""
        self._reload_inflight()
        for event in events:
            try:
                with session_scope(self.engine) as session:
                    self._apply(session, [event], now)
            except Exception as exc:
                self.stats.counts["poison_events"] += 1
                log.exception("dropped one station event that cannot be applied")
                self._reload_inflight()
                self._record_safely(
                    "malformed_event",
                    getattr(event, "station", "dispatcher"),
                    f"a station event could not be applied ({type(exc).__name__}); "
                    "every other event was",
                )

    def _record_safely(self, kind: str, subject: str, message: str) -> None:
        try:
            with session_scope(self.engine) as session:
                self._incident(session, kind, subject, message)
        except Exception:
            log.exception("could not record a %s incident", kind)

    def _reload_inflight(self) -> None:
        self._forget_inflight()
        with session_scope(self.engine) as session:
            rows = session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.label_id,
                    OutboxMessage.base_station_id,
                    OutboxMessage.kind,
                    OutboxMessage.seq,
                    OutboxMessage.content_hash,
                    OutboxMessage.attempts,
                    OutboxMessage.sent_at,
                ).where(
                    OutboxMessage.state == OutboxState.SENT,
                    OutboxMessage.store_id == self.settings.store_id,
                )
            ).all()
        for row in rows:
            self._track(InFlight(*row[:7], sent_at=row.sent_at or utcnow()))

    def _apply(self, session: Session, events: Iterable[object], now: datetime) -> None:
        confirmations: list[_Confirmed] = []
        for event in events:
            if isinstance(event, _Confirmed):
                confirmations.append(event)
                continue
            if confirmations:  # keep order: a confirmation before a station went offline
                self._apply_confirmations(session, confirmations, now)
                confirmations = []
            if isinstance(event, _Online):
                self._apply_online(session, event.station, event.info, now)
            elif isinstance(event, _StatusUpdate):
                self._apply_status_update(session, event.station, event.info, now)
            elif isinstance(event, _Offline):
                self._apply_offline(session, event.station, event.reason, now)
            elif isinstance(event, _Busy):
                self._apply_busy(session, event, now)
            elif isinstance(event, _Heard):
                self._apply_heard(session, event.station, event.labels, now)
            elif isinstance(event, _Malformed):
                self.stats.counts[event.kind] += 1
                self._incident(session, event.kind, event.subject, event.error)
            elif isinstance(event, _Unsendable):
                self._fail_unsendable(session, event, now)
        if confirmations:
            self._apply_confirmations(session, confirmations, now)

    # -- confirmations -------------------------------------------------------------------------

    def _apply_confirmations(
        self, session: Session, confirmations: list[_Confirmed], now: datetime
    ) -> None:
        acked_ids: list[dict] = []
        shown: list[dict] = []
        telemetry: list[dict] = []
        for event in confirmations:
            flight = self._take_inflight(event.station, event.label, event.seq)
            if flight is None:
                flight = self._lookup_late(session, event)
                if flight is None:
                    continue
            if event.telemetry is not None:
                telemetry.append(_telemetry_row(event.station, event.label, event.telemetry, now))
            if event.refusal is not None:
                self.stats.counts["nacks"] += 1
                reason = f"refused by base station {event.station}: {event.refusal}"
                self._retry_or_fail(session, flight, reason, now)
                continue
            self.stats.counts["acked"] += 1
            acked_ids.append({"id": flight.outbox_id, "now": now})
            if flight.kind == CommandKind.IMAGE:
                shown.append({"label": event.label, "seq": event.seq, "hash": flight.content_hash})
        conn = session.connection()
        if acked_ids:
            booked = conn.execute(_BOOK_ACKED, acked_ids).rowcount
            # The rest were superseded while on air: shown for a moment, already replaced.
            self.stats.counts["stale_acks"] += len(acked_ids) - booked
        if shown:
            conn.execute(_MARK_SHOWN, shown)
        if telemetry:
            conn.execute(_TELEMETRY, telemetry)

    def _take_inflight(self, station: str | None, label_id: str, seq: int) -> InFlight | None:
        outbox_id = self._by_label_seq.get((label_id, seq))
        if outbox_id is None:
            return None
        flight = self._inflight[outbox_id]
        if station is not None and flight.station != station:
            return None  # only the station the command went to may confirm it
        del self._by_label_seq[(label_id, seq)]
        del self._inflight[outbox_id]
        if flight.holds_slot:
            self._on_air[flight.station] -= 1
        return flight

    def _lookup_late(self, session: Session, event: _Confirmed) -> InFlight | None:
        """A confirmation we were not waiting for: after a restart, a duplicate, a stale
        one, or one from a station the command never went to."""
        row = session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.state,
                OutboxMessage.kind,
                OutboxMessage.content_hash,
                OutboxMessage.attempts,
                OutboxMessage.base_station_id,
            ).where(
                OutboxMessage.label_id == event.label,
                OutboxMessage.seq == event.seq,
                OutboxMessage.store_id == self.settings.store_id,
            )
        ).first()
        if row is None:
            self.stats.counts["unknown_acks"] += 1
            known = session.get(Label, event.label) is not None
            if not known:
                self._record_once(
                    session,
                    "unknown_label",
                    event.label,
                    f"confirmation from {event.station} for a label this store does not have",
                )
            else:
                self._incident(
                    session,
                    "malformed_ack",
                    event.label,
                    f"confirmation for sequence {event.seq}, which was never sent to this label",
                )
            return None
        outbox_id, state, kind, content_hash, attempts, row_station = row
        if row_station != event.station:
            self.stats.counts["foreign_acks"] += 1
            self._incident(
                session,
                "foreign_ack",
                event.label,
                f"base station {event.station} confirmed sequence {event.seq}, which was sent "
                f"to {row_station}; ignored",
            )
            return None
        if state == OutboxState.ACKED:
            self.stats.counts["duplicate_acks"] += 1
            return None
        return InFlight(
            outbox_id, event.label, row_station, kind, event.seq, content_hash, attempts, utcnow()
        )

    def _apply_busy(self, session: Session, event: _Busy, now: datetime) -> None:
        flight = self._take_inflight(event.station, event.label, event.seq)
        if flight is None:
            return
        self.stats.counts["busy"] += 1
        delay = min(max(event.retry_after_s, 0.0), self.settings.retry_max_s)
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == flight.outbox_id, OutboxMessage.state == OutboxState.SENT)
            .values(
                state=OutboxState.PENDING,
                attempts=OutboxMessage.attempts - 1,
                next_attempt_at=now + timedelta(seconds=delay),
                reason=f"base station {event.station} asked to come back later",
            )
        )

    # -- failures and retries -----------------------------------------------------------------

    def _retry_or_fail(
        self, session: Session, flight: InFlight, reason: str, now: datetime
    ) -> None:
        conn = session.connection()
        if flight.attempts >= self.settings.max_attempts:
            self.stats.counts["failed"] += 1
            message = f"{reason} (gave up after {flight.attempts} attempts)"
            conn.execute(
                _sql(
                    "UPDATE outbox SET state = 'failed', done_at = :now, reason = :reason "
                    "WHERE id = :id AND state IN ('sent', 'pending')"
                ),
                {"id": flight.outbox_id, "now": now, "reason": message},
            )
            conn.execute(
                _sql(
                    "UPDATE label SET last_error = :reason, state = CASE "
                    "WHEN :kind = 'image' AND content_hash = :hash THEN 'failed' ELSE state END "
                    "WHERE id = :label"
                ),
                {
                    "label": flight.label_id,
                    "reason": message,
                    "kind": str(flight.kind),
                    "hash": flight.content_hash,
                },
            )
            self._incident(session, "delivery_failed", flight.label_id, message)
            return
        self.stats.counts["retries"] += 1
        delay = retry_delay(flight.attempts, self.settings.retry_base_s, self.settings.retry_max_s)
        conn.execute(
            _sql(
                "UPDATE outbox SET state = 'pending', next_attempt_at = :at, reason = :reason "
                "WHERE id = :id AND state = 'sent'"
            ),
            {"id": flight.outbox_id, "at": now + timedelta(seconds=delay), "reason": reason},
        )

    def _expire(self, session: Session, now: datetime) -> None:
        slot_deadline = now - timedelta(seconds=self.settings.slot_timeout_s)
        for flight in self._inflight.values():
            if flight.holds_slot and flight.sent_at <= slot_deadline:
                # Keep waiting for its confirmation, but let the station's queue move on.
                flight.holds_slot = False
                self._on_air[flight.station] -= 1
                self.stats.counts["slots_freed"] += 1
        late = [f for f in self._inflight.values() if f.sent_at <= now - self._ack_timeout(f)]
        for flight in late:
            self._take_inflight(None, flight.label_id, flight.seq)
            self.stats.counts["timeouts"] += 1
            timeout = self._ack_timeout(flight).total_seconds()
            reason = f"no confirmation from {flight.station} within {timeout:g} s"
            self._retry_or_fail(session, flight, reason, now)

    def _ack_timeout(self, flight: InFlight) -> timedelta:
        link = self._links.get(flight.station)
        default = self.settings.ack_timeout_s
        return timedelta(seconds=link.ack_timeout_s(default) if link else default)

    def _fail_unsendable(self, session: Session, event: _Unsendable, now: datetime) -> None:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == event.outbox_id)
            .values(state=OutboxState.FAILED, done_at=now, reason=event.reason)
        )
        session.execute(
            update(Label).where(Label.id == event.label).values(last_error=event.reason)
        )
        self._incident(session, "delivery_failed", event.label, event.reason)

    # -- presence -----------------------------------------------------------------------------

    def _station_row(self, session: Session, station: str) -> BaseStation | None:
        row = session.get(BaseStation, station)
        if row is None or row.store_id != self.settings.store_id:
            self._record_once(
                session,
                "unknown_station",
                station,
                "a base station not registered in this store reported; ignored",
            )
            return None
        return row

    def _apply_online(
        self, session: Session, station: str, info: StationInfo, now: datetime
    ) -> None:
        row = self._station_row(session, station)
        if row is None:
            return
        row.online = True
        row.last_seen = now
        if info.queue_depth is not None:
            row.queue_depth = info.queue_depth
        if info.firmware:
            row.firmware = info.firmware[:64]
        row.eta_s = info.eta_s
        session.add(row)
        if station in self._online:
            # Announced again without going offline first: it restarted, and what was on
            # air is lost with its memory. Send it again now rather than after a timeout.
            self._requeue_on_air(session, station)
        self._online.add(station)

    def _apply_status_update(
        self, session: Session, station: str, info: StationInfo, now: datetime
    ) -> None:
        row = self._station_row(session, station)
        if row is None or station not in self._online:
            return
        row.last_seen = now
        if info.queue_depth is not None:
            row.queue_depth = info.queue_depth
        if info.eta_s is not None:
            row.eta_s = info.eta_s
        session.add(row)

    def _apply_offline(self, session: Session, station: str, reason: str, now: datetime) -> None:
        self._online.discard(station)
        self._requeue_on_air(session, station)
        row = session.get(BaseStation, station)
        if row is not None and row.online:
            row.online = False
            session.add(row)
            log.info("base station %s offline: %s", station, reason)

    def _requeue_on_air(self, session: Session, station: str | None) -> None:
        """Put on-air commands back in the queue, without counting it against them."""
        flights = [f for f in self._inflight.values() if station is None or f.station == station]
        if not flights:
            return
        ids = [f.outbox_id for f in flights]
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.state == OutboxState.SENT)
            .values(state=OutboxState.PENDING, attempts=OutboxMessage.attempts - 1)
        )
        for flight in flights:
            self._take_inflight(None, flight.label_id, flight.seq)
        self.stats.counts["requeued"] += len(flights)

    def _apply_heard(
        self, session: Session, station: str, heard: tuple[HeardLabel, ...], now: datetime
    ) -> None:
        """Labels a station reports: telemetry for ours, discovery for new ones."""
        if self._station_row(session, station) is None:
            return
        valid: dict[str, HeardLabel] = {}
        for label in heard:
            try:
                valid[validate_id("label", label.label_id)] = label
            except TopicLevelError as exc:
                self._incident(session, "malformed_label", station, str(exc))
        if not valid:
            return
        known = dict(
            session.execute(
                select(Label.id, Label.base_station_id).where(Label.id.in_(list(valid)))
            ).all()
        )
        telemetry, new = [], []
        for label_id, label in valid.items():
            owner = known.get(label_id)
            if owner == station:
                telemetry.append(_telemetry_row(station, label_id, label.telemetry, now))
            elif owner is not None:
                self._record_once(
                    session,
                    "label_conflict",
                    label_id,
                    f"label is registered on base station {owner} but {station} reports it "
                    "too; it stays on its station until a manager moves it",
                )
            elif label.model is None:
                self._record_once(
                    session,
                    "unknown_hardware",
                    f"{station}:{label.device_type}",
                    f"{station} reports label {label_id} of a tag type ({label.device_type}) "
                    "that has no hardware model here; it is not adopted",
                )
            else:
                new.append(
                    {
                        "id": label_id,
                        "store_id": self.settings.store_id,
                        "model": label.model,
                        "base_station_id": station,
                        "template": "price",
                        "state": LabelState.UNBOUND,
                        "seq": 0,
                        "shown_seq": 0,
                        "updated_at": now,
                    }
                )
        if new:
            session.execute(insert(Label), new)
            self.stats.counts["discovered"] += len(new)
            log.info("base station %s: %d new labels", station, len(new))
            for row in new:
                telemetry.append(
                    _telemetry_row(station, row["id"], valid[row["id"]].telemetry, now)
                )
        if telemetry:
            session.connection().execute(_TELEMETRY, telemetry)

    def _incident(self, session: Session, kind: str, subject: str, message: str) -> None:
        record_incident(session, kind, subject, message, store_id=self.settings.store_id)

    def _record_once(self, session: Session, kind: str, subject: str, message: str) -> None:
        """Repeated reports of one thing (a ghost label, a stranger station) are one incident
        per worker run, not one per message."""
        if (kind, subject) in self._reported:
            self.stats.counts[f"{kind}_repeats"] += 1
            return
        self._reported.add((kind, subject))
        self._incident(session, kind, subject, message)

    def _forget_inflight(self) -> None:
        self._inflight.clear()
        self._by_label_seq.clear()
        self._on_air.clear()

    def _track(self, flight: InFlight) -> None:
        self._inflight[flight.outbox_id] = flight
        self._by_label_seq[(flight.label_id, flight.seq)] = flight.outbox_id
        if flight.holds_slot:
            self._on_air[flight.station] += 1

    # -- filling station windows ---------------------------------------------------------------

    def _claim(self, session: Session, now: datetime) -> list[tuple[InFlight, object]]:
        """Mark the next commands of every online station sent (in this transaction)."""
        claimed: list[tuple[InFlight, object]] = []
        for station in sorted(self._online):
            link = self._links.get(station)
            if link is None:
                continue
            free = link.window(self.settings.station_window) - self._on_air[station]
            if free > 0:
                claimed.extend(self._claim_station(session, station, free, now))
        return claimed

    def _claim_station(
        self, session: Session, station: str, free: int, now: datetime
    ) -> list[tuple[InFlight, object]]:
        rows = session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.label_id,
                OutboxMessage.kind,
                OutboxMessage.seq,
                OutboxMessage.payload,
                OutboxMessage.width,
                OutboxMessage.height,
                OutboxMessage.colour_mode,
                OutboxMessage.crc32,
                OutboxMessage.params,
                OutboxMessage.content_hash,
                OutboxMessage.attempts,
            )
            .where(
                OutboxMessage.state == OutboxState.PENDING,
                OutboxMessage.base_station_id == station,
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.priority.desc(), OutboxMessage.id)
            .limit(free)
        ).all()
        if not rows:
            return []
        ids = [row.id for row in rows]
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(state=OutboxState.SENT, sent_at=now, attempts=OutboxMessage.attempts + 1)
        )
        image_labels = [row.label_id for row in rows if row.kind == CommandKind.IMAGE]
        if image_labels:
            session.execute(
                update(Label)
                .where(Label.id.in_(image_labels), Label.state == LabelState.PENDING)
                .values(state=LabelState.SENT)
            )
        claimed: list[tuple[InFlight, object]] = []
        for row in rows:
            flight = InFlight(
                row.id,
                row.label_id,
                station,
                row.kind,
                row.seq,
                row.content_hash,
                row.attempts + 1,
                now,
            )
            try:
                command: object = command_from_row(
                    row.id,
                    row.label_id,
                    station,
                    row.kind,
                    row.seq,
                    row.payload,
                    row.width,
                    row.height,
                    row.colour_mode,
                    row.crc32,
                    row.params,
                    row.content_hash,
                )
            except ValueError as exc:
                command = _Unsendable(row.id, row.label_id, f"cannot be sent: {exc}")
            claimed.append((flight, command))
        return claimed

    def _send(self, claimed: list[tuple[InFlight, object]]) -> int:
        """Hand committed claims to their links; what a link cannot take goes back."""
        sent = 0
        down: set[str] = set()
        for flight, command in claimed:
            if isinstance(command, _Unsendable):
                self._events.put(command)  # booked as failed with its reason next step
                continue
            self._track(flight)
            link = self._links.get(flight.station)
            if link is None or flight.station in down:
                continue  # held: the offline event below puts it back in the queue
            try:
                assert isinstance(command, Command)
                link.send(command)
                sent += 1
            except CommandNotSupported as exc:
                self._take_inflight(None, flight.label_id, flight.seq)
                self._events.put(_Unsendable(flight.outbox_id, flight.label_id, str(exc)))
            except LinkUnavailable as exc:
                down.add(flight.station)
                self._events.put(_Offline(flight.station, f"link unavailable: {exc}"))
            except Exception as exc:  # a driver bug must not stop the other stations
                log.exception("driver of base station %s failed to send", flight.station)
                down.add(flight.station)
                self._events.put(_Offline(flight.station, f"driver error: {type(exc).__name__}"))
                self._events.put(
                    _Malformed(
                        "driver_error",
                        flight.station,
                        f"the station's driver failed to send ({type(exc).__name__}: {exc})",
                    )
                )
        self.stats.counts["published"] += sent
        return sent
