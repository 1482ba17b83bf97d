"""Which tables an import copies, in which order, and which keys must be free in the target.

Read from the SQLModel metadata, so a table or column added later (another store-scoped
table, a new unique key) is imported and checked without touching this module.
"""

from __future__ import annotations

from sqlalchemy import Integer, Table, UniqueConstraint
from sqlmodel import SQLModel

from esl_controller import models  # noqa: F401  (registers every table on the metadata)

STORE_COLUMN = "store_id"
# Not the store's data: the target's own schema version and worker lease, and login
# throttle windows that run out within minutes anyway.
SKIPPED_TABLES = frozenset({"schema_meta", "login_failure_window"})
# Rows whose ids nothing stored refers to (a login session holds a user's id, and the
# target's sessions are its own), so they take new ids in the target instead of
# colliding with head office's own users.
RENUMBERED_TABLES = frozenset({"user"})


def imported_tables() -> list[Table]:
    """Every table but the skipped ones, parents before children (foreign-key order)."""
    return [t for t in SQLModel.metadata.sorted_tables if t.name not in SKIPPED_TABLES]


def unique_keys(table: Table) -> list[tuple[str, ...]]:
    """The primary key and every unique constraint, unique index and unique column."""
    keys: list[tuple[str, ...]] = []
    if table.name not in RENUMBERED_TABLES:
        keys.append(tuple(column.name for column in table.primary_key.columns))
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            keys.append(tuple(column.name for column in constraint.columns))
    for index in table.indexes:
        if index.unique:
            keys.append(tuple(column.name for column in index.columns))
    for column in table.columns:
        if column.unique:
            keys.append((column.name,))
    return list(dict.fromkeys(keys))


def serial_column(table: Table) -> str | None:
    """The integer primary key a sequence fills, if the table has one."""
    columns = list(table.primary_key.columns)
    if len(columns) == 1 and isinstance(columns[0].type, Integer):
        return columns[0].name
    return None


def has_store_column(table: Table) -> bool:
    return STORE_COLUMN in table.columns
