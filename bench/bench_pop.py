"""Proof-of-play ingest throughput through a real broker into SQLite, across a worker restart.

Three processes, as in a store: a publisher (the players: batches of plays on their pop
topics, QoS 1, paced at --rate), the broker (Mosquitto on 127.0.0.1:1883, or --mqtt-url),
and an ingest worker (a persistent MQTT session, `signage.protocol.parse_pops` then
`ads.ingest.PlayIngestor`; a message is acknowledged only after its transaction commits).
Halfway through, the worker is killed with SIGKILL and started again: the broker keeps its
session's messages, redelivers the unacknowledged one, and idempotency by play id makes the
redelivery count once. At the end the plays in the database must equal the plays sent.

    python bench/bench_pop.py                         # 100,000 plays at 6,000 plays/s
    python bench/bench_pop.py --plays 20000 --rate 5000 --batch 50
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as paho
from sqlalchemy import func, select
from sqlmodel import Session

from esl_controller import db
from esl_controller.ads.ingest import PlayIngestor
from esl_controller.config import Settings
from esl_controller.models import (
    Advertiser,
    Campaign,
    Creative,
    Impression,
    Play,
    Player,
    Store,
    Zone,
)
from esl_controller.mqtt import MqttClient, parse_mqtt_url
from esl_controller.signage import protocol
from esl_controller.signage.drivers.mqtt import topics

STORE = "store-1"
PLAY_SECONDS = 10


def seed(engine, players: int) -> tuple[int, int]:
    with Session(engine) as session:
        session.add(Store(id=STORE, name="Bench store", timezone="Europe/Bucharest"))
        session.flush()
        session.add(Zone(id="entrance", store_id=STORE))
        session.flush()
        for n in range(players):
            session.add(
                Player(
                    id=f"screen-{n:03d}",
                    store_id=STORE,
                    zone_id="entrance",
                    name=f"Screen {n}",
                    declared_audience='{"07:00-10:00": 3.5, "*": 2.0}',
                )
            )
        advertiser = Advertiser(name="Bench advertiser")
        session.add(advertiser)
        session.flush()
        now = datetime.now(UTC)
        campaign = Campaign(
            advertiser_id=advertiser.id,
            name="Bench campaign",
            starts_at=now - timedelta(days=30),
            ends_at=now + timedelta(days=30),
            cpm_minor=1250,
        )
        session.add(campaign)
        session.flush()
        creative = Creative(campaign_id=campaign.id, name="Bench creative")
        session.add(creative)
        session.commit()
        return campaign.id, creative.id


# --- the ingest worker (a child process) -------------------------------------------------------


def run_worker(database_url: str, mqtt_url: str, prefix: str) -> None:
    engine = db.make_engine(database_url)
    ingestor = PlayIngestor(engine, Settings(database_url=database_url))

    busy = {"s": 0.0, "plays": 0}

    def on_pop(topic: str, payload: bytes) -> None:
        t0 = time.perf_counter()
        try:
            plays = protocol.parse_pops(payload)
        except protocol.BatchError as exc:
            plays = exc.valid
        player = topic.rsplit("/", 2)[-2]  # .../player/<id>/pop: the only player it may name
        ingestor.on_plays(plays, player)  # returns after commit; paho acknowledges after that
        busy["s"] += time.perf_counter() - t0
        busy["plays"] += len(plays)

    def report_and_exit(_signum, _frame) -> None:
        print(json.dumps(busy), flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, report_and_exit)

    client = MqttClient(mqtt_url, client_id=f"{prefix}-ingest")
    client.subscribe(f"{prefix}/{STORE}/signage/player/+/pop", on_pop, qos=1)
    client.start()
    print("ready", flush=True)
    threading.Event().wait()


def start_worker(database_url: str, mqtt_url: str, prefix: str) -> subprocess.Popen:
    worker = subprocess.Popen(
        [sys.executable, __file__, "--worker", database_url, mqtt_url, prefix],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    line = worker.stdout.readline() if worker.stdout else ""
    if line.strip() != "ready":
        raise RuntimeError(f"ingest worker did not start (said {line!r})")
    return worker


# --- the players (a child process) -------------------------------------------------------------


def run_publisher(
    mqtt_url: str, prefix: str, plays: int, players: int, batch: int, rate: float, ids: str
) -> None:
    campaign_id, creative_id = (int(part) for part in ids.split(","))
    target = parse_mqtt_url(mqtt_url)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"{prefix}-players")
    client.max_inflight_messages_set(1000)
    client.connect(target.host, target.port)
    client.loop_start()
    local = datetime.now(UTC).astimezone() - timedelta(seconds=plays // players * PLAY_SECONDS)
    local -= timedelta(hours=1)
    per_player = [0] * players
    infos = []
    started = time.monotonic()
    sent = 0
    while sent < plays:
        player = (sent // batch) % players
        documents = []
        for _ in range(min(batch, plays - sent)):
            begin = local + timedelta(seconds=per_player[player] * PLAY_SECONDS)
            per_player[player] += 1
            documents.append(
                {
                    "play_id": str(uuid.uuid4()),
                    "player": f"screen-{player:03d}",
                    "item": "bench",
                    "campaign_id": campaign_id,
                    "creative_id": creative_id,
                    "override_id": None,
                    "trigger_id": None,
                    "started_at": begin.isoformat(),
                    "ended_at": (begin + timedelta(seconds=PLAY_SECONDS)).isoformat(),
                }
            )
        sent += len(documents)
        topic = topics.pop_topic(prefix, STORE, f"screen-{player:03d}")
        infos.append(client.publish(topic, json.dumps(documents), qos=1))
        ahead = sent / rate - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)
    for info in infos:
        info.wait_for_publish(timeout=120)
    elapsed = time.monotonic() - started
    client.disconnect()
    client.loop_stop()
    print(json.dumps({"sent": sent, "seconds": elapsed}), flush=True)


# --- the run -----------------------------------------------------------------------------------


def count_plays(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Play))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plays", type=int, default=100_000)
    parser.add_argument("--players", type=int, default=50)
    parser.add_argument("--batch", type=int, default=100, help="plays per MQTT message")
    parser.add_argument("--rate", type=float, default=6000.0, help="plays/s the players send")
    parser.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--no-restart", action="store_true")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="bench-pop-"))
    database_url = f"sqlite:///{data_dir / 'esl.db'}"
    engine = db.make_engine(database_url)
    db.init_db(engine)
    campaign_id, creative_id = seed(engine, args.players)
    prefix = f"bench{uuid.uuid4().hex[:8]}"

    worker = start_worker(database_url, args.mqtt_url, prefix)
    publisher = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--publisher",
            args.mqtt_url,
            prefix,
            str(args.plays),
            str(args.players),
            str(args.batch),
            str(args.rate),
            f"{campaign_id},{creative_id}",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    started = time.monotonic()
    restarted_at, restart_s, first_seen = None, 0.0, None
    samples: list[tuple[float, int]] = []
    try:
        while True:
            stored = count_plays(engine)
            now = time.monotonic() - started
            samples.append((now, stored))
            if first_seen is None and stored:
                first_seen = now
            if not args.no_restart and restarted_at is None and stored >= args.plays // 2:
                worker.send_signal(signal.SIGKILL)  # a crash, not a polite stop
                worker.wait()
                t0 = time.monotonic()
                worker = start_worker(database_url, args.mqtt_url, prefix)
                restart_s = time.monotonic() - t0
                restarted_at = stored
            if stored >= args.plays or now > 60 + 3 * args.plays / args.rate:
                break
            time.sleep(0.25)
        finished = time.monotonic() - started
        out, _ = publisher.communicate(timeout=120)
        report = json.loads(out.strip().splitlines()[-1])
    finally:
        worker.send_signal(signal.SIGTERM)
        tail, _ = worker.communicate(timeout=10)
        if publisher.poll() is None:
            publisher.kill()
    busy = json.loads(tail.strip().splitlines()[-1]) if tail.strip() else {"s": 0, "plays": 0}

    stored = count_plays(engine)
    with Session(engine) as session:
        impressions = session.scalar(select(func.count()).select_from(Impression))
    from esl_controller.ads.verify_cli import describe, verify_impressions

    verified = verify_impressions(engine)
    ingest_s = finished - (first_seen or 0.0)
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"SQLite {_sqlite_version()}"
    )
    print(
        f"sent {report['sent']:,} plays in {report['seconds']:.1f} s "
        f"({report['sent'] / report['seconds']:,.0f} plays/s offered), "
        f"{args.batch} plays per message, {args.players} players"
    )
    print(
        f"stored {stored:,} plays ({impressions:,} impressions) in {ingest_s:.1f} s: "
        f"{stored / ingest_s:,.0f} plays/s sustained end to end"
    )
    print(f"peak 5 s window: {_best_window(samples, 5.0):,.0f} plays/s")
    if busy["s"]:
        print(
            f"restarted worker: {busy['plays']:,} plays in {busy['s']:.1f} s inside the handler "
            f"(parse + ingest + commit): {busy['plays'] / busy['s']:,.0f} plays/s of worker time"
        )
    if restarted_at is not None:
        print(
            f"worker SIGKILLed at {restarted_at:,} stored plays, back in {restart_s:.2f} s; "
            f"lost: {report['sent'] - stored}"
        )
    print(describe(verified))
    if stored != report["sent"]:
        raise SystemExit(f"LOST {report['sent'] - stored} plays")


def _best_window(samples: list[tuple[float, int]], width: float) -> float:
    best = 0.0
    for i, (t0, n0) in enumerate(samples):
        for t1, n1 in samples[i + 1 :]:
            if t1 - t0 >= width:
                best = max(best, (n1 - n0) / (t1 - t0))
                break
    return best


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        run_worker(*sys.argv[2:5])
    elif len(sys.argv) > 1 and sys.argv[1] == "--publisher":
        mqtt_url, prefix, plays, players, batch, rate, ids = sys.argv[2:9]
        run_publisher(mqtt_url, prefix, int(plays), int(players), int(batch), float(rate), ids)
    else:
        main()
