"""Full-store re-price through a real broker, and radio utilisation with realistic airtime.

Part 1 (throughput of the controller itself): N labels on S base stations, simulated with
zero airtime in a separate process. The store is pushed once, then every price changes and
we time "all prices changed" -> "every label acknowledged", sampling the worker's peak
memory (its process plus the render pool).

Part 2 (the radio is the limit): a few stations with non-zero airtime; we report how busy
each station's radio was during a re-price, and how many routine images a manager's
re-push had to wait behind.

    python bench/bench_reprice.py                       # 50,000 labels, 25 stations
    python bench/bench_reprice.py --labels 5000 --stations 5
Uses Mosquitto on 127.0.0.1:1883 when it answers, else the embedded broker.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil
from sqlalchemy import func, insert, select, update
from sqlmodel import Session

from esl_controller import db
from esl_controller.catalogue.gtin import gtin_check_digit
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.esl.commands import repush_label
from esl_controller.models import BaseStation, Label, OutboxMessage, Product, Store
from esl_controller.sims.base_station import BaseStationSim
from esl_controller.worker import Worker


def broker_url() -> tuple[str, object | None]:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=0.5).close()
        return "mqtt://127.0.0.1:1883", None
    except OSError:
        # imported here so the script also runs against an older checkout, side by side
        from esl_controller.broker import start_local_broker

        broker = start_local_broker(Path(tempfile.mkdtemp(prefix="bench-broker-")))
        return broker.url, broker


def seed(engine, store: str, labels: int, stations: int) -> list[str]:
    station_ids = [f"bs-{n:02d}" for n in range(1, stations + 1)]
    now = utcnow()
    with db.session_scope(engine) as s:
        s.add(Store(id=store, name="Bench store", locale="ro_RO", currency="RON"))
        s.flush()
        s.execute(insert(BaseStation), [{"id": b, "store_id": store} for b in station_ids])
        products = []
        for n in range(labels):
            body = f"594{n:09d}"
            products.append(
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
        s.execute(insert(Product), products)
        ids = list(s.scalars(select(Product.id).order_by(Product.id)))
        s.execute(
            insert(Label),
            [
                {
                    "id": f"L{n:07d}",
                    "store_id": store,
                    "model": "2.9-bwr",
                    "base_station_id": station_ids[n % stations],
                    "product_id": pid,
                    "template": "price",
                    "state": "pending",
                    "seq": 0,
                    "shown_seq": 0,
                    "updated_at": now,
                }
                for n, pid in enumerate(ids)
            ],
        )
    return station_ids


def count_acked(engine, since_outbox_id: int | None = None) -> int:
    """Labels acked; with `since_outbox_id`, images queued after that row and acked."""
    with Session(engine) as s:
        if since_outbox_id is None:
            query = select(func.count()).select_from(Label).where(Label.state == "acked")
        else:
            query = (
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.id > since_outbox_id,
                    OutboxMessage.kind == "image",
                    OutboxMessage.state == "acked",
                )
            )
        return s.scalar(query)


def newest_outbox_id(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.max(OutboxMessage.id))) or 0


def controller_cpu_seconds(exclude: set[int]) -> tuple[float, float]:
    """CPU time (user + system) of this process and its live children (the render pool),
    leaving out the simulator processes: less at the mercy of a loaded machine than wall
    time, so two checkouts compare fairly."""
    me = psutil.Process()
    times = me.cpu_times()
    children = 0.0
    for child in me.children(recursive=True):
        if child.pid in exclude:
            continue
        with contextlib.suppress(psutil.NoSuchProcess):
            child_times = child.cpu_times()
            children += child_times.user + child_times.system
    return times.user + times.system, children


class PeakMemory:
    """Peak resident memory of this process and its children (the render pool), leaving
    out the simulator processes (`exclude`): they are not the controller."""

    def __init__(self, exclude: set[int] | None = None) -> None:
        self.exclude = exclude or set()
        self.peak = 0
        self.peak_worker = 0  # this process alone: the worker, without its render pool
        self.peak_children: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.1):
            rss = me.memory_info().rss
            self.peak_worker = max(self.peak_worker, rss)
            for child in me.children(recursive=True):
                if child.pid in self.exclude:
                    continue
                with contextlib.suppress(psutil.NoSuchProcess):  # a pool worker just exited
                    child_rss = child.memory_info().rss
                    rss += child_rss
                    self.peak_children[child.pid] = max(
                        self.peak_children.get(child.pid, 0), child_rss
                    )
            self.peak = max(self.peak, rss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def wait_for(
    engine, target: int, label: str, timeout: float, since_outbox_id: int | None = None
) -> float:
    start = time.perf_counter()
    last = -1
    while time.perf_counter() - start < timeout:
        done = count_acked(engine, since_outbox_id)
        if done != last:
            print(f"\r  {label}: {done:>6}/{target} acked", end="", flush=True)
            last = done
        if done >= target:
            break
        time.sleep(0.1)
    print()
    return time.perf_counter() - start


def part1(args: argparse.Namespace, url: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="esl-bench-"))
    settings = Settings(
        data_dir=tmp,
        mqtt_url=url,
        topic_prefix=f"bench{uuid.uuid4().hex[:6]}",
        station_window=args.window,
        ack_timeout_s=120.0,
        render_workers=args.render_workers,
    )
    engine = db.make_engine(settings.resolved_database_url)
    db.init_db(engine)
    print(f"seeding {args.labels} labels on {args.stations} stations ...", flush=True)
    seed(engine, settings.store_id, args.labels, args.stations)
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "esl_controller.cli",
            "sim",
            "base-station",
            "--mqtt-url",
            url,
            "--prefix",
            settings.topic_prefix,
            "--store",
            settings.store_id,
            "--count",
            str(args.stations),
            "--airtime",
            "0",
        ],
        env={**os.environ},
    )
    worker = Worker(settings, engine)
    try:
        time.sleep(2.0)  # let the simulated stations connect and announce themselves
        with PeakMemory(exclude={sim.pid}) as memory:
            worker.start()
            start = time.perf_counter()
            worker.refresh_all()
            wait_for(engine, args.labels, "initial push", 900)
            initial = time.perf_counter() - start
            mark = newest_outbox_id(engine)
            with db.session_scope(engine) as s:
                s.execute(
                    update(Product).values(
                        price_minor=Product.price_minor + 10, updated_at=utcnow()
                    )
                )
            print("all prices changed; the worker's scheduled refresh picks them up", flush=True)
            start = time.perf_counter()
            worker_before, pool_before = controller_cpu_seconds({sim.pid})
            reprice = wait_for(engine, args.labels, "re-price", 900, since_outbox_id=mark)
            worker_after, pool_after = controller_cpu_seconds({sim.pid})
            worker_cpu, pool_cpu = worker_after - worker_before, pool_after - pool_before
            reprice_cpu = worker_cpu + pool_cpu
        with Session(engine) as s:
            states = dict(
                s.execute(
                    select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
                ).all()
            )
        print(
            f"\nPart 1: {args.labels} labels, {args.stations} stations, airtime 0, "
            f"window {args.window}, render workers {worker.pool.workers}"
        )
        print(f"  initial push (render + deliver + ack): {initial:7.1f} s")
        print(f"  re-price, all prices changed -> all acked: {reprice:7.1f} s")
        print(f"  throughput: {args.labels / reprice:,.0f} labels/s end to end")
        print(
            f"  controller CPU during the re-price: {reprice_cpu:7.1f} s "
            f"({reprice_cpu / args.labels * 1000:.2f} ms per label: worker process "
            f"{worker_cpu:.1f} s, render pool {pool_cpu:.1f} s)"
        )
        print(
            f"  peak memory, worker + render pool: {memory.peak / 2**20:,.0f} MiB "
            f"(worker process alone {memory.peak_worker / 2**20:,.0f} MiB; children "
            + ", ".join(f"{v / 2**20:,.0f}" for v in sorted(memory.peak_children.values()))
            + " MiB)"
        )
        print(f"  outbox states: {states}")
    finally:
        worker.stop()
        sim.terminate()
        sim.wait(10)


def part2(args: argparse.Namespace, url: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="esl-bench-air-"))
    settings = Settings(
        data_dir=tmp,
        mqtt_url=url,
        topic_prefix=f"air{uuid.uuid4().hex[:6]}",
        station_window=2,
        ack_timeout_s=120.0,
        render_workers=1,
    )
    engine = db.make_engine(settings.resolved_database_url)
    db.init_db(engine)
    stations = seed(engine, settings.store_id, args.air_labels, args.air_stations)
    sim = BaseStationSim(
        url,
        settings.topic_prefix,
        settings.store_id,
        stations,
        image_dir=None,
        airtime_s=args.airtime,
    )
    sim.start()
    worker = Worker(settings, engine)
    try:
        time.sleep(1.0)
        worker.start()
        worker.refresh_all()
        # Halfway through, a manager re-pushes one label that is still at the back of the queue.
        while count_acked(engine) < args.air_labels // 2:
            time.sleep(0.05)
        with Session(engine) as s:
            last = s.scalars(
                select(Label.id).where(Label.state == "pending").order_by(Label.id.desc())
            ).first()
            station = s.get(Label, last).base_station_id
            acked_on_station_before = s.scalar(
                select(func.count())
                .select_from(Label)
                .where(Label.base_station_id == station, Label.state == "acked")
            )
            repush_label(s, last, settings)
        while True:
            with Session(engine) as s:
                row = s.get(Label, last)
                if row.state == "acked" and row.shown_seq == row.seq:
                    overtaken = (
                        s.scalar(
                            select(func.count())
                            .select_from(Label)
                            .where(Label.base_station_id == station, Label.state == "acked")
                        )
                        - acked_on_station_before
                    )
                    break
            time.sleep(0.02)
        wait_for(engine, args.air_labels, "airtime run", 3600)
        print(
            f"\nPart 2: {args.air_labels} labels on {args.air_stations} stations, "
            f"airtime {args.airtime} s per image, window 2"
        )
        for b in stations:
            # Utilisation over the station's own span: first transfer start to last end.
            spans = [(t.started, t.finished) for t in sim.transfers if t.station == b]
            span = max(end for _, end in spans) - min(start for start, _ in spans)
            busy = sum(end - start for start, end in spans)
            print(
                f"  {b}: {len(spans)} transfers, radio busy {busy:6.1f} s of {span:6.1f} s "
                f"= {busy / span:6.1%}"
            )
        print(
            f"  manager re-push of the last queued label was on the shelf after "
            f"{overtaken} images on its station (window 2: at most 3 incl. itself)"
        )
    finally:
        worker.stop()
        sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=50_000)
    parser.add_argument("--stations", type=int, default=25)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--render-workers", type=int, default=0)
    parser.add_argument("--airtime", type=float, default=1.0)
    parser.add_argument("--air-labels", type=int, default=60)
    parser.add_argument("--air-stations", type=int, default=3)
    parser.add_argument("--skip-part1", action="store_true")
    parser.add_argument("--skip-part2", action="store_true")
    args = parser.parse_args()
    url, broker = broker_url()
    print(f"broker: {url}{' (embedded)' if broker else ''}; {psutil.cpu_count()} cores")
    try:
        if not args.skip_part1:
            part1(args, url)
        if not args.skip_part2:
            part2(args, url)
    finally:
        if broker:
            broker.stop()


if __name__ == "__main__":
    main()
