"""Copy one store's SQLite database into a chain database, all or nothing.

The source is never changed: a copy of it (taken with SQLite's backup API, so a running
store can be imported) is migrated to this release's schema first, whatever version it was.
Then, in one transaction on the target, every key the rows would take is checked; if any
is taken, nothing is written and the refusal names the ids. Only then are the rows copied,
table by table in foreign-key order, keeping their ids: the impression log's hashes and the
signed checkpoints name campaign, advertiser and creative ids, so renumbering them would
make the store's billing history fail verification.
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
from esl_controller.store_import.tables import (
    RENUMBERED_TABLES,
    STORE_COLUMN,
    has_store_column,
    imported_tables,
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


@dataclass
class ImportSummary:
    store_id: str
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows written
    already_there: dict[str, int] = field(default_factory=dict)  # identical rows, not copied

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
    if any(collision.table not in DEVICE_WORDS for collision in collisions):
        lines.append(
            "Other rows keep their ids too, because the impression log's hashes and signed "
            "checkpoints name them: import this store into a chain database that does not "
            "hold those ids yet (for example before the other stores' data)."
        )
    return "\n".join(lines)


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
    columns = {table.name: _source_columns(reading, table) for table in tables}
    already_there: dict[str, set[tuple[Any, ...]]] = {}
    collisions: list[Collision] = []
    for table in tables:
        same, taken = _check_table(reading, writing, table, columns[table.name], store_id)
        already_there[table.name] = same
        collisions += taken
    if collisions:
        raise StoreIdsTaken(store_id, collisions)
    summary = ImportSummary(store_id)
    counts = {
        table.name: reading.scalar(select(func.count()).select_from(table)) or 0 for table in tables
    }
    total, done = sum(counts.values()), 0
    if progress:
        progress(0, total)
    for table in tables:
        written = 0
        for chunk in _source_rows(reading, table, columns[table.name], store_id):
            rows = [row for row in chunk if _primary(table, row) not in already_there[table.name]]
            if rows:
                writing.execute(table.insert(), rows)
                written += len(rows)
            done += len(chunk)
            if progress:
                progress(done, total)
        summary.rows[table.name] = written
        if already_there[table.name]:
            summary.already_there[table.name] = len(already_there[table.name])
    if writing.dialect.name == "postgresql":
        _advance_sequences(writing, tables)
    return summary


def _source_columns(reading: Connection, table: Table) -> list[str]:
    """The table's columns the source has, in model order; the renumbered ones lose the id."""
    present = {column["name"] for column in inspect(reading).get_columns(table.name)}
    names = [column.name for column in table.columns if column.name in present]
    if table.name in RENUMBERED_TABLES:
        names = [name for name in names if name not in table.primary_key.columns]
    return names


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
    reading: Connection, writing: Connection, table: Table, names: list[str], store_id: str
) -> tuple[set[tuple[Any, ...]], list[Collision]]:
    """(primary keys of rows the target holds identically, the keys that collide)."""
    primary = tuple(column.name for column in table.primary_key.columns)
    same: set[tuple[Any, ...]] = set()
    collisions = []
    for key in unique_keys(table):
        if not set(key) <= set(names):
            continue  # a key the source cannot have values for (renumbered ids)
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
