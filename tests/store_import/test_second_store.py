"""A chain's second (and third) store: single-store databases that all number their rows from
1 go into one chain database one after the other, on SQLite and on the local PostgreSQL.
Their numbered ids are renumbered and every reference follows; device ids, and the
impression log with the ad ids it names, are kept, and what cannot be kept is refused with
nothing written."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from esl_controller import db
from esl_controller.ads.verify_cli import verify_impressions
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.labels.catalogue_slice import render_jobs
from esl_controller.models import (
    Campaign,
    ImpressionCheckpoint,
    Label,
    Override,
    PriceHistory,
    Product,
    Store,
    SyncRun,
    TriggerEvent,
    User,
)
from esl_controller.signage.override_ids import reserve_override_ids_in
from esl_controller.store_import.importer import (
    ImpressionLogTaken,
    StoreIdsTaken,
    StoreImportError,
    import_store,
)
from esl_controller.store_import.renumber import IdMap
from esl_controller.stores import effective_settings
from tests.support.chain_import import row_counts
from tests.support.resolved_rows import combined, resolved_rows
from tests.support.single_store_db import SingleStore, build_single_store_db
from tests.support.store_fixture import PLAYS, public_key

DEMO_STORE = Path(__file__).resolve().parents[1] / "fixtures" / "demo_store.db"
FIRST = SingleStore("cluj-centre", seed=11)
SECOND = SingleStore("cluj-north", seed=12)
THIRD = SingleStore("oradea", seed=13)


@pytest.fixture(params=["sqlite", "postgresql"])
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty chain database: an SQLite file, or the local PostgreSQL."""
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_engine")
        return
    engine = db.make_engine(f"sqlite:///{tmp_path / 'chain.db'}")
    db.init_db(engine)
    yield engine
    engine.dispose()


def store_db(tmp_path: Path, store: SingleStore) -> Path:
    return build_single_store_db(tmp_path / f"{store.id}.db", store)


def source_engine(path: Path) -> Engine:
    engine = db.make_engine(f"sqlite:///{path}")
    db.init_db(engine)
    return engine


@contextmanager
def editing(path: Path) -> Iterator[Connection]:
    """One transaction on a store's file, foreign keys off: a database as it should not be."""
    engine = source_engine(path)
    try:
        with engine.begin() as conn:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            yield conn
    finally:
        engine.dispose()


def labels_by_product(engine: Engine, store_id: str) -> dict[str, tuple[str, str, str]]:
    """Each label of the store -> the gtin and name of its product, and that product's store."""
    with Session(engine) as session:
        query = (
            select(Label.id, Product.gtin, Product.name, Product.store_id)
            .join(Product, Label.product_id == Product.id)
            .where(Label.store_id == store_id)
        )
        return {label: (gtin, name, store) for label, gtin, name, store in session.execute(query)}


def test_stores_numbered_from_one_go_into_one_chain_database_each_pointing_at_its_own_rows(
    chain: Engine, tmp_path: Path
):
    paths = [store_db(tmp_path, store) for store in (FIRST, SECOND, THIRD)]
    sources = [source_engine(path) for path in paths]
    try:
        expected = combined(
            *(
                resolved_rows(engine, fill_store=store.id)
                for engine, store in zip(sources, (FIRST, SECOND, THIRD), strict=True)
            )
        )
        with Session(sources[0]) as one, Session(sources[1]) as two:
            # The point of it: both stores number their rows from 1.
            ids = select(Product.id).order_by(Product.id)
            assert one.scalars(ids).all() == two.scalars(ids).all() == list(range(1, 7))
            assert one.scalars(select(Campaign.id)).all() == two.scalars(select(Campaign.id)).all()
        labels = {
            store.id: labels_by_product(engine, store.id)
            for engine, store in zip(sources, (FIRST, SECOND, THIRD), strict=True)
        }
    finally:
        for engine in sources:
            engine.dispose()

    summaries = [import_store(path, chain) for path in paths]

    assert [s.store_id for s in summaries] == [FIRST.id, SECOND.id, THIRD.id]
    assert summaries[1].renumbered["product"] == SECOND.products
    assert {"campaign", "advertiser", "creative", "sync_run", "override"} <= set(
        summaries[1].renumbered
    )
    # Every row of the three stores is there, and every id in it (foreign keys, soft
    # references, ids in JSON and audit targets) names a row with the content it named in
    # its own store: none points into another store.
    got = resolved_rows(chain)
    for table, forms in expected.items():
        assert got[table] == forms, table
    for store in (FIRST, SECOND, THIRD):
        assert labels_by_product(chain, store.id) == labels[store.id]
        assert {owner for _, _, owner in labels[store.id].values()} == {store.id}
    with Session(chain) as session:
        assert set(session.scalars(select(Store.id))) == {FIRST.id, SECOND.id, THIRD.id}
        products = session.scalars(select(Product.id)).all()
        assert len(products) == len(set(products)) == 3 * FIRST.products


def test_the_imported_second_store_runs_on_the_chain_database(chain: Engine, tmp_path: Path):
    import_store(store_db(tmp_path, FIRST), chain)
    import_store(store_db(tmp_path, SECOND), chain)
    settings = Settings(data_dir=tmp_path, store_id=SECOND.id, secret_key="test-only")
    with Session(chain) as session:
        worker = effective_settings(session, settings, SECOND.id)
        assert worker.store_id == SECOND.id
        label_ids = list(session.scalars(select(Label.id).where(Label.store_id == SECOND.id)))
        problems: Counter[str] = Counter()
        jobs = list(render_jobs(session, label_ids, utcnow(), problems))
        assert not problems and len(jobs) == SECOND.products
        products = {
            gtin: name
            for gtin, name in session.execute(
                select(Product.gtin, Product.name).where(Product.store_id == SECOND.id)
            )
        }
        assert {job.content.gtin: job.content.name for job in jobs} == products
        # Its buyer still sees its own advertiser's campaigns, its override its own trigger.
        buyer = session.scalars(select(User).where(User.username == SECOND.buyer)).one()
        campaign = session.scalars(
            select(Campaign).where(Campaign.advertiser_id == buyer.advertiser_id)
        ).one()
        assert campaign.name == f"Yoghurt at {SECOND.id}"
        override = session.scalars(select(Override).where(Override.store_id == SECOND.id)).one()
        trigger = session.get(TriggerEvent, override.trigger_event_id)
        assert trigger is not None and trigger.store_id == SECOND.id
        assert trigger.override_id == override.id and override.campaign_id == campaign.id
        retry = session.scalars(select(SyncRun).where(SyncRun.retry_of.is_not(None))).all()
        assert {session.get(SyncRun, r.retry_of).store_id for r in retry} == {  # type: ignore[union-attr]
            r.store_id for r in retry
        }


def test_after_the_imports_new_rows_get_fresh_ids(chain: Engine, tmp_path: Path):
    import_store(store_db(tmp_path, FIRST), chain)
    import_store(store_db(tmp_path, SECOND), chain)
    with db.session_scope(chain) as session:
        highest = session.scalar(select(func.max(PriceHistory.id)))
        overrides = session.scalar(select(func.max(Override.id)))
        product = Product(store_id=SECOND.id, gtin="5940000000017", name="New", price_minor=1)
        session.add(product)
        session.flush()
        row = PriceHistory(product_id=product.id, price_minor=199, effective_at=utcnow())
        session.add(row)
        session.flush()
        assert highest is not None and row.id is not None and row.id > highest
        assert overrides is not None
        assert reserve_override_ids_in(session.connection(), 1)[0] > overrides


def test_a_store_with_an_impression_log_keeps_its_ad_ids_and_the_next_store_is_renumbered(
    chain: Engine, tmp_path: Path
):
    demo = tmp_path / "demo.db"
    shutil.copy(DEMO_STORE, demo)
    kept = import_store(demo, chain)
    assert not {"campaign", "advertiser", "creative", "impression"} & set(kept.renumbered)

    second = import_store(store_db(tmp_path, SECOND), chain)

    assert second.renumbered["campaign"] == 1
    result = verify_impressions(chain, public_key=public_key())
    assert result.ok, result.reason
    assert result.checked == PLAYS


def test_a_second_impression_log_is_refused_before_anything_is_written(
    chain: Engine, tmp_path: Path
):
    demo = tmp_path / "demo.db"
    shutil.copy(DEMO_STORE, demo)
    import_store(demo, chain)
    billed = store_db(tmp_path, SECOND)
    with editing(billed) as conn:
        conn.execute(
            insert(ImpressionCheckpoint).values(
                store_id=SECOND.id, head_seq=0, head_hash="0" * 64, key_id="k", signature="s"
            )
        )
    before = row_counts(chain)

    with pytest.raises(ImpressionLogTaken) as refused:
        import_store(billed, chain)

    message = str(refused.value)
    assert f"store {SECOND.id} was not imported" in message
    assert "1 impression checkpoint rows" in message and "Nothing was written" in message
    assert "hash chain" in message and "impression-records" in message
    assert row_counts(chain) == before


def test_a_store_with_an_impression_log_after_stores_that_took_its_campaign_ids_is_refused(
    chain: Engine, tmp_path: Path
):
    import_store(store_db(tmp_path, FIRST), chain)
    demo = tmp_path / "demo.db"
    shutil.copy(DEMO_STORE, demo)
    before = row_counts(chain)

    with pytest.raises(StoreIdsTaken) as refused:
        import_store(demo, chain)

    assert "campaign id 1: already in the chain database" in str(refused.value)
    assert "hashes and signed checkpoints name" in str(refused.value)
    assert row_counts(chain) == before


def test_a_label_another_store_has_is_still_refused_with_nothing_written(
    chain: Engine, tmp_path: Path
):
    import_store(store_db(tmp_path, FIRST), chain)
    second = store_db(tmp_path, SECOND)
    with editing(second) as conn:  # no outbox row names the label yet
        conn.execute(update(Label).where(Label.id == SECOND.label(0)).values(id=FIRST.label(0)))
    before = row_counts(chain)

    with pytest.raises(StoreIdsTaken) as refused:
        import_store(second, chain)

    assert f"labels {FIRST.label(0)}: already in store {FIRST.id}" in str(refused.value)
    assert {collision.table for collision in refused.value.collisions} == {"label"}
    assert row_counts(chain) == before


@given(st.dictionaries(st.integers(-(2**62), 2**62), st.integers(1, 2**62), max_size=50))
def test_an_id_map_answers_what_it_was_given_and_nothing_else(pairs: dict[int, int]):
    ids = IdMap()
    old = sorted(pairs)
    ids.extend(old, [pairs[key] for key in old])
    assert len(ids) == len(pairs)
    assert all(ids.get(key) == value for key, value in pairs.items())
    assert ids.get(2**62 + 1) is None


def test_a_soft_reference_to_a_row_gone_by_its_retention_is_left_empty(
    chain: Engine, tmp_path: Path
):
    import_store(store_db(tmp_path, FIRST), chain)  # its trigger event takes the same old id
    second = store_db(tmp_path, SECOND)
    with editing(second) as conn:
        conn.execute(text("DELETE FROM trigger_event"))

    import_store(second, chain)

    with Session(chain) as session:
        override = session.scalars(select(Override).where(Override.store_id == SECOND.id)).one()
        assert override.trigger_event_id is None


def test_a_foreign_key_naming_a_missing_row_refuses_the_import(chain: Engine, tmp_path: Path):
    import_store(store_db(tmp_path, FIRST), chain)
    second = store_db(tmp_path, SECOND)
    with editing(second) as conn:
        conn.execute(update(Label).where(Label.id == SECOND.label(0)).values(product_id=999))
    before = row_counts(chain)

    with pytest.raises(StoreImportError, match=r"label\.product_id 999 names a product row"):
        import_store(second, chain)

    assert row_counts(chain) == before
