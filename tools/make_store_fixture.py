"""Regenerate tests/fixtures/demo_store.db: a small single-store database at the current
schema, seeded like the demo (products, price history, promotions, base stations, labels,
zones, players, an advertiser, a campaign, a creative and its media, the demo user).

    .venv/bin/python tools/make_store_fixture.py

The store import tests (tests/store_import/) read it as a store's database would arrive
at head office. Re-run it after a schema change and commit the file with the change.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from esl_controller import db  # noqa: E402
from esl_controller.config import Settings  # noqa: E402
from esl_controller.demo_seed import seed_demo_store  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "demo_store.db"
STORE_ID = "store-0042"
PRODUCTS, STATIONS = 12, 2


def main() -> None:
    FIXTURE.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir), secret_key="fixture-only")
        engine = db.make_engine(f"sqlite:///{FIXTURE}")
        db.init_db(engine)
        seed_demo_store(engine, STORE_ID, PRODUCTS, STATIONS, settings)
        engine.dispose()
    # One self-contained file: no WAL beside it, no free pages.
    connection = sqlite3.connect(FIXTURE)
    connection.execute("PRAGMA journal_mode=DELETE")
    # Each of the ~100 tables and indexes takes at least one page: small pages, small file.
    connection.execute("PRAGMA page_size=1024")
    connection.execute("VACUUM")
    connection.close()
    print(f"wrote {FIXTURE.relative_to(ROOT)}: {FIXTURE.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
