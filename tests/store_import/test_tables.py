"""The declarations the importer renumbers by: every integer column naming another row is
a foreign key or a declared soft reference, and every declaration names real columns."""

from __future__ import annotations

from sqlalchemy import Integer

from esl_controller.ads.chain import BILLED_FIELDS
from esl_controller.store_import.tables import (
    BILLED_ID_TABLES,
    IMPRESSION_LOG,
    JSON_REFERENCES,
    SOFT_REFERENCES,
    TEXT_REFERENCES,
    id_references,
    imported_tables,
    renumbered_tables,
    serial_column,
)

TABLES = {table.name: table for table in imported_tables()}


def test_every_integer_id_column_is_a_foreign_key_or_a_declared_soft_reference():
    undeclared = [
        f"{table.name}.{column.name}"
        for table in TABLES.values()
        for column in table.columns
        if column.name.endswith("_id")
        and isinstance(column.type, Integer)
        and not column.foreign_keys
        and column.name not in id_references(table)
    ]
    assert undeclared == [], (
        "declare these in store_import.tables.SOFT_REFERENCES (the table whose id each "
        "holds), so an import renumbers them with the rows they name"
    )


def test_the_declared_references_name_real_integer_columns_and_serial_tables():
    for ref in SOFT_REFERENCES:
        column = TABLES[ref.table].c[ref.column]
        assert isinstance(column.type, Integer) and not column.foreign_keys, ref
        assert serial_column(TABLES[ref.points_to]) is not None, ref
    for json_ref in JSON_REFERENCES:
        assert json_ref.column in TABLES[json_ref.table].c, json_ref
        assert all(serial_column(TABLES[to]) for to in json_ref.keys.values()), json_ref
    for text_ref in TEXT_REFERENCES:
        assert text_ref.column in TABLES[text_ref.table].c, text_ref
        assert serial_column(TABLES[text_ref.points_to]) is not None, text_ref


def test_the_ids_the_impression_hash_names_are_the_ad_tables():
    assert {"campaign", "advertiser", "creative"} == BILLED_ID_TABLES
    hashed_ids = {name for name in BILLED_FIELDS if name.endswith("_id")}
    text_ids = {
        name for name in hashed_ids if not isinstance(TABLES["impression"].c[name].type, Integer)
    }
    assert text_ids == {"play_id", "player_id", "zone_id"}  # kept everywhere anyway


def test_the_impression_log_is_never_renumbered_and_its_ad_ids_only_without_a_log():
    with_log, without_log = renumbered_tables(True), renumbered_tables(False)
    assert not (with_log | without_log) & IMPRESSION_LOG
    assert not with_log & BILLED_ID_TABLES
    assert without_log >= BILLED_ID_TABLES
    assert {"product", "sync_run", "override", "trigger_event", "user"} <= with_log
    assert not with_log & {"label", "base_station", "player", "zone", "store"}
