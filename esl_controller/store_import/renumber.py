"""New ids for the imported rows of serial-id tables, and the rewriting of every column
that names one of them.

Every id is taken in the target before the first row is written, so a row can be rewritten
whatever order the tables are copied in: a sync run naming the run it retried, an override
and the trigger event naming each other. A table's map keeps its old and new ids in two
arrays of 64-bit integers (16 bytes a row), the old ones sorted, read with a binary search.
"""

from __future__ import annotations

import json
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.engine import Connection

from esl_controller.signage.override_ids import reserve_override_ids_in
from esl_controller.store_import.tables import (
    JSON_REFERENCES,
    SOFT_REFERENCES,
    TEXT_REFERENCES,
    id_references,
    serial_column,
)


class DanglingReference(RuntimeError):
    """A foreign key of the source names a row the source does not have."""


class IdMap:
    """Old id -> new id of one table, for ids added in increasing order."""

    def __init__(self) -> None:
        self._old = array("q")
        self._new = array("q")

    def extend(self, old: Iterable[int], new: Iterable[int]) -> None:
        self._old.extend(old)
        self._new.extend(new)

    def get(self, old: int) -> int | None:
        index = bisect_left(self._old, old)
        if index < len(self._old) and self._old[index] == old:
            return self._new[index]
        return None

    def __len__(self) -> int:
        return len(self._old)


def allocate_ids(reading: Connection, writing: Connection, table: Table, chunk: int) -> IdMap:
    """Take a new id in the target for every row of `table` in the source."""
    column = table.c[serial_column(table) or ""]
    ids = IdMap()
    query = select(column).order_by(column)
    next_free: int | None = None
    for partition in reading.execution_options(yield_per=chunk).execute(query).partitions(chunk):
        old = [row[0] for row in partition]
        if table.name == "override":
            # Workers hand out override ids from a counter, in blocks, before the rows exist:
            # take ours from it too, or they could fall inside a block a worker holds.
            new: list[int] = list(reserve_override_ids_in(writing, len(old)))
        elif (sequence := _sequence(writing, table)) is not None:
            # From the sequence, as any store's next row: free whatever runs meanwhile.
            new = list(
                writing.scalars(
                    text(
                        "SELECT nextval(CAST(:sequence AS regclass)) "
                        "FROM generate_series(1, :count) ORDER BY 1"
                    ),
                    {"sequence": sequence, "count": len(old)},
                )
            )
        else:
            if next_free is None:  # SQLite: our transaction is the only writer
                next_free = (writing.scalar(select(func.max(column))) or 0) + 1
            new = list(range(next_free, next_free + len(old)))
            next_free += len(old)
        ids.extend(old, new)
    return ids


def _sequence(writing: Connection, table: Table) -> str | None:
    if writing.dialect.name != "postgresql":
        return None
    quoted = writing.dialect.identifier_preparer.quote(table.name)
    return writing.scalar(
        text("SELECT pg_get_serial_sequence(:table, :column)"),
        {"table": quoted, "column": serial_column(table)},
    )


@dataclass
class RowRenumbering:
    """How one table's rows are rewritten for the target, given the maps of the tables
    renumbered (a table without a map keeps its ids, and so do the columns naming it)."""

    table: Table
    maps: Mapping[str, IdMap]
    _columns: dict[str, str] = field(init=False)
    _soft: frozenset[str] = field(init=False)
    _json: dict[str, Mapping[str, str]] = field(init=False)
    _prefixed: list[tuple[str, str, str]] = field(init=False)

    def __post_init__(self) -> None:
        name = self.table.name
        columns = id_references(self.table)
        serial = serial_column(self.table)
        if serial is not None:
            columns[serial] = name
        self._columns = {c: to for c, to in columns.items() if to in self.maps}
        self._soft = frozenset(r.column for r in SOFT_REFERENCES if r.table == name)
        self._json = {
            r.column: {key: to for key, to in r.keys.items() if to in self.maps}
            for r in JSON_REFERENCES
            if r.table == name
        }
        self._json = {column: keys for column, keys in self._json.items() if keys}
        self._prefixed = [
            (r.column, r.prefix, r.points_to)
            for r in TEXT_REFERENCES
            if r.table == name and r.points_to in self.maps
        ]

    @property
    def fresh_columns(self) -> frozenset[str]:
        """Columns whose values will be ids the target has never held."""
        return frozenset(self._columns)

    @property
    def changes_rows(self) -> bool:
        return bool(self._columns or self._json or self._prefixed)

    def apply(self, row: dict[str, Any]) -> None:
        for column, points_to in self._columns.items():
            old = row.get(column)
            if old is None:
                continue
            new = self.maps[points_to].get(old)
            if new is None:
                if column not in self._soft:
                    raise DanglingReference(
                        f"{self.table.name}.{column} {old} names a {points_to} row the "
                        "store's database does not have"
                    )
                # A soft reference to a row gone by its retention (an override, a trigger
                # event): empty, rather than naming another store's row of that id.
                new = None
            row[column] = new
        for column, keys in self._json.items():
            if row.get(column):
                row[column] = _rewrite_json(row[column], keys, self.maps)
        for column, prefix, points_to in self._prefixed:
            value = row.get(column)
            if isinstance(value, str) and value.startswith(prefix):
                old_text = value.removeprefix(prefix)
                if old_text.isdigit():
                    new = self.maps[points_to].get(int(old_text))
                    if new is not None:
                        row[column] = f"{prefix}{new}"


def _rewrite_json(document: str, keys: Mapping[str, str], maps: Mapping[str, IdMap]) -> str:
    try:
        value = json.loads(document)
    except ValueError:
        return document  # not ours to repair; nothing in it can be read as an id either
    changed = False

    def walk(node: Any) -> Any:
        nonlocal changed
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        result = {}
        for key, item in node.items():
            if key in keys and isinstance(item, int) and not isinstance(item, bool):
                new = maps[keys[key]].get(item)
                result[key] = new
                changed = True
            else:
                result[key] = walk(item)
        return result

    rewritten = walk(value)
    if not changed:
        return document
    return json.dumps(rewritten, ensure_ascii=False, separators=(",", ":"))
