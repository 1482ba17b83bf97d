"""Copy one store's SQLite database into a chain database, all or nothing.

The source is never changed: a copy of it (taken with SQLite's backup API, so a running
store can be imported) is migrated to this release's schema first, whatever version it was.
Then, in one transaction on the target, every key the rows would take is checked; if any
is taken, nothing is written and the refusal names the ids. Only then are the rows copied,
table by table in foreign-key order.

Ids (docs/operations.md, "Importing a store"): every store numbers its products, runs,
overrides and the rest from 1, so rows of a serial-id table take new ids in the target and
every column naming them (the foreign keys, the soft references and the ids inside JSON
that tables.py declares) is rewritten. Device ids (labels, stations, players, zones) are
text, unique across the chain, and kept. The impression log keeps its seqs, and the ad
tables whose ids its hashes name keep theirs when the store brings a log; a chain database
holds one log, so a store with one is refused where another log is already.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Table,
    and_,
    any_,
    bindparam,
    func,
    inspect,
    literal,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from esl_controller import db
from esl_controller.models import Store
from esl_controller.store_import.renumber import (
    DanglingReference,
    IdMap,
    RowRenumbering,
    allocate_ids,
)
from esl_controller.store_import.tables import (
    BILLED_ID_TABLES,
    IMPRESSION_LOG,
    STORE_COLUMN,
    has_store_column,
    imported_tables,
    renumbered_tables,
    serial_column,
    unique_keys,
)

CHUNK = 5_000  # rows per INSERT, keys per lookup (SQLite allows 32,766 parameters)
SQLITE_HEADER = b"SQLite format 3\x00"
SHOWN_IDS = 5
# What a store worker calls the rows whose ids are unique across the chain.
DEVICE_WORDS = {
    "label": "labels",
    "base_station": "base stations",
    "player": "players",
    "zone": "zones",
}

Progress = Callable[[int, int], None]


class StoreImportError(RuntimeError):
    """The import was refused or failed; nothing was written. The message says why."""


@dataclass(frozen=True)
class Collision:
    """Keys of `table` the imported rows would take that the target already holds."""

    table: str
    columns: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]
    stores: tuple[str, ...] = ()  # the target's stores holding them, for store-scoped rows


class StoreIdsTaken(StoreImportError):
    def __init__(self, store_id: str, collisions: Sequence[Collision]) -> None:
        self.collisions = tuple(collisions)
        super().__init__(describe_collisions(store_id, collisions))


class ImpressionLogTaken(StoreImportError):
    """The store brings billing history and the chain database already has an impression log."""

    def __init__(self, store_id: str, history: dict[str, int]) -> None:
        self.history = history
        held = ", ".join(
            f"{rows} {table.replace('_', ' ')} rows" for table, rows in history.items()
        )
        super().__init__(
            f"store {store_id} was not imported: it has billing history ({held}) and the "
            "chain database already holds another impression log. Nothing was written.\n"
            "The log is one hash chain: each record's hash names its campaign, advertiser "
            "and creative ids and the record before it, and signed checkpoints name seqs "
            "and hashes. Renumbered, or appended to the chain already there, the store's "
            "history would no longer verify against the checkpoints its buyers hold.\n"
            "Close the store's billing first: run its final reports (esl-controller report "
            "... --store), let each buyer pull its impression records "
            "(GET /api/v1/campaigns/{id}/impression-records, docs/reports.md), and keep the "
            "store's database file as the archive that verifies them "
            "(esl-controller verify-impressions). Then import a copy without impression "
            "history, or import this store into a chain database that has no impression "
            "log yet."
        )


@dataclass
class ImportSummary:
    store_id: str
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows written
    already_there: dict[str, int] = field(default_factory=dict)  # identical rows, not copied
    renumbered: dict[str, int] = field(default_factory=dict)  # table -> rows given new ids

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def describe_collisions(store_id: str, collisions: Iterable[Collision]) -> str:
    lines = [
        f"store {store_id} was not imported: the chain database already uses ids it holds. "
        "Nothing was written."
    ]
    devices = False
    for collision in collisions:
        shown = ", ".join(_key_text(value) for value in collision.values[:SHOWN_IDS])
        more = len(collision.values) - SHOWN_IDS
        if more > 0:
            shown += f" and {more} more"
        if collision.table in DEVICE_WORDS:
            devices = True
            what = DEVICE_WORDS[collision.table]
        else:
            what = f"{collision.table.replace('_', ' ')} {' + '.join(collision.columns)}"
        where = (
            f"already in store {', '.join(collision.stores)}"
            if collision.stores
            else "already in the chain database"
        )
        lines.append(f"  {what} {shown}: {where}")
    if devices:
        lines.append(
            "Labels, base stations, players and zones keep their ids across the whole chain. "
            "If they moved here from that store, remove them there first; if they are "
            "different devices, register them under new ids in one of the two stores. "
            "Then import again."
        )
    if any(_billed_id(collision) for collision in collisions):
        lines.append(
            "The store's impression log keeps its ids and those of the campaigns, advertisers "
            "and creatives its hashes and signed checkpoints name: import this store into a "
            "chain database that does not hold those ids yet (before stores whose campaigns "
            "took them)."
        )
    if any(
        collision.table not in DEVICE_WORDS and not _billed_id(collision)
        for collision in collisions
    ):
        lines.append(
            "Other values are unique across the chain (a user name, an advertiser's name): "
            "rename them in one of the two databases, then import again."
        )
    return "\n".join(lines)


def _billed_id(collision: Collision) -> bool:
    table_ids = (serial_column(_table(collision.table)),)
    in_log = collision.table in IMPRESSION_LOG or collision.table in BILLED_ID_TABLES
    return in_log and collision.columns == table_ids


def _table(name: str) -> Table:
    return next(table for table in imported_tables() if table.name == name)


def _key_text(value: tuple[Any, ...]) -> str:
    return "/".join(str(part) for part in value)


def import_store(source: Path, target: Engine, progress: Progress | None = None) -> ImportSummary:
    """Import the one store in the SQLite file `source` into `target` (created or migrated
    to this release's schema if needed)."""
    with tempfile.TemporaryDirectory(prefix="esl-import-") as work:
        copy = Path(work) / "source.db"
        _copy_sqlite(source, copy)
        source_engine = db.make_engine(f"sqlite:///{copy}")
        try:
            try:
                db.init_db(source_engine)
            except db.SchemaError as exc:
                raise StoreImportError(f"{source.name}: {exc}; nothing was written") from None
            db.init_db(target)
            try:
                with source_engine.connect() as reading, target.begin() as writing:
                    return _import(reading, writing, source.name, progress)
            except DanglingReference as exc:
                raise StoreImportError(f"{source.name}: {exc}; nothing was written") from None
            except IntegrityError as exc:
                # Another process took one of the ids after the check: the transaction
                # rolled back whole.
                raise StoreImportError(
                    "the chain database changed during the import and refused a row "
                    f"({exc.orig}); nothing was written, run the import again"
                ) from None
        finally:
            source_engine.dispose()


def _copy_sqlite(source: Path, copy: Path) -> None:
    try:
        with source.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreImportError(f"cannot read {source}: {exc.strerror}") from None
    if header != SQLITE_HEADER:
        raise StoreImportError(f"{source.name} is not an SQLite database of esl-controller")
    reader = sqlite3.connect(source.resolve().as_uri() + "?mode=ro", uri=True)
    writer = sqlite3.connect(copy)
    try:
        reader.backup(writer)
    except sqlite3.DatabaseError as exc:
        raise StoreImportError(f"{source.name} cannot be read as a database: {exc}") from None
    finally:
        writer.close()
        reader.close()


def _import(
    reading: Connection, writing: Connection, source_name: str, progress: Progress | None
) -> ImportSummary:
    store_ids = list(reading.scalars(select(Store.id)))
    if len(store_ids) != 1:
        raise StoreImportError(
            f"{source_name} holds {len(store_ids)} stores; an import takes the database of "
            "one store"
        )
    store_id = store_ids[0]
    if writing.scalars(select(Store.id).where(Store.id == store_id)).first() is not None:
        raise StoreImportError(
            f"store {store_id} is already in the chain database (imported before?); "
            "nothing was written"
        )
    tables = imported_tables()
    history = _impression_history(reading, tables)
    if history and any(not _empty(writing, t) for t in tables if t.name in IMPRESSION_LOG):
        raise ImpressionLogTaken(store_id, history)
    renumbered = renumbered_tables(keep_billed_ids=bool(history))
    columns = {table.name: _source_columns(reading, table) for table in tables}
    maps: dict[str, IdMap] = {table.name: IdMap() for table in tables if table.name in renumbered}
    plans = {table.name: RowRenumbering(table, maps) for table in tables}
    already_there: dict[str, set[tuple[Any, ...]]] = {}
    collisions: list[Collision] = []
    for table in tables:
        same, taken = _check_table(
            reading, writing, table, columns[table.name], store_id, plans[table.name].fresh_columns
        )
        already_there[table.name] = same
        collisions += taken
    if collisions:
        raise StoreIdsTaken(store_id, collisions)
    for table in tables:
        if table.name in renumbered:
            maps[table.name] = allocate_ids(reading, writing, table, CHUNK)
    summary = ImportSummary(store_id)
    counts = {
        table.name: reading.scalar(select(func.count()).select_from(table)) or 0 for table in tables
    }
    total, done = sum(counts.values()), 0
    if progress:
        progress(0, total)
    for table in tables:
        written = 0
        plan = plans[table.name]
        for chunk in _source_rows(reading, table, columns[table.name], store_id):
            rows = [row for row in chunk if _primary(table, row) not in already_there[table.name]]
            if plan.changes_rows:
                for row in rows:
                    plan.apply(row)
            if rows:
                writing.execute(table.insert(), rows)
                written += len(rows)
            done += len(chunk)
            if progress:
                progress(done, total)
        summary.rows[table.name] = written
        if already_there[table.name]:
            summary.already_there[table.name] = len(already_there[table.name])
        if table.name in maps:
            summary.renumbered[table.name] = len(maps[table.name])
    if writing.dialect.name == "postgresql":
        _advance_sequences(writing, tables)
    return summary


def _impression_history(conn: Connection, tables: list[Table]) -> dict[str, int]:
    """Rows of each impression log table that has any."""
    counts = {
        table.name: conn.scalar(select(func.count()).select_from(table)) or 0
        for table in tables
        if table.name in IMPRESSION_LOG
    }
    return {name: rows for name, rows in sorted(counts.items()) if rows}


def _source_columns(reading: Connection, table: Table) -> list[str]:
    """The table's columns the source has, in model order."""
    present = {column["name"] for column in inspect(reading).get_columns(table.name)}
    return [column.name for column in table.columns if column.name in present]


def _source_rows(
    reading: Connection, table: Table, names: list[str], store_id: str
) -> Iterable[list[dict[str, Any]]]:
    query = select(*(table.c[name] for name in names)).order_by(*table.primary_key.columns)
    result = reading.execution_options(yield_per=CHUNK).execute(query)
    fills_store = has_store_column(table)
    for partition in result.partitions(CHUNK):
        rows = [dict(row._mapping) for row in partition]
        if fills_store:
            for row in rows:
                # In a one-store database every row is the store's; a row a later schema
                # leaves empty (a chain-wide user, say) must not become chain-wide here.
                if row.get(STORE_COLUMN) is None:
                    row[STORE_COLUMN] = store_id
        yield rows


def _primary(table: Table, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row.get(column.name) for column in table.primary_key.columns)


def _check_table(
    reading: Connection,
    writing: Connection,
    table: Table,
    names: list[str],
    store_id: str,
    fresh: frozenset[str],
) -> tuple[set[tuple[Any, ...]], list[Collision]]:
    """(primary keys of rows the target holds identically, the keys that collide). A key
    with a `fresh` column (a new id, or a column naming one) cannot be taken."""
    primary = tuple(column.name for column in table.primary_key.columns)
    same: set[tuple[Any, ...]] = set()
    collisions = []
    for key in unique_keys(table):
        if not set(key) <= set(names) or fresh & set(key):
            continue  # a column the source has no values for, or one that takes new ids
        taken = _taken(reading, writing, table, key)
        if key == primary and taken:
            same = _identical(reading, writing, table, names, taken, store_id)
            taken = [value for value in taken if value not in same]
        elif same and taken:
            taken = _not_from(reading, table, key, taken, same)
        if taken:
            collisions.append(
                Collision(table.name, key, tuple(taken), _stores(writing, table, key, taken))
            )
    return same, collisions


def _taken(
    reading: Connection, writing: Connection, table: Table, key: tuple[str, ...]
) -> list[tuple[Any, ...]]:
    columns = [table.c[name] for name in key]
    if _empty(writing, table):
        return []
    query = select(*columns).where(and_(*(column.is_not(None) for column in columns)))
    keys = reading.execution_options(yield_per=CHUNK).execute(query.order_by(*columns))
    taken = []
    for partition in keys.partitions(CHUNK):
        chunk = [tuple(row) for row in partition]
        found = writing.execute(select(*columns).where(_in(writing, columns, chunk)))
        taken += [tuple(row) for row in found]
    return _ordered(taken)


def _ordered(values: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Ids in their natural order (2 before 10), as the refusal lists them."""
    unique = set(values)
    try:
        return sorted(unique)
    except TypeError:
        return sorted(unique, key=str)


def _empty(conn: Connection, table: Table) -> bool:
    return conn.scalar(select(literal(1)).select_from(table).limit(1)) is None


def _in(conn: Connection, columns: list[Any], values: list[tuple[Any, ...]]) -> Any:
    if len(columns) == 1 and conn.dialect.name == "postgresql":
        # One array parameter: PostgreSQL parses a 5,000-item IN list anew on every query.
        keys = bindparam("keys", [value[0] for value in values], type_=ARRAY(columns[0].type))
        return columns[0] == any_(keys)
    if len(columns) == 1:
        return columns[0].in_([value[0] for value in values])
    return tuple_(*columns).in_(values)


def _identical(
    reading: Connection,
    writing: Connection,
    table: Table,
    names: list[str],
    keys: list[tuple[Any, ...]],
    store_id: str,
) -> set[tuple[Any, ...]]:
    """Taken primary keys whose target row equals the source row (content-addressed media,
    a playlist both stores share): already there, so not copied and not a collision."""
    primary = list(table.primary_key.columns)
    columns = [table.c[name] for name in names]
    same = set()
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        ours = {}
        for row in reading.execute(select(*columns).where(_in(reading, primary, chunk))):
            values = dict(row._mapping)
            if has_store_column(table) and values.get(STORE_COLUMN) is None:
                values[STORE_COLUMN] = store_id
            ours[_primary(table, values)] = values
        for row in writing.execute(select(*columns).where(_in(writing, primary, chunk))):
            values = dict(row._mapping)
            if ours.get(_primary(table, values)) == values:
                same.add(_primary(table, values))
    return same


def _not_from(
    reading: Connection,
    table: Table,
    key: tuple[str, ...],
    taken: list[tuple[Any, ...]],
    skipped: set[tuple[Any, ...]],
) -> list[tuple[Any, ...]]:
    """Taken values of a unique key, leaving out those of rows not copied anyway."""
    columns = [table.c[name] for name in key]
    primary = list(table.primary_key.columns)
    width, kept = len(primary), []
    for start in range(0, len(taken), CHUNK):
        chunk = taken[start : start + CHUNK]
        rows = reading.execute(select(*primary, *columns).where(_in(reading, columns, chunk)))
        kept += [tuple(row[width:]) for row in rows if tuple(row[:width]) not in skipped]
    return _ordered(kept)


def _stores(
    writing: Connection, table: Table, key: tuple[str, ...], taken: list[tuple[Any, ...]]
) -> tuple[str, ...]:
    if not has_store_column(table):
        return ()
    columns = [table.c[name] for name in key]
    query = select(table.c[STORE_COLUMN]).where(_in(writing, columns, taken[:CHUNK])).distinct()
    return tuple(sorted(str(store) for store in writing.scalars(query) if store is not None))


def _advance_sequences(writing: Connection, tables: list[Table]) -> None:
    """Explicit ids leave PostgreSQL's sequences behind: move each past the highest id, so
    the next row any store adds gets a free one."""
    for table in tables:
        column = serial_column(table)
        if column is None:
            continue
        quote = writing.dialect.identifier_preparer.quote
        quoted = quote(table.name)
        sequence = writing.scalar(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": quoted, "column": column},
        )
        if sequence is None:
            continue
        highest = f"(SELECT COALESCE(MAX({quote(column)}), 0) FROM {quoted})"
        writing.execute(
            text(
                "SELECT setval(CAST(:sequence AS regclass), GREATEST("
                f"{highest}, COALESCE(pg_sequence_last_value(CAST(:sequence AS regclass)), 0), 1))"
            ),
            {"sequence": sequence},
        )
