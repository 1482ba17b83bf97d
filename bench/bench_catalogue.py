"""The catalogue pages' queries on a large store: a page of products (unfiltered, by name,
by GTIN digits), one product's page, and a month of promotions, with the query plans.

Seeds N products (each with 40 price changes, a label, and every tenth with a promotion)
into a fresh schema, then times each query (median of several runs) and prints the plan
PostgreSQL picks for the product list.

    python bench/bench_catalogue.py                                  # 10,000 products, SQLite
    python bench/bench_catalogue.py --url postgresql://postgres@127.0.0.1:5432/esl_bench
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlmodel import Session, SQLModel

from esl_controller import db
from esl_controller.catalogue.gtin import gtin_check_digit
from esl_controller.clock import utcnow
from esl_controller.models import BaseStation, Label, PriceHistory, Product, Promotion, Store
from esl_controller.web.catalogue_queries import (
    Month,
    product_detail,
    promotions_in_month,
    search_products,
)

STORE = "store-1"


def gtin(n: int) -> str:
    body = f"594{n:09d}"
    return body + str(gtin_check_digit(body))


def seed(engine, products: int) -> None:
    now = utcnow()
    with Session(engine) as s:
        s.add(Store(id=STORE, name="Bench", locale="ro_RO", currency="RON"))
        s.flush()  # no ORM relationships: the store first
        s.add(BaseStation(id="bs-1", store_id=STORE))
        s.commit()
        rows = [
            {
                "store_id": STORE,
                "gtin": gtin(n),
                "name": f"Produs {n:05d} brânză",
                "brand": f"Marca {n % 97}",
                "price_minor": 1000 + n % 500,
                "currency": "RON",
                "net_quantity": 400,
                "unit": "g",
                "stock": n % 30,
                "low_stock_threshold": 5,
                "status": "active",
                "updated_at": now,
            }
            for n in range(products)
        ]
        s.execute(insert(Product), rows)
        ids = [row[0] for row in s.execute(text("SELECT id FROM product ORDER BY id"))]
        history = [
            {
                "product_id": pid,
                "price_minor": 1000 + (pid + step) % 300,
                "effective_at": now - timedelta(days=2 * step),
                "source": "erp",
            }
            for pid in ids
            for step in range(40)
        ]
        for start in range(0, len(history), 50_000):
            s.execute(insert(PriceHistory), history[start : start + 50_000])
        s.execute(
            insert(Label),
            [
                {"id": f"L-{pid}", "store_id": STORE, "model": "2.9-bwr",
                 "base_station_id": "bs-1", "product_id": pid, "state": "acked",
                 "template": "price", "seq": 0, "shown_seq": 0, "updated_at": now}
                for pid in ids
            ],
        )  # fmt: skip
        s.execute(
            insert(Promotion),
            [
                {"product_id": pid, "price_minor": 900, "starts_at": now - timedelta(days=3),
                 "ends_at": now + timedelta(days=4), "source": "erp", "external_id": f"P{pid}"}
                for pid in ids[::10]
            ],
        )  # fmt: skip
        s.commit()


def timed(action: Callable[[], object], runs: int = 7) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--url", default=None, help="database URL (default: a temp SQLite)")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    engine = db.make_engine(url)
    with engine.begin() as conn:
        SQLModel.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS schema_meta"))
    db.init_db(engine)
    started = time.perf_counter()
    seed(engine, args.products)
    seconds = time.perf_counter() - started
    print(
        f"{engine.dialect.name}: seeded {args.products:,} products, "
        f"{args.products * 40:,} price-history rows in {seconds:.1f} s"
    )
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    now = utcnow()
    middle = gtin(args.products // 2)
    with Session(engine) as s:
        cases = {
            "products, first page": lambda: search_products(s, STORE, None, 50, 0, now),
            "products, page 100": lambda: search_products(s, STORE, None, 50, 4950, now),
            "products, name 'brânză'": lambda: search_products(s, STORE, "brânză", 50, 0, now),
            "products, GTIN digits": lambda: search_products(s, STORE, middle[:9], 50, 0, now),
            "one product page": lambda: product_detail(s, STORE, middle, now),
            "promotions, this month": lambda: promotions_in_month(
                s, STORE, Month(now.year, now.month)
            ),
        }
        for name, action in cases.items():
            print(f"  {name:32s} {timed(action):8.1f} ms (median of 7)")
        if engine.dialect.name == "postgresql":
            plan = s.execute(
                text(
                    "EXPLAIN SELECT * FROM product WHERE store_id = :s "
                    "ORDER BY name, id LIMIT 50 OFFSET 0"
                ),
                {"s": STORE},
            )
            print("  plan of the first page:")
            for (line,) in plan:
                print(f"    {line}")
    engine.dispose()


if __name__ == "__main__":
    main()
