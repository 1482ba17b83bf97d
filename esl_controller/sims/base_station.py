"""Simulated ESL base stations: real MQTT peers speaking docs/protocol.md.

`esl-controller sim base-station` runs one or more stations in one process. Each station
has its own MQTT connection (the last will is per connection), a queue, and one thread
that handles ONE transfer at a time with settable radio airtime, the way a real base
station's radio does. Failures are injected by rate (dropped frames, nacks) from a
seeded random generator, so runs are repeatable per station.

Topics and payloads come from `esl_controller.esl.drivers.mqtt.protocol` only.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import logging
import os
import queue
import random
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho

from esl_controller.esl.drivers.mqtt import protocol
from esl_controller.mqtt import parse_mqtt_url
from esl_controller.sims.running import report_until_interrupted

log = logging.getLogger(__name__)

FIRMWARE = "sim-1.0"
ACK_BATCH_WINDOW_S = 0.02  # acks finished within this window go out as one message
COMMAND_AIRTIME_SHARE = 0.1  # an LED flash or page switch is a short radio packet
STATUS_INTERVAL_S = 30.0
CONNECT_TIMEOUT_S = 15.0
TRANSFER_HISTORY = 10_000


@dataclass(frozen=True)
class RadioTransfer:
    """One command that went on air (whatever the label then answered)."""

    station: str
    label_id: str
    kind: str
    seq: int
    started: float  # time.monotonic()
    finished: float


@dataclass(frozen=True)
class _Transfer:
    kind: str  # image | led | page
    label_id: str
    payload: bytes


class _Station:
    """One simulated base station: an MQTT session, a transfer queue, a radio thread."""

    def __init__(self, sim: BaseStationSim, station_id: str, rng: random.Random) -> None:
        self.sim = sim
        self.id = station_id
        self.rng = rng
        self.online = threading.Event()
        self.connected = threading.Event()
        self.inbox: queue.SimpleQueue[_Transfer | None] = queue.SimpleQueue()
        self.shown: dict[str, tuple[int, str]] = {}  # label -> (seq, content hash)
        self.done_seqs: dict[str, set[int]] = {}  # label -> command seqs already carried out
        self.started_at = time.monotonic()
        self.client: paho.Client | None = None
        self.thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- MQTT session ----------------------------------------------------------------------

    @property
    def status_topic(self) -> str:
        return protocol.status_topic(self.sim.prefix, self.sim.store, self.id)

    def connect(self) -> None:
        target = self.sim.target
        client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            # the prefix too: two test runs on one broker must not evict each other
            client_id=f"sim-{self.sim.prefix}-{self.sim.store}-{self.id}",
            clean_session=True,
        )
        client.max_inflight_messages_set(1000)
        if target.username:
            client.username_pw_set(target.username, target.password)
        if target.tls:
            client.tls_set()
        offline = protocol.status_payload(protocol.StationStatus("offline"))
        client.will_set(self.status_topic, offline, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self.client = client
        client.connect_async(target.host, target.port, keepalive=30)
        client.loop_start()

    def _on_connect(self, client, _userdata, _flags, reason_code, _props) -> None:
        if reason_code.is_failure:
            log.error("station %s: connection refused: %s", self.id, reason_code)
            return
        client.subscribe(protocol.station_subscription(self.sim.prefix, self.sim.store, self.id), 1)

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _props) -> None:
        # Ready (and announced online) only once the broker confirms the subscription:
        # a command published before that would be lost.
        if any(code.is_failure for code in reason_codes):
            log.error("station %s: subscription refused: %s", self.id, reason_codes)
            return
        if self.online.is_set():
            self.publish_status()
        self.connected.set()

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _props) -> None:
        self.connected.clear()
        log.info("station %s disconnected (%s)", self.id, reason_code)

    def _on_message(self, _client, _userdata, message: paho.MQTTMessage) -> None:
        try:
            parsed = protocol.parse_topic(self.sim.prefix, message.topic)
        except protocol.ProtocolError as exc:
            log.warning("station %s: ignoring %s", self.id, exc)
            return
        if parsed.station != self.id or parsed.label_id is None:
            return
        if not self.online.is_set():
            self.sim.ignored[self.id] += 1  # out of service; the controller retries later
            return
        self.sim.received[self.id] += 1
        self.inbox.put(_Transfer(parsed.kind, parsed.label_id, message.payload))

    def publish_status(self) -> paho.MQTTMessageInfo | None:
        state = "online" if self.online.is_set() else "offline"
        status = protocol.StationStatus(
            state=state,
            queue=self.inbox.qsize(),
            firmware=FIRMWARE,
            uptime=int(time.monotonic() - self.started_at),
            labels=len(self.shown),
        )
        return self._publish(self.status_topic, protocol.status_payload(status), retain=True)

    def _publish(
        self, topic: str, payload: bytes, retain: bool = False
    ) -> paho.MQTTMessageInfo | None:
        client = self.client
        return client.publish(topic, payload, qos=1, retain=retain) if client else None

    def disconnect(self) -> None:
        if self.client is None:
            return
        self.client.disconnect()
        self.client.loop_stop()
        self.client = None

    def kill_socket(self) -> None:
        """Drop the TCP connection without DISCONNECT, as a power cut would."""
        client, self.client = self.client, None
        if client is None:
            return
        client.loop_stop()
        sock = client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):  # already gone is fine
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.connected.clear()

    # -- the radio ---------------------------------------------------------------------------

    def start_radio(self) -> None:
        self.thread = threading.Thread(target=self._radio_loop, name=f"sim-{self.id}", daemon=True)
        self.thread.start()

    def stop_radio(self) -> None:
        self._stop.set()
        self.inbox.put(None)
        if self.thread is not None:
            self.thread.join(timeout=10)

    def forget_queue(self) -> None:
        while True:
            try:
                self.inbox.get_nowait()
            except queue.Empty:
                return

    def _radio_loop(self) -> None:
        delayed: list[tuple[float, int, protocol.Ack]] = []  # (due, tie-breaker, ack)
        ready: list[protocol.Ack] = []
        batch_started = 0.0
        next_status = time.monotonic() + STATUS_INTERVAL_S
        counter = 0
        while not self._stop.is_set():
            now = time.monotonic()
            while delayed and delayed[0][0] <= now:
                if not ready:
                    batch_started = now
                ready.append(heapq.heappop(delayed)[2])
            # Batching only pays at (near) zero airtime; with real airtime an ack held back
            # would wait a whole transfer and leave the controller's window empty.
            flush = not self.sim.batch_acks or self.sim.airtime_s > 0
            if ready and (flush or now - batch_started >= ACK_BATCH_WINDOW_S):
                self._send_acks(ready)
                ready = []
            if now >= next_status and self.online.is_set():
                self.publish_status()
                next_status = now + STATUS_INTERVAL_S
            wake = [next_status]
            if ready:
                wake.append(batch_started + ACK_BATCH_WINDOW_S)
            if delayed:
                wake.append(delayed[0][0])
            try:
                transfer = self.inbox.get(timeout=max(0.0, min(wake) - now))
            except queue.Empty:
                continue
            if transfer is None:
                break
            ack = self._carry_out(transfer)
            if ack is not None and self.online.is_set():
                counter += 1
                heapq.heappush(delayed, (time.monotonic() + self.sim.delay_s, counter, ack))
        if ready:
            self._send_acks(ready)

    def _send_acks(self, acks: list[protocol.Ack]) -> None:
        if not self.online.is_set():
            return
        topic = protocol.ack_topic(self.sim.prefix, self.sim.store, self.id)
        for ack in acks:
            (self.sim.acked if ack.status == "ok" else self.sim.nacked)[self.id] += 1
        if self.sim.batch_acks:
            self._publish(topic, protocol.acks_payload(acks))
        else:
            for ack in acks:
                self._publish(topic, protocol.ack_payload(ack))

    def _carry_out(self, transfer: _Transfer) -> protocol.Ack | None:
        """Put one command on air; the ack to send, or None when the label never answered."""
        if transfer.kind == "image":
            return self._show_image(transfer)
        return self._run_command(transfer)

    def _show_image(self, transfer: _Transfer) -> protocol.Ack | None:
        label = transfer.label_id
        try:
            frame = protocol.decode_frame(transfer.payload)
        except protocol.FrameError as exc:
            self.sim.crc_errors[self.id] += 1
            seq = _seq_from_header(transfer.payload)
            return self._ack(label, seq, "image", f"bad frame: {exc}") if seq is not None else None
        shown = self.shown.get(label)
        if shown is not None and shown[0] == frame.seq:
            return self._ack(label, frame.seq, "image")  # re-delivery: already on the label
        if shown is not None and shown[0] > frame.seq:
            return self._ack(label, frame.seq, "image", f"stale: label shows seq {shown[0]}")
        if not self._on_air(transfer, frame.seq, self.sim.airtime_s):
            return None
        if self.rng.random() < self.sim.nack_rate:
            return self._ack(label, frame.seq, "image", "label did not answer (simulated)")
        self.shown[label] = (frame.seq, frame.content_hash)
        self.sim.write_image(self.id, label, frame)
        return self._ack(label, frame.seq, "image")

    def _run_command(self, transfer: _Transfer) -> protocol.Ack | None:
        parse = protocol.parse_led if transfer.kind == "led" else protocol.parse_page
        try:
            command = parse(transfer.payload)
        except protocol.ProtocolError as exc:
            self.sim.crc_errors[self.id] += 1
            log.warning("station %s: %s", self.id, exc)
            return None  # no seq to echo; the controller times out and records it
        done = self.done_seqs.setdefault(transfer.label_id, set())
        if command.seq in done:
            return self._ack(transfer.label_id, command.seq, transfer.kind)
        self.sim.commands[(self.id, transfer.label_id, transfer.kind)] += 1
        airtime = self.sim.airtime_s * COMMAND_AIRTIME_SHARE
        if not self._on_air(transfer, command.seq, airtime):
            return None
        if self.rng.random() < self.sim.nack_rate:
            return self._ack(
                transfer.label_id, command.seq, transfer.kind, "label did not answer (simulated)"
            )
        done.add(command.seq)
        return self._ack(transfer.label_id, command.seq, transfer.kind)

    def _on_air(self, transfer: _Transfer, seq: int, airtime_s: float) -> bool:
        """Spend the airtime; False when the transfer was lost on the radio (drop_rate)."""
        started = time.monotonic()
        if airtime_s > 0:
            self._stop.wait(airtime_s)
        self.sim.busy_seconds[self.id] += airtime_s
        self.sim.transfers.append(
            RadioTransfer(self.id, transfer.label_id, transfer.kind, seq, started, time.monotonic())
        )
        if self.rng.random() < self.sim.drop_rate:
            self.sim.dropped[self.id] += 1
            return False
        return True

    def _ack(self, label: str, seq: int, kind: str, nack_reason: str | None = None) -> protocol.Ack:
        return protocol.Ack(
            label=label,
            seq=seq,
            status="nack" if nack_reason else "ok",
            kind=kind,
            reason=nack_reason[:500] if nack_reason else None,
            battery=self.sim.battery,
            signal=-55 - self.rng.randrange(30),
            temperature=round(21.0 + self.rng.random() * 2, 1),
        )


def _seq_from_header(payload: bytes) -> int | None:
    """A broken frame's seq, if its header is readable, so the nack can name it."""
    if len(payload) < protocol.HEADER_SIZE or payload[:4] != protocol.MAGIC:
        return None
    return protocol.HEADER.unpack_from(payload)[7]


class BaseStationSim:
    """One or more simulated base stations of a store, each a real MQTT client."""

    def __init__(
        self,
        mqtt_url: str,
        prefix: str,
        store: str,
        stations: list[str],
        image_dir: Path | None = None,
        airtime_s: float = 0.0,
        drop_rate: float = 0.0,
        nack_rate: float = 0.0,
        delay_s: float = 0.0,
        seed: int = 0,
        battery: int = 90,
        batch_acks: bool = True,
    ) -> None:
        for name, rate in (("drop_rate", drop_rate), ("nack_rate", nack_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        if airtime_s < 0 or delay_s < 0:
            raise ValueError("airtime_s and delay_s cannot be negative")
        if not stations:
            raise ValueError("simulate at least one base station")
        self.target = parse_mqtt_url(mqtt_url)
        self.prefix = prefix
        self.store = protocol.validate_id("store", store)
        self.image_dir = image_dir
        self.airtime_s = airtime_s
        self.drop_rate = drop_rate
        self.nack_rate = nack_rate
        self.delay_s = delay_s
        self.battery = battery
        self.batch_acks = batch_acks
        self.received: Counter[str] = Counter()
        self.acked: Counter[str] = Counter()
        self.nacked: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        # (station, label, kind) -> LED/page commands that reached the radio
        self.commands: Counter[tuple[str, str, str]] = Counter()
        self.ignored: Counter[str] = Counter()  # commands heard while offline
        self.crc_errors: Counter[str] = Counter()  # frames or commands that failed to decode
        self.busy_seconds: Counter[str] = Counter()  # simulated airtime spent, for utilisation
        # The most recent radio transfers, oldest first, for utilisation and ordering checks.
        self.transfers: deque[RadioTransfer] = deque(maxlen=TRANSFER_HISTORY)
        self._stations = {
            station: _Station(self, protocol.validate_id("base station", station), rng)
            for station, rng in (
                (station, random.Random(f"{seed}:{station}")) for station in stations
            )
        }

    @property
    def stations(self) -> list[str]:
        return list(self._stations)

    def start(self, timeout: float = CONNECT_TIMEOUT_S) -> BaseStationSim:
        for station in self._stations.values():
            station.online.set()
            station.start_radio()
            station.connect()
        deadline = time.monotonic() + timeout
        for station in self._stations.values():
            if not station.connected.wait(max(0.0, deadline - time.monotonic())):
                self.stop()
                raise ConnectionError(
                    f"station {station.id}: no MQTT connection to "
                    f"{self.target.host}:{self.target.port} after {timeout:.0f} s"
                )
        return self

    def stop(self) -> None:
        """Clean shutdown: stations say goodbye with a retained offline status."""
        for station in self._stations.values():
            station.stop_radio()
            if station.client is not None:
                station.online.clear()
                goodbye = station.publish_status()
                if goodbye is not None and station.connected.is_set():
                    goodbye.wait_for_publish(2.0)
            station.disconnect()

    def go_offline(self, station: str) -> None:
        """Stop acking and announce offline (retained); the MQTT session stays up."""
        sim_station = self._station(station)
        sim_station.online.clear()
        sim_station.forget_queue()
        sim_station.publish_status()

    def go_online(self, station: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
        """Back in service; reconnects first if the connection was killed."""
        sim_station = self._station(station)
        sim_station.online.set()
        if sim_station.client is None:
            sim_station.connect()
            if not sim_station.connected.wait(timeout):
                raise ConnectionError(f"station {station}: no MQTT connection after {timeout} s")
        else:
            sim_station.publish_status()

    def disconnect_abruptly(self, station: str) -> None:
        """Kill the socket without DISCONNECT, so the broker publishes the last will."""
        sim_station = self._station(station)
        sim_station.online.clear()
        sim_station.forget_queue()
        sim_station.kill_socket()

    def shown(self, station: str, label_id: str) -> tuple[int, str] | None:
        """(seq, content hash) of the image the label shows, or None if it shows none yet."""
        return self._station(station).shown.get(label_id)

    def commands_seen(self, station: str, label_id: str, kind: str) -> int:
        return self.commands[(station, label_id, kind)]

    def ack_unknown(self, station: str, label_id: str, seq: int = 1) -> None:
        """Confirm an image for a label the controller never sent to: a stray tag heard."""
        st = self._station(station)
        st._send_acks([st._ack(label_id, seq, "image")])

    def totals(self) -> dict[str, float]:
        counters = (
            "received",
            "acked",
            "nacked",
            "dropped",
            "ignored",
            "crc_errors",
            "busy_seconds",
        )
        return {name: sum(getattr(self, name).values()) for name in counters}

    def write_image(self, station: str, label_id: str, frame: protocol.DecodedFrame) -> None:
        """What the label shows as `{image_dir}/{station}/{label}.png`, replaced atomically."""
        if self.image_dir is None:
            return
        folder = self.image_dir / station
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{label_id}.png.part"
        frame.to_image().convert("RGB").save(partial, format="PNG")
        partial.replace(folder / f"{label_id}.png")

    def _station(self, station: str) -> _Station:
        try:
            return self._stations[station]
        except KeyError:
            raise KeyError(f"this simulator does not run base station {station!r}") from None


# --- command line -------------------------------------------------------------------------------


def station_names(stations: str | None, count: int | None) -> list[str]:
    """`bs-01,bs-02` as given, or `--count 3` as bs-01..bs-03."""
    if stations and count:
        raise ValueError("give --stations or --count, not both")
    if count:
        width = max(2, len(str(count)))
        return [f"bs-{n:0{width}d}" for n in range(1, count + 1)]
    names = [name.strip() for name in (stations or "bs-01").split(",") if name.strip()]
    if not names:
        raise ValueError("--stations lists no base station")
    return names


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esl-controller sim base-station",
        description="Simulated ESL base stations speaking docs/protocol.md over MQTT.",
    )
    parser.add_argument(
        "--mqtt-url", default=os.environ.get("ESL_MQTT_URL") or "mqtt://127.0.0.1:1883"
    )
    parser.add_argument("--prefix", default=os.environ.get("ESL_TOPIC_PREFIX", "esl"))
    parser.add_argument("--store", default=os.environ.get("ESL_STORE_ID", "store-1"))
    parser.add_argument("--stations", help="comma-separated ids, e.g. bs-01,bs-02")
    parser.add_argument("--count", type=int, help="simulate bs-01..bs-N")
    parser.add_argument("--airtime", type=float, default=0.0, help="seconds of radio per image")
    parser.add_argument("--drop", type=float, default=0.0, help="share of transfers lost")
    parser.add_argument("--nack", type=float, default=0.0, help="share of transfers nacked")
    parser.add_argument("--delay", type=float, default=0.0, help="extra seconds before an ack")
    parser.add_argument("--image-dir", type=Path, help="write each label's image as PNG here")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def run_base_station_sim(argv: list[str] | None = None) -> int:
    """Run simulated base stations until Ctrl-C; the exit code for the shell."""
    parser = _argument_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        sim = BaseStationSim(
            args.mqtt_url,
            args.prefix,
            args.store,
            station_names(args.stations, args.count),
            image_dir=args.image_dir,
            airtime_s=args.airtime,
            drop_rate=args.drop,
            nack_rate=args.nack,
            delay_s=args.delay,
            seed=args.seed,
        ).start()
    except (ValueError, protocol.ProtocolError, ConnectionError) as exc:
        parser.error(str(exc))
    log.info(
        "simulating %d base station(s) of %s under %s/ on %s:%s; Ctrl-C stops",
        len(sim.stations),
        args.store,
        args.prefix,
        sim.target.host,
        sim.target.port,
    )
    return report_until_interrupted(sim, log)
