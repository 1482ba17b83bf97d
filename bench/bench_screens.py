"""Browser screens: a sensor's trigger published -> the override's first painted frame on N
headless chromium pages in one zone, and a page's memory while it loops a 10-item playlist.

The real web (waitress), a real Mosquitto, the worker's signage service with its MQTT
channel (the trigger intake) and the browser channel over a real SQLite file, one campaign
that answers audience triggers in the zone, and N pages of Debian's chromium paired through
one-time links. Each round a sensor (a plain paho client) publishes one audience trigger;
the worker's trigger pipeline decides the override and hands it to the browser channel; every
page stamps the first frame that shows it (`requestAnimationFrame`, on the epoch clock
shared with this process). Prints p50/p99/max of three legs, per page and per trigger (the
last page of the zone):
  - publish -> painted     the whole path a shopper waits for;
  - publish -> channel     broker, intake, pipeline, until the channel is handed the override;
  - channel -> painted     mailbox row, the page's event stream, loading, first frame;
then the JS heap of one page after garbage collection, before and after looping.

    python bench/bench_screens.py                          # 20 pages, 10 triggers, 2 min loop
    python bench/bench_screens.py --pages 10 --overrides 20 --loop-minutes 0
    python bench/bench_screens.py --mqtt-url mqtt://127.0.0.1:1883 --loop-minutes 60
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as paho
from PIL import Image
from waitress import create_server

from esl_controller import db
from esl_controller.ads.ingest import PlayIngestor
from esl_controller.broker import free_port, start_local_broker
from esl_controller.config import Settings
from esl_controller.models import Advertiser, Campaign, Creative, Store, Zone
from esl_controller.mqtt import MqttClient, parse_mqtt_url
from esl_controller.signage import protocol
from esl_controller.signage.drivers.browser import BrowserPlayerChannel
from esl_controller.signage.drivers.mqtt import MqttPlayerChannel, topics
from esl_controller.signage.media import store_media
from esl_controller.signage.service import SignageService
from esl_controller.web import create_app, screen_pairing

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
COLOURS = ["red", "green", "blue", "yellow", "cyan", "magenta", "orange", "purple", "teal", "navy"]
OVERRIDE_TTL_S = 2.0
SENSOR = "cam-01"


def png(colour: str, size: tuple[int, int] = (1920, 1080)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def prepare(folder: Path, item_s: float, mqtt_url: str) -> Settings:
    playlists = folder / "signage_playlists"
    (playlists / "media").mkdir(parents=True)
    lines = ["title: Bench loop", "priority: 0", "targets: {zones: [dairy]}", "items:"]
    for colour in COLOURS:
        (playlists / "media" / f"{colour}.png").write_bytes(png(colour))
        lines.append(f"  - {{id: {colour}, type: image, file: {colour}.png, duration: {item_s}}}")
    (playlists / "loop.yaml").write_text("\n".join(lines) + "\n")
    port = free_port("127.0.0.1")
    return Settings(
        data_dir=folder / "data",
        playlists_dir=playlists,
        secret_key="bench-secret",
        web_host="127.0.0.1",
        web_port=port,
        mqtt_url=mqtt_url,
        topic_prefix=f"b{uuid.uuid4().hex[:8]}",
        override_ttl_s=OVERRIDE_TTL_S,
    )


def seed(engine, settings: Settings, players: Sequence[str]) -> dict[str, str]:
    """The zone, one campaign answering audience triggers with a white slide, and a one-time
    pairing link per page; returns player -> link secret."""
    now = datetime.now(UTC)
    with db.session_scope(engine) as session:
        session.add(Store(id=settings.store_id, name="Bench"))
        session.flush()
        session.add(Zone(id="dairy", store_id=settings.store_id))
        sha = store_media(settings, png("white"), "override.png", "image/png", session).sha256
        advertiser = Advertiser(name="Bench advertiser")
        session.add(advertiser)
        session.flush()
        campaign = Campaign(
            advertiser_id=advertiser.id, name="Bench", priority=60,
            starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1),
            targeting=json.dumps({"triggers": ["audience"]}),
        )  # fmt: skip
        session.add(campaign)
        session.flush()
        session.add(Creative(campaign_id=campaign.id, name="white", media_sha256=sha))
    links = {}
    for player in players:
        with db.session_scope(engine) as session:
            links[player] = screen_pairing.add_with_link(
                session, settings, player_id=player, zone="dairy", name=player,
                actor="bench", now=now,
            )  # fmt: skip
    return links


class TimedBrowserChannel(BrowserPlayerChannel):
    """The browser channel, stamping (epoch ms) when the core hands it each override."""

    def __init__(self, engine, store: str) -> None:
        super().__init__(engine, store)
        self.handed_ms: list[float] = []

    def send_override(self, players: Sequence[str], command: protocol.OverrideCommand) -> None:
        self.handed_ms.append(time.time() * 1000)
        super().send_override(players, command)


class Sensor:
    """A sensor's own MQTT client, publishing audience triggers as a camera would."""

    def __init__(self, settings: Settings) -> None:
        target = parse_mqtt_url(settings.mqtt_url)
        self.topic = topics.trigger_topic(settings.topic_prefix, settings.store_id, SENSOR)
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-{SENSOR}")
        # Small packets at once (TCP_NODELAY): Nagle + delayed ACK add ~40 ms otherwise.
        self.client.on_socket_open = lambda _c, _u, sock: sock.setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
        )
        self.client.connect(target.host, target.port)
        self.client.loop_start()

    def publish(self) -> float:
        """One trigger; returns when it was published (epoch ms)."""
        document = {
            "type": "audience", "sensor": SENSOR, "zone": "dairy",
            "at": datetime.now(UTC).isoformat(), "count": 3,
        }  # fmt: skip
        payload = json.dumps(document).encode()
        published_ms = time.time() * 1000
        self.client.publish(self.topic, payload, qos=1)
        return published_ms

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@contextlib.contextmanager
def broker(mqtt_url: str | None, folder: Path) -> Iterator[str]:
    """The broker to use: the one named, or a throwaway Mosquitto on free ports."""
    if mqtt_url:
        yield mqtt_url
        return
    local = start_local_broker(folder / "broker", "mosquitto")
    try:
        yield local.url
    finally:
        local.stop()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(name: str, values: list[float]) -> str:
    return (
        f"{name:<34} n={len(values):<4} p50={statistics.median(values):6.0f} ms  "
        f"p99={percentile(values, 0.99):6.0f} ms  max={max(values):6.0f} ms"
    )


def heap_mb(cdp) -> float:
    cdp.send("HeapProfiler.collectGarbage")
    return cdp.send("Runtime.getHeapUsage")["usedSize"] / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--overrides", type=int, default=10, help="triggers, one per round")
    parser.add_argument("--loop-minutes", type=float, default=2.0)
    parser.add_argument("--item-seconds", type=float, default=2.0)
    parser.add_argument("--mqtt-url", default=None, help="default: a throwaway Mosquitto")
    args = parser.parse_args()
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # bursts of media at pairing
    folder = Path(tempfile.mkdtemp(prefix="bench-screens-"))
    with broker(args.mqtt_url, folder) as url:
        run(args, prepare(folder, args.item_seconds, url))


def run(args: argparse.Namespace, settings: Settings) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    engine = db.make_engine(settings.resolved_database_url)
    db.init_db(engine)
    players = [f"screen-{n:02d}" for n in range(args.pages)]
    links = seed(engine, settings, players)
    server = create_server(
        create_app(settings, engine), host="127.0.0.1", port=settings.web_port,
        threads=args.pages + 4, connection_limit=10 * (args.pages + 4),
    )  # fmt: skip
    threading.Thread(target=server.run, daemon=True).start()
    mqtt = MqttClient(settings.mqtt_url, client_id=f"bench-worker-{uuid.uuid4().hex[:6]}")
    channel = TimedBrowserChannel(engine, settings.store_id)
    intake = MqttPlayerChannel(mqtt, settings.topic_prefix, settings.store_id)
    service = SignageService(
        engine, settings, [intake, channel], ingestor=PlayIngestor(engine, settings)
    ).open_channels()
    mqtt.start(wait=10)
    service.start()
    sensor = Sensor(settings)
    base = f"http://127.0.0.1:{settings.web_port}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        pages = []
        for player in players:
            page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
            # Only the navigation: on a loaded machine the full load of twenty pages while
            # the first already play can take longer than Playwright's 30 s default.
            page.goto(f"{base}/screen#pair={links[player]}", wait_until="commit", timeout=120_000)
            pages.append(page)
        deadline = time.monotonic() + max(120, 15 * args.pages)  # slow on a loaded machine
        while missing := sorted(set(players) - service.online_players()):
            assert time.monotonic() < deadline, f"pages not online: {', '.join(missing)}"
            time.sleep(0.2)
        print(
            f"{args.pages} pages online, waitress threads {args.pages + 4}, broker "
            f"{settings.mqtt_url}, load average {load_average()}"
        )

        legs: dict[str, list[float]] = {"total": [], "controller": [], "page": []}
        last_page: dict[str, list[float]] = {"total": [], "page": []}
        missed = unanswered = 0
        for _ in range(args.overrides):
            handed_before = len(channel.handed_ms)
            published_ms = sensor.publish()
            painted = f"() => Number(document.body.dataset.overrideShownAt || 0) > {published_ms}"
            shown = []
            round_ends = time.monotonic() + 15.0  # for all pages together, not each
            for page in pages:
                try:
                    left_ms = max(1.0, (round_ends - time.monotonic()) * 1000)
                    page.wait_for_function(painted, timeout=left_ms)
                except PlaywrightTimeout:  # it could not load the override in time: reported
                    missed += 1
                    continue
                shown.append(float(page.evaluate("document.body.dataset.overrideShownAt")))
            if len(channel.handed_ms) == handed_before:
                unanswered += 1  # the pipeline refused it (its reason is in trigger_event)
                continue
            handed_ms = channel.handed_ms[handed_before]
            legs["controller"].append(handed_ms - published_ms)
            legs["total"] += [at - published_ms for at in shown]
            legs["page"] += [at - handed_ms for at in shown]
            if shown and len(shown) == len(pages):
                last_page["total"].append(max(shown) - published_ms)
                last_page["page"].append(max(shown) - handed_ms)
            time.sleep(OVERRIDE_TTL_S + 1.0)  # past the TTL, back on the schedule
        print(f"load average after the rounds {load_average()}")
        if legs["total"]:
            print(summary("publish -> painted, per page", legs["total"]))
            print(summary("publish -> painted, last page", last_page["total"]))
            print(summary("publish -> channel (controller)", legs["controller"]))
            print(summary("channel -> painted, per page", legs["page"]))
            print(summary("channel -> painted, last page", last_page["page"]))
        print(f"overrides a page missed (not painted within 15 s): {missed}")
        print(f"triggers that made no override: {unanswered}")

        cdp = pages[0].context.new_cdp_session(pages[0])
        before = heap_mb(cdp)
        loops = args.loop_minutes * 60 / (args.item_seconds * len(COLOURS))
        time.sleep(args.loop_minutes * 60)
        after = heap_mb(cdp)
        print(
            f"JS heap of one page after GC: {before:.1f} MB, then {after:.1f} MB after "
            f"{args.loop_minutes:g} min ({loops:.0f} loops of the 10-item playlist)"
        )
        browser.close()
    sensor.close()
    service.stop()
    mqtt.stop()
    server.close()
    engine.dispose()


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min, {os.cpu_count()} cores)"


if __name__ == "__main__":
    main()
