"""Which tables an import copies, in which order, which keys must be free in the target,
and which columns hold the ids of other rows.

Read from the SQLModel metadata, so a table or column added later (another store-scoped
table, a new unique key, a new foreign key) is imported and checked without touching this
module. The one thing the metadata cannot say is where an id is kept without a foreign key:
those soft references are declared here, and only here (tests/store_import/test_tables.py
fails when a model gains an integer `*_id` column that is neither).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Integer, Table, UniqueConstraint
from sqlmodel import SQLModel

from esl_controller import models  # noqa: F401  (registers every table on the metadata)
from esl_controller.ads.chain import BILLED_FIELDS

STORE_COLUMN = "store_id"
# Not the store's data: the target's own schema version and worker lease, and the login
# throttle's and sensors' rate-limit windows, which run out within minutes anyway (and whose
# keys, a sensor and a window, two stores' sensors could share).
SKIPPED_TABLES = frozenset({"schema_meta", "login_failure_window", "trigger_rate_window"})
# The billing history. Its rows are hash-chained by seq, the hashes name ad ids (see
# BILLED_ID_TABLES), roll-ups name the seqs of the segment they replaced and checkpoints
# sign a seq and a hash: none of it can take new ids and still verify.
IMPRESSION_LOG = frozenset(
    {"impression", "impression_hourly", "impression_hour_total", "impression_checkpoint"}
)


@dataclass(frozen=True)
class Reference:
    """`table.column` holds the id of a row of `points_to`."""

    table: str
    column: str
    points_to: str


# Integer ids of other rows that no foreign key declares (the rows they name may be purged
# by a retention, or the column predates the table it names).
SOFT_REFERENCES = (
    Reference("user", "advertiser_id", "advertiser"),
    Reference("play", "campaign_id", "campaign"),
    Reference("play", "creative_id", "creative"),
    Reference("play", "override_id", "override"),
    Reference("play", "trigger_id", "trigger_event"),
    Reference("override", "trigger_event_id", "trigger_event"),
    Reference("override", "campaign_id", "campaign"),
    Reference("override", "creative_id", "creative"),
    Reference("trigger_event", "override_id", "override"),
    Reference("impression", "campaign_id", "campaign"),
    Reference("impression", "advertiser_id", "advertiser"),
    Reference("impression", "creative_id", "creative"),
    Reference("impression_hourly", "campaign_id", "campaign"),
    Reference("impression_hourly", "advertiser_id", "advertiser"),
    Reference("impression_hourly", "creative_id", "creative"),
    Reference("impression_hour_total", "campaign_id", "campaign"),
    Reference("impression_hour_total", "advertiser_id", "advertiser"),
    Reference("impression_hour_total", "creative_id", "creative"),
)

# The ids the impression hashes name: the tables the billed `*_id` fields point to
# (campaign, advertiser, creative; player, zone and play ids are text and never renumbered).
BILLED_ID_TABLES = frozenset(
    ref.points_to
    for ref in SOFT_REFERENCES
    if ref.table == "impression" and ref.column in BILLED_FIELDS
)

# The signage messages waiting in the browser players' mailboxes carry ids in their JSON:
# an override names itself, its trigger, campaign and creative; a proof of play the same.
_SIGNAGE_IDS = {
    "override_id": "override",
    "trigger_id": "trigger_event",
    "campaign_id": "campaign",
    "creative_id": "creative",
}


@dataclass(frozen=True)
class JsonReferences:
    """`table.column` is JSON text whose `keys`, at any depth, hold ids of rows of the
    table each key maps to."""

    table: str
    column: str
    keys: Mapping[str, str]


JSON_REFERENCES = (
    JsonReferences("screen_command", "payload", _SIGNAGE_IDS),
    JsonReferences("screen_report", "payload", _SIGNAGE_IDS),
    # user.create records the buyer's advertiser
    JsonReferences("audit_entry", "detail", {"advertiser_id": "advertiser"}),
)


@dataclass(frozen=True)
class PrefixedReference:
    """`table.column` is text "<prefix><id>" naming a row of `points_to` (other prefixes
    name rows by text ids or names, which are kept)."""

    table: str
    column: str
    prefix: str
    points_to: str


TEXT_REFERENCES = (PrefixedReference("audit_entry", "target", "campaign:", "campaign"),)


def imported_tables() -> list[Table]:
    """Every table but the skipped ones, parents before children (foreign-key order)."""
    return [t for t in SQLModel.metadata.sorted_tables if t.name not in SKIPPED_TABLES]


def unique_keys(table: Table) -> list[tuple[str, ...]]:
    """The primary key and every unique constraint, unique index and unique column."""
    keys: list[tuple[str, ...]] = [tuple(column.name for column in table.primary_key.columns)]
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


def id_references(table: Table) -> dict[str, str]:
    """Column -> the table whose serial id it holds: the foreign keys to a serial primary
    key, then the declared soft references."""
    found: dict[str, str] = {}
    for column in table.columns:
        for key in column.foreign_keys:
            parent = key.column.table
            if key.column.name == serial_column(parent):
                found[column.name] = parent.name
    for ref in SOFT_REFERENCES:
        if ref.table == table.name:
            found[ref.column] = ref.points_to
    return found


def renumbered_tables(keep_billed_ids: bool) -> frozenset[str]:
    """The tables whose rows take new ids in the target: every one with a serial id but the
    impression log, and but the ad tables its hashes name when the store brings a log."""
    kept = IMPRESSION_LOG | (BILLED_ID_TABLES if keep_billed_ids else frozenset())
    return frozenset(
        table.name
        for table in imported_tables()
        if serial_column(table) is not None and table.name not in kept
    )
