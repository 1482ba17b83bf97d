"""Importing a large store's SQLite database into a chain database: rows per second.

Seeds a single-store SQLite file (N products with 20 price changes each, a label per
product on 20 base stations, and N x 5 impressions, raw rows only), then times
`store import` into the target after a store is already there.

    python bench/bench_store_import.py                                 # 10,000 products
    python bench/bench_store_import.py --url postgresql://postgres@127.0.0.1:5432/esl_bench

The target's tables are dropped first: point --url at a database kept for benchmarks.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlmodel import SQLModel

from esl_controller import db
from esl_controller.catalogue.gtin import gtin_check_digit
from esl_controller.clock import utcnow
from esl_controller.models import (
    Advertiser,
    BaseStation,
    Campaign,
    Impression,
    Label,
    PriceHistory,
    Product,
    Store,
)
from esl_controller.store_import.importer import import_store

STORE = "store-bench"
STATIONS = 20
HISTORY_PER_PRODUCT = 20
IMPRESSIONS_PER_PRODUCT = 5
CHUNK = 5_000


def gtin(n: int) -> str:
    body = f"594{n:09d}"
    return body + str(gtin_check_digit(body))


def _insert(conn, model, rows) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(insert(model), rows[start : start + CHUNK])


def seed(path: Path, products: int) -> int:
    engine = db.make_engine(f"sqlite:///{path}")
    db.init_db(engine)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(Store), [{"id": STORE, "name": "Bench", "currency": "RON"}])
        stations = [{"id": f"bench-bs-{n:02d}", "store_id": STORE} for n in range(STATIONS)]
        _insert(conn, BaseStation, stations)
        _insert(
            conn,
            Product,
            [
                {
                    "id": n + 1,
                    "store_id": STORE,
                    "gtin": gtin(n),
                    "name": f"Produs {n:05d}",
                    "price_minor": 1000 + n % 500,
                    "currency": "RON",
                }
                for n in range(products)
            ],
        )
        history = [
            {
                "product_id": n + 1,
                "price_minor": 900 + step,
                "effective_at": now - timedelta(days=step),
                "source": "erp",
            }
            for n in range(products)
            for step in range(HISTORY_PER_PRODUCT)
        ]
        _insert(conn, PriceHistory, history)
        labels = [
            {
                "id": f"BENCH{n:08d}",
                "store_id": STORE,
                "model": "2.9-bwr",
                "base_station_id": f"bench-bs-{n % STATIONS:02d}",
                "product_id": n + 1,
            }
            for n in range(products)
        ]
        _insert(conn, Label, labels)
        conn.execute(insert(Advertiser), [{"id": 1, "name": "Bench advertiser"}])
        conn.execute(
            insert(Campaign),
            [{"id": 1, "advertiser_id": 1, "name": "Bench", "starts_at": now, "ends_at": now}],
        )
        impressions = [
            {
                "play_id": f"00000000-0000-4000-8000-{n:012d}",
                "campaign_id": 1,
                "campaign_name": "Bench",
                "advertiser_id": 1,
                "player_id": "bench-screen",
                "started_at": now - timedelta(seconds=n),
                "play_ms": 10_000,
                "multiplier_milli": 2_000,
                "multiplier_source": "declared",
                "impressions_milli": 2_000,
                "cpm_minor": 850,
                "prev_hash": "0" * 64,
                "hash": "0" * 64,
            }
            for n in range(products * IMPRESSIONS_PER_PRODUCT)
        ]
        _insert(conn, Impression, impressions)
    engine.dispose()
    return 1 + STATIONS + 2 * products + len(history) + 2 + len(impressions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--url", default=None, help="target URL (default: a temp SQLite)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    source = work / "store.db"
    started = time.perf_counter()
    rows = seed(source, args.products)
    print(f"seeded {rows:,} rows into {source.stat().st_size / 1e6:.1f} MB "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    url = args.url or f"sqlite:///{work / 'chain.db'}"
    target = db.make_engine(url)
    with target.begin() as conn:
        SQLModel.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS schema_meta"))
    db.init_db(target)
    with target.begin() as conn:
        conn.execute(insert(Store), [{"id": "store-other", "name": "Other"}])
    started = time.perf_counter()
    summary = import_store(source, target)
    elapsed = time.perf_counter() - started
    print(f"imported {summary.total:,} rows into {target.dialect.name} in {elapsed:.1f} s: "
          f"{summary.total / elapsed:,.0f} rows/s")  # fmt: skip
    target.dispose()


if __name__ == "__main__":
    main()
