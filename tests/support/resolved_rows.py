"""Rows with their references resolved: every id naming another row (foreign key, soft
reference, id inside JSON or text, as store_import.tables declares them) replaced by that
row's own content. Two databases whose rows resolve alike hold the same rows pointing at
the same things, whatever ids either gave them; a reference into another store's row
resolves to that store's content and shows."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from esl_controller.store_import.tables import (
    JSON_REFERENCES,
    STORE_COLUMN,
    TEXT_REFERENCES,
    has_store_column,
    id_references,
    imported_tables,
    serial_column,
)

Resolved = dict[str, Counter[str]]  # table -> each row's resolved form, counted


def resolved_rows(engine: Engine, fill_store: str | None = None) -> Resolved:
    """Every imported table's rows, resolved. `fill_store`: the store a single-store
    database's empty store_id columns mean (as the import fills them)."""
    tables = {table.name: table for table in imported_tables()}
    rows: dict[str, dict[Any, dict[str, Any]]] = {}
    with engine.connect() as conn:
        for name, table in tables.items():
            by_key: dict[Any, dict[str, Any]] = {}
            for row in conn.execute(select(table)):
                values = dict(row._mapping)
                if fill_store and has_store_column(table) and values[STORE_COLUMN] is None:
                    values[STORE_COLUMN] = fill_store
                by_key[tuple(values[c.name] for c in table.primary_key.columns)] = values
            rows[name] = by_key

    def own(name: str, key: Any) -> Any:
        """The content of the row of `name` with id `key`, without ids of its own."""
        if key is None:
            return None
        row = rows[name].get((key,))
        if row is None:
            return f"<missing {name} {key}>"
        leave_out = set(id_references(tables[name])) | {serial_column(tables[name])}
        return {column: value for column, value in row.items() if column not in leave_out}

    resolved: Resolved = {}
    for name, table in tables.items():
        references = id_references(table)
        serial = serial_column(table)
        json_keys = {r.column: r.keys for r in JSON_REFERENCES if r.table == name}
        prefixed = [r for r in TEXT_REFERENCES if r.table == name]
        forms: Counter[str] = Counter()
        for row in rows[name].values():
            form = {c: v for c, v in row.items() if c != serial}
            for column, points_to in references.items():
                form[column] = own(points_to, row[column])
            for column, keys in json_keys.items():
                form[column] = _resolve_json(row[column], keys, own)
            for ref in prefixed:
                value = row[ref.column]
                if isinstance(value, str) and value.startswith(ref.prefix):
                    form[ref.column] = own(ref.points_to, int(value.removeprefix(ref.prefix)))
            forms[json.dumps(form, sort_keys=True, default=_plain, ensure_ascii=False)] += 1
        resolved[name] = forms
    return resolved


def _resolve_json(document: str, keys: Any, own: Any) -> Any:
    try:
        value = json.loads(document)
    except (TypeError, ValueError):
        return document

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, dict):
            return {
                key: own(keys[key], item) if key in keys and isinstance(item, int) else walk(item)
                for key, item in node.items()
            }
        return node

    return walk(value)


def _plain(value: Any) -> Any:
    """SQLite hands back naive UTC times, PostgreSQL aware ones: one form for both."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot compare a {type(value).__name__}")


def combined(*parts: Resolved) -> Resolved:
    total: Resolved = {}
    for part in parts:
        for table, forms in part.items():
            total[table] = total.get(table, Counter()) + forms
    return total
