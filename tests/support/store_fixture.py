"""tests/fixtures/demo_store.db: what it holds, and how it is made.

A small single-store database at the current schema, seeded like the demo (products, price
history, promotions, base stations, labels, zones, players, an advertiser, a campaign, a
creative and its media, the demo user), with a few plays billed into the impression chain
and a signed checkpoint of its head. The store import tests read it as a store's database
would arrive at head office. Regenerate it after a schema change, and commit it with the
change:

    .venv/bin/python -m tests.support.store_fixture
"""

from __future__ import annotations

import base64
import hashlib
import sqlite3
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller import db
from esl_controller.ads import checkpoints
from esl_controller.ads.ingest import PlayIngestor
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.demo_seed import seed_demo_store
from esl_controller.models import Creative

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "demo_store.db"
STORE_ID = "store-0042"
PRODUCTS, STATIONS = 12, 2
PLAYER = "dairy-01"
PLAYS = 6
# A key for this fixture only: its checkpoint must verify after an import.
SIGNING_KEY = base64.b64encode(hashlib.sha256(b"demo_store.db fixture").digest()).decode()


def public_key() -> str:
    raw = base64.b64decode(SIGNING_KEY)
    return checkpoints.public_key_text(Ed25519PrivateKey.from_private_bytes(raw))


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
    print(f"wrote {FIXTURE}: {FIXTURE.stat().st_size:,} bytes")


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
