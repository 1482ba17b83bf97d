"""Campaign report over 10 million impressions on SQLite, grouped by day and by screen.

The impressions are bulk-loaded with sqlite3 directly (executemany, one transaction): 200
screens in 8 zones, 4 creatives, 90 days of plays of one campaign, a measured or declared
multiplier per play. The hashes are placeholders (this times reports, not the chain; the
chain is timed by bench_pop.py and verify-impressions). The live hourly totals that ingest
keeps are then filled from them in one INSERT ... SELECT ... GROUP BY, and
`build_campaign_report` (the code the API, the CLI and scheduled delivery use) runs over
the whole flight, grouped by day, by store and by screen, then for one store alone. The
screens are spread over `--stores` stores of a chain (their players in the database, so a
row's store is found through its screen, as in production).

    python bench/bench_report.py                  # 10,000,000 impressions
    python bench/bench_report.py --rows 1000000 --stores 3
    python bench/bench_report.py --db /tmp/r.db   # reuse a database loaded earlier
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from esl_controller import db
from esl_controller.ads.campaign_reports import build_campaign_report, encode_report
from esl_controller.models import Advertiser, Campaign, Player, Store, Zone

SCREENS = 200
ZONES = 8
CREATIVES = 4
DAYS = 90
START = datetime(2026, 8, 1, tzinfo=UTC)
PLACEHOLDER_HASH = "0" * 64


def seed(database_url: str, stores: int) -> int:
    engine = db.make_engine(database_url)
    db.init_db(engine)
    with Session(engine) as session:
        for n in range(1, stores + 1):
            name = f"Bench store {n}"
            session.add(Store(id=f"store-{n}", name=name, timezone="Europe/Bucharest"))
        session.flush()
        for n in range(1, stores + 1):
            session.add(Zone(id=f"store-{n}-zone", store_id=f"store-{n}", name="Bench zone"))
        session.flush()
        for screen in range(SCREENS):
            store = f"store-{screen % stores + 1}"
            session.add(Player(id=f"screen-{screen:03d}", store_id=store, zone_id=f"{store}-zone"))
        advertiser = Advertiser(name="Bench advertiser")
        session.add(advertiser)
        session.flush()
        campaign = Campaign(
            advertiser_id=advertiser.id,
            name="Bench campaign",
            starts_at=START,
            ends_at=START + timedelta(days=DAYS),
            cpm_minor=1250,
            goal_kind="impressions",
            goal_value=20_000_000,
        )
        session.add(campaign)
        session.commit()
        campaign_id = campaign.id
    engine.dispose()
    return campaign_id


def load(path: Path, campaign_id: int, rows: int) -> float:
    """Bulk insert `rows` impressions; returns the seconds it took."""
    started = time.perf_counter()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    spacing = DAYS * 86_400 / rows
    rng = random.Random(5)

    def generate():
        for seq in range(1, rows + 1):
            moment = START + timedelta(seconds=seq * spacing)
            screen = seq % SCREENS
            creative = seq % CREATIVES + 1
            measured = screen % 4 == 0
            multiplier = rng.randint(0, 9000) if measured else 2000
            yield (
                seq,
                f"p{seq:010d}",
                campaign_id,
                "Bench campaign",
                1,
                creative,
                f"Creative {creative}",
                f"screen-{screen:03d}",
                f"Screen {screen}",
                f"zone-{screen % ZONES}",
                moment.strftime("%Y-%m-%d %H:%M:%S.%f"),
                10_000,
                multiplier,
                "measured" if measured else "declared",
                multiplier,
                1250,
                "EUR",
                PLACEHOLDER_HASH,
                PLACEHOLDER_HASH,
            )

    with connection:
        connection.executemany(
            "INSERT INTO impression (seq, play_id, campaign_id, campaign_name, advertiser_id,"
            " creative_id, creative_name, player_id, player_name, zone_id, started_at, play_ms,"
            " multiplier_milli, multiplier_source, impressions_milli, cpm_minor, currency,"
            " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            generate(),
        )
    connection.execute("ANALYZE")
    connection.close()
    return time.perf_counter() - started


def fill_hour_totals(database_url: str) -> float:
    """Fill the live hourly totals as ingest would have, in one INSERT ... SELECT ... GROUP BY
    over the loaded impressions; returns the seconds it took."""
    started = time.perf_counter()
    engine = db.make_engine(database_url)
    with engine.begin() as conn:
        db.fill_impression_hour_totals(conn)
    engine.dispose()
    return time.perf_counter() - started


def time_report(
    database_url: str, campaign_id: int, group_by: str, store_id: str | None = None
) -> tuple[float, object]:
    engine = db.make_engine(database_url)
    with Session(engine) as session:
        started = time.perf_counter()
        report = build_campaign_report(
            session,
            campaign_id,
            START,
            START + timedelta(days=DAYS),
            group_by=group_by,
            generated_at=datetime.now(UTC),
            store_id=store_id,
        )
        elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--db", type=Path, help="reuse (or create) this database file")
    parser.add_argument("--stores", type=int, default=1, help="stores the screens are spread over")
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp(prefix="bench-report-")) / "esl.db"
    database_url = f"sqlite:///{path.resolve()}"
    fresh = not path.exists()
    campaign_id = seed(database_url, args.stores) if fresh else 1
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"SQLite {sqlite3.sqlite_version}"
    )
    if fresh:
        seconds = load(path, campaign_id, args.rows)
        print(
            f"loaded {args.rows:,} impressions in {seconds:.1f} s "
            f"({args.rows / seconds:,.0f} rows/s); database {path.stat().st_size / 1e9:.2f} GB"
        )
        print(f"filled the hourly totals in {fill_hour_totals(database_url):.1f} s")
    for group_by, store in (("day", None), ("store", None), ("player", None), ("day", "store-1")):
        elapsed, report = time_report(database_url, campaign_id, group_by, store)
        totals = report.total
        scope = f"store-1 by {group_by}" if store else f"grouped by {group_by}"
        print(
            f"report {scope:<17}: {elapsed:6.2f} s, {len(report.groups)} groups, "
            f"{totals.plays:,} plays, spend {totals.spend_minor / 100:,.2f} "
            f"{report.campaign.currency}"
        )
    started = time.perf_counter()
    encode_report(report, "csv")
    print(f"CSV encoding of the last report: {time.perf_counter() - started:.3f} s")


if __name__ == "__main__":
    main()
