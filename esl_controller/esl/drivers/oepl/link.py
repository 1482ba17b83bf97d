"""A live link to one OpenEPaperLink access point: HTTP for commands, `/ws` for tag records.

Two threads per AP:
- the connection thread connects the websocket, lists every tag (`GET /get_db`, all
  pages), reports the AP online, then follows the websocket's tag records: telemetry,
  labels heard, and the confirmations of what we sent (see tracking.py). When the
  websocket drops it reconnects at once; only when the AP does not answer is it offline.
- the upload thread works through the commands `send` queued (send never blocks on the
  network): `POST /imgupload`, `/led_flash`, `POST /tag_cmd`.

Every answer of the AP is validated (records.py); what cannot be trusted is reported as
`events.malformed(kind, detail)` with a log line, and the link keeps going.
"""

from __future__ import annotations

import logging
import queue
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from esl_controller.esl.drivers.oepl import records
from esl_controller.esl.drivers.oepl.led import led_pattern
from esl_controller.esl.drivers.oepl.picture import PictureError, jpeg_for
from esl_controller.esl.drivers.oepl.records import RecordError, TagRecord
from esl_controller.esl.drivers.oepl.tagtypes import TagTypeMatch, match_tag_type, unknown_tag_type
from esl_controller.esl.drivers.oepl.tracking import DeliveryTracker
from esl_controller.esl.link import (
    Command,
    CommandKind,
    HeardLabel,
    LinkEvents,
    LinkUnavailable,
    StationConfig,
    StationInfo,
    StationLink,
    Telemetry,
)
from esl_controller.labels.hardware import HardwareModel

log = logging.getLogger(__name__)

RUNSTATUS_RUN = 2
BUSY_RETRY_S = 2.0  # after a 409 "Come back later"
STATUS_EVERY_S = 2.0  # how often a changing queue and ETA are reported
# A tag's confirmation comes at its check-in, after the AP converted the picture; allow
# three check-in periods and a margin before the dispatcher counts a timeout.
ACK_CHECKINS = 3
ACK_MARGIN_S = 10.0


@dataclass(frozen=True)
class LinkOptions:
    url: str
    checkin_s: float | None = None  # expected check-in period; learned from the tags if None
    reconnect_s: float = 5.0
    timeout_s: float = 10.0
    ping_s: float = 20.0
    clock_tolerance_s: float = 120.0
    heard_every_s: float = 300.0


class MacClaims:
    """Which station reports which tag MAC, shared by every link of one driver."""

    def __init__(self) -> None:
        self._owner: dict[str, str] = {}
        self._lock = threading.Lock()

    def claim(self, mac: str, station_id: str) -> str | None:
        """The other station already reporting `mac`, if any (the first one keeps it)."""
        with self._lock:
            owner = self._owner.setdefault(mac, station_id)
            return None if owner == station_id else owner

    def release(self, station_id: str) -> None:
        with self._lock:
            for mac in [m for m, owner in self._owner.items() if owner == station_id]:
                del self._owner[mac]


class OeplStationLink(StationLink):
    def __init__(
        self,
        config: StationConfig,
        events: LinkEvents,
        options: LinkOptions,
        models: Callable[[], dict[str, HardwareModel]],
        claims: MacClaims,
    ) -> None:
        super().__init__(config, events)
        self.options = options
        self.base_url = options.url.rstrip("/")
        self._ws_url = "ws" + self.base_url[len("http") :] + "/ws"
        self._models = models
        self._claims = claims
        self._tracker = DeliveryTracker()
        self._status_reported_at = 0.0
        self._tags: dict[str, TagRecord] = {}
        self._types: dict[int, TagTypeMatch] = {}
        self._heard_at: dict[str, float] = {}
        self._reported: set[tuple[str, str]] = set()  # (kind, key) incidents said once
        self._lock = threading.RLock()
        self._online = threading.Event()
        self._offline_reported = False
        self._stop = threading.Event()
        self._uploads: queue.SimpleQueue[Command | None] = queue.SimpleQueue()
        self._ws: ClientConnection | None = None
        self._closing_ws = False
        self._threads: list[threading.Thread] = []
        self._clock_offset_s = 0.0
        self._clock_off_reported = False
        self._firmware: str | None = None
        self._http = requests.Session()  # the connection thread's
        self._upload_http = requests.Session()  # the upload thread's

    # -- StationLink -----------------------------------------------------------------------

    def start(self) -> None:
        for target, name in ((self._run_connection, "ws"), (self._run_uploads, "upload")):
            thread = threading.Thread(
                target=target, name=f"oepl-{name}-{self.station_id}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._uploads.put(None)
        ws = self._ws
        if ws is not None:
            ws.close()
        for thread in self._threads:
            thread.join(timeout=self.options.timeout_s + 2)
        self._claims.release(self.station_id)
        self._http.close()
        self._upload_http.close()

    def send(self, command: Command) -> None:
        if not self._online.is_set():
            raise LinkUnavailable(f"OpenEPaperLink AP {self.base_url} is offline")
        self._uploads.put(command)

    def window(self, default: int) -> int:
        # The AP holds one image per tag and replaces it when a newer one comes.
        with self._lock:
            return max(default, len(self._tags))

    def ack_timeout_s(self, default: float) -> float:
        return max(default, ACK_CHECKINS * self.checkin_period_s() + ACK_MARGIN_S)

    # -- what the AP's schedule says ---------------------------------------------------------

    def checkin_period_s(self) -> float:
        """The configured check-in period, or the median one the tags announce."""
        if self.options.checkin_s:
            return self.options.checkin_s
        with self._lock:
            periods = [
                tag.nextcheckin - tag.lastseen
                for tag in self._tags.values()
                if tag.lastseen and records.DEEP_SLEEP_SENTINEL > tag.nextcheckin > tag.lastseen
            ]
        return float(statistics.median(periods)) if periods else 60.0

    def station_info(self) -> StationInfo:
        """Firmware, tags, what is pending and when the last pending tag checks in."""
        now_ap = time.time() + self._clock_offset_s
        with self._lock:
            tags = list(self._tags.values())
        pending = [tag for tag in tags if tag.pending]
        waits = [
            max(0.0, tag.nextcheckin - now_ap)
            for tag in pending
            if tag.nextcheckin and tag.nextcheckin < records.DEEP_SLEEP_SENTINEL
        ]
        if pending and len(waits) < len(pending):
            waits.append(self.checkin_period_s())  # a tag without a schedule: one period
        return StationInfo(
            firmware=self._firmware,
            queue_depth=sum(tag.pending for tag in pending),
            labels=len(tags),
            eta_s=max(waits) if waits else 0.0,
        )

    @property
    def online(self) -> bool:
        return self._online.is_set()

    # -- connection thread -----------------------------------------------------------------

    def _run_connection(self) -> None:
        while not self._stop.is_set():
            try:
                sysinfo = self._get_json("/sysinfo", "sysinfo")
                self._firmware = str(sysinfo.get("buildversion") or "") or None
                ws = connect(
                    self._ws_url,
                    open_timeout=self.options.timeout_s,
                    ping_interval=self.options.ping_s,
                    ping_timeout=self.options.ping_s,
                    close_timeout=1,
                    max_size=records.MAX_MESSAGE_CHARS,
                )
            except (OSError, requests.RequestException, InvalidHandshake, InvalidURI) as exc:
                self._went_offline(f"AP {self.base_url} does not answer: {_short(exc)}")
                self._stop.wait(self.options.reconnect_s)
                continue
            except RecordError as exc:
                self._malformed(exc)
                self._went_offline(f"AP {self.base_url} answers /sysinfo with garbage")
                self._stop.wait(self.options.reconnect_s)
                continue
            self._ws = ws
            try:
                # The websocket is open before the listing, so no change falls between them.
                if self._list_tags():
                    self._came_online()
                self._follow(ws)
            finally:
                self._ws = None
                ws.close()

    def _list_tags(self) -> bool:
        """Every page of /get_db; False when the AP stopped answering."""
        pos, heard = 0, []
        while True:
            try:
                response = self._http.get(
                    f"{self.base_url}/get_db", params={"pos": pos}, timeout=self.options.timeout_s
                )
                response.raise_for_status()
                page = records.db_page(response.content, pos)
            except requests.RequestException as exc:
                self._went_offline(f"AP {self.base_url} stopped answering /get_db: {_short(exc)}")
                return False
            except RecordError as exc:
                # The rest of the list comes with each tag's next check-in record.
                self._malformed(exc)
                break
            for error in page.errors:
                self._malformed(error)
            for record in page.records:
                heard += self._take_record(record, listing=True)
            if page.next_pos is None:
                break
            pos = page.next_pos
        if heard:
            self.events.labels_heard(self.station_id, heard)
        return True

    def _follow(self, ws: ClientConnection) -> None:
        while not self._stop.is_set():
            try:
                text = ws.recv(timeout=1.0)
            except TimeoutError:
                continue
            except ConnectionClosed as exc:
                if not self._stop.is_set() and not self._closing_ws:
                    self._websocket_dropped(exc, ws.protocol.parser_exc)
                self._closing_ws = False
                return
            except OSError as exc:
                log.warning("%s: websocket failed: %s", self.station_id, exc)
                return
            try:
                message, errors = records.ws_message(text, self._routine)
            except RecordError as exc:
                self._malformed(exc)
                continue
            for error in errors:
                self._malformed(error)
            if message.clock is not None:
                self._check_clock(message.clock)
            heard: list[HeardLabel] = []
            for record in message.records:
                heard += self._take_record(record)
            if heard:
                self.events.labels_heard(self.station_id, heard)
            if message.log:
                log.debug("%s says %s", self.station_id, message.log)

    def _routine(self, raw: object) -> bool:
        """A check-in record with nothing new for a tag we wait for nothing from, and whose
        telemetry is not due: every tag pushes one per check-in, and validating thousands a
        second would cost more than the rest of the link together."""
        mac = raw.get("mac") if isinstance(raw, dict) else None
        if not isinstance(mac, str) or self._tracker.is_waiting(mac):
            return False
        known = self._tags.get(mac)
        if known is None:
            return False
        if time.monotonic() - self._heard_at.get(mac, 0.0) >= self.options.heard_every_s:
            return False
        return records.same_state(raw, known)

    def _websocket_dropped(self, exc: ConnectionClosed, cause: Exception | None) -> None:
        # websockets keeps why it stopped parsing: the stream ending inside a frame.
        if isinstance(cause, EOFError) and "stream ends after" in str(cause):
            self._malformed(
                RecordError("websocket", f"websocket frame cut short ({cause}); reconnecting")
            )
        elif cause is not None and not isinstance(cause, EOFError):
            self._malformed(RecordError("websocket", f"websocket broken: {cause}; reconnecting"))
        else:
            log.info("%s: websocket closed (%s); reconnecting", self.station_id, exc)

    # -- records ---------------------------------------------------------------------------

    def _take_record(self, record: TagRecord, listing: bool = False) -> list[HeardLabel]:
        """Store the record, confirm what it confirms; the label to report as heard, if due."""
        with self._lock:
            known = self._tags.get(record.mac)
            self._tags[record.mac] = record
        other = self._claims.claim(record.mac, self.station_id)
        if other is not None and self._once("duplicate_mac", record.mac):
            self._malformed(
                RecordError(
                    "duplicate_mac",
                    f"tag {record.mac} is reported by this AP and by station {other}",
                )
            )
        telemetry = self._telemetry(record)
        seq = self._tracker.on_record(record)
        if seq is not None:
            self.events.delivered(self.station_id, record.mac, seq, telemetry)
            self._report_status()
        now = time.monotonic()
        due = (
            listing
            or known is None
            or known.hw_type != record.hw_type
            or now - self._heard_at.get(record.mac, 0.0) >= self.options.heard_every_s
        )
        if not due:
            return []
        self._heard_at[record.mac] = now
        match = self._tag_type(record.hw_type)
        if match.model_id is None and self._once("unknown_type", record.mac):
            log.warning("%s: tag %s: %s", self.station_id, record.mac, match.reason)
        return [HeardLabel(record.mac, match.model_id, telemetry, match.device_type)]

    def _telemetry(self, record: TagRecord) -> Telemetry:
        return Telemetry(
            battery_mv=record.battery_mv or None,
            signal_dbm=record.rssi if record.rssi else None,
            lqi=record.lqi,
            temperature_c=float(record.temperature) if record.temperature is not None else None,
            last_seen=self._local_time(record.lastseen),
            next_checkin=(
                None
                if record.nextcheckin >= records.DEEP_SLEEP_SENTINEL
                else self._local_time(record.nextcheckin)
            ),
        )

    def _local_time(self, ap_seconds: int) -> datetime | None:
        if not ap_seconds:
            return None
        return datetime.fromtimestamp(ap_seconds - self._clock_offset_s, UTC)

    def _check_clock(self, clock: records.ApClock) -> None:
        offset = clock.currtime - time.time()
        off = abs(offset) > self.options.clock_tolerance_s
        self._clock_offset_s = offset if off else 0.0
        if off and not self._clock_off_reported:
            self._clock_off_reported = True
            direction = "ahead of" if offset > 0 else "behind"
            self._malformed(
                RecordError(
                    "clock",
                    f"AP clock is {abs(offset):.0f} s {direction} ours; "
                    "its tag times are corrected by that much",
                )
            )
        elif not off:
            self._clock_off_reported = False

    def _tag_type(self, hw_type: int) -> TagTypeMatch:
        match = self._types.get(hw_type)
        if match is not None:
            return match
        where = f"/tagtypes/{hw_type:02X}.json"
        try:
            response = self._http.get(self.base_url + where, timeout=self.options.timeout_s)
        except requests.RequestException as exc:
            return unknown_tag_type(hw_type, f"tag type {hw_type:02X}: {_short(exc)}")
        if response.status_code == 404:
            match = unknown_tag_type(hw_type, f"the AP does not know tag type {hw_type:02X}")
        elif response.status_code != 200:
            return unknown_tag_type(hw_type, f"{where} answered {response.status_code}")
        else:
            try:
                match = match_tag_type(records.tag_type(response.content, hw_type), self._models())
            except RecordError as exc:
                self._malformed(exc)
                match = unknown_tag_type(hw_type, exc.detail)
        self._types[hw_type] = match
        return match

    # -- upload thread ---------------------------------------------------------------------

    def _run_uploads(self) -> None:
        while True:
            command = self._uploads.get()
            if command is None or self._stop.is_set():
                return
            if not self._online.is_set():
                self._hold(command, "the AP is offline")
                continue
            try:
                self._carry_out(command)
            except requests.RequestException as exc:
                self._tracker.forget(command.label_id, command.seq)
                self._went_offline(
                    f"AP {self.base_url} went away during the {command.kind} for "
                    f"{command.label_id}: {_short(exc)}"
                )
                self._hold(command, "the AP went away")
                ws = self._ws
                if ws is not None:
                    self._closing_ws = True  # our own close is no incident
                    ws.close()  # the connection thread reconnects and reports it back online

    def _hold(self, command: Command, why: str) -> None:
        log.info("%s: %s seq %s held: %s", self.station_id, command.label_id, command.seq, why)
        self.events.busy(self.station_id, command.label_id, command.seq, self.options.reconnect_s)

    def _carry_out(self, command: Command) -> None:
        try:
            mac = records.normal_mac(command.label_id)
        except ValueError as exc:
            return self._refuse(command, str(exc))
        with self._lock:
            last = self._tags.get(mac)
        if last is None:
            return self._refuse(command, f"tag {mac} is not known to AP {self.base_url}")
        timeout = self.options.timeout_s
        url = self.base_url
        if command.kind is CommandKind.IMAGE:
            match = self._tag_type(last.hw_type)
            if match.model_id is None:
                return self._refuse(command, f"cannot draw for tag {mac}: {match.reason}")
            try:
                jpeg = jpeg_for(command.image, match)  # type: ignore[arg-type]
            except (PictureError, ValueError) as exc:
                return self._refuse(command, str(exc))
            self._tracker.expect(mac, command.seq, last)
            response = self._upload_http.post(
                f"{url}/imgupload",
                data={"mac": mac, "dither": "0"},
                files={"file": (f"{mac}.jpg", jpeg, "image/jpeg")},
                timeout=timeout,
            )
        elif command.kind is CommandKind.LED:
            params = command.params
            try:
                pattern = led_pattern(
                    str(params.get("colour", "green")),
                    str(params.get("pattern", "blink")),
                    float(params.get("seconds", 10)),
                )
            except (TypeError, ValueError) as exc:
                return self._refuse(command, str(exc))
            self._tracker.expect(mac, command.seq, last)
            response = self._upload_http.get(
                f"{url}/led_flash", params={"mac": mac, "pattern": pattern}, timeout=timeout
            )
        elif command.kind is CommandKind.REFRESH:
            clear = bool(command.params.get("clear", False))
            self._tracker.expect(mac, command.seq, last, clear=clear)
            response = self._upload_http.post(
                f"{url}/tag_cmd",
                data={"mac": mac, "cmd": "clear" if clear else "refresh"},
                timeout=timeout,
            )
        else:
            return self._refuse(
                command, f"an OpenEPaperLink AP has no {command.kind} command for its tags"
            )
        self._answered(command, mac, response)

    def _answered(self, command: Command, mac: str, response: requests.Response) -> None:
        text = response.text.strip()[:120]
        if response.status_code == 409:
            self._tracker.forget(mac, command.seq)
            log.info("%s: AP busy (409 %s) for %s; retrying", self.station_id, text, mac)
            self.events.busy(self.station_id, command.label_id, command.seq, BUSY_RETRY_S)
        elif response.status_code == 200:
            self._report_status()
            with self._lock:
                current = self._tags.get(mac)
            if self._tracker.accepted(mac, command.seq, current):
                with self._lock:
                    record = self._tags.get(mac)
                telemetry = self._telemetry(record) if record else None
                self.events.delivered(self.station_id, command.label_id, command.seq, telemetry)
        else:
            self._tracker.forget(mac, command.seq)
            self._refuse(command, f"AP answered {response.status_code}: {text or 'no text'}")

    def _refuse(self, command: Command, reason: str) -> None:
        log.warning(
            "%s: %s seq %s refused: %s", self.station_id, command.label_id, command.seq, reason
        )
        self.events.refused(self.station_id, command.label_id, command.seq, reason)

    # -- state and incidents ---------------------------------------------------------------

    def _get_json(self, path: str, kind: str) -> dict:
        response = self._http.get(self.base_url + path, timeout=self.options.timeout_s)
        response.raise_for_status()
        data = records.load_json(response.content, f"GET {path}")
        if not isinstance(data, dict):
            raise RecordError(kind, f"GET {path}: expected a JSON object")
        return data

    def _report_status(self) -> None:
        """The queue and ETA as they change, at most every STATUS_EVERY_S."""
        now = time.monotonic()
        if now - self._status_reported_at < STATUS_EVERY_S or not self._online.is_set():
            return
        self._status_reported_at = now
        self.events.station_status(self.station_id, self.station_info())

    def _came_online(self) -> None:
        with self._lock:
            was_online = self._online.is_set()
            self._online.set()
            self._offline_reported = False
        if not was_online:
            log.info("%s: AP %s online", self.station_id, self.base_url)
            self.events.station_online(self.station_id, self.station_info())

    def _went_offline(self, reason: str) -> None:
        with self._lock:
            self._online.clear()
            if self._offline_reported:
                return
            self._offline_reported = True
        log.warning("%s: offline: %s", self.station_id, reason)
        self.events.station_offline(self.station_id, reason)

    def _malformed(self, error: RecordError) -> None:
        log.warning("%s: %s: %s", self.station_id, error.kind, error.detail)
        self.events.malformed(self.station_id, error.kind, error.detail)

    def _once(self, kind: str, key: str) -> bool:
        with self._lock:
            if (kind, key) in self._reported:
                return False
            self._reported.add((kind, key))
            return True


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
