"""The dispatcher: the one loop that publishes the outbox and books what comes back.

It runs in the worker only, in one thread that owns every write about delivery, so SQLite
sees a single writer for the hot path. The MQTT network thread only parses messages and
hands them over through a queue.

Rules it enforces:
- each online base station has at most `station_window` commands on air, most urgent
  first: the radio stays busy, and a manager's action waits behind at most that many;
- an ack is matched by (label, sequence number); an image is marked shown only if it is
  still the newest one queued for the label (a stale ack never marks a newer image);
- no ack within `ack_timeout_s`, or a nack: retry with exponential backoff, and after
  `max_attempts` mark it failed with the reason, for the manager to see;
- a station going offline (its last will) gets its on-air commands back in the queue,
  held until it returns; a reconnect to the broker re-sends what was on air.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import TextClause, bindparam, select, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime

from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.esl.drivers.mqtt import protocol
from esl_controller.esl.outbox import retry_delay
from esl_controller.incidents import record_incident
from esl_controller.models import BaseStation, Label, OutboxMessage

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes], None]


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


@dataclass(frozen=True)
class _Acks:
    station: str
    acks: list[protocol.Ack]


@dataclass(frozen=True)
class _Status:
    station: str
    status: protocol.StationStatus


@dataclass(frozen=True)
class _Malformed:
    kind: str
    subject: str
    error: str


@dataclass(frozen=True)
class _Reconnected:
    pass


@dataclass
class DispatchStats:
    counts: Counter[str] = field(default_factory=Counter)

    def __getitem__(self, key: str) -> int:
        return self.counts[key]


def _sql(statement: str) -> TextClause:
    """Raw SQL for executemany hot paths, with datetimes bound as the ORM stores them."""
    clause = text(statement)
    times = [name for name in ("now", "at") if f":{name}" in statement]
    return clause.bindparams(*(bindparam(name, type_=UTCDateTime()) for name in times))


_MARK_SHOWN = _sql(
    "UPDATE label SET shown_hash = :hash, shown_seq = :seq, last_error = NULL, "
    "state = CASE WHEN content_hash = :hash THEN 'acked' ELSE state END "
    "WHERE id = :label AND shown_seq < :seq"
)
_TELEMETRY = _sql(
    "UPDATE label SET battery = COALESCE(:battery, battery), signal = COALESCE(:signal, signal), "
    "temperature = COALESCE(:temperature, temperature), last_seen = :now WHERE id = :label"
)


class Dispatcher:
    def __init__(self, engine: Engine, settings: Settings, publish: Publish) -> None:
        self.engine = engine
        self.settings = settings
        self.publish = publish
        self.stats = DispatchStats()
        self._events: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._inflight: dict[int, InFlight] = {}
        self._by_label_seq: dict[tuple[str, int], int] = {}
        self._on_air: Counter[str] = Counter()
        self._online: set[str] = set()
        self._reported_unknown: set[str] = set()
        self._last_expiry = utcnow()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- called from the MQTT network thread: parse, never touch the database -------------

    def on_station_message(self, topic: str, payload: bytes) -> None:
        try:
            parsed = protocol.parse_topic(self.settings.topic_prefix, topic)
        except protocol.ProtocolError as exc:
            self._events.put(_Malformed("malformed_ack", topic, str(exc)))
            return
        if parsed.kind == "ack":
            try:
                self._events.put(_Acks(parsed.station, protocol.parse_acks(payload)))
            except protocol.BatchError as exc:  # the good acks of a batch still count
                self._events.put(_Acks(parsed.station, exc.valid))
                self._events.put(_Malformed("malformed_ack", topic, str(exc)))
            except protocol.ProtocolError as exc:
                self._events.put(_Malformed("malformed_ack", topic, str(exc)))
        elif parsed.kind == "status":
            try:
                self._events.put(_Status(parsed.station, protocol.parse_status(payload)))
            except protocol.ProtocolError as exc:
                self._events.put(_Malformed("malformed_status", topic, str(exc)))

    def on_reconnected(self) -> None:
        self._events.put(_Reconnected())

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
        """After a restart nothing is on air as far as we know: re-queue, forget presence."""
        with session_scope(self.engine) as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.state == "sent")
                .values(state="pending", attempts=OutboxMessage.attempts - 1)
            )
            session.execute(update(BaseStation).values(online=False))
            session.execute(update(Label).where(Label.state == "sent").values(state="pending"))
        self._online.clear()
        self._forget_inflight()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step(self.settings.outbox_poll_s)
            except Exception:  # the loop must survive a bad batch; the batch is rolled back
                self.stats.counts["loop_errors"] += 1
                log.exception("dispatcher step failed")
                self._stop.wait(1.0)

    # -- one turn of the loop (public for tests and benchmarks) ---------------------------

    def step(self, wait: float = 0.0) -> int:
        """Apply what arrived, expire what timed out, fill the stations; return publishes."""
        events = self._drain(wait)
        now = utcnow()
        with session_scope(self.engine) as session:
            self._apply(session, events, now)
            if (now - self._last_expiry).total_seconds() >= 0.5:
                self._expire(session, now)
                self._last_expiry = now
            outgoing = self._fill(session, now)
        for topic, payload in outgoing:
            self.publish(topic, payload)
        self.stats.counts["published"] += len(outgoing)
        return len(outgoing)

    def _drain(self, wait: float) -> list[object]:
        events: list[object] = []
        try:
            events.append(self._events.get(timeout=wait) if wait > 0 else self._events.get_nowait())
        except queue.Empty:
            return events
        while len(events) < 5000:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                break
        return events

    def _apply(self, session: Session, events: list[object], now: datetime) -> None:
        acks: list[tuple[str, protocol.Ack]] = []
        for event in events:
            if isinstance(event, _Acks):
                acks.extend((event.station, ack) for ack in event.acks)
            elif isinstance(event, _Status):
                self._apply_status(session, event.station, event.status, now)
            elif isinstance(event, _Malformed):
                self.stats.counts[event.kind] += 1
                record_incident(session, event.kind, event.subject, event.error)
            elif isinstance(event, _Reconnected):
                self._requeue_on_air(session, station=None)
        if acks:
            self._apply_acks(session, acks, now)

    # -- acks ------------------------------------------------------------------------------

    def _apply_acks(
        self, session: Session, acks: list[tuple[str, protocol.Ack]], now: datetime
    ) -> None:
        acked_ids: list[dict] = []
        shown: list[dict] = []
        telemetry: list[dict] = []
        for station, ack in acks:
            flight = self._take_inflight(ack.label, ack.seq)
            if flight is None:
                flight = self._lookup_late(session, station, ack)
                if flight is None:
                    continue
            telemetry.append(
                {
                    "label": ack.label,
                    "battery": ack.battery,
                    "signal": ack.signal,
                    "temperature": ack.temperature,
                    "now": now,
                }
            )
            if ack.status != "ok":
                self.stats.counts["nacks"] += 1
                self._retry_or_fail(session, flight, f"nack from base station: {ack.reason}", now)
                continue
            self.stats.counts["acked"] += 1
            acked_ids.append({"id": flight.outbox_id, "now": now})
            if flight.kind == "image":
                shown.append({"label": ack.label, "seq": ack.seq, "hash": flight.content_hash})
        conn = session.connection()
        if acked_ids:
            booked = conn.execute(
                _sql(
                    "UPDATE outbox SET state = 'acked', done_at = :now "
                    "WHERE id = :id AND state IN ('sent', 'pending', 'failed')"
                ),
                acked_ids,
            ).rowcount
            # The rest were superseded while on air: shown for a moment, already replaced.
            self.stats.counts["stale_acks"] += len(acked_ids) - booked
        if shown:
            conn.execute(_MARK_SHOWN, shown)
        if telemetry:
            conn.execute(_TELEMETRY, telemetry)

    def _take_inflight(self, label_id: str, seq: int) -> InFlight | None:
        outbox_id = self._by_label_seq.pop((label_id, seq), None)
        if outbox_id is None:
            return None
        flight = self._inflight.pop(outbox_id)
        self._on_air[flight.station] -= 1
        return flight

    def _lookup_late(self, session: Session, station: str, ack: protocol.Ack) -> InFlight | None:
        """An ack we were not waiting for: after a restart, a duplicate, or a stale one."""
        row = session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.state,
                OutboxMessage.kind,
                OutboxMessage.content_hash,
                OutboxMessage.attempts,
                OutboxMessage.base_station_id,
            ).where(OutboxMessage.label_id == ack.label, OutboxMessage.seq == ack.seq)
        ).first()
        if row is None:
            self.stats.counts["unknown_acks"] += 1
            known = session.get(Label, ack.label) is not None
            kind = "unknown_label" if not known else "malformed_ack"
            detail = (
                f"ack from {station} for a label this store does not have"
                if not known
                else f"ack for sequence {ack.seq}, which was never sent to this label"
            )
            record_incident(session, kind, ack.label, detail)
            return None
        outbox_id, state, kind, content_hash, attempts, row_station = row
        if state == "acked":
            self.stats.counts["duplicate_acks"] += 1
            return None
        return InFlight(
            outbox_id, ack.label, row_station, kind, ack.seq, content_hash, attempts, utcnow()
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
                    "kind": flight.kind,
                    "hash": flight.content_hash,
                },
            )
            record_incident(session, "delivery_failed", flight.label_id, message)
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
        deadline = now - timedelta(seconds=self.settings.ack_timeout_s)
        late = [f for f in self._inflight.values() if f.sent_at <= deadline]
        for flight in late:
            self._take_inflight(flight.label_id, flight.seq)
            self.stats.counts["timeouts"] += 1
            reason = f"no ack from {flight.station} within {self.settings.ack_timeout_s:g} s"
            self._retry_or_fail(session, flight, reason, now)

    # -- presence -----------------------------------------------------------------------------

    def _apply_status(
        self, session: Session, station: str, status: protocol.StationStatus, now: datetime
    ) -> None:
        row = session.get(BaseStation, station)
        if row is None:
            if station not in self._reported_unknown:
                self._reported_unknown.add(station)
                record_incident(
                    session,
                    "unknown_station",
                    station,
                    "status from a base station not "
                    "registered in this store; its messages are ignored",
                )
            return
        online = status.state == "online"
        row.online = online
        row.last_seen = now
        row.queue_depth = status.queue or 0
        if status.firmware:
            row.firmware = status.firmware
        session.add(row)
        if online:
            self._online.add(station)
        else:
            self._online.discard(station)
            self._requeue_on_air(session, station)

    def _requeue_on_air(self, session: Session, station: str | None) -> None:
        """Put on-air commands back in the queue, without counting it against them."""
        flights = [f for f in self._inflight.values() if station is None or f.station == station]
        if not flights:
            return
        ids = [f.outbox_id for f in flights]
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.state == "sent")
            .values(state="pending", attempts=OutboxMessage.attempts - 1)
        )
        for flight in flights:
            self._take_inflight(flight.label_id, flight.seq)
        self.stats.counts["requeued"] += len(flights)

    def _forget_inflight(self) -> None:
        self._inflight.clear()
        self._by_label_seq.clear()
        self._on_air.clear()

    # -- filling station windows ---------------------------------------------------------------

    def _fill(self, session: Session, now: datetime) -> list[tuple[str, bytes]]:
        outgoing: list[tuple[str, bytes]] = []
        for station in sorted(self._online):
            free = self.settings.station_window - self._on_air[station]
            if free > 0:
                outgoing.extend(self._fill_station(session, station, free, now))
        return outgoing

    def _fill_station(
        self, session: Session, station: str, free: int, now: datetime
    ) -> list[tuple[str, bytes]]:
        rows = session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.label_id,
                OutboxMessage.kind,
                OutboxMessage.seq,
                OutboxMessage.payload,
                OutboxMessage.content_hash,
                OutboxMessage.attempts,
            )
            .where(
                OutboxMessage.state == "pending",
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
            .values(state="sent", sent_at=now, attempts=OutboxMessage.attempts + 1)
        )
        image_labels = [row.label_id for row in rows if row.kind == "image"]
        if image_labels:
            session.execute(
                update(Label)
                .where(Label.id.in_(image_labels), Label.state == "pending")
                .values(state="sent")
            )
        outgoing = []
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
            self._inflight[row.id] = flight
            self._by_label_seq[(row.label_id, row.seq)] = row.id
            self._on_air[station] += 1
            outgoing.append((self._topic(station, row.kind, row.label_id), row.payload))
        return outgoing

    def _topic(self, station: str, kind: str, label_id: str) -> str:
        build = {
            "image": protocol.image_topic,
            "led": protocol.led_topic,
            "page": protocol.page_topic,
        }[kind]
        return build(self.settings.topic_prefix, self.settings.store_id, station, label_id)
