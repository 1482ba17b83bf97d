"""A chain on one PostgreSQL: a chain-wide price change of every product, through one
`esl-controller worker` process per store, each with its own Mosquitto and a simulated
base station (zero airtime, so the controller is what is measured).

Every store is seeded with its labels and pushed once; then every product of every store
changes price in one transaction (what a head-office ERP feed does) and we time that
commit -> each store's last label acknowledged with its new image. Sampled meanwhile: the
database's open connections (pg_stat_activity), its server processes' CPU time, and the
workers' CPU time and peak memory.
Then the same for one store of the same size on a SQLite file, in the same run, so the
per-label controller cost of a chain is a ratio against the single-store figure.

    python bench/bench_chain.py                                 # 10 stores x 5,000 labels
    python bench/bench_chain.py --stores 3 --labels 500
    ESL_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/esl_bench  (the default)

The database named there is emptied first. Needs Mosquitto (`/usr/sbin/mosquitto`).
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil
from sqlalchemy import insert, select, text, update
from sqlmodel import Session, SQLModel

from esl_controller import db
from esl_controller.broker import start_local_broker
from esl_controller.catalogue.gtin import gtin_check_digit
from esl_controller.clock import utcnow
from esl_controller.models import BaseStation, Label, Product
from esl_controller.sims.base_station import BaseStationSim
from esl_controller.stores import StoreChange, add_store

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/esl_bench"
ESL_CONTROLLER = Path(sys.executable).with_name("esl-controller")


def seed(engine, store: str, labels: int, offset: int) -> None:
    now = utcnow()
    with db.session_scope(engine) as s:
        change = StoreChange(
            name=f"Store {store}", timezone="Europe/Bucharest", locale="ro_RO", currency="RON"
        )
        add_store(s, store, change, actor="bench")
        s.add(BaseStation(id=f"bs-{store}", store_id=store))
        s.flush()
        rows = []
        for n in range(labels):
            body = f"594{offset + n:09d}"
            rows.append(
                {
                    "store_id": store,
                    "gtin": body + str(gtin_check_digit(body)),
                    "name": f"Cașcaval Dalia maturat {n % 997} felii",
                    "brand": "Bench",
                    "net_quantity": 400.0,
                    "unit": "g",
                    "price_minor": 1000 + n % 5000,
                    "currency": "RON",
                    "stock": 50,
                    "low_stock_threshold": 5,
                    "status": "active",
                    "updated_at": now,
                }
            )
        s.execute(insert(Product), rows)
        ids = s.scalars(select(Product.id).where(Product.store_id == store).order_by(Product.id))
        s.execute(
            insert(Label),
            [
                {
                    "id": f"{store}-L{n:05d}",
                    "store_id": store,
                    "model": "2.9-bwr",
                    "base_station_id": f"bs-{store}",
                    "product_id": product_id,
                    "template": "price",
                    "state": "pending",
                    "seq": 0,
                    "shown_seq": 0,
                    "updated_at": now,
                }
                for n, product_id in enumerate(ids)
            ],
        )


def start_worker(url: str, store: str, mqtt_url: str, prefix: str, data: Path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("ESL_")}
    env.update(
        ESL_DATABASE_URL=url,
        ESL_STORE_ID=store,
        ESL_MQTT_URL=mqtt_url,
        ESL_TOPIC_PREFIX=prefix,
        ESL_DATA_DIR=str(data),
        ESL_SECRET_KEY=secrets.token_hex(32),
        ESL_RENDER_WORKERS="1",
        ESL_OUTBOX_POLL="0.2",
    )
    data.mkdir(parents=True, exist_ok=True)
    log = (data / "worker.log").open("w")
    return subprocess.Popen(
        [str(ESL_CONTROLLER), "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
    )


def acked_per_store(engine, newer: bool) -> dict[str, int]:
    """Labels acked per store; `newer`: acked with an image newer than before the change."""
    query = (
        "SELECT l.store_id, count(*) FROM label l JOIN bench_before b ON b.label_id = l.id "
        "WHERE l.state = 'acked' AND l.shown_seq > b.seq_before GROUP BY l.store_id"
        if newer
        else "SELECT store_id, count(*) FROM label WHERE state = 'acked' GROUP BY store_id"
    )
    with engine.connect() as conn:
        return dict(conn.execute(text(query)).all())


class Sampler(threading.Thread):
    """Peak connections to the database and peak worker memory, every half second."""

    def __init__(
        self, engine, database: str, workers: list[psutil.Process], count_connections: bool
    ) -> None:
        super().__init__(daemon=True)
        self.engine, self.database, self.workers = engine, database, workers
        self.count_connections = count_connections
        self.peak_connections = 0
        self.peak_rss_mb = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            if self.count_connections:
                with self.engine.connect() as conn:
                    count = conn.execute(
                        text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"),
                        {"d": self.database},
                    ).scalar()
                self.peak_connections = max(self.peak_connections, int(count or 0))
            rss = 0
            for worker in self.workers:
                for process in (worker, *worker.children(recursive=True)):
                    try:
                        rss += process.memory_info().rss
                    except psutil.NoSuchProcess:
                        continue
            self.peak_rss_mb = max(self.peak_rss_mb, rss / 2**20)


def cpu_seconds(workers: list[psutil.Process]) -> float:
    total = 0.0
    for worker in workers:
        for process in (worker, *worker.children(recursive=True)):
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
    return total


def database_cpu_seconds() -> float:
    """CPU time of every PostgreSQL server process on this machine (the bench's database is
    the only busy one); 0 for SQLite, which runs inside the workers and is counted there."""
    total = 0.0
    for process in psutil.process_iter(["name"]):
        if process.info["name"] != "postgres":
            continue
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += times.user + times.system
    return total


def wait_all(engine, stores: list[str], labels: int, newer: bool, started: float) -> dict:
    """Seconds from `started` until each store has every label acked; a progress line every
    ten seconds, since a chain's push takes minutes."""
    done_at: dict[str, float] = {}
    next_report = started + 10
    while len(done_at) < len(stores):
        counts = acked_per_store(engine, newer)
        for store in stores:
            if store not in done_at and counts.get(store, 0) >= labels:
                done_at[store] = time.monotonic() - started
        if time.monotonic() >= next_report:
            acked = sum(min(counts.get(store, 0), labels) for store in stores)
            print(
                f"  {time.monotonic() - started:6.0f} s: {acked:,} of {labels * len(stores):,} "
                f"acked, {len(done_at)} of {len(stores)} stores done",
                flush=True,
            )
            next_report += 10
        time.sleep(0.5)
    return done_at


def reset(engine) -> None:
    with engine.begin() as conn:
        SQLModel.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS schema_meta"))
        conn.execute(text("DROP TABLE IF EXISTS bench_before"))
    db.init_db(engine)


def run(url: str, stores: list[str], labels: int, work: Path) -> dict[str, float]:
    """Seed, push once, change every price at once; what the price change cost."""
    engine = db.make_engine(url)
    reset(engine)
    for n, store in enumerate(stores):
        seed(engine, store, labels, offset=n * labels)
    print(f"{len(stores)} stores x {labels:,} labels seeded on {engine.url}", flush=True)
    prefix = f"b{uuid.uuid4().hex[:8]}"
    brokers = [start_local_broker(work / f"broker-{s}", "mosquitto") for s in stores]
    sims = [
        BaseStationSim(broker.url, prefix, store, [f"bs-{store}"]).start()
        for broker, store in zip(brokers, stores, strict=True)
    ]
    processes = [
        start_worker(url, store, broker.url, prefix, work / store)
        for broker, store in zip(brokers, stores, strict=True)
    ]
    workers = [psutil.Process(p.pid) for p in processes]
    try:
        started = time.monotonic()
        first = wait_all(engine, stores, labels, newer=False, started=started)
        print(f"first push of every store: {max(first.values()):.1f} s", flush=True)

        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE bench_before AS SELECT id AS label_id, shown_seq AS seq_before "
                    "FROM label"
                )
            )
        on_postgres = engine.dialect.name == "postgresql"
        sampler = Sampler(engine, engine.url.database or "", workers, on_postgres)
        sampler.start()
        cpu_before = cpu_seconds(workers)
        database_before = database_cpu_seconds() if on_postgres else 0.0
        with Session(engine) as s:  # head office changes every price of the chain at once
            s.execute(
                update(Product).values(price_minor=Product.price_minor + 10, updated_at=utcnow())
            )
            s.commit()
        changed = time.monotonic()
        done = wait_all(engine, stores, labels, newer=True, started=changed)
        sampler.stop.set()
        sampler.join()
        cpu = cpu_seconds(workers) - cpu_before
        database_cpu = database_cpu_seconds() - database_before if on_postgres else 0.0
        return {
            "first_push_s": max(first.values()),
            "slowest_s": max(done.values()),
            "fastest_s": min(done.values()),
            "median_s": sorted(done.values())[len(done) // 2],
            "cpu_s": cpu,
            "database_cpu_s": database_cpu,
            "labels": len(stores) * labels,
            "peak_connections": sampler.peak_connections,
            "peak_rss_mb": sampler.peak_rss_mb,
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for sim in sims:
            sim.stop()
        for broker in brokers:
            broker.stop()
        engine.dispose()


def report(title: str, figures: dict[str, float]) -> None:
    total, slowest = figures["labels"], figures["slowest_s"]
    print(f"{title}: price change of {total:,.0f} labels, last store done after {slowest:.1f} s")
    print(f"  (first store {figures['fastest_s']:.1f} s, median {figures['median_s']:.1f} s)")
    print(f"  {total / slowest:,.0f} labels/s acked")
    print(
        f"  workers' CPU: {figures['cpu_s']:.1f} s ({figures['cpu_s'] / total * 1000:.2f} ms/label)"
    )
    if figures["database_cpu_s"]:
        database = figures["database_cpu_s"]
        print(f"  PostgreSQL's CPU: {database:.1f} s ({database / total * 1000:.2f} ms/label)")
    if figures["peak_connections"]:
        print(f"  peak database connections: {figures['peak_connections']:.0f}")
    print(f"  peak memory of the workers and their render pools: {figures['peak_rss_mb']:,.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument("--labels", type=int, default=5000, help="labels per store")
    args = parser.parse_args()
    url = os.environ.get("ESL_BENCH_POSTGRES_URL", DEFAULT_URL)
    work = Path(tempfile.mkdtemp(prefix="bench-chain-"))
    stores = [f"s{n:02d}" for n in range(args.stores)]
    chain = run(url, stores, args.labels, work / "chain")
    report(f"chain on PostgreSQL, {args.stores} stores", chain)
    single = run(f"sqlite:///{work / 'single.db'}", ["s00"], args.labels, work / "single")
    report("one store on SQLite", single)
    chain_ms = chain["cpu_s"] / chain["labels"]
    single_ms = single["cpu_s"] / single["labels"]
    print(f"controller CPU per label, chain / single store: {chain_ms / single_ms:.2f}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
