"""Importing a large store's SQLite database into a chain database: rows per second.

Seeds two single-store SQLite files, both numbering their rows from 1 as every store does
(each N products with 20 price changes each, a label per product on 20 base stations, an
advertiser and a campaign; the first also N x 5 impressions, raw rows only), then times
`store import` of the first into an empty chain database (ids kept: it brings the
impression log) and of the second next to it, whose numbered rows all take new ids.

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


def seed(path: Path, products: int, store: str, billed: bool) -> int:
    """A store whose device ids carry its name; `billed`: with an impression log."""
    engine = db.make_engine(f"sqlite:///{path}")
    db.init_db(engine)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(Store), [{"id": store, "name": store, "currency": "RON"}])
        stations = [{"id": f"{store}-bs-{n:02d}", "store_id": store} for n in range(STATIONS)]
        _insert(conn, BaseStation, stations)
        _insert(
            conn,
            Product,
            [
                {
                    "id": n + 1,
                    "store_id": store,
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
                "id": n * HISTORY_PER_PRODUCT + step + 1,
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
                "id": f"{store}-L{n:08d}",
                "store_id": store,
                "model": "2.9-bwr",
                "base_station_id": f"{store}-bs-{n % STATIONS:02d}",
                "product_id": n + 1,
            }
            for n in range(products)
        ]
        _insert(conn, Label, labels)
        conn.execute(insert(Advertiser), [{"id": 1, "name": f"Advertiser {store}"}])
        campaign = {"id": 1, "advertiser_id": 1, "name": store}
        conn.execute(insert(Campaign), [{**campaign, "starts_at": now, "ends_at": now}])
        impressions = _impressions(store, products * IMPRESSIONS_PER_PRODUCT) if billed else []
        if impressions:
            _insert(conn, Impression, impressions)
    engine.dispose()
    return 1 + STATIONS + 2 * products + len(history) + 2 + len(impressions)


def _impressions(store: str, count: int) -> list[dict]:
    now = utcnow()
    return [
        {
            "seq": seq,
            "play_id": f"00000000-0000-4000-8000-{seq:012d}",
            "campaign_id": 1,
            "campaign_name": store,
            "advertiser_id": 1,
            "player_id": "bench-screen",
            "started_at": now - timedelta(seconds=seq),
            "play_ms": 10_000,
            "multiplier_milli": 2_000,
            "multiplier_source": "declared",
            "impressions_milli": 2_000,
            "cpm_minor": 850,
            "prev_hash": "0" * 64,
            "hash": "0" * 64,
        }
        for seq in range(1, count + 1)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--url", default=None, help="target URL (default: a temp SQLite)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    sources = []
    for number, store in enumerate(("store-a", "store-b")):
        source = work / f"{store}.db"
        started = time.perf_counter()
        rows = seed(source, args.products, store, billed=number == 0)
        print(f"seeded {store}: {rows:,} rows, {source.stat().st_size / 1e6:.1f} MB, "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        sources.append(source)
    url = args.url or f"sqlite:///{work / 'chain.db'}"
    target = db.make_engine(url)
    with target.begin() as conn:
        SQLModel.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS schema_meta"))
    db.init_db(target)
    for source, into in zip(sources, ("an empty chain database", "next to store-a"), strict=True):
        started = time.perf_counter()
        summary = import_store(source, target)
        elapsed = time.perf_counter() - started
        print(f"imported {summary.store_id} into {target.dialect.name}, {into}: "
              f"{summary.total:,} rows in {elapsed:.1f} s, "
              f"{summary.total / elapsed:,.0f} rows/s")  # fmt: skip
    target.dispose()


if __name__ == "__main__":
    main()
