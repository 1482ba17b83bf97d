"""ERP sync throughput: a 100,000-product feed into a fresh SQLite store.

An in-memory feed (pages of 1,000, the generic record shape) so the figures are the
controller's own cost: validation, comparison with the catalogue, bulk writes, one
transaction per page. Prints:
  1. the first full sync (every product new);
  2. a full sync with 1 % of prices changed (`changed` must be exactly 1 %);
  3. an incremental sync with nothing changed (`changed` must be 0).

    python bench/bench_sync.py                     # 100,000 products
    python bench/bench_sync.py --products 20000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlmodel import Session

from esl_controller import db
from esl_controller.catalogue.gtin import gtin_check_digit
from esl_controller.config import Settings
from esl_controller.erp.feeds.base import FeedPage
from esl_controller.erp.runner import SyncRunner
from esl_controller.erp.sync import SyncOutcome, run_sync
from esl_controller.esl.refresh import refresh_labels
from esl_controller.labels.render_pool import RenderPool
from esl_controller.models import BaseStation, Label, PriceHistory, Product, Store, SyncRun

PAGE_SIZE = 1000


class MemoryFeed:
    """Pages over a list of raw records; incremental = records modified since `since`."""

    name = "bench"
    supports_incremental = True

    def __init__(self, products: list[dict[str, Any]], server_time: datetime) -> None:
        self.products = products
        self.server_time = server_time

    def pages(
        self,
        stream: str,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        etag: str | None = None,
    ) -> Iterator[FeedPage]:
        records = self.products if stream == "products" else []
        if since is not None:
            stamp = since.isoformat().replace("+00:00", "Z")
            records = [r for r in records if r["modified_at"] >= stamp]
        start = int(cursor or 0)
        while True:
            end = start + PAGE_SIZE
            next_cursor = str(end) if end < len(records) else None
            yield FeedPage(
                stream,
                records[start:end],
                str(start) if start else None,
                next_cursor,
                server_time=self.server_time,
            )
            if next_cursor is None:
                return
            start = end


def gtin(n: int) -> str:
    body = f"594{n:09d}"
    return body + str(gtin_check_digit(body))


def product(n: int, price_minor: int, modified_at: datetime) -> dict[str, Any]:
    return {
        "gtin": gtin(n),
        "name": f"Produs de test {n}",
        "brand": "Bench",
        "price": f"{price_minor // 100}.{price_minor % 100:02d}",
        "currency": "RON",
        "net_quantity": "500",
        "unit": "g",
        "stock": n % 40,
        "restock_date": None,
        "status": "active",
        "modified_at": modified_at.isoformat().replace("+00:00", "Z"),
    }


def timed(label: str, sync: Any, runs: list[SyncRun] | None = None) -> SyncOutcome:
    start = time.perf_counter()
    outcome = sync()
    elapsed = time.perf_counter() - start
    labels = ""
    if runs is not None:
        with Session(runs[0]) as session:
            run = session.get(SyncRun, outcome.run_id)
            labels = f"  labels rendered {run.labels_rendered:>6,}"
    print(
        f"{label:<38} {elapsed:7.2f} s  fetched {outcome.fetched:>7,}  changed "
        f"{outcome.changed:>7,}{labels}  status {outcome.status}"
    )
    return outcome


def add_labels(engine, store_id: str, stations: int = 25) -> None:
    """One 2.9" price label per product, as a store would have."""
    with db.session_scope(engine) as session:
        station_ids = [f"bs-{n:02d}" for n in range(1, stations + 1)]
        session.execute(insert(BaseStation), [{"id": b, "store_id": store_id} for b in station_ids])
        ids = list(session.scalars(select(Product.id).order_by(Product.id)))
        session.execute(
            insert(Label),
            [
                {
                    "id": f"L{n:07d}",
                    "store_id": store_id,
                    "model": "2.9-bwr",
                    "base_station_id": station_ids[n % stations],
                    "product_id": pid,
                    "template": "price",
                    "state": "pending",
                    "seq": 0,
                    "shown_seq": 0,
                }
                for n, pid in enumerate(ids)
            ],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    args = parser.parse_args()
    count = args.products
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        engine = db.make_engine(settings.resolved_database_url)
        db.init_db(engine)
        with db.session_scope(engine) as session:
            session.add(Store(id=settings.store_id, name="Bench", currency="RON"))

        t0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
        prices = [1000 + n % 5000 for n in range(count)]
        records = [product(n, prices[n], t0) for n in range(count)]
        print(f"{count:,} products, pages of {PAGE_SIZE:,}, SQLite file, fresh store")
        timed("1. first full sync", lambda: run_sync(engine, MemoryFeed(records, t0), settings))

        add_labels(engine, settings.store_id)
        with RenderPool(0) as pool:
            start = time.perf_counter()
            initial = refresh_labels(engine, pool)
            print(
                f"{'   render every label once':<38} {time.perf_counter() - start:7.2f} s  "
                f"rendered {initial.rendered:,} labels on {pool.workers} processes"
            )
            feed_time = [t0]

            def runner() -> SyncRunner:
                return SyncRunner(
                    engine,
                    settings,
                    lambda ids: refresh_labels(engine, pool, label_ids=ids),
                    feed_factory=lambda _settings: MemoryFeed(records, feed_time[0]),
                )

            t1 = t0 + timedelta(hours=1)
            for n in range(0, count, 100):  # 1 %
                records[n] = product(n, prices[n] + 10, t1)
            feed_time[0] = t1
            second = timed(
                "2. full sync + labels, 1 % changed",
                lambda: runner().run("bench", full=True),
                [engine],
            )
            assert second.changed == count // 100, second

            feed_time[0] = t1 + timedelta(hours=1)
            third = timed(
                "3. incremental + labels, no change", lambda: runner().run("bench"), [engine]
            )
            assert third.changed == 0, third
        with Session(engine) as session:
            history = session.execute(select(func.count()).select_from(PriceHistory)).scalar()
        print(f"price history rows: {history:,} (expected {count + count // 100:,})")
        engine.dispose()


if __name__ == "__main__":
    main()
