"""Importing a store's SQLite database into a chain database: the committed demo store
(tests/fixtures/demo_store.db, made by tests/support/store_fixture.py) goes into the local
PostgreSQL next to a store already there, into another SQLite file, and from an old
schema; a second import and an id collision are refused with nothing written."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller import db
from esl_controller.ads import checkpoints
from esl_controller.ads.verify_cli import verify_impressions
from esl_controller.cli import main
from esl_controller.clock import utcnow
from esl_controller.models import (
    BaseStation,
    Campaign,
    Label,
    MediaAsset,
    PriceHistory,
    Product,
    Store,
    User,
    Zone,
)
from esl_controller.store_import.importer import StoreIdsTaken, StoreImportError, import_store
from esl_controller.store_import.tables import imported_tables
from esl_controller.web.auth import check_password, create_user
from tests.support.chain_import import add_store_with_devices, row_counts, rows_of
from tests.support.store_fixture import PLAYS, STORE_ID, public_key

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DEMO_STORE = FIXTURES / "demo_store.db"
DEMO_STORE_ID = STORE_ID
OTHER_STORE = "store-0007"


@pytest.fixture
def demo_store(tmp_path: Path) -> Path:
    """A copy, so nothing a test does can reach the committed file."""
    copy = tmp_path / "esl.db"
    shutil.copy(DEMO_STORE, copy)
    return copy


@pytest.fixture
def source_engine(demo_store: Path) -> Iterator[Engine]:
    """The store's own worker on its file: it has migrated it to this release's schema."""
    engine = db.make_engine(f"sqlite:///{demo_store}")
    db.init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_target(tmp_path: Path) -> Iterator[Engine]:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'chain.db'}")
    db.init_db(engine)
    yield engine
    engine.dispose()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_store_goes_into_postgres_next_to_another_with_every_row_and_id(
    pg_engine: Engine, demo_store: Path, source_engine: Engine
):
    with Session(source_engine) as session:
        media = session.scalars(select(MediaAsset)).one()
    # Head office already has a store, its own admin (user id 1), and the same media file.
    add_store_with_devices(pg_engine, OTHER_STORE, shared_media=media)
    with Session(pg_engine) as session:
        create_user(session, "hq-admin", "hq-password-1", "admin")
        session.commit()
    before = row_counts(pg_engine)
    seen: list[tuple[int, int]] = []

    summary = import_store(demo_store, pg_engine, lambda done, total: seen.append((done, total)))

    after, source = row_counts(pg_engine), row_counts(source_engine)
    assert summary.store_id == DEMO_STORE_ID
    for table in imported_tables():
        added = after[table.name] - before[table.name]
        expected = source[table.name] - summary.already_there.get(table.name, 0)
        assert added == expected, table.name
    assert summary.already_there == {"media_asset": 1}
    assert seen[-1][0] == seen[-1][1] == sum(source[t.name] for t in imported_tables())
    # A sample of rows, column by column: with their ids where they keep them (devices, and
    # the campaigns a store with an impression log brings), without where they take new ones.
    samples = (
        (Label, Label.id, (), Label.store_id == DEMO_STORE_ID),
        (Campaign, Campaign.id, ()),
        (Product, Product.gtin, ("id",), Product.store_id == DEMO_STORE_ID),
        (
            PriceHistory,
            (PriceHistory.effective_at, PriceHistory.price_minor),
            ("id", "product_id"),
        ),
    )
    for model, order, renumbered, *where in samples:
        imported = rows_of(pg_engine, model, order, *where, leave_out=renumbered)
        assert imported
        assert imported == rows_of(source_engine, model, order, *where, leave_out=renumbered)
    with Session(pg_engine) as session:
        stores = set(session.scalars(select(Store.id)))
        assert stores == {OTHER_STORE, DEMO_STORE_ID}
        # The store's manager keeps their password; head office's admin keeps id 1.
        assert check_password(session, "manager", "esl-demo") is not None
        assert session.scalars(select(User.id).where(User.username == "hq-admin")).one() == 1


def test_after_an_import_postgres_hands_out_free_ids(pg_engine: Engine, demo_store: Path):
    import_store(demo_store, pg_engine)
    with db.session_scope(pg_engine) as session:
        highest = session.scalar(select(func.max(PriceHistory.id)))
        product = session.scalars(select(Product).order_by(Product.id)).first()
        assert product is not None and highest is not None
        row = PriceHistory(product_id=product.id, price_minor=199, effective_at=utcnow())
        session.add(row)
        session.flush()
        assert row.id == highest + 1


def test_the_imported_impression_log_verifies_against_its_signed_checkpoint(
    pg_engine: Engine, demo_store: Path
):
    add_store_with_devices(pg_engine, OTHER_STORE)
    import_store(demo_store, pg_engine)
    result = verify_impressions(pg_engine, public_key=public_key())
    assert result.ok, result.reason
    assert result.checked == PLAYS and result.head_seq == PLAYS
    with Session(pg_engine) as session:
        [checkpoint] = checkpoints.stored(session)
    assert checkpoint.store_id == DEMO_STORE_ID and checkpoint.head_seq == PLAYS


def test_importing_the_same_store_twice_is_refused_and_changes_nothing(
    sqlite_target: Engine, demo_store: Path
):
    import_store(demo_store, sqlite_target)
    before = row_counts(sqlite_target)
    with pytest.raises(StoreImportError, match="store store-0042 is already in the chain"):
        import_store(demo_store, sqlite_target)
    assert row_counts(sqlite_target) == before


def test_device_ids_another_store_uses_are_named_and_nothing_is_written(
    pg_engine: Engine, demo_store: Path, source_engine: Engine
):
    with Session(source_engine) as session:
        station = session.scalars(select(BaseStation.id).order_by(BaseStation.id)).first()
        labels = list(session.scalars(select(Label.id).order_by(Label.id)))
    assert station is not None
    add_store_with_devices(pg_engine, OTHER_STORE, station=station, labels=labels[:7])
    before = row_counts(pg_engine)

    with pytest.raises(StoreIdsTaken) as refused:
        import_store(demo_store, pg_engine)

    message = str(refused.value)
    assert f"base stations {station}: already in store {OTHER_STORE}" in message
    shown = ", ".join(labels[:5])
    assert f"labels {shown} and 2 more: already in store {OTHER_STORE}" in message
    assert "Nothing was written" in message and "import again" in message
    assert {c.table for c in refused.value.collisions} == {"base_station", "label"}
    assert row_counts(pg_engine) == before


def test_an_old_schema_is_migrated_in_a_copy_and_the_file_is_left_alone(
    sqlite_target: Engine, tmp_path: Path
):
    old = tmp_path / "old.db"
    shutil.copy(FIXTURES / "schema_v1.db", old)
    unchanged = digest(old)

    summary = import_store(old, sqlite_target)

    assert digest(old) == unchanged
    assert summary.store_id == "store-1" and summary.rows["label"] == 1
    with Session(sqlite_target) as session:
        assert session.scalars(select(Label.store_id)).all() == ["store-1"]


def test_what_a_running_store_just_wrote_to_its_wal_is_imported(
    sqlite_target: Engine, demo_store: Path, source_engine: Engine
):
    with db.session_scope(source_engine) as session:  # the store's engine stays open
        session.add(Zone(id="bakery", store_id=DEMO_STORE_ID, name="Bakery"))
    assert demo_store.with_name("esl.db-wal").stat().st_size > 0
    import_store(demo_store, sqlite_target)
    with Session(sqlite_target) as session:
        assert session.get(Zone, "bakery") is not None


def test_a_file_that_is_no_database_is_refused(sqlite_target: Engine, tmp_path: Path):
    junk = tmp_path / "esl.db"
    junk.write_text("id;gtin\n")
    with pytest.raises(StoreImportError, match=r"esl\.db is not an SQLite database"):
        import_store(junk, sqlite_target)


def test_the_command_imports_and_refuses_in_words(demo_store: Path, tmp_path: Path):
    target = f"sqlite:///{tmp_path / 'chain.db'}"
    runner = CliRunner()
    done = runner.invoke(main, ["store", "import", str(demo_store), "--into", target])
    assert done.exit_code == 0, done.output
    assert "imported store store-0042" in done.output and "label: 12" in done.output
    again = runner.invoke(main, ["store", "import", str(demo_store), "--into", target])
    assert again.exit_code == 1
    assert "already in the chain database" in again.output
    itself = runner.invoke(
        main, ["store", "import", str(demo_store), "--into", f"sqlite:///{demo_store}"]
    )
    assert itself.exit_code == 2 and "give --into" in itself.output
