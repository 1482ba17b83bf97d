"""Trigger latency: a sensor's trigger published -> the override received by every player.

The worker's signage service (its own thread, a real SQLite file) and N players (plain paho
clients recording when each override arrives) through the real Mosquitto. Sensors publish
audience triggers at a steady rate, spread over 20 sensors so the per-sensor rate limit
(20/s) lets them all through; every trigger matches the one campaign, so the k-th override
a player receives answers the k-th trigger sent. Prints p50/p95/p99/max of
  - per player: trigger sent -> that player received the override;
  - per trigger: sent -> the LAST player of the zone received it (the user-visible figure).

    python bench/bench_triggers.py                         # 200 triggers/s for 20 s, 4 players
    python bench/bench_triggers.py --rate 100 --seconds 5 --players 8
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as paho

from esl_controller import db
from esl_controller.ads.ingest import PlayIngestor
from esl_controller.broker import free_port
from esl_controller.config import Settings
from esl_controller.models import Advertiser, Campaign, Creative, Player, Store, Zone
from esl_controller.mqtt import MqttClient, parse_mqtt_url
from esl_controller.signage import protocol
from esl_controller.signage.drivers.mqtt import MqttPlayerChannel, topics
from esl_controller.signage.service import SignageService

SENSORS = 20


def no_delay(client: paho.Client) -> None:
    """Send small packets at once (TCP_NODELAY): Nagle + delayed ACK add ~40 ms otherwise."""

    def on_socket_open(_client, _userdata, sock) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    client.on_socket_open = on_socket_open


def seed(engine, settings: Settings, players: int) -> list[str]:
    now = datetime.now(UTC)
    ids = [f"scr-{n:03d}" for n in range(players)]
    with db.session_scope(engine) as s:
        s.add(Store(id=settings.store_id, name="Bench", timezone="Europe/Bucharest"))
        s.flush()
        s.add(Zone(id="dairy", store_id=settings.store_id))
        s.flush()
        s.add_all(Player(id=p, store_id=settings.store_id, zone_id="dairy") for p in ids)
        advertiser = Advertiser(name="Bench advertiser")
        s.add(advertiser)
        s.flush()
        campaign = Campaign(
            advertiser_id=advertiser.id,
            name="Bench",
            priority=60,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=1),
            targeting=json.dumps({"triggers": ["audience"]}),
        )
        s.add(campaign)
        s.flush()
        s.add(
            Creative(
                campaign_id=campaign.id,
                name="ad",
                kind="image",
                media_sha256="ab" * 32,
                duration_s=8,
            )
        )
    return ids


class BenchPlayer:
    """Subscribes to its override topic and stamps each arrival (monotonic clock)."""

    def __init__(self, url: str, settings: Settings, player: str) -> None:
        target = parse_mqtt_url(url)
        self.received: list[float] = []
        self._ready = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-{player}")
        no_delay(self.client)
        self.client.on_message = lambda *_a: self.received.append(time.monotonic())
        self.client.on_subscribe = lambda *_a: self._ready.set()
        self.client.will_set(
            topics.player_status_topic(settings.topic_prefix, settings.store_id, player),
            protocol.player_status_payload(protocol.OFFLINE_STATUS),
            qos=1,
            retain=True,
        )
        self.client.connect(target.host, target.port)
        self.client.loop_start()
        self.client.subscribe(
            topics.override_topic(settings.topic_prefix, settings.store_id, player), qos=1
        )
        self._ready.wait(10)
        status = protocol.player_status_payload(protocol.PlayerStatus("online"))
        self.client.publish(
            topics.player_status_topic(settings.topic_prefix, settings.store_id, player),
            status,
            qos=1,
            retain=True,
        ).wait_for_publish(10)

    def close(self, settings: Settings, player: str) -> None:
        topic = topics.player_status_topic(settings.topic_prefix, settings.store_id, player)
        self.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(10)
        self.client.loop_stop()
        self.client.disconnect()


def percentiles(values_ms: list[float]) -> str:
    ordered = sorted(values_ms)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    return (
        f"p50 {statistics.median(ordered):6.2f} ms  p95 {at(0.95):6.2f} ms  "
        f"p99 {at(0.99):6.2f} ms  max {ordered[-1]:6.2f} ms  (n={len(ordered)})"
    )


def drive(
    url: str,
    settings: Settings,
    player_ids: list[str],
    rate: float,
    seconds: float,
    results: multiprocessing.Queue,
) -> None:
    """The store's devices, in their own process: players listening, sensors publishing."""
    bench_players = [BenchPlayer(url, settings, p) for p in player_ids]
    results.put("ready")
    results.get()  # the controller saw every player online
    target = parse_mqtt_url(url)
    sensor_id = f"bench-sensors-{uuid.uuid4().hex[:8]}"
    sensor = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=sensor_id)
    sensor.max_inflight_messages_set(1000)
    no_delay(sensor)
    sensor.connect(target.host, target.port)
    sensor.loop_start()
    total = int(rate * seconds)
    sent: list[float] = []
    trigger_topics = [
        topics.trigger_topic(settings.topic_prefix, settings.store_id, f"cam-{n:02d}")
        for n in range(SENSORS)
    ]
    start = time.monotonic()
    for index in range(total):
        pause = start + index / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        document = {
            "type": "audience",
            "sensor": f"cam-{index % SENSORS:02d}",
            "zone": "dairy",
            "at": datetime.now(UTC).isoformat(),
            "count": 3,
        }
        payload = json.dumps(document).encode()
        sent.append(time.monotonic())
        sensor.publish(trigger_topics[index % SENSORS], payload, qos=1)
    deadline = time.monotonic() + 15
    while min(len(p.received) for p in bench_players) < total and time.monotonic() < deadline:
        time.sleep(0.05)
    sensor.loop_stop()
    sensor.disconnect()
    for player, client in zip(player_ids, bench_players, strict=True):
        client.close(settings, player)
    results.put((sent, [p.received for p in bench_players], time.monotonic() - start))


def run(url: str, rate: float, seconds: float, players: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-triggers-"))
    settings = Settings(
        data_dir=data_dir,
        mqtt_url=url,
        topic_prefix=f"b{uuid.uuid4().hex[:8]}",
        playlists_dir=data_dir / "no_playlists",
        override_ttl_s=30.0,
    )
    engine = db.make_engine(settings.resolved_database_url)
    db.init_db(engine)
    player_ids = seed(engine, settings, players)

    mqtt = MqttClient(url, client_id=f"bench-controller-{uuid.uuid4().hex[:6]}")
    channel = MqttPlayerChannel(mqtt, settings.topic_prefix, settings.store_id)
    service = SignageService(
        engine, settings, [channel], ingestor=PlayIngestor(engine, settings)
    ).open_channels()
    mqtt.start(wait=10)
    service.start()

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    devices = context.Process(
        target=drive, args=(url, settings, player_ids, rate, seconds, results)
    )
    devices.start()
    assert results.get(timeout=30) == "ready"
    deadline = time.monotonic() + 10
    while len(service.online_players()) < players and time.monotonic() < deadline:
        time.sleep(0.05)
    print(
        f"{int(rate * seconds)} audience triggers at {rate:g}/s from {SENSORS} sensors, "
        f"{players} players in the zone (devices in a separate process), broker {url}"
    )
    results.put("go")
    sent, received, elapsed = results.get(timeout=seconds + 60)
    devices.join(timeout=10)
    total = len(sent)

    per_player = [(r - sent[k]) * 1000 for rec in received for k, r in enumerate(rec[:total])]
    complete = min(len(rec) for rec in received)
    per_trigger = [(max(rec[k] for rec in received) - sent[k]) * 1000 for k in range(complete)]
    print(
        f"delivered to every player: {complete}/{total} in {elapsed:.1f} s; "
        f"service stats: {dict(service.stats)}"
    )
    print(f"per player  : {percentiles(per_player)}")
    print(f"last player : {percentiles(per_trigger)}")
    service.stop()
    mqtt.stop()
    engine.dispose()


@contextlib.contextmanager
def deploy_config_broker() -> Iterator[str]:
    """A throwaway Mosquitto with the TCP setting of deploy/mosquitto.conf.

    A stock Mosquitto leaves Nagle's algorithm on for its sockets, so each small trigger
    can wait ~40 ms inside the broker; deploy/mosquitto.conf sets `set_tcp_nodelay true`.
    """
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        raise SystemExit("--deploy-broker needs mosquitto (apt-get install mosquitto)")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"
            "max_queued_messages 5000\n"
        )
        broker = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                    break
                time.sleep(0.05)
            yield f"mqtt://127.0.0.1:{port}"
        finally:
            broker.terminate()
            broker.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    parser.add_argument(
        "--deploy-broker",
        action="store_true",
        help="start a Mosquitto configured like deploy/mosquitto.conf (TCP_NODELAY)",
    )
    parser.add_argument("--rate", type=float, default=200.0, help="triggers per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--players", type=int, default=4)
    args = parser.parse_args()
    if args.deploy_broker:
        with deploy_config_broker() as url:
            run(url, args.rate, args.seconds, args.players)
    else:
        run(args.mqtt_url, args.rate, args.seconds, args.players)


if __name__ == "__main__":
    main()
