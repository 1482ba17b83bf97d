"""Browser players (the page at /screen): commands become rows the web streams to the page
over Server-Sent Events; what pages post to the web becomes reports to the core.

The channel has one thread of its own. Commands are queued and written by it at once: the
core sends them from inside its own transaction, which on SQLite holds the only write lock.
It reads the rows pages posted every `poll_s` (a tenth of a second, so an override is on
screen well within half a second) and notices a page that has stopped sending heartbeats:
a closed browser says no goodbye.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.row_poll import Cadence, RowPoll
from esl_controller.signage import protocol
from esl_controller.signage.channel import (
    ChannelReports,
    MalformedReported,
    PlaylistDelivery,
    PlaysReported,
    PresenceReported,
)
from esl_controller.signage.drivers.browser import mailbox

NAME = "browser"
HEARTBEAT_S = 5.0  # how often a page says it is alive (docs/screens.md)
log = logging.getLogger(__name__)


class BrowserPlayerChannel:
    name = NAME

    def __init__(
        self,
        engine: Engine,
        store: str,
        *,
        poll_s: float = 0.1,
        offline_after_s: float = 3 * HEARTBEAT_S,
    ) -> None:
        self.engine = engine
        self.store = store
        self.offline_after_s = offline_after_s
        self._reports: ChannelReports | None = None
        self._poll = RowPoll(
            "screen reports", poll_s, lambda s, _now: mailbox.reports_after(s, store, 0, 500)
        )
        self._prune = Cadence(30.0)
        self._in_flight: set[int] = set()  # plays reported, not yet committed by the core
        self._lock = threading.Lock()
        self._alive: dict[str, float] = {}  # player -> monotonic time of its last heartbeat
        self._outgoing: queue.SimpleQueue[tuple[tuple[str, ...], str, bytes]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()

    # -- core -> pages ---------------------------------------------------------------------------

    def send_playlist(self, delivery: PlaylistDelivery) -> None:
        """Kept as the player's one playlist row: a page that connects later streams it first."""
        payload = protocol.playlist_payload(
            delivery.player,
            delivery.playlist,
            delivery.items,
            delivery.valid_until,
            delivery.media_base,
        )
        self._post([delivery.player], mailbox.PLAYLIST, payload)

    def send_override(self, players: Sequence[str], command: protocol.OverrideCommand) -> None:
        if players:
            self._post(players, mailbox.OVERRIDE, protocol.override_payload(command))

    def send_revert(self, players: Sequence[str], override_id: int) -> None:
        if players:
            self._post(players, mailbox.REVERT, protocol.revert_payload(override_id))

    def _post(self, players: Sequence[str], kind: str, payload: bytes) -> None:
        self._outgoing.put((tuple(players), kind, payload))
        self._ensure_thread()
        self._wake.set()

    def write_commands(self) -> int:
        """Write what was queued, in order, in one transaction; how many rows."""
        batch = []
        while True:
            try:
                batch.append(self._outgoing.get_nowait())
            except queue.Empty:
                break
        if not batch:
            return 0
        now = utcnow()
        with session_scope(self.engine) as session:
            for players, kind, payload in batch:
                for player in players:
                    mailbox.post_command(session, self.store, player, kind, payload, now)
        return sum(len(players) for players, _, _ in batch)

    # -- pages -> core ---------------------------------------------------------------------------

    def open(self, reports: ChannelReports) -> None:
        self._reports = reports
        self._ensure_thread()

    def _ensure_thread(self) -> None:
        with self._thread_lock:
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name="browser-channel", daemon=True
                )
                self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        with self._thread_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=10)
        self._reports = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._poll.every_s / 2)
            self._wake.clear()
            try:
                self.write_commands()
                self.poll_once()
            except Exception:  # a bad turn (the database restarting) must not end the channel
                log.exception("browser channel turn failed")
                self._stop.wait(1.0)
        try:
            self.write_commands()  # what the core sent before closing still goes out
        except Exception:
            log.exception("browser channel could not write its last commands")

    def poll_once(self) -> None:
        reports = self._reports
        if reports is None:
            return
        now = utcnow()
        with session_scope(self.engine) as session:
            rows = [r for r in self._poll.poll(session, now) if r.id not in self._in_flight]
            done = []
            for row in rows:
                assert row.id is not None
                if row.kind == mailbox.POP:
                    self._plays(reports, row.player_id, row.payload, row.id)
                else:
                    done.append(row.id)
                    self._status(reports, row.player_id, row.payload)
            mailbox.forget_reports(session, done)
            if self._prune.due(now):
                mailbox.prune_commands(session, now)
        self._notice_silent(reports)

    def _status(self, reports: ChannelReports, player: str, payload: str) -> None:
        try:
            status = protocol.parse_player_status(payload)
        except protocol.SignageProtocolError as exc:
            reports.report(MalformedReported(NAME, "malformed_status", player, str(exc)))
            return
        online = status.state == "online"
        with self._lock:
            if online:
                self._alive[player] = time.monotonic()
            else:
                self._alive.pop(player, None)
        reports.report(
            PresenceReported(
                NAME,
                player,
                online=online,
                now_playing=status.now_playing,
                override_id=status.override_id,
                cache_items=status.cache_items,
            )
        )

    def _notice_silent(self, reports: ChannelReports) -> None:
        cutoff = time.monotonic() - self.offline_after_s
        with self._lock:
            silent = [player for player, seen in self._alive.items() if seen < cutoff]
            for player in silent:
                del self._alive[player]
        for player in silent:
            reports.report(PresenceReported(NAME, player, online=False))

    def _plays(self, reports: ChannelReports, player: str, payload: str, row_id: int) -> None:
        self._in_flight.add(row_id)
        committed = self._forget_once_committed(row_id)
        try:
            reports.report(PlaysReported(NAME, player, protocol.parse_pops(payload), committed))
        except protocol.BatchError as exc:  # the good plays of a batch still count
            reports.report(PlaysReported(NAME, player, exc.valid, committed))
            reports.report(MalformedReported(NAME, "malformed_pop", player, str(exc)))
        except protocol.SignageProtocolError as exc:
            reports.report(MalformedReported(NAME, "malformed_pop", player, str(exc)))
            committed()  # nothing in it can ever be stored

    def _forget_once_committed(self, row_id: int) -> Callable[[], None]:
        def forget() -> None:
            with Session(self.engine) as session:
                mailbox.forget_reports(session, [row_id])
                session.commit()
            self._in_flight.discard(row_id)

        return forget
