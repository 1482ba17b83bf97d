"""Regenerate tests/fixtures/demo_store.db: a small single-store database at the current
schema, seeded like the demo (products, price history, promotions, base stations, labels,
zones, players, an advertiser, a campaign, a creative and its media, the demo user), with a
few plays billed into the impression chain and a signed checkpoint of its head.

    .venv/bin/python tools/make_store_fixture.py

The store import tests (tests/store_import/) read it as a store's database would arrive
at head office. Re-run it after a schema change and commit the file with the change.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datetime import timedelta  # noqa: E402

from sqlalchemy import select  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from esl_controller import db  # noqa: E402
from esl_controller.ads import checkpoints  # noqa: E402
from esl_controller.ads.ingest import PlayIngestor  # noqa: E402
from esl_controller.clock import utcnow  # noqa: E402
from esl_controller.config import Settings  # noqa: E402
from esl_controller.demo_seed import seed_demo_store  # noqa: E402
from esl_controller.models import Creative  # noqa: E402
from tests.support.store_fixture import (  # noqa: E402
    PLAYER,
    PLAYS,
    PRODUCTS,
    SIGNING_KEY,
    STATIONS,
    STORE_ID,
)

FIXTURE = ROOT / "tests" / "fixtures" / "demo_store.db"


def main() -> None:
    FIXTURE.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            data_dir=Path(data_dir),
            store_id=STORE_ID,
            secret_key="fixture-only",
            chain_signing_key=SIGNING_KEY,
        )
        engine = db.make_engine(f"sqlite:///{FIXTURE}")
        db.init_db(engine)
        seed_demo_store(engine, STORE_ID, PRODUCTS, STATIONS, settings)
        _bill_plays(engine, settings)
        engine.dispose()
    # One self-contained file: no WAL beside it, no free pages.
    connection = sqlite3.connect(FIXTURE)
    connection.execute("PRAGMA journal_mode=DELETE")
    # Each of the ~100 tables and indexes takes at least one page: small pages, small file.
    connection.execute("PRAGMA page_size=1024")
    connection.execute("VACUUM")
    connection.close()
    print(f"wrote {FIXTURE.relative_to(ROOT)}: {FIXTURE.stat().st_size:,} bytes")


def _bill_plays(engine: Engine, settings: Settings) -> None:
    with Session(engine) as session:
        creative = session.scalars(select(Creative)).one()
    start = utcnow() - timedelta(hours=2)
    plays = []
    for number in range(PLAYS):
        started = start + timedelta(seconds=15 * number)
        plays.append(
            {
                "play_id": str(uuid.uuid4()),
                "player": PLAYER,
                "item": "fresh-dairy",
                "campaign_id": creative.campaign_id,
                "creative_id": creative.id,
                "override_id": None,
                "trigger_id": None,
                "started_at": started.isoformat(),
                "ended_at": (started + timedelta(seconds=8)).isoformat(),
            }
        )
    result = PlayIngestor(engine, settings).ingest(plays, "fixture", authenticated_player=PLAYER)
    assert result.accepted == PLAYS, result.as_dict()
    assert checkpoints.take_checkpoint(engine, settings, utcnow()) is not None


if __name__ == "__main__":
    main()
