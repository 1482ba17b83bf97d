"""What an idle store costs the chain's database: the transactions per second that
`esl-controller worker` processes make on PostgreSQL while nothing happens in their stores
(no price change, no play, no trigger), from pg_stat_database's commit counter.

This is the floor a chain pays per store whatever it does: the outbox poll, the web's
hand-overs (stations, syncs, overrides, triggers, players), the catalogue scan and the
lease. docs/operations.md ("A thousand stores") multiplies it out.

    python bench/bench_idle_worker.py                  # 3 workers, 60 s
    python bench/bench_idle_worker.py --workers 5 --seconds 120

The database named by ESL_BENCH_POSTGRES_URL (default the chain bench's) is emptied first.
Needs Mosquitto (`/usr/sbin/mosquitto`).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import psutil
from bench_chain import DEFAULT_URL, cpu_seconds, reset, seed, start_worker
from sqlalchemy import text

from esl_controller import db
from esl_controller.broker import start_local_broker

WARM_UP_S = 20.0  # the worker's start: schema check, first scan, station links


def commits(engine, database: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = :d"),
                {"d": database},
            ).scalar()
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    url = os.environ.get("ESL_BENCH_POSTGRES_URL", DEFAULT_URL)
    engine = db.make_engine(url)
    database = engine.url.database
    reset(engine)
    stores = [f"idle-{n:02d}" for n in range(args.workers)]
    for n, store in enumerate(stores):
        seed(engine, store, labels=10, offset=n * 10)
    with tempfile.TemporaryDirectory() as tmp, start_local_broker(Path(tmp) / "broker") as broker:
        workers = [
            start_worker(url, store, broker.url, "esl", Path(tmp) / store) for store in stores
        ]
        processes = [psutil.Process(worker.pid) for worker in workers]
        try:
            time.sleep(WARM_UP_S)
            before, cpu_before, started = (
                commits(engine, database),
                cpu_seconds(processes),
                time.monotonic(),
            )
            time.sleep(args.seconds)
            # our own two reads are in the count too; at this scale they do not matter
            after, cpu_after = commits(engine, database), cpu_seconds(processes)
            elapsed = time.monotonic() - started
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
    per_worker = (after - before) / elapsed / args.workers
    print(f"{args.workers} idle workers for {elapsed:.0f} s on {database}")
    print(f"  database transactions per idle worker: {per_worker:.1f}/s")
    core_share = (cpu_after - cpu_before) / elapsed / args.workers
    print(f"  worker CPU per idle worker: {core_share:.1%} of a core")
    print(f"  at 1,000 stores: {per_worker * 1000:,.0f} transactions/s")


if __name__ == "__main__":
    main()
