"""Integers are 64-bit on every backend: PostgreSQL's INTEGER would refuse a real price in
minor units, half of all image checksums and a chain's impression ids."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from esl_controller import db
from esl_controller.models import OutboxMessage, Product
from tests.support.gtins import make_gtin

BIG = 2**40  # 11 billion minor units: a 110-million-rupiah price, say


def integer_columns(engine: Engine) -> dict[tuple[str, str], str]:
    inspector = inspect(engine)
    found = {}
    for table in SQLModel.metadata.sorted_tables:
        for column in inspector.get_columns(table.name):
            kind = type(column["type"]).__name__
            if kind in ("INTEGER", "BIGINT", "SMALLINT"):
                found[(table.name, column["name"])] = kind
    return found


def store_a_big_price(engine: Engine) -> Product:
    from esl_controller.models import Store

    with db.session_scope(engine) as session:
        session.add(Store(id="s-1", name="Jakarta", currency="IDR"))
        session.flush()
        product = Product(
            store_id="s-1", gtin=make_gtin(1), name="TV", price_minor=BIG, currency="IDR"
        )
        session.add(product)
        session.flush()
        session.refresh(product)
        session.expunge(product)
    return product


def test_a_fresh_postgresql_schema_has_no_32_bit_integer(pg_engine: Engine) -> None:
    kinds = integer_columns(pg_engine)
    assert kinds, "the inspection found the tables"
    assert {key for key, kind in kinds.items() if kind != "BIGINT"} == set()
    assert store_a_big_price(pg_engine).price_minor == BIG


def test_a_version_13_postgresql_database_is_widened_and_keeps_counting(pg_engine: Engine):
    """Made as schema 13 made it: INTEGER columns and serial sequences of type integer."""
    narrowed = [("product", "price_minor"), ("outbox", "crc32"), ("outbox", "id")]
    with pg_engine.begin() as conn:
        for table, column in narrowed:
            conn.execute(text(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE INTEGER'))
        conn.execute(text("ALTER SEQUENCE outbox_id_seq AS INTEGER"))
        conn.execute(text("UPDATE schema_meta SET value = '13' WHERE key = 'schema_version'"))
    assert integer_columns(pg_engine)[("outbox", "crc32")] == "INTEGER"

    assert db.init_db(pg_engine) == db.SCHEMA_VERSION
    kinds = integer_columns(pg_engine)
    assert [kinds[key] for key in narrowed] == ["BIGINT"] * 3
    with pg_engine.connect() as conn:
        sequence_type = conn.execute(
            text("SELECT data_type FROM information_schema.sequences WHERE sequence_name = :s"),
            {"s": "outbox_id_seq"},
        ).scalar()
    assert sequence_type == "bigint"
    assert store_a_big_price(pg_engine).price_minor == BIG


def test_sqlite_primary_keys_still_number_themselves(engine: Engine) -> None:
    """SQLite keeps INTEGER (already 64-bit): a BIGINT primary key would not autoincrement."""
    product = store_a_big_price(engine)
    assert product.id is not None and product.price_minor == BIG
    ddl = OutboxMessage.__table__.c.id.type.compile(dialect=engine.dialect)
    assert ddl == "INTEGER"
